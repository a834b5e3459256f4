"""837P: every generated interchange is clean in pyx12 and decodes back to the same claims."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from medbill_payer_generic_x12.pyx12check import pyx12_verdict
from medbill_payer_generic_x12.transactions.claim_837p import decode_837p, encode_837p
from medbill_payer_generic_x12.x12 import (
    MemoryControlNumbers,
    X12DelimiterInData,
    X12EncodeError,
    X12Reader,
    X12StructureError,
    X12ValueError,
)
from x12_factories import (
    DIAGNOSES,
    OTHER_BILLING_NPI,
    claim,
    line,
    payer,
    practice,
    secondary_claim,
    secondary_claim_with_lines,
)

from medbill_core.api import BillableClaim, ClaimAdjustmentRef, Relationship

NOW = datetime(2024, 3, 5, 10, 30)


def _fifty_lines() -> list:
    return [line(n, code="99213" if n % 2 else "85025", charge=f"{10 + n}.50",
                 pointers=[1 + n % 4], day=date(2024, 3, 1 + n % 28)) for n in range(1, 51)]


SHAPES: dict[str, list[BillableClaim]] = {
    "one line": [claim()],
    "fifty lines": [claim(lines=_fifty_lines(), diagnoses=DIAGNOSES[:4])],
    "twelve diagnoses": [claim(diagnoses=DIAGNOSES, lines=[
        line(1, pointers=[1, 2, 3, 4]), line(2, pointers=[5, 6, 7, 8], code="85025"),
        line(3, pointers=[9, 10, 11, 12], code="36415")])],
    "four modifiers": [claim(lines=[line(1, code="97110", modifiers=["GP", "59", "KX", "XU"],
                                         units="4")])],
    "patient not subscriber": [claim(relationship=Relationship.CHILD)],
    "secondary with 2320/2330": [secondary_claim()],
    "secondary with 2430 line adjudications": [secondary_claim_with_lines()],
    "frequency 7 with original reference": [claim(frequency="7", original="PAYERICN778899")],
    "several providers and payers": [
        claim("A1"), claim("A2", the_payer=payer("87726", "FIRST PAYER INC", "CI")),
        claim("A3", the_practice=practice(OTHER_BILLING_NPI, "NORTHSIDE PEDIATRICS")),
        claim("A4"), claim("A5", relationship=Relationship.SPOUSE,
                           the_practice=practice(OTHER_BILLING_NPI, "NORTHSIDE PEDIATRICS"),
                           the_payer=payer("MCRB1", "MEDICARE PART B", "MB")),
    ],
}


@pytest.mark.parametrize("shape", SHAPES)
def test_generated_837p_is_clean_in_pyx12(shape: str) -> None:
    batch = encode_837p(SHAPES[shape], now=NOW, control_numbers=MemoryControlNumbers(),
                        line_breaks=True)
    valid, errors = pyx12_verdict(batch.text)
    assert valid, errors


@pytest.mark.parametrize("shape", SHAPES)
def test_837p_round_trip_is_identity(shape: str) -> None:
    claims = SHAPES[shape]
    batch = encode_837p(claims, now=NOW)
    decoded = decode_837p(batch.text)
    # Claims come back grouped by billing provider and payer; compare by claim number.
    assert {c.claim.claim_number: c for c in decoded} == {c.claim.claim_number: c for c in claims}
    assert batch.claim_numbers == [c.claim.claim_number for c in decoded]


def test_claims_are_grouped_by_billing_provider_and_payer() -> None:
    batch = encode_837p(SHAPES["several providers and payers"], now=NOW)
    transactions = list(X12Reader(batch.text).transactions())
    assert batch.transaction_count == len(transactions) == 4
    assert batch.claim_numbers == ["A1", "A4", "A2", "A3", "A5"]


def test_counts_and_control_numbers_are_computed() -> None:
    counter = MemoryControlNumbers(start=41)
    first = encode_837p([claim()], now=NOW, control_numbers=counter)
    second = encode_837p([claim()], now=NOW, control_numbers=counter)
    assert (first.control_number, second.control_number) == ("000000041", "000000042")
    for interchange in X12Reader(second.text).interchanges():
        for group in interchange.groups():
            assert group.control_number == "42"
            for transaction in group.transactions():
                transaction.drain()
                assert transaction.closed


def test_split_into_transactions_above_the_claim_limit() -> None:
    claims = [claim(f"C{n}") for n in range(5)]
    batch = encode_837p(claims, now=NOW, max_claims_per_transaction=2)
    assert batch.transaction_count == 3
    assert pyx12_verdict(batch.text)[0]


def test_delimiter_in_data_is_refused_naming_the_element_not_the_value() -> None:
    bad = claim()
    bad.patient.last_name = "O*NEIL"
    with pytest.raises(X12DelimiterInData) as caught:
        encode_837p([bad], now=NOW)
    message = str(caught.value)
    assert "NM103" in message and "element separator" in message and "CLM1001" in message
    assert "NEIL" not in message


def test_self_pay_claim_cannot_be_encoded() -> None:
    self_pay = claim()
    data = self_pay.model_dump()
    data["coverage"] = data["payer"] = None
    data["claim"]["payer_key"] = None
    with pytest.raises(X12EncodeError, match="self-pay"):
        encode_837p([BillableClaim.model_validate(data)], now=NOW)


def test_relationship_837p_does_not_allow_is_refused() -> None:
    with pytest.raises(X12EncodeError, match="PAT01"):
        encode_837p([claim(relationship=Relationship.OTHER)], now=NOW)


def test_payer_line_limit_is_enforced() -> None:
    with pytest.raises(X12EncodeError, match="at most 10 service lines"):
        encode_837p([claim(lines=_fifty_lines(), diagnoses=DIAGNOSES[:4])], now=NOW,
                    max_lines_per_claim=10)


def _segments(text: str) -> list[list[str]]:
    return [segment.split("*") for segment in text.split("~") if segment]


def test_2430_follows_each_line_it_answers_and_2320_keeps_claim_level_only() -> None:
    bill = secondary_claim_with_lines()
    segments = _segments(encode_837p([bill], now=NOW).text)
    tags = [s[0] for s in segments]
    first_line = tags.index("LX")
    other_payer = segments[first_line - 1]
    assert other_payer[:2] == ["NM1", "PR"] and other_payer[9] == "87726"  # 2330B, no DTP
    assert segments[tags.index("AMT") - 1] == ["CAS", "CO", "45", "5"]  # 2320: claim level
    assert tags[first_line:] == [
        "LX", "SV1", "DTP", "REF", "SVD", "CAS", "CAS", "DTP", "AMT",
        "LX", "SV1", "DTP", "REF", "SVD", "CAS", "CAS", "DTP", "AMT", "SE", "GE", "IEA"]
    svds = [s for s in segments if s[0] == "SVD"]
    assert svds == [["SVD", "87726", "80", "HC:99213:25", "", "1"],
                    ["SVD", "87726", "20", "HC:85025", "", "2"]]
    dates = [s for s in segments if s[:2] == ["DTP", "573"]]
    assert [d[3] for d in dates] == ["20240320", "20240318"]  # the payer's, then the line's
    assert [s for s in segments if s[:2] == ["AMT", "EAF"]] == [["AMT", "EAF", "20"],
                                                                 ["AMT", "EAF", "10"]]


@pytest.mark.parametrize(("written", "sub_cent", "refused"), [
    ("CLM*C1*125*", "CLM*C1*125.004*", "element CLM02: CLM02 total claim charge"),
    ("SV1*HC:99213*125*", "SV1*HC:99213*124.996*", "element SV102: SV102 line charge")])
def test_an_amount_with_fractions_of_a_cent_is_refused_never_rounded(
        written: str, sub_cent: str, refused: str) -> None:
    text = encode_837p([claim("C1")], now=NOW).text
    assert written in text
    with pytest.raises(X12ValueError) as caught:
        decode_837p(text.replace(written, sub_cent))
    assert str(caught.value).endswith(
        f"{refused}: more than two decimal places (amounts are in cents; never rounded)")
    # trailing zeros are whole cents
    assert decode_837p(text.replace(written, f"{written[:-1]}.000*")) == decode_837p(text)


def test_a_2430_naming_no_other_payer_is_a_positioned_error() -> None:
    text = encode_837p([secondary_claim_with_lines()], now=NOW).text
    with pytest.raises(X12ValueError, match="SVD01") as caught:
        decode_837p(text.replace("SVD*87726*20", "SVD*99999*20"))
    assert caught.value.segment_index is not None


def test_a_2430_without_its_date_is_a_positioned_error() -> None:
    text = encode_837p([secondary_claim_with_lines()], now=NOW).text
    with pytest.raises(X12StructureError, match="DTP\\*573 in each loop 2430"):
        decode_837p(text.replace("DTP*573*D8*20240318~", "DTP*999*D8*20240318~"))


def test_2430_lines_must_balance_with_the_payer_paid_amount() -> None:
    text = encode_837p([secondary_claim_with_lines()], now=NOW).text
    with pytest.raises(X12ValueError) as caught:
        decode_837p(text.replace("AMT*D*95~", "AMT*D*96~"))
    assert caught.value.segment_index is not None


def test_more_than_five_cas_segments_in_2430_are_refused() -> None:
    bill = secondary_claim_with_lines()
    prior = bill.prior_adjudications[0]
    many = [ClaimAdjustmentRef(group_code="CO", reason_code="45", amount=Decimal("1.00"))] * 31
    line = prior.line_adjudications[0].model_copy(update={"adjustments": many})
    bill.prior_adjudications[0] = prior.model_copy(
        update={"line_adjudications": [line, prior.line_adjudications[1]]})
    with pytest.raises(X12EncodeError, match="at most 5 CAS segments in loop 2430"):
        encode_837p([bill], now=NOW)
