"""medbill's procrastinate tasks (see :mod:`medbill_core.jobs`).

Every task calls the services' public functions, as the commands do; a task only decides
which rows to hand them. Tasks hand work on to one another (scrubbed chunks ask for a submit,
a sent file for a fetch, a fetch that created secondary claims for a scrub), so one
``medbill jobs enqueue scrub`` carries claims as far as the payers let them go.

The worker process opens medbill once (:func:`use`) before it takes jobs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from procrastinate import Blueprint, JobContext, RetryStrategy
from procrastinate.exceptions import AlreadyEnqueued
from sqlalchemy import func, select

from medbill_core import audit
from medbill_core.app import Medbill
from medbill_core.domain import ClaimState, DocumentKind, InboundDocument
from medbill_core.errors import MedbillError
from medbill_core.storage import tenancy
from medbill_core.storage.schema import (
    AuditEventRow,
    ClaimRow,
    DocumentStatus,
    InboundDocumentRow,
    PatientRow,
    PracticeRow,
    SubmissionRow,
    SubmissionStatus,
    utcnow,
)

if TYPE_CHECKING:
    from medbill_core.services.submission import HeldClaim

log = logging.getLogger("medbill.jobs")

tasks = Blueprint()

#: claims per scrub job
SCRUB_CHUNK = 100
#: how often a failed job is tried again, and how long after: a channel that is down, a
#: database that restarts, an outbox file another (perhaps killed) sender still holds
RETRY = RetryStrategy(max_attempts=60, wait=5)


class StillHeld(MedbillError):
    """An outbox file another sender holds (its lease has not run out): tried again later."""


@dataclass
class WorkerSettings:
    """What ``medbill worker`` was started with."""

    send_lease: timedelta = timedelta(minutes=5)
    statements_dir: Path = Path("statements")
    statements_renderer: str = "pdf"
    followup_days: int = 30
    eligibility_days: int = 30


_medbill: Medbill | None = None
settings = WorkerSettings()


def use(medbill: Medbill, worker_settings: WorkerSettings | None = None) -> None:
    """The medbill instance (and settings) this process's tasks work with."""
    global _medbill, settings
    _medbill = medbill
    if worker_settings is not None:
        settings = worker_settings


def _app() -> Medbill:
    if _medbill is None:
        raise MedbillError("medbill jobs run in 'medbill worker' (no medbill instance opened)")
    return _medbill


def _practice_ids() -> list[int]:
    """The installation's open practices: a job that works on every practice's records runs
    once per practice, acting in it (tenancy: a unit of work sees one practice's rows)."""
    with _app().database.reader() as session:
        return list(session.scalars(select(PracticeRow.id).where(PracticeRow.active.is_(True))
                                    .order_by(PracticeRow.id)))


def defer(context: JobContext | Any, name: str, *, key: str | None = None,
          **arguments: Any) -> bool:
    """Defer task ``medbill:NAME`` once: ``key`` is its queueing lock and its lock (default
    the name), so one waits and one runs at a time. ``False``: one was waiting already."""
    app = context.app if isinstance(context, JobContext) else context
    key = key or name
    try:
        app.configure_task(f"medbill:{name}", queueing_lock=key, lock=key).defer(**arguments)
    except AlreadyEnqueued:
        return False
    return True


# -- the cycle -----------------------------------------------------------------------------------

@tasks.task(name="tick", pass_context=True, retry=RETRY)
def tick(context: JobContext) -> None:
    """Everything that may be waiting: submit (validated claims, unsent files), fetch each
    channel, finish postings. Not scrubbing: drafts wait for the biller (``claims scrub`` or
    ``jobs enqueue scrub``), as they do without workers."""
    defer(context, "submit")
    for channel in _channels():
        defer(context, "fetch", key=f"fetch:{channel}", channel=channel)
    defer(context, "finish_postings")
    defer(context, "webhooks")
    defer(context, "notifications")


@tasks.periodic(cron="* * * * *", periodic_id="tick")
@tasks.task(name="periodic_tick", pass_context=True, queueing_lock="periodic_tick")
def periodic_tick(context: JobContext, timestamp: int) -> None:
    tick(context)


def _channels() -> list[str]:
    return sorted({p.channel for p in _app().config.payers.values() if p.channel})


@tasks.task(name="scrub", pass_context=True, retry=RETRY)
def scrub(context: JobContext) -> None:
    """One ``scrub_chunk`` job per :data:`SCRUB_CHUNK` drafts (by id range)."""
    with _app().database.reader() as session:
        drafts = list(session.scalars(select(ClaimRow.id).where(
            ClaimRow.state == ClaimState.DRAFT.value).order_by(ClaimRow.id)))
    for start in range(0, len(drafts), SCRUB_CHUNK):
        chunk = drafts[start:start + SCRUB_CHUNK]
        defer(context, "scrub_chunk", key=f"scrub:{chunk[0]}-{chunk[-1]}",
              first=chunk[0], last=chunk[-1])


@tasks.task(name="scrub_chunk", pass_context=True, retry=RETRY)
def scrub_chunk(context: JobContext, first: int, last: int) -> None:
    """Scrub the drafts with ids ``first`` to ``last`` (those still drafts), then submit."""
    from medbill_core.services.scrubbing import scrub_claims

    for practice_id in _practice_ids():
        with _app().unit_of_work(practice_id=practice_id) as work:
            ids = list(work.session.scalars(select(ClaimRow.id).where(
                ClaimRow.state == ClaimState.DRAFT.value, ClaimRow.id.between(first, last))
                .order_by(ClaimRow.id).with_for_update(skip_locked=True)))
            if ids:
                scrub_claims(work, ids)
    defer(context, "submit")


@tasks.task(name="submit", pass_context=True, retry=RETRY)
def submit(context: JobContext) -> None:
    """A ``prepare`` job per payer with validated claims (self-pay ones too), and a ``send``
    job per outbox file not sent yet (left by a killed or failed sender)."""
    with _app().database.reader() as session:
        payers = list(session.scalars(select(ClaimRow.payer_key).where(
            ClaimRow.state == ClaimState.VALIDATED.value).distinct()))
    for payer in sorted(payers, key=lambda key: key or ""):
        defer(context, "prepare", key=f"prepare:{payer or ''}", payer_key=payer or "")
    _send_unsent(context)


def _send_unsent(context: JobContext, payer_key: str | None = None) -> None:
    with _app().database.reader() as session:
        statement = select(SubmissionRow.id).where(SubmissionRow.status.in_(
            (SubmissionStatus.PENDING, SubmissionStatus.SENDING))).order_by(SubmissionRow.id)
        if payer_key is not None:
            statement = statement.where(SubmissionRow.payer_key == payer_key)
        unsent = list(session.scalars(statement))
    for submission_id in unsent:
        defer(context, "send", key=f"send:{submission_id}", submission_id=submission_id)


def _held_back(item: HeldClaim) -> None:
    """A claim the payer's file could not carry went back to draft (the others were
    batched): said in the worker's log; the claim's history keeps the reason, and the scrub
    failures queue lists it once the scrub finds why."""
    log.warning("claim %s not sent to payer %s, back to draft: %s", item.claim_number,
                item.payer_key, item.reason)


@tasks.task(name="prepare", pass_context=True, retry=RETRY)
def prepare(context: JobContext, payer_key: str) -> None:
    """Batch one payer's validated claims into outbox files (``""``: the self-pay ones, billed
    to the patient), then send them."""
    from medbill_core.services.submission import prepare_batches, prepare_in_chunks

    app = _app()
    for practice_id in _practice_ids():
        with tenancy.acting_in(practice_id):  # the services' own units of work act there
            if payer_key:  # a transaction per chunk of claims: memory flat in the claims
                prepare_in_chunks(app, payer_key=payer_key, on_held=_held_back)
                continue
            with app.unit_of_work() as work:
                self_pay = list(work.session.scalars(select(ClaimRow.id).where(
                    ClaimRow.state == ClaimState.VALIDATED.value, ClaimRow.payer_key.is_(None))
                    .with_for_update(skip_locked=True)))
                if self_pay:
                    prepare_batches(work, claim_ids=self_pay)
    if payer_key:
        _send_unsent(context, payer_key)


@tasks.task(name="send", pass_context=True, retry=RETRY)
def send(context: JobContext, submission_id: int) -> None:
    """Send one outbox file (the outbox's lease keeps two senders off it). A file another
    sender holds, or that the channel did not take, is tried again later (retry)."""
    from medbill_core.services.submission import send_pending

    app = _app()
    with app.database.reader() as session:
        practice_id = session.scalar(select(SubmissionRow.practice_id).where(
            SubmissionRow.id == submission_id))
    with tenancy.acting_in(practice_id):
        outcomes = send_pending(app, submission_ids=[submission_id], lease=settings.send_lease)
    if not outcomes:
        with app.database.reader() as session:
            row = session.get(SubmissionRow, submission_id)
            status = row.status if row is not None else None
        if status in (SubmissionStatus.PENDING, SubmissionStatus.SENDING):
            raise StillHeld(f"outbox file {submission_id} is being sent by another sender; "
                            "tried again after its lease")
        return
    [outcome] = outcomes
    if outcome.status == SubmissionStatus.PENDING:
        raise MedbillError(f"outbox file {submission_id} not taken by its channel: "
                           f"{outcome.error}")
    with app.database.reader() as session:
        row = session.get(SubmissionRow, submission_id)
        channel = row.channel if row is not None else None
    if channel:
        defer(context, "fetch", key=f"fetch:{channel}", channel=channel)


@tasks.task(name="fetch", pass_context=True, retry=RETRY)
def fetch(context: JobContext, channel: str) -> None:
    """Fetch and apply one channel's responses; drafts they created (secondary claims) are
    scrubbed next."""
    from medbill_core.services.responses import fetch_and_apply

    app = _app()
    results = fetch_and_apply(app, channel)
    log.info("fetched %s document(s) from %s", len(results), channel)
    with app.database.reader() as session:
        drafts = session.scalar(select(func.count()).select_from(ClaimRow).where(
            ClaimRow.state == ClaimState.DRAFT.value))
    if drafts:
        defer(context, "scrub")


@tasks.task(name="finish_postings", pass_context=True, retry=RETRY)
def finish_postings(context: JobContext) -> None:
    """Post again the 835s whose posting was broken off (its holder killed, its lease run
    out): what was committed is recognised, the rest is posted."""
    from medbill_core.services.remittance_parts import held_elsewhere
    from medbill_core.services.responses import ingest_document

    app = _app()
    with app.database.reader() as session:
        rows = list(session.scalars(select(InboundDocumentRow).where(
            InboundDocumentRow.status == DocumentStatus.POSTING)
            .order_by(InboundDocumentRow.id)))
        broken = [(row.practice_id, InboundDocument(
            channel=row.channel, kind=DocumentKind(row.kind), document_id=row.document_id,
            content=row.content, received_at=row.received_at))
            for row in rows if not held_elsewhere(row)]
    for practice_id, document in broken:
        with tenancy.acting_in(practice_id):  # posted in the practice that received it
            result = ingest_document(app, document)
        log.info("document %s: %s", document.document_id, result.status)


@tasks.task(name="webhooks", pass_context=True, retry=RETRY)
def webhooks(context: JobContext, limit: int = 500) -> None:
    """Deliver the webhook events due (each delivery is claimed with ``FOR UPDATE SKIP
    LOCKED`` and a lease, so workers running this at once never send one twice); a full
    batch asks for another run at once."""
    from medbill_core.services.webhooks import run_due

    outcomes = run_due(_app(), limit=limit)
    delivered = sum(1 for outcome in outcomes if outcome.status == "delivered")
    log.info("webhooks: %s of %s deliveries accepted", delivered, len(outcomes))
    if len(outcomes) >= limit:
        defer(context, "webhooks", key="webhooks:more")


@tasks.task(name="notifications", pass_context=True, retry=RETRY)
def notifications(context: JobContext, limit: int = 500) -> None:
    """Send the texts and e-mails due (each claimed with ``FOR UPDATE SKIP LOCKED`` and a
    lease, so workers running this at once never send one twice); a full batch asks for
    another run at once."""
    from medbill_core.services.notifications import NotificationStatus, deliver_due

    outcomes = deliver_due(_app(), limit=limit)
    sent = sum(1 for outcome in outcomes if outcome.status is NotificationStatus.SENT)
    log.info("notifications: %s of %s messages sent", sent, len(outcomes))
    if len(outcomes) >= limit:
        defer(context, "notifications", key="notifications:more")


# -- statements and scheduled work ---------------------------------------------------------------

@tasks.task(name="statements", pass_context=True, retry=RETRY)
def statements(context: JobContext, cycle: str | None = None, out_dir: str | None = None,
               renderer: str | None = None) -> None:
    """A statement run (one statement per guarantor a day: a run repeated does nothing)."""
    from medbill_core.services.statements import run_statements

    for practice_id in _practice_ids():
        with tenancy.acting_in(practice_id):
            result = run_statements(_app(), cycle=cycle or date.today().strftime("%Y-%m"),
                                    out_dir=Path(out_dir) if out_dir else settings.statements_dir,
                                    renderer=renderer or settings.statements_renderer)
        log.info("statements: %s produced", len(result.produced))


@tasks.periodic(cron="0 18 * * *", periodic_id="statements")
@tasks.task(name="periodic_statements", pass_context=True, queueing_lock="periodic_statements")
def periodic_statements(context: JobContext, timestamp: int) -> None:
    defer(context, "statements")


def _asked_since(app: Medbill, action: str, entity_type: str, since: date) -> set[str]:
    with app.database.reader() as session:
        return set(session.scalars(select(AuditEventRow.entity_id).where(
            AuditEventRow.action == action, AuditEventRow.entity_type == entity_type,
            AuditEventRow.at >= utcnow() - (date.today() - since)).distinct()))


@tasks.task(name="followups", pass_context=True, retry=RETRY)
def followups(context: JobContext, days: int | None = None, limit: int = 500) -> None:
    """A claim-status inquiry (276) for each claim waiting at its payer more than ``days``
    since its submission (``ar followup``'s "status inquiry"), once per ``days``; the answer
    is audited (``claim.status_followup``, its STC codes)."""
    from medbill_core.services.receivables import FollowUpAction, followup

    app = _app()
    days = days if days is not None else settings.followup_days
    asked = _asked_since(app, "claim.status_followup", "claim",
                         date.today() - timedelta(days=days))
    for practice_id in _practice_ids():
        with tenancy.acting_in(practice_id):
            with app.unit_of_work(read_only=True) as work:
                waiting = [item.claim_id for item in followup(work, older_than=days)
                           if item.action is FollowUpAction.STATUS_INQUIRY]
            for claim_id in [c for c in waiting if str(c) not in asked][:limit]:
                _ask_status(app, claim_id)


def _ask_status(app: Medbill, claim_id: int) -> None:
    with app.unit_of_work() as work:
        request = work.claims.status_inquiry(claim_id, trace_number=f"FU{claim_id}")
    try:
        response = app.hooks.check_claim_status(request=request)
        details: dict[str, Any] = {"codes": [f"{c.category}:{c.code}"
                                             for status in response.claims
                                             for c in status.status_codes]}
    except MedbillError as exc:
        details = {"error": type(exc).__name__}
    with app.unit_of_work() as work:
        audit.record(work.session, actor=work.actor, action="claim.status_followup",
                     entity_type="claim", entity_id=claim_id, details=details)


@tasks.periodic(cron="0 6 * * *", periodic_id="followups")
@tasks.task(name="periodic_followups", pass_context=True, queueing_lock="periodic_followups")
def periodic_followups(context: JobContext, timestamp: int) -> None:
    defer(context, "followups")


@tasks.task(name="eligibility", pass_context=True, retry=RETRY)
def eligibility(context: JobContext, days: int | None = None, limit: int = 500) -> None:
    """Re-check each patient's primary coverage (active today) whose last eligibility check is
    older than ``days`` (or that was never checked). medbill keeps no appointments: "before
    the appointment" is "not checked for ``days``"."""

    app = _app()
    days = days if days is not None else settings.eligibility_days
    checked = _asked_since(app, "eligibility.check", "coverage",
                           date.today() - timedelta(days=days))
    for practice_id in _practice_ids():
        with tenancy.acting_in(practice_id):
            _recheck_eligibility(app, checked, limit)


def _recheck_eligibility(app: Medbill, checked: set[str], limit: int) -> None:
    from medbill_core.services.eligibility import check_patient_eligibility, primary_coverage

    with app.unit_of_work(read_only=True) as work:
        accounts = list(work.session.execute(select(PatientRow.id, PatientRow.account_number)
                                             .order_by(PatientRow.id)))
        due: list[str] = []
        for patient_id, account in accounts:
            coverage = primary_coverage(work.patients.coverages(patient_id), date.today())
            if coverage is not None and str(coverage.id) not in checked:
                due.append(account)
            if len(due) >= limit:
                break
    for account in due:
        try:
            check_patient_eligibility(app, account, date.today(), ["30"])
        except MedbillError as exc:  # one patient's problem: the others are still checked
            log.warning("eligibility re-check of a patient failed: %s", type(exc).__name__)


@tasks.periodic(cron="30 5 * * *", periodic_id="eligibility")
@tasks.task(name="periodic_eligibility", pass_context=True,
            queueing_lock="periodic_eligibility")
def periodic_eligibility(context: JobContext, timestamp: int) -> None:
    defer(context, "eligibility")


@tasks.task(name="financing", pass_context=True, retry=RETRY)
def financing(context: JobContext) -> None:
    """Each practice's financing referrals the lender has not decided an hour after they were
    made, asked about (:func:`~medbill_core.services.financing.check_pending`): a callback
    the lender sent and we never received costs an hour, not the approval."""
    from medbill_core.services.financing import check_pending

    app = _app()
    for practice_id in _practice_ids():
        with tenancy.acting_in(practice_id):
            checked = check_pending(app)
        for referral_id in checked.failed:  # the lender's reason stays out of the log
            log.warning("financing referral %s: the lender could not be asked", referral_id)


@tasks.periodic(cron="15 * * * *", periodic_id="financing")
@tasks.task(name="periodic_financing", pass_context=True, queueing_lock="periodic_financing")
def periodic_financing(context: JobContext, timestamp: int) -> None:
    defer(context, "financing")


@tasks.task(name="work_queues", pass_context=True, retry=RETRY)
def work_queues(context: JobContext) -> None:
    """Every practice's work queues derived whole for the day. A new day re-derives each
    queue on its first read (deadlines, ages and priorities move with the date: the
    incremental refresh of :mod:`~medbill_core.services.work_queues` holds within a day);
    done here just after midnight, the day's first reads are as cheap as the others."""
    from medbill_core.services.work_queue_sources import Queue
    from medbill_core.services.work_queues import refresh

    app = _app()
    for practice_id in _practice_ids():
        with tenancy.acting_in(practice_id):
            for queue in Queue:
                refresh(app, queue)


@tasks.periodic(cron="5 0 * * *", periodic_id="work_queues")
@tasks.task(name="periodic_work_queues", pass_context=True,
            queueing_lock="periodic_work_queues")
def periodic_work_queues(context: JobContext, timestamp: int) -> None:
    defer(context, "work_queues")


def enqueue(app: Any, kind: str, arguments: dict[str, Any] | None = None) -> list[str]:
    """Defer what ``medbill jobs enqueue KIND`` asks for on an opened procrastinate app;
    the jobs deferred (those already waiting are not deferred again)."""
    arguments = arguments or {}
    if kind == "fetch":
        names: Iterable[tuple[str, str, dict[str, Any]]] = [
            ("fetch", f"fetch:{channel}", {"channel": channel}) for channel in _channels()]
    else:
        name = kind.replace("-", "_")
        names = [(name, name, arguments)]
    return [key for name, key, kwargs in names if defer(app, name, key=key, **kwargs)]
