"""The audit trail is tamper-evident and names who ran the command (issue 11, item 13).

Every audit row is sealed into a hash chain when its transaction commits; ``medbill audit
verify`` recomputes it and names the first row that was changed, or follows a deleted one.
Concurrent writers (real processes) extend one chain. The CLI's actor is the OS account unless
the configuration names one, and the OS account is recorded either way.
"""

from __future__ import annotations

import json
import os
import pwd
import subprocess
import sys
import time
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from medbill_core import audit
from medbill_core.audit_chain import GENESIS_HASH, verify
from medbill_core.storage.database import Database
from tests.cli_support import cli, config_text, ok, one_line_error

SAMPLES = Path(__file__).resolve().parents[1] / "docs" / "samples"
OS_USER = pwd.getpwuid(os.getuid()).pw_name


@pytest.fixture(autouse=True)
def _isolated(cli_isolation: None) -> None:
    """The command line runs isolated (see conftest)."""


def write_config(tmp_path: Path, database_url: str, *, actor: str | None = "clerk") -> Path:
    body = config_text(database_url)
    if actor is None:
        body = body.replace('actor = "clerk"\n', "")
    else:
        body = body.replace('actor = "clerk"', f'actor = "{actor}"')
    path = tmp_path / "medbill.toml"
    path.write_text(body, encoding="utf-8")
    return path


@pytest.fixture
def cycle(tmp_path: Path, medbill_db_url: str) -> Path:
    """Registration, claims, a scrub and a payment through the CLI: dozens of audit rows."""
    config = write_config(tmp_path, medbill_db_url)
    ok(config, "db", "upgrade")
    ok(config, "patients", "import", str(SAMPLES / "patients.csv"))
    ok(config, "coverages", "import", str(SAMPLES / "coverages.csv"))
    ok(config, "claims", "import", str(SAMPLES / "claims.json"))
    ok(config, "claims", "scrub")
    ok(config, "payments", "record", "--patient", "RB10001", "--amount", "20.00",
       "--method", "card", "--overpayment", "credit")
    return config


def audit_rows(database_url: str) -> list[dict[str, Any]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(text(
                "SELECT id, chain_seq, prev_hash, row_hash, actor, os_user FROM audit_events "
                "ORDER BY chain_seq"))]
    finally:
        engine.dispose()


def tamper(database_url: str, statement: str, **params: Any) -> None:
    """What a database owner can do behind medbill's back."""
    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(text(statement), params)
    finally:
        engine.dispose()


def verify_json(config: Path, code: int) -> dict[str, Any]:
    result = cli(config, "audit", "verify", "--json")
    assert result.exit_code == code, result.output
    return dict(json.loads(result.stdout))


# -- an intact chain ----------------------------------------------------------------------------

def test_a_cycle_leaves_one_intact_chain(cycle: Path, medbill_db_url: str) -> None:
    rows = audit_rows(medbill_db_url)
    assert len(rows) > 20
    assert [row["chain_seq"] for row in rows] == list(range(1, len(rows) + 1))
    assert rows[0]["prev_hash"] == GENESIS_HASH
    assert all(row["prev_hash"] == before["row_hash"] for before, row in pairwise(rows))
    said = ok(cycle, "audit", "verify").stdout
    assert said.startswith(f"{len(rows)} rows, chain intact")
    assert rows[-1]["row_hash"] in said  # the head, to keep elsewhere
    report = verify_json(cycle, 0)
    assert report == {"rows": len(rows), "intact": True, "broken": None,
                      "head": {"position": len(rows), "hash": rows[-1]["row_hash"]}}
    # `medbill audit` still lists and filters (the group's callback)
    assert len(json.loads(ok(cycle, "audit", "--json", "--limit", "3").stdout)) == 3


def test_an_empty_trail_is_intact(tmp_path: Path, medbill_db_url: str) -> None:
    config = write_config(tmp_path, medbill_db_url)
    ok(config, "db", "upgrade")
    assert ok(config, "audit", "verify").stdout.startswith("0 rows, chain intact")


# -- tampering is found, at the row ------------------------------------------------------------

@pytest.mark.parametrize(("change", "problem"), [
    ("UPDATE audit_events SET details = :value WHERE id = :id", "content"),
    ("UPDATE audit_events SET actor = 'nobody' WHERE id = :id", "content"),
    ("UPDATE audit_events SET at = at - INTERVAL '1 day' WHERE id = :id", "content"),
])
def test_a_changed_row_is_named(cycle: Path, medbill_db_url: str, change: str,
                                problem: str) -> None:
    rows = audit_rows(medbill_db_url)
    victim = rows[len(rows) // 2]
    if "INTERVAL" in change and medbill_db_url.startswith("sqlite"):
        change = "UPDATE audit_events SET at = '2020-01-01 00:00:00.000000' WHERE id = :id"
    tamper(medbill_db_url, change, id=victim["id"], value='{"rows": 0}')
    report = verify_json(cycle, 1)
    assert report["intact"] is False
    assert report["broken"]["row_id"] == victim["id"]
    assert problem in report["broken"]["problem"]
    assert report["rows"] == len(rows) // 2  # the rows before it are intact
    line = one_line_error(cli(cycle, "audit", "verify"))
    assert f"audit chain broken at row {victim['id']}: its content" in line


def test_a_deleted_row_is_named_by_the_row_after_it(cycle: Path, medbill_db_url: str) -> None:
    rows = audit_rows(medbill_db_url)
    victim, follower = rows[5], rows[6]
    tamper(medbill_db_url, "DELETE FROM audit_events WHERE id = :id", id=victim["id"])
    broken = verify_json(cycle, 1)["broken"]
    assert broken["row_id"] == follower["id"]
    assert "1 row(s) before it were deleted" in broken["problem"]


def test_a_rewritten_hash_breaks_the_next_link(cycle: Path, medbill_db_url: str) -> None:
    rows = audit_rows(medbill_db_url)
    victim = rows[3]
    # a careful forger changes the row and recomputes its own hash, but not the rest
    tamper(medbill_db_url, "UPDATE audit_events SET row_hash = :forged WHERE id = :id",
           forged="f" * 64, id=victim["id"])
    broken = verify_json(cycle, 1)["broken"]
    assert broken["row_id"] == victim["id"]  # its own hash no longer matches its content


def test_a_kept_head_catches_a_cut_or_rebuilt_chain(cycle: Path, medbill_db_url: str) -> None:
    rows = audit_rows(medbill_db_url)
    kept = rows[-3]["row_hash"]  # printed by an earlier `audit verify`, kept elsewhere
    said = ok(cycle, "audit", "verify", "--expect-head", kept).stdout
    assert f"the expected head is at position {len(rows) - 2}" in said
    # the newest rows removed: what is left is a valid chain, but not the one recorded
    tamper(medbill_db_url, "DELETE FROM audit_events WHERE chain_seq >= :seq",
           seq=len(rows) - 3)
    assert ok(cycle, "audit", "verify").stdout.startswith(f"{len(rows) - 4} rows, chain intact")
    line = one_line_error(cli(cycle, "audit", "verify", "--expect-head", kept))
    assert "does not contain the expected head" in line
    assert verify_json_args(cycle, 1, "--expect-head", kept)["expected_head_position"] is None


def verify_json_args(config: Path, code: int, *args: str) -> dict[str, Any]:
    result = cli(config, "audit", "verify", "--json", *args)
    assert result.exit_code == code, result.output
    return dict(json.loads(result.stdout))


def test_a_row_inserted_behind_medbills_back_is_named(cycle: Path, medbill_db_url: str) -> None:
    tamper(medbill_db_url, "INSERT INTO audit_events (id, at, actor, action, entity_type, "
           "entity_id) VALUES (100000, CURRENT_TIMESTAMP, 'x', 'claim.delete', 'claim', '1')")
    broken = verify_json(cycle, 1)["broken"]
    assert broken["row_id"] == 100000 and "not sealed" in broken["problem"]


# -- transactions and savepoints ---------------------------------------------------------------

def test_rolled_back_events_stay_out_of_the_chain(medbill_app: Any) -> None:
    with medbill_app.unit_of_work() as work:
        audit.record(work.session, actor=work.actor, action="kept.before", entity_type="t",
                     entity_id=1)
        savepoint = work.session.begin_nested()
        audit.record(work.session, actor=work.actor, action="dropped", entity_type="t",
                     entity_id=2)
        work.session.flush()
        savepoint.rollback()
        audit.record(work.session, actor=work.actor, action="kept.after", entity_type="t",
                     entity_id=3, details={"b": [1, 2], "a": "x"})
    with pytest.raises(RuntimeError), medbill_app.unit_of_work() as work:
        audit.record(work.session, actor=work.actor, action="failed", entity_type="t",
                     entity_id=4)
        raise RuntimeError("the change failed")
    with medbill_app.unit_of_work() as work:
        report = verify(work.session)
        actions = [e.action for e in audit.query(work.session)]
    assert actions == ["kept.after", "kept.before"]
    assert (report.rows, report.intact) == (2, True)


# -- concurrent writers -------------------------------------------------------------------------

APPENDER = """
import sys, time
from pathlib import Path
from medbill_core import audit
from medbill_core.storage.database import Database

url, gate, name = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
database = Database(url)
while not gate.exists():
    time.sleep(0.01)
for n in range(25):
    with database.transaction() as session:
        for k in range(3):
            audit.record(session, actor=name, action="test.append", entity_type="t",
                         entity_id=f"{name}-{n}-{k}")
database.dispose()
"""


def test_concurrent_appenders_keep_one_chain(medbill_app: Any, medbill_db_url: str,
                                             tmp_path: Path) -> None:
    gate = tmp_path / "go"
    processes = [subprocess.Popen([sys.executable, "-c", APPENDER, medbill_db_url, str(gate),
                                   f"writer{i}"], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for i in range(4)]
    time.sleep(1.0)  # every process imported and waiting at the gate
    gate.touch()
    outcomes = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in processes]
    assert [code for code, _ in outcomes] == [0, 0, 0, 0], [err[-600:] for _, err in outcomes]
    with medbill_app.unit_of_work() as work:
        report = verify(work.session)
    assert (report.rows, report.intact, report.head_position) == (300, True, 300)


# -- who acted -----------------------------------------------------------------------------------

def test_the_cli_actor_is_the_os_user(tmp_path: Path, medbill_db_url: str) -> None:
    config = write_config(tmp_path, medbill_db_url, actor=None)
    ok(config, "db", "upgrade")
    ok(config, "patients", "import", str(SAMPLES / "patients.csv"))
    events = json.loads(ok(config, "audit", "--json").stdout)
    # no user yet: the command line is the bootstrap administrator named after the OS account
    assert events and {(e["actor"], e["os_user"]) for e in events} == {
        (f"user:{OS_USER}", OS_USER)}
    # the environment does not choose who is recorded
    audit.os_user.cache_clear()
    ok(config, "patients", "edit", "RB10001", "--phone", "2175550101",
       env={"USER": "somebody-else", "LOGNAME": "somebody-else"})
    audit.os_user.cache_clear()
    [edit] = json.loads(ok(config, "audit", "--json", "--action", "patient.update").stdout)
    assert (edit["actor"], edit["os_user"]) == (f"user:{OS_USER}", OS_USER)


def test_the_cli_records_its_local_user_with_the_os_user(tmp_path: Path,
                                                         medbill_db_url: str) -> None:
    """The command line acts as its local user (issue 15): the configured ``actor`` names
    the changes of services called without one, not the command line's."""
    config = write_config(tmp_path, medbill_db_url, actor="front-desk")
    ok(config, "db", "upgrade")
    ok(config, "users", "add", "alice", "--role", "administrator")
    ok(config, "patients", "import", str(SAMPLES / "patients.csv"),
       env={"MEDBILL_USER": "alice"})
    alice = {"MEDBILL_USER": "alice"}
    events = json.loads(ok(config, "audit", "--json", "--action", "patient.create",
                           env=alice).stdout)
    assert events and {(e["actor"], e["os_user"]) for e in events} == {("user:alice", OS_USER)}
    # either name finds the events
    by_os_user = json.loads(ok(config, "audit", "--json", "--actor", OS_USER,
                               "--action", "patient.create", env=alice).stdout)
    assert len(by_os_user) == len(events)
    table = ok(config, "audit", env=alice).stdout
    assert f"user:alice (os: {OS_USER})" in table


def test_init_records_the_os_user_unless_told_otherwise(tmp_path: Path) -> None:
    from medbill_core.config import load_config

    ok(None, "init", str(tmp_path / "a.toml"))
    assert load_config(tmp_path / "a.toml").actor is None
    ok(None, "init", str(tmp_path / "b.toml"), "--actor", "front-desk")
    assert load_config(tmp_path / "b.toml").actor == "front-desk"


# -- the migration chains the events recorded before it ---------------------------------------

def test_the_migration_chains_existing_events(medbill_db_url: str) -> None:
    database = Database(medbill_db_url)
    try:
        config = database.alembic_config()
        with database.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0013")
        with database.engine.begin() as connection:
            for n in range(1, 6):
                connection.execute(text(
                    "INSERT INTO audit_events (at, actor, action, entity_type, entity_id, "
                    "details) VALUES (:at, 'medbill', 'patient.create', 'patient', :id, "
                    ":details)"), {"at": f"2026-11-0{n} 10:00:00.123456", "id": str(n),
                                   "details": json.dumps({"source": "csv", "row": n})})
        database.upgrade()
        with database.reader() as session:
            report = verify(session)
        assert (report.rows, report.intact) == (5, True)
        with database.transaction() as session:  # new events extend the old chain
            audit.record(session, actor="x", action="patient.update", entity_type="patient",
                         entity_id=1)
        with database.reader() as session:
            report = verify(session)
        assert (report.rows, report.intact, report.head_position) == (6, True, 6)
    finally:
        database.dispose()
