"""Patient financing referrals: a guarantor's balance referred to a lender
(:mod:`medbill_core.financing_providers`), and the lender's approval posted as a payment.

A referral names a guarantor, an amount no larger than what the guarantor's family owes now,
and how the applicant agreed to be referred (the consent is required: the lender will contact
them). What the lender is sent is documented in :mod:`medbill_core.financing_providers`: the
applicant's name and agreed contact, the amount, the practice's name, our random reference.

Statuses: ``referred`` (the lender has it, undecided), ``declined``, ``expired`` (nothing
posted), ``approved`` (briefly: the approval is posted in the same transaction) and
``posted``. The decision comes by the lender's signed callback (:func:`handle_callback`) or a
poll (:func:`check_referral`, ``medbill financing check``), whichever comes first; both take
the referral's row lock, so a callback twice, or a poll after the callback, posts once.

The approved amount posts as a patient payment through the patient-payment rules
(:func:`~medbill_core.services.payments.record_guarantor_payment`: across the family's
claims oldest service first; what exceeds the balance by then stays a credit), method
``other``, its reference naming the lender and the application. The patient's balance drops
by the whole approved amount (the patient now owes the lender). A merchant fee the lender
reports (``merchant_fee``, kept on the referral and on the payment as its ``fee``) is what
the lender keeps: it deposits the approved amount less the fee. The payment's posting
therefore holds ``patient_payment`` entries for what the lender deposits and
``financing_fee`` entries for the fee (carved out of what the payment applies, first out of
each claim it pays), so the day's patient deposit in the accounting export is the money that
reaches the bank and the fee is booked to the *patient financing fees* expense account
(:mod:`medbill_core.services.accounting_chart`). A fee of 0.00, or none, posts the payment
whole; a fee equal to the approved amount (the lender deposits nothing) is legal: the
posting is all financing fee. A returned payment takes the fee back with the rest.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from medbill_core import audit
from medbill_core.domain import Payment, PaymentMethodKind
from medbill_core.errors import MedbillError, NotFound, ValidationFailed
from medbill_core.financing_providers import (
    FinancingDecision,
    FinancingProvider,
    FinancingRequest,
    FinancingStatus,
)
from medbill_core.money import ZERO, summed_cents, to_money
from medbill_core.permissions import Action
from medbill_core.services.card_payments import balance_owed
from medbill_core.services.payments import Overpayment, record_guarantor_payment
from medbill_core.services.practices import practice_holding, practice_profile
from medbill_core.storage.schema import FinancingReferralRow, GuarantorRow, PatientRow, utcnow

if TYPE_CHECKING:
    from medbill_core.app import Medbill, UnitOfWork

__all__ = ["Applied", "PendingChecked", "ReferralStatus", "ReferralView", "apply_decision",
           "check_pending", "check_referral", "get_referral", "handle_callback",
           "list_referrals", "refer"]

#: the largest referral (a typo beyond any balance is refused before the lender sees it)
MAX_REFERRAL = Decimal("99999.99")


class ReferralStatus(StrEnum):
    REFERRED = "referred"
    APPROVED = "approved"
    DECLINED = "declined"
    EXPIRED = "expired"
    POSTED = "posted"


#: statuses no later answer of the lender changes
_FINAL = frozenset({ReferralStatus.DECLINED, ReferralStatus.EXPIRED, ReferralStatus.POSTED})

#: a referral the lender has not decided (by callback) this long after it was made is asked
#: about by :func:`check_pending` (a lender's callback may be lost: a firewall, a restart)
POLL_AFTER = timedelta(hours=1)


class Applied(StrEnum):
    """What a decision of the lender changed."""

    POSTED = "posted"
    #: recorded a decline or an expiry
    RECORDED = "recorded"
    #: nothing: still pending, or an earlier answer decided it already
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class ReferralView:
    id: int
    reference: str
    guarantor_id: int
    amount: Decimal
    provider: str
    application_id: str
    status: ReferralStatus
    consent: str
    lender_name: str | None
    approved_amount: Decimal | None
    merchant_fee: Decimal | None
    decline_reason: str | None
    payment_id: int | None
    created_at: datetime
    created_by: str
    decided_at: datetime | None
    decided_by: str | None
    posted_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        def money(value: Decimal | None) -> str | None:
            return str(value) if value is not None else None

        def when(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {"id": self.id, "reference": self.reference, "guarantor_id": self.guarantor_id,
                "amount": str(self.amount), "provider": self.provider,
                "application_id": self.application_id, "status": self.status.value,
                "consent": self.consent, "lender_name": self.lender_name,
                "approved_amount": money(self.approved_amount),
                "merchant_fee": money(self.merchant_fee),
                "decline_reason": self.decline_reason, "payment_id": self.payment_id,
                "created_at": self.created_at.isoformat(), "created_by": self.created_by,
                "decided_at": when(self.decided_at), "decided_by": self.decided_by,
                "posted_at": when(self.posted_at)}


def provider_of(work: UnitOfWork, identifier: str | None = None) -> FinancingProvider:
    """The configured financing provider (or ``identifier``).

    :raises AdapterNotAvailable: none configured, or its plugin is not enabled.
    """
    return work.app.hooks.context.financing_provider(identifier)


def refer(work: UnitOfWork, guarantor_id: int | None = None, *, consent: str,
          patient_id: int | None = None, amount: Decimal | None = None,
          provider: str | None = None) -> ReferralView:
    """Refer a guarantor's balance (or ``amount`` of it) to the financing provider, audited.
    The lender usually answers ``pending``; an answer already decided is applied at once.

    :param patient_id: instead of ``guarantor_id``: whoever pays this patient's bills applies
        (a patient who pays their own is made their own guarantor: :func:`_applicant_of_
        patient`).
    :param consent: how the applicant agreed to be referred (``verbal, at checkout``).
    :raises NotFound: no such guarantor (or patient).
    :raises ValidationFailed: neither or both of the guarantor and the patient, no consent,
        nothing owed, an amount not positive or beyond the balance.
    :raises FinancingError: the lender is unreachable or refused (nothing recorded).
    """
    work.require(Action.FINANCING_REFER)
    if (guarantor_id is None) == (patient_id is None):
        raise ValidationFailed("financing referral", [(
            "guarantor_id", "name the guarantor or the patient (one of them)")])
    if guarantor_id is None:
        assert patient_id is not None
        guarantor_id = _applicant_of_patient(work, patient_id)
    record = f"guarantor {guarantor_id}"
    guarantor = work.session.get(GuarantorRow, guarantor_id)
    if guarantor is None:
        raise NotFound("guarantor", guarantor_id)
    note = consent.strip()
    if not note:
        raise ValidationFailed(record, [("consent", "say how the applicant agreed to be "
                                                    "referred (e.g. verbal, at checkout)")])
    if len(note) > 200:
        raise ValidationFailed(record, [("consent", "at most 200 characters")])
    # what a referral still undecided may yet pay is spoken for: the same balance referred
    # twice would post twice (the family owing the lender double, the practice a credit)
    pending = summed_cents(work.session.scalar(
        select(func.sum(FinancingReferralRow.amount))
        .where(FinancingReferralRow.guarantor_id == guarantor_id,
               FinancingReferralRow.status.in_([ReferralStatus.REFERRED.value,
                                                ReferralStatus.APPROVED.value]))))
    owed = balance_owed(work, guarantor_id=guarantor_id) - pending
    less = f" less {pending} in undecided referrals" if pending else ""
    if amount is None:
        if owed <= ZERO:
            raise ValidationFailed(record, [("amount", f"nothing is owed{less}")])
        amount = owed
    amount = to_money(amount)
    if amount <= ZERO or amount > MAX_REFERRAL:
        raise ValidationFailed(record, [("amount", f"must be more than 0.00 and at most "
                                                   f"{MAX_REFERRAL}")])
    if amount > owed:
        raise ValidationFailed(record, [("amount", f"{amount} exceeds the {max(owed, ZERO)} "
                                                   f"owed{less}")])
    chosen = provider_of(work, provider)
    reference = "fin_" + secrets.token_hex(12)
    request = FinancingRequest(
        reference=reference, amount=amount, applicant_first_name=guarantor.first_name,
        applicant_last_name=guarantor.last_name, applicant_email=guarantor.email,
        applicant_phone=guarantor.phone, practice_name=practice_profile(work).name,
        idempotency_key=f"medbill-{reference}-refer")
    answer: FinancingDecision = work.app.hooks.context.call(chosen, "refer", request)
    row = FinancingReferralRow(reference=reference, guarantor_id=guarantor_id, amount=amount,
                               provider=chosen.identifier,
                               application_id=answer.application_id[:255],
                               status=ReferralStatus.REFERRED.value, consent=note,
                               lender_name=answer.lender_name[:100] or None,
                               created_by=work.actor)
    work.session.add(row)
    work.session.flush()
    audit.record(work.session, actor=work.actor, action="financing.refer",
                 entity_type="financing_referral", entity_id=row.id,
                 details={"guarantor_id": guarantor_id, "amount": str(amount),
                          "provider": chosen.identifier, "consent": note})
    if answer.status is not FinancingStatus.PENDING:
        apply_decision(work, chosen.identifier, answer)
    return _view(_row(work, row.id))


def _applicant_of_patient(work: UnitOfWork, patient_id: int) -> int:
    """The guarantor who pays ``patient_id``'s bills: theirs, or for a patient who pays their
    own (most do) a guarantor made of the patient, as when they come to answer for someone
    else (their statements are then addressed to that guarantor number; the balance is the
    same). Made in the referral's transaction: a referral refused leaves none behind.

    :raises NotFound: no such patient.
    """
    from medbill_core.services.guarantors import GuarantorService

    if work.session.get(PatientRow, patient_id) is None:
        raise NotFound("patient", patient_id)
    guarantor = GuarantorService(work.session, actor=work.actor).guarantor_for_patient(
        patient_id)
    assert guarantor.id is not None
    return guarantor.id


def apply_decision(work: UnitOfWork, provider: str, decision: FinancingDecision) -> Applied:
    """Bring the referral of ``decision.application_id`` up to the lender's decision, under
    a lock on its row: an approval not posted yet posts (once, whoever comes first); a decline
    or an expiry is recorded; a decided referral never changes.

    :raises NotFound: no referral has this application (in this practice).
    :raises ValidationFailed: an approval without an amount, or of more than was referred.
    """
    row = work.session.scalars(
        select(FinancingReferralRow)
        .where(FinancingReferralRow.provider == provider,
               FinancingReferralRow.application_id == decision.application_id)
        .with_for_update().execution_options(populate_existing=True)).one_or_none()
    if row is None:
        raise NotFound("financing application", decision.application_id)
    if ReferralStatus(row.status) in _FINAL or decision.status is FinancingStatus.PENDING:
        return Applied.UNCHANGED
    row.decided_at, row.decided_by = utcnow(), work.actor
    if decision.lender_name:
        row.lender_name = decision.lender_name[:100]
    if decision.status in (FinancingStatus.DECLINED, FinancingStatus.EXPIRED):
        row.status = (ReferralStatus.DECLINED if decision.status is FinancingStatus.DECLINED
                      else ReferralStatus.EXPIRED).value
        row.decline_reason = (decision.decline_reason or None) and \
            " ".join(decision.decline_reason.split())[:255]
        audit.record(work.session, actor=work.actor, action=f"financing.{row.status}",
                     entity_type="financing_referral", entity_id=row.id,
                     details={"application_id": row.application_id})
        return Applied.RECORDED
    record = f"financing referral {row.id}"
    approved = decision.approved_amount
    if approved is None or to_money(approved) <= ZERO:
        raise ValidationFailed(record, [("approved_amount", "the lender approved no amount; "
                                                            "nothing posted")])
    approved = to_money(approved)
    if approved > row.amount:
        raise ValidationFailed(record, [("approved_amount", f"the lender approved {approved}, "
                                                            f"more than the {row.amount} "
                                                            "referred; nothing posted")])
    fee = to_money(decision.merchant_fee) if decision.merchant_fee is not None else None
    if fee is not None and not ZERO <= fee <= approved:
        raise ValidationFailed(record, [("merchant_fee", f"{fee} is not between 0.00 and the "
                                                         f"{approved} approved")])
    row.status = ReferralStatus.APPROVED.value
    row.approved_amount, row.merchant_fee = approved, fee
    audit.record(work.session, actor=work.actor, action="financing.approved",
                 entity_type="financing_referral", entity_id=row.id,
                 details={"approved_amount": str(approved),
                          "merchant_fee": str(fee) if fee is not None else None})
    _post(work, row)
    return Applied.POSTED


def _post(work: UnitOfWork, row: FinancingReferralRow) -> None:
    assert row.approved_amount is not None
    lender = row.lender_name or row.provider
    payment = Payment(patient_id=0, amount=row.approved_amount, method=PaymentMethodKind.OTHER,
                      reference=f"{lender} {row.application_id}"[:40], received_on=date.today())
    # the lender paid what it approved: money beyond what the family owes by now (paid
    # another way since the referral) stays with them as a credit rather than being refused;
    # what the lender kept of it is the practice's expense, not the family's debt
    # the referral's row posts its payment once (under a lock): no duplicate check
    result = record_guarantor_payment(work, row.guarantor_id, payment,
                                      overpayment=Overpayment.CREDIT, fee=row.merchant_fee,
                                      allow_duplicate=True)
    row.payment_id = result.payment_id
    row.status = ReferralStatus.POSTED.value
    row.posted_at = utcnow()
    audit.record(work.session, actor=work.actor, action="financing.post",
                 entity_type="financing_referral", entity_id=row.id,
                 details={"payment_id": result.payment_id, "amount": str(row.approved_amount),
                          "merchant_fee": str(row.merchant_fee)
                          if row.merchant_fee is not None else None,
                          "lender": lender})


def check_referral(work: UnitOfWork, referral_id: int) -> ReferralView:
    """Ask the lender where an application stands, and apply its decision (a poll, when no
    callback came).

    :raises NotFound: no such referral.
    :raises FinancingError: the lender is unreachable (nothing changed).
    """
    work.require(Action.FINANCING_REFER)
    row = _row(work, referral_id)
    if ReferralStatus(row.status) not in _FINAL:
        chosen = provider_of(work, row.provider)
        answer: FinancingDecision = work.app.hooks.context.call(
            chosen, "check_application", row.application_id)
        if answer.application_id != row.application_id:
            raise ValidationFailed(f"financing referral {row.id}", [(
                "application_id", "the lender answered about another application")])
        apply_decision(work, row.provider, answer)
    return _view(_row(work, referral_id))


@dataclass(frozen=True)
class PendingChecked:
    """What :func:`check_pending` found: the referrals it asked the lender about by the status
    each has now, and those it could not ask (referral id -> why, a safe one-line message)."""

    statuses: dict[ReferralStatus, list[int]]
    failed: dict[int, str]

    @property
    def asked(self) -> int:
        return sum(map(len, self.statuses.values())) + len(self.failed)

    def as_json(self) -> dict[str, Any]:
        return {"asked": self.asked,
                **{status.value: self.statuses.get(status, []) for status in ReferralStatus},
                "failed": [{"id": referral_id, "error": message}
                           for referral_id, message in self.failed.items()]}


def check_pending(medbill: Medbill, *, older_than: timedelta = POLL_AFTER,
                  limit: int = 200) -> PendingChecked:
    """Ask the lender about every referral of the acting practice still undecided
    ``older_than`` after it was made (no callback came), oldest first, at most ``limit``:
    :func:`check_referral` for each in a transaction of its own, so a lender that cannot
    answer about one (down, or answering what cannot be applied) leaves that one as it was
    and the others are still asked. What the workers run every hour (``financing`` job).

    :raises PermissionDenied: the actor may not refer (nor check) referrals.
    """
    with medbill.unit_of_work(read_only=True) as work:
        work.require(Action.FINANCING_REFER)
        waiting = list(work.session.scalars(
            select(FinancingReferralRow.id)
            .where(FinancingReferralRow.status == ReferralStatus.REFERRED.value,
                   FinancingReferralRow.created_at <= utcnow() - older_than)
            .order_by(FinancingReferralRow.created_at, FinancingReferralRow.id).limit(limit)))
    statuses: dict[ReferralStatus, list[int]] = {}
    failed: dict[int, str] = {}
    for referral_id in waiting:
        try:
            with medbill.unit_of_work() as work:
                view = check_referral(work, referral_id)
        except MedbillError as exc:  # this referral's problem: the next is still asked
            failed[referral_id] = str(exc)
            continue
        statuses.setdefault(view.status, []).append(referral_id)
    return PendingChecked(statuses, failed)


def handle_callback(medbill: Medbill, provider: str, body: bytes,
                    headers: Mapping[str, str]) -> Applied | None:
    """Verify a lender's callback and apply its decision, in the practice of the referral it
    names, as the lender (``financing:<identifier>`` in the audit trail). ``None``: about
    no referral of ours.

    :raises WebhookRefused: the signature or its timestamp does not verify (nothing done).
    :raises AdapterNotAvailable: no enabled plugin provides this financing provider.
    """
    chosen = medbill.hooks.context.financing_provider(provider)
    lowered = {name.lower(): value for name, value in headers.items()}
    decision: FinancingDecision = medbill.hooks.context.call(chosen, "verify_callback", body,
                                                             lowered)
    practice = practice_holding(medbill, select(FinancingReferralRow.practice_id).where(
        FinancingReferralRow.provider == provider,
        FinancingReferralRow.application_id == decision.application_id))
    if practice is None:
        return None
    with medbill.unit_of_work(actor=f"financing:{provider}", practice_id=practice) as work:
        return apply_decision(work, provider, decision)


# -- reading -------------------------------------------------------------------------------------

def list_referrals(work: UnitOfWork, *, guarantor_id: int | None = None,
                   status: ReferralStatus | None = None, limit: int = 100,
                   before_id: int | None = None) -> list[ReferralView]:
    """The practice's referrals, newest first (at most ``limit``; ``before_id``: those
    older than that referral, the API's keyset pages)."""
    work.require(Action.FINANCING_READ)
    statement = select(FinancingReferralRow).order_by(FinancingReferralRow.id.desc()) \
        .limit(limit)
    if before_id is not None:
        statement = statement.where(FinancingReferralRow.id < before_id)
    if guarantor_id is not None:
        statement = statement.where(FinancingReferralRow.guarantor_id == guarantor_id)
    if status is not None:
        statement = statement.where(FinancingReferralRow.status == status.value)
    return [_view(row) for row in work.session.scalars(statement)]


def get_referral(work: UnitOfWork, referral_id: int) -> ReferralView:
    """:raises NotFound: no such referral (in this practice)."""
    work.require(Action.FINANCING_READ)
    return _view(_row(work, referral_id))


def _row(work: UnitOfWork, referral_id: int) -> FinancingReferralRow:
    row = work.session.get(FinancingReferralRow, referral_id, populate_existing=True)
    if row is None:
        raise NotFound("financing referral", referral_id)
    return row


def _view(row: FinancingReferralRow) -> ReferralView:
    return ReferralView(
        row.id, row.reference, row.guarantor_id, row.amount, row.provider, row.application_id,
        ReferralStatus(row.status), row.consent, row.lender_name, row.approved_amount,
        row.merchant_fee, row.decline_reason, row.payment_id, row.created_at, row.created_by,
        row.decided_at, row.decided_by, row.posted_at)
