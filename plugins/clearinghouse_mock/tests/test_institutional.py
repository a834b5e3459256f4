"""Institutional claims through the simulator: DRG and percent-of-charges pricing, and an 837I
submitted over HTTP answered by a 999, a 277CA and an 835 with MIA/MOA, CLP08/CLP11 and NU
revenue-code service lines."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import httpx
from chm_support import (
    CONTROL_NUMBERS,
    PARTIES,
    PPO,
    RENDERING_NPI,
    SERVICE_DAY,
    TODAY,
    claim_acks,
    fees,
    find,
    fresh_member_id,
    payer,
    practice,
)
from medbill_clearinghouse_mock.simulator.adjudication import Accumulators, adjudicate
from medbill_clearinghouse_mock.simulator.config import PayerPolicy
from medbill_payer_generic_x12.api import decode_835, encode_837i

from medbill_core.api import (
    Address,
    BillableClaim,
    Claim,
    ClaimKind,
    ClaimStatusCode,
    Coverage,
    InpatientAdjudication,
    InstitutionalDetails,
    OutpatientAdjudication,
    Patient,
    Provider,
    ServiceLine,
    Sex,
)

D = Decimal
PAYER = PayerPolicy(payer_id="ACME1", name="ACME", fee_schedule=fees(("85025", None, "10.00")),
                    drg_rates={"343": D("9500.00")}, percent_of_charges=D("0.60"))
ATTENDING = Provider(npi=RENDERING_NPI, last_name="WELBY", first_name="MARCUS")


def _line(number: int, revenue: str, charge: str, code: str | None = None,
          units: str = "1") -> ServiceLine:
    return ServiceLine(line_number=number, revenue_code=revenue, procedure_code=code,
                       units=D(units), charge=D(charge), service_date_from=SERVICE_DAY)


def institutional(number: str, *, member_id: str, inpatient: bool,
                  drg: str | None = "343") -> BillableClaim:
    """0111: three nights (room and board, pharmacy, operating room) with a DRG; 0131: an ER
    visit, a CBC and a chest X-ray, each with its HCPCS."""
    if inpatient:
        lines = [_line(1, "0120", "3600.00", units="3"), _line(2, "0250", "480.00"),
                 _line(3, "0360", "8200.00")]
        details = InstitutionalDetails(facility_type_code="11", admission_date=SERVICE_DAY,
                                       admission_type="1", patient_status="01",
                                       attending_provider_npi=RENDERING_NPI, drg=drg)
        end, place, diagnoses = SERVICE_DAY + timedelta(days=3), "21", ["K3580"]
    else:
        lines = [_line(1, "0450", "1250.00", "99284"), _line(2, "0300", "95.00", "85025"),
                 _line(3, "0320", "310.00", "71046")]
        details = InstitutionalDetails(facility_type_code="13", patient_status="01",
                                       attending_provider_npi=RENDERING_NPI)
        end, place, diagnoses = SERVICE_DAY, "22", ["J189"]
    the_payer = payer("ACME1")
    return BillableClaim(
        claim=Claim(claim_number=number, patient_id=1, coverage_id=1, payer_key=the_payer.key,
                    billing_provider_npi=practice().npi, kind=ClaimKind.INSTITUTIONAL,
                    place_of_service=place, service_date_from=SERVICE_DAY, service_date_to=end,
                    diagnoses=diagnoses, lines=lines, institutional=details),
        practice=practice(),
        patient=Patient(account_number=f"ACCT-{number}", last_name="TESTPATIENT",
                        first_name="JORDAN", birth_date=SERVICE_DAY.replace(year=1980),
                        sex=Sex.FEMALE,
                        address=Address(line1="15 ELM ST", city="KANSAS CITY", state="MO",
                                        postal_code="64108")),
        coverage=Coverage(payer_key=the_payer.key, member_id=member_id, group_number="GRP-77"),
        payer=the_payer, attending_provider=ATTENDING)


def _run(bill: BillableClaim):  # type: ignore[no-untyped-def]
    return adjudicate(bill, payer=PAYER, benefits=PPO, accumulators=Accumulators(),
                      received=TODAY, payer_claim_number="ICN1")


def test_an_inpatient_stay_is_allowed_its_drg_rate_spread_over_the_lines() -> None:
    payment = _run(institutional("I1", member_id="M1", inpatient=True)).payment
    # 9500.00 in proportion to 3600 / 480 / 8200 (of 12280), cumulative rounding
    assert [s.allowed_amount for s in payment.services] == [D("2785.02"), D("371.33"),
                                                            D("6343.65")]
    # deductible 500 then 20 %: 457.00 + 74.27 + 1268.73
    assert (payment.paid, payment.patient_responsibility) == (D("7200.00"), D("2300.00"))
    assert payment.is_balanced() and all(s.is_balanced() for s in payment.services)
    assert (payment.facility_type, payment.drg_code) == ("11", "343")
    assert payment.inpatient == InpatientAdjudication(covered_days=D("3"),
                                                      drg_amount=D("9500.00"))
    assert payment.outpatient is None
    assert [(s.procedure_qualifier, s.procedure_code, s.revenue_code)
            for s in payment.services] == [("NU", "0120", None), ("NU", "0250", None),
                                           ("NU", "0360", None)]


def test_an_inpatient_stay_without_a_priced_drg_is_paid_a_percent_of_charges() -> None:
    payment = _run(institutional("I2", member_id="M1", inpatient=True, drg=None)).payment
    assert [s.allowed_amount for s in payment.services] == [D("2160.00"), D("288.00"),
                                                            D("4920.00")]
    assert payment.drg_code is None
    assert payment.inpatient == InpatientAdjudication(covered_days=D("3"))


def test_an_outpatient_visit_is_priced_by_fee_or_percent_of_charges_with_an_moa() -> None:
    payment = _run(institutional("O1", member_id="M1", inpatient=False)).payment
    # 99284 and 71046 have no fee: 60 % of 1250.00 and 310.00; 85025 its fee of 10.00
    assert [s.allowed_amount for s in payment.services] == [D("750.00"), D("10.00"),
                                                            D("186.00")]
    assert [s.paid for s in payment.services] == [D("200.00"), D("8.00"), D("148.80")]
    assert payment.facility_type == "13" and payment.inpatient is None
    assert payment.outpatient == OutpatientAdjudication(hcpcs_payable_amount=D("356.80"))
    assert [(s.procedure_qualifier, s.procedure_code, s.revenue_code)
            for s in payment.services] == [("HC", "99284", "0450"), ("HC", "85025", "0300"),
                                           ("HC", "71046", "0320")]


def test_an_837i_is_acknowledged_adjudicated_and_remitted(http: httpx.Client) -> None:
    member = fresh_member_id()
    claims = [institutional("INP1", member_id=member, inpatient=True),
              institutional("OUT1", member_id=fresh_member_id(), inpatient=False)]
    text = encode_837i(claims, parties=PARTIES, control_numbers=CONTROL_NUMBERS).text
    response = http.post("/v1/claims/batches", content=text.encode(),
                         headers={"Content-Type": "application/edi-x12",
                                  "Idempotency-Key": "inst-1"})
    body = response.json()
    assert body["status"] == "accepted", body
    assert body["claims"] == {"received": 2, "accepted": 2, "rejected": 0}
    found = http.get("/v1/responses", params={"limit": 100}).json()["documents"]
    by_kind = {document["kind"]: document["content"] for document in found}
    assert find(by_kind["999"], "AK1")[0][3] == "005010X223A2"
    assert find(by_kind["999"], "IK5")[0][1] == "A"
    acks = claim_acks(by_kind["277CA"])
    assert acks["INP1"]["stc"] == ["A2:20"] and acks["OUT1"]["stc"] == ["A2:20"]
    assert http.post("/v1/payment-runs").json()["remittances"]
    found = http.get("/v1/responses", params={"limit": 100}).json()["documents"]
    (remittance,) = [r for d in found if d["kind"] == "835" for r in decode_835(d["content"])]
    paid = {c.claim_number: c for c in remittance.claims}
    inpatient, outpatient = paid["INP1"], paid["OUT1"]
    assert inpatient.status is ClaimStatusCode.PRIMARY and inpatient.is_balanced()
    assert (inpatient.facility_type, inpatient.drg_code) == ("11", "343")
    assert inpatient.inpatient is not None and inpatient.inpatient.covered_days == D("3")
    assert [s.procedure_qualifier for s in inpatient.services] == ["NU", "NU", "NU"]
    assert outpatient.facility_type == "13" and outpatient.outpatient is not None
    assert [s.revenue_code for s in outpatient.services] == ["0450", "0300", "0320"]
    assert remittance.is_balanced()
