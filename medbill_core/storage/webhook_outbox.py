"""The webhook outbox: domain events written in the transaction of the change they report.

A change (a claim moved, an 835 posted, a statement produced) records its event here while
its transaction is open; the event and one delivery row per active subscription that wants
it are inserted when that transaction commits, so an event exists exactly when its change
does. A rolled-back change leaves no event; a committed one cannot lose its event.

Like the audit trail (:mod:`medbill_core.audit_chain`), recording keeps plain values in
``session.info`` (no ORM object, no flush): at commit the transaction's events go in with one
executemany and their deliveries with another, however many claims a batch moved. An event
no active subscription wants is not stored at all (a practice without webhooks writes
nothing). A savepoint rolled back takes the events recorded inside it with it.

Lifecycle hooks receive domain objects, not the session: the unit of work binds its session
here (:func:`bound`) for the hooks of :mod:`medbill_core.default_plugins.webhook_events` to
record into (:func:`record_current`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, event, insert, select
from sqlalchemy.orm import Session

from medbill_core.errors import MedbillError
from medbill_core.storage import tenancy
from medbill_core.storage.database import READ_ONLY_SESSION
from medbill_core.storage.schema import (
    WebhookDeliveryRow,
    WebhookEventRow,
    WebhookSubscriptionRow,
    utcnow,
)
from medbill_core.storage.transaction_buffer import (
    TransactionBuffer,
    buffer_of,
    follow_savepoints,
)

#: ``session.info`` key of the events recorded in the session's transaction
PENDING_KEY = "medbill.webhook_pending"
#: a delivery's status when it is created
PENDING = "pending"

_EVENTS = cast(Table, WebhookEventRow.__table__)
_DELIVERIES = cast(Table, WebhookDeliveryRow.__table__)

#: the session of the unit of work whose hooks are running (see :func:`bound`)
_CURRENT: ContextVar[Session | None] = ContextVar("medbill_webhook_session", default=None)


class _Pending(TransactionBuffer[int]):
    """The events of one session's transaction, as the values they will be inserted with."""

    __slots__ = ("events",)

    def __init__(self) -> None:
        super().__init__()
        self.events: list[dict[str, Any]] = []

    def mark(self) -> int:
        return len(self.events)

    def restore(self, mark: int) -> None:
        del self.events[mark:]


@dataclass(frozen=True)
class RecordedEvent:
    """An event as recorded (its id is what receivers de-duplicate by)."""

    event_id: str
    event_type: str
    created_at: datetime


def _pending(session: Session) -> _Pending:
    return buffer_of(session, PENDING_KEY, _Pending)


follow_savepoints(PENDING_KEY, _Pending)


def record(session: Session, event_type: str, data: Mapping[str, Any], *,
           dedupe_key: str | None = None) -> RecordedEvent:
    """Add an event to the session's transaction (written when it commits).

    :param data: identifiers, states, codes and amounts (as strings: JSON has no decimal);
        never PHI -- receivers get it as it is.
    :param dedupe_key: an event recorded again under the same key is not stored twice.
    """
    if session.info.get(READ_ONLY_SESSION):
        raise MedbillError("internal error: a read-only transaction tried to record an event")
    recorded = RecordedEvent(str(uuid.uuid4()), event_type, utcnow())
    _pending(session).events.append({
        "event_id": recorded.event_id, "event_type": event_type, "payload": dict(data),
        "dedupe_key": dedupe_key, "created_at": recorded.created_at,
        "practice_id": tenancy.scope_of(session)})
    return recorded


@contextmanager
def bound(session: Session) -> Iterator[None]:
    """Lifecycle hooks run inside this block record their events into ``session``."""
    token = _CURRENT.set(session)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def record_current(event_type: str, data: Mapping[str, Any], *,
                   dedupe_key: str | None = None) -> RecordedEvent | None:
    """:func:`record` into the session of the running unit of work; ``None`` (nothing
    recorded) when hooks are called outside one (a test calling a hook by hand)."""
    session = _CURRENT.get()
    if session is None:
        return None
    return record(session, event_type, data, dedupe_key=dedupe_key)


def pending_events(session: Session) -> list[dict[str, Any]]:
    """The events recorded in the session's transaction so far (a copy)."""
    pending = session.info.get(PENDING_KEY)
    return [dict(values) for values in pending.events] if pending is not None else []


def write_pending(session: Session) -> int:
    """Insert the transaction's recorded events that some active subscription wants, and
    their deliveries: one query of the subscriptions, one executemany each for events and
    deliveries. Returns the number of events stored. Called at commit."""
    pending = session.info.pop(PENDING_KEY, None)
    if pending is None or not pending.events:
        return 0
    connection = session.connection()
    subscriptions = connection.execute(
        select(WebhookSubscriptionRow.id, WebhookSubscriptionRow.event_types,
               WebhookSubscriptionRow.practice_id)
        .where(WebhookSubscriptionRow.active.is_(True))).all()
    if not subscriptions:
        return 0
    wanted: list[tuple[dict[str, Any], list[int]]] = []
    keys = [values["dedupe_key"] for values in pending.events if values["dedupe_key"]]
    seen: set[str] = set()
    if keys:
        seen = set(connection.scalars(select(WebhookEventRow.dedupe_key)
                                      .where(WebhookEventRow.dedupe_key.in_(keys))))
    for values in pending.events:
        key = values["dedupe_key"]
        if key is not None and key in seen:
            continue
        if key is not None:
            seen.add(key)
        # a practice's subscriptions receive its events only; an installation-wide one (made
        # by the installation's own work, no practice) receives every practice's
        targets = [row.id for row in subscriptions if values["event_type"] in row.event_types
                   and row.practice_id in (None, values["practice_id"])]
        if targets:
            wanted.append((values, targets))
    if not wanted:
        return 0
    inserted = connection.execute(insert(_EVENTS).returning(_EVENTS.c.id, _EVENTS.c.event_id),
                                  [values for values, _ in wanted])
    ids = {row.event_id: row.id for row in inserted}
    now = utcnow()
    connection.execute(insert(_DELIVERIES), [
        {"event_id": ids[values["event_id"]], "subscription_id": subscription,
         "attempts": 0, "status": PENDING, "next_attempt_at": now, "created_at": now}
        for values, targets in wanted for subscription in targets])
    return len(wanted)


@event.listens_for(Session, "before_commit")
def _write_at_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: its events are written with the outer transaction
    write_pending(session)
