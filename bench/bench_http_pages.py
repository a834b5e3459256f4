"""Cursor pages of ``GET /v1/claims`` (the HTTP API) on a database of 100,000 claims.

Keyset pages read through the primary key wherever they start: the first page, one at the
end of the list and a filtered one should cost about the same. For comparison, the same
deep page read with OFFSET through the claims service (what a page number would cost). The
database is :mod:`medbill_core.testing.bigdb`'s, cached in ``bench-out/`` by
``bench_bigdb.py``'s helper (``--claims N`` picks another size). Requests go through
FastAPI's TestClient (the whole app: authentication, validation, serialization; no
network). Figures printed (p50 / p99 of 30 requests each), never asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

# run as a script: this folder is on sys.path
from bench_bigdb import cached_database, config

REPEAT = 30


def _timed(call: Callable[[], Any]) -> tuple[float, float]:
    call()  # warm
    seconds = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - started)
    seconds.sort()
    return statistics.median(seconds), seconds[int(len(seconds) * 0.99) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--claims", type=int, default=100_000)
    args, _ = parser.parse_known_args()
    from fastapi.testclient import TestClient

    from medbill_core.app import Medbill
    from medbill_core.domain.identity import Principal, PrincipalKind, Role
    from medbill_core.http import create_app
    from medbill_core.http.pagination import encode_cursor

    database, generated = cached_database(args.claims)
    print(f"load: {os.getloadavg()[0]:.2f} (1 min; {os.cpu_count()} cores). Database: "
          f"{args.claims:,} claims" + (f", generated in {generated:.0f} s"
                                       if generated is not None else " (cached)"))
    medbill = Medbill.open(config(f"sqlite:///{database}"), load_installed=False, upgrade=True)
    principal = Principal(kind=PrincipalKind.API_KEY, id=1, name="bench", practice_id=1,
                          role=Role.BILLER)
    client = TestClient(create_app(medbill, authenticate=lambda _medbill, _token: principal))
    headers = {"Authorization": "Bearer bench"}
    with medbill.unit_of_work(read_only=True) as work:
        last_ids = work.claims.ids(limit=1, offset=args.claims - 51)
    deep_after = last_ids[0] if last_ids else 0
    deep = encode_cursor("claims", [deep_after])

    def get(url: str) -> Callable[[], Any]:
        def call() -> Any:
            response = client.get(url, headers=headers)
            assert response.status_code == 200, response.text
            return response
        return call

    def offset_page() -> Any:
        with medbill.unit_of_work(read_only=True) as work:
            return work.claims.list(limit=51, offset=args.claims - 51)

    cases = [
        ("first page (limit 50)", get("/v1/claims?limit=50")),
        ("last page, by cursor", get(f"/v1/claims?limit=50&cursor={deep}")),
        ("filtered: payer=acme&state=denied", get("/v1/claims?limit=50&payer=acme"
                                                  "&state=denied")),
        ("page of 500", get("/v1/claims?limit=500")),
        ("last page by OFFSET (service only)", offset_page),
    ]
    print(f"{'page':<40}{'p50 ms':>9}{'p99 ms':>9}")
    for name, call in cases:
        p50, p99 = _timed(call)
        print(f"{name:<40}{p50 * 1000:>9.1f}{p99 * 1000:>9.1f}", flush=True)
    medbill.close()


if __name__ == "__main__":
    main()
