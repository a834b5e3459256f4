"""835: every sample parses with its totals checked; decode -> encode -> decode is identity."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fnmatch import fnmatch
from pathlib import Path

import pytest
from medbill_payer_generic_x12.pyx12check import pyx12_verdict
from medbill_payer_generic_x12.transactions.remittance_835 import (
    PayerContact,
    decode_835,
    encode_835,
    stream_835,
)
from medbill_payer_generic_x12.x12 import X12Error, X12StructureError, X12ValueError
from x12_factories import FIXTURES

from medbill_core.api import (
    Address,
    AdjustmentGroup,
    ClaimPayment,
    ClaimStatusCode,
    CommunicationNumber,
    CommunicationQualifier,
    PayerContactFunction,
    PayerContactInfo,
    PaymentMethod,
    Remittance,
)

SAMPLES = sorted((FIXTURES / "835").iterdir())
#: Sample files with real defects (see fixtures/SOURCES.md): read leniently, refused strictly.
DEFECTIVE = {
    "edi835__blue_cross_nc_sample.txt": "segment 28 (SVC), element SVC02",
    "lfh__cob-contractural-adjustment.835": "segment 21 (SVC), element SVC01",
    "lfh__managed-care.835": "segment 4 (BPR), element BPR16",
    "lfh__secondary-payment.835": "segment 29 (SVC), element SVC01",
    "lfh__tertiary-payment.835": "segment 20 (SVC), element SVC01",
}
MULTI = FIXTURES / "835" / "medbill__two-payers-reversal-plb.835"

_ANY_PLAN = (("1 WALK THIS WAY", None, "ANYCITY", "OH", "45209"),
             [("CX", None, [("TE", "8661112222")]),
              ("BL", "EDI", [("TE", "8002223333"), ("EM", "EDI.SUPPORT@ANYPAYER.COM")]),
              ("IC", None, [("UR", "WWW.ANYPAYER.COM")])])
_DENTAL = (("225 MAIN STREET", None, "CENTERVILLE", "PA", "17111"),
           [("BL", "JANE DOE", [("TE", "9005555555")])])
_TAX_DOLLARS = (("481A00 DEAR RUN ROAD", None, "WEST PALM BCH", "FL", "11114"), [])
#: Loop 1000A of every sample (N3/N4 as line1, line2, city, state, ZIP; PER as function, name,
#: numbers), one entry per transaction set, by file name pattern.
PAYER_LOOPS = {
    "edi835__blue_cross_nc_sample.txt": [  # "PER*CX*TE*..." (name left out) read leniently
        (("P O BOX 2291", None, "DURHAM", "NC", "27702"), [("CX", None, [("TE", "8005554844")])])],
    "edi835__emedny_sample.txt": [
        (("OFFICE OF HEALTH INSURANCE PROGRAMS", "CORNING TOWER, EMPIRE STATE PLAZA", "ALBANY",
          "NY", "122370080"),
         [("BL", "PROVIDER SERVICES", [("TE", "8003439000"), ("UR", "www.emedny.org")])])],
    "edi835__united_healthcare_legacy_sample.txt": [
        (("9900 BREN ROAD", None, "MINNETONKA", "MN", "553439664"),
         [("CX", "UNITEDHEALTHCARE SERVICES INC AND ITS AFFILIATES", [("TE", "8778423210")]),
          ("BL", None, [("UR", "WWW.UNITEDHEALTHCAREONLINE.COM/B2C/CONTACTUS.DO")])])],
    "lfh__cob-contractural-adjustment.835": [_TAX_DOLLARS],
    "lfh__secondary-payment.835": [_TAX_DOLLARS],
    "lfh__tertiary-payment.835": [_TAX_DOLLARS],
    "lfh__managed-care.835": [(("10 SOUTH AVENUE", None, "RAPID CITY", "SD", "55111"), [])],
    "lfh__medicare-part-a.835": [(("1 MAIN STREET", None, "TIMBUCKTU", "AK", "89111"), [])],
    "medbill__two-payers-reversal-plb.835": [
        (("PO BOX 1000", None, "KANSAS CITY", "MO", "64101"),
         [("BL", None, [("TE", "8005550100")])]),
        (("PO BOX 2000", None, "ST LOUIS", "MO", "63101"),
         [("BL", None, [("TE", "8005550199")])])],
    "pyx12__835_mult_loops.txt": [
        (("P.O. BOX 30479", None, "LANSING", "MI", "48909"),
         [("BL", "JOHN WAYNE", [("TE", "9995551212")])])],
    "x12tr3__X221-claim-adjustment-reason-code-45.edi": [_ANY_PLAN],
    "x12tr3__X221-correcting-the-subscriber-example-*.edi": [_ANY_PLAN],
    "x12tr3__X221-line-service-line-penalty-*.edi": [_ANY_PLAN],
    "x12tr3__X221-not-covered-not-authorized-days.edi": [_ANY_PLAN],
    "x12tr3__X221-claim-specific-negotiated-discount.edi": [_DENTAL],
    "x12tr3__X221-coordination-of-benefits-example-*.edi": [_DENTAL],
    "x12tr3__X221-multiple-claims-single-check.edi": [_DENTAL],
    "x12tr3__X221-dollars-and-data-sent-separate.edi": [
        (("10 SOUTH AVENUET", None, "RAPID CITY", "SD", "55111"),
         [("BL", "JOHN WAYNE", [("TE", "8005551212"), ("EX", "123")])])],
}


def _payer_loop(remittance: Remittance) -> tuple:
    address = remittance.payer_address
    assert address is not None
    return ((address.line1, address.line2, address.city, address.state, address.postal_code),
            [(c.function.value, c.name, [(n.qualifier.value, n.number) for n in c.numbers])
             for c in remittance.payer_contacts])


def _decode(path: Path) -> list[Remittance]:
    return decode_835(path.read_text(encoding="latin-1"), strict=path.name not in DEFECTIVE)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_every_sample_parses_and_balances(path: Path) -> None:
    remittances = _decode(path)
    assert remittances
    for remittance in remittances:
        # Claim payments minus provider adjustments make the check (BPR02)...
        assert remittance.balance_difference() == 0
        for claim in remittance.claims:
            # ...and each claim's charge minus payment equals its adjustments.
            assert claim.is_balanced(), claim.claim_number
        # The fast construction holds exactly what pydantic validation would.
        assert Remittance.model_validate(remittance.model_dump()) == remittance
    (expected,) = [loops for pattern, loops in PAYER_LOOPS.items() if fnmatch(path.name, pattern)]
    assert [_payer_loop(remittance) for remittance in remittances] == expected


@pytest.mark.parametrize("name", DEFECTIVE)
def test_defective_samples_are_refused_strictly_with_a_position(name: str) -> None:
    with pytest.raises(X12Error) as caught:
        decode_835((FIXTURES / "835" / name).read_text(encoding="latin-1"))
    assert str(caught.value).startswith(DEFECTIVE[name])


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_decode_encode_decode_is_identity(path: Path) -> None:
    remittances = _decode(path)
    strict = path.name not in DEFECTIVE  # an empty procedure code read leniently stays empty
    assert decode_835(encode_835(remittances), strict=strict) == remittances


def test_several_transactions_payers_reversal_and_plb() -> None:
    first, second = decode_835(MULTI.read_text())
    assert (first.payer_name, first.payer_id, first.payment_method) == (
        "ACME HEALTH PLAN", "60054", PaymentMethod.CHECK)
    assert (second.payer_name, second.payer_id, second.payment_method) == (
        "MEDICARE PART B", "MCRB1", PaymentMethod.ACH)
    assert first.payee_npi == "1234567893" and first.payee_tax_id == "431234567"
    assert second.payee_npi is None and second.payee_tax_id == "431234567"
    claims = {claim.claim_number: claim for claim in first.claims}
    regular = claims["CLM1001"]
    assert regular.interest == Decimal("2.50")
    assert regular.remark_codes == ["MA01", "N130"]
    assert regular.patient_share() == Decimal("40.00")
    line_one, line_two = regular.services
    assert (line_one.modifiers, line_one.line_control_number, line_one.allowed_amount) == (
        ["25"], "LCN001", Decimal("160.00"))
    assert line_one.remark_codes == ["N130", "M15"]
    assert len(line_two.adjustments) == 6 and line_two.is_balanced()
    reversal = claims["CLM0999"]
    assert reversal.is_reversal and reversal.status is ClaimStatusCode.REVERSAL
    assert (reversal.charge, reversal.paid) == (Decimal("-150.00"), Decimal("-100.00"))
    assert reversal.adjustments[0].group is AdjustmentGroup.CONTRACTUAL
    denied = claims["CLM1002"]
    assert denied.services == [] and denied.status is ClaimStatusCode.DENIED
    assert claims["CLM1003"].remark_codes == ["MA04"]  # from MIA05
    assert [(p.reason_code, p.reference, p.amount) for p in first.provider_adjustments] == [
        ("L6", "CLM1001", Decimal("-2.50")), ("WO", "XYZ", Decimal("2.50"))]
    assert second.provider_adjustments[0].amount == Decimal("25.00")
    assert second.balance_difference() == 0


def test_encoded_835_is_clean_in_pyx12() -> None:
    remittances = decode_835(MULTI.read_text())
    contact = PayerContact(address=Address(line1="PO BOX 1000", city="KANSAS CITY", state="MO",
                                           postal_code="64101"),
                           technical_contact_phone="8005550100")
    valid, errors = pyx12_verdict(encode_835(remittances, payer_contact=contact))
    assert valid, errors


def test_streaming_hands_out_claims_one_by_one(tmp_path: Path) -> None:
    path = tmp_path / "multi.835"
    path.write_text(MULTI.read_text())
    seen = []
    for stream in stream_835(path, chunk_size=64):  # tiny chunks: segments span chunk borders
        numbers = [claim.claim_number for claim in stream.claims()]
        seen.append((stream.header.payer_name, numbers, len(stream.provider_adjustments)))
    assert seen == [("ACME HEALTH PLAN", ["CLM1001", "CLM0999", "CLM1002", "CLM1003"], 2),
                    ("MEDICARE PART B", ["CLM1004"], 1)]


def test_line_breaks_between_segments_are_tolerated() -> None:
    text = MULTI.read_text().replace("~\n", "~\r\n")
    assert decode_835(text) == decode_835(MULTI.read_text())


# -- payer loop 1000A: address and contacts --------------------------------------------------------

def _interchange(*segments: str) -> str:
    """A one-transaction 835 interchange around ``segments`` (BPR to the end)."""
    body = ["ST*835*0001", *segments]
    body.append(f"SE*{len(body) + 1}*0001")
    return "~\n".join([
        "ISA*00*          *00*          *ZZ*CLEARINGHOUSE  *ZZ*MEDBILL        *240316*0900*^*"
        "00501*000000777*0*T*:",
        "GS*HP*CLEARINGHOUSE*MEDBILL*20240316*0900*777*X*005010X221A1", *body, "GE*1*777",
        "IEA*1*000000777"]) + "~\n"


PAYMENT = ("BPR*I*100*C*CHK************20240315", "TRN*1*CHK2001*1999999999", "DTM*405*20240314")
CLAIM = ("LX*1", "CLP*CLM2001*1*150*100*0*12*PCN2001*11*1", "CAS*CO*45*50",
         "REF*6R*NOT-A-PAYER-REF", "DTM*050*20240310")
PAYER_LOOP_1000A = (
    "N1*PR*ACME HEALTH PLAN*XV*60054", "N3*PO BOX 1000*DEPT 12", "N4*KANSAS CITY*MO*64101-0100",
    "REF*2U*60054", "REF*NF*NAIC1", "PER*CX*CLAIMS UNIT*TE*8005550100*EX*22*FX*8005550101",
    "PER*BL*EDI HELP DESK*TE*8005550102*EM*EDI@ACME.EXAMPLE*UR*WWW.ACME.EXAMPLE/EDI",
    "PER*BL**EM*EDI2@ACME.EXAMPLE", "PER*IC**UR*WWW.ACME.EXAMPLE")
PAYEE_LOOP_1000B = ("N1*PE*SUNRISE FAMILY MEDICINE*XX*1234567893", "N3*1 CLINIC WAY",
                    "N4*ST LOUIS*MO*63101", "REF*TJ*431234567")


def _contact(function: PayerContactFunction, name: str | None,
             *numbers: tuple[CommunicationQualifier, str]) -> PayerContactInfo:
    return PayerContactInfo(function=function, name=name, numbers=[
        CommunicationNumber(qualifier=qualifier, number=number) for qualifier, number in numbers])


T, EX, EM, FX, UR = (CommunicationQualifier.PHONE, CommunicationQualifier.EXTENSION,
                     CommunicationQualifier.EMAIL, CommunicationQualifier.FAX,
                     CommunicationQualifier.URL)
CX, BL, IC = (PayerContactFunction.BUSINESS, PayerContactFunction.TECHNICAL,
              PayerContactFunction.WEB_SITE)


def test_payer_address_and_contacts_are_decoded_from_loop_1000a_only() -> None:
    text = _interchange(*PAYMENT, *PAYER_LOOP_1000A, *PAYEE_LOOP_1000B, *CLAIM)
    (remittance,) = decode_835(text)
    assert remittance.payer_address == Address(line1="PO BOX 1000", line2="DEPT 12",
                                               city="KANSAS CITY", state="MO",
                                               postal_code="641010100")
    assert remittance.payer_contacts == [
        _contact(CX, "CLAIMS UNIT", (T, "8005550100"), (EX, "22"), (FX, "8005550101")),
        _contact(BL, "EDI HELP DESK", (T, "8005550102"), (EM, "EDI@ACME.EXAMPLE"),
                 (UR, "WWW.ACME.EXAMPLE/EDI")),
        _contact(BL, None, (EM, "EDI2@ACME.EXAMPLE")),
        _contact(IC, None, (UR, "WWW.ACME.EXAMPLE")),
    ]
    business, technical, _, site = remittance.payer_contacts
    assert (business.phone, business.extension, business.fax, business.email) == (
        "8005550100", "22", "8005550101", None)
    assert (technical.email, technical.url, site.url) == (
        "EDI@ACME.EXAMPLE", "WWW.ACME.EXAMPLE/EDI", "WWW.ACME.EXAMPLE")
    # REF and DTM of 1000A and of the claim still land where they did.
    assert (remittance.payer_id, remittance.payee_tax_id) == ("60054", "431234567")
    assert remittance.claims[0].received_date is not None
    assert Remittance.model_validate(remittance.model_dump()) == remittance
    assert decode_835(encode_835([remittance])) == [remittance]


def test_a_remittance_without_1000a_details_decodes_to_none_and_empty() -> None:
    text = _interchange(*PAYMENT, "N1*PR*ACME HEALTH PLAN", *PAYEE_LOOP_1000B, *CLAIM)
    (remittance,) = decode_835(text)
    assert remittance.payer_address is None and remittance.payer_contacts == []
    assert decode_835(encode_835([remittance])) == [remittance]


def test_a_foreign_payer_address_is_not_kept() -> None:
    text = _interchange(*PAYMENT, "N1*PR*ACME HEALTH PLAN", "N3*1 KING ST", "N4*TORONTO***CA",
                        *PAYEE_LOOP_1000B, *CLAIM)
    (remittance,) = decode_835(text)
    assert remittance.payer_address is None


@pytest.mark.parametrize(("segments", "message", "error"), [
    (("N3*PO BOX 1000", "N4*KANSAS CITY*MO*6410"),
     "segment 9 (N4), element N403: N403 payer ZIP code", X12ValueError),
    (("N3*PO BOX 1000", "N4*KANSAS CITY**64101"),
     "segment 9 (N4), element N402: N402 payer state as a 2-letter code (required)",
     X12StructureError),
    (("N4*KANSAS CITY*MO*64101",), "segment 8 (N4): N3 payer address before N4",
     X12StructureError),
    (("PER*XX**TE*8005550100",), "segment 8 (PER), element PER01", X12ValueError),
    (("PER*BL**ZZ*8005550100",), "segment 8 (PER), element PER03", X12ValueError),
    (("PER*BL**TE",), "segment 8 (PER), element PER04", X12StructureError),
    (("PER*CX*TE*8005550100",), "segment 8 (PER), element PER02", X12StructureError),
])
def test_defects_in_loop_1000a_are_positioned_warnings_that_never_block_the_payment(
        segments: tuple[str, ...], message: str, error: type) -> None:
    # The payer's address and contacts are information: a defect there is noted, in strict
    # mode too, and the payment is still read.
    text = _interchange(*PAYMENT, "N1*PR*ACME HEALTH PLAN", *segments, *PAYEE_LOOP_1000B,
                        *CLAIM)
    for strict in (True, False):
        warnings: list[X12Error] = []
        (remittance,) = decode_835(text, strict=strict, warnings=warnings)
        assert remittance.claims and remittance.payer_address is None
        assert isinstance(warnings[0], error) and str(warnings[0]).startswith(message)
        assert Remittance.model_validate(remittance.model_dump()) == remittance


def test_a_per_without_its_name_element_is_read_with_a_warning() -> None:
    text = _interchange(*PAYMENT, "N1*PR*ACME HEALTH PLAN", "PER*CX*TE*8005550100*EX*22",
                        *PAYEE_LOOP_1000B, *CLAIM)
    warnings: list[X12Error] = []
    (remittance,) = decode_835(text, warnings=warnings)
    assert remittance.payer_contacts == [_contact(CX, None, (T, "8005550100"), (EX, "22"))]
    assert [str(w) for w in warnings] == [
        "segment 8 (PER), element PER02: PER02 name (may be empty) before the communication "
        "numbers"]


DOMAIN_REMITTANCE = Remittance(
    trace_number="EFT0001", payer_trace_id="1431234567", payment_amount=Decimal("100.00"),
    payment_method=PaymentMethod.ACH, payment_date=date(2024, 3, 16), payer_name="ACME HEALTH PLAN",
    payer_id="60054", payee_name="SUNRISE FAMILY MEDICINE", payee_npi="1234567893",
    payer_address=Address(line1="PO BOX 1000", line2="SUITE 5", city="KANSAS CITY", state="MO",
                          postal_code="641010100"),
    payer_contacts=[_contact(CX, "PROVIDER SERVICES", (T, "8005550100"), (EX, "12")),
                    _contact(BL, "EDI SUPPORT", (T, "8005550102"), (EM, "EDI@ACME.EXAMPLE")),
                    _contact(BL, None, (UR, "WWW.ACME.EXAMPLE/EDI")),
                    _contact(IC, None, (UR, "WWW.ACME.EXAMPLE"))],
    claims=decode_835(MULTI.read_text())[1].claims, provider_adjustments=[])


def test_remittance_with_payer_address_and_contacts_round_trips_and_is_clean_in_pyx12() -> None:
    remittance = DOMAIN_REMITTANCE.model_copy(update={
        "payment_amount": sum((c.paid for c in DOMAIN_REMITTANCE.claims), Decimal("0.00"))})
    text = encode_835([remittance])
    assert "N3*PO BOX 1000*SUITE 5~N4*KANSAS CITY*MO*641010100~REF*2U*60054~PER*CX*" in text
    assert decode_835(text) == [remittance]
    valid, errors = pyx12_verdict(text)
    assert valid, errors


def test_contacts_are_written_in_x221a1_order() -> None:
    contacts = DOMAIN_REMITTANCE.payer_contacts
    shuffled = DOMAIN_REMITTANCE.model_copy(update={
        "payer_contacts": [contacts[3], contacts[1], contacts[0], contacts[2]]})
    (decoded,) = decode_835(encode_835([shuffled]))
    assert decoded.payer_contacts == contacts


def test_payer_contact_argument_is_the_fallback_for_what_a_remittance_lacks() -> None:
    fallback = PayerContact(address=Address(line1="PO BOX 9", city="ST LOUIS", state="MO",
                                            postal_code="63101"),
                            technical_contact_phone="8005550199",
                            technical_contact_url="WWW.FALLBACK.EXAMPLE")
    bare = DOMAIN_REMITTANCE.model_copy(update={"payer_address": None, "payer_contacts": []})
    (decoded,) = decode_835(encode_835([bare], payer_contact=fallback))
    assert decoded.payer_address == fallback.address
    assert decoded.payer_contacts == [_contact(BL, None, (T, "8005550199"),
                                               (UR, "WWW.FALLBACK.EXAMPLE"))]
    # What the Remittance has wins, each part on its own.
    only_contacts = DOMAIN_REMITTANCE.model_copy(update={"payer_address": None})
    (decoded,) = decode_835(encode_835([only_contacts], payer_contact=fallback))
    assert decoded.payer_address == fallback.address
    assert decoded.payer_contacts == DOMAIN_REMITTANCE.payer_contacts
    (decoded,) = decode_835(encode_835([DOMAIN_REMITTANCE], payer_contact=fallback))
    assert decoded == DOMAIN_REMITTANCE


def test_a_value_a_model_refuses_is_still_a_positioned_error(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The backstop under the element checks: a model refusing a value none of them caught
    (none is known: simulated here) is an X12ValueError naming the fields where the reader
    is, not pydantic's own exception (the command line would print a traceback)."""
    from medbill_payer_generic_x12.transactions import remittance_835

    def refused(claim: dict[str, object], service: object) -> ClaimPayment:
        return ClaimPayment.model_validate({**claim, "paid": "12.345", "services": []})

    monkeypatch.setattr(remittance_835, "_finish_claim", refused)
    with pytest.raises(X12ValueError) as raised:
        decode_835(_interchange(*PAYMENT, *PAYER_LOOP_1000A, *PAYEE_LOOP_1000B, *CLAIM))
    # the segment being read when the claim payment was completed: here the set's SE
    assert raised.value.segment_index == 25 and str(raised.value).startswith("segment 25")
    assert "valid paid" in str(raised.value) and "12.345" not in str(raised.value)


# -- amounts are whole cents, never rounded ------------------------------------------------------

#: A balanced one-claim 835 (segments 4 to 16) holding each money element the decoder reads.
CENTS = ("BPR*I*50*C*CHK************20240315", "TRN*1*CHK2001*1999999999",
         "N1*PR*ACME HEALTH PLAN*XV*60054", "N1*PE*SUNRISE FAMILY MEDICINE*XX*1234567893",
         "LX*1", "CLP*CLM2001*1*150*50*0*12*PCN2001*11*1", "CAS*CO*45*25", "MOA**0*MA01",
         "AMT*I*0", "SVC*HC:99213*125*50", "CAS*CO*45*75**253*0", "AMT*B6*50",
         "PLB*1234567893*20241231*WO:XYZ*0")
SUB_CENT = "more than two decimal places (amounts are in cents; never rounded)"


def _cents_835(segment_index: int, element: int, text: str) -> str:
    """:data:`CENTS` with element ``element`` of segment ``segment_index`` written ``text``."""
    segments = list(CENTS)
    elements = segments[segment_index - 4].split("*")
    elements[element] = text
    segments[segment_index - 4] = "*".join(elements)
    return _interchange(*segments)


@pytest.mark.parametrize(("segment_index", "element", "text", "what"), [
    (4, 2, "50.004", "BPR02 total payment amount"),
    (9, 3, "150.001", "CLP03 total claim charge"),
    (9, 4, "50.004", "CLP04 claim payment amount"),
    (9, 4, "50.005", "CLP04 claim payment amount"),  # half-up rounding made it 50.01
    (9, 5, "0.001", "CLP05 patient responsibility"),
    (10, 3, "24.996", "CAS03 amount"),
    (11, 2, "0.004", "MOA02 hcpcs payable amount"),
    (12, 2, "-0.001", "AMT02 interest"),
    (13, 2, "125.0001", "SVC02 line charge"),
    (13, 3, "49.999", "SVC03 line payment"),
    (14, 3, "74.996", "CAS03 amount"),
    (14, 6, "0.004", "CAS06 amount"),
    (15, 2, "50.004", "AMT02 allowed amount"),
    (16, 4, "0.001", "PLB04 amount"),
], ids=str)
def test_an_amount_with_fractions_of_a_cent_is_refused_never_rounded(
        segment_index: int, element: int, text: str, what: str) -> None:
    """``50.004`` was read as 50.00 and ``74.996`` as 75.00 (so the claim still balanced):
    amounts are cents, so one that is not is a positioned error like any unreadable one."""
    with pytest.raises(X12ValueError) as caught:
        decode_835(_cents_835(segment_index, element, text))
    tag = CENTS[segment_index - 4].split("*")[0]
    assert str(caught.value) == (f"segment {segment_index} ({tag}), element {tag}{element:02d}: "
                                 f"{what}: {SUB_CENT}")
    assert caught.value.ack_code == "6" and text not in str(caught.value)


def test_trailing_zeros_are_whole_cents() -> None:
    [base] = decode_835(_interchange(*CENTS))
    assert base.balance_difference() == 0 and base.claims[0].is_balanced()
    [paid] = decode_835(_cents_835(9, 4, "50.500"))
    assert paid.claims[0].paid == Decimal("50.50") and str(paid.claims[0].paid) == "50.50"
    assert decode_835(_cents_835(10, 3, "25.000")) == [base]
    assert decode_835(_cents_835(14, 6, "0.0000")) == [base]


def test_lenient_reading_leaves_out_what_holds_fractions_of_a_cent_and_says_so() -> None:
    """As for an amount that cannot be read at all: the record holding it is skipped (never
    posted rounded), the positioned problem kept as an error finding."""
    from medbill_payer_generic_x12.codec import read_document

    claim = read_document(_cents_835(9, 4, "50.004"), lenient=True)
    [remittance] = claim.objects
    assert remittance.claims == []
    first = claim.findings[0]
    assert (first.segment_index, first.segment_id, first.element) == (9, "CLP", 4)
    assert first.message == f"CLP04 claim payment amount: {SUB_CENT}"
    assert first.severity.value == "error"
    adjustment = read_document(_cents_835(14, 3, "74.996"), lenient=True)
    [kept] = adjustment.objects[0].claims
    assert [a.amount for a in kept.services[0].adjustments] == [Decimal("0.00")]
    assert kept.paid == Decimal("50.00")
    assert str(adjustment.findings[0]).endswith(f"CAS03 amount: {SUB_CENT}")
    with pytest.raises(X12ValueError, match="BPR02"):  # no payment without its amount
        read_document(_cents_835(4, 2, "50.004"), lenient=True)
