"""Patient statements from the ledger, statement runs, and the collections work list.

A statement is addressed to the guarantor (the patient, a parent, another person; see
:mod:`medbill_core.services.guarantors`); patients sharing a guarantor get one family
statement with a section per patient. A statement run picks guarantors whose patients owe at
least the minimum together, leaves out patients on hold and patients with a claim still
pending at a payer, and never produces two statements for the same patient and cycle: each
statement is recorded in its own transaction under a unique (patient, cycle), so a run that
crashed midway resumes where it stopped when started again. A guarantor gets at most one
statement a day (two cycles run the same day would send two letters) unless ``force``.

Each line says what the services were in words (the claim line's own description, else the
HCPCS description, else the CPT descriptor when the practice loaded its licensed CPT file)
and why the patient owes, from the payer's 835 PR adjustments (PR-1 deductible, PR-2
coinsurance, PR-3 copay, PR-66 blood deductible, PR-100 paid to the patient, PR-119 benefit
maximum, PR-242 out of network; any other PR reason: not covered).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from medbill_core import audit
from medbill_core.app import Medbill, UnitOfWork
from medbill_core.codesets.formats import CPT_RE
from medbill_core.domain import (
    Aging,
    ClaimState,
    ClaimStatusCode,
    GuarantorRelationship,
    OweReason,
    Patient,
    Statement,
    StatementLine,
    StatementSection,
)
from medbill_core.ledger import EntryKind
from medbill_core.lifecycle import PENDING_AT_PAYER
from medbill_core.money import ZERO, to_money
from medbill_core.privatefiles import private_dir, publish_after
from medbill_core.services.aging import days_old, dunning_stage, statement_column
from medbill_core.services.guarantors import (
    GuarantorService,
    guarantor_key,
    guarantor_number,
)
from medbill_core.storage.schema import (
    ClaimAdjudicationRow,
    ClaimLineRow,
    ClaimRow,
    LedgerEntryRow,
    PatientRow,
    PaymentPlanRow,
    StatementRow,
)

#: Extra words per dunning stage; stage 0 has none: the renderer's notice already thanks the
#: patient, and one "thank you" is enough.
DUNNING_MESSAGES: dict[int, str | None] = {
    0: None,
    # the renderer's notice titles the reminder: the words here add the age of the balance
    1: "Your balance is more than 30 days old. Please pay or call us to set up a plan.",
    2: "Your account is 60 days past due. Please pay now or call us today.",
    3: "Your account is 90 days past due. Please contact our billing office immediately.",
    4: "FINAL NOTICE: unless paid or arranged within 10 days, this account may be referred "
       "to collections.",
}
_INSURANCE_ADJUSTMENTS = {EntryKind.CONTRACTUAL_ADJUSTMENT.value}
#: CARC of a PR (patient responsibility) adjustment -> the reason a patient reads.
#: A code not listed reads "not covered" (PR-96, PR-204 ...), which is what most other PR
#: codes mean to a patient; those listed would be wrong that way.
PR_REASONS = {"1": "Deductible", "2": "Coinsurance", "3": "Copay",
              "66": "Blood deductible",
              "100": "Your plan paid you for this service",
              "119": "Your plan's benefit maximum was reached",
              "242": "Provider outside your plan's network"}
NOT_COVERED = "Not covered by your plan"
DESCRIPTION_LIMIT = 200


def describe_procedure(code: str, on: date | None = None) -> str | None:
    """The procedure in words: HCPCS Level II from the packaged table, CPT only when the
    practice loaded licensed descriptors (``medbill codes load cpt``); ``None`` otherwise."""
    from medbill_core.codesets.registry import default_codesets

    codesets = default_codesets()
    try:
        verdict = codesets.cpt(code, on) if CPT_RE.match(code) else codesets.hcpcs(code, on)
    except Exception:  # a broken user code file must not stop the statements
        return None
    info = verdict.info
    if info is None or info.format_only or not info.description:
        return None
    return info.description


def _service_words(lines: Sequence[ClaimLineRow], on: date) -> str:
    words: list[str] = []
    several = len({line.procedure_code for line in lines}) > 1
    for line in lines:
        text = line.description or describe_procedure(line.procedure_code, on)
        if not text:
            words.append(f"Medical service, code {line.procedure_code}")
        else:  # the code column shows one code: name each when there are several
            words.append(f"{text} ({line.procedure_code})" if several else text)
    described = "; ".join(dict.fromkeys(words)) or "Services"
    if len(described) > DESCRIPTION_LIMIT:
        described = described[:DESCRIPTION_LIMIT - 3].rstrip() + "..."
    return described


def patient_reason(carc: str) -> str:
    """Why a patient owes a PR adjustment, in the words a statement prints: ``"2"`` ->
    ``"Coinsurance"``; a code not listed in :data:`PR_REASONS` -> ``"Not covered by your
    plan"``."""
    return PR_REASONS.get(carc.strip().upper(), NOT_COVERED)


def owe_reasons(work: UnitOfWork, claim_id: int) -> list[OweReason]:
    """Why the patient owes on this claim, from its latest 835 answer that is no reversal."""
    answer = work.session.scalar(
        select(ClaimAdjudicationRow)
        .where(or_(ClaimAdjudicationRow.account_claim_id == claim_id,
                   ClaimAdjudicationRow.claim_id == claim_id),
               ClaimAdjudicationRow.claim_status != ClaimStatusCode.REVERSAL.value)
        .order_by(ClaimAdjudicationRow.id.desc()).limit(1))
    if answer is None:
        return []
    amounts: dict[str, Decimal] = {}
    for adjustment in answer.adjustments:
        if adjustment.get("group_code") != "PR":
            continue
        reason = patient_reason(str(adjustment.get("reason_code")))
        amounts[reason] = amounts.get(reason, ZERO) + to_money(str(adjustment["amount"]))
    return [OweReason(reason=reason, amount=amount) for reason, amount in amounts.items()
            if amount > 0]


def _claim_line(work: UnitOfWork, claim: ClaimRow, entries: list[LedgerEntryRow]
                ) -> StatementLine:
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
    lines = list(work.session.scalars(select(ClaimLineRow).where(
        ClaimLineRow.claim_id == claim.id).order_by(ClaimLineRow.line_number)))
    codes = [line.procedure_code for line in lines]
    return StatementLine(service_date=claim.service_date_from, claim_number=claim.claim_number,
                         procedure_code=codes[0] if codes else None,
                         description=_service_words(lines, claim.service_date_from),
                         charge=charge, insurance_paid=paid, insurance_adjusted=adjusted,
                         patient_paid=patient_paid, balance=balance,
                         why=owe_reasons(work, claim.id))


#: What each dunning stage means, for the people working the collections list.
DUNNING_STAGE_NAMES: dict[int, str] = {
    0: "current",
    1: "30+ days: reminder",
    2: "60+ days past due",
    3: "90+ days past due",
    4: "120+ days: final notice",
}


def dunning_stage_name(stage: int) -> str:
    """``2`` -> ``"60+ days past due"``."""
    return DUNNING_STAGE_NAMES.get(stage, f"stage {stage}")


def build_statement(work: UnitOfWork, patient_id: int, *, statement_date: date,
                    cycle: str, due_days: int = 21,
                    family: Sequence[int] | None = None) -> Statement:
    """A statement of every claim the patient still owes on (and any credit), from the ledger.

    :param family: the patients (``patient_id`` first) sharing the guarantor whose balances go
        on this one statement, a section each; default: the patient alone.
    """
    return _statement_and_age(work, patient_id, statement_date, cycle, due_days,
                              family)[0]


ON_HOLD_VOIDED = "On hold: claim voided, waiting for the payer"
RETURNED_FEE = "Returned payment fee"
OWED_BACK = "Refund repaid on a returned payment (owed back)"
CREDIT = "Payments not yet applied (credit)"
#: a void request in these states waits no more (answered and closed, or abandoned)
_CLOSED_REQUEST_STATES = tuple(state.value for state in (
    ClaimState.CLOSED, ClaimState.DELETED, ClaimState.VOIDED, ClaimState.REPLACED))


def voided_accounts(work: UnitOfWork) -> set[int]:
    """Claim accounts whose void (frequency 8) waits for the payer's reversal: what the
    patient owes there is held off statements until the reversal settles the account."""
    return {account or original for account, original in work.session.execute(
        select(ClaimRow.account_claim_id, ClaimRow.replaces_claim_id).where(
            ClaimRow.frequency == "8", ClaimRow.replaces_claim_id.is_not(None),
            ClaimRow.state.not_in(_CLOSED_REQUEST_STATES))) if original is not None}


def held_balances(work: UnitOfWork) -> dict[int, Decimal]:
    """Patient id -> the patient balance held on claim accounts waiting for a void."""
    held = voided_accounts(work)
    if not held:
        return {}
    rows = work.session.execute(
        select(LedgerEntryRow.patient_id, func.sum(LedgerEntryRow.patient_delta))
        .where(LedgerEntryRow.claim_id.in_(held))
        .group_by(LedgerEntryRow.patient_id)).all()
    return {patient_id: to_money(total) for patient_id, total in rows if total}


def _account_lines(entries: list[LedgerEntryRow], statement_date: date
                   ) -> list[tuple[StatementLine, date]]:
    """What the account owes or holds on no claim, as the patient should read it: a
    returned-payment fee and money refunded from a payment that came back are owed (charges),
    only what payments left beyond them is a credit. Each line with the day it is aged from."""
    fees = sum((e.patient_delta for e in entries if e.kind == EntryKind.CHARGE.value), ZERO)
    moved = sum((e.patient_delta for e in entries if e.kind != EntryKind.CHARGE.value), ZERO)
    owed_back, paid = max(moved, ZERO), max(-moved, ZERO)
    fee_paid = min(max(fees, ZERO), paid)
    credit = paid - fee_paid

    def since(kind_is_fee: bool) -> date:
        return min((e.effective_date for e in entries if e.patient_delta > 0
                    and (e.kind == EntryKind.CHARGE.value) == kind_is_fee),
                   default=statement_date)

    lines = []
    if fees - fee_paid:
        lines.append((StatementLine(service_date=since(True), description=RETURNED_FEE,
                                    charge=fees, patient_paid=fee_paid,
                                    balance=fees - fee_paid), since(True)))
    if owed_back:
        lines.append((StatementLine(service_date=since(False), description=OWED_BACK,
                                    charge=owed_back, balance=owed_back), since(False)))
    if credit:
        lines.append((StatementLine(service_date=statement_date, description=CREDIT,
                                    patient_paid=credit, balance=-credit), statement_date))
    return lines


def _section(work: UnitOfWork, patient: Patient, statement_date: date,
             aging: dict[str, Decimal], held: set[int] | None = None
             ) -> tuple[StatementSection, int]:
    entries = list(work.session.scalars(select(LedgerEntryRow).where(
        LedgerEntryRow.patient_id == patient.id).order_by(LedgerEntryRow.id)))
    by_claim: dict[int | None, list[LedgerEntryRow]] = defaultdict(list)
    for entry in entries:
        by_claim[entry.claim_id].append(entry)
    held = voided_accounts(work) if held is None else held
    lines: list[StatementLine] = []
    oldest = 0
    for claim_id, claim_entries in by_claim.items():
        balance = sum((e.patient_delta for e in claim_entries), ZERO)
        if claim_id is None:
            for line, since in _account_lines(claim_entries, statement_date):
                lines.append(line)
                days = days_old(since, statement_date)
                if line.balance > ZERO:
                    oldest = max(oldest, days)
                aging[statement_column(days) if line.balance > ZERO else "current"] += \
                    line.balance
            continue
        if balance == ZERO:
            continue
        claim = work.session.get_one(ClaimRow, claim_id)
        line = _claim_line(work, claim, claim_entries)
        if claim_id in held:
            # shown, not billed: the payer's reversal will settle what the patient owes here
            lines.append(line.model_copy(update={
                "description": f"{ON_HOLD_VOIDED} ({balance} not billed now)",
                "balance": ZERO}))
            continue
        lines.append(line)
        # age from when the patient first became responsible for this claim
        since = min((e.effective_date for e in claim_entries if e.patient_delta > 0),
                    default=claim.service_date_from)
        days = days_old(since, statement_date)
        oldest = max(oldest, days)
        aging[statement_column(days)] += balance
    lines.sort(key=lambda line: (line.service_date, line.claim_number or ""))
    return StatementSection(patient=patient, account_number=patient.account_number, lines=lines,
                            balance_due=sum((line.balance for line in lines), ZERO)), oldest


def _statement_and_age(work: UnitOfWork, patient_id: int, statement_date: date, cycle: str,
                       due_days: int, family: Sequence[int] | None = None
                       ) -> tuple[Statement, int]:
    ids = [patient_id, *(i for i in (family or ()) if i != patient_id)]
    aging: dict[str, Decimal] = defaultdict(lambda: ZERO)
    sections: list[StatementSection] = []
    oldest = 0
    held = voided_accounts(work)
    for member in ids:
        section, days = _section(work, work.patients.get(member), statement_date, aging, held)
        sections.append(section)
        oldest = max(oldest, days)
    patient = sections[0].patient
    guarantor = GuarantorService(work.session, actor=work.actor).responsible_for(patient)
    someone_else = (patient.guarantor_id is not None
                    and patient.guarantor_relationship is not GuarantorRelationship.SELF)
    lines = [line for section in sections for line in section.lines]
    balance_due = sum((line.balance for line in lines), ZERO)
    stage = dunning_stage(oldest)
    practice = work.app.config.require_practice()
    key = guarantor_key(patient)
    number = (f"{cycle}-{key[0]}{int(key[1:]):07d}" if len(ids) > 1 or key[0] == "G"
              else f"{cycle}-P{patient_id:07d}")  # no identifiers
    statement = Statement(
        statement_number=number, practice=practice,
        remit_to=practice.pay_to_address or practice.address, patient=patient,
        guarantor_name=guarantor.display_name if someone_else else None, guarantor=guarantor,
        sections=sections if len(sections) > 1 else [],
        # a family's statement is paid as one: its coupon carries the guarantor's number,
        # which ``payments record --guarantor`` takes (a patient's number would land the
        # family's check on that one patient)
        account_number=guarantor_number(patient.guarantor_id)
        if len(sections) > 1 and patient.guarantor_id else patient.account_number,
        statement_date=statement_date,
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


SAME_DAY = "statement already produced today (use --force to send another)"
#: a guarantor whose statement another run, at the same time, produced first (its unique key
#: refused this run's); that run wrote the file
DONE_ELSEWHERE = "already done: produced by another statements run at the same time"


def patient_balances(work: UnitOfWork) -> dict[int, Decimal]:
    """Every patient's patient balance (credits negative), patients with ledger entries only."""
    rows = work.session.execute(
        select(LedgerEntryRow.patient_id, func.sum(LedgerEntryRow.patient_delta))
        .group_by(LedgerEntryRow.patient_id).order_by(LedgerEntryRow.patient_id)).all()
    return {patient_id: to_money(total) for patient_id, total in rows}


def billable_balances(work: UnitOfWork) -> dict[int, Decimal]:
    """:func:`patient_balances` less what is held on claims waiting for a void."""
    balances = patient_balances(work)
    for patient_id, held in held_balances(work).items():
        balances[patient_id] = balances.get(patient_id, ZERO) - held
    return balances


def candidates(work: UnitOfWork, minimum: Decimal) -> list[int]:
    """Patients whose patient balance (less what is held) is at least ``minimum``."""
    return [pid for pid, total in billable_balances(work).items() if total >= minimum]


def _families(work: UnitOfWork, balances: dict[int, Decimal]) -> dict[str, list[int]]:
    """Patients with a balance (or a credit) by guarantor key, in patient order."""
    groups: dict[str, list[int]] = {}
    owing = [pid for pid, total in balances.items() if total != ZERO]
    for row in work.session.scalars(select(PatientRow).where(PatientRow.id.in_(owing))
                                    .order_by(PatientRow.id)):
        patient = work.patients.get(row.id)
        groups.setdefault(guarantor_key(patient), []).append(row.id)
    return groups


def _statement_number(work: UnitOfWork, number: str) -> str:
    """``number``, or ``number-2`` ... when a statement of the cycle already has it (a family
    statement forced the same day, or a family member billed later in the cycle)."""
    taken = set(work.session.scalars(select(StatementRow.statement_number).where(
        StatementRow.statement_number.startswith(number))))
    if number not in taken:
        return number
    suffix = 2
    while f"{number}-{suffix}" in taken:
        suffix += 1
    return f"{number}-{suffix}"


def run_statements(app: Medbill, *, cycle: str, out_dir: Path, renderer: str = "pdf",
                   minimum: Decimal = Decimal("5.00"), statement_date: date | None = None,
                   limit: int | None = None, force: bool = False,
                   on_progress: Callable[[int, int], None] | None = None
                   ) -> StatementRunResult:
    """Produce this cycle's statements into ``out_dir`` (see the module docstring).

    :param force: also send to guarantors who already got a statement today.
    :param on_progress: called with (guarantors looked at, guarantors in all) after each.
    """
    when = statement_date or date.today()
    result = StatementRunResult(cycle)
    private_dir(out_dir)
    with app.unit_of_work() as work:
        balances = billable_balances(work)
        families = _families(work, balances)
        done: set[int] = set()
        for row in work.session.scalars(select(StatementRow).where(StatementRow.cycle == cycle)):
            done.update(row.patient_ids or [row.patient_id])
        today: dict[str, int] = {
            key: number for key, number in work.session.execute(
                select(StatementRow.guarantor_key, func.max(StatementRow.same_day_number))
                .where(StatementRow.statement_date == when)
                .group_by(StatementRow.guarantor_key)).all() if key and number is not None}
        # a void request at the payer holds only its own claim (see voided_accounts)
        pending = set(work.session.scalars(select(ClaimRow.patient_id).where(
            ClaimRow.state.in_([state.value for state in PENDING_AT_PAYER]),
            ClaimRow.frequency != "8")))
        holds = set(work.session.scalars(select(PatientRow.id).where(
            PatientRow.statement_hold.is_(True))))
    ordered = sorted(families.items(), key=lambda item: item[1][0])
    for done_count, (key, members) in enumerate(ordered):
        if on_progress is not None:
            on_progress(done_count, len(ordered))
        if limit is not None and len(result.produced) >= limit:
            break
        if sum((balances[m] for m in members), ZERO) < minimum:
            continue
        billable = []
        for patient_id in members:
            label = str(patient_id)
            if patient_id in done:
                result.already_done.append(label)
            elif patient_id in holds:
                result.skipped["on hold"].append(label)
            elif patient_id in pending:
                result.skipped["claim pending at a payer"].append(label)
            else:
                billable.append(patient_id)
        if not billable or sum((balances[m] for m in billable), ZERO) < minimum:
            continue
        if key in today and not force:
            result.skipped[SAME_DAY].extend(str(m) for m in billable)
            continue
        try:
            path, statement = _produce(app, key, billable, today.get(key, 0) + 1, cycle=cycle,
                                       when=when, renderer=renderer, out_dir=out_dir)
        except IntegrityError:
            # another run produced this guarantor's statement of the day meanwhile
            result.skipped[DONE_ELSEWHERE].extend(str(m) for m in billable)
            continue
        today[key] = today.get(key, 0) + 1
        result.produced.append(statement.statement_number)
        result.files.append(path)
    if on_progress is not None:
        on_progress(len(ordered), len(ordered))
    return result


def _produce(app: Medbill, key: str, billable: list[int], same_day_number: int, *, cycle: str,
         when: date, renderer: str, out_dir: Path) -> tuple[Path, Statement]:
    """One statement in its own transaction: recorded first (the unique constraints decide),
    its file staged before the commit and put in place after it, so a refused statement
    leaves no file behind and a file that cannot be written leaves no statement row."""
    with publish_after() as files, app.unit_of_work() as work:
        statement = build_statement(work, billable[0], statement_date=when, cycle=cycle,
                                    family=billable)
        number = _statement_number(work, statement.statement_number)
        if number != statement.statement_number:
            statement = statement.model_copy(update={"statement_number": number})
        document = app.hooks.render_statement(statement=statement, renderer=renderer)
        path = out_dir / document.filename
        row = StatementRow(
            statement_number=statement.statement_number, patient_id=billable[0],
            patient_ids=billable, guarantor_key=key, same_day_number=same_day_number,
            cycle=cycle, statement_date=when, due_date=statement.due_date,
            balance_due=statement.balance_due, dunning_stage=statement.dunning_stage,
            renderer=renderer, filename=document.filename,
            content_sha256=hashlib.sha256(document.content).hexdigest(), status="rendered")
        work.session.add(row)
        work.session.flush()
        audit.record(work.session, actor=work.actor, action="statement.produce",
                     entity_type="statement", entity_id=row.id,
                     details={"patient_id": billable[0], "patient_ids": billable,
                              "guarantor": key, "cycle": cycle, "renderer": renderer,
                              "forced": same_day_number > 1})
        files.write(path, document.content)
    return path, statement


@dataclass(frozen=True)
class CollectionsItem:
    """One guarantor on the collections work list: their patients' balances together (a
    family is worked, called and billed as one)."""

    #: the first patient of the family (the one its statement is numbered by)
    patient_id: int
    #: the number to pay by: the guarantor's (``G0000012``) for a family, else the patient's
    #: account number
    account_number: str
    balance: Decimal
    oldest_days: int
    stage: int
    statements_sent: int
    on_plan: bool
    guarantor_id: int | None = None
    #: every patient in the family with a balance: (account number, balance)
    patients: tuple[tuple[str, Decimal], ...] = ()

    @property
    def stage_name(self) -> str:
        return dunning_stage_name(self.stage)

    def as_json(self) -> dict[str, object]:
        return {"account_number": self.account_number, "patient_id": self.patient_id,
                "guarantor_id": self.guarantor_id, "balance": str(self.balance),
                "oldest_days": self.oldest_days, "stage": self.stage,
                "stage_name": self.stage_name,
                "statements_sent": self.statements_sent, "on_plan": self.on_plan,
                "patients": [{"account_number": account, "balance": str(balance)}
                             for account, balance in self.patients]}


def collections_worklist(work: UnitOfWork, *, as_of: date | None = None,
                         minimum: Decimal = Decimal("0.01")) -> list[CollectionsItem]:
    """Guarantors owing money (their patients' balances together, less what is held for a
    void), most overdue first, with their dunning stage (30/60/90/120)."""
    today = as_of or date.today()
    items = []
    plans = set(work.session.scalars(select(PaymentPlanRow.patient_id).where(
        PaymentPlanRow.status == "active")))
    balances = billable_balances(work)
    for key, members in sorted(_families(work, balances).items(),
                               key=lambda item: item[1][0]):
        if sum((balances[m] for m in members), ZERO) < minimum:
            continue
        statement, oldest = _statement_and_age(work, members[0], today, "worklist", 21,
                                               members)
        sent = work.session.scalar(select(func.count()).select_from(StatementRow).where(
            or_(StatementRow.guarantor_key == key,
                StatementRow.patient_id.in_(members)))) or 0
        sections = statement.sections or [StatementSection(
            patient=statement.patient, account_number=statement.patient.account_number,
            lines=statement.lines, balance_due=statement.balance_due)]
        items.append(CollectionsItem(
            members[0], statement.account_number,
            statement.balance_due, oldest, statement.dunning_stage, sent,
            any(m in plans for m in members),
            int(key[1:]) if key.startswith("G") else None,
            tuple((section.account_number, section.balance_due) for section in sections)))
    return sorted(items, key=lambda item: (-item.stage, -item.balance))
