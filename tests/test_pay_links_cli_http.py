"""Pay links from the command line (``medbill paylinks``) and the HTTP API (``/v1/pay-links``):
the address and code shown once, lists without codes, revocation, roles and refusals."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from test_http_accounts import AUDITOR, BILLER, FRONT, authenticate

from medbill_core.app import Medbill
from medbill_core.config import load_config
from medbill_core.http import create_app
from medbill_core.services.pay_links import code_hash
from medbill_core.services.pay_visits import open_visit
from medbill_core.testing import factories
from medbill_core.testing.cli import cli, config_text, ok, one_line_error


@pytest.fixture
def config(cli_isolation: None, tmp_path: Path) -> Path:
    path = tmp_path / "medbill.toml"
    path.write_text(config_text(f"sqlite:///{tmp_path / 'medbill.db'}", extra=(
        '\n[pay_links]\npublic_url = "https://pay.example.org"\nexpire_days = 30\n')),
        encoding="utf-8")
    ok(path, "db", "upgrade")
    medbill = Medbill.open(load_config(path), load_installed=False)
    try:
        with medbill.unit_of_work() as work:
            work.patients.register(factories.make_patient(1, account_number="PL00001"))
    finally:
        medbill.close()
    return path


def test_issue_list_and_revoke_from_the_command_line(config: Path) -> None:
    issued = json.loads(ok(config, "paylinks", "issue", "--patient", "PL00001",
                           "--json").stdout)
    assert issued["url"] == f"https://pay.example.org/pay?code={issued['code']}"
    assert len(issued["code"]) == 14 and issued["expires_at"][:10] > date.today().isoformat()
    text = ok(config, "paylinks", "issue", "--patient", "PL00001").stdout
    assert "code " in text and "shown once" in text
    listed = json.loads(ok(config, "paylinks", "list", "--json").stdout)
    assert [(link["status"], link["patient_id"]) for link in listed] == [
        ("active", 1), ("active", 1)]
    assert issued["code"] not in json.dumps(listed)  # never a code in a list
    assert ok(config, "paylinks", "revoke", str(issued["id"]), "--reason",
              "mailed to an old address").stdout.strip() == f"pay link {issued['id']}: revoked"
    listed = json.loads(ok(config, "paylinks", "list", "--json").stdout)
    assert {link["id"]: link["status"] for link in listed}[issued["id"]] == "revoked"
    # the code opens nothing now; the other link still works
    medbill = Medbill.open(load_config(config), load_installed=False)
    try:
        from medbill_core.services.pay_links import PayLinkUnusable

        with pytest.raises(PayLinkUnusable):
            open_visit(medbill, issued["code"])
    finally:
        medbill.close()


def test_refusals_are_one_line(config: Path) -> None:
    assert "give one of --guarantor, --patient or --statement" in one_line_error(
        cli(config, "paylinks", "issue"), 2)
    assert one_line_error(cli(config, "paylinks", "issue", "--patient", "NOPE")) == (
        "error: no patient with that account number")
    assert "pay link 99 not found" in one_line_error(
        cli(config, "paylinks", "revoke", "99", "--reason", "x"))
    assert "no such statement" in one_line_error(
        cli(config, "paylinks", "issue", "--statement", "S-1"))


@pytest.fixture
def client(medbill_app: Medbill) -> Iterator[TestClient]:
    with medbill_app.unit_of_work() as work:
        work.patients.register(factories.make_patient(1, account_number="PL00001"))
    with TestClient(create_app(medbill_app, authenticate=authenticate)) as test_client:
        yield test_client


def test_http_issue_list_revoke(client: TestClient, medbill_app: Medbill) -> None:
    made = client.post("/v1/pay-links", json={"patient_id": 1}, headers=FRONT)
    assert made.status_code == 201, made.text
    body = made.json()
    with medbill_app.unit_of_work(read_only=True) as work:
        from medbill_core.storage.schema import PayLinkRow

        row = work.session.get(PayLinkRow, body["id"])
        assert row is not None
        assert row.code_hash == code_hash(body["code"].replace("-", ""))
    listed = client.get("/v1/pay-links", params={"patient_id": 1}, headers=AUDITOR)
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()["data"]] == [body["id"]]
    assert "code" not in listed.json()["data"][0]
    # the auditor reads, never issues
    assert client.post("/v1/pay-links", json={"patient_id": 1}, headers=AUDITOR
                       ).status_code == 403
    revoked = client.post(f"/v1/pay-links/{body['id']}/revoke",
                          json={"reason": "wrong address"}, headers=BILLER)
    assert (revoked.status_code, revoked.json()["status"]) == (200, "revoked")
    again = client.post(f"/v1/pay-links/{body['id']}/revoke",
                        json={"reason": "wrong address"}, headers=BILLER)
    assert again.status_code == 422
    assert client.post("/v1/pay-links", json={}, headers=BILLER).status_code == 422


def test_pay_link_settings_are_checked_and_written_back() -> None:
    import tomllib
    from decimal import Decimal

    from medbill_core.config import build_config, config_toml
    from medbill_core.errors import ConfigurationError

    for table, words in (({"public_url": "ftp://x"}, "[pay_links] public_url: must be an http"),
                         ({"expire_days": 0}, "[pay_links] expire_days"),
                         ({"plan_minimum_installment": Decimal("10.005")},
                          "[pay_links] plan_minimum_installment: must be whole cents"),
                         ({"tokens": 1}, "[pay_links] tokens")):
        with pytest.raises(ConfigurationError) as refused:
            build_config({"pay_links": table}, environ={})
        assert words in str(refused.value)
    config = build_config({"pay_links": {"public_url": "https://pay.example.org/",
                                         "plan_maximum_months": 6}}, environ={})
    assert config.pay_links.public_url == "https://pay.example.org"
    again = build_config(tomllib.loads(config_toml(config), parse_float=Decimal), environ={})
    assert again.pay_links == config.pay_links
    assert build_config({}, environ={}).pay_links.expire_days == 60
