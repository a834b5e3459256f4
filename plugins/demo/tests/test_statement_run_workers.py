"""A statement run whose PDFs are rendered by worker processes (the ``statements_pdf`` pool):
the same rows and the byte-identical files as a run rendering in its own process, also when
a worker is killed in the middle of the run."""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from medbill_statements_pdf import pool
from sqlalchemy import select

from medbill_core.app import Medbill
from medbill_core.config import MedbillConfig
from medbill_core.services import statements
from medbill_core.services.statements import run_statements
from medbill_core.storage.schema import StatementRow
from medbill_core.testing import factories

PATIENTS = 30
#: groups of ten: three groups, each big enough for the workers (pool.MIN_BATCH)
GROUP = 10
WHEN = date(2026, 3, 2)


def _app(folder: Path, processes: int) -> Medbill:
    config = MedbillConfig(database_url=f"sqlite:///{folder / 'run.db'}", actor="tester",
                           practice=factories.make_practice(), plugins=["statements_pdf"],
                           plugin_settings={"statements_pdf": {"render_processes": processes}})
    app = Medbill.open(config, upgrade=True)
    for number in range(1, PATIENTS + 1):
        with app.unit_of_work() as work:
            patient = work.patients.register(factories.make_patient(number))
            claim = factories.make_claim(patient.id, coverage_id=None, number=f"W{number}")
            work.claims.create(claim.model_copy(update={"lines": [factories.make_line(
                1, service_date=claim.service_date_from,
                charge=Decimal("40.00") + number)]}))
    return app


def _run(folder: Path, processes: int) -> tuple[list[tuple[str, int, str]], dict[str, bytes]]:
    """The run's rows (number, patient, file digest) and its files."""
    folder.mkdir()
    app = _app(folder, processes)
    try:
        run = run_statements(app, cycle="W1", out_dir=folder / "out", statement_date=WHEN)
        assert len(run.produced) == PATIENTS
        with app.unit_of_work() as work:
            rows = [(row.statement_number, row.patient_id, row.content_sha256)
                    for row in work.session.scalars(select(StatementRow)
                                                    .order_by(StatementRow.id))]
    finally:
        app.close()
    return rows, {path.name: path.read_bytes() for path in (folder / "out").iterdir()}


@pytest.fixture
def groups_of_ten(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(statements, "PER_TRANSACTION", GROUP)
    yield
    pool.POOL.close()


def test_a_run_rendered_by_workers_records_and_writes_what_one_alone_does(
        tmp_path: Path, groups_of_ten: None, monkeypatch: pytest.MonkeyPatch) -> None:
    rendered: list[int] = []
    render = pool.RenderPool.render

    def counted(self: pool.RenderPool, *args: Any) -> Any:
        documents = render(self, *args)
        rendered.append(len(documents))
        return documents

    monkeypatch.setattr(pool.RenderPool, "render", counted)
    alone = _run(tmp_path / "alone", 0)
    assert rendered == []
    together = _run(tmp_path / "workers", 1)
    assert rendered == [GROUP] * (PATIENTS // GROUP)  # every group, through the pool
    assert together == alone


def test_a_worker_killed_mid_run_leaves_its_statements_to_the_run_which_completes(
        tmp_path: Path, groups_of_ten: None, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    alone = _run(tmp_path / "alone", 0)
    killed: list[int] = []
    executor_for = pool.RenderPool._executor_for

    def killing_before_the_second_group(self: pool.RenderPool, workers: int) -> Any:
        executor = executor_for(self, workers)
        if executor is not None and not killed and self.failures == 0 and getattr(
                executor, "_processes", None):
            # the workers started with the first group: the second finds them dead
            for pid in list(executor._processes):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
        return executor

    monkeypatch.setattr(pool.RenderPool, "_executor_for", killing_before_the_second_group)
    pool.POOL.failures = 0
    with caplog.at_level(logging.WARNING):
        together = _run(tmp_path / "workers", 1)
    assert killed and pool.POOL.failures == 1
    assert "rendering in worker processes failed (BrokenProcessPool)" in caplog.text
    assert together == alone
