"""``merge_patients`` moves every row that hangs off the duplicate (on SQLite and
PostgreSQL): good-faith estimates, credit holds, write-off requests and collection placements
stayed on the duplicate before, and a check against the schema keeps the list complete."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from medbill_core import audit
from medbill_core.domain.base import saved_id
from medbill_core.services.patient_merge import (
    HANDLED_BY_NAME,
    MOVED,
    MergeRefused,
    merge_patients,
)
from medbill_core.storage.schema import (
    Base,
    CollectionAgencyRow,
    CollectionPlacementRow,
    CreditHoldRow,
    GoodFaithEstimateRow,
    WriteOffRequestRow,
)
from medbill_core.testing import factories

TODAY = date.today()


def test_every_table_referring_to_a_patient_is_handled_by_the_merge() -> None:
    referring = {table.name for table in Base.metadata.sorted_tables
                 if any(key.column.table.name == "patients" for key in table.foreign_keys)}
    assert {table.__tablename__ for _, table in MOVED} | HANDLED_BY_NAME == referring


def test_estimates_holds_write_offs_and_placements_move_to_the_kept_record(
        medbill_app: Any) -> None:
    with medbill_app.unit_of_work() as work:
        keep = saved_id(work.patients.register(factories.make_patient(1)))
        duplicate = saved_id(work.patients.register(factories.make_patient(2)))
        agency = CollectionAgencyRow(code="AG1", name="Agency", fee_percent=Decimal("25"))
        work.session.add(agency)
        work.session.flush()
        work.session.add_all([
            GoodFaithEstimateRow(estimate_number="GFE-1", patient_id=duplicate,
                                 service_date=TODAY, total=Decimal("125.00"),
                                 procedure_codes=["99213"], issued_by="tester"),
            CreditHoldRow(patient_id=duplicate, reason="disputed", held_on=TODAY,
                          actor="tester"),
            WriteOffRequestRow(patient_id=duplicate, kind="small_balance",
                               amount=Decimal("4.00"), reason="small", status="requested",
                               requested_by="tester", requested_on=TODAY),
            CollectionPlacementRow(patient_id=duplicate, agency_id=agency.id,
                                   amount=Decimal("80.00"), placed_on=TODAY, status="placed",
                                   actor="tester")])
    with medbill_app.unit_of_work() as work:
        result = merge_patients(work, keep, duplicate)
    assert {name: result.moved[name] for name in (
        "good_faith_estimates", "credit_holds", "write_off_requests",
        "collection_placements")} == {"good_faith_estimates": 1, "credit_holds": 1,
                                      "write_off_requests": 1, "collection_placements": 1}
    with medbill_app.unit_of_work() as work:
        for table in (GoodFaithEstimateRow, CreditHoldRow, WriteOffRequestRow,
                      CollectionPlacementRow):
            assert list(work.session.scalars(select(table.patient_id))) == [keep], table
        [event] = audit.query(work.session, entity_type="patient", action="patient.merge")
    assert event.actor == "tester"
    assert (event.details or {})["moved"]["good_faith_estimates"] == 1


def _placements(work: Any, placed: dict[int, str]) -> list[int]:
    """One placement per patient with its status, each with an agency of its own."""
    ids = []
    for number, (patient_id, status) in enumerate(placed.items(), start=1):
        agency = CollectionAgencyRow(code=f"AG{number}", name=f"Agency {number}",
                                     fee_percent=Decimal("25"))
        work.session.add(agency)
        work.session.flush()
        row = CollectionPlacementRow(patient_id=patient_id, agency_id=agency.id,
                                     amount=Decimal("80.00"), placed_on=date(2026, 11, number),
                                     status=status, actor="tester")
        work.session.add(row)
        work.session.flush()
        ids.append(row.id)
    return ids


def test_two_accounts_placed_with_agencies_are_not_merged(medbill_app: Any) -> None:
    """Both placements moved onto the kept record before: it had two active placements."""
    with medbill_app.unit_of_work() as work:
        keep = saved_id(work.patients.register(factories.make_patient(1)))
        duplicate = saved_id(work.patients.register(factories.make_patient(2)))
        first, second = _placements(work, {keep: "placed", duplicate: "placed"})
    with medbill_app.unit_of_work() as work, pytest.raises(MergeRefused) as refused:
        merge_patients(work, keep, duplicate)
    assert str(refused.value) == (
        f"patients {keep} and {duplicate} both have an account placed with a collection "
        f"agency (placement {first} with agency AG1 since 2026-11-01, placement {second} with "
        "agency AG2 since 2026-11-02); recall one first (collections recall ID --reason ...)")
    with medbill_app.unit_of_work() as work:
        moved_to = {row.id: row.patient_id
                    for row in work.session.scalars(select(CollectionPlacementRow))}
        assert moved_to == {first: keep, second: duplicate}  # nothing moved
        assert work.patients.get(duplicate).merged_into_id is None


@pytest.mark.parametrize("statuses", [("placed", "recalled"), ("recalled", "placed"),
                                      ("placed", "paid")])
def test_one_account_placed_still_merges(medbill_app: Any,
                                         statuses: tuple[str, str]) -> None:
    with medbill_app.unit_of_work() as work:
        keep = saved_id(work.patients.register(factories.make_patient(1)))
        duplicate = saved_id(work.patients.register(factories.make_patient(2)))
        _placements(work, dict(zip((keep, duplicate), statuses, strict=True)))
    with medbill_app.unit_of_work() as work:
        result = merge_patients(work, keep, duplicate)
    assert result.moved["collection_placements"] == 1
    with medbill_app.unit_of_work() as work:
        assert sorted(work.session.scalars(select(CollectionPlacementRow.status).where(
            CollectionPlacementRow.patient_id == keep))) == sorted(statuses)
