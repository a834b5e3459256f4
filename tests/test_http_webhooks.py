"""Webhook subscriptions over the API (``/v1/webhooks``), on SQLite and PostgreSQL: the secret
is answered once, a practice's key may not point deliveries at the server's own network, the
delivery log is read back, and another practice sees none of it. Names resolve through
:class:`dns_support.FakeDNS` (nothing asks the network)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dns_support import FakeDNS
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


@pytest.fixture(autouse=True)
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDNS:
    resolver = FakeDNS(monkeypatch)
    resolver.answer("ehr.example.com", "93.184.215.14")
    return resolver


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


@pytest.mark.parametrize("url", [
    "https://2130706433:8443/hook", "https://0x7f000001/", "https://127.1/", "https://0/",
    "https://017700000001/", "https://localhost./", "https://0x7f.1/", "https://0177.0.0.1/",
    "https://127.0.0.1./", "https://10.1/", "https://[::ffff:127.0.0.1]/",
    "https://[::ffff:a9fe:a9fe]/", "https://[64:ff9b::7f00:1]/", "https://[::]/",
    "https://\uff11\uff12\uff17\uff0e\uff10\uff0e\uff10\uff0e\uff11/",
    "https://metadata.google.internal/computeMetadata/v1/", "https://metadata/",
    "https://db.localdomain/", "https://printer.local/", "https://224.0.0.1/",
    "https://100.64.0.1/"])
def test_the_servers_network_is_refused_however_it_is_written(
        client: TestClient, url: str) -> None:
    """Integer, hex, octal and short IPv4 forms, a trailing dot, IPv4 in IPv6, full-width
    digits, ``0``, metadata and local names: what a resolver makes of them is refused."""
    problem = assert_problem(client.post("/v1/webhooks", headers=ADMIN, json={
        "url": url, "events": ["payment.posted"]}), 422, "validation-failed")
    assert [(item["field"], item["message"]) for item in problem["errors"]] == [
        ("url", "must name a host on the internet, not a loopback, private or reserved "
                "address")], problem
    assert client.get("/v1/webhooks", headers=ADMIN).json()["data"] == []


@pytest.mark.parametrize("addresses", [
    ["127.0.0.1"], ["::1"], ["169.254.169.254"], ["10.0.0.7"], ["93.184.215.14", "192.168.0.9"],
    ["::ffff:127.0.0.1"], ["fd00::1"]])
def test_a_name_resolving_to_the_servers_network_is_refused(
        client: TestClient, dns: FakeDNS, addresses: list[str]) -> None:
    dns.answer("127.0.0.1.nip.io", *addresses)
    problem = assert_problem(client.post("/v1/webhooks", headers=ADMIN, json={
        "url": "https://127.0.0.1.nip.io/hook", "events": ["payment.posted"]}), 422,
        "validation-failed")
    assert [item["field"] for item in problem["errors"]] == ["url"], problem
    assert "127.0.0.1.nip.io" in dns.asked
    assert client.get("/v1/webhooks", headers=ADMIN).json()["data"] == []


@pytest.mark.parametrize("url", [
    "https://ehr.example.com/hooks", "https://93.184.215.14/hook", "https://8.8.8.8:8443/h",
    "https://[2606:4700:4700::1111]/hook", "https://EHR.Example.COM./hooks",
    "https://not-yet-in-dns.example.org/hook"])
def test_public_hosts_are_accepted(client: TestClient, url: str) -> None:
    """An address on the internet, a name resolving to one, and a name that does not resolve
    yet (each delivery checks it again)."""
    made = client.post("/v1/webhooks", headers=ADMIN, json={"url": url,
                                                             "events": ["payment.posted"]})
    assert made.status_code == 201, made.text
    assert made.json()["url"] == url


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
