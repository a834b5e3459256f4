"""Benchmark of the code sets: CLI start-up, first lookups, and ``codes search`` when warm.

Run: ``python bench/bench_codes.py [--rounds N]`` (``make bench``). Prints:

* start-up of the ``medbill`` command (``medbill --help`` and ``medbill codes show E11.9``,
  which loads the ICD-10-CM release) beside the floor: the interpreter alone and
  ``import medbill_core`` -- target: ``medbill --help`` under 1 s;
* the first lookup of each code set in a fresh process (the table is read then);
* ``codes search`` over every searchable code set once the tables are loaded (warm): the
  median and worst time per query over a set of realistic queries -- target: under 100 ms.

Figures are printed, not asserted: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

QUERIES = ("diabetes", "type 2 diabetes with hyperglycemia", "fracture femur", "hypertension",
           "E11.6", "chest x-ray", "wheelchair", "influenza vaccine", "bypass coronary artery",
           "resection colon", "ondansetron", "hearing aid", "depressive episode", "G04")


def _wall(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env=env)
    return time.perf_counter() - started


def _best(args: list[str], env: dict[str, str], rounds: int) -> float:
    return min(_wall(args, env) for _ in range(rounds))


def startup(rounds: int) -> None:
    env = dict(os.environ)
    medbill = str(Path(sys.executable).with_name("medbill"))
    rows = [
        ("python -c pass (floor)", [sys.executable, "-c", "pass"]),
        ("import medbill_core", [sys.executable, "-c", "import medbill_core"]),
        ("medbill --help", [medbill, "--help"]),
        ("medbill codes show E11.9", [medbill, "codes", "show", "E11.9"]),
        ("medbill codes status", [medbill, "codes", "status"]),
    ]
    print(f"start-up, best of {rounds} (target: medbill --help < 1.000 s)")
    floor = None
    for label, args in rows:
        seconds = _best(args, env, rounds)
        floor = floor or seconds
        print(f"  {label:32s} {seconds:7.3f} s   {seconds / floor:5.1f}x the floor")


def first_lookups() -> None:
    code = """
import time
from datetime import date
from medbill_core.codesets import CodeSets
cs = CodeSets()
on = date.today()
for label, call in (("ICD-10-CM E11.9", lambda: cs.icd10cm("E11.9", on)),
                    ("ICD-10-PCS 0DTJ4ZZ", lambda: cs.icd10pcs("0DTJ4ZZ", on)),
                    ("HCPCS G0008", lambda: cs.hcpcs("G0008", on)),
                    ("modifier GA", lambda: cs.modifier("GA", on)),
                    ("place of service 11", lambda: cs.place_of_service("11", on)),
                    ("CARC 45", lambda: cs.carc("45", on))):
    started = time.perf_counter()
    call()
    first = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(1000):
        call()
    again = (time.perf_counter() - started) / 1000
    print(f"  {label:32s} first {first * 1000:8.1f} ms   then {again * 1e6:7.1f} us")
"""
    print("first lookup of each code set in a fresh process (the table is read), then warm")
    subprocess.run([sys.executable, "-c", code], check=True)


def search_warm(rounds: int) -> None:
    from medbill_core.codesets import default_codesets
    from medbill_core.codesets.search import SEARCHABLE, search

    codesets = default_codesets()
    today = date.today()
    started = time.perf_counter()
    search("warm up", on=today, codesets=codesets)
    print(f"codes search over {', '.join(s.label for s in SEARCHABLE)}"
          f" (first query, loading the tables: {time.perf_counter() - started:.2f} s)")
    times = []
    for _ in range(rounds):
        for query in QUERIES:
            started = time.perf_counter()
            search(query, on=today, codesets=codesets)
            times.append(time.perf_counter() - started)
    median, worst = statistics.median(times), max(times)
    print(f"  {len(times)} queries warm: median {median * 1000:6.1f} ms, worst"
          f" {worst * 1000:6.1f} ms   (target < 100 ms: median at"
          f" {median * 1000 / 100:4.2f}x, worst at {worst * 1000 / 100:4.2f}x of it)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    startup(args.rounds)
    first_lookups()
    search_warm(args.rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
