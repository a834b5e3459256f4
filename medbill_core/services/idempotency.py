"""Idempotency keys: a client retrying a POST with the same ``Idempotency-Key`` gets the first
response again instead of a second change (the HTTP API, :mod:`medbill_core.http`).

A key belongs to one principal (its audit actor) for :data:`KEEP_FOR`. The life of a key:

1. :func:`reserve` (a transaction of its own, committed at once, so that a concurrent request
   with the key sees it): a new key is stored *in flight*; a key whose request completed is
   answered with the stored response when method, path and body are the same, and refused
   (:class:`IdempotencyKeyReused`, 422) when they are not; a key still in flight is refused
   (:class:`RequestInFlight`, 409).
2. :func:`complete`, inside the change's own unit of work: the response is stored in the same
   transaction as the change, so either both are committed or neither is.
3. :func:`release` when the request failed (nothing was changed): the key may be used again,
   with the same body or a corrected one.

A request that died between 1 and 2 (a killed server) left its key in flight with nothing
committed: after :data:`IN_FLIGHT_LEASE` the next request with the key takes it over.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from medbill_core.errors import MedbillError, ValidationFailed
from medbill_core.storage.schema import IdempotencyKeyRow, as_utc, utcnow

if TYPE_CHECKING:
    from medbill_core.app import Medbill, UnitOfWork

#: How long a key and its response are kept: the same key after that is a new request.
KEEP_FOR = timedelta(hours=24)
#: A key in flight for longer belongs to a request that died: the next request takes it over.
IN_FLIGHT_LEASE = timedelta(minutes=10)
#: Longest key accepted (as Stripe's and Stedi's APIs).
KEY_LENGTH = 255


class IdempotencyKeyReused(ValidationFailed):
    """The key was used before with another request (method, path or body)."""

    def __init__(self) -> None:
        super().__init__("request", [(
            "header.Idempotency-Key",
            "was used with another request in the last 24 hours; use a new key")])


class RequestInFlight(MedbillError):
    """A request with the same key is still being processed."""

    def __init__(self) -> None:
        super().__init__("a request with this Idempotency-Key is still in progress; "
                         "retry when it has finished")


@dataclass(frozen=True)
class StoredResponse:
    """The response of a completed request, to replay."""

    status: int
    body: str
    headers: dict[str, str]


@dataclass(frozen=True)
class Reservation:
    """A key this request holds in flight (see :func:`complete`, :func:`release`)."""

    id: int
    actor: str
    key: str


@dataclass(frozen=True)
class KeyedRequest:
    """What a key is checked against: who, which request, which body."""

    actor: str
    key: str
    method: str
    path: str
    body_sha256: str


def check_key(key: str) -> None:
    """Refuse a key that is empty, too long or not printable ASCII (it is stored and
    compared as sent)."""
    if not key or len(key) > KEY_LENGTH or not all("\x21" <= c <= "\x7e" for c in key):
        raise ValidationFailed("request", [(
            "header.Idempotency-Key", f"must be 1 to {KEY_LENGTH} printable ASCII characters "
            "without spaces (a UUID is a good key)")])


def reserve(app: Medbill, request: KeyedRequest, *,
            now: datetime | None = None) -> Reservation | StoredResponse:
    """Hold ``request.key`` for this request, or say what an earlier one with it answered.

    :raises IdempotencyKeyReused: the key came with another request.
    :raises RequestInFlight: the key's request has not finished.
    """
    check_key(request.key)
    with app.unit_of_work(request.actor) as work:
        return _reserve(work, request, now or utcnow())


def _reserve(work: UnitOfWork, request: KeyedRequest,
             now: datetime) -> Reservation | StoredResponse:
    session = work.session
    row = _row(work, request)
    if row is None:
        try:
            with session.begin_nested():
                row = IdempotencyKeyRow(actor=request.actor, key=request.key,
                                        method=request.method, path=request.path,
                                        request_sha256=request.body_sha256, created_at=now)
                session.add(row)
            return Reservation(row.id, request.actor, request.key)
        except IntegrityError:  # a concurrent request inserted it first
            row = _row(work, request)
            if row is None:  # it was released meanwhile: the client may retry
                raise RequestInFlight() from None
    created = as_utc(row.created_at)
    if now - created >= KEEP_FOR or (row.response_status is None
                                     and now - created >= IN_FLIGHT_LEASE):
        # an old key is a new request; a key left in flight by a dead request is taken over
        row.method, row.path, row.request_sha256 = request.method, request.path, \
            request.body_sha256
        row.created_at, row.response_status, row.response_body = now, None, None
        row.response_headers, row.completed_at = None, None
        session.flush()
        return Reservation(row.id, request.actor, request.key)
    if (row.method, row.path, row.request_sha256) != (request.method, request.path,
                                                      request.body_sha256):
        raise IdempotencyKeyReused()
    if row.response_status is None or row.response_body is None:
        raise RequestInFlight()
    return StoredResponse(row.response_status, row.response_body,
                          dict(row.response_headers or {}))


def _row(work: UnitOfWork, request: KeyedRequest) -> IdempotencyKeyRow | None:
    return work.session.scalar(select(IdempotencyKeyRow).where(
        IdempotencyKeyRow.actor == request.actor, IdempotencyKeyRow.key == request.key))


def complete(work: UnitOfWork, reservation: Reservation, response: StoredResponse) -> None:
    """Store the response of the reserved request in ``work``, the change's transaction.

    :raises RequestInFlight: the reservation was taken over (the request outlived
        :data:`IN_FLIGHT_LEASE`): the change is rolled back with ``work``.
    """
    stored = work.session.execute(
        update(IdempotencyKeyRow)
        .where(IdempotencyKeyRow.id == reservation.id,
               IdempotencyKeyRow.response_status.is_(None))
        .values(response_status=response.status, response_body=response.body,
                response_headers=response.headers, completed_at=utcnow()))
    if getattr(stored, "rowcount", 1) != 1:
        raise RequestInFlight()


def release(app: Medbill, reservation: Reservation) -> None:
    """Forget a reservation whose request failed (nothing of it was committed)."""
    with app.unit_of_work(reservation.actor) as work:
        work.session.execute(delete(IdempotencyKeyRow).where(
            IdempotencyKeyRow.id == reservation.id,
            IdempotencyKeyRow.response_status.is_(None)))


def purge_expired(app: Medbill, *, now: datetime | None = None) -> int:
    """Delete the keys older than :data:`KEEP_FOR`; returns how many (``medbill serve`` at
    start-up; a kept key is also renewed when it is used again after that)."""
    cutoff = (now or utcnow()) - KEEP_FOR
    with app.unit_of_work("medbill:serve") as work:
        result = work.session.execute(delete(IdempotencyKeyRow).where(
            IdempotencyKeyRow.created_at < cutoff))
        return int(getattr(result, "rowcount", 0) or 0)


def response_json(body: object) -> str:
    """A response body as stored: compact JSON, as it is sent."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)
