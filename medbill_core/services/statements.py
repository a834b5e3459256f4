"""Patient statements from the ledger, statement runs, and the collections work list.

A statement run picks accounts with a patient balance of at least the minimum,
skips accounts on hold and accounts with a claim still pending at a payer, and
never produces two statements for the same patient and cycle: each statement is
recorded in its own transaction under a unique (patient, cycle), so a run that
crashed midway resumes where it stopped when started again.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

from medbill_core import audit
from medbill_core.app import Medbill, UnitOfWork
from medbill_core.domain import Aging, Statement, StatementLine
from medbill_core.ledger import EntryKind
from medbill_core.lifecycle import PENDING_AT_PAYER
from medbill_core.money import ZERO, to_money
from medbill_core.privatefiles import private_dir, write_private
from medbill_core.storage.schema import (
    ClaimLineRow,
    ClaimRow,
    LedgerEntryRow,
    PatientRow,
    PaymentPlanRow,
    StatementRow,
)

DUNNING_MESSAGES = {
    0: "Thank you for choosing our practice. This is your balance after insurance.",
    1: "Friendly reminder: your balance is past due. Please pay or call us to set up a plan.",
    2: "Your account is 60 days past due. Please pay now or call us today.",
    3: "Your account is 90 days past due. Please contact our billing office immediately.",
    4: "FINAL NOTICE: unless paid or arranged within 10 days, this account may be referred "
       "to collections.",
}
_INSURANCE_ADJUSTMENTS = {EntryKind.CONTRACTUAL_ADJUSTMENT.value}


def _claim_line(claim: ClaimRow, entries: list[LedgerEntryRow],
                codes: list[str]) -> StatementLine:
    charge = paid = adjusted = patient_paid = balance = ZERO
    for entry in entries:
        if entry.kind == EntryKind.CHARGE.value:
            charge += entry.amount
        elif entry.kind == EntryKind.PAYER_PAYMENT.value:
            paid += entry.amount
        elif entry.kind in _INSURANCE_ADJUSTMENTS:
            adjusted += entry.amount
        elif entry.kind == EntryKind.PATIENT_PAYMENT.value:
            patient_paid += entry.amount
        balance += entry.patient_delta
    description = "Services: " + ", ".join(codes) if codes else "Services"
    return StatementLine(service_date=claim.service_date_from, claim_number=claim.claim_number,
                         procedure_code=codes[0] if codes else None, description=description[:80],
                         charge=charge, insurance_paid=paid, insurance_adjusted=adjusted,
                         patient_paid=patient_paid, balance=balance)


def _bucket(days: int) -> str:
    if days < 30:
        return "current"
    if days < 60:
        return "days_30"
    if days < 90:
        return "days_60"
    return "days_90_plus"


def dunning_stage(oldest_days: int) -> int:
    """0 current, 1 at 30 days, 2 at 60, 3 at 90, 4 (final notice) at 120 days or more."""
    return min(4, max(0, oldest_days // 30))


def build_statement(work: UnitOfWork, patient_id: int, *, statement_date: date,
                    cycle: str, due_days: int = 21) -> Statement:
    """A statement of every claim the patient still owes on (and any credit), from the ledger."""
    return _statement_and_age(work, patient_id, statement_date, cycle, due_days)[0]


def _statement_and_age(work: UnitOfWork, patient_id: int, statement_date: date, cycle: str,
                       due_days: int) -> tuple[Statement, int]:
    patient = work.patients.get(patient_id)
    entries = list(work.session.scalars(select(LedgerEntryRow).where(
        LedgerEntryRow.patient_id == patient_id).order_by(LedgerEntryRow.id)))
    by_claim: dict[int | None, list[LedgerEntryRow]] = defaultdict(list)
    for entry in entries:
        by_claim[entry.claim_id].append(entry)
    lines: list[StatementLine] = []
    aging: dict[str, Decimal] = defaultdict(lambda: ZERO)
    oldest = 0
    for claim_id, claim_entries in by_claim.items():
        balance = sum((e.patient_delta for e in claim_entries), ZERO)
        if claim_id is None:
            if balance:
                lines.append(StatementLine(service_date=statement_date,
                                           description="Payments not yet applied (credit)",
                                           patient_paid=-balance, balance=balance))
                aging["current"] += balance
            continue
        if balance == ZERO:
            continue
        claim = work.session.get(ClaimRow, claim_id)
        codes = list(work.session.scalars(select(ClaimLineRow.procedure_code).where(
            ClaimLineRow.claim_id == claim_id).order_by(ClaimLineRow.line_number)))
        lines.append(_claim_line(claim, claim_entries, codes))
        # age from when the patient first became responsible for this claim
        since = min((e.effective_date for e in claim_entries if e.patient_delta > 0),
                    default=claim.service_date_from)
        days = (statement_date - since).days
        oldest = max(oldest, days)
        aging[_bucket(days)] += balance
    lines.sort(key=lambda line: (line.service_date, line.claim_number or ""))
    balance_due = sum((line.balance for line in lines), ZERO)
    stage = dunning_stage(oldest)
    practice = work.app.config.require_practice()
    statement = Statement(
        statement_number=f"{cycle}-P{patient_id:07d}", practice=practice,  # no identifiers
        remit_to=practice.pay_to_address or practice.address, patient=patient,
        account_number=patient.account_number, statement_date=statement_date,
        due_date=statement_date + timedelta(days=due_days), cycle=cycle, lines=lines,
        balance_due=balance_due, aging=Aging(**{k: to_money(v) for k, v in aging.items()}),
        dunning_stage=stage, message=DUNNING_MESSAGES[stage])
    return statement, oldest


@dataclass
class StatementRunResult:
    cycle: str
    produced: list[str] = field(default_factory=list)
    already_done: list[str] = field(default_factory=list)
    skipped: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    files: list[Path] = field(default_factory=list)


def candidates(work: UnitOfWork, minimum: Decimal) -> list[int]:
    """Patients whose patient balance is at least ``minimum``."""
    rows = work.session.execute(
        select(LedgerEntryRow.patient_id, func.sum(LedgerEntryRow.patient_delta))
        .group_by(LedgerEntryRow.patient_id).order_by(LedgerEntryRow.patient_id)).all()
    return [patient_id for patient_id, total in rows if to_money(total) >= minimum]


def run_statements(app: Medbill, *, cycle: str, out_dir: Path, renderer: str = "pdf",
                   minimum: Decimal = Decimal("5.00"), statement_date: date | None = None,
                   limit: int | None = None) -> StatementRunResult:
    """Produce this cycle's statements into ``out_dir`` (see the module docstring)."""
    when = statement_date or date.today()
    result = StatementRunResult(cycle)
    private_dir(out_dir)
    with app.unit_of_work() as work:
        patient_ids = candidates(work, minimum)
        done = set(work.session.scalars(select(StatementRow.patient_id).where(
            StatementRow.cycle == cycle)))
        pending = set(work.session.scalars(select(ClaimRow.patient_id).where(
            ClaimRow.state.in_([state.value for state in PENDING_AT_PAYER]))))
        holds = set(work.session.scalars(select(PatientRow.id).where(
            PatientRow.statement_hold.is_(True))))
    for patient_id in patient_ids:
        if limit is not None and len(result.produced) >= limit:
            break
        label = str(patient_id)
        if patient_id in done:
            result.already_done.append(label)
            continue
        if patient_id in holds:
            result.skipped["on hold"].append(label)
            continue
        if patient_id in pending:
            result.skipped["claim pending at a payer"].append(label)
            continue
        with app.unit_of_work() as work:
            statement = build_statement(work, patient_id, statement_date=when, cycle=cycle)
            document = app.hooks.render_statement(statement=statement, renderer=renderer)
            path = out_dir / document.filename
            write_private(path, document.content)
            row = StatementRow(
                statement_number=statement.statement_number, patient_id=patient_id,
                cycle=cycle, statement_date=when, due_date=statement.due_date,
                balance_due=statement.balance_due, dunning_stage=statement.dunning_stage,
                renderer=renderer, filename=document.filename,
                content_sha256=hashlib.sha256(document.content).hexdigest(), status="rendered")
            work.session.add(row)
            work.session.flush()
            audit.record(work.session, actor=work.actor, action="statement.produce",
                         entity_type="statement", entity_id=row.id,
                         details={"patient_id": patient_id, "cycle": cycle,
                                  "renderer": renderer})
        result.produced.append(statement.statement_number)
        result.files.append(path)
    return result


@dataclass(frozen=True)
class CollectionsItem:
    patient_id: int
    account_number: str
    balance: Decimal
    oldest_days: int
    stage: int
    statements_sent: int
    on_plan: bool


def collections_worklist(work: UnitOfWork, *, as_of: date | None = None,
                         minimum: Decimal = Decimal("0.01")) -> list[CollectionsItem]:
    """Patients owing money, most overdue first, with their dunning stage (30/60/90/120)."""
    today = as_of or date.today()
    items = []
    plans = set(work.session.scalars(select(PaymentPlanRow.patient_id).where(
        PaymentPlanRow.status == "active")))
    for patient_id in candidates(work, minimum):
        statement, oldest = _statement_and_age(work, patient_id, today, "worklist", 21)
        sent = work.session.scalar(select(func.count()).select_from(StatementRow).where(
            StatementRow.patient_id == patient_id)) or 0
        items.append(CollectionsItem(patient_id, statement.account_number,
                                     statement.balance_due, oldest, statement.dunning_stage,
                                     sent, patient_id in plans))
    return sorted(items, key=lambda item: (-item.stage, -item.balance))
