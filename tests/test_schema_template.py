"""The test kit's migrated template (:mod:`medbill_core.testing.schema_template`): a fresh
database upgraded to the newest schema is a copy of a really migrated one, while an upgrade to
an older revision, or of a database holding anything, still runs the migrations — the
migration tests keep testing migrations."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import inspect, text

from medbill_core.storage.database import Database, script_head
from medbill_core.testing import schema_template


@pytest.fixture
def fills(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The URLs the template filled during the test."""
    filled: list[str] = []
    fill = schema_template.SchemaTemplates.fill

    def counting(self: schema_template.SchemaTemplates, database: Database, server: Any) -> bool:
        done = fill(self, database, server)
        if done:
            filled.append(database.url)
        return done

    monkeypatch.setattr(schema_template.SchemaTemplates, "fill", counting)
    yield filled


def _schema(database: Database) -> dict[str, tuple[set[str], set[str]]]:
    """Each table's columns and index names."""
    found = inspect(database.engine)
    return {table: ({column["name"] for column in found.get_columns(table)},
                    {str(index["name"]) for index in found.get_indexes(table)})
            for table in found.get_table_names()}


def test_a_fresh_database_upgraded_to_head_is_filled_with_the_migrated_schema(
        medbill_db_url: str, fills: list[str], tmp_path_factory: pytest.TempPathFactory,
        medbill_backend: str) -> None:
    database = Database(medbill_db_url)
    database.upgrade()
    assert fills == [medbill_db_url]
    assert database.current_revision() == script_head()
    # the same tables, columns and indexes as a database the migrations made (on SQLite: a
    # file outside any fixture's registration, migrated by the real upgrade)
    if medbill_backend == "sqlite":
        reference = Database(f"sqlite:///{tmp_path_factory.mktemp('reference') / 'ref.db'}")
        schema_template.migrate(reference)
        assert _schema(database) == _schema(reference)
        reference.engine.dispose()
    assert "claims" in _schema(database)
    database.engine.dispose()


def test_an_upgrade_to_an_older_revision_runs_the_migrations(medbill_db_url: str,
                                                             fills: list[str]) -> None:
    database = Database(medbill_db_url)
    database.upgrade("0022")
    assert database.current_revision() == "0022"
    database.upgrade()  # then on to the newest: the migrations again, not the template
    assert database.current_revision() == script_head()
    assert fills == []
    database.engine.dispose()


def test_a_database_holding_a_table_is_migrated_not_replaced(medbill_db_url: str,
                                                             fills: list[str]) -> None:
    database = Database(medbill_db_url)
    with database.transaction() as session:
        session.execute(text("CREATE TABLE keep_me (id INTEGER PRIMARY KEY)"))
    database.upgrade()
    assert fills == []
    assert "keep_me" in inspect(database.engine).get_table_names()
    assert database.current_revision() == script_head()
    database.engine.dispose()
