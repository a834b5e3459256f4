"""``medbill worker`` and ``medbill jobs`` where they cannot run: on SQLite (the embedded
default) they exit 1 with one line saying they need PostgreSQL and that the same work runs
in-process there. The workers themselves are tested with every plugin, on PostgreSQL, in
the integration suite (plugins/demo/tests/test_workers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import cli, config_text, one_line_error
from sqlalchemy import create_engine


@pytest.fixture
def sqlite_config(tmp_path: Path) -> Path:
    config = tmp_path / "medbill.toml"
    config.write_text(config_text(f"sqlite:///{tmp_path / 'medbill.db'}"), encoding="utf-8")
    return config


@pytest.mark.parametrize("args", [("worker",), ("worker", "--concurrency", "2"),
                                  ("jobs", "enqueue", "submit"), ("jobs", "list")])
def test_workers_on_sqlite_say_why_they_need_postgresql(sqlite_config: Path,
                                                        args: tuple[str, ...]) -> None:
    line = one_line_error(cli(sqlite_config, *args))
    assert "the job queue (medbill worker, medbill jobs) needs PostgreSQL" in line
    assert "in-process" in line


def test_an_unknown_job_is_named(sqlite_config: Path) -> None:
    line = one_line_error(cli(sqlite_config, "jobs", "enqueue", "everything"), 2)
    assert "unknown job 'everything'" in line and "submit" in line


def test_the_job_tables_are_not_applied_on_sqlite(tmp_path: Path) -> None:
    from medbill_core.jobs.schema import ensure_schema

    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with engine.begin() as connection:
            assert ensure_schema(connection) is False
    finally:
        engine.dispose()


def test_the_libpq_connection_string_keeps_the_url() -> None:
    from medbill_core.jobs import conninfo, is_postgresql

    url = "postgresql+psycopg://billing:s3cret@db.internal:5433/medbill?sslmode=require"
    assert is_postgresql(url) and not is_postgresql("sqlite:///medbill.db")
    assert conninfo(url) == "postgresql://billing:s3cret@db.internal:5433/medbill?sslmode=require"
