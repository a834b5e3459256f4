"""837I: every generated interchange is clean in pyx12 (its 005010X223A2 map), decodes back to
the same claims, and files written by others are read or refused with a position."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from medbill_payer_generic_x12.codec import decode_document, detect_kind
from medbill_payer_generic_x12.pyx12check import pyx12_verdict
from medbill_payer_generic_x12.transactions.claim_837i import decode_837i, encode_837i
from medbill_payer_generic_x12.x12 import (
    MemoryControlNumbers,
    X12EncodeError,
    X12Error,
    X12StructureError,
    X12ValueError,
)
from x12_factories import RENDERING_NPI, payer
from x12_institutional_factories import (
    ATTENDING_NPI,
    inpatient,
    outpatient,
    secondary_inpatient,
)

from medbill_core.api import (
    BillableClaim,
    DocumentKind,
    PresentOnAdmission,
    Relationship,
    npi_with_check_digit,
)

NOW = datetime(2024, 3, 5, 10, 30)
FIXTURES = Path(__file__).parent / "fixtures" / "public" / "837I"

SHAPES: dict[str, list[BillableClaim]] = {
    "outpatient 0131": [outpatient()],
    "inpatient 0111 with every code list": [inpatient()],
    "patient not subscriber": [outpatient(relationship=Relationship.CHILD)],
    "relationship only 837I allows (G8)": [outpatient(relationship=Relationship.OTHER)],
    "secondary with 2320/2330 and 2430 by revenue code": [secondary_inpatient()],
    "several claims and payers": [
        outpatient("I1"), inpatient("I2"),
        outpatient("I3", the_payer=payer("87726", "FIRST PAYER INC", "CI"))],
}


def _as_sent(bill: BillableClaim, decoded: BillableClaim) -> BillableClaim:
    """``bill`` with the place of service the decoder derives (an 837I sends none)."""
    return bill.model_copy(update={"claim": bill.claim.model_copy(
        update={"place_of_service": decoded.claim.place_of_service})})


@pytest.mark.parametrize("shape", SHAPES)
def test_generated_837i_is_clean_in_pyx12(shape: str) -> None:
    batch = encode_837i(SHAPES[shape], now=NOW, control_numbers=MemoryControlNumbers(),
                        line_breaks=True)
    valid, errors = pyx12_verdict(batch.text)
    assert valid, errors


@pytest.mark.parametrize("shape", SHAPES)
def test_837i_round_trip_is_identity(shape: str) -> None:
    claims = SHAPES[shape]
    batch = encode_837i(claims, now=NOW)
    decoded = {c.claim.claim_number: c for c in decode_837i(batch.text)}
    assert set(decoded) == {c.claim.claim_number for c in claims}
    for bill in claims:
        assert decoded[bill.claim.claim_number] == _as_sent(bill, decoded[bill.claim.claim_number])


def test_inpatient_segments_carry_each_institutional_field() -> None:
    text = encode_837i([inpatient()], now=NOW).text
    segments = text.split("~")
    for expected in ("CLM*CLMI2001*12280***11:A:1**A*Y*Y", "DTP*096*TM*1100",
                     "DTP*434*RD8*20240301-20240304", "DTP*435*DT*202403011400", "CL1*1*7*01",
                     "HI*ABK:K3580:::::::Y", "HI*ABJ:R1031", "HI*ABN:W010XXA", "HI*DR:343",
                     "HI*ABF:E119:::::::N*ABF:Z880", "HI*BBR:0DTJ4ZZ:D8:20240301",
                     "HI*BBQ:0DJD8ZZ:D8:20240302", "HI*BI:74:RD8:20240302-20240303",
                     "HI*BH:11:D8:20240228", "HI*BE:80:::3*BE:A1:::250.5", "HI*BG:39*BG:A1",
                     f"NM1*71*1*WELBY*MARCUS****XX*{ATTENDING_NPI}", "PRV*AT*PXC*207R00000X",
                     "SV2*0120**3600*UN*3", "DTP*472*RD8*20240301-20240303"):
        assert expected in segments, expected
    # the X223A2 order of the HI code lists (pyx12 checks positions, not this order)
    hi = [segment.split("*")[1].split(":")[0] for segment in segments if segment[:3] == "HI*"]
    assert hi == ["ABK", "ABJ", "ABN", "DR", "ABF", "BBR", "BBQ", "BI", "BH", "BE", "BG"]


def test_outpatient_lines_carry_hcpcs_with_modifiers_and_no_poa() -> None:
    text = encode_837i([outpatient()], now=NOW).text
    assert "SV2*0450*HC:99284:25*1250*UN*1~" in text
    assert "HI*ABK:J189~" in text and "HI*APR:R0602~" in text
    assert "DTP*435*DT*202403010900~" in text and "DTP*096" not in text


def test_more_than_twelve_codes_of_a_list_take_a_second_hi() -> None:
    bill = inpatient()
    details = bill.claim.institutional
    assert details is not None
    many = bill.model_copy(update={"claim": bill.claim.model_copy(update={
        "institutional": details.model_copy(update={
            "condition_codes": [f"{n:02d}" for n in range(20, 34)]})})})
    text = encode_837i([many], now=NOW).text
    condition_segments = [s for s in text.split("~") if s.startswith("HI*BG:")]
    assert [s.count("BG:") for s in condition_segments] == [12, 2]
    assert pyx12_verdict(text)[0]
    assert decode_837i(text)[0].claim.institutional == many.claim.institutional


def test_a_professional_claim_is_refused_naming_it() -> None:
    bill = outpatient()
    professional = bill.model_copy(update={"claim": bill.claim.model_copy(
        update={"kind": "professional", "institutional": None})})
    with pytest.raises(X12EncodeError) as caught:
        encode_837i([professional], now=NOW)
    assert "CLMI1001" in str(caught.value) and "institutional" in str(caught.value)


def test_an_attending_npi_without_its_provider_record_is_refused() -> None:
    bill = outpatient().model_copy(update={"attending_provider": None})
    with pytest.raises(X12EncodeError) as caught:
        encode_837i([bill], now=NOW)
    message = str(caught.value)
    assert "2310A" in message and "CLMI1001" in message and ATTENDING_NPI not in message


def test_codec_recognises_837i_and_the_adapter_does_not_take_it_as_a_response() -> None:
    text = encode_837i([outpatient(), inpatient()], now=NOW).text
    assert detect_kind(text) is DocumentKind.CLAIM_837I
    kind, objects = decode_document(text)
    assert kind is DocumentKind.CLAIM_837I
    assert [bill.claim.claim_number for bill in objects] == ["CLMI1001", "CLMI2001"]
    assert [bill.claim.type_of_bill for bill in objects] == ["0131", "0111"]


def test_a_missing_statement_date_is_a_positioned_error() -> None:
    text = encode_837i([outpatient()], now=NOW).text.replace(  # same segment count
        "DTP*434*RD8*20240301-20240301~", "DTP*050*D8*20240301~")
    with pytest.raises(X12StructureError) as caught:
        decode_837i(text)
    assert caught.value.segment_id == "DTP" and "434" in str(caught.value)


def test_a_bad_admission_hour_is_a_positioned_error() -> None:
    text = encode_837i([outpatient()], now=NOW).text.replace("202403010900", "202403012900")
    with pytest.raises(X12ValueError) as caught:
        decode_837i(text)
    assert caught.value.segment_id == "DTP" and caught.value.element == 3


def test_a_value_amount_is_never_rounded() -> None:
    text = encode_837i([inpatient()], now=NOW).text.replace("BE:A1:::250.5", "BE:A1:::250.555")
    with pytest.raises(X12Error) as caught:
        decode_837i(text)
    assert "values" in str(caught.value) and "Traceback" not in str(caught.value)


# -- files written by others ----------------------------------------------------------------------

#: LinuxForHealth x12 (Apache-2.0) and stupidedi test files: 005010X223A3, ICD-9 diagnoses,
#: NPIs without a valid check digit. A strict read refuses each with the segment at fault, never
#: a traceback (test_837i_findings.py reads them with findings).
REFUSED = {
    "lfh__institutional-claim.837i": (10, "npi"),
    "lfh__two-claims-single-provider.837i": (10, "npi"),
    # HI written with '>' although ISA16 names ':' as the component separator
    "lfh__ppo-repriced-claim.837i": (33, "HI01"),
    "lfh__out-of-network-repriced-claim.837i": (27, "HI01"),
    # DTP*434 RD8 with a single date: refused however it is read
    "stupidedi__837-institutional-claim.edi": (23, "DTP03"),
}


@pytest.mark.parametrize("name", REFUSED)
def test_files_written_by_others_are_refused_with_their_position(name: str) -> None:
    text = (FIXTURES / name).read_text()
    assert detect_kind(text) is DocumentKind.CLAIM_837I
    with pytest.raises(X12Error) as caught:
        decode_837i(text)
    index, what = REFUSED[name]
    assert caught.value.segment_index == index
    assert what in str(caught.value)


def _with_valid_codes(text: str) -> str:
    """The file with its NPIs given valid check digits, its ICD-9 codes as ICD-10 and its
    taxonomy code as NUCC spells it (they all end in X)."""
    for old, new in (("1234567890", npi_with_check_digit("123456789")),
                     ("1122334455", npi_with_check_digit("112233445")),
                     ("9999999999", RENDERING_NPI),
                     ("BK:3669", "ABK:H269"), ("BF:4019", "ABF:I10"),
                     ("BF:79431", "ABF:R9431"), ("BK:30000", "ABK:F410"),
                     ("363LP0200N", "363LP0200X")):
        text = text.replace(old, new)
    return text


def test_two_claims_written_by_others_decode_field_by_field() -> None:
    text = _with_valid_codes((FIXTURES / "lfh__two-claims-single-provider.837i")
                             .read_text())
    first, second = decode_837i(text)
    assert first.claim.claim_number == "756048Q" and second.claim.claim_number == "756049Q"
    assert first.claim.type_of_bill == "0131" and first.claim.place_of_service == "22"
    assert first.claim.diagnoses == ["H269", "I10", "R9431"]
    assert first.claim.service_date_from == first.claim.service_date_to == date(2005, 3, 15)
    assert first.claim.accepts_assignment is False  # CLM07 = C
    details = first.claim.institutional
    assert details is not None
    assert (details.admission_type, details.admission_source, details.patient_status) == \
        ("1", None, "01")
    assert details.present_on_admission == []
    assert details.attending_provider_npi == npi_with_check_digit("112233445")
    assert first.attending_provider is not None and first.attending_provider.last_name == "JONES"
    assert [(line.revenue_code, line.procedure_code, line.charge, line.units)
            for line in first.claim.lines] == [
        ("0305", "85025", Decimal("13.39"), Decimal("1.00")),
        ("0730", "93005", Decimal("76.56"), Decimal("3.00"))]
    assert first.payer is not None and first.payer.claim_filing_indicator == "CH"
    assert second.claim.total_charge == Decimal("50.00")
    assert second.attending_provider is not None
    assert second.attending_provider.taxonomy == "363LP0200X"
    assert second.claim.institutional is not None
    assert second.claim.institutional.present_on_admission == []


def test_poa_indicators_are_read_per_diagnosis() -> None:
    decoded = decode_837i(encode_837i([inpatient()], now=NOW).text)[0]
    assert decoded.claim.institutional is not None
    assert decoded.claim.institutional.present_on_admission == [
        PresentOnAdmission.YES, PresentOnAdmission.NO, None]


def test_mutated_837i_documents_give_a_positioned_error_or_claims_never_a_traceback() -> None:
    """Segment deletion, duplication, truncation, garbled elements and component separators,
    600 seeded mutations of three generated documents (the project-wide hypothesis fuzzing
    of every decoder goes through decode_document as well)."""
    import random

    texts = [encode_837i(claims, now=NOW).text for claims in (
        [inpatient()], [outpatient(relationship=Relationship.CHILD)], [secondary_inpatient()])]
    rng = random.Random(837)
    outcomes = {"claims": 0, "error": 0}
    for _ in range(600):
        segments = rng.choice(texts).split("~")
        at = rng.randrange(3, len(segments) - 4)
        elements = segments[at].split("*")
        operation = rng.randrange(5)
        if operation == 0:
            del segments[at]
        elif operation == 1:
            segments.insert(at, segments[at])
        elif operation == 2:
            elements[rng.randrange(len(elements))] = rng.choice(
                ["", "X", "9" * 30, "1.2.3", ":", "ABK:Z", "20249999", "DT", "RD8"])
            segments[at] = "*".join(elements)
        elif operation == 3:
            segments = segments[:at]
        else:
            segments[at] = segments[at].replace(":", rng.choice([">", "", "::"]))
        try:
            decode_837i("~".join(segments))
            outcomes["claims"] += 1
        except X12Error as exc:
            assert exc.segment_index is not None and "Traceback" not in str(exc)
            outcomes["error"] += 1
    assert outcomes["claims"] > 0 and outcomes["error"] > 0
