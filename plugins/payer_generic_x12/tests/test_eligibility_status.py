"""270/271 and 276/277: samples decode; requests encode; responses round-trip."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from medbill_payer_generic_x12.transactions.claim_status import (
    decode_277,
    encode_276,
    encode_277,
)
from medbill_payer_generic_x12.transactions.eligibility import (
    decode_271,
    encode_270,
    encode_271,
)
from medbill_payer_generic_x12.x12 import X12Reader
from x12_factories import FIXTURES, claim, eligibility_request

from medbill_core.api import (
    Benefit,
    BenefitKind,
    ClaimStatus,
    ClaimStatusRequest,
    ClaimStatusResponse,
    CoverageLevel,
    CoverageStatus,
    EligibilityIssue,
    EligibilityResponse,
    Network,
    Relationship,
    StatusCode,
)


def _only_transaction(text: str) -> tuple[str, list[list[str]]]:
    found = [(t.transaction_set_id, list(t.segments())) for t in X12Reader(text).transactions()]
    assert len(found) == 1
    return found[0]


DEFECTIVE = {"lfh__subscriber-health-benefit-check-error.271"}  # SE02 != ST02


@pytest.mark.parametrize("path", sorted((FIXTURES / "271").iterdir()), ids=lambda p: p.name)
def test_271_samples_decode(path: Path) -> None:
    (response,) = decode_271(path.read_text(), strict=path.name not in DEFECTIVE)
    assert EligibilityResponse.model_validate(response.model_dump()) == response
    assert response.payer_name == "ABC COMPANY"


def test_271_sample_benefits() -> None:
    text = (FIXTURES / "271" / "lfh__subscriber-health-benefit-check.271").read_text()
    (response,) = decode_271(text)
    assert response.status is CoverageStatus.ACTIVE and response.plan_name == "GOLD 123 PLAN"
    assert response.trace_number == "93175-012547"
    copays = [b for b in response.benefits if b.kind is BenefitKind.CO_PAYMENT]
    assert [(b.amount, b.network) for b in copays] == [(Decimal("10.00"), Network.IN),
                                                       (Decimal("30.00"), Network.OUT)]
    assert "98" in copays[0].service_types
    assert response.summary("98", Network.OUT).copay == Decimal("30.00")


def test_271_rejection_is_an_error_status() -> None:
    text = (FIXTURES / "271" / "lfh__subscriber-health-benefit-check-error.271").read_text()
    (response,) = decode_271(text, strict=False)
    assert response.status is CoverageStatus.ERROR
    assert response.issues == [EligibilityIssue(loop="2100B", reject_reason="50",
                                                follow_up="N")]


RESPONSE = EligibilityResponse(
    trace_number="TRACE-0001", status=CoverageStatus.ACTIVE, payer_name="ACME HEALTH PLAN",
    payer_id="60054", plan_name="GOLD PPO", group_number="GRP-77", plan_begin=date(2024, 1, 1),
    plan_end=date(2024, 12, 31), benefits=[
        Benefit(kind=BenefitKind.ACTIVE_COVERAGE, code="1", service_types=["30"],
                coverage_level=CoverageLevel.INDIVIDUAL, insurance_type="PR",
                plan_description="GOLD PPO"),
        Benefit(kind=BenefitKind.CO_PAYMENT, code="B", service_types=["98", "UC"],
                time_period="27", amount=Decimal("25.00"), network=Network.IN),
        Benefit(kind=BenefitKind.CO_INSURANCE, code="A", service_types=["30"],
                percent=Decimal("0.2"), network=Network.IN, messages=["AFTER DEDUCTIBLE"]),
        Benefit(kind=BenefitKind.DEDUCTIBLE, code="C", coverage_level=CoverageLevel.INDIVIDUAL,
                time_period="23", amount=Decimal("1500.00"), network=Network.IN),
        Benefit(kind=BenefitKind.DEDUCTIBLE, code="C", coverage_level=CoverageLevel.INDIVIDUAL,
                time_period="29", amount=Decimal("600.00"), network=Network.IN),
        Benefit(kind=BenefitKind.OUT_OF_POCKET, code="G", coverage_level=CoverageLevel.FAMILY,
                time_period="29", amount=Decimal("4000.00"), network=Network.BOTH,
                authorization_required=False),
    ])


@pytest.mark.parametrize("relationship", [Relationship.SELF, Relationship.CHILD])
def test_270_encodes_the_request(relationship: Relationship) -> None:
    request = eligibility_request(relationship=relationship)
    text = encode_270([request])
    (set_id, segments) = _only_transaction(text)
    assert set_id == "270"
    assert ["EQ", "30"] in segments and ["EQ", "98"] in segments
    assert ["TRN", "1", "TRACE-0001", "1431234567"] in segments
    assert any(s[:2] == ["NM1", "03"] for s in segments) == (relationship is not
                                                            Relationship.SELF)


def test_271_round_trip_and_summary() -> None:
    text = encode_271([(RESPONSE, eligibility_request())])
    assert decode_271(text) == [RESPONSE]
    summary = RESPONSE.summary("98")
    assert (summary.copay, summary.deductible, summary.deductible_remaining) == (
        Decimal("25.00"), Decimal("1500.00"), Decimal("600.00"))


def test_271_round_trip_with_issues() -> None:
    rejected = EligibilityResponse(trace_number="TRACE-0001", status=CoverageStatus.ERROR,
                                   payer_name="ACME HEALTH PLAN", payer_id="60054",
                                   issues=[EligibilityIssue(loop="2100C", reject_reason="72",
                                                            follow_up="C")])
    assert decode_271(encode_271([(rejected, eligibility_request())])) == [rejected]


@pytest.mark.parametrize("path", sorted((FIXTURES / "277-X212").iterdir()), ids=lambda p: p.name)
def test_277_samples_decode(path: Path) -> None:
    (response,) = decode_277(path.read_text())
    assert response.payer_name == "ABC INSURANCE" and response.claims
    assert ClaimStatusResponse.model_validate(response.model_dump()) == response


def test_277_sample_details() -> None:
    (response,) = decode_277((FIXTURES / "277-X212" / "lfh__claim-level-status.277").read_text())
    by_number = {c.claim_number: c for c in response.claims}
    paid = by_number["J0234567"]
    assert (paid.payer_claim_number, paid.total_charge, paid.paid_amount) == (
        "0529675341", Decimal("7599.00"), Decimal("7599.00"))
    assert paid.status_codes[0] == StatusCode(category="F0", code="3")


def test_a_277_amount_with_fractions_of_a_cent_is_refused_never_rounded() -> None:
    from medbill_payer_generic_x12.x12 import X12ValueError

    text = (FIXTURES / "277-X212" / "lfh__claim-level-status.277").read_text()
    written = "STC*F0:3*20050915**7599.00*7599.00~"
    assert written in text
    with pytest.raises(X12ValueError) as caught:
        decode_277(text.replace(written, "STC*F0:3*20050915**7599.00*7599.005~"))
    assert str(caught.value).endswith("element STC05: STC05 paid: more than two decimal places "
                                      "(amounts are in cents; never rounded)")


@pytest.mark.parametrize("relationship", [Relationship.SELF, Relationship.SPOUSE])
def test_276_and_277_round_trip(relationship: Relationship) -> None:
    request = ClaimStatusRequest(trace_number="STAT-0001",
                                 claim=claim(relationship=relationship))
    request_text = encode_276([request])
    (_, segments) = _only_transaction(request_text)
    assert ["REF", "EJ", "CLM1001"] in segments and ["AMT", "T3", "125"] in segments
    response = ClaimStatusResponse(trace_number="STAT-0001", payer_name="ACME HEALTH PLAN",
                                   claims=[ClaimStatus(
        claim_number="CLM1001", payer_claim_number="PCN0001",
        status_codes=[StatusCode(category="F1", code="65"), StatusCode(category="F1", code="1",
                                                                       entity="PR")],
        effective_date=date(2024, 3, 20), total_charge=Decimal("125.00"),
        paid_amount=Decimal("80.00"), paid_date=date(2024, 3, 21), check_number="CHK1001")])
    assert decode_277(encode_277([(response, request)])) == [response]


def test_270_batches_subscribers_of_one_payer_into_transaction_sets() -> None:
    from medbill_payer_generic_x12.x12 import X12Reader

    requests = [eligibility_request(f"TRACE-{n}", relationship=Relationship.CHILD if n == 2
                                    else Relationship.SELF) for n in range(5)]
    other = eligibility_request("TRACE-OTHER")
    other = other.model_copy(update={"payer": other.payer.model_copy(update={
        "payer_id": "99999", "name": "OTHER PLAN"})})
    text = encode_270([*requests, other], subscribers_per_transaction=3)
    sets = [[segment for segment in t.segments()] for t in X12Reader(text).transactions()]
    # 3 + 2 subscribers of the first payer, then the other payer's in a set of its own
    traces = [[s[2] for s in segments if s[0] == "TRN"] for segments in sets]
    assert traces == [["TRACE-0", "TRACE-1", "TRACE-2"], ["TRACE-3", "TRACE-4"],
                      ["TRACE-OTHER"]]
    first = sets[0]
    assert [s[1:5] for s in first if s[0] == "HL"] == [
        ["1", "", "20", "1"], ["2", "1", "21", "1"], ["3", "2", "22", "0"],
        ["4", "2", "22", "0"], ["5", "2", "22", "1"], ["6", "5", "23", "0"]]
    assert [s[1] for s in first if s[0] == "NM1"].count("PR") == 1
    now = datetime(2024, 3, 4, 12, 0)
    assert encode_270(requests[:1], now=now) == encode_270(requests[:1], now=now,
                                                           subscribers_per_transaction=50)
