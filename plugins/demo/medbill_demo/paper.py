"""The demo's paper claims: a county indigent-care program that takes claims on paper only.

Billed in a database of its own (``paper-claims/paper-claims.db``), so the demo's cycle and
its figures stay those of the electronic payers: two office visits for one synthetic
patient are scrubbed and submitted like every other claim, and since the payer's channel is
``paper`` (claim_forms_pdf) the outbox prints the batch as one PDF into ``paper-claims/``
instead of sending it. The same patient's hospital outpatient and inpatient claims are
printed on UB-04s (``medbill claims form``) beside it.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from medbill_core.app import Medbill
from medbill_core.config import MedbillConfig
from medbill_core.domain import Address, Coverage, Payer
from medbill_core.domain.base import saved_id
from medbill_core.privatefiles import private_dir, write_private
from medbill_core.services.claim_forms import render_claim_form
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
FOLDER = "paper-claims"


def paper_payers() -> dict[str, Payer]:
    return {PAPER_PAYER.key: PAPER_PAYER}


def paper_config(folder: Path, payer: Payer) -> MedbillConfig:
    """The county program's own instance: its database and printed batches in ``folder``."""
    return MedbillConfig(
        database_url=f"sqlite:///{(folder / 'paper-claims.db').resolve()}",
        plugins=["payer_generic_x12", "claim_forms_pdf"], actor="demo", practice=PRACTICE,
        payers={payer.key: payer},
        plugin_settings={"claim_forms_pdf": {"paper_dir": str(folder)},
                         "payer_generic_x12": {
                             "control_numbers_path": str(folder / "control-numbers.db")}})


def print_paper_claims(out: Path, payer: Payer) -> dict[str, Any]:
    """Bill the county program on paper into ``out/paper-claims``; what was printed."""
    folder = private_dir(out / FOLDER)
    for stale in folder.iterdir():
        stale.unlink()
    app = Medbill.open(paper_config(folder, payer), upgrade=True)
    try:
        return _bill(app, folder, payer)
    finally:
        app.close()


def _bill(app: Medbill, folder: Path, payer: Payer) -> dict[str, Any]:
    today = date.today()
    with app.unit_of_work() as work:
        work.patients.register_providers(PROVIDERS)
        patient = work.patients.register(factories.make_patient(
            9001, account_number="CNTY-9001", last_name="Paperwright", first_name="Morgan"))
        coverage = work.patients.add_coverage(saved_id(patient), Coverage(
            payer_key=payer.key, member_id="CC20260042", group_number="INDIGENT"))
        common: dict[str, Any] = {"coverage_id": coverage.id, "payer_key": payer.key,
                                  "billing_provider_npi": PRACTICE.npi}
        office = work.claims.create_many([factories.make_claim(
            saved_id(patient), number=f"MAIL{n:04d}", lines=2,
            service_date=today - timedelta(days=20 - n),
            rendering_provider_npi=PROVIDERS[0].npi, **common) for n in (1, 2)])
        hospital = work.claims.create_many([factories.make_institutional_claim(
            saved_id(patient), number=f"MAIL{n:04d}", inpatient=inpatient,
            service_date=today - timedelta(days=15), **common)
            for n, inpatient in ((3, False), (4, True))])
        report = scrub_claims(work, [saved_id(claim) for claim in office])
    clean = [result.claim_id for result in report.results if result.clean]
    outcomes = submit(app, claim_ids=clean) if clean else []
    forms = []
    for claim in hospital:
        with app.unit_of_work() as work:
            rendered = render_claim_form(work, saved_id(claim))
        write_private(folder / rendered.filename, rendered.content)
        forms.append(rendered.filename)
    return {"claims": sum(o.claims for o in outcomes),
            "batches": [{"status": str(o.status), "file": o.remote_id, "error": o.error}
                        for o in outcomes],
            "ub04_forms": forms}
