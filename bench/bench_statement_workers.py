"""A statement run rendering its PDFs in its own process, side by side with one whose PDFs are
also rendered by worker processes (the ``statements_pdf`` pool, ``render_processes``).

Run: ``python bench/bench_statement_workers.py`` (``--accounts`` self-pay patients owing on two
claims each, default 2000; ``--processes`` workers, default 1; ``--runs`` of each, default 3,
alternated on the same SQLite file). Prints each run's wall time and this process's CPU time,
then the workers' CPU time in all (their start-up included). On a shared machine quote the
load (``uptime``) beside the wall times: the CPU time of the running process is the figure
that tells what the workers took off it. Figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from bench_statements import self_pay_claim
from medbill_statements_pdf.pool import POOL

from medbill_core.app import Medbill
from medbill_core.config import MedbillConfig
from medbill_core.services.statements import run_statements
from medbill_core.testing.factories import make_patient, make_practice


def open_app(url: str, processes: int) -> Medbill:
    return Medbill.open(MedbillConfig(
        database_url=url, practice=make_practice(), plugins=["statements_pdf"], actor="bench",
        plugin_settings={"statements_pdf": {"render_processes": processes}}), upgrade=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    args, _ = parser.parse_known_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        app = open_app(url, 0)
        try:
            for n in range(args.accounts):
                with app.unit_of_work() as work:
                    patient = work.patients.register(make_patient(n + 1)).id or 0
                for k, age in enumerate((20, 75)):
                    self_pay_claim(app, patient, f"A{n:06d}{k}", "60.00", age)
        finally:
            app.close()
        totals: dict[int, list[float]] = {0: [], args.processes: []}
        for run in range(2 * args.runs):
            processes = args.processes if run % 2 else 0
            app = open_app(url, processes)
            try:
                wall, cpu = time.perf_counter(), time.process_time()
                done = run_statements(app, cycle=f"C{run}", out_dir=Path(tmp) / f"C{run}",
                                      renderer="pdf", force=True)
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            finally:
                app.close()
            totals[processes].append(cpu)
            print(f"run {run + 1}, {processes} worker processes: {len(done.produced)} statements,"
                  f" {wall:.2f} s wall, {cpu:.2f} s CPU of this process", flush=True)
        POOL.close()  # waited for: their CPU time is counted as the children's
        workers = resource.getrusage(resource.RUSAGE_CHILDREN)
        print(f"workers' CPU in all: {workers.ru_utime + workers.ru_stime:.2f} s; this process's"
              f" CPU per run, best: {min(totals[0]):.2f} s alone,"
              f" {min(totals[args.processes]):.2f} s with {args.processes} worker(s)")


if __name__ == "__main__":
    main()
