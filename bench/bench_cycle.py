"""The whole revenue cycle at scale: claims per second, peak memory, SQL statements, floors.

Runs the demo cycle (load, eligibility, scrub, 837P submission through the HTTP
simulator on loopback, acknowledgments, corrections, payment runs, 835 posting,
statements, payments) for each size, each in a fresh process so peak RSS is its own.
The clearinghouse simulator runs in a process of its own, as a real clearinghouse is
another system: CPU time is printed for medbill (its process and any process of its own it
starts) and for the simulator, apart.

Beside claims/s and peak RSS it prints, measured in the same process after the cycle:

* SQL statements per claim: every statement any SQLAlchemy engine in the process sends
  (``before_cursor_execute`` on the ``Engine`` class). An executemany counts as ONE statement;
  on SQLite the ``BEGIN IMMEDIATE`` of each unit of work counts too (PostgreSQL's BEGIN is
  implicit in the driver, not a statement of its own).
  ``SQL/claim`` is the demo's database alone; ``(all)`` adds the other databases in the process
  (the simulator's state, control numbers) where they go through SQLAlchemy.
* the insert floor: the rows the cycle left in the demo's database (every table of the core's
  metadata), inserted again by plain ``sqlite3`` executemany in one transaction into a fresh
  SQLite file with the same schema.
* the X12 floor: encode + decode of an 837P of the same number of claims, and encode + decode
  of an 835 paying that many claims (the shapes bench_x12.py uses).

and the ratios cycle time / floor time. Wall-clock figures, printed, never asserted.
Run ``python bench/bench_cycle.py --quick`` (200 claims) to try it. On SQLite the 1,000-claim
cycle also runs in a copy of a database already holding 1,000,000 claims (``--preloaded N``,
``--preloaded-sizes``; ``bench_bigdb.py``'s, generated once into ``bench-out/``, ~6 minutes)
and is printed beside the empty one, run in the history's practice (the demo then also works
that practice's backlog: minutes) and in a new practice beside it: the cycle's cost must not
grow with the database.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
DEMO_DATABASE = "medbill-demo.db"
PG_DATABASE = "bench_cycle"


class StatementCounter:
    """Counts statements per database file across every engine of the process."""

    def __init__(self) -> None:
        self.by_database: Counter[str] = Counter()

    def __call__(self, conn: Any, cursor: Any, statement: str, parameters: Any,
                 context: Any, executemany: bool) -> None:
        # One count per round trip to the driver: an executemany of many rows is one.
        self.by_database[Path(conn.engine.url.database or "memory").name] += 1


def table_rows(database: Path) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    """Column names and raw rows of every core table, read with plain sqlite3."""
    from medbill_core.storage.schema import Base

    rows: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = {}
    with sqlite3.connect(database) as source:
        for table in Base.metadata.sorted_tables:
            cursor = source.execute(f'SELECT * FROM "{table.name}"')
            rows[table.name] = ([column[0] for column in cursor.description], cursor.fetchall())
    return rows


def copy_to_sqlite(database_url: str, target: Path) -> None:
    """The core tables of ``database_url`` copied into a fresh SQLite file (not timed), so the
    insert floor is always measured the same way: raw sqlite3 executemany."""
    from sqlalchemy import create_engine, select

    from medbill_core.storage.schema import Base

    source, sink = create_engine(database_url), create_engine(f"sqlite:///{target}")
    Base.metadata.create_all(sink)
    with source.connect() as reading, sink.begin() as writing:
        for table in Base.metadata.sorted_tables:
            rows = [dict(row._mapping) for row in reading.execute(select(table))]
            if rows:
                writing.execute(table.insert(), rows)
    source.dispose()
    sink.dispose()


def insert_floor(rows: dict[str, tuple[list[str], list[tuple[Any, ...]]]], folder: Path) -> float:
    """Seconds to insert ``rows`` by executemany in one transaction into a fresh schema."""
    from sqlalchemy import create_engine

    from medbill_core.storage.schema import Base

    target = folder / "floor.db"
    engine = create_engine(f"sqlite:///{target}")
    Base.metadata.create_all(engine)
    engine.dispose()
    connection = sqlite3.connect(target, isolation_level=None)
    try:
        started = time.perf_counter()
        connection.execute("BEGIN")
        for table, (columns, values) in rows.items():  # sorted_tables order: parents first
            if values:
                names = ", ".join(f'"{c}"' for c in columns)
                marks = ", ".join("?" for _ in columns)
                connection.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})',
                                       values)
        connection.execute("COMMIT")
        return time.perf_counter() - started
    finally:
        connection.close()


def x12_floor(claims: int) -> tuple[float, float]:
    """Seconds to (encode + decode an 837P, encode + decode an 835) of ``claims`` claims."""
    sys.path.insert(0, str(BENCH_DIR))
    sys.path.insert(0, str(BENCH_DIR.parent / "plugins" / "payer_generic_x12" / "tests"))
    from bench_x12 import NOW, make_remittance
    from medbill_payer_generic_x12.transactions.claim_837p import decode_837p, encode_837p
    from medbill_payer_generic_x12.transactions.remittance_835 import decode_835, encode_835
    from medbill_payer_generic_x12.x12 import MemoryControlNumbers
    from x12_factories import claim

    bills = [claim(f"C{n:06d}") for n in range(claims)]
    remittance = make_remittance(claims)
    started = time.perf_counter()
    decoded = decode_837p(encode_837p(bills, now=NOW).text)
    claim_seconds = time.perf_counter() - started
    if len(decoded) != claims:
        raise RuntimeError(f"837P floor decoded {len(decoded)} of {claims} claims")
    started = time.perf_counter()
    decode_835(encode_835([remittance], now=NOW, control_numbers=MemoryControlNumbers()))
    return claim_seconds, time.perf_counter() - started


def rss_mb() -> float:
    """The process's resident memory now (Linux ``/proc``; 0 where there is none)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def print_steps() -> None:
    """Print, on stderr, the resident memory (now and peak) as each demo step ends: which
    step's memory grows with the number of claims."""
    from medbill_demo.runner import DemoReport

    started = time.perf_counter()
    done = DemoReport.done

    def done_and_print(report: DemoReport, step: str, detail: str) -> None:
        done(report, step, detail)
        print(f"{time.perf_counter() - started:8.1f} s  RSS {rss_mb():6.0f} MB  peak "
              f"{peak_rss_mb():6.0f} MB  {step}", file=sys.stderr, flush=True)

    DemoReport.done = done_and_print  # type: ignore[method-assign]


class SimulatorCpu:
    """The CPU seconds of the demo's clearinghouse simulator processes, read as each stops
    (``DemoClearinghouse.cpu_seconds``, from its ``wait4``): ``run_demo`` keeps the
    simulator to itself, so its exit is wrapped for the length of the cycle."""

    def __init__(self) -> None:
        self.seconds = 0.0

    @contextlib.contextmanager
    def recording(self) -> Iterator[None]:
        from medbill_demo.simulation import DemoClearinghouse

        original = DemoClearinghouse.__exit__

        def exit_and_record(clearinghouse: DemoClearinghouse, *exc: object) -> None:
            original(clearinghouse, *exc)
            self.seconds += clearinghouse.cpu_seconds or 0.0

        DemoClearinghouse.__exit__ = exit_and_record  # type: ignore[method-assign]
        try:
            yield
        finally:
            DemoClearinghouse.__exit__ = original  # type: ignore[method-assign]


def children_cpu_seconds() -> float:
    """User + system CPU of this process's children that have ended and been waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


#: the claims of the database the cycle also runs on (the issue's: 1,000,000)
PRELOADED = 1_000_000

#: the practice ``--beside`` runs the cycle in, next to the preloaded history's practice
BESIDE_PRACTICE = "beside"


def one(claims: int, database: str, preloaded: int = 0, *, beside: bool = False) -> None:
    if preloaded:  # a copy of bench_bigdb's cached database (generated the first time)
        import shutil

        from bench_bigdb import cached_database

        source, _seconds = cached_database(preloaded)
        with tempfile.TemporaryDirectory() as folder:
            copy = Path(folder) / f"preloaded-{preloaded}.db"
            shutil.copyfile(source, copy)
            if beside:
                add_practice(copy, BESIDE_PRACTICE)
            cycle(claims, f"sqlite:///{copy}", copy.name, floors=False,
                  practice_code=BESIDE_PRACTICE if beside else None)
        return
    if database == "postgresql":
        from medbill_core.testing.postgres import PostgresServer

        with PostgresServer() as server:
            cycle(claims, server.create_database(PG_DATABASE), PG_DATABASE)
    else:
        cycle(claims, None, DEMO_DATABASE)


def add_practice(database: Path, code: str) -> None:
    """A second practice in ``database`` (SQLite), as ``practices add`` makes one: a billing
    company's new client beside the history's practice."""
    with contextlib.closing(sqlite3.connect(database)) as connection, connection:
        connection.execute("INSERT INTO practices (code, name, created_at, active) "
                           "VALUES (?, ?, CURRENT_TIMESTAMP, 1)", (code, code.title()))


def cycle(claims: int, database_url: str | None, database_name: str, *,
          floors: bool = True, practice_code: str | None = None) -> None:
    """Runs the demo cycle in ``database_url`` (None: the demo's SQLite file) and prints the
    figures as one JSON line (``floors``: also the insert and X12 floors, which copy every
    row of the database: not for a preloaded one; ``practice_code``: the practice to work in,
    not the database's first)."""
    from medbill_demo.runner import run_demo
    from rich.console import Console
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    counter = StatementCounter()
    simulator = SimulatorCpu()
    event.listen(Engine, "before_cursor_execute", counter)
    with tempfile.TemporaryDirectory() as folder, simulator.recording():
        started, cpu_started = time.perf_counter(), time.process_time()
        children_started = children_cpu_seconds()
        summary = run_demo(Path(folder), claims, console=Console(file=io.StringIO()),
                           database_url=database_url, practice_code=practice_code)
        seconds = time.perf_counter() - started
        # medbill's: this process's threads and the processes it started and waited for,
        # but for the simulator's
        cpu_seconds = (time.process_time() - cpu_started
                       + children_cpu_seconds() - children_started - simulator.seconds)
        event.remove(Engine, "before_cursor_execute", counter)
        peak_mb = peak_rss_mb()
        if not floors:
            print(json.dumps({"claims": claims, "seconds": seconds, "cpu_seconds": cpu_seconds,
                              "simulator_cpu_seconds": simulator.seconds,
                              "peak_rss_mb": peak_mb, "balanced": summary["ledger_balanced"],
                              "statements_main": counter.by_database[database_name],
                              "statements_all": sum(counter.by_database.values())}))
            return
        written = Path(folder) / DEMO_DATABASE
        if database_url is not None:
            copy_to_sqlite(database_url, written)
        rows = table_rows(written)
        floor_folder = Path(folder) / "floor"
        floor_folder.mkdir()
        insert_seconds = insert_floor(rows, floor_folder)
    claim_x12, remittance_x12 = x12_floor(claims)
    print(json.dumps({
        "claims": claims, "seconds": seconds, "cpu_seconds": cpu_seconds,
        "simulator_cpu_seconds": simulator.seconds, "peak_rss_mb": peak_mb,
        "balanced": summary["ledger_balanced"], "states": summary["claims_by_state"],
        "statements_main": counter.by_database[database_name],
        "statements_all": sum(counter.by_database.values()),
        "rows": sum(len(values) for _, values in rows.values()),
        "rows_by_table": {t: len(v) for t, (_, v) in rows.items() if v},
        "insert_floor": insert_seconds, "x12_837p": claim_x12, "x12_835": remittance_x12}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--quick", action="store_true", help="one size of 200 claims")
    parser.add_argument("--verbose", action="store_true", help="also rows per table")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite",
                        help="postgresql: a throwaway server (medbill_core.testing.postgres)")
    parser.add_argument("--one", type=int)
    parser.add_argument("--steps", action="store_true",
                        help="with --one: print RSS (now and peak) after each demo step on stderr")
    parser.add_argument("--preloaded", type=int, default=None, metavar="N",
                        help="also run the sizes of --preloaded-sizes in a copy of a database "
                             "already holding N claims (bench_bigdb.py's, generated once; "
                             f"SQLite); default {PRELOADED:,}, 0: not (nor with --quick)")
    parser.add_argument("--preloaded-sizes", default="1000",
                        help="the sizes also run on the preloaded database")
    parser.add_argument("--beside", action="store_true",
                        help="with --one and --preloaded: run the cycle in a new practice "
                             "beside the history's")
    args, _ = parser.parse_known_args()
    if args.one:
        if args.steps:
            print_steps()
        one(args.one, args.database, args.preloaded or 0, beside=args.beside)
        return
    sizes = [200] if args.quick else [int(s) for s in args.sizes.split(",")]
    holding = 0 if args.quick or args.database != "sqlite" else (
        PRELOADED if args.preloaded is None else args.preloaded)
    preloaded_sizes = {int(s) for s in args.preloaded_sizes.split(",")}
    print(f"database: {args.database}. SQL statements counted per round trip (an executemany "
          "is one); floors measured in the same process after the cycle (the insert floor "
          "always into SQLite); wall-clock seconds.")
    print(f"{'claims':>7}{'seconds':>9}{'claims/s':>9}{'RSS MB':>7}{'SQL/claim':>10}"
          f"{'(all)':>7}{'rows':>8}{'insert s':>9}{'x12 s':>7}{'/insert':>9}{'/x12':>7}"
          f"{'/both':>7}  balanced")
    for size in sizes:
        result = subprocess.run([sys.executable, __file__, "--one", str(size),
                                 "--database", args.database],
                                capture_output=True, text=True, check=False)
        if result.returncode != 0:
            print(f"{size:>7}  failed: {result.stderr.strip().splitlines()[-1:]}")
            continue
        data = json.loads(result.stdout.strip().splitlines()[-1])
        seconds = data["seconds"]
        x12 = data["x12_837p"] + data["x12_835"]
        floor = data["insert_floor"] + x12
        print(f"{size:>7}{seconds:>9.1f}{size / seconds:>9.1f}{data['peak_rss_mb']:>7.0f}"
              f"{data['statements_main'] / size:>10.1f}{data['statements_all'] / size:>7.1f}"
              f"{data['rows']:>8}{data['insert_floor']:>9.3f}{x12:>7.2f}"
              f"{seconds / data['insert_floor']:>8.0f}x{seconds / x12:>6.0f}x"
              f"{seconds / floor:>6.0f}x  {data['balanced']}")
        print(f"{'':>7}CPU {cpu_per_claim(data, size)} (load {_load()})")
        print(f"{'':>7}floor {size / floor:,.0f} claims/s (insert {data['insert_floor']:.3f} s, "
              f"837P {data['x12_837p']:.2f} s, 835 {data['x12_835']:.2f} s)")
        if args.verbose:
            print(f"{'':>7}rows: {data['rows_by_table']}")
        if holding and size in preloaded_sizes:
            preloaded(size, holding, seconds)


def cpu_per_claim(data: dict[str, Any], size: int) -> str:
    """CPU milliseconds per claim: medbill's and the simulator's, or (a figure of a run from
    before the simulator had a process of its own) the one process's, threads included."""
    medbill = data["cpu_seconds"] / size * 1000
    if data.get("simulator_cpu_seconds") is None:
        return f"{medbill:.2f} ms/claim (the process's, the simulator's threads included)"
    simulator = data["simulator_cpu_seconds"] / size * 1000
    return f"{medbill:.2f} ms/claim medbill + {simulator:.2f} ms/claim simulator"


def _load() -> str:
    """The machine's load averages (1, 5, 15 min; Linux ``/proc``), to read the figures by."""
    try:
        with open("/proc/loadavg", encoding="ascii") as loadavg:
            return " ".join(loadavg.read().split()[:3])
    except OSError:
        return "unknown"


def preloaded(size: int, holding: int, empty_seconds: float) -> None:
    """The same cycle in a database already holding ``holding`` claims, beside the empty one:
    once in the history's own practice (the demo then also works that practice's backlog:
    its rejected claims, its unexported postings, every owing family of its worklist) and
    once in a new practice beside it (the same tables and indexes, none of the backlog:
    what the cycle itself costs on a big database)."""
    for beside, where in ((False, "its practice"), (True, "a new practice beside it")):
        result = subprocess.run([sys.executable, __file__, "--one", str(size),
                                 "--preloaded", str(holding),
                                 *(["--beside"] if beside else [])],
                                capture_output=True, text=True, check=False)
        if result.returncode != 0:
            print(f"{'':>7}on {holding:,} claims, {where}: failed: "
                  f"{result.stderr.strip().splitlines()[-1:]}")
            continue
        data = json.loads(result.stdout.strip().splitlines()[-1])
        seconds = data["seconds"]
        print(f"{'':>7}on {holding:,} claims (SQLite), {where}: {seconds:.1f} s, "
              f"{size / seconds:.1f} claims/s ({seconds / empty_seconds:.2f}x the empty "
              f"database), {data['statements_main'] / size:.1f} SQL/claim, "
              f"{data['peak_rss_mb']:.0f} MB, CPU {cpu_per_claim(data, size)}, "
              f"balanced {data['balanced']}")


if __name__ == "__main__":
    main()
