"""Insurance overpayments: what the practice owes back to a payer, and how it went back.

A payer that paid a claim more than it owed leaves the claim's insurance balance for that payer
below zero (:meth:`~medbill_core.ledger.Ledger.payer_balance`). A **refund request**
(:func:`request_payer_refund`) records the amount, the claim, the reason; it is ``requested``
until one of:

- ``refunded``: the practice sent the money (:func:`mark_refunded`, with the check number):
  a ``refund`` entry on the claim's insurance bucket closes the credit;
- ``recouped``: the payer took the money back in an 835 instead (:func:`match_recoupments`),
  either as a provider-level adjustment (PLB ``WO`` overpayment recovery or ``FB`` forwarding
  balance, whose reference names the claim by its payer claim control number or its claim
  number, for the request's amount): the remittance posting recorded the PLB against no
  account, so matching posts the ``refund`` entry on the claim under the key
  ``recoup:<PLB posting key>`` (a PLB closes one request, once: matching again posts
  nothing); or as a claim reversal (CLP02 22) the remittance posting already took back on the
  claim: once the claim holds no credit for the payer any more, the request is closed with
  nothing posted (the reversal was the ledger's movement);
- ``cancelled`` (:func:`cancel_payer_refund`): the payer said nothing is owed.

A request never exceeds the credit the claim holds for the payer less what other open
requests already ask back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import select, tuple_

from medbill_core import audit
from medbill_core.app import UnitOfWork
from medbill_core.errors import NotFound, ValidationFailed
from medbill_core.ledger import Bucket, EntryKind, LedgerLine
from medbill_core.money import ZERO, checked_amount, to_money
from medbill_core.permissions import Action
from medbill_core.storage.prefix_sql import starts_with
from medbill_core.storage.schema import (
    ClaimRow,
    LedgerEntryRow,
    PayerRefundRequestRow,
    PostingRow,
    ProviderAdjustmentRow,
)

#: PLB reason codes by which a payer takes an overpayment back (X12 5010 835 PLB03-1)
RECOUPMENT_CODES = frozenset({"WO", "FB"})


class RefundStatus(StrEnum):
    REQUESTED = "requested"
    REFUNDED = "refunded"
    RECOUPED = "recouped"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class PayerRefund:
    id: int
    claim_id: int
    claim_number: str
    payer_key: str
    amount: Decimal
    reason: str
    status: RefundStatus
    requested_on: date
    closed_on: date | None
    closing_reference: str | None

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "claim_id": self.claim_id, "claim_number": self.claim_number,
                "payer_key": self.payer_key, "amount": str(self.amount),
                "reason": self.reason, "status": self.status.value,
                "requested_on": self.requested_on.isoformat(),
                "closed_on": self.closed_on.isoformat() if self.closed_on else None,
                "closing_reference": self.closing_reference}


def _summary(row: PayerRefundRequestRow, claim_number: str) -> PayerRefund:
    return PayerRefund(row.id, row.claim_id, claim_number, row.payer_key, row.amount,
                       row.reason, RefundStatus(row.status), row.requested_on, row.closed_on,
                       row.closing_reference)


def _claim(work: UnitOfWork, claim_id: int) -> ClaimRow:
    row = work.session.get(ClaimRow, claim_id)
    if row is None:
        raise NotFound("claim", claim_id)
    return row


def insurance_credit(work: UnitOfWork, claim_id: int, payer_key: str) -> Decimal:
    """What the payer paid beyond what it owes on the claim's account (0.00: nothing)."""
    account = _claim(work, claim_id)
    account_id = account.account_claim_id or account.id
    return max(ZERO, -work.ledger.payer_balance(account_id, payer_key))


def _open_requested(work: UnitOfWork, claim_id: int, payer_key: str) -> Decimal:
    amounts = work.session.scalars(select(PayerRefundRequestRow.amount).where(
        PayerRefundRequestRow.claim_id == claim_id,
        PayerRefundRequestRow.payer_key == payer_key,
        PayerRefundRequestRow.status == RefundStatus.REQUESTED.value))
    return sum(amounts, ZERO)


def request_payer_refund(work: UnitOfWork, claim_id: int, amount: Decimal, reason: str, *,
                         payer_key: str | None = None, on: date | None = None) -> PayerRefund:
    """Record that ``amount`` of a payer's overpayment on a claim is owed back.

    :raises NotFound: no such claim.
    :raises ValidationFailed: no reason, an amount that is not positive or more than the
        credit the claim holds for the payer (less open requests).
    """
    work.require(Action.PAYMENTS_REFUND)
    claim = _claim(work, claim_id)
    record = f"claim {claim.claim_number}"
    payer = payer_key or claim.payer_key
    if not payer:
        raise ValidationFailed(record, [("payer", "the claim has no payer; name one")])
    if not reason.strip():
        raise ValidationFailed(record, [("reason", "say why (no patient details)")])
    amount = checked_amount(amount, record, "amount")
    if amount <= ZERO:
        raise ValidationFailed(record, [("amount", "must be more than 0.00")])
    available = insurance_credit(work, claim_id, payer) - _open_requested(work, claim_id, payer)
    if amount > available:
        raise ValidationFailed(record, [("amount", f"exceeds the {max(ZERO, available)} the "
                                                   f"claim holds in credit for {payer} "
                                                   "(less open requests)")])
    row = PayerRefundRequestRow(claim_id=claim_id, payer_key=payer, amount=amount,
                                reason=reason.strip()[:500],
                                status=RefundStatus.REQUESTED.value,
                                requested_on=on or date.today(), actor=work.actor)
    work.session.add(row)
    work.session.flush()
    audit.record(work.session, actor=work.actor, action="payer_refund.request",
                 entity_type="payer_refund", entity_id=row.id,
                 details={"claim_id": claim_id, "payer_key": payer, "amount": str(amount)})
    return _summary(row, claim.claim_number)


def _open_row(work: UnitOfWork, request_id: int) -> PayerRefundRequestRow:
    row = work.session.get(PayerRefundRequestRow, request_id)
    if row is None:
        raise NotFound("payer refund request", request_id)
    if row.status != RefundStatus.REQUESTED.value:
        raise ValidationFailed(f"payer refund request {request_id}",
                               [("status", f"is {row.status}")])
    return row


def _post_refund(work: UnitOfWork, row: PayerRefundRequestRow, key: str, day: date,
                 memo: str) -> int:
    claim = _claim(work, row.claim_id)
    account_id = claim.account_claim_id or claim.id
    posting = work.ledger.post(key, "payer_refund", [LedgerLine(
        EntryKind.REFUND, row.amount, patient_id=claim.patient_id, claim_id=account_id,
        payer_key=row.payer_key, bucket=Bucket.INSURANCE)],
        effective_date=day, memo=memo, allow_credit=True)
    return posting.posting_id


def mark_refunded(work: UnitOfWork, request_id: int, check_number: str, *,
                  on: date | None = None) -> PayerRefund:
    """The practice sent the payer its money back (by check): posted on the claim.

    :raises NotFound: no such request. :raises ValidationFailed: not open, or no check
        number."""
    work.require(Action.PAYMENTS_REFUND)
    row = _open_row(work, request_id)
    if not check_number.strip():
        raise ValidationFailed(f"payer refund request {request_id}",
                               [("check_number", "give the refund check's number")])
    day = on or date.today()
    row.posting_id = _post_refund(work, row, f"payer_refund:{row.id}", day,
                                  f"overpayment refunded to {row.payer_key}")
    _close(work, row, RefundStatus.REFUNDED, check_number.strip()[:80], day)
    return _summary(row, _claim(work, row.claim_id).claim_number)


def cancel_payer_refund(work: UnitOfWork, request_id: int, reason: str) -> PayerRefund:
    work.require(Action.PAYMENTS_REFUND)
    row = _open_row(work, request_id)
    if not reason.strip():
        raise ValidationFailed(f"payer refund request {request_id}",
                               [("reason", "say why (no patient details)")])
    _close(work, row, RefundStatus.CANCELLED, reason.strip()[:80], date.today())
    return _summary(row, _claim(work, row.claim_id).claim_number)


def _close(work: UnitOfWork, row: PayerRefundRequestRow, status: RefundStatus,
           reference: str | None, day: date) -> None:
    row.status = status.value
    row.closed_on = day
    row.closed_by = work.actor
    row.closing_reference = reference
    audit.record(work.session, actor=work.actor, action=f"payer_refund.{status.value}",
                 entity_type="payer_refund", entity_id=row.id,
                 details={"claim_id": row.claim_id, "amount": str(row.amount)})


@dataclass(frozen=True)
class RecoupmentMatch:
    request_id: int
    claim_number: str
    amount: Decimal
    #: ``plb`` (posted now) or ``reversal`` (posted by the remittance before)
    how: str
    reference: str


def _names_claim(reference: str | None, claim: ClaimRow) -> bool:
    if not reference:
        return False
    names = {claim.claim_number.upper()}
    if claim.payer_claim_number:
        names.add(claim.payer_claim_number.upper())
    return bool(names & set(reference.upper().replace(":", " ").split()))


def match_recoupments(work: UnitOfWork, *, on: date | None = None) -> list[RecoupmentMatch]:
    """Close open refund requests the payer recouped in an 835 (see the module docstring).
    Matching twice changes nothing."""
    work.require(Action.REMITTANCE_POST)
    day = on or date.today()
    open_rows = list(work.session.scalars(
        select(PayerRefundRequestRow).where(
            PayerRefundRequestRow.status == RefundStatus.REQUESTED.value)
        .order_by(PayerRefundRequestRow.requested_on, PayerRefundRequestRow.id)))
    if not open_rows:
        return []
    used = set(work.session.scalars(select(PostingRow.posting_key).where(
        starts_with(work.session, PostingRow.posting_key, "recoup:"))))
    plbs = [plb for plb in work.session.scalars(
        select(ProviderAdjustmentRow).where(
            ProviderAdjustmentRow.reason_code.in_(sorted(RECOUPMENT_CODES)))
        .order_by(ProviderAdjustmentRow.id))
        if f"recoup:{plb.posting_key}" not in used]
    matches = []
    for row in open_rows:
        claim = _claim(work, row.claim_id)
        plb = next((p for p in plbs if to_money(p.amount) == row.amount
                    and _names_claim(p.reference, claim)), None)
        if plb is not None:
            plbs.remove(plb)
            key = f"recoup:{plb.posting_key}"
            row.posting_id = _post_refund(work, row, key, day,
                                          f"overpayment recouped by {row.payer_key} (PLB)")
            _close(work, row, RefundStatus.RECOUPED, plb.posting_key[:80], day)
            matches.append(RecoupmentMatch(row.id, claim.claim_number, row.amount, "plb",
                                           plb.posting_key))
            continue
        reversal = _reversal_since(work, claim, row)
        if reversal is not None and insurance_credit(work, row.claim_id, row.payer_key) \
                < row.amount:
            _close(work, row, RefundStatus.RECOUPED, reversal[:80], day)
            matches.append(RecoupmentMatch(row.id, claim.claim_number, row.amount,
                                           "reversal", reversal))
    return matches


def _reversal_since(work: UnitOfWork, claim: ClaimRow,
                    row: PayerRefundRequestRow) -> str | None:
    """The posting key of a payer payment taken back on the claim's account on or after the
    request (a CLP02 22 reversal posts the payment negated)."""
    account_id = claim.account_claim_id or claim.id
    return work.session.scalar(
        select(PostingRow.posting_key)
        .join(LedgerEntryRow, LedgerEntryRow.posting_id == PostingRow.id)
        .where(LedgerEntryRow.claim_id == account_id,
               LedgerEntryRow.payer_key == row.payer_key,
               LedgerEntryRow.kind == EntryKind.PAYER_PAYMENT.value,
               LedgerEntryRow.amount < ZERO,
               LedgerEntryRow.effective_date >= row.requested_on)
        .order_by(PostingRow.id).limit(1))


def list_payer_refunds(work: UnitOfWork, *, status: RefundStatus | None = None,
                       after: tuple[date, int] | None = None, limit: int | None = None
                       ) -> list[PayerRefund]:
    """Refund requests by request date, then id (at most ``limit`` after the request
    ``after`` = (requested_on, id): the API's keyset pages; without them, every request).

    The date comes first because that is how the practice works the list (oldest request
    first, the payer's deadline runs from it); the id breaks ties between one day's."""
    work.require(Action.PAYMENTS_READ)
    query = (select(PayerRefundRequestRow, ClaimRow.claim_number)
             .join(ClaimRow, ClaimRow.id == PayerRefundRequestRow.claim_id)
             .order_by(PayerRefundRequestRow.requested_on, PayerRefundRequestRow.id)
             .limit(limit))
    if after is not None:
        query = query.where(tuple_(PayerRefundRequestRow.requested_on, PayerRefundRequestRow.id)
                            > tuple_(*after))
    if status is not None:
        query = query.where(PayerRefundRequestRow.status == status.value)
    return [_summary(row, number) for row, number in work.session.execute(query)]
