"""Shared output helpers of the CLI: tables that never cut claim numbers or dates, warnings
on stderr, progress only on a terminal."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from medbill_core.cli import common
from medbill_core.cli.common import data_table, print_table, progress

CLAIM = "RB0000012345-REPLACEMENT-7"
MESSAGE = ("the rendering provider's taxonomy does not match the procedure's specialty; "
           "check the provider record before resubmitting")


def _table() -> object:
    table = data_table("claim", "DOS", "state", "message", title="findings")
    table.add_row(CLAIM, "2026-11-02", "rejected", MESSAGE)
    return table


def test_into_a_file_every_value_is_printed_in_full_whatever_the_width() -> None:
    out = io.StringIO()
    print_table(_table(), Console(file=out, width=40))  # COLUMNS=40, not a terminal
    text = out.getvalue()
    assert CLAIM in text and "2026-11-02" in text and MESSAGE in text
    row = next(line for line in text.splitlines() if CLAIM in line)
    assert MESSAGE in row  # one line per row: grep finds the claim with its message


def test_on_a_narrow_terminal_only_the_free_text_wraps() -> None:
    out = io.StringIO()
    print_table(_table(), Console(file=out, width=72, force_terminal=True, color_system=None))
    text = out.getvalue()
    assert CLAIM in text and "2026-11-02" in text  # whole, on one line
    assert MESSAGE not in text  # wrapped over several lines
    assert max(len(line) for line in text.splitlines()) <= 72
    assert "…" not in text


def test_key_columns_are_found_by_name() -> None:
    table = data_table("id", "claim", "patient id", "charge", "message", "due")
    assert [column.no_wrap for column in table.columns] == [True, True, True, False, False,
                                                            True]


def test_warnings_go_to_stderr_on_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    err = io.StringIO()
    monkeypatch.setattr(common, "err_console", Console(file=err, width=30))
    common.warn("settings for plugin statements_pdf are ignored: it is not enabled")
    assert err.getvalue() == (
        "warning: settings for plugin statements_pdf are ignored: it is not enabled\n")


def test_progress_shows_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    err = io.StringIO()
    monkeypatch.setattr(common, "err_console", Console(file=err))
    with progress("posting", total=3) as advance:
        for _ in range(3):
            advance(1)
    assert err.getvalue() == ""
    terminal = io.StringIO()
    monkeypatch.setattr(common, "err_console", Console(file=terminal, force_terminal=True))
    with progress("posting", total=3) as advance:
        advance(3)
    assert "posting" in terminal.getvalue()


def test_messages_are_not_wrapped_when_not_on_a_terminal(
        capsys: pytest.CaptureFixture[str]) -> None:
    """Tests and pipes see one line per message, whatever COLUMNS or a path's length."""
    path = "/tmp/" + "a-rather-long-folder-name/" * 8 + "statements"
    common.console.print(f"cycle 2026-11: 3 produced into {path}")
    common.print_problem(f"{path}: Permission denied")
    out, err = capsys.readouterr()
    assert out == f"cycle 2026-11: 3 produced into {path}\n"
    assert err == f"error: {path}: Permission denied\n"


def test_any_table_into_a_file_is_printed_in_full_whatever_columns(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands printing a plain rich Table get full rows too when not on a terminal (they
    used to wrap at COLUMNS, or at the width of the terminal the tests ran from)."""
    from rich.table import Table

    monkeypatch.setenv("COLUMNS", "40")
    out = io.StringIO()
    narrow = common._CliConsole(file=out, soft_wrap=None)  # type: ignore[arg-type]
    table = Table("claim", "message", title="findings")
    table.add_row(CLAIM, MESSAGE)
    narrow.print(table)
    row = next(line for line in out.getvalue().splitlines() if CLAIM in line)
    assert MESSAGE in row
    assert out.getvalue().splitlines()[0].strip() == "findings"


def test_file_problems_are_one_line_but_a_closed_pipe_is_not_reported(
        capsys: pytest.CaptureFixture[str]) -> None:
    import typer

    @common.cli_errors
    def unwritable() -> None:
        raise PermissionError(13, "Permission denied", "/proc/nope/statements")

    @common.cli_errors
    def piped() -> None:
        raise BrokenPipeError(32, "Broken pipe")

    with pytest.raises(typer.Exit):
        unwritable()
    assert capsys.readouterr().err == "error: /proc/nope/statements: Permission denied\n"
    with pytest.raises(BrokenPipeError):
        piped()
    assert capsys.readouterr().err == ""
