"""The 837P to a secondary payer carries the primary's line-level adjudication (2430 SVD/CAS
loops) as the core derived it from a line-level 835, pyx12-clean. (The core's half, the
prior adjudication itself, is tested in the core's tests/test_secondary_billing.py.)"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from medbill_payer_generic_x12.pyx12check import pyx12_verdict
from medbill_payer_generic_x12.transactions.claim_837p import decode_837p, encode_837p

from medbill_core.app import Medbill
from medbill_core.domain import (
    Adjustment,
    AdjustmentGroup,
    ClaimPayment,
    ClaimState,
    ClaimStatusCode,
    CoverageOrder,
    Remittance,
    ServicePayment,
)
from medbill_core.services.remittance import post_remittance
from medbill_core.testing import factories

D = Decimal
CO, PR = AdjustmentGroup.CONTRACTUAL, AdjustmentGroup.PATIENT_RESPONSIBILITY


def cas(group: AdjustmentGroup, reason: str, amount: str) -> Adjustment:
    return Adjustment(group=group, reason_code=reason, amount=D(amount))


def test_a_line_level_835_gives_the_secondary_837p_its_2430_loops(medbill_app: Medbill) -> None:
    with medbill_app.unit_of_work() as work:  # acme pays first, bluecross second
        patient = work.patients.register(factories.make_patient(1))
        primary = work.patients.add_coverage(patient.id, factories.make_coverage())
        work.patients.add_coverage(patient.id, factories.make_coverage(
            payer_key="bluecross", order=CoverageOrder.SECONDARY, member_id="BC998877"))
        claim = work.claims.create(factories.make_claim(
            patient.id, coverage_id=primary.id, number="COB1", lines=2))
        for target in (ClaimState.VALIDATED, ClaimState.SUBMITTED, ClaimState.ACCEPTED):
            work.claims.transition(claim.id, target)
    # line 1 (99213, 125.00) paid 90.00, line 2 (36415, 18.50) paid 10.00, claim-level CO-253
    services = [
        ServicePayment(procedure_code="99213", charge=D("125.00"), paid=D("90.00"),
                       adjustments=[cas(CO, "45", "15.00"), cas(PR, "2", "20.00")]),
        ServicePayment(procedure_code="36415", charge=D("18.50"), paid=D("10.00"), units=D(1),
                       adjustments=[cas(CO, "45", "5.50"), cas(PR, "1", "3.00")]),
    ]
    payment = ClaimPayment(claim_number="COB1", status=ClaimStatusCode.PRIMARY,
                           charge=D("143.50"), paid=D("98.00"), patient_responsibility=D("23.00"),
                           adjustments=[cas(CO, "253", "2.00")], services=services)
    with medbill_app.unit_of_work() as work:
        post_remittance(work, Remittance(
            trace_number="PRI3", payment_amount=D("98.00"), payer_name="P", payer_id="PRI3",
            payee_name="Clinic", payment_date=date(2026, 3, 1), claims=[payment]))
    with medbill_app.unit_of_work() as work:
        billable = work.claims.billable(work.claims.by_number("COB1-S2").id)
    [prior] = billable.prior_adjudications
    assert len(prior.line_adjudications) == 2

    x12 = encode_837p([billable]).text
    payer_id = prior.payer.payer_id  # SVD01 = the primary's 2330B NM109
    assert x12.count("~SVD*") == 2 and f"~SVD*{payer_id}*90*HC:99213**1~CAS*CO*45*15~" in x12
    assert f"~SVD*{payer_id}*10*HC:36415**1~" in x12 and "~AMT*EAF*3~" in x12
    assert "~CAS*CO*253*2~AMT*D*98~" in x12  # 2320: the claim-level adjustment only
    assert pyx12_verdict(x12)[0], pyx12_verdict(x12)[1][:3]
    [decoded] = decode_837p(x12)
    assert decoded.prior_adjudications[0].line_adjudications == prior.line_adjudications
