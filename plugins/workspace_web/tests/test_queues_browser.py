"""The work queues in a real headless Chromium (the system's, driven by Playwright) against
the app served by uvicorn, on an installation of their own: a biller corrects a denied claim
from the denials queue and sees it leave the queue; a manager assigns items and sees the
team's productivity. The queue's screenshot lands in the documentation (make screenshots)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from medbill_workspace_web.testing import PRACTICE_A, LiveServer, Workspace, login
from queues_support import denied_claim, open_queues_workspace

from medbill_core.api.workspace import (
    Role,
    appeal_work_item,
    queue_productivity,
    read_queue,
)


@pytest.fixture(scope="module")
def space(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    folder: Path = tmp_path_factory.mktemp("queues-browser")
    workspace = open_queues_workspace(f"sqlite:///{folder / 'queues.db'}")
    try:
        yield workspace
    finally:
        workspace.medbill.close()


@pytest.fixture(scope="module")
def server(space: Workspace) -> Iterator[LiveServer]:
    with LiveServer(space.app) as live:
        yield live


def test_a_biller_corrects_a_denied_claim_and_it_leaves_the_queue(
        page: Any, server: LiveServer, space: Workspace,
        shot: Callable[[Any, str], Path]) -> None:
    missing = denied_claim(space, ("CO", "16"), days_ago=12)
    other = denied_claim(space, ("CO", "50"), days_ago=45, payer="bluecross")
    login(page, server.url, "bill")
    page.get_by_role("link", name="Work queues").first.click()
    page.wait_for_url(f"{server.url}/workspace/queues")
    page.get_by_role("link", name="Denials", exact=True).click()
    page.wait_for_url(f"{server.url}/workspace/queues/denials")
    rows = page.locator("table.queue-items tbody tr")
    assert rows.count() == 2
    row = rows.filter(has_text=missing.claim_number)
    assert "CO-16" in row.locator(".reason").inner_text()  # the CARC, in words beside it
    shot(page, "queue")
    row.get_by_role("link", name="Work it").click()
    page.get_by_label("Prior authorization number").fill("AUTH-2291")
    page.get_by_label("What was corrected").fill("added the prior authorization")
    page.get_by_role("button", name="Correct and resend").click()
    page.wait_for_load_state()
    assert page.get_by_role("status").inner_text() == (
        f"Replacement {missing.claim_number}-R1 sent.")
    page.get_by_role("link", name="Denials").first.click()
    page.wait_for_url(f"{server.url}/workspace/queues/denials")
    remaining = page.locator("table.queue-items tbody tr")
    assert remaining.count() == 1
    assert other.claim_number in remaining.first.inner_text()
    assert missing.claim_number not in page.locator("main").inner_text()


def test_a_manager_assigns_items_and_sees_productivity(
        page: Any, server: LiveServer, space: Workspace,
        shot: Callable[[Any, str], Path]) -> None:
    first = denied_claim(space, ("CO", "50"), days_ago=30)
    second = denied_claim(space, ("CO", "97"), days_ago=8)
    login(page, server.url, "mona")
    page.goto(f"{server.url}/workspace/queues/denials")
    for denied in (first, second):
        page.locator("table.queue-items tbody tr").filter(
            has_text=denied.claim_number).get_by_role("checkbox").check()
    page.get_by_label("With the items chosen").select_option("assign")
    page.get_by_label("User", exact=True).fill("bill")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_load_state()
    assert page.get_by_role("status").inner_text() == "2 items assigned to bill."
    for denied in (first, second):
        row = page.locator("table.queue-items tbody tr").filter(has_text=denied.claim_number)
        assert row.locator(".assignee").inner_text().startswith("bill")
    # bill works one of them (an appeal): it closes under bill's name
    seed = space.seed
    bill = seed.principal("bill", PRACTICE_A, Role.BILLER)
    mona = seed.principal("mona", PRACTICE_A, Role.BILLING_MANAGER)
    with space.medbill.unit_of_work(principal=mona, read_only=True) as work:
        before = queue_productivity(work, date.today(), date.today()).total("user:bill")
    [item] = [i for i in read_queue(space.medbill, bill, "denials")
              if i.claim_id == first.claim_id]
    with space.medbill.unit_of_work(principal=bill) as work:
        appeal_work_item(work, item.id, "medically necessary: notes attached")
    page.get_by_role("link", name="All queues").click()
    page.wait_for_url(f"{server.url}/workspace/queues")
    team = page.locator("section.team")
    assert "bill" in team.locator("table.open-by-assignee").inner_text()
    productivity = team.locator("table.productivity tbody tr").filter(
        has_text="bill")
    assert productivity.locator("td").last.inner_text() == str(before + 1)
    shot(page, "queues-team")
