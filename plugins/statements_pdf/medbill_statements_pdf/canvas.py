"""Drawing on a US Letter page with fpdf2: fonts, measured and wrapped text, colours.

Shared by the statement and the good-faith-estimate PDFs. Only the built-in Helvetica is used
unless settings name a TrueType font; with Helvetica, text is reduced to Latin-1 by
:func:`latin1`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from functools import lru_cache, reduce
from operator import add
from typing import Any

from medbill_core.api import MedbillError
from medbill_statements_pdf.settings import StatementsPdfSettings

PAGE_W, PAGE_H = 612.0, 792.0
LEFT, RIGHT = 36.0, 576.0
WIDTH = RIGHT - LEFT

GREY_FILL = (238, 238, 238)
ZEBRA_FILL = (247, 247, 247)
ACCENT = (31, 73, 125)
MUTED = (90, 90, 90)

_CORE_FONT_SUBSTITUTES = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": ",", "\u201c": '"', "\u201d": '"', "\u201e": '"',
    "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u2026": "...", "\u00a0": " ", "\u2022": "*",
    "\u0141": "L", "\u0142": "l", "\u0110": "D", "\u0111": "d", "\u0152": "OE", "\u0153": "oe",
    "\u0131": "i", "\u20ac": "EUR",
})


#: Draw Helvetica text, fonts and colours by writing fpdf's operators and state directly
#: (``False``: through fpdf's methods; a test renders documents both ways, byte for byte).
DIRECT = True

#: (x, y) of text as written in its operator, by (scale, page height): see ``_text_operators``
_TEXT_POSITIONS: dict[tuple[float, float], dict[tuple[float, float], str]] = {}

#: Character widths by (font, style, size), shared by all documents (see ``_Builder.measure``).
_CHAR_WIDTHS: dict[tuple[str, str, float], dict[str, float]] = {}


#: a run of filled modules in a row of :meth:`Canvas.fill_grid` (one rectangle)
_FILLED_RUN = re.compile(rb"\x01+")


@lru_cache(maxsize=16)
def _grid_numbers(x: float, y: float, module: float, columns: int, rows: int, k: float,
                  page_h: float, operator: str) -> tuple[list[str], list[str], list[str], str]:
    """The numbers of :meth:`Canvas._rect_line` for the rectangles of a grid, formatted as
    it formats them, each followed by its space: the left edge of each column, the top of
    each row, the width of each run length (0 to ``columns``), and the height with the
    painting operator (the line's end)."""
    lefts = [f"{(x + start * module) * k:.2f} " for start in range(columns + 1)]
    tops = [f"{(page_h - (y + index * module)) * k:.2f} " for index in range(rows)]
    widths = [f"{(length * module) * k:.2f} " for length in range(columns + 1)]
    return lefts, tops, widths, f"{-module * k:.2f} re {operator}\n"


class StatementRenderError(MedbillError):
    """A statement or estimate could not be rendered (the message names its number, no PHI)."""


@contextmanager
def render_errors(subject: str) -> Iterator[None]:
    """Turn a failure inside fpdf2 into :class:`StatementRenderError` naming only ``subject``.

    fpdf errors may quote the text being drawn (PHI): the message gives their type only.
    """
    try:
        yield
    except MedbillError:
        raise
    except Exception as exc:
        raise StatementRenderError(
            f"{subject}: the PDF could not be rendered ({type(exc).__name__})") from exc


def latin1(text: str) -> str:
    """Text the built-in PDF fonts can print: Latin-1, others transliterated or ``?``."""
    try:
        text.encode("latin-1")
        return text
    except UnicodeEncodeError:
        pass
    text = text.translate(_CORE_FONT_SUBSTITUTES)
    out = []
    for char in text:
        if ord(char) < 256:
            out.append(char)
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", char)
                       if not unicodedata.combining(c))
        out.append(base if base and all(ord(c) < 256 for c in base) else "?")
    return "".join(out)


class Canvas:
    """An fpdf2 document in points with the plugin's fonts and text helpers."""

    def __init__(self, settings: StatementsPdfSettings, *, title: str, author: str,
                 created: date) -> None:
        # fpdf2 is imported when a document is drawn, not when the plugin starts: every
        # medbill command starts the enabled plugins, few render a statement (a third of a
        # second of each command's start-up)
        from fpdf import FPDF
        from fpdf.util import escape_parens

        pdf = FPDF(orientation="P", unit="pt", format="letter")
        pdf.set_auto_page_break(False)
        pdf.set_margins(LEFT, 36.0, PAGE_W - RIGHT)
        pdf.set_title(title)
        pdf.set_author(latin1(author))
        pdf.set_creator("medbill statements_pdf")
        pdf.set_creation_date(datetime.combine(created, time(12), tzinfo=UTC))
        pdf.set_lang("en-US")
        self.clean: Callable[[str], str] = latin1
        self.family = self.font_id = "Helvetica"
        self._font_key: tuple[str, str, float] = ("", "", 0.0)
        self._widths: dict[str, float] = {}
        self._colour_operator: tuple[object, str] = (None, "")
        #: (fill colour, text colour, what text is prefixed with in them): see _colour_prefix
        self._text_colour: tuple[object, object, str] = (None, None, "")
        self._escape: Callable[[str], str] = escape_parens
        if settings.font_path is not None:
            pdf.add_font("StatementFont", "", settings.font_path)
            pdf.add_font("StatementFont", "B", settings.bold_font_path or settings.font_path)
            self.family = "StatementFont"
            self.font_id = f"{settings.font_path}|{settings.bold_font_path}"
            self.clean = str
        self.pdf = pdf
        #: the built-in fonts' text is written by :meth:`_text_operators`; a TrueType font's
        #: (shaped, subset) by fpdf
        self._direct_text = (settings.font_path is None and DIRECT
                             and pdf.core_fonts_encoding == "latin-1")
        #: fpdf's graphics state stack: with the built-in fonts, its current state is read
        #: and set directly where fpdf's properties and checks cost more than the drawing
        states = getattr(pdf, "_GraphicsStateMixin__statestack", None)
        self._states: list[Any] | None = (
            states if self._direct_text and isinstance(states, list) else None)
        #: the fonts fpdf has selected once, by style (any size): selected again directly
        self._fonts: dict[str, Any] = {}
        self._colours: dict[tuple[int, int, int], tuple[Any, str]] = {}
        self._rect_operators: dict[str, str] = {}
        #: (page, font number) registered as the page's resources
        self._page_fonts: set[tuple[int, int]] = set()
        # the page size is fixed (letter, points), the scale too
        self._k: float = pdf.k
        self._page_h: float = pdf.h
        #: text positions formatted, shared by the documents of one scale and page height
        self._positions = _TEXT_POSITIONS.setdefault((self._k, self._page_h), {})

    # -- drawing primitives -----------------------------------------------------------------
    def font(self, size: float, bold: bool = False) -> None:
        style = "B" if bold else ""
        key = (self.font_id, style, size)
        if key == self._font_key:  # fpdf would only find out, more slowly, that it is set
            return
        states = self._states
        known = self._fonts.get(style)
        if states is not None and known is not None:
            # what FPDF.set_font does for a font it has selected before, and a new size
            state = states[-1]
            state.underline = state.strikethrough = False
            state.font_family = self.family.lower()
            state.font_style = style
            state.font_size_pt = size
            state.current_font = known
            state.current_font_is_set_on_page = False
        else:
            self.pdf.set_font(self.family, style, size)
            if states is not None:
                self._fonts[style] = states[-1].current_font
        self._font_key = key
        self._widths = _CHAR_WIDTHS.setdefault(key, {})

    def _extend(self, width: float, value: str) -> float:
        """``width`` plus the widths of ``value``'s characters, added one by one from the left:
        the measure of a string continued, to the last bit, as :meth:`measure` adds it."""
        widths = self._widths
        try:
            # reduce adds in order, as a loop would (sum may not: Python 3.12 compensates)
            return reduce(add, map(widths.__getitem__, value), width)
        except KeyError:  # a character not measured yet in this font
            for char in value:
                if char not in widths:
                    widths[char] = self.pdf.get_string_width(char)
            return reduce(add, map(widths.__getitem__, value), width)

    def measure(self, value: str) -> float:
        """Width of ``value`` in the current font: the sum of its characters' widths.

        fpdf2's ``get_string_width`` copies the graphics state on every call and dominated the
        profile; without kerning or text shaping (neither is enabled here) a string is exactly
        as wide as its characters, so their widths are measured once and cached.
        """
        return self._extend(0.0, value)

    def text(self, x: float, y: float, value: str, align: str = "L") -> None:
        """Draw ``value`` with its baseline at ``y``; ``x`` is the left, right or centre edge."""
        value = self.clean(value)
        if align != "L":
            width = self._extend(0.0, value)
            x = x - width if align == "R" else x - width / 2
        if self._direct_text:
            self._text_operators(x, y, value)
        else:
            self.pdf.text(x, y, value)

    def _text_operators(self, x: float, y: float, value: str) -> None:
        """What ``FPDF.text`` writes for a built-in font, written without its checks, which
        cost more than the drawing: the text is already Latin-1 (:func:`latin1`), drawn in
        fill mode, neither underlined nor struck through, on an open page with a font set (a
        test compares every document drawn both ways, byte for byte)."""
        pdf = self.pdf
        # the graphics state, or fpdf's properties that read it
        state: Any = self._states[-1] if self._states is not None else pdf
        contents = pdf.pages[pdf.page].contents
        if not isinstance(contents, bytearray):
            if not state.current_font_is_set_on_page:
                pdf._out(pdf._set_font_for_page(state.current_font, state.font_size_pt))
            pdf._out(self._text_object(x, y, value, state))
            return
        if not state.current_font_is_set_on_page:
            # what FPDF._set_font_for_page does: the font's operator, the font a resource of
            # the page (registered once a page: fpdf keeps a set)
            font = state.current_font
            contents += f"BT /F{font.i} {state.font_size_pt:.2f} Tf ET\n".encode("latin-1")
            if (pdf.page, font.i) not in self._page_fonts:
                self._page_fonts.add((pdf.page, font.i))
                pdf._set_font_for_page(font, state.font_size_pt)
            state.current_font_is_set_on_page = True
        # what _out does, without its checks: :meth:`_text_object` inlined (the hot path)
        if "(" in value or ")" in value or "\\" in value or "\r" in value:
            value = self._escape(value)
        k = self._k
        fill, colour = state.fill_color, state.text_color
        known = self._text_colour
        if known[0] is not fill or known[1] is not colour:  # colours are immutable
            known = self._text_colour = (fill, colour, self._colour_prefix(fill, colour))
        # the text's position as fpdf formats it ("%.2f" of each coordinate), remembered
        # per position: the same few recur on every statement
        positions = self._positions
        at = positions.get((x, y))
        if at is None:
            if len(positions) > 4096:  # a bound: positions are few, but not fixed
                positions.clear()
            at = positions[(x, y)] = f"{x * k:.2f} {(self._page_h - y) * k:.2f}"
        if known[2]:
            contents += f"{known[2]}BT {at} Td ({value}) Tj ET Q\n".encode("latin-1")
        else:
            contents += f"BT {at} Td ({value}) Tj ET\n".encode("latin-1")

    def _colour_prefix(self, fill: Any, colour: Any) -> str:
        """``"q <text colour operator> "`` when the text colour is not the fill colour (the
        text object is then wrapped in q ... Q), else ``""``: what ``FPDF.text`` writes."""
        if fill is colour or fill == colour:
            return ""
        cached = self._colour_operator
        if cached[0] is not colour:
            cached = self._colour_operator = (colour, colour.serialize().lower())
        return f"q {cached[1]} "

    def _text_object(self, x: float, y: float, value: str, state: Any) -> str:
        k = self._k
        if "(" in value or ")" in value or "\\" in value or "\r" in value:
            value = self._escape(value)
        operators = f"BT {x * k:.2f} {(self._page_h - y) * k:.2f} Td ({value}) Tj ET"
        prefix = self._colour_prefix(state.fill_color, state.text_color)
        return f"{prefix}{operators} Q" if prefix else operators

    def wrap(self, value: str, width: float, max_lines: int) -> list[str]:
        """Greedy word wrap to ``width`` in the current font; the last line is ellipsised."""
        value = self.clean(value)
        measure = self.measure
        # most cells fit on one line: then every shorter line fits too (each character adds
        # to the width) and the greedy loop below would keep every word on the first line
        words = value.split()
        if " ".join(words) == value and measure(value) <= width:
            return [value]
        extend = self._extend
        lines: list[str] = []
        current = ""
        current_width = 0.0
        for word in words:
            # the candidate's width continues the current line's, as measure(candidate) would
            candidate, candidate_width = ((f"{current} {word}", extend(current_width, " " + word))
                                          if current else (word, extend(0.0, word)))
            if candidate_width <= width:
                current, current_width = candidate, candidate_width
                continue
            if current:
                lines.append(current)
            while measure(word) > width:  # a single word wider than the column
                cut = len(word)
                while cut > 1 and measure(word[:cut]) > width:
                    cut -= 1
                lines.append(word[:cut])
                word = word[cut:]
            current, current_width = word, measure(word)
        if current:
            lines.append(current)
        if len(lines) > max_lines:
            kept = lines[:max_lines]
            last = kept[-1]
            while last and measure(last + "...") > width:
                last = last[:-1]
            kept[-1] = last.rstrip() + "..."
            lines = kept
        return lines or [""]

    def fit(self, value: str, width: float) -> str:
        """``value`` on one line of ``width`` in the current font (ellipsised when longer)."""
        return self.wrap(value, width, 1)[0]

    def facts(self, top: float, pairs: Sequence[tuple[str, str]], x: float = 430.0) -> float:
        """``(label, value)`` rows from ``top``: the label at ``x``, the value right-aligned;
        returns the baseline below the last row."""
        y = top
        for label, value in pairs:
            self.font(8)
            self.text(x, y, label)
            self.font(8.5, bold=True)
            self.text(RIGHT, y, value, align="R")
            y += 12
        return y

    def highlight_box(self, top: float, height: float, title: str, amount: str,
                      note: str) -> None:
        """The grey, accent-bordered box at the right edge with a title, a large amount and a note.

        ``top`` is the box's top edge; the text baselines sit 14, 36 and 52 points below it.
        """
        x, w = 420.0, RIGHT - 420.0
        self.fill(GREY_FILL)
        self.pdf.set_draw_color(*ACCENT)
        self.pdf.set_line_width(1.2)
        self.rect(x, top, w, height, style="DF")
        self.pdf.set_line_width(0.4)
        self.pdf.set_draw_color(0, 0, 0)
        self.font(8, bold=True)
        self.text(x + w / 2, top + 14, title, align="C")
        self.font(18, bold=True)
        self.text(x + w / 2, top + 36, amount, align="C")
        self.font(8)
        self.text(x + w / 2, top + 52, note, align="C")

    def rect(self, x: float, y: float, w: float, h: float, style: str = "D") -> None:
        """``FPDF.rect`` (square corners): its one operator written directly."""
        if self._states is None:
            self.pdf.rect(x, y, w, h, style=style)
            return
        self._out(self._rect_line(x, y, w, h, self._rect_operator(style)))

    def fill_grid(self, x: float, y: float, module: float, rows: Sequence[bytes]) -> None:
        """A grid of square modules of side ``module`` from (``x``, ``y``), one ``bytes`` per
        row, 1 for a filled module: each run of filled modules in a row is one rectangle,
        drawn as :meth:`rect` in fill style draws it, in order (a QR code is some 300)."""
        runs = [(index, run.start(), run.end()) for index, row in enumerate(rows)
                for run in _FILLED_RUN.finditer(row)]
        if self._states is None:
            for index, start, end in runs:
                self.pdf.rect(x + start * module, y + index * module, (end - start) * module,
                              module, style="F")
            return
        lefts, tops, widths, end_of_line = _grid_numbers(
            x, y, module, len(rows[0]) if rows else 0, len(rows), self._k, self._page_h,
            self._rect_operator("F"))
        # the operators of _rect_line, their numbers formatted once per grid position
        lines = "".join([lefts[start] + tops[index] + widths[end - start] + end_of_line
                         for index, start, end in runs])
        if lines:
            self._out(lines)

    def _rect_operator(self, style: str) -> str:
        """fpdf's painting operator of a rectangle's ``style`` (``D``, ``F``, ``DF``), looked
        up once per style."""
        operator = self._rect_operators.get(style)
        if operator is None:
            from fpdf.enums import RenderStyle

            operator = self._rect_operators[style] = RenderStyle.coerce(style).operator
        return operator

    def _rect_line(self, x: float, y: float, w: float, h: float, operator: str) -> str:
        """The ``re`` operator of a rectangle (points, from the page's top left) and its
        painting operator, as fpdf writes it."""
        k = self._k
        return (f"{x * k:.2f} {(self._page_h - y) * k:.2f} {w * k:.2f} {-h * k:.2f} re "
                f"{operator}\n")

    def _out(self, line: str) -> None:
        """``FPDF._out(line)`` for a line ending in its newline: appended to the open page's
        bytes directly where they are a bytearray (drawing happens on an open page before the
        document is output: fpdf's checks would only find that out again)."""
        pdf = self.pdf
        contents = pdf.pages[pdf.page].contents if pdf.page else None
        if isinstance(contents, bytearray) and not pdf.buffer:
            contents += line.encode("latin-1")
        else:
            pdf._out(line[:-1])

    def _colour(self, rgb: tuple[int, int, int]) -> tuple[Any, str]:
        """fpdf's colour object for ``rgb`` and its fill operator, made once per document."""
        known = self._colours.get(rgb)
        if known is None:
            from fpdf.drawing_primitives import convert_to_device_color

            colour = convert_to_device_color(*rgb)
            known = self._colours[rgb] = (colour, colour.serialize().lower())
        return known

    def fill(self, rgb: tuple[int, int, int]) -> None:
        if self._states is None:
            self.pdf.set_fill_color(*rgb)
            return
        # FPDF.set_fill_color: the operator only when the colour changes
        colour, operator = self._colour(rgb)
        state = self._states[-1]
        if colour != state.fill_color:
            state.fill_color = colour
            if self.pdf.page > 0:
                self._out(operator + "\n")

    def colour(self, rgb: tuple[int, int, int] = (0, 0, 0)) -> None:
        if self._states is None:
            self.pdf.set_text_color(*rgb)
        else:  # FPDF.set_text_color: the state only (text() writes it)
            self._states[-1].text_color = self._colour(rgb)[0]

    def output(self) -> bytes:
        if self._direct_text:  # fpdf's output, written without its generic serializer
            from medbill_statements_pdf.pdffile import file_bytes

            written = file_bytes(self.pdf)
            if written is not None:
                return written
        return bytes(self.pdf.output())
