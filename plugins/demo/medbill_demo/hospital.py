"""The demo's hospital case: one outpatient emergency visit (type of bill 0131) and one
inpatient stay (0111, an appendectomy priced by MS-DRG 343) billed to Acme on the UB-04 /
837I, through the same outbox, simulator, acknowledgments and 835 posting as the
professional claims. Two patients of their own (commercial coverage only), so the practice's
professional encounters are unchanged.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from medbill_core.app import Medbill
from medbill_core.domain import (
    Address,
    Claim,
    ClaimKind,
    Coverage,
    InstitutionalDetails,
    InstitutionalProcedure,
    Patient,
    PresentOnAdmission,
    Provider,
    ServiceLine,
    Sex,
)
from medbill_core.domain.base import saved_id
from medbill_core.domain.identifiers import npi_with_check_digit
from medbill_core.services.patients import NewCoverage
from medbill_demo.data import PRACTICE

#: the attending hospitalist and the surgeon (2310A / 2310B)
HOSPITAL_PROVIDERS = [
    Provider(npi=npi_with_check_digit("170000011"), last_name="Marsh", first_name="Helen",
             taxonomy="208M00000X"),
    Provider(npi=npi_with_check_digit("170000012"), last_name="Adeyemi", first_name="Tunde",
             taxonomy="208600000X"),
]
OUTPATIENT_CLAIM = "RBH-OP-0001"
INPATIENT_CLAIM = "RBH-IP-0001"


def _patients() -> list[tuple[Patient, Coverage]]:
    address = Address(line1="77 Mill Street", city="Springfield", state="IL",
                      postal_code="62704")
    return [(Patient(account_number=f"RBH{20000 + n}", first_name=first, last_name=last,
                     birth_date=birth, sex=sex, address=address, phone="2175552000"),
             Coverage(payer_key="acme", member_id=f"ACM{700000000 + n}", group_number="G7001",
                      plan_name="Acme PPO", start_date=date(2020, 1, 1)))
            for n, (first, last, birth, sex) in enumerate([
                ("Nadia", "Kowalczyk", date(1971, 6, 12), Sex.FEMALE),
                ("Owen", "Farraday", date(1988, 11, 3), Sex.MALE)])]


def _line(number: int, revenue: str, charge: str, day: date, *, code: str | None = None,
          units: str = "1", to: date | None = None) -> ServiceLine:
    return ServiceLine(line_number=number, revenue_code=revenue, procedure_code=code,
                       units=Decimal(units), charge=Decimal(charge), service_date_from=day,
                       service_date_to=to, line_control_number=f"H{number}")


def hospital_claims(patient_ids: list[int], coverage_ids: list[int], today: date) -> list[Claim]:
    """The outpatient visit (ER level 4, a CBC, a chest X-ray; pneumonia) and the inpatient
    stay (three nights: room and board, pharmacy, operating room; appendicitis, POA)."""
    attending, surgeon = HOSPITAL_PROVIDERS
    visit = today - timedelta(days=12)
    admitted = today - timedelta(days=20)
    discharged = admitted + timedelta(days=3)
    outpatient = Claim(
        claim_number=OUTPATIENT_CLAIM, patient_id=patient_ids[0], coverage_id=coverage_ids[0],
        payer_key="acme", billing_provider_npi=PRACTICE.npi, kind=ClaimKind.INSTITUTIONAL,
        place_of_service="23",
        service_date_from=visit, service_date_to=visit, diagnoses=["J189", "R0602"],
        lines=[_line(1, "0450", "1250.00", visit, code="99284"),
               _line(2, "0300", "95.00", visit, code="85025"),
               _line(3, "0320", "310.00", visit, code="71046")],
        institutional=InstitutionalDetails(
            facility_type_code="13", admission_date=visit, admission_hour=9,
            admission_type="1", admission_source="7", patient_status="01",
            attending_provider_npi=attending.npi, reason_for_visit=["R0602"]))
    inpatient = Claim(
        claim_number=INPATIENT_CLAIM, patient_id=patient_ids[1], coverage_id=coverage_ids[1],
        payer_key="acme", billing_provider_npi=PRACTICE.npi, kind=ClaimKind.INSTITUTIONAL,
        place_of_service="21", service_date_from=admitted, service_date_to=discharged,
        diagnoses=["K3580", "E119"],
        lines=[_line(1, "0120", "3600.00", admitted, units="3",
                     to=discharged - timedelta(days=1)),
               _line(2, "0250", "480.00", admitted, units="12"),
               _line(3, "0360", "8200.00", admitted)],
        institutional=InstitutionalDetails(
            facility_type_code="11", admission_date=admitted, admission_hour=14,
            admission_type="1", admission_source="7", discharge_hour=11, patient_status="01",
            attending_provider_npi=attending.npi, operating_provider_npi=surgeon.npi,
            present_on_admission=[PresentOnAdmission.YES, PresentOnAdmission.YES],
            admitting_diagnosis="R1031",
            principal_procedure=InstitutionalProcedure(code="0DTJ4ZZ",
                                                       procedure_date=admitted),
            drg="343"))
    return [outpatient, inpatient]


def load_hospital_case(app: Medbill, today: date | None = None) -> int:
    """Register the hospital's providers and patients and create their two claims (drafts:
    the demo scrubs and submits them with the rest); the number of claims made."""
    today = today or date.today()
    with app.unit_of_work() as work:
        work.patients.register_providers(HOSPITAL_PROVIDERS)
        pairs = _patients()
        patients = work.patients.register_many([patient for patient, _ in pairs])
        coverages = work.patients.add_coverages([
            NewCoverage(saved_id(patient), coverage)
            for patient, (_, coverage) in zip(patients, pairs, strict=True)])
        claims = hospital_claims([saved_id(p) for p in patients],
                                 [saved_id(c) for c in coverages], today)
        return len(work.claims.create_many(claims))


__all__ = ["INPATIENT_CLAIM", "OUTPATIENT_CLAIM", "hospital_claims", "load_hospital_case"]
