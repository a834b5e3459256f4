"""Row <-> domain conversion. The only place that knows both shapes."""

from __future__ import annotations

from typing import Any

from medbill_core.domain import (
    Address,
    Claim,
    ClaimFrequency,
    ClaimState,
    Coverage,
    CoverageOrder,
    EntityType,
    Guarantor,
    GuarantorRelationship,
    Patient,
    Provider,
    Relationship,
    ServiceLine,
    Sex,
    Subscriber,
    UnitType,
)
from medbill_core.storage.schema import (
    ClaimLineRow,
    ClaimRow,
    CoverageRow,
    GuarantorRow,
    PatientRow,
    ProviderRow,
)


def _address_json(address: Address | None) -> dict[str, Any] | None:
    return address.model_dump(mode="json") if address else None


def patient_values(patient: Patient) -> dict[str, Any]:
    """The columns a patient's registration sets; the guarantor link and the merge mark are
    changed only by their own service methods, so re-registering never drops them."""
    return {
        "account_number": patient.account_number,
        "last_name": patient.last_name,
        "first_name": patient.first_name,
        "middle_name": patient.middle_name,
        "suffix": patient.suffix,
        "birth_date": patient.birth_date,
        "sex": patient.sex.value,
        "address": _address_json(patient.address),
        "phone": patient.phone,
        "email": patient.email,
        "statement_hold": patient.statement_hold,
    }


def patient_from_row(row: PatientRow) -> Patient:
    return Patient.model_construct(
        id=row.id, account_number=row.account_number, last_name=row.last_name,
        first_name=row.first_name, middle_name=row.middle_name, suffix=row.suffix,
        birth_date=row.birth_date, sex=Sex(row.sex),
        address=Address.model_validate(row.address) if row.address else None,
        phone=row.phone, email=row.email, statement_hold=row.statement_hold,
        guarantor_id=row.guarantor_id,
        guarantor_relationship=(GuarantorRelationship(row.guarantor_relationship)
                                if row.guarantor_relationship else None),
        merged_into_id=row.merged_into_id)


def guarantor_values(guarantor: Guarantor) -> dict[str, Any]:
    return {
        "last_name": guarantor.last_name,
        "first_name": guarantor.first_name,
        "middle_name": guarantor.middle_name,
        "suffix": guarantor.suffix,
        "birth_date": guarantor.birth_date,
        "address": _address_json(guarantor.address),
        "phone": guarantor.phone,
        "email": guarantor.email,
    }


def guarantor_from_row(row: GuarantorRow) -> Guarantor:
    return Guarantor.model_construct(
        id=row.id, last_name=row.last_name, first_name=row.first_name,
        middle_name=row.middle_name, suffix=row.suffix, birth_date=row.birth_date,
        address=Address.model_validate(row.address) if row.address else None,
        phone=row.phone, email=row.email)


def coverage_values(coverage: Coverage) -> dict[str, Any]:
    return {
        "payer_key": coverage.payer_key,
        "coverage_order": coverage.order.value,
        "member_id": coverage.member_id,
        "group_number": coverage.group_number,
        "group_name": coverage.group_name,
        "plan_name": coverage.plan_name,
        "relationship_code": coverage.relationship.value,
        "subscriber": coverage.subscriber.model_dump(mode="json") if coverage.subscriber
        else None,
        "start_date": coverage.start_date,
        "end_date": coverage.end_date,
    }


def coverage_from_row(row: CoverageRow) -> Coverage:
    return Coverage.model_construct(
        id=row.id, patient_id=row.patient_id, payer_key=row.payer_key,
        order=CoverageOrder(row.coverage_order), member_id=row.member_id,
        group_number=row.group_number, group_name=row.group_name, plan_name=row.plan_name,
        relationship=Relationship(row.relationship_code),
        subscriber=Subscriber.model_validate(row.subscriber) if row.subscriber else None,
        start_date=row.start_date, end_date=row.end_date)


def provider_values(provider: Provider) -> dict[str, Any]:
    return {"npi": provider.npi, "last_name": provider.last_name,
            "first_name": provider.first_name, "entity_type": provider.entity_type.value,
            "taxonomy": provider.taxonomy}


def provider_from_row(row: ProviderRow) -> Provider:
    return Provider.model_construct(id=row.id, npi=row.npi, last_name=row.last_name,
                                    first_name=row.first_name,
                                    entity_type=EntityType(row.entity_type),
                                    taxonomy=row.taxonomy)


def claim_values(claim: Claim) -> dict[str, Any]:
    return {
        "claim_number": claim.claim_number,
        "patient_id": claim.patient_id,
        "coverage_id": claim.coverage_id,
        "payer_key": claim.payer_key,
        "billing_provider_npi": claim.billing_provider_npi,
        "rendering_provider_npi": claim.rendering_provider_npi,
        "referring_provider_npi": claim.referring_provider_npi,
        "frequency": claim.frequency.value,
        "original_claim_reference": claim.original_claim_reference,
        "replaces_claim_id": claim.replaces_claim_id,
        "account_claim_id": claim.account_claim_id,
        "place_of_service": claim.place_of_service,
        "service_date_from": claim.service_date_from,
        "service_date_to": claim.service_date_to,
        "diagnoses": list(claim.diagnoses),
        "prior_authorization": claim.prior_authorization,
        "accepts_assignment": claim.accepts_assignment,
        "benefits_assigned": claim.benefits_assigned,
        "release_of_information": claim.release_of_information,
        "state": claim.state.value,
        "payer_claim_number": claim.payer_claim_number,
        "total_charge": claim.total_charge,
    }


def line_values(line: ServiceLine) -> dict[str, Any]:
    """The columns of a service line's row (all but its id and claim)."""
    return {
        "line_number": line.line_number,
        "procedure_code": line.procedure_code,
        "modifiers": list(line.modifiers),
        "units": line.units,
        "unit_type": line.unit_type.value,
        "charge": line.charge,
        "diagnosis_pointers": list(line.diagnosis_pointers),
        "service_date_from": line.service_date_from,
        "service_date_to": line.service_date_to,
        "place_of_service": line.place_of_service,
        "line_control_number": line.line_control_number,
        "description": line.description,
    }


def line_row(line: ServiceLine) -> ClaimLineRow:
    return ClaimLineRow(**line_values(line))


def claim_from_row(row: ClaimRow) -> Claim:
    lines = [ServiceLine.model_construct(
        line_number=line.line_number, procedure_code=line.procedure_code,
        modifiers=list(line.modifiers), units=line.units, unit_type=UnitType(line.unit_type),
        charge=line.charge, diagnosis_pointers=list(line.diagnosis_pointers),
        service_date_from=line.service_date_from, service_date_to=line.service_date_to,
        place_of_service=line.place_of_service, line_control_number=line.line_control_number,
        description=line.description) for line in row.lines]
    return Claim.model_construct(
        id=row.id, claim_number=row.claim_number, patient_id=row.patient_id,
        coverage_id=row.coverage_id, payer_key=row.payer_key,
        billing_provider_npi=row.billing_provider_npi,
        rendering_provider_npi=row.rendering_provider_npi,
        referring_provider_npi=row.referring_provider_npi,
        frequency=ClaimFrequency(row.frequency),
        original_claim_reference=row.original_claim_reference,
        replaces_claim_id=row.replaces_claim_id, account_claim_id=row.account_claim_id,
        place_of_service=row.place_of_service,
        service_date_from=row.service_date_from, service_date_to=row.service_date_to,
        diagnoses=list(row.diagnoses), lines=lines,
        prior_authorization=row.prior_authorization,
        accepts_assignment=row.accepts_assignment, benefits_assigned=row.benefits_assigned,
        release_of_information=row.release_of_information, state=ClaimState(row.state),
        payer_claim_number=row.payer_claim_number, created_at=row.created_at)
