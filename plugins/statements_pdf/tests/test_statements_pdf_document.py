"""The PDF statement: text extracted with pypdf shows the statement's own amounts, in order."""

from __future__ import annotations

import copy
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from medbill_statements_pdf.pdf import (
    PdfStatementRenderer,
    PdfSummaryStatementRenderer,
    StatementRenderError,
    latin1,
)
from medbill_statements_pdf.samples import sample_statement
from medbill_statements_pdf.settings import StatementsPdfSettings
from medbill_statements_pdf.view import DUNNING_NOTICES, money, summary_rows
from pypdf import PdfReader

from medbill_core.api import Statement, StatementLine, total

AMOUNT = r"-?\$[\d,]+\.\d{2}"
ROW_AMOUNTS = re.compile(rf"({AMOUNT}) ({AMOUNT}) ({AMOUNT}) ({AMOUNT}) ({AMOUNT})$", re.M)
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def pages_text(content: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(content)).pages]


def to_decimal(text: str) -> Decimal:
    return Decimal(text.replace("$", "").replace(",", ""))


def printed_rows(text: str) -> list[tuple[Decimal, ...]]:
    """The five amounts (charge, insurance paid, adjusted, you paid, balance) of each table row."""
    return [tuple(to_decimal(a) for a in match.groups()) for match in ROW_AMOUNTS.finditer(text)]


def line_amounts(line: StatementLine) -> tuple[Decimal, ...]:
    return (line.charge, line.insurance_paid, line.insurance_adjusted, line.patient_paid,
            line.balance)


def statement_amounts(statement: Statement) -> set[Decimal]:
    """Every amount a detail statement may print."""
    amounts = {a for line in statement.lines for a in line_amounts(line)}
    aging = statement.aging
    return amounts | {statement.balance_due, aging.current, aging.days_30, aging.days_60,
                      aging.days_90_plus}


def test_every_line_is_printed_with_the_statements_amounts(statement: Statement) -> None:
    document = PdfStatementRenderer().render(statement)
    text = "\n".join(pages_text(document.content))
    assert printed_rows(text) == [line_amounts(line) for line in statement.lines]
    for line in statement.lines:
        assert line.service_date.strftime("%m/%d/%Y") in text
        assert line.description in " ".join(text.split())  # rows wrap long descriptions
        if line.procedure_code:
            assert line.procedure_code in text


def test_balance_due_is_the_statements_and_the_sum_of_line_balances(
        statement: Statement) -> None:
    text = "\n".join(pages_text(PdfStatementRenderer().render(statement).content))
    due = money(statement.balance_due)
    assert statement.balance_due == total(line.balance for line in statement.lines)
    assert f"AMOUNT DUE\n{due}" in text
    assert f"Balance due {due}" in text
    assert f"Amount due {due}" in text  # the coupon
    assert f"BALANCE DUE\n{due}" in text  # the aging strip


def test_no_amount_is_printed_that_the_statement_does_not_carry(statement: Statement) -> None:
    text = "\n".join(pages_text(PdfStatementRenderer().render(statement).content))
    printed = {to_decimal(a) for a in re.findall(AMOUNT, text)}
    assert printed <= statement_amounts(statement)


def test_aging_buckets(statement: Statement) -> None:
    text = pages_text(PdfStatementRenderer().render(statement).content)[0]
    aging = statement.aging
    for label, amount in [("CURRENT", aging.current), ("31-60 DAYS", aging.days_30),
                          ("61-90 DAYS", aging.days_60), ("91+ DAYS", aging.days_90_plus)]:
        assert f"{label}\n{money(amount)}" in text


def test_header_parties_and_coupon(statement: Statement) -> None:
    text = pages_text(PdfStatementRenderer().render(statement).content)[0]
    for expected in ["Riverside Family Medicine", "2200 River Road, Suite 300",
                     "Billing questions: (217) 555-0142",
                     "Statement date 03/15/2024", "Statement number S24-000123",
                     "Account number A00007", "Please pay by 04/14/2024",
                     "Casey Sample\n48 Maple Avenue\nApt 2B\nSpringfield, IL 62701",
                     "Patient: Jordan Sample", "Guarantor: Casey Sample",
                     # the coupon
                     "PAYMENT COUPON", "MAIL PAYMENT TO\nRiverside Family Medicine\nPO Box 4410\n"
                     "Springfield, IL 62708-4410", "Due date 04/14/2024", "Amount enclosed",
                     "detach"]:
        assert expected in text, expected


def test_remit_to_falls_back_to_the_practice_address() -> None:
    statement = sample_statement(remit_to=None)
    text = pages_text(PdfStatementRenderer().render(statement).content)[0]
    assert "MAIL PAYMENT TO\nRiverside Family Medicine\n2200 River Road, Suite 300" in text


@pytest.mark.parametrize("stage", range(5))
def test_message_by_dunning_stage(stage: int) -> None:
    statement = sample_statement(dunning_stage=stage, message="Our office moves on May 1.")
    text = pages_text(PdfStatementRenderer().render(statement).content)[0]
    title, message = DUNNING_NOTICES[stage]
    assert title in text
    assert " ".join(message.split()[:6]) in text
    assert "Our office moves on May 1." in text
    others = [DUNNING_NOTICES[s][0] for s in range(5) if s != stage]
    assert not any(f"\n{other}\n" in text for other in others)


def test_settings_replace_a_dunning_message() -> None:
    settings = StatementsPdfSettings(dunning_messages={4: "Please call Pat at the front desk."})
    text = pages_text(PdfStatementRenderer(settings).render(
        sample_statement(dunning_stage=4)).content)[0]
    assert "FINAL NOTICE\nPlease call Pat at the front desk." in text


def test_long_history_flows_onto_numbered_pages_with_repeated_headers(
        long_statement: Statement) -> None:
    document = PdfStatementRenderer().render(long_statement)
    texts = pages_text(document.content)
    count = len(texts)
    assert count >= 3 and document.pages == count
    for number, text in enumerate(texts, start=1):
        assert f"Page {number} of {count}" in text
        assert "Statement number S24-000123" in text
        assert "Date Claim Code Description Charge" in text  # the table header again
        assert ("Amount enclosed" in text) == (number == 1)  # the coupon is on page 1 only
        if number < count:
            assert f"Continued on page {number + 1}" in text
    everything = "\n".join(texts)
    assert printed_rows(everything) == [line_amounts(line) for line in long_statement.lines]
    for index in range(1, len(long_statement.lines) + 1):
        assert len(re.findall(rf"#{index}\b", everything)) == 1, f"line {index}"
    assert f"Balance due {money(long_statement.balance_due)}" in texts[-1]
    assert {to_decimal(a) for a in re.findall(AMOUNT, everything)} <= statement_amounts(
        long_statement)


def test_summary_mode_collapses_to_claim_totals_that_equal_the_statement(
        long_statement: Statement) -> None:
    document = PdfSummaryStatementRenderer().render(long_statement)
    detail = PdfStatementRenderer().render(long_statement)
    assert document.renderer == "pdf-summary"
    assert document.pages < detail.pages
    text = "\n".join(pages_text(document.content))
    rows = printed_rows(text)
    claims = {line.claim_number for line in long_statement.lines}
    assert len(rows) == len(claims) + 1  # one per claim, then the totals
    *claim_rows, totals = rows
    lines = long_statement.lines
    expected_totals = tuple(total(line_amounts(line)[i] for line in lines) for i in range(5))
    assert totals == expected_totals
    assert tuple(total(row[i] for row in claim_rows) for i in range(5)) == expected_totals
    assert totals[4] == long_statement.balance_due
    assert f"Totals of all claims {' '.join(money(a) for a in expected_totals)}" in text
    assert f"Balance due {money(long_statement.balance_due)}" in text
    for row, claim in zip(claim_rows, summary_rows(long_statement), strict=True):
        assert row == claim.amounts()


def test_summary_keeps_lines_without_a_claim_as_their_own_rows(statement: Statement) -> None:
    text = "\n".join(pages_text(PdfSummaryStatementRenderer().render(statement).content))
    rows = printed_rows(text)
    assert len(rows) == 3 + 1 + 1  # three claims, the payment, the totals
    assert (Decimal("0.00"), Decimal("0.00"), Decimal("0.00"), Decimal("20.00"),
            Decimal("-20.00")) in rows
    assert rows[-1][4] == statement.balance_due


def test_pdf_switches_to_summary_past_the_configured_number_of_lines(
        statement: Statement) -> None:
    renderer = PdfStatementRenderer(StatementsPdfSettings(summary_after_lines=5))
    assert "Totals of all claims" in "\n".join(pages_text(renderer.render(statement).content))
    short = sample_statement(lines=3)
    assert "Totals of all claims" not in "\n".join(pages_text(renderer.render(short).content))


def test_credit_balance_prints_as_a_credit() -> None:
    line = StatementLine(service_date="2024-03-01", description="Overpayment on account",
                         patient_paid="50.00", balance="-50.00")
    statement = sample_statement(lines=[line], balance_due="-50.00")
    text = pages_text(PdfStatementRenderer().render(statement).content)[0]
    assert "AMOUNT DUE\n-$50.00" in text


def test_statement_without_activity() -> None:
    statement = sample_statement(lines=[], balance_due="0.00")
    document = PdfStatementRenderer().render(statement)
    assert document.pages == 1
    assert "No account activity since your last statement." in pages_text(document.content)[0]


def test_names_outside_latin1_are_transliterated_with_the_builtin_font() -> None:
    statement = sample_statement(guarantor_name="Łukasz Nguyễn", lines=[StatementLine(
        service_date="2024-03-01", claim_number="C1", procedure_code="99213",
        description="Visit – follow-up “annual”", charge="100.00", balance="100.00")],
        balance_due="100.00")
    text = pages_text(PdfStatementRenderer().render(statement).content)[0]
    assert "Lukasz Nguyen" in text
    assert 'Visit - follow-up "annual"' in text
    assert latin1("Zoë Ωmega") == "Zoë ?mega"


@pytest.mark.skipif(not DEJAVU.is_file(), reason="DejaVu Sans is not installed")
def test_a_truetype_font_from_settings_keeps_every_character() -> None:
    settings = StatementsPdfSettings(font_path=DEJAVU)
    statement = sample_statement(guarantor_name="Łukasz Nguyễn")
    text = pages_text(PdfStatementRenderer(settings).render(statement).content)[0]
    assert "Łukasz Nguyễn" in text
    assert f"AMOUNT DUE\n{money(statement.balance_due)}" in text


def test_a_broken_font_is_a_domain_error_naming_the_statement_not_the_patient(
        tmp_path: Path, statement: Statement) -> None:
    bogus = tmp_path / "font.ttf"
    bogus.write_bytes(b"not a font")
    renderer = PdfStatementRenderer(StatementsPdfSettings(font_path=bogus))
    with pytest.raises(StatementRenderError) as caught:
        renderer.render(statement)
    message = str(caught.value)
    assert "S24-000123" in message
    assert "Sample" not in message and "Jordan" not in message


def test_rendering_is_deterministic_and_leaves_the_statement_alone(
        statement: Statement) -> None:
    before = copy.deepcopy(statement)
    first = PdfStatementRenderer().render(statement)
    assert statement == before
    assert PdfStatementRenderer().render(statement).content == first.content


def test_file_name_is_the_statement_number_only() -> None:
    statement = sample_statement(statement_number="2024/03 #77")
    document = PdfStatementRenderer().render(statement)
    assert document.filename == "statement-2024_03_77.pdf"
    metadata = PdfReader(io.BytesIO(document.content)).metadata
    assert "Sample" not in str(dict(metadata or {}))
