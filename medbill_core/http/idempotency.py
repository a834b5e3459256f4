"""``Idempotency-Key`` on POST routes: a route takes :data:`IdempotencyParam` and, inside the
unit of work that makes its change, calls :meth:`Idempotency.respond`, so that the response
is stored in the change's transaction (see :mod:`medbill_core.services.idempotency`).

A repeated request (same principal, key, method, path and body within 24 hours) never
reaches the route: the stored response is sent again with ``Idempotent-Replayed: true``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Header, Request
from starlette.responses import Response

from medbill_core.domain.identity import Principal
from medbill_core.http.auth import api_state, authenticated
from medbill_core.services import idempotency as keys

if TYPE_CHECKING:
    from medbill_core.app import Medbill, UnitOfWork

REPLAYED_HEADER = "Idempotent-Replayed"
#: Response headers stored with the body and sent again on a replay.
KEPT_HEADERS = ("location",)


class Replay(Exception):
    """Raised by the dependency to send a stored response instead of running the route."""

    def __init__(self, stored: keys.StoredResponse) -> None:
        super().__init__("replay")
        self.stored = stored


class Idempotency:
    """The key this request holds (none when the client sent no ``Idempotency-Key``)."""

    def __init__(self, medbill: Medbill, reservation: keys.Reservation | None) -> None:
        self.medbill = medbill
        self.reservation = reservation
        self.completed = False

    def respond(self, work: UnitOfWork, status: int, body: Any,
                headers: Mapping[str, str] | None = None) -> Response:
        """The JSON response of the route, stored for replays in ``work`` (the change's
        unit of work: call it inside the ``with`` block)."""
        text = keys.response_json(body)
        kept = {name: value for name, value in (headers or {}).items()
                if name.lower() in KEPT_HEADERS}
        if self.reservation is not None:
            keys.complete(work, self.reservation, keys.StoredResponse(status, text, kept))
            self.completed = True
        return Response(text, status_code=status, headers=dict(headers or {}),
                        media_type="application/json")


def replay_response(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Replay)
    headers = {**exc.stored.headers, REPLAYED_HEADER: "true"}
    return Response(exc.stored.body, status_code=exc.stored.status, headers=headers,
                    media_type="application/json")


async def body_sha256(request: Request) -> str:
    return hashlib.sha256(await request.body()).hexdigest()


def idempotency(
        request: Request,
        principal: Annotated[Principal, Depends(authenticated)],
        digest: Annotated[str, Depends(body_sha256)],
        idempotency_key: Annotated[str | None, Header(
            alias="Idempotency-Key", max_length=keys.KEY_LENGTH,
            description="Send the same key (a UUID) when retrying: the first response is "
                        "sent again instead of a second change (24 hours)")] = None,
) -> Iterator[Idempotency]:
    medbill = api_state(request).medbill
    if idempotency_key is None:
        yield Idempotency(medbill, None)
        return
    outcome = keys.reserve(medbill, keys.KeyedRequest(
        actor=principal.actor, key=idempotency_key, method=request.method,
        path=request.url.path, body_sha256=digest))
    if isinstance(outcome, keys.StoredResponse):
        raise Replay(outcome)
    held = Idempotency(medbill, outcome)
    try:
        yield held
    except BaseException:
        keys.release(medbill, outcome)  # nothing of the request was committed (or its commit
        raise                           # failed): the key may be used again
    if not held.completed:  # a route that answered without storing its response
        keys.release(medbill, outcome)


#: A POST route's parameter: the request's idempotency key, held for the route.
IdempotencyParam = Annotated[Idempotency, Depends(idempotency)]
