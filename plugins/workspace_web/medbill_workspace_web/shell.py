"""The shell's pages: sign in, sign out, switch practice, the home page, and the 404 page of
an address the workspace does not have.

Signing in here opens the same browser session as ``POST /v1/sessions`` (same cookie, same
lifetime, same audit), with the same one generic failure whatever went wrong. The sign-in
form is protected against login CSRF (a site signing the browser into another account) by a
token of its own, kept in a cookie beside the form (no session exists yet to hold it).
"""

from __future__ import annotations

import hmac
import secrets
from contextlib import suppress
from typing import Annotated

from fastapi import Form, Query, Request
from starlette.responses import RedirectResponse, Response

from medbill_core.api.http import SESSION_COOKIE, current_session, public_route, signed_in_route
from medbill_core.api.workspace import (
    AUTHENTICATION_FAILED,
    NewSession,
    NotAuthenticated,
    SessionPolicy,
    medbill_of,
    resume_session,
    session_policy,
    sign_in,
    sign_out,
    switch_practice,
)
from medbill_workspace_web.flash import set_flash
from medbill_workspace_web.pages import (
    HOME_PATH,
    LOGIN_PATH,
    SignedIn,
    error_page,
    page_router,
    safe_next,
)
from medbill_workspace_web.rendering import render

router = page_router()
#: The sign-in form's own CSRF cookie (login CSRF: there is no session yet).
LOGIN_CSRF_COOKIE = "medbill_login_csrf"
#: What a failed sign-in says when the form itself was not this site's.
LOGIN_FORM_EXPIRED = "The sign-in form expired. Try again."


def _secure(request: Request, policy: SessionPolicy) -> bool:
    # as the API's sign-in decides it: the policy, else whether the request came over https
    if policy.secure_cookie is not None:
        return policy.secure_cookie
    return request.url.scheme == "https"


def set_session_cookie(request: Request, response: Response, opened: NewSession) -> None:
    """The session cookie, with the attributes of the API's sign-in (``HttpOnly``,
    ``SameSite=Strict``, ``Path=/``, ``Secure`` over https, no ``Max-Age``)."""
    response.set_cookie(SESSION_COOKIE, opened.token, path="/", httponly=True,
                        samesite="strict", secure=_secure(request, session_policy(request)))


def _login_form(request: Request, *, next_path: str | None, user: str = "",
                practice: str = "", error: str | None = None,
                status_code: int = 200) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(request, "shell/login.html",
                      {"next": next_path or "", "user": user, "practice_code": practice,
                       "error": error, "login_token": token}, status_code=status_code)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, path=LOGIN_PATH, httponly=True,
                        samesite="strict", secure=_secure(request, session_policy(request)))
    return response


@router.get("/login", summary="Sign-in page")
@public_route
def login_page(request: Request,
               next: Annotated[str | None, Query(max_length=2000)] = None) -> Response:
    return _login_form(request, next_path=safe_next(next))


@router.post("/login", summary="Sign in")
@public_route
def login(request: Request, user: Annotated[str, Form(max_length=64)] = "",
          password: Annotated[str, Form(max_length=1024)] = "",
          practice: Annotated[str, Form(max_length=32)] = "",
          login_token: Annotated[str, Form(max_length=100)] = "",
          next: Annotated[str, Form(max_length=2000)] = "") -> Response:
    next_path = safe_next(next)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected.encode(), login_token.encode()):
        return _login_form(request, next_path=next_path, user=user, practice=practice,
                           error=LOGIN_FORM_EXPIRED, status_code=403)
    medbill, policy = medbill_of(request), session_policy(request)
    try:
        if not user.strip() or not password:
            raise NotAuthenticated("missing")  # answered as every failure is
        opened = sign_in(medbill, user.strip(), password, practice.strip().lower() or None,
                         policy)
    except NotAuthenticated:
        # the one message of every failed sign-in (unknown user, wrong password, locked...)
        return _login_form(request, next_path=next_path, user=user, practice=practice,
                           error=AUTHENTICATION_FAILED, status_code=401)
    previous = request.cookies.get(SESSION_COOKIE)
    if previous:  # one browser, one session: the one it had ends
        with suppress(NotAuthenticated):
            sign_out(medbill, resume_session(medbill, previous, policy), policy,
                     reason="replaced")
    response = RedirectResponse(next_path or HOME_PATH, status_code=303)
    set_session_cookie(request, response, opened)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=LOGIN_PATH, httponly=True, samesite="strict")
    return response


@router.post("/logout", summary="Sign out")
@signed_in_route
def logout(request: Request, principal: SignedIn) -> Response:
    session = current_session(request)
    response = RedirectResponse(LOGIN_PATH, status_code=303)
    if session is not None:
        sign_out(medbill_of(request), session, session_policy(request))
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    set_flash(response, "You have signed out.", "info")
    return response


@router.post("/practice", summary="Switch practice")
@signed_in_route
def switch(request: Request, principal: SignedIn,
           practice: Annotated[str, Form(max_length=32)] = "") -> Response:
    session = current_session(request)
    if session is None:  # an API key acts in its own practice only
        return error_page(request, 422, "Not possible",
                          "Only a signed-in user can switch practice.")
    opened = switch_practice(medbill_of(request), session, practice, session_policy(request))
    # the home page, not the page it came from: that page's record is the other practice's
    response = RedirectResponse(HOME_PATH, status_code=303)
    set_session_cookie(request, response, opened)
    set_flash(response, f"You are now working in {opened.session.practice_code}.", "info")
    return response


@router.get("/", summary="Home")
@signed_in_route
def home(request: Request, principal: SignedIn) -> Response:
    return render(request, "shell/home.html")


def unknown_page(request: Request, rest: str) -> Response:
    """Any other address under /workspace/: the 404 page (signed in or not: it shows
    nothing of the practice)."""
    return error_page(request, 404, "Not found", "The workspace has no page at this address.")
