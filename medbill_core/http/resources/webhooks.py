"""``/v1/webhooks``: a practice's webhook subscriptions over the API (as ``medbill webhooks``
manages them): subscribe a URL to events (the signing secret is in the answer, once), list,
read the delivery log, unsubscribe. Events, payloads and signatures: ``docs/webhooks.md``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from medbill_core.domain.identity import Principal
from medbill_core.http.auth import api_state, permitted
from medbill_core.http.idempotency import IdempotencyParam
from medbill_core.http.pagination import Cursor, decode_cursor, paged
from medbill_core.http.problems import PROBLEM_RESPONSES
from medbill_core.http.resources.claim_actions import IN_FLIGHT
from medbill_core.http.resources.claims import RowId
from medbill_core.http.schemas import RequestBody, model_response
from medbill_core.http.validation import validated
from medbill_core.permissions import Action
from medbill_core.services import webhooks

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"], responses=PROBLEM_RESPONSES)
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: PROBLEM_RESPONSES[500] | {"description": "No such subscription"}}
DELIVERIES = "webhook-deliveries"


class NewSubscription(RequestBody):
    url: str = Field(min_length=1, max_length=2000, description=(
        "https URL of the receiver (a host on the internet: not a loopback, private or "
        "reserved address)"))
    events: list[str] = Field(min_length=1, max_length=len(webhooks.EVENT_TYPES),
                              description="event types, e.g. claim.paid (see docs/webhooks.md)")


class SubscriptionOut(BaseModel):
    id: int
    url: str
    events: list[str]
    active: bool
    created_at: datetime
    created_by: str
    disabled_at: datetime | None

    @classmethod
    def of(cls, item: webhooks.Subscription) -> SubscriptionOut:
        return cls(id=item.id, url=item.url, events=list(item.event_types), active=item.active,
                   created_at=item.created_at, created_by=item.created_by,
                   disabled_at=item.disabled_at)


class CreatedSubscription(SubscriptionOut):
    secret: str = Field(description="signs every delivery (HMAC-SHA256): shown this once")


class SubscriptionList(BaseModel):
    data: list[SubscriptionOut]


class DeliveryOut(BaseModel):
    id: int
    event_id: str
    event_type: str
    status: str = Field(description="pending, delivered, failed (tried again later) or dead")
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None


class DeliveryList(BaseModel):
    data: list[DeliveryOut]
    next_cursor: str | None = Field(description="pass as cursor for the next (older) page; "
                                                "null on the last page")


@router.post("", status_code=201, response_model=CreatedSubscription,
             summary="Subscribe a URL to events", responses=IN_FLIGHT)
def subscribe(request: Request, body: NewSubscription,
              principal: Annotated[Principal, Depends(permitted(Action.WEBHOOKS_MANAGE))],
              idempotency: IdempotencyParam) -> Response:
    """The practice's events of these types are sent to ``url``, signed with the secret in
    this answer (201; a replay of the same Idempotency-Key answers it again)."""
    body = validated(NewSubscription, body.model_dump())
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        created = webhooks.add_subscription(work, body.url, body.events, local_allowed=False)
        answer = CreatedSubscription(**SubscriptionOut.of(created.subscription).model_dump(),
                                     secret=created.secret)
        return idempotency.respond(work, 201, answer.model_dump(mode="json"),
                                   {"Location": f"/v1/webhooks/{created.subscription.id}"})


@router.get("", response_model=SubscriptionList, summary="List the webhook subscriptions")
def list_subscriptions(
        request: Request,
        principal: Annotated[Principal, Depends(permitted(Action.WEBHOOKS_READ))],
        include_removed: Annotated[bool, Query(description="removed ones too")] = False,
) -> Response:
    """The practice's subscriptions (never their secrets)."""
    with api_state(request).medbill.unit_of_work(principal=principal, read_only=True) as work:
        items = webhooks.list_subscriptions(work, include_removed=include_removed)
    return model_response(SubscriptionList(data=[SubscriptionOut.of(item) for item in items]))


@router.get("/{subscription_id}/deliveries", response_model=DeliveryList,
            summary="A subscription's delivery log", responses=NOT_FOUND)
def deliveries(request: Request, subscription_id: RowId,
               principal: Annotated[Principal, Depends(permitted(Action.WEBHOOKS_READ))],
               limit: Annotated[int, Query(ge=1, le=webhooks.LOG_LIMIT)] = webhooks.LOG_LIMIT,
               cursor: Cursor = None) -> Response:
    """Newest first: each event's attempts, last status code and our own error text."""
    before = decode_cursor(DELIVERIES, cursor, (int,))[0] if cursor else None
    with api_state(request).medbill.unit_of_work(principal=principal, read_only=True) as work:
        items = webhooks.deliveries(work, subscription_id, limit=limit + 1, before_id=before)
    data, next_cursor = paged(items, limit, DELIVERIES)
    return model_response(DeliveryList(data=[DeliveryOut(**vars(item)) for item in data],
                                       next_cursor=next_cursor))


@router.delete("/{subscription_id}", response_model=SubscriptionOut,
               summary="Unsubscribe", responses=NOT_FOUND)
def unsubscribe(request: Request, subscription_id: RowId,
                principal: Annotated[Principal, Depends(permitted(Action.WEBHOOKS_MANAGE))],
                ) -> Response:
    """Nothing more is sent to it; its delivery log stays."""
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        removed = webhooks.remove_subscription(work, subscription_id)
    return model_response(SubscriptionOut.of(removed))
