"""Row <-> domain conversion. The only place that knows both shapes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel

from medbill_core.domain import (
    Address,
    Claim,
    ClaimFrequency,
    ClaimKind,
    ClaimState,
    Coverage,
    CoverageOrder,
    EntityType,
    Guarantor,
    GuarantorRelationship,
    InstitutionalDetails,
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
        "kind": claim.kind.value,
        "institutional": None if claim.institutional is None
        else claim.institutional.model_dump(mode="json"),
    }


def line_values(line: ServiceLine) -> dict[str, Any]:
    """The columns of a service line's row (all but its id and claim)."""
    return {
        "line_number": line.line_number,
        "procedure_code": line.procedure_code,
        "revenue_code": line.revenue_code,
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


#: the enum members by stored value: a dict look-up costs less than the enum's call
_FREQUENCIES = {member.value: member for member in ClaimFrequency}
_STATES = {member.value: member for member in ClaimState}
_UNIT_TYPES = {member.value: member for member in UnitType}
_KINDS = {member.value: member for member in ClaimKind}
_object_setattr = object.__setattr__

_M = TypeVar("_M", bound=BaseModel)


def trusted(model: type[_M], values: dict[str, Any]) -> _M:
    """``model.model_construct(**values)`` for values that name every field of ``model`` in
    its declaration order, read back from the database (what was validated when it was
    written): the same object without model_construct's per-field search for aliases and
    defaults, which costs several times the conversion itself when a claim is converted
    for every step of its cycle."""
    made = model.__new__(model)
    _object_setattr(made, "__dict__", values)
    _object_setattr(made, "__pydantic_fields_set__", set(values))
    _object_setattr(made, "__pydantic_extra__", None)
    _object_setattr(made, "__pydantic_private__", None)
    return made


def _line_from_row(line: ClaimLineRow) -> ServiceLine:
    return line_from_values(line.__dict__ if line.__dict__.keys() >= LINE_COLUMNS
                            else _loaded(line))


def line_from_values(column: Mapping[Any, Any]) -> ServiceLine:
    """The domain service line of a line row's column values (:data:`LINE_COLUMNS`)."""
    return trusted(ServiceLine, {
        "line_number": column["line_number"], "procedure_code": column["procedure_code"],
        "revenue_code": column["revenue_code"], "modifiers": list(column["modifiers"]),
        "units": column["units"],
        "unit_type": _UNIT_TYPES[column["unit_type"]], "charge": column["charge"],
        "diagnosis_pointers": list(column["diagnosis_pointers"]),
        "service_date_from": column["service_date_from"],
        "service_date_to": column["service_date_to"],
        "place_of_service": column["place_of_service"],
        "line_control_number": column["line_control_number"],
        "description": column["description"]})


def claim_from_row(row: ClaimRow) -> Claim:
    """The domain claim of a row and its lines. Loaded columns are read from the row's own
    dictionary (an expired row loads them first, as attribute access does)."""
    column = row.__dict__ if row.__dict__.keys() >= CLAIM_COLUMNS else _loaded(row)
    lines = column.get("lines")
    if lines is None:
        lines = row.lines
    return claim_from_values(column, [_line_from_row(line) for line in lines])


def claim_from_values(column: Mapping[Any, Any], lines: list[ServiceLine]) -> Claim:
    """The domain claim of a claim row's column values (:data:`CLAIM_COLUMNS`) and its lines
    in line-number order: for reads that select the columns themselves, without ORM rows."""
    return trusted(Claim, {
        "id": column["id"], "claim_number": column["claim_number"],
        "patient_id": column["patient_id"], "coverage_id": column["coverage_id"],
        "payer_key": column["payer_key"],
        "billing_provider_npi": column["billing_provider_npi"],
        "rendering_provider_npi": column["rendering_provider_npi"],
        "referring_provider_npi": column["referring_provider_npi"],
        "frequency": _FREQUENCIES[column["frequency"]],
        "original_claim_reference": column["original_claim_reference"],
        "replaces_claim_id": column["replaces_claim_id"],
        "account_claim_id": column["account_claim_id"],
        "kind": _KINDS[column["kind"]],
        "place_of_service": column["place_of_service"],
        "service_date_from": column["service_date_from"],
        "service_date_to": column["service_date_to"],
        "diagnoses": list(column["diagnoses"]),
        "lines": lines,
        "prior_authorization": column["prior_authorization"],
        "accepts_assignment": column["accepts_assignment"],
        "benefits_assigned": column["benefits_assigned"],
        "release_of_information": column["release_of_information"],
        "state": _STATES[column["state"]],
        "payer_claim_number": column["payer_claim_number"],
        "institutional": _institutional(column["institutional"]),
        "created_at": column["created_at"]})


def _institutional(stored: dict[str, Any] | None) -> InstitutionalDetails | None:
    # validated again (dates and Decimals from JSON); only institutional claims pay for it
    return None if stored is None else InstitutionalDetails.model_validate(stored)


#: the columns claim_from_row reads of a claim row and of a line row
CLAIM_COLUMNS = frozenset({
    "id", "claim_number", "patient_id", "coverage_id", "payer_key", "billing_provider_npi",
    "rendering_provider_npi", "referring_provider_npi", "frequency",
    "original_claim_reference", "replaces_claim_id", "account_claim_id", "place_of_service",
    "service_date_from", "service_date_to", "diagnoses", "prior_authorization",
    "accepts_assignment", "benefits_assigned", "release_of_information", "state",
    "payer_claim_number", "created_at", "kind", "institutional"})
LINE_COLUMNS = frozenset({
    "line_number", "procedure_code", "revenue_code", "modifiers", "units", "unit_type", "charge",
    "diagnosis_pointers", "service_date_from", "service_date_to", "place_of_service",
    "line_control_number", "description"})


def _loaded(row: object) -> dict[str, Any]:
    """The row's column values when some are not loaded (an expired row): reading one
    through the ORM loads them all."""
    keys = CLAIM_COLUMNS if isinstance(row, ClaimRow) else LINE_COLUMNS
    return {key: getattr(row, key) for key in keys}
