"""The demo's paper claims: a county indigent-care program that takes claims on paper only.

Two office visits (CMS-1500) and a hospital's outpatient and inpatient claims (UB-04) for one
synthetic patient are scrubbed and submitted like every other claim; the payer's channel is
``paper`` (claim_forms_pdf), so the outbox prints the batch as one PDF into
``demo-out/paper-claims/`` instead of sending it.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from medbill_core.app import Medbill
from medbill_core.domain import Address, Coverage, Payer
from medbill_core.domain.base import saved_id
from medbill_core.services.scrubbing import scrub_claims
from medbill_core.services.submission import submit
from medbill_core.testing import factories
from medbill_demo.data import PRACTICE, PROVIDERS

PAPER_PAYER = Payer(
    key="county-care", payer_id="CNTY1", name="Sangamon County Care Program",
    adapter="generic_x12", channel="paper", claim_filing_indicator="11",
    timely_filing_days=365,
    address=Address(line1="200 S 9th Street", city="Springfield", state="IL",
                    postal_code="62701"))


def paper_payers() -> dict[str, Payer]:
    return {PAPER_PAYER.key: PAPER_PAYER}


def print_paper_claims(app: Medbill) -> dict[str, Any]:
    """Bill the county program on paper; what was printed (claims, pages, outcome)."""
    today = date.today()
    with app.unit_of_work() as work:
        work.patients.register_providers(PROVIDERS)  # known already after the demo's load
        patient = work.patients.register(factories.make_patient(
            9001, account_number="CNTY-9001", last_name="Paperwright", first_name="Morgan"))
        coverage = work.patients.add_coverage(saved_id(patient), Coverage(
            payer_key=PAPER_PAYER.key, member_id="CC20260042", group_number="INDIGENT"))
        common: dict[str, Any] = {"coverage_id": coverage.id, "payer_key": PAPER_PAYER.key,
                                  "billing_provider_npi": PRACTICE.npi}
        office = [factories.make_claim(
            saved_id(patient), number=f"MAIL{n:04d}", lines=2,
            service_date=today - timedelta(days=20 - n),
            rendering_provider_npi=PROVIDERS[0].npi, **common) for n in (1, 2)]
        hospital = [factories.make_institutional_claim(
            saved_id(patient), number=f"MAIL{n:04d}", inpatient=inpatient,
            service_date=today - timedelta(days=15), **common)
            for n, inpatient in ((3, False), (4, True))]
        claims = work.claims.create_many([*office, *hospital])
        ids = [saved_id(claim) for claim in claims]
        report = scrub_claims(work, ids)
    clean = [result.claim_id for result in report.results if result.clean]
    blocked = sorted({f"{finding.claim_number}: {finding.code}" for result in report.results
                      for finding in result.findings if finding.blocks_submission})
    outcomes = submit(app, claim_ids=clean) if clean else []
    printed = [o for o in outcomes if o.payer_key == PAPER_PAYER.key]
    return {"claims": sum(o.claims for o in printed),
            "batches": [{"status": o.status, "file": o.remote_id, "error": o.error}
                        for o in printed],
            "blocked": blocked,
            "total_charge": str(sum((c.total_charge for c in claims), Decimal("0")))}
