"""Benchmark of ``medbill codes search`` and of the first ICD lookups.

Run: ``python bench/bench_search.py [--repeat N]`` (``make bench``). Prints:

* the cold costs: the first ICD-10-CM and ICD-10-PCS lookups (each reads its FY2027
  table), the first lookup in the April 2026 / FY2026 release, and the first search
  (which also prepares each table for search);
* for a set of queries over ICD-10-CM, ICD-10-PCS and HCPCS (description words, word
  starts, code starts), the warm time per search: median and worst of N runs (default 7).
  The issue asks for under 100 ms warm.

Figures are printed, not asserted: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import date

from medbill_core.codesets import CodeSets
from medbill_core.codesets.search import SEARCHABLE, search

ON = date(2026, 12, 1)
QUERIES = ("diabetes", "type 2 diab kidney", "fracture femur right", "E11.6", "QA1.7",
           "bypass cerebral ventricle", "0DT", "drainage pleural", "wheelchair", "zzzz")


def _timed(action: object) -> float:
    start = time.perf_counter()
    action()  # type: ignore[operator]
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    codesets = CodeSets(use_user_data=False)
    print("cold (ms):")
    print(f"  first ICD-10-CM lookup (FY2027)     "
          f"{_timed(lambda: codesets.icd10cm('E11.9', ON)):8.1f}")
    print(f"  first ICD-10-PCS lookup (FY2027)    "
          f"{_timed(lambda: codesets.icd10pcs('0016070', ON)):8.1f}")
    print(f"  first ICD-10-CM April 2026 lookup   "
          f"{_timed(lambda: codesets.icd10cm('E11.9', date(2026, 5, 1))):8.1f}")
    print(f"  first search (prepares the tables)  "
          f"{_timed(lambda: search('diabetes', on=ON, codesets=codesets)):8.1f}")
    print(f"warm search over {', '.join(s.value for s in SEARCHABLE)} (ms, {args.repeat} runs):")
    worst_median = 0.0
    for query in QUERIES:
        times = [_timed(lambda q=query: search(q, on=ON, codesets=codesets))
                 for _ in range(args.repeat)]
        hits = search(query, on=ON, codesets=codesets)
        median = statistics.median(times)
        worst_median = max(worst_median, median)
        print(f"  {query!r:30} {len(hits):3} hits  median {median:6.1f}  worst {max(times):6.1f}")
    print(f"slowest median: {worst_median:.1f} ms (target < 100 ms)")


if __name__ == "__main__":
    main()
