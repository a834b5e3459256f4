"""Fixtures of the claim_forms_pdf tests: synthetic claims (no real person is described)."""

from __future__ import annotations

import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from medbill_core.api import (
    BillableClaim,
    ClaimAdjustmentRef,
    ClaimFrequency,
    CoverageOrder,
    PriorPayerAdjudication,
)
from medbill_core.api.testing import factories

# the form reader (formreader.py) beside the tests, appended as the other suites do
sys.path.append(str(Path(__file__).parent))


@pytest.fixture
def professional() -> BillableClaim:
    """A primary professional claim: two lines, a referring provider."""
    claim = factories.make_claim(lines=2, service_date=date(2026, 11, 20),
                                 referring_provider_npi=factories.REFERRING_NPI,
                                 prior_authorization="AUTH-77")
    return factories.make_billable_claim(
        claim=claim, referring_provider=factories.make_provider(
            factories.REFERRING_NPI, last_name="Reyes", first_name="Sam"))


@pytest.fixture
def secondary() -> BillableClaim:
    """The same visit billed to a second payer after the first paid 80.00."""
    primary_payer = factories.make_payer("firstplan", payer_id="FIRST1", name="First Plan")
    primary_coverage = factories.make_coverage(1, "firstplan", id=2, member_id="FP998877",
                                               plan_name="First Plan Gold")
    prior = PriorPayerAdjudication(
        payer=primary_payer, coverage=primary_coverage, paid_amount=Decimal("80.00"),
        paid_date=date(2026, 11, 30), claim_adjustments=[
            ClaimAdjustmentRef(group_code="PR", reason_code="2", amount=Decimal("20.00")),
            ClaimAdjustmentRef(group_code="CO", reason_code="45", amount=Decimal("25.00"))])
    coverage = factories.make_coverage(1, id=1, order=CoverageOrder.SECONDARY,
                                       dependent=True)
    claim = factories.make_claim(service_date=date(2026, 11, 20))
    return factories.make_billable_claim(claim=claim, coverage=coverage,
                                         prior_adjudications=[prior])


@pytest.fixture
def replacement() -> BillableClaim:
    claim = factories.make_claim(number="CLM0001R", service_date=date(2026, 11, 20),
                                 frequency=ClaimFrequency.REPLACEMENT,
                                 original_claim_reference="PAYERICN12345")
    return factories.make_billable_claim(claim=claim)


@pytest.fixture
def inpatient() -> BillableClaim:
    claim = factories.make_institutional_claim(inpatient=True, service_date=date(2026, 11, 1))
    return factories.make_billable_claim(claim=claim)


@pytest.fixture
def outpatient() -> BillableClaim:
    claim = factories.make_institutional_claim(service_date=date(2026, 11, 3))
    return factories.make_billable_claim(claim=claim)
