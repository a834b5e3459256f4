"""Running a migration again on a database that holds data: the migration tests."""

from __future__ import annotations

from medbill_core.storage.database import Database


def migrate_again_from(database: Database, revision: str) -> None:
    """Take ``database`` down to ``revision`` (undoing the migrations after it), then up to
    the newest schema: those migrations run on the rows it holds."""
    database.downgrade(revision)
    database.upgrade()
