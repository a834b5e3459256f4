"""Browser sessions: ``POST /v1/sessions`` (sign in), ``GET /v1/sessions/current`` (who am
I, and the session's CSRF token), ``DELETE /v1/sessions/current`` (sign out).

The cookie (:data:`~medbill_core.http.auth.SESSION_COOKIE`) is ``HttpOnly`` (no script reads
it), ``SameSite=Strict`` (a browser sends it only with requests a medbill page made: a link
from another site, an e-mail, arrives without it and meets the sign-in; the records shown
here are PHI, and no route needs to be reached logged in from elsewhere), ``Path=/`` and
``Secure`` when the request came over https (or :attr:`SessionPolicy.secure_cookie` says
so). It has no ``Max-Age``: the browser forgets it when it closes, and the server ends the
session anyway (12 hours after sign-in, 30 minutes idle).

A failed sign-in is one 401 whatever went wrong (unknown user, wrong password, a locked or
disabled account, no membership in the practice named): a 429 or a ``Retry-After`` for a
locked account would tell a guesser that the name exists. The sign-in takes no
``Idempotency-Key`` (a second sign-in is a second session, never a replayed token).
"""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.responses import Response

from medbill_core.domain.identity import PRACTICE_CODE_PATTERN, Role
from medbill_core.errors import NotAuthenticated, NotFound
from medbill_core.http.auth import SESSION_COOKIE, CurrentPrincipal, api_state, current_session
from medbill_core.http.problems import PROBLEM_RESPONSES
from medbill_core.services import sessions as user_sessions
from medbill_core.services.identity import MAX_PASSWORD_LENGTH

router = APIRouter(prefix="/v1/sessions", tags=["sessions"], responses=PROBLEM_RESPONSES)
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: PROBLEM_RESPONSES[500] | {"description": "The request was not made with a browser "
                                                  "session (an API key has none)"}}
#: Responses carrying a CSRF token are not to be kept by any cache.
NO_STORE = {"Cache-Control": "no-store"}


class Login(BaseModel):
    """A sign-in. Not a :class:`~medbill_core.http.schemas.RequestBody`: a password is taken
    as typed (no whitespace stripped)."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True, strict=True)

    user: str = Field(min_length=1, max_length=64, description="the user name")
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)
    practice: str | None = Field(
        default=None, pattern=PRACTICE_CODE_PATTERN,
        description="the practice's code: needed only for a member of several practices")

    @field_validator("password")
    @classmethod
    def _encodable(cls, value: str) -> str:
        try:  # a lone surrogate ("\\ud800" in JSON) is no text argon2 can hash
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("must be Unicode text") from None
        return value


class SessionOut(BaseModel):
    """The signed-in session: who, where, its CSRF token and when it ends."""

    user: str
    practice: str = Field(description="the practice's code")
    role: Role
    csrf_token: str = Field(description="send it in X-CSRF-Token (or a form's csrf_token "
                                        "field) with every POST, PUT, PATCH and DELETE")
    expires_at: datetime = Field(description="the session's end, however busy")
    idle_expires_at: datetime = Field(description="its end unless used before then")


def _body(info: user_sessions.SessionInfo) -> SessionOut:
    return SessionOut(user=info.principal.name, practice=info.practice_code,
                      role=info.principal.role, csrf_token=info.csrf_token,
                      expires_at=info.expires_at, idle_expires_at=info.idle_expires_at)


def _secure(request: Request, policy: user_sessions.SessionPolicy) -> bool:
    if policy.secure_cookie is not None:
        return policy.secure_cookie
    return request.url.scheme == "https"


@router.post("", status_code=201, response_model=SessionOut, summary="Sign in",
             openapi_extra={"security": []},
             responses={201: {"description": "Signed in: the session cookie is set",
                              "headers": {"Set-Cookie": {
                                  "description": f"{SESSION_COOKIE}=...; HttpOnly; "
                                                 "SameSite=Strict; Path=/ (Secure over https)",
                                  "schema": {"type": "string"}}}}})
def sign_in(request: Request, body: Login) -> Response:
    """Sign a user in with a password: the session cookie, and the session's CSRF token in
    the body. Every failure is the same 401; after 5 wrong passwords in a row the account
    is locked for 15 minutes (it fails even with the right one). A session the browser
    still had ends."""
    state = api_state(request)
    opened = user_sessions.login(state.medbill, body.user, body.password, body.practice,
                                 state.sessions)
    replaced = request.cookies.get(SESSION_COOKIE)
    if replaced:  # the browser's previous session ends: one browser, one session
        with suppress(NotAuthenticated):  # (unless it ended already)
            user_sessions.logout(state.medbill,
                                 user_sessions.resume(state.medbill, replaced, state.sessions),
                                 state.sessions, reason="replaced")
    response = Response(_body(opened.session).model_dump_json(), status_code=201,
                        media_type="application/json", headers=NO_STORE)
    response.set_cookie(SESSION_COOKIE, opened.token, path="/", httponly=True,
                        samesite="strict", secure=_secure(request, state.sessions))
    return response


@router.get("/current", response_model=SessionOut, summary="The current session",
            responses=NOT_FOUND)
def who_am_i(request: Request, principal: CurrentPrincipal) -> Response:
    """Who the session acts as, in which practice with which role, its CSRF token (a page
    loaded again reads it here) and when it ends. A request made with an API key has no
    session: 404."""
    info = current_session(request)
    if info is None:
        raise NotFound("session", "(this request used an API key)")
    return Response(_body(info).model_dump_json(), media_type="application/json",
                    headers=NO_STORE)


@router.delete("/current", status_code=204, summary="Sign out", responses=NOT_FOUND)
def sign_out(request: Request, principal: CurrentPrincipal) -> Response:
    """End the session (its cookie fails from now on) and clear the cookie. Needs the
    session's CSRF token, as every DELETE made with the cookie does."""
    info = current_session(request)
    if info is None:
        raise NotFound("session", "(this request used an API key)")
    state = api_state(request)
    user_sessions.logout(state.medbill, info, state.sessions)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict",
                           secure=_secure(request, state.sessions))
    return response
