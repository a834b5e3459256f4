"""Posting remittances (835) to the ledger and moving claims through adjudication states.

Posting is idempotent: each claim payment is posted under a key made of the
payment's trace number, the payer, the claim number and its position among
that claim's payments in the remittance. Posting the same 835 again writes
nothing and reports the duplicates.

Mapping of adjustments: PR (patient responsibility: deductible, coinsurance,
copay, non-covered billed to the patient) moves the amount to the patient's
bucket; CO, OA, PI and CR reduce what the practice expects (contractual or
payer-initiated adjustments), each entry keeping its CARC as ``GROUP-CODE``.
A reversal (CLP02 = 22) posts the same amounts negated and reopens the claim.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from medbill_core import audit
from medbill_core.app import UnitOfWork
from medbill_core.domain import (
    AdjustmentGroup,
    Claim,
    ClaimPayment,
    ClaimState,
    ClaimStatusCode,
    Remittance,
)
from medbill_core.errors import NotFound
from medbill_core.ledger import EntryKind, LedgerLine
from medbill_core.lifecycle import ALLOWED_TRANSITIONS
from medbill_core.money import ZERO
from medbill_core.storage.schema import ProviderAdjustmentRow, RemittanceExceptionRow


@dataclass
class RemittancePostingResult:
    trace_number: str
    posted: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    provider_adjustments: int = 0
    paid: Decimal = ZERO

    @property
    def changed_anything(self) -> bool:
        return bool(self.posted or self.unmatched or self.provider_adjustments)


def _entries(claim: Claim, payment: ClaimPayment, sign: Decimal) -> list[LedgerLine]:
    common = {"patient_id": claim.patient_id, "claim_id": claim.id, "payer_key": claim.payer_key}
    lines: list[LedgerLine] = []
    if payment.paid:
        lines.append(LedgerLine(EntryKind.PAYER_PAYMENT, payment.paid * sign, **common))
    for adjustment in payment.all_adjustments:
        if not adjustment.amount:
            continue
        kind = (EntryKind.TRANSFER_TO_PATIENT
                if adjustment.group is AdjustmentGroup.PATIENT_RESPONSIBILITY
                else EntryKind.CONTRACTUAL_ADJUSTMENT)
        lines.append(LedgerLine(kind, adjustment.amount * sign,
                                reason_code=f"{adjustment.group.value}-{adjustment.reason_code}",
                                **common))
    return lines


def _walk(work: UnitOfWork, claim: Claim, target: ClaimState, reason: str) -> Claim:
    """Move ``claim`` to ``target``, through ``accepted`` when it has not been acknowledged."""
    if claim.state is target:
        return claim
    if target not in ALLOWED_TRANSITIONS[claim.state] and \
            ClaimState.ACCEPTED in ALLOWED_TRANSITIONS[claim.state]:
        claim = work.claims.transition(claim.id, ClaimState.ACCEPTED, reason=reason)
    if target in ALLOWED_TRANSITIONS[claim.state]:
        claim = work.claims.transition(claim.id, target, reason=reason)
    return claim


def _settle_state(work: UnitOfWork, claim: Claim, payment: ClaimPayment, reason: str) -> None:
    if payment.is_reversal:
        _walk(work, claim, ClaimState.ACCEPTED, reason)
        return
    if payment.status is ClaimStatusCode.DENIED and not payment.paid:
        _walk(work, claim, ClaimState.DENIED, reason)
        return
    balance = work.ledger.claim_balance(claim.id)
    if balance.insurance > ZERO:
        claim = _walk(work, claim, ClaimState.PARTIALLY_PAID if payment.paid
                      else ClaimState.ACCEPTED, reason)
        return
    claim = _walk(work, claim, ClaimState.PAID, reason)
    if balance.patient > ZERO:
        _walk(work, claim, ClaimState.PATIENT_BALANCE, reason)
    elif balance.total == ZERO:
        _walk(work, claim, ClaimState.CLOSED, reason)


def post_remittance(work: UnitOfWork, remittance: Remittance, *,
                    effective_date: date | None = None) -> RemittancePostingResult:
    """Post one 835 transaction inside the caller's transaction.

    Unknown claim numbers become remittance exceptions (a work list), PLB
    adjustments become provider adjustments; neither touches a patient account.
    """
    result = RemittancePostingResult(remittance.trace_number)
    when = effective_date or remittance.payment_date or date.today()
    prefix = f"835:{remittance.payer_id or remittance.payer_name}:{remittance.trace_number}"
    seen: Counter[str] = Counter()
    for payment in remittance.claims:
        seen[payment.claim_number] += 1
        key = f"{prefix}:{payment.claim_number}:{seen[payment.claim_number]}"
        try:
            claim = work.claims.by_number(payment.claim_number)
        except NotFound:
            _record_exception(work, key, remittance.trace_number, payment,
                              "claim number not found")
            result.unmatched.append(payment.claim_number)
            continue
        sign = Decimal(-1) if payment.is_reversal else Decimal(1)
        lines = _entries(claim, payment, sign)
        reason = f"835 {remittance.trace_number}"
        if not lines:  # a zero-pay, zero-adjustment answer still settles the state
            _settle_state(work, claim, payment, reason)
            result.posted.append(payment.claim_number)
            continue
        posting = work.ledger.post(key, "835", lines, effective_date=when,
                                   memo=f"CLP02 {payment.status.value}", allow_credit=True)
        if not posting.created:
            result.duplicates.append(payment.claim_number)
            continue
        if payment.payer_claim_number and not claim.payer_claim_number:
            claim = work.claims.record_payer_claim_number(claim.id, payment.payer_claim_number)
        _settle_state(work, claim, payment, reason)
        result.posted.append(payment.claim_number)
        result.paid += payment.paid * sign
    for index, plb in enumerate(remittance.provider_adjustments, start=1):
        key = f"{prefix}:PLB:{index}"
        exists = work.session.scalar(select(ProviderAdjustmentRow.id).where(
            ProviderAdjustmentRow.posting_key == key))
        if exists is not None:
            continue
        work.session.add(ProviderAdjustmentRow(
            posting_key=key, trace_number=remittance.trace_number, payer_id=remittance.payer_id,
            provider_id=plb.provider_id, reason_code=plb.reason_code, reference=plb.reference,
            amount=plb.amount, fiscal_period_date=plb.fiscal_period_date))
        result.provider_adjustments += 1
    if result.changed_anything:
        audit.record(work.session, actor=work.actor, action="remittance.post",
                     entity_type="remittance", entity_id=remittance.trace_number,
                     details={"posted": len(result.posted), "duplicates": len(result.duplicates),
                              "unmatched": len(result.unmatched),
                              "provider_adjustments": result.provider_adjustments})
    return result


def _record_exception(work: UnitOfWork, key: str, trace: str, payment: ClaimPayment,
                      reason: str) -> None:
    exists = work.session.scalar(select(RemittanceExceptionRow.id).where(
        RemittanceExceptionRow.posting_key == key))
    if exists is None:
        work.session.add(RemittanceExceptionRow(posting_key=key, trace_number=trace,
                                                claim_number=payment.claim_number[:50],
                                                reason=reason, paid=payment.paid))
