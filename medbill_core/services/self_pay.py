"""Self-pay prompt-pay discount: a percent off a self-pay bill paid in full in time.

The practice sets the percent and the number of days in its assistance schedule
(:func:`medbill_core.services.financial_assistance.set_policy`; none by default). The days
run from the day the bill was made (the claim's creation: a self-pay bill is due from then).
A payment of exactly the discounted balance on or before the last day settles the claim: the
discount is posted as a patient-bucket ``write_off`` with reason :data:`REASON_CODE` and the
payment applied to the claim, in one transaction. A claim gets the discount once; a claim
billed to insurance, or one already discounted, gets none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select

from medbill_core.app import UnitOfWork
from medbill_core.domain import Payment
from medbill_core.errors import NotFound, ValidationFailed
from medbill_core.ledger import Bucket, EntryKind, LedgerLine
from medbill_core.money import CENT, ZERO
from medbill_core.permissions import Action
from medbill_core.services.financial_assistance import HUNDRED, get_policy
from medbill_core.services.payments import PaymentResult, record_payment
from medbill_core.storage.schema import ClaimRow, PostingRow

REASON_CODE = "PROMPT-PAY"


@dataclass(frozen=True)
class PromptPayOffer:
    claim_id: int
    balance: Decimal
    percent: Decimal
    discount: Decimal
    pay_by: date

    @property
    def pay_now(self) -> Decimal:
        return self.balance - self.discount

    def as_json(self) -> dict[str, Any]:
        return {"claim_id": self.claim_id, "balance": str(self.balance),
                "percent": str(self.percent), "discount": str(self.discount),
                "pay_now": str(self.pay_now), "pay_by": self.pay_by.isoformat()}


def _key(claim_id: int) -> str:
    return f"prompt-pay:{claim_id}"


def prompt_pay_offer(work: UnitOfWork, claim_id: int, on: date) -> PromptPayOffer:
    """What paying the self-pay claim in full ``on`` that day would cost.

    :raises NotFound: no such claim.
    :raises ValidationFailed: the practice offers no prompt-pay discount, the claim is
        billed to insurance, nothing is owed, the discount was given, or ``on`` is too late.
    """
    work.require(Action.PAYMENTS_READ)
    row = work.session.get(ClaimRow, claim_id)
    if row is None:
        raise NotFound("claim", claim_id)
    record = f"claim {row.claim_number}"
    policy = get_policy(work)
    if policy.prompt_pay_percent is None or policy.prompt_pay_days is None:
        raise ValidationFailed(record, [("prompt_pay", "the practice offers no prompt-pay "
                                                       "discount (assistance schedule)")])
    if row.coverage_id is not None:
        raise ValidationFailed(record, [("prompt_pay", "the claim is billed to insurance")])
    account = row.account_claim_id or row.id
    work.ledger.flush_pending()
    if work.session.scalar(select(PostingRow.id).where(
            PostingRow.posting_key == _key(account))) is not None:
        raise ValidationFailed(record, [("prompt_pay", "the discount was already given")])
    pay_by = row.created_at.date() + timedelta(days=policy.prompt_pay_days)
    if on > pay_by:
        raise ValidationFailed(record, [("prompt_pay", f"the discount ended on "
                                                       f"{pay_by.isoformat()}")])
    balance = work.ledger.claim_balance(account)
    if balance.patient <= ZERO or balance.insurance != ZERO:
        raise ValidationFailed(record, [("prompt_pay", "the patient owes nothing on it")])
    discount = (balance.patient * policy.prompt_pay_percent / HUNDRED).quantize(
        CENT, ROUND_HALF_UP)
    return PromptPayOffer(account, balance.patient, policy.prompt_pay_percent, discount, pay_by)


def pay_promptly(work: UnitOfWork, payment: Payment) -> tuple[PromptPayOffer, PaymentResult]:
    """Record ``payment`` (naming its claim) as paying the claim in full with the prompt-pay
    discount: the amount must be exactly the offer's ``pay_now``.

    :raises ValidationFailed: see :func:`prompt_pay_offer`; no claim named, or another
        amount.
    """
    work.require(Action.PAYMENTS_POST)
    if payment.claim_id is None:
        raise ValidationFailed("payment", [("claim", "name the self-pay claim it pays")])
    offer = prompt_pay_offer(work, payment.claim_id, payment.received_on)
    if payment.amount != offer.pay_now:
        raise ValidationFailed("payment", [("amount", f"the prompt-pay amount is "
                                                      f"{offer.pay_now} (the balance less "
                                                      f"{offer.discount})")])
    if offer.discount > ZERO:
        work.ledger.post(_key(offer.claim_id), "self_pay", [LedgerLine(
            EntryKind.WRITE_OFF, offer.discount, patient_id=payment.patient_id,
            claim_id=offer.claim_id, reason_code=REASON_CODE, bucket=Bucket.PATIENT)],
            effective_date=payment.received_on, memo="prompt-pay discount")
    return offer, record_payment(work, payment.model_copy(update={"claim_id": offer.claim_id}))
