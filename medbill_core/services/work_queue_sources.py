"""What each work queue is made of: the items the practice's records call for now.

Each queue is derived from the services that already find that kind of work (never a second
copy of their rules): the scrubber's edits on drafts, rejected claims' 999/277CA answers,
the denial work items (:mod:`.denials`), the follow-up list (:func:`.receivables.followup`:
no response, underpayments), appeal deadlines (:mod:`.appeals`), unmatched remittance
payments, the collections work list (:mod:`.statements`) and missed plan installments
(:mod:`.payments`). A derived item carries the reason in words (codes explained with the
code sets), the amount at stake, its deadline, a suggested next action, the payer, the
provider and the day the work became due.

The derivation runs as the installation's own work for one practice (no principal): which
queues a person may read is decided by the work-queue actions, not by the services read
here (an auditor reads the scrub queue without the right to scrub).

Each derivation also runs for a :class:`Scope`, the subjects a change touched (claims,
patients, appeals, payment plans): the same rules, their queries narrowed to those
subjects, so a refresh after a change reads a few rows instead of the practice's records
(:mod:`.work_queues` says when). The one derivation cheap in full, the unmatched
remittance payments (a few hundred rows at most, none named by a claim), ignores the
scope and always runs whole.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import select

from medbill_core.app import UnitOfWork
from medbill_core.codesets.explain import (
    explain_adjustment,
    explain_rarc,
    explain_status_pair,
    status_pairs_in,
)
from medbill_core.domain import ClaimState
from medbill_core.money import ZERO
from medbill_core.storage.schema import (
    ClaimAdjudicationRow,
    ClaimRow,
    ClaimTransitionRow,
    DenialRow,
    local_day,
)

if TYPE_CHECKING:
    from medbill_core.services.payments import MissedInstallment

_CHUNK = 1000
#: how far ahead the deadlines queue looks (days)
DEADLINE_WINDOW = 30
#: claims waiting at the payer longer than this (days) go to "no response"
NO_RESPONSE_DAYS = 30
REASON_MAX = 1000


class Queue(StrEnum):
    """One queue per kind of work, in the order a billing office works them."""

    SCRUB = "scrub_failures"
    REJECTIONS = "rejections"
    DENIALS = "denials"
    NO_RESPONSE = "no_response"
    UNDERPAYMENTS = "underpayments"
    DEADLINES = "deadlines"
    REMITTANCE_EXCEPTIONS = "remittance_exceptions"
    PATIENT_BALANCES = "patient_balances"
    MISSED_INSTALLMENTS = "missed_installments"
    INTAKE = "intake"

    @property
    def heading(self) -> str:
        return _TITLES[self]


_TITLES = {
    Queue.SCRUB: "Scrub failures", Queue.REJECTIONS: "Rejections (999 / 277CA)",
    Queue.DENIALS: "Denials", Queue.NO_RESPONSE: f"No response after {NO_RESPONSE_DAYS} days",
    Queue.UNDERPAYMENTS: "Underpayments", Queue.DEADLINES: "Timely filing and appeal deadlines",
    Queue.REMITTANCE_EXCEPTIONS: "Remittance exceptions",
    Queue.PATIENT_BALANCES: "Patient balances: statements and collections",
    Queue.MISSED_INSTALLMENTS: "Missed plan installments",
    Queue.INTAKE: "837 intake: claims held for a person to decide"}


class NextAction(StrEnum):
    """The suggested next step of an item (``words`` says it to a person)."""

    FIX_AND_SCRUB = "fix_and_scrub"
    FIX_AND_RESUBMIT = "fix_and_resubmit"
    CORRECT_AND_RESEND = "correct_and_resend"
    APPEAL = "appeal"
    WRITE_OFF = "write_off"
    TRANSFER_TO_PATIENT = "transfer_to_patient"
    STATUS_CHECK = "status_check"
    REVIEW_UNDERPAYMENT = "review_underpayment"
    SUBMIT = "submit"
    SEND_APPEAL = "send_appeal"
    RESOLVE_EXCEPTION = "resolve_exception"
    SEND_STATEMENT = "send_statement"
    COLLECTIONS_CALL = "collections_call"
    PLAN_FOLLOW_UP = "plan_follow_up"
    RESOLVE_MATCH = "resolve_match"

    @property
    def words(self) -> str:
        return _ACTION_WORDS[self]


_ACTION_WORDS = {
    NextAction.FIX_AND_SCRUB: "fix the claim as the hints say and scrub it again",
    NextAction.FIX_AND_RESUBMIT: "reopen the claim, fix what was rejected and submit it again",
    NextAction.CORRECT_AND_RESEND: "correct the claim and send a replacement (frequency 7)",
    NextAction.APPEAL: "appeal the denial with the records that support the claim",
    NextAction.WRITE_OFF: "write the amount off (manager's approval)",
    NextAction.TRANSFER_TO_PATIENT: "move the patient-responsibility amount to the patient",
    NextAction.STATUS_CHECK: "send a 276 claim status inquiry",
    NextAction.REVIEW_UNDERPAYMENT: "compare with the fee schedule: appeal or resolve the "
                                    "finding",
    NextAction.SUBMIT: "submit the claim before the timely filing limit",
    NextAction.SEND_APPEAL: "send the appeal before its deadline",
    NextAction.RESOLVE_EXCEPTION: "match the payment to its claim and resolve the exception",
    NextAction.SEND_STATEMENT: "send a statement",
    NextAction.COLLECTIONS_CALL: "call the guarantor: a payment or a payment plan",
    NextAction.PLAN_FOLLOW_UP: "call the patient: take the installment or edit the plan",
    NextAction.RESOLVE_MATCH: "settle which record it is (merge duplicates, correct the record "
                              "or ask the practice), then import the file again",
}


@dataclass(frozen=True)
class DerivedItem:
    """One item the records call for now (the derived columns of a work item)."""

    queue: Queue
    subject_type: str
    subject_id: int
    label: str
    reason: str
    amount: Decimal
    deadline: date | None
    action: NextAction
    since: date
    claim_id: int | None = None
    payer_key: str | None = None
    provider_npi: str | None = None
    codes: tuple[str, ...] = field(default=())

    @property
    def key(self) -> str:
        return f"{self.queue.value}:{self.subject_type}:{self.subject_id}"


@dataclass(frozen=True)
class Scope:
    """The subjects a change touched: a derivation for a scope finds the items of these
    subjects only (and the refresh replaces only their stored items)."""

    claims: frozenset[int] = frozenset()
    patients: frozenset[int] = frozenset()
    appeals: frozenset[int] = frozenset()
    #: the patients' payment plans
    plans: frozenset[int] = frozenset()

    def holds(self, subject_type: str, subject_id: int) -> bool:
        """Whether an item of this subject belongs to the scope (subjects of the cheap,
        always whole derivations always do)."""
        found = {"claim": self.claims, "patient": self.patients, "appeal": self.appeals,
                 "plan": self.plans}
        return subject_id in found[subject_type] if subject_type in found else True

    def subjects(self, queue: Queue) -> list[tuple[str, Collection[int]]]:
        """The (subject type, ids) the queue's items of this scope may have; empty for a
        queue derived whole whatever the scope."""
        if queue in WHOLE:
            return []
        if queue is Queue.PATIENT_BALANCES:
            return [("patient", self.patients)]
        if queue is Queue.MISSED_INSTALLMENTS:
            return [("plan", self.plans)]
        if queue is Queue.DEADLINES:
            return [("claim", self.claims), ("appeal", self.appeals)]
        return [("claim", self.claims)]


def _reason(parts: Iterable[str]) -> str:
    text = "; ".join(part for part in parts if part)
    return text if len(text) <= REASON_MAX else text[:REASON_MAX - 1] + "…"


def _chunks(ids: Iterable[int]) -> Iterator[list[int]]:
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), _CHUNK):
        yield ordered[start:start + _CHUNK]


@dataclass(frozen=True)
class _ClaimFacts:
    id: int
    number: str
    payer_key: str | None
    npi: str
    service_date: date
    charge: Decimal
    state: str


_FACT_COLUMNS = (ClaimRow.id, ClaimRow.claim_number, ClaimRow.payer_key,
                 ClaimRow.rendering_provider_npi, ClaimRow.billing_provider_npi,
                 ClaimRow.service_date_from, ClaimRow.total_charge, ClaimRow.state)


def _facts(rows: Iterable[Any]) -> dict[int, _ClaimFacts]:
    return {row[0]: _ClaimFacts(row[0], row[1], row[2], row[3] or row[4], row[5], row[6],
                                row[7]) for row in rows}


def _claims_by_id(work: UnitOfWork, ids: Iterable[int]) -> dict[int, _ClaimFacts]:
    result: dict[int, _ClaimFacts] = {}
    for chunk in _chunks(ids):
        result.update(_facts(work.session.execute(
            select(*_FACT_COLUMNS).where(ClaimRow.id.in_(chunk))).all()))
    return result


def _claims_in(work: UnitOfWork, states: Sequence[ClaimState],
               scope: Scope | None = None) -> dict[int, _ClaimFacts]:
    """The claims in ``states`` (of the scope's claims, when given)."""
    wanted = ClaimRow.state.in_([state.value for state in states])
    if scope is None:
        return _facts(work.session.execute(select(*_FACT_COLUMNS).where(wanted)).all())
    result: dict[int, _ClaimFacts] = {}
    for chunk in _chunks(scope.claims):
        result.update(_facts(work.session.execute(select(*_FACT_COLUMNS).where(
            wanted, ClaimRow.id.in_(chunk))).all()))
    return result


def _filing_deadline(work: UnitOfWork, claim: _ClaimFacts) -> date | None:
    payer = work.app.config.payers.get(claim.payer_key or "")
    return None if payer is None else claim.service_date + timedelta(
        days=payer.timely_filing_days)


def _latest_moves(work: UnitOfWork, claim_ids: Iterable[int],
                  target: ClaimState) -> dict[int, tuple[date, str]]:
    """Claim id -> (day, reason) of its latest move to ``target``."""
    result: dict[int, tuple[date, str]] = {}
    for chunk in _chunks(claim_ids):
        for claim_id, at, reason in work.session.execute(
                select(ClaimTransitionRow.claim_id, ClaimTransitionRow.at,
                       ClaimTransitionRow.reason)
                .where(ClaimTransitionRow.claim_id.in_(chunk),
                       ClaimTransitionRow.target == target.value)
                .order_by(ClaimTransitionRow.id)):
            result[claim_id] = (local_day(at), reason or "")
    return result


# -- the queues --------------------------------------------------------------------------------

def scrub_failures(work: UnitOfWork, today: date,
                   scope: Scope | None = None) -> list[DerivedItem]:
    """Drafts the enabled plugins' edits block, each finding with its fix hint."""
    from medbill_core.services.scrubbing import scrub_claims

    drafts = _claims_in(work, [ClaimState.DRAFT], scope)
    if not drafts:
        return []
    created: dict[int, Any] = {}
    for chunk in _chunks(drafts):
        created.update(work.session.execute(select(ClaimRow.id, ClaimRow.created_at).where(
            ClaimRow.id.in_(chunk))).all())
    report = scrub_claims(work, sorted(drafts), validate=False)
    items = []
    for result in report.results:
        blocking = [f for f in result.findings if f.blocks_submission]
        if not blocking:
            continue
        claim = drafts[result.claim_id]
        items.append(DerivedItem(
            Queue.SCRUB, "claim", claim.id, claim.number, _reason(
                f"{f.code}: {f.message}" + (f" (fix: {f.fix_hint})" if f.fix_hint else "")
                for f in blocking),
            claim.charge, _filing_deadline(work, claim), NextAction.FIX_AND_SCRUB,
            local_day(created[claim.id]), claim.id, claim.payer_key, claim.npi,
            tuple(f.code for f in blocking)))
    return items


def _rejection_words(reason: str) -> tuple[str, tuple[str, ...]]:
    """A rejection's recorded reason in words: a 277CA's status pairs explained (a 999's
    reason was written in words when it was applied)."""
    pairs = status_pairs_in(reason)
    if not pairs:
        return reason, ()
    message = reason.split(maxsplit=2)[2] if len(reason.split(maxsplit=2)) > 2 else ""
    words = [explain_status_pair(category, code) for category, code in pairs]
    return _reason(["277CA rejected", *words, message]), tuple(
        f"{category}:{code}" for category, code in pairs)


def rejections(work: UnitOfWork, today: date,
               scope: Scope | None = None) -> list[DerivedItem]:
    """Claims a clearinghouse (999) or payer (277CA) rejected: fix and resubmit."""
    claims = _claims_in(work, [ClaimState.REJECTED], scope)
    moves = _latest_moves(work, claims, ClaimState.REJECTED)
    items = []
    for claim in claims.values():
        day, recorded = moves.get(claim.id, (today, ""))
        words, codes = _rejection_words(recorded)
        items.append(DerivedItem(
            Queue.REJECTIONS, "claim", claim.id, claim.number, words or "rejected",
            claim.charge, _filing_deadline(work, claim), NextAction.FIX_AND_RESUBMIT, day,
            claim.id, claim.payer_key, claim.npi, codes))
    return items


#: CARCs a corrected claim answers (missing or invalid data, coding): correct and resend
_CORRECTABLE = frozenset({"4", "5", "6", "7", "8", "9", "10", "11", "15", "16", "125", "146",
                          "181", "182", "189", "199", "206", "A1", "B7", "B8"})
#: CARCs nothing but a write-off settles (unless the practice has proof)
_WRITE_OFF = frozenset({"18", "29", "119", "B13"})


def denial_action(codes: Sequence[str]) -> NextAction:
    """The suggested step for a claim's open denials (``GROUP-CARC`` codes): the patient's
    share moves to the patient; missing or invalid data is corrected and resent; a duplicate,
    an expired filing limit or a used-up benefit is written off; anything else is appealed."""
    reasons = [code.partition("-")[2] for code in codes]
    if codes and all(code.startswith("PR-") for code in codes):
        return NextAction.TRANSFER_TO_PATIENT
    if any(reason in _CORRECTABLE for reason in reasons):
        return NextAction.CORRECT_AND_RESEND
    if reasons and all(reason in _WRITE_OFF for reason in reasons):
        return NextAction.WRITE_OFF
    return NextAction.APPEAL


def _remarks(work: UnitOfWork, claim_ids: Iterable[int]) -> dict[int, list[str]]:
    """Claim id -> the remark codes (RARC) of the payer's latest answer."""
    result: dict[int, list[str]] = {}
    for chunk in _chunks(claim_ids):
        for claim_id, codes in work.session.execute(
                select(ClaimAdjudicationRow.claim_id, ClaimAdjudicationRow.remark_codes)
                .where(ClaimAdjudicationRow.claim_id.in_(chunk))
                .order_by(ClaimAdjudicationRow.id)):
            result[claim_id] = list(codes or [])
    return result


@dataclass(frozen=True)
class _OpenDenial:
    id: int
    claim_id: int
    payer_key: str
    code: str
    amount: Decimal
    denied_on: date


def _open_denials(work: UnitOfWork, scope: Scope | None = None) -> list[_OpenDenial]:
    """The denial work items still to work (status ``open``), as plain values from their
    status index: the denials service's items (:mod:`.denials`) without loading each claim
    as a record (the queue reads the few claim columns it shows on its own)."""
    from medbill_core.services.denials import DenialStatus

    query = select(DenialRow.id, DenialRow.claim_id, DenialRow.payer_key,
                   DenialRow.group_code, DenialRow.reason_code, DenialRow.amount,
                   DenialRow.denied_on).where(DenialRow.status == DenialStatus.OPEN.value)
    queries = [query] if scope is None else [
        query.where(DenialRow.claim_id.in_(chunk)) for chunk in _chunks(scope.claims)]
    return [_OpenDenial(row.id, row.claim_id, row.payer_key,
                        f"{row.group_code}-{row.reason_code}", row.amount, row.denied_on)
            for each in queries for row in work.session.execute(each)]


def denials(work: UnitOfWork, today: date, scope: Scope | None = None) -> list[DerivedItem]:
    """Claims with denial items still to work (status ``open``: once appealed, sent for
    correction, written off or moved to the patient, the item waits elsewhere), one item per
    claim: the amounts summed, each CARC and RARC in words, the appeal deadline by the one
    rule of :func:`~medbill_core.services.appeals.appeal_deadlines`."""
    from medbill_core.services.appeals import appeal_deadlines

    by_claim: dict[int, list[_OpenDenial]] = {}
    for denial in _open_denials(work, scope):
        by_claim.setdefault(denial.claim_id, []).append(denial)
    claims = _claims_by_id(work, by_claim)
    remarks = _remarks(work, by_claim)
    deadlines = appeal_deadlines(work, sorted({(claim_id, found[0].payer_key)
                                               for claim_id, found in by_claim.items()}))
    items = []
    for claim_id, found in by_claim.items():
        rows = sorted(found, key=lambda d: d.id)
        codes = tuple(dict.fromkeys(d.code for d in rows))
        claim = claims[claim_id]
        words = [explain_adjustment(code) for code in codes]
        words += [explain_rarc(code) for code in remarks.get(claim_id, [])]
        items.append(DerivedItem(
            Queue.DENIALS, "claim", claim_id, claim.number, _reason(words),
            sum((d.amount for d in rows), ZERO), deadlines.get(claim_id),
            denial_action(codes), min(d.denied_on for d in rows),
            claim_id, claim.payer_key, claim.npi,
            codes + tuple(remarks.get(claim_id, []))))
    return items


def _followup_items(work: UnitOfWork, today: date, queue: Queue,
                    scope: Scope | None) -> list[DerivedItem]:
    from medbill_core.services.receivables import FollowUpAction, followup

    wanted = {Queue.NO_RESPONSE: FollowUpAction.STATUS_INQUIRY,
              Queue.UNDERPAYMENTS: FollowUpAction.UNDERPAYMENT}[queue]
    found = [item for item in followup(work, older_than=NO_RESPONSE_DAYS, as_of=today,
                                       claim_ids=None if scope is None else scope.claims)
             if item.action is wanted]
    claims = _claims_by_id(work, (item.claim_id for item in found))
    items = []
    for item in found:
        claim = claims[item.claim_id]
        if queue is Queue.NO_RESPONSE:
            sent = item.submitted_on or item.service_date
            items.append(DerivedItem(
                queue, "claim", item.claim_id, item.claim_number,
                f"sent {sent.isoformat()}, no answer from the payer for "
                f"{item.days_since_submission} days (claim {item.state.label})",
                item.insurance_balance if item.insurance_balance > ZERO else item.charge,
                item.filing_deadline, NextAction.STATUS_CHECK, sent, item.claim_id,
                item.payer_key, claim.npi))
            continue
        expected, allowed, paid = item.expected_amount, item.allowed_amount, item.paid_amount
        if expected is not None and allowed is not None and expected > allowed:
            # the shortfall is the allowed amount's, never the payment's: what the payer
            # allowed but left to the patient (deductible, coinsurance) is owed by the patient
            amount = expected - allowed
            words = [f"allowed {allowed} where the fee schedule expects {expected}"
                     + ("" if paid is None else f" (paid {paid})")]
        else:
            amount = item.insurance_balance
            words = [f"partially paid: the payer still owes {item.insurance_balance}"]
        words += [finding.message for finding in item.findings]
        since = min((finding.found_on for finding in item.findings),
                    default=item.submitted_on or item.service_date)
        items.append(DerivedItem(
            queue, "claim", item.claim_id, item.claim_number, _reason(words), amount,
            item.filing_deadline, NextAction.REVIEW_UNDERPAYMENT, since, item.claim_id,
            item.payer_key, claim.npi, tuple(finding.code for finding in item.findings)))
    return items


def no_response(work: UnitOfWork, today: date,
                scope: Scope | None = None) -> list[DerivedItem]:
    """Claims at the payer with no answer for more than :data:`NO_RESPONSE_DAYS` days."""
    return _followup_items(work, today, Queue.NO_RESPONSE, scope)


def underpayments(work: UnitOfWork, today: date,
                  scope: Scope | None = None) -> list[DerivedItem]:
    """Answers paid below the fee schedule (adapters' findings) or partially paid claims
    the payer still owes on."""
    return _followup_items(work, today, Queue.UNDERPAYMENTS, scope)


def deadlines(work: UnitOfWork, today: date, scope: Scope | None = None) -> list[DerivedItem]:
    """Deadlines within :data:`DEADLINE_WINDOW` days (or passed): claims not yet sent by the
    payer's timely-filing limit, and appeals opened but not sent by their deadline (a
    denied claim's appeal deadline is on the denials queue already)."""
    from medbill_core.services.appeals import AppealStatus, list_appeals

    horizon = today + timedelta(days=DEADLINE_WINDOW)
    unsent = _claims_in(work, [ClaimState.DRAFT, ClaimState.VALIDATED, ClaimState.REJECTED],
                        scope)
    items = []
    for claim in unsent.values():
        limit = _filing_deadline(work, claim)
        if limit is None or limit > horizon:
            continue
        passed = limit < today
        items.append(DerivedItem(
            Queue.DEADLINES, "claim", claim.id, claim.number,
            f"timely filing limit {limit.isoformat()} "
            + ("passed" if passed else f"in {(limit - today).days} days")
            + f"; claim {ClaimState(claim.state).label}, not yet accepted by the payer",
            claim.charge, limit, NextAction.SUBMIT, claim.service_date, claim.id,
            claim.payer_key, claim.npi))
    # open appeals are few (each one a person opened): read whole, kept to the scope
    appeals = [a for a in list_appeals(work, AppealStatus.OPEN)
               if a.deadline is not None and a.deadline <= horizon
               and (scope is None or scope.holds("appeal", a.id))]
    claims = _claims_by_id(work, (a.claim_id for a in appeals))
    for appeal in appeals:
        claim = claims[appeal.claim_id]
        assert appeal.deadline is not None  # filtered above
        items.append(DerivedItem(
            Queue.DEADLINES, "appeal", appeal.id, claim.number,
            f"level {appeal.level} appeal opened {appeal.opened_on.isoformat()}, not sent; "
            f"the payer's deadline is {appeal.deadline.isoformat()}: " + "; ".join(
                explain_adjustment(code) for code in appeal.denial_codes),
            claim.charge, appeal.deadline, NextAction.SEND_APPEAL, appeal.opened_on, claim.id,
            claim.payer_key, claim.npi, tuple(appeal.denial_codes)))
    return items


def remittance_exceptions(work: UnitOfWork, today: date,
                          scope: Scope | None = None) -> list[DerivedItem]:
    """835 claim payments that matched no claim, unresolved."""
    from medbill_core.services.receivables import remittance_exceptions as unmatched

    return [DerivedItem(
        Queue.REMITTANCE_EXCEPTIONS, "remittance_exception", item.id,
        f"{item.trace_number[:30]} / {item.claim_number[:25]}",
        f"{item.reason} (trace {item.trace_number}, claim number as sent "
        f"{item.claim_number})", item.paid, None, NextAction.RESOLVE_EXCEPTION,
        item.received_on) for item in unmatched(work)]


def patient_balances(work: UnitOfWork, today: date,
                     scope: Scope | None = None) -> list[DerivedItem]:
    """Guarantors owing money (the collections work list): a first statement, or the next
    dunning step. A scope's patients come with their whole families (a family's item is
    its first owing member's)."""
    from medbill_core.services.statements import collections_worklist

    items = []
    for item in collections_worklist(work, as_of=today,
                                     patients=None if scope is None else scope.patients):
        words = [f"owes {item.balance}, oldest balance {item.oldest_days} days",
                 f"dunning stage: {item.stage_name}",
                 f"{item.statements_sent} statements sent"]
        if item.on_plan:
            words.append("on a payment plan")
        action = NextAction.SEND_STATEMENT if item.statements_sent == 0 or item.stage == 0 \
            else NextAction.COLLECTIONS_CALL
        items.append(DerivedItem(
            Queue.PATIENT_BALANCES, "patient", item.patient_id, item.account_number,
            _reason(words), item.balance, None, action,
            today - timedelta(days=item.oldest_days)))
    return items


def missed_installments(work: UnitOfWork, today: date,
                        scope: Scope | None = None) -> list[DerivedItem]:
    """Payment plans with installments past due (beyond the grace days), one item per plan."""
    from medbill_core.services.payments import missed_installments as missed

    by_plan: dict[int, list[MissedInstallment]] = {}
    for installment in missed(work, as_of=today,
                              patient_ids=None if scope is None else scope.patients):
        by_plan.setdefault(installment.plan_id, []).append(installment)
    items = []
    for plan_id, found in by_plan.items():
        rows = sorted(found, key=lambda i: i.sequence)
        first = rows[0]
        items.append(DerivedItem(
            Queue.MISSED_INSTALLMENTS, "plan", plan_id, first.account_number,
            _reason(f"installment {i.sequence} due {i.due_date.isoformat()}: "
                    f"{i.amount_due} unpaid, {i.days_late} days late" for i in rows),
            sum((i.amount_due for i in rows), ZERO), None, NextAction.PLAN_FOLLOW_UP,
            first.due_date))
    return items


def intake(work: UnitOfWork, today: date, scope: Scope | None = None) -> list[DerivedItem]:
    """Claims an 837 import held on an ambiguous match (:mod:`.claim_intake`), not imported
    since: the file, CLM01, what is ambiguous and the candidate records' ids."""
    from medbill_core.services.claim_intake import held_claims

    items = []
    for held in held_claims(work):
        label = held.claim_number or f"segment {held.position}"
        candidates = ", ".join(str(candidate) for candidate in held.candidates)
        items.append(DerivedItem(
            Queue.INTAKE, "claim_import_claim", held.id, label[:60],
            _reason([f"{held.file_name} (import {held.import_id}), claim "
                     f"{held.claim_number or '?'} at segment {held.position}",
                     f"{held.field}: {held.reason}",
                     f"candidate records: {candidates}" if candidates else ""]),
            held.charge, None, NextAction.RESOLVE_MATCH, held.since))
    return items


class Source(Protocol):
    """A queue's derivation: every item the records call for, or a scope's."""

    def __call__(self, work: UnitOfWork, today: date,
                 scope: Scope | None = None) -> list[DerivedItem]: ...


#: the queues whose derivation ignores a scope (cheap in full: see the module docstring)
WHOLE = frozenset({Queue.REMITTANCE_EXCEPTIONS, Queue.INTAKE})

#: each queue's derivation
SOURCES: dict[Queue, Source] = {
    Queue.SCRUB: scrub_failures, Queue.REJECTIONS: rejections, Queue.DENIALS: denials,
    Queue.NO_RESPONSE: no_response, Queue.UNDERPAYMENTS: underpayments,
    Queue.DEADLINES: deadlines, Queue.REMITTANCE_EXCEPTIONS: remittance_exceptions,
    Queue.PATIENT_BALANCES: patient_balances, Queue.MISSED_INSTALLMENTS: missed_installments,
    Queue.INTAKE: intake}


def derive(work: UnitOfWork, queue: Queue, today: date,
           scope: Scope | None = None) -> list[DerivedItem]:
    """The items ``queue`` calls for now (one per subject): all of them, or those of the
    scope's subjects."""
    unique: dict[str, DerivedItem] = {}
    for item in SOURCES[queue](work, today, None if queue in WHOLE else scope):
        if scope is None or scope.holds(item.subject_type, item.subject_id):
            unique.setdefault(item.key, item)
    return list(unique.values())

