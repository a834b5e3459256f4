"""Benchmark of the claim scrubber: claims scrubbed per second with every edit on.

Run: ``python bench/bench_scrub.py [--claims N]`` (``make bench``). Builds N (default 10,000)
in-memory ``BillableClaim`` objects from a pool of office encounters (some with coding errors:
an NCCI pair without modifier, a category-header diagnosis, units over the MUE), 80% billed
to a commercial payer and 20% to Medicare, dates of service in the last 60 days. Then prints:

* the cold start: the first claim, which loads ICD-10-CM, HCPCS, modifiers, POS, the NCCI
  PTP index and the MUE table;
* ``PluginHooks.claim_edits`` over all claims (core edits + the payer adapters' edits when
  the generic X12 and Medicare plugins are installed): claims/s, findings, clean-claim rate;
* the cost of each core edit (and of the adapter edits) in microseconds per claim.

Figures are printed, not asserted: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

from medbill_core.codesets import default_codesets
from medbill_core.codesets.ncci import default_ncci
from medbill_core.config import MedbillConfig
from medbill_core.default_plugins.core_edits import CORE_EDITS, EditEnv, environment
from medbill_core.domain import BillableClaim, Claim, Payer, ServiceLine, Severity
from medbill_core.plugins import PluginHooks
from medbill_core.testing import factories

PRACTICE = factories.make_practice(address=factories.make_address(postal_code="627010001"))

# (diagnoses, [(procedure, modifiers, units)])
POOL: list[tuple[list[str], list[tuple[str, tuple[str, ...], int]]]] = [
    (["E119", "I10"], [("99214", (), 1), ("83036", (), 1), ("36415", (), 1)]),
    (["J069"], [("99213", (), 1)]),
    (["I10", "E785"], [("99213", (), 1), ("80061", (), 1), ("36415", (), 1)]),
    (["M5450"], [("99203", (), 1), ("97110", ("GP",), 2)]),
    (["J45909", "J069"], [("99214", ("25",), 1), ("94640", (), 1)]),
    (["F411"], [("99214", (), 1), ("96127", (), 2)]),
    (["Z23"], [("90471", (), 1), ("90686", (), 1)]),
    (["R0789", "I10"], [("99214", ("25",), 1), ("93000", (), 1)]),
    (["Z0000", "I10"], [("G0439", (), 1), ("99213", ("25",), 1)]),
    (["K219", "R1013"], [("99213", (), 1), ("81001", (), 1)]),
    (["M170"], [("99213", (), 1), ("20610", ("RT",), 1), ("J3301", (), 4)]),  # NCCI: no 25
    (["E11", "I10"], [("99213", (), 1)]),  # category header
    (["I10"], [("99213", (), 1), ("36415", (), 3)]),  # MUE
]


def build_claims(count: int, payers: dict[str, Payer], seed: int = 7) -> list[BillableClaim]:
    rng = random.Random(seed)
    today = date.today()
    commercial, medicare = payers["acme"], payers["medicare"]
    practice = PRACTICE
    patient = factories.make_patient(1, id=1)
    provider = factories.make_provider()
    coverages = {
        "acme": factories.make_coverage(patient_id=1, id=1),
        "medicare": factories.make_coverage(patient_id=1, id=2, payer_key="medicare",
                                            member_id="1EG4TE5MK73", group_number=None),
    }
    claims = []
    for number in range(count):
        payer = medicare if rng.random() < 0.2 else commercial
        diagnoses, procedures = rng.choice(POOL)
        day = today - timedelta(days=rng.randint(1, 60))
        lines = [ServiceLine(line_number=i, procedure_code=code, modifiers=list(mods),
                             units=Decimal(units), charge=Decimal("50.00") * units,
                             diagnosis_pointers=list(range(1, min(len(diagnoses), 4) + 1)),
                             service_date_from=day)
                 for i, (code, mods, units) in enumerate(procedures, start=1)]
        claim = Claim(claim_number=f"B{number:07d}", patient_id=1,
                      coverage_id=coverages[payer.key].id, payer_key=payer.key,
                      billing_provider_npi=practice.npi,
                      rendering_provider_npi=provider.npi, place_of_service="11",
                      service_date_from=day, service_date_to=day, diagnoses=diagnoses,
                      lines=lines)
        claims.append(BillableClaim(claim=claim, practice=practice, patient=patient,
                                    coverage=coverages[payer.key], payer=payer,
                                    rendering_provider=provider))
    return claims


def start_hooks() -> tuple[PluginHooks, dict[str, Payer], str]:
    """With the installed payer plugins when they start; the core alone otherwise."""
    payers: dict[str, Payer] = {
        "acme": factories.make_payer("acme"),
        "medicare": factories.make_payer("medicare", payer_id="01182", name="Medicare Part B",
                                         adapter="medicare", claim_filing_indicator="MB"),
    }
    try:
        from medbill_payer_medicare.testing import X12_OPTIONS, make_medicare_payer

        with_options = {"acme": factories.make_payer("acme", options=dict(X12_OPTIONS)),
                        "medicare": make_medicare_payer()}
        config = MedbillConfig(plugins=["payer_generic_x12", "payer_medicare"],
                               practice=PRACTICE, payers=with_options)
        return (PluginHooks.start(config), with_options,
                "core edits + generic X12 and Medicare adapter edits")
    except Exception as exc:  # a bench reports and carries on
        config = MedbillConfig(plugins=[], practice=PRACTICE, payers=payers)
        return (PluginHooks.start(config, load_installed=False), payers,
                f"core edits only (payer plugins not started: {type(exc).__name__}: {exc})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=10_000)
    args = parser.parse_args()

    hooks, payers, scope = start_hooks()
    started = time.perf_counter()
    claims = build_claims(args.claims, payers)
    print(f"built {len(claims):,} claims in {time.perf_counter() - started:.2f} s")
    print(f"edits: {scope}; {len(CORE_EDITS)} core edits")

    started = time.perf_counter()
    hooks.claim_edits(claim=claims[0])
    print(f"cold start (first claim, loads ICD-10-CM, POS and the NCCI tables):"
          f" {time.perf_counter() - started:.2f} s")
    started = time.perf_counter()
    for claim in claims[1:200]:  # the rest of the pool: HCPCS Level II and modifier tables
        hooks.claim_edits(claim=claim)
    print(f"warm-up (199 more claims, loads HCPCS Level II and modifiers):"
          f" {time.perf_counter() - started:.2f} s")
    ptp = default_ncci().ptp
    print(f"  NCCI PTP: {ptp.column_1_codes:,} column-1 codes indexed ({ptp.label});"
          f" MUE: {len(default_ncci().mue):,} codes")

    started = time.perf_counter()
    findings: Counter[str] = Counter()
    clean = 0
    for claim in claims:
        found = hooks.claim_edits(claim=claim)
        findings.update(f.code for f in found)
        clean += not any(f.severity is Severity.ERROR for f in found)
    elapsed = time.perf_counter() - started
    print(f"\nPluginHooks.claim_edits: {len(claims):,} claims in {elapsed:.2f} s ="
          f" {len(claims) / elapsed:,.0f} claims/s ({elapsed / len(claims) * 1e6:.0f} us/claim)")
    print(f"  clean-claim rate {clean * 100 / len(claims):.2f}%;"
          f" {sum(findings.values()):,} findings")
    for code, count in findings.most_common(10):
        print(f"    {count:>7,}  {code}")

    env = environment(claims[0], hooks.context)
    env = EditEnv(today=env.today, codesets=default_codesets(), ncci=default_ncci(),
                  requires_rendering=False)
    print(f"\nper edit (us per claim over {len(claims):,} claims):")
    total = 0.0
    for name, edit in CORE_EDITS:
        started = time.perf_counter()
        for claim in claims:
            edit(claim, env)
        cost = (time.perf_counter() - started) / len(claims) * 1e6
        total += cost
        print(f"  {name:<20} {cost:8.2f}")
    started = time.perf_counter()
    for claim in claims:
        adapter = hooks.context.adapters.get(claim.payer.adapter) if claim.payer else None
        if adapter is not None:
            adapter.claim_edits(claim)
    cost = (time.perf_counter() - started) / len(claims) * 1e6
    print(f"  {'(adapter edits)':<20} {cost:8.2f}")
    print(f"  {'core total':<20} {total:8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
