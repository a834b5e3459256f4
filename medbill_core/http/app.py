"""The FastAPI application of ``medbill serve``: :func:`create_app`."""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from fastapi import Depends, FastAPI, Request

from medbill_core.domain.base import has_control_character
from medbill_core.errors import ValidationFailed
from medbill_core.http import problems
from medbill_core.http.auth import ApiState, Authenticator, default_authenticator
from medbill_core.http.body_limit import UPLOAD_PATHS, BodyLimit
from medbill_core.http.idempotency import Replay, replay_response
from medbill_core.http.resources.inbound_documents import MAX_UPLOAD_BYTES
from medbill_core.services.sessions import DEFAULT_POLICY, SessionPolicy

if TYPE_CHECKING:
    from medbill_core.app import Medbill

DESCRIPTION = """The medbill REST API. Every route but `/v1/health` and the sign-in
(`POST /v1/sessions`) needs an API key, `Authorization: Bearer <key>`, or a browser session's
cookie (with its CSRF token in `X-CSRF-Token` on POST, PUT, PATCH and DELETE). Errors are
RFC 9457 problems (`application/problem+json`), lists are cursor pages (`limit`, `cursor` ->
`next_cursor`), and a POST sent again with the
same `Idempotency-Key` and body within 24 hours answers what it answered the first time."""


def _version() -> str:
    try:
        return version("medbill")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "0"


_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,40}")


async def plain_query(request: Request) -> None:
    """Refuse a query parameter holding a control character (a NUL, an escape, a line break),
    for every route at once: no filter is written with one, and PostgreSQL refuses a NUL in
    text with an error of its own (a 500 had it reached the database). A parameter is named
    only when its name is a plain identifier (a client's made-up name is its input)."""
    fields = sorted({f"query.{name}" if _PLAIN_NAME.fullmatch(name) else "query"
                     for name, value in request.query_params.multi_items()
                     if has_control_character(value) or has_control_character(name)})
    if fields:
        raise ValidationFailed("request", [(field, "must not hold control characters")
                                           for field in fields])


def create_app(medbill: Medbill, *, authenticate: Authenticator | None = None,
               sessions: SessionPolicy | None = None) -> FastAPI:
    """The API of ``medbill``: the core's routes and every enabled plugin's
    (``medbill_register_routes``), OpenAPI 3.1 at ``/openapi.json``, docs at ``/docs``.

    :param authenticate: ``authenticate(medbill, token) -> Principal``; default
        :func:`medbill_core.services.identity.authenticate_key`.
    :param sessions: how long browser sessions last, the clock, the cookie's ``Secure``;
        default :data:`medbill_core.services.sessions.DEFAULT_POLICY`.
    """
    app = FastAPI(title="medbill", version=_version(), description=DESCRIPTION,
                  openapi_url="/openapi.json", docs_url="/docs", redoc_url=None,
                  dependencies=[Depends(plain_query)])
    app.state.medbill_api = ApiState(medbill, authenticate or default_authenticator,
                                     sessions or DEFAULT_POLICY)
    problems.install(app)
    # outermost: a body past its limit is cut off whatever the routes and handlers do
    app.add_middleware(BodyLimit, larger=dict.fromkeys(UPLOAD_PATHS, MAX_UPLOAD_BYTES))
    app.add_exception_handler(Replay, replay_response)
    medbill.hooks.register_routes(app=app)
    return app

