"""The work queues' pages: every queue with its count, amount and earliest deadline (and, for
whoever runs the team, the open items per person and each person's closed items per day);
a queue's items by priority, filtered by a GET form, with checkboxes for bulk assignment
and snoozing; an item's page with its notes and the actions of its kind of work (each calls
the core's service: correct and resend, appeal, write off, move to the patient, a 276,
resolve).

Every form works without JavaScript (a post, then a redirect with a one-time message). The
queue's rows take an item for oneself in place with htmx ("Take": the row is swapped).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated

from fastapi import Form, Path, Query, Request
from starlette.responses import RedirectResponse, Response

from medbill_core.api import ValidationFailed, parse_amount
from medbill_core.api.workspace import (
    PRIORITY_RULE,
    Action,
    Principal,
    Queue,
    QueueFilter,
    add_work_item_note,
    allowed,
    appeal_work_item,
    assign_work_items,
    correct_and_resend,
    get_work_item,
    medbill_of,
    queue_productivity,
    read_queue,
    read_summaries,
    resolve_work_item,
    snooze_work_items,
    status_check_work_item,
    transfer_work_item,
    work_item_notes,
    write_off_work_item,
)
from medbill_workspace_web.flash import set_flash
from medbill_workspace_web.pages import page_router, requires
from medbill_workspace_web.rendering import render

router = page_router()
PAGE_SIZE = 50
ItemId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Text = Annotated[str, Form(max_length=2000)]
ShortText = Annotated[str, Form(max_length=64)]
Reader = Annotated[Principal, requires(Action.QUEUES_READ)]
Worker = Annotated[Principal, requires(Action.QUEUES_WORK)]
#: the days of productivity the overview shows
PRODUCTIVITY_DAYS = 7


def _queue_path(queue: Queue) -> str:
    return f"/workspace/queues/{queue.value}"


def _item_path(item_id: int) -> str:
    return f"/workspace/queues/items/{item_id}"


def _back(path: str, message: str, level: str = "success") -> Response:
    response = RedirectResponse(path, status_code=303)
    set_flash(response, message, level)
    return response


@router.get("/queues", summary="Work queues")
def overview(request: Request, principal: Reader) -> Response:
    medbill = medbill_of(request)
    summaries = read_summaries(medbill, principal)
    team = None
    if allowed(principal.role, Action.QUEUES_MANAGE):
        today = date.today()
        start = today - timedelta(days=PRODUCTIVITY_DAYS - 1)
        with medbill.unit_of_work(principal=principal, read_only=True) as work:
            team = queue_productivity(work, start, today)
        team_days = [start + timedelta(days=n) for n in range(PRODUCTIVITY_DAYS)]
    open_by = [] if team is None else sorted(
        team.open_by_assignee.items(), key=lambda pair: (pair[0] is None, pair[0] or ""))
    return render(request, "queues/overview.html", {
        "summaries": summaries, "team": team, "open_by": open_by,
        "team_days": team_days if team is not None else [], "rule": PRIORITY_RULE})


def _amount(name: str, value: str) -> Decimal | None:
    """An amount as people type one (ASCII digits, at most two places, no exponent: the
    services' reading); its limit is the queue service's check."""
    text = value.strip()
    if not text:
        return None
    try:
        return parse_amount(text)
    except ValueError:
        raise ValidationFailed("queue filter", [(name, "must be an amount such as 25.00")]) \
            from None


@router.get("/queues/{queue}", summary="A work queue")
def queue_page(request: Request, queue: Queue, principal: Reader,
               payer: Annotated[str, Query(max_length=40)] = "",
               provider: Annotated[str, Query(max_length=10)] = "",
               min_age: Annotated[int | None, Query(ge=0, le=36500)] = None,
               max_age: Annotated[int | None, Query(ge=0, le=36500)] = None,
               min_amount: Annotated[str, Query(max_length=12)] = "",
               max_amount: Annotated[str, Query(max_length=12)] = "",
               assignee: Annotated[str, Query(max_length=64)] = "",
               snoozed: Annotated[bool, Query()] = False,
               # a priority is a BIGINT: a bigger one would overflow the database driver
               after_priority: Annotated[int | None, Query(ge=0, le=2**63 - 1)] = None,
               after_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> Response:
    medbill = medbill_of(request)
    chosen = QueueFilter(payer_key=payer or None, provider_npi=provider or None,
                         min_age=min_age, max_age=max_age,
                         min_amount=_amount("min_amount", min_amount),
                         max_amount=_amount("max_amount", max_amount),
                         assignee=assignee or None, include_snoozed=snoozed)
    after = (after_priority, after_id) if after_priority is not None and after_id else None
    rows = read_queue(medbill, principal, queue, chosen=chosen, after=after,
                      limit=PAGE_SIZE + 1)
    shown = rows[:PAGE_SIZE]
    following = shown[-1] if len(rows) > PAGE_SIZE else None
    return render(request, "queues/queue.html", {
        "queue": queue, "rows": shown, "following": following, "paged": after is not None,
        "today": date.today(), "rule": PRIORITY_RULE, "payers": sorted(medbill.config.payers),
        "filters": {"payer": payer, "provider": provider, "min_age": min_age,
                    "max_age": max_age, "min_amount": min_amount, "max_amount": max_amount,
                    "assignee": assignee, "snoozed": snoozed}})


@router.post("/queues/{queue}/bulk", summary="Assign or snooze the items chosen")
def bulk(request: Request, queue: Queue, principal: Worker,
         action: Annotated[str, Form(max_length=10)],
         item: Annotated[list[int] | None, Form()] = None,
         assignee: Annotated[str, Form(max_length=64)] = "",
         until: Annotated[str, Form(max_length=10)] = "") -> Response:
    """``action``: ``take`` (assign to me), ``assign`` (to ``assignee``; empty: nobody) or
    ``snooze`` (until the day)."""
    chosen = [i for i in item or [] if 1 <= i <= 2**31 - 1]
    if not chosen:
        return _back(_queue_path(queue), "Choose at least one item.", "error")
    with medbill_of(request).unit_of_work(principal=principal) as work:
        if action == "take":
            done = assign_work_items(work, chosen, "me")
            message = f"{len(done)} items assigned to you."
        elif action == "assign":
            done = assign_work_items(work, chosen, assignee.strip() or None)
            message = (f"{len(done)} items assigned to {assignee.strip()}." if assignee.strip()
                       else f"{len(done)} items unassigned.")
        elif action == "snooze":
            done = snooze_work_items(work, chosen, _day("until", until))
            message = f"{len(done)} items snoozed."
        else:
            raise ValidationFailed("bulk action", [("action", "must be take, assign or "
                                                              "snooze")])
    return _back(_queue_path(queue), message)


def _day(name: str, value: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationFailed("work items", [(name, "must be a date: YYYY-MM-DD")]) from None


@router.post("/queues/items/{item_id}/take", summary="Take a work item")
def take(request: Request, item_id: ItemId, principal: Worker) -> Response:
    """Assign the item to me; htmx gets the row back, a form post the queue."""
    with medbill_of(request).unit_of_work(principal=principal) as work:
        [item] = assign_work_items(work, [item_id], "me")
    if request.headers.get("HX-Request"):
        return render(request, "queues/_row.html", {"item": item, "today": date.today()})
    return _back(_queue_path(item.queue), "Item assigned to you.")


@router.get("/queues/items/{item_id}", summary="A work item")
def item_page(request: Request, item_id: ItemId, principal: Reader) -> Response:
    with medbill_of(request).unit_of_work(principal=principal, read_only=True) as work:
        item = get_work_item(work, item_id)
        notes = work_item_notes(work, item_id)
    return render(request, "queues/item.html", {
        "item": item, "notes": notes, "today": date.today(),
        "patient_share": any(code.startswith("PR-") for code in item.codes),
        "tomorrow": date.today() + timedelta(days=1)})


@router.post("/queues/items/{item_id}/notes", summary="Add a note to a work item")
def note(request: Request, item_id: ItemId, principal: Worker, text: Text) -> Response:
    with medbill_of(request).unit_of_work(principal=principal) as work:
        add_work_item_note(work, item_id, text)
    return _back(_item_path(item_id), "Note saved.")


@router.post("/queues/items/{item_id}/assign", summary="Assign a work item")
def assign_one(request: Request, item_id: ItemId, principal: Worker,
               assignee: ShortText = "") -> Response:
    with medbill_of(request).unit_of_work(principal=principal) as work:
        assign_work_items(work, [item_id], assignee.strip() or None)
    return _back(_item_path(item_id), "Assignment saved.")


@router.post("/queues/items/{item_id}/snooze", summary="Snooze a work item")
def snooze_one(request: Request, item_id: ItemId, principal: Worker,
               until: Annotated[str, Form(max_length=10)] = "") -> Response:
    with medbill_of(request).unit_of_work(principal=principal) as work:
        snooze_work_items(work, [item_id], _day("until", until) if until.strip() else None)
    return _back(_item_path(item_id), "Snooze saved." if until.strip() else "Item woken.")


@router.post("/queues/items/{item_id}/resend", summary="Correct and resend a denied claim")
def resend(request: Request, item_id: ItemId, principal: Worker, reason: Text,
           prior_authorization: Annotated[str, Form(max_length=50)] = "") -> Response:
    changes = {"prior_authorization": prior_authorization.strip()} \
        if prior_authorization.strip() else {}
    done = correct_and_resend(medbill_of(request), principal, item_id, changes, reason)
    if done.submitted:
        return _back(_item_path(item_id), f"Replacement {done.replacement_number} sent.")
    return _back(_item_path(item_id), f"Replacement {done.replacement_number} made; the edits "
                                      "block it: see the scrub failures queue.", "error")


@router.post("/queues/items/{item_id}/appeal", summary="Appeal a denied claim")
def appeal(request: Request, item_id: ItemId, principal: Worker, reason: Text) -> Response:
    with medbill_of(request).unit_of_work(principal=principal) as work:
        appeal_work_item(work, item_id, reason)
    return _back(_item_path(item_id), "Appeal opened.")


@router.post("/queues/items/{item_id}/write-off", summary="Write off a denied claim")
def write_off(request: Request, item_id: ItemId,
              principal: Annotated[Principal, requires(Action.DENIALS_WRITE_OFF)],
              reason: Annotated[str, Form(max_length=500)]) -> Response:
    with medbill_of(request).unit_of_work(principal=principal) as work:
        count = write_off_work_item(work, item_id, reason)
    return _back(_item_path(item_id), f"{count} denials written off.")


@router.post("/queues/items/{item_id}/to-patient", summary="Move the patient's share")
def to_patient(request: Request, item_id: ItemId, principal: Worker) -> Response:
    with medbill_of(request).unit_of_work(principal=principal) as work:
        count = transfer_work_item(work, item_id)
    return _back(_item_path(item_id), f"{count} amounts moved to the patient.")


@router.post("/queues/items/{item_id}/status-check", summary="Send a 276")
def status_check(request: Request, item_id: ItemId, principal: Worker) -> Response:
    status_check_work_item(medbill_of(request), principal, item_id)
    return _back(_item_path(item_id), "Status inquiry sent; the answer is on the claim.")


@router.post("/queues/items/{item_id}/resolve", summary="Resolve a work item")
def resolve(request: Request, item_id: ItemId, principal: Worker,
            note: Annotated[str, Form(max_length=500)]) -> Response:
    with medbill_of(request).unit_of_work(principal=principal) as work:
        count = resolve_work_item(work, item_id, note)
    return _back(_item_path(item_id), f"{count} resolved.")
