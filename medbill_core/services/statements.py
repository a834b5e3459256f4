"""Patient statements from the ledger, statement runs, and the collections work list.

A statement is addressed to the guarantor (the patient, a parent, another person; see
:mod:`medbill_core.services.guarantors`); patients sharing a guarantor get one family
statement with a section per patient. A statement run picks guarantors whose patients owe at
least the minimum together, leaves out patients on hold and patients with a claim still
pending at a payer, and never produces two statements for the same patient and cycle: each
statement is recorded under a unique (patient, cycle), :data:`PER_TRANSACTION` statements a
transaction, so a run that crashed midway resumes where it stopped when started again (the
statements of the transaction it died in are made again, none twice). A guarantor gets at most one
statement a day (two cycles run the same day would send two letters) unless ``force``.

Each line says what the services were in words (the claim line's own description, else the
HCPCS description, else the CPT descriptor when the practice loaded its licensed CPT file)
and why the patient owes, from the payer's 835 PR adjustments (PR-1 deductible, PR-2
coinsurance, PR-3 copay, PR-66 blood deductible, PR-100 paid to the patient, PR-119 benefit
maximum, PR-242 out of network; any other PR reason: not covered).
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import and_, case, func, insert, or_, select
from sqlalchemy.exc import IntegrityError

from medbill_core import audit
from medbill_core.app import Medbill, UnitOfWork
from medbill_core.codesets.formats import CPT_RE
from medbill_core.domain import (
    Aging,
    ClaimState,
    ClaimStatusCode,
    Guarantor,
    GuarantorRelationship,
    OweReason,
    Patient,
    Statement,
    StatementLine,
    StatementSection,
)
from medbill_core.domain.accounts import STATEMENT_CYCLE_PATTERN
from medbill_core.errors import NotFound, ValidationFailed
from medbill_core.ledger import EntryKind
from medbill_core.lifecycle import PENDING_AT_PAYER
from medbill_core.money import ZERO, to_money
from medbill_core.permissions import Action
from medbill_core.privatefiles import private_dir, publish_after
from medbill_core.services.aging import days_old, dunning_stage, statement_column
from medbill_core.services.guarantors import (
    guarantor_key,
    guarantor_number,
    guarantor_of_self,
)
from medbill_core.services.notifications import statement_ready, statements_ready
from medbill_core.services.pay_links import (
    attach_statement,
    attach_statements,
    print_on_statement,
    print_on_statements,
)
from medbill_core.services.practices import practice_profile
from medbill_core.storage.mapping import guarantor_from_row, patient_from_row
from medbill_core.storage.schema import (
    ClaimAdjudicationRow,
    ClaimLineRow,
    ClaimRow,
    CreditHoldRow,
    GuarantorRow,
    LedgerEntryRow,
    PatientRow,
    PaymentPlanRow,
    StatementRow,
)
from medbill_core.storage.tenancy import scope_of

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


class _ServiceLine(Protocol):
    """What a statement reads of a claim line (a ``ClaimLineRow`` or a row of its columns)."""

    @property
    def procedure_code(self) -> str | None: ...
    @property
    def revenue_code(self) -> str | None: ...
    @property
    def description(self) -> str | None: ...


def _code_of(line: _ServiceLine) -> str:
    """The code a statement names a line by: its procedure code, or the revenue code of an
    institutional line that has none (room and board, pharmacy)."""
    return line.procedure_code or line.revenue_code or ""


def _describe(line: _ServiceLine, on: date) -> str | None:
    """A line's service in words: its procedure's description, else (an institutional line)
    its revenue code's, e.g. "Pharmacy" for 0250."""
    from medbill_core.codesets.nubc import describe_revenue_code

    text = describe_procedure(line.procedure_code, on) if line.procedure_code else None
    if not text and line.revenue_code:
        text = describe_revenue_code(line.revenue_code) or None
    return text


def _service_words(lines: Sequence[_ServiceLine], on: date,
                   known: dict[tuple[str, date], str | None] | None = None) -> str:
    """The services in words; ``known`` caches :func:`_describe` for a batch."""
    words: list[str] = []
    several = len({_code_of(line) for line in lines}) > 1
    for line in lines:
        code = _code_of(line)
        text = line.description
        if not text:
            if known is None:
                text = _describe(line, on)
            else:
                key = (f"{line.procedure_code}/{line.revenue_code}", on)
                if key not in known:
                    known[key] = _describe(line, on)
                text = known[key]
        if not text:
            words.append(f"Medical service, code {code}")
        else:  # the code column shows one code: name each when there are several
            words.append(f"{text} ({code})" if several else text)
    described = "; ".join(dict.fromkeys(words)) or "Services"
    if len(described) > DESCRIPTION_LIMIT:
        described = described[:DESCRIPTION_LIMIT - 3].rstrip() + "..."
    return described


def patient_reason(carc: str) -> str:
    """Why a patient owes a PR adjustment, in the words a statement prints: ``"2"`` ->
    ``"Coinsurance"``; a code not listed in :data:`PR_REASONS` -> ``"Not covered by your
    plan"``."""
    return PR_REASONS.get(carc.strip().upper(), NOT_COVERED)


#: ids per IN list of a batch query
_CHUNK = 500
#: accounts (guarantors) whose statements are built from one load of their data
BATCH = 100
#: statements recorded (and their files flushed to disk) together: a transaction and a
#: flush of files each cost about as much as rendering a statement; a run that dies loses at
#: most these to make again
PER_TRANSACTION = 50


def _chunks(ids: Sequence[int], size: int = _CHUNK) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield list(ids[start:start + size])


@dataclass
class _Sums:
    """One patient's ledger entries on one claim account (or on no claim), summed by kind."""

    #: the first entry's id: the order the account's claims appear in
    first_id: int
    amounts: dict[str, Decimal] = field(default_factory=dict)
    deltas: dict[str, Decimal] = field(default_factory=dict)
    #: kind -> the first effective date of an entry that made the patient owe more
    since: dict[str, date] = field(default_factory=dict)

    @property
    def balance(self) -> Decimal:
        return sum(self.deltas.values(), ZERO)


@dataclass(frozen=True)
class _ClaimInfo:
    claim_number: str
    service_date_from: date
    account_claim_id: int | None


def _open_items(work: UnitOfWork, patient_ids: Sequence[int]
                ) -> dict[int, dict[int | None, _Sums]]:
    """Per patient: the claim accounts their balance is not zero on and what they owe or hold
    on no claim (key ``None``), in the order of their first ledger entry; summed in SQL (by an
    index on the patient), so claims settled long ago are no row of the answer. Two queries
    per chunk of patients."""
    L = LedgerEntryRow
    columns = (L.patient_id, L.claim_id, L.kind, func.sum(L.amount), func.sum(L.patient_delta),
               func.min(case((L.patient_delta > 0, L.effective_date))), func.min(L.id))
    found: dict[int, dict[int | None, _Sums]] = {pid: {} for pid in patient_ids}
    for chunk in _chunks(patient_ids):
        open_claims = (select(L.patient_id, L.claim_id)
                       .where(L.patient_id.in_(chunk), L.claim_id.is_not(None))
                       .group_by(L.patient_id, L.claim_id)
                       .having(func.sum(L.patient_delta) != 0).subquery())
        # the join alone implies the patients; said again, the planner reads their entries
        # by the patient index instead of scanning the ledger (a chunk of a few patients:
        # the work queues' refresh after a change)
        on_claims = (select(*columns)
                     .join(open_claims, and_(open_claims.c.patient_id == L.patient_id,
                                             open_claims.c.claim_id == L.claim_id))
                     .where(L.patient_id.in_(chunk))
                     .group_by(L.patient_id, L.claim_id, L.kind))
        on_account = (select(*columns).where(L.patient_id.in_(chunk), L.claim_id.is_(None))
                      .group_by(L.patient_id, L.claim_id, L.kind))
        for query in (on_claims, on_account):
            for patient_id, claim_id, kind, amount, delta, since, first in \
                    work.session.execute(query):
                sums = found[patient_id].get(claim_id)
                if sums is None:
                    sums = found[patient_id][claim_id] = _Sums(first)
                sums.first_id = min(sums.first_id, first)
                sums.amounts[kind] = to_money(amount)
                sums.deltas[kind] = to_money(delta)
                if since is not None:
                    sums.since[kind] = since
    return {patient_id: dict(sorted(items.items(), key=lambda item: item[1].first_id))
            for patient_id, items in found.items()}


def _claim_infos(work: UnitOfWork, claim_ids: Collection[int]) -> dict[int, _ClaimInfo]:
    infos: dict[int, _ClaimInfo] = {}
    for chunk in _chunks(sorted(claim_ids)):
        for claim_id, number, service_date, account in work.session.execute(
                select(ClaimRow.id, ClaimRow.claim_number, ClaimRow.service_date_from,
                       ClaimRow.account_claim_id).where(ClaimRow.id.in_(chunk))):
            infos[claim_id] = _ClaimInfo(number, service_date, account)
    return infos


@dataclass
class StatementData:
    """What the statements of some patients are made of, loaded for all of them at once
    (:func:`load_statement_data`): a few queries per batch of patients, none per patient."""

    patients: dict[int, Patient]
    guarantors: dict[int, Guarantor]
    items: dict[int, dict[int | None, _Sums]]
    claims: dict[int, _ClaimInfo]
    lines: dict[int, list[Any]]
    reasons: dict[int, list[OweReason]]
    #: claim accounts waiting for a void's reversal (:func:`voided_accounts`)
    held: set[int]
    #: (procedure code, date of service) -> its words, for the batch
    described: dict[tuple[str, date], str | None] = field(default_factory=dict)
    #: patients whose credit is on hold (``credits hold``): it is not moved, so a family's
    #: statement does not net it against another member's balance
    credit_holds: set[int] = field(default_factory=set)


def load_statement_data(work: UnitOfWork, patient_ids: Sequence[int]) -> StatementData:
    """Everything the statements of ``patient_ids`` show: the patients, their guarantors,
    their open claims (amounts summed in SQL), those claims' lines and latest 835 answers."""
    ids = list(dict.fromkeys(patient_ids))
    patients: dict[int, Patient] = {}
    for chunk in _chunks(ids):
        for row in work.session.scalars(select(PatientRow).where(PatientRow.id.in_(chunk))):
            patients[row.id] = patient_from_row(row)
    guarantor_ids = sorted({p.guarantor_id for p in patients.values() if p.guarantor_id})
    guarantors: dict[int, Guarantor] = {}
    for chunk in _chunks(guarantor_ids):
        for guarantor_row in work.session.scalars(
                select(GuarantorRow).where(GuarantorRow.id.in_(chunk))):
            guarantors[guarantor_row.id] = guarantor_from_row(guarantor_row)
    items = _open_items(work, ids)
    claims = _claim_infos(work, {claim_id for found in items.values() for claim_id in found
                                 if claim_id is not None})
    lines: dict[int, list[Any]] = defaultdict(list)
    for chunk in _chunks(sorted(claims)):
        for line in work.session.execute(
                select(ClaimLineRow.claim_id, ClaimLineRow.procedure_code,
                       ClaimLineRow.revenue_code, ClaimLineRow.description)
                .where(ClaimLineRow.claim_id.in_(chunk))
                .order_by(ClaimLineRow.claim_id, ClaimLineRow.line_number)):
            lines[line.claim_id].append(line)
    credit_holds: set[int] = set()
    for chunk in _chunks(ids):
        credit_holds.update(work.session.scalars(select(CreditHoldRow.patient_id).where(
            CreditHoldRow.patient_id.in_(chunk), CreditHoldRow.released_on.is_(None))))
    return StatementData(patients, guarantors, items, claims, lines,
                         _owe_reasons_of(work, claims), voided_accounts(work),
                         credit_holds=credit_holds)


def _reasons(adjustments: Sequence[Mapping[str, Any]]) -> list[OweReason]:
    """The PR adjustments of an 835 answer, by the reason a patient reads, amounts owed only."""
    amounts: dict[str, Decimal] = {}
    for adjustment in adjustments:
        if adjustment.get("group_code") != "PR":
            continue
        reason = patient_reason(str(adjustment.get("reason_code")))
        amounts[reason] = amounts.get(reason, ZERO) + to_money(str(adjustment["amount"]))
    return [OweReason(reason=reason, amount=amount) for reason, amount in amounts.items()
            if amount > 0]


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
    return _reasons(answer.adjustments)


def _owe_reasons_of(work: UnitOfWork, claims: Mapping[int, _ClaimInfo]
                    ) -> dict[int, list[OweReason]]:
    """:func:`owe_reasons` of many claims with one query per chunk of them.

    An answer is a claim's when it names the claim as its account or as the claim answered.
    A claim that is its own account (no ``account_claim_id``) is named as the account by every
    answer to it (an answer's account is fixed when it is posted, and a claim's account never
    changes): only claims of another account are also looked up by the claim answered, a
    column with no index.
    """
    A = ClaimAdjudicationRow
    latest: dict[int, tuple[int, list[Any]]] = {}
    ids = list(claims)
    for chunk in _chunks(ids):
        of_others = [claim_id for claim_id in chunk if claims[claim_id].account_claim_id]
        named = (or_(A.account_claim_id.in_(chunk), A.claim_id.in_(of_others)) if of_others
                 else A.account_claim_id.in_(chunk))
        for row_id, claim_id, account_id, adjustments in work.session.execute(
                select(A.id, A.claim_id, A.account_claim_id, A.adjustments).where(
                    named, A.claim_status != ClaimStatusCode.REVERSAL.value)):
            for key in {claim_id, account_id}:
                if key in claims and (key not in latest or row_id > latest[key][0]):
                    latest[key] = (row_id, adjustments)
    return {claim_id: _reasons(adjustments) for claim_id, (_, adjustments) in latest.items()}


def _claim_line(claim: _ClaimInfo, sums: _Sums, lines: Sequence[_ServiceLine],
                why: list[OweReason],
                described: dict[tuple[str, date], str | None] | None = None) -> StatementLine:
    amounts = sums.amounts
    codes = [_code_of(line) for line in lines]
    return StatementLine(service_date=claim.service_date_from, claim_number=claim.claim_number,
                         procedure_code=codes[0] if codes else None,
                         description=_service_words(lines, claim.service_date_from, described),
                         charge=amounts.get(EntryKind.CHARGE.value, ZERO),
                         insurance_paid=amounts.get(EntryKind.PAYER_PAYMENT.value, ZERO),
                         insurance_adjusted=sum((amounts.get(kind, ZERO)
                                                 for kind in _INSURANCE_ADJUSTMENTS), ZERO),
                         # a financed payment paid the patient's balance whole: the fee the
                         # lender kept is the practice's cost, not something the patient owes
                         patient_paid=amounts.get(EntryKind.PATIENT_PAYMENT.value, ZERO)
                         + amounts.get(EntryKind.FINANCING_FEE.value, ZERO),
                         balance=sums.balance, why=why)


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
                    family: Sequence[int] | None = None,
                    data: StatementData | None = None) -> Statement:
    """A statement of every claim the patient still owes on (and any credit), from the ledger.

    :param family: the patients (``patient_id`` first) sharing the guarantor whose balances go
        on this one statement, a section each; default: the patient alone.
    :param data: these patients' data, loaded with others' by :func:`load_statement_data`
        (a statement run loads a batch of accounts at once); default: loaded now.
    """
    return _statement_and_age(work, patient_id, statement_date, cycle, due_days,
                              family, data)[0]


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
    # ``> 0`` (ids are positive) rather than IS NOT NULL: SQLite reads that as a range of
    # ix_claims_replaces (the few replacements and voids), IS NOT NULL as a scan of every claim
    return {account or original for account, original in work.session.execute(
        select(ClaimRow.account_claim_id, ClaimRow.replaces_claim_id).where(
            ClaimRow.frequency == "8", ClaimRow.replaces_claim_id > 0,
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


def _account_lines(sums: _Sums, statement_date: date) -> list[tuple[StatementLine, date]]:
    """What the account owes or holds on no claim, as the patient should read it: a
    returned-payment fee and money refunded from a payment that came back are owed (charges),
    only what payments left beyond them is a credit. Each line with the day it is aged from."""
    fee_kind = EntryKind.CHARGE.value
    fees = sum((delta for kind, delta in sums.deltas.items() if kind == fee_kind), ZERO)
    moved = sum((delta for kind, delta in sums.deltas.items() if kind != fee_kind), ZERO)
    owed_back, paid = max(moved, ZERO), max(-moved, ZERO)
    fee_paid = min(max(fees, ZERO), paid)
    credit = paid - fee_paid

    def since(kind_is_fee: bool) -> date:
        return min((day for kind, day in sums.since.items() if (kind == fee_kind) == kind_is_fee),
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


def _claim_since(sums: _Sums, claim: _ClaimInfo) -> date:
    """The day the patient first became responsible for a claim: what it is aged from."""
    return min(sums.since.values(), default=claim.service_date_from)


def _section(data: StatementData, patient_id: int, statement_date: date,
             aging: dict[str, Decimal]) -> tuple[StatementSection, int]:
    patient = data.patients.get(patient_id)
    if patient is None:
        raise NotFound("patient", patient_id)
    lines: list[StatementLine] = []
    oldest = 0
    for claim_id, sums in data.items.get(patient_id, {}).items():
        if claim_id is None:
            for line, since in _account_lines(sums, statement_date):
                lines.append(line)
                days = days_old(since, statement_date)
                if line.balance > ZERO:
                    oldest = max(oldest, days)
                aging[statement_column(days) if line.balance > ZERO else "current"] += \
                    line.balance
            continue
        balance = sums.balance
        if balance == ZERO:
            continue
        claim = data.claims[claim_id]
        line = _claim_line(claim, sums, data.lines.get(claim_id, []),
                           data.reasons.get(claim_id, []), data.described)
        if claim_id in data.held:
            # shown, not billed: the payer's reversal will settle what the patient owes here
            lines.append(line.model_copy(update={
                "description": f"{ON_HOLD_VOIDED} ({balance} not billed now)",
                "balance": ZERO}))
            continue
        lines.append(line)
        # age from when the patient first became responsible for this claim
        days = days_old(_claim_since(sums, claim), statement_date)
        oldest = max(oldest, days)
        aging[statement_column(days)] += balance
    lines.sort(key=lambda line: (line.service_date, line.claim_number or ""))
    return StatementSection(patient=patient, account_number=patient.account_number, lines=lines,
                            balance_due=sum((line.balance for line in lines), ZERO)), oldest


def _credit_held(section: StatementSection) -> StatementSection:
    """A family member's section whose credit (beyond what the member owes) is on hold: that
    credit is shown, not netted against the other members' balances (a held credit is not
    moved until the hold is released). Its lines say so; ``balance_due`` is left for the
    caller to sum again."""
    excess = -section.balance_due
    lines = []
    for line in section.lines:
        if excess > ZERO and line.balance < ZERO:
            take = min(excess, -line.balance)
            note = f" - on hold: {take} credit not applied now"
            line = line.model_copy(update={
                "description": line.description[:DESCRIPTION_LIMIT - len(note)] + note,
                "balance": line.balance + take})
            excess -= take
        lines.append(line)
    return section.model_copy(update={"lines": lines})


def _statement_and_age(work: UnitOfWork, patient_id: int, statement_date: date, cycle: str,
                       due_days: int, family: Sequence[int] | None = None,
                       data: StatementData | None = None) -> tuple[Statement, int]:
    ids = [patient_id, *(i for i in (family or ()) if i != patient_id)]
    if data is None:
        data = load_statement_data(work, ids)
    aging: dict[str, Decimal] = defaultdict(lambda: ZERO)
    sections: list[StatementSection] = []
    oldest = 0
    for member in ids:
        section, days = _section(data, member, statement_date, aging)
        if len(ids) > 1 and member in data.credit_holds and section.balance_due < ZERO:
            section = _credit_held(section)
            aging["current"] -= section.balance_due - sum(
                (line.balance for line in section.lines), ZERO)
            section = section.model_copy(update={"balance_due": sum(
                (line.balance for line in section.lines), ZERO)})
        sections.append(section)
        oldest = max(oldest, days)
    patient = sections[0].patient
    guarantor = (data.guarantors[patient.guarantor_id] if patient.guarantor_id
                 else guarantor_of_self(patient))
    someone_else = (patient.guarantor_id is not None
                    and patient.guarantor_relationship is not GuarantorRelationship.SELF)
    lines = [line for section in sections for line in section.lines]
    balance_due = sum((line.balance for line in lines), ZERO)
    stage = dunning_stage(oldest)
    practice = practice_profile(work)
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


def _owing_balances(work: UnitOfWork,
                   patients: Collection[int] | None = None) -> dict[int, Decimal]:
    """:func:`billable_balances` of the patients whose balance is not zero (summed in SQL:
    patients whose every claim is settled cost a row of the sum, not one of the answer);
    of ``patients`` only, when given."""
    total = func.sum(LedgerEntryRow.patient_delta)
    query = select(LedgerEntryRow.patient_id, total).group_by(
        LedgerEntryRow.patient_id).having(total != 0)
    practice_id = scope_of(work.session)
    # the practice by its own index (practice, patient, amount): read alone, in patient order.
    # The scope's criterion is written so that SQLite drives no index with it (tenancy), and
    # would read every practice's entries
    whole_practice = query if practice_id is None else query.where(
        LedgerEntryRow.practice_id == practice_id)
    queries = [whole_practice] if patients is None else [
        query.where(LedgerEntryRow.patient_id.in_(chunk))
        for chunk in _chunks(sorted(set(patients)))]
    balances = {patient_id: to_money(amount) for each in queries
                for patient_id, amount in work.session.execute(each)}
    for patient_id, held in held_balances(work).items():
        if patients is not None and patient_id not in patients:
            continue
        balances[patient_id] = balances.get(patient_id, ZERO) - held
    return dict(sorted(balances.items()))


@dataclass(frozen=True)
class _Owing:
    """A patient with a balance (or a credit): who answers for them, their account number."""

    patient_id: int
    guarantor_id: int | None
    account_number: str

    @property
    def key(self) -> str:
        """:func:`~medbill_core.services.guarantors.guarantor_key`"""
        return f"G{self.guarantor_id}" if self.guarantor_id else f"P{self.patient_id}"


def _owing_patients(work: UnitOfWork, balances: dict[int, Decimal]) -> dict[int, _Owing]:
    """The patients with a balance (or a credit), in patient order."""
    owing = sorted(pid for pid, total in balances.items() if total != ZERO)
    found: dict[int, _Owing] = {}
    for chunk in _chunks(owing, 5 * _CHUNK):
        for patient_id, guarantor_id, account_number in work.session.execute(
                select(PatientRow.id, PatientRow.guarantor_id, PatientRow.account_number)
                .where(PatientRow.id.in_(chunk))):
            found[patient_id] = _Owing(patient_id, guarantor_id, account_number)
    return {pid: found[pid] for pid in owing if pid in found}


def _families(work: UnitOfWork, balances: dict[int, Decimal],
              owing: dict[int, _Owing] | None = None) -> dict[str, list[int]]:
    """Patients with a balance (or a credit) by guarantor key, in patient order."""
    groups: dict[str, list[int]] = {}
    for patient in (owing if owing is not None else _owing_patients(work, balances)).values():
        groups.setdefault(patient.key, []).append(patient.patient_id)
    return groups


def _statement_number(taken: Collection[str], number: str) -> str:
    """``number``, or ``number-2`` ... when a statement of the cycle already has it (a family
    statement forced the same day, or a family member billed later in the cycle)."""
    if number not in taken:
        return number
    suffix = 2
    while f"{number}-{suffix}" in taken:
        suffix += 1
    return f"{number}-{suffix}"


def check_renderer(app: Medbill, renderer: str, *, record: str = "statement run",
                   field: str = "renderer") -> None:
    """Refuse a statement renderer no enabled plugin provides, before any statement is built
    (else a run whose guarantors are all skipped would succeed with it). The message lists
    the renderers there are and does not repeat the name asked for.

    A plugin that renders in its own ``medbill_render_statement`` (a name it never
    registers, see the hook's example) is the only one to know its names: with one enabled,
    the hook decides.

    :raises ValidationFailed: naming ``record`` and ``field``.
    """
    registered = app.hooks.context.renderers
    if renderer in registered:
        return
    hook = app.hooks.manager.hook.medbill_render_statement
    if any(not impl.plugin_name.startswith("core:") for impl in hook.get_hookimpls()):
        return
    raise ValidationFailed(record, [(field, "no enabled plugin provides a statement renderer "
                                            "of that name (available: "
                                            f"{', '.join(sorted(registered)) or 'none'})")])


def run_statements(app: Medbill, *, cycle: str, out_dir: Path, renderer: str = "pdf",
                   minimum: Decimal = Decimal("5.00"), statement_date: date | None = None,
                   limit: int | None = None, force: bool = False,
                   on_progress: Callable[[int, int], None] | None = None
                   ) -> StatementRunResult:
    """Produce this cycle's statements into ``out_dir`` (see the module docstring).

    Who gets one is chosen from balances summed in SQL; the statements are then built
    :data:`BATCH` guarantors at a time from one load of their data
    (:func:`load_statement_data`), recorded :data:`PER_TRANSACTION` at a time. A failure
    reaches as far as when each statement had its own transaction: a statement that cannot be
    built or rendered ends the run after the statements before it are recorded; a group whose
    recording fails (another run recorded one of its statements meanwhile, a file that
    cannot be written) is recorded again a statement a transaction.

    :param force: also send to guarantors who already got a statement today.
    :param on_progress: called with (guarantors looked at, guarantors in all) after each.
    :raises ValidationFailed: ``cycle`` is not a cycle's name
        (:data:`~medbill_core.domain.accounts.STATEMENT_CYCLE_PATTERN`), or no enabled plugin
        provides ``renderer`` (:func:`check_renderer`).
    """
    app.require(Action.STATEMENTS_RUN)
    if not re.fullmatch(STATEMENT_CYCLE_PATTERN, cycle):
        raise ValidationFailed("statement run", [(
            "cycle", "1 to 20 letters, digits, '.', '_' or '-', beginning with a letter or "
                     "digit (e.g. 2026-11)")])
    check_renderer(app, renderer)
    when = statement_date or date.today()
    result = StatementRunResult(cycle)
    private_dir(out_dir)
    with app.unit_of_work() as work:
        balances = _owing_balances(work)
        families = _families(work, balances)
        done: set[int] = set()
        for patient_id, patient_ids in work.session.execute(
                select(StatementRow.patient_id, StatementRow.patient_ids)
                .where(StatementRow.cycle == cycle)):
            done.update(patient_ids or [patient_id])
        # every statement number of the cycle starts so (see _statement_and_age)
        taken = set(work.session.scalars(select(StatementRow.statement_number).where(
            StatementRow.statement_number.startswith(f"{cycle}-"))))
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
        # an account placed with a collection agency gets the agency's letters, not ours
        from medbill_core.services.collections import placed_patients

        holds |= placed_patients(work)
    ordered = sorted(families.items(), key=lambda item: item[1][0])
    batch: list[tuple[str, list[int]]] = []

    def accept(key: str, number: int, path: Path, statement: Statement) -> None:
        today[key] = number
        result.produced.append(statement.statement_number)
        result.files.append(path)

    def produce_alone(key: str, billable: list[int], number: int, data: StatementData) -> None:
        try:
            accept(key, number, *_produce(app, key, billable, number, cycle=cycle, when=when,
                                          renderer=renderer, out_dir=out_dir, data=data,
                                          taken=taken))
        except IntegrityError:
            # another run produced this guarantor's statement of the day meanwhile
            result.skipped[DONE_ELSEWHERE].extend(str(m) for m in billable)

    def produce_batch() -> None:
        if not batch:
            return
        with app.unit_of_work(read_only=True) as work:
            data = load_statement_data(work, [m for _, billable in batch for m in billable])
        for start in range(0, len(batch), PER_TRANSACTION):
            group = [(key, billable, today.get(key, 0) + 1)
                     for key, billable in batch[start:start + PER_TRANSACTION]]
            try:
                done_together: list[tuple[Path, Statement] | None] = list(_produce_many(
                    app, group, cycle=cycle, when=when, renderer=renderer, out_dir=out_dir,
                    data=data, taken=taken))
            except _StatementFailed as failed:
                # a statement could not be built or rendered: as when each statement had its
                # own transaction, those before it are produced and its error ends the run
                for key, billable, number in group[:failed.index]:
                    produce_alone(key, billable, number, data)
                raise failed.error from None
            except Exception:
                # recording or writing failed (another run produced a statement meanwhile, a
                # file cannot be written): the group again, a transaction a statement, so
                # the failure is the one statement's
                done_together = [None] * len(group)
            for (key, billable, number), produced in zip(group, done_together, strict=True):
                if produced is None:
                    produce_alone(key, billable, number, data)
                else:
                    accept(key, number, *produced)
        batch.clear()

    for done_count, (key, members) in enumerate(ordered):
        if on_progress is not None:
            on_progress(done_count, len(ordered))
        if limit is not None and len(result.produced) + len(batch) >= limit:
            produce_batch()  # some may have been produced elsewhere meanwhile
            if len(result.produced) >= limit:
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
        batch.append((key, billable))
        if len(batch) >= BATCH:
            produce_batch()
    produce_batch()
    if on_progress is not None:
        on_progress(len(ordered), len(ordered))
    return result


class _StatementFailed(Exception):
    """Statement ``index`` of a group could not be built or rendered (``error``)."""

    def __init__(self, index: int, error: Exception) -> None:
        super().__init__(index)
        self.index = index
        self.error = error


def _produce_many(app: Medbill, group: Sequence[tuple[str, list[int], int]], *, cycle: str,
                  when: date, renderer: str, out_dir: Path, data: StatementData,
                  taken: set[str]) -> list[tuple[Path, Statement]]:
    """:func:`_produce` for several statements ((guarantor key, patients, same-day number)
    each) in one transaction: rows inserted together, each with its audit event, files
    flushed to disk together; all recorded and written, or (raising) none.

    :raises _StatementFailed: a statement could not be built or rendered.
    """
    with publish_after() as files, app.unit_of_work() as work:
        numbers = set(taken)
        built: list[Statement] = []
        for index, (_, billable, _) in enumerate(group):
            try:
                statement = build_statement(work, billable[0], statement_date=when,
                                            cycle=cycle, family=billable, data=data)
            except Exception as error:
                raise _StatementFailed(index, error) from error
            number = _statement_number(numbers, statement.statement_number)
            if number != statement.statement_number:
                statement = statement.model_copy(update={"statement_number": number})
            numbers.add(number)
            built.append(statement)
        # the group's pay links issued together; when one owner is refused, one at a time,
        # so the failure is that statement's (nothing was issued by the refused batch)
        try:
            printed = print_on_statements(work, [(statement, key) for statement, (key, _, _)
                                                 in zip(built, group, strict=True)])
        except (NotFound, ValidationFailed):
            printed = []
            for index, (statement, (key, _, _)) in enumerate(zip(built, group, strict=True)):
                try:
                    printed.append(print_on_statement(work, statement, key))
                except Exception as error:
                    raise _StatementFailed(index, error) from error
        links: list[int | None] = []
        made: list[tuple[Statement, dict[str, Any], Path, bytes]] = []
        # rendered together (a plugin may render them in parallel); a statement's error is
        # raised when its document is asked for, after the ones before it
        documents = app.hooks.render_statements(
            statements=[statement for statement, _ in printed], renderer=renderer)
        for index, ((key, billable, same_day_number), (statement, link_id)) in enumerate(
                zip(group, printed, strict=True)):
            links.append(link_id)
            try:
                document = next(documents)
            except Exception as error:
                raise _StatementFailed(index, error) from error
            made.append((statement, _statement_columns(statement, key, billable,
                                                       same_day_number, renderer,
                                                       document.filename, document.content),
                         out_dir / document.filename, document.content))
        # one executemany, then the ids by the (unique) numbers: the ORM would insert the
        # rows one by one to read each id back
        work.session.execute(insert(StatementRow), [columns for _, columns, _, _ in made])
        ids: dict[str, int] = {number: row_id for number, row_id in work.session.execute(
            select(StatementRow.statement_number, StatementRow.id).where(
                StatementRow.statement_number.in_([s.statement_number for s, _, _, _ in made])))}
        attached: list[tuple[int, int]] = []
        ready: list[tuple[int, str, str]] = []
        for (key, billable, same_day_number), (statement, _, _, _), link_id in zip(
                group, made, links, strict=True):
            row_id = ids[statement.statement_number]
            _record_produced(work, row_id, statement, key, billable, renderer,
                             same_day_number)
            if link_id is not None:
                attached.append((link_id, row_id))
                if statement.pay_url is not None:
                    ready.append((row_id, key, statement.pay_url))
        # the links named as printed on their statements, and "your statement is ready"
        # queued for those who agreed to texts or e-mails (as _record_produced does one by one)
        attach_statements(work, attached)
        statements_ready(work, ready)
        files.write_many([(path, content) for _, _, path, content in made])
    taken.update(statement.statement_number for statement, _, _, _ in made)
    return [(path, statement) for statement, _, path, _ in made]


def _statement_columns(statement: Statement, key: str, billable: list[int],
                       same_day_number: int, renderer: str, filename: str,
                       content: bytes) -> dict[str, Any]:
    """A statement's row (:class:`StatementRow`), its columns."""
    return {"statement_number": statement.statement_number, "patient_id": billable[0],
            "patient_ids": billable, "guarantor_key": key, "same_day_number": same_day_number,
            "cycle": statement.cycle, "statement_date": statement.statement_date,
            "due_date": statement.due_date, "balance_due": statement.balance_due,
            "dunning_stage": statement.dunning_stage, "renderer": renderer,
            "filename": filename, "content_sha256": hashlib.sha256(content).hexdigest(),
            "status": "rendered"}


def _record_produced(work: UnitOfWork, row_id: int, statement: Statement, key: str,
                     billable: list[int], renderer: str, same_day_number: int,
                     link_id: int | None = None) -> None:
    """The audit event and the ``statement.produced`` billing event of a recorded statement
    (and its pay link named as printed on it, and the message saying it is ready)."""
    if link_id is not None:
        attach_statement(work, link_id, row_id)
        if statement.pay_url is not None:
            # "your statement is ready" by text or e-mail, to those who agreed to it (queued
            # in this transaction; the outbox sends it once the run has committed)
            statement_ready(work, row_id, statement.pay_url)
    cycle = statement.cycle
    audit.record(work.session, actor=work.actor, action="statement.produce",
                 entity_type="statement", entity_id=row_id,
                 details={"patient_id": billable[0], "patient_ids": billable,
                          "guarantor": key, "cycle": cycle, "renderer": renderer,
                          "forced": same_day_number > 1})
    work.app.hooks.billing_event_precommit(event_type="statement.produced", data={
        "statement_id": row_id, "statement_number": statement.statement_number,
        "patient_ids": billable, "cycle": cycle, "balance_due": str(statement.balance_due),
        "dunning_stage": statement.dunning_stage, "renderer": renderer})


def _produce(app: Medbill, key: str, billable: list[int], same_day_number: int, *, cycle: str,
             when: date, renderer: str, out_dir: Path, data: StatementData | None = None,
             taken: set[str] | None = None) -> tuple[Path, Statement]:
    """One statement in its own transaction: recorded first (the unique constraints decide),
    its file staged before the commit and put in place after it, so a refused statement
    leaves no file behind and a file that cannot be written leaves no statement row.

    :param data: the batch's data (:func:`load_statement_data`); default: loaded now.
    :param taken: the statement numbers of the cycle (this one's is added once recorded);
        default: read now.
    """
    with publish_after() as files, app.unit_of_work() as work:
        statement = build_statement(work, billable[0], statement_date=when, cycle=cycle,
                                    family=billable, data=data)
        if taken is None:
            taken = set(work.session.scalars(select(StatementRow.statement_number).where(
                StatementRow.statement_number.startswith(statement.statement_number))))
        number = _statement_number(taken, statement.statement_number)
        if number != statement.statement_number:
            statement = statement.model_copy(update={"statement_number": number})
        statement, link_id = print_on_statement(work, statement, key)
        document = app.hooks.render_statement(statement=statement, renderer=renderer)
        path = out_dir / document.filename
        row = StatementRow(**_statement_columns(statement, key, billable, same_day_number,
                                                renderer, document.filename,
                                                document.content))
        work.session.add(row)
        work.session.flush()
        _record_produced(work, row.id, statement, key, billable, renderer, same_day_number,
                         link_id)
        files.write(path, document.content)
    taken.add(statement.statement_number)
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


def _oldest_days(items: Mapping[int | None, _Sums], claims: Mapping[int, _ClaimInfo],
                 held: Collection[int], as_of: date) -> int:
    """Days since the oldest balance of a patient's statement became owed (what
    :func:`_section` finds, without building the statement)."""
    oldest = 0
    for claim_id, sums in items.items():
        if claim_id is None:
            for line, since in _account_lines(sums, as_of):
                if line.balance > ZERO:
                    oldest = max(oldest, days_old(since, as_of))
        elif sums.balance != ZERO and claim_id not in held:
            oldest = max(oldest, days_old(_claim_since(sums, claims[claim_id]), as_of))
    return oldest


def _statements_sent(work: UnitOfWork, families: Sequence[tuple[str, list[int]]]
                     ) -> dict[str, int]:
    """Guarantor key -> statements addressed to the guarantor or to one of the patients."""
    S = StatementRow
    counts: dict[tuple[int, str | None], int] = {}
    keys = [key for key, _ in families]
    ids = [member for _, members in families for member in members]
    for column, values in ((S.guarantor_key, keys), (S.patient_id, ids)):
        for start in range(0, len(values), _CHUNK):
            for patient_id, key, count in work.session.execute(
                    select(S.patient_id, S.guarantor_key, func.count())
                    .where(column.in_(values[start:start + _CHUNK]))
                    .group_by(S.patient_id, S.guarantor_key)):
                counts[(patient_id, key)] = count
    by_key: dict[str | None, int] = defaultdict(int)
    by_patient: dict[int, list[tuple[str | None, int]]] = defaultdict(list)
    for (patient_id, key), count in counts.items():
        by_key[key] += count
        by_patient[patient_id].append((key, count))
    return {key: by_key[key] + sum(count for member in members
                                   for other, count in by_patient[member] if other != key)
            for key, members in families}


def collections_worklist(work: UnitOfWork, *, as_of: date | None = None,
                         minimum: Decimal = Decimal("0.01"),
                         patients: Collection[int] | None = None) -> list[CollectionsItem]:
    """Guarantors owing money (their patients' balances together, less what is held for a
    void), most overdue first, with their dunning stage (30/60/90/120).

    Balances, ages and statement counts are summed in SQL for all guarantors at once (a few
    queries per 500 patients); no statement is built. ``patients``: the balances of these
    patients only, which must be whole families (else a family is summed from part of it);
    the work queues pass the families a change touched."""
    work.require(Action.COLLECTIONS_READ)
    today = as_of or date.today()
    items: list[CollectionsItem] = []
    plans = set(work.session.scalars(select(PaymentPlanRow.patient_id).where(
        PaymentPlanRow.status == "active")))
    balances = _owing_balances(work, patients)
    owing = _owing_patients(work, balances)
    chosen = [(key, members) for key, members in sorted(
        _families(work, balances, owing).items(), key=lambda item: item[1][0])
        if sum((balances[m] for m in members), ZERO) >= minimum]
    if not chosen:
        return []
    held = voided_accounts(work)
    sent = _statements_sent(work, chosen)
    for part in _family_chunks(chosen):
        # the open items and claims of a chunk of families at a time: not all held at once
        open_items = _open_items(work, [member for _, members in part for member in members])
        claims = _claim_infos(work, {claim_id for found in open_items.values()
                                     for claim_id in found if claim_id is not None})
        items.extend(_collections_items(part, open_items, claims, held, today, balances,
                                        owing, sent, plans))
    return sorted(items, key=lambda item: (-item.stage, -item.balance))


def _family_chunks(families: Sequence[tuple[str, list[int]]]
                   ) -> Iterator[list[tuple[str, list[int]]]]:
    """``families`` in chunks of about :data:`_CHUNK` patients (a family is not split)."""
    part: list[tuple[str, list[int]]] = []
    patients = 0
    for family in families:
        part.append(family)
        patients += len(family[1])
        if patients >= _CHUNK:
            yield part
            part, patients = [], 0
    if part:
        yield part


def _collections_items(families: Sequence[tuple[str, list[int]]],
                       open_items: Mapping[int, Mapping[int | None, _Sums]],
                       claims: Mapping[int, _ClaimInfo], held: Collection[int], today: date,
                       balances: Mapping[int, Decimal], owing: Mapping[int, _Owing],
                       sent: Mapping[str, int], plans: Collection[int]
                       ) -> Iterator[CollectionsItem]:
    for key, members in families:
        oldest = max(_oldest_days(open_items[m], claims, held, today) for m in members)
        first = owing[members[0]]
        # the statement's: a family's is paid by the guarantor's number (_statement_and_age)
        account_number = (guarantor_number(first.guarantor_id)
                          if len(members) > 1 and first.guarantor_id else first.account_number)
        yield CollectionsItem(
            members[0], account_number,
            sum((balances[m] for m in members), ZERO), oldest, dunning_stage(oldest),
            sent[key], any(m in plans for m in members),
            int(key[1:]) if key.startswith("G") else None,
            tuple((owing[m].account_number, balances[m]) for m in members))
