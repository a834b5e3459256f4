"""Valid domain objects for tests and demos. All data is synthetic; no real person is described."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from medbill_core.domain import (
    Address,
    BillableClaim,
    Claim,
    ClaimKind,
    Coverage,
    CoverageOrder,
    InstitutionalDetails,
    InstitutionalProcedure,
    Patient,
    Payer,
    Practice,
    PresentOnAdmission,
    Provider,
    Relationship,
    ServiceLine,
    Sex,
    Statement,
    Subscriber,
)
from medbill_core.domain.identifiers import npi_with_check_digit

PRACTICE_NPI = npi_with_check_digit("123456789")
RENDERING_NPI = npi_with_check_digit("198765432")
REFERRING_NPI = npi_with_check_digit("176543210")
ATTENDING_NPI = npi_with_check_digit("154321098")


def make_address(**overrides: Any) -> Address:
    values: dict[str, Any] = {"line1": "100 Main Street", "city": "Springfield",
                              "state": "IL", "postal_code": "62701"}
    return Address(**{**values, **overrides})


def make_practice(**overrides: Any) -> Practice:
    values: dict[str, Any] = {"name": "Example Family Medicine", "npi": PRACTICE_NPI,
                              "tax_id": "12-3456789", "taxonomy": "207Q00000X",
                              "address": make_address(), "phone": "5555550100",
                              "contact_name": "Billing Office"}
    return Practice(**{**values, **overrides})


def make_provider(npi: str = RENDERING_NPI, **overrides: Any) -> Provider:
    values: dict[str, Any] = {"npi": npi, "last_name": "Carter", "first_name": "Dana",
                              "taxonomy": "207Q00000X"}
    return Provider(**{**values, **overrides})


def make_payer(key: str = "acme", **overrides: Any) -> Payer:
    values: dict[str, Any] = {"key": key, "payer_id": "ACME1", "name": "Acme Health Plan",
                              "adapter": "generic_x12", "channel": "clearinghouse_mock",
                              "claim_filing_indicator": "CI", "timely_filing_days": 365}
    return Payer(**{**values, **overrides})


def make_patient(number: int = 1, **overrides: Any) -> Patient:
    values: dict[str, Any] = {
        "account_number": f"A{number:05d}", "last_name": f"Testpatient{number}",
        "first_name": "Jordan", "birth_date": date(1980, 1, 1) + timedelta(days=number),
        "sex": Sex.FEMALE if number % 2 else Sex.MALE,
        "address": make_address(line1=f"{number} Elm Street"), "phone": "5555550111"}
    return Patient(**{**values, **overrides})


def make_coverage(patient_id: int | None = None, payer_key: str = "acme", *,
                  dependent: bool = False, **overrides: Any) -> Coverage:
    values: dict[str, Any] = {"patient_id": patient_id, "payer_key": payer_key,
                              "order": CoverageOrder.PRIMARY, "member_id": "XYZ123456789",
                              "group_number": "GRP001", "plan_name": "Acme PPO"}
    if dependent:
        values["relationship"] = Relationship.CHILD
        values["subscriber"] = Subscriber(last_name="Testsubscriber", first_name="Alex",
                                          birth_date=date(1960, 5, 5), sex=Sex.MALE,
                                          address=make_address())
    return Coverage(**{**values, **overrides})


def make_line(number: int = 1, *, service_date: date | None = None,
              **overrides: Any) -> ServiceLine:
    values: dict[str, Any] = {"line_number": number, "procedure_code": "99213",
                              "units": Decimal("1"), "charge": Decimal("125.00"),
                              "diagnosis_pointers": [1],
                              "service_date_from": service_date or recent_service_date()}
    return ServiceLine(**{**values, **overrides})


def recent_service_date() -> date:
    """A date of service safely inside every payer's timely-filing window."""
    return date.today() - timedelta(days=10)


def make_claim(patient_id: int = 1, *, coverage_id: int | None = 1, payer_key: str | None = "acme",
               number: str = "CLM0001", lines: int = 1, **overrides: Any) -> Claim:
    service_date = overrides.pop("service_date", None) or recent_service_date()
    values: dict[str, Any] = {
        "claim_number": number, "patient_id": patient_id, "coverage_id": coverage_id,
        "payer_key": payer_key if coverage_id is not None else None,
        "billing_provider_npi": PRACTICE_NPI, "rendering_provider_npi": RENDERING_NPI,
        "place_of_service": "11", "service_date_from": service_date,
        "service_date_to": service_date, "diagnoses": ["E119", "I10"],
        "lines": [make_line(i, service_date=service_date,
                            procedure_code="99213" if i == 1 else "36415",
                            charge=Decimal("125.00") if i == 1 else Decimal("18.50"))
                  for i in range(1, lines + 1)],
    }
    return Claim(**{**values, **overrides})


def make_institutional_claim(patient_id: int = 1, *, coverage_id: int | None = 1,
                             payer_key: str | None = "acme", number: str = "CLM0101",
                             inpatient: bool = False, **overrides: Any) -> Claim:
    """An institutional claim (UB-04 / 837I): an outpatient emergency visit (type of bill
    0131: ER level 4, a CBC, an X-ray) or, with ``inpatient``, a three-day stay (0111: room
    and board, pharmacy, an appendectomy with its ICD-10-PCS procedure)."""
    start = overrides.pop("service_date", None) or recent_service_date() - timedelta(days=3)
    if inpatient:
        end = start + timedelta(days=3)
        lines = [
            make_line(1, service_date=start, procedure_code=None, revenue_code="0120",
                      diagnosis_pointers=[], units=Decimal("3"), charge=Decimal("3600.00"),
                      service_date_to=end - timedelta(days=1)),
            make_line(2, service_date=start, procedure_code=None, revenue_code="0250",
                      diagnosis_pointers=[], units=Decimal("12"), charge=Decimal("480.00")),
            make_line(3, service_date=start, procedure_code=None, revenue_code="0360",
                      diagnosis_pointers=[], charge=Decimal("8200.00")),
        ]
        details = InstitutionalDetails(
            facility_type_code="11", admission_date=start, admission_hour=14,
            admission_type="1", admission_source="7", discharge_hour=11, patient_status="01",
            attending_provider_npi=ATTENDING_NPI, operating_provider_npi=RENDERING_NPI,
            present_on_admission=[PresentOnAdmission.YES, PresentOnAdmission.NO],
            admitting_diagnosis="R1031",
            principal_procedure=InstitutionalProcedure(code="0DTJ4ZZ", procedure_date=start),
            drg="343")
        values: dict[str, Any] = {"place_of_service": "21", "diagnoses": ["K3580", "E119"]}
    else:
        end = start
        lines = [
            make_line(1, service_date=start, procedure_code="99284", revenue_code="0450",
                      diagnosis_pointers=[], charge=Decimal("1250.00")),
            make_line(2, service_date=start, procedure_code="85025", revenue_code="0300",
                      diagnosis_pointers=[], charge=Decimal("95.00")),
            make_line(3, service_date=start, procedure_code="71046", revenue_code="0320",
                      diagnosis_pointers=[], charge=Decimal("310.00")),
        ]
        details = InstitutionalDetails(
            facility_type_code="13", admission_date=start, admission_hour=9,
            admission_type="1", admission_source="7", patient_status="01",
            attending_provider_npi=ATTENDING_NPI, reason_for_visit=["R0602"])
        values = {"place_of_service": "23", "diagnoses": ["J189", "R0602"]}
    values.update({
        "claim_number": number, "patient_id": patient_id, "coverage_id": coverage_id,
        "payer_key": payer_key if coverage_id is not None else None,
        "billing_provider_npi": PRACTICE_NPI, "kind": ClaimKind.INSTITUTIONAL,
        "service_date_from": start, "service_date_to": end, "lines": lines,
        "institutional": details})
    return Claim(**{**values, **overrides})


def make_billable_claim(**overrides: Any) -> BillableClaim:
    """A complete claim with its practice, patient, coverage and payer."""
    patient = make_patient(id=1)
    coverage = make_coverage(patient_id=1, id=1)
    values: dict[str, Any] = {"claim": make_claim(), "practice": make_practice(),
                              "patient": patient, "coverage": coverage, "payer": make_payer(),
                              "rendering_provider": make_provider()}
    return BillableClaim(**{**values, **overrides})


def make_statement(**overrides: Any) -> Statement:
    """A patient statement with a balance and no lines (renderers' contract default)."""
    today = date.today()
    values: dict[str, Any] = {"statement_number": "S-000001", "practice": make_practice(),
                              "patient": make_patient(1), "account_number": "A00001",
                              "statement_date": today, "due_date": today + timedelta(days=30),
                              "balance_due": Decimal("42.00")}
    return Statement(**{**values, **overrides})
