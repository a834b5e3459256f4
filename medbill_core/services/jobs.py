"""Jobs: long operations started over HTTP (a submission, a statement run), polled as
resources (``GET /v1/jobs/{id}``).

A route records the job (``queued``) in the unit of work that stores its idempotent
response, and the job starts once that commits (:meth:`JobRunner.launch`, an after-commit
callback): a small bounded pool of threads owned by the app runs it, acting for the
principal that asked (:meth:`medbill_core.app.Medbill.acting_for`: every unit of work the
service opens is that principal's, as the request's would have been). The job is marked
``running``, then ``succeeded`` with a summary (ids, counts: no PHI) or ``failed`` with one
safe line (a :class:`~medbill_core.errors.MedbillError`'s message; anything else only by its
type, logged under an error id).

A server that stops (or is killed) with jobs queued or running leaves them so in the
database: the next ``medbill serve`` marks them ``failed`` ("interrupted") when it starts
(:func:`mark_interrupted`), instead of running them again -- a submission or a statement run
started again is the client's decision (the services themselves are safe to run twice: the
outbox sends each file once, a guarantor gets one statement a day).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from medbill_core import audit
from medbill_core.errors import MedbillError, NotFound
from medbill_core.storage.schema import JobRow, JobStatus, as_utc, utcnow

if TYPE_CHECKING:
    from medbill_core.app import Medbill, UnitOfWork
    from medbill_core.domain.identity import Principal

log = logging.getLogger("medbill.jobs")

#: What a job kind runs: ``run(medbill, params) -> result`` (a JSON summary without PHI).
JobFunction = Callable[["Medbill", Mapping[str, Any]], dict[str, Any]]

#: The error of a job the server stopped before it finished.
INTERRUPTED = "interrupted: the server stopped before the job finished; start it again"
#: Threads running jobs, and jobs a server holds (queued or running) before it refuses more.
DEFAULT_WORKERS = 2
DEFAULT_MAX_PENDING = 16


@dataclass(frozen=True)
class Job:
    """A job as a client sees it."""

    id: int
    kind: str
    status: JobStatus
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    result: dict[str, Any] | None
    error: str | None

    @property
    def location(self) -> str:
        return f"/v1/jobs/{self.id}"

    def as_json(self) -> dict[str, Any]:
        def moment(value: datetime | None) -> str | None:
            return as_utc(value).isoformat() if value is not None else None

        return {"id": self.id, "kind": self.kind, "status": self.status.value,
                "created_by": self.created_by, "created_at": moment(self.created_at),
                "started_at": moment(self.started_at),
                "finished_at": moment(self.finished_at), "result": self.result,
                "error": self.error}


def _job(row: JobRow) -> Job:
    return Job(id=row.id, kind=row.kind, status=JobStatus(row.status),
               created_by=row.created_by, created_at=row.created_at,
               started_at=row.started_at, finished_at=row.finished_at,
               result=row.result, error=row.error)


def create_job(work: UnitOfWork, kind: str, params: Mapping[str, Any] | None = None) -> Job:
    """Record a queued job of ``kind`` in ``work`` (in the practice it acts in: the column's
    default, as for every practice's record)."""
    row = JobRow(kind=kind, status=JobStatus.QUEUED, created_by=work.actor,
                 params=dict(params or {}), created_at=utcnow())
    work.session.add(row)
    work.session.flush()
    audit.record(work.session, actor=work.actor, action="job.create", entity_type="job",
                 entity_id=row.id, details={"kind": kind})
    return _job(row)


def get_job(work: UnitOfWork, job_id: int) -> Job:
    """:raises NotFound: no such job."""
    row = work.session.get(JobRow, job_id)
    if row is None:
        raise NotFound("job", str(job_id))
    return _job(row)


def list_jobs(work: UnitOfWork, *, after_id: int | None = None, limit: int = 50,
              kind: str | None = None, status: JobStatus | None = None) -> list[Job]:
    """Jobs by id (oldest first), after ``after_id``, filtered."""
    statement = select(JobRow).order_by(JobRow.id).limit(limit)
    if after_id is not None:
        statement = statement.where(JobRow.id > after_id)
    if kind is not None:
        statement = statement.where(JobRow.kind == kind)
    if status is not None:
        statement = statement.where(JobRow.status == status.value)
    return [_job(row) for row in work.session.scalars(statement)]


def mark_interrupted(medbill: Medbill, job_ids: Sequence[int] | None = None) -> int:
    """Mark ``failed`` ("interrupted") the jobs a stopped server left queued or running (or
    only ``job_ids``); how many. ``medbill serve`` calls it as it starts: every practice's."""
    with medbill.unit_of_work(all_practices=True) as work:
        statement = update(JobRow).where(JobRow.status.in_(
            (JobStatus.QUEUED.value, JobStatus.RUNNING.value))).values(
            status=JobStatus.FAILED.value, error=INTERRUPTED, finished_at=utcnow())
        if job_ids is not None:
            statement = statement.where(JobRow.id.in_(list(job_ids)))
        count = int(work.session.execute(statement).rowcount or 0)  # type: ignore[attr-defined]
    if count:
        log.warning("%d job(s) interrupted by the last stop marked failed", count)
    return count


class ServerBusy(MedbillError):
    """The server holds as many jobs as it runs at a time and queues: try again later."""


class JobRunner:
    """The app's pool of job threads (``workers`` at a time, ``max_pending`` held at most)."""

    def __init__(self, medbill: Medbill, *, workers: int = DEFAULT_WORKERS,
                 max_pending: int = DEFAULT_MAX_PENDING) -> None:
        self.medbill = medbill
        self.max_pending = max_pending
        self._executor = ThreadPoolExecutor(max_workers=workers,
                                            thread_name_prefix="medbill-job")
        self._lock = threading.Lock()
        self._pending: set[int] = set()
        self._closed = False

    def check_room(self) -> None:
        """:raises ServerBusy: the server holds ``max_pending`` jobs already (or stopped)."""
        with self._lock:
            if self._closed or len(self._pending) >= self.max_pending:
                raise ServerBusy("the server is running as many jobs as it holds; try again "
                                 "in a minute")

    def launch(self, job_id: int, principal: Principal | None, run: JobFunction,
               params: Mapping[str, Any]) -> None:
        """Run the job ``job_id`` (committed as queued) in a job thread."""
        with self._lock:
            if self._closed:
                closed = True
            else:
                closed = False
                self._pending.add(job_id)
        if closed:
            mark_interrupted(self.medbill, [job_id])
            return
        self._executor.submit(self._run, job_id, principal, run, dict(params))

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def _run(self, job_id: int, principal: Principal | None, run: JobFunction,
             params: dict[str, Any]) -> None:
        try:
            if principal is None:
                self._execute(job_id, run, params)
            else:
                with self.medbill.acting_for(principal):
                    self._execute(job_id, run, params)
        finally:
            with self._lock:
                self._pending.discard(job_id)

    def _execute(self, job_id: int, run: JobFunction, params: dict[str, Any]) -> None:
        try:
            with self.medbill.unit_of_work() as work:
                row = work.session.get_one(JobRow, job_id)
                row.status, row.started_at = JobStatus.RUNNING.value, utcnow()
            result = run(self.medbill, params)
        except MedbillError as exc:
            self._finish(job_id, JobStatus.FAILED, error=exc.message.splitlines()[0][:200]
                         if exc.message else type(exc).__name__)
            return
        except Exception as exc:  # a job thread records every failure
            error_id = uuid.uuid4().hex
            # the type only: an exception's text may quote PHI
            log.error("job %s failed: error %s: unhandled %s", job_id, error_id,
                      type(exc).__name__)
            self._finish(job_id, JobStatus.FAILED,
                         error=f"the job failed on the server (error_id {error_id})")
            return
        self._finish(job_id, JobStatus.SUCCEEDED, result=result)

    def _finish(self, job_id: int, status: JobStatus, *, result: dict[str, Any] | None = None,
                error: str | None = None) -> None:
        try:
            with self.medbill.unit_of_work() as work:
                row = work.session.get_one(JobRow, job_id)
                row.status, row.finished_at = status.value, utcnow()
                row.result, row.error = result, error
                audit.record(work.session, actor=work.actor, action=f"job.{status.value}",
                             entity_type="job", entity_id=job_id, details={"kind": row.kind})
        except Exception as exc:  # the database went away: the next start interrupts it
            log.error("job %s: its outcome could not be recorded (%s)", job_id,
                      type(exc).__name__)

    def shutdown(self, *, wait: bool = True) -> None:
        """Take no more jobs; those queued and not started are marked interrupted; with
        ``wait``, the running ones finish first."""
        with self._lock:
            self._closed = True
        self._executor.shutdown(wait=wait, cancel_futures=True)
        with self._lock:
            left = sorted(self._pending)
        if left:
            mark_interrupted(self.medbill, left)

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Until no job is pending (tests); ``False`` on timeout."""
        import time

        deadline = time.monotonic() + timeout
        while self.pending():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True
