"""Texts and e-mails about statements, read-only: ``GET /v1/notifications`` (newest first,
cursor pages keyset descending on id; ``status=failed`` or ``dead`` is what needs a look)
and ``GET /v1/notifications/{id}``. The recipient is masked; the text holds no PHI by
construction. Every rule is :mod:`medbill_core.services.notifications`'s."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from medbill_core.domain.identity import Principal
from medbill_core.http.auth import api_state, permitted
from medbill_core.http.pagination import DEFAULT_LIMIT, Cursor, Limit, Page, decode_cursor, paged
from medbill_core.http.problems import PROBLEM_RESPONSES
from medbill_core.http.resources.claim_actions import StoredId
from medbill_core.http.resources.claims import RowId
from medbill_core.http.schemas import model_response
from medbill_core.permissions import Action
from medbill_core.services.notifications import (
    NotificationStatus,
    NotificationView,
    get_notification,
    list_notifications,
)

router = APIRouter(prefix="/v1/notifications", tags=["notifications"],
                   responses=PROBLEM_RESPONSES)
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: PROBLEM_RESPONSES[500] | {"description": "No such message"}}
LISTING = "notifications"


class NotificationOut(BaseModel):
    """One text message or e-mail of the outbox."""

    id: int
    template: str = Field(description="statement_ready or payment_link")
    account: str = Field(description="the addressee: G<guarantor id> or P<patient id>")
    statement_id: int | None
    channel: str = Field(description="sms or email")
    recipient: str = Field(description="masked (***-***-1234, j***@example.com)")
    subject: str | None
    body: str
    notifier: str
    status: NotificationStatus
    attempts: int
    next_attempt_at: str | None
    last_attempt_at: str | None
    last_error: str | None = Field(description="what went wrong, safe to show")
    provider_id: str | None
    sent_at: str | None
    created_at: str
    created_by: str

    @classmethod
    def of(cls, view: NotificationView) -> NotificationOut:
        return cls.model_validate(view.as_json())


NotificationList = Page[NotificationOut]


@router.get("", response_model=NotificationList, summary="List texts and e-mails")
def list_messages(
        request: Request,
        principal: Annotated[Principal, Depends(permitted(Action.NOTIFICATIONS_READ))],
        status: Annotated[NotificationStatus | None, Query(description="Only this status")]
        = None,
        statement_id: Annotated[StoredId | None, Query(description="Only this statement's")]
        = None,
        account: Annotated[str | None, Query(
            pattern=r"^[GP][1-9][0-9]{0,9}$",
            description="Only this addressee's: G<guarantor id> or P<patient id>")] = None,
        limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Response:
    """Messages newest first (keyset descending on id), filtered."""
    before = decode_cursor(LISTING, cursor, (int,))[0] if cursor else None
    with api_state(request).medbill.unit_of_work(principal=principal, read_only=True) as work:
        items = list_notifications(work, status=status, statement_id=statement_id,
                                   account_key=account, before_id=before, limit=limit + 1)
    data, next_cursor = paged(items, limit, LISTING)
    return model_response(NotificationList(
        data=[NotificationOut.of(item) for item in data], next_cursor=next_cursor))


@router.get("/{notification_id}", response_model=NotificationOut,
            summary="Read a text or e-mail", responses=NOT_FOUND)
def read_message(
        request: Request, notification_id: RowId,
        principal: Annotated[Principal, Depends(permitted(Action.NOTIFICATIONS_READ))]
) -> Response:
    with api_state(request).medbill.unit_of_work(principal=principal, read_only=True) as work:
        view = get_notification(work, notification_id)
    return model_response(NotificationOut.of(view))
