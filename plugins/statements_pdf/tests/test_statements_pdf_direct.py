"""The canvas writes Helvetica text, fonts and fill colours straight into fpdf's page and
state, and the file from fpdf's pages (:mod:`medbill_statements_pdf.pdffile`), the PDF
renderer's hot path: every document must come out byte for byte as fpdf's own methods and
``FPDF.output`` write it (an fpdf release that changes them fails here, not in a reader's
hands)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from medbill_statements_pdf import canvas
from medbill_statements_pdf.pdf import PdfStatementRenderer, PdfSummaryStatementRenderer
from medbill_statements_pdf.samples import STATEMENT_DATE, sample_estimate, sample_statement

from medbill_core.api import StatementLine
from medbill_core.api.testing import factories

ODD = [StatementLine(service_date=STATEMENT_DATE - timedelta(days=3), claim_number="C(1)\\x",
                     procedure_code="99213",
                     description="Zoë “quoted” — Łódź (paren) back\\slash\r" + "longword" * 9,
                     charge=Decimal("1.00"), balance=Decimal("1.00"))]


def documents() -> list[tuple[str, Any]]:
    docs: list[tuple[str, Any]] = [(f"stage {k}", sample_statement(dunning_stage=k))
                                   for k in range(5)]
    docs += [("5 pages", sample_statement(120, dunning_stage=2)),
             ("no lines", sample_statement([], dunning_stage=0)),
             ("odd text", sample_statement(ODD, patient=factories.make_patient(
                 9, first_name="Zoë", last_name="Ñandú-Łukasz (Jr)"), guarantor_name="Ĳ “x”"))]
    return docs


def rendered() -> list[bytes]:
    out = []
    for renderer in (PdfStatementRenderer(), PdfSummaryStatementRenderer()):
        out += [renderer.render(statement).content for _, statement in documents()]
        out += [renderer.render_estimate(sample_estimate(**options)).content
                for options in ({}, {"self_pay": True}, {"services": 40})]
    return out


def test_direct_drawing_writes_what_fpdf_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    direct = rendered()
    monkeypatch.setattr(canvas, "DIRECT", False)
    assert rendered() == direct


def test_documents_in_the_built_in_fonts_are_written_without_fpdf_output(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast path is taken (an fpdf release whose state it no longer recognises would fall
    back to ``FPDF.output`` silently: same bytes, a third slower)."""
    from fpdf import FPDF

    def refused(self: FPDF, *args: object, **kwargs: object) -> bytearray:
        raise AssertionError("FPDF.output was called")

    monkeypatch.setattr(FPDF, "output", refused)
    documents = rendered()
    assert len(documents) == 22 and all(
        content.startswith(b"%PDF-1.4\n") and content.endswith(b"%%EOF\n")
        for content in documents)
