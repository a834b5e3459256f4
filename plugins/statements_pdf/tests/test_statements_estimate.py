"""The cost-estimate / good-faith-estimate PDF: amounts are the estimate's, notices are there."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from medbill_statements_pdf.estimate import (
    DISPUTE_THRESHOLD,
    CostEstimate,
    EstimateLine,
    render_estimate_pdf,
)
from medbill_statements_pdf.samples import sample_estimate
from medbill_statements_pdf.view import money
from pydantic import ValidationError
from pypdf import PdfReader

AMOUNT = r"-?\$[\d,]+\.\d{2}"


def pages_text(content: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(content)).pages]


def to_decimal(text: str) -> Decimal:
    return Decimal(text.replace("$", "").replace(",", ""))


def estimate_amounts(estimate: CostEstimate) -> set[Decimal]:
    amounts = {estimate.total_expected_charges, estimate.insurance_estimate,
               estimate.patient_estimate, estimate.copay, estimate.deductible,
               estimate.coinsurance}
    for optional in (estimate.deductible_remaining, estimate.out_of_pocket_remaining):
        if optional is not None:
            amounts.add(optional)
    for line in estimate.lines:
        amounts |= {line.expected_charge, line.patient_estimate}
        if line.expected_allowed is not None:
            amounts.add(line.expected_allowed)
    return amounts


def test_insured_estimate_prints_the_estimates_amounts() -> None:
    estimate = sample_estimate()
    document = render_estimate_pdf(estimate)
    assert document.pages == 1 and document.filename == "estimate-E24-000042.pdf"
    text = pages_text(document.content)[0]
    for line in estimate.lines:
        assert (f"{money(line.expected_charge)} {money(line.expected_allowed)} "
                f"{money(line.patient_estimate)}") in text
    assert f"YOUR ESTIMATED COST\n{money(estimate.patient_estimate)}" in text
    assert (f"Estimated totals {money(estimate.total_expected_charges)} "
            f"{money(estimate.patient_estimate)}") in text
    for expected in [f"Copay {money(estimate.copay)}", f"Deductible {money(estimate.deductible)}",
                     f"Coinsurance (20%) {money(estimate.coinsurance)}",
                     f"Your plan is expected to pay {money(estimate.insurance_estimate)}",
                     "Deductible remaining before this visit $20.00",
                     "Out-of-pocket maximum remaining before this visit $1,850.00",
                     "Cost Estimate", "Acme Health Plan", "Acme PPO Silver",
                     "Date of birth: 01/08/1980", "NPI 1234567893", "TIN 12-3456789",
                     "Scheduled for 03/18/2024", "I10, E11.9", "not a guarantee"]:
        assert expected in text, expected
    assert "Good Faith Estimate" not in text
    assert {to_decimal(a) for a in re.findall(AMOUNT, text)} <= estimate_amounts(estimate)


def test_self_pay_estimate_is_a_good_faith_estimate_with_its_notice() -> None:
    estimate = sample_estimate(self_pay=True)
    text = " ".join(pages_text(render_estimate_pdf(estimate).content)[0].split())
    for expected in ["Good Faith Estimate", "Self-pay: no insurance will be billed",
                     "at least $400 more than this Good Faith Estimate", "not a contract",
                     "120 calendar days", "Date of birth: 01/08/1980", "R51.9",
                     f"YOUR ESTIMATED COST {money(estimate.patient_estimate)}"]:
        assert expected in text, expected
    for line in estimate.lines:
        assert f"{money(line.expected_charge)} {money(line.patient_estimate)}" in text
    assert "Plan allowed" not in text and "Copay" not in text
    printed = {to_decimal(a) for a in re.findall(AMOUNT, text)}
    assert printed <= estimate_amounts(estimate) | {DISPUTE_THRESHOLD}


def test_long_estimate_flows_onto_numbered_pages() -> None:
    estimate = sample_estimate(lines=70)
    texts = pages_text(render_estimate_pdf(estimate).content)
    count = len(texts)
    assert count >= 2
    for number, text in enumerate(texts, start=1):
        assert f"Page {number} of {count}" in text
    everything = "\n".join(texts)
    for index in range(1, 71):
        assert len(re.findall(rf"#{index}\b", everything)) == 1
    assert everything.count("Expected\ncharge") + everything.count("Expected charge") >= count


def test_totals_that_do_not_add_up_are_refused() -> None:
    with pytest.raises(ValidationError, match="do not add up to the total"):
        sample_estimate(total_expected_charges="999.00")
    with pytest.raises(ValidationError, match="copay, deductible and coinsurance"):
        sample_estimate(copay="31.00")
    with pytest.raises(ValidationError, match="do not add up to the allowed amounts"):
        sample_estimate(insurance_estimate="100.00")
    with pytest.raises(ValidationError, match="self-pay estimate has no insurance"):
        sample_estimate(self_pay=True, copay="10.00")
    line = EstimateLine(description="Visit", expected_charge="10.00", patient_estimate="1.00")
    data = sample_estimate().model_dump()
    data.update(lines=[line.model_dump()], total_expected_charges="10.00",
                patient_estimate="1.00", copay="1.00", deductible="0.00", coinsurance="0.00",
                insurance_estimate="0.00")
    with pytest.raises(ValidationError, match="expected allowed amount"):
        CostEstimate.model_validate(data)


def test_estimate_file_is_deterministic_and_named_without_phi() -> None:
    estimate = sample_estimate(estimate_number="E/24 7")
    first = render_estimate_pdf(estimate)
    assert first.filename == "estimate-E_24_7.pdf"
    assert render_estimate_pdf(estimate).content == first.content
