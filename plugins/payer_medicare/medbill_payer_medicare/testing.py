"""Valid Medicare test objects (synthetic: no real person or beneficiary is described).

``EXAMPLE_MBI`` is the example CMS prints in "Understanding the Medicare Beneficiary Identifier
(MBI) Format"; it has the MBI format but identifies no one.
"""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal
from typing import Any

from medbill_core.api import BillableClaim, Payer, Provider
from medbill_core.api.testing import factories

EXAMPLE_MBI = "1EG4TE5MK73"
EXAMPLE_MBI_PRINTED = "1EG4-TE5-MK73"
MEDICARE_KEY = "medicare"
#: Options of the generic X12 adapter (``[payers.medicare.options.x12]``) for tests.
X12_OPTIONS: dict[str, Any] = {"submitter_id": "SUB123", "submitter_name": "EXAMPLE BILLING",
                               "receiver_id": "CLEARINGHOUSE", "receiver_name": "CLEARINGHOUSE",
                               "submitter_contact_name": "BILLING OFFICE",
                               "submitter_phone": "5555550100", "usage": "T"}
#: Noridian JE, Southern California: MAC 01182, locality 18 (Los Angeles).
MEDICARE_OPTIONS: dict[str, Any] = {"jurisdiction": "JE", "mac": "01182", "locality": "18",
                                    "x12": X12_OPTIONS}


def make_medicare_payer(key: str = MEDICARE_KEY, **overrides: Any) -> Payer:
    values: dict[str, Any] = {"payer_id": "01182", "name": "Medicare Part B",
                              "adapter": "medicare", "claim_filing_indicator": "MB",
                              "timely_filing_days": 365,
                              "options": copy.deepcopy(MEDICARE_OPTIONS)}
    return factories.make_payer(key, **{**values, **overrides})


def make_referring_provider(**overrides: Any) -> Provider:
    values: dict[str, Any] = {"last_name": "Referrer", "first_name": "Robin"}
    return factories.make_provider(factories.REFERRING_NPI, **{**values, **overrides})


def make_medicare_billable_claim(*, payer: Payer | None = None, member_id: str = EXAMPLE_MBI,
                                 service_date: date | None = None, lines: int = 1,
                                 number: str = "CLM0001", **overrides: Any) -> BillableClaim:
    """A clean Medicare Part B claim: office visit (99213) in POS 11, patient = subscriber.

    With ``lines`` > 1 the further lines are an ECG (93000), which needs no referring provider.
    ``overrides`` replace :class:`BillableClaim` fields (``claim``, ``coverage``...).
    """
    payer = payer or make_medicare_payer()
    service_date = service_date or factories.recent_service_date()
    claim = factories.make_claim(
        number=number, payer_key=payer.key, service_date=service_date, lines=1,
        diagnoses=["E119", "I10"])
    if lines > 1:
        extra = [factories.make_line(i, service_date=service_date, procedure_code="93000",
                                     charge=Decimal("40.00"), diagnosis_pointers=[2])
                 for i in range(2, lines + 1)]
        claim = claim.model_copy(update={"lines": [*claim.lines, *extra]})
        claim = type(claim).model_validate(claim.model_dump())
    coverage = factories.make_coverage(patient_id=1, payer_key=payer.key, id=1,
                                       member_id=member_id, group_number=None,
                                       plan_name="Medicare Part B")
    practice = factories.make_practice(
        address=factories.make_address(postal_code="627010001"))
    values: dict[str, Any] = {"claim": claim, "practice": practice,
                              "patient": factories.make_patient(id=1), "coverage": coverage,
                              "payer": payer, "rendering_provider": factories.make_provider()}
    return BillableClaim(**{**values, **overrides})
