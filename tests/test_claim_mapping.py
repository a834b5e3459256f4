"""claim_from_row builds what model_construct builds from the same row: the same values in
the same field order, the same fields set, whether the row's columns are loaded or not."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy.orm.attributes import set_committed_value

from medbill_core.domain import (
    Claim,
    ClaimFrequency,
    ClaimKind,
    ClaimState,
    InstitutionalDetails,
    ServiceLine,
    UnitType,
)
from medbill_core.storage.mapping import claim_from_row
from medbill_core.storage.schema import ClaimLineRow, ClaimRow


def row(*, created: bool = True) -> ClaimRow:
    made = ClaimRow(
        id=7, claim_number="C-7", patient_id=3, coverage_id=4, payer_key="acme",
        billing_provider_npi="1234567893", rendering_provider_npi=None,
        referring_provider_npi="1245319599", frequency="7", original_claim_reference="PCN1",
        replaces_claim_id=5, account_claim_id=5, place_of_service="11",
        service_date_from=date(2026, 5, 1), service_date_to=date(2026, 5, 2),
        diagnoses=["J020", "I10"], prior_authorization=None, accepts_assignment=True,
        benefits_assigned=False, release_of_information=True, state="submitted",
        payer_claim_number="P-1", kind="professional", institutional=None,
        **({"created_at": datetime(2026, 5, 3, 4, 5)}
                                     if created else {}))
    set_committed_value(made, "lines", [ClaimLineRow(
        line_number=number, procedure_code="99213", revenue_code=None,
        modifiers=["25"] if number == 1 else [],
        units=Decimal("1.5"), unit_type="MJ" if number == 2 else "UN", charge=Decimal("80.00"),
        diagnosis_pointers=[1, 2], service_date_from=date(2026, 5, 1),
        service_date_to=date(2026, 5, 2) if number == 2 else None, place_of_service=None,
        line_control_number=f"L{number}", description=None) for number in (1, 2)])
    return made


def reference(source: ClaimRow) -> Claim:
    """The conversion as model_construct makes it."""
    lines = [ServiceLine.model_construct(
        line_number=line.line_number, procedure_code=line.procedure_code,
        revenue_code=line.revenue_code, modifiers=list(line.modifiers), units=line.units,
        unit_type=UnitType(line.unit_type),
        charge=line.charge, diagnosis_pointers=list(line.diagnosis_pointers),
        service_date_from=line.service_date_from, service_date_to=line.service_date_to,
        place_of_service=line.place_of_service, line_control_number=line.line_control_number,
        description=line.description) for line in source.lines]
    return Claim.model_construct(
        id=source.id, claim_number=source.claim_number, patient_id=source.patient_id,
        coverage_id=source.coverage_id, payer_key=source.payer_key,
        billing_provider_npi=source.billing_provider_npi,
        rendering_provider_npi=source.rendering_provider_npi,
        referring_provider_npi=source.referring_provider_npi,
        frequency=ClaimFrequency(source.frequency),
        original_claim_reference=source.original_claim_reference,
        replaces_claim_id=source.replaces_claim_id, account_claim_id=source.account_claim_id,
        kind=ClaimKind(source.kind), place_of_service=source.place_of_service,
        service_date_from=source.service_date_from,
        service_date_to=source.service_date_to, diagnoses=list(source.diagnoses), lines=lines,
        prior_authorization=source.prior_authorization,
        accepts_assignment=source.accepts_assignment,
        benefits_assigned=source.benefits_assigned,
        release_of_information=source.release_of_information, state=ClaimState(source.state),
        payer_claim_number=source.payer_claim_number,
        institutional=None if source.institutional is None
        else InstitutionalDetails.model_validate(source.institutional),
        created_at=source.created_at)


@pytest.mark.parametrize("created", [True, False])  # False: a column not in the row's dict
def test_claim_from_row_is_what_model_construct_makes(created: bool) -> None:
    source = row(created=created)
    claim, expected = claim_from_row(source), reference(source)
    assert claim == expected
    assert list(claim.__dict__) == list(expected.__dict__)
    assert claim.model_fields_set == expected.model_fields_set
    assert claim.model_dump() == expected.model_dump()
    assert [line.model_fields_set for line in claim.lines] == [
        line.model_fields_set for line in expected.lines]
    assert claim.state is ClaimState.SUBMITTED and claim.lines[1].unit_type is UnitType.MINUTES


def test_claims_from_one_row_share_no_lists() -> None:
    source = row()
    first, second = claim_from_row(source), claim_from_row(source)
    first.diagnoses.append("E119")
    first.lines[0].modifiers.append("59")
    first.state = ClaimState.PAID  # validate_assignment: its own fields set
    assert second.diagnoses == ["J020", "I10"] and second.lines[0].modifiers == ["25"]
    assert source.diagnoses == ["J020", "I10"] and second.state is ClaimState.SUBMITTED


def test_an_institutional_claim_row_comes_back_with_its_details() -> None:
    source = row()
    source.kind = "institutional"
    source.institutional = {"facility_type_code": "13", "patient_status": "01",
                            "admission_date": "2026-05-01", "admission_hour": 7,
                            "values": [{"code": "A1", "amount": "150.00"}],
                            "present_on_admission": ["Y", None]}
    claim = claim_from_row(source)
    assert claim == reference(source)
    assert claim.kind is ClaimKind.INSTITUTIONAL
    assert claim.institutional is not None
    assert claim.institutional.admission_date == date(2026, 5, 1)
    assert claim.institutional.values[0].amount == Decimal("150.00")
    assert claim.institutional.present_on_admission == ["Y", None]
    assert claim.type_of_bill == "0137"
