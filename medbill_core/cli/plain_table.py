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

from rich import box
from rich.cells import cell_len, get_character_cell_size
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
        columns = [[_plain(cell, emoji) for cell in column.cells] for column in table.columns]
        title = _plain(table.title, emoji) if table.title is not None else ""
    except _NeedsLayout:
        return None
    widths = [max([cell_len(header), column.min_width or 0,
                   *(cell_len(cell) for cell in cells)])
              for header, column, cells in zip(headers, table.columns, columns, strict=True)]
    # rich justifies no cell of a column whose overflow is "ignore": it stays at the left
    right = [column.justify == "right" and column.overflow != "ignore"
             for column in table.columns]
    table_width = sum(widths) + 3 * len(widths) + 1
    lines: list[str] = []
    if title:  # rich prints no line for an empty title, and centres it without end spaces
        title = title.rstrip()
        if cell_len(title) > table_width:
            return None  # rich wraps a title wider than its table
        left = (table_width - cell_len(title)) // 2
        lines.append(" " * left + title + " " * (table_width - cell_len(title) - left))
    heavy = box.HEAVY_HEAD
    lines.append(_rule(heavy.top_left, heavy.top, heavy.top_divider, heavy.top_right, widths))
    lines.append(_row(heavy.head_left, heavy.head_vertical, heavy.head_right,
                      headers, widths, right))
    lines.append(_rule(heavy.head_row_left, heavy.head_row_horizontal, heavy.head_row_cross,
                       heavy.head_row_right, widths))
    last = len(table.rows) - 1
    for index, (row, cells) in enumerate(zip(table.rows, zip(*columns, strict=True),
                                             strict=True)):
        lines.append(_row(heavy.mid_left, heavy.mid_vertical, heavy.mid_right,
                          cells, widths, right))
        if row.end_section and index != last:  # add_section(): a rule under the row
            lines.append(_rule(heavy.row_left, heavy.row_horizontal, heavy.row_cross,
                               heavy.row_right, widths))
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
    if not text.isprintable() or (not text.isascii() and any(
            get_character_cell_size(c) != 1 for c in text)):
        raise _NeedsLayout
    return text


def _rule(left: str, line: str, cross: str, right: str, widths: list[int]) -> str:
    return left + cross.join(line * (width + 2) for width in widths) + right


def _row(left: str, divider: str, right_edge: str, cells: Sequence[str], widths: list[int],
         right: list[bool]) -> str:
    return left + divider.join(
        # rich drops the spaces that end a right-justified cell
        " " + (cell.rstrip().rjust(width) if to_right else cell.ljust(width)) + " "
        for cell, width, to_right in zip(cells, widths, right, strict=True)) + right_edge
