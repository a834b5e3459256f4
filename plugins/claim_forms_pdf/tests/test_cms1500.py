"""The CMS-1500 read back from the PDF: each box's value at its NUCC print position."""

from __future__ import annotations

from decimal import Decimal

import pytest
from formreader import TODAY, at, cells, page_count, page_text, row
from medbill_claim_forms_pdf.renderer import Cms1500Renderer, PdfClaimFormRenderer

from medbill_core.api import BillableClaim, ClaimFormLayout, ValidationFailed
from medbill_core.api.testing import factories


def render(*claims: BillableClaim, layout: ClaimFormLayout = ClaimFormLayout.DATA) -> bytes:
    renderer = Cms1500Renderer(today=lambda: TODAY)
    rendered = renderer.render(list(claims), layout=layout)
    assert rendered.findings == []
    return rendered.content


def test_a_professional_claim_box_by_box(professional: BillableClaim) -> None:
    pdf = render(professional)
    assert at(pdf, 2, 41) == "ACME HEALTH PLAN"  # carrier block
    assert at(pdf, 8, 31) == "X"  # 1: group health plan (CI)
    assert at(pdf, 8, 50) == "XYZ123456789"  # 1a
    assert at(pdf, 10, 1) == "TESTPATIENT1, JORDAN"  # 2, upper case
    assert row(pdf, 10)[1:5] == [(31, "01"), (34, "02"), (37, "1980"), (47, "X")]  # 3: F
    assert at(pdf, 10, 50) == "TESTPATIENT1, JORDAN"  # 4: the patient is the insured
    assert at(pdf, 12, 33) == "X"  # 6: self
    assert at(pdf, 18, 50) == "GRP001"  # 11
    assert at(pdf, 24, 50) == "ACME PPO"  # 11c
    assert at(pdf, 26, 57) == "X"  # 11d: no other plan
    assert at(pdf, 29, 7) == "SIGNATURE ON FILE"  # 12
    assert row(pdf, 34) == [(1, "DN"), (4, "REYES, SAM"), (33, factories.REFERRING_NPI)]
    assert at(pdf, 37, 46) == "0"  # 21: ICD indicator, ICD-10-CM
    assert row(pdf, 38) == [(3, "E119"), (16, "I10")]  # 21 A, B (no decimal point)
    assert at(pdf, 38, 50) is None  # 22: an original claim has no resubmission code
    assert at(pdf, 40, 50) == "AUTH-77"  # 23
    # 24: line 1 on grid line 44, line 2 on 46; the shaded line above each holds the
    # rendering provider's taxonomy (qualifier ZZ)
    assert row(pdf, 43) == [(65, "ZZ"), (68, "207Q00000X")]
    assert row(pdf, 44) == [
        (1, "11"), (4, "20"), (7, "26"), (10, "11"), (13, "20"), (16, "26"), (19, "11"),
        (25, "99213"), (45, "A"), (52, "125"), (56, "00"), (61, "1"),
        (68, factories.RENDERING_NPI)]
    assert [(c, t) for c, t in row(pdf, 46) if c in (25, 53, 56)] == [
        (25, "36415"), (53, "18"), (56, "50")]
    # 25-29: EIN without a hyphen, the claim number as the patient's account number,
    # assignment accepted, the total split into dollars and cents, nothing paid yet
    assert row(pdf, 56) == [(1, "123456789"), (19, "X"), (23, "CLM0001"), (38, "X"),
                            (54, "143"), (58, "50")]
    assert row(pdf, 61) == [(6, "12 06 26"), (50, factories.PRACTICE_NPI),
                            (63, "ZZ207Q00000X")]  # 31 date, 33a NPI, 33b taxonomy
    assert [at(pdf, line, 50) for line in (58, 59, 60)] == [
        "EXAMPLE FAMILY MEDICINE", "100 MAIN STREET", "SPRINGFIELD IL 62701"]  # 33


def test_amounts_are_right_aligned_in_their_dollar_columns() -> None:
    """24F's dollars end in column 54 whatever their digits, the cents in 56-57."""
    charges = ["7.05", "99999.99", "1234.50"]
    lines = [factories.make_line(n, charge=Decimal(charge))
             for n, charge in enumerate(charges, start=1)]
    claim = factories.make_claim().model_copy(update={"lines": lines})
    pdf = render(factories.make_billable_claim(claim=claim))
    assert [[(c, t) for c, t in row(pdf, line) if 50 <= c <= 57] for line in (44, 46, 48)] \
        == [[(54, "7"), (56, "05")], [(50, "99999"), (56, "99")], [(51, "1234"), (56, "50")]]


def test_a_secondary_claim_names_the_other_coverage_and_what_it_paid(
        secondary: BillableClaim) -> None:
    pdf = render(secondary)
    assert at(pdf, 10, 50) == "TESTSUBSCRIBER, ALEX"  # 4: the insured is not the patient
    assert at(pdf, 12, 42) == "X"  # 6: child
    assert row(pdf, 20)[-4:] == [(53, "05"), (56, "05"), (59, "1960"), (68, "X")]  # 11a
    assert at(pdf, 18, 1) == "TESTPATIENT1, JORDAN"  # 9: the patient holds the first plan
    assert at(pdf, 20, 1) == "FP998877"  # 9a
    assert at(pdf, 26, 1) == "FIRST PLAN GOLD"  # 9d
    assert at(pdf, 26, 52) == "X"  # 11d: yes
    assert row(pdf, 56)[-4:] == [(54, "125"), (58, "00"), (65, "80"), (68, "00")]  # 28, 29


def test_a_replacement_carries_code_7_and_the_original_reference(
        replacement: BillableClaim) -> None:
    pdf = render(replacement)
    assert row(pdf, 38)[-2:] == [(50, "7"), (62, "PAYERICN12345")]
    assert at(pdf, 56, 23) == "CLM0001R"


def test_more_than_six_lines_go_on_to_a_second_form() -> None:
    claim = factories.make_claim(lines=8)
    pdf = render(factories.make_billable_claim(claim=claim))
    assert page_count(pdf) == 2
    assert at(pdf, 56, 50, page=0) == "CONTINUED"
    assert at(pdf, 56, 54, page=0) is None
    assert at(pdf, 44, 25, page=1) == "36415"  # line 7 first on the second form
    assert at(pdf, 48, 25, page=1) is None  # two lines only
    assert (at(pdf, 56, 54, page=1), at(pdf, 56, 58, page=1)) == ("254", "50")
    assert at(pdf, 64, 40, page=1) == "PAGE 2 OF 2"


def test_a_value_longer_than_its_box_is_cut_with_a_finding() -> None:
    claim = factories.make_claim(number="CLM-2026-000000123")
    rendered = Cms1500Renderer(today=lambda: TODAY).render(
        [factories.make_billable_claim(claim=claim)], layout=ClaimFormLayout.DATA)
    assert at(rendered.content, 56, 23) == "CLM-2026-00000"  # 14 characters
    [finding] = rendered.findings
    assert (finding.severity.value, finding.code, finding.field, finding.claim_number) == (
        "warning", "form.truncated", "box 26", "CLM-2026-000000123")
    assert finding.message == "box 26 holds 14 characters: 18 were cut to 14"


def test_an_amount_that_does_not_fit_is_never_cut() -> None:
    line = factories.make_line(1, charge=Decimal("123456.00"))
    claim = factories.make_claim(lines=1).model_copy(update={"lines": [line]})
    rendered = Cms1500Renderer(today=lambda: TODAY).render(
        [factories.make_billable_claim(claim=claim)], layout=ClaimFormLayout.DATA)
    assert at(rendered.content, 44, 50) == "*****"
    assert at(rendered.content, 44, 56) is None
    assert {(f.severity.value, f.code, f.field) for f in rendered.findings} == {
        ("error", "form.amount_too_large", "box 24 line 1 24F"),
        }


def test_the_form_layout_draws_the_boxes_and_places_the_data_the_same(
        professional: BillableClaim) -> None:
    data = render(professional, layout=ClaimFormLayout.DATA)
    form = render(professional, layout=ClaimFormLayout.FORM)
    assert cells(form) == cells(data)  # same values, same places
    labels = page_text(form)
    assert "HEALTH INSURANCE CLAIM FORM" in labels and "26. PATIENT'S ACCOUNT NO." in labels
    assert "HEALTH INSURANCE CLAIM FORM" not in page_text(data)
    assert cells(form, font="/Helvetica") and not cells(data, font="/Helvetica")


def test_an_institutional_claim_is_not_printed_on_a_cms1500(inpatient: BillableClaim) -> None:
    with pytest.raises(ValidationFailed, match="claim CLM0101: kind: a institutional claim "
                                               "is not printed on the cms1500 form"):
        Cms1500Renderer().render([inpatient])
    both = PdfClaimFormRenderer(today=lambda: TODAY).render(
        [inpatient, factories.make_billable_claim()])
    assert (both.pages, both.claim_numbers) == (2, ["CLM0101", "CLM0001"])
    assert at(both.content, 1, 58, page=0) == "CLM0101"  # a UB-04 first, then a CMS-1500
    assert at(both.content, 56, 23, page=1) == "CLM0001"
