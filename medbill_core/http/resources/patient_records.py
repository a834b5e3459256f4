"""``GET /v1/patients`` (a list read of PHI: audited), a patient's coverages
(``GET``/``POST /v1/patients/{id}/coverages``) and balance (``GET .../balance``)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, create_model
from starlette.responses import Response

from medbill_core.domain import Coverage, Patient
from medbill_core.domain.base import DomainModel, saved_id
from medbill_core.domain.identity import Principal
from medbill_core.http.auth import api_state, permitted
from medbill_core.http.idempotency import IdempotencyParam
from medbill_core.http.pagination import DEFAULT_LIMIT, Cursor, Limit, Page, decode_cursor, page
from medbill_core.http.problems import PROBLEM_RESPONSES
from medbill_core.http.resources.claim_actions import IN_FLIGHT
from medbill_core.http.resources.claims import RowId
from medbill_core.http.schemas import model_response
from medbill_core.http.validation import validated
from medbill_core.permissions import Action
from medbill_core.services.api_reads import list_patients
from medbill_core.services.api_records import record_shown

router = APIRouter(prefix="/v1/patients", tags=["patients"], responses=PROBLEM_RESPONSES)
LISTING = "patients"
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: PROBLEM_RESPONSES[500] | {"description": "No such patient"}}

if TYPE_CHECKING:
    NewCoverage = DomainModel
else:
    #: The body of ``POST /v1/patients/{id}/coverages``: the patient is the path's.
    NewCoverage = create_model(
        "NewCoverage", __base__=DomainModel, __doc__=Coverage.__doc__,
        **{name: (info.annotation, info) for name, info in Coverage.model_fields.items()
           if name not in ("id", "patient_id")})


class CoverageList(BaseModel):
    patient_id: int
    data: list[Coverage]


class PatientBalance(BaseModel):
    """What the patient's ledger account owes: by insurance, by the patient, and what is
    placed with a collection agency."""

    patient_id: int
    insurance: Decimal
    patient: Decimal
    agency: Decimal = Decimal("0.00")
    total: Decimal


@router.get("", response_model=Page[Patient], summary="List patients")
def list_patient_records(
        request: Request, principal: Annotated[Principal, Depends(permitted(Action.PATIENTS_READ))],
        account_number: Annotated[str | None, Query(max_length=30,
                                                    description="Only this account")] = None,
        last_name: Annotated[str | None, Query(
            min_length=1, max_length=60,
            description="Only last names starting so (case-insensitive)")] = None,
        limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Response:
    """Patients by id (merged records left out). The read is audited as one
    ``patient.list`` event naming the ids sent."""
    after = decode_cursor(LISTING, cursor, (int,))[0] if cursor else None
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        patients = list_patients(work, after_id=after, limit=limit, via="api",
                                 account_number=account_number, last_name_prefix=last_name)
    listed = page(patients, limit, LISTING, lambda patient: [saved_id(patient)])
    return model_response(listed)


@router.get("/{patient_id}/coverages", response_model=CoverageList,
            summary="A patient's coverages", responses=NOT_FOUND)
def patient_coverages(request: Request,
                      principal: Annotated[Principal, Depends(permitted(Action.COVERAGES_READ))],
                      patient_id: RowId) -> Response:
    """The coverages in order (primary first); audited as a read of the patient."""
    from medbill_core.services.patients import read_patient

    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        read_patient(work, patient_id, via="api:coverages")
        coverages = work.patients.coverages(patient_id)
    body = CoverageList(patient_id=patient_id, data=coverages)
    return model_response(body)


@router.post("/{patient_id}/coverages", status_code=201, response_model=Coverage,
             summary="Add a coverage", responses=NOT_FOUND | IN_FLIGHT | {
                 200: {"model": Coverage,
                       "description": "The coverage with this payer and order, updated"}})
def add_coverage(request: Request, patient_id: RowId, body: NewCoverage,
                 principal: Annotated[Principal, Depends(permitted(Action.COVERAGES_WRITE))],
                 idempotency: IdempotencyParam) -> Response:
    """Attach a coverage (201); one with the same payer and order is updated (200): only
    the fields sent change (null clears an optional one, a subscriber sent replaces the
    stored one, relationship ``18`` without a subscriber clears it), those left out keep
    their stored values."""
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        work.patients.get(patient_id)
        record = work.patients.coverage_resent(patient_id, body.model_dump(),
                                               body.model_fields_set)
        coverage = validated(Coverage, {**record, "patient_id": patient_id})
        stored, created, _changed = work.patients.save_coverage(patient_id, coverage)
        return idempotency.respond(work, 201 if created else 200, stored.model_dump(mode="json"))


@router.get("/{patient_id}/balance", response_model=PatientBalance,
            summary="A patient's balance", responses=NOT_FOUND)
def patient_balance(request: Request,
                    principal: Annotated[Principal, Depends(permitted(Action.PAYMENTS_READ))],
                    patient_id: RowId) -> Response:
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        work.patients.get(patient_id)
        balance = work.ledger.patient_balance(patient_id)
        record_shown(work, "patient_balance", [patient_id], via="api", one=True)
    return model_response(PatientBalance(
        patient_id=patient_id, insurance=balance.insurance, patient=balance.patient,
        agency=balance.agency, total=balance.total))
