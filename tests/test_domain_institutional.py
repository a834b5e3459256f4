"""Institutional claims in the domain: what a valid one holds and what each kind refuses."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError

from medbill_core.domain import (
    Claim,
    ClaimFrequency,
    ClaimKind,
    InstitutionalDetails,
    OccurrenceSpan,
    ValueAmount,
)
from medbill_core.testing.factories import make_claim, make_institutional_claim, make_line


def test_an_outpatient_and_an_inpatient_claim_are_valid() -> None:
    outpatient = make_institutional_claim()
    assert outpatient.kind is ClaimKind.INSTITUTIONAL
    assert outpatient.type_of_bill == "0131"
    assert outpatient.institutional is not None
    assert not outpatient.institutional.is_inpatient
    assert outpatient.total_charge == Decimal("1655.00")
    inpatient = make_institutional_claim(inpatient=True)
    assert inpatient.type_of_bill == "0111"
    assert inpatient.institutional is not None and inpatient.institutional.is_inpatient
    assert [line.billed_code for line in inpatient.lines] == ["0120", "0250", "0360"]
    assert inpatient.lines[0].procedure_code is None
    replacement = make_institutional_claim(frequency=ClaimFrequency.REPLACEMENT,
                                           original_claim_reference="PAYER123")
    assert replacement.type_of_bill == "0137"


def test_a_professional_claim_is_what_it_was() -> None:
    claim = make_claim()
    assert claim.kind is ClaimKind.PROFESSIONAL
    assert claim.institutional is None and claim.type_of_bill is None
    assert claim.lines[0].billed_code == "99213"


def _professional_with(**changes: object) -> Claim:
    return Claim.model_validate({**make_claim().model_dump(), **changes})


def _refused(make: object, **overrides: object) -> str:
    with pytest.raises(ValidationError) as caught:
        make(**overrides)  # type: ignore[operator]
    return str(caught.value)


def test_each_kind_refuses_the_other_kinds_parts() -> None:
    assert "procedure_code is required" in _refused(
        _professional_with, lines=[make_line(procedure_code=None, revenue_code="0450")])
    assert "needs its institutional details" in _refused(make_institutional_claim,
                                                         institutional=None)
    assert "institutional details on a professional claim" in _refused(
        make_claim, institutional=make_institutional_claim().institutional)
    assert "revenue_code is required" in _refused(
        make_institutional_claim, lines=[make_line(procedure_code="99284",
                                                   diagnosis_pointers=[])])
    assert "diagnosis_pointers needs 1 to 4" in _refused(
        _professional_with, lines=[make_line(diagnosis_pointers=[])])
    assert "no diagnosis pointers" in _refused(
        make_institutional_claim, lines=[make_line(revenue_code="0450")])
    assert "at most 12 diagnoses" in _refused(
        make_claim, diagnoses=[f"E11{n}" for n in range(10)] + ["I10", "J020", "J189"])
    assert "procedure code or a revenue code" in _refused(make_line, procedure_code=None)


def test_present_on_admission_goes_with_each_diagnosis() -> None:
    details = make_institutional_claim(inpatient=True).institutional
    assert details is not None
    wrong = details.model_copy(update={"present_on_admission": ["Y"]})
    assert "1 indicators for 2 diagnoses" in _refused(make_institutional_claim, inpatient=True,
                                                      institutional=wrong)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("facility_type_code", "1", "String should match pattern"),
    ("patient_status", "1", "String should match pattern"),
    ("admission_hour", 24, "less than or equal to 23"),
    ("admission_type", "7", "String should match pattern"),
    ("drg", "ABC", "String should match pattern"),
])
def test_institutional_fields_are_checked(field: str, value: object, message: str) -> None:
    values = {"facility_type_code": "13", "patient_status": "01", field: value}
    with pytest.raises(ValidationError, match=message):
        InstitutionalDetails(**values)  # type: ignore[arg-type]


def test_codes_are_normalised_and_refused_by_format() -> None:
    line = make_line(procedure_code=None, revenue_code="450", diagnosis_pointers=[])
    assert line.revenue_code == "0450"
    with pytest.raises(ValidationError, match="revenue code must be 4 digits"):
        make_line(procedure_code=None, revenue_code="45A", diagnosis_pointers=[])
    with pytest.raises(ValidationError, match="no I or O"):
        InstitutionalDetails(facility_type_code="11", patient_status="01",
                             principal_procedure={"code": "0DTJ4ZI",
                                                  "procedure_date": date(2026, 5, 1)})
    with pytest.raises(ValidationError, match="ends before it starts"):
        OccurrenceSpan(code="70", date_from=date(2026, 5, 2), date_to=date(2026, 5, 1))
    with pytest.raises(ValidationError, match="not a float"):
        ValueAmount(code="A1", amount=1.5)  # type: ignore[arg-type]
    assert ValueAmount(code="a1", amount="150.00").code == "A1"


def test_json_round_trip_keeps_every_part() -> None:
    claim = make_institutional_claim(inpatient=True)
    assert Claim.model_validate_json(claim.model_dump_json()) == claim
