"""A long table into a file or a pipe is written without rich's layout
(:mod:`medbill_core.cli.plain_table`): the same characters as rich prints, on generated tables
of every shape ``data_table`` makes, and rich still prints what the plain writer does not
know."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from medbill_core.cli import common
from medbill_core.cli.common import (
    _CliConsole,
    add_text_rows,
    data_table,
    escaped,
    print_table,
)
from medbill_core.cli.plain_table import PLAIN_FROM_ROWS, plain_table_text

#: letters, digits, spaces, markup brackets, a backslash, colons (emoji codes), an accented
#: letter, a wide one and a combining mark
_CHARACTERS = "ab Z09.-()[]/:\\é中\u0301"
_texts = st.text(alphabet=_CHARACTERS, max_size=14)
_markup = st.sampled_from(["[bold]x[/bold]", "[red]paid[/]", "a [i]b[/i] c", ":b: x"])


@st.composite
def tables(draw: st.DrawFn) -> Table:
    count = draw(st.integers(1, 5))
    names = [f"{draw(st.sampled_from(['claim', 'payer', 'charge', 'days', 'x y']))}{n}"
             for n in range(count)]
    title = draw(st.one_of(st.none(), _texts))
    table = data_table(*names, title=escape(title) if title is not None else None,
                       keys=draw(st.lists(st.sampled_from(names), unique=True)),
                       numeric=draw(st.lists(st.sampled_from(names), unique=True)))
    for _ in range(draw(st.integers(0, 4))):
        table.add_row(*[draw(st.one_of(_texts.map(escape), _texts.map(Text), _markup))
                        for _ in names])
        if draw(st.booleans()):
            table.add_section()  # a rule under the row (the last row's is not drawn)
    return table


def _rich(table: Table, emoji: bool, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(common, "PLAIN_FROM_ROWS", 10**9)  # rich prints every table
    written = io.StringIO()
    print_table(table, _CliConsole(file=written, emoji=emoji))
    return written.getvalue()


def _plain_as_handed_over(table: Table, emoji: bool) -> str | None:
    """The plain writer's text of ``table`` as print_table hands it over: before the key
    columns' widths were measured for rich (as :func:`_rich` did)."""
    measured = [column.min_width for column in table.columns]
    for column in table.columns:
        column.min_width = None
    try:
        return plain_table_text(table, emoji=emoji)
    finally:
        for column, width in zip(table.columns, measured, strict=True):
            column.min_width = width


@settings(max_examples=400, deadline=None)
@given(table=tables(), emoji=st.booleans())
def test_the_plain_writer_prints_what_rich_prints(table: Table, emoji: bool) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        expected = _rich(table, emoji, monkeypatch)
    plain = _plain_as_handed_over(table, emoji)
    if plain is not None:
        assert plain == expected


@pytest.mark.parametrize("shape", ["end spaces", "key column", "title", "no title", "markup"])
def test_rich_s_own_rules_are_followed(shape: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """What generated tables meet seldom: a right-justified cell ending in spaces (rich
    drops them), a right-justified key column (never justified: its overflow is "ignore"),
    a title ending in spaces (centred without them), an empty title (no line), markup."""
    table = {"end spaces": data_table("days", numeric=("days",)),
             "key column": data_table("id", keys=("id",), numeric=("id",)),
             "title": data_table("days", title="due  "),
             "no title": data_table("days", title=""),
             "markup": data_table("state")}[shape]
    for cell in ("9  ", "12", "[bold]paid[/bold]" if shape == "markup" else " 7 "):
        table.add_row(cell)
    expected = _rich(table, False, monkeypatch)
    assert _plain_as_handed_over(table, False) == expected


def test_a_long_table_into_a_file_is_written_plain_and_alike(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def followup() -> Table:
        table = data_table("claim", "payer", "charge", "action", title="claims to follow up",
                           keys=("claim", "payer"), numeric=("charge",))
        for n in range(PLAIN_FROM_ROWS + 5):
            table.add_row(f"C{n:06d}", escape("acme[1]"), f"{n}.00",
                          "appeal (CO-50 not deemed a medical necessity)" if n % 7 else "276")
        return table

    written = io.StringIO()
    asked: list[Table] = []
    real = common.plain_table_text

    def spy(table: Table, **kwargs: bool) -> str | None:
        asked.append(table)
        return real(table, **kwargs)

    monkeypatch.setattr(common, "plain_table_text", spy)
    print_table(followup(), _CliConsole(file=written, emoji=False))
    assert len(asked) == 1
    assert written.getvalue() == _rich(followup(), False, monkeypatch)
    lines = written.getvalue().splitlines()
    assert len(lines) == 1 + 3 + PLAIN_FROM_ROWS + 5 + 1
    assert lines[4] == ("│ C000000 │ acme[1] │   0.00 │ 276" + " " * 42 + " │")


def test_what_the_plain_writer_does_not_know_is_left_to_rich() -> None:
    wide = data_table("patient", title="wide")
    wide.add_row("中文")  # two columns a character
    broken = data_table("note")
    broken.add_row("line one\nline two")
    boxed = Table("a", show_lines=True)
    boxed.add_row("x")
    long_title = data_table("a", title="a title wider than its table")
    long_title.add_row("x")
    for table in (wide, broken, boxed, long_title):
        assert plain_table_text(table) is None
    colon = data_table("code")
    colon.add_row(":smile:")
    assert plain_table_text(colon, emoji=True) is None
    assert plain_table_text(colon, emoji=False) is not None


def test_a_quiet_console_prints_nothing_and_a_recording_one_keeps_the_table(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``medbill demo --json`` hands the demo a quiet console: its tables must not reach the
    JSON on stdout; a recording console exports what it printed."""
    def long_table() -> Table:
        table = data_table("claim", title="claims")
        for n in range(PLAIN_FROM_ROWS):
            table.add_row(f"C{n:06d}")
        return table

    written = io.StringIO()
    print_table(long_table(), _CliConsole(file=written, quiet=True))
    assert written.getvalue() == ""
    recording = _CliConsole(file=io.StringIO(), record=True, emoji=False)
    print_table(long_table(), recording)
    assert recording.export_text() == _rich(long_table(), False, monkeypatch)


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=_CHARACTERS + "\\[]#@/", max_size=14))
def test_escaped_is_rich_s_escape(text: str) -> None:
    """The shortcut for text with nothing to escape changes no answer of rich's escape."""
    assert escaped(text) == escape(text)


@settings(max_examples=100, deadline=None)
@given(rows=st.lists(st.lists(_texts.map(escape), min_size=1, max_size=4), max_size=6),
       emoji=st.booleans())
def test_rows_added_column_by_column_print_as_rows_added_one_by_one(
        rows: list[list[str]], emoji: bool) -> None:
    """``add_text_rows``: the same table as ``add_row`` per row, whether every row has a cell
    per column or not (then rich pads the short rows)."""
    def table() -> Table:
        return data_table("claim", "payer", "days", "action", title="t",
                          keys=("claim",), numeric=("days",))

    one_by_one, at_once = table(), table()
    for row in rows:
        one_by_one.add_row(*row)
    add_text_rows(at_once, rows)
    assert [column.cells and list(column.cells) for column in at_once.columns] \
        == [column.cells and list(column.cells) for column in one_by_one.columns]
    assert len(at_once.rows) == len(one_by_one.rows) == len(rows)
    with pytest.MonkeyPatch.context() as monkeypatch:
        assert _rich(at_once, emoji, monkeypatch) == _rich(one_by_one, emoji, monkeypatch)
