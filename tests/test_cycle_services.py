"""Scrub -> outbox -> send -> acknowledgments -> remittance posting, with in-test plugins.

The X12 and clearinghouse plugins have their own end-to-end tests; these pin the core's
part: states, ledger postings, idempotency and crash safety.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from inproc_plugins import line_practice_config, make_line_plugin
from sqlalchemy import func, select

from medbill_core.config import MedbillConfig
from medbill_core.domain import (
    AckStatus,
    Adjustment,
    AdjustmentGroup,
    ClaimAcknowledgment,
    ClaimAcknowledgmentBatch,
    ClaimAckStatus,
    ClaimPayment,
    ClaimState,
    ClaimStatusCode,
    DocumentKind,
    FunctionalAcknowledgment,
    InboundDocument,
    ProviderAdjustment,
    Remittance,
    StatusCode,
)
from medbill_core.errors import SubmissionError
from medbill_core.services.remittance import post_remittance
from medbill_core.services.responses import apply_decoded, ingest_document
from medbill_core.services.scrubbing import scrub_claims
from medbill_core.services.submission import prepare_batches, send_pending, submit
from medbill_core.storage.schema import (
    LedgerEntryRow,
    ProviderAdjustmentRow,
    RemittanceExceptionRow,
    SubmissionRow,
)
from medbill_core.testing import factories

D = Decimal
S = ClaimState


@pytest.fixture
def medbill_config(medbill_db_url: str) -> MedbillConfig:
    return line_practice_config(medbill_db_url)


@pytest.fixture
def line_plugin():
    return make_line_plugin()


@pytest.fixture
def medbill_extra_plugins(line_plugin):
    return [("lineplug", line_plugin)]


def make_claims(app, count: int = 2) -> list[int]:
    ids = []
    with app.unit_of_work() as work:
        work.patients.register_provider(factories.make_provider())
        patient = work.patients.register(factories.make_patient(1))
        coverage = work.patients.add_coverage(
            patient.id, factories.make_coverage(payer_key="linepay"))
        for n in range(1, count + 1):
            ids.append(work.claims.create(factories.make_claim(
                patient.id, coverage_id=coverage.id, payer_key="linepay", number=f"CY{n}",
                lines=2)).id)
    return ids


def states(app, ids: list[int]) -> list[ClaimState]:
    with app.unit_of_work() as work:
        return [work.claims.get(i).state for i in ids]


def test_scrub_reports_clean_claim_rate_and_validates(medbill_app) -> None:
    ids = make_claims(medbill_app, 3)
    with medbill_app.unit_of_work() as work:
        work.claims.update_draft(ids[2], factories.make_claim(
            1, coverage_id=1, payer_key="linepay", number="CY3", lines=4))
        report = scrub_claims(work, ids)
    assert report.clean_count == 2 and report.clean_claim_rate == D("66.67")
    blocked = report.results[2]
    assert not blocked.clean
    assert "line_format.too_many_lines" in {f.code for f in blocked.findings}
    assert states(medbill_app, ids) == [S.VALIDATED, S.VALIDATED, S.DRAFT]


def test_outbox_sends_once_and_acknowledgments_move_claims(medbill_app, line_plugin) -> None:
    ids = make_claims(medbill_app, 2)
    with medbill_app.unit_of_work() as work:
        scrub_claims(work, ids)
    outcomes = submit(medbill_app)
    assert [(o.status, o.claims) for o in outcomes] == [("sent", 2)]
    assert states(medbill_app, ids) == [S.SUBMITTED, S.SUBMITTED]
    assert len(line_plugin.channel.submitted) == 1
    assert send_pending(medbill_app) == []  # nothing pending: nothing sent again
    with medbill_app.unit_of_work() as work:
        control = work.session.scalar(select(SubmissionRow.control_number))
        apply_decoded(work, FunctionalAcknowledgment(group_control_number=control,
                                                     functional_id="HC",
                                                     status=AckStatus.ACCEPTED))
    assert states(medbill_app, ids) == [S.ACKNOWLEDGED, S.ACKNOWLEDGED]
    with medbill_app.unit_of_work() as work:
        detail = apply_decoded(work, ClaimAcknowledgmentBatch(claims=[
            ClaimAcknowledgment(claim_number="CY1", status=ClaimAckStatus.ACCEPTED,
                                payer_claim_number="PCN-1",
                                status_codes=[StatusCode(category="A1", code="20")]),
            ClaimAcknowledgment(claim_number="CY2", status=ClaimAckStatus.REJECTED,
                                status_codes=[StatusCode(category="A7", code="562")],
                                message="invalid NPI")]))
    assert detail == "277CA: 1 accepted, 1 rejected, 0 not applicable"
    assert states(medbill_app, ids) == [S.ACCEPTED, S.REJECTED]
    with medbill_app.unit_of_work() as work:
        assert work.claims.get(ids[0]).payer_claim_number == "PCN-1"
        assert "A7:562" in work.claims.history(ids[1])[-1].reason


def test_failed_send_stays_pending_and_resends_with_the_same_key(medbill_app,
                                                                 line_plugin) -> None:
    ids = make_claims(medbill_app, 1)
    with medbill_app.unit_of_work() as work:
        scrub_claims(work, ids)
        prepare_batches(work)
    original = line_plugin.channel.submit
    calls = []

    def flaky(submission, *, idempotency_key):
        calls.append(idempotency_key)
        if len(calls) == 1:
            raise SubmissionError("clearinghouse unavailable (503)")
        return original(submission, idempotency_key=idempotency_key)

    line_plugin.channel.submit = flaky
    assert states(medbill_app, ids) == [S.QUEUED]  # in the outbox, not sent
    first = send_pending(medbill_app)
    assert first[0].status == "pending" and "503" in first[0].error
    assert states(medbill_app, ids) == [S.QUEUED]  # the batch never left
    with medbill_app.unit_of_work() as work:  # back in the queue, no sender holds it
        row = work.session.scalar(select(SubmissionRow))
        assert (row.status, row.lease_until, row.attempts) == ("pending", None, 1)
    second = send_pending(medbill_app)
    assert second[0].status == "sent"
    assert states(medbill_app, ids) == [S.SUBMITTED]
    with medbill_app.unit_of_work() as work:
        assert [(t.source, t.target) for t in work.claims.history(ids[0])][-2:] == [
            (S.VALIDATED, S.QUEUED), (S.QUEUED, S.SUBMITTED)]
    assert calls[0] == calls[1]  # same idempotency key on the retry
    with medbill_app.unit_of_work() as work:
        row = work.session.scalar(select(SubmissionRow))
        assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)


def test_crash_between_send_and_record_resends_without_duplicating(medbill_app,
                                                                   line_plugin) -> None:
    ids = make_claims(medbill_app, 1)
    with medbill_app.unit_of_work() as work:
        scrub_claims(work, ids)
        prepare_batches(work)
    original_transaction = medbill_app.unit_of_work

    class Crash(Exception):
        pass

    def crash_after_send(*args, **kwargs):
        raise Crash("process killed after the remote end answered")

    medbill_app.unit_of_work = crash_after_send  # the "mark sent" transaction never happens
    with pytest.raises(Crash):
        send_pending(medbill_app)
    medbill_app.unit_of_work = original_transaction
    assert len(line_plugin.channel.submitted) == 1
    # the killed sender's lease still holds: the file may be on its way, nobody sends it
    assert send_pending(medbill_app) == []
    with medbill_app.unit_of_work() as work:
        row = work.session.scalar(select(SubmissionRow))
        assert row.status == "sending"
        row.lease_until = datetime.now(UTC) - timedelta(seconds=1)  # the lease ran out
    outcomes = send_pending(medbill_app)  # next run
    assert [o.status for o in outcomes] == ["sent"]
    assert len(line_plugin.channel.submitted) == 1  # the remote end saw one batch


def _remittance(trace: str, *payments: ClaimPayment, plb: list | None = None) -> Remittance:
    paid = sum((p.paid for p in payments), D("0")) - sum((a.amount for a in plb or []), D("0"))
    return Remittance(trace_number=trace, payment_amount=paid, payer_name="Line Payer",
                      payer_id="ACME1", payee_name="Clinic", payment_date=date(2026, 3, 1),
                      claims=list(payments), provider_adjustments=plb or [])


def _paid(number: str, paid: str, co: str, pr: str, status=ClaimStatusCode.PRIMARY):
    adjustments = [Adjustment(group=AdjustmentGroup.CONTRACTUAL, reason_code="45",
                              amount=D(co))]
    if D(pr):
        adjustments.append(Adjustment(group=AdjustmentGroup.PATIENT_RESPONSIBILITY,
                                      reason_code="2", amount=D(pr)))
    return ClaimPayment(claim_number=number, status=status, charge=D("143.50"), paid=D(paid),
                        patient_responsibility=D(pr), payer_claim_number=f"P-{number}",
                        adjustments=adjustments)


def _accepted(app, ids):
    with app.unit_of_work() as work:
        for claim_id in ids:
            for target in (S.VALIDATED, S.SUBMITTED, S.ACCEPTED):
                work.claims.transition(claim_id, target)


def test_remittance_posts_once_and_settles_states(medbill_app) -> None:
    ids = make_claims(medbill_app, 3)
    _accepted(medbill_app, ids)
    remittance = _remittance(
        "TRN-1", _paid("CY1", "100.00", "23.50", "20.00"), _paid("CY2", "120.00", "23.50", "0"),
        ClaimPayment(claim_number="NOPE", status=ClaimStatusCode.PRIMARY, charge=D("10"),
                     paid=D("10")),
        plb=[ProviderAdjustment(provider_id="1234567893", reason_code="L6", amount=D("-2.15"))])
    with medbill_app.unit_of_work() as work:
        first = post_remittance(work, remittance)
    with medbill_app.unit_of_work() as work:
        again = post_remittance(work, remittance)
    assert (first.posted, first.unmatched, first.provider_adjustments) == (
        ["CY1", "CY2"], ["NOPE"], 1)
    assert first.paid == D("220.00")
    assert (again.posted, again.duplicates, again.provider_adjustments) == ([], ["CY1", "CY2"], 0)
    assert states(medbill_app, ids) == [S.PATIENT_BALANCE, S.CLOSED, S.ACCEPTED]
    with medbill_app.unit_of_work() as work:
        totals = work.ledger.totals(claim_id=ids[0])
        assert totals.balance.patient == D("20.00") and totals.balance.insurance == D("0.00")
        assert totals.is_balanced() and work.ledger.totals().is_balanced()
        assert work.session.scalar(select(func.count()).select_from(RemittanceExceptionRow)) == 1
        assert work.session.scalar(select(ProviderAdjustmentRow.amount)) == D("-2.15")
        reasons = set(work.session.scalars(select(LedgerEntryRow.reason_code).where(
            LedgerEntryRow.claim_id == ids[0])))
        assert {"CO-45", "PR-2"} <= reasons


def test_denial_and_reversal(medbill_app) -> None:
    ids = make_claims(medbill_app, 2)
    _accepted(medbill_app, ids)
    denied = ClaimPayment(claim_number="CY1", status=ClaimStatusCode.DENIED, charge=D("143.50"),
                          paid=D("0"), adjustments=[Adjustment(
                              group=AdjustmentGroup.CONTRACTUAL, reason_code="197",
                              amount=D("143.50"))])
    with medbill_app.unit_of_work() as work:
        post_remittance(work, _remittance("TRN-D", denied))
        post_remittance(work, _remittance("TRN-2", _paid("CY2", "120.00", "23.50", "0")))
    assert states(medbill_app, ids) == [S.DENIED, S.CLOSED]
    # X221A1: a reversal negates every amount of the original (CLP03, CLP04, CAS).
    original = _paid("CY2", "120.00", "23.50", "0")
    reversal = original.model_copy(update={
        "status": ClaimStatusCode.REVERSAL, "charge": -original.charge, "paid": -original.paid,
        "adjustments": [a.model_copy(update={"amount": -a.amount})
                        for a in original.adjustments]})
    with medbill_app.unit_of_work() as work:
        work.claims.transition(ids[1], S.PATIENT_BALANCE)  # reopen as a biller would
        result = post_remittance(work, _remittance("TRN-R", reversal))
    assert result.paid == D("-120.00")
    assert states(medbill_app, ids)[1] is S.ACCEPTED
    with medbill_app.unit_of_work() as work:
        totals = work.ledger.totals(claim_id=ids[1])
        assert (totals.payments, totals.adjustments) == (D("0.00"), D("0.00"))
        assert work.ledger.claim_balance(ids[1]).insurance == D("143.50")


def test_a_reversal_sent_with_positive_amounts_also_takes_the_payment_back(medbill_app) -> None:
    ids = make_claims(medbill_app, 1)
    _accepted(medbill_app, ids)
    with medbill_app.unit_of_work() as work:
        post_remittance(work, _remittance("TRN-P", _paid("CY1", "100.00", "23.50", "20.00")))
        reversal = _paid("CY1", "100.00", "23.50", "20.00", status=ClaimStatusCode.REVERSAL)
        result = post_remittance(work, _remittance("TRN-PR", reversal))
        balance = work.ledger.claim_balance(ids[0])
    assert result.paid == D("-100.00")
    assert (balance.insurance, balance.patient) == (D("143.50"), D("0.00"))


def test_ingest_stores_each_document_once(medbill_app) -> None:
    document = InboundDocument(channel="loopback", document_id="eligibility-1",
                               kind=DocumentKind.ELIGIBILITY_271, content="ELIG|active|T1")
    first = ingest_document(medbill_app, document)
    second = ingest_document(medbill_app, document)
    junk = ingest_document(medbill_app, InboundDocument(channel="loopback", document_id="j",
                                                        content="garbage"))
    assert (first.status, first.detail) == ("applied", "EligibilityResponse stored")
    assert second.status == "duplicate"
    assert junk.status == "undecodable" and "decode document 'j'" in junk.detail


def test_corrected_claim_replaces_the_original_on_the_same_account(medbill_app) -> None:
    ids = make_claims(medbill_app, 1)
    _accepted(medbill_app, ids)
    with medbill_app.unit_of_work() as work:
        post_remittance(work, _remittance("TRN-C", _paid("CY1", "100.00", "23.50", "20.00")))
        original = work.claims.get(ids[0])
        corrected = work.claims.correct(ids[0], original.model_copy(update={
            "lines": [line.model_copy(update={"modifiers": ["25"]}) if line.line_number == 1
                      else line for line in original.lines[:1]]}), reason="modifier 25 missing")
    assert corrected.claim_number == "CY1-R1"
    assert (corrected.frequency.value, corrected.original_claim_reference) == ("7", "P-CY1")
    assert (corrected.account_claim_id, corrected.replaces_claim_id) == (ids[0], ids[0])
    with medbill_app.unit_of_work() as work:
        assert work.claims.get(ids[0]).state is S.REPLACED
        totals = work.ledger.totals(claim_id=ids[0])
        assert totals.charges == D("125.00")  # one line left on the replacement
        assert totals.is_balanced()


def test_void_and_correction_need_the_payer_claim_number(medbill_app) -> None:
    ids = make_claims(medbill_app, 2)
    _accepted(medbill_app, ids[:1])
    with medbill_app.unit_of_work() as work:
        from medbill_core.errors import ValidationFailed
        with pytest.raises(ValidationFailed, match="never sent to the payer"):
            work.claims.void(ids[1], reason="wrong patient")  # a draft: deleted, not voided
        for target in (S.VALIDATED, S.SUBMITTED, S.ACCEPTED):
            work.claims.transition(ids[1], target)
        with pytest.raises(ValidationFailed, match="payer's claim control number"):
            work.claims.void(ids[1], reason="wrong patient")
        post_remittance(work, _remittance("TRN-V", _paid("CY1", "100.00", "23.50", "20.00")))
        voided = work.claims.void(ids[0], reason="billed to the wrong patient")
        assert voided.frequency.value == "8" and voided.claim_number == "CY1-V1"
        assert work.claims.get(ids[0]).state is S.VOIDED


@pytest.mark.parametrize("blank", ["", "   ", "\t\n"])
def test_void_correct_and_delete_refuse_a_blank_reason(medbill_app, blank: str) -> None:
    """The reason is kept in the claim's history: the service refuses a blank one (so the
    command line, the HTTP API and plugins alike), naming the field; nothing moves."""
    from medbill_core.errors import ValidationFailed

    ids = make_claims(medbill_app, 2)
    _accepted(medbill_app, ids[:1])
    with medbill_app.unit_of_work() as work:
        post_remittance(work, _remittance("TRN-B", _paid("CY1", "100.00", "23.50", "20.00")))
    before = states(medbill_app, ids)
    with medbill_app.unit_of_work() as work:
        original = work.claims.get(ids[0])
        refused = [
            (lambda: work.claims.void(ids[0], reason=blank),
             f"claim {ids[0]}: reason: required: say why the claim is voided"),
            (lambda: work.claims.correct(ids[0], original, reason=blank),
             f"claim {ids[0]}: reason: required: say what the replacement corrects"),
            (lambda: work.claims.delete_draft(ids[1], reason=blank),
             f"claim {ids[1]}: reason: required: say why the draft is deleted")]
        for call, message in refused:
            with pytest.raises(ValidationFailed) as caught:
                call()
            assert caught.value.message == message
    assert states(medbill_app, ids) == before
    with medbill_app.unit_of_work() as work:  # a reason is kept trimmed
        work.claims.delete_draft(ids[1], reason="  wrong patient ")
        assert work.claims.history(ids[1])[-1].reason == "wrong patient"


def test_a_void_keeps_the_charge_until_the_payers_reversal_arrives(medbill_app) -> None:
    # Issue 10 item 15: reversing the charges at once showed a credit of the whole charge
    # (-143.50 insurance) while the payer's 100.00 was not yet taken back.
    ids = make_claims(medbill_app, 1)
    _accepted(medbill_app, ids)
    answer = _paid("CY1", "100.00", "23.50", "20.00")
    with medbill_app.unit_of_work() as work:
        post_remittance(work, _remittance("TRN-V", answer))
        work.claims.void(ids[0], reason="billed to the wrong patient")
        totals = work.ledger.totals(claim_id=ids[0])
        assert totals.charges == D("143.50")  # the charge stands: the payer's money is kept
        assert (totals.balance.insurance, totals.balance.patient) == (D("0.00"), D("20.00"))
    reversal = answer.model_copy(update={
        "status": ClaimStatusCode.REVERSAL, "charge": -answer.charge, "paid": -answer.paid,
        "adjustments": [a.model_copy(update={"amount": -a.amount})
                        for a in answer.adjustments]})
    with medbill_app.unit_of_work() as work:
        post_remittance(work, _remittance("TRN-VR", reversal))
        totals = work.ledger.totals(claim_id=ids[0])
        assert work.claims.get(ids[0]).state is S.VOIDED
    # the reversal took the payment back and, with it, the charges: nothing owed, no credit
    assert (totals.charges, totals.payments, totals.adjustments) == (D("0.00"),) * 3
    assert (totals.balance.insurance, totals.balance.patient) == (D("0.00"), D("0.00"))
    with medbill_app.unit_of_work() as work:  # posting the reversal again changes nothing
        again = post_remittance(work, _remittance("TRN-VR", reversal))
        assert again.duplicates == ["CY1"]
        assert work.ledger.totals(claim_id=ids[0]).charges == D("0.00")


def test_a_void_of_a_claim_the_payer_never_answered_reverses_its_charges_at_once(
        medbill_app) -> None:
    ids = make_claims(medbill_app, 1)
    _accepted(medbill_app, ids)
    with medbill_app.unit_of_work() as work:
        work.claims.record_payer_claim_number(ids[0], "P-CY1")  # from the 277CA
        work.claims.void(ids[0], reason="never rendered")
        totals = work.ledger.totals(claim_id=ids[0])
    assert (totals.charges, totals.balance.insurance) == (D("0.00"), D("0.00"))


def test_adapter_findings_are_collected_while_posting(medbill_app) -> None:
    from types import MethodType

    from medbill_core.domain import ClaimFinding, Severity

    adapter = medbill_app.hooks.context.adapter("line_format")

    def underpaid(self, payment, payer, claim):
        if payment.paid < D("110.00"):
            return [ClaimFinding(severity=Severity.WARNING, code="line_format.underpaid",
                                 message=f"paid {payment.paid}, expected 110.00",
                                 claim_number=payment.claim_number, source="line_format")]
        return []

    adapter.remittance_findings = MethodType(underpaid, adapter)
    ids = make_claims(medbill_app, 2)
    _accepted(medbill_app, ids)
    with medbill_app.unit_of_work() as work:
        result = post_remittance(work, _remittance(
            "TRN-U", _paid("CY1", "100.00", "23.50", "20.00"),
            _paid("CY2", "120.00", "23.50", "0")))
    assert [(f.claim_number, f.code) for f in result.findings] == [
        ("CY1", "line_format.underpaid")]
