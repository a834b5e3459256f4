"""Browser sessions over HTTP (issue 15): sign in with a password, the cookie's attributes,
CSRF on unsafe requests made with the cookie, absolute and idle expiry (on an injected
clock), sign out, and the changes of the identity service that end sessions; bearer keys
are unaffected. On SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select

from medbill_core import audit
from medbill_core.api.http import (
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    CurrentPrincipal,
    csrf_token,
)
from medbill_core.app import Medbill
from medbill_core.domain.identity import Principal, PrincipalKind, Role
from medbill_core.http import create_app
from medbill_core.services import identity
from medbill_core.services.sessions import (
    IDLE_TIMEOUT,
    LIFETIME,
    SESSION_ENDED,
    SessionPolicy,
)
from medbill_core.storage.schema import MembershipRow, PracticeRow, UserRow, UserSessionRow
from medbill_core.testing.factories import make_patient

PASSWORD = "correct horse battery"
START = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


class Clock:
    """The sessions' clock, moved by the test."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Api:
    client: TestClient
    app: Medbill
    clock: Clock


def _admin(app: Medbill) -> Principal:
    """The administrator "boss" (made, by the bootstrap administrator, when missing)."""
    with app.unit_of_work() as work:
        boss = work.session.scalar(select(UserRow).where(UserRow.name == "boss"))
        if boss is None:
            bootstrap = identity.local_principal(work, app.config)
            identity.add_user(work, bootstrap, "boss", Role.ADMINISTRATOR, password=PASSWORD)
            boss = work.session.scalar(select(UserRow).where(UserRow.name == "boss"))
        assert boss is not None
        practice = work.session.scalar(select(PracticeRow.id).where(
            PracticeRow.code == "default"))
        assert practice is not None
        return Principal(kind=PrincipalKind.USER, id=boss.id, name="boss",
                         practice_id=practice, role=Role.ADMINISTRATOR)


def _user(app: Medbill, name: str, role: Role = Role.BILLER,
          password: str | None = PASSWORD) -> None:
    admin = _admin(app)
    with app.unit_of_work() as work:
        identity.add_user(work, admin, name, role, password=password)


def _form_route(app: FastAPI) -> None:
    """A form post as the workspace's pages make them (issue 16)."""
    async def post_form(request: Request, principal: CurrentPrincipal,
                        token: str | None = Depends(csrf_token)) -> dict[str, Any]:
        form = (await request.body()).decode()
        return {"actor": principal.actor, "form": form, "token_known": token is not None}

    app.add_api_route("/v1/test-form", post_form, methods=["POST"])


@pytest.fixture
def api(medbill_app: Medbill) -> Iterator[Api]:
    clock = Clock()
    web = create_app(medbill_app, sessions=SessionPolicy(clock=clock))
    _form_route(web)
    _user(medbill_app, "alice")
    with TestClient(web) as client:
        yield Api(client, medbill_app, clock)


def _login(api: Api, user: str = "alice", password: str = PASSWORD,
           **extra: Any) -> Response:
    return api.client.post("/v1/sessions", json={"user": user, "password": password, **extra})


def _events(app: Medbill, action: str) -> list[audit.AuditEvent]:
    with app.unit_of_work(read_only=True) as work:
        return list(audit.query(work.session, action=action))


def _rows(app: Medbill) -> list[UserSessionRow]:
    with app.unit_of_work(read_only=True) as work:
        rows = list(work.session.scalars(select(UserSessionRow).order_by(UserSessionRow.id)))
        work.session.expunge_all()
        return rows


def _problem(response: Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


# -- signing in ---------------------------------------------------------------------------------

def test_sign_in_sets_a_strict_http_only_cookie_and_answers_the_csrf_token(api: Api) -> None:
    response = _login(api)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["user"] == "alice" and body["practice"] == "default"
    assert body["role"] == "biller"
    assert len(body["csrf_token"]) == 43
    assert datetime.fromisoformat(body["expires_at"]) == START + LIFETIME
    assert datetime.fromisoformat(body["idle_expires_at"]) == START + IDLE_TIMEOUT
    assert response.headers["cache-control"] == "no-store"
    cookie = response.headers["set-cookie"]
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert attributes == {SESSION_COOKIE, "httponly", "path", "samesite"}  # no Secure: http
    assert "SameSite=strict" in cookie and "Path=/" in cookie
    token = api.client.cookies[SESSION_COOKIE]
    assert token.startswith("mbs_") and token not in response.text
    # only the token's SHA-256 is stored
    [row] = _rows(api.app)
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert row.csrf_token == body["csrf_token"] and row.revoked_at is None

    current = api.client.get("/v1/sessions/current")
    assert current.status_code == 200
    assert current.json() == body
    assert api.client.get("/v1/claims").status_code == 200
    [login] = _events(api.app, "user.login")
    [started] = _events(api.app, "session.started")
    assert (login.actor, started.actor) == ("user:alice", "user:alice")
    assert started.entity_id == str(row.id)
    assert started.details == {"practice": "default",
                               "expires_at": (START + LIFETIME).isoformat()}


def test_over_https_the_cookie_is_secure(medbill_app: Medbill) -> None:
    _user(medbill_app, "alice")
    with TestClient(create_app(medbill_app), base_url="https://medbill.example") as client:
        response = client.post("/v1/sessions", json={"user": "alice", "password": PASSWORD})
    assert response.status_code == 201
    assert "; Secure" in response.headers["set-cookie"]
    forced = create_app(medbill_app, sessions=SessionPolicy(secure_cookie=True))
    with TestClient(forced) as client:  # plain http, behind a proxy that terminates TLS
        response = client.post("/v1/sessions", json={"user": "alice", "password": PASSWORD})
    assert "; Secure" in response.headers["set-cookie"]


def test_a_wrong_password_and_an_unknown_user_get_the_same_401(api: Api) -> None:
    wrong = _problem(_login(api, password="not the password"), 401)
    unknown = _problem(_login(api, user="mallory"), 401)
    assert wrong == unknown
    assert wrong["detail"] == identity.AUTHENTICATION_FAILED
    assert SESSION_COOKIE not in api.client.cookies
    assert _rows(api.app) == []
    [failed] = _events(api.app, "user.login_failed")
    assert failed.actor == "anonymous" and failed.details == {"failed_logins": 1}
    with api.app.unit_of_work(read_only=True) as work:
        trail = " ".join(str(event.details) for event in audit.query(work.session))
    assert "not the password" not in trail and "argon2" not in trail


def test_lockout_refuses_even_the_right_password_with_the_same_401(api: Api) -> None:
    first = _problem(_login(api, password="wrong"), 401)
    for _ in range(identity.MAX_FAILED_LOGINS - 1):
        _problem(_login(api, password="wrong"), 401)
    locked = _login(api)
    assert _problem(locked, 401) == first
    assert "retry-after" not in locked.headers  # it would tell that the name exists
    assert len(_events(api.app, "user.locked")) == 1
    assert _rows(api.app) == []


def test_a_disabled_user_cannot_sign_in_and_disabling_ends_its_sessions(api: Api) -> None:
    assert _login(api).status_code == 201
    assert api.client.get("/v1/sessions/current").status_code == 200
    with api.app.unit_of_work() as work:
        identity.disable_user(work, _admin(api.app), "alice")
    ended = _problem(api.client.get("/v1/sessions/current"), 401)
    assert ended["detail"] == SESSION_ENDED
    [row] = _rows(api.app)
    assert row.revoked_at is not None
    [revoked] = _events(api.app, "sessions.revoked")
    assert revoked.details == {"count": 1, "reason": "user.disabled"}
    _problem(_login(api), 401)


def test_revoking_the_membership_or_setting_the_password_ends_sessions(api: Api) -> None:
    _user(api.app, "bob", Role.FRONT_DESK)
    assert _login(api).status_code == 201
    with api.app.unit_of_work() as work:
        identity.revoke(work, _admin(api.app), "alice")
    _problem(api.client.get("/v1/sessions/current"), 401)

    assert _login(api, user="bob").status_code == 201
    assert api.client.get("/v1/sessions/current").json()["role"] == "front_desk"
    with api.app.unit_of_work() as work:  # a new role applies to the live session at once
        identity.grant(work, _admin(api.app), "bob", Role.BILLING_MANAGER)
    assert api.client.get("/v1/sessions/current").json()["role"] == "billing_manager"
    with api.app.unit_of_work() as work:
        identity.set_password(work, _admin(api.app), "bob", "another long password")
    _problem(api.client.get("/v1/sessions/current"), 401)
    reasons = [event.details["reason"] for event in _events(api.app, "sessions.revoked")
               if event.details]
    assert sorted(reasons) == ["membership.revoked", "user.password_set"]


def test_a_member_of_several_practices_names_one(api: Api) -> None:
    with api.app.unit_of_work() as work:
        north = PracticeRow(code="north", name="North clinic", active=True)
        work.session.add(north)
        work.session.flush()
        alice = work.session.scalar(select(UserRow.id).where(UserRow.name == "alice"))
        assert alice is not None
        work.session.add(MembershipRow(user_id=alice, practice_id=north.id,
                                       role=Role.AUDITOR.value))
    _problem(_login(api), 401)
    response = _login(api, practice="north")
    assert response.status_code == 201
    assert (response.json()["practice"], response.json()["role"]) == ("north", "auditor")
    assert _problem(_login(api, practice="North!"), 422)["errors"][0]["field"] == \
        "body.practice"


# -- expiry ---------------------------------------------------------------------------------------

def test_a_session_ends_when_idle_and_use_keeps_it_alive_until_its_absolute_end(
        api: Api) -> None:
    assert _login(api).status_code == 201
    # used every 20 minutes: alive for 12 hours, not longer
    for _ in range(int(LIFETIME / timedelta(minutes=20)) - 1):
        api.clock.advance(minutes=20)
        assert api.client.get("/v1/sessions/current").status_code == 200
    api.clock.advance(minutes=20)  # exactly LIFETIME after sign-in
    assert _problem(api.client.get("/v1/sessions/current"), 401)["detail"] == SESSION_ENDED

    assert _login(api).status_code == 201
    api.clock.advance(minutes=29, seconds=59)
    assert api.client.get("/v1/sessions/current").status_code == 200
    api.clock.advance(minutes=29, seconds=59)
    assert api.client.get("/v1/sessions/current").status_code == 200
    api.clock.advance(minutes=30)
    _problem(api.client.get("/v1/sessions/current"), 401)


def test_the_idle_end_is_written_at_most_once_a_minute(api: Api) -> None:
    assert _login(api).status_code == 201
    api.clock.advance(seconds=50)
    assert api.client.get("/v1/sessions/current").json()["idle_expires_at"] == \
        (START + IDLE_TIMEOUT).isoformat().replace("+00:00", "Z")
    [row] = _rows(api.app)
    assert row.idle_expires_at.replace(tzinfo=UTC) == START + IDLE_TIMEOUT  # not written
    api.clock.advance(seconds=20)
    moved = START + timedelta(seconds=70) + IDLE_TIMEOUT
    assert datetime.fromisoformat(
        api.client.get("/v1/sessions/current").json()["idle_expires_at"]) == moved
    [row] = _rows(api.app)
    assert row.idle_expires_at.replace(tzinfo=UTC) == moved


# -- CSRF -----------------------------------------------------------------------------------------

def _patient() -> dict[str, Any]:
    return make_patient(1).model_dump(mode="json", exclude_none=True)


def test_an_unsafe_request_with_the_cookie_needs_the_sessions_csrf_token(api: Api) -> None:
    token = _login(api).json()["csrf_token"]
    missing = _problem(api.client.post("/v1/patients", json=_patient()), 403)
    assert missing["type"] == "urn:medbill:problem:permission-denied"
    assert CSRF_HEADER in missing["detail"]
    wrong = api.client.post("/v1/patients", json=_patient(),
                            headers={CSRF_HEADER: token[:-1] + ("A" if token[-1] != "A" else "B")})
    assert _problem(wrong, 403) == missing
    assert _events(api.app, "patient.create") == []
    right = api.client.post("/v1/patients", json=_patient(), headers={CSRF_HEADER: token})
    assert right.status_code == 201, right.text
    [created] = _events(api.app, "patient.create")
    assert created.actor == "user:alice"


def test_a_malformed_body_is_refused_as_its_session_would_be_before_it_is_read(
        api: Api) -> None:
    """A malformed JSON body fails before the dependencies run: it is answered as the
    request's credentials are (401 without a session, 403 without the CSRF token), and only
    then 422."""
    bad = {"content": b"{bad", "headers": {"Content-Type": "application/json"}}
    _problem(api.client.post("/v1/patients", **bad), 401)
    token = _login(api).json()["csrf_token"]
    missing = _problem(api.client.post("/v1/patients", **bad), 403)
    assert CSRF_HEADER in missing["detail"]
    parsed = api.client.post("/v1/patients", content=b"{bad", headers={
        "Content-Type": "application/json", CSRF_HEADER: token})
    assert _problem(parsed, 422)["errors"][0]["code"] == "json_invalid"


def test_another_sessions_csrf_token_does_not_do(api: Api) -> None:
    _user(api.app, "bob")
    bobs = _login(api, user="bob").json()["csrf_token"]
    api.client.cookies.clear()
    assert _login(api).status_code == 201
    _problem(api.client.post("/v1/patients", json=_patient(), headers={CSRF_HEADER: bobs}), 403)


def test_an_html_form_sends_the_token_as_a_field(api: Api) -> None:
    token = _login(api).json()["csrf_token"]
    form = {"note": "hello", CSRF_FIELD: token}
    posted = api.client.post("/v1/test-form", data=form)
    assert posted.status_code == 200, posted.text
    assert posted.json()["actor"] == "user:alice" and posted.json()["token_known"] is True
    assert "note=hello" in posted.json()["form"]  # the route still reads its body
    _problem(api.client.post("/v1/test-form", data={"note": "hello"}), 403)
    _problem(api.client.post("/v1/test-form", data={CSRF_FIELD: "forged"}), 403)


def test_safe_methods_need_no_token_and_bearer_keys_need_none(api: Api) -> None:
    with api.app.unit_of_work() as work:
        key = identity.create_key(work, _admin(api.app), "ehr", Role.BILLER).token
    bearer = {"Authorization": f"Bearer {key}"}
    created = api.client.post("/v1/patients", json=_patient(), headers=bearer)
    assert created.status_code == 201, created.text
    # a bearer request has no session; a key wins over a cookie sent beside it
    _problem(api.client.get("/v1/sessions/current", headers=bearer), 404)
    api.client.cookies.set(SESSION_COOKIE, "mbs_" + "x" * 43)
    assert api.client.get("/v1/claims", headers=bearer).status_code == 200
    assert _problem(api.client.get("/v1/claims"), 401)["detail"] == SESSION_ENDED
    api.client.cookies.clear()
    unauthenticated = _problem(api.client.get("/v1/claims"), 401)
    assert "POST /v1/sessions" in unauthenticated["detail"]
    posted = api.client.post("/v1/test-form", data={"note": "x"}, headers=bearer)
    assert posted.status_code == 200 and posted.json()["token_known"] is False


# -- signing out ----------------------------------------------------------------------------------

def test_sign_out_revokes_the_session_and_clears_the_cookie(api: Api) -> None:
    token = _login(api).json()["csrf_token"]
    cookie = api.client.cookies[SESSION_COOKIE]
    _problem(api.client.delete("/v1/sessions/current"), 403)  # without the token
    out = api.client.delete("/v1/sessions/current", headers={CSRF_HEADER: token})
    assert out.status_code == 204
    cleared = out.headers["set-cookie"]
    assert cleared.startswith(f'{SESSION_COOKIE}=""') and "Max-Age=0" in cleared
    assert "HttpOnly" in cleared and "SameSite=strict" in cleared
    assert SESSION_COOKIE not in api.client.cookies
    [row] = _rows(api.app)
    assert row.revoked_at is not None
    # the cookie kept by another copy of it fails
    api.client.cookies.set(SESSION_COOKIE, cookie)
    _problem(api.client.get("/v1/sessions/current"), 401)
    [ended] = _events(api.app, "session.ended")
    assert (ended.actor, ended.entity_id, ended.details) == (
        "user:alice", str(row.id), {"reason": "logout"})
    # the next sign-in clears the ended row away
    api.client.cookies.clear()
    assert _login(api).status_code == 201
    assert [r.revoked_at for r in _rows(api.app)] == [None]


def test_sign_in_refuses_bodies_it_cannot_read_without_disclosing_them(api: Api) -> None:
    surrogate = api.client.post(
        "/v1/sessions", content=b'{"user": "alice", "password": "\\ud800abc"}',
        headers={"Content-Type": "application/json"})
    assert _problem(surrogate, 422)["errors"][0]["field"] == "body.password"
    numeric = _problem(api.client.post("/v1/sessions",
                                       json={"user": "alice", "password": 123456789012}), 422)
    assert "123456789012" not in str(numeric)
    extra = _problem(_login(api, remember_me=True), 422)
    assert extra["errors"][0]["field"] == "body.remember_me"


def test_a_new_sign_in_in_the_same_browser_ends_the_session_it_had(api: Api) -> None:
    assert _login(api).status_code == 201
    first = api.client.cookies[SESSION_COOKIE]
    assert _login(api).status_code == 201
    assert api.client.cookies[SESSION_COOKIE] != first
    assert [row.revoked_at is not None for row in _rows(api.app)] == [True, False]
    [ended] = _events(api.app, "session.ended")
    assert ended.details == {"reason": "replaced"}
    assert api.client.get("/v1/sessions/current").status_code == 200
