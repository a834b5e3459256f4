"""The command line acts as its local user and the services check that user's role: the same
table, the same refusals as the HTTP API (exit 3, one line naming the role and the action),
and the audit trail names the user (the bootstrap administrator, the OS account, before any
user exists)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import config_text, one_line_error
from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from medbill_core import audit, testing
from medbill_core.app import Medbill
from medbill_core.cli.main import build_app
from medbill_core.config import load_config
from medbill_core.storage.schema import InboundDocumentRow

PATIENTS_CSV = """\
account_number,last_name,first_name,birth_date,sex
P1,Okafor,Chidi,1971-05-05,M
P2,Hartmann,Greta,1983-08-19,F
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "medbill.toml"
    path.write_text(config_text(f"sqlite:///{tmp_path / 'medbill.db'}"), encoding="utf-8")
    assert run(path, "db", "upgrade").exit_code == 0
    return path


def run(config: Path, *args: str, user: str | None = None, stdin: str | None = None) -> Result:
    env = {"MEDBILL_USER": user} if user else None
    return CliRunner().invoke(build_app(), ["--config", str(config), *args], env=env,
                              input=stdin, catch_exceptions=False)


def ok(config: Path, *args: str, user: str | None = None) -> Result:
    result = run(config, *args, user=user)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def team(config: Path) -> Path:
    """alice (administrator), fran (front desk), audrey (auditor), bill (biller)."""
    ok(config, "users", "add", "alice", "--role", "administrator")
    for name, role in (("fran", "front_desk"), ("audrey", "auditor"), ("bill", "biller")):
        ok(config, "users", "add", name, "--role", role, user="alice")
    return config


def actors(config: Path, action: str) -> list[str]:
    app = Medbill.open(load_config(config))
    try:
        with app.unit_of_work(read_only=True) as work:
            return [event.actor for event in audit.query(work.session, action=action)]
    finally:
        app.close()


def documents(config: Path) -> int:
    app = Medbill.open(load_config(config))
    try:
        with app.unit_of_work(read_only=True) as work:
            return int(work.session.scalar(select(func.count()).select_from(InboundDocumentRow))
                       or 0)
    finally:
        app.close()


def test_the_front_desk_may_not_post_submit_or_write_off(team: Path) -> None:
    remittance = Path(testing.__file__).parent / "x12" / "835.x12"
    line = one_line_error(run(team, "remit", "post", str(remittance), user="fran"), 3)
    assert line == "error: front_desk may not remittance.post"
    assert documents(team) == 0  # refused before the file was stored
    line = one_line_error(run(team, "claims", "submit", user="fran"), 3)
    assert line == "error: front_desk may not claims.submit"
    line = one_line_error(run(team, "denials", "write-off", "1", "--reason", "small balance",
                              user="fran"), 3)
    assert line == "error: front_desk may not denials.write_off"
    # the biller may post and submit, but writing off is the manager's
    line = one_line_error(run(team, "denials", "write-off", "1", "--reason", "small balance",
                              user="bill"), 3)
    assert line == "error: biller may not denials.write_off"
    assert run(team, "claims", "submit", user="bill").exit_code == 0
    # what the front desk may do, it does
    ok(team, "patients", "import", str(write(team, "p.csv", PATIENTS_CSV)), user="fran")
    assert actors(team, "patient.create") == ["user:fran", "user:fran"]


def test_the_auditor_reads_the_audit_trail_and_changes_nothing(team: Path) -> None:
    ok(team, "patients", "import", str(write(team, "p.csv", PATIENTS_CSV)), user="alice")
    events = json.loads(ok(team, "audit", "--json", "--action", "patient.create",
                           user="audrey").stdout)
    assert [event["actor"] for event in events] == ["user:alice", "user:alice"]
    ok(team, "audit", "verify", user="audrey")
    line = one_line_error(run(team, "patients", "import", str(write(team, "q.csv", PATIENTS_CSV)),
                              user="audrey"), 3)
    assert line == "error: auditor may not patients.write"
    line = one_line_error(run(team, "webhooks", "add", "http://127.0.0.1:9/hook", "--events",
                              "claim.paid", user="audrey"), 3)
    assert line == "error: auditor may not webhooks.manage"
    # the audit trail is not the front desk's (nor the biller's) to read
    assert one_line_error(run(team, "audit", user="fran"), 3) == \
        "error: front_desk may not audit.read"
    assert one_line_error(run(team, "audit", user="bill"), 3) == "error: biller may not audit.read"


def test_the_bootstrap_administrator_is_the_os_account_then_the_named_user(
        config: Path) -> None:
    """Before any user: the OS account (``user:<os user>``), not the configured actor."""
    ok(config, "patients", "import", str(write(config, "p.csv", PATIENTS_CSV)))
    assert actors(config, "patient.create") == [f"user:{audit.os_user()}"] * 2
    ok(config, "users", "add", "alice", "--role", "administrator")
    ok(config, "patients", "import", str(write(config, "q.csv", PATIENTS_CSV.replace(
        "Okafor", "Okafor-Lee"))), user="alice")
    assert actors(config, "patient.update") == ["user:alice"]


def test_a_webhook_is_created_by_the_local_user(team: Path) -> None:
    created = json.loads(ok(team, "webhooks", "add", "http://127.0.0.1:9/hook", "--events",
                            "claim.paid", "--json", user="alice").stdout)
    assert created["created_by"] == "user:alice"  # not the configured actor ("clerk")
    listed = json.loads(ok(team, "webhooks", "list", "--json", user="alice").stdout)
    assert [item["created_by"] for item in listed] == ["user:alice"]
    assert actors(team, "webhook.subscribe") == ["user:alice"]


def write(config: Path, name: str, text: str) -> Path:
    path = config.parent / name
    path.write_text(text, encoding="utf-8")
    return path
