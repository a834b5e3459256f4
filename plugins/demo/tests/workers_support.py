"""A practice on PostgreSQL with the clearinghouse simulator and ``medbill worker`` processes
(the worker tests and ``bench/bench_workers.py``).

``WorkerPractice`` loads the demo's synthetic practice (``claims`` drafts) into a database of
a running PostgreSQL server, writes a ``medbill.toml`` for it, and starts, kills and restarts
real ``medbill worker`` processes; ``run_cycle`` drives the cycle through the job queue only:
``jobs enqueue scrub`` (scrub -> submit -> send -> fetch follow one another), then payment runs
of the simulator each followed by ``jobs enqueue fetch``, until no claim waits at a payer.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

#: claims in these states still wait for someone other than the biller or the patient
WAITING = ("draft", "validated", "queued", "submitted", "acknowledged", "accepted")
MEDBILL = [sys.executable, "-c", "from medbill_core.cli.main import run; run()"]


@dataclass
class WorkerPractice:
    folder: Path
    database_url: str
    clearinghouse: Any
    stalled_after: int = 6
    send_lease: int = 15
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    started: int = 0

    @property
    def config(self) -> Path:
        return self.folder / "medbill.toml"

    @classmethod
    def create(cls, folder: Path, database_url: str, clearinghouse: Any, claims: int,
               **options: Any) -> WorkerPractice:
        from medbill_demo.runner import demo_config, load_data
        from medbill_demo.simulation import API_KEY
        from rich.console import Console

        from medbill_core.app import Medbill
        from medbill_core.config import config_toml
        from medbill_core.privatefiles import write_private

        config = demo_config(folder, clearinghouse.base_url, API_KEY, database_url=database_url)
        write_private(folder / "medbill.toml", config_toml(config))
        app = Medbill.open(config, upgrade=True)
        try:
            load_data(app, claims, Console(stderr=True, quiet=True))
        finally:
            app.close()
        return cls(folder, database_url, clearinghouse, **options)

    # -- the command line and the workers ---------------------------------------------------

    def medbill(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*MEDBILL, "-c", str(self.config), *args], cwd=self.folder,
                              env=self._environment(), capture_output=True, text=True,
                              timeout=120, check=False)

    def _environment(self) -> dict[str, str]:
        return {**os.environ, "COLUMNS": "200"}

    def _worker_command(self, *options: str) -> list[str]:
        return [*MEDBILL, "-c", str(self.config), "worker", "--stalled-after",
                str(self.stalled_after), "--send-lease", str(self.send_lease),
                "--statements-dir", str(self.folder / "statements"), *options]

    def start_worker(self) -> subprocess.Popen[bytes]:
        self.started += 1
        log = (self.folder / f"worker-{self.started}.log").open("wb")
        process = subprocess.Popen(self._worker_command(), cwd=self.folder,
                                   env=self._environment(), stdout=log,
                                   stderr=subprocess.STDOUT)
        log.close()
        self.workers.append(process)
        return process

    def kill_one(self, index: int) -> None:
        """SIGKILL worker ``index`` (no goodbye: its jobs stay 'doing') and start another."""
        victim = self.workers[index]
        victim.send_signal(signal.SIGKILL)
        victim.wait(30)
        self.workers.remove(victim)
        self.start_worker()

    def stop_workers(self) -> None:
        for process in self.workers:
            process.send_signal(signal.SIGTERM)
        for process in self.workers:
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        self.workers.clear()

    def finish_queue(self, timeout: float = 180) -> None:
        """Once the workers are stopped, do what they left queued with ``medbill worker
        --once`` runs until no job waits or runs; fails after ``timeout`` seconds (a job that
        never ends: stuck, or retried again and again).

        Stopped workers leave jobs queued as any installation's do, to be done when workers
        start again: the minute's periodic tick deferred after the last look at the queue,
        the jobs that a job running at SIGTERM deferred (a worker stops taking jobs at
        SIGTERM but finishes the one it runs), a retry scheduled a few seconds ahead, the
        job of a worker killed a moment ago (retried once it has been silent for
        ``stalled_after`` seconds). Whether the queue empties is the state to wait for, not
        how long it has been quiet."""
        deadline = time.monotonic() + timeout
        runs = 0
        while self.jobs_pending():
            assert time.monotonic() < deadline, (
                f"jobs still pending {timeout:.0f} s after the workers stopped: " + repr(
                    self.sql("select task_name, status::text, count(*), max(attempts) from "
                             "procrastinate_jobs where status in ('todo', 'doing') "
                             "group by 1, 2 order by 1, 2")))
            runs += 1
            with (self.folder / f"worker-once-{runs}.log").open("wb") as log:
                done = subprocess.run(self._worker_command("--once"), cwd=self.folder,
                                      env=self._environment(), stdout=log,
                                      stderr=subprocess.STDOUT, timeout=timeout, check=False)
            assert done.returncode == 0, self.logs()[-3000:]
            if self.jobs_pending():  # a retry not due yet, a killed worker's job not stalled yet
                time.sleep(1.0)

    def logs(self) -> str:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace")
                         for path in sorted(self.folder.glob("worker-*.log")))

    # -- what the database and the simulator hold ---------------------------------------------

    def sql(self, statement: str, **values: Any) -> list[tuple[Any, ...]]:
        engine = create_engine(self.database_url)
        try:
            with engine.begin() as connection:
                result = connection.execute(text(statement), values)
                return [tuple(row) for row in result] if result.returns_rows else []
        finally:
            engine.dispose()

    def simulator(self, statement: str) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.clearinghouse.state) as connection:
            return connection.execute(statement).fetchall()

    def jobs_pending(self) -> int:
        return int(self.sql("select count(*) from procrastinate_jobs "
                            "where status in ('todo', 'doing')")[0][0])

    def waiting_claims(self) -> int:
        return int(self.sql("select count(*) from claims where state = any(:states)",
                            states=list(WAITING))[0][0])

    def drain(self, timeout: float, tick: Callable[[], None] | None = None) -> None:
        """Wait until no job waits or runs (a killed worker's job counts until retried)."""
        deadline = time.monotonic() + timeout
        quiet = 0
        while quiet < 2:
            assert time.monotonic() < deadline, (
                f"jobs still pending after {timeout:.0f} s: " + repr(self.sql(
                    "select task_name, status::text, count(*), max(attempts) from "
                    "procrastinate_jobs group by 1, 2 order by 1, 2")))
            if any(process.poll() not in (None, -signal.SIGKILL) for process in self.workers):
                raise AssertionError("a worker stopped by itself:\n" + self.logs()[-3000:])
            quiet = quiet + 1 if self.jobs_pending() == 0 else 0
            if tick is not None:
                tick()
            time.sleep(0.5)

    def enqueue(self, kind: str, *options: str) -> None:
        """``medbill jobs enqueue KIND OPTIONS`` (a process of its own)."""
        done = self.medbill("jobs", "enqueue", kind, *options)
        assert done.returncode == 0, done.stderr

    def defer(self, name: str, key: str | None = None, **arguments: Any) -> None:
        """Defer a job from this process (what ``jobs enqueue`` does, without starting a
        process each time)."""
        from medbill_core.jobs import make_app
        from medbill_core.jobs.tasks import defer

        with make_app(self.database_url).open() as app:
            defer(app, name, key=key, **arguments)

    def run_cycle(self, timeout: float, tick: Callable[[], None] | None = None,
                  rounds: int = 6) -> int:
        """The cycle through the job queue; the payment runs it took."""
        from medbill_demo.runner import CHANNEL

        self.defer("scrub")
        self.drain(timeout, tick)
        for round_number in range(1, rounds + 1):
            self.clearinghouse.payment_run()
            self.defer("fetch", key=f"fetch:{CHANNEL}", channel=CHANNEL)
            self.drain(timeout, tick)
            if not self.waiting_claims():
                return round_number
        return rounds
