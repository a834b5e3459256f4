"""Benchmark of the X12 engine (payer_generic_x12): 835 decoding, 837P encoding, streaming memory.

Run: ``python bench/bench_x12.py`` (``make bench``). Generates its inputs in a temporary directory:
a 5,000-claim 835 (~2 MB) and a 50,000-claim one, then prints, side by side in one run:

* a bare ``str.split`` pass over the 5k file (the pure-Python floor),
* our decoder (835 text -> ``Remittance`` domain objects) and the ratio to the floor,
* edi-835-parser (if installed) on the same file and the ratio to ours,
* 837P generation in claims/s,
* peak memory (tracemalloc) streaming the 5k and the 50k file claim by claim, and their ratio.

Targets from issue 3: decode within 2x of the split floor, >= 3x faster than edi-835-parser,
>= 20,000 837P claims/s, streaming 50k peak <= 2x streaming 5k peak. Figures are printed, not
asserted: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from medbill_payer_generic_x12.transactions.remittance_835 import (
    decode_835,
    encode_835,
    stream_835,
)
from medbill_payer_generic_x12.x12 import MemoryControlNumbers

from medbill_core.domain import (
    Adjustment,
    AdjustmentGroup,
    ClaimPayment,
    ClaimStatusCode,
    PaymentMethod,
    Remittance,
    ServicePayment,
)

NOW = datetime(2024, 3, 16, 9, 0)


def make_remittance(claims: int, seed: int = 7) -> Remittance:
    """A balanced 835 with ``claims`` claims of 1-3 lines, CAS, remarks and a PLB."""
    rng = random.Random(seed)
    payments = []
    for number in range(claims):
        services = []
        for line in range(rng.randint(1, 3)):
            charge = Decimal(rng.randint(5000, 40000)) / 100
            contractual = (charge * Decimal("0.2")).quantize(Decimal("0.01"))
            patient = Decimal(rng.choice([0, 10, 20, 25]))
            paid = charge - contractual - patient
            adjustments = [Adjustment(group=AdjustmentGroup.CONTRACTUAL, reason_code="45",
                                      amount=contractual)]
            if patient:
                adjustments.append(Adjustment(group=AdjustmentGroup.PATIENT_RESPONSIBILITY,
                                              reason_code="3", amount=patient))
            services.append(ServicePayment(
                procedure_code=rng.choice(["99213", "99214", "85025", "36415", "93000"]),
                modifiers=["25"] if line == 0 and number % 3 == 0 else [], charge=charge,
                paid=paid, service_date_from=date(2024, 3, 1 + number % 28),
                line_control_number=f"L{number}-{line + 1}", allowed_amount=charge - contractual,
                adjustments=adjustments, remark_codes=["N130"] if patient else []))
        charge = sum((s.charge for s in services), Decimal("0.00"))
        paid = sum((s.paid for s in services), Decimal("0.00"))
        payments.append(ClaimPayment(
            claim_number=f"CLM{number:07d}", status=ClaimStatusCode.PRIMARY, charge=charge,
            paid=paid, patient_responsibility=sum(
                (a.amount for s in services for a in s.adjustments
                 if a.group is AdjustmentGroup.PATIENT_RESPONSIBILITY), Decimal("0.00")),
            filing_indicator="12", payer_claim_number=f"PCN{number:09d}", facility_type="11",
            frequency="1", patient_last_name="DOE", patient_first_name="PAT",
            member_id=f"M{number:09d}", services=services))
    total_paid = sum((c.paid for c in payments), Decimal("0.00"))
    return Remittance(trace_number="BENCH0001", payer_trace_id="1999999999",
                      payment_amount=total_paid, payment_method=PaymentMethod.ACH,
                      payment_date=date(2024, 3, 16), production_date=date(2024, 3, 15),
                      payer_name="ACME HEALTH PLAN", payer_id="60054",
                      payee_name="SUNRISE FAMILY MEDICINE", payee_npi="1234567893",
                      payee_tax_id="431234567", claims=payments)


def best_of(runs: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        gc.collect()
        # CPU time, not wall time: the figures stay comparable on a shared, busy machine.
        start = time.process_time()
        work()
        times.append(time.process_time() - start)
    return min(times)


def split_floor(text: str) -> None:
    # The least any pure-Python reader must do: split segments and elements.
    for segment in text.split("~"):
        segment.split("*")


def split_floor_kept(text: str) -> list[list[str]]:
    # The same, keeping every element list (what a reader handing out segments allocates).
    return [segment.split("*") for segment in text.split("~")]


def stream_peak(path: Path) -> tuple[int, int]:
    """(claims, peak bytes) streaming ``path`` claim by claim, keeping only a running total."""
    gc.collect()
    tracemalloc.start()
    count = 0
    paid = Decimal("0.00")
    for remittance in stream_835(path, chunk_size=1 << 16):
        for claim in remittance.claims():
            count += 1
            paid += claim.paid
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return count, peak


def edi_835_parser_runner(path: Path) -> Callable[[], object] | None:
    try:
        import edi_835_parser  # type: ignore[import-untyped]
    except ImportError:
        return None
    return lambda: edi_835_parser.parse(str(path))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--claims", type=int, default=5000)
    parser.add_argument("--large-claims", type=int, default=50000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as folder:
        small = Path(folder) / "bench-5k.835"
        large = Path(folder) / "bench-50k.835"
        remittance = make_remittance(args.claims)
        small.write_text(encode_835([remittance], now=NOW,
                                    control_numbers=MemoryControlNumbers()))
        large.write_text(encode_835([make_remittance(args.large_claims, seed=8)], now=NOW,
                                    control_numbers=MemoryControlNumbers()))
        text = small.read_text()
        megabytes = len(text) / 1e6
        print(f"835 input: {args.claims} claims, {megabytes:.2f} MB; "
              f"{args.large_claims} claims, {large.stat().st_size / 1e6:.2f} MB")

        decoded = decode_835(text)[0]
        assert decoded == remittance and decoded.is_balanced(), "decoder lost data"

        floor = best_of(args.runs, lambda: split_floor(text))
        kept = best_of(args.runs, lambda: split_floor_kept(text))
        ours = best_of(args.runs, lambda: decode_835(text))
        print(f"str.split floor      {floor:8.3f} s  (lists kept: {kept:.3f} s; "
              f"ours is {ours / kept:.2f}x that)")
        print(f"medbill decode_835   {ours:8.3f} s  {args.claims / ours:10,.0f} claims/s "
              f"{megabytes / ours:6.1f} MB/s  ratio to floor {ours / floor:5.2f}x (target <= 2)")
        runner = edi_835_parser_runner(small)
        if runner is not None:
            theirs = best_of(max(1, args.runs - 1), runner)
            print(f"edi-835-parser       {theirs:8.3f} s  {args.claims / theirs:10,.0f} claims/s "
                  f"{megabytes / theirs:6.1f} MB/s  ours is {theirs / ours:5.1f}x faster "
                  "(target >= 3)")
        else:
            print("edi-835-parser       not installed")

        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins" /
                               "payer_generic_x12" / "tests"))
        from medbill_payer_generic_x12.transactions.claim_837p import encode_837p
        from x12_factories import claim

        claims = [claim(f"C{n:06d}") for n in range(args.claims)]
        seconds = best_of(args.runs, lambda: encode_837p(claims, now=NOW))
        print(f"medbill encode_837p  {seconds:8.3f} s  {len(claims) / seconds:10,.0f} claims/s "
              "(target >= 20,000)")

        small_count, small_peak = stream_peak(small)
        large_count, large_peak = stream_peak(large)
        print(f"streaming peak       {small_count} claims {small_peak / 1e6:6.2f} MB; "
              f"{large_count} claims {large_peak / 1e6:6.2f} MB; ratio "
              f"{large_peak / small_peak:4.2f}x (target <= 2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
