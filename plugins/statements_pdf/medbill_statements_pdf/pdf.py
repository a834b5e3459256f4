"""PDF patient statements with fpdf2: US Letter, a payment coupon at the foot of page 1.

Layout (points, origin top left, 612 x 792):

* page 1: practice header and statement facts (date, number, account, page), bill-to address
  and the amount-due box, the dunning notice, the aging strip, then the services table, and
  below a dashed cut line the detachable payment coupon (remit-to address, account number,
  amount due, due date, an "amount enclosed" box);
* following pages: a compact repeated header (practice, statement and account number,
  patient, "Page n of N"), the table header again, more rows, "Page n of N" in the footer;
* after the last row: the balance due (from the statement) and, in summary mode, the totals.

The document is laid out in two passes: rows are measured and paginated first, so every page
can say "Page n of N" without fpdf's page-count alias, and the renderer reports the page count.
Only the built-in Helvetica is used unless settings name a TrueType font (see
:class:`~medbill_statements_pdf.settings.StatementsPdfSettings`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from medbill_core.api import CostEstimate, RenderedDocument, Statement
from medbill_statements_pdf import view
from medbill_statements_pdf.base import PluginStatementRenderer
from medbill_statements_pdf.canvas import (
    ACCENT,
    GREY_FILL,
    LEFT,
    MUTED,
    PAGE_H,
    PAGE_W,
    RIGHT,
    WIDTH,
    ZEBRA_FILL,
    Canvas,
    StatementRenderError,
    latin1,
    render_errors,
)
from medbill_statements_pdf.settings import StatementsPdfSettings

__all__ = ["PdfStatementRenderer", "PdfSummaryStatementRenderer", "StatementRenderError",
           "latin1"]

#: The services table: heading, width, alignment. Widths add up to WIDTH (540 pt).
COLUMNS: tuple[tuple[str, float, str], ...] = (
    ("Date", 52.0, "L"),
    ("Claim", 56.0, "L"),
    ("Code", 34.0, "L"),
    ("Description", 158.0, "L"),
    ("Charge", 48.0, "R"),
    ("Insurance paid", 48.0, "R"),
    ("Insurance adjusted", 48.0, "R"),
    ("You paid", 48.0, "R"),
    ("Balance", 48.0, "R"),
)
MAX_LINES = (2, 2, 1, 4)  # per text column: date(s), claim, code, description

ROW_FONT = 7.5
LEADING = 9.0
ROW_PAD = 3.0
HEADER_ROW_H = 22.0

COUPON_H = 178.0
COUPON_TOP = PAGE_H - 30.0 - COUPON_H  # the dashed cut line
PAGE1_ROWS_BOTTOM = COUPON_TOP - 22.0  # room for "continued on the next page"
LATER_ROWS_TOP = 112.0
LATER_ROWS_BOTTOM = PAGE_H - 56.0
END_BLOCK_H = 34.0


@dataclass
class _Laid:
    row: view.Row | None  # None: a family statement's patient heading
    cells: list[list[str]]  # wrapped text of the four text columns
    height: float
    shaded: bool = False
    bold: bool = False
    heading: str = ""


WHY_LINES = 2  # "Why you owe: ..." under the description
SECTION_H = 16.0


class _Builder(Canvas):
    """Lays out and draws one statement."""

    def __init__(self, statement: Statement, settings: StatementsPdfSettings,
                 summary: bool) -> None:
        super().__init__(settings, title=f"Statement {statement.statement_number}",
                         author=statement.practice.name, created=statement.statement_date)
        self.statement = statement
        self.settings = settings
        self.summary = summary

    # -- layout -------------------------------------------------------------------------------
    def lay_rows(self, rows: Sequence[view.Row]) -> list[_Laid]:
        self.font(ROW_FONT)
        laid = []
        for index, row in enumerate(rows):
            texts = (row.dates, row.claim, row.code, row.description)
            cells = [self.wrap(value, COLUMNS[i][1] - 2 * ROW_PAD, MAX_LINES[i])
                     for i, value in enumerate(texts)]
            if row.why:
                cells[3] += self.wrap(row.why, COLUMNS[3][1] - 2 * ROW_PAD, WHY_LINES)
            height = max(len(c) for c in cells) * LEADING + 2 * ROW_PAD
            laid.append(_Laid(row, cells, height, shaded=index % 2 == 1))
        return laid

    def lay_sections(self, sections: Sequence[view.Section]) -> list[_Laid]:
        """A family statement: each patient's heading, then that patient's rows."""
        laid: list[_Laid] = []
        for section in sections:
            laid.append(_Laid(None, [[], [], [], []], SECTION_H, heading=section.heading))
            laid += self.lay_rows(section.rows)
        return laid

    def notice_lines(self) -> tuple[str, list[str]]:
        title, message = view.notice(self.statement, self.settings.dunning_messages)
        self.font(8.5)
        lines = self.wrap(message, WIDTH - 20, 4)
        if self.statement.message:
            lines += self.wrap(self.statement.message, WIDTH - 20, 3)
        return title, lines

    def paginate(self, laid: list[_Laid], page1_rows_top: float) -> list[list[_Laid]]:
        pages: list[list[_Laid]] = [[]]
        room = PAGE1_ROWS_BOTTOM - page1_rows_top
        for item in laid:
            if item.height > room and pages[-1]:
                pages.append([])
                room = LATER_ROWS_BOTTOM - LATER_ROWS_TOP
            pages[-1].append(item)
            room -= item.height
        if room < END_BLOCK_H:
            pages.append([])
        return pages

    # -- the document ---------------------------------------------------------------------------
    def build(self) -> tuple[bytes, int]:
        statement = self.statement
        rows = view.summary_rows(statement) if self.summary else view.detail_rows(statement)
        family = view.sections(statement, self.summary)
        laid = self.lay_sections(family) if family else self.lay_rows(rows)
        if self.summary and rows:
            totals = self.lay_rows([view.totals_row(rows, "Totals of all claims")])[0]
            totals.bold = True
            laid.append(totals)
        title, notice = self.notice_lines()
        notice_top = 178.0
        notice_h = 22.0 + len(notice) * 10.5
        aging_top = notice_top + notice_h + 8.0
        table_top = aging_top + 44.0
        page1_rows_top = table_top + HEADER_ROW_H
        pages = self.paginate(laid, page1_rows_top)
        count = len(pages)
        for number, page_rows in enumerate(pages, start=1):
            self.pdf.add_page()
            if number == 1:
                self.page_one_header(count)
                self.bill_to_and_amount_due()
                self.notice_box(notice_top, title, notice)
                self.aging_strip(aging_top)
                rows_top = page1_rows_top
                bottom = PAGE1_ROWS_BOTTOM
            else:
                self.later_header(number, count)
                rows_top = LATER_ROWS_TOP
                bottom = LATER_ROWS_BOTTOM
                self.footer(number, count)
            self.table_header(rows_top - HEADER_ROW_H)
            y = rows_top
            if not laid and number == 1:
                self.font(8.5)
                self.text(LEFT + ROW_PAD, y + 14, "No account activity since your last statement.")
                y += 22
            for item in page_rows:
                self.draw_row(item, y)
                y += item.height
            if number < count:
                self.font(7.5)
                self.colour(MUTED)
                self.text(RIGHT, bottom + 12, f"Continued on page {number + 1}", align="R")
                self.colour()
            else:
                self.end_block(y)
            if number == 1:
                self.coupon()
        return self.output(), count

    # -- page parts -----------------------------------------------------------------------------
    def practice_block(self, top: float) -> float:
        practice = self.statement.practice
        self.colour(ACCENT)
        self.font(14, bold=True)
        self.text(LEFT, top + 12, practice.name)
        self.colour()
        self.font(8.5)
        y = top + 26
        lines = view.address_lines(practice.address)
        phone = view.phone(practice)
        if phone:
            lines.append(f"Billing questions: {phone}")
        for line in lines:
            self.text(LEFT, y, line)
            y += 11
        return y

    def page_one_header(self, count: int) -> None:
        statement = self.statement
        self.practice_block(36)
        self.colour(ACCENT)
        self.font(15, bold=True)
        self.text(RIGHT, 48, "Patient Statement", align="R")
        self.colour()
        self.facts(64, [("Statement date", view.us_date(statement.statement_date)),
                        ("Statement number", statement.statement_number),
                        (view.account_label(statement), statement.account_number),
                        ("Page", f"1 of {count}")])

    def later_header(self, number: int, count: int) -> None:
        statement = self.statement
        self.colour(ACCENT)
        self.font(12, bold=True)
        self.text(LEFT, 48, statement.practice.name)
        self.colour()
        self.font(8.5)
        self.text(LEFT, 62, self.fit(f"Patient: {view.patient_names(statement)}", 300))
        self.facts(44, [("Statement number", statement.statement_number),
                        (view.account_label(statement), statement.account_number),
                        ("Page", f"{number} of {count}")])
        self.pdf.set_draw_color(*ACCENT)
        self.pdf.line(LEFT, 82, RIGHT, 82)
        self.pdf.set_draw_color(0, 0, 0)

    def footer(self, number: int, count: int) -> None:
        self.font(7.5)
        self.colour(MUTED)
        self.text(PAGE_W / 2, PAGE_H - 30, f"Page {number} of {count}", align="C")
        self.text(LEFT, PAGE_H - 30, f"Statement {self.statement.statement_number}")
        self.colour()

    def bill_to_and_amount_due(self) -> None:
        statement = self.statement
        top = 100.0
        self.font(7.5, bold=True)
        self.colour(MUTED)
        self.text(LEFT, top + 8, "BILL TO")
        self.colour()
        self.font(9.5, bold=True)
        self.text(LEFT, top + 21, view.bill_to_name(statement))
        self.font(9)
        y = top + 33
        for line in view.address_lines(view.bill_to_address(statement)):
            self.text(LEFT, y, line)
            y += 11
        self.font(8.5)
        family = len(statement.sections) > 1
        self.text(LEFT + 200, top + 21, "Patients:" if family else "Patient:")
        self.font(8.5, bold=True)
        self.text(LEFT + 242 if family else LEFT + 236, top + 21,
                  self.fit(view.patient_names(statement), 150))
        if statement.guarantor_name:
            self.font(8.5)
            self.text(LEFT + 200, top + 33, "Guarantor:")
            self.font(8.5, bold=True)
            self.text(LEFT + 246, top + 33, statement.guarantor_name)
        # amount due box
        self.highlight_box(top + 8, 64.0, "AMOUNT DUE", view.money(statement.balance_due),
                           f"Please pay by {view.us_date(statement.due_date)}")

    def notice_box(self, top: float, title: str, lines: list[str]) -> None:
        stage = self.statement.dunning_stage
        height = 22.0 + len(lines) * 10.5
        if stage >= 3:
            self.fill((253, 236, 234))
            self.pdf.set_draw_color(170, 40, 30)
        else:
            self.fill((235, 242, 250))
            self.pdf.set_draw_color(*ACCENT)
        self.rect(LEFT, top, WIDTH, height, style="DF")
        self.pdf.set_draw_color(0, 0, 0)
        self.font(9.5, bold=True)
        if stage >= 3:
            self.pdf.set_text_color(170, 40, 30)
        self.text(LEFT + 10, top + 14, title)
        self.colour()
        self.font(8.5)
        y = top + 27
        for line in lines:
            self.text(LEFT + 10, y, line)
            y += 10.5

    def aging_strip(self, top: float) -> None:
        aging = self.statement.aging
        labels = [*(label for _, label in view.AGING_LABELS), "Balance due"]
        values = [*(getattr(aging, field) for field, _ in view.AGING_LABELS),
                  self.statement.balance_due]
        w = WIDTH / len(labels)
        for i, (label, value) in enumerate(zip(labels, values, strict=True)):
            x = LEFT + i * w
            last = i == len(labels) - 1
            self.fill(GREY_FILL if last else (255, 255, 255))
            self.rect(x, top, w, 32, style="DF")
            self.font(7)
            self.colour(MUTED)
            self.text(x + w / 2, top + 11, label.upper(), align="C")
            self.colour()
            self.font(9.5, bold=last)
            self.text(x + w / 2, top + 25, view.money(value), align="C")

    def table_header(self, top: float) -> None:
        self.fill(ACCENT)
        self.rect(LEFT, top, WIDTH, HEADER_ROW_H, style="F")
        self.pdf.set_text_color(255, 255, 255)
        self.font(7, bold=True)
        x = LEFT
        for heading, width, align in COLUMNS:
            words = heading.split(" ", 1) if align == "R" else [heading]
            base = top + (9 if len(words) == 2 else 13.5)
            for k, word in enumerate(words):
                if align == "R":
                    self.text(x + width - ROW_PAD, base + k * 8.5, word, align="R")
                else:
                    self.text(x + ROW_PAD, base + k * 8.5, word)
            x += width
        self.colour()

    def draw_row(self, item: _Laid, top: float) -> None:
        if item.row is None:
            self.fill((221, 230, 240))
            self.rect(LEFT, top, WIDTH, item.height, style="F")
            self.font(8, bold=True)
            self.text(LEFT + ROW_PAD, top + 11, self.fit(item.heading, WIDTH - 2 * ROW_PAD))
            return
        if item.bold:
            self.fill(GREY_FILL)
            self.rect(LEFT, top, WIDTH, item.height, style="F")
            self.pdf.set_draw_color(*ACCENT)
            self.pdf.line(LEFT, top, RIGHT, top)
            self.pdf.set_draw_color(0, 0, 0)
        elif item.shaded:
            self.fill(ZEBRA_FILL)
            self.rect(LEFT, top, WIDTH, item.height, style="F")
        self.font(ROW_FONT, bold=item.bold)
        baseline = top + ROW_PAD + 6.5
        x = LEFT
        for i, lines in enumerate(item.cells):
            for k, line in enumerate(lines):
                self.text(x + ROW_PAD, baseline + k * LEADING, line)
            x += COLUMNS[i][1]
        for amount, (_, width, _) in zip(item.row.amounts(), COLUMNS[4:], strict=True):
            self.text(x + width - ROW_PAD, baseline, view.money(amount), align="R")
            x += width

    def end_block(self, y: float) -> None:
        self.pdf.set_draw_color(*ACCENT)
        self.pdf.set_line_width(1)
        self.pdf.line(LEFT, y + 2, RIGHT, y + 2)
        self.pdf.set_line_width(0.4)
        self.pdf.set_draw_color(0, 0, 0)
        self.font(10, bold=True)
        self.text(RIGHT - 80, y + 20, "Balance due", align="R")
        self.text(RIGHT - ROW_PAD, y + 20, view.money(self.statement.balance_due), align="R")
        self.font(7.5)
        self.text(LEFT, y + 20, f"Due by {view.us_date(self.statement.due_date)}")

    def coupon(self) -> None:
        statement = self.statement
        pdf = self.pdf
        top = COUPON_TOP
        self.font(7)
        self.colour(MUTED)
        self.text(PAGE_W / 2, top - 4,
                  "Please detach along the dashed line and return the lower portion with your "
                  "payment.", align="C")
        self.colour()
        pdf.set_dash_pattern(dash=4, gap=3)
        pdf.line(LEFT - 18, top, RIGHT + 18, top)
        pdf.set_dash_pattern()
        self.font(7)
        self.text(LEFT - 18, top - 4, "cut here")
        # left: who to pay, where to mail
        self.colour(ACCENT)
        self.font(11, bold=True)
        self.text(LEFT, top + 22, "PAYMENT COUPON")
        self.colour()
        self.font(8)
        self.text(LEFT, top + 36, f"Make checks payable to {statement.practice.name}.")
        self.text(LEFT, top + 47, "Write your account number on your check.")
        phone = view.phone(statement.practice)
        if statement.pay_url and statement.pay_code:
            self.font(8, bold=True)
            self.text(LEFT, top + 58, self.fit(
                f"Pay online or set up a plan at {view.pay_site(statement.pay_url)}", 275))
            self.text(LEFT, top + 69, f"Your code: {statement.pay_code}"
                      + (f"   Or call {phone}." if phone else ""))
            self.font(8)
            self.pay_qr(statement.pay_url, x=240.0, y=top + 74, size=64.0)
        elif phone:
            self.text(LEFT, top + 58, f"To pay by card or set up a payment plan, call {phone}.")
        self.font(7.5, bold=True)
        self.colour(MUTED)
        self.text(LEFT, top + 82, "MAIL PAYMENT TO")
        self.colour()
        self.font(10, bold=True)
        self.text(LEFT, top + 96, self.fit(statement.practice.name, 195))
        self.font(10)
        y = top + 109
        for line in view.address_lines(view.remit_to(statement)):
            self.text(LEFT, y, line)
            y += 12.5
        self.font(7.5)
        self.text(LEFT, top + COUPON_H - 8,
                  self.fit(f"Patient: {view.patient_names(statement)}", 300))
        # right: the boxes
        x, label_w, value_w, row_h = 318.0, 104.0, RIGHT - 318.0 - 104.0, 22.0
        pairs = [(view.account_label(statement), statement.account_number),
                 ("Statement number", statement.statement_number),
                 ("Due date", view.us_date(statement.due_date)),
                 ("Amount due", view.money(statement.balance_due))]
        y = top + 12
        for label, value in pairs:
            self.fill(GREY_FILL)
            self.rect(x, y, label_w, row_h, style="DF")
            self.rect(x + label_w, y, value_w, row_h, style="D")
            self.font(8)
            self.text(x + 6, y + 14, label)
            self.font(10, bold=True)
            self.text(x + label_w + value_w - 8, y + 15, value, align="R")
            y += row_h
        y += 10
        self.fill(GREY_FILL)
        self.rect(x, y, label_w, 30, style="DF")
        pdf.set_line_width(1.2)
        self.rect(x + label_w, y, value_w, 30, style="D")
        pdf.set_line_width(0.4)
        self.font(8, bold=True)
        self.text(x + 6, y + 13, "Amount enclosed")
        self.font(6.5)
        self.text(x + 6, y + 23, "(write the amount you send)")
        self.font(12, bold=True)
        self.text(x + label_w + 8, y + 20, "$")


    def pay_qr(self, url: str, *, x: float, y: float, size: float) -> None:
        """The pay link as a QR code (segno's matrix, made faster: see
        :mod:`.qr`; each dark module a filled square), with a quiet zone of white around it
        as scanners need."""
        from medbill_statements_pdf.qr import qr_rows

        rows = qr_rows(url)
        self.fill((0, 0, 0))
        self.fill_grid(x, y, size / len(rows), rows)
        self.fill(GREY_FILL)
        self.font(6.5)
        self.text(x + size / 2, y + size + 8, "Scan to pay", align="C")


class PdfStatementRenderer(PluginStatementRenderer):
    """Itemized PDF statement; switches to summary mode past ``summary_after_lines`` (settings)."""

    identifier = "pdf"
    verbose_name = "PDF statement with payment coupon"
    media_type = "application/pdf"
    file_extension = "pdf"

    def wants_summary(self, statement: Statement) -> bool:
        threshold = self.settings.summary_after_lines
        return self.summary or (threshold is not None and len(statement.lines) > threshold)

    def render(self, statement: Statement) -> RenderedDocument:
        with render_errors(f"statement {statement.statement_number}"):
            content, pages = _Builder(statement, self.settings,
                                      self.wants_summary(statement)).build()
        return self.document(statement, content, pages)


    def render_estimate(self, estimate: CostEstimate) -> RenderedDocument:
        """A cost estimate, or a Good Faith Estimate without insurance (see :mod:`.estimate`)."""
        from medbill_statements_pdf.estimate import render_estimate_pdf

        return render_estimate_pdf(estimate, self.settings, renderer=self.identifier)


class PdfSummaryStatementRenderer(PdfStatementRenderer):
    """PDF statement with one row per claim (its totals) instead of one per service."""

    identifier = "pdf-summary"
    verbose_name = "PDF summary statement (one row per claim) with payment coupon"
    summary = True
