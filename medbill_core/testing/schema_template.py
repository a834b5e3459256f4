"""Migrated databases for tests without running every migration for every test.

A test's database starts empty and is usually brought to the newest schema at once
(``Medbill.open(upgrade=True)``, ``medbill db upgrade``): 38 migrations, 0.3 s on SQLite and
0.9 s on PostgreSQL, for each of thousands of tests. The testing plugin migrates one database
per backend and test process once, by the real :meth:`Database.upgrade`, and fills each new
test database that is upgraded to ``head`` while still empty with a copy of it: SQLite by the
backup API (pages copied under SQLite's own locks, safe beside open connections), PostgreSQL by
``CREATE DATABASE … TEMPLATE``. Only databases the fixtures created take this path
(:func:`register_fresh`); an upgrade to an older revision, or of a database holding anything,
runs the migrations as always — so the migration tests still test migrations. (An SQLite
file under the session's temporary folder counts as the fixtures' too: ``medbill init`` makes
one in the test's folder.)
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from medbill_core.storage.database import Database

#: :meth:`Database.upgrade` itself (the migrations), as it was before :func:`upgrades_from`
_MIGRATIONS: Callable[[Database, str], None] = Database.upgrade

#: databases the fixtures created and nobody has upgraded yet: URL → the PostgreSQL server
#: holding it (None for SQLite)
_fresh: dict[str, Any] = {}


def register_fresh(url: str, server: Any = None) -> None:
    """``url`` is a new, empty database made by a fixture (on ``server``, a
    :class:`~medbill_core.testing.postgres.PostgresServer`, for PostgreSQL): its first upgrade
    to ``head`` may be filled from the template."""
    _fresh[url] = server


def migrate(database: Database) -> None:
    """Bring ``database`` to the newest schema by running the migrations (never the
    template)."""
    _MIGRATIONS(database, "head")


class SchemaTemplates:
    """One migrated database per backend, made on first use, copied into fresh databases.

    :param directory: where the SQLite template file lives.
    :param name_suffix: keeps the PostgreSQL template's name apart between xdist workers
        sharing one server.
    """

    def __init__(self, directory: Path, name_suffix: str) -> None:
        self._directory = directory
        self._template_name = f"medbill_schema_template{name_suffix}"
        self._sqlite_template: Path | None = None
        self._postgres_template: str | None = None

    def fill(self, database: Database, server: Any) -> bool:
        """Make the empty ``database`` a copy of the migrated template; False when it is not
        one this can fill (then the caller migrates it)."""
        url = make_url(database.url)
        if url.get_backend_name() == "sqlite" and url.database:
            self._fill_sqlite(database, Path(url.database))
            return True
        if url.get_backend_name() == "postgresql" and url.database and server is not None:
            self._fill_postgres(database, server, url.database)
            return True
        return False

    def _fill_sqlite(self, database: Database, path: Path) -> None:
        if self._sqlite_template is None:
            template = self._directory / "template.db"
            migrate(Database(f"sqlite:///{template}"))
            self._sqlite_template = template
        with _closing(sqlite3.connect(self._sqlite_template)) as source, \
                _closing(sqlite3.connect(path)) as target:
            source.backup(target)
        database.engine.dispose()  # a pooled connection may have cached the empty schema

    def _fill_postgres(self, database: Database, server: Any, name: str) -> None:
        if self._postgres_template is None:
            server.drop_database(self._template_name)
            template = Database(server.create_database(self._template_name))
            try:
                migrate(template)
            finally:
                template.engine.dispose()  # a template database takes no other connection
            self._postgres_template = self._template_name
        database.engine.dispose()
        server.drop_database(name)
        server.create_database(name, template=self._postgres_template)


@contextmanager
def _closing(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    # sqlite3's own context manager commits but does not close
    try:
        yield connection
    finally:
        connection.close()


def is_empty(database: Database) -> bool:
    """No table at all (not even Alembic's version table)."""
    return not inspect(database.engine).get_table_names()


def _sqlite_file_under(url: str, directory: Path) -> bool:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return False
    return Path(str(parsed.database)).resolve().is_relative_to(directory.resolve())


@contextmanager
def upgrades_from(templates: SchemaTemplates, temporary: Path) -> Iterator[None]:
    """While inside, :meth:`Database.upgrade` to ``head`` of a still empty database that a
    fixture registered, or of an SQLite file under ``temporary`` (the test session's
    temporary folder: ``medbill init`` in a test's folder), copies the template instead of
    migrating."""
    original = Database.upgrade

    def upgrade(self: Database, revision: str = "head") -> None:
        if revision == "head" and (self.url in _fresh
                                   or _sqlite_file_under(self.url, temporary)):
            server = _fresh.pop(self.url, None)
            if is_empty(self) and templates.fill(self, server):
                return
        original(self, revision)

    Database.upgrade = upgrade  # type: ignore[method-assign]
    try:
        yield
    finally:
        Database.upgrade = original  # type: ignore[method-assign]
