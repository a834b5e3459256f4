"""How a statement's addressee agreed to be reached (text, e-mail, or not at all):
``GET``/``PUT /v1/guarantors/{id}/contact-preference`` and the same under
``/v1/patients/{id}`` for a patient who pays their own bills (one with a guarantor is reached
through the guarantor: 422 names it). What the practice's staff record at check-in with
``medbill notifications contact set``, for an EHR or a front-desk system. Every rule (consent
named for texts and e-mails, a phone number or address on file) is
:mod:`medbill_core.services.notifications`'s; a change and a read are audited."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from medbill_core.domain.identity import Principal
from medbill_core.http.auth import api_state, permitted
from medbill_core.http.problems import PROBLEM_RESPONSES
from medbill_core.http.resources.claims import RowId
from medbill_core.http.schemas import RequestBody, model_response
from medbill_core.http.validation import validated
from medbill_core.permissions import Action
from medbill_core.services.notifications import (
    ContactChoice,
    ContactPreference,
    account_key_of,
    addressee_preference,
    set_contact_preference,
)

router = APIRouter(tags=["contact preferences"], responses=PROBLEM_RESPONSES)
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: PROBLEM_RESPONSES[500] | {"description": "No such guarantor or patient"}}


class ContactPreferenceOut(BaseModel):
    """How the addressee agreed to be reached about statements."""

    account: str = Field(description="G<guarantor id> or P<patient id>")
    channel: ContactChoice = Field(description="sms, email or none (not by text or e-mail)")
    consent: str | None = Field(description="how the consent was given (no PHI)")
    consented_at: str | None
    recorded_by: str | None = Field(description="who recorded it (null: never recorded)")
    recorded: bool = Field(description="false: never recorded, so nothing is sent")


class ContactPreferenceIn(RequestBody):
    """A new preference: ``consent`` says how the person agreed (``verbal, at check-in``;
    required for sms and email, no PHI)."""

    channel: ContactChoice
    consent: str | None = Field(default=None, max_length=200)


def _out(account_key: str, preference: ContactPreference | None) -> Response:
    if preference is None:
        return model_response(ContactPreferenceOut(
            account=account_key, channel=ContactChoice.NONE, consent=None, consented_at=None,
            recorded_by=None, recorded=False))
    return model_response(ContactPreferenceOut(**preference.as_json(), recorded=True))


def _read(request: Request, principal: Principal, account_key: str) -> Response:
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        preference = addressee_preference(work, account_key, via="api")
    return _out(account_key, preference)


def _set(request: Request, principal: Principal, account_key: str,
         body: ContactPreferenceIn) -> Response:
    wanted = validated(ContactPreferenceIn, body.model_dump())
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        preference = set_contact_preference(work, account_key, wanted.channel, wanted.consent)
    return _out(account_key, preference)


@router.get("/v1/guarantors/{guarantor_id}/contact-preference",
            response_model=ContactPreferenceOut, summary="Read a guarantor's contact preference",
            responses=NOT_FOUND)
def read_guarantor_preference(
        request: Request, guarantor_id: RowId,
        principal: Annotated[Principal, Depends(permitted(Action.GUARANTORS_READ))]
) -> Response:
    return _read(request, principal, account_key_of(guarantor_id=guarantor_id))


@router.put("/v1/guarantors/{guarantor_id}/contact-preference",
            response_model=ContactPreferenceOut, summary="Record a guarantor's contact preference",
            responses=NOT_FOUND)
def set_guarantor_preference(
        request: Request, guarantor_id: RowId, body: ContactPreferenceIn,
        principal: Annotated[Principal, Depends(permitted(Action.GUARANTORS_WRITE))]
) -> Response:
    return _set(request, principal, account_key_of(guarantor_id=guarantor_id), body)


@router.get("/v1/patients/{patient_id}/contact-preference",
            response_model=ContactPreferenceOut, summary="Read a patient's contact preference",
            responses=NOT_FOUND)
def read_patient_preference(
        request: Request, patient_id: RowId,
        principal: Annotated[Principal, Depends(permitted(Action.GUARANTORS_READ))]
) -> Response:
    return _read(request, principal, account_key_of(patient_id=patient_id))


@router.put("/v1/patients/{patient_id}/contact-preference",
            response_model=ContactPreferenceOut, summary="Record a patient's contact preference",
            responses=NOT_FOUND)
def set_patient_preference(
        request: Request, patient_id: RowId, body: ContactPreferenceIn,
        principal: Annotated[Principal, Depends(permitted(Action.GUARANTORS_WRITE))]
) -> Response:
    return _set(request, principal, account_key_of(patient_id=patient_id), body)
