"""How a page is routed: :func:`page_router` (a router whose routes are pages), the page's
principal (:func:`requires`, :data:`SignedIn`) and what a page answers when it cannot show
itself.

A page never answers a traceback or an API problem: :class:`PageRoute` turns every error of
the route -- its dependencies (sign-in, role, CSRF), its parameters and the services it
calls -- into an HTML page:

* not signed in (or the session ended) -> a redirect to the sign-in page, which comes back
  to the page after (``next``); a form posted so (its fields missing, or a body that cannot
  be parsed) too, never a page describing the form's fields;
* a role that may not -> 403, the page saying which action is not allowed; a form posted
  without the session's CSRF token -> 403 too ("reload the page");
* not found (another practice's record included) -> 404;
* any other :class:`MedbillError` -> its status, its message (safe to show by the rule of
  the error hierarchy: no PHI); a parameter that is no valid value -> 422 naming it;
* anything else -> 500 with an error id, the exception's type and place logged (never its
  text, which may quote PHI).
"""

from __future__ import annotations

import inspect
import logging
import traceback
import uuid
from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import quote, unquote

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from medbill_core.api import (
    ConfigurationError,
    IllegalTransition,
    LedgerError,
    MedbillError,
    NotFound,
    PluginError,
    ValidationFailed,
)
from medbill_core.api.http import (
    SESSION_COOKIE,
    CurrentPrincipal,
    current_session,
    permitted,
    refusal_before_the_body,
)
from medbill_core.api.workspace import (
    Action,
    NotAuthenticated,
    PermissionDenied,
    Principal,
    medbill_of,
    memberships,
)
from medbill_workspace_web.rendering import remember_principal, render

log = logging.getLogger("medbill.workspace")

LOGIN_PATH = "/workspace/login"
HOME_PATH = "/workspace/"
CSRF_MESSAGE = ("This form has expired or was not sent by this workspace. Reload the page and "
                "try again.")


#: Query parameters never carried to the sign-in page's ``next``: what a search was for (a
#: patient's name, a birth date) would sit in the browser's history and the proxies' logs.
#: The searches are POSTed; an old bookmark's ``?q=`` is dropped here.
NEVER_IN_NEXT = frozenset({"q"})


def safe_next(target: str | None) -> str | None:
    """``target`` when it is a path of the workspace this site serves, else None: only a
    local ``/workspace/...`` path is followed after sign-in (never another site, a scheme-
    relative ``//host`` or a backslash trick)."""
    if not target or len(target) > 2000:
        return None
    if not (target == "/workspace" or target.startswith("/workspace/")):
        return None
    if "\\" in target or "//" in target or any(ord(char) < 0x20 for char in target):
        return None
    # a dot segment (``/workspace/../v1/patients/1``, also percent-encoded) takes the browser
    # out of the workspace once it resolves the path
    path = unquote(target.split("?", 1)[0].split("#", 1)[0])
    if any(segment in (".", "..") for segment in path.split("/")):
        return None
    return _without_searches(target)


def _without_searches(target: str) -> str:
    """``target`` without the query parameters of :data:`NEVER_IN_NEXT`."""
    path, mark, query = target.partition("?")
    if not mark:
        return target
    kept = [pair for pair in query.split("&")
            if pair and unquote(pair.partition("=")[0]).strip() not in NEVER_IN_NEXT]
    return f"{path}?{'&'.join(kept)}" if kept else path


def login_redirect(request: Request) -> RedirectResponse:
    """To the sign-in page, coming back to this page (a GET) afterwards (without what was
    searched for: :data:`NEVER_IN_NEXT`)."""
    target = safe_next(request.url.path + (f"?{request.url.query}" if request.url.query
                                           else ""))
    location = LOGIN_PATH
    if request.method == "GET" and target and request.url.path != LOGIN_PATH:
        location += f"?next={quote(target, safe='/')}"
    response = RedirectResponse(location, status_code=303)
    if request.cookies.get(SESSION_COOKIE):  # an ended session's cookie goes with it
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response


def _status(exc: MedbillError) -> tuple[int, str]:
    if isinstance(exc, PermissionDenied):
        return 403, "Not allowed"
    if isinstance(exc, NotFound):
        return 404, "Not found"
    if isinstance(exc, IllegalTransition | LedgerError):
        return 409, "Not possible now"
    if isinstance(exc, ValidationFailed):
        return 422, "Check what was entered"
    if isinstance(exc, ConfigurationError | PluginError):
        return 500, "The server could not do this"
    return 422, "Refused"


def error_page(request: Request, status: int, title: str, message: str, *,
               error_id: str | None = None) -> Response:
    return render(request, "shell/error.html",
                  {"status": status, "title": title, "message": message, "error_id": error_id},
                  status_code=status)


def medbill_error_page(request: Request, exc: MedbillError) -> Response:
    """The page of a refusal by the core (its message is safe to show)."""
    if isinstance(exc, NotAuthenticated):
        return login_redirect(request)
    status, title = _status(exc)
    message = str(exc)
    if isinstance(exc, PermissionDenied) and "CSRF" in message:
        message = CSRF_MESSAGE
    elif isinstance(exc, PermissionDenied):
        message = f"Your role may not do this here ({message})."
    elif isinstance(exc, NotFound):
        message = (f"There is no {exc.kind} here with that id. It may belong to another "
                   "practice, or it was removed.")
    return error_page(request, status, title, message)


def _fields(exc: RequestValidationError) -> list[str]:
    """The fields of a request validation error, never their values (they may be PHI)."""
    names = []
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ()) if part not in ("query", "body",
                                                                                "path")]
        names.append(".".join(location) or "request")
    return sorted(set(names))


def without_blank_values(request: Request) -> None:
    """Drop the query's parameters whose value is empty, before the route reads them: a GET
    filter form sends its fields left blank (``?state=&min_age=``), and a blank field of a
    filter means "any", not a value to refuse. Parameters are then read as not given (their
    defaults)."""
    raw: bytes = request.scope.get("query_string", b"")
    if not raw:
        return
    pairs = raw.split(b"&")
    kept = [pair for pair in pairs if pair.partition(b"=")[2]]
    if len(kept) != len(pairs):
        request.scope["query_string"] = b"&".join(kept)
        for cached in ("_query_params", "_url"):
            request.__dict__.pop(cached, None)


class PageRoute(APIRoute):
    """A route whose every failure is an HTML page (see the module's docstring)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            if request.method == "GET":
                without_blank_values(request)
            try:
                return await handler(request)
            except MedbillError as exc:
                return medbill_error_page(request, exc)
            except RequestValidationError as exc:
                refusal = await refusal_before_the_body(request)
                if refusal is not None:
                    return medbill_error_page(request, refusal)
                fields = ", ".join(_fields(exc))
                return error_page(request, 422, "Check what was entered",
                                  f"Not a valid value: {fields}.")
            except HTTPException as exc:
                # 400: FastAPI could not parse the form, before the sign-in was asked
                refusal = (await refusal_before_the_body(request)
                           if exc.status_code == 400 else None)
                if refusal is not None:
                    return medbill_error_page(request, refusal)
                return error_page(request, exc.status_code, "Not available",
                                  "This page cannot be shown.")
            except Exception as exc:
                error_id = uuid.uuid4().hex[:12]
                frame = traceback.extract_tb(exc.__traceback__)[-1:] or None
                where = f"{frame[0].filename}:{frame[0].lineno}" if frame else "?"
                # the type and the place only: an exception's text may quote PHI
                log.error("workspace page %s failed: %s at %s (error_id %s)",
                          request.url.path, type(exc).__name__, where, error_id)
                return error_page(request, 500, "Something went wrong",
                                  "The page could not be shown. If it happens again, give "
                                  "your administrator this error id.", error_id=error_id)

        return page_handler


def page_router(prefix: str = "/workspace") -> APIRouter:
    """A router of pages: left out of the OpenAPI document (so the route table knows them
    as pages, and the API's fuzz tests leave them alone), every failure an HTML page."""
    return APIRouter(prefix=prefix, route_class=PageRoute, include_in_schema=False)


def _with_layout(request: Request, principal: Principal) -> Principal:
    """Keep what the layout shows of the signed-in user: who, and where they may switch to."""
    remember_principal(request, principal)
    session = current_session(request)
    if session is not None:
        request.state.workspace_practices = memberships(medbill_of(request), session)
    return principal


def requires(action: Action) -> Any:
    """A page's principal, refused (403 page) unless its role may ``action``:
    ``principal: Annotated[Principal, requires(Action.CLAIMS_READ)]``. The route table and
    the role tests read the action from it, as from an API route's ``permitted``."""
    check = permitted(action)

    def page_principal(request: Request, principal: Principal) -> Principal:
        return _with_layout(request, principal)

    # the signature FastAPI reads, with real objects: this module's annotations are strings
    # (PEP 563), and a string cannot name the local ``check``
    page_principal.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                           annotation=Request),
         inspect.Parameter("principal", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                           annotation=Annotated[Principal, Depends(check)])],
        return_annotation=Principal)
    page_principal.__name__ = f"page_{check.__name__}"
    return Depends(page_principal)


def _signed_in(request: Request, principal: CurrentPrincipal) -> Principal:
    return _with_layout(request, principal)


#: A page's principal, whatever the role (mark the route ``signed_in_route``).
SignedIn = Annotated[Principal, Depends(_signed_in)]
