"""Posting an 835 is set-based (issue 14): the SQL statements a part of an 835 takes do not
grow with its number of claim payments, and what it posts is what posting claim payment by
claim payment posted (the other remittance tests hold that in detail)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import event, func, select

from medbill_core.app import Medbill
from medbill_core.domain import (
    Adjustment,
    AdjustmentGroup,
    ClaimPayment,
    ClaimState,
    ClaimStatusCode,
    PaymentMethod,
    Remittance,
)
from medbill_core.services.remittance import post_remittance
from medbill_core.storage.schema import (
    ClaimAdjudicationRow,
    LedgerEntryRow,
    PostingRow,
)
from medbill_core.testing import factories

D = Decimal

#: what other parts of the code write as ORM objects, one row each: the audit trail and the
#: claims' transitions (their writers batch them, not this service)
_NOT_THIS_SERVICE = ("INSERT INTO audit_events", "INSERT INTO claim_transitions",
                     "UPDATE claims", "UPDATE audit_events")


def _claims(app: Medbill, count: int, start: int) -> list[str]:
    numbers = [f"B{start + index:05d}" for index in range(count)]
    with app.unit_of_work() as work:
        if start == 0:
            work.patients.register_provider(factories.make_provider())
        patient = work.patients.register(factories.make_patient(start + 1))
        coverage = work.patients.add_coverage(patient.id, factories.make_coverage())
        for number in numbers:
            claim = work.claims.create(factories.make_claim(
                patient.id, coverage_id=coverage.id, number=number, lines=2))
            for target in (ClaimState.VALIDATED, ClaimState.SUBMITTED, ClaimState.ACCEPTED):
                work.claims.transition(claim.id, target)
    return numbers


def _remittance(trace: str, numbers: list[str]) -> Remittance:
    payments = [ClaimPayment(
        claim_number=number, status=ClaimStatusCode.PRIMARY, charge=D("143.50"),
        paid=D("100.00"), adjustments=[
            Adjustment(group=AdjustmentGroup.CONTRACTUAL, reason_code="45", amount=D("23.50")),
            Adjustment(group=AdjustmentGroup.PATIENT_RESPONSIBILITY, reason_code="2",
                       amount=D("20.00"))]) for number in numbers]
    return Remittance(trace_number=trace, payment_amount=D("100.00") * len(numbers),
                      payment_method=PaymentMethod.ACH, payment_date=date(2026, 3, 2),
                      payer_name="Acme Health Plan", payer_id="ACME1", payee_name="Clinic",
                      claims=payments)


@contextmanager
def _statements(app: Medbill) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "SAVEPOINT", "RELEASE")):
            seen.append(" ".join(statement.split()))

    event.listen(app.database.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(app.database.engine, "before_cursor_execute", count)


def _post(app: Medbill, remittance: Remittance) -> list[str]:
    with _statements(app) as seen, app.unit_of_work() as work:
        result = post_remittance(work, remittance)
        assert len(result.posted) == len(remittance.claims)
    return [s for s in seen if not s.startswith(_NOT_THIS_SERVICE)]


def test_the_statements_of_an_835_do_not_grow_with_its_claim_payments(
        medbill_app: Medbill) -> None:
    small = _post(medbill_app, _remittance("TRN-SMALL", _claims(medbill_app, 3, 0)))
    large = _post(medbill_app, _remittance("TRN-LARGE", _claims(medbill_app, 40, 100)))
    assert len(large) == len(small), "\n".join(large)
    assert len(small) <= 25  # 19 on SQLite when written
    with medbill_app.unit_of_work(read_only=True) as work:
        # every claim payment posted its three entries (payment, CO-45, PR-2) under its key
        assert work.session.scalar(select(func.count()).select_from(PostingRow).where(
            PostingRow.posting_key.like("835:%"))) == 43
        assert work.session.scalar(select(func.count()).select_from(LedgerEntryRow).join(
            PostingRow, PostingRow.id == LedgerEntryRow.posting_id).where(
            PostingRow.posting_key.like("835:%"))) == 43 * 3
        assert work.session.scalar(
            select(func.count()).select_from(ClaimAdjudicationRow)) == 43
        assert work.ledger.totals().is_balanced()


def test_an_835_posted_again_in_one_batch_posts_nothing_more(medbill_app: Medbill) -> None:
    remittance = _remittance("TRN-TWICE", _claims(medbill_app, 5, 0))
    _post(medbill_app, remittance)
    with medbill_app.unit_of_work() as work:
        again = post_remittance(work, remittance)
    assert (again.posted, len(again.duplicates)) == ([], 5)
    with medbill_app.unit_of_work(read_only=True) as work:
        assert work.session.scalar(select(func.count()).select_from(PostingRow).where(
            PostingRow.posting_key.like("835:%"))) == 5
        for number in remittance.claims:
            claim = work.claims.by_number(number.claim_number)
            assert claim.state is ClaimState.PATIENT_BALANCE
            balance = work.ledger.claim_balance(claim.id or 0)
            assert (balance.insurance, balance.patient) == (D("0.00"), D("20.00"))
