"""Guarantors (who pays a patient's bills and receives the statements): ``GET
/v1/guarantors`` (keyset pages), ``GET /v1/guarantors/{id}``, ``POST /v1/guarantors`` and
``PATCH /v1/guarantors/{id}``. Every field but the id is PHI: each read is audited, as a
patient's is."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import create_model
from starlette.responses import Response

from medbill_core.domain import Guarantor
from medbill_core.domain.base import DomainModel, saved_id
from medbill_core.domain.identity import Principal
from medbill_core.http.auth import api_state, permitted
from medbill_core.http.idempotency import IdempotencyParam
from medbill_core.http.pagination import DEFAULT_LIMIT, Cursor, Limit, Page, decode_cursor, page
from medbill_core.http.problems import PROBLEM_RESPONSES
from medbill_core.http.resources.claim_actions import IN_FLIGHT
from medbill_core.http.resources.claims import RowId
from medbill_core.http.schemas import RequestBody, model_response
from medbill_core.http.validation import validated
from medbill_core.permissions import Action
from medbill_core.services.api_records import guarantors_after, read_guarantor
from medbill_core.services.guarantors import GuarantorService

router = APIRouter(prefix="/v1/guarantors", tags=["guarantors"], responses=PROBLEM_RESPONSES)
LISTING = "guarantors"
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: PROBLEM_RESPONSES[500] | {"description": "No such guarantor"}}

if TYPE_CHECKING:
    NewGuarantor = DomainModel
    GuarantorChanges = DomainModel
else:
    #: The body of ``POST /v1/guarantors``: a guarantor without its id.
    NewGuarantor = create_model(
        "NewGuarantor", __base__=RequestBody, __doc__=Guarantor.__doc__,
        **{name: (info.annotation, info) for name, info in Guarantor.model_fields.items()
           if name != "id"})
    #: The body of ``PATCH /v1/guarantors/{id}``: the fields to change (null clears one).
    GuarantorChanges = create_model(
        "GuarantorChanges", __base__=RequestBody,
        __doc__="The fields of a guarantor to change; those not sent stay as they are, null "
                "clears an optional one, an address replaces the stored one.",
        **{name: (info.annotation | None, None)
           for name, info in Guarantor.model_fields.items() if name != "id"})


@router.get("", response_model=Page[Guarantor], summary="List guarantors")
def list_guarantor_records(
        request: Request,
        principal: Annotated[Principal, Depends(permitted(Action.GUARANTORS_READ))],
        last_name: Annotated[str | None, Query(
            min_length=1, max_length=60,
            description="Only last names starting so (case-insensitive)")] = None,
        limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Response:
    """Guarantors by id. The read is audited as one ``guarantor.list`` event naming the ids
    sent."""
    after = decode_cursor(LISTING, cursor, (int,))[0] if cursor else None
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        guarantors = guarantors_after(work, after_id=after, limit=limit, via="api",
                                      last_name_prefix=last_name)
    return model_response(page(guarantors, limit, LISTING, lambda item: [saved_id(item)]))


@router.get("/{guarantor_id}", response_model=Guarantor, summary="Read a guarantor",
            responses=NOT_FOUND)
def read_guarantor_record(
        request: Request,
        principal: Annotated[Principal, Depends(permitted(Action.GUARANTORS_READ))],
        guarantor_id: RowId) -> Response:
    """The guarantor; the read is recorded in the audit trail, naming the caller."""
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        guarantor = read_guarantor(work, guarantor_id, via="api")
    return model_response(guarantor)


@router.post("", status_code=201, response_model=Guarantor, summary="Add a guarantor",
             responses=IN_FLIGHT)
def create_guarantor(
        request: Request, body: NewGuarantor,
        principal: Annotated[Principal, Depends(permitted(Action.GUARANTORS_WRITE))],
        idempotency: IdempotencyParam) -> Response:
    """A new guarantor (201, ``Location`` names it); assign it to patients with the
    patient's ``guarantor_id``."""
    guarantor = validated(Guarantor, body.model_dump())
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        stored = GuarantorService(work.session, actor=work.actor).add(guarantor)
        return idempotency.respond(work, 201, stored.model_dump(mode="json"),
                                   {"Location": f"/v1/guarantors/{saved_id(stored)}"})


@router.patch("/{guarantor_id}", response_model=Guarantor, summary="Edit a guarantor",
              responses=NOT_FOUND)
def edit_guarantor(
        request: Request, guarantor_id: RowId, body: GuarantorChanges,
        principal: Annotated[Principal, Depends(permitted(Action.GUARANTORS_WRITE))],
        ) -> Response:
    """Change the fields sent (the changed fields' names are audited, never their values)."""
    changes = body.model_dump(mode="json", exclude_unset=True)
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        edited, _changed = GuarantorService(work.session, actor=work.actor).edit(
            guarantor_id, changes)
    return model_response(edited)
