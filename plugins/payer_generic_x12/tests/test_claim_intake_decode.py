"""Reading an 837 batch claim by claim for the core's claim intake (hook
``medbill_decode_claims``): the envelope checked whole, each claim read on its own, a bad
claim refused at its position in the file as received while the others are read."""

from __future__ import annotations

import importlib.util
from datetime import datetime
from pathlib import Path

import pytest
from medbill_payer_generic_x12 import plugin
from medbill_payer_generic_x12.claim_intake import decode_claim_file
from medbill_payer_generic_x12.transactions.claim_837p import encode_837p
from medbill_payer_generic_x12.x12 import MemoryControlNumbers
from medbill_payer_generic_x12.x12.errors import X12Error
from x12_factories import claim

from medbill_core.api import BillableClaim, Relationship

FIXTURES = Path(__file__).parent / "fixtures" / "837P-X222A2"


def _text(bills: list[BillableClaim]) -> str:
    return encode_837p(bills, control_numbers=MemoryControlNumbers(start=4242),
                       now=datetime(2026, 12, 1, 8, 0)).text


def _segments(text: str) -> list[str]:
    return [piece for piece in text.split("~") if piece]


def test_each_claim_of_our_own_batch_is_read_as_written() -> None:
    bills = [claim("CLM1"), claim("CLM2", relationship=Relationship.CHILD), claim("CLM3")]
    text = _text(bills)
    decoded = decode_claim_file(text)
    assert decoded.implementation == "005010X222A1"
    assert decoded.interchange_control_number == "000004242"
    assert (decoded.sender_qualifier, decoded.sender_id) == ("ZZ", "MEDBILL")
    segments = _segments(text)
    assert [c.position for c in decoded.claims] == [
        number for number, segment in enumerate(segments, start=1)
        if segment.startswith("CLM*")]
    assert [c.claim_number for c in decoded.claims] == ["CLM1", "CLM2", "CLM3"]
    assert all(c.refusal is None and c.findings == [] for c in decoded.claims)
    read = [c.bill for c in decoded.claims]
    assert [b.claim.lines if b else None for b in read] == [b.claim.lines for b in bills]
    dependent = read[1]
    assert dependent is not None and dependent.coverage is not None
    assert dependent.coverage.relationship is Relationship.CHILD
    assert dependent.coverage.subscriber is not None
    assert dependent.patient.first_name == "JANE"  # the patient loop 2000C, not the subscriber


def test_a_patient_loop_with_two_claims_gives_both_the_same_patient() -> None:
    text = _text([claim("CLM7", relationship=Relationship.CHILD)])
    segments = _segments(text)
    start = next(i for i, s in enumerate(segments) if s.startswith("CLM*"))
    end = next(i for i, s in enumerate(segments) if s.startswith("SE*"))
    second = [s.replace("CLM*CLM7*", "CLM*CLM8*", 1) for s in segments[start:end]]
    body = segments[:end] + second
    st = next(i for i, s in enumerate(body) if s.startswith("ST*"))
    trailer = [f"SE*{len(body) - st + 1}*{segments[end].split('*')[2]}", *segments[end + 1:]]
    decoded = decode_claim_file("~".join(body + trailer) + "~")
    assert [c.claim_number for c in decoded.claims] == ["CLM7", "CLM8"]
    patients = [c.bill.patient if c.bill else None for c in decoded.claims]
    assert patients[0] == patients[1] and patients[0] is not None
    assert decoded.claims[1].position == start + 1 + (end - start)


def test_a_claim_that_cannot_be_read_is_refused_at_its_place_in_the_file() -> None:
    segments = _segments(_text([claim("CLM1"), claim("CLM2"), claim("CLM3")]))
    clm2 = next(i for i, s in enumerate(segments) if s.startswith("CLM*CLM2*"))
    lx = next(i for i in range(clm2, len(segments)) if segments[i].startswith("LX*"))
    segments[lx] = "LX*first"
    decoded = decode_claim_file("~".join(segments) + "~")
    assert [c.refusal is None for c in decoded.claims] == [True, False, True]
    assert decoded.claims[1].refusal == (f"segment {lx + 1} (LX), element LX01: LX01 as a "
                                         "whole number")
    assert decoded.claims[1].claim_number == "CLM2" and decoded.claims[1].bill is None


@pytest.mark.parametrize("charge", ["9999999999", "99999999999999999999.99"])
def test_a_charge_over_the_limit_refuses_its_claim_at_its_place(charge: str) -> None:
    """No one charge is more than 99,999,999.99 (the domain's limit of one amount): a claim
    charging more is refused where it is; a bigger one used to overflow the database."""
    segments = _segments(_text([claim("CLM1"), claim("CLM2"), claim("CLM3")]))
    clm2 = next(i for i, s in enumerate(segments) if s.startswith("CLM*CLM2*"))
    sv1 = next(i for i in range(clm2, len(segments)) if segments[i].startswith("SV1*"))
    for index in (clm2, sv1):  # the claim's total and its one line's charge
        elements = segments[index].split("*")
        elements[2] = charge
        segments[index] = "*".join(elements)
    decoded = decode_claim_file("~".join(segments) + "~")
    assert [c.refusal is None for c in decoded.claims] == [True, False, True]
    refusal = decoded.claims[1].refusal
    assert refusal is not None and charge not in refusal
    assert refusal.startswith(f"error: claim CLM2, segment {sv1 + 1} (SV1): claim.lines.0.charge: "
                              "must not be more than 99,999,999.99; ")


def test_what_is_not_a_whole_837_interchange_is_refused_positioned() -> None:
    text = _text([claim("CLM1")])
    with pytest.raises(X12Error, match=r"^segment 3 \(ST\), element ST01: an 837 claim "
                                       r"transaction, not 276$"):
        decode_claim_file(text.replace("ST*837*", "ST*276*"))
    with pytest.raises(X12Error, match="truncated"):
        decode_claim_file(text[:text.index("CLM*")])
    bare = text[text.index("ST*"):text.index("GE*")]
    with pytest.raises(X12Error, match="an interchange starting with ISA"):
        decode_claim_file(bare)


def test_an_837i_is_read_where_the_engine_has_its_decoder() -> None:
    text = _text([claim("CLM1")]).replace("005010X222A1", "005010X223A2")
    if importlib.util.find_spec("medbill_payer_generic_x12.transactions.claim_837i"):
        pytest.skip("the 837I decoder is present: its own tests cover 837I files")
    with pytest.raises(X12Error, match=r"005010X222A1 \(837P\), not 005010X223A2$"):
        decode_claim_file(text)


def test_the_hook_reads_x12_only() -> None:
    assert plugin.medbill_decode_claims(content='[{"claim_number": "C1"}]',
                                        context=None) is None  # type: ignore[arg-type]
    decoded = plugin.medbill_decode_claims(content=_text([claim("CLM1")]),
                                           context=None)  # type: ignore[arg-type]
    assert decoded is not None and [c.claim_number for c in decoded.claims] == ["CLM1"]


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.837")), ids=lambda p: p.name)
def test_files_written_by_others_give_one_entry_per_claim(path: Path) -> None:
    """Read or refused (their NPIs are made up), never a document-wide failure: one entry per
    CLM, at the CLM's segment number."""
    text = path.read_text(encoding="latin-1")
    decoded = decode_claim_file(text)
    segments = [s.strip() for s in text.replace("\n", "").replace("\r", "").split("~")]
    positions = [number for number, segment in enumerate(
        (s for s in segments if s), start=1) if segment.startswith("CLM*")]
    assert [c.position for c in decoded.claims] == positions
    for entry in decoded.claims:
        assert (entry.bill is None) != (entry.refusal is None)
        if entry.refusal is not None:
            assert entry.refusal.startswith("segment ")


PUBLIC_837I = Path(__file__).parent / "fixtures" / "public" / "837I"


def test_an_837i_whose_claim_breaks_business_rules_comes_in_with_its_findings() -> None:
    """The 837I decoder keeps an ICD-9 qualifier, a wrong NPI check digit as sent, each a
    finding placed in the file as received (as the 837P's does)."""
    decoded = decode_claim_file((PUBLIC_837I / "stupidedi__ppo-repriced-claim.edi").read_text())
    assert decoded.implementation.startswith("005010X223")
    [entry] = decoded.claims
    assert entry.refusal is None and entry.bill is not None
    assert entry.bill.claim.kind.value == "institutional"
    assert entry.findings[0].startswith("error: segment 9 (NM1), element NM109: 2010AA "
                                        "billing provider npi: NPI check digit is wrong")
    assert sum("ICD-10-CM qualifier ABK (BK is ICD-9-CM" in f for f in entry.findings) == 1
    assert all(f.startswith(("error: ", "warning: ")) for f in entry.findings)


@pytest.mark.parametrize("path", sorted(PUBLIC_837I.iterdir()), ids=lambda p: p.name)
def test_837is_written_by_others_give_one_entry_per_claim(path: Path) -> None:
    text = path.read_text(encoding="latin-1")
    decoded = decode_claim_file(text)
    segments = [s.strip() for s in text.replace("\n", "").replace("\r", "").split("~")]
    positions = [number for number, segment in enumerate(
        (s for s in segments if s), start=1) if segment.startswith("CLM*")]
    assert [c.position for c in decoded.claims] == positions
    for entry in decoded.claims:
        assert (entry.bill is None) != (entry.refusal is None)
        if entry.refusal is not None:
            assert entry.refusal.startswith("segment ")
        else:
            assert entry.findings  # every public 837I breaks a business rule
