"""The UB-04 read back from the PDF: each form locator's value at its print position."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from formreader import TODAY, at, page_count, row
from medbill_claim_forms_pdf.renderer import Ub04Renderer

from medbill_core.api import (
    BillableClaim,
    ClaimFormLayout,
    ClaimFrequency,
    Occurrence,
    OccurrenceSpan,
    PresentOnAdmission,
    ValidationFailed,
    ValueAmount,
)
from medbill_core.api.testing import factories


def render(claim: BillableClaim, layout: ClaimFormLayout = ClaimFormLayout.DATA) -> bytes:
    rendered = Ub04Renderer(today=lambda: TODAY).render([claim], layout=layout)
    assert rendered.findings == []
    return rendered.content


def test_an_inpatient_stay_locator_by_locator(inpatient: BillableClaim) -> None:
    pdf = render(inpatient)
    assert [at(pdf, n, 2) for n in (1, 2, 3)] == [
        "EXAMPLE FAMILY MEDICINE", "100 MAIN STREET", "SPRINGFIELD IL 62701"]  # FL1
    assert at(pdf, 1, 58) == "CLM0101"  # FL3a: the claim number
    assert at(pdf, 2, 58) == "A00001"  # FL3b: the medical record (account) number
    assert at(pdf, 2, 77) == "0111"  # FL4: hospital inpatient, original
    assert row(pdf, 4) == [(2, "5555550100"), (52, "123456789"), (63, "110126"),
                           (70, "110426")]  # FL1 phone, FL5, FL6
    assert at(pdf, 6, 3) == "TESTPATIENT1, JORDAN"  # FL8b
    # FL10 birth date, FL11 sex, FL12 admission date, FL13 hour, FL14 type, FL15 source,
    # FL16 discharge hour, FL17 status
    assert row(pdf, 8) == [(1, "01021980"), (12, "F"), (14, "110126"), (21, "14"),
                           (24, "1"), (26, "7"), (28, "11"), (31, "01")]
    # FL42-47: revenue code, date, units, charges (dollars, cents)
    assert row(pdf, 19) == [(1, "0120"), (47, "110126"), (60, "3"), (65, "3600"),
                            (70, "00")]
    assert row(pdf, 20) == [(1, "0250"), (47, "110126"), (59, "12"), (66, "480"),
                            (70, "00")]
    # line 23: page, creation date and the total
    assert row(pdf, 41) == [(1, "0001"), (7, "PAGE 1 OF 1"), (47, "120626"), (64, "12280"),
                            (70, "00")]
    # FL50-53 the payer billed, FL56 the billing NPI, FL58-62 the insured
    assert row(pdf, 43) == [(1, "ACME HEALTH PLAN"), (26, "ACME1"), (42, "Y"), (45, "Y"),
                            (71, factories.PRACTICE_NPI)]
    assert row(pdf, 47) == [(1, "TESTPATIENT1, JORDAN"), (28, "18"), (31, "XYZ123456789"),
                            (67, "GRP001")]
    # FL66 ICD-10 indicator, FL67 principal diagnosis with POA Y, FL67A with N
    assert row(pdf, 55) == [(1, "0"), (3, "K3580"), (10, "Y"), (11, "E119"), (18, "N")]
    assert row(pdf, 57) == [(5, "R1031"), (44, "343")]  # FL69 admitting dx, FL71 DRG
    assert row(pdf, 59) == [(1, "0DTJ4ZZ"), (9, "110126")]  # FL74 principal procedure
    assert row(pdf, 58) == [(64, factories.ATTENDING_NPI)]  # FL76
    assert row(pdf, 60) == [(64, factories.RENDERING_NPI)]  # FL77 operating
    assert row(pdf, 61) == [(54, "CARTER"), (70, "DANA")]  # named by the claim's providers


def test_an_outpatient_visit_with_hcpcs_and_reason_for_visit(outpatient: BillableClaim) -> None:
    pdf = render(outpatient)
    assert at(pdf, 2, 77) == "0131"
    assert [(c, t) for c, t in row(pdf, 19) if c in (1, 32)] == [(1, "0450"), (32, "99284")]
    assert at(pdf, 57, 19) == "R0602"  # FL70a
    assert row(pdf, 55) == [(1, "0"), (3, "J189"), (11, "R0602")]  # no POA outpatient
    assert [(c, t) for c, t in row(pdf, 41) if c >= 60] == [(65, "1655"), (70, "00")]


def test_codes_and_values_go_in_their_locators() -> None:
    start = date(2026, 10, 1)
    claim = factories.make_institutional_claim(inpatient=True, service_date=start)
    assert claim.institutional is not None
    details = claim.institutional.model_copy(update={
        "condition_codes": ["02", "A1"],
        "occurrences": [Occurrence(code="11", occurrence_date=start - timedelta(days=2))],
        "occurrence_spans": [OccurrenceSpan(code="74", date_from=start,
                                            date_to=start + timedelta(days=1))],
        "values": [ValueAmount(code="80", amount=Decimal("3")),
                   ValueAmount(code="A1", amount=Decimal("1632.00"))]})
    pdf = render(factories.make_billable_claim(claim=claim.model_copy(
        update={"institutional": details})))
    assert [(c, t) for c, t in row(pdf, 8) if c >= 34] == [(34, "02"), (37, "A1")]
    assert row(pdf, 10) == [(1, "11"), (4, "092926"), (45, "74"), (48, "100126"),
                            (55, "100226")]
    assert row(pdf, 14)[-3:] == [(44, "80"), (52, "3"), (54, "00")]  # FL39a
    assert row(pdf, 15)[-3:] == [(44, "A1"), (49, "1632"), (54, "00")]  # FL39b


def test_a_replacement_names_the_original_in_fl64(inpatient: BillableClaim) -> None:
    claim = inpatient.claim.model_copy(update={
        "frequency": ClaimFrequency.REPLACEMENT, "original_claim_reference": "ICN9988776"})
    pdf = render(inpatient.model_copy(update={"claim": claim}))
    assert at(pdf, 2, 77) == "0117"
    assert at(pdf, 51, 32) == "ICN9988776"


def test_twenty_three_lines_take_two_forms_with_the_total_on_the_last(
        outpatient: BillableClaim) -> None:
    base = outpatient.claim.lines[0]
    lines = [base.model_copy(update={"line_number": n}) for n in range(1, 24)]
    claim = outpatient.claim.model_copy(update={"lines": lines})
    pdf = render(outpatient.model_copy(update={"claim": claim}))
    assert page_count(pdf) == 2
    assert [(c, t) for c, t in row(pdf, 41, page=0) if c in (7, 64, 70)] == [
        (7, "PAGE 1 OF 2")]
    assert [(c, t) for c, t in row(pdf, 41, page=1) if c in (7, 64, 70)] == [
        (7, "PAGE 2 OF 2"), (64, "28750"), (70, "00")]
    assert at(pdf, 19, 1, page=1) == "0450" and at(pdf, 20, 1, page=1) is None


def test_more_diagnoses_than_the_form_has_room_for_are_reported(
        inpatient: BillableClaim) -> None:
    codes = ["K3580", "E119", "I10", "E785", "N179", "J9601", "D62", "E871", "R6520",
             "A419", "I480", "E1122", "N183", "Z7901", "F17210", "K219", "G4733", "M1990",
             "E669", "Z6841"]
    poa = [PresentOnAdmission.YES] * len(codes)
    assert inpatient.claim.institutional is not None
    details = inpatient.claim.institutional.model_copy(update={"present_on_admission": poa})
    claim = inpatient.claim.model_copy(update={"diagnoses": codes, "institutional": details})
    rendered = Ub04Renderer(today=lambda: TODAY).render(
        [inpatient.model_copy(update={"claim": claim})], layout=ClaimFormLayout.DATA)
    assert at(rendered.content, 56, 67) == "M1990"  # FL67Q: the 18th
    [finding] = rendered.findings
    assert (finding.code, finding.field, finding.message) == (
        "form.not_printed", "FL67",
        "FL67 has room for 18 codes: 2 of the claim's 20 are not on the paper form")


def test_a_professional_claim_is_not_printed_on_a_ub04(professional: BillableClaim) -> None:
    with pytest.raises(ValidationFailed, match="not printed on the ub04 form"):
        Ub04Renderer().render([professional])
