"""Webhook subscriptions over the API (``/v1/webhooks``), on SQLite and PostgreSQL: the secret
is answered once, a practice's key may not point deliveries at the server's own network, the
delivery log is read back, and another practice sees none of it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from test_http_api import assert_problem

from medbill_core.app import Medbill
from medbill_core.domain.identity import Principal, PrincipalKind, Role
from medbill_core.errors import NotAuthenticated
from medbill_core.http import create_app
from medbill_core.services.identity import add_practice
from medbill_core.storage.webhook_outbox import record

ADMIN = {"Authorization": "Bearer mbk_admin"}
OTHER = {"Authorization": "Bearer mbk_other"}
BILLER = {"Authorization": "Bearer mbk_biller"}


@pytest.fixture
def client(medbill_app: Medbill) -> Iterator[TestClient]:
    first = medbill_app.default_practice_id()
    assert first is not None
    owner = Principal(kind=PrincipalKind.USER, id=0, name="owner", practice_id=first,
                      role=Role.ADMINISTRATOR, bootstrap=True)
    with medbill_app.unit_of_work(principal=owner) as work:
        other = add_practice(work, owner, "other", "Other").id
    keys = {"mbk_admin": (first, Role.ADMINISTRATOR), "mbk_other": (other, Role.ADMINISTRATOR),
            "mbk_biller": (first, Role.BILLER)}

    def authenticate(_medbill: Medbill, token: str) -> Principal:
        if token not in keys:
            raise NotAuthenticated("unknown key")
        practice, role = keys[token]
        return Principal(kind=PrincipalKind.API_KEY, id=1, name=token[4:], practice_id=practice,
                         role=role)

    with TestClient(create_app(medbill_app, authenticate=authenticate)) as test_client:
        yield test_client


def test_subscribe_list_log_and_unsubscribe(client: TestClient, medbill_app: Medbill) -> None:
    made = client.post("/v1/webhooks", headers=ADMIN, json={
        "url": "https://ehr.example.com/hooks", "events": ["claim.paid", "claim.denied"]})
    assert made.status_code == 201, made.text
    created = made.json()
    assert made.headers["location"] == f"/v1/webhooks/{created['id']}"
    assert created["secret"].startswith("whsec_") and created["created_by"] == "key:admin"
    assert created["events"] == ["claim.paid", "claim.denied"] and created["active"] is True
    listed = client.get("/v1/webhooks", headers=ADMIN).json()["data"]
    assert [item["id"] for item in listed] == [created["id"]]
    assert "secret" not in listed[0]
    with medbill_app.unit_of_work(practice_id=medbill_app.default_practice_id()) as work:
        record(work.session, "claim.paid", {"claim_id": 1})
    log = client.get(f"/v1/webhooks/{created['id']}/deliveries", headers=ADMIN).json()["data"]
    assert [(item["event_type"], item["status"], item["attempts"]) for item in log] == [
        ("claim.paid", "pending", 0)]
    # another practice: nothing to see, nothing to remove
    assert client.get("/v1/webhooks", headers=OTHER).json()["data"] == []
    assert_problem(client.get(f"/v1/webhooks/{created['id']}/deliveries", headers=OTHER),
                   404, "not-found")
    assert_problem(client.delete(f"/v1/webhooks/{created['id']}", headers=OTHER), 404,
                   "not-found")
    assert_problem(client.delete(f"/v1/webhooks/{created['id']}", headers=BILLER), 403,
                   "permission-denied")
    removed = client.delete(f"/v1/webhooks/{created['id']}", headers=ADMIN)
    assert removed.status_code == 200 and removed.json()["active"] is False
    assert client.get("/v1/webhooks", headers=ADMIN).json()["data"] == []
    assert len(client.get("/v1/webhooks?include_removed=true", headers=ADMIN)
               .json()["data"]) == 1


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9000/hook", "https://localhost/hook", "https://10.0.0.5/hook",
    "https://169.254.169.254/latest/meta-data", "https://[::1]/hook", "https://192.168.1.2/",
    "http://ehr.example.com/hook", "ftp://ehr.example.com/", "https://user:pw@ehr.example.com/"])
def test_a_practice_may_not_point_deliveries_at_the_servers_network(
        client: TestClient, url: str) -> None:
    problem = assert_problem(client.post("/v1/webhooks", headers=ADMIN, json={
        "url": url, "events": ["claim.paid"]}), 422, "validation-failed")
    assert [item["field"] for item in problem["errors"]] == ["url"], problem
    assert client.get("/v1/webhooks", headers=ADMIN).json()["data"] == []


def test_unknown_event_types_are_refused(client: TestClient) -> None:
    problem = assert_problem(client.post("/v1/webhooks", headers=ADMIN, json={
        "url": "https://ehr.example.com/hooks", "events": ["claim.exploded"]}), 422,
        "validation-failed")
    assert [item["field"] for item in problem["errors"]] == ["events"], problem
    assert "unknown event type" in problem["errors"][0]["message"]


def test_the_delivery_log_is_paged_newest_first(client: TestClient,
                                                medbill_app: Medbill) -> None:
    made = client.post("/v1/webhooks", headers=ADMIN, json={
        "url": "https://ehr.example.com/hooks", "events": ["claim.paid"]}).json()
    with medbill_app.unit_of_work(practice_id=medbill_app.default_practice_id()) as work:
        for claim_id in range(1, 6):
            record(work.session, "claim.paid", {"claim_id": claim_id})
    path = f"/v1/webhooks/{made['id']}/deliveries"
    every = [item["id"] for item in client.get(path, headers=ADMIN).json()["data"]]
    assert len(every) == 5 and every == sorted(every, reverse=True)
    for limit in (1, 2):
        seen, cursor = [], None
        while True:
            page = client.get(f"{path}?limit={limit}" + (f"&cursor={cursor}" if cursor else ""),
                              headers=ADMIN).json()
            assert 0 < len(page["data"]) <= limit
            seen += [item["id"] for item in page["data"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == every, limit
    first = client.get(f"{path}?limit=2", headers=ADMIN).json()["next_cursor"]
    problem = assert_problem(client.get(f"{path}?cursor={first[:-4]}", headers=ADMIN), 422,
                             "validation-failed")
    assert problem["errors"][0]["field"] == "query.cursor"
