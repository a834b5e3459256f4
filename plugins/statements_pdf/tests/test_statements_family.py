"""Guarantor and family statements in every renderer: the bill goes to the guarantor's name
and address, each patient of a family gets a section, and each line says why the patient
owes."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from medbill_statements_pdf.htmldoc import HtmlStatementRenderer
from medbill_statements_pdf.pdf import PdfStatementRenderer, PdfSummaryStatementRenderer
from medbill_statements_pdf.plaintext import TextStatementRenderer
from medbill_statements_pdf.samples import STATEMENT_DATE, sample_statement
from medbill_statements_pdf.settings import StatementsPdfSettings
from pypdf import PdfReader

from medbill_core.api import Guarantor, OweReason, StatementLine, StatementSection
from medbill_core.api.testing import factories

D = Decimal


def family_statement() -> object:
    day = STATEMENT_DATE - timedelta(days=12)
    kids = [factories.make_patient(n, first_name=first, last_name="Sample")
            for n, first in ((21, "Robin"), (22, "Casey"))]
    first = [StatementLine(service_date=day, claim_number="CLM21", procedure_code="99213",
                           description="Office visit", charge=D("120.00"),
                           insurance_paid=D("60.00"), insurance_adjusted=D("25.00"),
                           balance=D("35.00"),
                           why=[OweReason(reason="Deductible", amount=D("20.00")),
                                OweReason(reason="Copay", amount=D("15.00"))])]
    second = [StatementLine(service_date=day, claim_number="CLM22", procedure_code="J3301",
                            description="Injection, triamcinolone acetonide", charge=D("40.00"),
                            balance=D("40.00"),
                            why=[OweReason(reason="Not covered by your plan",
                                           amount=D("40.00"))])]
    guarantor = Guarantor(last_name="Sample", first_name="Dana", address=factories.make_address(
        line1="9 Guarantor Way", city="Chatham", state="IL", postal_code="62629"))
    return sample_statement(
        lines=first + second, guarantor_name="Dana Sample", guarantor=guarantor,
        patient=kids[0], account_number=kids[0].account_number,
        sections=[StatementSection(patient=kid, account_number=kid.account_number, lines=lines,
                                   balance_due=sum((x.balance for x in lines), D("0.00")))
                  for kid, lines in zip(kids, (first, second), strict=True)])


def pdf_text(renderer: object, statement: object) -> str:
    content = renderer.render(statement).content  # type: ignore[attr-defined]
    return " ".join(" ".join(page.extract_text().split())
                    for page in PdfReader(io.BytesIO(content)).pages)


@pytest.mark.parametrize("renderer_type", [PdfStatementRenderer, PdfSummaryStatementRenderer])
def test_pdf_bills_the_guarantor_with_a_section_per_patient(renderer_type: type) -> None:
    text = pdf_text(renderer_type(StatementsPdfSettings()), family_statement())
    assert "BILL TO Dana Sample 9 Guarantor Way Chatham, IL 62629" in text
    assert "48 Maple Avenue" not in text  # never the child's own address on a guarantor bill
    robin = text.index("Patient: Robin Sample (account A00021), balance $35.00")
    casey = text.index("Patient: Casey Sample (account A00022), balance $40.00")
    assert robin < text.index("Why you owe: Deductible $20.00; Copay $15.00") < casey
    assert casey < text.index("Why you owe: Not covered by your plan $40.00")
    assert "Patients: Robin Sample, Casey Sample" in text


def test_text_and_html_bill_the_guarantor_with_sections() -> None:
    settings = StatementsPdfSettings()
    statement = family_statement()
    text = TextStatementRenderer(settings).render(statement).content.decode()
    assert "BILL TO\n  Dana Sample\n  9 Guarantor Way\n  Chatham, IL 62629\n" in text
    assert text.index("PATIENT: ROBIN SAMPLE") < text.index("Why you owe: Deductible $20.00") \
        < text.index("PATIENT: CASEY SAMPLE")
    page = HtmlStatementRenderer(settings).render(statement).content.decode()
    assert '<address class="bill-to">Dana Sample<br>9 Guarantor Way<br>Chatham, IL 62629' in page
    assert page.count('<tr class="section">') == 2
    assert '<span class="why">Why you owe: Not covered by your plan $40.00</span>' in page
