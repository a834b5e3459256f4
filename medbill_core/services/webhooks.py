"""Webhooks: subscriptions, and delivering the outbox's events to them, signed and retried.

Events are recorded by the change they report, in its transaction
(:mod:`medbill_core.storage.webhook_outbox`); each gets a delivery row per subscription that
wants it. :func:`deliver_due` sends what is due:

* a POST of ``{"id": event id, "type": ..., "created": ISO time, "data": {...}}`` with the
  headers ``Medbill-Event-Id`` and ``Medbill-Signature: t=<unix ts>,v1=<hex>``
  (:mod:`medbill_core.services.webhook_signing`), with a timeout;
* a 2xx answer marks it delivered; anything else (another status, a refused or dropped
  connection, a timeout) is tried again after 1 min, 5 min, 30 min, 2 h, 6 h and 12 h (each
  with up to 10 % jitter, so receivers coming back are not hit all at once), and after the
  last attempt fails (about 21 h after the first) it is ``dead``;
* a delivery is never marked delivered without a 2xx, so a receiver may see an event again
  (an answer lost on the way back): receivers de-duplicate by the event id.

Rows are claimed before they are sent, in a short transaction (PostgreSQL: ``FOR UPDATE SKIP
LOCKED``; SQLite: the write lock of ``BEGIN IMMEDIATE``) that pushes their ``next_attempt_at``
a lease ahead: two senders never send the same row at once, no transaction stays open while
a receiver answers, and rows a killed sender held are due again when the lease runs out.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import random
import secrets
import socket
import ssl
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, Table, bindparam, select, update
from sqlalchemy.orm import Session

from medbill_core import audit
from medbill_core.domain.identity import Principal
from medbill_core.errors import MedbillError, NotFound, ValidationFailed
from medbill_core.permissions import Action
from medbill_core.services.webhook_signing import SIGNATURE_HEADER, signature_header
from medbill_core.storage import tenancy
from medbill_core.storage.schema import (
    AppealRow,
    WebhookDeliveryRow,
    WebhookEventRow,
    WebhookSubscriptionRow,
    as_utc,
    utcnow,
)
from medbill_core.storage.webhook_outbox import record

if TYPE_CHECKING:
    from medbill_core.app import Medbill, UnitOfWork

#: the event types a subscription may name, and what each reports
EVENT_TYPES: dict[str, str] = {
    "claim.submitted": "a claim's batch was taken by its channel",
    "claim.acknowledged": "the payer acknowledged a claim (277CA)",
    "claim.accepted": "the payer accepted a claim into adjudication",
    "claim.rejected": "the payer or clearinghouse rejected a claim (999, 277CA)",
    "claim.denied": "the payer denied a claim (835)",
    "claim.paid": "the payer paid a claim in full or in part (835)",
    "claim.patient_balance": "a claim's balance moved to the patient",
    "claim.closed": "a claim was settled",
    "claim.voided": "a claim was voided",
    "claim.replaced": "a claim was replaced by a corrected claim",
    "remittance.posted": "an 835 remittance was posted",
    "payment.posted": "a patient payment was posted",
    "statement.produced": "a patient statement was produced",
    "appeal.deadline_near": "an open appeal's deadline is near",
    "ping": "a test event (medbill webhooks test)",
}

#: the waits between attempts (jittered); after the last, a failed attempt is final
RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
    timedelta(hours=6), timedelta(hours=12))
#: attempts before a delivery is dead
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
#: the share of a wait added at random
JITTER = 0.1
#: seconds a receiver has to answer
DEFAULT_TIMEOUT = 10.0
#: how long a claimed delivery is kept from other senders at least (and at least four
#: timeouts plus 30 s: longer than a round of sends can take)
LEASE = timedelta(minutes=2)
#: deliveries sent at once (one thread each), and claimed per round
CONCURRENCY = 8
#: the most events a subscription's log lists by default
LOG_LIMIT = 50

PENDING, DELIVERED, FAILED, DEAD = "pending", "delivered", "failed", "dead"
_LOOPBACK_NAMES = {"localhost"}


@dataclass(frozen=True)
class Subscription:
    id: int
    url: str
    event_types: list[str]
    active: bool
    created_at: datetime
    created_by: str
    disabled_at: datetime | None


@dataclass(frozen=True)
class NewSubscription:
    """A subscription just created and its signing secret (shown this once)."""

    subscription: Subscription
    secret: str


@dataclass(frozen=True)
class Delivery:
    """One line of a subscription's delivery log."""

    id: int
    event_id: str
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None


@dataclass(frozen=True)
class Outcome:
    """What one attempt of :func:`deliver_due` came to."""

    delivery_id: int
    event_id: str
    subscription_id: int
    status: str
    status_code: int | None
    error: str | None


@dataclass(frozen=True)
class _Claimed:
    delivery_id: int
    subscription_id: int
    attempts: int
    url: str
    secret: str
    event_id: str
    body: bytes


#: sends one request: (url, body, headers, timeout) -> HTTP status code (raises OSError)
Sender = Callable[[str, bytes, dict[str, str], float], int]


# -- subscriptions -------------------------------------------------------------------------------

def check_url(url: str, *, local_allowed: bool = True) -> str:
    """A receiver URL: ``https``, or ``http`` to a loopback host only (a receiver tested on
    the same machine): the body and signature would otherwise cross the network in clear.

    ``local_allowed=False`` (a subscription made over the API, by a practice's key rather than
    by whoever runs the installation): no loopback, private, link-local or reserved address
    either, written as an address or ``localhost`` -- the server's own network is not the
    tenants' to reach (cloud metadata, the database, the simulator).

    :raises ValidationFailed: naming the field ``url``.
    """
    text = url.strip()
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
        _ = parts.port  # raises for a port that is not a number
    except ValueError:
        raise ValidationFailed("webhook subscription", [("url", "not a valid URL")]) from None
    if parts.scheme not in ("http", "https") or not host:
        raise ValidationFailed("webhook subscription",
                               [("url", "must be an http(s) URL with a host")])
    if parts.username or parts.password:
        raise ValidationFailed("webhook subscription",
                               [("url", "must not carry a user name or password")])
    if not local_allowed and _internal(host):
        raise ValidationFailed("webhook subscription", [
            ("url", "must name a host on the internet, not a loopback, private or reserved "
                    "address")])
    if parts.scheme == "http" and not _loopback(host):
        raise ValidationFailed("webhook subscription", [
            ("url", "must use https (plain http only to 127.0.0.1 or localhost)")])
    if len(text) > 2000:
        raise ValidationFailed("webhook subscription", [("url", "longer than 2000 characters")])
    return text


def _internal(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES or host.lower().endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return not address.is_global or address.is_multicast


def _loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_event_types(event_types: Sequence[str]) -> list[str]:
    """The event types named, each once, in order.

    :raises ValidationFailed: none given, or one unknown (naming it and the known ones).
    """
    chosen = list(dict.fromkeys(t.strip() for t in event_types if t.strip()))
    if not chosen:
        raise ValidationFailed("webhook subscription",
                               [("events", "name at least one event type")])
    unknown = [t for t in chosen if t not in EVENT_TYPES]
    if unknown:
        raise ValidationFailed("webhook subscription", [(
            "events", f"unknown event type {unknown[0]!r} (known: "
            f"{', '.join(t for t in EVENT_TYPES if t != 'ping')})")])
    return chosen


def add_subscription(work: UnitOfWork, url: str, event_types: Sequence[str], *,
                     local_allowed: bool = True) -> NewSubscription:
    """Subscribe ``url`` to ``event_types``; the secret it is signed with is returned once.
    ``local_allowed``: see :func:`check_url` (False for the API)."""
    work.require(Action.WEBHOOKS_MANAGE)
    row = WebhookSubscriptionRow(url=check_url(url, local_allowed=local_allowed),
                                 event_types=check_event_types(event_types),
                                 secret="whsec_" + secrets.token_hex(32), active=True,
                                 created_at=utcnow(), created_by=work.actor)
    work.session.add(row)
    work.session.flush()
    audit.record(work.session, actor=work.actor, action="webhook.subscribe",
                 entity_type="webhook_subscription", entity_id=row.id,
                 details={"events": row.event_types})
    return NewSubscription(_subscription(row), row.secret)


def list_subscriptions(work: UnitOfWork, *,
                       include_removed: bool = False) -> list[Subscription]:
    work.require(Action.WEBHOOKS_READ)
    statement = (select(WebhookSubscriptionRow).where(*_of_this_practice(work.session))
                 .order_by(WebhookSubscriptionRow.id))
    if not include_removed:
        statement = statement.where(WebhookSubscriptionRow.active.is_(True))
    return [_subscription(row) for row in work.session.scalars(statement)]


def remove_subscription(work: UnitOfWork, subscription_id: int) -> Subscription:
    """Stop sending to a subscription. Its row and delivery log stay (the log is history);
    deliveries not yet made are not attempted any more.

    :raises NotFound: no such subscription, or it was removed already.
    """
    work.require(Action.WEBHOOKS_MANAGE)
    row = _active_row(work.session, subscription_id)
    row.active = False
    row.disabled_at = utcnow()
    work.session.flush()
    audit.record(work.session, actor=work.actor, action="webhook.unsubscribe",
                 entity_type="webhook_subscription", entity_id=row.id)
    return _subscription(row)


def _of_this_practice(session: Session) -> list[ColumnElement[bool]]:
    """The criterion of the acting practice's subscriptions (none for the installation's own
    work). Subscriptions are not a scoped table: the outbox's writer and the sender read
    every practice's at commit and delivery time."""
    practice_id = tenancy.scope_of(session)
    return [] if practice_id is None else [WebhookSubscriptionRow.practice_id == practice_id]


def _row(session: Session, subscription_id: int) -> WebhookSubscriptionRow | None:
    return session.scalar(select(WebhookSubscriptionRow).where(
        WebhookSubscriptionRow.id == subscription_id, *_of_this_practice(session)))


def _active_row(session: Session, subscription_id: int) -> WebhookSubscriptionRow:
    row = _row(session, subscription_id)
    if row is None or not row.active:
        raise NotFound("webhook subscription", subscription_id)
    return row


def deliveries(work: UnitOfWork, subscription_id: int, *,
               limit: int = LOG_LIMIT, before_id: int | None = None) -> list[Delivery]:
    """A subscription's delivery log, newest first (``before_id``: older than that delivery,
    the API's keyset pages).

    :raises NotFound: no such subscription (a removed one still has its log).
    """
    work.require(Action.WEBHOOKS_READ)
    if _row(work.session, subscription_id) is None:
        raise NotFound("webhook subscription", subscription_id)
    query = (select(WebhookDeliveryRow, WebhookEventRow.event_id, WebhookEventRow.event_type)
             .join(WebhookEventRow, WebhookEventRow.id == WebhookDeliveryRow.event_id)
             .where(WebhookDeliveryRow.subscription_id == subscription_id)
             .order_by(WebhookDeliveryRow.id.desc()).limit(limit))
    if before_id is not None:
        query = query.where(WebhookDeliveryRow.id < before_id)
    rows = work.session.execute(query)
    return [Delivery(row.id, event_id, event_type, row.status, row.attempts,
                     row.next_attempt_at, row.last_attempt_at, row.last_status_code,
                     row.last_error, row.delivered_at)
            for row, event_id, event_type in rows]


def _subscription(row: WebhookSubscriptionRow) -> Subscription:
    return Subscription(row.id, row.url, list(row.event_types), row.active, row.created_at,
                        row.created_by, row.disabled_at)


def send_test_event(app: Medbill, subscription_id: int, *, sender: Sender | None = None,
                    principal: Principal | None = None) -> Outcome:
    """Record a ``ping`` event for one subscription and deliver it now (its log shows it),
    as ``principal`` (default :attr:`Medbill.acting_as`)."""
    app.require(Action.WEBHOOKS_MANAGE, principal=principal)
    with app.unit_of_work(principal=principal) as work:
        _active_row(work.session, subscription_id)
        # for this subscription only (others did not ask for pings): not through the outbox
        event_row = WebhookEventRow(event_id=str(uuid.uuid4()), event_type="ping",
                                    payload={"subscription_id": subscription_id},
                                    created_at=utcnow())
        work.session.add(event_row)
        work.session.flush()
        delivery = WebhookDeliveryRow(event_id=event_row.id, subscription_id=subscription_id,
                                      attempts=0, status=PENDING, next_attempt_at=utcnow(),
                                      created_at=utcnow())
        work.session.add(delivery)
        work.session.flush()
        delivery_id = delivery.id
    outcomes = deliver_due(app, delivery_ids=[delivery_id], sender=sender)
    if not outcomes:  # a sender running meanwhile took it: its log will show the outcome
        raise MedbillError(f"the ping (delivery {delivery_id}) is being sent by another "
                           "sender: see medbill webhooks deliveries")
    return outcomes[0]


# -- delivering ----------------------------------------------------------------------------------

def event_body(event_id: str, event_type: str, created_at: datetime,
               data: dict[str, Any]) -> bytes:
    """The JSON body receivers get (compact, keys in a fixed order: what is signed)."""
    return json.dumps({"id": event_id, "type": event_type,
                       "created": as_utc(created_at).isoformat(), "data": data},
                      separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def deliver_due(app: Medbill, *, now: datetime | None = None, limit: int = 100,
                timeout: float = DEFAULT_TIMEOUT, sender: Sender | None = None,
                delivery_ids: Sequence[int] | None = None,
                concurrency: int = CONCURRENCY) -> list[Outcome]:
    """Send every delivery due at ``now`` (at most ``limit``), each once, and record how it
    went. ``delivery_ids``: only these (due or not, unless delivered or dead).

    Deliveries are claimed ``concurrency`` at a time, sent at once (one thread each) and
    their outcomes written with one statement: a claim never outlives its lease, however
    slow the receivers, and a commit serves a whole round.

    :param now: the time deliveries are due by and retries are scheduled from (default: now).
    :param sender: what sends a request (default: :func:`post`; tests may pass their own).
    """
    app.require(Action.WEBHOOKS_MANAGE)
    moment = now or utcnow()
    send = sender or post
    # the timeout bounds each socket operation (connect, send, read): a round takes at most a
    # few times it
    lease = max(LEASE, timedelta(seconds=4 * timeout + 30))
    outcomes: list[Outcome] = []
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        while len(outcomes) < limit:
            claimed = _claim(app, moment, min(max(1, concurrency), limit - len(outcomes)),
                             delivery_ids, lease)
            if not claimed:
                break
            answers = list(pool.map(lambda item: _attempt(item, send, timeout), claimed))
            outcomes += _settle(app, claimed, answers, moment)
            if delivery_ids is not None:
                break  # those named, once (failed ones are not due again now)
    return outcomes


def _attempt(item: _Claimed, send: Sender, timeout: float) -> tuple[int | None, str | None]:
    """One POST: (status code, None) for a 2xx, else (status code or None, what went wrong)."""
    headers = {"Content-Type": "application/json", "User-Agent": "medbill-webhooks",
               "Medbill-Event-Id": item.event_id,
               SIGNATURE_HEADER: signature_header(item.secret, item.body)}
    try:
        code = send(item.url, item.body, headers, timeout)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return None, _safe_error(exc)
    return code, None if 200 <= code < 300 else f"HTTP {code}"


def _claim(app: Medbill, moment: datetime, limit: int, delivery_ids: Sequence[int] | None,
           lease: timedelta) -> list[_Claimed]:
    """Take the due deliveries for this sender: their ``next_attempt_at`` moves a lease
    ahead in the same short transaction that locked them."""
    with app.unit_of_work() as work:
        statement = (select(WebhookDeliveryRow.id)
                     .join(WebhookSubscriptionRow,
                           WebhookSubscriptionRow.id == WebhookDeliveryRow.subscription_id)
                     .where(WebhookSubscriptionRow.active.is_(True),
                            WebhookDeliveryRow.status.in_((PENDING, FAILED)))
                     .order_by(WebhookDeliveryRow.next_attempt_at, WebhookDeliveryRow.id)
                     .limit(limit))
        if delivery_ids is not None:
            statement = statement.where(WebhookDeliveryRow.id.in_(list(delivery_ids)))
        else:
            statement = statement.where(WebhookDeliveryRow.next_attempt_at <= moment)
        if work.session.bind is not None and work.session.bind.dialect.name == "postgresql":
            statement = statement.with_for_update(of=WebhookDeliveryRow, skip_locked=True)
        ids = list(work.session.scalars(statement))
        if not ids:
            return []
        work.session.execute(update(WebhookDeliveryRow).where(WebhookDeliveryRow.id.in_(ids))
                             .values(next_attempt_at=utcnow() + lease))
        rows = work.session.execute(
            select(WebhookDeliveryRow.id, WebhookDeliveryRow.subscription_id,
                   WebhookDeliveryRow.attempts, WebhookSubscriptionRow.url,
                   WebhookSubscriptionRow.secret, WebhookEventRow.event_id,
                   WebhookEventRow.event_type, WebhookEventRow.created_at,
                   WebhookEventRow.payload)
            .join(WebhookSubscriptionRow,
                  WebhookSubscriptionRow.id == WebhookDeliveryRow.subscription_id)
            .join(WebhookEventRow, WebhookEventRow.id == WebhookDeliveryRow.event_id)
            .where(WebhookDeliveryRow.id.in_(ids))
            .order_by(WebhookDeliveryRow.next_attempt_at, WebhookDeliveryRow.id)).all()
    return [_Claimed(row.id, row.subscription_id, row.attempts, row.url, row.secret,
                     row.event_id, event_body(row.event_id, row.event_type, row.created_at,
                                              dict(row.payload)))
            for row in rows]


def _settle(app: Medbill, claimed: Sequence[_Claimed],
            answers: Sequence[tuple[int | None, str | None]], moment: datetime
            ) -> list[Outcome]:
    """Record a round's attempts (one executemany): delivered on a 2xx; otherwise failed and
    due again after :func:`retry_delay`, or dead after :data:`MAX_ATTEMPTS`."""
    now = utcnow()
    rows: list[dict[str, Any]] = []
    outcomes = []
    for item, (code, error) in zip(claimed, answers, strict=True):
        attempts = item.attempts + 1
        if error is None:
            status, due, delivered = DELIVERED, None, now
        elif attempts >= MAX_ATTEMPTS:
            status, due, delivered = DEAD, None, None
        else:
            status, due, delivered = FAILED, moment + retry_delay(attempts), None
        rows.append({"row_id": item.delivery_id, "new_attempts": attempts,
                     "new_status": status, "new_due": due, "attempted": now, "code": code,
                     "error": error, "delivered": delivered})
        outcomes.append(Outcome(item.delivery_id, item.event_id, item.subscription_id, status,
                                code, error))
    with app.unit_of_work() as work:
        work.session.execute(_SETTLE, rows)
    return outcomes


_DELIVERIES = cast(Table, WebhookDeliveryRow.__table__)
_SETTLE = (update(_DELIVERIES).where(_DELIVERIES.c.id == bindparam("row_id"))
           .values(attempts=bindparam("new_attempts"), status=bindparam("new_status"),
                   next_attempt_at=bindparam("new_due"), last_attempt_at=bindparam("attempted"),
                   last_status_code=bindparam("code"), last_error=bindparam("error"),
                   delivered_at=bindparam("delivered")))


def retry_delay(attempts: int, *, rng: random.Random | None = None) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: :data:`RETRY_DELAYS` plus up to
    :data:`JITTER` of it at random."""
    base = RETRY_DELAYS[min(attempts, len(RETRY_DELAYS)) - 1]
    return base * (1 + (rng or random).uniform(0, JITTER))


def _safe_error(exc: BaseException) -> str:
    """What went wrong, in our words: the exception's type (its text may quote the URL or
    the receiver's answer), and "timed out" for a timeout."""
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, http.client.RemoteDisconnected | ConnectionResetError):
        return "connection closed by the receiver"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error ({type(exc).__name__})"
    return f"request failed ({type(exc).__name__})"


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST ``body`` to ``url`` and return the status code; redirects are not followed (a
    receiver answers itself). Raises ``OSError`` / ``HTTPException`` when no answer came."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(host, parts.port, timeout=timeout,
                                                 context=ssl.create_default_context())
    else:
        connection = http.client.HTTPConnection(host, parts.port, timeout=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read(65536)  # a little of the answer, so the connection closes cleanly
        return response.status
    finally:
        connection.close()



# -- events found by a scan ----------------------------------------------------------------------

#: days before an open appeal's deadline that ``appeal.deadline_near`` is sent
APPEAL_NOTICE_DAYS = 7


def scan_appeal_deadlines(work: UnitOfWork, *, today: date | None = None,
                          within_days: int = APPEAL_NOTICE_DAYS) -> int:
    """Record ``appeal.deadline_near`` for each open appeal (not sent yet) whose deadline is
    ``within_days`` away or less and not past: once per appeal and deadline (a later scan
    finds it again and stores nothing). Returns the events recorded in this transaction."""
    day = today or date.today()
    rows = work.session.execute(
        select(AppealRow.id, AppealRow.claim_id, AppealRow.level, AppealRow.deadline)
        .where(AppealRow.status == "open", AppealRow.deadline.is_not(None),
               AppealRow.deadline >= day,
               AppealRow.deadline <= day + timedelta(days=within_days))
        .order_by(AppealRow.deadline, AppealRow.id)).all()
    for appeal_id, claim_id, level, deadline in rows:
        assert deadline is not None  # the query's condition
        record(work.session, "appeal.deadline_near", {
            "appeal_id": appeal_id, "claim_id": claim_id, "level": level,
            "deadline": deadline.isoformat(), "days_left": (deadline - day).days},
            dedupe_key=f"appeal.deadline_near:{appeal_id}:{deadline.isoformat()}")
    return len(rows)


def run_due(app: Medbill, *, now: datetime | None = None, limit: int = 100,
            timeout: float = DEFAULT_TIMEOUT, sender: Sender | None = None) -> list[Outcome]:
    """What ``medbill webhooks deliver`` and the workers' tick do: the scans for events no
    change reports (appeal deadlines), then every delivery due."""
    app.require(Action.WEBHOOKS_MANAGE)
    with app.unit_of_work() as work:
        scan_appeal_deadlines(work)
    return deliver_due(app, now=now, limit=limit, timeout=timeout, sender=sender)
