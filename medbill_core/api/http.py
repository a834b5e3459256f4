"""What a plugin that adds HTTP routes (hook ``medbill_register_routes``) uses of the API.

* :data:`CurrentPrincipal` - a route's parameter for the caller (``Principal``): it makes the
  route need an API key (401 without one), as every route but a health check must;
* :data:`IdempotencyParam` - a POST route's ``Idempotency-Key``: answer with
  ``idempotency.respond(work, status, body)`` inside the change's unit of work;
* :class:`Page`, :data:`Limit`, :data:`Cursor`, :data:`DEFAULT_LIMIT`, :func:`page`,
  :func:`decode_cursor` - cursor pages for list routes;
* :data:`PROBLEM_RESPONSES` - the error responses to declare on a router (OpenAPI);
* browser sessions (the workspace's pages): :data:`SESSION_COOKIE` (the cookie's name),
  :func:`csrf_token` (the CSRF token of the request's session, for a form's hidden
  :data:`CSRF_FIELD` field or a script's :data:`CSRF_HEADER` header; None with an API key),
  :func:`current_session` (the request's :class:`SessionInfo`, None with an API key).
  :data:`CurrentPrincipal` accepts the cookie as well as a key, and refuses an unsafe
  request made with the cookie without the token (403); :func:`refusal_before_the_body`
  (API 1.10) is that refusal for a request whose body failed to parse or validate before
  the principal was asked (a page answers it, not the form's fields);
* :func:`permitted` - a route's dependency declaring its action (``Depends(permitted(
  Action.CLAIMS_READ))``): the principal, 403 unless its role may (the route table and the
  role tests read the action from it);
* :func:`public_route`, :func:`signed_in_route` - mark a route's endpoint that declares no
  action by design (a sign-in page; signing out), so the route table knows it;
* :func:`route_actions` - the route table of an app (:class:`RouteAction`: method, path,
  action, access, page), for a plugin's tests of its routes by role.

Errors are raised as :mod:`medbill_core.api` errors (``ValidationFailed``, ``NotFound`` ...):
the app answers each as an RFC 9457 problem. Same stability promise as
:mod:`medbill_core.api`. Importing this module is cheap; each name is imported when first
used (FastAPI is imported then).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from medbill_core.api._lazy import homes_by_name, lazy_attributes

if TYPE_CHECKING:  # what type checkers and editors see; at run time _EXPORTS is read
    from medbill_core.http.auth import (
        CSRF_FIELD,
        CSRF_HEADER,
        SESSION_COOKIE,
        CurrentPrincipal,
        csrf_token,
        current_session,
        permitted,
        public_route,
        refusal_before_the_body,
        signed_in_route,
    )
    from medbill_core.http.idempotency import IdempotencyParam
    from medbill_core.http.pagination import (
        DEFAULT_LIMIT,
        Cursor,
        Limit,
        Page,
        decode_cursor,
        page,
    )
    from medbill_core.http.problems import PROBLEM_RESPONSES
    from medbill_core.http.route_table import RouteAction, route_actions
    from medbill_core.services.sessions import SessionInfo

#: Each public name by its home module (``"attribute as name"`` renames).
_EXPORTS: dict[str, tuple[str, ...]] = {
    "medbill_core.http.auth": ("CSRF_FIELD", "CSRF_HEADER", "SESSION_COOKIE", "CurrentPrincipal",
                               "csrf_token", "current_session", "permitted",
                               "public_route", "refusal_before_the_body", "signed_in_route"),
    "medbill_core.http.idempotency": ("IdempotencyParam",),
    "medbill_core.http.pagination": (
        "DEFAULT_LIMIT", "Cursor", "Limit", "Page", "decode_cursor", "page",
    ),
    "medbill_core.http.problems": ("PROBLEM_RESPONSES",),
    "medbill_core.http.route_table": ("RouteAction", "route_actions"),
    "medbill_core.services.sessions": ("SessionInfo",),
}

__all__ = [
    "CSRF_FIELD", "CSRF_HEADER", "DEFAULT_LIMIT", "PROBLEM_RESPONSES", "SESSION_COOKIE",
    "CurrentPrincipal", "Cursor", "IdempotencyParam", "Limit", "Page", "RouteAction",
    "SessionInfo",
    "csrf_token", "current_session", "decode_cursor", "page", "permitted", "public_route",
    "refusal_before_the_body", "route_actions", "signed_in_route",
]

if not TYPE_CHECKING:  # type checkers see the imports above: a misspelt name fails there
    __getattr__, __dir__ = lazy_attributes(globals(), homes_by_name(_EXPORTS))
