"""The throwaway PostgreSQL server used by the storage tests (medbill_core.testing.postgres)."""

from __future__ import annotations

import os
import socket
from decimal import Decimal

import pytest
import sqlalchemy as sa

from medbill_core.testing.postgres import ENV_URL, PostgresServer

external_env = pytest.mark.skipif(
    bool(os.environ.get(ENV_URL)),
    reason=f"{ENV_URL} is set: tests use that server instead of starting one",
)


def _port_is_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _round_trip(server: PostgresServer, database: str) -> None:
    url = server.create_database(database)
    assert url.startswith("postgresql+psycopg://")
    assert url.endswith(f"/{database}")
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            version = conn.execute(sa.text("select version()")).scalar_one()
            assert version.startswith("PostgreSQL ")
            assert conn.execute(sa.text("select current_database()")).scalar_one() == database

        metadata = sa.MetaData()
        charges = sa.Table(
            "charges",
            metadata,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("amount", sa.Numeric(12, 2), nullable=False),
        )
        metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(charges.insert(), [{"id": 1, "amount": Decimal("12.34")}])
        with engine.connect() as conn:
            amount = conn.execute(sa.select(charges.c.amount)).scalar_one()
        assert isinstance(amount, Decimal)
        assert amount == Decimal("12.34")
        assert str(amount) == "12.34"
    finally:
        engine.dispose()

    server.drop_database(database)
    with sa.create_engine(server.url()).connect() as conn:
        names = conn.execute(sa.text("select datname from pg_database")).scalars().all()
    assert database not in names


@external_env
def test_throwaway_server_round_trip_and_cleanup() -> None:
    with PostgresServer() as pg:
        assert not pg.external
        assert pg.port is not None and pg.tmp_dir is not None
        port, tmp_dir = pg.port, pg.tmp_dir
        assert tmp_dir.is_dir()
        assert pg.startup_seconds is not None
        if os.geteuid() == 0:
            assert pg.run_as in {"postgres", "nobody"}
            assert (pg.data_dir).stat().st_uid != 0
        assert _port_is_open(port)
        assert pg.url() == f"postgresql+psycopg://medbill@127.0.0.1:{port}/postgres"
        _round_trip(pg, "medbill_roundtrip")

    assert not _port_is_open(port)
    assert not tmp_dir.exists()
    assert pg.tmp_dir is None
    pg.stop()  # idempotent


@external_env
def test_cleanup_after_exception_in_block() -> None:
    with pytest.raises(ZeroDivisionError), PostgresServer() as pg:
        port, tmp_dir = pg.port, pg.tmp_dir
        1 / 0  # noqa: B018
    assert port is not None and tmp_dir is not None
    assert not _port_is_open(port)
    assert not tmp_dir.exists()


def test_external_url_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    """With MEDBILL_TEST_POSTGRES_URL set, no server is started and that one is used."""
    if os.environ.get(ENV_URL):
        with PostgresServer() as external:
            assert external.external and external.tmp_dir is None
            _round_trip(external, "medbill_external_roundtrip")
        return

    with PostgresServer(honour_env=False) as outer:
        monkeypatch.setenv(ENV_URL, outer.url().replace("postgresql+psycopg", "postgresql"))
        with PostgresServer() as inner:
            assert inner.external
            assert inner.tmp_dir is None and inner.port is None
            assert inner.url("x") == outer.url("x")
            _round_trip(inner, "medbill_external_roundtrip")
        # leaving the inner block must not stop the external server
        assert outer.port is not None and _port_is_open(outer.port)
