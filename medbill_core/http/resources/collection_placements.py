"""Accounts placed with collection agencies: ``GET /v1/collection-placements``,
``POST /v1/collection-placements`` (place a patient's balance with an agency, a manager),
``POST /v1/collection-placements/{placement_id}/recall`` and
``POST /v1/collection-placements/{placement_id}/payments`` (what the agency collected; its fee
is taken from it). Every rule is :mod:`medbill_core.services.collections`'s; the agency's
export file is the command line's (``medbill collections export``: PHI, written owner-only)."""

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
from medbill_core.services.collections import (
    DuplicateAgencyPayment,
    Placement,
    PlacementStatus,
    list_placements,
    place_account,
    recall_account,
    record_agency_payment,
)

router = APIRouter(prefix="/v1/collection-placements", tags=["collections"],
                   responses=PROBLEM_RESPONSES)
#: a record the request names (in its path or body) that does not exist
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: PROBLEM_RESPONSES[500] | {"description": "No such record"}}
LISTING = "collection-placements"
DUPLICATE: dict[int | str, dict[str, Any]] = {
    409: PROBLEM_RESPONSES[500] | {
        "description": "The same payment is posted on the placement already "
                       "(duplicate-payment), or a request with this Idempotency-Key is "
                       "still in progress"}}


class PlacementOut(BaseModel):
    """A placement: what was placed, what the agency still holds, collected and kept."""

    id: int
    account_number: str
    agency: str
    placed: str
    balance: str
    collected: str
    fees: str
    placed_on: date
    status: PlacementStatus
    closed_on: date | None

    @classmethod
    def of(cls, item: Placement) -> PlacementOut:
        return cls.model_validate(item.as_json())


PlacementList = Page[PlacementOut]


class NewPlacement(RequestBody):
    patient_id: StoredId
    agency: str = Field(min_length=1, max_length=20, description="the agency's code")


class Recall(RequestBody):
    reason: str = Field(min_length=1, max_length=500, description="why (no patient details)")


class AgencyPayment(RequestBody):
    collected: Amount = Field(gt=0, le=MAX_AMOUNT, description="what the agency collected")
    received_on: date | None = None
    reference: str | None = Field(default=None, max_length=40)
    direct: bool = Field(default=False, description="the patient paid the practice: no fee")
    allow_duplicate: bool = Field(default=False, description=(
        "post it although a payment of the same amount, date, kind and reference is posted "
        "on the placement (the agency really paid twice); without it such a payment is a 409 "
        "duplicate-payment"))


class AgencyPaymentOut(BaseModel):
    agency_payment_id: int
    collected: str
    fee: str
    net: str
    balance: str
    status: PlacementStatus
    warnings: list[str] = Field(default_factory=list, description=(
        "a payment without a reference with the same amount and date as one posted on the "
        "placement before (recorded all the same)"))


@router.get("", response_model=PlacementList, summary="List collection placements")
def list_collection_placements(
        request: Request,
        principal: Annotated[Principal, Depends(permitted(Action.COLLECTIONS_READ))],
        status: Annotated[PlacementStatus | None, Query(description="Only this status")] = None,
        limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Response:
    """Placements by id, filtered."""
    after = decode_cursor(LISTING, cursor, (int,))[0] if cursor else None
    with api_state(request).medbill.unit_of_work(principal=principal, read_only=True) as work:
        items = list_placements(work, status=status, after_id=after, limit=limit + 1)
    data, next_cursor = paged(items, limit, LISTING)
    return model_response(PlacementList(data=[PlacementOut.of(item) for item in data],
                                        next_cursor=next_cursor))


@router.post("", status_code=201, response_model=PlacementOut,
             summary="Place an account with an agency", responses=NOT_FOUND | IN_FLIGHT)
def place(request: Request, body: NewPlacement,
          principal: Annotated[Principal, Depends(permitted(Action.COLLECTIONS_PLACE))],
          idempotency: IdempotencyParam) -> Response:
    body = validated(NewPlacement, body.model_dump())
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        item = place_account(work, body.patient_id, body.agency)
        return idempotency.respond(work, 201, PlacementOut.of(item).model_dump(mode="json"))


@router.post("/{placement_id}/recall", response_model=PlacementOut,
             summary="Recall an account from its agency", responses=NOT_FOUND | IN_FLIGHT)
def recall(request: Request, placement_id: RowId, body: Recall,
           principal: Annotated[Principal, Depends(permitted(Action.COLLECTIONS_PLACE))],
           idempotency: IdempotencyParam) -> Response:
    body = validated(Recall, body.model_dump())
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        item = recall_account(work, placement_id, body.reason)
        return idempotency.respond(work, 200, PlacementOut.of(item).model_dump(mode="json"))


@router.post("/{placement_id}/payments", status_code=201, response_model=AgencyPaymentOut,
             summary="Post what an agency collected", responses=NOT_FOUND | DUPLICATE)
def agency_payment(request: Request, placement_id: RowId, body: AgencyPayment,
                   principal: Annotated[Principal, Depends(permitted(Action.PAYMENTS_POST))],
                   idempotency: IdempotencyParam) -> Response:
    body = validated(AgencyPayment, body.model_dump())
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        try:
            result = record_agency_payment(work, placement_id, body.collected,
                                           received_on=body.received_on,
                                           reference=body.reference, direct=body.direct,
                                           allow_duplicate=body.allow_duplicate)
        except DuplicateAgencyPayment as exc:  # the service's text names the CLI option
            raise DuplicateAgencyPayment(exc.message.replace(
                "post it again with --allow-duplicate", "send allow_duplicate: true"),
                exc.payment_id) from None
        out = AgencyPaymentOut(agency_payment_id=result.payment_id,
                               collected=str(result.collected), fee=str(result.fee),
                               net=str(result.net), balance=str(result.balance),
                               status=result.status, warnings=list(result.warnings))
        return idempotency.respond(work, 201, out.model_dump(mode="json"))
