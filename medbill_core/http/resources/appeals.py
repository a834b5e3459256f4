"""Appeals of denied claims: ``GET /v1/appeals`` (keyset pages), ``GET /v1/appeals/{id}``,
``POST /v1/appeals`` (open one for a denied or partially paid claim, as ``medbill appeals
open``) and ``PATCH /v1/appeals/{id}`` (sent, won, lost or withdrawn, as ``medbill appeals
sent/outcome/withdraw``). Every rule is the appeals service's. The reason and the outcome's
note are free text that may hold PHI: they are kept, never shown back."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse, Response

from medbill_core.domain.identity import Principal
from medbill_core.errors import ValidationFailed
from medbill_core.http.auth import api_state, permitted
from medbill_core.http.idempotency import IdempotencyParam
from medbill_core.http.pagination import (
    DEFAULT_LIMIT,
    Cursor,
    IsoDate,
    Limit,
    decode_cursor,
    paged,
)
from medbill_core.http.problems import PROBLEM_RESPONSES
from medbill_core.http.resources.claim_actions import IN_FLIGHT, StoredId
from medbill_core.http.resources.claims import RowId
from medbill_core.http.schemas import RequestBody
from medbill_core.http.validation import validated
from medbill_core.permissions import Action
from medbill_core.services.appeals import (
    MAX_LEVEL,
    MAX_TEXT,
    AppealStatus,
    appeals_after,
    get_appeal,
    mark_sent,
    open_appeal,
    record_outcome,
    withdraw,
)

router = APIRouter(prefix="/v1/appeals", tags=["appeals"], responses=PROBLEM_RESPONSES)
LISTING = "appeals"
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: PROBLEM_RESPONSES[500] | {"description": "No such appeal (or claim)"}}


class AppealOut(BaseModel):
    """An appeal (without its reason and note: free text that may hold PHI)."""

    id: int
    claim_id: int
    claim_number: str
    payer: str | None
    level: int
    status: AppealStatus
    denial_codes: list[str] = Field(description="the denial appealed, GROUP-CARC")
    denial_meanings: list[str] = Field(description="each denial code in words, in order")
    deadline: date | None = Field(description="the payer's answer date + its appeal days")
    days_left: int | None
    opened_on: date
    opened_by: str
    sent_on: date | None
    decided_on: date | None


class AppealPage(BaseModel):
    data: list[AppealOut]
    next_cursor: str | None = Field(description="pass as cursor for the next page; null on "
                                                "the last page")


class NewAppeal(RequestBody):
    claim_id: StoredId
    reason: str = Field(min_length=1, max_length=MAX_TEXT,
                        description="why the denial is wrong (kept, never shown back)")
    level: int | None = Field(default=None, ge=1, le=MAX_LEVEL,
                              description="default: the next level not yet decided")


class AppealStep(StrEnum):
    SENT = "sent"
    WON = "won"
    LOST = "lost"
    WITHDRAWN = "withdrawn"


class AppealChange(RequestBody):
    """The appeal's next step: ``sent`` (an open appeal went to the payer ``on``, default
    today), ``won`` or ``lost`` (the payer decided, ``note`` required), ``withdrawn``."""

    status: AppealStep
    on: date | None = Field(default=None, description=(
        "sent: the day it was sent (never before the day the appeal was opened)"))
    confirm_date: bool = Field(default=False, description=(
        "accept a date further ahead or back than usual (checked: "
        "on: not ahead of today)"))
    note: str | None = Field(default=None, min_length=1, max_length=MAX_TEXT,
                             description="won, lost: what the payer decided; withdrawn: why")


def _json(body: Any, status: int = 200) -> Response:
    return JSONResponse(body, status_code=status)


@router.get("", response_model=AppealPage, summary="List appeals")
def list_appeal_records(
        request: Request,
        principal: Annotated[Principal, Depends(permitted(Action.APPEALS_READ))],
        status: Annotated[AppealStatus | None, Query(description="Only this status")] = None,
        deadline_before: Annotated[IsoDate | None, Query(
            description="Only appeals whose deadline is before this day")] = None,
        limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Response:
    """Appeals by id, filtered."""
    after = decode_cursor(LISTING, cursor, (int,))[0] if cursor else None
    today = date.today()
    with api_state(request).medbill.unit_of_work(principal=principal, read_only=True) as work:
        rows = appeals_after(work, after_id=after, limit=limit + 1, status=status,
                             deadline_before=deadline_before)
    data, next_cursor = paged(rows, limit, LISTING)
    return _json({"data": [row.as_json(today) for row in data],
                  "next_cursor": next_cursor})


@router.get("/{appeal_id}", response_model=AppealOut, summary="Read an appeal",
            responses=NOT_FOUND)
def read_appeal(request: Request,
                principal: Annotated[Principal, Depends(permitted(Action.APPEALS_READ))],
                appeal_id: RowId) -> Response:
    with api_state(request).medbill.unit_of_work(principal=principal, read_only=True) as work:
        appeal = get_appeal(work, appeal_id)
    return _json(appeal.as_json())


@router.post("", status_code=201, response_model=AppealOut, summary="Open an appeal",
             responses=NOT_FOUND | IN_FLIGHT)
def create_appeal(request: Request, body: NewAppeal,
                  principal: Annotated[Principal, Depends(permitted(Action.APPEALS_WRITE))],
                  idempotency: IdempotencyParam) -> Response:
    """Open an appeal of a denied or partially paid claim's denial (201, ``Location``)."""
    body = validated(NewAppeal, body.model_dump())  # the input rules: no control characters
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        appeal = open_appeal(work, body.claim_id, body.reason, body.level)
        return idempotency.respond(work, 201, appeal.as_json(),
                                   {"Location": f"/v1/appeals/{appeal.id}"})


@router.patch("/{appeal_id}", response_model=AppealOut, summary="Move an appeal on",
              responses=NOT_FOUND)
def change_appeal(request: Request, appeal_id: RowId, body: AppealChange,
                  principal: Annotated[Principal, Depends(permitted(Action.APPEALS_WRITE))],
                  ) -> Response:
    """Record the appeal's next step (the service says which steps its status allows)."""
    body = validated(AppealChange, body.model_dump())
    if body.on is not None and body.status is not AppealStep.SENT:
        raise ValidationFailed("request", [("body.on", "is the day an appeal went to the "
                                                       "payer: not with this status")])
    if body.status in (AppealStep.WON, AppealStep.LOST) and body.note is None:
        raise ValidationFailed("request", [("body.note", "is required with the payer's "
                                                         "decision")])
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        if body.status is AppealStep.SENT:
            appeal = mark_sent(work, appeal_id, body.on, confirmed_date=body.confirm_date)
        elif body.status is AppealStep.WITHDRAWN:
            appeal = withdraw(work, appeal_id, body.note)
        else:
            assert body.note is not None  # checked above
            appeal = record_outcome(work, appeal_id, body.status is AppealStep.WON, body.note)
    return _json(appeal.as_json())
