"""The HTTP API (medbill_core.http) through FastAPI's TestClient, on SQLite and PostgreSQL:
problem+json for every error (no PHI, no traceback), bearer keys, cursor pages, idempotency
keys, the routes hook, and the first resources. ``medbill serve`` itself (a real uvicorn on
127.0.0.1) is tested in tests/test_http_serve.py."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import date, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI, Request
from fastapi.testclient import TestClient
from starlette.responses import Response

from medbill_core import audit
from medbill_core.api.http import CurrentPrincipal, IdempotencyParam
from medbill_core.app import Medbill
from medbill_core.domain import ClaimState
from medbill_core.domain.identity import Principal, PrincipalKind, Role
from medbill_core.errors import (
    ConfigurationError,
    IllegalTransition,
    NotAuthenticated,
    PermissionDenied,
)
from medbill_core.hookspecs import hookimpl
from medbill_core.http import create_app
from medbill_core.http.pagination import encode_cursor
from medbill_core.services import idempotency
from medbill_core.testing.factories import (
    make_claim,
    make_coverage,
    make_patient,
    make_provider,
)

EHR_KEY = "mbk_ehr_secret"
OTHER_KEY = "mbk_other_secret"
MANAGER_KEY = "mbk_manager_secret"
AUDITOR_KEY = "mbk_auditor_secret"
PRINCIPALS = {
    EHR_KEY: Principal(kind=PrincipalKind.API_KEY, id=1, name="ehr-sync", practice_id=1,
                       role=Role.BILLER),
    OTHER_KEY: Principal(kind=PrincipalKind.USER, id=2, name="alice", practice_id=1,
                         role=Role.FRONT_DESK),
    MANAGER_KEY: Principal(kind=PrincipalKind.API_KEY, id=3, name="billing-office",
                           practice_id=1, role=Role.BILLING_MANAGER),
    AUDITOR_KEY: Principal(kind=PrincipalKind.USER, id=4, name="carol", practice_id=1,
                           role=Role.AUDITOR),
}
EHR = {"Authorization": f"Bearer {EHR_KEY}"}
OTHER = {"Authorization": f"Bearer {OTHER_KEY}"}
#: a billing manager's key: voids (the biller's EHR key may not)
MANAGER = {"Authorization": f"Bearer {MANAGER_KEY}"}
#: an auditor: reads the audit trail (nobody who works claims does, but the administrator)
AUDITOR = {"Authorization": f"Bearer {AUDITOR_KEY}"}
#: PHI the tests send: never in an error response or a log record
PHI_NAME = "Zebulonova"


def fake_authenticate(medbill: Medbill, token: str) -> Principal:
    assert isinstance(medbill, Medbill)
    principal = PRINCIPALS.get(token)
    if principal is None:
        raise NotAuthenticated("unknown key")
    return principal


#: routes an in-test plugin adds through the hook: one for each kind of failure
plugin_router = APIRouter(prefix="/v1/test")


@plugin_router.get("/boom")
def boom() -> None:
    raise RuntimeError(f"patient {PHI_NAME} broke it")


@plugin_router.get("/illegal")
def illegal() -> None:
    raise IllegalTransition(7, "draft", "paid", ["ready"])


@plugin_router.get("/misconfigured")
def misconfigured() -> None:
    raise ConfigurationError("medbill.toml: [payers.acme] secret path /etc/x is unreadable")


@plugin_router.get("/forbidden")
def forbidden() -> None:
    raise PermissionDenied("front_desk may not void claims")


@plugin_router.get("/unauthenticated")
def unauthenticated() -> None:
    raise NotAuthenticated("the session expired")


#: the slow POST waits for this (set by the test once a second request was answered)
release_slow_post = threading.Event()


@plugin_router.post("/slow")
def slow_post(request: Request, principal: CurrentPrincipal,
              idempotency: IdempotencyParam) -> Response:
    assert release_slow_post.wait(timeout=30)
    with request.app.state.medbill_api.medbill.unit_of_work(principal.actor) as work:
        return idempotency.respond(work, 201, {"done": True})


@plugin_router.get("/health")
def shadowing_health() -> dict[str, str]:
    return {"status": "plugin"}


@hookimpl
def medbill_register_routes(app: FastAPI) -> None:
    app.include_router(plugin_router)


@pytest.fixture
def medbill_extra_plugins() -> list[tuple[str, Any]]:
    return [("routes_plugin", SimpleNamespace(medbill_register_routes=medbill_register_routes))]


@pytest.fixture
def client(medbill_app: Medbill) -> Iterator[TestClient]:
    with TestClient(create_app(medbill_app, authenticate=fake_authenticate)) as test_client:
        yield test_client


def _patient_body(number: int = 1, **overrides: Any) -> dict[str, Any]:
    body = make_patient(number, last_name=PHI_NAME).model_dump(mode="json", exclude_none=True)
    body.pop("id", None)
    return {**body, **overrides}


def assert_problem(response: Any, status: int, slug: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status and problem["title"]
    assert problem["type"] == (f"urn:medbill:problem:{slug}" if slug else "about:blank")
    assert problem["instance"] == response.request.url.path
    assert set(problem) <= {"type", "title", "status", "detail", "instance", "errors",
                            "error_id"}
    return dict(problem)


# -- the app ----------------------------------------------------------------------------------

def test_health_needs_no_key_and_the_openapi_document_is_3_1(client: TestClient) -> None:
    assert client.get("/v1/health").json() == {"status": "ok"}
    document = client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    assert {"/v1/health", "/v1/payers", "/v1/claims", "/v1/claims/{claim_id}", "/v1/patients",
            "/v1/patients/{patient_id}", "/v1/test/boom"} <= set(document["paths"])
    create = document["paths"]["/v1/patients"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/NewPatient")
    assert "id" not in document["components"]["schemas"]["NewPatient"]["properties"]
    assert "Idempotency-Key" in [p["name"] for p in create["parameters"]]
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert "text/html" in client.get("/docs").headers["content-type"]


def test_the_core_route_answers_before_a_plugin_route_on_the_same_path(
        client: TestClient) -> None:
    """/v1/test/health is the plugin's; /v1/health stays the core's."""
    assert client.get("/v1/health").json() == {"status": "ok"}
    assert client.get("/v1/test/health").json() == {"status": "plugin"}


def test_unknown_route_and_method_are_problems(client: TestClient) -> None:
    assert_problem(client.get("/v1/nothing-here", headers=EHR), 404)
    problem = assert_problem(client.delete("/v1/health"), 405)
    assert problem["title"] == "Method Not Allowed"


# -- authentication ---------------------------------------------------------------------------

@pytest.mark.parametrize("headers", [{}, {"Authorization": "Basic dXNlcjpwdw=="},
                                     {"Authorization": "Bearer "},
                                     {"Authorization": "Bearer wrong-key"}])
def test_without_a_valid_key_it_is_401_with_a_challenge(client: TestClient,
                                                       headers: dict[str, str]) -> None:
    response = client.get("/v1/claims", headers=headers)
    problem = assert_problem(response, 401, "not-authenticated")
    assert problem["detail"] in ("the API key is not valid",
                                 "authentication required: send 'Authorization: Bearer "
                                 "<API key>', or sign in (POST /v1/sessions)")
    assert response.headers["www-authenticate"] == 'Bearer realm="medbill"'
    assert "wrong-key" not in response.text


def test_the_default_authenticator_without_an_identity_service_is_a_safe_500(
        medbill_app: Medbill, monkeypatch: pytest.MonkeyPatch) -> None:
    from medbill_core.http import auth

    monkeypatch.setattr(auth, "IDENTITY_MODULE", "medbill_core.no_such_identity_module")
    with TestClient(create_app(medbill_app)) as default_client:
        problem = assert_problem(default_client.get("/v1/payers", headers=EHR), 500,
                                 "server-misconfigured")
    assert problem["error_id"] and "identity" not in problem["detail"]


# -- errors -----------------------------------------------------------------------------------

def test_a_bad_birth_date_names_the_field_never_the_value(client: TestClient) -> None:
    response = client.post("/v1/patients", headers=EHR,
                           json=_patient_body(birth_date="1987-13-45"))
    problem = assert_problem(response, 422, "validation-failed")
    [error] = problem["errors"]
    assert error["field"] == "body.birth_date"
    assert error["code"].startswith("date_")
    assert "1987-13-45" not in response.text and PHI_NAME not in response.text
    assert "input" not in response.text


def test_the_domain_rules_of_a_patient_are_checked_with_field_paths(
        client: TestClient) -> None:
    future = (date.today() + timedelta(days=3)).isoformat()
    response = client.post("/v1/patients", headers=EHR, json=_patient_body(
        birth_date=future, first_name="Jo\x00rdan"))
    problem = assert_problem(response, 422, "validation-failed")
    fields = {error["field"]: error for error in problem["errors"]}
    assert set(fields) == {"body.birth_date", "body.first_name"}
    assert fields["body.birth_date"]["message"] == "birth date is in the future"
    assert "control character" in fields["body.first_name"]["message"]
    assert future not in response.text and PHI_NAME not in response.text


def test_a_body_that_is_not_json_and_an_extra_field_are_422(client: TestClient) -> None:
    response = client.post("/v1/patients", headers={**EHR, "Content-Type": "application/json"},
                           content=b'{"last_name": "' + PHI_NAME.encode() + b'",')
    problem = assert_problem(response, 422, "validation-failed")
    assert problem["errors"][0]["field"] == "body"
    assert problem["errors"][0]["code"] == "json_invalid" and PHI_NAME not in response.text
    response = client.post("/v1/patients", headers=EHR, json=_patient_body(ssn="123-45-6789"))
    problem = assert_problem(response, 422, "validation-failed")
    assert [(e["field"], e["code"]) for e in problem["errors"]] == [
        ("body.ssn", "extra_forbidden")]
    assert "123-45-6789" not in response.text
    # a key is input too: one that is not a field name is not echoed
    response = client.post("/v1/patients", headers=EHR,
                           json=_patient_body(**{f"{PHI_NAME}, Maria 1987-02-03": 1}))
    problem = assert_problem(response, 422, "validation-failed")
    assert [(e["field"], e["code"]) for e in problem["errors"]] == [
        ("body.(a key)", "extra_forbidden")]
    assert PHI_NAME not in response.text and "1987-02-03" not in response.text


MALFORMED = b'{"last_name": "' + PHI_NAME.encode() + b'",'


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong-key"},
                                     {"Authorization": "Basic dXNlcjpwdw=="}])
def test_a_malformed_body_without_a_valid_key_is_401_not_422(
        client: TestClient, headers: dict[str, str]) -> None:
    """FastAPI parses the body before the key is checked: '{bad' without a key was a 422
    naming the body, telling an anonymous caller of the schema. Now 401 first."""
    for method, path in (("POST", "/v1/patients"), ("PATCH", "/v1/claims/1"),
                         ("POST", "/v1/claims")):
        response = client.request(method, path, content=MALFORMED,
                                  headers={**headers, "Content-Type": "application/json"})
        problem = assert_problem(response, 401, "not-authenticated")
        assert response.headers["www-authenticate"] == 'Bearer realm="medbill"'
        assert "errors" not in problem and "body" not in response.text
        assert PHI_NAME not in response.text and "wrong-key" not in response.text
    # with a valid key the same body is the 422 naming the field, as before
    response = client.post("/v1/patients", content=MALFORMED,
                           headers={**EHR, "Content-Type": "application/json"})
    problem = assert_problem(response, 422, "validation-failed")
    assert problem["errors"][0]["code"] == "json_invalid"


def test_every_route_that_needs_a_key_answers_a_malformed_body_401(client: TestClient) -> None:
    """Every route of the table that needs a key (the plugin's test routes too): 401 for a
    malformed JSON body sent without one; the public ones (signing in, signed webhooks)
    read their body first, as before."""
    import re

    from medbill_core.http.route_table import route_actions

    checked = 0
    for route in route_actions(client.app):  # type: ignore[arg-type]
        if route.method not in ("POST", "PUT", "PATCH", "DELETE") or route.page:
            continue
        path = re.sub(r"\{[^}]*\}", "1", route.path)
        response = client.request(route.method, path, content=b"{bad",
                                  headers={"Content-Type": "application/json"})
        if route.public and not route.any_signed_in:
            assert response.status_code != 401, (route.method, path)
        else:
            assert_problem(response, 401, "not-authenticated")
            checked += 1
    assert checked >= 40


def test_signing_in_with_a_malformed_body_stays_a_422(client: TestClient) -> None:
    response = client.post("/v1/sessions", content=b"{bad",
                           headers={"Content-Type": "application/json"})
    assert_problem(response, 422, "validation-failed")


def test_an_unknown_exception_is_a_500_with_an_error_id_and_no_text(
        client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="medbill.http"):
        response = client.get("/v1/test/boom", headers=EHR)
    problem = assert_problem(response, 500, "internal-error")
    assert PHI_NAME not in response.text and "RuntimeError" not in response.text
    assert "Traceback" not in response.text
    [record] = [r for r in caplog.records if problem["error_id"] in r.getMessage()]
    assert "RuntimeError" in record.getMessage() and "boom" in record.getMessage()
    assert PHI_NAME not in caplog.text


def test_domain_errors_map_to_their_statuses(client: TestClient,
                                             caplog: pytest.LogCaptureFixture) -> None:
    problem = assert_problem(client.get("/v1/test/illegal", headers=EHR), 409,
                             "illegal-transition")
    assert problem["detail"] == ("claim 7: cannot move from 'draft' to 'paid'; allowed: ready")
    problem = assert_problem(client.get("/v1/test/forbidden", headers=EHR), 403,
                             "permission-denied")
    assert problem["detail"] == "front_desk may not void claims"
    response = client.get("/v1/test/unauthenticated", headers=EHR)
    assert_problem(response, 401, "not-authenticated")
    assert response.headers["www-authenticate"] == 'Bearer realm="medbill"'
    with caplog.at_level(logging.ERROR, logger="medbill.http"):
        response = client.get("/v1/test/misconfigured", headers=EHR)
    problem = assert_problem(response, 500, "server-misconfigured")
    assert "/etc/x" not in response.text and problem["error_id"] in caplog.text
    assert "/etc/x" in caplog.text  # the administrator reads what is wrong in the log


# -- patients ---------------------------------------------------------------------------------

def _events(app: Medbill, action: str) -> list[audit.AuditEvent]:
    with app.unit_of_work() as work:
        return list(audit.query(work.session, action=action))


def test_create_and_read_a_patient_audits_the_principal(client: TestClient,
                                                        medbill_app: Medbill) -> None:
    response = client.post("/v1/patients", headers=EHR, json=_patient_body(3))
    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["location"] == f"/v1/patients/{created['id']}"
    assert created["last_name"] == PHI_NAME and created["account_number"] == "A00003"
    assert "idempotent-replayed" not in response.headers
    [event] = _events(medbill_app, "patient.create")
    assert (event.actor, event.entity_id) == ("key:ehr-sync", str(created["id"]))
    assert _events(medbill_app, "patient.read") == []

    read = client.get(f"/v1/patients/{created['id']}", headers=OTHER)
    assert read.status_code == 200 and read.json() == created
    [event] = _events(medbill_app, "patient.read")
    assert (event.actor, event.entity_id, event.details) == (
        "user:alice", str(created["id"]), {"via": "api"})

    again = client.post("/v1/patients", headers=EHR, json=_patient_body(3, first_name="Jo"))
    assert again.status_code == 200 and again.json()["first_name"] == "Jo"
    assert again.json()["id"] == created["id"]


def test_an_unknown_patient_is_404_and_nothing_is_audited(client: TestClient,
                                                          medbill_app: Medbill) -> None:
    problem = assert_problem(client.get("/v1/patients/999", headers=EHR), 404, "not-found")
    assert problem["detail"] == "patient 999 not found"
    assert _events(medbill_app, "patient.read") == []
    problem = assert_problem(client.get("/v1/patients/x1", headers=EHR), 422, "validation-failed")
    assert problem["errors"][0]["field"] == "path.patient_id"
    assert_problem(client.get(f"/v1/patients/{2**40}", headers=EHR), 422, "validation-failed")


# -- idempotency ------------------------------------------------------------------------------

def _count_patients(app: Medbill) -> int:
    with app.unit_of_work(read_only=True) as work:
        return len(work.patients.list(limit=1000))


def test_the_same_key_and_body_replays_the_first_response(client: TestClient,
                                                          medbill_app: Medbill) -> None:
    headers = {**EHR, "Idempotency-Key": "create-7-a"}
    first = client.post("/v1/patients", headers=headers, json=_patient_body(7))
    assert first.status_code == 201
    second = client.post("/v1/patients", headers=headers, json=_patient_body(7))
    assert second.status_code == 201 and second.headers["idempotent-replayed"] == "true"
    assert second.json() == first.json()
    assert second.headers["location"] == first.headers["location"]
    assert len(_events(medbill_app, "patient.create")) == 1
    assert _count_patients(medbill_app) == 1
    # the key is the principal's own: another principal's same key is another request
    other = client.post("/v1/patients", headers={**OTHER, "Idempotency-Key": "create-7-a"},
                        json=_patient_body(7))
    assert other.status_code == 200 and "idempotent-replayed" not in other.headers


def test_the_same_key_with_another_body_is_422(client: TestClient,
                                               medbill_app: Medbill) -> None:
    headers = {**EHR, "Idempotency-Key": "create-8"}
    assert client.post("/v1/patients", headers=headers, json=_patient_body(8)).status_code \
        == 201
    response = client.post("/v1/patients", headers=headers, json=_patient_body(9))
    problem = assert_problem(response, 422, "idempotency-key-reused")
    assert problem["errors"][0]["field"] == "header.Idempotency-Key"
    assert _count_patients(medbill_app) == 1


def test_a_key_in_flight_is_409_and_a_failed_request_frees_its_key(
        client: TestClient, medbill_app: Medbill) -> None:
    import hashlib
    import json

    body = _patient_body(10)
    raw = json.dumps(body).encode()
    held = idempotency.reserve(medbill_app, idempotency.KeyedRequest(
        actor="key:ehr-sync", key="busy", method="POST", path="/v1/patients",
        body_sha256=hashlib.sha256(raw).hexdigest()))
    assert isinstance(held, idempotency.Reservation)
    response = client.post("/v1/patients", headers={**EHR, "Idempotency-Key": "busy",
                                                    "Content-Type": "application/json"},
                           content=raw)
    assert_problem(response, 409, "request-in-flight")
    assert _count_patients(medbill_app) == 0

    # a request that fails leaves nothing: the key may be used again with the corrected body
    headers = {**EHR, "Idempotency-Key": "fix-me"}
    bad = client.post("/v1/patients", headers=headers, json=_patient_body(11, sex="Q"))
    assert_problem(bad, 422, "validation-failed")
    good = client.post("/v1/patients", headers=headers, json=_patient_body(11))
    assert good.status_code == 201 and "idempotent-replayed" not in good.headers


def _key_held(app: Medbill, key: str) -> bool:
    from sqlalchemy import select

    from medbill_core.storage.schema import IdempotencyKeyRow

    with app.unit_of_work(read_only=True) as work:
        return work.session.scalar(select(IdempotencyKeyRow.id).where(
            IdempotencyKeyRow.key == key)) is not None


def test_a_second_request_while_the_first_runs_is_409_then_the_first_is_replayed(
        client: TestClient, medbill_app: Medbill) -> None:
    import time
    from concurrent.futures import ThreadPoolExecutor

    headers = {**EHR, "Idempotency-Key": "slow-1"}
    release_slow_post.clear()
    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(client.post, "/v1/test/slow", headers=headers, json={"n": 1})
        try:
            deadline = time.monotonic() + 30
            while not _key_held(medbill_app, "slow-1"):  # the first request holds the key
                assert time.monotonic() < deadline and not first.done()
                time.sleep(0.05)
            second = client.post("/v1/test/slow", headers=headers, json={"n": 1})
            assert_problem(second, 409, "request-in-flight")
        finally:
            release_slow_post.set()
        assert first.result(timeout=30).status_code == 201
    third = client.post("/v1/test/slow", headers=headers, json={"n": 1})
    assert third.status_code == 201 and third.json() == {"done": True}
    assert third.headers["idempotent-replayed"] == "true"


def test_keys_expire_after_24_hours_and_a_dead_request_is_taken_over(
        medbill_app: Medbill) -> None:
    from medbill_core.storage.schema import utcnow

    request = idempotency.KeyedRequest(actor="key:a", key="k1", method="POST", path="/v1/x",
                                       body_sha256="0" * 64)
    start = utcnow()
    first = idempotency.reserve(medbill_app, request, now=start)
    assert isinstance(first, idempotency.Reservation)
    with pytest.raises(idempotency.RequestInFlight):
        idempotency.reserve(medbill_app, request, now=start + timedelta(minutes=1))
    taken = idempotency.reserve(medbill_app, request, now=start + timedelta(minutes=11))
    assert isinstance(taken, idempotency.Reservation) and taken.id == first.id
    with medbill_app.unit_of_work() as work:
        idempotency.complete(work, taken, idempotency.StoredResponse(201, "{}", {}))
    replay = idempotency.reserve(medbill_app, request, now=start + timedelta(hours=23))
    assert replay == idempotency.StoredResponse(201, "{}", {})
    renewed = idempotency.reserve(medbill_app, request, now=start + timedelta(hours=25))
    assert isinstance(renewed, idempotency.Reservation)
    assert idempotency.purge_expired(medbill_app, now=start + timedelta(hours=50)) == 1
    with pytest.raises(idempotency.ValidationFailed):
        idempotency.reserve(medbill_app, idempotency.KeyedRequest(
            actor="key:a", key="has space", method="POST", path="/v1/x", body_sha256="0"))


# -- claims and pagination --------------------------------------------------------------------

@pytest.fixture
def claims(medbill_app: Medbill) -> dict[str, Any]:
    """23 claims of two patients; every third one of the second patient's, billed to
    bluecross; four of them submitted."""
    with medbill_app.unit_of_work() as work:
        work.patients.register_provider(make_provider())
        first = work.patients.register(make_patient(1))
        second = work.patients.register(make_patient(2))
        acme = work.patients.add_coverage(first.id, make_coverage())
        blue = work.patients.add_coverage(second.id, make_coverage(payer_key="bluecross"))
        ids = []
        for number in range(23):
            patient, coverage, payer = (second, blue, "bluecross") if number % 3 == 0 \
                else (first, acme, "acme")
            claim = work.claims.create(make_claim(patient.id, coverage_id=coverage.id,
                                                  payer_key=payer, number=f"PG{number:03d}"))
            ids.append(claim.id)
        for claim_id in ids[:4]:
            work.claims.transition(claim_id, ClaimState.VALIDATED)
    return {"ids": ids, "second": second.id}


def _walk(client: TestClient, query: str, limit: int) -> tuple[list[int], int]:
    seen: list[int] = []
    pages = 0
    cursor = None
    while True:
        url = f"/v1/claims?limit={limit}{query}" + (f"&cursor={cursor}" if cursor else "")
        response = client.get(url, headers=EHR)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"data", "next_cursor"} and len(body["data"]) <= limit
        seen.extend(claim["id"] for claim in body["data"])
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return seen, pages


def test_a_walk_across_pages_has_no_duplicates_and_no_gaps(client: TestClient,
                                                           claims: dict[str, Any]) -> None:
    seen, pages = _walk(client, "", 5)
    assert seen == sorted(claims["ids"]) and pages == 5
    seen, pages = _walk(client, "", 23)  # exactly one full page: no empty page after it
    assert seen == sorted(claims["ids"]) and pages == 1
    default = client.get("/v1/claims", headers=EHR).json()
    assert len(default["data"]) == 23 and default["next_cursor"] is None


def test_filters_apply_to_every_page(client: TestClient, claims: dict[str, Any]) -> None:
    ids = claims["ids"]
    seen, _ = _walk(client, f"&patient={claims['second']}", 3)
    assert seen == [ids[n] for n in range(0, 23, 3)]
    seen, _ = _walk(client, "&payer=bluecross&state=validated", 1)
    assert seen == [ids[0], ids[3]]
    seen, _ = _walk(client, "&state=draft", 4)
    assert seen == ids[4:]
    today = date.today()
    seen, _ = _walk(client, f"&service_from={today + timedelta(days=1)}", 4)
    assert seen == []
    seen, _ = _walk(client, f"&service_to={today}&payer=acme", 50)
    assert seen == [ids[n] for n in range(23) if n % 3]


def test_a_tampered_or_foreign_cursor_and_a_bad_limit_are_422(
        client: TestClient, claims: dict[str, Any]) -> None:
    cursor = client.get("/v1/claims?limit=2", headers=EHR).json()["next_cursor"]
    flipped = cursor[:-3] + ("A" if cursor[-3] != "A" else "B") + cursor[-2:]
    for bad in (flipped, cursor[:-4], "not-a-cursor", encode_cursor("payers", ["acme"]),
                encode_cursor("claims", ["7"])):
        problem = assert_problem(client.get(f"/v1/claims?cursor={bad}", headers=EHR), 422,
                                 "validation-failed")
        assert [(e["field"], e["code"]) for e in problem["errors"]] == [
            ("query.cursor", "cursor_invalid")]
    for limit in (0, 501, "x"):
        problem = assert_problem(client.get(f"/v1/claims?limit={limit}", headers=EHR), 422,
                                 "validation-failed")
        assert problem["errors"][0]["field"] == "query.limit"
    problem = assert_problem(client.get("/v1/claims?state=lost", headers=EHR), 422,
                             "validation-failed")
    assert problem["errors"][0]["field"] == "query.state"


def test_read_a_claim(client: TestClient, claims: dict[str, Any]) -> None:
    claim_id = claims["ids"][5]
    body = client.get(f"/v1/claims/{claim_id}", headers=EHR).json()
    assert body["id"] == claim_id and body["claim_number"] == "PG005"
    # money is a decimal string, never a float
    assert isinstance(body["lines"][0]["charge"], str)
    assert body["lines"][0]["charge"] == format(make_claim().lines[0].charge, "f")
    assert_problem(client.get("/v1/claims/99999", headers=EHR), 404, "not-found")


def test_payers_are_listed_by_key_without_their_options(client: TestClient) -> None:
    first = client.get("/v1/payers?limit=2", headers=EHR).json()
    assert [payer["key"] for payer in first["data"]] == ["acme", "bluecross"]
    rest = client.get(f"/v1/payers?cursor={first['next_cursor']}", headers=EHR).json()
    assert [payer["key"] for payer in rest["data"]] == ["medicare"]
    assert rest["next_cursor"] is None
    medicare = rest["data"][0]
    assert medicare["program"] == "medicare" and medicare["payer_id"] == "04412"
    assert "options" not in medicare and "fee_schedule" not in medicare


# -- the route table --------------------------------------------------------------------------

def test_every_post_route_takes_an_idempotency_key(client: TestClient) -> None:
    """From the OpenAPI document, so a new POST route (the core's or a plugin's) is checked."""
    paths = client.get("/openapi.json").json()["paths"]
    posts = {path: item["post"] for path, item in paths.items() if "post" in item}
    assert "/v1/patients" in posts
    # but the sign-in: a second sign-in is a second session, never a replayed token; and a
    # payment gateway's webhook or a lender's callback: the sender has no key of ours, and a
    # repeated event changes nothing (the card payment's or the referral's row lock,
    # tests/test_card_payments.py, tests/test_financing.py)
    for path, operation in posts.items():
        if path in ("/v1/sessions", "/v1/payment-gateways/{identifier}/webhooks",
                    "/v1/financing-providers/{identifier}/callbacks"):
            continue
        headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
        assert "Idempotency-Key" in headers, path


def test_every_route_but_health_needs_a_key(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    open_routes = sorted(f"{method} {path}" for path, item in paths.items()
                         for method, operation in item.items()
                         if path.startswith("/v1/") and not operation.get("security")
                         and not path.startswith("/v1/test/"))
    # a payment gateway's webhook and a lender's callback: their signature is the
    # authentication
    assert open_routes == ["get /v1/health",
                           "post /v1/financing-providers/{identifier}/callbacks",
                           "post /v1/payment-gateways/{identifier}/webhooks",
                           "post /v1/sessions"]


def test_the_documented_routes_example_adds_its_route(medbill_config: Any) -> None:
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "docs/hook_examples/medbill_register_routes.py"
    spec = importlib.util.spec_from_file_location("routes_example", path)
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    app = Medbill.open(medbill_config, extra_plugins=[("acme_routes", example)],
                       load_installed=False, upgrade=True)
    try:
        with TestClient(create_app(app, authenticate=fake_authenticate)) as example_client:
            assert example_client.get("/v1/acme/ping", headers=EHR).json() == {
                "acme": "ok", "caller": "key:ehr-sync"}
            assert_problem(example_client.get("/v1/acme/ping"), 401, "not-authenticated")
            assert "/v1/acme/ping" in example_client.get("/openapi.json").json()["paths"]
    finally:
        app.close()


def test_health_is_503_when_the_schema_is_not_current(medbill_config: Any) -> None:
    app = Medbill.open(medbill_config, load_installed=False)  # never migrated
    try:
        with TestClient(create_app(app, authenticate=fake_authenticate)) as fresh:
            problem = assert_problem(fresh.get("/v1/health"), 503, "unavailable")
        assert problem["detail"] == ("the database is unreachable or its schema is not "
                                     "current")
    finally:
        app.close()


def test_a_control_character_in_a_query_is_a_422_naming_the_parameter(
        client: TestClient) -> None:
    for path in ("/v1/claims?payer=ac%00me", "/v1/audit?action=a%1bb",
                 "/v1/patients?last_name=x%0Ay"):
        problem = assert_problem(client.get(path, headers=EHR), 422, "validation-failed")
        name = path.split("?")[1].split("=")[0]
        assert problem["errors"] == [{"field": f"query.{name}", "code": "invalid",
                                      "message": "must not hold control characters"}]
    # a made-up parameter's name is the client's input: not repeated
    problem = assert_problem(client.get("/v1/claims?Zebulonov%C3%A4=x%00", headers=EHR), 422,
                             "validation-failed")
    assert problem["errors"] == [{"field": "query", "code": "invalid",
                                  "message": "must not hold control characters"}]


def test_reading_claims_is_audited(client: TestClient, medbill_app: Medbill,
                                   claims: dict[str, Any]) -> None:
    """A claim shows the patient's diagnoses, services and dates of service: each read, and
    each page of a list, leaves an event naming the claims and the real actor (exploratory
    testing found them unrecorded)."""
    from sqlalchemy import select

    from medbill_core.storage.schema import AuditEventRow

    first = claims["ids"][0]
    assert client.get(f"/v1/claims/{first}", headers=EHR).status_code == 200
    listed = client.get("/v1/claims?limit=3", headers=EHR).json()["data"]
    assert client.get("/v1/claims/999999", headers=EHR).status_code == 404
    with medbill_app.unit_of_work(read_only=True) as work:
        events = [(event.action, event.entity_id, event.actor, event.details)
                  for event in work.session.scalars(
                      select(AuditEventRow).where(AuditEventRow.entity_type == "claim",
                                                  AuditEventRow.action.in_(
                                                      ["claim.read", "claim.list"]))
                      .order_by(AuditEventRow.id))]
    assert events == [
        ("claim.read", str(first), "key:ehr-sync", {"via": "api"}),
        ("claim.list", "list", "key:ehr-sync",
         {"via": "api", "ids": [item["id"] for item in listed]})]
