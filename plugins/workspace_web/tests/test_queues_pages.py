"""The work queues' pages through the app (no browser): the overview and the team's view,
a queue with its filters and bulk actions, an item with its notes and actions, roles and
one-line errors. On an installation of their own (queues_support): they change records."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from medbill_workspace_web.testing import Workspace, client_sign_in
from queues_support import Denied, denied_claim, open_queues_workspace

TODAY = date.today()


@pytest.fixture(scope="module")
def space(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    folder: Path = tmp_path_factory.mktemp("queues")
    workspace = open_queues_workspace(f"sqlite:///{folder / 'queues.db'}")
    try:
        yield workspace
    finally:
        workspace.medbill.close()


@pytest.fixture
def client(space: Workspace) -> Iterator[TestClient]:
    with TestClient(space.app, base_url="http://127.0.0.1") as test_client:
        yield test_client


def item_ids(html: str) -> list[int]:
    return [int(found) for found in re.findall(r'<tr id="item-(\d+)"', html)]


def test_overview_queue_filters_and_the_team_view(space: Workspace, client: TestClient) -> None:
    medical = denied_claim(space, ("CO", "50"), days_ago=30)
    missing = denied_claim(space, ("CO", "16"), days_ago=10, payer="bluecross")
    client_sign_in(client, "bill")
    overview = client.get("/workspace/queues")
    assert overview.status_code == 200
    assert 'href="/workspace/queues/denials">Denials</a>' in overview.text
    assert "The team" not in overview.text  # the manager's view only
    page = client.get("/workspace/queues/denials")
    assert page.status_code == 200
    assert medical.claim_number in page.text and missing.claim_number in page.text
    assert "CO-50 Contractual Obligations: " in page.text  # the reason in words
    assert "correct the claim and send a replacement" in page.text
    assert "Highest priority first: priority = amount in cents" in page.text
    only = client.get("/workspace/queues/denials?payer=bluecross")
    assert missing.claim_number in only.text and medical.claim_number not in only.text
    bad = client.get("/workspace/queues/denials?min_amount=ten")
    assert bad.status_code == 422
    assert "min_amount" in bad.text and "ten" not in bad.text.split("<main", 1)[1]
    unknown = client.get("/workspace/queues/nonsense")
    assert unknown.status_code == 422 and unknown.headers["content-type"].startswith(
        "text/html")
    # bounds the database's BIGINT cents and priorities cannot hold: a message, not a 500
    large = client.get("/workspace/queues/denials?max_amount=999999999999")
    assert large.status_code == 422
    assert "max_amount: must not be more than 99,999,999.99" in large.text
    for query in ("min_amount=1e20", "after_priority=99999999999999999999&after_id=5"):
        assert client.get(f"/workspace/queues/denials?{query}").status_code == 422, query

    with TestClient(space.app, base_url="http://127.0.0.1") as manager:
        csrf = client_sign_in(manager, "mona")
        ids = item_ids(manager.get("/workspace/queues/denials").text)
        assert len(ids) >= 2
        done = manager.post("/workspace/queues/denials/bulk", data={
            "csrf_token": csrf, "action": "assign", "assignee": "bill", "item": ids[:2]})
        assert done.status_code == 200  # followed to the queue
        assert "2 items assigned to bill." in done.text
        team = manager.get("/workspace/queues")
        assert "The team" in team.text
        assert re.search(r"<td>bill</td><td class=\"num\">2</td>", team.text)
    mine = client.get("/workspace/queues/denials?assignee=me")
    assert item_ids(mine.text) == sorted(ids[:2], reverse=True) or set(
        item_ids(mine.text)) == set(ids[:2])


def test_an_item_page_notes_snooze_and_actions(space: Workspace, client: TestClient) -> None:
    denied: Denied = denied_claim(space, ("CO", "50"), days_ago=40)
    csrf = client_sign_in(client, "bill")
    html = client.get("/workspace/queues/denials").text
    [item] = [i for i in item_ids(html)
              if f'id="item-{i}"' in html and denied.claim_number in html.split(
                  f'id="item-{i}"', 1)[1].split("</tr>", 1)[0]]
    page = client.get(f"/workspace/queues/items/{item}")
    assert page.status_code == 200
    assert "Correct and resend" in page.text and "Open an appeal" in page.text
    assert "Write off" not in page.text  # the manager's
    saved = client.post(f"/workspace/queues/items/{item}/notes",
                        data={"csrf_token": csrf, "text": "Called Acme, records faxed"})
    assert "Note saved." in saved.text and "Called Acme, records faxed" in saved.text
    empty = client.post(f"/workspace/queues/items/{item}/notes",
                        data={"csrf_token": csrf, "text": "  "})
    assert empty.status_code == 422 and "text: is required" in empty.text
    past = client.post(f"/workspace/queues/items/{item}/snooze",
                       data={"csrf_token": csrf, "until": TODAY.isoformat()})
    assert past.status_code == 422 and "until: must be after today" in past.text
    later = (TODAY + timedelta(days=2)).isoformat()
    snoozed = client.post(f"/workspace/queues/items/{item}/snooze",
                          data={"csrf_token": csrf, "until": later})
    assert "Snooze saved." in snoozed.text
    assert item not in item_ids(client.get("/workspace/queues/denials").text)
    assert item in item_ids(client.get("/workspace/queues/denials?snoozed=true").text)
    no_csrf = client.post(f"/workspace/queues/items/{item}/notes", data={"text": "x"})
    assert no_csrf.status_code == 403
    appealed = client.post(f"/workspace/queues/items/{item}/appeal",
                           data={"csrf_token": csrf, "reason": "medically necessary"})
    assert "Appeal opened." in appealed.text
    assert item not in item_ids(client.get("/workspace/queues/denials?snoozed=true").text)
    closed = client.get(f"/workspace/queues/items/{item}")
    assert "by user:bill" in closed.text and "Correct and resend" not in closed.text


def test_take_answers_htmx_with_the_row(space: Workspace, client: TestClient) -> None:
    denied_claim(space, ("CO", "97"), days_ago=5)
    csrf = client_sign_in(client, "bill")
    item = item_ids(client.get("/workspace/queues/denials?assignee=unassigned").text)[0]
    row = client.post(f"/workspace/queues/items/{item}/take",
                      headers={"HX-Request": "true", "X-CSRF-Token": csrf})
    assert row.status_code == 200
    assert row.text.lstrip().startswith(f'<tr id="item-{item}">')
    assert '<td class="assignee">bill' in row.text


def test_roles(space: Workspace, client: TestClient) -> None:
    client_sign_in(client, "fran")  # the front desk
    refused = client.get("/workspace/queues")
    assert refused.status_code == 403 and "front_desk may not queues.read" in refused.text
    with TestClient(space.app, base_url="http://127.0.0.1") as auditor:
        csrf = client_sign_in(auditor, "audra")
        assert auditor.get("/workspace/queues/denials").status_code == 200
        assert "Take" not in auditor.get("/workspace/queues/denials").text
        answer = auditor.post("/workspace/queues/denials/bulk",
                              data={"csrf_token": csrf, "action": "take", "item": [1]})
        assert answer.status_code == 403
