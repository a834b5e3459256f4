"""Any order of the same documents ends in the same money and states as the natural order.

One claim's life: a Medicare claim (Medigap secondary) is sent in a batch; its 999 and 277CA
come back, then the 835 paying it (the patient share goes to the Medigap plan, whose claim is
then sent). The practice corrects the claim (a replacement, frequency 7) as soon as the payer
has adjudicated it — the 277CA gave the payer's claim number — so the payer reverses the
original payment (CLP02 = 22) and answers the replacement; the Medigap plan pays the
replacement's patient share. The documents arrive in any order the practice's own actions
allow (a reversal or the replacement's 835 only after the replacement was sent, the Medigap
835 only after its claim was sent), each in its own transaction, on SQLite and PostgreSQL;
the ledger balances per account, bucket and payer and every claim's state must be those of
the natural order. The 277CA is also redelivered (another document id: applied again) at any
moment.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

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
    CoverageOrder,
    FunctionalAcknowledgment,
    Remittance,
    StatusCode,
    TransactionSetAck,
)
from medbill_core.errors import NotFound
from medbill_core.ledger import EntryKind
from medbill_core.lifecycle import allowed_targets
from medbill_core.services.responses import apply_decoded
from medbill_core.storage.schema import RemittanceExceptionRow, RemittanceRow, SubmissionRow
from medbill_core.testing import factories

D = Decimal
S = ClaimState
SENT = frozenset(set(S) - {S.DRAFT, S.VALIDATED, S.QUEUED, S.DELETED})
NATURAL = ("999", "277CA", "835 original", "835 reversal", "835 replacement", "835 secondary",
           "277CA again")
_tags = itertools.count(1)


@pytest.fixture
def medbill_config(medbill_db_url: str) -> MedbillConfig:
    return MedbillConfig(database_url=medbill_db_url, actor="tester",
                         practice=factories.make_practice(), payers={
                             "medicare": factories.make_payer(
                                 "medicare", payer_id="04412", name="Medicare Part B",
                                 claim_filing_indicator="MB"),
                             "gap": factories.make_payer("gap", payer_id="GAP01",
                                                         name="Medigap Plan")})


def payment(number: str, status: ClaimStatusCode, paid: str, adjustments: dict[str, str],
            payer_claim_number: str | None = None) -> ClaimPayment:
    items = [Adjustment(group=AdjustmentGroup(code.split("-")[0]),
                        reason_code=code.split("-")[1], amount=D(amount))
             for code, amount in adjustments.items()]
    return ClaimPayment(claim_number=number, status=status, charge=D("143.50"), paid=D(paid),
                        patient_responsibility=sum((a.amount for a in items
                                                    if a.group.value == "PR"), D("0")),
                        adjustments=items, payer_claim_number=payer_claim_number)


def reversal_of(original: ClaimPayment) -> ClaimPayment:
    """X221A1: the reversal negates every amount of the answer it takes back."""
    return original.model_copy(update={
        "status": ClaimStatusCode.REVERSAL, "charge": -original.charge, "paid": -original.paid,
        "patient_responsibility": -original.patient_responsibility,
        "adjustments": [a.model_copy(update={"amount": -a.amount})
                        for a in original.adjustments]})


def remittance(trace: str, payer_id: str, claim: ClaimPayment) -> Remittance:
    return Remittance(trace_number=trace, payment_amount=claim.paid, payer_name=payer_id,
                      payer_id=payer_id, payee_name="Clinic", payment_date=date(2026, 12, 1),
                      claims=[claim])


@dataclass
class Story:
    """One claim's documents, delivered one at a time, and the practice acting on them."""

    app: object
    tag: str = field(default_factory=lambda: f"Q{next(_tags)}")
    delivered: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        with self.app.unit_of_work() as work:
            patient = work.patients.register(factories.make_patient(int(self.tag[1:])))
            primary = work.patients.add_coverage(patient.id, factories.make_coverage(
                payer_key="medicare", member_id="1EG4TE5MK73"))
            work.patients.add_coverage(patient.id, factories.make_coverage(
                payer_key="gap", order=CoverageOrder.SECONDARY, member_id="GAP998877"))
            claim = work.claims.create(factories.make_claim(
                patient.id, coverage_id=primary.id, payer_key="medicare", number=self.tag,
                lines=2))
            for target in (S.VALIDATED, S.QUEUED, S.SUBMITTED):
                work.claims.transition(claim.id, target)
            work.session.add(SubmissionRow(
                idempotency_key=f"medicare-{self.tag}", payer_key="medicare",
                channel="loopback", kind="837P", control_number=f"{self.group:09d}",
                group_control_number=str(self.group), filename=f"{self.tag}.x12",
                content="(837 as sent)", claim_numbers=[self.tag], status="sent", attempts=1))
        self.account_id = claim.id
        original = payment(self.tag, ClaimStatusCode.PRIMARY, "100.00",
                           {"CO-45": "23.50", "PR-2": "20.00"}, f"PCN{self.tag}")
        self.documents = {
            "999": FunctionalAcknowledgment(
                group_control_number=str(self.group), functional_id="HC",
                status=AckStatus.ACCEPTED, transactions=[TransactionSetAck(
                    transaction_set_id="837", control_number="0001",
                    status=AckStatus.ACCEPTED)]),
            "277CA": ClaimAcknowledgmentBatch(claims=[ClaimAcknowledgment(
                claim_number=self.tag, status=ClaimAckStatus.ACCEPTED,
                payer_claim_number=f"PCN{self.tag}",
                status_codes=[StatusCode(category="A2", code="20")])]),
            "277CA again": None,  # the same 277CA redelivered under another document id
            "835 original": remittance(f"{self.tag}-1", "04412", original),
            "835 reversal": remittance(f"{self.tag}-2", "04412", reversal_of(original)),
            "835 replacement": remittance(f"{self.tag}-3", "04412", payment(
                self.replacement, ClaimStatusCode.PRIMARY, "110.00",
                {"CO-45": "23.50", "PR-2": "10.00"}, f"PCN{self.tag}-2")),
            "835 secondary": remittance(f"{self.tag}-4", "GAP01", payment(
                f"{self.replacement}-S2", ClaimStatusCode.SECONDARY, "10.00",
                {"OA-23": "133.50"})),
        }

    @property
    def group(self) -> int:
        return 1000 + int(self.tag[1:])

    @property
    def replacement(self) -> str:
        return f"{self.tag}-R1"

    def _state(self, work, number: str) -> ClaimState | None:
        try:
            return work.claims.by_number(number).state
        except NotFound:
            return None

    def deliverable(self) -> list[str]:
        """The documents that can arrive now: each once; the payer answers the replacement
        (reversing the original) only once it was sent, the Medigap plan its claim likewise."""
        with self.app.unit_of_work() as work:
            replacement_sent = self._state(work, self.replacement) in SENT
            secondary_sent = self._state(work, f"{self.replacement}-S2") in SENT
        ready = {"999", "277CA", "835 original", "277CA again"}
        if replacement_sent:
            ready |= {"835 reversal", "835 replacement"}
        if secondary_sent:
            ready.add("835 secondary")
        return [name for name in NATURAL if name in ready and name not in self.delivered]

    def deliver(self, name: str) -> None:
        document = self.documents[name] or self.documents[name.removesuffix(" again")]
        with self.app.unit_of_work() as work:
            apply_decoded(work, document)
        self.delivered.append(name)
        self.practice()

    def practice(self) -> None:
        """What the biller does as soon as it can: correct the claim once the payer has
        adjudicated it, and send every claim created for the next payer."""
        with self.app.unit_of_work() as work:
            original = work.claims.by_number(self.tag)
            if original.payer_claim_number and S.REPLACED in allowed_targets(original.state):
                replacement = work.claims.correct(original.id, original,
                                                  reason="coding review")
                for target in (S.VALIDATED, S.SUBMITTED):
                    work.claims.transition(replacement.id, target)
            for claim in work.claims.list(patient_id=original.patient_id, state=S.DRAFT):
                for target in (S.VALIDATED, S.SUBMITTED):
                    work.claims.transition(claim.id, target, reason="sent to the next payer")

    def outcome(self) -> dict[str, object]:
        """Every claim's state (by its number without the tag), and the account's money."""
        with self.app.unit_of_work() as work:
            claims = work.claims.list(patient_id=work.claims.get(self.account_id).patient_id)
            balance = work.ledger.claim_balance(self.account_id)
            totals = work.ledger.totals(claim_id=self.account_id)
            result: dict[str, object] = {
                claim.claim_number.replace(self.tag, "#"): claim.state for claim in claims}
            result.update({
                "owed by medicare": work.ledger.payer_balance(self.account_id, "medicare"),
                "owed by gap": work.ledger.payer_balance(self.account_id, "gap"),
                "owed by patient": balance.patient, "insurance": balance.insurance,
                "charges": totals.charges, "payments": totals[EntryKind.PAYER_PAYMENT],
                "adjustments": totals.adjustments, "balanced": totals.is_balanced()})
        return result


def natural_outcome(app) -> dict[str, object]:
    story = Story(app)
    for name in NATURAL:
        assert name in story.deliverable(), f"{name} not deliverable in the natural order"
        story.deliver(name)
    return story.outcome()


def test_the_natural_order_settles_everyone(medbill_app):
    outcome = natural_outcome(medbill_app)
    assert outcome["owed by medicare"] == outcome["owed by gap"] == D("0.00")
    assert outcome["owed by patient"] == D("0.00")
    assert outcome["payments"] == D("120.00") and outcome["balanced"] is True
    assert outcome["#"] is S.REPLACED
    assert outcome["#-R1"] in (S.PAID, S.CLOSED)
    assert outcome["#-R1-S2"] in (S.PAID, S.CLOSED)


def test_a_reversal_before_the_original_takes_the_share_back_from_the_secondary(medbill_app):
    """The issue's case: the 277CA, then the replacement's reversal of the original and the
    replacement's answer, and only then the original 835."""
    expected = natural_outcome(medbill_app)
    story = Story(medbill_app)
    for name in ("277CA", "835 reversal", "835 replacement", "835 original", "999",
                 "835 secondary", "277CA again"):
        assert name in story.deliverable()
        story.deliver(name)
        if name == "835 reversal":  # nothing to take back yet: held, in sight, posting nothing
            held, register = _reversal_record(medbill_app, story)
            assert (held.reason, held.resolved) == (
                "held: a reversal received before the answer it reverses", False)
            assert (register.status, register.exception_count, register.posted_count) == (
                "exceptions", 1, 0)
            with medbill_app.unit_of_work() as work:
                assert work.ledger.totals(claim_id=story.account_id).payments == D("0.00")
    assert story.outcome() == expected
    held, register = _reversal_record(medbill_app, story)
    assert (held.resolved, held.resolution) == (
        True, "posted when the answer it reverses arrived")
    assert (register.status, register.exception_count, register.posted_count,
            register.posted_total) == ("balanced", 0, 1, D("-100.00"))


def _reversal_record(app, story: Story) -> tuple[RemittanceExceptionRow, RemittanceRow]:
    with app.unit_of_work() as work:
        held = work.session.scalar(select(RemittanceExceptionRow).where(
            RemittanceExceptionRow.claim_number == story.tag))
        register = work.session.scalar(select(RemittanceRow).where(
            RemittanceRow.trace_number == f"{story.tag}-2"))
        work.session.expunge_all()
    return held, register


def test_a_late_277ca_does_not_take_a_paid_claim_back_to_accepted(medbill_app):
    with medbill_app.unit_of_work() as work:
        patient = work.patients.register(factories.make_patient(1))
        coverage = work.patients.add_coverage(patient.id, factories.make_coverage(
            payer_key="medicare"))
        claim = work.claims.create(factories.make_claim(
            patient.id, coverage_id=coverage.id, payer_key="medicare", number="LATE", lines=2))
        for target in (S.VALIDATED, S.SUBMITTED):
            work.claims.transition(claim.id, target)
        apply_decoded(work, remittance("L-1", "04412", payment(
            "LATE", ClaimStatusCode.PRIMARY, "100.00", {"CO-45": "23.50", "PR-2": "20.00"})))
    ack = ClaimAcknowledgmentBatch(claims=[ClaimAcknowledgment(
        claim_number="LATE", status=ClaimAckStatus.ACCEPTED, payer_claim_number="PCN9",
        status_codes=[StatusCode(category="A2", code="20")])])
    with medbill_app.unit_of_work() as work:
        detail = apply_decoded(work, ack)
        state = work.claims.get(claim.id).state
        pcn = work.claims.get(claim.id).payer_claim_number
    assert detail == "277CA: 0 accepted, 0 rejected, 1 not applicable"
    assert (state, pcn) == (S.PATIENT_BALANCE, "PCN9")  # recorded, state kept


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_any_order_of_a_claims_documents_ends_as_the_natural_order(medbill_app, data):
    expected = _natural(medbill_app)
    story = Story(medbill_app)
    while ready := story.deliverable():
        story.deliver(data.draw(st.sampled_from(ready), label="next document"))
    assert sorted(story.delivered) == sorted(NATURAL)
    assert story.outcome() == expected, f"order: {story.delivered}"


_natural_cache: dict[int, dict[str, object]] = {}


def _natural(app) -> dict[str, object]:
    """The natural order's outcome, once per database (every story has its own account)."""
    if id(app) not in _natural_cache:
        _natural_cache[id(app)] = natural_outcome(app)
    return _natural_cache[id(app)]


def test_one_835_listing_a_reversal_before_the_answer_it_reverses_nets_out(medbill_app):
    story = Story(medbill_app)
    original = story.documents["835 original"].claims[0]
    both = remittance(f"{story.tag}-9", "04412", reversal_of(original)).model_copy(
        update={"claims": [reversal_of(original), original], "payment_amount": D("0.00")})
    with medbill_app.unit_of_work() as work:
        detail = apply_decoded(work, both)
    assert detail == f"835 {story.tag}-9: 2 posted, 0 already posted, 0 unmatched"
    outcome = story.outcome()
    assert (outcome["payments"], outcome["owed by gap"], outcome["owed by patient"],
            outcome["owed by medicare"]) == (D("0.00"), D("0.00"), D("0.00"), D("143.50"))
    with medbill_app.unit_of_work() as work:
        register = work.session.scalar(select(RemittanceRow).where(
            RemittanceRow.trace_number == f"{story.tag}-9"))
        assert (register.status, register.posted_count, register.exception_count) == (
            "balanced", 2, 0)
        assert work.claims.by_number(story.tag).state is S.ACCEPTED  # the new answer is awaited
