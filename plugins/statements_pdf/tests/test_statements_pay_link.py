"""The pay link on the PDF statement's coupon: the short address and the code a patient types
from paper, read back out of the PDF, and its QR code drawn beside the mail-to address."""

from __future__ import annotations

import io

import segno
from medbill_statements_pdf.pdf import PdfStatementRenderer
from medbill_statements_pdf.view import pay_site
from pypdf import PdfReader

from medbill_core.api import Statement

URL = "https://pay.example.org/pay?code=K7QM-4XPD-R2WA"


def first_page(content: bytes) -> str:
    return PdfReader(io.BytesIO(content)).pages[0].extract_text()


def test_the_coupon_prints_the_short_link_and_the_code(statement: Statement) -> None:
    linked = statement.model_copy(update={"pay_url": URL, "pay_code": "K7QM-4XPD-R2WA"})
    text = first_page(PdfStatementRenderer().render(linked).content)
    assert "Pay online or set up a plan at pay.example.org/pay\n" in text
    assert "Your code: K7QM-4XPD-R2WA Or call (217) 555-0142." in " ".join(text.split())
    assert "Scan to pay" in text
    # the phone-only sentence gives way to the link
    assert "To pay by card or set up a payment plan, call" not in text


def test_the_qr_code_is_drawn_module_by_module(statement: Statement) -> None:
    plain = PdfStatementRenderer().render(statement).content
    linked = PdfStatementRenderer().render(statement.model_copy(
        update={"pay_url": URL, "pay_code": "K7QM-4XPD-R2WA"})).content
    page = PdfReader(io.BytesIO(linked)).pages[0].get_contents()
    assert page is not None
    # each run of dark modules is one filled rectangle ("re" then "f"): as many as the
    # matrix has runs, none of them in the statement without a link
    runs = 0
    for row in segno.make(URL, error="m").matrix_iter(border=0):
        previous = False
        for dark in row:
            runs += bool(dark and not previous)
            previous = bool(dark)
    plain_page = PdfReader(io.BytesIO(plain)).pages[0].get_contents()
    assert plain_page is not None
    filled = page.get_data().count(b" re f") - plain_page.get_data().count(b" re f")
    assert filled == runs


def test_without_a_link_the_coupon_gives_the_phone(statement: Statement) -> None:
    text = first_page(PdfStatementRenderer().render(statement).content)
    assert "To pay by card or set up a payment plan, call (217) 555-0142." in text
    assert "Pay online" not in text


def test_the_printed_site_drops_the_scheme_and_the_code() -> None:
    assert pay_site(URL) == "pay.example.org/pay"
    assert pay_site("http://127.0.0.1:8080/pay?code=X") == "127.0.0.1:8080/pay"


def test_the_html_and_text_statements_carry_the_link_too(statement: Statement) -> None:
    from medbill_statements_pdf.htmldoc import HtmlStatementRenderer
    from medbill_statements_pdf.plaintext import TextStatementRenderer

    linked = statement.model_copy(update={"pay_url": URL, "pay_code": "K7QM-4XPD-R2WA"})
    html = HtmlStatementRenderer().render(linked).content.decode()
    assert ('<a href="https://pay.example.org/pay?code=K7QM-4XPD-R2WA">pay.example.org/pay</a>'
            ", your code: <strong>K7QM-4XPD-R2WA</strong>") in html
    text = TextStatementRenderer().render(linked).content.decode()
    assert "Pay online or set up a plan at pay.example.org/pay, your code: K7QM-4XPD-R2WA" \
        in text
    assert "Pay online" not in TextStatementRenderer().render(statement).content.decode()
