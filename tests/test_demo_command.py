"""`medbill demo`: the core's command runs the demo distribution found by entry point, and
says in one line what to install when it is missing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import cli, ok, one_line_error
from rich.console import Console


def test_demo_json_prints_the_summary_and_no_tables(cli_isolation: None, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from medbill_core.cli import demo_cmd

    seen: dict[str, object] = {}

    def fake_run_demo(out: Path, claims: int, console: Console | None = None) -> dict:
        seen.update(out=out, claims=claims)
        (console or Console()).print("a summary table")  # what the tables would print
        return {"ledger_balanced": True, "claims_by_state": {"paid": claims}}

    monkeypatch.setattr(demo_cmd, "demo_runner", lambda: fake_run_demo)
    result = ok(None, "demo", "--claims", "3", "--out", str(tmp_path / "d"), "--json")
    assert json.loads(result.stdout) == {"ledger_balanced": True,
                                         "claims_by_state": {"paid": 3}}
    assert seen == {"out": tmp_path / "d", "claims": 3}


def test_demo_not_installed_says_in_one_line_what_to_install(
        cli_isolation: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo is a distribution of its own: without it, `medbill demo` names it."""
    from medbill_core.cli import demo_cmd

    looked_up: list[dict[str, str]] = []

    def no_entry_points(**selection: str) -> tuple[()]:
        looked_up.append(selection)
        return ()

    monkeypatch.setattr(demo_cmd, "entry_points", no_entry_points)
    line = one_line_error(cli(None, "demo", "--out", str(tmp_path / "d")))
    assert line == ("error: the demo is not installed: pip install medbill-demo "
                    "(or 'make demo' from a checkout of medbill)")
    assert looked_up == [{"group": "medbill.demo", "name": "demo"}]
    assert not (tmp_path / "d").exists()
