"""Patient credits: who has one, how old, how much, and the three decisions on each.

A patient's credit is what the account holds beyond what it owes: the credit payments left
(``PaymentRow.unapplied``, see :mod:`medbill_core.services.payments`) and claims whose patient
balance is below zero (the patient paid a share the payer later paid or took back). The work
view (:func:`credit_balances`) lists them oldest first; each is decided one of three ways:

- **refund** it (:func:`refund_patient_credit`): by check, recorded in the **check register**
  (number, payee reference, amount, date; ``issued`` -> ``cleared`` or ``void``; voiding an
  issued check puts the credit back on the account). A refund to the card goes through a
  payment gateway plugin (``RefundMethod.GATEWAY``): not available here yet, refused in words;
- **apply** it to another open balance in the family (:func:`apply_credit_to_family`: the
  patient's own balances are :func:`~medbill_core.services.payments.apply_credit`'s);
- **hold** it with a reason (:func:`hold_credit`): a held credit is not refunded until the
  hold is released (e.g. an appeal may still change what the patient owes). Every path
  that refunds or moves a credit asks
  :func:`~medbill_core.services.payments.refuse_held_credit` first.

The refunds themselves are :func:`~medbill_core.services.payments.refund_credit` and
:func:`~medbill_core.services.payments.refund_claim_credit`: a check only groups them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, func, select, tuple_

from medbill_core import audit
from medbill_core.app import UnitOfWork
from medbill_core.errors import LedgerError, NotFound, ValidationFailed
from medbill_core.ledger import Bucket, EntryKind, LedgerLine
from medbill_core.money import ZERO, checked_amount, to_money
from medbill_core.permissions import Action
from medbill_core.services.date_rules import REFUND_ISSUED, check_date
from medbill_core.services.payments import (
    active_hold,
    claim_credits,
    patient_claim_balances,
    refund_claim_credit,
    refund_credit,
    refuse_held_credit,
    settle_patient_claims,
    stated_reason,
)
from medbill_core.storage.schema import (
    CreditHoldRow,
    LedgerEntryRow,
    PatientRow,
    PaymentRow,
    RefundCheckRow,
)


class RefundMethod(StrEnum):
    CHECK = "check"
    #: back to the card through a payment gateway plugin (not available yet: refused)
    GATEWAY = "gateway"


class CheckStatus(StrEnum):
    ISSUED = "issued"
    CLEARED = "cleared"
    VOID = "void"


# -- the work view --------------------------------------------------------------------------

@dataclass(frozen=True)
class CreditItem:
    """One patient's credit as the work view shows it (account number, never a name)."""

    patient_id: int
    account_number: str
    #: left by payments, and sitting on claims
    from_payments: Decimal
    on_claims: Decimal
    #: the day the oldest part of the credit arose (a payment's received date, the last
    #: movement of a claim in credit)
    since: date
    days_old: int
    hold_reason: str | None

    @property
    def credit(self) -> Decimal:
        return self.from_payments + self.on_claims

    def as_json(self) -> dict[str, Any]:
        return {"patient_id": self.patient_id, "account_number": self.account_number,
                "credit": str(self.credit), "from_payments": str(self.from_payments),
                "on_claims": str(self.on_claims), "since": self.since.isoformat(),
                "days_old": self.days_old, "held": self.hold_reason is not None,
                "hold_reason": self.hold_reason}


def credit_balances(work: UnitOfWork, *, as_of: date | None = None,
                    patient_id: int | None = None, after_id: int | None = None,
                    limit: int | None = None) -> list[CreditItem]:
    """Patients holding a credit, oldest credit first (then largest).

    A keyset page (the API's: at most ``limit`` patients with an id above ``after_id``) is
    by patient id instead: a credit's age changes as it is refunded or applied between two
    pages, a patient's id never does, so a walk neither repeats nor skips a patient."""
    work.require(Action.PAYMENTS_READ)
    today = as_of or date.today()
    payments: dict[int, tuple[Decimal, date]] = {}
    query = (select(PaymentRow.patient_id, func.sum(PaymentRow.unapplied),
                    func.min(PaymentRow.received_on))
             .where(PaymentRow.reversed_on.is_(None), PaymentRow.unapplied > ZERO)
             .group_by(PaymentRow.patient_id))
    per_claim = (select(LedgerEntryRow.patient_id, LedgerEntryRow.claim_id,
                        func.sum(LedgerEntryRow.patient_delta),
                        func.max(LedgerEntryRow.effective_date))
                 .where(LedgerEntryRow.claim_id.is_not(None))
                 .group_by(LedgerEntryRow.patient_id, LedgerEntryRow.claim_id)
                 .having(func.sum(LedgerEntryRow.patient_delta) < 0))
    if patient_id is not None:
        query = query.where(PaymentRow.patient_id == patient_id)
        per_claim = per_claim.where(LedgerEntryRow.patient_id == patient_id)
    if after_id is not None:
        query = query.where(PaymentRow.patient_id > after_id)
        per_claim = per_claim.where(LedgerEntryRow.patient_id > after_id)
    if limit is not None:
        page = _first_holders(work, query, per_claim, limit)
        query = query.where(PaymentRow.patient_id.in_(page))
        per_claim = per_claim.where(LedgerEntryRow.patient_id.in_(page))
    for pid, amount, since in work.session.execute(query):
        payments[pid] = (to_money(amount), since)
    claims: dict[int, tuple[Decimal, date]] = {}
    for pid, _, balance, since in work.session.execute(per_claim):
        amount, first = claims.get(pid, (ZERO, since))
        claims[pid] = (amount - to_money(balance), min(first, since))
    ids = sorted(set(payments) | set(claims))
    if not ids:
        return []
    accounts = dict(work.session.execute(
        select(PatientRow.id, PatientRow.account_number).where(PatientRow.id.in_(ids))).all())
    holds = dict(work.session.execute(
        select(CreditHoldRow.patient_id, CreditHoldRow.reason).where(
            CreditHoldRow.patient_id.in_(ids), CreditHoldRow.released_on.is_(None))).all())
    items = []
    for pid in ids:
        paid, paid_since = payments.get(pid, (ZERO, today))
        on_claims, claim_since = claims.get(pid, (ZERO, today))
        since = min(paid_since if paid else today, claim_since if on_claims else today)
        items.append(CreditItem(pid, accounts.get(pid, ""), paid, on_claims, since,
                                max(0, (today - since).days), holds.get(pid)))
    if after_id is not None or limit is not None:
        return items  # by patient id, as ``ids`` is
    return sorted(items, key=lambda item: (item.since, -item.credit, item.patient_id))


def _first_holders(work: UnitOfWork, payments: Select[int, Decimal, date],
                   per_claim: Select[int, int | None, Decimal, date], limit: int) -> list[int]:
    """The ``limit`` lowest patient ids holding a credit, from payments or claims (the
    two queries :func:`credit_balances` sums), so that only that page's credits are summed."""
    paying = payments.subquery()
    owed = per_claim.subquery()
    from_payments = work.session.scalars(
        select(paying.c.patient_id).order_by(paying.c.patient_id).limit(limit))
    from_claims = work.session.scalars(
        select(owed.c.patient_id).distinct().order_by(owed.c.patient_id).limit(limit))
    return sorted(set(from_payments) | set(from_claims))[:limit]


# -- refund by check: the check register --------------------------------------------------

@dataclass(frozen=True)
class RefundCheck:
    id: int
    check_number: str
    account_number: str
    payee_reference: str
    amount: Decimal
    issued_on: date
    status: CheckStatus
    cleared_on: date | None
    voided_on: date | None

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "check_number": self.check_number,
                "account_number": self.account_number,
                "payee_reference": self.payee_reference, "amount": str(self.amount),
                "issued_on": self.issued_on.isoformat(), "status": self.status.value,
                "cleared_on": self.cleared_on.isoformat() if self.cleared_on else None,
                "voided_on": self.voided_on.isoformat() if self.voided_on else None}


def _check(row: RefundCheckRow, account_number: str) -> RefundCheck:
    return RefundCheck(row.id, row.check_number, account_number, row.payee_reference,
                       row.amount, row.issued_on, CheckStatus(row.status), row.cleared_on,
                       row.voided_on)


def refund_patient_credit(work: UnitOfWork, patient_id: int, amount: Decimal, reason: str, *,
                          method: RefundMethod = RefundMethod.CHECK,
                          check_number: str | None = None,
                          payee_reference: str | None = None,
                          on: date | None = None,
                          confirmed_date: bool = False) -> RefundCheck:
    """Give (part of) a patient's credit back by check: the oldest payment credits first,
    then the claims' credits; one check in the register for it all.

    :param on: the check's date (default today); the refunds are entered in the ledger (and
        exported to the books) on it.
    :param confirmed_date: the caller confirmed a date outside
        :data:`~medbill_core.services.date_rules.REFUND_ISSUED`.
    :raises ValidationFailed: the gateway method (not available yet), no check number or one
        already in the register, no reason, an amount that is not positive or more than the
        credit, a credit on hold, or a date ahead of today or over a year back not confirmed.
    :raises NotFound: no such patient.
    """
    work.require(Action.PAYMENTS_REFUND)
    account = work.patients.get(patient_id).account_number
    record = f"patient {patient_id}"
    day = on or date.today()
    check_date(day, REFUND_ISSUED, record=record, field="issued_on", confirmed=confirmed_date)
    if method is RefundMethod.GATEWAY:
        raise ValidationFailed(record, [("method", "a refund to the card needs a payment "
                                                   "gateway plugin, and none is available "
                                                   "yet: refund by check")])
    why = stated_reason(record, reason)
    number = (check_number or "").strip()
    if not number or len(number) > 20:
        raise ValidationFailed(record, [("check_number", "give the check's number "
                                                         "(at most 20 characters)")])
    if work.session.scalar(select(RefundCheckRow.id).where(
            RefundCheckRow.check_number == number)) is not None:
        raise ValidationFailed(record, [("check_number", f"check {number} is already in the "
                                                         "register")])
    amount = checked_amount(amount, record, "amount")
    if amount <= ZERO:
        raise ValidationFailed(record, [("amount", "must be more than 0.00")])
    refuse_held_credit(work, patient_id)
    payments = list(work.session.scalars(
        select(PaymentRow).where(PaymentRow.patient_id == patient_id,
                                 PaymentRow.reversed_on.is_(None),
                                 PaymentRow.unapplied > ZERO)
        .order_by(PaymentRow.received_on, PaymentRow.id)))
    on_claims = claim_credits(work, patient_id)
    available = sum((p.unapplied for p in payments), ZERO) + sum(
        (credit for _, credit in on_claims), ZERO)
    if amount > available:
        raise ValidationFailed(record, [("amount", f"exceeds the credit {available} on the "
                                                   "account")])
    left = amount
    sources: list[dict[str, Any]] = []
    for payment in payments:
        part = min(left, payment.unapplied)
        if part <= ZERO:
            break
        refund_credit(work, payment.id, part, f"refund check {number}: {why}", on=day,
                      hold_asked=True)
        sources.append({"payment_id": payment.id, "amount": str(part)})
        left -= part
    for claim_id, credit in on_claims:
        part = min(left, credit)
        if part <= ZERO:
            break
        refund_claim_credit(work, claim_id, part, f"refund check {number}: {why}", on=day)
        sources.append({"claim_id": claim_id, "amount": str(part)})
        left -= part
    row = RefundCheckRow(check_number=number, patient_id=patient_id,
                         payee_reference=(payee_reference or account).strip()[:40],
                         amount=amount, issued_on=day, status=CheckStatus.ISSUED.value,
                         reason=why, actor=work.actor, sources=sources)
    work.session.add(row)
    work.session.flush()
    audit.record(work.session, actor=work.actor, action="refund_check.issue",
                 entity_type="refund_check", entity_id=row.id,
                 details={"patient_id": patient_id, "amount": str(amount),
                          "sources": len(sources)})
    return _check(row, account)


def _check_row(work: UnitOfWork, check_number: str) -> RefundCheckRow:
    row = work.session.scalar(select(RefundCheckRow).where(
        RefundCheckRow.check_number == check_number.strip()))
    if row is None:
        raise NotFound("refund check", check_number)
    return row


def _account(work: UnitOfWork, patient_id: int) -> str:
    return work.session.scalar(select(PatientRow.account_number).where(
        PatientRow.id == patient_id)) or ""


def clear_check(work: UnitOfWork, check_number: str, *, on: date | None = None) -> RefundCheck:
    """The bank paid an issued check (from the bank statement).

    :raises NotFound: no such check. :raises ValidationFailed: it is not ``issued``."""
    work.require(Action.PAYMENTS_REFUND)
    row = _check_row(work, check_number)
    if row.status != CheckStatus.ISSUED.value:
        raise ValidationFailed(f"refund check {row.check_number}",
                               [("status", f"is {row.status}")])
    row.status = CheckStatus.CLEARED.value
    row.cleared_on = on or date.today()
    audit.record(work.session, actor=work.actor, action="refund_check.clear",
                 entity_type="refund_check", entity_id=row.id)
    return _check(row, _account(work, row.patient_id))


def void_check(work: UnitOfWork, check_number: str, reason: str, *,
               on: date | None = None) -> RefundCheck:
    """Void an issued check (lost, never cashed, written wrong): the money never left, so the
    credit it refunded is back on the account, where it was (each payment's credit, each
    claim's), by one posting that takes the refunds back.

    :raises NotFound: no such check. :raises ValidationFailed: no reason, or the check is
        not ``issued`` (a cleared check was paid: the money left).
    """
    work.require(Action.PAYMENTS_REFUND)
    row = _check_row(work, check_number)
    record = f"refund check {row.check_number}"
    why = stated_reason(record, reason)
    if row.status != CheckStatus.ISSUED.value:
        raise ValidationFailed(record, [("status", f"is {row.status}; only an issued check "
                                                   "can be voided")])
    day = on or date.today()
    lines = []
    for source in row.sources:
        part = to_money(Decimal(source["amount"]))
        if "payment_id" in source:
            payment = work.session.get(PaymentRow, source["payment_id"])
            if payment is None:  # pragma: no cover - payments are never deleted
                raise LedgerError(f"{record}: its payment is gone")
            # a payment reversed since (its check returned) had its credit taken back with
            # it: the voided refund lowers what the patient owes (the posting below), it does
            # not make the reversed payment a credit again
            if payment.reversed_on is None:
                payment.unapplied = payment.unapplied + part
            payment.refunded = payment.refunded - part
            lines.append(LedgerLine(EntryKind.REFUND, -part, patient_id=row.patient_id,
                                    bucket=Bucket.PATIENT))
        else:
            lines.append(LedgerLine(EntryKind.REFUND, -part, patient_id=row.patient_id,
                                    claim_id=source["claim_id"], bucket=Bucket.PATIENT))
    work.ledger.post(f"refund_check:{row.id}:void", "refund_check_void", lines,
                     effective_date=day, memo=f"refund check {row.check_number} voided",
                     allow_credit=True, undoes_refund=True)
    row.status = CheckStatus.VOID.value
    row.voided_on = day
    row.void_reason = why
    row.voided_by = work.actor
    audit.record(work.session, actor=work.actor, action="refund_check.void",
                 entity_type="refund_check", entity_id=row.id,
                 details={"amount": str(row.amount)})
    return _check(row, _account(work, row.patient_id))


def list_checks(work: UnitOfWork, *, status: CheckStatus | None = None,
                patient_id: int | None = None, after: tuple[date, int] | None = None,
                limit: int | None = None) -> list[RefundCheck]:
    """The check register, by issue date then id (at most ``limit`` after the check
    ``after`` = (issued_on, id): the API's keyset pages; without them, every check).

    Issue date first, not id, because the register is read against the bank statement,
    which lists checks by date; a check recorded late with an earlier date takes its place
    among that day's, as it does on paper."""
    work.require(Action.PAYMENTS_READ)
    query = (select(RefundCheckRow, PatientRow.account_number)
             .join(PatientRow, PatientRow.id == RefundCheckRow.patient_id)
             .order_by(RefundCheckRow.issued_on, RefundCheckRow.id).limit(limit))
    if after is not None:
        query = query.where(tuple_(RefundCheckRow.issued_on, RefundCheckRow.id) > tuple_(*after))
    if status is not None:
        query = query.where(RefundCheckRow.status == status.value)
    if patient_id is not None:
        query = query.where(RefundCheckRow.patient_id == patient_id)
    return [_check(row, account) for row, account in work.session.execute(query)]


# -- hold ---------------------------------------------------------------------------------

def hold_credit(work: UnitOfWork, patient_id: int, reason: str, *,
                on: date | None = None) -> int:
    """Keep the patient's credit on the account, with why; returns the hold's id.

    :raises ValidationFailed: no reason, or a hold is already in place."""
    work.require(Action.PAYMENTS_POST)
    work.patients.get(patient_id)  # NotFound: no such patient
    why = stated_reason(f"patient {patient_id}", reason)
    if active_hold(work, patient_id) is not None:
        raise ValidationFailed(f"patient {patient_id}", [("credit", "is already on hold")])
    row = CreditHoldRow(patient_id=patient_id, reason=why, held_on=on or date.today(),
                        actor=work.actor)
    work.session.add(row)
    work.session.flush()
    audit.record(work.session, actor=work.actor, action="credit.hold", entity_type="patient",
                 entity_id=patient_id, details={"hold_id": row.id})
    return row.id


def release_hold(work: UnitOfWork, patient_id: int, *, on: date | None = None) -> None:
    """:raises ValidationFailed: the credit is not on hold."""
    work.require(Action.PAYMENTS_POST)
    row = active_hold(work, patient_id)
    if row is None:
        work.patients.get(patient_id)  # NotFound: no such patient
        raise ValidationFailed(f"patient {patient_id}", [("credit", "is not on hold")])
    row.released_on = on or date.today()
    row.released_by = work.actor
    audit.record(work.session, actor=work.actor, action="credit.release",
                 entity_type="patient", entity_id=patient_id, details={"hold_id": row.id})


# -- apply to the family ------------------------------------------------------------------

@dataclass(frozen=True)
class FamilyApplication:
    #: claim id (of the other patient) -> amount applied
    applied: dict[int, Decimal]
    #: the source patient's credit left
    credit_left: Decimal


def apply_credit_to_family(work: UnitOfWork, patient_id: int, to_patient_id: int, *,
                           on: date | None = None) -> FamilyApplication:
    """Move a patient's credit onto another family member's open balances (same guarantor),
    oldest service first: the payments' credits (posted as those payments' own applications,
    ``credit:payment:ID:n``, so a returned payment later takes them back from the other
    account too), then the claims' credits.

    :raises ValidationFailed: not the same family, the same patient, or the credit is held.
    :raises LedgerError: no credit, or the other patient owes nothing.
    """
    work.require(Action.PAYMENTS_POST)
    source = work.patients.get(patient_id)
    target = work.patients.get(to_patient_id)
    record = f"patient {patient_id}"
    if patient_id == to_patient_id:
        raise ValidationFailed(record, [("to", "is the same account: use payments "
                                               "apply-credit")])
    if source.guarantor_id is None or source.guarantor_id != target.guarantor_id:
        raise ValidationFailed(record, [("to", f"patient {to_patient_id} is not in "
                                               "the same family (no shared guarantor)")])
    refuse_held_credit(work, patient_id)
    owed = dict(patient_claim_balances(work, to_patient_id))
    if not owed:
        raise LedgerError(f"apply credit: patient {to_patient_id} owes nothing")
    payments = list(work.session.scalars(
        select(PaymentRow).where(PaymentRow.patient_id == patient_id,
                                 PaymentRow.reversed_on.is_(None),
                                 PaymentRow.unapplied > ZERO)
        .order_by(PaymentRow.received_on, PaymentRow.id)))
    on_claims = claim_credits(work, patient_id)
    if not payments and not on_claims:
        raise LedgerError(f"apply credit: patient {patient_id} has no credit")
    day = on or date.today()
    applied: dict[int, Decimal] = {}
    sources: list[tuple[str, Decimal, int | None, PaymentRow | None]] = [
        (f"credit:payment:{p.id}:", p.unapplied, None, p) for p in payments]
    sources += [(f"credit:claim:{claim_id}:", credit, claim_id, None)
                for claim_id, credit in on_claims]
    for prefix, available, source_claim, payment in sources:
        lines = []
        for claim_id, balance in owed.items():
            part = min(available, balance)
            if part <= ZERO:
                continue
            lines.append(LedgerLine(EntryKind.PATIENT_PAYMENT, part, patient_id=to_patient_id,
                                    claim_id=claim_id))
            owed[claim_id] = balance - part
            applied[claim_id] = applied.get(claim_id, ZERO) + part
            available -= part
        if not lines:
            break
        moved = sum((line.amount for line in lines), ZERO)
        lines.append(LedgerLine(EntryKind.PATIENT_PAYMENT, -moved, patient_id=patient_id,
                                claim_id=source_claim))
        sequence = work.ledger.next_in_family(prefix)
        work.ledger.post(f"{prefix}{sequence}", "credit_applied", lines, effective_date=day,
                         memo="family credit applied", moves_payments=True)
        if payment is not None:
            payment.unapplied = payment.unapplied - moved
    audit.record(work.session, actor=work.actor, action="credit.apply_family",
                 entity_type="patient", entity_id=patient_id,
                 details={"to_patient_id": to_patient_id, "claims": sorted(applied),
                          "amount": str(sum(applied.values(), ZERO))})
    settle_patient_claims(work, applied, "family credit applied")
    left = credit_balances(work, as_of=day, patient_id=patient_id)
    return FamilyApplication(applied, left[0].credit if left else ZERO)

