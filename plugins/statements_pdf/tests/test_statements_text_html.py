"""The plain-text and HTML statements: same figures as the statement, HTML escaped."""

from __future__ import annotations

import html
import re
from decimal import Decimal
from html.parser import HTMLParser

from medbill_statements_pdf.htmldoc import HtmlStatementRenderer
from medbill_statements_pdf.plaintext import TextStatementRenderer
from medbill_statements_pdf.samples import sample_statement
from medbill_statements_pdf.settings import StatementsPdfSettings
from medbill_statements_pdf.view import DUNNING_NOTICES, money

from medbill_core.api import Statement, StatementLine, total

AMOUNT = r"-?\$[\d,]+\.\d{2}"
ROW = re.compile(rf"Charge ({AMOUNT}) \| Insurance paid ({AMOUNT}) \| Insurance adjusted "
                 rf"({AMOUNT}) \| You paid ({AMOUNT}) \| Balance ({AMOUNT})")


def text_rows(text: str) -> list[tuple[Decimal, ...]]:
    flat = " ".join(text.split())  # amounts wrap at 72 columns
    return [tuple(to_decimal(a) for a in m.groups()) for m in ROW.finditer(flat)]


def to_decimal(text: str) -> Decimal:
    return Decimal(text.replace("$", "").replace(",", ""))


def line_amounts(line: StatementLine) -> tuple[Decimal, ...]:
    return (line.charge, line.insurance_paid, line.insurance_adjusted, line.patient_paid,
            line.balance)


class _Cells(HTMLParser):
    """Rows of ``td.amount`` cells, per table section."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str, list[str]]] = []
        self.section = ""
        self.in_amount = False
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("thead", "tbody", "tfoot"):
            self.section = tag
        elif tag == "tr":
            self.rows.append((self.section, []))
        elif tag == "td" and ("class", "amount") in attrs:
            self.in_amount = True
        elif tag == "script":
            self.scripts += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self.in_amount = False

    def handle_data(self, data: str) -> None:
        if self.in_amount:
            self.rows[-1][1].append(data)


def test_text_shows_every_line_and_the_balance(statement: Statement) -> None:
    text = TextStatementRenderer().render(statement).content.decode("utf-8")
    rows = text_rows(text)
    assert rows == [line_amounts(line) for line in statement.lines]
    assert statement.balance_due == total(line.balance for line in statement.lines)
    assert f"AMOUNT DUE: {money(statement.balance_due)}, please pay by 04/14/2024" in text
    assert f"BALANCE DUE: {money(statement.balance_due)}" in text
    assert f"91+ days     {money(statement.aging.days_90_plus):>14}" in text
    assert "PO Box 4410\n    Springfield, IL 62708-4410" in text
    assert "Account number:    A00007" in text
    assert all(len(line) <= 72 for line in text.splitlines())
    printed = {to_decimal(a) for a in re.findall(AMOUNT, text)}
    aging = statement.aging
    allowed = {a for line in statement.lines for a in line_amounts(line)} | {
        statement.balance_due, aging.current, aging.days_30, aging.days_60, aging.days_90_plus}
    assert printed <= allowed


def test_text_notice_follows_the_dunning_stage_and_settings() -> None:
    for stage in range(5):
        text = TextStatementRenderer().render(
            sample_statement(dunning_stage=stage)).content.decode()
        assert DUNNING_NOTICES[stage][0].upper() in text
    settings = StatementsPdfSettings(dunning_messages={0: "Thanks for visiting us."})
    text = TextStatementRenderer(settings).render(
        sample_statement(dunning_stage=0)).content.decode()
    assert "THANK YOU\nThanks for visiting us." in text


def test_text_summary_totals_equal_the_statement(long_statement: Statement) -> None:
    renderer = TextStatementRenderer()
    renderer.summary = True
    text = renderer.render(long_statement).content.decode()
    rows = text_rows(text)
    *claims, totals = rows
    expected = tuple(total(line_amounts(line)[i] for line in long_statement.lines)
                     for i in range(5))
    assert totals == expected and totals[4] == long_statement.balance_due
    assert tuple(total(row[i] for row in claims) for i in range(5)) == expected


def test_text_strips_control_characters() -> None:
    line = StatementLine(service_date="2024-03-01", description="Visit\x1b[31m red\x00",
                         charge="10.00", balance="10.00")
    text = TextStatementRenderer().render(
        sample_statement(lines=[line])).content.decode()
    assert "\x1b" not in text and "\x00" not in text
    assert "Visit [31m red" in text


def test_html_amounts_are_the_statements(statement: Statement) -> None:
    page = HtmlStatementRenderer().render(statement).content.decode("utf-8")
    parser = _Cells()
    parser.feed(page)
    body = [tuple(to_decimal(c) for c in cells) for section, cells in parser.rows
            if section == "tbody" and len(cells) == 5]
    assert body == [line_amounts(line) for line in statement.lines]
    footer = [cells for section, cells in parser.rows if section == "tfoot"]
    assert footer == [[money(statement.balance_due)]]
    aging = [cells for section, cells in parser.rows if section == "tbody" and len(cells) == 4]
    assert aging == [[money(statement.aging.current), money(statement.aging.days_30),
                      money(statement.aging.days_60), money(statement.aging.days_90_plus)]]
    assert "Please pay by 04/14/2024" in page


def test_html_escapes_what_it_prints() -> None:
    hostile = '<script>alert("pwned")</script> & <b onmouseover=x>'
    line = StatementLine(service_date="2024-03-01", claim_number="C1", description=hostile,
                         charge="10.00", balance="10.00")
    statement = sample_statement(lines=[line], guarantor_name='Pat "<i>" O\'Neil',
                                 message="<img src=x onerror=alert(1)>")
    page = HtmlStatementRenderer().render(statement).content.decode()
    assert "<script" not in page.lower()
    assert "<img" not in page and "<b " not in page and "<i>" not in page
    assert html.escape(hostile, quote=True) in page
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;" in page
    assert "Pat &quot;&lt;i&gt;&quot; O&#x27;Neil" in page
    parser = _Cells()
    parser.feed(page)
    assert parser.scripts == 0


def test_html_summary_has_a_totals_row(long_statement: Statement) -> None:
    renderer = HtmlStatementRenderer()
    renderer.summary = True
    parser = _Cells()
    parser.feed(renderer.render(long_statement).content.decode())
    footer = [cells for section, cells in parser.rows if section == "tfoot"]
    totals = tuple(total(line_amounts(line)[i] for line in long_statement.lines)
                   for i in range(5))
    assert footer == [[money(a) for a in totals], [money(long_statement.balance_due)]]


def test_html_loads_nothing_from_elsewhere(statement: Statement) -> None:
    page = HtmlStatementRenderer().render(statement).content.decode()
    assert "http" not in page and "src=" not in page and "<link" not in page
