"""The HTTP API under 8 concurrent clients: a real ``medbill serve`` on 127.0.0.1, on a
database of 100,000 claims, SQLite and PostgreSQL.

Per backend: the database (:mod:`medbill_core.testing.bigdb`; on SQLite a copy of the file
``bench_bigdb.py`` caches in ``bench-out/``, on PostgreSQL generated into a throwaway server,
:mod:`medbill_core.testing.postgres`), an API key made by the identity service, then
``medbill serve`` in a subprocess (``--workers 1``, then ``--workers 2``: uvicorn worker
processes sharing the port; ``--workers 1,4`` picks others) and 8 client threads (one
``httpx.Client`` each) sending, one operation after the other:

* claim creation: ``POST /v1/claims`` when the API has it (its body built from the OpenAPI
  document's request schema), else ``POST /v1/patients`` (a new patient each time);
* a filtered claim list: ``GET /v1/claims?state=denied&payer=acme&limit=50``, and one with a
  service-date range;
* a patient read: ``GET /v1/patients/{id}`` (audited), and ``GET /v1/patients/{id}/balance``
  when the API has it.

Each client first sends :data:`WARM_UP` untimed requests of the operation. Printed per
operation: requests, p50 and p99 latency (ms, per request, as a client sees it),
requests/s (all requests over the wall-clock time of the run) and the issue's target beside
them (p99 <= 100 ms for reads, <= 200 ms for a claim creation, on PostgreSQL). Figures
printed, never asserted; quote them with the machine's load (printed first). Every response
must be a 2xx: a failure stops the bench with its status (a bench of errors measures nothing).

``--claims N`` picks another size, ``--requests N`` the requests per client per operation,
``--database sqlite|postgresql|both``.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# run as a script: this folder is on sys.path
from bench_bigdb import CACHE, cached_database, config

CLIENTS = 8
#: untimed requests each client sends first (see :func:`run`)
WARM_UP = 5
READ_TARGET_MS = 100
CREATE_TARGET_MS = 200

#: (name, request maker, target p99 ms): a request maker gives (method, url, json body)
Operation = tuple[str, Callable[[random.Random], tuple[str, str, Any]], int]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def served(settings: Path, workers: int = 1) -> Iterator[str]:
    """``medbill -c settings serve --workers N`` on a free loopback port; its base URL.
    Stopped (SIGTERM) on exit."""
    import httpx

    port = _free_port()
    medbill = Path(sys.executable).with_name("medbill")
    env = {name: value for name, value in os.environ.items() if not name.startswith("MEDBILL_")}
    server = subprocess.Popen([str(medbill), "-c", str(settings), "serve", "--port", str(port),
                               "--workers", str(workers)],
                              env=env, cwd=settings.parent, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"medbill serve stopped: {server.communicate()[1][-500:]}")
            try:
                if httpx.get(f"{base}/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("medbill serve did not answer within 120 s")
            time.sleep(0.2)
        yield base
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.communicate()


def prepare(url: str, folder: Path) -> tuple[Path, str, dict[str, Any]]:
    """The settings file for ``url``, a new API key's token, and what the requests pick from
    (patients' ids, coverages)."""
    from sqlalchemy import text

    from medbill_core.app import Medbill
    from medbill_core.config import config_toml
    from medbill_core.domain.identity import Role
    from medbill_core.services import identity

    settings = folder / "medbill.toml"
    settings.write_text(config_toml(config(url)))
    app = Medbill.open(config(url), load_installed=False, upgrade=True)
    try:
        with app.unit_of_work() as work:
            administrator = identity.local_principal(work, app.config)
            token = identity.create_key(work, administrator, f"bench-{os.getpid()}",
                                        Role.ADMINISTRATOR).token
        with app.unit_of_work(read_only=True) as work:
            coverages = [tuple(row) for row in work.session.execute(text(
                "SELECT id, patient_id, payer_key FROM coverages ORDER BY id LIMIT 5000"))]
            patients = [row[0] for row in work.session.execute(text(
                "SELECT id FROM patients ORDER BY id"))]
    finally:
        app.close()
    return settings, token, {"coverages": coverages, "patients": patients}


def _schema_properties(document: dict[str, Any], path: str, method: str) -> set[str] | None:
    """The top-level properties of an operation's JSON request body (None: no such route)."""
    operation = document["paths"].get(path, {}).get(method)
    if operation is None:
        return None
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return set(schema.get("properties", {}))


#: claim and account numbers stay new across the runs of one bench (one per --workers value)
_SERIAL = itertools.count(1)
_SERIAL_LOCK = threading.Lock()


def operations(document: dict[str, Any], data: dict[str, Any]) -> list[Operation]:
    from medbill_core.testing.factories import make_claim, make_patient

    def next_serial() -> int:
        with _SERIAL_LOCK:
            return next(_SERIAL)

    claim_fields = _schema_properties(document, "/v1/claims", "post")
    found: list[Operation] = []
    if claim_fields is not None:
        def create_claim(rng: random.Random) -> tuple[str, str, Any]:
            coverage_id, patient_id, payer_key = rng.choice(data["coverages"])
            claim = make_claim(patient_id, coverage_id=coverage_id, payer_key=payer_key,
                               number=f"HB{os.getpid() % 1000:03d}{next_serial():07d}", lines=2)
            body = claim.model_dump(mode="json", exclude_none=True)
            return "POST", "/v1/claims", {k: v for k, v in body.items() if k in claim_fields}
        found.append(("create claim (POST /v1/claims)", create_claim, CREATE_TARGET_MS))
    else:
        patient_fields = _schema_properties(document, "/v1/patients", "post") or set()

        def create_patient(rng: random.Random) -> tuple[str, str, Any]:
            body = make_patient(0, account_number=f"HB{os.getpid() % 1000:03d}"
                                                  f"{next_serial():07d}",
                                last_name=f"Benchpatient{rng.randrange(10**6)}"
                                ).model_dump(mode="json", exclude_none=True)
            return "POST", "/v1/patients", {k: v for k, v in body.items()
                                            if k in patient_fields}
        found.append(("create patient (POST /v1/patients; no POST /v1/claims)", create_patient,
                      CREATE_TARGET_MS))
    found.append(("list claims ?state=denied&payer=acme", lambda rng: (
        "GET", "/v1/claims?state=denied&payer=acme&limit=50", None), READ_TARGET_MS))
    found.append(("list claims ?service_from..to&payer", lambda rng: (
        "GET", "/v1/claims?payer=medicare&service_from=2026-01-01&service_to=2026-03-31"
               "&limit=50", None), READ_TARGET_MS))
    found.append(("read patient (GET /v1/patients/{id})", lambda rng: (
        "GET", f"/v1/patients/{rng.choice(data['patients'])}", None), READ_TARGET_MS))
    if "/v1/patients/{patient_id}/balance" in document["paths"]:
        found.append(("patient balance (GET .../balance)", lambda rng: (
            "GET", f"/v1/patients/{rng.choice(data['patients'])}/balance", None),
            READ_TARGET_MS))
    return found


def run(base: str, token: str, operation: Operation, requests: int) -> dict[str, float]:
    """``requests`` requests from each of :data:`CLIENTS` threads; latencies and rate."""
    import httpx

    _name, make, _target = operation
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS + 1)

    def client(number: int) -> None:
        rng = random.Random(number)
        mine: list[float] = []
        with httpx.Client(base_url=base, timeout=60,
                          headers={"Authorization": f"Bearer {token}"}) as http:
            # the connection opened, and each server thread's first use of the operation
            # (statement caches, pooled connections, lazy imports) done, before the clock
            # starts: the figures are a running server's, not its first seconds'
            for _ in range(WARM_UP):
                method, url, body = make(rng)
                http.request(method, url, json=body)
            start.wait()
            for _ in range(requests):
                method, url, body = make(rng)
                began = time.perf_counter()
                response = http.request(method, url, json=body)
                mine.append(time.perf_counter() - began)
                if response.status_code >= 300:
                    with lock:
                        failures.append(f"{method} {url}: {response.status_code} "
                                        f"{response.text[:200]}")
                    return
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    if failures:
        raise RuntimeError(f"{len(failures)} failed: {failures[0]}")
    latencies.sort()
    return {"requests": len(latencies), "p50": statistics.median(latencies) * 1000,
            "p99": latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000,
            "rate": len(latencies) / wall}


def bench(label: str, url: str, requests: int, workers: list[int]) -> None:
    import httpx

    with tempfile.TemporaryDirectory() as folder:
        settings, token, data = prepare(url, Path(folder))
        for count in workers:
            with served(settings, count) as base:
                document = httpx.get(f"{base}/openapi.json").json()
                print(f"\n{label}: {len(data['patients']):,} patients; `medbill serve --workers "
                      f"{count}`; {CLIENTS} clients x {requests} requests per operation",
                      flush=True)
                print(f"{'operation':<56}{'reqs':>6}{'p50 ms':>9}{'p99 ms':>9}{'req/s':>8}"
                      f"{'target p99':>12}")
                for operation in operations(document, data):
                    figures = run(base, token, operation, requests)
                    print(f"{operation[0]:<56}{figures['requests']:>6.0f}"
                          f"{figures['p50']:>9.1f}{figures['p99']:>9.1f}"
                          f"{figures['rate']:>8.1f}{'<= ' + str(operation[2]):>12}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=40,
                        help="requests per client per operation")
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--workers", default="1,2",
                        help="`medbill serve --workers` values to run, one after the other")
    args, _ = parser.parse_known_args()
    workers = [int(count) for count in args.workers.split(",")]
    load = os.getloadavg()
    print(f"load: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (1, 5, 15 min; {os.cpu_count()} "
          f"cores). Targets (PostgreSQL): p99 <= {READ_TARGET_MS} ms reads, "
          f"<= {CREATE_TARGET_MS} ms claim creation", flush=True)
    if args.database in ("sqlite", "both"):
        source, generated = cached_database(args.claims)
        with tempfile.TemporaryDirectory(dir=CACHE) as folder:
            copy = Path(folder) / source.name  # the requests write: not into the cache
            shutil.copyfile(source, copy)
            bench(f"SQLite, {args.claims:,} claims" + (
                f" (generated in {generated:.0f} s)" if generated is not None else ""),
                f"sqlite:///{copy}", args.requests, workers)
    if args.database in ("postgresql", "both"):
        from medbill_core.testing.bigdb import generate
        from medbill_core.testing.postgres import PostgresServer

        try:
            with PostgresServer() as server:
                url = server.create_database("bench_http")
                started = time.perf_counter()
                generate(url, args.claims)
                bench(f"PostgreSQL, {args.claims:,} claims (generated in "
                      f"{time.perf_counter() - started:.0f} s)", url, args.requests, workers)
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            print(f"postgresql: not measured ({type(exc).__name__}: {exc})")


if __name__ == "__main__":
    main()
