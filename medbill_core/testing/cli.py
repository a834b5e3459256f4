"""Helpers for command-line tests: configuration text, invoking ``medbill``, its errors.

Shared by the core's tests and the plugins' (whose suites run without the core's tests folder).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from medbill_core.cli.main import build_app
from medbill_core.testing.factories import PRACTICE_NPI

BLUECROSS = """
[payers.bluecross]
payer_id = "BCBS1"
name = "Blue Cross"
adapter = "generic_x12"
timely_filing_days = 180
"""


def config_text(database_url: str, *, plugins: Sequence[str] = (), extra: str = "") -> str:
    quoted = ", ".join(f'"{name}"' for name in plugins)
    return f"""\
[medbill]
database_url = "{database_url}"
plugins = [{quoted}]
actor = "clerk"

[practice]
name = "Lakeside Family Practice"
npi = "{PRACTICE_NPI}"
tax_id = "12-3456789"

[practice.address]
line1 = "100 Main Street"
city = "Springfield"
state = "IL"
postal_code = "62701"

[payers.acme]
payer_id = "ACME1"
name = "Acme Health Plan"
adapter = "generic_x12"

[payers.medicare]
payer_id = "04412"
name = "Medicare Part B"
adapter = "medicare"
claim_filing_indicator = "MB"
{extra}"""


def narrow_terminal(monkeypatch: Any, columns: int = 80) -> None:
    """Make the CLI's stdout console behave as a terminal ``columns`` wide, without colour
    (by default, output that is not a terminal is never wrapped: see cli/common.py)."""
    from medbill_core.cli import common

    for name, value in (("_force_terminal", True), ("_width", columns), ("_height", 25),
                        ("_color_system", None)):
        monkeypatch.setattr(common.console, name, value)


#: The installed ``medbill`` console script of the running interpreter's environment.
CONSOLE_SCRIPT = Path(sys.executable).with_name("medbill")


def console_script(cwd: Path, *args: str, columns: int = 200) -> subprocess.CompletedProcess[str]:
    """``medbill ARGS`` as a user types it: the installed script in a process of its own, in
    ``cwd``, no MEDBILL_* variables from outside, a terminal ``columns`` wide."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDBILL_")}
    env["COLUMNS"] = str(columns)
    return subprocess.run([str(CONSOLE_SCRIPT), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def run_like_the_console_script(*argv: str) -> Result:
    """What ``medbill ARGV`` does, in-process: the enabled plugins' commands included
    (:func:`cli` has the core's only)."""
    from medbill_core.cli.main import application

    return CliRunner().invoke(application(list(argv)), list(argv), catch_exceptions=False)


def cli(config: Path | None, *args: str, env: dict[str, str] | None = None) -> Result:
    """``medbill [--config CONFIG] ARGS`` in-process."""
    root = ["--config", str(config)] if config is not None else []
    return CliRunner().invoke(build_app(), [*root, *args], env=env, catch_exceptions=False)


def ok(config: Path | None, *args: str, env: dict[str, str] | None = None) -> Result:
    """:func:`cli`, asserting success."""
    result = cli(config, *args, env=env)
    assert result.exit_code == 0, result.output
    return result


def one_line_error(result: Result, code: int = 1) -> str:
    """The single stderr line of a failed command (and nothing resembling a traceback)."""
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.output
    return lines[0]


@pytest.fixture
def cli_isolation(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No MEDBILL_* from the outside, cwd in tmp, and medbill's loggers restored afterwards
    (the CLI configures them in-process). A suite uses it by importing it in its conftest."""
    for name in list(os.environ):
        if name.startswith("MEDBILL_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    loggers = [logging.getLogger(name) for name in ("medbill", "medbill_core")]
    saved = [(logger.level, list(logger.handlers)) for logger in loggers]
    yield
    for logger, (level, handlers) in zip(loggers, saved, strict=True):
        logger.setLevel(level)
        logger.handlers[:] = handlers
