"""Good-faith estimates of uninsured patients kept and compared with the final bill: a
self-pay bill $400.00 or more above the estimate is flagged (No Surprises Act), $399.99 is
not; an insured patient's estimate is not kept. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

from medbill_core.app import Medbill
from medbill_core.domain import BenefitSummary
from medbill_core.domain.estimate import PlannedService
from medbill_core.services.estimates import estimate
from medbill_core.services.good_faith import estimate_overruns, record_estimate
from medbill_core.testing import factories

DAY = date.today() - timedelta(days=3)


def _claim(app: Medbill, patient_id: int, number: str, charge: str) -> None:
    with app.unit_of_work() as work:
        claim = factories.make_claim(patient_id, coverage_id=None, number=number,
                                     service_date=DAY)
        work.claims.create(claim.model_copy(update={"lines": [
            factories.make_line(1, service_date=DAY, charge=D(charge))]}))


def test_bills_400_or_more_above_the_estimate_are_flagged(medbill_app: Medbill) -> None:
    app = medbill_app
    with app.unit_of_work() as work:
        over = work.patients.register(factories.make_patient(901))
        under = work.patients.register(factories.make_patient(902))
        insured = work.patients.register(factories.make_patient(903))
        for patient in (over, under, insured):
            gfe = estimate(estimate_number=f"GFE-{patient.id}", practice=factories.make_practice(),
                           patient=patient, service_date=DAY, benefits=None,
                           services=[PlannedService(procedure_code="99213",
                                                    charge=D("150.00"))])
            if patient is insured:
                gfe = gfe.model_copy(update={"benefits": BenefitSummary(), "payer_name": "Acme"})
            assert record_estimate(work, gfe, patient.id) is (patient is not insured)
    _claim(app, over.id, "GFE-OVER-1", "300.00")
    _claim(app, over.id, "GFE-OVER-2", "250.00")     # 550.00 = 150.00 + 400.00
    _claim(app, under.id, "GFE-UNDER", "549.99")     # 399.99 above
    with app.unit_of_work() as work:
        found = estimate_overruns(work)
    assert [(f.estimate_number, f.estimated, f.billed, f.excess, f.claim_numbers)
            for f in found] == [(f"GFE-{over.id}", D("150.00"), D("550.00"), D("400.00"),
                                 ["GFE-OVER-1", "GFE-OVER-2"])]
    assert found[0].dispute_until == date.today() + timedelta(days=120)
