"""837P: every generated interchange is clean in pyx12 and decodes back to the same claims."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from medbill_payer_generic_x12.pyx12check import pyx12_verdict
from medbill_payer_generic_x12.transactions.claim_837p import decode_837p, encode_837p
from medbill_payer_generic_x12.x12 import (
    MemoryControlNumbers,
    X12DelimiterInData,
    X12EncodeError,
    X12Reader,
)
from x12_factories import (
    DIAGNOSES,
    OTHER_BILLING_NPI,
    claim,
    line,
    payer,
    practice,
    secondary_claim,
)

from medbill_core.domain import BillableClaim, Relationship

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
