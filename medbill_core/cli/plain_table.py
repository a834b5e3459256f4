"""A long table printed into a file or a pipe without rich's layout engine.

rich measures, pads and crops every cell as a renderable of its own: ~0.7 ms a row, so
``medbill ar followup`` of 17,682 claims spent 12 of its 13 seconds laying out a table whose
columns, into a file, never wrap. :func:`plain_table_text` writes the same characters for
the tables :func:`~medbill_core.cli.common.data_table` makes (the default box, one line per
row, cells of text that needs no layout) and answers None for anything else, which rich then
prints as before. A test compares the two on generated tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from rich import box
from rich.cells import get_character_cell_size
from rich.table import Table
from rich.text import Text

#: below this many rows rich's own rendering costs little: it prints them
PLAIN_FROM_ROWS = 100


def plain_table_text(table: Table, *, emoji: bool = False) -> str | None:
    """``table`` as rich prints it at its natural width with no terminal (title centred over
    it, heavy head box, one space of padding), or None when the table is not one this
    function knows to write identically. ``emoji``: the console replaces ``:name:`` codes
    (then a table with a colon in it is left to rich)."""
    if not _plain_layout(table):
        return None
    try:
        headers = [_plain(column.header, emoji) for column in table.columns]
        columns = [_plain_cells(list(column.cells), emoji) for column in table.columns]
        title = _plain(table.title, emoji) if table.title is not None else ""
    except _NeedsLayout:
        return None
    # every character left takes one cell: a text's width is its length
    widths = [max([len(header), column.min_width or 0, *map(len, cells)])
              for header, column, cells in zip(headers, table.columns, columns, strict=True)]
    # rich justifies no cell of a column whose overflow is "ignore": it stays at the left
    right = [column.justify == "right" and column.overflow != "ignore"
             for column in table.columns]
    table_width = sum(widths) + 3 * len(widths) + 1
    lines: list[str] = []
    if title:  # rich prints no line for an empty title, and centres it without end spaces
        title = title.rstrip()
        if len(title) > table_width:
            return None  # rich wraps a title wider than its table
        left = (table_width - len(title)) // 2
        lines.append(" " * left + title + " " * (table_width - len(title) - left))
    heavy = box.HEAVY_HEAD
    lines.append(_rule(heavy.top_left, heavy.top, heavy.top_divider, heavy.top_right, widths))
    lines.append(_row(heavy.head_left, heavy.head_vertical, heavy.head_right,
                      headers, widths, right))
    lines.append(_rule(heavy.head_row_left, heavy.head_row_horizontal, heavy.head_row_cross,
                       heavy.head_row_right, widths))
    # column by column (a list comprehension each), then joined row by row: 100,000 rows
    padded = [_padded(cells, width, to_right)
              for cells, width, to_right in zip(columns, widths, right, strict=True)]
    rows = [heavy.mid_left + heavy.mid_vertical.join(cells) + heavy.mid_right
            for cells in zip(*padded, strict=True)]
    # add_section(): a rule under the row (none under the last)
    below = [index for index, row in enumerate(table.rows[:-1]) if row.end_section]
    if below:
        rule = _rule(heavy.row_left, heavy.row_horizontal, heavy.row_cross, heavy.row_right,
                     widths)
        for index in reversed(below):
            rows.insert(index + 1, rule)
    lines.extend(rows)
    lines.append(_rule(heavy.bottom_left, heavy.bottom, heavy.bottom_divider,
                       heavy.bottom_right, widths))
    return "\n".join(lines) + "\n"


def _plain_layout(table: Table) -> bool:
    """The table is laid out as :func:`~medbill_core.cli.common.data_table` makes it."""
    return (table.box is box.HEAVY_HEAD and table.show_header and table.show_edge
            and not table.show_lines and not table.show_footer and not table.expand
            and table.width is None and table.min_width is None and table.caption is None
            and not table.row_styles and table.leading == 0 and table.padding == (0, 1, 0, 1)
            and table.pad_edge and not table.collapse_padding and table.title_justify == "center"
            and bool(table.columns) and not any(row.style for row in table.rows)
            and all(column.justify in ("left", "right") and column.ratio is None
                    and column.width is None and column.max_width is None
                    for column in table.columns))


class _NeedsLayout(Exception):
    """A cell that rich must lay out itself."""


def _plain(cell: object, emoji: bool) -> str:
    """The characters a cell shows, when each takes one column and none needs layout (no
    line break, tab or control character, no wide or combining character).

    :raises _NeedsLayout: otherwise
    """
    if isinstance(cell, Text):
        text = cell.plain
    elif isinstance(cell, str) and not (emoji and ":" in cell):
        text = Text.from_markup(cell, emoji=False).plain if "[" in cell else cell
    else:
        raise _NeedsLayout
    _check_one_cell_each(text)
    return text


def _plain_cells(cells: list[object], emoji: bool) -> list[str]:
    """:func:`_plain` of a whole column, checked at once when its cells are strings with no
    markup (what long tables hold): one pass over their joined text, not a call per cell."""
    if not all(type(cell) is str for cell in cells):
        return [_plain(cell, emoji) for cell in cells]
    texts = cast(list[str], cells)
    joined = "".join(texts)
    if emoji and ":" in joined:
        raise _NeedsLayout
    if "[" in joined:
        return [_plain(text, emoji) for text in texts]
    _check_one_cell_each(joined)
    return texts


def _check_one_cell_each(text: str) -> None:
    if not text.isprintable() or (not text.isascii() and any(
            get_character_cell_size(c) != 1 for c in text)):
        raise _NeedsLayout


def _padded(cells: list[str], width: int, to_right: bool) -> list[str]:
    if to_right:  # rich drops the spaces that end a right-justified cell
        return [" " + cell.rstrip().rjust(width) + " " for cell in cells]
    return [" " + cell.ljust(width) + " " for cell in cells]


def _rule(left: str, line: str, cross: str, right: str, widths: list[int]) -> str:
    return left + cross.join(line * (width + 2) for width in widths) + right


def _row(left: str, divider: str, right_edge: str, cells: Sequence[str], widths: list[int],
         right: list[bool]) -> str:
    return left + divider.join(
        _padded([cell], width, to_right)[0]
        for cell, width, to_right in zip(cells, widths, right, strict=True)) + right_edge
