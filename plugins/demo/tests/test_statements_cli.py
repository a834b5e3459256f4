"""`medbill statements run` through the command line with statements_pdf's text renderer: a
guarantor gets one statement a day unless forced. (Moved from the core's
tests/test_cli_patients.py: the core has no renderer of its own.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from medbill_core.app import Medbill
from medbill_core.config import load_config
from medbill_core.testing import factories
from medbill_core.testing.cli import cli, config_text, ok, one_line_error


@pytest.fixture(autouse=True)
def _isolated(cli_isolation: None) -> None:
    """The command line runs isolated (the core's test kit)."""


def as_json(config: Path, *args: str) -> Any:
    return json.loads(ok(config, *args, "--json").stdout)


def test_statements_run_once_a_day_unless_forced(tmp_path: Path) -> None:
    config = tmp_path / "medbill.toml"
    config.write_text(config_text(f"sqlite:///{tmp_path / 'medbill.db'}",
                                  plugins=["statements_pdf"]), encoding="utf-8")
    ok(config, "db", "upgrade")
    medbill = Medbill.open(load_config(config), load_installed=False)
    try:
        with medbill.unit_of_work() as work:
            patient = work.patients.register(factories.make_patient(1))
            work.claims.create(factories.make_claim(patient.id, coverage_id=None, number="SP1"))
    finally:
        medbill.close()

    def run(cycle: str, *extra: str) -> Any:
        return as_json(config, "statements", "run", "--cycle", cycle, "--renderer", "text",
                       "--out", str(tmp_path / "out"), *extra)

    assert run("2026-11a")["produced"] == [f"2026-11a-P{patient.id:07d}"]
    second = run("2026-11b")
    assert (second["produced"], list(second["skipped"].values())) == ([], [[str(patient.id)]])
    assert run("2026-11b", "--force")["produced"] == [f"2026-11b-P{patient.id:07d}"]
    assert one_line_error(cli(config, "statements", "run", "--cycle", "x", "--min-balance",
                              "5.001"), 2).startswith("error: --min-balance: ")
    # an unknown renderer is refused before anything is looked at, naming those there are
    assert one_line_error(cli(config, "statements", "run", "--cycle", "2026-12g",
                              "--renderer", "nope", "--out", str(tmp_path / "out")), 2) == (
        "error: --renderer: no enabled plugin provides a statement renderer of that name "
        "(available: html, pdf, pdf-summary, text)")
