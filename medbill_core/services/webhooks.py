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

A subscription made over the API (``local_allowed=False``) may only reach public addresses:
its host is refused when subscribing if it names or resolves to a loopback, private,
link-local, reserved or metadata address (in any spelling a resolver accepts), and each
delivery resolves the host once, refuses it when any address is not public, and connects to
the addresses it vetted (:func:`post`): a name that resolves elsewhere later (DNS rebinding)
never reaches the server's own network.
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
from concurrent.futures import TimeoutError as FutureTimeout
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
#: names of the server itself and of cloud metadata services, refused whatever they resolve to
#: (one-label names -- ``metadata``, ``db`` -- are refused too: the resolver's search domains
#: make them the local network's)
_INTERNAL_NAMES = {"localhost", "metadata.google.internal", "metadata.goog",
                   "instance-data.ec2.internal"}
#: suffixes of names that are never on the internet (RFC 6761, 6762, 8375; ICANN's .internal)
_INTERNAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa",
                      ".lan", ".intranet", ".corp")
#: IPv6 prefixes carrying an IPv4 address in their last 32 bits (NAT64, RFC 6052 / 8215)
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
#: seconds a subscription waits for its host to resolve (a name that does not resolve by then
#: is accepted: every delivery checks it again)
RESOLVE_TIMEOUT = 3.0
#: the delivery log's error for a destination that is not a public address (the same whatever
#: the address and port: the log must not map the server's network)
REFUSED_DESTINATION = "destination refused: not a public address"

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class DestinationRefused(OSError):
    """A subscription that may reach public addresses only resolved to another one."""


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
    #: the subscription may reach the server's own network (see :func:`check_url`)
    local_allowed: bool


#: sends one request: (url, body, headers, timeout) -> HTTP status code (raises OSError)
Sender = Callable[[str, bytes, dict[str, str], float], int]


# -- subscriptions -------------------------------------------------------------------------------

def check_url(url: str, *, local_allowed: bool = True) -> str:
    """A receiver URL: ``https``, or ``http`` to a loopback host only (a receiver tested on
    the same machine): the body and signature would otherwise cross the network in clear.

    ``local_allowed=False`` (a subscription made over the API, by a practice's key rather than
    by whoever runs the installation): the host must be a public address or a name on the
    internet -- the server's own network is not the tenants' to reach (cloud metadata, the
    database, the simulator). Refused: a loopback, private, link-local, multicast, reserved
    or unspecified address in any form a resolver accepts (``2130706433``, ``0x7f000001``,
    ``127.1``, ``0``, ``[::ffff:127.0.0.1]`` ...), ``localhost`` and the metadata names, a
    one-label name or one under ``.internal``, ``.local`` ..., and a name that resolves now
    (within :data:`RESOLVE_TIMEOUT`) to any such address. A name that does not resolve yet is
    accepted: each delivery checks its addresses again (:func:`post`).

    :raises ValidationFailed: naming the field ``url``.
    """
    text = url.strip()
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
        port = parts.port  # raises for a port that is not a number
    except ValueError:
        raise ValidationFailed("webhook subscription", [("url", "not a valid URL")]) from None
    if parts.scheme not in ("http", "https") or not host:
        raise ValidationFailed("webhook subscription",
                               [("url", "must be an http(s) URL with a host")])
    if parts.username or parts.password:
        raise ValidationFailed("webhook subscription",
                               [("url", "must not carry a user name or password")])
    not_public = ValidationFailed("webhook subscription", [
        ("url", "must name a host on the internet, not a loopback, private or reserved "
                "address")])
    if not local_allowed and _internal(host):
        raise not_public
    if parts.scheme == "http" and not _loopback(host):
        raise ValidationFailed("webhook subscription", [
            ("url", "must use https (plain http only to 127.0.0.1 or localhost)")])
    if len(text) > 2000:
        raise ValidationFailed("webhook subscription", [("url", "longer than 2000 characters")])
    if not local_allowed and not all(
            is_public(address) for address in _resolve_within(
                host, port or _DEFAULT_PORTS[parts.scheme], RESOLVE_TIMEOUT)):
        raise not_public
    return text


_DEFAULT_PORTS = {"http": 80, "https": 443}


def normal_host(host: str) -> str:
    """``host`` as the resolver sees it: IDNA-encoded as :mod:`socket` does (full-width digits
    and dots become ASCII ones), lower case, without the trailing dots of a fully qualified
    name (``localhost.`` is ``localhost``). Empty when it cannot be encoded."""
    try:
        encoded = host.encode("idna").decode("ascii")
    except UnicodeError:
        return ""
    return encoded.lower().rstrip(".")


def host_address(host: str) -> Address | None:
    """The address ``host`` is, written in any form a resolver takes as an address without
    asking DNS (``inet_aton``'s: ``2130706433``, ``0x7f000001``, ``017700000001``,
    ``127.1``, ``0``; IPv6 with or without its brackets); None for a name."""
    name = normal_host(host.strip("[]"))
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        pass
    parts = name.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values = []
    for part in parts:
        try:
            if part[:2] == "0x":
                values.append(int(part[2:] or "0", 16))  # 0x alone is 0, as inet_aton reads it
            elif len(part) > 1 and part[0] == "0":
                values.append(int(part[1:], 8))
            else:
                values.append(int(part, 10) if part.isdigit() else -1)
        except ValueError:
            return None
    # each part but the last is one byte; the last fills the bytes left
    *leading, last = values
    if min(values) < 0 or any(v > 0xFF for v in leading) or last >= 256 ** (5 - len(values)):
        return None
    number = last
    for index, value in enumerate(leading):
        number += value << (8 * (3 - index))
    return ipaddress.IPv4Address(number)


def is_public(address: Address) -> bool:
    """Whether ``address`` is on the internet: not loopback, private, link-local, multicast,
    reserved, unspecified or otherwise not global -- nor an IPv6 address carrying such an
    IPv4 address (mapped ``::ffff:a.b.c.d``, 6to4, NAT64)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and any(address in prefix for prefix in _NAT64):
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None and not is_public(embedded):
            return False
        if address.is_site_local:
            return False
    return address.is_global and not (
        address.is_private or address.is_loopback or address.is_link_local
        or address.is_multicast or address.is_reserved or address.is_unspecified)


def _internal(host: str) -> bool:
    """A host that is not a public place by what it says, before any lookup: a non-public
    address in any spelling, or a local, one-label or metadata name."""
    address = host_address(host)
    if address is not None:
        return not is_public(address)
    name = normal_host(host)
    return (not name or "." not in name or name in _INTERNAL_NAMES
            or name.endswith(_INTERNAL_SUFFIXES))


def _loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _resolve(host: str, port: int) -> list[Address]:
    """The addresses ``host`` resolves to, as a connection to it would find them.

    :raises OSError: it does not resolve (``socket.gaierror``).
    """
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in found))


def _resolve_within(host: str, port: int, timeout: float) -> list[Address]:
    """:func:`_resolve` given ``timeout`` seconds (a resolver can take far longer to give up):
    no addresses when it fails or takes longer."""
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(_resolve, host, port).result(timeout)
    except (OSError, UnicodeError, ValueError, FutureTimeout):
        return []
    finally:
        pool.shutdown(wait=False)


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
    ``local_allowed``: see :func:`check_url` (False for the API); it is kept with the
    subscription, and its deliveries reach public addresses only when it is False."""
    work.require(Action.WEBHOOKS_MANAGE)
    row = WebhookSubscriptionRow(url=check_url(url, local_allowed=local_allowed),
                                 event_types=check_event_types(event_types),
                                 secret="whsec_" + secrets.token_hex(32), active=True,
                                 local_allowed=local_allowed, created_at=utcnow(),
                                 created_by=work.actor)
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
    :param sender: what sends a request (default: :func:`post`, to public addresses only for
        a subscription made over the API; tests may pass their own, which checks nothing).
    """
    app.require(Action.WEBHOOKS_MANAGE)
    moment = now or utcnow()
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
            answers = list(pool.map(lambda item: _attempt(item, sender, timeout), claimed))
            outcomes += _settle(app, claimed, answers, moment)
            if delivery_ids is not None:
                break  # those named, once (failed ones are not due again now)
    return outcomes


def _attempt(item: _Claimed, sender: Sender | None,
             timeout: float) -> tuple[int | None, str | None]:
    """One POST: (status code, None) for a 2xx, else (status code or None, what went wrong).
    A destination refused (:class:`DestinationRefused`) is a failed attempt like another,
    tried again on the same schedule (each time resolved and checked again)."""
    headers = {"Content-Type": "application/json", "User-Agent": "medbill-webhooks",
               "Medbill-Event-Id": item.event_id,
               SIGNATURE_HEADER: signature_header(item.secret, item.body)}
    try:
        if sender is None:
            code = post(item.url, item.body, headers, timeout,
                        public_only=not item.local_allowed)
        else:
            code = sender(item.url, item.body, headers, timeout)
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
                   WebhookSubscriptionRow.secret, WebhookSubscriptionRow.local_allowed,
                   WebhookEventRow.event_id,
                   WebhookEventRow.event_type, WebhookEventRow.created_at,
                   WebhookEventRow.payload)
            .join(WebhookSubscriptionRow,
                  WebhookSubscriptionRow.id == WebhookDeliveryRow.subscription_id)
            .join(WebhookEventRow, WebhookEventRow.id == WebhookDeliveryRow.event_id)
            .where(WebhookDeliveryRow.id.in_(ids))
            .order_by(WebhookDeliveryRow.next_attempt_at, WebhookDeliveryRow.id)).all()
    return [_Claimed(row.id, row.subscription_id, row.attempts, row.url, row.secret,
                     row.event_id, event_body(row.event_id, row.event_type, row.created_at,
                                              dict(row.payload)), bool(row.local_allowed))
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
    the receiver's answer), and "timed out" for a timeout. A destination refused says only
    that, whatever its address and port (nothing was sent to it)."""
    if isinstance(exc, DestinationRefused):
        return REFUSED_DESTINATION
    if isinstance(exc, socket.gaierror):
        return "the host does not resolve"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, http.client.RemoteDisconnected | ConnectionResetError):
        return "connection closed by the receiver"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error ({type(exc).__name__})"
    return f"request failed ({type(exc).__name__})"


def post(url: str, body: bytes, headers: dict[str, str], timeout: float, *,
         public_only: bool = True) -> int:
    """POST ``body`` to ``url`` and return the status code; redirects are not followed (a
    receiver answers itself). Raises ``OSError`` / ``HTTPException`` when no answer came.

    The host is resolved once, here, and the connection is made to the addresses found
    (the ``Host`` header, TLS's server name and the certificate check still name the host):
    with ``public_only``, :class:`DestinationRefused` (an ``OSError``) is raised before any
    connection when one of them is not public (:func:`is_public`), and no later lookup --
    which DNS rebinding could answer differently -- decides where the request goes.
    ``public_only=False`` only for a subscription made with ``local_allowed``.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or _DEFAULT_PORTS.get(parts.scheme, 443)
    if public_only and _internal(host):
        raise DestinationRefused(REFUSED_DESTINATION)
    addresses = _resolve(host, port)
    if public_only and not all(is_public(address) for address in addresses):
        raise DestinationRefused(REFUSED_DESTINATION)
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = _HTTPSTo(host, port, addresses, timeout, ssl.create_default_context())
    else:
        connection = _HTTPTo(host, port, addresses, timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read(65536)  # a little of the answer, so the connection closes cleanly
        return response.status
    finally:
        connection.close()


def _connect(addresses: Sequence[Address], port: int,
             timeout: float | None) -> socket.socket:
    """A TCP connection to the first of ``addresses`` that answers (each an address, not a
    name: nothing is looked up again)."""
    failure: OSError = ConnectionError("no address to connect to")
    for address in addresses:
        try:
            connected = socket.create_connection((str(address), port), timeout)
        except OSError as exc:
            failure = exc
            continue
        connected.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connected
    raise failure


class _HTTPTo(http.client.HTTPConnection):
    """An HTTP connection to ``host`` made to the addresses vetted for it."""

    def __init__(self, host: str, port: int, addresses: Sequence[Address],
                 timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._addresses = list(addresses)

    def connect(self) -> None:
        self.sock = _connect(self._addresses, self.port, self.timeout)


class _HTTPSTo(http.client.HTTPSConnection):
    """An HTTPS connection to ``host`` made to the addresses vetted for it: TLS names and
    verifies ``host`` (SNI, certificate), as a connection by name would."""

    def __init__(self, host: str, port: int, addresses: Sequence[Address], timeout: float,
                 context: ssl.SSLContext) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._addresses = list(addresses)
        self._tls = context

    def connect(self) -> None:
        connected = _connect(self._addresses, self.port, self.timeout)
        try:
            self.sock = self._tls.wrap_socket(connected, server_hostname=self.host)
        except BaseException:
            connected.close()
            raise



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
