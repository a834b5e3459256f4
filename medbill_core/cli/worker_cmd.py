"""``medbill worker`` (a procrastinate worker over the configured PostgreSQL database) and
``medbill jobs`` (enqueue work for the workers, see what they have done).

See :mod:`medbill_core.jobs` for the jobs, their keys and what a killed worker leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from medbill_core.cli.common import (
    cli_errors,
    console,
    data_table,
    fail,
    load_cli_config,
    open_app,
    print_json,
    print_table,
)
from medbill_core.jobs import JOB_KINDS
from medbill_core.permissions import Action

log = logging.getLogger("medbill.jobs")

jobs_app = typer.Typer(help="Background jobs for medbill worker processes (PostgreSQL).",
                       no_args_is_help=True)


@cli_errors
def worker(
    concurrency: Annotated[int, typer.Option(
        min=1, max=64, help="Jobs this process runs at once (threads); start more processes "
        "to use more cores")] = 1,
    queues: Annotated[list[str] | None, typer.Option(
        "--queues", help="Only jobs of these queues (comma separated, or repeated; "
        "default: every queue)")] = None,
    once: Annotated[bool, typer.Option(
        "--once", help="Stop when no job is waiting, instead of waiting for more")] = False,
    send_lease: Annotated[int, typer.Option(
        min=5, max=3600, help="Seconds a sender holds an outbox file: a file of a killed "
        "worker is sent again after this")] = 300,
    stalled_after: Annotated[int, typer.Option(
        min=3, max=3600, help="Seconds without a heartbeat after which a worker counts as "
        "gone and its jobs are retried by the others")] = 30,
    statements_dir: Annotated[Path, typer.Option(
        help="Where the scheduled statement runs write their files")] = Path("statements"),
    renderer: Annotated[str, typer.Option(help="Renderer of scheduled statements")] = "pdf",
    followup_days: Annotated[int, typer.Option(
        min=1, max=365, help="Status inquiries (276) for claims waiting this many days")] = 30,
    eligibility_days: Annotated[int, typer.Option(
        min=1, max=365, help="Eligibility re-checks of coverages not checked for this many "
        "days")] = 30,
) -> None:
    """Run background jobs (submission, responses, 835 posting, statements, scheduled
    follow-ups) from the configured PostgreSQL database, until stopped (Ctrl-C, SIGTERM).

    Start as many as you like, on any machine that reaches the database: each job is done by
    one of them. On SQLite the same work runs in-process: use the commands."""
    from medbill_core.jobs import make_app, require_postgresql
    from medbill_core.jobs.tasks import WorkerSettings, use

    config = load_cli_config()
    require_postgresql(config.database_url)
    medbill = open_app(as_installation=True)  # a job acts for whoever enqueued it
    _log_to_stderr()
    use(medbill, WorkerSettings(send_lease=timedelta(seconds=send_lease),
                                statements_dir=statements_dir, statements_renderer=renderer,
                                followup_days=followup_days,
                                eligibility_days=eligibility_days))
    app = make_app(config.database_url)
    wanted = [name.strip() for value in queues or [] for name in value.split(",")
              if name.strip()]
    try:
        asyncio.run(_run(app, concurrency=concurrency, queues=wanted or None, wait=not once,
                         stalled_after=stalled_after))
    finally:
        medbill.close()


def _log_to_stderr() -> None:
    """procrastinate's warnings and errors (a job failed, to be retried) on stderr, as
    medbill's own are: a worker's log is where an operator looks."""
    queue_log = logging.getLogger("procrastinate")
    if not queue_log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        queue_log.addHandler(handler)
        queue_log.setLevel(logging.WARNING)
        queue_log.propagate = False


async def _run(app: Any, *, concurrency: int, queues: list[str] | None, wait: bool,
               stalled_after: int) -> None:
    name = f"medbill-{socket.gethostname()[:40]}-{os.getpid()}"
    async with app.open_async():
        await retry_stalled(app, stalled_after)
        recovery = asyncio.create_task(_recover(app, stalled_after))
        try:
            await app.run_worker_async(
                concurrency=concurrency, queues=queues, wait=wait, name=name,
                update_heartbeat_interval=max(1.0, stalled_after / 3),
                stalled_worker_timeout=stalled_after, fetch_job_polling_interval=1.0,
                abort_job_polling_interval=5.0)
        finally:
            recovery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await recovery


async def retry_stalled(app: Any, stalled_after: int) -> int:
    """Retry the jobs of workers silent for ``stalled_after`` seconds (killed, cut off):
    the jobs' rows say what was done, so running them again finishes the work.

    A stalled job whose twin (same queueing lock) already waits cannot wait beside it: it
    ends ``failed`` instead (its work is the twin's), which also frees its lock for the twin.
    """
    from procrastinate.exceptions import UniqueViolation
    from procrastinate.jobs import Status

    retried = 0
    for job in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after):
        try:
            await app.job_manager.retry_job(job)
        except UniqueViolation:
            with contextlib.suppress(Exception):  # finished meanwhile by another worker
                await app.job_manager.finish_job(job, Status.FAILED, delete_job=False)
                log.warning("job %s (%s) of a stalled worker ended: the same job waits "
                            "and will do its work", job.id, job.task_name)
            continue
        except Exception:  # another worker retried it first, or it finished meanwhile
            continue
        retried += 1
        log.warning("job %s (%s) of a stalled worker retried", job.id, job.task_name)
    return retried


async def _recover(app: Any, stalled_after: int) -> None:
    while True:
        await asyncio.sleep(max(1.0, stalled_after / 2))
        try:
            await retry_stalled(app, stalled_after)
        except Exception as exc:  # the database restarting: the next round tries again
            log.warning("stalled-job recovery: %s", type(exc).__name__)


@jobs_app.command("enqueue")
@cli_errors
def enqueue_command(
    kind: Annotated[str, typer.Argument(help="What to do: " + "; ".join(
        f"{name} ({what})" for name, what in JOB_KINDS.items()))],
    days: Annotated[int | None, typer.Option(
        min=1, max=365, help="followups, eligibility: waiting or unchecked this many "
        "days")] = None,
    cycle: Annotated[str | None, typer.Option(
        help="statements: the cycle (default: this month)")] = None,
    out: Annotated[Path | None, typer.Option(
        help="statements: where to write them (default: the worker's --statements-dir)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Ask the workers to do something now (scheduled jobs are enqueued by the workers
    themselves). A job of the same kind already waiting is not enqueued twice."""
    from medbill_core.jobs import make_app, require_postgresql
    from medbill_core.jobs.tasks import enqueue, use

    if kind not in JOB_KINDS:
        raise fail(f"unknown job {kind!r}: one of {', '.join(JOB_KINDS)}", 2)
    config = load_cli_config()
    require_postgresql(config.database_url)
    medbill = open_app()
    medbill.require(Action.JOBS_RUN)
    medbill.acting_as = None  # the job itself is the installation's work
    use(medbill)
    arguments: dict[str, Any] = {}
    if days is not None and kind in ("followups", "eligibility"):
        arguments["days"] = days
    if kind == "statements":
        if cycle:
            arguments["cycle"] = cycle
        if out:
            arguments["out_dir"] = str(out.resolve())
    try:
        with make_app(config.database_url).open() as app:
            deferred = enqueue(app, kind, arguments)
    finally:
        medbill.close()
    if as_json:
        print_json({"job": kind, "enqueued": deferred})
    elif deferred:
        console.print(f"enqueued: {', '.join(deferred)}", highlight=False, markup=False)
    else:
        console.print(f"{kind}: already waiting for a worker", highlight=False, markup=False)


@jobs_app.command("list")
@cli_errors
def list_command(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Jobs by task and status (todo, doing, succeeded, failed ...)."""
    from medbill_core.jobs import job_counts, require_postgresql

    config = load_cli_config()
    require_postgresql(config.database_url)
    counts = job_counts(config.database_url)
    if as_json:
        print_json([{"task": task, "status": status, "jobs": n}
                    for (task, status), n in sorted(counts.items())])
        return
    table = data_table("task", "status", "jobs", title="jobs", keys=("task", "status"),
                       numeric=("jobs",))
    for (task, status), n in sorted(counts.items()):
        table.add_row(task, status, str(n))
    print_table(table)
