"""procrastinate's tables in medbill's PostgreSQL database, applied by ``medbill db upgrade``.

procrastinate ships its schema as SQL (``procrastinate/sql/schema.sql``) and keeps no
version table of its own: medbill applies that schema once, when ``procrastinate_jobs`` does
not exist yet, after its own migrations (so a newcomer's ``medbill db upgrade`` is all it
takes to start workers). A later procrastinate release that changes its schema ships SQL
migrations (``procrastinate/sql/migrations``): raising the version pinned in
``pyproject.toml`` goes with applying them here. SQLite needs nothing: no worker runs there.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, inspect

#: the table whose presence says the schema is applied
MARKER_TABLE = "procrastinate_jobs"


def schema_sql() -> str:
    from procrastinate.schema import SchemaManager

    return str(SchemaManager.get_schema())


def ensure_schema(connection: Connection) -> bool:
    """Apply procrastinate's schema on a PostgreSQL connection where it is missing (in the
    connection's transaction); ``True`` when it was applied now. Other databases: nothing."""
    if connection.dialect.name != "postgresql":
        return False
    if inspect(connection).has_table(MARKER_TABLE):
        return False
    # straight to the driver (no bind parameters for SQLAlchemy to find); psycopg reads '%'
    # as a placeholder even then, so it is doubled, as procrastinate does
    connection.exec_driver_sql(schema_sql().replace("%", "%%"))
    return True


def not_a_job_table(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic's ``include_name``: procrastinate's tables (and their indexes) are not
    medbill's models, so comparing the models with the database leaves them out."""
    if type_ == "table":
        return not (name or "").startswith("procrastinate_")
    if type_ == "index":
        return not str(parent_names.get("table_name", "")).startswith("procrastinate_")
    return True
