"""The shell in a real headless Chromium (the system's, driven by Playwright) against the app
served by uvicorn: signing in and out, the user menu, switching practice, the keyboard, the
narrow screen, and another practice's records by URL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from medbill_workspace_web.testing import (
    PRACTICE_A,
    PRACTICE_B,
    LiveServer,
    Workspace,
    login,
)

from medbill_core.api.workspace import AUTHENTICATION_FAILED


def test_a_wrong_password_gets_the_generic_message(page: Any, live_server: LiveServer) -> None:
    login(page, live_server.url, "mona", "wrong-password-here", expect_success=False)
    assert page.url.startswith(f"{live_server.url}/workspace/login")
    assert page.get_by_role("alert").inner_text() == AUTHENTICATION_FAILED
    assert page.get_by_label("User name").input_value() == "mona"
    assert page.get_by_label("Password").input_value() == ""


def test_sign_in_user_menu_switch_practice_and_sign_out(
        page: Any, live_server: LiveServer, workspace: Workspace,
        shot: Callable[[Any, str], Path]) -> None:
    # opening a page signed out goes to the sign-in page, and back to the page after it
    page.goto(f"{live_server.url}/workspace/claims")
    assert "/workspace/login?next=/workspace/claims" in page.url
    shot(page, "login")
    page.get_by_label("User name").fill("ada")
    page.get_by_label("Password").fill(workspace.seed.password)
    page.get_by_label("Practice code").fill(PRACTICE_A)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/workspace/claims")
    menu = page.locator(".user-menu")
    assert menu.locator(".user-name").inner_text() == "ada"
    assert menu.locator(".user-role").inner_text() == "administrator"
    assert menu.locator(".user-practice").inner_text() == PRACTICE_A
    numbers = page.locator("tbody tr td:first-child a").all_inner_texts()
    assert numbers == [c.claim_number for c in reversed(workspace.seed.claims_of(PRACTICE_A))]
    shot(page, "claims")

    page.get_by_label("Practice").select_option(PRACTICE_B)
    page.get_by_role("button", name="Switch").click()
    page.wait_for_url(f"{live_server.url}/workspace/")
    assert page.get_by_role("status").inner_text() == f"You are now working in {PRACTICE_B}."
    assert menu.locator(".user-practice").inner_text() == PRACTICE_B
    page.get_by_role("link", name="Claims", exact=True).first.click()
    page.wait_for_url(f"{live_server.url}/workspace/claims")
    assert page.locator("tbody tr td:first-child a").all_inner_texts() == [
        c.claim_number for c in workspace.seed.claims_of(PRACTICE_B)]

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{live_server.url}/workspace/login")
    assert page.get_by_role("status").inner_text() == "You have signed out."
    page.goto(f"{live_server.url}/workspace/claims")
    assert "/workspace/login" in page.url


def test_tab_reaches_the_sign_in_fields_and_button(page: Any, live_server: LiveServer) -> None:
    page.goto(f"{live_server.url}/workspace/login")
    reached = []
    for _ in range(8):
        page.keyboard.press("Tab")
        reached.append(page.evaluate(
            "() => document.activeElement.id || document.activeElement.textContent.trim()"))
    assert reached[0] == "Skip to content"
    for wanted in ("field-user", "field-password", "field-practice", "Sign in"):
        assert wanted in reached, reached
    assert reached.index("field-user") < reached.index("field-password") < reached.index(
        "Sign in")
    # the focus is visible: an outline on the focused field
    page.get_by_label("User name").focus()
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", "")


def test_a_narrow_screen_folds_the_navigation(browser: Any, live_server: LiveServer,
                                              shot: Callable[[Any, str], Path]) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        login(page, live_server.url, "bill")
        toggle = page.get_by_role("button", name="Menu")
        assert toggle.is_visible()
        claims_link = page.locator("#site-nav").get_by_role("link", name="Claims")
        assert not claims_link.is_visible()
        toggle.click()
        assert toggle.get_attribute("aria-expanded") == "true"
        assert claims_link.is_visible()
        claims_link.click()
        page.wait_for_url(f"{live_server.url}/workspace/claims")
        # the table scrolls inside its box: the page itself is no wider than the screen
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
        shot(page, "claims-narrow")
    finally:
        context.close()


def test_another_practices_claim_by_url_is_the_404_page(page: Any, live_server: LiveServer,
                                                        workspace: Workspace) -> None:
    other = workspace.seed.claims_of(PRACTICE_B)[0]
    login(page, live_server.url, "bill")
    # the search practice B's biller would make: nothing of B's shows
    page.goto(f"{live_server.url}/workspace/claims")
    page.get_by_label("Claim number, account or patient name").fill(other.claim_number)
    page.get_by_role("button", name="Search").click()
    page.get_by_text("No claims match.").wait_for()
    response = page.goto(f"{live_server.url}/workspace/claims/{other.id}")
    assert response is not None and response.status == 404
    assert page.get_by_role("heading", level=1).inner_text() == "Not found"
    assert other.claim_number not in page.content()


def test_the_searches_work_from_the_keyboard_and_keep_what_was_typed_out_of_the_url(
        page: Any, live_server: LiveServer, workspace: Workspace) -> None:
    """What is searched for (a name, a birth date) is POSTed: it is never in an address the
    browser keeps in its history."""
    wanted = workspace.seed.claims_of(PRACTICE_A)[0]
    login(page, live_server.url, "bill")
    page.goto(f"{live_server.url}/workspace/claims")
    visited: list[str] = []
    page.on("request", lambda request: visited.append(request.url))
    field = page.get_by_label("Claim number, account or patient name")
    field.fill(wanted.claim_number.lower())
    field.press("Enter")  # the keyboard submits the search, State left at "Any"
    page.wait_for_load_state()
    page.get_by_role("link", name=wanted.claim_number).wait_for()
    numbers = page.locator("table tbody tr td:first-child a").all_inner_texts()
    assert numbers == [wanted.claim_number]
    assert page.url == f"{live_server.url}/workspace/claims"
    assert field.input_value() == wanted.claim_number.lower()
    assert visited and not [url for url in visited if "?" in url], visited
    page.goto(f"{live_server.url}/workspace/patients")
    patient = page.get_by_label("Account number or name")
    patient.fill("Testpatient3")
    patient.press("Enter")
    page.wait_for_load_state()
    page.get_by_role("link", name="Testpatient3, Jordan").wait_for()
    assert page.url == f"{live_server.url}/workspace/patients"
    history = page.evaluate("() => window.history.length")
    assert history >= 1 and not [url for url in visited if "Testpatient" in url]
