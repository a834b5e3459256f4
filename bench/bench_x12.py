"""Benchmark of the X12 engine (payer_generic_x12): 835 decoding, 837P encoding, streaming memory.

Run: ``python bench/bench_x12.py`` (``make bench``). Generates its inputs in a temporary directory:
a 5,000-claim 835 shaped like a commercial payer's (~2 MB) and a 50,000-claim one, then prints,
side by side in one run (CPU time, best of ``--runs``):

* a bare ``str.split`` pass over the 5k file (segments and elements), and the same keeping the
  element lists;
* the object floor: building the decoded domain objects again from ready values;
* our decoder (835 text -> ``Remittance`` domain objects) and its ratios to the split floor
  and to split + object floors;
* edi-835-parser (if installed) on the same file, the ratio to ours, and issue 3's floor
  (stated as 0.16 s beside edi-835-parser's 0.66 s) scaled by the edi-835-parser time here;
* 837P generation in claims/s;
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
import warnings
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from medbill_payer_generic_x12.construct import builder, gc_paused
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
    """A balanced 835 of ``claims`` claims shaped like a commercial payer's (~420 bytes a claim).

    Each claim has 1-3 lines with contractual (CO-45) and patient (PR-1/2/3) adjustments, allowed
    amounts, line control numbers and remarks; statement and received dates; some claims pay
    interest or carry claim-level adjustments and MOA remarks.
    """
    rng = random.Random(seed)
    payments = []
    for number in range(claims):
        services = []
        day = date(2024, 2, 1 + number % 28)
        for line in range(rng.randint(1, 3)):
            charge = Decimal(rng.randint(5000, 40000)) / 100
            contractual = (charge * Decimal("0.2")).quantize(Decimal("0.01"))
            patient_codes = rng.choice([[], [("3", "20")], [("2", "12.50")],
                                        [("1", "30"), ("2", "8.40")]])
            adjustments = [Adjustment(group=AdjustmentGroup.CONTRACTUAL, reason_code="45",
                                      amount=contractual)]
            adjustments += [Adjustment(group=AdjustmentGroup.PATIENT_RESPONSIBILITY,
                                       reason_code=code, amount=Decimal(amount))
                            for code, amount in patient_codes]
            paid = charge - sum((a.amount for a in adjustments), Decimal("0.00"))
            services.append(ServicePayment(
                procedure_code=rng.choice(["99213", "99214", "85025", "36415", "93000"]),
                modifiers=["25"] if line == 0 and number % 3 == 0 else [], charge=charge,
                paid=paid, units=Decimal(1), service_date_from=day,
                line_control_number=f"{number:08d}-LN{line + 1:02d}",
                allowed_amount=charge - contractual,
                adjustments=adjustments, remark_codes=["N130"] if patient_codes else []))
        charge = sum((s.charge for s in services), Decimal("0.00"))
        paid = sum((s.paid for s in services), Decimal("0.00"))
        claim_adjustments = []
        if number % 10 == 0:  # a claim-level withhold now and then
            claim_adjustments.append(Adjustment(group=AdjustmentGroup.CONTRACTUAL,
                                                reason_code="253", amount=Decimal("1.25")))
            paid -= Decimal("1.25")
        payments.append(ClaimPayment(
            claim_number=f"ACCT{number:07d}-V{number % 9 + 1}", status=ClaimStatusCode.PRIMARY,
            charge=charge,
            paid=paid, patient_responsibility=sum(
                (a.amount for s in services for a in s.adjustments
                 if a.group is AdjustmentGroup.PATIENT_RESPONSIBILITY), Decimal("0.00")),
            filing_indicator="12", payer_claim_number=f"22240{number:010d}", facility_type="11",
            frequency="1", patient_last_name="DOEMAKEUP", patient_first_name="PATRICIA",
            member_id=f"XYZ{number:09d}01", service_date_from=day, service_date_to=day,
            received_date=date(2024, 3, 1), adjustments=claim_adjustments,
            interest=Decimal("0.42") if number % 25 == 0 else None,
            remark_codes=["MA01"] if number % 4 == 0 else [], services=services))
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


def construction_floor(remittance: Remittance) -> Callable[[], object]:
    """Building the decoded objects again from ready field values, validation skipped as the
    decoder skips it: what any decoder producing these typed objects pays on top of splitting."""
    field_sets = []
    for claim_payment in remittance.claims:
        for service in claim_payment.services:
            field_sets += [(Adjustment, dict(a.__dict__)) for a in service.adjustments]
            field_sets.append((ServicePayment, dict(service.__dict__)))
        field_sets += [(Adjustment, dict(a.__dict__)) for a in claim_payment.adjustments]
        field_sets.append((ClaimPayment, dict(claim_payment.__dict__)))
    builders = {cls: builder(cls) for cls in (Adjustment, ServicePayment, ClaimPayment)}
    work = [(builders[cls], values) for cls, values in field_sets]

    def construct() -> None:
        with gc_paused():
            for build, values in work:
                build(dict(values))

    return construct


def decoded_objects(remittance: Remittance) -> int:
    return sum(1 + len(c.adjustments) + sum(1 + len(s.adjustments) for s in c.services)
               for c in remittance.claims)


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
    def parse() -> object:
        with warnings.catch_warnings():  # it warns about every segment it does not handle
            warnings.simplefilter("ignore")
            return edi_835_parser.parse(str(path))

    return parse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--claims", type=int, default=5000)
    parser.add_argument("--large-claims", type=int, default=50000)
    parser.add_argument("--runs", type=int, default=5)
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
        objects = best_of(args.runs, construction_floor(decoded))
        ours = best_of(args.runs, lambda: decode_835(text))
        print(f"str.split floor      {floor:8.3f} s  (keeping the element lists: {kept:.3f} s)")
        print(f"object floor         {objects:8.3f} s  (building the {decoded_objects(decoded):,} "
              "decoded objects from ready values)")
        print(f"medbill decode_835   {ours:8.3f} s  {args.claims / ours:10,.0f} claims/s "
              f"{megabytes / ours:6.1f} MB/s")
        print(f"  ratio to the str.split floor             {ours / floor:5.2f}x")
        print(f"  ratio to split + object floors           {ours / (floor + objects):5.2f}x")
        runner = edi_835_parser_runner(small)
        if runner is not None:
            theirs = best_of(max(1, args.runs - 1), runner)
            print(f"edi-835-parser       {theirs:8.3f} s  {args.claims / theirs:10,.0f} claims/s "
                  f"{megabytes / theirs:6.1f} MB/s  ours is {theirs / ours:5.1f}x faster "
                  "(target >= 3)")
            # Issue 3 measured its floor at ~0.16 s beside edi-835-parser's 0.66 s on a 2.1 MB
            # file: that floor, scaled by the edi-835-parser time measured here.
            issue_floor = theirs * 0.16 / 0.66
            print(f"  issue 3's floor scaled by edi-835-parser here: {issue_floor:.3f} s; "
                  f"ours is {ours / issue_floor:4.2f}x it (target <= 2)")
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
