"""``medbill notifications`` and ``medbill financing`` on the command line: consent recorded
and shown, refusals as one ``error:`` line and a non-zero exit, lists as JSON (the in-process
flows are tests/test_notifications.py's and tests/test_financing.py's)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_support import cli, config_text, ok, one_line_error

PATIENTS = """\
account_number,last_name,first_name,birth_date,sex,address_line1,address_city,address_state,\
address_postal_code,phone
N1,Okafor,Chidi,1971-05-05,M,10 Lake Shore Dr,Chicago,IL,60601,3125550101
N2,Okafor,Ada,2012-08-19,F,10 Lake Shore Dr,Chicago,IL,60601,
"""
COVERAGES = """\
account_number,payer_key,order,member_id,group_number,relationship,subscriber_last_name,\
subscriber_first_name
N2,acme,P,ACME00001,G100,19,Okafor,Chidi
"""


@pytest.fixture
def config(cli_isolation: None, tmp_path: Path) -> Path:
    path = tmp_path / "medbill.toml"
    path.write_text(config_text(f"sqlite:///{tmp_path / 'medbill.db'}"), encoding="utf-8")
    ok(path, "db", "upgrade")
    for name, text in (("p.csv", PATIENTS), ("c.csv", COVERAGES)):
        (tmp_path / name).write_text(text, encoding="utf-8")
    ok(path, "patients", "import", str(tmp_path / "p.csv"))
    ok(path, "coverages", "import", str(tmp_path / "c.csv"))
    return path


def as_json(config: Path, *args: str) -> Any:
    return json.loads(ok(config, *args, "--json").stdout)


def _guarantor(config: Path) -> int:
    guarantor = as_json(config, "patients", "show", "N2")["guarantor"]
    assert guarantor is not None
    return int(guarantor["id"])


def test_consent_is_recorded_shown_and_refused_in_one_line(config: Path) -> None:
    gid = _guarantor(config)
    assert as_json(config, "notifications", "contact", "show", "--guarantor", str(gid)) == {
        "account": f"G{gid}", "channel": None}
    line = one_line_error(cli(config, "notifications", "contact", "set", "--guarantor",
                              str(gid), "--channel", "email", "--consent", "verbal"))
    assert line == f"error: contact G{gid}: channel: email: no e-mail address on file"
    line = one_line_error(cli(config, "notifications", "contact", "set", "--guarantor",
                              str(gid), "--channel", "sms"))
    assert line.startswith(f"error: contact G{gid}: consent: say how the person agreed")
    assert "--channel" in one_line_error(cli(config, "notifications", "contact", "set",
                                             "--guarantor", str(gid), "--channel", "fax"), 2)
    set_ = as_json(config, "notifications", "contact", "set", "--guarantor", str(gid),
                   "--channel", "none")
    assert (set_["account"], set_["channel"], set_["consent"]) == (f"G{gid}", "none", None)
    shown = ok(config, "notifications", "contact", "show", "--guarantor", str(gid)).stdout
    assert shown.strip() == f"contact G{gid}: none"
    assert "give --guarantor or --patient" in one_line_error(
        cli(config, "notifications", "contact", "show"), 2)


def test_the_outbox_lists_and_delivers_nothing_when_empty(config: Path) -> None:
    assert as_json(config, "notifications", "list") == []
    assert as_json(config, "notifications", "deliver") == []
    assert one_line_error(cli(config, "notifications", "show", "7")) == (
        "error: notification 7 not found")
    assert "--status" in one_line_error(cli(config, "notifications", "list", "--status",
                                            "lost"), 2)


def test_financing_refusals_are_one_line(config: Path) -> None:
    gid = _guarantor(config)
    line = one_line_error(cli(config, "financing", "refer", "--guarantor", str(gid),
                              "--consent", "verbal, at checkout", "--amount", "10.00"))
    assert line == f"error: guarantor {gid}: amount: 10.00 exceeds the 0.00 owed"
    assert one_line_error(cli(config, "financing", "refer", "--guarantor", str(gid),
                              "--consent", "verbal")) == (
        f"error: guarantor {gid}: amount: nothing is owed")
    assert one_line_error(cli(config, "financing", "show", "3")) == (
        "error: financing referral 3 not found")
    assert as_json(config, "financing", "list") == []
    assert one_line_error(cli(config, "financing", "refer", "--guarantor", str(gid)), 2)
    # a patient who pays their own bills: refused as their own guarantor, none left made
    assert as_json(config, "patients", "show", "N1")["guarantor"] is None
    line = one_line_error(cli(config, "financing", "refer", "--patient", "N1", "--consent",
                              "verbal"))
    assert line.startswith("error: guarantor ") and line.endswith(": amount: nothing is owed")
    assert as_json(config, "patients", "show", "N1")["guarantor"] is None
    assert one_line_error(cli(config, "financing", "refer", "--patient", "N9", "--consent",
                              "verbal")) == "error: no patient with that account number"
    for whose in ((), ("--patient", "N1", "--guarantor", str(gid))):
        assert one_line_error(cli(config, "financing", "refer", *whose, "--consent", "v"),
                              2) == "error: give --patient or --guarantor (one of them)"
    assert ok(config, "financing", "check-pending").stdout.strip() == (
        "asked the lender about 0 referral(s)")
    assert as_json(config, "financing", "check-pending", "--older-than", "0") == {
        "asked": 0, "referred": [], "approved": [], "declined": [], "expired": [],
        "posted": [], "failed": []}
    assert "--older-than" in one_line_error(cli(config, "financing", "check-pending",
                                                "--older-than", "-1"), 2)



def test_check_pending_names_each_referral_the_lender_could_not_answer_about(
        config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The counts on stdout, one line per referral left as it was on stderr, exit 1 (the
    service's own rules are tests/test_financing.py's)."""
    from medbill_core.services import financing

    def checked(_medbill: Any, **_options: Any) -> financing.PendingChecked:
        return financing.PendingChecked(
            {financing.ReferralStatus.POSTED: [4], financing.ReferralStatus.REFERRED: [5, 6]},
            {7: "financing provider 'mock' is unreachable"})

    monkeypatch.setattr(financing, "check_pending", checked)
    result = cli(config, "financing", "check-pending")
    assert result.exit_code == 1
    assert result.stdout.strip() == "asked the lender about 4 referral(s): 2 referred, 1 posted"
    assert result.stderr.strip().splitlines() == [
        "error: financing referral 7: financing provider 'mock' is unreachable",
        "error: 1 referral(s) not checked (they stay as they were)"]
