"""On SQLite the practice filter every scoped query carries never chooses the index: SQLite keeps
no statistics (nothing runs ANALYZE), guesses that an equality narrows an index to a few rows,
and read a whole practice through ``ix_*_practice_id`` instead of a batch of patients by
their index or claims by their unique number (a statement run read the practice's whole
ledger for each batch of patients: its time grew with the database). A read of the whole
practice names the practice itself, and reads an index that leads with it, alone."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event, text

from medbill_core.app import Medbill, UnitOfWork
from medbill_core.services import accounting_export, payments, receivables, statements
from medbill_core.services.accounting_formats import ExportFormat
from medbill_core.testing import factories


def _self_pay(app: Medbill, number: int) -> int:
    with app.unit_of_work() as work:
        patient = work.patients.register(factories.make_patient(number))
        claim = factories.make_claim(patient.id, coverage_id=None, number=f"SP{number}")
        work.claims.create(claim.model_copy(update={"lines": [factories.make_line(
            1, service_date=claim.service_date_from, charge=Decimal("40.00"))]}))
    return patient.id


def _plans(app: Medbill, read: Callable[[UnitOfWork], Any]) -> list[str]:
    """The query plans of the SELECTs ``read`` sends, each with its own parameters."""
    sent: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        if statement.lstrip().startswith("SELECT"):
            sent.append((statement, parameters))

    with app.unit_of_work() as work:
        event.listen(app.database.engine, "before_cursor_execute", keep)
        try:
            read(work)
        finally:
            event.remove(app.database.engine, "before_cursor_execute", keep)
        raw = work.session.connection().connection.driver_connection
        return [" | ".join(row[3] for row in raw.execute(f"EXPLAIN QUERY PLAN {sql}", params))
                for sql, params in sent]


@pytest.fixture
def sqlite_app(medbill_app: Medbill) -> Medbill:
    if medbill_app.database.dialect != "sqlite":
        pytest.skip("PostgreSQL keeps statistics (autovacuum) and chooses its indexes itself")
    return medbill_app


def test_a_batch_of_patients_is_read_by_their_index(sqlite_app: Medbill) -> None:
    ids = [_self_pay(sqlite_app, n) for n in range(1, 31)]
    with sqlite_app.unit_of_work() as work:
        assert work.session.execute(text(  # the planner has no statistics to go by
            "SELECT count(*) FROM sqlite_schema WHERE name = 'sqlite_stat1'")).scalar() == 0
        found = statements._open_items(work, ids[:3])
        assert all(found[pid] for pid in ids[:3])  # each owes on their claim
    plans = _plans(sqlite_app, lambda work: statements._open_items(work, ids[:3]))
    assert len(plans) == 2, plans
    assert all("practice_id" not in plan for plan in plans), plans
    assert "USING INDEX ix_ledger_entries_patient (patient_id=?)" in plans[0], plans


def test_claims_are_read_by_their_number(sqlite_app: Medbill) -> None:
    for n in range(1, 31):
        _self_pay(sqlite_app, n)
    numbers = [f"SP{n}" for n in range(1, 26)]  # a batch of an 835's claims, say
    plans = _plans(sqlite_app, lambda work: work.claims.by_numbers(numbers))
    assert plans and all("practice_id" not in plan for plan in plans), plans
    assert "(claim_number=?)" in plans[0], plans


def test_voids_waiting_for_the_payer_are_found_without_reading_every_claim(
        sqlite_app: Medbill) -> None:
    """Every statement batch asks which accounts wait for a void's reversal."""
    for n in range(1, 31):
        _self_pay(sqlite_app, n)
    plans = _plans(sqlite_app, statements.voided_accounts)
    assert plans == ["SEARCH claims USING INDEX ix_claims_replaces (replaces_claim_id>?)"]


def test_who_owes_the_practice_is_summed_from_its_own_index(sqlite_app: Medbill) -> None:
    """The statement run's candidates and the collections worklist: a sum over the practice's
    ledger, read from ``ix_ledger_entries_practice_patient`` alone (not every practice's
    entries through the patient index, each row read for its practice and amount)."""
    ids = [_self_pay(sqlite_app, n) for n in range(1, 6)]
    with sqlite_app.unit_of_work() as work:
        assert statements._owing_balances(work) == {pid: Decimal("40.00") for pid in ids}
    plans = _plans(sqlite_app, statements._owing_balances)
    assert plans[0] == ("SEARCH ledger_entries USING COVERING INDEX "
                        "ix_ledger_entries_practice_patient (practice_id=?)"), plans


def test_a_paid_accounts_claims_are_found_by_the_account_not_by_their_state(
        sqlite_app: Medbill) -> None:
    """After a patient payment: the account's claims by id and account, every claim in the
    state it leaves never read."""
    ids = [_self_pay(sqlite_app, n) for n in range(1, 4)]
    with sqlite_app.unit_of_work() as work:
        account = work.claims.ids(patient_id=ids[0])[0]
    plans = _plans(sqlite_app, lambda work: payments.settle_patient_claims(
        work, [account], "test"))
    settled = [plan for plan in plans if "ix_claims_account" in plan]
    assert settled and settled[0].startswith("MULTI-INDEX OR"), plans
    assert all("ix_claims_state" not in plan for plan in plans), plans


def test_the_postings_not_exported_are_counted_from_the_practice_index(
        sqlite_app: Medbill) -> None:
    """The accounting export reads (practice, posting) alone, in posting order: no other
    practice's entry, no visit of the table for each entry."""
    for n in range(1, 6):
        _self_pay(sqlite_app, n)
    plans = _plans(sqlite_app, lambda work: accounting_export.export_batch(
        work, ExportFormat.IIF))
    counted = [plan for plan in plans if "ledger_entries" in plan and "accounting_batch" in plan]
    assert counted, plans
    assert ("SEARCH ledger_entries USING COVERING INDEX ix_ledger_entries_practice_posting "
            "(practice_id=?)") in counted[0], counted


def test_the_aging_reads_the_open_accounts_from_their_partial_index(sqlite_app: Medbill) -> None:
    """``ar aging`` reads the open accounts the ledger keeps (``ledger_balances``) from the
    partial index of rows with a balance, alone and by practice: not every account ever
    billed, nor another practice's."""
    for n in range(1, 6):
        _self_pay(sqlite_app, n)
    plans = [plan for plan in _plans(sqlite_app, lambda work: receivables.aging(work))
             if "ledger_balances" in plan and "open" in plan]
    assert len(plans) == 2, plans  # the insurance rows, the patient rows
    assert all("COVERING INDEX ix_ledger_balances_open (practice_id=? AND bucket=?)" in plan
               for plan in plans), plans
