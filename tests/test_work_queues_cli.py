"""``medbill queues``: the summary, a queue's items, assign, note, snooze, productivity, with
``--json`` and one-line errors."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from cli_support import BLUECROSS, cli, config_text, ok, one_line_error
from test_appeals import ago, denied_claim

from medbill_core.app import Medbill
from medbill_core.config import load_config

TODAY = date.today()


@pytest.fixture
def config(cli_isolation: None, tmp_path: Path) -> tuple[Path, int]:
    """A SQLite instance with a claim bluecross denied 20 days ago (CO-50, CO-16)."""
    path = tmp_path / "medbill.toml"
    path.write_text(config_text(f"sqlite:///{tmp_path / 'medbill.db'}", extra=BLUECROSS),
                    encoding="utf-8")
    ok(path, "db", "upgrade")
    app = Medbill.open(load_config(path), load_installed=False)
    try:
        denied, _ = denied_claim(app, payer="bluecross", on=ago(20))
    finally:
        app.close()
    return path, denied


def test_cli_queues_flow(config: tuple[Path, int]) -> None:
    path, denied = config
    summary = {s["queue"]: s for s in json.loads(ok(path, "queues", "list", "--json").stdout)}
    assert (summary["denials"]["count"], summary["denials"]["amount"],
            summary["denials"]["oldest_deadline"]) == (
        1, "100.00", (ago(20) + timedelta(days=180)).isoformat())
    assert "Denials" in ok(path, "queues", "list").stdout
    [item] = json.loads(ok(path, "queues", "show", "denials", "--json").stdout)
    assert (item["claim_id"], item["amount"], item["codes"], item["action"],
            item["age_days"], item["days_left"], item["assignee"]) == (
        denied, "100.00", ["CO-50", "CO-16"], "correct_and_resend", 20, 160, None)
    assert item["reason"].startswith("CO-50 Contractual Obligations: ")
    table = ok(path, "queues", "show", "denials").stdout
    assert "1 items" in table and "correct the claim" in table
    assert json.loads(ok(path, "queues", "show", "denials", "--payer", "acme",
                         "--json").stdout) == []
    assert json.loads(ok(path, "queues", "show", "denials", "--min-amount", "100.01",
                         "--json").stdout) == []

    out = ok(path, "queues", "note", str(item["id"]), "Called the payer").stdout
    assert f"added to item {item['id']}" in out
    [note] = json.loads(ok(path, "queues", "notes", str(item["id"]), "--json").stdout)
    assert note["text"] == "Called the payer"
    until = (TODAY + timedelta(days=2)).isoformat()
    assert f"snoozed until {until}" in ok(path, "queues", "snooze", str(item["id"]),
                                          "--until", until).stdout
    assert json.loads(ok(path, "queues", "show", "denials", "--json").stdout) == []
    [snoozed] = json.loads(ok(path, "queues", "show", "denials", "--snoozed",
                              "--json").stdout)
    assert snoozed["snoozed_until"] == until
    assert "woken" in ok(path, "queues", "snooze", str(item["id"]), "--wake").stdout
    report = json.loads(ok(path, "queues", "productivity", "--json").stdout)
    assert report["open_by_assignee"] == [{"assignee": None, "items": 1}]
    assert report["closed"] == []

    assert one_line_error(cli(path, "queues", "show", "nonsense"), 2).startswith(
        "error: QUEUE must be one of scrub_failures, ")
    assert "--until must be a date" in one_line_error(
        cli(path, "queues", "snooze", str(item["id"]), "--until", "soon"), 2)
    assert one_line_error(cli(path, "queues", "snooze", str(item["id"]), "--until",
                              TODAY.isoformat())) == (
        f"error: work item: until: must be after today ({TODAY})")
    assert "work item 999 not found" in one_line_error(cli(path, "queues", "note", "999", "x"))
    assert "assignee: is not a user of this practice" in one_line_error(
        cli(path, "queues", "assign", str(item["id"]), "--to", "nobody"))
    assert "--min-amount" in one_line_error(
        cli(path, "queues", "show", "denials", "--min-amount", "abc"), 2)
