"""``merge_patients`` moves every row that hangs off the duplicate (on SQLite and
PostgreSQL): good-faith estimates, credit holds, write-off requests and collection placements
stayed on the duplicate before, and a check against the schema keeps the list complete."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from medbill_core import audit
from medbill_core.domain.base import saved_id
from medbill_core.services.patient_merge import HANDLED_BY_NAME, MOVED, merge_patients
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
