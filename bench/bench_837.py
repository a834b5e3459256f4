"""Benchmark of 837I beside 837P (issue 17: "837I at the speed of 837P"): encoding and
decoding claims/s on the same number of claims, three service lines each.

Run: ``python bench/bench_837.py`` (``make bench``). The 837P claims are the X12 tests'
office visits (three lines, two diagnoses); the 837I claims are the tests' outpatient
emergency visit (0131, three HCPCS lines: the 837P's shape), then the same alternating with
their inpatient stay (0111, three revenue-code lines and every code list an 837I carries: POA,
procedures, occurrences, values, conditions, DRG; about half again as many bytes).
Printed side by side (CPU time, best of ``--runs``) with the 837I/837P ratio; the target is a
ratio near 1. Figures are printed, not asserted: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import date, datetime
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins" / "payer_generic_x12" /
                       "tests"))

from medbill_payer_generic_x12.transactions.claim_837i import (
    decode_837i,
    encode_837i,
)
from medbill_payer_generic_x12.transactions.claim_837p import (
    decode_837p,
    encode_837p,
)
from x12_factories import claim, line
from x12_institutional_factories import inpatient, outpatient

from medbill_core.domain import BillableClaim

NOW = datetime(2024, 3, 16, 9, 0)


def best_of(runs: int, work: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.process_time()
        work()
        best = min(best, time.process_time() - start)
    return best


def professional(count: int) -> list[BillableClaim]:
    lines = [line(1), line(2, code="85025", charge="40.00", day=date(2024, 3, 4)),
             line(3, code="36415", charge="18.50")]
    return [claim(f"P{n:06d}", lines=lines) for n in range(count)]


def institutional(count: int, *, mixed: bool) -> list[BillableClaim]:
    """Outpatient visits, or (``mixed``) outpatient visits and inpatient stays alternately."""
    return [(inpatient if mixed and n % 2 else outpatient)(f"I{n:06d}") for n in range(count)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--claims", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    figures: dict[str, dict[str, float]] = {}
    kinds = ("837P", "837I out", "837I mixed")
    for kind, claims, encode, decode in (
            (kinds[0], professional(args.claims), encode_837p, decode_837p),
            (kinds[1], institutional(args.claims, mixed=False), encode_837i, decode_837i),
            (kinds[2], institutional(args.claims, mixed=True), encode_837i, decode_837i)):
        text = encode(claims, now=NOW).text
        decoded = decode(text)
        assert len(decoded) == args.claims, f"{kind}: the decoder lost claims"
        figures[kind] = {
            "encode": args.claims / best_of(args.runs, partial(encode, claims, now=NOW)),
            "decode": args.claims / best_of(args.runs, partial(decode, text)),
            "megabytes": len(text) / 1e6}
    print(f"{args.claims:,} claims of three lines each; claims/s, best of {args.runs} "
          "(ratio: 837I / 837P)")
    print(f"{'':8}" + "".join(f"{kind:>13}" for kind in kinds) + f"{'ratio out':>11}"
          f"{'ratio mixed':>13}")
    for what in ("encode", "decode"):
        rates = [figures[kind][what] for kind in kinds]
        print(f"{what:8}" + "".join(f"{rate:13,.0f}" for rate in rates)
              + f"{rates[1] / rates[0]:11.2f}{rates[2] / rates[0]:13.2f}")
    print(f"{'MB':8}" + "".join(f"{figures[kind]['megabytes']:13.2f}" for kind in kinds))
    # an inpatient stay carries half again as many segments as an office visit: per byte of
    # X12 written or read, the engine's speed is the same for both transactions
    for what in ("encode", "decode"):
        rates = [figures[kind][what] * figures[kind]["megabytes"] / args.claims
                 for kind in kinds]
        print(f"{what + ' MB/s':12}" + "".join(f"{rate:9.2f}    " for rate in rates)
              + f"{rates[1] / rates[0]:7.2f}{rates[2] / rates[0]:13.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
