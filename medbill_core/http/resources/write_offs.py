"""Write-offs of patient balances: ``GET /v1/write-offs`` (the requests; ``status=requested``
is the manager's approval queue), ``POST /v1/write-offs`` (request one, as ``medbill writeoffs
request``; a small balance, the account's whole balance under the practice's limit, is
posted at once),
``POST /v1/write-offs/{write_off_id}/approve`` and ``.../deny`` (a manager other than the
requester). Every rule is :mod:`medbill_core.services.write_offs`'s."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from medbill_core.domain.identity import Principal
from medbill_core.http.auth import api_state, permitted
from medbill_core.http.idempotency import IdempotencyParam
from medbill_core.http.pagination import DEFAULT_LIMIT, Cursor, Limit, Page, decode_cursor, paged
from medbill_core.http.problems import PROBLEM_RESPONSES
from medbill_core.http.resources.claim_actions import IN_FLIGHT, StoredId
from medbill_core.http.resources.claims import RowId
from medbill_core.http.schemas import RequestBody, model_response
from medbill_core.http.validation import validated
from medbill_core.money import MAX_AMOUNT, Amount
from medbill_core.permissions import Action
from medbill_core.services.write_offs import (
    WriteOff,
    WriteOffKind,
    WriteOffStatus,
    approve_write_off,
    deny_write_off,
    list_write_offs,
    request_write_off,
)

router = APIRouter(prefix="/v1/write-offs", tags=["write-offs"], responses=PROBLEM_RESPONSES)
#: a record the request names (in its path or body) that does not exist
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: PROBLEM_RESPONSES[500] | {"description": "No such record"}}
LISTING = "write-offs"


class WriteOffOut(BaseModel):
    """A write-off request and its decision (amounts as decimal text)."""

    id: int
    account_number: str
    claim_id: int | None
    kind: WriteOffKind
    amount: str
    reason: str
    status: WriteOffStatus
    requested_by: str
    requested_on: date
    decided_by: str | None = Field(description="a manager, or \"policy\" for a small balance")
    decided_on: date | None

    @classmethod
    def of(cls, item: WriteOff) -> WriteOffOut:
        return cls.model_validate(item.as_json())


WriteOffList = Page[WriteOffOut]


class NewWriteOff(RequestBody):
    patient_id: StoredId
    kind: WriteOffKind
    reason: str = Field(min_length=1, max_length=500, description="why (no patient details)")
    amount: Amount | None = Field(default=None, gt=0, le=MAX_AMOUNT, description=(
        "default: the whole balance (of the claim, or of the account)"))
    claim_id: StoredId | None = None


class Decision(RequestBody):
    note: str | None = Field(default=None, max_length=500, description=(
        "why (required to deny)"))


@router.get("", response_model=WriteOffList, summary="List write-off requests")
def list_write_off_requests(
        request: Request,
        principal: Annotated[Principal, Depends(permitted(Action.WRITEOFFS_READ))],
        status: Annotated[WriteOffStatus | None, Query(description="Only this status")] = None,
        limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Response:
    """Requests by id, filtered."""
    after = decode_cursor(LISTING, cursor, (int,))[0] if cursor else None
    with api_state(request).medbill.unit_of_work(principal=principal, read_only=True) as work:
        items = list_write_offs(work, status=status, after_id=after, limit=limit + 1)
    data, next_cursor = paged(items, limit, LISTING)
    return model_response(WriteOffList(data=[WriteOffOut.of(item) for item in data],
                                       next_cursor=next_cursor))


@router.post("", status_code=201, response_model=WriteOffOut, summary="Request a write-off",
             responses=NOT_FOUND | IN_FLIGHT)
def create_write_off(request: Request, body: NewWriteOff,
                     principal: Annotated[Principal,
                                          Depends(permitted(Action.WRITEOFFS_REQUEST))],
                     idempotency: IdempotencyParam) -> Response:
    body = validated(NewWriteOff, body.model_dump())
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        item = request_write_off(work, body.patient_id, body.kind, body.amount, body.reason,
                                 claim_id=body.claim_id)
        return idempotency.respond(work, 201, WriteOffOut.of(item).model_dump(mode="json"),
                                   {"Location": f"/v1/write-offs/{item.id}"})


@router.post("/{write_off_id}/approve", response_model=WriteOffOut,
             summary="Approve a write-off (posts it)", responses=NOT_FOUND | IN_FLIGHT)
def approve(request: Request, write_off_id: RowId, body: Decision,
            principal: Annotated[Principal, Depends(permitted(Action.WRITEOFFS_APPROVE))],
            idempotency: IdempotencyParam) -> Response:
    body = validated(Decision, body.model_dump())
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        item = approve_write_off(work, write_off_id, note=body.note)
        return idempotency.respond(work, 200, WriteOffOut.of(item).model_dump(mode="json"))


@router.post("/{write_off_id}/deny", response_model=WriteOffOut, summary="Deny a write-off",
             responses=NOT_FOUND | IN_FLIGHT)
def deny(request: Request, write_off_id: RowId, body: Decision,
         principal: Annotated[Principal, Depends(permitted(Action.WRITEOFFS_APPROVE))],
         idempotency: IdempotencyParam) -> Response:
    body = validated(Decision, body.model_dump())
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        item = deny_write_off(work, write_off_id, body.note or "")
        return idempotency.respond(work, 200, WriteOffOut.of(item).model_dump(mode="json"))
