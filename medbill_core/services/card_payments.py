"""Card payments through the practice's payment gateway (:mod:`medbill_core.gateways`).

A card payment is a record per gateway payment intent: who pays (a patient, or a guarantor
for the whole family), how much, through which gateway, and where it stands (created,
processing, succeeded, failed, refunded, partially refunded). It reaches the ledger **only
from the gateway's confirmation**: a verified webhook (:func:`handle_webhook`) or a read of
the payment at the gateway (:func:`confirm_card_payment`: the browser coming back from a
pay page, or staff keying a card on the phone), whichever comes first. Each posts through
the patient-payment rules (:func:`~medbill_core.services.payments.record_payment` /
:func:`~medbill_core.services.payments.record_guarantor_payment`) under a lock on the card
payment's row, which then names its ledger payment: the same webhook twice, a webhook before
the browser returns, or both at once, post once. A decline posts nothing and keeps the
gateway's decline code and words (no card data).

A refund goes back through the gateway and posts when the gateway confirms it (at once, or
by a later webhook): what the payment left as a credit is given back first, then what it
paid on claims, newest claim first (those balances are owed again).

For a pay page (the next step): :func:`start_card_payment` creates the intent for a
patient's or guarantor's balance (or part of it) and returns the gateway's client secret;
:func:`confirm_card_payment` without a card reads the payment back when the browser returns.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from medbill_core import audit
from medbill_core.domain import Payment, PaymentMethodKind
from medbill_core.errors import GatewayError, NotFound, ValidationFailed
from medbill_core.gateways import (
    GatewayCapability,
    GatewayEvent,
    GatewayEventType,
    GatewayPayment,
    GatewayPaymentStatus,
    GatewayRefund,
    GatewayRefundStatus,
    PaymentGateway,
    PaymentRequest,
)
from medbill_core.ledger import EntryKind, LedgerLine
from medbill_core.money import ZERO, to_money
from medbill_core.permissions import Action
from medbill_core.services.collections import refuse_payment_on_placed_account
from medbill_core.services.payments import (
    Overpayment,
    active_hold,
    family_of,
    payment_applications,
    record_guarantor_payment,
    record_payment,
    refund_credit,
    refuse_held_credit,
    settle_patient_claims,
)
from medbill_core.services.practices import practice_holding
from medbill_core.storage.schema import (
    CardPaymentRow,
    CardRefundRow,
    LedgerEntryRow,
    PaymentRow,
    utcnow,
)

if TYPE_CHECKING:
    from medbill_core.app import Medbill, UnitOfWork

#: The largest card payment (a typo beyond any patient balance is refused before the gateway).
MAX_CARD_AMOUNT = Decimal("99999.99")


class CardPaymentStatus(StrEnum):
    CREATED = "created"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"


#: statuses whose money reached the ledger
_POSTED = frozenset({CardPaymentStatus.SUCCEEDED, CardPaymentStatus.REFUNDED,
                     CardPaymentStatus.PARTIALLY_REFUNDED})


@dataclass(frozen=True)
class CardRefundView:
    id: int
    amount: Decimal
    status: str
    refund_id: str
    failure_reason: str | None

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "amount": str(self.amount), "status": self.status,
                "gateway_refund_id": self.refund_id, "failure_reason": self.failure_reason}


@dataclass(frozen=True)
class CardPaymentView:
    """A card payment as the command line and the API show it (ids and amounts; the card's
    brand and last four digits at most)."""

    id: int
    reference: str
    patient_id: int
    guarantor_id: int | None
    claim_id: int | None
    amount: Decimal
    gateway: str
    intent_id: str
    status: CardPaymentStatus
    decline_code: str | None
    decline_message: str | None
    card_brand: str | None
    card_last4: str | None
    payment_id: int | None
    refunded: Decimal
    created_at: datetime
    succeeded_at: datetime | None
    refunds: tuple[CardRefundView, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "reference": self.reference, "patient_id": self.patient_id,
                "guarantor_id": self.guarantor_id, "claim_id": self.claim_id,
                "amount": str(self.amount), "gateway": self.gateway,
                "gateway_payment_id": self.intent_id, "status": self.status.value,
                "decline_code": self.decline_code, "decline_message": self.decline_message,
                "card_brand": self.card_brand, "card_last4": self.card_last4,
                "payment_id": self.payment_id, "refunded": str(self.refunded),
                "created_at": self.created_at.isoformat(),
                "succeeded_at": self.succeeded_at.isoformat() if self.succeeded_at else None,
                "refunds": [refund.as_json() for refund in self.refunds]}


@dataclass(frozen=True)
class StartedCardPayment:
    payment: CardPaymentView
    #: what a browser page needs to confirm the payment with the gateway: give it to the
    #: payer's browser only, never log or store it
    client_secret: str | None


def gateway_of(work: UnitOfWork, identifier: str | None = None) -> PaymentGateway:
    """The practice's configured gateway (or ``identifier``).

    :raises AdapterNotAvailable: none configured, or its plugin is not enabled.
    """
    return work.app.hooks.context.payment_gateway(identifier)


def _call(work: UnitOfWork, gateway: PaymentGateway, method: str, *args: Any,
          **kwargs: Any) -> Any:
    """A gateway method under the plugins' error policy (anything but a medbill error
    becomes a :class:`~medbill_core.errors.PluginError` naming the plugin)."""
    return work.app.hooks.context.call(gateway, method, *args, **kwargs)


def balance_owed(work: UnitOfWork, *, patient_id: int | None = None,
                 guarantor_id: int | None = None) -> Decimal:
    """What a patient (or a guarantor's whole family) owes now: the patient bucket of their
    accounts, claims and on no claim (a credit counts against it; in a family, a member's
    held credit only against that member's own balance, as the family statement shows it)."""
    if guarantor_id is not None:
        patients = family_of(work, guarantor_id)
    elif patient_id is not None:
        work.patients.get(patient_id)
        patients = [patient_id]
    else:
        raise ValidationFailed("card payment", [("patient", "name a patient or a guarantor")])
    held = {pid for pid in patients if active_hold(work, pid) is not None} \
        if len(patients) > 1 else set()
    total = ZERO
    for pid, owed in work.session.execute(
            select(LedgerEntryRow.patient_id, func.sum(LedgerEntryRow.patient_delta))
            .where(LedgerEntryRow.patient_id.in_(patients))
            .group_by(LedgerEntryRow.patient_id)):
        amount = to_money(owed or 0)
        total += max(amount, ZERO) if pid in held else amount
    return total


def start_card_payment(work: UnitOfWork, *, patient_id: int | None = None,
                       guarantor_id: int | None = None, amount: Decimal | None = None,
                       claim_id: int | None = None, overpayment: Overpayment | None = None,
                       gateway: str | None = None) -> StartedCardPayment:
    """Create a payment intent at the gateway for a patient's balance (or a guarantor's
    family's), or ``amount`` of it, and record it as ``created``. Nothing is posted.

    :param amount: default: all that is owed.
    :param overpayment: what becomes of money beyond the balance when it posts (without it,
        an amount beyond the balance is refused here, before the card is charged).
    :raises ValidationFailed: neither or both of patient and guarantor, nothing owed, an
        amount that is not positive or exceeds the balance without an overpayment decision,
        or the patient's account is placed with a collection agency.
    :raises GatewayError: the gateway is unreachable or refused (nothing recorded).
    """
    work.require(Action.PAYMENTS_POST)
    record = "card payment"
    if (patient_id is None) == (guarantor_id is None):
        raise ValidationFailed(record, [("patient", "name a patient or a guarantor, one")])
    if claim_id is not None and guarantor_id is not None:
        raise ValidationFailed(record, [("claim", "a family payment is applied oldest "
                                                  "service first; pay one claim as the "
                                                  "patient's payment")])
    if patient_id is not None:
        work.patients.get(patient_id)  # NotFound: no such patient
        refuse_payment_on_placed_account(work, patient_id)
    owed = balance_owed(work, patient_id=patient_id, guarantor_id=guarantor_id)
    if amount is None:
        if owed <= ZERO:
            raise ValidationFailed(record, [("amount", "nothing is owed; name an amount")])
        amount = owed
    amount = to_money(amount)
    if amount <= ZERO or amount > MAX_CARD_AMOUNT:
        raise ValidationFailed(record, [("amount", f"must be more than 0.00 and at most "
                                                   f"{MAX_CARD_AMOUNT}")])
    if amount > owed and overpayment is None:
        raise ValidationFailed(record, [("amount", f"exceeds the {max(owed, ZERO)} owed; "
                                                   "decide what happens to the rest "
                                                   "(overpayment: credit or refund)")])
    payer_patient = family_of(work, guarantor_id)[0] if guarantor_id is not None \
        else patient_id
    assert payer_patient is not None
    chosen = gateway_of(work, gateway)
    reference = "cp_" + secrets.token_hex(12)
    practice = work.app.config.practice
    description = f"{practice.name if practice else 'medical practice'} payment {reference}"
    answer: GatewayPayment = _call(work, chosen, "create_payment", PaymentRequest(
        amount=amount, description=description[:200], reference=reference,
        idempotency_key=f"medbill-{reference}-create",
        metadata={"medbill_reference": reference}))
    row = CardPaymentRow(reference=reference, patient_id=payer_patient,
                         guarantor_id=guarantor_id, claim_id=claim_id, amount=amount,
                         gateway=chosen.identifier, intent_id=answer.intent_id,
                         status=CardPaymentStatus.CREATED.value,
                         overpayment=overpayment.value if overpayment else None,
                         refunded=ZERO, created_by=work.actor)
    work.session.add(row)
    work.session.flush()
    audit.record(work.session, actor=work.actor, action="card_payment.create",
                 entity_type="card_payment", entity_id=row.id,
                 details={"patient_id": payer_patient, "guarantor_id": guarantor_id,
                          "amount": str(amount), "gateway": chosen.identifier})
    return StartedCardPayment(_view(work, row), answer.client_secret)


def confirm_card_payment(work: UnitOfWork, card_payment_id: int, *,
                         card: str | None = None) -> CardPaymentView:
    """Charge a card for a created payment (``card``: what staff keyed on a phone call, the
    gateway's token or card number, passed to the gateway and kept nowhere), or without
    one read the payment back from the gateway (the browser returned from the pay page);
    then post it if the gateway says it succeeded and nothing posted it yet.

    :raises NotFound: no such card payment (in this practice).
    :raises GatewayError: the gateway is unreachable (nothing posted).
    """
    work.require(Action.PAYMENTS_POST)
    row = _row(work, card_payment_id)
    gateway = gateway_of(work, row.gateway)
    if card is not None and CardPaymentStatus(row.status) not in _POSTED:
        answer: GatewayPayment = _call(work, gateway, "confirm_payment", row.intent_id,
                                       payment_method=card,
                                       idempotency_key=f"medbill-{row.reference}-confirm")
    else:
        answer = _call(work, gateway, "retrieve_payment", row.intent_id)
    apply_gateway_payment(work, row.gateway, answer)
    return _view(work, _row(work, card_payment_id))


class Applied(StrEnum):
    """What an answer of the gateway changed."""

    #: it posted the payment or refund to the ledger
    POSTED = "posted"
    #: it recorded a decline, a payment still processing, a failed refund
    RECORDED = "recorded"
    #: nothing: an earlier answer did it already
    UNCHANGED = "unchanged"


def apply_gateway_payment(work: UnitOfWork, gateway: str, answer: GatewayPayment) -> Applied:
    """Bring the card payment of ``answer.intent_id`` up to what the gateway says, under a
    lock on its row: a success not posted yet posts (once, whoever comes first); a decline
    records why; a payment that already succeeded never goes back.

    :raises NotFound: no card payment has this intent (in this practice).
    """
    row = work.session.scalars(
        select(CardPaymentRow)
        .where(CardPaymentRow.gateway == gateway, CardPaymentRow.intent_id == answer.intent_id)
        .with_for_update().execution_options(populate_existing=True)).one_or_none()
    if row is None:
        raise NotFound("card payment with gateway payment", answer.intent_id)
    status = CardPaymentStatus(row.status)
    if answer.card_brand and row.card_brand is None:
        row.card_brand = answer.card_brand[:20]
    if answer.card_last4 and row.card_last4 is None and answer.card_last4.isdigit():
        row.card_last4 = answer.card_last4[-4:]
    # a declined payment may still succeed (the payer tries another card); a posted one
    # never goes back
    if status in _POSTED or (status is CardPaymentStatus.FAILED
                             and answer.status is not GatewayPaymentStatus.SUCCEEDED):
        return Applied.UNCHANGED
    if answer.status is GatewayPaymentStatus.SUCCEEDED:
        if answer.amount != row.amount:
            raise ValidationFailed(f"card payment {row.id}", [(
                "amount", f"the gateway confirmed {answer.amount}, not the {row.amount} "
                          "asked; nothing posted")])
        _post(work, row)
        return Applied.POSTED
    if answer.status is GatewayPaymentStatus.FAILED:
        row.status = CardPaymentStatus.FAILED.value
        row.decline_code = (answer.decline_code or "declined")[:60]
        row.decline_message = answer.decline_message[:255] if answer.decline_message \
            else None
        row.failed_at = utcnow()
        row.confirmed_by = work.actor
        audit.record(work.session, actor=work.actor, action="card_payment.decline",
                     entity_type="card_payment", entity_id=row.id,
                     details={"decline_code": row.decline_code})
        return Applied.RECORDED
    if answer.status is GatewayPaymentStatus.PROCESSING and \
            status is not CardPaymentStatus.PROCESSING:
        row.status = CardPaymentStatus.PROCESSING.value
        return Applied.RECORDED
    return Applied.UNCHANGED


def _post(work: UnitOfWork, row: CardPaymentRow) -> None:
    reference = " ".join(part for part in (row.card_brand, row.card_last4) if part) or None
    payment = Payment(patient_id=row.patient_id, amount=row.amount,
                      method=PaymentMethodKind.CARD, reference=reference,
                      received_on=date.today(), claim_id=row.claim_id)
    overpayment = Overpayment(row.overpayment) if row.overpayment else None
    # the card is charged: money beyond what is owed now (a balance paid another way since
    # the intent was made) stays with the patient as a credit rather than being refused
    overpayment = overpayment or Overpayment.CREDIT
    # a second charge of the same card for the same amount on the same day is a second
    # payment: the gateway charged it, and this row posts once (no duplicate check)
    if row.guarantor_id is not None:
        result = record_guarantor_payment(work, row.guarantor_id, payment,
                                          overpayment=overpayment, allow_duplicate=True)
    else:
        result = record_payment(work, payment, overpayment=overpayment, allow_duplicate=True,
                                placement_asked=True)
    row.payment_id = result.payment_id
    row.status = CardPaymentStatus.SUCCEEDED.value
    row.succeeded_at = utcnow()
    row.confirmed_by = work.actor
    row.decline_code = row.decline_message = None
    audit.record(work.session, actor=work.actor, action="card_payment.post",
                 entity_type="card_payment", entity_id=row.id,
                 details={"payment_id": result.payment_id, "amount": str(row.amount)})


# -- refunds ---------------------------------------------------------------------------------

def refund_card_payment(work: UnitOfWork, card_payment_id: int, reason: str, *,
                        amount: Decimal | None = None) -> CardPaymentView:
    """Give back (part of) a card payment through the gateway (``amount`` None: all that is
    not refunded yet). The ledger refund posts when the gateway confirms it: at once when it
    answers ``succeeded``, else from its webhook.

    :raises NotFound: no such card payment.
    :raises ValidationFailed: it did not succeed, no reason, an amount that is not positive
        or beyond what is left, part of a payment at a gateway without partial refunds.
    :raises GatewayError: the gateway is unreachable or refused (nothing recorded).
    """
    work.require(Action.PAYMENTS_REFUND)
    record = f"card payment {card_payment_id}"
    row = _row(work, card_payment_id)
    if not reason.strip():
        raise ValidationFailed(record, [("reason", "say why (no patient details)")])
    if CardPaymentStatus(row.status) not in _POSTED or row.payment_id is None:
        raise ValidationFailed(record, [("status", f"is {row.status}; only a succeeded card "
                                                   "payment can be refunded")])
    asked = work.session.scalar(
        select(func.coalesce(func.sum(CardRefundRow.amount), 0)).where(
            CardRefundRow.card_payment_id == row.id,
            CardRefundRow.status != GatewayRefundStatus.FAILED.value))
    left = row.amount - to_money(asked or 0)
    payment = work.session.get(PaymentRow, row.payment_id)
    if payment is not None and payment.unapplied > ZERO:
        refuse_held_credit(work, payment.patient_id)  # the refund takes its credit first
    amount = left if amount is None else to_money(amount)
    if amount <= ZERO or amount > left:
        raise ValidationFailed(record, [("amount", f"must be more than 0.00 and at most the "
                                                   f"{left} not refunded yet")])
    gateway = gateway_of(work, row.gateway)
    if amount != row.amount and not gateway.supports(GatewayCapability.PARTIAL_REFUNDS):
        raise ValidationFailed(record, [("amount", f"payment gateway {row.gateway!r} refunds "
                                                   "whole payments only")])
    # every attempt asked of the gateway has a row (a refused one too, see below), so the key
    # is new for each attempt and the same for a retry of one whose answer never came back
    sequence = (work.session.scalar(select(func.count()).select_from(CardRefundRow).where(
        CardRefundRow.card_payment_id == row.id)) or 0) + 1
    key = f"medbill-{row.reference}-refund-{sequence}"
    try:
        answer: GatewayRefund = _call(work, gateway, "refund", row.intent_id, amount=amount,
                                      idempotency_key=key, reason="requested_by_customer")
    except GatewayError as exc:
        if exc.refused:  # the gateway keeps its refusal under the key: never send it again
            _remember_refusal(work, row, key, amount, reason, exc.message)
        raise
    refund = CardRefundRow(card_payment_id=row.id, gateway=row.gateway,
                           refund_id=answer.refund_id, amount=amount,
                           status=GatewayRefundStatus.PENDING.value, reason=reason.strip()[:500],
                           created_by=work.actor)
    work.session.add(refund)
    work.session.flush()
    audit.record(work.session, actor=work.actor, action="card_payment.refund_request",
                 entity_type="card_payment", entity_id=row.id,
                 details={"card_refund_id": refund.id, "amount": str(amount)})
    apply_gateway_refund(work, row.gateway, answer)
    return _view(work, _row(work, card_payment_id))


def _remember_refusal(work: UnitOfWork, row: CardPaymentRow, key: str, amount: Decimal,
                      reason: str, refusal: str) -> None:
    """Keep a refund the gateway refused as a ``failed`` card refund (its ``refund_id`` the
    idempotency key it was sent with: the gateway made none) once the refusing transaction
    is rolled back: the error is still raised, and the next attempt is sent with a new key
    (the gateway answers a key it refused with the same refusal, or refuses another amount
    under it, for ever)."""
    card_payment_id, gateway, practice_id = row.id, row.gateway, row.practice_id
    app, principal, actor = work.app, work.principal, work.actor

    def remember() -> None:
        context = app.unit_of_work(principal=principal) if principal is not None \
            else app.unit_of_work(actor, practice_id=practice_id)
        with context as again:
            refused = CardRefundRow(card_payment_id=card_payment_id, gateway=gateway,
                                    refund_id=key, amount=amount,
                                    status=GatewayRefundStatus.FAILED.value,
                                    reason=reason.strip()[:500], failure_reason=refusal[:255],
                                    created_by=actor)
            again.session.add(refused)
            again.session.flush()
            audit.record(again.session, actor=actor, action="card_payment.refund_refused",
                         entity_type="card_payment", entity_id=card_payment_id,
                         details={"card_refund_id": refused.id, "amount": str(amount)})

    work.after_rollback.append(remember)


def apply_gateway_refund(work: UnitOfWork, gateway: str, answer: GatewayRefund) -> Applied:
    """Bring a card refund up to what the gateway says, under a lock on its payment's row:
    a confirmed refund posts once.

    :raises NotFound: no card refund has this gateway id (in this practice).
    """
    refund = work.session.scalars(select(CardRefundRow).where(
        CardRefundRow.gateway == gateway, CardRefundRow.refund_id == answer.refund_id)
    ).one_or_none()
    if refund is None:
        raise NotFound("card refund", answer.refund_id)
    row = work.session.scalars(
        select(CardPaymentRow).where(CardPaymentRow.id == refund.card_payment_id)
        .with_for_update().execution_options(populate_existing=True)).one()
    work.session.refresh(refund)
    if refund.status != GatewayRefundStatus.PENDING.value:
        return Applied.UNCHANGED
    if answer.status is GatewayRefundStatus.FAILED:
        refund.status = GatewayRefundStatus.FAILED.value
        refund.failure_reason = (answer.failure_reason or "failed")[:255]
        audit.record(work.session, actor=work.actor, action="card_payment.refund_fail",
                     entity_type="card_payment", entity_id=row.id,
                     details={"card_refund_id": refund.id})
        return Applied.RECORDED
    if answer.status is not GatewayRefundStatus.SUCCEEDED:
        return Applied.UNCHANGED
    _post_refund(work, row, refund)
    return Applied.POSTED


def _post_refund(work: UnitOfWork, row: CardPaymentRow, refund: CardRefundRow) -> None:
    """Post a confirmed card refund: the payment's credit first; beyond it, what it paid on
    claims (newest claim first) is taken back into its credit and refunded from there, so
    the payment's own record (applied, credit, refunded) stays true."""
    assert row.payment_id is not None
    payment = work.session.get(PaymentRow, row.payment_id)
    assert payment is not None
    missing = refund.amount - payment.unapplied
    if missing > ZERO:
        applied = payment_applications(work, payment.id)
        patients: dict[int, int] = {
            claim_id: patient_id for claim_id, patient_id in work.session.execute(
                select(LedgerEntryRow.claim_id, LedgerEntryRow.patient_id)
                .where(LedgerEntryRow.claim_id.in_(list(applied))).distinct())
            if claim_id is not None}
        lines: list[LedgerLine] = []
        reopened: list[int] = []
        for claim_id in sorted(applied, reverse=True):
            if missing <= ZERO:
                break
            taken = min(applied[claim_id], missing)
            if taken <= ZERO:
                continue
            patient_id = patients[claim_id]
            lines.append(LedgerLine(EntryKind.PATIENT_PAYMENT, -taken, patient_id=patient_id,
                                    claim_id=claim_id))
            lines.append(LedgerLine(EntryKind.PATIENT_PAYMENT, taken,
                                    patient_id=payment.patient_id))
            reopened.append(claim_id)
            missing -= taken
        if missing > ZERO:  # more than the payment stands for: the record is inconsistent
            raise ValidationFailed(f"card payment {row.id}", [(
                "amount", "exceeds what the payment still stands for; nothing posted")])
        # the key names the credit move so the payment's applications
        # (``credit:payment:ID:n`` postings) count it
        work.ledger.post(f"credit:payment:{payment.id}:card-refund-{refund.id}",
                         "card_refund", lines, effective_date=date.today(),
                         memo=f"card refund {refund.id} takes back what payment "
                              f"{payment.id} paid", moves_payments=True, allow_credit=True)
        payment.unapplied = refund.amount  # the credit it had, and all that was taken back
        settle_patient_claims(work, reopened, f"card refund {refund.id}")
    result = refund_credit(work, payment.id, refund.amount,
                           f"card refund {refund.id}: {refund.reason}"[:500], hold_asked=True)
    refund.posting_id = _refund_posting(work, result.refund_id)
    refund.status = GatewayRefundStatus.SUCCEEDED.value
    row.refunded = row.refunded + refund.amount
    row.status = (CardPaymentStatus.REFUNDED if row.refunded >= row.amount
                  else CardPaymentStatus.PARTIALLY_REFUNDED).value
    audit.record(work.session, actor=work.actor, action="card_payment.refund",
                 entity_type="card_payment", entity_id=row.id,
                 details={"card_refund_id": refund.id, "amount": str(refund.amount),
                          "payment_refund_id": result.refund_id})


def _refund_posting(work: UnitOfWork, payment_refund_id: int) -> int | None:
    from medbill_core.storage.schema import PaymentRefundRow

    return work.session.scalar(select(PaymentRefundRow.posting_id).where(
        PaymentRefundRow.id == payment_refund_id))


# -- webhooks --------------------------------------------------------------------------------

def handle_webhook(medbill: Medbill, gateway: str, body: bytes,
                   headers: Mapping[str, str]) -> Applied | None:
    """Verify a webhook the gateway sent and act on it, in the practice of the payment it
    names, as the gateway (``gateway:<identifier>`` in the audit trail). Returns what it
    changed (:attr:`Applied.UNCHANGED` for a repeated delivery), or ``None`` for an event
    about nothing of ours or of a type medbill does not act on.

    :raises WebhookRefused: the signature or its timestamp does not verify (nothing done).
    :raises AdapterNotAvailable: no enabled plugin provides this gateway.
    """
    chosen = medbill.hooks.context.payment_gateway(gateway)
    lowered = {name.lower(): value for name, value in headers.items()}
    event: GatewayEvent = medbill.hooks.context.call(chosen, "verify_webhook", body, lowered)
    actor = f"gateway:{gateway}"
    if event.type in (GatewayEventType.PAYMENT_SUCCEEDED, GatewayEventType.PAYMENT_FAILED,
                      GatewayEventType.PAYMENT_PROCESSING) and event.payment is not None:
        practice = practice_holding(medbill, select(CardPaymentRow.practice_id).where(
            CardPaymentRow.gateway == gateway,
            CardPaymentRow.intent_id == event.payment.intent_id))
        if practice is None:
            return None
        with medbill.unit_of_work(actor=actor, practice_id=practice) as work:
            return apply_gateway_payment(work, gateway, event.payment)
    if event.type in (GatewayEventType.REFUND_SUCCEEDED, GatewayEventType.REFUND_FAILED) \
            and event.refund is not None:
        practice = practice_holding(medbill, select(CardRefundRow.practice_id).where(
            CardRefundRow.gateway == gateway, CardRefundRow.refund_id == event.refund.refund_id))
        if practice is None:
            return None
        with medbill.unit_of_work(actor=actor, practice_id=practice) as work:
            return apply_gateway_refund(work, gateway, event.refund)
    return None


# -- reading ---------------------------------------------------------------------------------

def _row(work: UnitOfWork, card_payment_id: int) -> CardPaymentRow:
    row = work.session.get(CardPaymentRow, card_payment_id, populate_existing=True)
    if row is None:
        raise NotFound("card payment", card_payment_id)
    return row


def _view(work: UnitOfWork, row: CardPaymentRow) -> CardPaymentView:
    refunds = tuple(CardRefundView(r.id, r.amount, r.status, r.refund_id, r.failure_reason)
                    for r in work.session.scalars(select(CardRefundRow).where(
                        CardRefundRow.card_payment_id == row.id).order_by(CardRefundRow.id)))
    return CardPaymentView(
        row.id, row.reference, row.patient_id, row.guarantor_id, row.claim_id, row.amount,
        row.gateway, row.intent_id, CardPaymentStatus(row.status), row.decline_code,
        row.decline_message, row.card_brand, row.card_last4, row.payment_id, row.refunded,
        row.created_at, row.succeeded_at, refunds)


def get_card_payment(work: UnitOfWork, card_payment_id: int) -> CardPaymentView:
    """One card payment with its refunds.

    :raises NotFound: no such card payment (in this practice).
    """
    work.require(Action.PAYMENTS_READ)
    return _view(work, _row(work, card_payment_id))


def list_card_payments(work: UnitOfWork, *, patient_id: int | None = None,
                       limit: int = 100) -> list[CardPaymentView]:
    """The newest card payments first, of one patient or all."""
    work.require(Action.PAYMENTS_READ)
    query = select(CardPaymentRow).order_by(CardPaymentRow.id.desc()).limit(limit)
    if patient_id is not None:
        query = query.where(CardPaymentRow.patient_id == patient_id)
    return [_view(work, row) for row in work.session.scalars(query)]

