"""The demo run in a second practice of a database holding another practice's history (what
``bench_cycle.py --preloaded N`` measures beside the history): it works its own claims only.
The history's rejected claims, validated claims and balances are not the demo's to fix,
submit or bill, and every count the demo reports is its own practice's."""

from __future__ import annotations

import io
import sqlite3
from contextlib import closing
from pathlib import Path

from medbill_demo.runner import run_demo
from rich.console import Console

from medbill_core.testing.bigdb import generate


def _by_state(database: Path, practice_id: int) -> dict[str, int]:
    with closing(sqlite3.connect(database)) as connection:
        return dict(connection.execute(
            "SELECT state, count(*) FROM claims WHERE practice_id = ? GROUP BY state",
            (practice_id,)).fetchall())


def _ledger_sum(database: Path, practice_id: int) -> tuple[int, int]:
    with closing(sqlite3.connect(database)) as connection:
        return connection.execute(
            "SELECT count(*), coalesce(sum(amount), 0) FROM ledger_entries "
            "WHERE practice_id = ?", (practice_id,)).fetchone()


def test_the_demo_beside_another_practice_works_its_own_claims_only(tmp_path: Path) -> None:
    database = tmp_path / "shared.db"
    generate(f"sqlite:///{database}", 400, seed=3)
    history = _by_state(database, 1)
    assert history.get("rejected") and history.get("validated")  # work the demo would take
    ledger = _ledger_sum(database, 1)
    with closing(sqlite3.connect(database)) as connection, connection:
        connection.execute("INSERT INTO practices (code, name, created_at, active) "
                           "VALUES ('beside', 'Beside', CURRENT_TIMESTAMP, 1)")

    summary = run_demo(tmp_path / "out", 30, console=Console(file=io.StringIO()),
                       database_url=f"sqlite:///{database}", practice_code="beside")

    assert _by_state(database, 1) == history
    assert _ledger_sum(database, 1) == ledger
    demo = _by_state(database, 2)
    assert summary["claims_by_state"] == demo
    assert summary["ledger_balanced"] is True
    files = summary["files"]  # the demo's own X12 files, not the history's
    with closing(sqlite3.connect(database)) as connection:
        assert files["837"] == connection.execute(
            "SELECT count(*) FROM submissions WHERE practice_id = 2").fetchone()[0]
