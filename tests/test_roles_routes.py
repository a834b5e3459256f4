"""Every HTTP route x every role: allowed or 403, from the one permission table.

The routes are read from the app (``app.routes``): each declares its action through
:func:`medbill_core.http.auth.permitted`, so a route added later is covered without being
named here, and a route that declares no action fails unless it is in the explicit public
list. Requests carry real API keys (one per role, made by the identity service); path
parameters are made-up ids, so an allowed role may get 404 or 422: anything but 403.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from medbill_core.app import Medbill
from medbill_core.domain.identity import Role
from medbill_core.http import create_app
from medbill_core.http.route_table import (
    OWN_SESSION_ROUTES,
    PUBLIC_ROUTES,
    RouteAction,
    core_app,
    main,
    regenerate,
    route_actions,
    route_table_markdown,
)
from medbill_core.permissions import Action, allowed
from medbill_core.services import identity

DOCS_PAGE = Path(__file__).resolve().parents[1] / "docs" / "users-and-roles.md"


@pytest.fixture
def served(medbill_app: Medbill) -> Iterator[tuple[TestClient, FastAPI, dict[Role, str]]]:
    """The served app (default authenticator) and one API key per role."""
    tokens: dict[Role, str] = {}
    with medbill_app.unit_of_work() as work:
        admin = identity.local_principal(work, medbill_app.config)  # the bootstrap admin
        for role in Role:
            tokens[role] = identity.create_key(work, admin, f"key-{role.value}", role).token
    app = create_app(medbill_app)
    with TestClient(app) as client:
        yield client, app, tokens


def concrete(path: str) -> str:
    """``/v1/claims/{claim_id:int}/void`` -> ``/v1/claims/1/void``."""
    return re.sub(r"\{[^}]+\}", "1", path)


def send(client: TestClient, route: RouteAction, token: str) -> tuple[int, str, str]:
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "roles-test-key"}
    kwargs = {"json": {}} if route.method in ("POST", "PUT", "PATCH") else {}
    response = client.request(route.method, concrete(route.path), headers=headers, **kwargs)
    return response.status_code, response.headers.get("content-type", ""), response.text


def test_every_route_declares_an_action_or_is_public(medbill_app: Medbill) -> None:
    routes = route_actions(create_app(medbill_app))
    undeclared = [f"{item.method} {item.path}" for item in routes
                  if item.action is None and not item.public]
    assert undeclared == [], "routes without permitted(Action.X) and not in PUBLIC_ROUTES"
    # the public list names routes that exist and declare nothing
    # (a plugin's routes declare their access on their endpoint: public_route ...)
    assert {(item.method, item.path) for item in routes
            if item.public and item.access is None} == set(PUBLIC_ROUTES | OWN_SESSION_ROUTES)
    assert all(item.action is None for item in routes if item.public)
    # the core's own routes are all here (and a handful at least: the walk finds them)
    assert {(item.method, item.path) for item in route_actions(core_app())} <= {
        (item.method, item.path) for item in routes}
    assert len(routes) >= 20


def test_each_route_and_role_is_allowed_or_403(
        served: tuple[TestClient, FastAPI, dict[Role, str]]) -> None:
    client, app, tokens = served
    checked = 0
    for route in route_actions(app):
        if route.action is None:
            continue
        for role in Role:
            status, content_type, text = send(client, route, tokens[role])
            where = f"{route.method} {route.path} as {role.value}"
            if allowed(role, route.action):
                assert status != 403, f"{where}: refused ({text})"
                assert status != 401, f"{where}: the key was not accepted"
                assert status < 500, f"{where}: {status}"
            else:
                assert status == 403, f"{where}: {status} {text}"
                assert content_type.startswith("application/problem+json"), where
                assert f"{role.value} may not {route.action.value}" in text, where
            checked += 1
    assert checked >= 20 * len(Role)


def test_refusals_by_role_are_the_tables(
        served: tuple[TestClient, FastAPI, dict[Role, str]]) -> None:
    """Values, not only statuses: who may void, who reads the audit trail, who registers."""
    client, app, tokens = served
    by_path = {(item.method, item.path): item for item in route_actions(app)}
    void = by_path[("POST", "/v1/claims/{claim_id:int}/void")]
    assert void.action is Action.CLAIMS_VOID
    assert {role for role in Role if send(client, void, tokens[role])[0] != 403} == {
        Role.ADMINISTRATOR, Role.BILLING_MANAGER}
    audit = by_path[("GET", "/v1/audit")]
    assert {role for role in Role if send(client, audit, tokens[role])[0] == 200} == {
        Role.ADMINISTRATOR, Role.AUDITOR}
    register = by_path[("POST", "/v1/patients")]
    assert {role for role in Role if send(client, register, tokens[role])[0] == 403} == {
        Role.AUDITOR}
    assert by_path[("GET", "/v1/health")].action is None
    assert client.get("/v1/health").status_code == 200


def test_the_route_table_prints_method_path_action_and_roles() -> None:
    lines = route_table_markdown().splitlines()
    assert lines[:2] == ["| method | path | action | roles |", "|---|---|---|---|"]
    assert "| GET | `/v1/health` | (none) | public |" in lines
    assert ("| POST | `/v1/claims/{claim_id:int}/void` | `claims.void` "
            "| administrator, billing manager |") in lines
    assert "| GET | `/v1/claims` | `claims.read` | everyone |" in lines
    assert "| GET | `/v1/audit` | `audit.read` | administrator, auditor |" in lines
    assert len(lines) == 2 + len(route_actions(core_app()))


def test_the_docs_page_prints_the_route_table() -> None:
    text = DOCS_PAGE.read_text("utf-8")
    found = re.search(r"<!-- routes:begin -->\n(.*?)<!-- routes:end -->", text, re.DOTALL)
    assert found is not None, "docs/users-and-roles.md: the routes markers are missing"
    assert found.group(1).strip() == route_table_markdown().strip(), (
        "docs/users-and-roles.md is out of date: run python -m medbill_core.http.route_table")
    assert regenerate(text) == text


def test_the_regeneration_command_rewrites_and_checks(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "page.md"
    page.write_text("# t\n\n<!-- permissions:begin -->\nold\n<!-- permissions:end -->\n\n"
                    "<!-- routes:begin -->\n<!-- routes:end -->\n", "utf-8")
    assert main(["--check", str(page)]) == 1
    assert "out of date" in capsys.readouterr().err
    assert main([str(page)]) == 0
    assert main(["--check", str(page)]) == 0
    written = page.read_text("utf-8")
    assert "| `claims.void` | yes | yes | - | - | - |" in written
    assert "| GET | `/v1/claims` | `claims.read` | everyone |" in written
    assert "old" not in written
    page.write_text("no markers", "utf-8")
    with pytest.raises(ValueError, match="permissions:begin"):
        main([str(page)])
