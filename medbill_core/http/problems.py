"""Every error of the HTTP API as an RFC 9457 problem (``application/problem+json``).

* a :class:`~medbill_core.errors.MedbillError` keeps its message (safe to show by the
  hierarchy's rule) with the status of :data:`STATUSES`; a
  :class:`~medbill_core.errors.ValidationFailed` lists its fields in ``errors``;
* FastAPI's request validation errors become a 422 with ``errors``: each field's path
  (``body.birth_date``, ``query.limit``), pydantic's code and message, never the value sent
  (it may be PHI: pydantic puts it in ``input``, which is dropped);
* an error of the server (a 5xx) says nothing of what went wrong: a generic text and an
  ``error_id`` that names the log record holding the exception's type and where it was raised
  (no exception text: it may quote PHI), so a client can report it;
* HTTP's own errors (no such route, a method not allowed) are problems too.
"""

from __future__ import annotations

import logging
import re
import traceback
import uuid
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from medbill_core.errors import (
    AdapterNotAvailable,
    ConfigurationError,
    DecodeError,
    GatewayError,
    IllegalTransition,
    LedgerError,
    MedbillError,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    PluginError,
    SubmissionError,
    UnknownPayer,
    ValidationFailed,
    WebhookRefused,
)
from medbill_core.financing_providers import FinancingError
from medbill_core.http.auth import refusal_before_the_body
from medbill_core.services.idempotency import IdempotencyKeyReused, RequestInFlight
from medbill_core.services.payments import DuplicatePayment

log = logging.getLogger("medbill.http")

PROBLEM_JSON = "application/problem+json"
#: The ``type`` of a problem is ``urn:medbill:problem:<slug>`` (docs/http-api.md lists them).
TYPE_PREFIX = "urn:medbill:problem:"
#: What ``WWW-Authenticate`` says with every 401.
BEARER_CHALLENGE = 'Bearer realm="medbill"'

#: Each error class: status, the slug of its problem type, its title. Most specific first.
STATUSES: tuple[tuple[type[MedbillError], int, str, str], ...] = (
    (NotAuthenticated, 401, "not-authenticated", "Not authenticated"),
    (PermissionDenied, 403, "permission-denied", "Permission denied"),
    (NotFound, 404, "not-found", "Not found"),
    (IllegalTransition, 409, "illegal-transition", "Illegal claim transition"),
    (RequestInFlight, 409, "request-in-flight", "Request in progress"),
    (DuplicatePayment, 409, "duplicate-payment", "Payment already posted"),
    (LedgerError, 409, "ledger-rule", "Ledger rule"),
    (IdempotencyKeyReused, 422, "idempotency-key-reused", "Idempotency key reused"),
    (ValidationFailed, 422, "validation-failed", "Validation failed"),
    (UnknownPayer, 422, "unknown-payer", "Unknown payer"),
    (DecodeError, 422, "undecodable-document", "Undecodable document"),
    (WebhookRefused, 400, "webhook-refused", "Webhook refused"),
    (GatewayError, 502, "payment-gateway-failed", "Payment gateway failed"),
    (FinancingError, 502, "financing-provider-failed", "Financing provider failed"),
    (SubmissionError, 502, "submission-failed", "Submission failed"),
    (AdapterNotAvailable, 503, "adapter-not-available", "No plugin can do this"),
    (ConfigurationError, 500, "server-misconfigured", "Server misconfigured"),
    (PluginError, 500, "plugin-failed", "Plugin failed"),
    (MedbillError, 422, "refused", "Request refused"),
)
UNKNOWN_PAYER_DETAIL = "the payer key is not a configured payer (GET /v1/payers lists them)"
SERVER_ERROR_DETAIL = ("the server could not complete the request; report the error_id to "
                       "its administrator")


class FieldProblem(BaseModel):
    """One field of a request that failed validation."""

    field: str = Field(description="where: body.birth_date, query.limit, header.Idempotency-Key")
    code: str = Field(description="what kind of problem (pydantic's error type, or 'invalid')")
    message: str = Field(description="what is wrong, never the value sent")


class Problem(BaseModel):
    """An error response (RFC 9457, ``application/problem+json``)."""

    type: str = Field(description="urn:medbill:problem:<slug>, or about:blank for HTTP's own")
    title: str
    status: int
    detail: str | None = None
    instance: str | None = Field(default=None, description="the request's path")
    errors: list[FieldProblem] | None = None
    error_id: str | None = Field(default=None, description="5xx: names the server's log record")


#: The problems every route may answer, for the OpenAPI document.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": description,
             "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    for status, description in ((400, "The request could not be read (a body that is not "
                                      "UTF-8 JSON)"),
                                (401, "Not authenticated"), (403, "Permission denied"),
                                (422, "Validation failed"), (500, "Server error"))}


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_JSON


def problem_response(request_path: str | None, status: int, *, slug: str | None, title: str,
                     detail: str | None = None, errors: Sequence[FieldProblem] | None = None,
                     error_id: str | None = None,
                     headers: dict[str, str] | None = None) -> Response:
    problem = Problem(type=f"{TYPE_PREFIX}{slug}" if slug else "about:blank", title=title,
                      status=status, detail=detail, instance=request_path,
                      errors=list(errors) if errors is not None else None, error_id=error_id)
    return ProblemResponse(problem.model_dump(mode="json", exclude_none=True),
                           status_code=status, headers=headers)


class InvalidRequest(ValidationFailed):
    """A request that failed validation, with pydantic's code for each field."""

    def __init__(self, problems: Sequence[FieldProblem]) -> None:
        super().__init__("request", [(item.field, item.message) for item in problems])
        self.field_problems = list(problems)


#: A field name as a schema spells it; any other key a client sent is not echoed (a key of a
#: JSON object is input too: ``{"<a patient's name>": 1}``).
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")


def field_path(location: Sequence[int | str]) -> str:
    """``("body", "lines", 0, "code")`` -> ``body.lines[0].code``."""
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            name = str(part) if _FIELD_NAME.fullmatch(str(part)) else "(a key)"
            text += f".{name}" if text else name
    return text or "request"


def field_problems(errors: Sequence[Any], prefix: Sequence[str] = ()) -> list[FieldProblem]:
    """Pydantic's errors as :class:`FieldProblem`: the path, the type, the message; the
    input (and ``ctx``, which may quote it) dropped, and a message that quotes the input
    anyway replaced."""
    problems = []
    for error in errors:
        code = str(error.get("type", "invalid"))
        location = [*prefix, *error.get("loc", ())]
        if code == "json_invalid":  # its location is a character offset into the body
            location = ["body"]
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        sent = error.get("input")
        if isinstance(sent, str) and len(sent) >= 2 and sent in message:
            message = "invalid value"
        problems.append(FieldProblem(field=field_path(location), code=code, message=message))
    return problems


def _classify(exc: MedbillError) -> tuple[int, str, str]:
    for kind, status, slug, title in STATUSES:
        if isinstance(exc, kind):
            return status, slug, title
    return 422, "refused", "Request refused"  # pragma: no cover - MedbillError is listed


def _server_error(request_path: str | None, status: int, slug: str, title: str,
                  what: str) -> Response:
    error_id = uuid.uuid4().hex
    log.error("error %s: %s (%s)", error_id, what, request_path)
    return problem_response(request_path, status, slug=slug, title=title,
                            detail=SERVER_ERROR_DETAIL, error_id=error_id)


def medbill_error_response(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, MedbillError)
    path = request.url.path
    status, slug, title = _classify(exc)
    if status >= 500 and not isinstance(exc, AdapterNotAvailable | SubmissionError):
        return _server_error(path, status, slug, title, f"{type(exc).__name__}: {exc.message}")
    headers = {"WWW-Authenticate": BEARER_CHALLENGE} if status == 401 else None
    errors: list[FieldProblem] | None = None
    if isinstance(exc, InvalidRequest):
        errors = exc.field_problems
    elif isinstance(exc, ValidationFailed):
        errors = [FieldProblem(field=field, code="invalid", message=reason)
                  for field, reason in exc.problems]
    # the CLI's message names the key typed; over HTTP the key is whatever a client sent
    detail = UNKNOWN_PAYER_DETAIL if isinstance(exc, UnknownPayer) else exc.message
    return problem_response(path, status, slug=slug, title=title, detail=detail,
                            errors=errors, headers=headers)


async def request_validation_response(request: Request, exc: Exception) -> Response:
    """422 naming each field; but a route that needs a principal answers a request without a
    valid one 401 first, even when its body could not be parsed (before the key was read)."""
    assert isinstance(exc, RequestValidationError)
    refusal = await refusal_before_the_body(request)
    if refusal is not None:
        return medbill_error_response(request, refusal)
    problems = field_problems(exc.errors())
    detail = "; ".join(f"{item.field}: {item.message}" for item in problems)
    return problem_response(request.url.path, 422, slug="validation-failed",
                            title="Validation failed", detail=f"request: {detail}",
                            errors=problems)


async def http_error_response(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:  # FastAPI's "error parsing the body" (a form), before the key
        refusal = await refusal_before_the_body(request)
        if refusal is not None:
            return medbill_error_response(request, refusal)
    try:
        title = HTTPStatus(exc.status_code).phrase
    except ValueError:
        title = "Error"
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != title else None
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(_allowed_methods(request))
    return problem_response(request.url.path, exc.status_code, slug=None, title=title,
                            detail=detail, headers=headers)


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app answers on the request's path: Starlette's 405
    names only the first route's, where a GET and a POST of one path are two routes."""
    return [method for method in _METHODS if any(
        route.matches({**request.scope, "method": method})[0] is Match.FULL
        for route in request.app.routes)]


class CatchAll:
    """ASGI middleware: an exception no handler took becomes a 500 problem with an error id.

    Starlette's own last resort would send a plain-text 500 and re-raise, so that the server
    logs the exception's text (which may quote PHI); this logs its type and where it was
    raised (the traceback's frames: file, line, function, source line) and ends there."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            frames = "".join(traceback.format_tb(exc.__traceback__))
            response = _server_error(scope.get("path"), 500, "internal-error",
                                     "Internal server error",
                                     f"unhandled {type(exc).__name__}\n{frames}")
            if not started:
                await response(scope, receive, send)


def install(app: FastAPI) -> None:
    """Answer every error of ``app`` with a problem."""
    app.add_exception_handler(MedbillError, medbill_error_response)
    app.add_exception_handler(RequestValidationError, request_validation_response)
    app.add_exception_handler(StarletteHTTPException, http_error_response)
    app.add_middleware(CatchAll)
