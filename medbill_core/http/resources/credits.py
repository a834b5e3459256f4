"""Patient credits and the refund check register: ``GET /v1/credits`` (who holds a credit,
how old, how much), ``POST /v1/credits/refunds`` (refund by check, as ``medbill credits
refund``; ``method: gateway`` is refused until a payment gateway plugin exists),
``GET /v1/refund-checks``, ``POST /v1/refund-checks/{check_id}/clear`` and ``.../void`` (the
credit is back). Every rule is :mod:`medbill_core.services.patient_credits`'s."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from medbill_core.domain.identity import Principal
from medbill_core.errors import NotFound
from medbill_core.http.auth import api_state, permitted
from medbill_core.http.idempotency import IdempotencyParam
from medbill_core.http.pagination import (
    DEFAULT_LIMIT,
    Cursor,
    Limit,
    Page,
    dated_key,
    decode_cursor,
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
from medbill_core.services.patient_credits import (
    CheckStatus,
    RefundCheck,
    RefundMethod,
    clear_check,
    credit_balances,
    list_checks,
    refund_patient_credit,
    void_check,
)

router = APIRouter(tags=["credits"], responses=PROBLEM_RESPONSES)
#: a record the request names (in its path or body) that does not exist
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: PROBLEM_RESPONSES[500] | {"description": "No such record"}}
CREDITS = "credits"
CHECKS = "refund-checks"


class CreditOut(BaseModel):
    patient_id: int
    account_number: str
    credit: str
    from_payments: str
    on_claims: str
    since: date
    days_old: int
    held: bool
    hold_reason: str | None


CreditList = Page[CreditOut]


class CheckOut(BaseModel):
    id: int
    check_number: str
    account_number: str
    payee_reference: str
    amount: str
    issued_on: date
    status: CheckStatus
    cleared_on: date | None
    voided_on: date | None

    @classmethod
    def of(cls, check: RefundCheck) -> CheckOut:
        return cls.model_validate(check.as_json())


CheckList = Page[CheckOut]


class NewRefund(RequestBody):
    patient_id: StoredId
    amount: Amount = Field(gt=0, le=MAX_AMOUNT)
    reason: str = Field(min_length=1, max_length=500, description="why (no patient details)")
    method: RefundMethod = RefundMethod.CHECK
    check_number: str | None = Field(default=None, min_length=1, max_length=20)
    payee_reference: str | None = Field(default=None, max_length=40, description=(
        "default: the account number (no names)"))


class VoidCheck(RequestBody):
    reason: str = Field(min_length=1, max_length=500, description="why (no patient details)")


@router.get("/v1/credits", response_model=CreditList, summary="List patient credits")
def list_credits(request: Request,
                 principal: Annotated[Principal, Depends(permitted(Action.PAYMENTS_READ))],
                 limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Response:
    """Patients holding a credit, by patient id (the CLI's work view sorts by age)."""
    after = decode_cursor(CREDITS, cursor, (int,))[0] if cursor else None
    with api_state(request).medbill.unit_of_work(principal=principal, read_only=True) as work:
        items = credit_balances(work, after_id=after, limit=limit + 1)
    data, next_cursor = paged(items, limit, CREDITS, lambda item: [item.patient_id])
    return model_response(CreditList(data=[CreditOut.model_validate(item.as_json())
                                           for item in data], next_cursor=next_cursor))


@router.post("/v1/credits/refunds", status_code=201, response_model=CheckOut,
             summary="Refund a patient credit by check", responses=NOT_FOUND | IN_FLIGHT)
def refund(request: Request, body: NewRefund,
           principal: Annotated[Principal, Depends(permitted(Action.PAYMENTS_REFUND))],
           idempotency: IdempotencyParam) -> Response:
    body = validated(NewRefund, body.model_dump())
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        check = refund_patient_credit(work, body.patient_id, body.amount, body.reason,
                                      method=body.method, check_number=body.check_number,
                                      payee_reference=body.payee_reference)
        return idempotency.respond(work, 201, CheckOut.of(check).model_dump(mode="json"),
                                   {"Location": f"/v1/refund-checks/{check.id}"})


@router.get("/v1/refund-checks", response_model=CheckList, summary="The refund check register")
def list_refund_checks(
        request: Request,
        principal: Annotated[Principal, Depends(permitted(Action.PAYMENTS_READ))],
        status: Annotated[CheckStatus | None, Query(description="Only this status")] = None,
        limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Response:
    """Checks by issue date, then id (as the bank statement lists them)."""
    after = decode_dated_cursor(CHECKS, cursor) if cursor else None
    with api_state(request).medbill.unit_of_work(principal=principal, read_only=True) as work:
        checks = list_checks(work, status=status, after=after, limit=limit + 1)
    data, next_cursor = paged(checks, limit, CHECKS,
                              lambda check: dated_key(check.issued_on, check.id))
    return model_response(CheckList(data=[CheckOut.of(check) for check in data],
                                    next_cursor=next_cursor))


def _number(request: Request, principal: Principal, check_id: int) -> str:
    with api_state(request).medbill.unit_of_work(principal=principal, read_only=True) as work:
        found = [check for check in list_checks(work) if check.id == check_id]
    if not found:
        raise NotFound("refund check", check_id)
    return found[0].check_number


@router.post("/v1/refund-checks/{check_id}/clear", response_model=CheckOut,
             summary="A refund check cleared the bank", responses=NOT_FOUND | IN_FLIGHT)
def clear(request: Request, check_id: RowId,
          principal: Annotated[Principal, Depends(permitted(Action.PAYMENTS_REFUND))],
          idempotency: IdempotencyParam) -> Response:
    number = _number(request, principal, check_id)
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        check = clear_check(work, number)
        return idempotency.respond(work, 200, CheckOut.of(check).model_dump(mode="json"))


@router.post("/v1/refund-checks/{check_id}/void", response_model=CheckOut,
             summary="Void a refund check (the credit is back)", responses=NOT_FOUND | IN_FLIGHT)
def void(request: Request, check_id: RowId, body: VoidCheck,
         principal: Annotated[Principal, Depends(permitted(Action.PAYMENTS_REFUND))],
         idempotency: IdempotencyParam) -> Response:
    body = validated(VoidCheck, body.model_dump())
    number = _number(request, principal, check_id)
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        check = void_check(work, number, body.reason)
        return idempotency.respond(work, 200, CheckOut.of(check).model_dump(mode="json"))
