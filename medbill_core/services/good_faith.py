"""Good-faith estimates of uninsured and self-pay patients, compared with the final bill.

The No Surprises Act requires a good-faith estimate (GFE) of expected charges for an
uninsured or self-pay patient, and gives the patient the right to dispute a bill that is
**at least $400 more** than the GFE for that provider or facility (45 CFR 149.620; the
patient has 120 calendar days from the date on the bill to start the dispute, and while it
runs the bill may not go to collections).

medbill keeps each GFE it produces for a patient without coverage on the date
(:func:`record_estimate`, called by ``medbill estimate``), and :func:`estimate_overruns`
finds every self-pay claim whose billed charges on the estimated date of service exceed the
estimate by the threshold or more: a finding a biller sees (``medbill assistance
estimate-overruns``) before the statement goes out, with the dispute window to respect.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from medbill_core import audit
from medbill_core.app import UnitOfWork
from medbill_core.domain.estimate import CostEstimate
from medbill_core.money import ZERO
from medbill_core.permissions import Action
from medbill_core.storage.schema import ClaimRow, GoodFaithEstimateRow, PatientRow

#: billed charges this much above the estimate (or more) open the patient-provider dispute
DISPUTE_THRESHOLD = Decimal("400.00")
#: days from the date on the bill within which the patient may start the dispute
DISPUTE_DAYS = 120


def record_estimate(work: UnitOfWork, estimate: CostEstimate, patient_id: int) -> bool:
    """Keep a GFE given to a patient without coverage (``estimate.benefits`` is None); the
    same estimate number again replaces the earlier one (a revised GFE). Returns whether it
    was kept (an insured patient's estimate is not a GFE under the Act)."""
    work.require(Action.ESTIMATES_CREATE)
    if estimate.benefits is not None or estimate.payer_name is not None:
        return False
    row = work.session.scalar(select(GoodFaithEstimateRow).where(
        GoodFaithEstimateRow.estimate_number == estimate.estimate_number))
    if row is None:
        row = GoodFaithEstimateRow(estimate_number=estimate.estimate_number,
                                   patient_id=patient_id, issued_by=work.actor)
        work.session.add(row)
    row.service_date = estimate.service_date
    row.total = estimate.patient_total
    row.procedure_codes = [s.procedure_code for s in estimate.services]
    row.issued_by = work.actor
    work.session.flush()
    audit.record(work.session, actor=work.actor, action="estimate.good_faith",
                 entity_type="good_faith_estimate", entity_id=row.id,
                 details={"patient_id": patient_id, "total": str(row.total)})
    return True


@dataclass(frozen=True)
class EstimateOverrun:
    """A self-pay bill at least :data:`DISPUTE_THRESHOLD` above its GFE."""

    estimate_number: str
    patient_id: int
    account_number: str
    service_date: date
    estimated: Decimal
    billed: Decimal
    claim_numbers: list[str]
    #: the last day the patient may start a dispute, counted from the first claim's creation
    #: (the earliest the bill can be dated)
    dispute_until: date

    @property
    def excess(self) -> Decimal:
        return self.billed - self.estimated

    def as_json(self) -> dict[str, Any]:
        return {"estimate_number": self.estimate_number, "patient_id": self.patient_id,
                "account_number": self.account_number,
                "service_date": self.service_date.isoformat(),
                "estimated": str(self.estimated), "billed": str(self.billed),
                "excess": str(self.excess), "claim_numbers": self.claim_numbers,
                "dispute_until": self.dispute_until.isoformat()}


def estimate_overruns(work: UnitOfWork, *,
                      threshold: Decimal = DISPUTE_THRESHOLD) -> list[EstimateOverrun]:
    """Every GFE whose patient's self-pay claims on its date of service bill ``threshold``
    or more above it (the newest GFE of a patient and date counts), oldest date first."""
    work.require(Action.ASSISTANCE_READ)
    latest = select(func.max(GoodFaithEstimateRow.id)).group_by(
        GoodFaithEstimateRow.patient_id, GoodFaithEstimateRow.service_date)
    estimates = work.session.scalars(select(GoodFaithEstimateRow).where(
        GoodFaithEstimateRow.id.in_(latest)).order_by(GoodFaithEstimateRow.service_date,
                                                     GoodFaithEstimateRow.id)).all()
    found = []
    for row in estimates:
        claims = work.session.execute(
            select(ClaimRow.claim_number, ClaimRow.total_charge, ClaimRow.created_at,
                   PatientRow.account_number)
            .join(PatientRow, PatientRow.id == ClaimRow.patient_id)
            .where(ClaimRow.patient_id == row.patient_id,
                   ClaimRow.service_date_from == row.service_date,
                   ClaimRow.coverage_id.is_(None), ClaimRow.account_claim_id.is_(None))
            .order_by(ClaimRow.id)).all()
        billed = sum((c.total_charge for c in claims), ZERO)
        if not claims or billed - row.total < threshold:
            continue
        first_bill = min(c.created_at for c in claims).date()
        found.append(EstimateOverrun(
            row.estimate_number, row.patient_id, claims[0].account_number, row.service_date,
            row.total, billed, [c.claim_number for c in claims],
            first_bill + timedelta(days=DISPUTE_DAYS)))
    return found
