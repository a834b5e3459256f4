"""Reading a claim form PDF back: what it holds, box by box, at its grid position (pypdf)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

from medbill_claim_forms_pdf.sheet import BASELINE_PT, COLUMN_PT, LEFT_PT, LINE_PT
from pypdf import PdfReader

TODAY = date(2026, 12, 6)
PAGE_HEIGHT_PT = 792.0


@dataclass(frozen=True)
class Cell:
    """A value the form holds: its text and where it starts on the print grid."""

    line: int
    column: int
    text: str


def cells(content: bytes, page: int = 0, *, font: str = "/Courier") -> list[Cell]:
    """The values printed on ``page`` in ``font`` (the data; the form's labels are in
    Helvetica), each at the grid line and column it starts at."""
    found: list[Cell] = []

    def visit(text: str, cm: list[float], tm: list[float], font_dict: object,
              size: float) -> None:
        if not text.strip() or not isinstance(font_dict, dict) \
                or font_dict.get("/BaseFont") != font:
            return
        x, y = tm[4] * cm[0] + cm[4], tm[5] * cm[3] + cm[5]
        column = round((x - LEFT_PT) / COLUMN_PT) + 1
        line = round((PAGE_HEIGHT_PT - y - BASELINE_PT) / LINE_PT) + 1
        found.append(Cell(line, column, text))

    PdfReader(io.BytesIO(content)).pages[page].extract_text(visitor_text=visit)
    return found


def at(content: bytes, line: int, column: int, page: int = 0) -> str | None:
    """The value starting at ``line``, ``column`` (stripped), ``None`` when none does."""
    for cell in cells(content, page):
        if (cell.line, cell.column) == (line, column):
            return cell.text.strip()
    return None


def row(content: bytes, line: int, page: int = 0) -> list[tuple[int, str]]:
    """Every value on one grid line: (column, text), left to right."""
    return sorted((cell.column, cell.text.strip()) for cell in cells(content, page)
                  if cell.line == line)


def page_text(content: bytes, page: int = 0) -> str:
    return PdfReader(io.BytesIO(content)).pages[page].extract_text()


def page_count(content: bytes) -> int:
    return len(PdfReader(io.BytesIO(content)).pages)


