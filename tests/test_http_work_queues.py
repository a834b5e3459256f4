"""Work queues over HTTP (SQLite and PostgreSQL): the summary, a queue's keyset pages and
filters, an item read, PATCH (assign, snooze), notes, bulk assignment, roles and one-line
problems."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from test_appeals import ago, denied_claim
from test_http_accounts import AUDITOR, BILLER, FRONT, MANAGER, authenticate, walk
from test_http_api import PHI_NAME, assert_problem
from test_work_queues import person

from medbill_core.app import Medbill
from medbill_core.domain.identity import Role
from medbill_core.http import create_app
from medbill_core.http.resources.work_queues import WorkItemOut

TODAY = date.today()


@pytest.fixture
def client(medbill_app: Medbill) -> Iterator[TestClient]:
    with TestClient(create_app(medbill_app, authenticate=authenticate)) as test_client:
        yield test_client


def test_queues_summary_items_pages_and_filters(client: TestClient,
                                                medbill_app: Medbill) -> None:
    denied = [denied_claim(medbill_app, on=ago(days))[0] for days in (10, 40, 70)]
    denied.append(denied_claim(medbill_app, payer="medicare", on=ago(5))[0])
    summary = {s["queue"]: s for s in client.get("/v1/work-queues", headers=AUDITOR).json()}
    assert (summary["denials"]["count"], summary["denials"]["amount"]) == (4, "400.00")
    assert_problem(client.get("/v1/work-queues", headers=FRONT), 403, "permission-denied")
    ids, pages = walk(client, "/v1/work-queues/denials/items?limit=3", BILLER)
    assert (len(ids), pages) == (4, 2)
    items = client.get("/v1/work-queues/denials/items", headers=BILLER).json()["data"]
    assert set(items[0]) == set(WorkItemOut.model_fields)  # what the document says
    # same amount: the nearest deadline first (each payer here gives 180 days to appeal)
    assert [item["claim_id"] for item in items] == [denied[2], denied[1], denied[0], denied[3]]
    first = items[0]
    assert (first["amount"], first["deadline"], first["days_left"], first["action"],
            first["age_days"], first["priority"]) == (
        "100.00", (ago(70) + timedelta(days=180)).isoformat(), 110, "correct_and_resend", 70,
        10000 // 110)
    assert first["reason"].startswith("CO-50 Contractual Obligations: ")
    assert [i["claim_id"] for i in client.get(
        "/v1/work-queues/denials/items?payer=medicare", headers=BILLER).json()["data"]] == [
        denied[3]]
    assert [i["claim_id"] for i in client.get(
        "/v1/work-queues/denials/items?min_age=30&max_age=60", headers=BILLER).json()[
        "data"]] == [denied[1]]
    assert client.get("/v1/work-queues/denials/items?min_amount=100.01",
                      headers=BILLER).json()["data"] == []
    problem = assert_problem(client.get("/v1/work-queues/denials/items?min_amount=5&"
                                        "max_amount=1", headers=BILLER), 422,
                             "validation-failed")
    assert problem["errors"][0]["field"] == "max_amount"
    assert_problem(client.get("/v1/work-queues/nonsense/items", headers=BILLER), 422,
                   "validation-failed")
    assert_problem(client.get("/v1/work-queues/denials/items?cursor=abc", headers=BILLER),
                   422, "validation-failed")
    assert client.get(f"/v1/work-items/{first['id']}", headers=AUDITOR).json() == first


def test_assign_snooze_notes_and_roles(client: TestClient, medbill_app: Medbill) -> None:
    person(medbill_app, "bea", Role.BILLER)
    for days in (10, 40):
        denied_claim(medbill_app, on=ago(days))
    items = client.get("/v1/work-queues/denials/items", headers=BILLER).json()["data"]
    one, two = items[0]["id"], items[1]["id"]
    # an API key is no person: "me" is refused, handing work to a user is the manager's
    problem = assert_problem(client.patch(f"/v1/work-items/{one}", json={"assignee": "me"},
                                          headers=BILLER), 422, "validation-failed")
    assert problem["errors"][0]["field"] == "assignee"
    assert_problem(client.patch(f"/v1/work-items/{one}", json={"assignee": "bea"},
                                headers=BILLER), 403, "permission-denied")
    done = client.post("/v1/work-item-assignments", json={"item_ids": [one, two],
                                                           "assignee": "bea"},
                       headers={**MANAGER, "Idempotency-Key": "assign-1"})
    assert done.status_code == 200, done.text
    assert [item["assignee"] for item in done.json()] == ["bea", "bea"]
    assert client.post("/v1/work-item-assignments", json={"item_ids": [one, two],
                                                           "assignee": "bea"},
                       headers={**MANAGER, "Idempotency-Key": "assign-1"}).json() == done.json()
    assert walk(client, "/v1/work-queues/denials/items?assignee=bea", AUDITOR)[0] == [one, two]
    assert walk(client, "/v1/work-queues/denials/items?assignee=unassigned", AUDITOR)[0] == []
    problem = assert_problem(client.post("/v1/work-item-assignments",
                                         json={"item_ids": [one], "assignee": "nobody"},
                                         headers=MANAGER), 422, "validation-failed")
    assert problem["errors"][0]["field"] == "assignee"
    assert_problem(client.post("/v1/work-item-assignments",
                               json={"item_ids": [99999], "assignee": "bea"},
                               headers=MANAGER), 404, "not-found")

    until = (TODAY + timedelta(days=3)).isoformat()
    snoozed = client.patch(f"/v1/work-items/{one}", json={"snoozed_until": until},
                           headers=BILLER)
    assert snoozed.json()["snoozed_until"] == until
    assert walk(client, "/v1/work-queues/denials/items", BILLER)[0] == [two]
    assert walk(client, "/v1/work-queues/denials/items?include_snoozed=true",
                BILLER)[0] == [one, two]
    problem = assert_problem(client.patch(f"/v1/work-items/{one}",
                                          json={"snoozed_until": TODAY.isoformat()},
                                          headers=BILLER), 422, "validation-failed")
    assert problem["errors"][0]["field"] == "until"
    assert client.post("/v1/work-item-snoozes", json={"item_ids": [one], "until": None},
                       headers=BILLER).json()[0]["snoozed_until"] is None
    assert_problem(client.patch(f"/v1/work-items/{one}", json={}, headers=BILLER), 422,
                   "validation-failed")
    assert_problem(client.patch(f"/v1/work-items/{one}", json={"snoozed_until": until},
                                headers=AUDITOR), 403, "permission-denied")

    note = client.post(f"/v1/work-items/{one}/notes", json={"text": f"{PHI_NAME} called"},
                       headers={**BILLER, "Idempotency-Key": "note-1"})
    assert note.status_code == 201, note.text
    assert (note.json()["author"], note.json()["text"]) == ("key:k-biller", f"{PHI_NAME} called")
    assert client.post(f"/v1/work-items/{one}/notes", json={"text": f"{PHI_NAME} called"},
                       headers={**BILLER, "Idempotency-Key": "note-1"}).json() == note.json()
    assert [n["id"] for n in client.get(f"/v1/work-items/{one}/notes",
                                        headers=AUDITOR).json()] == [note.json()["id"]]
    problem = assert_problem(client.post(f"/v1/work-items/{one}/notes", json={"text": ""},
                                         headers=BILLER), 422, "validation-failed")
    assert [e["field"] for e in problem["errors"]] == ["body.text"]
    assert PHI_NAME not in str(problem)
    assert_problem(client.get("/v1/work-items/99999", headers=BILLER), 404, "not-found")
