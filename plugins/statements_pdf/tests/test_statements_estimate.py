"""The cost-estimate / good-faith-estimate PDF: the core estimate's amounts, and the notices."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from medbill_statements_pdf.estimate import DISPUTE_THRESHOLD, render_estimate_pdf
from medbill_statements_pdf.pdf import PdfStatementRenderer
from medbill_statements_pdf.samples import sample_estimate
from medbill_statements_pdf.view import money
from pypdf import PdfReader

from medbill_core.api import CostEstimate, MedbillConfig, ValidationFailed
from medbill_core.api.testing import PluginHooks

AMOUNT = r"-?\$[\d,]+\.\d{2}"
FIELDS = ("charge", "allowed", "copay", "deductible", "coinsurance", "patient_owes", "plan_pays")


def pages_text(content: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(content)).pages]


def to_decimal(text: str) -> Decimal:
    return Decimal(text.replace("$", "").replace(",", ""))


def estimate_amounts(estimate: CostEstimate) -> set[Decimal]:
    amounts = {estimate.total_charge, estimate.total_allowed, estimate.patient_total,
               estimate.plan_total}
    for service in estimate.services:
        amounts |= {getattr(service, field) for field in FIELDS}
    if estimate.benefits is not None:
        benefits = estimate.benefits
        amounts |= {a for a in (benefits.copay, benefits.deductible, benefits.out_of_pocket,
                                benefits.deductible_remaining,
                                benefits.out_of_pocket_remaining) if a is not None}
    return amounts


def test_insured_estimate_prints_the_estimates_amounts() -> None:
    estimate = sample_estimate()
    document = PdfStatementRenderer().render_estimate(estimate)
    assert document.pages == 1 and document.filename == "estimate-E24-000042.pdf"
    assert document.renderer == "pdf" and document.media_type == "application/pdf"
    text = pages_text(document.content)[0]
    for service in estimate.services:
        row = " ".join(money(getattr(service, field)) for field in FIELDS)
        assert f"{service.procedure_code} {row}" in text
    assert f"YOUR ESTIMATED COST\n{money(estimate.patient_total)}" in text
    assert (f"Estimated totals {money(estimate.total_charge)} {money(estimate.total_allowed)} "
            f"{money(estimate.patient_total)} {money(estimate.plan_total)}") in text
    for expected in ["Cost Estimate", "Acme Health Plan", "Copay per visit $30.00",
                     "Coinsurance 20%", "Deductible remaining before this visit $20.00",
                     "Out-of-pocket maximum remaining before this visit $1,850.00",
                     "Date of birth: 01/08/1980", "NPI 1234567893", "TIN 12-3456789",
                     "Date of service 03/18/2024", "not a guarantee", estimate.notes[-1]]:
        assert expected in " ".join(text.split()), expected
    assert "Good Faith Estimate" not in text
    assert {to_decimal(a) for a in re.findall(AMOUNT, text)} <= estimate_amounts(estimate)


def test_self_pay_estimate_is_a_good_faith_estimate_with_its_notice() -> None:
    estimate = sample_estimate(self_pay=True)
    text = " ".join(pages_text(render_estimate_pdf(estimate).content)[0].split())
    for expected in ["Good Faith Estimate", "Self-pay: no insurance will be billed",
                     "at least $400 more than this Good Faith Estimate", "not a contract",
                     "120 calendar days", "Date of birth: 01/08/1980", "self-pay discount",
                     f"YOUR ESTIMATED COST {money(estimate.patient_total)}"]:
        assert expected in text, expected
    for service in estimate.services:
        assert (f"{service.procedure_code} {money(service.charge)} "
                f"{money(service.patient_owes)}") in text
    assert "Plan allowed" not in text and "Copay" not in text
    printed = {to_decimal(a) for a in re.findall(AMOUNT, text)}
    assert printed <= estimate_amounts(estimate) | {DISPUTE_THRESHOLD}


def test_long_estimate_flows_onto_numbered_pages() -> None:
    estimate = sample_estimate(services=70)
    document = render_estimate_pdf(estimate)
    texts = pages_text(document.content)
    count = len(texts)
    assert count >= 2 and document.pages == count
    for number, text in enumerate(texts, start=1):
        assert f"Page {number} of {count}" in text
        if "Estimated totals" in text or re.search(r"^\d{5}", text, re.M):
            assert "Service Charge" in text.replace("\n", " ")  # the table header again
    everything = "\n".join(texts)
    rows = re.findall(rf"^(\d{{5}}(?:-59)?) ({AMOUNT})", everything, re.M)
    assert [(code, to_decimal(charge)) for code, charge in rows] == [
        ("-".join([s.procedure_code, *s.modifiers]), s.charge) for s in estimate.services]


def test_an_estimate_that_does_not_add_up_is_refused() -> None:
    estimate = sample_estimate()
    broken = estimate.model_copy(update={"patient_total": Decimal("1.00")})
    with pytest.raises(ValidationFailed) as caught:
        render_estimate_pdf(broken)
    message = str(caught.value)
    assert "E24-000042" in message and "patient_total" in message
    assert "Sample" not in message


def test_estimate_through_the_hook_and_deterministic() -> None:
    hooks = PluginHooks.start(MedbillConfig(plugins=["statements_pdf"]))
    estimate = sample_estimate(estimate_number="E/24 7")
    first = hooks.render_estimate(estimate=estimate, renderer="pdf")
    assert first.filename == "estimate-E_24_7.pdf"
    assert hooks.render_estimate(estimate=estimate, renderer="pdf").content == first.content
    assert hooks.context.renderers["pdf"].supports_estimates()
    assert not hooks.context.renderers["text"].supports_estimates()


def test_the_coinsurance_column_is_headed_with_the_rate_as_a_percentage() -> None:
    """The column holds dollars; its heading says which share of the allowed amount they are
    (12.5%, never 0.125), as the benefits block below does."""
    estimate = sample_estimate()
    assert estimate.benefits is not None
    estimate = estimate.model_copy(update={"benefits": estimate.benefits.model_copy(
        update={"coinsurance": Decimal("0.125")})})
    text = pages_text(render_estimate_pdf(estimate).content)[0]
    header = text[:text.index(estimate.services[0].procedure_code + " ")]
    assert "Coinsurance 12.5%" in " ".join(header.split())  # the column heading
    assert "Coinsurance 12.5%" in " ".join(text[len(header):].split())  # the benefits block
    assert "0.125" not in text
    self_pay = " ".join(pages_text(render_estimate_pdf(sample_estimate(self_pay=True))
                                   .content)[0].split())
    assert "%" not in self_pay.split("Your estimate")[0]  # no rate without a plan
