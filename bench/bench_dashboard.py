"""The dashboard's server time on 100,000 claims on PostgreSQL: ``GET /v1/reports/kpi`` (every
KPI over the default 12 months with monthly trends: what the dashboard page computes) and a
drill-down page.

The issue's target: p95 <= 300 ms on PostgreSQL. The database is
:mod:`medbill_core.testing.bigdb`'s (two years of claims, answers, denials and postings),
generated into a throw-away PostgreSQL server this script starts (``--claims N`` picks another
size; ``--sqlite`` runs on bench_bigdb.py's cached SQLite file instead). Requests go through
FastAPI's TestClient (the whole app: authentication, validation, serialization; no network).
Also printed: the KPI service alone by part (where the time goes): the months' sums read
from the kept closed months plus the current month computed (:mod:`medbill_core.services.
kpi_rollups`) against all of them computed from scratch, the month-end agings kept
(:mod:`medbill_core.services.kpi_aging_cache`) against none; and the report with nothing kept
(the first view of a new database, or after ``forget``; kept rows survive restarts and are
shared by every server). Figures printed (p50 / p95 of 20 requests each), never asserted.

Before the rollups (issue 16, 100,000 claims, PostgreSQL): ``GET /v1/reports/kpi`` p50
1.49 s / p95 2.07 s with the month-end agings kept in the process, 12.4 s with nothing kept.
After (same machine, same generated data, 2026-12-06, load ~5 on 2 cores): p50 53 ms / p95
67 ms from the kept months; 11.0 s with nothing kept (a new database: then kept for every
server); 0.89 s on the first view after a posting or submission (today's aging redone).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

# run as a script: this folder is on sys.path
from bench_bigdb import cached_database, config

REPEAT = 20
#: the cases that age the whole ledger twelve times: fewer
COLD_REPEAT = 3


def _timed(call: Callable[[], Any], repeat: int = REPEAT) -> tuple[float, float]:
    call()  # warm
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - started)
    seconds.sort()
    return statistics.median(seconds), seconds[max(0, int(len(seconds) * 0.95) - 1)]


@contextmanager
def _database(claims: int, sqlite: bool, url: str | None = None) -> Iterator[str]:
    if url is not None:  # an existing database (generated once, benched before and after)
        yield url
        return
    if sqlite:
        path, _generated = cached_database(claims)
        yield f"sqlite:///{path}"
        return
    from medbill_core.testing.bigdb import generate
    from medbill_core.testing.postgres import PostgresServer

    with PostgresServer() as server:
        url = server.create_database("bench_dashboard")
        print(f"generating {claims:,} claims into PostgreSQL", flush=True)
        stats = generate(url, claims)
        print(f"  {stats.total_rows:,} rows in {stats.seconds:.0f} s", flush=True)
        yield url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--sqlite", action="store_true", help="on the cached SQLite database")
    parser.add_argument("--repeat", type=int, default=REPEAT, help="requests per case")
    parser.add_argument("--url", help="an existing bigdb database (not generated here)")
    args, _ = parser.parse_known_args()  # make bench passes the others' options too
    from fastapi.testclient import TestClient

    from medbill_core.app import Medbill
    from medbill_core.domain.identity import Principal, PrincipalKind, Role
    from medbill_core.http import create_app
    from medbill_core.services import kpi, kpi_aging_cache, kpi_rollups

    with _database(args.claims, args.sqlite, args.url) as url:
        print(f"load: {os.getloadavg()[0]:.2f} (1 min; {os.cpu_count()} cores). "
              f"{args.claims:,} claims on {url.split(':')[0]}", flush=True)
        medbill = Medbill.open(config(url), load_installed=False, upgrade=True)
        principal = Principal(kind=PrincipalKind.USER, id=1, name="bench", practice_id=1,
                              role=Role.BILLING_MANAGER)
        client = TestClient(create_app(medbill,
                                       authenticate=lambda _medbill, _token: principal))
        headers = {"Authorization": "Bearer bench"}

        def get(path: str) -> Callable[[], Any]:
            def call() -> Any:
                response = client.get(path, headers=headers)
                assert response.status_code == 200, response.text
                return response
            return call

        def part(function: Callable[..., Any]) -> Callable[[], Any]:
            def call() -> Any:
                with medbill.unit_of_work(principal=principal, read_only=True) as work:
                    start, end = kpi.check_period(None, None)
                    return function(work, kpi.months_of(start, end), start, end)
            return call

        def forget() -> None:
            with medbill.unit_of_work(principal=principal) as work:
                kpi_aging_cache.forget(work)

        def sent_now() -> None:
            """A claim (re)sent now: today's month-end aging is no longer right (any posting
            effective today does the same), the kept closed months still are."""
            from sqlalchemy import func, select

            from medbill_core.storage.schema import ClaimRow, ClaimTransitionRow

            with medbill.unit_of_work(principal=principal) as work:
                claim_id = work.session.scalar(select(func.max(ClaimRow.id)))
                work.session.add(ClaimTransitionRow(claim_id=claim_id, source="validated",
                                                    target="submitted", actor="bench"))

        from medbill_core.storage.date_sql import local_offset_seconds

        offset = local_offset_seconds()

        def sums(work: Any, months: Any, start: Any, end: Any, keep: bool = True) -> Any:
            window = (kpi._months_back(months[0], 2), kpi._months_back(months[0], 1), *months)
            return kpi_rollups.month_sums(work, window, start, end, offset, keep=keep)

        cases = [
            ("GET /v1/reports/kpi (12 months)", get("/v1/reports/kpi")),
            ("GET .../denial_rate/claims (50)", get("/v1/reports/kpi/denial_rate/claims")),
            ("GET .../ar_over_90/claims (50)", get("/v1/reports/kpi/ar_over_90/claims")),
            ("  service: month sums (kept + this month)", part(sums)),
            ("  service: month sums, from scratch",
             part(lambda work, months, start, end: sums(work, months, start, end, False))),
            ("  service: aged A/R (kept month ends)",
             part(lambda work, months, _start, end: kpi._aged_figures(work, months, end))),
            ("  service: aged A/R, nothing kept (12 agings)",
             part(lambda work, months, _start, end: kpi._aged_figures(work, months, end,
                                                                      keep=False))),
            ("  service: report from scratch (keep=False)",
             part(lambda work, _months, _start, _end: kpi.kpi_report(work, keep=False))),
            ("GET .../kpi after a claim sent (aging redone)",
             lambda: (sent_now(), get("/v1/reports/kpi")())),
            ("GET /v1/reports/kpi, nothing kept", lambda: (forget(), get("/v1/reports/kpi")())),
        ]
        print(f"{'request':<42}{'p50 ms':>9}{'p95 ms':>9}")
        for name, call in cases:
            cold = "nothing kept" in name or "scratch" in name or "redone" in name
            p50, p95 = _timed(call, COLD_REPEAT if cold else args.repeat)
            print(f"{name:<42}{p50 * 1000:>9.1f}{p95 * 1000:>9.1f}", flush=True)
        print("target: GET /v1/reports/kpi p95 <= 300 ms on PostgreSQL")
        medbill.close()


if __name__ == "__main__":
    main()
