"""``medbill notifications send-link`` with the mock sender installed (the core suite's venv
has no plugin): a pay link is issued and queued by text only with the addressee's consent,
and ``deliver`` sends it once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from medbill_core.testing.cli import cli, config_text, ok, one_line_error

PATIENTS = """\
account_number,last_name,first_name,birth_date,sex,address_line1,address_city,address_state,\
address_postal_code,phone
N1,Okafor,Chidi,1971-05-05,M,10 Lake Shore Dr,Chicago,IL,60601,3125550101
"""


def as_json(config: Path, *args: str) -> Any:
    return json.loads(ok(config, *args, "--json").stdout)


def test_a_link_is_issued_and_queued_by_text_only_with_consent(cli_isolation: None,
                                                               tmp_path: Path) -> None:
    """``notifications send-link``: refused in one line (and no link issued) without
    consent; with it, a new pay link queued as a text holding only the practice and the
    link, masked in the listing, sent once by ``deliver``."""
    path = tmp_path / "medbill.toml"
    path.write_text(config_text(f"sqlite:///{tmp_path / 'medbill.db'}",
                                plugins=["notify_mock"]).replace(
        'actor = "clerk"', 'actor = "clerk"\nnotifier = "mock"'), encoding="utf-8")
    ok(path, "db", "upgrade")
    (tmp_path / "p.csv").write_text(PATIENTS, encoding="utf-8")
    ok(path, "patients", "import", str(tmp_path / "p.csv"))
    line = one_line_error(cli(path, "notifications", "send-link", "--patient", "N1"))
    assert line.startswith("error: contact P") and line.endswith(
        ": channel: has not agreed to texts or e-mails (medbill notifications contact set)")
    assert as_json(path, "paylinks", "list") == []  # refused: nothing issued
    ok(path, "notifications", "contact", "set", "--patient", "N1", "--channel", "sms",
       "--consent", "verbal, on the phone")
    sent = as_json(path, "notifications", "send-link", "--patient", "N1")
    assert sent["notification"]["recipient"] == "***-***-0101"
    assert sent["notification"]["status"] == "pending"
    [link] = as_json(path, "paylinks", "list")
    assert link["id"] == sent["pay_link"]
    assert sent["notification"]["body"].startswith(
        "Lakeside Family Practice: view your account and pay securely at "
        "http://127.0.0.1:8080/pay?code=")
    assert "Okafor" not in sent["notification"]["body"]
    assert [o["status"] for o in as_json(path, "notifications", "deliver")] == ["sent"]
    assert as_json(path, "notifications", "deliver") == []
    assert "give --guarantor or --patient" in one_line_error(
        cli(path, "notifications", "send-link"), 2)
