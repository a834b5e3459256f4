"""``GET /v1/jobs`` (keyset pages) and ``GET /v1/jobs/{id}``: the long operations clients
started (``POST /v1/claims/submit``, ``POST /v1/statement-runs``), to poll until
``succeeded`` or ``failed``; and :func:`start_job`, which those routes answer with (202,
``Location: /v1/jobs/{id}``, the queued job)."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse, Response

from medbill_core.domain.identity import Principal
from medbill_core.http.auth import api_state, permitted
from medbill_core.http.idempotency import Idempotency
from medbill_core.http.pagination import (
    DEFAULT_LIMIT,
    Cursor,
    Limit,
    decode_cursor,
    encode_cursor,
)
from medbill_core.http.problems import PROBLEM_RESPONSES, problem_response
from medbill_core.http.resources.claims import RowId
from medbill_core.permissions import Action
from medbill_core.services.jobs import (
    JobFunction,
    JobRunner,
    ServerBusy,
    create_job,
    get_job,
    list_jobs,
)
from medbill_core.storage.schema import JobStatus

router = APIRouter(prefix="/v1/jobs", tags=["jobs"], responses=PROBLEM_RESPONSES)
LISTING = "jobs"
#: the kinds of job the API starts
JobKind = Literal["claims.submit", "statements.run"]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: PROBLEM_RESPONSES[500] | {"description": "No such job"}}
#: what a route that starts a job may answer besides its own problems
BUSY: dict[int | str, dict[str, Any]] = {
    503: PROBLEM_RESPONSES[500] | {
        "description": "The server holds as many jobs as it takes (server-busy: retry after "
                       "the Retry-After seconds)"}}


class JobOut(BaseModel):
    """A long operation: poll it until ``succeeded`` (its ``result``) or ``failed`` (its
    ``error``). A job the server stopped before it finished is ``failed`` ("interrupted")."""

    id: int
    kind: JobKind
    status: JobStatus
    created_by: str = Field(description="who started it (user:alice, key:ehr-sync)")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    result: dict[str, Any] | None = Field(description="the outcome, once succeeded (ids and "
                                                      "counts)")
    error: str | None = Field(description="why it failed (one line)")


class JobPage(BaseModel):
    data: list[JobOut]
    next_cursor: str | None


_runner_lock = threading.Lock()


def job_runner(app: FastAPI) -> JobRunner:
    """The app's job threads, started with the first job."""
    with _runner_lock:
        runner: JobRunner | None = getattr(app.state, "medbill_jobs", None)
        if runner is None:
            runner = JobRunner(app.state.medbill_api.medbill)
            app.state.medbill_jobs = runner
        return runner


def stop_jobs(app: FastAPI, *, wait: bool = True) -> None:
    """Stop the app's job threads (``medbill serve`` as it stops): jobs not started are
    marked interrupted."""
    runner: JobRunner | None = getattr(app.state, "medbill_jobs", None)
    if runner is not None:
        runner.shutdown(wait=wait)


def start_job(request: Request, principal: Principal, idempotency: Idempotency, kind: str,
              params: Mapping[str, Any], run: JobFunction) -> Response:
    """Record a queued job, answer 202 with it (stored for the Idempotency-Key in the same
    transaction), and run it once that commits."""
    runner = job_runner(request.app)
    try:
        runner.check_room()
    except ServerBusy as exc:
        return problem_response(request.url.path, 503, slug="server-busy",
                                title="Server busy", detail=exc.message,
                                headers={"Retry-After": "30"})
    medbill = api_state(request).medbill
    with medbill.unit_of_work(principal=principal) as work:
        job = create_job(work, kind, params)
        work.after_commit.append(lambda: runner.launch(job.id, principal, run, params))
        return idempotency.respond(work, 202, job.as_json(), {"Location": job.location})


@router.get("", response_model=JobPage, summary="List jobs")
def list_job_records(
        request: Request,
        principal: Annotated[Principal, Depends(permitted(Action.JOBS_READ))],
        kind: Annotated[JobKind | None, Query(description="Only this kind")] = None,
        status: Annotated[JobStatus | None, Query(description="Only this status")] = None,
        limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Response:
    """Jobs by id, oldest first."""
    after = decode_cursor(LISTING, cursor, (int,))[0] if cursor else None
    with api_state(request).medbill.unit_of_work(principal=principal, read_only=True) as work:
        jobs = list_jobs(work, after_id=after, limit=limit + 1, kind=kind, status=status)
    data = jobs[:limit]
    more = len(jobs) > limit and bool(data)
    return JSONResponse({"data": [job.as_json() for job in data],
                         "next_cursor": encode_cursor(LISTING, [data[-1].id]) if more
                         else None})


@router.get("/{job_id}", response_model=JobOut, summary="Read a job", responses=NOT_FOUND)
def read_job(request: Request,
             principal: Annotated[Principal, Depends(permitted(Action.JOBS_READ))],
             job_id: RowId) -> Response:
    with api_state(request).medbill.unit_of_work(principal=principal, read_only=True) as work:
        job = get_job(work, job_id)
    return JSONResponse(job.as_json())
