"""Patient payments and payment plans.

A payment is applied to the patient's claim balances oldest service first, or to
one chosen claim. What is left over needs a decision: keep it as a **credit** on
the account, or **refund** it; without one, a payment larger than the balance is
refused and nothing is written.

A payment plan spreads a balance over installments that add up exactly to its
total (the last installment absorbs the rounding). Payments count towards the
oldest unpaid installments; an installment past due and not fully paid is missed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import func, select

from medbill_core import audit
from medbill_core.app import UnitOfWork
from medbill_core.domain import (
    Installment,
    Payment,
    PaymentPlan,
    PlanFrequency,
    validate_record,
)
from medbill_core.errors import LedgerError, NotFound, ValidationFailed
from medbill_core.ledger import Bucket, EntryKind, LedgerLine
from medbill_core.money import CENT, ZERO, to_money
from medbill_core.storage.schema import (
    ClaimRow,
    InstallmentRow,
    LedgerEntryRow,
    PaymentPlanRow,
    PaymentRow,
)


class Overpayment(StrEnum):
    CREDIT = "credit"
    REFUND = "refund"


@dataclass(frozen=True)
class PaymentResult:
    payment_id: int
    applied: dict[int, Decimal]
    credit: Decimal
    refunded: Decimal


def patient_claim_balances(work: UnitOfWork, patient_id: int) -> list[tuple[int, Decimal]]:
    """(claim id, patient balance) of claims the patient owes on, oldest service first."""
    rows = work.session.execute(
        select(LedgerEntryRow.claim_id, func.sum(LedgerEntryRow.patient_delta))
        .join(ClaimRow, ClaimRow.id == LedgerEntryRow.claim_id)
        .where(LedgerEntryRow.patient_id == patient_id, LedgerEntryRow.claim_id.is_not(None))
        .group_by(LedgerEntryRow.claim_id, ClaimRow.service_date_from)
        .order_by(ClaimRow.service_date_from, LedgerEntryRow.claim_id)).all()
    return [(claim_id, to_money(balance)) for claim_id, balance in rows if balance > 0]


def record_payment(work: UnitOfWork, payment: Payment, *,
                   overpayment: Overpayment | None = None) -> PaymentResult:
    """Record and apply a patient payment (see the module docstring for the rules).

    :raises LedgerError: the payment exceeds what is owed and no overpayment decision
        was given, or it names a claim of another patient.
    """
    work.patients.get(payment.patient_id)
    balances = patient_claim_balances(work, payment.patient_id)
    if payment.claim_id is not None:
        balances = [(cid, bal) for cid, bal in balances if cid == payment.claim_id]
        claim = work.session.get(ClaimRow, payment.claim_id)
        if claim is None or claim.patient_id != payment.patient_id:
            raise LedgerError(f"payment: claim {payment.claim_id} is not a claim of patient "
                              f"{payment.patient_id}")
    owed = sum((bal for _, bal in balances), ZERO)
    remaining = payment.amount
    if remaining > owed and overpayment is None:
        raise LedgerError(f"payment of {payment.amount} exceeds the {owed} owed"
                          + (f" on claim {payment.claim_id}" if payment.claim_id else "")
                          + "; decide: keep the rest as a credit or refund it")
    row = PaymentRow(patient_id=payment.patient_id, amount=payment.amount,
                     method=payment.method.value, reference=payment.reference,
                     received_on=payment.received_on, unapplied=ZERO, refunded=ZERO)
    work.session.add(row)
    work.session.flush()
    lines: list[LedgerLine] = []
    applied: dict[int, Decimal] = {}
    for claim_id, balance in balances:
        if remaining <= ZERO:
            break
        amount = min(balance, remaining)
        lines.append(LedgerLine(EntryKind.PATIENT_PAYMENT, amount,
                                patient_id=payment.patient_id, claim_id=claim_id))
        applied[claim_id] = amount
        remaining -= amount
    credit = refunded = ZERO
    if remaining > ZERO:
        lines.append(LedgerLine(EntryKind.PATIENT_PAYMENT, remaining,
                                patient_id=payment.patient_id))
        if overpayment is Overpayment.REFUND:
            lines.append(LedgerLine(EntryKind.REFUND, remaining, patient_id=payment.patient_id,
                                    bucket=Bucket.PATIENT))
            refunded = remaining
        else:
            credit = remaining
    posting = work.ledger.post(f"payment:{row.id}", "patient_payment", lines,
                               effective_date=payment.received_on,
                               memo=f"{payment.method.value} payment",
                               allow_credit=credit > ZERO)
    row.posting_id = posting.posting_id
    row.unapplied = credit
    row.refunded = refunded
    audit.record(work.session, actor=work.actor, action="payment.record", entity_type="payment",
                 entity_id=row.id, details={"patient_id": payment.patient_id,
                                            "claims": sorted(applied), "method": row.method})
    _credit_installments(work, payment.patient_id, payment.amount - refunded)
    return PaymentResult(row.id, applied, credit, refunded)


# -- payment plans -------------------------------------------------------------------------

_STEP = {PlanFrequency.WEEKLY: 7, PlanFrequency.BIWEEKLY: 14}


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
    total = to_money(total)
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
             frequency: PlanFrequency = PlanFrequency.MONTHLY) -> PaymentPlan:
    """Schedule ``total`` in ``count`` installments from ``start`` and store the plan.

    :raises ValidationFailed: the total is not positive, too small for ``count`` cents, more
        than the patient owes, or the patient already has an active plan.
    """
    installments = schedule(total, count, start, frequency)
    plan = validate_record(PaymentPlan, {
        "patient_id": patient_id, "total_amount": total, "start_date": start,
        "frequency": frequency, "installments": installments}, record="payment plan")
    return create_plan(work, plan)


def create_plan(work: UnitOfWork, plan: PaymentPlan) -> PaymentPlan:
    """Store a plan. Its total may not exceed what the patient owes; one active plan each."""
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


def _plan_from_row(row: PaymentPlanRow) -> PaymentPlan:
    return PaymentPlan.model_construct(
        id=row.id, patient_id=row.patient_id, total_amount=row.total_amount,
        start_date=row.start_date, frequency=PlanFrequency(row.frequency),
        installments=[Installment.model_construct(due_date=i.due_date, amount=i.amount,
                                                  paid_amount=i.paid_amount)
                      for i in row.installments])


def _credit_installments(work: UnitOfWork, patient_id: int, amount: Decimal) -> None:
    plan = work.session.scalar(select(PaymentPlanRow).where(
        PaymentPlanRow.patient_id == patient_id, PaymentPlanRow.status == "active"))
    if plan is None:
        return
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


@dataclass(frozen=True)
class MissedInstallment:
    plan_id: int
    patient_id: int
    sequence: int
    due_date: date
    amount_due: Decimal
    days_late: int


def missed_installments(work: UnitOfWork, *, as_of: date | None = None,
                        grace_days: int = 5) -> list[MissedInstallment]:
    """Installments of active plans more than ``grace_days`` past due and not fully paid."""
    today = as_of or date.today()
    result = []
    for plan in work.session.scalars(select(PaymentPlanRow).where(
            PaymentPlanRow.status == "active").order_by(PaymentPlanRow.id)):
        for inst in plan.installments:
            late = (today - inst.due_date).days
            if late > grace_days and inst.paid_amount < inst.amount:
                result.append(MissedInstallment(plan.id, plan.patient_id, inst.sequence,
                                                inst.due_date, inst.amount - inst.paid_amount,
                                                late))
    return result


def plan(work: UnitOfWork, plan_id: int) -> PaymentPlan:
    row = work.session.get(PaymentPlanRow, plan_id)
    if row is None:
        raise NotFound("payment plan", plan_id)
    return _plan_from_row(row)
