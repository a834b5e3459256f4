"""Payment plans: ``GET /v1/plans`` (keyset pages), ``GET /v1/plans/{id}`` (with its
installments), ``POST /v1/plans`` (schedule a balance, as ``medbill plans create``) and
``POST /v1/plans/{id}/cancel`` (as ``medbill plans cancel``) and ``PATCH /v1/plans/{id}``
(re-schedule what is left, as ``medbill plans edit``). Every rule is the payments
service's; amounts are decimal text."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from medbill_core.domain import PlanFrequency
from medbill_core.domain.identity import Principal
from medbill_core.errors import NotFound
from medbill_core.http.auth import api_state, permitted
from medbill_core.http.idempotency import IdempotencyParam
from medbill_core.http.pagination import DEFAULT_LIMIT, Cursor, Limit, decode_cursor, paged
from medbill_core.http.problems import PROBLEM_RESPONSES
from medbill_core.http.resources.claim_actions import IN_FLIGHT, StoredId
from medbill_core.http.resources.claims import RowId
from medbill_core.http.schemas import RequestBody, model_response
from medbill_core.http.validation import validated
from medbill_core.money import MAX_AMOUNT, Amount
from medbill_core.permissions import Action
from medbill_core.services.payments import (
    MAX_INSTALLMENTS,
    PlanStatus,
    PlanSummary,
    cancel_plan,
    edit_plan,
    list_plans,
    new_plan,
    plan,
)

if TYPE_CHECKING:
    from medbill_core.app import UnitOfWork

router = APIRouter(prefix="/v1/plans", tags=["plans"], responses=PROBLEM_RESPONSES)
LISTING = "plans"
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: PROBLEM_RESPONSES[500] | {"description": "No such payment plan"}}


class PlanOut(BaseModel):
    """A payment plan and where it stands (amounts as decimal text)."""

    id: int
    patient_id: int
    account_number: str
    status: PlanStatus
    frequency: PlanFrequency
    total: str
    paid: str
    remaining: str
    installment_count: int
    next_due_date: date | None = Field(description="of the first installment not fully paid")
    next_due_amount: str | None
    cancelled_on: date | None

    @classmethod
    def of(cls, summary: PlanSummary) -> PlanOut:
        return cls(id=summary.id, patient_id=summary.patient_id or 0,
                   account_number=summary.account_number, status=summary.status,
                   frequency=summary.frequency, total=str(summary.total),
                   paid=str(summary.paid), remaining=str(summary.remaining),
                   installment_count=summary.installments,
                   next_due_date=summary.next_due_date,
                   next_due_amount=None if summary.next_due_amount is None
                   else str(summary.next_due_amount),
                   cancelled_on=summary.cancelled_on)


class InstallmentOut(BaseModel):
    due_date: date
    amount: str
    paid_amount: str


class PlanDetail(PlanOut):
    installments: list[InstallmentOut]


class PlanPage(BaseModel):
    data: list[PlanOut]
    next_cursor: str | None = Field(description="pass as cursor for the next page; null on "
                                                "the last page")


class NewPlan(RequestBody):
    """A balance spread over installments that add up exactly to the total (the last takes
    the rounding). One active plan per patient; the total may not exceed the balance."""

    patient_id: StoredId
    total: Amount = Field(gt=0, le=MAX_AMOUNT, description="what the plan covers, e.g. \"300.00\"")
    installments: int = Field(ge=1, le=MAX_INSTALLMENTS)
    start: date = Field(description="the first due date")
    frequency: PlanFrequency = PlanFrequency.MONTHLY
    confirm_date: bool = Field(default=False, description=(
        "accept a date further ahead or back than usual (checked: "
        "start: at most 365 days ahead, 31 days back)"))


class PlanReschedule(RequestBody):
    """What is left of an active plan spread again (its total and frequency stay): over
    ``installments`` (default: as many as were left) or in installments of ``amount`` (the
    last takes the rest), from ``start`` (default: the first installment not fully paid's
    due date). Paid installments stay; a partly paid one is cut to what was paid on it."""

    installments: int | None = Field(default=None, ge=1, le=MAX_INSTALLMENTS)
    amount: Amount | None = Field(default=None, gt=0, le=MAX_AMOUNT, description="e.g. \"50.00\"")
    start: date | None = None
    confirm_date: bool = Field(default=False, description=(
        "accept a date further ahead or back than usual (checked: "
        "start: at most 365 days ahead, 31 days back)"))


class CancelPlan(RequestBody):
    reason: str = Field(min_length=1, max_length=500, description="why (no patient details)")


def _detail(work: UnitOfWork, plan_id: int) -> PlanDetail:
    summaries = list_plans(work, plan_id=plan_id)
    if not summaries:
        raise NotFound("payment plan", plan_id)
    stored = plan(work, plan_id)
    return PlanDetail(**PlanOut.of(summaries[0]).model_dump(), installments=[
        InstallmentOut(due_date=item.due_date, amount=str(item.amount),
                       paid_amount=str(item.paid_amount)) for item in stored.installments])


@router.get("", response_model=PlanPage, summary="List payment plans")
def list_plan_records(
        request: Request,
        principal: Annotated[Principal, Depends(permitted(Action.PLANS_READ))],
        patient: Annotated[int | None, Query(ge=1, le=2**31 - 1,
                                             description="Only this patient's (id)")] = None,
        status: Annotated[PlanStatus | None, Query(description="Only this status")] = None,
        limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Response:
    """Plans by id, filtered."""
    after = decode_cursor(LISTING, cursor, (int,))[0] if cursor else None
    with api_state(request).medbill.unit_of_work(principal=principal, read_only=True) as work:
        rows = list_plans(work, patient_id=patient, status=status, after_id=after,
                          limit=limit + 1)
    data, next_cursor = paged(rows, limit, LISTING)
    page = PlanPage(data=[PlanOut.of(row) for row in data],
                    next_cursor=next_cursor)
    return model_response(page)


@router.get("/{plan_id}", response_model=PlanDetail, summary="Read a payment plan",
            responses=NOT_FOUND)
def read_plan(request: Request,
              principal: Annotated[Principal, Depends(permitted(Action.PLANS_READ))],
              plan_id: RowId) -> Response:
    with api_state(request).medbill.unit_of_work(principal=principal, read_only=True) as work:
        detail = _detail(work, plan_id)
    return model_response(detail)


@router.post("", status_code=201, response_model=PlanDetail, summary="Create a payment plan",
             responses=NOT_FOUND | IN_FLIGHT)
def create_plan(request: Request, body: NewPlan,
                principal: Annotated[Principal, Depends(permitted(Action.PLANS_WRITE))],
                idempotency: IdempotencyParam) -> Response:
    """Schedule ``total`` in ``installments`` from ``start`` (201, ``Location`` names it)."""
    body = validated(NewPlan, body.model_dump())
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        work.patients.get(body.patient_id)
        created = new_plan(work, body.patient_id, body.total, body.installments, body.start,
                           body.frequency, confirmed_date=body.confirm_date)
        assert created.id is not None  # stored
        detail = _detail(work, created.id)
        return idempotency.respond(work, 201, detail.model_dump(mode="json"),
                                   {"Location": f"/v1/plans/{created.id}"})


@router.post("/{plan_id}/cancel", response_model=PlanDetail, summary="Cancel a payment plan",
             responses=NOT_FOUND | IN_FLIGHT)
def cancel_plan_record(request: Request, plan_id: RowId, body: CancelPlan,
                       principal: Annotated[Principal, Depends(permitted(Action.PLANS_WRITE))],
                       idempotency: IdempotencyParam) -> Response:
    """End an active plan: its installments are no longer expected; the balance stays on
    the account and payments made stay applied (200, the plan)."""
    body = validated(CancelPlan, body.model_dump())  # the input rules: no control characters
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        cancel_plan(work, plan_id, body.reason)
        detail = _detail(work, plan_id)
        return idempotency.respond(work, 200, detail.model_dump(mode="json"))


@router.patch("/{plan_id}", response_model=PlanDetail, summary="Re-schedule a payment plan",
              responses=NOT_FOUND)
def reschedule_plan(request: Request, plan_id: RowId, body: PlanReschedule,
                    principal: Annotated[Principal, Depends(permitted(Action.PLANS_WRITE))],
                    ) -> Response:
    """Spread again what is left of an active plan, as ``medbill plans edit`` does."""
    body = validated(PlanReschedule, body.model_dump())
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        edit_plan(work, plan_id, installments=body.installments, amount=body.amount,
                  start=body.start, confirmed_date=body.confirm_date)
        detail = _detail(work, plan_id)
    return model_response(detail)
