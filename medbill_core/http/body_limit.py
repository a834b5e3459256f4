"""ASGI middleware: a request body larger than its route may take is answered ``413`` before
it is read whole.

Without it, any client (no key needed: a route reads its JSON body before it checks the key)
could make a worker hold hundreds of megabytes by sending one large body. A body that says
its length (``Content-Length``) beyond the limit is refused at once, without being read; one
sent in chunks is counted as it arrives and cut off at the limit: the route's own answer is
dropped and the 413 problem sent instead.

Limits: :data:`JSON_LIMIT` for every route (a claim, a batch of payments, a form), and the
X12 upload routes' own :data:`~medbill_core.http.resources.inbound_documents.MAX_UPLOAD_BYTES`
(an 835 or an 837 file) for the paths of :data:`UPLOAD_PATHS`.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from medbill_core.http.problems import problem_response

#: a JSON or form body: a claim with its lines, a batch of work items, a sign-in
JSON_LIMIT = 4 * 1024 * 1024
#: the routes whose body is an X12 file (their own limit, ``MAX_UPLOAD_BYTES``)
UPLOAD_PATHS = ("/v1/inbound-documents", "/v1/claim-imports")


class BodyTooLarge(Exception):
    """Raised into the route reading a body past its limit (it stops reading)."""


class BodyLimit:
    """Refuse bodies beyond ``limit`` bytes (``larger``: path prefix -> its own limit)."""

    def __init__(self, app: ASGIApp, *, limit: int = JSON_LIMIT,
                 larger: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.limit = limit
        self.larger = dict(larger or {})

    def _limit_of(self, path: str) -> int:
        return next((limit for prefix, limit in self.larger.items()
                     if path == prefix or path.startswith(prefix + "/")), self.limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit_of(scope.get("path", ""))
        declared = dict(scope.get("headers") or ()).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, receive, send, limit)
            return
        received = 0
        exceeded = started = False

        async def counted() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise BodyTooLarge
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if exceeded:  # the route's answer to a body cut short is not the answer
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await self._refuse(scope, receive, send, limit)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        # the connection closes after the answer: the rest of the body is never read
        response = problem_response(scope.get("path"), 413, slug="too-large",
                                    title="Content too large",
                                    detail=f"the request body is larger than {limit} bytes",
                                    headers={"Connection": "close"})
        await response(scope, receive, send)
