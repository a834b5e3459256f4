"""``POST /v1/patients`` (idempotent) and ``GET /v1/patients/{patient_id}`` (audited)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from medbill_core.domain import Patient
from medbill_core.domain.base import saved_id
from medbill_core.domain.identity import Principal
from medbill_core.http.auth import api_state, permitted
from medbill_core.http.idempotency import IdempotencyParam
from medbill_core.http.problems import PROBLEM_RESPONSES
from medbill_core.http.resources.claims import RowId
from medbill_core.http.schemas import NewPatient, model_response
from medbill_core.http.validation import validated
from medbill_core.permissions import Action
from medbill_core.services.patients import read_patient

router = APIRouter(prefix="/v1/patients", tags=["patients"], responses=PROBLEM_RESPONSES)
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: PROBLEM_RESPONSES[500] | {"description": "No such patient"}}


@router.post("", status_code=201, response_model=Patient, summary="Register a patient",
             responses={200: {"model": Patient, "description": "The patient with this "
                                                               "account number, updated"},
                        409: PROBLEM_RESPONSES[500] | {
                            "description": "A request with this Idempotency-Key is still "
                                           "in progress"}})
def create_patient(request: Request, body: NewPatient,
                   principal: Annotated[Principal, Depends(permitted(Action.PATIENTS_WRITE))],
                   idempotency: IdempotencyParam) -> Response:
    """Create a patient (201, ``Location`` names it), or update the one with the same
    account number (200), as ``medbill patients import`` does: only the fields sent change
    (null clears an optional one), those left out keep their stored values.

    ``guarantor_id`` with ``guarantor_relationship`` (``parent``, ``spouse``, ``other``;
    ``self`` only for a guarantor record of the patient themself) links the patient to
    that guarantor of the caller's practice; ``guarantor_relationship`` ``self`` alone
    makes the patient pay their own bills. Another practice's guarantor, an unknown id or
    a missing relationship is a 422 naming the field."""
    patient = validated(Patient, body.model_dump(), location="body")
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        stored, created, _changed = work.patients.save(patient, given=body.model_fields_set)
        return idempotency.respond(
            work, 201 if created else 200, stored.model_dump(mode="json"),
            {"Location": f"/v1/patients/{saved_id(stored)}"})


@router.get("/{patient_id}", response_model=Patient, summary="Read a patient",
            responses=NOT_FOUND)
def get_patient(request: Request,
                principal: Annotated[Principal, Depends(permitted(Action.PATIENTS_READ))],
                patient_id: RowId) -> Response:
    """The patient record; the read is recorded in the audit trail, naming the caller."""
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        patient = read_patient(work, patient_id, via="api")
    return model_response(patient)
