"""835 for institutional claims: CLP08/CLP11, MIA, MOA amounts, SVC with NU revenue codes and
SVC04, written pyx12-clean and read back; MIA/MOA of a file written by others."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from medbill_payer_generic_x12.pyx12check import pyx12_verdict
from medbill_payer_generic_x12.transactions.remittance_835 import (
    PayerContact,
    decode_835,
    encode_835,
)
from medbill_payer_generic_x12.x12 import X12EncodeError, X12Error
from x12_factories import FIXTURES

from medbill_core.api import (
    Address,
    Adjustment,
    AdjustmentGroup,
    ClaimPayment,
    ClaimStatusCode,
    InpatientAdjudication,
    OutpatientAdjudication,
    PaymentMethod,
    Remittance,
    ServicePayment,
)

CONTACT = PayerContact(address=Address(line1="PO BOX 1000", city="KANSAS CITY", state="MO",
                                       postal_code="64101"),
                       technical_contact_phone="8005550100")


def _co(amount: str) -> Adjustment:
    return Adjustment(group=AdjustmentGroup.CONTRACTUAL, reason_code="45", amount=Decimal(amount))


def _inpatient() -> ClaimPayment:
    """A DRG-paid stay: room and board and pharmacy paid under their revenue codes."""
    return ClaimPayment(
        claim_number="CLMI2001", status=ClaimStatusCode.PRIMARY, charge=Decimal("4080.00"),
        paid=Decimal("3000.00"), patient_responsibility=Decimal("0.00"), filing_indicator="12",
        payer_claim_number="PCN-1", facility_type="11", patient_last_name="DOE",
        patient_first_name="JANE", member_id="XYZ123456789", frequency="1", drg_code="343",
        inpatient=InpatientAdjudication(covered_days=Decimal("3"),
                                        drg_amount=Decimal("3000.00"),
                                        pps_operating_outlier_amount=Decimal("0.00"),
                                        indirect_teaching_amount=Decimal("12.50")),
        remark_codes=["MA01", "N20"],
        services=[
            ServicePayment(procedure_qualifier="NU", procedure_code="0120",
                           charge=Decimal("3600.00"), paid=Decimal("2600.00"),
                           units=Decimal("3"), adjustments=[_co("1000.00")]),
            ServicePayment(procedure_qualifier="NU", procedure_code="0250",
                           charge=Decimal("480.00"), paid=Decimal("400.00"),
                           units=Decimal("12"), adjustments=[_co("80.00")])])


def _outpatient() -> ClaimPayment:
    return ClaimPayment(
        claim_number="CLMI1001", status=ClaimStatusCode.PRIMARY, charge=Decimal("1345.00"),
        paid=Decimal("1000.00"), filing_indicator="12", payer_claim_number="PCN-2",
        patient_last_name="DOE", patient_first_name="JOHN", member_id="XYZ987654321",
        facility_type="13", frequency="1",
        outpatient=OutpatientAdjudication(reimbursement_rate=Decimal("0.80"),
                                          hcpcs_payable_amount=Decimal("1000.00")),
        services=[
            ServicePayment(procedure_code="99284", revenue_code="0450",
                           charge=Decimal("1250.00"), paid=Decimal("950.00"),
                           adjustments=[_co("300.00")]),
            ServicePayment(procedure_code="85025", revenue_code="0300",
                           charge=Decimal("95.00"), paid=Decimal("50.00"),
                           adjustments=[_co("45.00")])])


def _remittance(*claims: ClaimPayment) -> Remittance:
    paid = sum((claim.paid for claim in claims), Decimal("0.00"))
    return Remittance(trace_number="EFT000000001", payer_trace_id="1431234567",
                      handling_code="I", payment_amount=paid, payment_method=PaymentMethod.ACH,
                      payment_date=date(2024, 3, 20), production_date=date(2024, 3, 20),
                      payer_name="ACME HEALTH PLAN", payer_id="60054",
                      payee_name="MERCY GENERAL HOSPITAL", payee_npi="1234567893",
                      claims=list(claims))


def test_institutional_835_is_clean_in_pyx12_and_round_trips() -> None:
    remittance = _remittance(_inpatient(), _outpatient())
    text = encode_835([remittance], payer_contact=CONTACT)
    valid, errors = pyx12_verdict(text)
    assert valid, errors
    segments = text.split("~")
    assert "CLP*CLMI2001*1*4080*3000*0*12*PCN-1*11*1**343" in segments
    assert "MIA*3*0**3000*MA01*************12.5**N20" in segments
    assert "MOA*0.8*1000" in segments
    assert "SVC*NU:0120*3600*2600**3" in segments
    assert "SVC*HC:99284*1250*950*0450" in segments
    (decoded,) = decode_835(text)
    inpatient, outpatient = decoded.claims
    assert inpatient.drg_code == "343" and inpatient.facility_type == "11"
    assert inpatient.inpatient == _inpatient().inpatient
    assert inpatient.remark_codes == ["MA01", "N20"]
    assert [(s.procedure_qualifier, s.procedure_code) for s in inpatient.services] == [
        ("NU", "0120"), ("NU", "0250")]
    assert outpatient.outpatient == _outpatient().outpatient
    assert [s.revenue_code for s in outpatient.services] == ["0450", "0300"]
    assert decoded.claims == [_inpatient(), _outpatient()]


def test_too_many_remark_codes_for_mia_are_refused_naming_the_claim() -> None:
    claim = _inpatient().model_copy(update={"remark_codes": ["N1", "N2", "N3", "N4", "N5",
                                                             "N6"]})
    with pytest.raises(X12EncodeError) as caught:
        encode_835([_remittance(claim)], payer_contact=CONTACT)
    assert "MIA" in str(caught.value) and "CLMI2001" in str(caught.value)


def test_mia_without_covered_days_is_a_positioned_error() -> None:
    text = encode_835([_remittance(_inpatient())], payer_contact=CONTACT)
    with pytest.raises(X12Error) as caught:
        decode_835(text.replace("MIA*3*", "MIA**"))
    assert caught.value.segment_id == "MIA" and caught.value.element == 1


@pytest.mark.parametrize(("covered", "problem"), [
    ("-1", "greater than or equal to 0"), ("1.234", "no more than 2 decimal places")])
def test_covered_days_the_model_refuses_are_positioned_errors(covered: str,
                                                              problem: str) -> None:
    # found by the 835 mutation fuzzer: MIA*-1 escaped the decoder as the model's own error
    text = encode_835([_remittance(_inpatient())], payer_contact=CONTACT)
    with pytest.raises(X12Error) as caught:
        decode_835(text.replace("MIA*3*", f"MIA*{covered}*"))
    assert (caught.value.segment_id, caught.value.element) == ("MIA", 1)
    assert "MIA01 covered days" in str(caught.value) and problem in str(caught.value)


def test_a_negative_reimbursement_rate_in_moa_is_a_positioned_error() -> None:
    text = encode_835([_remittance(_outpatient())], payer_contact=CONTACT)
    assert "MOA*0.8*" in text
    with pytest.raises(X12Error) as caught:
        decode_835(text.replace("MOA*0.8*", "MOA*-0.8*"))
    assert (caught.value.segment_id, caught.value.element) == ("MOA", 1)


def test_mia_and_moa_of_a_medicare_part_a_835_written_by_others() -> None:
    (remittance,) = decode_835((FIXTURES / "835" / "lfh__medicare-part-a.835").read_text())
    inpatient, outpatient = remittance.claims[:2]
    assert inpatient.facility_type == "11"
    assert inpatient.inpatient == InpatientAdjudication(covered_days=Decimal("0"),
                                                        drg_amount=Decimal("138018.40"))
    assert outpatient.facility_type == "13" and outpatient.inpatient is None
    assert outpatient.outpatient is None and outpatient.remark_codes == ["MA02"]
