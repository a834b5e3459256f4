"""The shell's pages through FastAPI's TestClient: sign-in (and its refusals), the redirect of
the signed-out, CSRF, the 403 / 404 / 422 pages, the practice switcher, the searches, the
static files, and every page x every role from the route table."""

from __future__ import annotations

import re
from decimal import Decimal
from html.parser import HTMLParser
from typing import Annotated

import pytest
from fastapi import Request
from fastapi.testclient import TestClient
from medbill_workspace_web.flash import COOKIE as FLASH_COOKIE
from medbill_workspace_web.pages import page_router, requires
from medbill_workspace_web.rendering import money, render
from medbill_workspace_web.testing import (
    PASSWORD,
    PRACTICE_A,
    PRACTICE_B,
    Workspace,
    client_sign_in,
    csrf_of,
    total_charge,
)
from starlette.responses import Response

from medbill_core.api.http import SESSION_COOKIE
from medbill_core.api.workspace import (
    AUTHENTICATION_FAILED,
    Action,
    Principal,
    Queue,
    Role,
    allowed,
    create_app,
)

HTML = "text/html"


def _login_token(client: TestClient, path: str = "/workspace/login") -> str:
    found = re.search(r'name="login_token" value="([^"]+)"', client.get(path).text)
    assert found is not None
    return found.group(1)


# -- signing in --------------------------------------------------------------------------------

def test_signed_out_pages_redirect_to_sign_in_keeping_the_page(client: TestClient) -> None:
    answer = client.get("/workspace/claims?state=draft&payer=acme", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == (
        "/workspace/login?next=/workspace/claims%3Fstate%3Ddraft%26payer%3Dacme")


@pytest.mark.parametrize(("path", "kept"), [
    ("/workspace/patients?q=Holloway%2C+Blake", "/workspace/patients"),
    ("/workspace/patients?q=1981-08-17&before=7", "/workspace/patients%3Fbefore%3D7"),
    ("/workspace/claims?state=draft&q=Holloway", "/workspace/claims%3Fstate%3Ddraft"),
    ("/workspace/claims?%71=Holloway", "/workspace/claims"),
])
def test_what_was_searched_for_is_never_carried_to_the_sign_in_page(
        client: TestClient, path: str, kept: str) -> None:
    """An old bookmark's search (a name, a birth date) is not put in ``next``: it would stay
    in the browser's history and the proxies' logs."""
    answer = client.get(path, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/workspace/login?next={kept}"
    assert "Holloway" not in answer.headers["location"]
    assert "1981" not in answer.headers["location"]
    login = client.get(f"/workspace/login?next={path.replace('&', '%26')}")
    assert "Holloway" not in login.text and "1981-08-17" not in login.text


def test_sign_in_page_labels_its_fields_and_keeps_a_local_next(client: TestClient) -> None:
    page = client.get("/workspace/login?next=/workspace/patients")
    assert page.status_code == 200 and page.headers["content-type"].startswith(HTML)
    for field, label in (("user", "User name"), ("password", "Password"),
                         ("practice", "Practice code")):
        assert f'<label for="field-{field}">{label}</label>' in page.text
        assert f'id="field-{field}" name="{field}"' in page.text
    assert 'name="next" value="/workspace/patients"' in page.text
    assert page.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("target", ["https://evil.example/phish", "//evil.example/x",
                                    "/\\evil.example", "/v1/claims", "/workspace//evil.example",
                                    "javascript:alert(1)", "/workspace/../v1/patients/1",
                                    "/workspace/%2e%2e/v1/patients/1", "/workspace/./..",
                                    "/workspace/.."])
def test_next_never_leaves_the_workspace(client: TestClient, target: str) -> None:
    page = client.get("/workspace/login", params={"next": target})
    assert 'name="next" value=""' in page.text
    token = re.search(r'name="login_token" value="([^"]+)"', page.text)
    assert token is not None
    answer = client.post("/workspace/login", data={
        "user": "bill", "password": PASSWORD, "login_token": token.group(1), "next": target},
        follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/workspace/"


def test_a_good_sign_in_follows_next_and_sets_the_session_cookie(client: TestClient) -> None:
    token = _login_token(client)
    answer = client.post("/workspace/login", data={
        "user": "bill", "password": PASSWORD, "login_token": token,
        "next": "/workspace/claims?state=draft&q=Test"}, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/workspace/claims?state=draft"  # never the search
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=mbs_")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie


def test_a_wrong_password_gets_the_one_generic_message(client: TestClient) -> None:
    token = _login_token(client)
    answer = client.post("/workspace/login", data={
        "user": "audra", "password": "not the password", "login_token": token})
    assert answer.status_code == 401
    assert AUTHENTICATION_FAILED in answer.text
    unknown = client.post("/workspace/login", data={
        "user": "nobody-here", "password": "whatever-at-all", "login_token": _login_token(client)})
    assert unknown.status_code == 401
    # the same words whether the user exists or not, and the name typed is kept in the form
    assert AUTHENTICATION_FAILED in unknown.text and 'value="nobody-here"' in unknown.text
    assert "not the password" not in answer.text
    assert SESSION_COOKIE not in client.cookies


def test_a_sign_in_form_from_elsewhere_is_refused(client: TestClient) -> None:
    """Login CSRF: a post without the form's own token (another site's form) signs nobody in."""
    answer = client.post("/workspace/login", data={
        "user": "bill", "password": PASSWORD, "login_token": "made-up"}, follow_redirects=False)
    assert answer.status_code == 403
    assert "The sign-in form expired" in answer.text
    assert SESSION_COOKIE not in client.cookies


def test_a_member_of_several_practices_names_one(client: TestClient) -> None:
    without = client.post("/workspace/login", data={
        "user": "ada", "password": PASSWORD, "login_token": _login_token(client)})
    assert without.status_code == 401 and AUTHENTICATION_FAILED in without.text
    client_sign_in(client, "ada", practice=PRACTICE_B)
    home = client.get("/workspace/")
    assert '<span class="user-practice">north</span>' in home.text


# -- the layout ----------------------------------------------------------------------------------

def test_the_layout_shows_who_and_only_the_navigation_the_role_may_use(
        client: TestClient) -> None:
    client_sign_in(client, "fran")  # front desk
    home = client.get("/workspace/")
    assert home.status_code == 200
    assert '<span class="user-name">fran</span>' in home.text
    assert '<span class="user-role">front desk</span>' in home.text
    assert '<span class="user-practice">default</span>' in home.text
    assert 'href="/workspace/patients"' in home.text
    assert allowed(Role.FRONT_DESK, Action.REPORTS_READ) == (
        'href="/workspace/dashboard"' in home.text)
    assert 'class="skip-link" href="#main"' in home.text
    csrf = csrf_of(home.text)
    assert f'hx-headers=\'{{"X-CSRF-Token": "{csrf}"}}\'' in home.text
    # one practice: no switcher
    assert "practice-switcher" not in home.text


def test_the_switcher_lists_the_users_practices(client: TestClient) -> None:
    client_sign_in(client, "ada", practice=PRACTICE_A)
    home = client.get("/workspace/").text
    assert '<option value="default" selected>' in home
    assert '<option value="north">North Clinic (administrator)</option>' in home


# -- CSRF, sign-out, switching --------------------------------------------------------------------

def test_a_post_without_the_csrf_token_is_refused_with_a_page(client: TestClient) -> None:
    client_sign_in(client, "bill")
    answer = client.post("/workspace/logout", data={}, follow_redirects=False)
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith(HTML)
    assert "This form has expired" in answer.text
    assert client.get("/workspace/").status_code == 200  # still signed in


def test_a_form_with_fields_posted_without_the_token_is_refused(client: TestClient) -> None:
    """The switcher's form has fields (FastAPI reads them before the CSRF check runs)."""
    client_sign_in(client, "ada", practice=PRACTICE_A)
    for token in ("", "not-the-token"):
        answer = client.post("/workspace/practice", data={"practice": "north",
                                                          "csrf_token": token})
        assert answer.status_code == 403 and "This form has expired" in answer.text
    assert '<span class="user-practice">default</span>' in client.get("/workspace/").text


def test_pages_are_not_cached_framed_or_referred(client: TestClient) -> None:
    csrf = client_sign_in(client, "bill")
    for path in ("/workspace/", "/workspace/claims", "/workspace/nothing"):
        headers = client.get(path).headers
        assert headers["cache-control"] == "no-store"
        assert headers["x-frame-options"] == "DENY"
        assert headers["content-security-policy"] == "frame-ancestors 'none'"
        assert headers["referrer-policy"] == "same-origin"
    searched = client.post("/workspace/claims", data={"q": "Testpatient1", "csrf_token": csrf})
    assert searched.headers["cache-control"] == "no-store"


def test_sign_out_ends_the_session_and_says_so_once(client: TestClient) -> None:
    csrf = client_sign_in(client, "bill")
    cookie = client.cookies[SESSION_COOKIE]
    answer = client.post("/workspace/logout", data={"csrf_token": csrf},
                         follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/workspace/login"
    assert FLASH_COOKIE in answer.headers["set-cookie"]
    first = client.get("/workspace/login")
    assert "You have signed out." in first.text
    assert "You have signed out." not in client.get("/workspace/login").text  # once
    # the old cookie no longer opens a page
    client.cookies.set(SESSION_COOKIE, cookie)
    again = client.get("/workspace/claims", follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"].startswith("/workspace/login")


def test_switching_practice_moves_the_session(client: TestClient, workspace: Workspace) -> None:
    csrf = client_sign_in(client, "ada", practice=PRACTICE_A)
    before = {claim.claim_number for claim in workspace.seed.claims_of(PRACTICE_A)}
    assert all(number in client.get("/workspace/claims").text for number in before)
    old_cookie = client.cookies[SESSION_COOKIE]
    answer = client.post("/workspace/practice", data={"csrf_token": csrf, "practice": "north"},
                         follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/workspace/"
    assert client.cookies[SESSION_COOKIE] != old_cookie
    home = client.get("/workspace/")
    assert "You are now working in north." in home.text
    assert '<span class="user-practice">north</span>' in home.text
    claims = client.get("/workspace/claims").text
    assert "NCLM1010" in claims
    assert not any(number in claims for number in before)
    # the old session ended with the switch
    stale = TestClient(workspace.app, base_url="http://127.0.0.1",
                       cookies={SESSION_COOKIE: old_cookie})
    assert stale.get("/workspace/", follow_redirects=False).status_code == 303


def test_switching_to_a_practice_one_is_no_member_of_is_not_found(client: TestClient) -> None:
    csrf = client_sign_in(client, "nora")  # practice B only
    answer = client.post("/workspace/practice", data={"csrf_token": csrf,
                                                      "practice": PRACTICE_A})
    assert answer.status_code == 404
    assert "There is no practice here" in answer.text
    assert '<span class="user-practice">north</span>' in client.get("/workspace/").text


# -- refusals as pages ----------------------------------------------------------------------------

def test_a_role_that_may_not_gets_the_403_page_naming_the_action(
        workspace: Workspace) -> None:
    """A page requiring an action some roles lack (the audit trail's): the 403 page."""
    probe = page_router("/probe")

    @probe.get("/audit")
    def audit_page(request: Request,
                   principal: Annotated[Principal, requires(Action.AUDIT_READ)]) -> Response:
        return render(request, "shell/home.html")

    app = create_app(workspace.medbill)
    app.include_router(probe)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        client_sign_in(client, "fran")  # front desk
        assert not allowed(Role.FRONT_DESK, Action.AUDIT_READ)
        page = client.get("/probe/audit")
        assert page.status_code == 403
        assert page.headers["content-type"].startswith(HTML)
        assert "<h1>Not allowed</h1>" in page.text
        assert "Your role may not do this here (front_desk may not audit.read)." in page.text
        client_sign_in(client, "audra")  # auditor
        assert client.get("/probe/audit").status_code == 200


def test_unknown_addresses_get_the_404_page(client: TestClient) -> None:
    page = client.get("/workspace/no/such/page")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith(HTML)
    assert "The workspace has no page at this address." in page.text


def test_a_bad_parameter_gets_a_page_naming_it_not_its_value(client: TestClient) -> None:
    client_sign_in(client, "bill")
    page = client.get("/workspace/claims?state=lost-in-space&before=-4")
    assert page.status_code == 422
    assert page.headers["content-type"].startswith(HTML)
    assert "Not a valid value: before, state." in page.text
    assert "lost-in-space" not in page.text


def test_a_control_character_in_a_search_is_refused_as_a_page(client: TestClient) -> None:
    csrf = client_sign_in(client, "fran")
    page = client.post("/workspace/patients", data={"q": "Test\x00", "csrf_token": csrf})
    assert page.status_code == 422 and page.headers["content-type"].startswith(HTML)
    # in the search page, the form keeping what was typed
    assert "Search text cannot contain control characters: retype it." in page.text
    assert 'name="q" type="search" value="Test" maxlength="80" aria-invalid="true"' in page.text


def test_root_redirects_to_the_workspace(client: TestClient) -> None:
    answer = client.get("/", follow_redirects=False)
    assert answer.status_code == 307 and answer.headers["location"] == "/workspace/"


# -- the searches ---------------------------------------------------------------------------------

def test_claims_search_finds_by_number_account_or_name(client: TestClient,
                                                       workspace: Workspace) -> None:
    csrf = client_sign_in(client, "bill")

    def search(**fields: str) -> str:
        answer = client.post("/workspace/claims", data={**fields, "csrf_token": csrf},
                             follow_redirects=False)
        assert answer.status_code == 200 and str(answer.url).endswith("/workspace/claims")
        return str(answer.text)

    seeded = workspace.seed.claims_of(PRACTICE_A)
    page = client.get("/workspace/claims").text
    numbers = re.findall(r'<a href="/workspace/claims/(\d+)">([A-Z0-9]+)</a>', page)
    # newest first, every claim of the practice, none of the other's
    assert numbers == [(str(claim.id), claim.claim_number) for claim in reversed(seeded)]
    assert page.count(money(total_charge())) == len(seeded)
    one = search(q="dclm0021", state="", payer="")  # the form as sent, State "Any"
    assert re.findall(r'/workspace/claims/\d+">([A-Z0-9]+)<', one) == ["DCLM0021"]
    by_account = search(q="D00003")
    assert re.findall(r'/workspace/claims/\d+">([A-Z0-9]+)<', by_account) == [
        "DCLM0031", "DCLM0030"]
    by_name = search(q="testpatient2")
    assert re.findall(r'/workspace/claims/\d+">([A-Z0-9]+)<', by_name) == [
        "DCLM0021", "DCLM0020"]
    assert 'value="testpatient2"' in by_name  # the form keeps what was typed
    assert "No claims match." in search(q="", state="paid")
    assert "No claims match." in search(payer="bluecross")
    # the list by state or payer is still a link (no PHI in it)
    assert "No claims match." in client.get("/workspace/claims", params={"state": "paid"}).text
    # a search is a form of the session: without its CSRF token, the 403 page
    refused = client.post("/workspace/claims", data={"q": "dclm0021"})
    assert refused.status_code == 403 and "DCLM0021" not in refused.text
    # the form posts, with the CSRF token, and puts nothing in the URL
    form = re.search(r'<form method="post" action="/workspace/claims"[^>]*role="search">\s*'
                     r'<input type="hidden" name="csrf_token" value="([^"]+)">', page)
    assert form is not None and form.group(1) == csrf


def test_claims_search_pages_by_keyset(client: TestClient, workspace: Workspace,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from medbill_workspace_web import search

    monkeypatch.setattr(search, "PAGE_SIZE", 4)
    csrf = client_sign_in(client, "bill")
    seeded = [claim.claim_number for claim in reversed(workspace.seed.claims_of(PRACTICE_A))]
    first = client.get("/workspace/claims").text
    assert re.findall(r'/workspace/claims/\d+">([A-Z0-9]+)<', first) == seeded[:4]
    older = re.search(r'href="([^"]+)" rel="next">Older</a>', first)
    assert older is not None
    second = client.get(older.group(1).replace("&amp;", "&")).text
    assert re.findall(r'/workspace/claims/\d+">([A-Z0-9]+)<', second) == seeded[4:]
    assert 'rel="next"' not in second and ">Newest</a>" in second
    # a search's pages are POSTs of the search (what was typed stays out of the URL)
    searched = client.post("/workspace/claims", data={"q": "DCLM", "csrf_token": csrf}).text
    assert re.findall(r'/workspace/claims/\d+">([A-Z0-9]+)<', searched) == seeded[:4]
    page_form = re.search(r'<form method="post" action="/workspace/claims" class="page-link">'
                          r'(.*?)</form>', searched)
    assert page_form is not None and 'data-page="older"' in page_form.group(1)
    fields = dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', page_form.group(1)))
    assert fields == {"csrf_token": csrf, "q": "DCLM", "state": "", "payer": "",
                      "before": str(workspace.seed.claims_of(PRACTICE_A)[-4].id)}
    following = client.post("/workspace/claims", data=fields).text
    assert re.findall(r'/workspace/claims/\d+">([A-Z0-9]+)<', following) == seeded[4:]
    assert 'data-page="older"' not in following and 'data-page="newest"' in following


def test_patients_search_and_its_audit(client: TestClient, workspace: Workspace) -> None:
    csrf = client_sign_in(client, "fran")
    answer = client.post("/workspace/patients", data={"q": "D0000", "csrf_token": csrf})
    assert answer.status_code == 200 and answer.url.query == b""
    page = answer.text
    assert 'name="q" type="search" value="D0000"' in page
    rows = re.findall(r'<a href="/workspace/patients/(\d+)">([^<]+)</a>', page)
    assert [int(found) for found, _ in rows] == sorted(workspace.seed.patients[PRACTICE_A],
                                                       reverse=True)
    assert rows[0][1] == "Testpatient3, Jordan"
    assert "01/04/1980" in page  # birth dates as a US office writes them
    # the read is in the audit trail (an auditor reads it through the API, with the cookie)
    client_sign_in(client, "audra")
    events = client.get("/v1/audit", params={"action": "patient.list", "actor": "user:fran",
                                             "limit": 1}).json()["data"]
    assert events[0]["details"] == {"via": "workspace",
                                    "ids": sorted(workspace.seed.patients[PRACTICE_A])}


# -- static files ---------------------------------------------------------------------------------

def test_static_files_are_public_and_cached(client: TestClient) -> None:
    css = client.get("/workspace/static/workspace.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert css.headers["cache-control"] == "public, max-age=86400"
    htmx = client.get("/workspace/static/htmx.min.js")
    assert htmx.status_code == 200 and b"htmx" in htmx.content[:2000]
    assert client.get("/workspace/static/../pages.py").status_code == 404


def test_pages_are_not_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not [path for path in paths if path.startswith("/workspace") or path == "/"]


# -- helpers ---------------------------------------------------------------------------------------

def test_money_is_dollars_and_cents_from_decimals_only() -> None:
    assert money(Decimal("1234.5")) == "$1,234.50"
    assert money(Decimal("-20.00")) == "-$20.00"
    assert money(Decimal("0")) == "$0.00"
    assert money(None) == ""
    with pytest.raises(TypeError):
        money(12.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        money(Decimal("1.005"))


# -- the GET filter forms, submitted with their fields left blank ----------------------------------

class _GetForms(HTMLParser):
    """Every ``<form method="get">`` of a page: its action and its fields' names, as a browser
    sends them with every field blank (a select at its first option, "Any")."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, list[str]]] = []
        self._open: list[str] | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "form" and (found.get("method") or "get").lower() == "get":
            self._open = []
            self.forms.append((found.get("action") or "", self._open))
        elif self._open is not None and tag == "input" and found.get("name"):
            if found.get("type") not in ("checkbox", "radio", "submit", "hidden"):
                self._open.append(str(found["name"]))
        elif self._open is not None and tag == "select":
            self._select = found.get("name")
        elif self._open is not None and self._select is not None and tag == "option":
            assert found.get("value") == "", "a filter's select starts at 'Any'"
            self._open.append(self._select)
            self._select = None

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = None


FILTER_PAGES = ["/workspace/claims", "/workspace/patients", "/workspace/dashboard",
                *[f"/workspace/queues/{queue.value}" for queue in Queue]]


def test_every_get_filter_form_submitted_blank_shows_the_unfiltered_page(
        client: TestClient) -> None:
    client_sign_in(client, "mona")
    submitted = []
    for path in FILTER_PAGES:
        unfiltered = client.get(path)
        assert unfiltered.status_code == 200, path
        forms = _GetForms()
        forms.feed(unfiltered.text)
        for action, fields in forms.forms:
            query = "&".join(f"{name}=" for name in fields)
            answer = client.get(f"{action}?{query}")
            assert answer.status_code == 200, (action, query, answer.text[-400:])
            assert "Check what was entered" not in answer.text
            # blank is "any": the same rows as the page without a query
            rows = re.compile(r'<a href="/workspace/(?:claims|patients|queues/items)/\d+"')
            assert rows.findall(answer.text) == rows.findall(unfiltered.text), action
            submitted.append((action, query))
    actions = {action for action, _ in submitted}
    # the forms the workspace had when this test was written, each one submitted
    assert {"/workspace/dashboard", "/workspace/queues/denials",
            "/workspace/queues/underpayments", "/workspace/queues/patient_balances"} <= actions
    assert ("/workspace/queues/denials",
            "payer=&provider=&min_age=&max_age=&min_amount=&max_amount=&assignee=") in submitted


def test_a_blank_filter_is_any_but_a_wrong_one_is_still_named(client: TestClient,
                                                            workspace: Workspace) -> None:
    client_sign_in(client, "bill")
    page = client.get("/workspace/claims?state=&payer=&before=")
    assert page.status_code == 200
    assert re.findall(r'/workspace/claims/\d+">([A-Z0-9]+)<', page.text) == [
        claim.claim_number for claim in reversed(workspace.seed.claims_of(PRACTICE_A))]
    wrong = client.get("/workspace/queues/denials?min_age=&max_age=x")
    assert wrong.status_code == 422 and "Not a valid value: max_age." in wrong.text
