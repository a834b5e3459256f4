"""Server time of the denials work queue (issue 16: p95 <= 300 ms on PostgreSQL) on a database
of 100,000 claims (:mod:`medbill_core.testing.bigdb`: two years of a practice, some denials
left open).

Through the whole HTTP app (FastAPI's TestClient: authentication, validation, the service,
serialization; no network), as a biller:

* the first read of the queue, which derives it and stores its items (once per database);
* a page of the queue while nothing changed (the refresh is one indexed look-up of the audit
  trail's head): the figure the target is about;
* a page, and the summary of every queue, right after a change (a claim's audit event): the
  first read after it refreshes what the change touched. Measured both ways: ``full``, the
  whole queue derived again (how every change was read before the incremental refresh, and
  still its fallback), and ``incremental``, only the touched subjects' items (after);
* a page deep in the queue (by cursor), a filtered page, and the summary of every queue.

Figures printed (p50 / p95 / p99 of ``--requests`` each), never asserted. ``--database
sqlite|postgresql|both`` (default postgresql), ``--claims N``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# run as a script: this folder is on sys.path
from bench_bigdb import CACHE, cached_database, config

TARGET_MS = 300


def _timed(call: Callable[[], Any], repeat: int) -> tuple[float, float, float]:
    call()  # warm
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - started)
    seconds.sort()

    def pct(share: float) -> float:
        return seconds[min(len(seconds) - 1, int(len(seconds) * share))]

    return statistics.median(seconds), pct(0.95), pct(0.99)


def bench(title: str, url: str, repeat: int) -> None:
    from fastapi.testclient import TestClient

    from medbill_core import audit
    from medbill_core.app import Medbill
    from medbill_core.domain.identity import Principal, PrincipalKind, Role
    from medbill_core.http import create_app

    medbill = Medbill.open(config(url), load_installed=False, upgrade=True)
    roles = {"biller": Role.BILLER, "manager": Role.BILLING_MANAGER}

    def authenticate(_medbill: Any, token: str) -> Principal:
        return Principal(kind=PrincipalKind.API_KEY, id=1, name=f"bench-{token}",
                         practice_id=1, role=roles[token])

    client = TestClient(create_app(medbill, authenticate=authenticate))
    biller = {"Authorization": "Bearer biller"}
    manager = {"Authorization": "Bearer manager"}

    def get(path: str) -> Callable[[], Any]:
        def call() -> Any:
            response = client.get(path, headers=biller)
            assert response.status_code == 200, response.text
            return response.json()
        return call

    started = time.perf_counter()
    first = get("/v1/work-queues/denials/items?limit=50")()
    derived = time.perf_counter() - started
    started = time.perf_counter()
    get("/v1/work-queues")()
    everything = time.perf_counter() - started
    with medbill.unit_of_work(read_only=True) as work:
        from sqlalchemy import func, select

        from medbill_core.storage.schema import WorkItemRow
        count = work.session.scalar(select(func.count()).select_from(WorkItemRow).where(
            WorkItemRow.queue == "denials"))
    print(f"\n{title}: denials queue of {count:,} items; first read (derive and store) "
          f"{derived * 1000:.0f} ms; every other queue's first read {everything * 1000:.0f} ms",
          flush=True)
    page = first["data"]
    cursor = first["next_cursor"]
    deep = cursor
    for _ in range(5):  # a few pages in
        if not deep:
            break
        nxt = get(f"/v1/work-queues/denials/items?limit=50&cursor={deep}")()
        deep = nxt["next_cursor"] or deep
    target = page[0]["id"] if page else None

    def after_a_change(path: str = "/v1/work-queues/denials/items?limit=50") -> float:
        # a change to the records as any service records it (an audit event): the next read
        # derives the queues again (a note or an assignment would not: the queues' own)
        with medbill.unit_of_work() as work:
            audit.record(work.session, actor="bench", action="claim.update",
                         entity_type="claim", entity_id=1, details={"fields": ["bench"]})
        started = time.perf_counter()
        get(path)()
        return time.perf_counter() - started

    cases: list[tuple[str, Callable[[], Any]]] = [
        ("denials page (limit 50), unchanged", get("/v1/work-queues/denials/items?limit=50")),
        ("denials page, deep (cursor)",
         get(f"/v1/work-queues/denials/items?limit=50&cursor={deep}" if deep
             else "/v1/work-queues/denials/items?limit=50")),
        ("denials, payer=acme&min_amount=50", get(
            "/v1/work-queues/denials/items?limit=50&payer=acme&min_amount=50")),
        ("summary of every queue, unchanged", get("/v1/work-queues")),
    ]
    print(f"{'request':<44}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    for name, call in cases:
        p50, p95, p99 = _timed(call, repeat)
        flag = "" if p95 * 1000 <= TARGET_MS else f"  (over the {TARGET_MS} ms target)"
        print(f"{name:<44}{p50 * 1000:>9.1f}{p95 * 1000:>9.1f}{p99 * 1000:>9.1f}{flag}",
              flush=True)
    def after_a_note() -> Any:
        if target is not None:  # the queue's own bookkeeping: nothing to derive again
            answer = client.post(f"/v1/work-items/{target}/notes", json={"text": "bench"},
                                 headers=manager)
            assert answer.status_code == 201, answer.text
        return get("/v1/work-queues/denials/items?limit=50")()

    p50, p95, p99 = _timed(after_a_note, repeat)
    print(f"{'denials page after a note on an item':<44}{p50 * 1000:>9.1f}{p95 * 1000:>9.1f}"
          f"{p99 * 1000:>9.1f}", flush=True)
    from medbill_core.services import work_queues

    incremental = work_queues.touched
    for way, touched in (("full", lambda *_args: None), ("incremental", incremental)):
        # before: every change made the next read derive the queue whole (the fallback,
        # forced here by finding no scope); after: the touched subjects' items only
        work_queues.touched = touched  # type: ignore[assignment]
        for name, path, times in (
                (f"denials after a change, {way}", "/v1/work-queues/denials/items?limit=50",
                 repeat),
                (f"summary after a change, {way}", "/v1/work-queues", max(5, repeat // 3))):
            changed = sorted(after_a_change(path) for _ in range(times))
            p95 = changed[min(len(changed) - 1, int(len(changed) * 0.95))]
            flag = "" if p95 * 1000 <= TARGET_MS else f"  (over the {TARGET_MS} ms target)"
            print(f"{name:<44}{statistics.median(changed) * 1000:>9.1f}{p95 * 1000:>9.1f}"
                  f"{max(changed) * 1000:>9.1f}{flag}", flush=True)
    work_queues.touched = incremental
    client.close()
    medbill.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"],
                        default="postgresql")
    args, _ = parser.parse_known_args()
    print(f"load: {os.getloadavg()[0]:.2f} (1 min; {os.cpu_count()} cores). Target: p95 <= "
          f"{TARGET_MS} ms on PostgreSQL", flush=True)
    if args.database in ("sqlite", "both"):
        source, _generated = cached_database(args.claims)
        with tempfile.TemporaryDirectory(dir=CACHE) as folder:
            copy = Path(folder) / source.name  # the queue's items are written: not the cache
            shutil.copyfile(source, copy)
            bench(f"SQLite, {args.claims:,} claims", f"sqlite:///{copy}", args.requests)
    if args.database in ("postgresql", "both"):
        from medbill_core.testing.bigdb import generate
        from medbill_core.testing.postgres import PostgresServer

        try:
            with PostgresServer() as server:
                url = server.create_database("bench_work_queues")
                started = time.perf_counter()
                generate(url, args.claims)
                bench(f"PostgreSQL, {args.claims:,} claims (generated in "
                      f"{time.perf_counter() - started:.0f} s)", url, args.requests)
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            print(f"postgresql: not measured ({type(exc).__name__}: {exc})")


if __name__ == "__main__":
    main()
