"""835 service payments of institutional claims: matched to lines by revenue code when a line
has no HCPCS, and kept as NU line adjudications for the next payer's 837I."""

from __future__ import annotations

from decimal import Decimal

from medbill_core.domain import (
    Adjustment,
    AdjustmentGroup,
    ClaimPayment,
    ClaimStatusCode,
    ServicePayment,
)
from medbill_core.services.remittance import line_adjudications, match_service_lines
from medbill_core.testing import factories

D = Decimal


def _svc(code: str, charge: str, paid: str, qualifier: str = "NU") -> ServicePayment:
    adjusted = D(charge) - D(paid)
    return ServicePayment(procedure_qualifier=qualifier, procedure_code=code, charge=D(charge),
                          paid=D(paid), adjustments=[Adjustment(
                              group=AdjustmentGroup.CONTRACTUAL, reason_code="45",
                              amount=adjusted)] if adjusted else [])


def test_revenue_code_lines_are_matched_by_position_and_by_code() -> None:
    claim = factories.make_institutional_claim(inpatient=True)  # 0120, 0250, 0360
    in_order = [_svc("0120", "3600.00", "2600.00"), _svc("0250", "480.00", "400.00"),
                _svc("0360", "8200.00", "6000.00")]
    matched = match_service_lines(claim.lines, in_order)
    assert matched is not None and [line.line_number for line in matched] == [1, 2, 3]
    shuffled = [in_order[2], in_order[0], in_order[1]]
    matched = match_service_lines(claim.lines, shuffled)
    assert matched is not None and [line.line_number for line in matched] == [3, 1, 2]
    assert match_service_lines(claim.lines, [_svc("0450", "1.00", "1.00")]) is None


def test_hcpcs_lines_of_an_outpatient_claim_still_match_by_hcpcs() -> None:
    claim = factories.make_institutional_claim()  # 99284/0450, 85025/0300, 71046/0320
    services = [_svc("71046", "310.00", "186.00", "HC"), _svc("99284", "1250.00", "750.00", "HC")]
    matched = match_service_lines(claim.lines, services)
    assert matched is not None and [line.line_number for line in matched] == [3, 1]


def test_an_inpatient_payment_becomes_nu_line_adjudications_for_the_next_payer() -> None:
    claim = factories.make_institutional_claim(inpatient=True)
    services = [_svc("0120", "3600.00", "2600.00"), _svc("0250", "480.00", "400.00"),
                _svc("0360", "8200.00", "6000.00")]
    payment = ClaimPayment(claim_number=claim.claim_number, status=ClaimStatusCode.PRIMARY,
                           charge=D("12280.00"), paid=D("9000.00"), services=services)
    adjudications = line_adjudications(claim, payment)
    assert [(a.line_number, a.procedure_qualifier, a.procedure_code, a.paid_amount)
            for a in adjudications] == [(1, "NU", "0120", D("2600.00")),
                                        (2, "NU", "0250", D("400.00")),
                                        (3, "NU", "0360", D("6000.00"))]
