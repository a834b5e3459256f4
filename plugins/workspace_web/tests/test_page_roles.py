"""Every workspace page x every role, read from the app's route table (a page added later is
covered without being named here): a role that may gets anything but 403, one that may not
the HTML 403 page naming the action; a page declares an action, or is marked public or
open to anyone signed in."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from medbill_workspace_web.testing import PRACTICE_A, USERS_A, Workspace, client_sign_in

from medbill_core.api.http import RouteAction, route_actions
from medbill_core.api.workspace import Role, allowed


def _pages(workspace: Workspace) -> list[RouteAction]:
    return [route for route in route_actions(workspace.app)
            if route.path == "/" or route.path.startswith("/workspace")]


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_page_is_a_page_and_declares_who_may_open_it(workspace: Workspace) -> None:
    pages = _pages(workspace)
    assert len(pages) >= 7
    assert all(route.page for route in pages), [r.path for r in pages if not r.page]
    undeclared = [f"{r.method} {r.path}" for r in pages if r.action is None and not r.public]
    assert undeclared == []
    public = {(r.method, r.path) for r in pages if r.access == "public"}
    assert public == {("GET", "/"), ("GET", "/workspace/login"), ("POST", "/workspace/login"),
                      ("GET", "/workspace/{rest:path}")}


@pytest.mark.parametrize("role", list(Role))
def test_each_page_and_role_is_allowed_or_the_403_page(workspace: Workspace,
                                                       role: Role) -> None:
    checked = 0
    with TestClient(workspace.app, base_url="http://127.0.0.1") as client:
        csrf = client_sign_in(client, USERS_A[role], practice=PRACTICE_A)
        for route in _pages(workspace):
            if route.action is None:
                continue
            path = _concrete(route.path)
            answer = (client.get(path) if route.method == "GET"
                      else client.request(route.method, path, data={"csrf_token": csrf}))
            where = f"{route.method} {route.path} as {role.value}"
            if allowed(role, route.action):
                # a page, or a download a page links to (the dashboard's CSV)
                assert answer.headers["content-type"].startswith(("text/html", "text/csv")), \
                    where
                assert answer.status_code not in (401, 403), where
                assert answer.status_code < 500, where
            else:
                assert answer.headers["content-type"].startswith("text/html"), where
                assert answer.status_code == 403, where
                assert f"{role.value} may not {route.action.value}" in answer.text, where
            checked += 1
    assert checked >= 2


def test_signed_out_every_page_but_the_public_ones_goes_to_sign_in(
        workspace: Workspace) -> None:
    with TestClient(workspace.app, base_url="http://127.0.0.1") as client:
        for route in _pages(workspace):
            if route.method != "GET":
                continue
            answer = client.get(_concrete(route.path), follow_redirects=False)
            if route.access == "public":
                assert answer.status_code in (200, 307, 404), route.path
            else:
                assert answer.status_code == 303, route.path
                assert answer.headers["location"].startswith("/workspace/login"), route.path



#: bodies a form POST may carry: none, fields, and bodies FastAPI cannot parse (a multipart
#: body without its boundary, more fields than Starlette reads), refused before the sign-in
BODIES: dict[str, dict[str, Any]] = {
    "empty": {},
    "fields": {"data": {"csrf_token": "from-another-page", "note": "x", "amount": "abc"}},
    "multipart-without-boundary": {"content": b"--x\r\nbroken",
                                   "headers": {"Content-Type": "multipart/form-data"}},
    "too-many-fields": {"content": "&".join(f"f{n}=1" for n in range(1200)).encode(),
                        "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
}


def _form_posts(workspace: Workspace) -> list[RouteAction]:
    return [route for route in _pages(workspace)
            if route.method == "POST" and route.access != "public"]


@pytest.mark.parametrize("body", list(BODIES))
def test_signed_out_every_form_post_goes_to_sign_in(workspace: Workspace, body: str) -> None:
    """A form posted without a session whose body FastAPI could not read was answered a page
    about the form (400, or 422 naming its fields): it is not signed in, as a GET is."""
    posts = _form_posts(workspace)
    assert len(posts) >= 20
    with TestClient(workspace.app, base_url="http://127.0.0.1") as client:
        for route in posts:
            answer = client.post(_concrete(route.path), follow_redirects=False,
                                 **BODIES[body])
            assert (answer.status_code, answer.headers.get("location")) == (
                303, "/workspace/login"), f"POST {route.path}"
            assert answer.text == "", route.path  # nothing about the form's fields


def test_a_session_posting_a_broken_form_without_its_csrf_token_gets_the_403_page(
        workspace: Workspace) -> None:
    with TestClient(workspace.app, base_url="http://127.0.0.1") as client:
        client_sign_in(client, USERS_A[Role.ADMINISTRATOR], practice=PRACTICE_A)
        for route in _form_posts(workspace):
            answer = client.post(_concrete(route.path), follow_redirects=False,
                                 **BODIES["multipart-without-boundary"])
            assert answer.status_code == 403, f"POST {route.path}"
            assert "This form has expired" in answer.text, route.path
