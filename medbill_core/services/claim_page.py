"""Everything about one claim, for a person looking at it (the workspace's claim page): its
lines with the codes in words, its state history, the documents exchanged for it, the ledger
postings of its account, the payer's adjudication line by line, its denials and appeals, and
which actions the viewer may take on it now.

Read-only and role checked (``claims.read``); tenancy scopes every read, so another
practice's claim is not found. The codes are described as of the date of service (the code
set releases governing it); adjustments and remarks as of the payer's answer date.

What may be done is decided here, from the permission table and the lifecycle, never by the
page that shows the buttons: :func:`available_actions`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select

from medbill_core.codesets.explain import explain_adjustment, explain_rarc
from medbill_core.domain import Claim, ClaimState, ClaimStatusCode
from medbill_core.domain.identity import Role
from medbill_core.lifecycle import NEXT_ACTOR, NOT_SENT, Transition, allowed_targets
from medbill_core.money import ZERO, to_money
from medbill_core.permissions import Action, allowed
from medbill_core.services.api_reads import read_claim
from medbill_core.services.appeals import APPEALABLE, IN_PROGRESS, Appeal, list_appeals_of
from medbill_core.services.claim_documents import ClaimDocument, claim_documents
from medbill_core.services.denials import OWED, Denial, DenialStatus, denials_of_claim
from medbill_core.storage.schema import (
    ClaimAdjudicationRow,
    ClaimRow,
    LedgerEntryRow,
    PatientRow,
    PostingRow,
    as_utc,
)

if TYPE_CHECKING:
    from medbill_core.app import UnitOfWork


# -- codes in words ----------------------------------------------------------------------------

@dataclass(frozen=True)
class CodeText:
    """A code and what it means (``None``: medbill has no description to show)."""

    code: str
    description: str | None


def _description(verdict: Any) -> str | None:
    info = verdict.info
    if info is None or info.format_only or not info.description:
        return None
    return str(info.description)


def _procedure(code: str, on: date) -> CodeText:
    from medbill_core.services.statements import describe_procedure

    return CodeText(code, describe_procedure(code, on))


def _revenue(code: str | None) -> CodeText | None:
    from medbill_core.codesets.nubc import describe_revenue_code

    return CodeText(code, describe_revenue_code(code) or None) if code else None


def _modifier(code: str, on: date) -> CodeText:
    from medbill_core.codesets.registry import default_codesets

    try:
        return CodeText(code, _description(default_codesets().modifier(code, on)))
    except Exception:  # a broken user code file must not stop the page
        return CodeText(code, None)


def _diagnosis(code: str, on: date) -> CodeText:
    from medbill_core.codesets.registry import default_codesets

    try:
        return CodeText(code, _description(default_codesets().icd10cm(code, on)))
    except Exception:  # a broken user code file must not stop the page
        return CodeText(code, None)


# -- the parts of the page ---------------------------------------------------------------------

@dataclass(frozen=True)
class LineView:
    line_number: int
    procedure: CodeText
    modifiers: tuple[CodeText, ...]
    #: the diagnoses the line points to, in pointer order
    diagnoses: tuple[CodeText, ...]
    units: Decimal
    charge: Decimal
    service_date: date
    #: the NUBC revenue code and its group's words (institutional lines; None otherwise)
    revenue: CodeText | None = None


@dataclass(frozen=True)
class PostingView:
    """One ledger entry on the claim's account."""

    entry_id: int
    effective_date: date
    posted_at: datetime
    kind: str
    amount: Decimal
    #: the bucket it moved: insurance and patient deltas (what the payer / patient owes)
    insurance_delta: Decimal
    patient_delta: Decimal
    payer_key: str | None
    line_number: int | None
    reason: str | None
    source: str
    actor: str


@dataclass(frozen=True)
class AdjustmentView:
    group: str
    reason_code: str
    amount: Decimal
    meaning: str


@dataclass(frozen=True)
class LineAdjudicationView:
    line_number: int
    procedure_code: str
    charge: Decimal | None
    #: what the payer allowed: paid + what it left to the patient (PR); the 835 rarely
    #: carries an allowed amount of its own
    allowed: Decimal
    paid: Decimal
    adjustments: tuple[AdjustmentView, ...]


@dataclass(frozen=True)
class AdjudicationView:
    """One payer answer (an 835 claim payment) to the claim."""

    payer_key: str
    status_code: str
    status: str
    paid: Decimal
    paid_date: date
    #: the claim-level adjustments (all of them when the payer did not answer line by line)
    adjustments: tuple[AdjustmentView, ...]
    lines: tuple[LineAdjudicationView, ...]
    remarks: tuple[CodeText, ...]
    reversed: bool


class ClaimAction(StrEnum):
    """What a person may do to a claim from its page."""

    EDIT = "edit"
    SCRUB = "scrub"
    SUBMIT = "submit"
    REOPEN = "reopen"
    DELETE = "delete"
    CORRECT = "correct"
    VOID = "void"
    STATUS_CHECK = "status_check"
    APPEAL = "appeal"
    WRITE_OFF = "write_off"
    TRANSFER_TO_PATIENT = "transfer_to_patient"
    RESEND = "resend"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    ClaimAction.EDIT: "Edit draft", ClaimAction.SCRUB: "Scrub", ClaimAction.SUBMIT: "Submit",
    ClaimAction.REOPEN: "Reopen to fix", ClaimAction.DELETE: "Delete draft",
    ClaimAction.CORRECT: "Correct (replacement claim)", ClaimAction.VOID: "Void",
    ClaimAction.STATUS_CHECK: "Check status (276)", ClaimAction.APPEAL: "Appeal",
    ClaimAction.WRITE_OFF: "Write off", ClaimAction.TRANSFER_TO_PATIENT: "Transfer to patient",
    ClaimAction.RESEND: "Mark to correct and resend"}

#: the permission each action needs
ACTION_PERMISSIONS = {
    ClaimAction.EDIT: Action.CLAIMS_WRITE, ClaimAction.SCRUB: Action.CLAIMS_WRITE,
    ClaimAction.SUBMIT: Action.CLAIMS_SUBMIT, ClaimAction.REOPEN: Action.CLAIMS_WRITE,
    ClaimAction.DELETE: Action.CLAIMS_WRITE, ClaimAction.CORRECT: Action.CLAIMS_CORRECT,
    ClaimAction.VOID: Action.CLAIMS_VOID, ClaimAction.STATUS_CHECK: Action.CLAIMS_STATUS,
    ClaimAction.APPEAL: Action.APPEALS_WRITE, ClaimAction.WRITE_OFF: Action.DENIALS_WRITE_OFF,
    ClaimAction.TRANSFER_TO_PATIENT: Action.DENIALS_WORK, ClaimAction.RESEND: Action.DENIALS_WORK}


@dataclass(frozen=True)
class AvailableAction:
    """An action the viewer may take; ``denial_id`` names the denial item it works on (write
    off, transfer, appeal, resend), ``None`` for an action on the claim itself."""

    action: ClaimAction
    denial_id: int | None = None

    @property
    def label(self) -> str:
        return self.action.label


@dataclass(frozen=True)
class ClaimFacts:
    """What decides the actions, besides the role: the claim's state and history."""

    state: ClaimState
    ever_sent: bool
    has_payer: bool
    #: the payer's claim control number is known (a replacement or void must name it)
    payer_claim_number: bool
    shares_account: bool
    #: the denial items still owed by the payer: (id, group code)
    open_denials: tuple[tuple[int, str], ...]
    appeal_in_progress: bool
    #: the ids of those already marked to correct and resend (a second "resend" is refused)
    marked_resend: frozenset[int] = frozenset()


def available_actions(role: Role, facts: ClaimFacts) -> list[AvailableAction]:
    """The actions ``role`` may take on a claim with these facts: the permission table
    (:func:`~medbill_core.permissions.allowed`) and the lifecycle
    (:func:`~medbill_core.lifecycle.allowed_targets`) decide, mirroring what each service
    checks, so a button shown is one the service accepts."""
    state = facts.state
    targets = allowed_targets(state)
    possible: list[AvailableAction] = []
    if state in (ClaimState.DRAFT, ClaimState.VALIDATED):
        possible += [AvailableAction(ClaimAction.EDIT), AvailableAction(ClaimAction.SCRUB)]
        if not facts.ever_sent and not facts.shares_account:
            possible.append(AvailableAction(ClaimAction.DELETE))
    if state is ClaimState.VALIDATED and facts.has_payer:
        possible.append(AvailableAction(ClaimAction.SUBMIT))
    if state is ClaimState.REJECTED and ClaimState.DRAFT in targets:
        possible.append(AvailableAction(ClaimAction.REOPEN))
    if ClaimState.REPLACED in targets and facts.has_payer and facts.payer_claim_number:
        possible.append(AvailableAction(ClaimAction.CORRECT))
    # a rejected or self-pay claim is voided here only; any other needs the payer's number
    if ClaimState.VOIDED in targets and (facts.ever_sent or state not in NOT_SENT) and (
            state is ClaimState.REJECTED or not facts.has_payer or facts.payer_claim_number):
        possible.append(AvailableAction(ClaimAction.VOID))
    if facts.has_payer and facts.ever_sent and state not in NOT_SENT:
        possible.append(AvailableAction(ClaimAction.STATUS_CHECK))
    # while an appeal is in progress the denials service refuses every decision on the items
    for denial_id, group in () if facts.appeal_in_progress else facts.open_denials:
        if state in APPEALABLE:
            possible.append(AvailableAction(ClaimAction.APPEAL, denial_id))
        possible.append(AvailableAction(ClaimAction.WRITE_OFF, denial_id))
        if group == "PR":
            possible.append(AvailableAction(ClaimAction.TRANSFER_TO_PATIENT, denial_id))
        if ClaimState.REPLACED in targets and denial_id not in facts.marked_resend:
            possible.append(AvailableAction(ClaimAction.RESEND, denial_id))
    return [item for item in possible if allowed(role, ACTION_PERMISSIONS[item.action])]


@dataclass(frozen=True)
class ClaimPage:
    claim: Claim
    account_number: str
    #: the claim whose ledger account this claim's money is on (itself, or the encounter's
    #: first claim for a replacement or secondary)
    account_claim_id: int
    #: who acts next (biller, payer, patient, nobody)
    next_actor: str
    lines: tuple[LineView, ...]
    diagnoses: tuple[CodeText, ...]
    history: tuple[Transition, ...]
    documents: tuple[ClaimDocument, ...]
    postings: tuple[PostingView, ...]
    insurance_balance: Decimal
    patient_balance: Decimal
    adjudications: tuple[AdjudicationView, ...]
    denials: tuple[Denial, ...]
    appeals: tuple[Appeal, ...]
    #: claims of the same encounter (replacements, voids, secondaries), by id
    related: tuple[tuple[int, str, str], ...]
    actions: tuple[AvailableAction, ...]

    @property
    def bill_type(self) -> str | None:
        """What an institutional claim's type of bill means (NUBC), None otherwise."""
        from medbill_core.codesets.nubc import bill_type

        details = self.claim.institutional
        return bill_type(details.facility_type_code) if details is not None else None


def _lines(claim: Claim) -> tuple[tuple[LineView, ...], tuple[CodeText, ...]]:
    diagnoses = tuple(_diagnosis(code, claim.service_date_from) for code in claim.diagnoses)
    lines = []
    for line in claim.lines:
        on = line.service_date_from
        pointed = tuple(diagnoses[p - 1] for p in line.diagnosis_pointers
                        if 0 < p <= len(diagnoses))
        # an institutional line may have only its revenue code: no procedure then
        procedure = _procedure(line.procedure_code, on) if line.procedure_code \
            else CodeText("—", None)
        lines.append(LineView(line.line_number, procedure,
                              tuple(_modifier(m, on) for m in line.modifiers), pointed,
                              line.units, line.charge, on, _revenue(line.revenue_code)))
    return tuple(lines), diagnoses


def _postings(work: UnitOfWork, account_id: int) -> tuple[PostingView, ...]:
    rows = work.session.execute(
        select(LedgerEntryRow, PostingRow)
        .join(PostingRow, PostingRow.id == LedgerEntryRow.posting_id)
        .where(LedgerEntryRow.claim_id == account_id)
        .order_by(LedgerEntryRow.effective_date, LedgerEntryRow.id))
    return tuple(PostingView(
        entry.id, entry.effective_date, as_utc(posting.posted_at), entry.kind, entry.amount,
        entry.insurance_delta, entry.patient_delta, entry.payer_key, entry.claim_line_number,
        explain_adjustment(entry.reason_code, entry.effective_date) if entry.reason_code
        else posting.memo, posting.source, posting.actor) for entry, posting in rows)


def _adjustment(item: dict[str, Any], on: date) -> AdjustmentView:
    group, reason = str(item.get("group_code") or ""), str(item.get("reason_code") or "")
    return AdjustmentView(group, reason, to_money(Decimal(str(item.get("amount") or "0"))),
                          explain_adjustment(f"{group}-{reason}" if group else reason, on))


def _status_words(code: str) -> str:
    try:
        return ClaimStatusCode(code).name.lower().replace("_", " ")
    except ValueError:
        return f"status {code}"


def _adjudications(work: UnitOfWork, claim: Claim) -> tuple[AdjudicationView, ...]:
    charges = {line.line_number: line.charge for line in claim.lines}
    views = []
    for row in work.session.scalars(select(ClaimAdjudicationRow)
                                    .where(ClaimAdjudicationRow.claim_id == claim.id)
                                    .order_by(ClaimAdjudicationRow.id)):
        on = row.paid_date
        every = [_adjustment(item, on) for item in row.adjustments or ()]
        lines = []
        line_count = 0
        for item in row.lines or ():
            adjustments = tuple(_adjustment(a, on) for a in item.get("adjustments") or ())
            line_count += len(adjustments)
            paid = to_money(Decimal(str(item.get("paid_amount") or "0")))
            patient = sum((a.amount for a in adjustments if a.group == "PR"), ZERO)
            number = int(item["line_number"])
            lines.append(LineAdjudicationView(number, str(item.get("procedure_code") or ""),
                                              charges.get(number), paid + patient, paid,
                                              adjustments))
        claim_level = tuple(every[:len(every) - line_count]) if row.lines else tuple(every)
        remarks = tuple(CodeText(code, explain_rarc(code, on)) for code in row.remark_codes or ())
        views.append(AdjudicationView(row.payer_key, row.claim_status,
                                      _status_words(row.claim_status), row.paid, on,
                                      claim_level, tuple(lines), remarks,
                                      row.reversed_by is not None))
    return tuple(views)


def claim_facts(work: UnitOfWork, claim: Claim, denials: list[Denial],
                appeals: list[Appeal]) -> ClaimFacts:
    claim_id = int(claim.id or 0)
    shares = claim.account_claim_id is not None or work.session.scalar(
        select(ClaimRow.id).where(or_(ClaimRow.account_claim_id == claim_id,
                                      ClaimRow.replaces_claim_id == claim_id)).limit(1)) \
        is not None
    return ClaimFacts(
        state=claim.state, ever_sent=work.claims.ever_sent(claim_id),
        has_payer=claim.payer_key is not None and claim.coverage_id is not None,
        payer_claim_number=bool(claim.payer_claim_number), shares_account=shares,
        open_denials=tuple((d.id, d.code.partition("-")[0]) for d in denials
                           if d.status in OWED),
        appeal_in_progress=any(a.status in IN_PROGRESS for a in appeals),
        marked_resend=frozenset(d.id for d in denials if d.status is DenialStatus.RESEND))


def claim_page(work: UnitOfWork, claim_id: int) -> ClaimPage:
    """Everything the claim page shows (module docstring).

    :raises NotFound: no such claim in the principal's practice.
    :raises PermissionDenied: the role may not read claims.
    """
    claim = read_claim(work, claim_id, via="workspace")  # the page shows PHI: audited
    account_id = work.claims.account_id(claim)
    account_number = work.session.scalar(
        select(PatientRow.account_number).where(PatientRow.id == claim.patient_id)) or ""
    lines, diagnoses = _lines(claim)
    role = work.principal.role if work.principal is not None else Role.ADMINISTRATOR
    denials = denials_of_claim(work, claim_id) if allowed(role, Action.DENIALS_READ) else []
    appeals = list_appeals_of(work, claim_id) if allowed(role, Action.APPEALS_READ) else []
    balance = work.ledger.claim_balance(account_id)
    related = tuple((number, claim_number, state) for number, claim_number, state in
                    work.session.execute(
        select(ClaimRow.id, ClaimRow.claim_number, ClaimRow.state)
        .where(or_(ClaimRow.id == account_id, ClaimRow.account_claim_id == account_id,
                   ClaimRow.replaces_claim_id == claim_id), ClaimRow.id != claim_id)
        .order_by(ClaimRow.id)))
    return ClaimPage(
        claim=claim, account_number=account_number, account_claim_id=account_id,
        next_actor=NEXT_ACTOR[claim.state], lines=lines, diagnoses=diagnoses,
        history=tuple(work.claims.history(claim_id)),
        documents=tuple(claim_documents(work, claim_id)),
        postings=_postings(work, account_id), insurance_balance=balance.insurance,
        patient_balance=balance.patient, adjudications=_adjudications(work, claim),
        denials=tuple(denials), appeals=tuple(appeals), related=related,
        actions=tuple(available_actions(role, claim_facts(work, claim, denials, appeals))))
