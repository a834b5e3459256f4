"""Work queues: the billing team's to-do lists, kept in line with the records.

A queue lists the work one kind of problem calls for (:mod:`.work_queue_sources` derives
each from the services that already find it). What people add to an item survives: who it
is assigned to, notes, a snooze. An item is **closed** when the data stops calling for it
(the denial was appealed, the claim resubmitted, the exception resolved): ``closed_at`` and
``closed_by``, the actor whose change resolved the subject (the latest change to it since
the item opened: a claim's move, a denial's decision, an appeal, a resolved finding or
exception, a payment), else ``system`` (the date alone moved it off, or a configuration
change). The same subject needing work again later is a new item.

Refresh
-------
Reading a queue first brings its stored items in line with the data (:func:`refresh`), set
based: the queue's derivation (a few queries per thousand subjects), then one insert of the
new items, one update per changed item and one update closing the gone ones. It is skipped
while nothing changed: every service records its changes in the audit trail, so a queue
refreshed when the practice's latest audit event was N, on the same day, is still right
while that is still N (the queues' own events, assignments, notes and snoozes, and audited
reads do not count: :func:`audit_head`). Reads therefore stay cheap (the page is one
indexed query). Closures are not audited themselves: the change that resolved the subject
is, under its actor, and ``closed_by`` names that actor.

After a change the refresh is **incremental**: the audit events since the queue's mark name
the subjects they touched (:func:`touched`: claims, patients, appeals, widened to what
their items depend on: a claim's patient and the claims sharing its account, a patient's
whole family, claims and plans, a claim's appeals), and only those subjects' items are derived
again (:class:`~.work_queue_sources.Scope`: the same rules, their queries narrowed to those
subjects) and replaced; the rest of the stored items stay as they are, unchanged by an
event that did not name them. A billing team changes records all day, so this is the read
after nearly every change: a few indexed queries instead of the practice's whole records
(seconds on 100,000 claims). The full derivation stays the fallback, and is what the
incremental one is tested against (equal items after random changes): on the first read, on
a new day (deadlines, ages and priorities move with the date), when forced, when an event
names something the mapping does not know (a new kind of record: better slow than wrong)
or when the change touched more than :data:`INCREMENTAL_LIMIT` subjects (a whole 835 run:
one full pass is then cheaper than narrowed ones). The new day's full derivation is the
workers' (the daily ``work-queues`` job, just after midnight) where they run, so a day's
first read is as cheap as the others.

Why not refresh off the read path (a worker or a post-commit hook)? The page would show
what the data called for before the change a biller just made (the denial just appealed
still listed) until the worker caught up, and a post-commit refresh would put the seconds
of a full derivation on every write. Incremental refresh keeps the page exactly in line with
the data at a cost proportional to the change.

Priority
--------
Money at stake and urgency: ``priority = amount in cents // days left`` (higher first), where
``days left`` is the days to the item's deadline (at least 1: a deadline today or passed
ranks as if one day were left), or, for an item without a deadline,
``max(1, 120 - age in days)``: the 120 days after which A/R is counted as hard to collect
stand in for a deadline, so an older item ranks higher. So $500 due in 5 days (10,000)
ranks above $2,000 due in 60 days (3,333), and both above $100 with no deadline aged 20
days (100). Ties: the newer item id first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, tuple_, update
from sqlalchemy.exc import IntegrityError

from medbill_core import audit
from medbill_core.app import Medbill, UnitOfWork
from medbill_core.domain.identity import PrincipalKind
from medbill_core.errors import NotFound, ValidationFailed
from medbill_core.money import CENT, MAX_AMOUNT, ZERO, to_money
from medbill_core.permissions import Action
from medbill_core.services.work_queue_sources import (
    WHOLE,
    DerivedItem,
    NextAction,
    Queue,
    Scope,
    derive,
)
from medbill_core.storage import tenancy
from medbill_core.storage.schema import (
    AppealRow,
    AuditEventRow,
    ClaimRow,
    ClaimTransitionRow,
    CoverageRow,
    DenialRow,
    LedgerEntryRow,
    MembershipRow,
    PatientRow,
    PaymentPlanRow,
    PaymentRow,
    RemittanceExceptionRow,
    RemittanceFindingRow,
    UserRow,
    WorkItemNoteRow,
    WorkItemRow,
    WorkQueueRefreshRow,
    as_utc,
    local_day,
    utcnow,
)

SYSTEM = "system"
#: the age that stands in for a deadline (A/R over 120 days: hard to collect)
AGE_HORIZON = 120
NOTE_MAX = 2000
#: the oldest a filter's age may ask for (a hundred years, as the API's and the pages' query)
MAX_AGE_DAYS = 36500
#: assignee filter values that are not user names
UNASSIGNED, ME = "unassigned", "me"
_CHUNK = 500


#: the ranking rule in words, as the pages show it beside the queue
PRIORITY_RULE = ("priority = amount in cents ÷ days left to the deadline (at least 1; a passed "
                 "deadline counts as 1); without a deadline, days left = 120 − age in days "
                 "(at least 1). Higher first.")


def priority(amount: Decimal, deadline: date | None, since: date, today: date) -> int:
    """Cents at stake per day left (the formula: the module docstring)."""
    if deadline is not None:
        left = max(1, (deadline - today).days)
    else:
        left = max(1, AGE_HORIZON - (today - since).days)
    return int(amount / CENT) // left


# -- reading -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class WorkItem:
    """A work item as people see it."""

    id: int
    queue: Queue
    subject_type: str
    subject_id: int
    claim_id: int | None
    label: str
    reason: str
    codes: tuple[str, ...]
    amount: Decimal
    deadline: date | None
    action: NextAction
    payer_key: str | None
    provider_npi: str | None
    since: date
    priority: int
    assignee: str | None
    snoozed_until: date | None
    opened_on: date
    closed_on: date | None
    closed_by: str | None
    notes: int = 0

    def age(self, today: date | None = None) -> int:
        return max(0, ((today or date.today()) - self.since).days)

    def days_left(self, today: date | None = None) -> int | None:
        return None if self.deadline is None else (self.deadline - (today or date.today())).days

    def as_json(self, today: date | None = None) -> dict[str, Any]:
        return {"id": self.id, "queue": self.queue.value, "subject_type": self.subject_type,
                "subject_id": self.subject_id, "claim_id": self.claim_id,
                "label": self.label, "reason": self.reason, "codes": list(self.codes),
                "amount": str(self.amount),
                "deadline": self.deadline.isoformat() if self.deadline else None,
                "days_left": self.days_left(today), "action": self.action.value,
                "action_words": self.action.words, "payer": self.payer_key,
                "provider_npi": self.provider_npi, "since": self.since.isoformat(),
                "age_days": self.age(today), "priority": self.priority,
                "assignee": self.assignee,
                "snoozed_until": self.snoozed_until.isoformat() if self.snoozed_until
                else None, "opened_on": self.opened_on.isoformat(),
                "closed_on": self.closed_on.isoformat() if self.closed_on else None,
                "closed_by": self.closed_by, "notes": self.notes}


def _item(row: WorkItemRow, notes: int = 0) -> WorkItem:
    return WorkItem(row.id, Queue(row.queue), row.subject_type, row.subject_id, row.claim_id,
                    row.label, row.reason, tuple(row.codes or ()), row.amount, row.deadline,
                    NextAction(row.action), row.payer_key, row.provider_npi, row.since,
                    row.priority, row.assignee, row.snoozed_until, local_day(row.opened_at),
                    local_day(row.closed_at) if row.closed_at else None, row.closed_by, notes)


@dataclass(frozen=True)
class QueueFilter:
    """What a queue's list shows: all its open, unsnoozed items unless narrowed."""

    payer_key: str | None = None
    provider_npi: str | None = None
    min_age: int | None = None
    max_age: int | None = None
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    #: a user name, :data:`UNASSIGNED` or :data:`ME`
    assignee: str | None = None
    include_snoozed: bool = False

    def check(self) -> None:
        """:raises ValidationFailed: a bound is negative, an amount more than
        :data:`~medbill_core.money.MAX_AMOUNT` (or not in cents), or a range is upside
        down."""
        problems = []
        for name, value in (("min_age", self.min_age), ("max_age", self.max_age),
                            ("min_amount", self.min_amount), ("max_amount", self.max_amount)):
            if value is not None and value < 0:
                problems.append((name, "must not be negative"))
        for name, amount in (("min_amount", self.min_amount), ("max_amount", self.max_amount)):
            if amount is not None and amount > MAX_AMOUNT:  # compared with BIGINT cents
                problems.append((name, f"must not be more than {MAX_AMOUNT:,}"))
        for name, days in (("min_age", self.min_age), ("max_age", self.max_age)):
            if days is not None and days > MAX_AGE_DAYS:  # today - days: a date before year 1
                problems.append((name, f"must be at most {MAX_AGE_DAYS} days"))
        if self.min_age is not None and self.max_age is not None and self.min_age > self.max_age:
            problems.append(("max_age", f"is less than min_age {self.min_age}"))
        if self.min_amount is not None and self.max_amount is not None \
                and self.min_amount > self.max_amount:
            problems.append(("max_amount", f"is less than min_amount {self.min_amount}"))
        if problems:
            raise ValidationFailed("queue filter", problems)


def _conditions(work: UnitOfWork, queue: Queue, chosen: QueueFilter,
                today: date) -> list[Any]:
    conditions: list[Any] = [WorkItemRow.queue == queue.value, WorkItemRow.closed_at.is_(None)]
    if not chosen.include_snoozed:
        conditions.append(or_(WorkItemRow.snoozed_until.is_(None),
                              WorkItemRow.snoozed_until <= today))
    if chosen.payer_key is not None:
        conditions.append(WorkItemRow.payer_key == chosen.payer_key)
    if chosen.provider_npi is not None:
        conditions.append(WorkItemRow.provider_npi == chosen.provider_npi)
    if chosen.min_age is not None:
        conditions.append(WorkItemRow.since <= today - timedelta(days=chosen.min_age))
    if chosen.max_age is not None:
        conditions.append(WorkItemRow.since >= today - timedelta(days=chosen.max_age))
    if chosen.min_amount is not None:
        conditions.append(WorkItemRow.amount >= chosen.min_amount)
    if chosen.max_amount is not None:
        conditions.append(WorkItemRow.amount <= chosen.max_amount)
    if chosen.assignee == UNASSIGNED:
        conditions.append(WorkItemRow.assignee.is_(None))
    elif chosen.assignee == ME:
        conditions.append(WorkItemRow.assignee == _own_name(work))
    elif chosen.assignee is not None:
        conditions.append(WorkItemRow.assignee == chosen.assignee)
    return conditions


def queue_items(work: UnitOfWork, queue: Queue | str, *, chosen: QueueFilter | None = None,
                after: tuple[int, int] | None = None, limit: int = 50,
                today: date | None = None) -> list[WorkItem]:
    """A page of the queue's open items, highest priority first (then newest): those after
    the sort key ``after`` (``(priority, id)`` of the last item of the page before). Call
    :func:`refresh` first (:func:`read_queue` does).

    :raises ValidationFailed: an unknown queue or a bad filter.
    """
    work.require(Action.QUEUES_READ)
    queue = parse_queue(queue)
    chosen = chosen or QueueFilter()
    chosen.check()
    today = today or date.today()
    conditions = _conditions(work, queue, chosen, today)
    if after is not None:
        conditions.append(tuple_(WorkItemRow.priority, WorkItemRow.id) < tuple_(*after))
    rows = list(work.session.scalars(select(WorkItemRow).where(*conditions).order_by(
        WorkItemRow.priority.desc(), WorkItemRow.id.desc()).limit(limit)))
    counts = _note_counts(work, [row.id for row in rows])
    return [_item(row, counts.get(row.id, 0)) for row in rows]


def _note_counts(work: UnitOfWork, ids: Sequence[int]) -> dict[int, int]:
    if not ids:
        return {}
    return dict(work.session.execute(
        select(WorkItemNoteRow.work_item_id, func.count()).where(
            WorkItemNoteRow.work_item_id.in_(ids)).group_by(
            WorkItemNoteRow.work_item_id)).all())


def parse_queue(queue: Queue | str) -> Queue:
    """:raises ValidationFailed: not a queue's name (the message lists them)."""
    try:
        return Queue(queue)
    except ValueError:
        raise ValidationFailed("work queue", [("queue", "must be one of " + ", ".join(
            q.value for q in Queue))]) from None


def read_queue(app: Medbill, principal: Any, queue: Queue | str, *,
               chosen: QueueFilter | None = None, after: tuple[int, int] | None = None,
               limit: int = 50, today: date | None = None) -> list[WorkItem]:
    """Refresh the queue (when the data changed) and read a page of it as ``principal``."""
    queue = parse_queue(queue)
    app.require(Action.QUEUES_READ, principal=principal)
    refresh(app, queue, principal=principal, today=today)
    with app.unit_of_work(principal=principal, read_only=True) as work:
        return queue_items(work, queue, chosen=chosen, after=after, limit=limit, today=today)


@dataclass(frozen=True)
class QueueSummary:
    queue: Queue
    count: int
    amount: Decimal
    oldest_deadline: date | None
    snoozed: int
    unassigned: int

    def as_json(self) -> dict[str, Any]:
        return {"queue": self.queue.value, "title": self.queue.heading, "count": self.count,
                "amount": str(self.amount),
                "oldest_deadline": self.oldest_deadline.isoformat()
                if self.oldest_deadline else None,
                "snoozed": self.snoozed, "unassigned": self.unassigned}


def summaries(work: UnitOfWork, *, today: date | None = None) -> list[QueueSummary]:
    """Every queue: its open items (snoozed ones apart), their amount, the earliest
    deadline, how many are snoozed and how many nobody has taken."""
    work.require(Action.QUEUES_READ)
    today = today or date.today()
    snoozed = and_(WorkItemRow.snoozed_until.is_not(None), WorkItemRow.snoozed_until > today)
    active = ~snoozed
    found: dict[str, QueueSummary] = {}
    for queue, count, amount, deadline, asleep, unassigned in work.session.execute(
            select(WorkItemRow.queue,
                   func.count().filter(active),
                   func.coalesce(func.sum(WorkItemRow.amount).filter(active), 0),
                   func.min(WorkItemRow.deadline).filter(active),
                   func.count().filter(snoozed),
                   func.count().filter(and_(active, WorkItemRow.assignee.is_(None))))
            .where(WorkItemRow.closed_at.is_(None)).group_by(WorkItemRow.queue)):
        found[queue] = QueueSummary(Queue(queue), count, to_money(amount),  # Cents: dollars
                                    deadline, asleep, unassigned)
    return [found.get(q.value, QueueSummary(q, 0, ZERO, None, 0, 0)) for q in Queue]


def read_summaries(app: Medbill, principal: Any, *,
                   today: date | None = None) -> list[QueueSummary]:
    """Refresh every queue (those whose data changed) and summarise them."""
    app.require(Action.QUEUES_READ, principal=principal)
    scopes: dict[tuple[int, int], Scope | None] = {}  # the queues' marks are mostly one
    for queue in stale_queues(app, principal, today=today):
        refresh(app, queue, principal=principal, today=today, scopes=scopes)
    with app.unit_of_work(principal=principal, read_only=True) as work:
        return summaries(work, today=today)


def stale_queues(app: Medbill, principal: Any, *, today: date | None = None) -> list[Queue]:
    """The queues whose items may be out of line with the data (one look at the audit
    trail's head and the refresh marks, for every queue at once)."""
    today = today or date.today()
    practice_id = _practice_of(app, principal)
    if practice_id is None:
        return []
    with app.unit_of_work(SYSTEM, practice_id=practice_id, read_only=True) as work:
        mark = audit_head(work, practice_id)
        fresh = {row.queue for row in work.session.scalars(select(WorkQueueRefreshRow))
                 if row.watermark == mark and row.refreshed_on == today}
    return [queue for queue in Queue if queue.value not in fresh]


def get_item(work: UnitOfWork, item_id: int) -> WorkItem:
    """:raises NotFound: no such item in this practice."""
    work.require(Action.QUEUES_READ)
    row = _row(work, item_id)
    return _item(row, _note_counts(work, [row.id]).get(row.id, 0))


def _row(work: UnitOfWork, item_id: int) -> WorkItemRow:
    row = work.session.get(WorkItemRow, item_id)
    if row is None:
        raise NotFound("work item", item_id)
    return row


@dataclass(frozen=True)
class Note:
    id: int
    author: str
    at: datetime
    text: str

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "author": self.author, "at": as_utc(self.at).isoformat(),
                "text": self.text}


def notes(work: UnitOfWork, item_id: int) -> list[Note]:
    """The item's notes, oldest first."""
    work.require(Action.QUEUES_READ)
    _row(work, item_id)
    return [Note(row.id, row.author, row.at, row.text) for row in work.session.scalars(
        select(WorkItemNoteRow).where(WorkItemNoteRow.work_item_id == item_id)
        .order_by(WorkItemNoteRow.id))]


# -- refresh -----------------------------------------------------------------------------------

def audit_head(work: UnitOfWork, practice_id: int) -> int:
    """The practice's latest audit event that may have changed what the queues derive (0:
    none): the refresh mark. The queues' own bookkeeping (``work_item.*``: assignments,
    notes, snoozes) and audited reads (``*.read``, ``*.list``: a page shown) change no
    record the queues are made of, so a biller working through a queue (or a program
    listing claims) does not make the next read derive it again. Read backwards through the
    practice's index, stopping at the first event that counts."""
    return int(work.session.scalar(
        select(AuditEventRow.id).where(
            AuditEventRow.practice_id == practice_id,
            ~AuditEventRow.action.startswith("work_item.", autoescape=True),
            ~AuditEventRow.action.endswith(".read", autoescape=True),
            ~AuditEventRow.action.endswith(".list", autoescape=True))
        .order_by(AuditEventRow.id.desc()).limit(1)) or 0)


#: beyond this many touched subjects (claims and patients) a refresh derives the whole queue
INCREMENTAL_LIMIT = 2000
#: audit entity types whose events change no record a queue is made of (sign-ins, keys,
#: jobs' bookkeeping), or whose changes to the queues' records are recorded by events of
#: their own: applying a 999/277CA/835 document or sending a batch moves claims
#: (``claim.transition``), posts to the ledger (``ledger.post``), opens denials
#: (``denial.open``), each event naming its claim; the unmatched payments they leave are in
#: a queue derived whole (:data:`~.work_queue_sources.WHOLE`)
_NOT_QUEUED = frozenset({"user", "user_session", "api_key", "webhook_subscription", "job",
                         "inbound_document", "submission", "remittance",
                         "remittance_exception", "claim_import"})
#: audited reads that are not named ``*.read`` (a list, a download, a letter printed)
_READS = frozenset({"statement.download", "claim.document_read", "appeal.letter"})


def touched(work: UnitOfWork, practice_id: int, after: int, upto: int) -> Scope | None:
    """The subjects the practice's audit events ``after`` < id <= ``upto`` touched, with
    what their items depend on (the module docstring); ``None`` when a full derivation is
    due: an event of a kind not mapped here, or more than :data:`INCREMENTAL_LIMIT`
    subjects."""
    events = work.session.execute(
        select(AuditEventRow.action, AuditEventRow.entity_type, AuditEventRow.entity_id,
               AuditEventRow.details).where(
            AuditEventRow.practice_id == practice_id, AuditEventRow.id > after,
            AuditEventRow.id <= upto,
            ~AuditEventRow.action.startswith("work_item.", autoescape=True),
            ~AuditEventRow.action.endswith(".read", autoescape=True))
        .limit(INCREMENTAL_LIMIT + 1)).all()
    if len(events) > INCREMENTAL_LIMIT:
        return None
    claims: set[int] = set()
    patients: set[int] = set()  # whose own records changed: their claims too
    owing: set[int] = set()  # whose balance (or plan) changed
    appeals: set[int] = set()
    by_type: dict[str, set[int]] = {}
    for action, kind, entity, details in events:
        if kind in _NOT_QUEUED or action in _READS or action.endswith(".list"):
            continue
        if not entity.isdigit():
            return None
        subject = int(entity)
        found = details or {}
        if kind == "claim":
            claims.add(subject)
        elif kind in ("denial", "remittance_finding", "appeal"):
            if not isinstance(found.get("claim_id"), int):
                return None
            claims.add(found["claim_id"])
            if kind == "appeal":
                appeals.add(subject)
        elif kind == "statement":
            owing.update(int(p) for p in found.get("patient_ids") or [])
        elif kind == "payment":
            claims.update(int(c) for c in found.get("claims") or [])
            by_type.setdefault(kind, set()).add(subject)
        elif kind in ("patient", "coverage", "guarantor", "plan", "posting"):
            by_type.setdefault(kind, set()).add(subject)
        else:
            return None  # a kind of record this mapping does not know: derive in full
    session = work.session

    def ids(query: Any, values: set[int]) -> set[int]:
        return {found for chunk in _chunks(values) for found in session.scalars(query(chunk))}

    patients |= by_type.get("patient", set())
    patients |= ids(lambda c: select(CoverageRow.patient_id).where(CoverageRow.id.in_(c)),
                    by_type.get("coverage", set()))
    patients |= ids(lambda c: select(PatientRow.id).where(PatientRow.guarantor_id.in_(c)),
                    by_type.get("guarantor", set()))
    owing |= ids(lambda c: select(PaymentRow.patient_id).where(PaymentRow.id.in_(c)),
                 by_type.get("payment", set()))
    owing |= ids(lambda c: select(PaymentPlanRow.patient_id).where(PaymentPlanRow.id.in_(c)),
                 by_type.get("plan", set()))
    for chunk in _chunks(by_type.get("posting", set())):
        for claim_id, patient_id in session.execute(
                select(LedgerEntryRow.claim_id, LedgerEntryRow.patient_id)
                .where(LedgerEntryRow.posting_id.in_(chunk))):
            owing.add(patient_id)
            if claim_id is not None:
                claims.add(claim_id)
    claims |= ids(lambda c: select(ClaimRow.id).where(ClaimRow.patient_id.in_(c)), patients)
    if len(claims) + len(patients) + len(owing) > INCREMENTAL_LIMIT:
        return None
    # a claim's account (a replacement shares its original's: the follow-up balance)
    accounts = claims | ids(lambda c: select(ClaimRow.account_claim_id).where(
        ClaimRow.id.in_(c), ClaimRow.account_claim_id.is_not(None)), claims)
    claims |= accounts | ids(
        lambda c: select(ClaimRow.id).where(ClaimRow.account_claim_id.in_(c)), accounts)
    # the claims' patients, and every patient's family (a family's balance is one item)
    owing |= patients | ids(lambda c: select(ClaimRow.patient_id).where(ClaimRow.id.in_(c)),
                            claims)
    guarantors = ids(lambda c: select(PatientRow.guarantor_id).where(
        PatientRow.id.in_(c), PatientRow.guarantor_id.is_not(None)), owing)
    owing |= ids(lambda c: select(PatientRow.id).where(PatientRow.guarantor_id.in_(c)),
                 guarantors)
    appeals |= ids(lambda c: select(AppealRow.id).where(AppealRow.claim_id.in_(c)), claims)
    if len(claims) + len(owing) > INCREMENTAL_LIMIT:
        return None
    plans = ids(lambda c: select(PaymentPlanRow.id).where(PaymentPlanRow.patient_id.in_(c)),
                owing)
    return Scope(frozenset(claims), frozenset(owing), frozenset(appeals), frozenset(plans))


def _practice_of(app: Medbill, principal: Any) -> int | None:
    if principal is not None:
        return int(principal.practice_id)
    return tenancy.acting_practice_id() or app.default_practice_id()


def refresh(app: Medbill, queue: Queue, *, principal: Any = None,
            today: date | None = None, force: bool = False,
            scopes: dict[tuple[int, int], Scope | None] | None = None) -> bool:
    """Bring the queue's stored items in line with the data (see the module docstring);
    ``False`` when nothing changed since the last refresh (skipped). ``force``: derive the
    whole queue, changed or not. ``scopes``: the touched subjects already found, by (mark,
    head), shared by the refreshes of one summary."""
    today = today or date.today()
    practice_id = _practice_of(app, principal)
    if practice_id is None:
        return False
    scope: Scope | None = None
    # the installation's own work for the practice: deriving reads what the reader's role
    # may not (the scrub queue runs the edits), and writes only the queue's bookkeeping
    with app.unit_of_work(SYSTEM, practice_id=practice_id, read_only=True) as work:
        mark = audit_head(work, practice_id)
        state = work.session.scalar(select(WorkQueueRefreshRow).where(
            WorkQueueRefreshRow.queue == queue.value))
        if not force and state is not None and state.watermark == mark \
                and state.refreshed_on == today:
            return False
        if not force and queue not in WHOLE and state is not None \
                and state.refreshed_on == today and state.watermark < mark:
            since = (state.watermark, mark)
            if scopes is None or since not in scopes:
                found = touched(work, practice_id, *since)
                if scopes is not None:
                    scopes[since] = found
            scope = scopes[since] if scopes is not None else found
    try:
        with app.unit_of_work(SYSTEM, practice_id=practice_id, autoflush=False) as work:
            if scope is None or any(ids for _kind, ids in scope.subjects(queue)):
                _sync(work, queue, derive(work, queue, today, scope), today, scope)
            state = work.session.scalar(select(WorkQueueRefreshRow).where(
                WorkQueueRefreshRow.queue == queue.value))
            if state is None:
                work.session.add(WorkQueueRefreshRow(queue=queue.value, watermark=mark,
                                                     refreshed_on=today))
            else:
                state.watermark, state.refreshed_on = mark, today
    except IntegrityError:
        return False  # another reader refreshed the same queue at the same moment
    return True


_DERIVED = ("label", "reason", "codes", "amount", "deadline", "action", "payer_key",
            "provider_npi", "since", "priority", "claim_id")


def _values(item: DerivedItem, today: date) -> dict[str, Any]:
    return {"label": item.label[:60], "reason": item.reason, "codes": list(item.codes),
            "amount": item.amount, "deadline": item.deadline, "action": item.action.value,
            "payer_key": item.payer_key, "provider_npi": item.provider_npi,
            "since": item.since, "claim_id": item.claim_id,
            "priority": priority(item.amount, item.deadline, item.since, today)}


def _sync(work: UnitOfWork, queue: Queue, derived: list[DerivedItem], today: date,
          scope: Scope | None = None) -> None:
    """Insert the new items, update the derived columns that changed, close the gone ones
    (of the scope's subjects only, when given: ``derived`` is then that scope's items):
    the stored items read as plain column values (no ORM objects) and written by primary
    key in executemany batches."""
    session = work.session
    columns = [getattr(WorkItemRow, name) for name in _DERIVED]
    query = select(WorkItemRow.id, WorkItemRow.item_key, WorkItemRow.subject_type,
                   WorkItemRow.subject_id, WorkItemRow.opened_at, *columns).where(
        WorkItemRow.queue == queue.value, WorkItemRow.closed_at.is_(None))
    if scope is None:
        stored = {row.item_key: row for row in session.execute(query)}
    else:  # the scope's open items by their key (the open-key index)
        keys = [f"{queue.value}:{kind}:{subject}" for kind, ids in scope.subjects(queue)
                for subject in ids]
        stored = {row.item_key: row for start in range(0, len(keys), _CHUNK)
                  for row in session.execute(query.where(
                      WorkItemRow.item_key.in_(keys[start:start + _CHUNK])))}
    wanted = {item.key: item for item in derived}
    new = [{"queue": queue.value, "item_key": key, "subject_type": item.subject_type,
            "subject_id": item.subject_id, "opened_at": utcnow(), **_values(item, today)}
           for key, item in wanted.items() if key not in stored]
    if new:
        session.execute(insert(WorkItemRow), new)
    changed = []
    for key, row in stored.items():
        item = wanted.get(key)
        if item is None:
            continue
        values = _values(item, today)
        differ = {name: values[name] for name in _DERIVED
                  if getattr(row, name) != values[name]}
        if differ:
            changed.append({"id": row.id, **differ})
    if changed:
        session.execute(update(WorkItemRow), changed)
    gone = [row for key, row in stored.items() if key not in wanted]
    if gone:
        now = utcnow()
        actors = resolvers(work, gone)
        session.execute(update(WorkItemRow), [
            {"id": row.id, "closed_at": now, "closed_by": actors.get(row.id, SYSTEM)}
            for row in gone])


def resolvers(work: UnitOfWork, rows: Sequence[Any]) -> dict[int, str]:
    """Item id -> the actor of the latest change to its subject since the item opened (the
    change that resolved it); items whose subject nobody changed are absent (``system``).
    ``rows``: the items' ``id``, ``subject_type``, ``subject_id``, ``claim_id`` and
    ``opened_at`` (rows or records)."""
    changes: dict[tuple[str, int], list[tuple[datetime, str]]] = {}

    def add(kind: str, subject: int, at: datetime | date | None, actor: str | None) -> None:
        if at is None or actor is None:
            return
        moment = at if isinstance(at, datetime) else datetime.combine(
            at, datetime.max.time()).astimezone()
        changes.setdefault((kind, subject), []).append((as_utc(moment), actor))

    def collect(kind: str, ids: Iterable[int], columns: Any, key: Any) -> None:
        for chunk in _chunks(ids):
            for subject, at, actor in work.session.execute(select(*columns).where(
                    key.in_(chunk))):
                add(kind, subject, at, actor)

    claims = sorted({row.subject_id for row in rows if row.subject_type == "claim"}
                    | {row.claim_id for row in rows if row.claim_id is not None})
    # a claim is resolved by its move, a decision on its denials, an appeal, a finding
    collect("claim", claims, (ClaimTransitionRow.claim_id, ClaimTransitionRow.at,
                              ClaimTransitionRow.actor), ClaimTransitionRow.claim_id)
    collect("claim", claims, (DenialRow.claim_id, DenialRow.decided_at, DenialRow.decided_by),
            DenialRow.claim_id)
    collect("claim", claims, (AppealRow.claim_id, AppealRow.opened_at, AppealRow.opened_by),
            AppealRow.claim_id)
    collect("claim", claims, (RemittanceFindingRow.claim_id, RemittanceFindingRow.resolved_at,
                              RemittanceFindingRow.resolved_by), RemittanceFindingRow.claim_id)
    collect("appeal", [row.subject_id for row in rows if row.subject_type == "appeal"],
            (AppealRow.id, AppealRow.sent_on, AppealRow.sent_by), AppealRow.id)
    collect("remittance_exception",
            [row.subject_id for row in rows if row.subject_type == "remittance_exception"],
            (RemittanceExceptionRow.id, RemittanceExceptionRow.resolved_at,
             RemittanceExceptionRow.resolved_by), RemittanceExceptionRow.id)
    _payment_actors(work, rows, add)
    result = {}
    for row in rows:
        opened = as_utc(row.opened_at)
        kind = row.subject_type
        candidates = [change for change in changes.get((kind, row.subject_id), [])
                      if change[0] >= opened]
        if row.claim_id is not None and kind != "claim":
            candidates += [change for change in changes.get(("claim", row.claim_id), [])
                           if change[0] >= opened]
        if candidates:
            result[row.id] = max(candidates)[1]
    return result


def _payment_actors(work: UnitOfWork, rows: Sequence[Any], add: Any) -> None:
    """Patient accounts and plans are settled by payments: who recorded the latest one
    (the audit trail's ``payment.record`` event names the actor)."""
    from medbill_core.storage.schema import PaymentPlanRow

    patients: dict[int, list[tuple[str, int]]] = {}
    for row in rows:
        if row.subject_type == "patient":
            patients.setdefault(row.subject_id, []).append(("patient", row.subject_id))
    plans = [row.subject_id for row in rows if row.subject_type == "plan"]
    for chunk in _chunks(plans):
        for plan_id, patient_id in work.session.execute(
                select(PaymentPlanRow.id, PaymentPlanRow.patient_id)
                .where(PaymentPlanRow.id.in_(chunk))):
            patients.setdefault(patient_id, []).append(("plan", plan_id))
    if not patients:
        return
    payments: dict[str, list[tuple[str, int]]] = {}
    for chunk in _chunks(patients):
        for payment_id, patient_id in work.session.execute(
                select(PaymentRow.id, PaymentRow.patient_id)
                .where(PaymentRow.patient_id.in_(chunk))):
            payments[str(payment_id)] = patients[patient_id]
    ids = sorted(payments)
    for start in range(0, len(ids), _CHUNK):
        for entity_id, at, actor in work.session.execute(
                select(AuditEventRow.entity_id, AuditEventRow.at, AuditEventRow.actor).where(
                    AuditEventRow.entity_type == "payment",
                    AuditEventRow.entity_id.in_(ids[start:start + _CHUNK]))):
            for kind, subject in payments[entity_id]:
                add(kind, subject, at, actor)


def _chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), _CHUNK):
        yield ordered[start:start + _CHUNK]


# -- people's work on items --------------------------------------------------------------------

def _own_name(work: UnitOfWork) -> str:
    """The signed-in user's name ("me").

    :raises ValidationFailed: the principal is an API key (not a person) or absent.
    """
    principal = work.principal
    if principal is None or principal.kind is not PrincipalKind.USER:
        raise ValidationFailed("work item", [("assignee", "'me' is a signed-in user; an API "
                                                          "key names the user")])
    return principal.name


def _member(work: UnitOfWork, name: str) -> str:
    """:raises ValidationFailed: ``name`` is no active member of the practice."""
    practice_id = work.principal.practice_id if work.principal is not None \
        else tenancy.acting_practice_id()
    found = work.session.scalar(
        select(UserRow.name).join(MembershipRow, MembershipRow.user_id == UserRow.id).where(
            UserRow.name == name.strip().lower(), MembershipRow.practice_id == practice_id,
            UserRow.disabled_at.is_(None)))
    if found is None:
        raise ValidationFailed("work item", [("assignee", "is not a user of this practice")])
    return str(found)


def _open_rows(work: UnitOfWork, item_ids: Sequence[int]) -> list[WorkItemRow]:
    if not item_ids:
        raise ValidationFailed("work items", [("items", "name at least one item")])
    ids = sorted(set(item_ids))
    rows = {row.id: row for row in work.session.scalars(
        select(WorkItemRow).where(WorkItemRow.id.in_(ids)))}
    for item_id in ids:
        if item_id not in rows:
            raise NotFound("work item", item_id)
        if rows[item_id].closed_at is not None:
            raise ValidationFailed(f"work item {item_id}", [(
                "status", "is closed: the work it asked for is done")])
    return [rows[item_id] for item_id in ids]


def assign(work: UnitOfWork, item_ids: Sequence[int], assignee: str | None) -> list[WorkItem]:
    """Assign the items to ``assignee`` (a user of the practice, or ``me``), or take them
    back (``None``). Taking work for oneself is ``queues.work``; giving it to someone else,
    or taking it from them, ``queues.manage``.

    :raises ValidationFailed: the assignee is not a member, an item is closed.
    :raises NotFound: no such item.
    """
    work.require(Action.QUEUES_WORK)
    own = work.principal.name if work.principal is not None \
        and work.principal.kind is PrincipalKind.USER else None
    if assignee is not None and assignee.strip().lower() == ME:
        name: str | None = _own_name(work)
    else:
        name = _member(work, assignee) if assignee is not None else None
    rows = _open_rows(work, item_ids)
    # one's own work is taken or put back freely; anyone else's is the manager's to move
    if name not in (None, own) or any(row.assignee not in (None, own) for row in rows):
        work.require(Action.QUEUES_MANAGE)
    changed = [row for row in rows if row.assignee != name]
    for row in changed:
        row.assignee = name
    audit.record_many(work.session, ({
        "action": "work_item.assign", "entity_type": "work_item", "entity_id": row.id,
        "details": {"queue": row.queue, "assignee": name}} for row in changed),
        actor=work.actor)
    work.session.flush()
    return [_item(row) for row in rows]


def snooze(work: UnitOfWork, item_ids: Sequence[int], until: date | None, *,
           today: date | None = None) -> list[WorkItem]:
    """Hide the items until ``until`` (they come back that day); ``None`` wakes them now.

    :raises ValidationFailed: ``until`` is not after today, an item is closed.
    """
    work.require(Action.QUEUES_WORK)
    today = today or date.today()
    if until is not None and until <= today:
        raise ValidationFailed("work item", [("until", f"must be after today ({today})")])
    rows = _open_rows(work, item_ids)
    for row in rows:
        row.snoozed_until = until
    audit.record_many(work.session, ({
        "action": "work_item.snooze" if until else "work_item.unsnooze",
        "entity_type": "work_item", "entity_id": row.id,
        "details": {"queue": row.queue,
                    "until": until.isoformat() if until else None}} for row in rows),
        actor=work.actor)
    work.session.flush()
    return [_item(row) for row in rows]


def add_note(work: UnitOfWork, item_id: int, text: str) -> Note:
    """Add the actor's note to an item (open or closed: the history of the work). The text
    may hold PHI: stored, never audited (the audit event names the note's id)."""
    work.require(Action.QUEUES_WORK)
    text = (text or "").strip()
    if not text:
        raise ValidationFailed(f"work item {item_id}", [("text", "is required")])
    if len(text) > NOTE_MAX:
        raise ValidationFailed(f"work item {item_id}", [(
            "text", f"is longer than {NOTE_MAX} characters")])
    row = _row(work, item_id)
    note = WorkItemNoteRow(work_item_id=row.id, author=work.actor, text=text)
    work.session.add(note)
    work.session.flush()
    audit.record(work.session, actor=work.actor, action="work_item.note",
                 entity_type="work_item", entity_id=row.id,
                 details={"queue": row.queue, "note_id": note.id})
    return Note(note.id, note.author, note.at, note.text)


# -- productivity ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Productivity:
    """Items closed per person and day over a range, and the team's open items."""

    start: date
    end: date
    #: (person, day) -> items closed
    closed: dict[tuple[str, date], int]
    #: assignee (None: nobody) -> open items
    open_by_assignee: dict[str | None, int]

    def people(self) -> list[str]:
        return sorted({person for person, _day in self.closed})

    def total(self, person: str) -> int:
        return sum(n for (who, _day), n in self.closed.items() if who == person)

    def as_json(self) -> dict[str, Any]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(),
                "closed": [{"person": person, "day": day.isoformat(), "items": count}
                           for (person, day), count in sorted(self.closed.items())],
                "closed_total": {person: self.total(person) for person in self.people()},
                "open_by_assignee": [{"assignee": who, "items": count} for who, count in
                                     sorted(self.open_by_assignee.items(),
                                            key=lambda kv: (kv[0] is None, kv[0] or ""))]}


def productivity(work: UnitOfWork, start: date, end: date) -> Productivity:
    """Items closed per person per (local) day from ``start`` to ``end`` inclusive, and the
    open items per assignee: the manager's view of the team (``queues.manage``).

    :raises ValidationFailed: the range is upside down or longer than a year.
    """
    work.require(Action.QUEUES_MANAGE)
    if end < start:
        raise ValidationFailed("productivity", [("end", f"is before start {start}")])
    if (end - start).days > 366:
        raise ValidationFailed("productivity", [("end", "at most a year after start")])
    low = datetime.combine(start, datetime.min.time()).astimezone()
    high = datetime.combine(end + timedelta(days=1), datetime.min.time()).astimezone()
    closed: dict[tuple[str, date], int] = {}
    for who, at in work.session.execute(
            select(WorkItemRow.closed_by, WorkItemRow.closed_at).where(
                WorkItemRow.closed_at >= low, WorkItemRow.closed_at < high)):
        if at is None:  # excluded by the range; typed as the nullable column
            continue
        key = (who or SYSTEM, local_day(at))
        closed[key] = closed.get(key, 0) + 1
    open_by = dict(work.session.execute(
        select(WorkItemRow.assignee, func.count()).where(WorkItemRow.closed_at.is_(None))
        .group_by(WorkItemRow.assignee)).all())
    return Productivity(start, end, closed, open_by)
