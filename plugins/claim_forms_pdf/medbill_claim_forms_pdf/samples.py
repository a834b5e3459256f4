"""Synthetic claims for the README images: a secondary office visit (CMS-1500) and a
three-day hospital stay (UB-04). No real person is described."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from medbill_core.api import (
    Address,
    BillableClaim,
    ClaimAdjustmentRef,
    CoverageOrder,
    PriorPayerAdjudication,
)
from medbill_core.api.testing import factories

PRINTED_ON = date(2026, 12, 4)
_PAYER_ADDRESS = Address(line1="PO Box 4100", city="Springfield", state="IL",
                         postal_code="62794")


def sample_professional() -> BillableClaim:
    """An office visit billed to a second plan after the first paid 80.00."""
    first = PriorPayerAdjudication(
        payer=factories.make_payer("firstplan", payer_id="FIRST1", name="First Plan"),
        coverage=factories.make_coverage(1, "firstplan", id=2, member_id="FP998877",
                                         plan_name="First Plan Gold"),
        paid_amount=Decimal("80.00"), paid_date=date(2026, 11, 30),
        claim_adjustments=[ClaimAdjustmentRef(group_code="PR", reason_code="2",
                                              amount=Decimal("63.50"))])
    claim = factories.make_claim(lines=2, service_date=date(2026, 11, 20),
                                 referring_provider_npi=factories.REFERRING_NPI)
    return factories.make_billable_claim(
        claim=claim, payer=factories.make_payer(address=_PAYER_ADDRESS),
        coverage=factories.make_coverage(1, id=1, order=CoverageOrder.SECONDARY),
        referring_provider=factories.make_provider(factories.REFERRING_NPI,
                                                   last_name="Reyes", first_name="Sam"),
        prior_adjudications=[first])


def sample_institutional() -> BillableClaim:
    """A three-day inpatient stay with an appendectomy."""
    claim = factories.make_institutional_claim(inpatient=True, service_date=date(2026, 11, 1))
    return factories.make_billable_claim(
        claim=claim, payer=factories.make_payer(address=_PAYER_ADDRESS),
        practice=factories.make_practice(name="Riverside Hospital"))
