"""Patient payments and payment plans.

A payment is applied to the patient's claim balances oldest service first, or to
one chosen claim, then to what the account owes on no claim (a returned-item fee).
What is left over needs a decision: keep it as a **credit** on the account, or
**refund** it; without one, a payment larger than the balance is refused and
nothing is written. A credit can later be refunded or applied to open balances; a
returned payment takes back everything it applied.

A payment is posted once: one repeating a payment already posted and not reversed, with the
same patient (or guarantor), amount, received date, method and the same non-blank reference
(a check number, a card reference), is refused and names the earlier payment, unless the
caller says the patient really paid twice (``allow_duplicate``). Without a reference the same
figures are only a warning (cash may be paid twice in a day).

A payment can arrive less a fee its intermediary kept (a patient-financing lender's merchant
fee, :mod:`medbill_core.services.financing`): the patient's balance drops by the whole
amount, the practice receives the amount less the fee. The fee is carved out of what the
payment applies, first out of each application in order, as ``financing_fee`` ledger entries
in the payment's own posting; the rest is the ``patient_payment`` the deposit holds. A
returned payment takes the fee back with the rest.

A payment plan spreads a balance over installments that add up exactly to its
total (the last installment absorbs the rounding). Payments count towards the
oldest unpaid installments; an installment past due and not fully paid is missed.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import func, or_, select

from medbill_core import audit
from medbill_core.app import UnitOfWork
from medbill_core.domain import (
    ClaimState,
    GuarantorRelationship,
    Installment,
    Payment,
    PaymentPlan,
    PlanFrequency,
    validate_record,
)
from medbill_core.domain.base import saved_id
from medbill_core.errors import LedgerError, NotFound, ValidationFailed
from medbill_core.ledger import Bucket, EntryKind, LedgerLine
from medbill_core.money import CENT, ZERO, checked_amount, to_money
from medbill_core.permissions import Action
from medbill_core.services.date_rules import PAYMENT_RECEIVED, PLAN_START, check_date
from medbill_core.services.guarantors import GuarantorService, guarantor_number
from medbill_core.storage.prefix_sql import starts_with
from medbill_core.storage.schema import (
    ClaimRow,
    CreditHoldRow,
    InstallmentRow,
    LedgerEntryRow,
    PatientRow,
    PaymentPlanRow,
    PaymentRefundRow,
    PaymentRow,
    PostingRow,
)


class Overpayment(StrEnum):
    CREDIT = "credit"
    REFUND = "refund"


class Overpaid(LedgerError):
    """A payment larger than what it may pay, and no decision for the rest."""

    def __init__(self, message: str, owed: Decimal) -> None:
        super().__init__(message)
        self.owed = owed


class DuplicatePayment(LedgerError):
    """A payment repeating one already posted and not reversed: the same patient (or
    guarantor), amount, received date, method and reference. Nothing was written."""

    def __init__(self, message: str, payment_id: int) -> None:
        super().__init__(message)
        #: the payment it repeats
        self.payment_id = payment_id


@dataclass(frozen=True)
class PaymentResult:
    payment_id: int
    applied: dict[int, Decimal]
    credit: Decimal
    refunded: Decimal
    #: what the caller should show beside the result: a payment without a reference that
    #: looks like one posted before (same patient, amount, date and method) was recorded
    warnings: tuple[str, ...] = ()


def patient_claim_balances(work: UnitOfWork, patient_id: int) -> list[tuple[int, Decimal]]:
    """(claim id, patient balance) of claims the patient owes on, oldest service first."""
    rows = work.session.execute(
        select(LedgerEntryRow.claim_id, func.sum(LedgerEntryRow.patient_delta))
        .join(ClaimRow, ClaimRow.id == LedgerEntryRow.claim_id)
        .where(LedgerEntryRow.patient_id == patient_id, LedgerEntryRow.claim_id.is_not(None))
        .group_by(LedgerEntryRow.claim_id, ClaimRow.service_date_from)
        .order_by(ClaimRow.service_date_from, LedgerEntryRow.claim_id)).all()
    return [(claim_id, to_money(balance)) for claim_id, balance in rows
            if balance > 0 and claim_id is not None]


def settle_patient_claims(work: UnitOfWork, account_ids: Iterable[int], reason: str) -> None:
    """After patient money moved on these accounts: a claim the patient no longer owes on
    (nothing owed by anyone) is closed; a closed claim owed again (a returned check) is back
    at the patient. Only claims waiting on the patient or closed move: a claim still at a
    payer follows the payer's answers."""
    for account_id in sorted(set(account_ids)):
        balance = work.ledger.claim_balance(account_id)
        target, source = ((ClaimState.CLOSED, ClaimState.PATIENT_BALANCE)
                          if balance.total == ZERO else
                          (ClaimState.PATIENT_BALANCE, ClaimState.CLOSED)
                          if balance.patient > ZERO and balance.insurance == ZERO
                          else (None, None))
        if target is None or source is None:
            continue
        # the state is compared here, not in SQL: SQLite (no statistics) would find the
        # account's claims through the index on state, every claim in that state
        for claim_id, state in work.session.execute(select(ClaimRow.id, ClaimRow.state).where(
                or_(ClaimRow.id == account_id, ClaimRow.account_claim_id == account_id))
                .order_by(ClaimRow.id)):
            if state == source.value:
                work.claims.transition(claim_id, target, reason=reason)


def _carve_fee(lines: list[LedgerLine], fee: Decimal) -> list[LedgerLine]:
    """``lines`` with ``fee`` taken out of their patient payments in order as financing fees
    (the fee first out of each, so every line stays whole cents and the sums are exact)."""
    carved: list[LedgerLine] = []
    left = fee
    for line in lines:
        if line.kind is not EntryKind.PATIENT_PAYMENT or left <= ZERO:
            carved.append(line)
            continue
        take = min(left, line.amount)
        carved.append(replace(line, kind=EntryKind.FINANCING_FEE, amount=take))
        if line.amount > take:
            carved.append(replace(line, amount=line.amount - take))
        left -= take
    return carved


def _reference_key(reference: str | None) -> str | None:
    """A payment's reference as two references are compared (spacing and case aside);
    ``None``: blank."""
    words = " ".join((reference or "").split())
    return words.casefold() or None


def repeated_reference(earlier: Iterable[tuple[int, str | None]],
                       reference: str | None) -> tuple[int, str] | None:
    """The first of ``earlier`` payments (id, reference) with ``reference`` (spacing and case
    aside), and its reference as it was written (spaces collapsed); None: none, or
    ``reference`` is blank. Patient and agency payments are told apart from a repeat by it."""
    wanted = _reference_key(reference)
    if wanted is None:
        return None
    for payment_id, stated in earlier:
        if _reference_key(stated) == wanted:
            return payment_id, " ".join((stated or "").split())
    return None


def _check_duplicate(work: UnitOfWork, payment: Payment,
                     guarantor_id: int | None) -> tuple[str, ...]:
    """Refuse ``payment`` when it repeats one already posted and not reversed: the same
    patient (or guarantor), amount, received date, method and the same non-blank reference
    (a check number, a card reference). Without a reference the same figures are only a
    warning (cash may be paid twice in a day): returned for the caller to show.

    :raises DuplicatePayment: an exact repeat of a posted payment.
    """
    # one payment for a patient at a time: two copies of one check posted at once (a form
    # sent twice) are checked one after the other (PostgreSQL; SQLite writes one at a time)
    work.session.execute(select(PatientRow.id).where(PatientRow.id == payment.patient_id)
                         .with_for_update())
    whose = PaymentRow.patient_id == payment.patient_id
    if guarantor_id is not None:
        whose = or_(whose, PaymentRow.guarantor_id == guarantor_id)
    earlier = work.session.execute(
        select(PaymentRow.id, PaymentRow.reference).where(
            whose, PaymentRow.amount == payment.amount,
            PaymentRow.received_on == payment.received_on,
            PaymentRow.method == payment.method.value, PaymentRow.reversed_on.is_(None))
        .order_by(PaymentRow.id)).all()
    if not earlier:
        return ()
    method = payment.method.value
    day = payment.received_on.isoformat()
    if _reference_key(payment.reference) is None:
        ids = ", ".join(f"#{payment_id}" for payment_id, _ in earlier)
        return (f"payment of {payment.amount} by {method} on {day} has no reference and "
                f"the same {'guarantor' if guarantor_id is not None else 'patient'}, "
                f"amount, date and method as payment {ids}: recorded as another payment "
                "(reverse it if it was posted twice)",)
    repeated = repeated_reference(earlier, payment.reference)
    if repeated is not None:
        payment_id, shown = repeated  # the reference as the earlier payment has it
        raise DuplicatePayment(
            f"payment of {payment.amount} by {method} {shown} on {day} is already "
            f"posted (payment #{payment_id}); post it again with --allow-duplicate if "
            "the patient really paid twice", payment_id)
    return ()


def record_payment(work: UnitOfWork, payment: Payment, *,
                   overpayment: Overpayment | None = None,
                   confirmed_date: bool = False,
                   allow_duplicate: bool = False,
                   placement_asked: bool = False) -> PaymentResult:
    """Record and apply a patient payment (see the module docstring for the rules).

    :param confirmed_date: the caller confirmed a received date outside
        :data:`~medbill_core.services.date_rules.PAYMENT_RECEIVED`.
    :param allow_duplicate: the payment is meant to repeat one already posted (the patient
        really paid twice); without it an exact repeat is refused (:func:`_check_duplicate`).
    :raises DuplicatePayment: the same patient, amount, date, method and reference as a
        payment posted and not reversed, and no ``allow_duplicate``.
    :raises LedgerError: the payment exceeds what is owed and no overpayment decision
        was given, or it names a claim of another patient.
    :param placement_asked: the placement was asked about before the money was taken (a
        card payment the gateway has since charged: it is posted whatever happened meanwhile).
    :raises ValidationFailed: the received date is implausible and not confirmed, or the
        account is placed with a collection agency (the patient's payment is posted on the
        placement, ``--direct``:
        :func:`~medbill_core.services.collections.refuse_payment_on_placed_account`).
    """
    from medbill_core.services.collections import refuse_payment_on_placed_account

    work.require(Action.PAYMENTS_POST)
    check_date(payment.received_on, PAYMENT_RECEIVED, record="payment", field="received_on",
               confirmed=confirmed_date)
    work.patients.get(payment.patient_id)
    if not placement_asked:
        refuse_payment_on_placed_account(work, payment.patient_id)
    balances = patient_claim_balances(work, payment.patient_id)
    if payment.claim_id is not None:
        balances = [(cid, bal) for cid, bal in balances if cid == payment.claim_id]
        claim = work.session.get(ClaimRow, payment.claim_id)
        if claim is None or claim.patient_id != payment.patient_id:
            raise LedgerError(f"payment: claim {payment.claim_id} is not a claim of patient "
                              f"{payment.patient_id}")
    else:
        held = _held(work)
        balances = [(cid, bal) for cid, bal in balances if cid not in held]
    # owed on the account itself, on no claim: a returned-item fee, or money refunded from
    # a payment that came back; paid after the claims (not when paying one chosen claim)
    on_account = ZERO if payment.claim_id is not None else max(
        ZERO, _on_account_balance(work, payment.patient_id))
    return _apply_payment(
        work, payment, [(payment.patient_id, cid, bal) for cid, bal in balances],
        [(payment.patient_id, on_account)] if on_account else [], overpayment=overpayment,
        guarantor_id=None, allow_duplicate=allow_duplicate,
        where=f" on claim {payment.claim_id}" if payment.claim_id else "")


def _apply_payment(work: UnitOfWork, payment: Payment,
                   balances: list[tuple[int, int, Decimal]],
                   on_account: list[tuple[int, Decimal]], *,
                   overpayment: Overpayment | None, guarantor_id: int | None,
                   allow_duplicate: bool, where: str = "",
                   fee: Decimal = ZERO) -> PaymentResult:
    """Store ``payment`` and apply it to ``balances`` ((patient, claim, balance), in order),
    then to what ``on_account`` patients owe on no claim; the rest is a credit (or refund) on
    ``payment.patient_id``'s account. ``fee``: what an intermediary kept of it (see the
    module docstring). An exact repeat of a posted payment is refused first, unless
    ``allow_duplicate`` (:func:`_check_duplicate`)."""
    warnings = () if allow_duplicate else _check_duplicate(work, payment, guarantor_id)
    owed = sum((bal for _, _, bal in balances), ZERO) + sum((a for _, a in on_account), ZERO)
    remaining = payment.amount
    if remaining > owed and overpayment is None:
        raise Overpaid(f"payment of {payment.amount} exceeds the {owed} owed{where}"
                       "; decide what happens to the rest: keep it as a credit "
                       "(--overpayment credit) or refund it (--overpayment refund)", owed)
    row = PaymentRow(patient_id=payment.patient_id, amount=payment.amount,
                     method=payment.method.value, reference=payment.reference,
                     received_on=payment.received_on, unapplied=ZERO, refunded=ZERO,
                     guarantor_id=guarantor_id, fee=fee if fee > ZERO else None)
    work.session.add(row)
    work.session.flush()
    lines: list[LedgerLine] = []
    applied: dict[int, Decimal] = {}
    #: patient id -> what the payment paid on their account (claims and fees)
    per_patient: dict[int, Decimal] = {}
    for patient_id, claim_id, balance in balances:
        if remaining <= ZERO:
            break
        amount = min(balance, remaining)
        lines.append(LedgerLine(EntryKind.PATIENT_PAYMENT, amount,
                                patient_id=patient_id, claim_id=claim_id))
        applied[claim_id] = amount
        per_patient[patient_id] = per_patient.get(patient_id, ZERO) + amount
        remaining -= amount
    for patient_id, amount in on_account:
        if remaining <= ZERO:
            break
        paid = min(amount, remaining)
        lines.append(LedgerLine(EntryKind.PATIENT_PAYMENT, paid, patient_id=patient_id))
        per_patient[patient_id] = per_patient.get(patient_id, ZERO) + paid
        remaining -= paid
    credit = refunded = ZERO
    if remaining > ZERO:  # what nobody owed
        if overpayment is Overpayment.REFUND:
            lines.append(LedgerLine(EntryKind.PATIENT_PAYMENT, remaining,
                                    patient_id=payment.patient_id))
            lines.append(LedgerLine(EntryKind.REFUND, remaining, patient_id=payment.patient_id,
                                    bucket=Bucket.PATIENT))
            refunded = remaining
        else:
            lines.append(LedgerLine(EntryKind.PATIENT_PAYMENT, remaining,
                                    patient_id=payment.patient_id))
            credit = remaining
            per_patient[payment.patient_id] = per_patient.get(payment.patient_id,
                                                              ZERO) + remaining
    if fee > ZERO:
        lines = _carve_fee(lines, fee)
    posting = work.ledger.post(f"payment:{row.id}", "patient_payment", lines,
                               effective_date=payment.received_on,
                               memo=f"{payment.method.value} payment",
                               allow_credit=credit > ZERO)
    row.posting_id = posting.posting_id
    row.unapplied = credit
    row.refunded = refunded
    audit.record(work.session, actor=work.actor, action="payment.record", entity_type="payment",
                 entity_id=row.id, details={"patient_id": payment.patient_id,
                                            "guarantor_id": guarantor_id,
                                            "claims": sorted(applied), "method": row.method})
    work.app.hooks.billing_event_precommit(event_type="payment.posted", data={
        "payment_id": row.id, "patient_id": payment.patient_id, "guarantor_id": guarantor_id,
        "amount": str(payment.amount), "method": row.method, "claim_ids": sorted(applied),
        "unapplied": str(credit), "refunded": str(refunded),
        "fee": str(row.fee) if row.fee is not None else None})
    if guarantor_id is not None:  # a family's payment: each application on its own
        claim_patients = {claim_id: patient_id for patient_id, claim_id, _ in balances}
        for claim_id, amount in applied.items():
            audit.record(work.session, actor=work.actor, action="payment.apply",
                         entity_type="claim", entity_id=claim_id,
                         details={"payment_id": row.id, "guarantor_id": guarantor_id,
                                  "patient_id": claim_patients[claim_id],
                                  "amount": str(amount)})
    counted = ZERO
    for patient_id, amount in per_patient.items():
        counted += _credit_installments(work, patient_id, amount)
    row.plan_counted = counted
    settle_patient_claims(work, applied, f"patient payment {row.id}")
    return PaymentResult(row.id, applied, credit, refunded, warnings)


def family_of(work: UnitOfWork, guarantor_id: int) -> list[int]:
    """The patients a guarantor answers for, the one whose account keeps a family payment's
    credit first: the guarantor's own patient record (relationship ``self``), else the
    oldest record.

    :raises NotFound: no such guarantor.
    :raises ValidationFailed: the guarantor answers for no patient.
    """
    service = GuarantorService(work.session, actor=work.actor)
    service.get(guarantor_id)
    patients = service.patients_of(guarantor_id)
    if not patients:
        raise ValidationFailed(f"guarantor {guarantor_id}", [("patients", "answers for none")])
    patients.sort(key=lambda p: (p.guarantor_relationship is not GuarantorRelationship.SELF,
                                 p.id))
    return [saved_id(p) for p in patients]


def family_claim_balances(work: UnitOfWork, patient_ids: list[int]
                          ) -> list[tuple[int, int, Decimal]]:
    """(patient id, claim id, patient balance) of claims the patients owe on, oldest service
    first across the family."""
    rows = work.session.execute(
        select(LedgerEntryRow.patient_id, LedgerEntryRow.claim_id,
               func.sum(LedgerEntryRow.patient_delta))
        .join(ClaimRow, ClaimRow.id == LedgerEntryRow.claim_id)
        .where(LedgerEntryRow.patient_id.in_(patient_ids), LedgerEntryRow.claim_id.is_not(None))
        .group_by(LedgerEntryRow.patient_id, LedgerEntryRow.claim_id,
                  ClaimRow.service_date_from)
        .order_by(ClaimRow.service_date_from, LedgerEntryRow.claim_id)).all()
    held = _held(work)
    return [(patient_id, claim_id, to_money(balance)) for patient_id, claim_id, balance in rows
            if balance > 0 and claim_id is not None and claim_id not in held]


def _held(work: UnitOfWork) -> set[int]:
    """Claim accounts waiting for the payer's reversal of a void: paying them oldest first
    would only leave a credit on the claim once the reversal takes the patient's share back
    (a payment naming the claim still may)."""
    from medbill_core.services.statements import voided_accounts

    return voided_accounts(work)


def record_guarantor_payment(work: UnitOfWork, guarantor_id: int, payment: Payment, *,
                             overpayment: Overpayment | None = None,
                             confirmed_date: bool = False,
                             fee: Decimal | None = None,
                             allow_duplicate: bool = False) -> PaymentResult:
    """One payment for a guarantor's whole family (a check for a family statement): applied
    across the guarantor's patients oldest service first, then to what their accounts owe on
    no claim (returned-item fees), each application audited. ``payment.patient_id`` is
    ignored: the payment is recorded on the family's first patient (:func:`family_of`),
    whose account keeps any credit. ``fee``: what an intermediary kept of the payment (a
    lender's merchant fee; see the module docstring). ``allow_duplicate``: as for
    :func:`record_payment` (the same guarantor, amount, date, method and reference).

    :raises DuplicatePayment: an exact repeat of a posted payment, no ``allow_duplicate``.
    :raises NotFound: no such guarantor.
    :raises ValidationFailed: the guarantor answers for no patient, the payment names a
        claim (pay one claim with ``--patient``), or the fee is negative or more than the
        payment.
    :raises LedgerError: the payment exceeds what the family owes and no overpayment
        decision was given.
    """
    work.require(Action.PAYMENTS_POST)
    check_date(payment.received_on, PAYMENT_RECEIVED, record="payment", field="received_on",
               confirmed=confirmed_date)
    if payment.claim_id is not None:
        raise ValidationFailed(f"guarantor {guarantor_id}", [(
            "claim", "a family payment is applied oldest service first; pay one claim as "
                     "the patient's payment")])
    kept = to_money(fee) if fee is not None else ZERO
    if not ZERO <= kept <= payment.amount:
        raise ValidationFailed(f"guarantor {guarantor_id}", [(
            "fee", f"{kept} is not between 0.00 and the {payment.amount} paid")])
    family = family_of(work, guarantor_id)
    payment = payment.model_copy(update={"patient_id": family[0]})
    on_account = [(pid, owed) for pid in family
                  if (owed := _on_account_balance(work, pid)) > ZERO]
    return _apply_payment(work, payment, family_claim_balances(work, family), on_account,
                          overpayment=overpayment, guarantor_id=guarantor_id,
                          allow_duplicate=allow_duplicate,
                          where=f" by guarantor {guarantor_id}'s patients", fee=kept)


def _on_account_balance(work: UnitOfWork, patient_id: int) -> Decimal:
    """The patient's balance on no claim (negative: a credit)."""
    total = work.session.scalar(
        select(func.coalesce(func.sum(LedgerEntryRow.patient_delta), 0))
        .where(LedgerEntryRow.patient_id == patient_id, LedgerEntryRow.claim_id.is_(None)))
    return to_money(total) if total else ZERO


# -- listing, refunds, returned payments, credits -----------------------------------------

class PaymentStatus(StrEnum):
    POSTED = "posted"
    #: returned check / NSF: what it applied was taken back
    REVERSED = "reversed"


@dataclass(frozen=True)
class PaymentSummary:
    """A payment as ``medbill payments list`` shows it (account number, never a name)."""

    id: int
    account_number: str
    amount: Decimal
    method: str
    reference: str | None
    received_on: date
    #: on the patient's claims (the amount less credit and refunds; 0.00 once reversed)
    applied: Decimal
    #: still a credit on the account (0.00 once reversed: the reversal took it back)
    credit: Decimal
    refunded: Decimal
    status: PaymentStatus
    reversed_on: date | None
    returned_fee: Decimal | None
    #: a family's payment: the guarantor's number (``account_number`` then names the patient
    #: whose account keeps its credit)
    guarantor: str | None = None
    #: the patient whose account the payment is on (the API names patients by id)
    patient_id: int | None = None
    #: what an intermediary kept of it (a financing lender's merchant fee); None: nothing
    fee: Decimal | None = None

    @property
    def net(self) -> Decimal:
        """What the practice received (the deposit): the amount less the fee."""
        return self.amount - (self.fee or ZERO)

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "account_number": self.account_number,
                "guarantor": self.guarantor,
                "amount": str(self.amount),
                "fee": None if self.fee is None else str(self.fee), "net": str(self.net),
                "method": self.method,
                "reference": self.reference, "received_on": self.received_on.isoformat(),
                "applied": str(self.applied), "credit": str(self.credit),
                "refunded": str(self.refunded), "status": self.status.value,
                "reversed_on": self.reversed_on.isoformat() if self.reversed_on else None,
                "returned_fee": None if self.returned_fee is None else str(self.returned_fee)}


def list_payments(work: UnitOfWork, *, patient_id: int | None = None,
                  received_from: date | None = None, received_to: date | None = None,
                  guarantor_id: int | None = None) -> list[PaymentSummary]:
    """Payments received in a period (both ends included), of one patient, of one guarantor's
    family (its family payments and its patients' own) or all, oldest first."""
    work.require(Action.PAYMENTS_READ)
    if received_from and received_to and received_from > received_to:
        raise ValidationFailed("payments list", [("from", "is after --to")])
    query = (select(PaymentRow, PatientRow.account_number)
             .join(PatientRow, PatientRow.id == PaymentRow.patient_id)
             .order_by(PaymentRow.received_on, PaymentRow.id))
    if patient_id is not None:
        query = query.where(PaymentRow.patient_id == patient_id)
    if guarantor_id is not None:
        family = family_of(work, guarantor_id)
        query = query.where(or_(PaymentRow.guarantor_id == guarantor_id,
                                PaymentRow.patient_id.in_(family)))
    if received_from is not None:
        query = query.where(PaymentRow.received_on >= received_from)
    if received_to is not None:
        query = query.where(PaymentRow.received_on <= received_to)
    return [payment_summary(row, account_number)
            for row, account_number in work.session.execute(query)]


def payment_summary(row: PaymentRow, account_number: str) -> PaymentSummary:
    """A stored payment as the lists show it."""
    reversed_ = row.reversed_on is not None
    return PaymentSummary(
        row.id, account_number, row.amount, row.method, row.reference, row.received_on,
        ZERO if reversed_ else row.amount - row.unapplied - row.refunded,
        ZERO if reversed_ else row.unapplied, row.refunded,
        PaymentStatus.REVERSED if reversed_ else PaymentStatus.POSTED,
        row.reversed_on, row.returned_fee,
        guarantor_number(row.guarantor_id) if row.guarantor_id else None, row.patient_id,
        row.fee)


def payments_after(work: UnitOfWork, *, after_id: int | None, limit: int,
                   patient_id: int | None = None, received_from: date | None = None,
                   received_to: date | None = None,
                   method: str | None = None) -> list[PaymentSummary]:
    """A keyset page of payments by id (the API's list): at most ``limit`` after
    ``after_id``, of one patient, received in a period (both ends included), by one method."""
    if received_from and received_to and received_from > received_to:
        raise ValidationFailed("payments list", [("received_from", "is after received_to")])
    query = (select(PaymentRow, PatientRow.account_number)
             .join(PatientRow, PatientRow.id == PaymentRow.patient_id)
             .order_by(PaymentRow.id).limit(limit))
    if after_id is not None:
        query = query.where(PaymentRow.id > after_id)
    if patient_id is not None:
        query = query.where(PaymentRow.patient_id == patient_id)
    if received_from is not None:
        query = query.where(PaymentRow.received_on >= received_from)
    if received_to is not None:
        query = query.where(PaymentRow.received_on <= received_to)
    if method is not None:
        query = query.where(PaymentRow.method == method)
    return [payment_summary(row, account_number)
            for row, account_number in work.session.execute(query)]


def get_payment(work: UnitOfWork, payment_id: int) -> PaymentSummary:
    """One payment as the lists show it.

    :raises NotFound: no such payment.
    """
    row = _payment_row(work, payment_id)
    account_number = work.session.scalar(select(PatientRow.account_number).where(
        PatientRow.id == row.patient_id))
    return payment_summary(row, account_number or "")


def _payment_row(work: UnitOfWork, payment_id: int) -> PaymentRow:
    row = work.session.get(PaymentRow, payment_id)
    if row is None:
        raise NotFound("payment", payment_id)
    return row


def stated_reason(record: str, reason: str) -> str:
    """The reason a person gave for a money action, trimmed; refused when blank (every refund,
    reversal and credit move says why)."""
    if not reason.strip():
        raise ValidationFailed(record, [("reason", "say why (no patient details)")])
    return reason.strip()[:500]


def active_hold(work: UnitOfWork, patient_id: int) -> CreditHoldRow | None:
    """The hold on the patient's credit (``medbill credits hold``), if one is in place."""
    return work.session.scalar(select(CreditHoldRow).where(
        CreditHoldRow.patient_id == patient_id, CreditHoldRow.released_on.is_(None)))


def refuse_held_credit(work: UnitOfWork, patient_id: int) -> None:
    """The one rule every path that refunds or moves a patient's credit asks first: a held
    credit is not refunded or moved (onto the patient's own balances, another family
    member's, back to a card) until the hold is released.

    :raises ValidationFailed: the patient's credit is on hold.
    """
    if active_hold(work, patient_id) is not None:
        raise ValidationFailed(f"patient {patient_id}",
                               [("credit", "is on hold; release the hold first")])


@dataclass(frozen=True)
class RefundResult:
    refund_id: int
    payment_id: int
    amount: Decimal
    #: what is still a credit on the payment afterwards
    credit_left: Decimal


def refund_credit(work: UnitOfWork, payment_id: int, amount: Decimal, reason: str, *,
                  on: date | None = None, hold_asked: bool = False) -> RefundResult:
    """Give back (part of) the credit a payment left on the account.

    The refund posts to the patient's account (the credit shrinks by ``amount``) and is kept
    with its reason; a payment's refunds never exceed what is left of its credit (money it
    applied to claims is not refunded here: reverse the payment, or adjust the claim).

    :param hold_asked: the hold was asked about when the refund was requested (a card refund
        the gateway has since made: it is posted whatever happened meanwhile).
    :raises NotFound: no such payment.
    :raises ValidationFailed: the amount is not positive or exceeds the credit left, the
        payment was reversed, no reason is given, or the patient's credit is on hold.
    """
    work.require(Action.PAYMENTS_REFUND)
    record = f"payment {payment_id}"
    row = _payment_row(work, payment_id)
    if not hold_asked:
        refuse_held_credit(work, row.patient_id)
    why = stated_reason(record, reason)
    amount = checked_amount(amount, record, "amount")
    if amount <= ZERO:
        raise ValidationFailed(record, [("amount", "must be more than 0.00")])
    if row.reversed_on is not None:
        raise ValidationFailed(record, [("status", "was reversed; nothing to refund")])
    if amount > row.unapplied:
        raise ValidationFailed(record, [("amount", f"exceeds the credit {row.unapplied} "
                                                   "left on this payment")])
    day = on or date.today()
    sequence = (work.session.scalar(select(func.count()).select_from(PaymentRefundRow).where(
        PaymentRefundRow.payment_id == payment_id)) or 0) + 1
    posting = work.ledger.post(
        f"refund:payment:{payment_id}:{sequence}", "patient_refund",
        [LedgerLine(EntryKind.REFUND, amount, patient_id=row.patient_id,
                    bucket=Bucket.PATIENT)],
        effective_date=day, memo=f"refund of payment {payment_id}")
    refund = PaymentRefundRow(payment_id=payment_id, amount=amount, refunded_on=day,
                              reason=why, actor=work.actor, posting_id=posting.posting_id)
    work.session.add(refund)
    row.unapplied = row.unapplied - amount
    row.refunded = row.refunded + amount
    # the money given back no longer pays the plan: installments it counted towards beyond
    # what the practice keeps of the payment are owed again
    counted = row.plan_counted if row.plan_counted is not None else row.amount - row.refunded \
        + amount
    excess = counted - (row.amount - row.refunded)
    if excess > ZERO:
        counted -= _debit_installments(work, row.patient_id, excess)
    row.plan_counted = counted
    work.session.flush()
    audit.record(work.session, actor=work.actor, action="payment.refund",
                 entity_type="payment", entity_id=payment_id,
                 details={"refund_id": refund.id, "amount": str(amount)})
    return RefundResult(refund.id, payment_id, amount, row.unapplied)


def payment_applications(work: UnitOfWork, payment_id: int) -> dict[int, Decimal]:
    """Claim id -> what the payment has applied to it: at recording and through credits
    applied since (postings ``payment:ID`` and ``credit:payment:ID:n``), with the fee an
    intermediary kept of it there (it paid the patient's balance as well)."""
    applied: dict[int, Decimal] = {}
    for (_, claim_id), amount in _with_fees(_applications(work, payment_id),
                                            _fees_carved(work, payment_id)).items():
        if claim_id is not None:
            applied[claim_id] = applied.get(claim_id, ZERO) + amount
    return {claim_id: amount for claim_id, amount in applied.items() if amount}


def _applications(work: UnitOfWork, payment_id: int) -> dict[tuple[int, int | None], Decimal]:
    """(patient id, claim id or None) -> what the payment stands for there: on claims, and
    on the account itself (a fee it paid, its credit, what was refunded from it)."""
    rows = work.session.execute(
        select(LedgerEntryRow.patient_id, LedgerEntryRow.claim_id,
               func.sum(LedgerEntryRow.amount))
        .join(PostingRow, PostingRow.id == LedgerEntryRow.posting_id)
        .where(or_(PostingRow.posting_key == f"payment:{payment_id}",
                   starts_with(work.session, PostingRow.posting_key,
                               f"credit:payment:{payment_id}:")),
               LedgerEntryRow.kind == EntryKind.PATIENT_PAYMENT.value)
        .group_by(LedgerEntryRow.patient_id, LedgerEntryRow.claim_id)
        .order_by(LedgerEntryRow.patient_id, LedgerEntryRow.claim_id)).all()
    return {(patient_id, claim_id): to_money(amount) for patient_id, claim_id, amount in rows
            if amount}


def _with_fees(applications: dict[tuple[int, int | None], Decimal],
               fees: dict[tuple[int, int | None], Decimal]
               ) -> dict[tuple[int, int | None], Decimal]:
    """What a payment paid at each (patient, claim): what it applied there plus the fee an
    intermediary kept of it there (places that come to 0.00 left out)."""
    paid = dict(applications)
    for place, amount in fees.items():
        paid[place] = paid.get(place, ZERO) + amount
    return {place: amount for place, amount in paid.items() if amount}


def _fees_carved(work: UnitOfWork, payment_id: int
                 ) -> dict[tuple[int, int | None], Decimal]:
    """(patient id, claim id or None) -> the fee carved out of the payment there (its
    ``financing_fee`` entries; empty for a payment that arrived whole)."""
    rows = work.session.execute(
        select(LedgerEntryRow.patient_id, LedgerEntryRow.claim_id,
               func.sum(LedgerEntryRow.amount))
        .join(PostingRow, PostingRow.id == LedgerEntryRow.posting_id)
        .where(PostingRow.posting_key == f"payment:{payment_id}",
               LedgerEntryRow.kind == EntryKind.FINANCING_FEE.value)
        .group_by(LedgerEntryRow.patient_id, LedgerEntryRow.claim_id)
        .order_by(LedgerEntryRow.patient_id, LedgerEntryRow.claim_id)).all()
    return {(patient_id, claim_id): to_money(amount) for patient_id, claim_id, amount in rows
            if amount}


@dataclass(frozen=True)
class ReversalResult:
    payment_id: int
    #: False: the payment had been reversed before (nothing changed)
    reversed_now: bool
    #: claim id -> the balance reopened on it
    reopened: dict[int, Decimal]
    #: credit the payment had left on the account, taken back
    credit_taken_back: Decimal
    #: what the patient owes back because part of the payment was refunded
    refunded_owed: Decimal
    returned_fee: Decimal | None


def reverse_payment(work: UnitOfWork, payment_id: int, reason: str, *,
                    fee: Decimal | None = None, on: date | None = None) -> ReversalResult:
    """A returned check / NSF / charge-back: take back everything the payment did.

    Each claim it paid (at recording or through a credit applied later) gets that amount
    back as a patient balance; the credit it still left on the account is taken back; money
    already refunded from it stays owed by the patient. A returned-item ``fee`` is charged to
    the patient's account. Installments it counted towards are owed again. Reversing a
    reversed payment changes nothing (``reversed_now`` False).

    :raises NotFound: no such payment.
    :raises ValidationFailed: no reason, or a fee that is not positive.
    """
    work.require(Action.PAYMENTS_REFUND)
    record = f"payment {payment_id}"
    row = _payment_row(work, payment_id)
    why = stated_reason(record, reason)
    if row.reversed_on is not None:
        return ReversalResult(payment_id, False, {}, ZERO, ZERO, row.returned_fee)
    if fee is not None and checked_amount(fee, record, "fee") <= ZERO:
        raise ValidationFailed(record, [("fee", "must be more than 0.00")])
    day = on or date.today()
    # on claims, and on no claim: the credit, what was refunded, a fee it paid (a family's
    # payment: on each patient's account it reached)
    received = _applications(work, payment_id)
    # a lender's payment: its merchant fee is taken back with what it deposited
    fees = _fees_carved(work, payment_id) if row.fee is not None else {}
    applications = _with_fees(received, fees)
    applied = {claim_id: amount for (_, claim_id), amount in applications.items()
               if claim_id is not None}
    lines = [LedgerLine(EntryKind.PATIENT_PAYMENT, -amount, patient_id=patient_id,
                        claim_id=claim_id)
             for (patient_id, claim_id), amount in received.items()]
    lines += [LedgerLine(EntryKind.FINANCING_FEE, -amount, patient_id=patient_id,
                         claim_id=claim_id)
              for (patient_id, claim_id), amount in fees.items()]
    if fee is not None:
        lines.append(LedgerLine(EntryKind.CHARGE, to_money(fee), patient_id=row.patient_id,
                                bucket=Bucket.PATIENT, reason_code="NSF"))
    work.ledger.post(f"reversal:payment:{payment_id}", "payment_reversal", lines,
                     effective_date=day, memo=f"payment {payment_id} returned",
                     moves_payments=True)
    credit = row.unapplied
    row.reversed_on = day
    row.reversal_reason = why
    row.reversed_by = work.actor
    row.returned_fee = to_money(fee) if fee is not None else None
    row.unapplied = ZERO
    _debit_plans(work, row, applications)
    settle_patient_claims(work, applied, f"payment {payment_id} returned")
    audit.record(work.session, actor=work.actor, action="payment.reverse",
                 entity_type="payment", entity_id=payment_id,
                 details={"claims": sorted(applied), "fee": str(row.returned_fee)
                          if row.returned_fee is not None else None})
    return ReversalResult(payment_id, True, applied, credit, row.refunded, row.returned_fee)


def _debit_plans(work: UnitOfWork, row: PaymentRow,
                 applications: dict[tuple[int, int | None], Decimal]) -> None:
    """A returned payment: what it counted towards plan installments is owed again, on each
    patient's plan it reached (a family's payment) in proportion to what it paid there."""
    counted = row.plan_counted if row.plan_counted is not None else row.amount - row.refunded
    if row.guarantor_id is None:
        row.plan_counted = counted - _debit_installments(work, row.patient_id, counted)
        return
    per_patient: dict[int, Decimal] = {}
    for (patient_id, _), amount in applications.items():
        per_patient[patient_id] = per_patient.get(patient_id, ZERO) + amount
    per_patient[row.patient_id] = per_patient.get(row.patient_id, ZERO) - row.refunded
    for patient_id, amount in per_patient.items():
        counted -= _debit_installments(work, patient_id, min(amount, counted))
    row.plan_counted = counted


@dataclass(frozen=True)
class CreditApplication:
    #: claim id -> amount applied to it
    applied: dict[int, Decimal]
    #: payment id -> how much of its credit was used
    used: dict[int, Decimal]
    #: the patient's credit left afterwards (payments' and claims')
    credit_left: Decimal
    #: claim id -> how much of the credit sitting on that claim was used
    claims_used: dict[int, Decimal] = field(default_factory=dict)


def apply_credit(work: UnitOfWork, patient_id: int, *, claim_id: int | None = None,
                 on: date | None = None) -> CreditApplication:
    """Move the credit the patient's payments left on the account onto open balances: the
    oldest payment's credit first, onto the oldest service first (or one chosen claim).

    :raises LedgerError: the claim is not the patient's, there is no credit, or nothing
        is owed.
    :raises ValidationFailed: the patient's credit is on hold.
    """
    work.require(Action.PAYMENTS_POST)
    account = work.patients.get(patient_id).account_number
    refuse_held_credit(work, patient_id)
    balances = patient_claim_balances(work, patient_id)
    if claim_id is not None:
        claim = work.session.get(ClaimRow, claim_id)
        if claim is None or claim.patient_id != patient_id:
            raise LedgerError(f"apply credit: claim {claim_id} is not a claim of account "
                              f"{account}")
        balances = [(cid, bal) for cid, bal in balances if cid == claim_id]
    sources = list(work.session.scalars(
        select(PaymentRow).where(PaymentRow.patient_id == patient_id,
                                 PaymentRow.reversed_on.is_(None),
                                 PaymentRow.unapplied > ZERO)
        .order_by(PaymentRow.received_on, PaymentRow.id)))
    on_claims = claim_credits(work, patient_id)
    if not sources and not on_claims:
        raise LedgerError(f"apply credit: account {account} has no payment credit")
    if not balances:
        raise LedgerError("apply credit: nothing is owed"
                          + (f" on claim {claim_id}" if claim_id is not None else ""))
    day = on or date.today()
    owed = dict(balances)
    applied: dict[int, Decimal] = {}
    used: dict[int, Decimal] = {}
    # a claim's own credit first (the patient paid a share the payer later took back or paid
    # itself): it belongs to no payment's leftover, and nothing else can use it
    claims_used = _move_claim_credits(work, patient_id, on_claims, owed, applied, day)
    for source in sources:
        lines, available = _spread(source.unapplied, owed, applied, patient_id)
        moved = source.unapplied - available
        if not moved:
            break  # nothing owed any more
        sequence = work.ledger.next_in_family(f"credit:payment:{source.id}:")
        lines.append(LedgerLine(EntryKind.PATIENT_PAYMENT, -moved, patient_id=patient_id))
        work.ledger.post(f"credit:payment:{source.id}:{sequence}", "credit_applied", lines,
                         effective_date=day, memo=f"credit of payment {source.id} applied",
                         moves_payments=True)
        source.unapplied = available
        used[source.id] = moved
    audit.record(work.session, actor=work.actor, action="payment.apply_credit",
                 entity_type="patient", entity_id=patient_id,
                 details={"payments": sorted(used), "claims": sorted(applied),
                          "claim_credits": {str(c): str(a) for c, a in claims_used.items()}})
    settle_patient_claims(work, applied, "payment credit applied")
    left = sum((source.unapplied for source in sources), ZERO) + sum(
        (credit for _, credit in on_claims), ZERO) - sum(claims_used.values(), ZERO)
    return CreditApplication(applied, used, left, claims_used)


def claim_credits(work: UnitOfWork, patient_id: int) -> list[tuple[int, Decimal]]:
    """(claim id, credit) of the patient's claims whose patient balance is below zero (the
    patient paid more on the claim than they owe on it now, e.g. after the payer reprocessed
    it), oldest service first."""
    rows = work.session.execute(
        select(LedgerEntryRow.claim_id, func.sum(LedgerEntryRow.patient_delta))
        .join(ClaimRow, ClaimRow.id == LedgerEntryRow.claim_id)
        .where(LedgerEntryRow.patient_id == patient_id, LedgerEntryRow.claim_id.is_not(None))
        .group_by(LedgerEntryRow.claim_id, ClaimRow.service_date_from)
        .order_by(ClaimRow.service_date_from, LedgerEntryRow.claim_id)).all()
    return [(claim_id, -to_money(balance)) for claim_id, balance in rows
            if balance < 0 and claim_id is not None]


def _spread(available: Decimal, owed: dict[int, Decimal], applied: dict[int, Decimal],
            patient_id: int) -> tuple[list[LedgerLine], Decimal]:
    """Patient-payment lines paying ``owed`` claims in order from ``available`` (``owed`` and
    ``applied`` updated in place); the lines and what is left of ``available``."""
    lines: list[LedgerLine] = []
    for target, balance in owed.items():
        amount = min(available, balance)
        if amount <= ZERO:
            continue
        lines.append(LedgerLine(EntryKind.PATIENT_PAYMENT, amount, patient_id=patient_id,
                                claim_id=target))
        owed[target] = balance - amount
        applied[target] = applied.get(target, ZERO) + amount
        available -= amount
    return lines, available


def _move_claim_credits(work: UnitOfWork, patient_id: int,
                        credits: list[tuple[int, Decimal]], owed: dict[int, Decimal],
                        applied: dict[int, Decimal], day: date) -> dict[int, Decimal]:
    """Move claims' credits onto ``owed`` (updated in place, as ``applied``); returns claim
    id -> credit used."""
    used: dict[int, Decimal] = {}
    for source, credit in credits:
        lines, available = _spread(credit, owed, applied, patient_id)
        moved = credit - available
        if not moved:
            break
        lines.append(LedgerLine(EntryKind.PATIENT_PAYMENT, -moved, patient_id=patient_id,
                                claim_id=source))
        sequence = work.ledger.next_in_family(f"credit:claim:{source}:")
        work.ledger.post(f"credit:claim:{source}:{sequence}", "credit_applied", lines,
                         effective_date=day, memo=f"credit of claim {source} applied",
                         moves_payments=True)
        used[source] = moved
    return used


@dataclass(frozen=True)
class ClaimRefundResult:
    claim_id: int
    amount: Decimal
    #: what is still a credit on the claim afterwards
    credit_left: Decimal


def refund_claim_credit(work: UnitOfWork, claim_id: int, amount: Decimal, reason: str, *,
                        on: date | None = None) -> ClaimRefundResult:
    """Give back (part of) a credit sitting on one claim (the patient's balance there is
    below zero), audited with its reason.

    :raises NotFound: no such claim.
    :raises ValidationFailed: no reason, an amount that is not positive, more than the
        claim's credit, or the patient's credit is on hold.
    """
    work.require(Action.PAYMENTS_REFUND)
    record = f"claim {claim_id}"
    claim = work.session.get(ClaimRow, claim_id)
    if claim is None:
        raise NotFound("claim", claim_id)
    why = stated_reason(record, reason)
    amount = checked_amount(amount, record, "amount")
    if amount <= ZERO:
        raise ValidationFailed(record, [("amount", "must be more than 0.00")])
    credit = max(ZERO, -work.ledger.claim_balance(claim_id).patient)
    if amount > credit:
        raise ValidationFailed(record, [("amount", f"exceeds the patient credit {credit} on "
                                                   "this claim")])
    patient_id = work.session.execute(select(LedgerEntryRow.patient_id).where(
        LedgerEntryRow.claim_id == claim_id).limit(1)).scalar_one()  # a credit: entries exist
    refuse_held_credit(work, patient_id)
    sequence = work.ledger.next_in_family(f"refund:claim:{claim_id}:")
    day = on or date.today()
    work.ledger.post(f"refund:claim:{claim_id}:{sequence}", "patient_refund",
                     [LedgerLine(EntryKind.REFUND, amount, patient_id=patient_id,
                                 claim_id=claim_id, bucket=Bucket.PATIENT)],
                     effective_date=day, memo=f"refund of the credit on claim {claim_id}",
                     allow_credit=True)
    audit.record(work.session, actor=work.actor, action="claim.refund_credit",
                 entity_type="claim", entity_id=claim_id,
                 details={"amount": str(amount), "reason": why})
    return ClaimRefundResult(claim_id, amount, credit - amount)


# -- payment plans -------------------------------------------------------------------------

_STEP = {PlanFrequency.WEEKLY: 7, PlanFrequency.BIWEEKLY: 14}
#: the longest plan (ten years of monthly installments)
MAX_INSTALLMENTS = 120


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def schedule(total: Decimal, count: int, start: date,
             frequency: PlanFrequency = PlanFrequency.MONTHLY) -> list[Installment]:
    """``count`` installments adding up exactly to ``total`` (the last takes the rounding)."""
    if count < 1:
        raise ValidationFailed("payment plan", [("installments", "at least one is needed")])
    if count > MAX_INSTALLMENTS:
        raise ValidationFailed("payment plan", [("installments", f"at most {MAX_INSTALLMENTS}")])
    total = checked_amount(total, "payment plan", "total_amount")
    if total <= ZERO:
        raise ValidationFailed("payment plan", [("total_amount", "must be more than 0.00")])
    if total < CENT * count:  # every installment must ask for at least a cent
        raise ValidationFailed("payment plan", [(
            "installments", f"{count} installments need a total of at least {CENT * count}")])
    base = (total / count).quantize(CENT, rounding="ROUND_DOWN")
    amounts = [base] * (count - 1) + [total - base * (count - 1)]
    dates = [_add_months(start, i) if frequency is PlanFrequency.MONTHLY
             else start + timedelta(days=_STEP[frequency] * i) for i in range(count)]
    return [Installment(due_date=d, amount=a) for d, a in zip(dates, amounts, strict=True)]


def new_plan(work: UnitOfWork, patient_id: int, total: Decimal, count: int, start: date,
             frequency: PlanFrequency = PlanFrequency.MONTHLY, *,
             confirmed_date: bool = False) -> PaymentPlan:
    """Schedule ``total`` in ``count`` installments from ``start`` and store the plan.

    :raises ValidationFailed: the total is not positive, too small for ``count`` cents, more
        than the patient owes, or the patient already has an active plan; ``start`` is
        outside :data:`~medbill_core.services.date_rules.PLAN_START` and not confirmed.
    """
    work.require(Action.PLANS_WRITE)
    check_date(start, PLAN_START, record="payment plan", field="start",
               confirmed=confirmed_date)
    installments = schedule(total, count, start, frequency)
    plan = validate_record(PaymentPlan, {
        "patient_id": patient_id, "total_amount": total, "start_date": start,
        "frequency": frequency, "installments": installments}, record="payment plan")
    return create_plan(work, plan)


def create_plan(work: UnitOfWork, plan: PaymentPlan) -> PaymentPlan:
    """Store a plan. Its total may not exceed what the patient owes; one active plan each."""
    work.require(Action.PLANS_WRITE)
    plan = validate_record(PaymentPlan, plan.model_dump(), record="payment plan")
    owed = work.ledger.patient_balance(plan.patient_id).patient
    if plan.total_amount > owed:
        raise ValidationFailed("payment plan", [("total_amount",
                                                 f"exceeds the patient balance {owed}")])
    active = work.session.scalar(select(PaymentPlanRow.id).where(
        PaymentPlanRow.patient_id == plan.patient_id, PaymentPlanRow.status == "active"))
    if active is not None:
        raise ValidationFailed("payment plan", [("patient_id",
                                                 f"already has active plan {active}")])
    row = PaymentPlanRow(patient_id=plan.patient_id, total_amount=plan.total_amount,
                         start_date=plan.start_date, frequency=plan.frequency.value,
                         status="active", installments=[
                             InstallmentRow(sequence=i, due_date=inst.due_date,
                                            amount=inst.amount, paid_amount=inst.paid_amount)
                             for i, inst in enumerate(plan.installments, start=1)])
    work.session.add(row)
    work.session.flush()
    audit.record(work.session, actor=work.actor, action="plan.create", entity_type="plan",
                 entity_id=row.id, details={"patient_id": plan.patient_id,
                                            "installments": len(plan.installments)})
    return _plan_from_row(row)


class PlanStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class PlanSummary:
    """A plan as ``medbill plans list`` shows it (account number, never a name)."""

    id: int
    account_number: str
    status: PlanStatus
    frequency: PlanFrequency
    total: Decimal
    paid: Decimal
    installments: int
    #: the first installment not fully paid: its due date and what is due on it
    next_due_date: date | None
    next_due_amount: Decimal | None
    cancelled_on: date | None
    #: the plan's patient (the API names patients by id)
    patient_id: int | None = None

    @property
    def remaining(self) -> Decimal:
        return self.total - self.paid

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "account_number": self.account_number,
                "status": self.status.value, "frequency": self.frequency.value,
                "total": str(self.total), "paid": str(self.paid),
                "remaining": str(self.remaining), "installments": self.installments,
                "next_due_date": self.next_due_date.isoformat() if self.next_due_date
                else None,
                "next_due_amount": None if self.next_due_amount is None
                else str(self.next_due_amount),
                "cancelled_on": self.cancelled_on.isoformat() if self.cancelled_on else None}


def list_plans(work: UnitOfWork, *, patient_id: int | None = None,
               status: PlanStatus | None = None, after_id: int | None = None,
               limit: int | None = None, plan_id: int | None = None) -> list[PlanSummary]:
    """Payment plans, of one patient or all, in one status or all, by id (at most ``limit``
    after ``after_id``: the API's keyset pages; ``plan_id``: that one only)."""
    work.require(Action.PLANS_READ)
    query = (select(PaymentPlanRow, PatientRow.account_number)
             .join(PatientRow, PatientRow.id == PaymentPlanRow.patient_id)
             .order_by(PaymentPlanRow.id).limit(limit))
    if after_id is not None:
        query = query.where(PaymentPlanRow.id > after_id)
    if plan_id is not None:
        query = query.where(PaymentPlanRow.id == plan_id)
    if patient_id is not None:
        query = query.where(PaymentPlanRow.patient_id == patient_id)
    if status is not None:
        query = query.where(PaymentPlanRow.status == status.value)
    result = []
    for row, account_number in work.session.execute(query):
        due = next((i for i in row.installments if i.paid_amount < i.amount), None)
        result.append(PlanSummary(
            row.id, account_number, PlanStatus(row.status), PlanFrequency(row.frequency),
            row.total_amount, sum((i.paid_amount for i in row.installments), ZERO),
            len(row.installments), due.due_date if due else None,
            due.amount - due.paid_amount if due else None, row.cancelled_on, row.patient_id))
    return result


def _active_plan(work: UnitOfWork, plan_id: int) -> PaymentPlanRow:
    row = work.session.get(PaymentPlanRow, plan_id)
    if row is None:
        raise NotFound("payment plan", plan_id)
    if row.status != PlanStatus.ACTIVE.value:
        raise ValidationFailed(f"payment plan {plan_id}", [("status", f"is {row.status}")])
    return row


def cancel_plan(work: UnitOfWork, plan_id: int, reason: str, *,
                on: date | None = None) -> None:
    """End an active plan: its installments are no longer expected (``plans missed`` stops
    listing them); the balance stays on the patient's account, payments made stay applied.

    :raises NotFound: no such plan.
    :raises ValidationFailed: the plan is not active, or no reason is given.
    """
    work.require(Action.PLANS_WRITE)
    row = _active_plan(work, plan_id)
    why = stated_reason(f"payment plan {plan_id}", reason)
    row.status = PlanStatus.CANCELLED.value
    row.cancelled_on = on or date.today()
    row.cancel_reason = why
    audit.record(work.session, actor=work.actor, action="plan.cancel", entity_type="plan",
                 entity_id=plan_id, details={"patient_id": row.patient_id})


def edit_plan(work: UnitOfWork, plan_id: int, *, installments: int | None = None,
              amount: Decimal | None = None, start: date | None = None,
              confirmed_date: bool = False) -> PaymentPlan:
    """Re-schedule what is left of an active plan, exactly in cents.

    Paid installments stay as they are (a partly paid one is cut to what was paid on it, due
    no later than the new start);
    the rest of the total is spread from ``start`` (default: the due date of the first
    installment not fully paid) over ``installments`` (default: as many as were left), or
    in installments of ``amount`` (the last one takes the rest). The plan's total and
    frequency do not change.

    :raises NotFound: no such plan.
    :raises ValidationFailed: the plan is not active, nothing is left to schedule, both or
        neither of a count and an amount make sense, or ``start`` is before a kept
        installment.
    """
    work.require(Action.PLANS_WRITE)
    record = f"payment plan {plan_id}"
    if start is not None:
        check_date(start, PLAN_START, record=record, field="start", confirmed=confirmed_date)
    if installments is not None and amount is not None:
        raise ValidationFailed(record, [("installments",
                                         "give a number of installments or an amount, "
                                         "not both")])
    row = _active_plan(work, plan_id)
    paid = [i for i in row.installments if i.paid_amount >= i.amount]
    open_ = [i for i in row.installments if i.paid_amount < i.amount]
    remaining = sum((i.amount - i.paid_amount for i in open_), ZERO)
    if remaining <= ZERO:
        raise ValidationFailed(record, [("installments", "nothing is left to schedule")])
    first = start or open_[0].due_date
    if paid and first < max(i.due_date for i in paid):
        raise ValidationFailed(record, [("start", "is before an installment already paid "
                                                  f"({max(i.due_date for i in paid)})")])
    frequency = PlanFrequency(row.frequency)
    if amount is not None:
        amount = checked_amount(amount, record, "amount")
        if amount <= ZERO:
            raise ValidationFailed(record, [("amount", "must be more than 0.00")])
        # in cents, as integers: the last installment takes the rest (ceiling division)
        count = -(-int(remaining / CENT) // int(amount / CENT))
        if count > MAX_INSTALLMENTS:
            raise ValidationFailed(record, [("amount", f"would need {count} installments "
                                                       f"(at most {MAX_INSTALLMENTS})")])
        dates = [i.due_date for i in schedule(remaining, count, first, frequency)]
        new = [Installment(due_date=day, amount=amount) for day in dates[:-1]] + [
            Installment(due_date=dates[-1], amount=remaining - amount * (count - 1))]
    else:
        count = installments or len(open_)
        if count > MAX_INSTALLMENTS:
            raise ValidationFailed(record, [("installments", f"at most {MAX_INSTALLMENTS}")])
        new = schedule(remaining, count, first, frequency)
    before = len(row.installments)
    for installment in open_:
        if installment.paid_amount > ZERO:  # cut to what was paid, so paid, by the start
            installment.amount = installment.paid_amount
            installment.due_date = min(installment.due_date, first)
        else:
            row.installments.remove(installment)
    work.session.flush()  # free the sequence numbers of the removed installments
    sequence = max((i.sequence for i in row.installments), default=0)
    for offset, planned in enumerate(new, start=1):
        row.installments.append(InstallmentRow(
            sequence=sequence + offset, due_date=planned.due_date,
            amount=planned.amount, paid_amount=ZERO))
    work.session.flush()
    plan = validate_record(PaymentPlan, _plan_from_row(row).model_dump(), record=record)
    audit.record(work.session, actor=work.actor, action="plan.edit", entity_type="plan",
                 entity_id=plan_id, details={"installments_before": before,
                                             "installments_after": len(row.installments),
                                             "rescheduled": str(remaining)})
    return plan


def _plan_from_row(row: PaymentPlanRow) -> PaymentPlan:
    return PaymentPlan.model_construct(
        id=row.id, patient_id=row.patient_id, total_amount=row.total_amount,
        start_date=row.start_date, frequency=PlanFrequency(row.frequency),
        installments=[Installment.model_construct(due_date=i.due_date, amount=i.amount,
                                                  paid_amount=i.paid_amount)
                      for i in row.installments])


def _credit_installments(work: UnitOfWork, patient_id: int, amount: Decimal) -> Decimal:
    """Count ``amount`` towards the oldest unpaid installments of the patient's active plan;
    returns what was counted (at most what the plan still asks for)."""
    plan = work.session.scalar(select(PaymentPlanRow).where(
        PaymentPlanRow.patient_id == patient_id, PaymentPlanRow.status == "active"))
    if plan is None:
        return ZERO
    offered = amount
    for installment in plan.installments:
        if amount <= ZERO:
            break
        due = installment.amount - installment.paid_amount
        if due <= ZERO:
            continue
        paid = min(due, amount)
        installment.paid_amount = installment.paid_amount + paid
        amount -= paid
    if all(i.paid_amount >= i.amount for i in plan.installments):
        plan.status = "completed"
        audit.record(work.session, actor=work.actor, action="plan.complete", entity_type="plan",
                     entity_id=plan.id)
    return offered - amount


def _debit_installments(work: UnitOfWork, patient_id: int, amount: Decimal) -> Decimal:
    """Undo :func:`_credit_installments` for a returned or refunded payment: the latest
    installments it counted towards are owed again (a plan it completed is active again).
    Returns what was taken back."""
    plan = work.session.scalar(
        select(PaymentPlanRow).where(PaymentPlanRow.patient_id == patient_id,
                                     PaymentPlanRow.status.in_(("active", "completed")))
        .order_by(PaymentPlanRow.id.desc()).limit(1))
    if plan is None or amount <= ZERO:
        return ZERO
    asked = amount
    for installment in reversed(plan.installments):
        if amount <= ZERO:
            break
        taken = min(installment.paid_amount, amount)
        installment.paid_amount = installment.paid_amount - taken
        amount -= taken
    if plan.status == "completed" and any(i.paid_amount < i.amount for i in plan.installments):
        plan.status = "active"
        audit.record(work.session, actor=work.actor, action="plan.reopen", entity_type="plan",
                     entity_id=plan.id)
    return asked - amount


@dataclass(frozen=True)
class MissedInstallment:
    plan_id: int
    patient_id: int
    sequence: int
    due_date: date
    amount_due: Decimal
    days_late: int
    #: the patient's account number (how people name a patient; never a name)
    account_number: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"plan_id": self.plan_id, "account_number": self.account_number,
                "installment": self.sequence, "due_date": self.due_date.isoformat(),
                "amount_due": str(self.amount_due), "days_late": self.days_late}


def missed_installments(work: UnitOfWork, *, as_of: date | None = None,
                        grace_days: int = 5,
                        patient_id: int | None = None,
                        patient_ids: Collection[int] | None = None) -> list[MissedInstallment]:
    """Installments of active plans (of one patient, or of ``patient_ids``, when given) more
    than ``grace_days`` past due and not fully paid."""
    work.require(Action.PLANS_READ)
    today = as_of or date.today()
    result = []
    query = (select(PaymentPlanRow, PatientRow.account_number)
             .join(PatientRow, PatientRow.id == PaymentPlanRow.patient_id)
             .where(PaymentPlanRow.status == "active").order_by(PaymentPlanRow.id))
    if patient_id is not None:
        query = query.where(PaymentPlanRow.patient_id == patient_id)
    if patient_ids is not None:
        query = query.where(PaymentPlanRow.patient_id.in_(sorted(set(patient_ids))))
    for plan, account_number in work.session.execute(query):
        for inst in plan.installments:
            late = (today - inst.due_date).days
            if late > grace_days and inst.paid_amount < inst.amount:
                result.append(MissedInstallment(plan.id, plan.patient_id, inst.sequence,
                                                inst.due_date, inst.amount - inst.paid_amount,
                                                late, account_number))
    return result


def plan(work: UnitOfWork, plan_id: int) -> PaymentPlan:
    work.require(Action.PLANS_READ)
    row = work.session.get(PaymentPlanRow, plan_id)
    if row is None:
        raise NotFound("payment plan", plan_id)
    return _plan_from_row(row)
