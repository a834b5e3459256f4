"""``medbill webhooks``: add (the secret printed once), list, test, deliveries, deliver,
remove; bad input is one line naming the field, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import cli, config_text, ok, one_line_error

from medbill_core.services.webhook_signing import verify_signature
from medbill_core.testing.webhook_receiver import Receiver


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "medbill.toml"
    path.write_text(config_text(f"sqlite:///{tmp_path / 'medbill.db'}"), encoding="utf-8")
    ok(path, "db", "upgrade")
    return path


@pytest.fixture
def receiver():
    server = Receiver(fail_first=0).start()
    yield server
    server.stop()


def test_add_list_test_deliveries_remove(config: Path, receiver: Receiver) -> None:
    added = ok(config, "webhooks", "add", receiver.url, "--events", "claim.paid,claim.denied")
    secret = added.stdout.split("signing secret (shown once, keep it safe): ")[1].strip()
    assert secret.startswith("whsec_") and added.stdout.count(secret) == 1
    assert "subscription 1: " in added.stdout and "claim.paid, claim.denied" in added.stdout

    listed = ok(config, "webhooks", "list")
    assert "127.0.0.1" in listed.stdout and secret not in listed.stdout
    [entry] = json.loads(ok(config, "webhooks", "list", "--json").stdout)
    assert (entry["id"], entry["url"], entry["events"], entry["active"]) == (
        1, receiver.url, ["claim.paid", "claim.denied"], True)
    assert "secret" not in entry

    pinged = ok(config, "webhooks", "test", "1")
    assert pinged.stdout.strip() == "ping to subscription 1: delivered"
    [request] = receiver.requests
    assert verify_signature(secret, request.headers["Medbill-Signature"], request.body)
    assert json.loads(request.body)["type"] == "ping"

    [delivery] = json.loads(ok(config, "webhooks", "deliveries", "1", "--json").stdout)
    assert (delivery["type"], delivery["status"], delivery["attempts"],
            delivery["last_status_code"], delivery["event_id"]) == (
        "ping", "delivered", 1, 200, request.event_id)
    assert "ping" in ok(config, "webhooks", "deliveries", "1").stdout
    assert ok(config, "webhooks", "deliver").stdout.startswith("0 deliveries attempted")
    assert json.loads(ok(config, "webhooks", "deliver", "--json").stdout) == []

    assert ok(config, "webhooks", "remove", "1").stdout.strip() == "subscription 1: removed"
    assert json.loads(ok(config, "webhooks", "list", "--json").stdout) == []
    assert [s["active"] for s in json.loads(
        ok(config, "webhooks", "list", "--all", "--json").stdout)] == [False]
    assert "webhook subscription 1" in one_line_error(cli(config, "webhooks", "remove", "1"))
    # the log of a removed subscription stays readable
    assert len(json.loads(ok(config, "webhooks", "deliveries", "1", "--json").stdout)) == 1


def test_a_refused_ping_fails_the_command(config: Path) -> None:
    receiver = Receiver(fail_first=5).start()
    try:
        ok(config, "webhooks", "add", receiver.url, "--events", "claim.paid")
        line = one_line_error(cli(config, "webhooks", "test", "1"))
    finally:
        receiver.stop()
    assert "did not accept the ping: HTTP 500" in line


@pytest.mark.parametrize(("args", "expected"), [
    (("add", "http://example.com/x", "--events", "claim.paid"), "url: must use https"),
    (("add", "https://example.com/x", "--events", "claim.payed"),
     "unknown event type 'claim.payed'"),
    (("add", "not a url", "--events", "claim.paid"), "url: must be an http(s) URL"),
    (("deliveries", "7"), "webhook subscription 7"),
    (("test", "7"), "webhook subscription 7"),
    (("remove", "7"), "webhook subscription 7"),
])
def test_bad_input_is_one_line(config: Path, args: tuple[str, ...], expected: str) -> None:
    result = cli(config, "webhooks", *args)
    assert result.exit_code != 0
    assert expected in one_line_error(result, result.exit_code)
