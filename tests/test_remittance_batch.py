"""Posting an 835 is set-based (issue 14): the SQL statements a part of an 835 takes do not
grow with its number of claim payments (its claims' moves and the claims to the next payers
included), and what it posts is what posting claim payment by claim payment posted (the other
remittance tests hold that in detail)."""

from __future__ import annotations

import gc
from contextlib import AbstractContextManager
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from medbill_core.app import Medbill
from medbill_core.domain import (
    Adjustment,
    AdjustmentGroup,
    ClaimPayment,
    ClaimState,
    ClaimStatusCode,
    CoverageOrder,
    PaymentMethod,
    Remittance,
)
from medbill_core.services import remittance
from medbill_core.services.remittance import PostingRun, post_remittance
from medbill_core.services.remittance_parts import _Parts
from medbill_core.storage.schema import (
    AuditEventRow,
    ClaimAdjudicationRow,
    ClaimRow,
    ClaimTransitionRow,
    LedgerEntryRow,
    PostingRow,
)
from medbill_core.testing import factories
from medbill_core.testing.sql import sent_statements

D = Decimal

def _claims(app: Medbill, count: int, start: int, *, secondary: bool = False) -> list[str]:
    numbers = [f"B{start + index:05d}" for index in range(count)]
    with app.unit_of_work() as work:
        if start == 0:
            work.patients.register_provider(factories.make_provider())
        patient = work.patients.register(factories.make_patient(start + 1))
        coverage = work.patients.add_coverage(patient.id, factories.make_coverage())
        if secondary:
            work.patients.add_coverage(patient.id, factories.make_coverage(
                payer_key="bluecross", order=CoverageOrder.SECONDARY, member_id="BC998877"))
        for number in numbers:
            claim = work.claims.create(factories.make_claim(
                patient.id, coverage_id=coverage.id, number=number, lines=2))
            for target in (ClaimState.VALIDATED, ClaimState.SUBMITTED, ClaimState.ACCEPTED):
                work.claims.transition(claim.id, target)
    return numbers


def _remittance(trace: str, numbers: list[str],
               status: ClaimStatusCode = ClaimStatusCode.PRIMARY) -> Remittance:
    payments = [ClaimPayment(
        claim_number=number, status=status, charge=D("143.50"),
        paid=D("100.00"), adjustments=[
            Adjustment(group=AdjustmentGroup.CONTRACTUAL, reason_code="45", amount=D("23.50")),
            Adjustment(group=AdjustmentGroup.PATIENT_RESPONSIBILITY, reason_code="2",
                       amount=D("20.00"))]) for number in numbers]
    return Remittance(trace_number=trace, payment_amount=D("100.00") * len(numbers),
                      payment_method=PaymentMethod.ACH, payment_date=date(2026, 3, 2),
                      payer_name="Acme Health Plan", payer_id="ACME1", payee_name="Clinic",
                      claims=payments)


def _statements(app: Medbill) -> AbstractContextManager[list[str]]:
    return sent_statements(app.database.engine, keep=lambda sql: not sql.lstrip().upper()
                           .startswith(("BEGIN", "SAVEPOINT", "RELEASE")))


def _post(app: Medbill, remittance: Remittance) -> list[str]:
    """Every statement of posting the 835 in one unit of work, its commit's too (the audit
    trail, the claims' moves and transition records)."""
    with _statements(app) as seen, app.unit_of_work() as work:
        result = post_remittance(work, remittance)
        assert len(result.posted) == len(remittance.claims)
    return [" ".join(statement.split()) for statement in seen]


def test_the_statements_of_an_835_do_not_grow_with_its_claim_payments(
        medbill_app: Medbill) -> None:
    small = _post(medbill_app, _remittance("TRN-SMALL", _claims(medbill_app, 3, 0)))
    large = _post(medbill_app, _remittance("TRN-LARGE", _claims(medbill_app, 40, 100)))
    assert len(large) == len(small), "\n".join(large)
    assert len(small) <= 30  # 23 on SQLite when written (3 claims: 33, 40 claims: 181 before)
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


def test_claims_to_the_next_payer_and_every_move_in_a_few_statements(
        medbill_app: Medbill) -> None:
    """The primary payer crossed each claim over to the secondary: the patient share goes to
    a claim to the next payer, created and marked submitted with the part's others, and the
    primary claim is paid; the statements do not grow with the claims."""
    forwarded = ClaimStatusCode.PRIMARY_FORWARDED
    small = _post(medbill_app, _remittance("TRN-S", _claims(medbill_app, 3, 0, secondary=True),
                                           forwarded))
    large = _post(medbill_app, _remittance(
        "TRN-L", _claims(medbill_app, 40, 100, secondary=True), forwarded))
    assert len(large) == len(small), "\n".join(large)
    assert len(small) <= 35  # 28 on SQLite when written (3 claims: 49, 40 claims: 382 before)
    with medbill_app.unit_of_work(read_only=True) as work:
        assert work.session.scalar(select(func.count()).select_from(ClaimRow).where(
            ClaimRow.payer_key == "bluecross")) == 43
        for number in ("B00000", "B00139"):
            primary = work.claims.by_number(number)
            secondary = work.claims.by_number(f"{number}-S2")
            assert primary.state is ClaimState.PAID
            assert (secondary.state, secondary.account_claim_id) == (
                ClaimState.SUBMITTED, primary.id)
            assert [t.target for t in work.claims.history(secondary.id)] == [
                ClaimState.VALIDATED, ClaimState.SUBMITTED]
            assert work.claims.history(secondary.id)[-1].reason == "crossed over by acme"
            assert work.ledger.payer_balance(primary.id, "bluecross") == D("20.00")
        # each claim's events, as posting claim payment by claim payment recorded them
        next_payer = work.session.scalars(select(AuditEventRow.details).where(
            AuditEventRow.action == "claim.next_payer")).all()
        assert len(next_payer) == 43
        assert work.session.scalar(select(func.count()).select_from(ClaimTransitionRow)
                                   .where(ClaimTransitionRow.reason == "835 TRN-L")) == 40


def test_a_part_reads_its_claims_and_posted_keys_once(medbill_app: Medbill) -> None:
    """The claims the part names are read once with their lines (the lock on their accounts
    reads three columns, not the rows again), and the posting keys taken in one statement."""
    seen = _post(medbill_app, _remittance("TRN-ONCE", _claims(medbill_app, 4, 0)))
    assert sum(" FROM claim_lines " in statement for statement in seen) == 1, "\n".join(seen)
    keys = [statement for statement in seen if statement.startswith(
        "SELECT postings.posting_key FROM postings")]
    assert len(keys) == 1 and "UNION ALL" in keys[0]


def test_the_garbage_collector_runs_again_after_a_part(
        medbill_app: Medbill, monkeypatch: pytest.MonkeyPatch) -> None:
    """A part pauses the cyclic collector while it posts; it is on again after the part,
    and after a part that failed."""
    numbers = _claims(medbill_app, 2, 0)
    with medbill_app.unit_of_work() as work:
        post_remittance(work, _remittance("TRN-GC", numbers[:1]))
    assert gc.isenabled()

    def broken(*_args: object, **_kwargs: object) -> None:
        assert not gc.isenabled()
        raise RuntimeError("a part that fails")

    monkeypatch.setattr(remittance, "_post_claim_payments", broken)
    with pytest.raises(RuntimeError), medbill_app.unit_of_work() as work:
        post_remittance(work, _remittance("TRN-GC2", numbers[1:]))
    assert gc.isenabled()


def test_the_collector_stays_paused_for_the_whole_part_of_an_835(medbill_app: Medbill) -> None:
    """Posted in parts (:mod:`.remittance_parts`), a part's batches of claim payments keep the
    collector paused from the part's first batch to its commit (it is not on again between
    two batches), and it is on again once the part has committed, or has been abandoned."""
    numbers = _claims(medbill_app, 3, 0)
    whole = _remittance("TRN-PART", numbers)
    run = PostingRun(whole.trace_number)
    parts = _Parts(medbill_app, row_id=0, total=len(numbers))
    assert gc.isenabled()
    post_remittance(parts.work, whole.model_copy(update={"claims": whole.claims[:1]}),
                    run=run, final=False)
    assert not gc.isenabled()  # between two batches of the part
    post_remittance(parts.work, whole.model_copy(update={"claims": whole.claims[1:2]}),
                    run=run, final=False)
    parts.commit()
    assert gc.isenabled()
    post_remittance(parts.work, whole.model_copy(update={"claims": whole.claims[2:]}),
                    run=run, final=True)
    assert not gc.isenabled()
    parts.abandon(RuntimeError("a part that fails"))
    assert gc.isenabled()
    with medbill_app.unit_of_work() as work:  # the abandoned part's claim payment is not posted
        assert [claim.state for claim in work.claims.by_numbers(numbers).values()] == [
            ClaimState.PATIENT_BALANCE, ClaimState.PATIENT_BALANCE, ClaimState.ACCEPTED]


def test_overlapping_pauses_of_the_collector_end_with_it_enabled() -> None:
    """Two posters in two threads (``medbill serve``): the first one out must not re-enable
    the collector under the second, and the last one out must re-enable it."""
    import gc
    import threading

    from medbill_core.collector import collector_paused

    assert gc.isenabled()
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, bool] = {}

    def first() -> None:
        with collector_paused():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second() -> None:
        first_in.wait(5)
        with collector_paused():
            second_in.set()
            first_out.wait(5)
            seen["while the second still posts"] = gc.isenabled()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert seen == {"while the second still posts": False}
    assert gc.isenabled()
