"""Work queues over HTTP, as ``medbill queues``: ``GET /v1/work-queues`` (every queue's
count, amount and earliest deadline), ``GET /v1/work-queues/{queue}/items`` (filtered, by
priority, keyset pages), ``GET``/``PATCH /v1/work-items/{id}`` (read; assignee, snooze),
``GET``/``POST /v1/work-items/{id}/notes`` and the bulk ``POST /v1/work-item-assignments``
and ``/v1/work-item-snoozes``. Every rule is the work-queue service's; amounts are decimal
text."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse, Response

from medbill_core.domain.identity import Principal
from medbill_core.errors import ValidationFailed
from medbill_core.http.auth import api_state, permitted
from medbill_core.http.idempotency import IdempotencyParam
from medbill_core.http.pagination import DEFAULT_LIMIT, Cursor, Limit, decode_cursor, paged
from medbill_core.http.problems import PROBLEM_RESPONSES
from medbill_core.http.resources.claim_actions import IN_FLIGHT, StoredId
from medbill_core.http.resources.claims import RowId
from medbill_core.http.schemas import RequestBody
from medbill_core.http.validation import validated
from medbill_core.permissions import Action
from medbill_core.services.work_queue_sources import NextAction, Queue
from medbill_core.services.work_queues import (
    NOTE_MAX,
    QueueFilter,
    add_note,
    assign,
    get_item,
    notes,
    read_queue,
    read_summaries,
    snooze,
)

router = APIRouter(tags=["work queues"], responses=PROBLEM_RESPONSES)
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: PROBLEM_RESPONSES[500] | {"description": "No such work item"}}
AMOUNT_PATTERN = r"^[0-9]{1,8}(\.[0-9]{1,2})?$"
#: more items than one person works in a sitting; a bulk request beyond it is a mistake
MAX_BULK = 500
UserName = Annotated[str, Field(min_length=1, max_length=64,
                                pattern=r"^[A-Za-z0-9._@-]+$")]


class QueueSummaryOut(BaseModel):
    queue: Queue
    title: str
    count: int = Field(description="open items not snoozed")
    amount: str = Field(description="their amounts summed")
    oldest_deadline: date | None = Field(description="the earliest deadline among them")
    snoozed: int
    unassigned: int


class WorkItemOut(BaseModel):
    """A work item: the subject, why it needs work (codes explained), the amount, the
    deadline and the suggested next action."""

    id: int
    queue: Queue
    subject_type: str = Field(description="claim, appeal, patient, plan or "
                                          "remittance_exception")
    subject_id: int
    claim_id: int | None
    label: str = Field(description="the claim number, account number or trace number")
    reason: str = Field(description="why, in words (CARC/RARC, 999/277CA codes explained)")
    codes: list[str]
    amount: str
    deadline: date | None
    days_left: int | None
    action: NextAction = Field(description="the suggested next action")
    action_words: str
    payer: str | None
    provider_npi: str | None
    since: date = Field(description="the day the work became due: the age counts from it")
    age_days: int
    priority: int = Field(description="cents at stake per day left (higher first)")
    assignee: str | None
    snoozed_until: date | None
    opened_on: date
    closed_on: date | None
    closed_by: str | None
    notes: int


class WorkItemPage(BaseModel):
    data: list[WorkItemOut]
    next_cursor: str | None = Field(description="pass as cursor for the next page; null on "
                                                "the last page")


class NoteOut(BaseModel):
    id: int
    author: str
    at: str
    text: str


class WorkItemChange(RequestBody):
    """What to change: ``assignee`` (a user name, ``me``, or null to take it back) and/or
    ``snoozed_until`` (a day after today, or null to wake it). Fields left out stay."""

    assignee: UserName | None = None
    snoozed_until: date | None = None


class NewNote(RequestBody):
    text: str = Field(min_length=1, max_length=NOTE_MAX,
                      description="free text (may hold PHI: never audited)")


class Assignment(RequestBody):
    item_ids: list[StoredId] = Field(min_length=1, max_length=MAX_BULK)
    assignee: UserName | None = Field(description="a user name, me, or null to take them back")


class Snooze(RequestBody):
    item_ids: list[StoredId] = Field(min_length=1, max_length=MAX_BULK)
    until: date | None = Field(description="a day after today; null wakes them")


def _json(body: Any, status: int = 200) -> Response:
    return JSONResponse(body, status_code=status)


@router.get("/v1/work-queues", response_model=list[QueueSummaryOut],
            summary="Every work queue")
def list_work_queues(
        request: Request,
        principal: Annotated[Principal, Depends(permitted(Action.QUEUES_READ))]) -> Response:
    """Each queue's open items (snoozed ones apart), their amount and the earliest deadline."""
    medbill = api_state(request).medbill
    return _json([summary.as_json() for summary in read_summaries(medbill, principal)])


def _amount(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


@router.get("/v1/work-queues/{queue}/items", response_model=WorkItemPage,
            summary="A work queue's items")
def list_queue_items(
        request: Request, queue: Queue,
        principal: Annotated[Principal, Depends(permitted(Action.QUEUES_READ))],
        payer: Annotated[str | None, Query(max_length=40, description="a payer key")] = None,
        provider: Annotated[str | None, Query(pattern=r"^[0-9]{10}$",
                                              description="a provider NPI")] = None,
        min_age: Annotated[int | None, Query(ge=0, le=36500)] = None,
        max_age: Annotated[int | None, Query(ge=0, le=36500)] = None,
        min_amount: Annotated[str | None, Query(pattern=AMOUNT_PATTERN)] = None,
        max_amount: Annotated[str | None, Query(pattern=AMOUNT_PATTERN)] = None,
        assignee: Annotated[str | None, Query(
            max_length=64, pattern=r"^[A-Za-z0-9._@-]+$",
            description="a user name, me or unassigned")] = None,
        include_snoozed: Annotated[bool, Query(description="also snoozed items")] = False,
        limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Response:
    """Open items by priority (cents at stake per day left), highest first."""
    listing = f"work-queue:{queue.value}"
    key = decode_cursor(listing, cursor, (int, int)) if cursor else None
    after = (key[0], key[1]) if key else None
    chosen = QueueFilter(payer_key=payer, provider_npi=provider, min_age=min_age,
                         max_age=max_age, min_amount=_amount(min_amount),
                         max_amount=_amount(max_amount), assignee=assignee,
                         include_snoozed=include_snoozed)
    today = date.today()
    rows = read_queue(api_state(request).medbill, principal, queue, chosen=chosen,
                      after=after, limit=limit + 1, today=today)
    data, next_cursor = paged(rows, limit, listing, lambda item: [item.priority, item.id])
    return _json({"data": [item.as_json(today) for item in data],
                  "next_cursor": next_cursor})


@router.get("/v1/work-items/{item_id}", response_model=WorkItemOut, summary="A work item",
            responses=NOT_FOUND)
def read_work_item(request: Request, item_id: RowId,
                   principal: Annotated[Principal, Depends(permitted(Action.QUEUES_READ))],
                   ) -> Response:
    with api_state(request).medbill.unit_of_work(principal=principal, read_only=True) as work:
        item = get_item(work, item_id)
    return _json(item.as_json())


@router.patch("/v1/work-items/{item_id}", response_model=WorkItemOut,
              summary="Assign or snooze a work item", responses=NOT_FOUND)
def change_work_item(request: Request, item_id: RowId, body: WorkItemChange,
                     principal: Annotated[Principal, Depends(permitted(Action.QUEUES_WORK))],
                     ) -> Response:
    """Fields present change (null clears); giving work to someone else needs
    ``queues.manage``."""
    given = body.model_fields_set
    body = validated(WorkItemChange, body.model_dump())
    if not given:
        raise ValidationFailed("request", [("body", "give assignee and/or snoozed_until")])
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        if "assignee" in given:
            assign(work, [item_id], body.assignee)
        if "snoozed_until" in given:
            snooze(work, [item_id], body.snoozed_until)
        item = get_item(work, item_id)
    return _json(item.as_json())


@router.get("/v1/work-items/{item_id}/notes", response_model=list[NoteOut],
            summary="A work item's notes", responses=NOT_FOUND)
def list_work_item_notes(
        request: Request, item_id: RowId,
        principal: Annotated[Principal, Depends(permitted(Action.QUEUES_READ))]) -> Response:
    with api_state(request).medbill.unit_of_work(principal=principal, read_only=True) as work:
        found = notes(work, item_id)
    return _json([note.as_json() for note in found])


@router.post("/v1/work-items/{item_id}/notes", status_code=201, response_model=NoteOut,
             summary="Add a note to a work item", responses=NOT_FOUND | IN_FLIGHT)
def create_work_item_note(request: Request, item_id: RowId, body: NewNote,
                          principal: Annotated[Principal, Depends(permitted(
                              Action.QUEUES_WORK))],
                          idempotency: IdempotencyParam) -> Response:
    body = validated(NewNote, body.model_dump())
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        note = add_note(work, item_id, body.text)
        return idempotency.respond(work, 201, note.as_json())


@router.post("/v1/work-item-assignments", response_model=list[WorkItemOut],
             summary="Assign work items (bulk)", responses=NOT_FOUND | IN_FLIGHT)
def assign_work_items(request: Request, body: Assignment,
                      principal: Annotated[Principal, Depends(permitted(Action.QUEUES_WORK))],
                      idempotency: IdempotencyParam) -> Response:
    """Assign every item named to the user (or ``me``), or take them back (null)."""
    body = validated(Assignment, body.model_dump())
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        done = assign(work, body.item_ids, body.assignee)
        return idempotency.respond(work, 200, [item.as_json() for item in done])


@router.post("/v1/work-item-snoozes", response_model=list[WorkItemOut],
             summary="Snooze work items (bulk)", responses=NOT_FOUND | IN_FLIGHT)
def snooze_work_items(request: Request, body: Snooze,
                      principal: Annotated[Principal, Depends(permitted(Action.QUEUES_WORK))],
                      idempotency: IdempotencyParam) -> Response:
    """Hide every item named until the day (null wakes them)."""
    body = validated(Snooze, body.model_dump())
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        done = snooze(work, body.item_ids, body.until)
        return idempotency.respond(work, 200, [item.as_json() for item in done])
