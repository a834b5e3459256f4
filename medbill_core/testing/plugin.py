"""pytest plugin: fixtures for medbill and plugin tests (see :mod:`medbill_core.testing`)."""

from __future__ import annotations

import itertools
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from medbill_core.config import MedbillConfig
from medbill_core.testing.factories import make_payer, make_practice

BACKENDS = ("sqlite", "postgres")
_counter = itertools.count(1)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("medbill")
    group.addoption("--medbill-backends", default="sqlite,postgres",
                    help="databases for medbill_db_url: sqlite, postgres or both (default)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "medbill_backend" in metafunc.fixturenames:
        chosen = [b.strip() for b in
                  metafunc.config.getoption("--medbill-backends").split(",") if b.strip()]
        unknown = set(chosen) - set(BACKENDS)
        if unknown:
            raise pytest.UsageError(f"--medbill-backends: unknown {sorted(unknown)}")
        metafunc.parametrize("medbill_backend", chosen, scope="session")


@pytest.fixture(scope="session")
def medbill_postgres() -> Iterator[Any]:
    """A throwaway PostgreSQL server for the whole test session (started on first use)."""
    from medbill_core.testing.postgres import PostgresServer

    server = PostgresServer()
    try:
        server.start()
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        # no initdb on PATH, or the server would not start: the PostgreSQL runs are skipped
        # (with the first line of why), the SQLite ones still run
        server.stop()
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        pytest.skip(f"PostgreSQL unavailable: {reason[:300]}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session", autouse=True)
def _medbill_schema_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Fresh databases upgraded to the newest schema are filled from a migrated template
    (:mod:`medbill_core.testing.schema_template`): the migrations run once per backend and
    test process, not once per test."""
    from medbill_core.testing.schema_template import SchemaTemplates, upgrades_from

    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    templates = SchemaTemplates(tmp_path_factory.mktemp("schema-template"), f"_{worker}")
    with upgrades_from(templates, tmp_path_factory.getbasetemp()):
        yield


@pytest.fixture
def medbill_sqlite_url(tmp_path: Path) -> str:
    """A new, empty SQLite database file for this test."""
    from medbill_core.testing.schema_template import register_fresh

    url = f"sqlite:///{tmp_path / 'medbill-test.db'}"
    register_fresh(url)
    return url


@pytest.fixture
def medbill_db_url(request: pytest.FixtureRequest, medbill_backend: str,
                   tmp_path: Path) -> Iterator[str]:
    """A new, empty database for this test, on each backend chosen with ``--medbill-backends``."""
    from medbill_core.testing.schema_template import register_fresh

    if medbill_backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'medbill-test.db'}"
        register_fresh(url)
        yield url
        return
    server = request.getfixturevalue("medbill_postgres")
    # pytest-xdist's workers each start a server of their own, but share one named by
    # MEDBILL_TEST_POSTGRES_URL: the worker's id keeps their database names apart
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    name = f"medbill_t{worker}{next(_counter)}"
    url = server.create_database(name)
    register_fresh(url, server)
    yield url
    server.drop_database(name)


@pytest.fixture
def medbill_config(medbill_db_url: str) -> MedbillConfig:
    """A configuration with a practice and three payers, on a fresh database. No plugins."""
    return MedbillConfig(
        database_url=medbill_db_url, plugins=[], actor="tester", practice=make_practice(),
        payers={
            "acme": make_payer("acme"),
            "medicare": make_payer("medicare", payer_id="04412", name="Medicare Part B",
                                   claim_filing_indicator="MB", timely_filing_days=365),
            "bluecross": make_payer("bluecross", payer_id="BCBS1", name="Blue Cross",
                                    claim_filing_indicator="BL", timely_filing_days=180),
        })


@pytest.fixture
def medbill_extra_plugins() -> list[tuple[str, Any]]:
    """Override to register in-test plugins: ``[(name, module_or_object), ...]``."""
    return []


@pytest.fixture
def medbill_app(medbill_config: MedbillConfig,
                medbill_extra_plugins: list[tuple[str, Any]]) -> Iterator[Any]:
    """A started medbill instance on a migrated, empty database."""
    from medbill_core.app import Medbill

    app = Medbill.open(medbill_config, extra_plugins=medbill_extra_plugins,
                       load_installed=False, upgrade=True)
    try:
        yield app
    finally:
        app.close()
