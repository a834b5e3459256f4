"""Background work on procrastinate: ``medbill worker`` processes over PostgreSQL.

Where one process is not enough, the cycle's background work runs as procrastinate jobs
(a PostgreSQL-backed task queue) that any number of ``medbill worker`` processes, on any
number of machines, take from the database medbill already uses:

* ``scrub`` (drafts, in chunks), ``submit`` (batch validated claims per payer into the outbox)
  and ``send`` (one outbox file), ``fetch`` (a channel's responses: 999, 277CA, 835 ...),
  ``finish-postings`` (835s whose posting a killed process broke off), ``statements`` (a
  statement run), ``followups`` (claim-status 276s N days after submission),
  ``eligibility`` (re-checks of coverages whose last check is older than N days: medbill has
  no appointments, so "before appointments" is "not checked for N days"), ``webhooks`` (the
  webhook deliveries due: ``FOR UPDATE SKIP LOCKED`` keeps two workers off one delivery),
  ``notifications`` (the texts and e-mails due, claimed the same way), ``financing``
  (the lender asked about referrals it has not decided an hour after they were made: a
  lost callback costs an hour);
* periodic jobs (procrastinate's cron): a ``tick`` every minute (submit validated claims and
  unsent files, fetch every channel, finish postings, deliver webhooks and notifications;
  drafts wait for the biller's scrub),
  follow-ups and eligibility re-checks every morning, the month's statement cycle every
  day at 18:00 (a guarantor gets one statement a day at most), the financing referrals
  every hour.

Each job is keyed: a *queueing lock* keeps one of each kind waiting, a *lock* keeps two
workers from running the same work at once. A job is only a hint: the rows stay the truth
(the outbox's lease and ``FOR UPDATE SKIP LOCKED``, a document's unique key and posting lease,
one statement per guarantor a day), so a job lost with a killed worker loses nothing, and one
run twice does nothing twice. Jobs of a worker that stopped answering (no heartbeat for
``stalled_after`` seconds) are retried by the other workers.

On SQLite (the embedded default) the same work runs in-process, as the commands always did:
``medbill worker`` there exits 1 saying it needs PostgreSQL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from medbill_core.errors import MedbillError

if TYPE_CHECKING:
    import procrastinate

__all__ = ["JOB_KINDS", "conninfo", "is_postgresql", "job_counts", "make_app",
           "require_postgresql"]

#: what ``medbill jobs enqueue`` accepts, and what each does
JOB_KINDS: dict[str, str] = {
    "tick": "submit, fetch every channel, finish broken-off postings, deliver webhooks and "
            "notifications",
    "scrub": "scrub the drafts (in chunks, one job each)",
    "submit": "batch validated claims into the outbox (per payer) and send every file",
    "fetch": "fetch and apply the responses of every channel (one job per channel)",
    "finish-postings": "finish 835s whose posting a killed process broke off",
    "statements": "run the statement cycle of this month",
    "followups": "claim-status inquiries (276) for claims waiting at the payer N days",
    "eligibility": "re-check coverages whose last eligibility check is older than N days",
    "webhooks": "deliver the webhook events due (and record appeal deadlines drawing near)",
    "notifications": "send the texts and e-mails due (statements' links)",
    "work-queues": "derive every work queue for the day (daily, just after midnight)",
    "financing": "ask the lender about financing referrals undecided an hour after they "
                 "were made (hourly)",
}


def is_postgresql(database_url: str) -> bool:
    from sqlalchemy.engine import make_url

    try:
        return make_url(database_url).get_backend_name() == "postgresql"
    except Exception:  # an unparsable URL is the database layer's to report
        return False


def require_postgresql(database_url: str) -> None:
    """:raises MedbillError: the database is not PostgreSQL (workers need it): exit 1."""
    if not is_postgresql(database_url):
        raise MedbillError(
            "the job queue (medbill worker, medbill jobs) needs PostgreSQL (database_url = "
            "\"postgresql+psycopg://...\"): its jobs are kept in the database the workers "
            "share; on SQLite the same work runs in-process, as the commands (claims submit, "
            "responses fetch, statements run ...) do")


def conninfo(database_url: str) -> str:
    """The libpq connection string of a SQLAlchemy PostgreSQL URL."""
    from sqlalchemy.engine import make_url

    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def make_app(database_url: str, **pool: Any) -> procrastinate.App:
    """The procrastinate application of medbill's tasks on ``database_url`` (not opened)."""
    import procrastinate

    from medbill_core.jobs.tasks import tasks

    require_postgresql(database_url)
    connector = procrastinate.PsycopgConnector(conninfo=conninfo(database_url), **pool)
    app = procrastinate.App(connector=connector)
    app.add_tasks_from(tasks, namespace="medbill")
    return app


def job_counts(database_url: str) -> dict[tuple[str, str], int]:
    """(task name, status) -> number of jobs, from ``procrastinate_jobs``."""
    import psycopg

    with psycopg.connect(conninfo(database_url)) as connection:
        rows = connection.execute("SELECT task_name, status::text, count(*) FROM "
                                  "procrastinate_jobs GROUP BY 1, 2").fetchall()
    return {(str(task), str(status)): int(n) for task, status, n in rows}
