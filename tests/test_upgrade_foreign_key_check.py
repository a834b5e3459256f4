"""``db upgrade`` on SQLite checks the foreign keys after migrating (the migrations run with
them off, to rebuild tables), and only then: an upgrade with nothing to migrate does not read
every row of the database (seconds on a big one, paid by every ``Medbill.open(upgrade=True)``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from medbill_core.errors import MedbillError
from medbill_core.storage.database import Database, script_head


@contextmanager
def key_checks(database: Database) -> Iterator[list[str]]:
    """The ``PRAGMA foreign_key_check`` statements ``database``'s engine sends meanwhile."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "foreign_key_check" in statement:
            seen.append(statement)

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(database.engine, "before_cursor_execute", record)


def _break_a_key(url: str) -> None:
    """A membership of a user that does not exist, written with the keys off."""
    with closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as connection, connection:
        connection.execute("PRAGMA foreign_keys=OFF")
        connection.execute("INSERT INTO practices (id, code, name, created_at, active) "
                           "VALUES (1, 'default', 'P', '2026-01-01 00:00:00', 1)")
        connection.execute("INSERT INTO memberships (user_id, practice_id, role) "
                           "VALUES (999, 1, 'biller')")


def test_an_upgrade_that_migrates_checks_the_keys(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    database = Database(url)
    database.upgrade("0037")
    _break_a_key(url)
    with key_checks(database) as checks, pytest.raises(MedbillError) as raised:
        database.upgrade()
    assert len(checks) == 1
    assert str(raised.value) == ("database upgrade failed: table memberships row 1 refers to "
                                 "a missing users row; nothing was changed")
    assert database.current_revision() == "0037"  # rolled back
    database.engine.dispose()


def test_an_upgrade_with_nothing_to_migrate_reads_no_row(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'current.db'}"
    database = Database(url)
    database.upgrade()
    with key_checks(database) as checks:
        database.upgrade()
    assert checks == []
    assert database.current_revision() == script_head()
    database.engine.dispose()
