"""The dashboard in a real headless Chromium: a billing manager sees the API's figures (read
with the same browser session), opens the claims behind one; the front desk has no nav entry
and gets the 403 page."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from medbill_workspace_web.testing import PRACTICE_A, LiveServer, login


def test_a_manager_sees_the_apis_figures_and_drills_down(
        page: Any, live_server: LiveServer, shot: Callable[[Any, str], Path]) -> None:
    login(page, live_server.url, "mona", practice=PRACTICE_A)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
    page.wait_for_url(f"{live_server.url}/workspace/dashboard")
    report = page.request.get(f"{live_server.url}/v1/reports/kpi").json()
    for figure in report["figures"]:
        shown = page.locator(f'[data-kpi="{figure["kpi"]}"]').inner_text()
        assert shown == figure["display"], figure["kpi"]
    assert page.locator("svg.chart").count() == len(report["figures"])
    shot(page, "dashboard")
    page.locator('#kpi-net_collection_rate .kpi-parts a').nth(1).click()
    page.wait_for_url("**/workspace/dashboard/net_collection_rate/claims?part=denominator*")
    assert page.get_by_role("heading", level=1).inner_text() == \
        "Net collection rate: denominator"
    page.locator("tbody tr td:first-child a").first.click()
    page.wait_for_url("**/workspace/claims/*")


def test_the_front_desk_cannot_open_the_dashboard(page: Any, live_server: LiveServer) -> None:
    login(page, live_server.url, "fran", practice=PRACTICE_A)
    assert page.get_by_role("link", name="Dashboard", exact=True).count() == 0
    answer = page.goto(f"{live_server.url}/workspace/dashboard")
    assert answer is not None and answer.status == 403
    assert "front_desk may not reports.read" in page.locator("main").inner_text()
