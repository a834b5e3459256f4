"""One form on one page: a character grid (10 characters an inch, 6 lines an inch, as the
NUCC and NUBC print specifications lay out the CMS-1500 and the UB-04) that values are put on
by line and column, and the boxes of the form itself, drawn in red ink when asked.

A value longer than its box is cut to the box and reported (``form.truncated``, naming the
claim and the box, never the value): overprinting the next box would make the form
unreadable to the payer's scanner. An amount that does not fit is never cut (a cut amount is
a wrong amount): the box is filled with ``*`` and an error is reported instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from medbill_core.api import ClaimFinding, Severity

#: Points per column (10 pitch) and per line (6 lines an inch).
COLUMN_PT = 7.2
LINE_PT = 12.0
#: Where column 1 starts on the page (a quarter inch in, as the forms' print areas are).
LEFT_PT = 18.0
#: The baseline of a line's characters, below the line's top.
BASELINE_PT = 9.5
#: Courier at 12 points is exactly 10 characters an inch.
DATA_FONT = ("Courier", 12.0)
LABEL_FONT = ("Helvetica", 4.6)
#: The red of the forms' ink (scanners drop it out; the data stays black).
RED = (200, 30, 45)
SHADE = (252, 226, 228)


@dataclass(frozen=True)
class Box:
    """A box of the form, in grid units: from the top of line ``top`` to the top of line
    ``bottom`` and from the left of column ``left`` to the left of column ``right``."""

    label: str
    top: float
    left: float
    bottom: float
    right: float
    shaded: bool = False


@dataclass
class Sheet:
    """The page a form is being put on, for one claim."""

    pdf: Any
    claim_number: str
    #: the renderer's name, as the findings' source
    source: str
    offset_x: float = 0.0
    offset_y: float = 0.0
    #: how the form names its boxes in findings: ``box `` (CMS-1500), ``FL`` (UB-04)
    term: str = "box "
    findings: list[ClaimFinding] = field(default_factory=list)

    # -- geometry ---------------------------------------------------------------------------
    def x(self, column: float) -> float:
        return self.offset_x + LEFT_PT + (column - 1) * COLUMN_PT

    def y(self, line: float) -> float:
        return self.offset_y + (line - 1) * LINE_PT

    # -- the form ---------------------------------------------------------------------------
    def draw(self, boxes: list[Box], titles: list[tuple[float, float, float, str]]) -> None:
        """The form in red: each box, its label in its top left corner, shaded boxes filled;
        ``titles`` are (line, column, size, text) headings."""
        pdf = self.pdf
        pdf.set_draw_color(*RED)
        pdf.set_fill_color(*SHADE)
        pdf.set_text_color(*RED)
        pdf.set_line_width(0.5)
        for box in boxes:
            x, y = self.x(box.left), self.y(box.top)
            w, h = (box.right - box.left) * COLUMN_PT, (box.bottom - box.top) * LINE_PT
            pdf.rect(x, y, w, h, style="DF" if box.shaded else "D")
            if box.label:
                pdf.set_font(LABEL_FONT[0], size=LABEL_FONT[1])
                pdf.text(x + 1.0, y + 4.6, box.label)
        for line, column, size, text in titles:
            pdf.set_font("Helvetica", "B", size)
            pdf.text(self.x(column), self.y(line) + BASELINE_PT, text)
        pdf.set_text_color(0, 0, 0)

    # -- the data ---------------------------------------------------------------------------
    def text(self, line: float, column: float, width: int, value: str | None, box: str,
             *, align_right: bool = False) -> None:
        """``value`` in upper case from ``column`` on ``line``, at most ``width``
        characters (cut to them with a finding)."""
        if value is None:
            return
        value = " ".join(str(value).upper().split())
        if not value:
            return
        if len(value) > width:
            self._finding(Severity.WARNING, "form.truncated",
                          f"{self.term}{box} holds {width} characters: {len(value)} were cut "
                          f"to {width}", box)
            value = value[:width]
        self._put(line, column + (width - len(value) if align_right else 0), value)

    def mark(self, line: float, column: float) -> None:
        """An ``X`` in a check box."""
        self._put(line, column, "X")

    def amount(self, line: float, dollars_column: float, dollars_width: int,
               cents_column: float, amount: Decimal | None, box: str) -> None:
        """``amount`` split into the box's dollars (right-aligned, no separators) and cents
        columns, exactly as it is: never rounded, never cut."""
        if amount is None:
            return
        sign, _, exponent = amount.as_tuple()
        if not isinstance(exponent, int) or exponent < -2:
            self._finding(Severity.ERROR, "form.amount_not_printable",
                          f"{self.term}{box}: an amount with more than two decimal places "
                          "cannot be printed", box)
            self._put(line, dollars_column, "*" * dollars_width)
            return
        cents_total = int(amount.copy_abs() * 100)
        dollars, cents = divmod(cents_total, 100)
        text = f"{'-' if sign else ''}{dollars}"
        if len(text) > dollars_width:
            self._finding(Severity.ERROR, "form.amount_too_large",
                          f"{self.term}{box} holds {dollars_width} dollar digits: the amount "
                          "does not fit and is not printed", box)
            self._put(line, dollars_column, "*" * dollars_width)
            return
        self._put(line, dollars_column + dollars_width - len(text), text)
        self._put(line, cents_column, f"{cents:02d}")

    def _put(self, line: float, column: float, text: str) -> None:
        self.pdf.set_font(DATA_FONT[0], size=DATA_FONT[1])
        self.pdf.text(self.x(column), self.y(line) + BASELINE_PT, text)

    def _finding(self, severity: Severity, code: str, message: str, box: str) -> None:
        self.findings.append(ClaimFinding(
            severity=severity, code=code, message=message, claim_number=self.claim_number,
            field=f"{self.term}{box}", source=self.source))
