"""Insurance overpayments owed back to payers: ``GET /v1/payer-refunds``,
``POST /v1/payer-refunds`` (a refund request, as ``medbill overpayments request``),
``POST /v1/payer-refunds/{refund_request_id}/refunded`` (the practice sent the money) and
``POST /v1/payer-refunds/recoupments`` (close what payers recouped in posted 835s). Every rule
is :mod:`medbill_core.services.payer_refunds`'s."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from medbill_core.domain.identity import Principal
from medbill_core.http.auth import api_state, permitted
from medbill_core.http.idempotency import IdempotencyParam
from medbill_core.http.pagination import (
    DEFAULT_LIMIT,
    Cursor,
    Limit,
    Page,
    dated_key,
    decode_dated_cursor,
    paged,
)
from medbill_core.http.problems import PROBLEM_RESPONSES
from medbill_core.http.resources.claim_actions import IN_FLIGHT, StoredId
from medbill_core.http.resources.claims import RowId
from medbill_core.http.schemas import RequestBody, model_response
from medbill_core.http.validation import validated
from medbill_core.money import MAX_AMOUNT, Amount
from medbill_core.permissions import Action
from medbill_core.services.payer_refunds import (
    PayerRefund,
    RefundStatus,
    list_payer_refunds,
    mark_refunded,
    match_recoupments,
    request_payer_refund,
)

router = APIRouter(prefix="/v1/payer-refunds", tags=["payer refunds"],
                   responses=PROBLEM_RESPONSES)
#: a record the request names (in its path or body) that does not exist
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: PROBLEM_RESPONSES[500] | {"description": "No such record"}}
LISTING = "payer-refunds"


class PayerRefundOut(BaseModel):
    id: int
    claim_id: int
    claim_number: str
    payer_key: str
    amount: str
    reason: str
    status: RefundStatus
    requested_on: date
    closed_on: date | None
    closing_reference: str | None = Field(description=(
        "the refund check's number, or the 835 posting key that recouped it"))

    @classmethod
    def of(cls, item: PayerRefund) -> PayerRefundOut:
        return cls.model_validate(item.as_json())


PayerRefundList = Page[PayerRefundOut]


class NewPayerRefund(RequestBody):
    claim_id: StoredId
    amount: Amount = Field(gt=0, le=MAX_AMOUNT)
    reason: str = Field(min_length=1, max_length=500, description="why (no patient details)")
    payer_key: str | None = Field(default=None, max_length=40, description=(
        "default: the claim's payer"))


class Refunded(RequestBody):
    check_number: str = Field(min_length=1, max_length=80)


class Recouped(BaseModel):
    request_id: int
    claim_number: str
    amount: str
    how: str = Field(description="plb (posted now) or reversal (posted by the 835 before)")
    reference: str


class RecoupedList(BaseModel):
    data: list[Recouped]


@router.get("", response_model=PayerRefundList, summary="List payer refund requests")
def list_requests(
        request: Request,
        principal: Annotated[Principal, Depends(permitted(Action.PAYMENTS_READ))],
        status: Annotated[RefundStatus | None, Query(description="Only this status")] = None,
        limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Response:
    """Requests by request date (oldest first), then id."""
    after = decode_dated_cursor(LISTING, cursor) if cursor else None
    with api_state(request).medbill.unit_of_work(principal=principal, read_only=True) as work:
        items = list_payer_refunds(work, status=status, after=after, limit=limit + 1)
    data, next_cursor = paged(items, limit, LISTING,
                              lambda item: dated_key(item.requested_on, item.id))
    return model_response(PayerRefundList(data=[PayerRefundOut.of(item) for item in data],
                                          next_cursor=next_cursor))


@router.post("", status_code=201, response_model=PayerRefundOut,
             summary="Request a refund of a payer's overpayment", responses=NOT_FOUND | IN_FLIGHT)
def create_request(request: Request, body: NewPayerRefund,
                   principal: Annotated[Principal, Depends(permitted(Action.PAYMENTS_REFUND))],
                   idempotency: IdempotencyParam) -> Response:
    body = validated(NewPayerRefund, body.model_dump())
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        item = request_payer_refund(work, body.claim_id, body.amount, body.reason,
                                    payer_key=body.payer_key)
        return idempotency.respond(work, 201, PayerRefundOut.of(item).model_dump(mode="json"))


@router.post("/recoupments", response_model=RecoupedList,
             summary="Close the requests payers recouped in posted 835s",
             responses=IN_FLIGHT)
def recoupments(request: Request,
                principal: Annotated[Principal, Depends(permitted(Action.REMITTANCE_POST))],
                idempotency: IdempotencyParam) -> Response:
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        found = match_recoupments(work)
        out = RecoupedList(data=[Recouped(request_id=m.request_id, claim_number=m.claim_number,
                                          amount=str(m.amount), how=m.how,
                                          reference=m.reference) for m in found])
        return idempotency.respond(work, 200, out.model_dump(mode="json"))


@router.post("/{refund_request_id}/refunded", response_model=PayerRefundOut,
             summary="The practice sent the payer its money back", responses=NOT_FOUND | IN_FLIGHT)
def refunded(request: Request, refund_request_id: RowId, body: Refunded,
             principal: Annotated[Principal, Depends(permitted(Action.PAYMENTS_REFUND))],
             idempotency: IdempotencyParam) -> Response:
    body = validated(Refunded, body.model_dump())
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        item = mark_refunded(work, refund_request_id, body.check_number)
        return idempotency.respond(work, 200, PayerRefundOut.of(item).model_dump(mode="json"))
