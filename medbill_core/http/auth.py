"""Who calls: ``Authorization: Bearer <API key>``, checked by an injected authenticator.

The authenticator is ``authenticate(medbill, token) -> Principal`` (raising
:class:`~medbill_core.errors.NotAuthenticated` for a key that is unknown, revoked or expired);
it runs its own transactions (a key's last use is recorded even when the request then fails).
By default it is :func:`medbill_core.services.identity.authenticate_key`, imported when the
first request asks (so the app can be built, and tested with another authenticator, without
it); :func:`create_app`'s ``authenticate`` argument replaces it.

Or a browser session: the cookie :data:`SESSION_COOKIE` set by ``POST /v1/sessions``
(:mod:`medbill_core.services.sessions`). A bearer key wins when a request sends both. A
request authenticated by the cookie with an unsafe method (POST, PUT, PATCH, DELETE) must
also send the session's CSRF token, in the :data:`CSRF_HEADER` header or, for an HTML form,
the :data:`CSRF_FIELD` field: the cookie is sent by the browser whoever made the page that
posts, the token only by a page that could read it. Bearer requests need no token (no
browser adds a bearer key on its own).
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, TypeVar, cast
from urllib.parse import parse_qs

from fastapi import Depends, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from medbill_core.domain.identity import Principal
from medbill_core.errors import (
    ConfigurationError,
    MedbillError,
    NotAuthenticated,
    PermissionDenied,
)
from medbill_core.permissions import Action, require
from medbill_core.services import sessions as user_sessions

if TYPE_CHECKING:
    from medbill_core.app import Medbill

#: ``authenticate(medbill, token) -> Principal``
Authenticator = Callable[["Medbill", str], Principal]
#: Where the default authenticator lives (part "identity" of issue 15).
IDENTITY_MODULE = "medbill_core.services.identity"

#: The browser session's cookie (``POST /v1/sessions`` sets it).
SESSION_COOKIE = "medbill_session"
#: Where an unsafe request made with the session cookie sends the session's CSRF token.
CSRF_HEADER = "X-CSRF-Token"
#: ... or, in an HTML form's post, this field.
CSRF_FIELD = "csrf_token"
#: Methods that change nothing: no CSRF token needed.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")

_bearer = HTTPBearer(auto_error=False, description="An API key: `medbill keys create`")
_cookie = APIKeyCookie(
    name=SESSION_COOKIE, auto_error=False, scheme_name="SessionCookie",
    description="A browser session (`POST /v1/sessions`); POST, PUT, PATCH and DELETE "
                f"also need the session's CSRF token in `{CSRF_HEADER}`")


def default_authenticator(medbill: Medbill, token: str) -> Principal:
    """:func:`medbill_core.services.identity.authenticate_key`, imported on first use."""
    try:
        module = importlib.import_module(IDENTITY_MODULE)
    except ImportError:
        raise ConfigurationError("no identity service (medbill_core.services.identity): "
                                 "API keys cannot be checked") from None
    authenticate = cast(Authenticator, module.authenticate_key)
    return authenticate(medbill, token)


@dataclass(frozen=True)
class ApiState:
    """What every request of one app needs: the medbill instance, the authenticator of API
    keys and the policy of browser sessions."""

    medbill: Medbill
    authenticate: Authenticator
    sessions: user_sessions.SessionPolicy = user_sessions.DEFAULT_POLICY


def api_state(request: Request) -> ApiState:
    return cast(ApiState, request.app.state.medbill_api)


def session_policy(request: Request) -> user_sessions.SessionPolicy:
    """How long the browser sessions of the request's app last, their clock and the cookie's
    ``Secure`` (a sign-in page opens sessions with it)."""
    return api_state(request).sessions


def medbill_of(request: Request) -> Medbill:
    """The medbill instance the request's app serves (a route opens its units of work on it:
    ``medbill_of(request).unit_of_work(principal=principal)``)."""
    return api_state(request).medbill


async def form_csrf_token(request: Request) -> str | None:
    """The :data:`CSRF_FIELD` of an HTML form's unsafe request made with the session cookie
    and without the header (the form is read only then; FastAPI keeps what it read)."""
    if (request.method in SAFE_METHODS or CSRF_HEADER in request.headers
            or SESSION_COOKIE not in request.cookies or "authorization" in request.headers):
        return None
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type not in _FORMS:
        return None
    try:
        body = await request.body()  # kept by the request: the route still reads it
    except RuntimeError:
        # a route with Form fields: FastAPI parsed the form before the dependencies ran, and
        # its stream is spent; the parsed form is kept by the request
        parsed = (await request.form()).get(CSRF_FIELD)
        return parsed if isinstance(parsed, str) else None
    if content_type == _FORMS[0]:
        # read here, not by Starlette's form parser (which needs python-multipart)
        try:
            found = parse_qs(body.decode("utf-8", "replace"),
                             max_num_fields=1000).get(CSRF_FIELD)
        except ValueError:  # more fields than any form of ours has
            return None
        return found[0] if found else None
    try:
        value = (await request.form()).get(CSRF_FIELD)
    except Exception:  # an unreadable form (or no multipart parser installed) has no token
        return None
    return value if isinstance(value, str) else None


def authenticated(request: Request,
                  credentials: Annotated[HTTPAuthorizationCredentials | None,
                                         Security(_bearer)],
                  cookie: Annotated[str | None, Security(_cookie)],
                  form_token: Annotated[str | None, Depends(form_csrf_token)]) -> Principal:
    """The principal the request's bearer key names, else its session cookie's (with the
    CSRF token on an unsafe method: 403 without it); 401 without either, or with a bad one."""
    state = api_state(request)
    request.state.medbill_authenticated = True  # asked: see :func:`refusal_before_the_body`
    if credentials is not None and credentials.credentials.strip():
        try:
            return state.authenticate(state.medbill, credentials.credentials.strip())
        except NotAuthenticated:
            raise NotAuthenticated("the API key is not valid") from None
    if not cookie:
        raise NotAuthenticated("authentication required: send 'Authorization: Bearer "
                               "<API key>', or sign in (POST /v1/sessions)")
    session = user_sessions.resume(state.medbill, cookie, state.sessions)
    request.state.medbill_session = session
    if request.method not in SAFE_METHODS and not user_sessions.csrf_matches(
            session, request.headers.get(CSRF_HEADER) or form_token):
        raise PermissionDenied(user_sessions.CSRF_REFUSED)
    return session.principal


def _needs_authentication(route: object) -> bool:
    """Whether a route's dependencies include :func:`authenticated` (at any depth)."""
    found = getattr(route, "medbill_needs_authentication", None)
    if isinstance(found, bool):
        return found
    pending = list(getattr(getattr(route, "dependant", None), "dependencies", ()))
    needs = False
    while pending and not needs:
        dependency = pending.pop()
        needs = dependency.call is authenticated
        pending.extend(dependency.dependencies)
    with contextlib.suppress(AttributeError):  # kept on the route: asked once per route
        route.medbill_needs_authentication = needs  # type: ignore[attr-defined]
    return needs


async def refusal_before_the_body(request: Request) -> MedbillError | None:
    """The refusal :func:`authenticated` gives the request (401, or 403 without the CSRF
    token), when its route needs a principal and the request failed before the dependencies
    ran: FastAPI reads and parses the body first, so a malformed JSON body would be answered
    422, telling an anonymous caller of the schema. ``None``: authenticated, a public route,
    or authentication already ran (its refusal was the answer)."""
    if (getattr(request.state, "medbill_authenticated", False)
            or not _needs_authentication(request.scope.get("route"))):
        return None
    credentials = await _bearer(request)
    cookie = await _cookie(request)
    try:
        # form_token None: the form is not read again (a body that failed to parse has none)
        await run_in_threadpool(authenticated, request, credentials, cookie, None)
    except (NotAuthenticated, PermissionDenied) as refusal:
        return refusal
    return None


def current_session(request: Request) -> user_sessions.SessionInfo | None:
    """The browser session the request was authenticated with (None: an API key, or not
    authenticated yet): call it in a route that has :data:`CurrentPrincipal`."""
    found = getattr(request.state, "medbill_session", None)
    return found if isinstance(found, user_sessions.SessionInfo) else None


def csrf_token(request: Request) -> str | None:
    """The CSRF token of the request's browser session, for a page's forms (a hidden
    :data:`CSRF_FIELD` field) or its scripts (the :data:`CSRF_HEADER` header); None for a
    request authenticated with an API key."""
    session = current_session(request)
    return session.csrf_token if session is not None else None


#: A route's parameter for the authenticated principal.
CurrentPrincipal = Annotated[Principal, Depends(authenticated)]

#: The attribute of a :func:`permitted` dependency naming its action (the role x route table
#: of the tests and the documentation reads it from the app's routes).
ACTION_ATTRIBUTE = "medbill_action"


#: The attribute of a route's endpoint that declares no action by design, and who may call
#: it then: :data:`PUBLIC` (nobody signed in: a sign-in page, static files) or
#: :data:`SIGNED_IN` (anyone signed in, whatever the role: one's own session). A plugin marks
#: its routes with :func:`public_route` or :func:`signed_in_route`, so that the route table
#: knows them without the core naming a plugin's paths.
ACCESS_ATTRIBUTE = "medbill_access"
PUBLIC = "public"
SIGNED_IN = "signed_in"

_Endpoint = TypeVar("_Endpoint", bound=Callable[..., object])


def public_route(endpoint: _Endpoint) -> _Endpoint:
    """Declare a route's endpoint public: it needs no sign-in and declares no action (a sign-in
    page). Put it below the route decorator: ``@router.get(...)`` then ``@public_route``."""
    setattr(endpoint, ACCESS_ATTRIBUTE, PUBLIC)
    return endpoint


def signed_in_route(endpoint: _Endpoint) -> _Endpoint:
    """Declare that a route's endpoint serves anyone signed in, whatever the role, and so
    declares no action (signing out, moving one's own session to another practice). It must
    still take :data:`CurrentPrincipal`. Put it below the route decorator."""
    setattr(endpoint, ACCESS_ATTRIBUTE, SIGNED_IN)
    return endpoint


def permitted(action: Action) -> Callable[[Principal], Awaitable[Principal]]:
    """A route's dependency: the authenticated principal, refused with 403 unless its role
    may perform ``action``. The service the route calls checks again (the command line goes
    through the same check); checking here too answers 403 before a body is validated.

    Use: ``principal: Annotated[Principal, Depends(permitted(Action.CLAIMS_WRITE))]``.
    """
    # async: no I/O, so it runs on the event loop instead of taking a worker thread
    # (FastAPI runs a plain ``def`` dependency in the thread pool: a hand-off per request)
    async def checked(principal: CurrentPrincipal) -> Principal:
        require(principal, action)
        return principal

    setattr(checked, ACTION_ATTRIBUTE, action)
    checked.__name__ = f"permitted_{action.value.replace('.', '_')}"
    return checked
