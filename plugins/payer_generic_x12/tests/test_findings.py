"""Structure apart from business rules: a sound document decodes into objects plus positioned
findings; ``--strict`` refuses it for them; structural defects stay positioned errors. And the
reader fixes found running files written by others (byte-order mark, ISA11 = U, indentation,
changed delimiters, garbled amounts read leniently, 835s that do not balance)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from medbill_payer_generic_x12.adapter import GenericX12Adapter
from medbill_payer_generic_x12.cli import app
from medbill_payer_generic_x12.codec import decode_document, read_document
from medbill_payer_generic_x12.transactions.claim_837p import decode_837p, encode_837p
from medbill_payer_generic_x12.transactions.remittance_835 import decode_835, stream_835_text
from medbill_payer_generic_x12.x12 import MemoryControlNumbers
from medbill_payer_generic_x12.x12.errors import (
    X12EnvelopeError,
    X12StructureError,
    X12SyntaxError,
    X12ValueError,
)
from medbill_payer_generic_x12.x12.findings import FindingSeverity, X12FindingsError
from typer.testing import CliRunner
from x12_factories import FIXTURES, claim, coverage, payer

from medbill_core.api import DocumentKind, InboundDocument, Relationship

runner = CliRunner()
COB4 = FIXTURES / "837P-X222A2" / "lfh__demo.cob.example4.837"
REASON_45 = FIXTURES / "835" / "x12tr3__X221-claim-adjustment-reason-code-45.edi"
MULTIPLE = FIXTURES / "835" / "x12tr3__X221-multiple-claims-single-check.edi"
TWO_PAYERS = FIXTURES / "835" / "medbill__two-payers-reversal-plb.835"


def _positions(findings) -> list[tuple[int | None, str | None, int | None]]:
    return [(f.segment_index, f.segment_id, f.element) for f in findings]


# -- 837P: business rules are findings ------------------------------------------------------------

def test_an_837p_breaking_business_rules_decodes_with_positioned_findings() -> None:
    """lfh's COB example: a billing NPI with a wrong check digit, an EIN prefix the IRS never
    assigns, ICD-9 (BK/BF) diagnoses, a referring provider without NPI. Refused whole before."""
    result = read_document(COB4.read_text(encoding="latin-1"))
    assert result.kind is DocumentKind.CLAIM_837P
    [bill] = result.objects
    # values are kept as sent, never replaced
    assert bill.practice.npi == "0100000009"
    assert bill.claim.billing_provider_npi == "0100000009"
    assert bill.practice.tax_id == "890123456"
    assert bill.claim.diagnoses == ["71516", "71906"]
    assert bill.referring_provider is None  # no NPI to keep: left out, with a finding
    assert bill.claim.total_charge == Decimal("120.00")
    assert _positions(result.findings) == [
        (9, "NM1", 9), (12, "REF", 2), (23, "HI", 1), (23, "HI", 2), (24, "NM1", 9),
        (23, "HI", 1), (23, "HI", 2), (26, "NM1", 9)]
    messages = [f.message for f in result.findings]
    assert messages[0] == ("2010AA billing provider npi: NPI check digit is wrong (Luhn over "
                           "80840 + first nine digits)")
    assert messages[2].startswith("ICD-10-CM qualifier ABK/ABF (BK/BF are ICD-9-CM")
    assert {f.claim_number for f in result.findings[4:]} == {"101KEN6055"}
    assert all(f.severity is FindingSeverity.ERROR for f in result.findings)


def test_findings_name_positions_never_patient_data() -> None:
    text = COB4.read_text(encoding="latin-1")
    result = read_document(text)
    rendered = " ".join(str(f) for f in result.findings)
    for value in ("MEDYUM", "WAYNE", "102200221B1", "19560110", "THOUSAND OAK", "0100000009",
                  "71516"):
        assert value in text
        assert value not in rendered


def test_strict_reading_refuses_the_findings() -> None:
    text = COB4.read_text(encoding="latin-1")
    with pytest.raises(X12FindingsError) as caught:
        read_document(text, strict=True)
    assert len(caught.value.findings) == 8
    assert caught.value.segment_index == 9 and caught.value.element == 9
    assert str(caught.value).endswith("(and 7 more finding(s))")
    with pytest.raises(X12ValueError):  # decode_837p refuses by default, as before
        decode_837p(text)
    [kept] = decode_837p(text, strict=False)
    assert kept.practice.npi == "0100000009"


def test_cli_parse_lists_findings_and_strict_refuses_one_line_each(tmp_path) -> None:
    result = runner.invoke(app, ["parse", str(COB4)])
    assert result.exit_code == 0
    lines = result.stdout.strip().splitlines()
    assert lines[0] == ("lfh__demo.cob.example4.837: error: segment 9 (NM1), element NM109: "
                        "2010AA billing provider npi: NPI check digit is wrong (Luhn over 80840 "
                        "+ first nine digits)")
    assert lines[-1] == "lfh__demo.cob.example4.837: 837P, 1 claim(s), 8 finding(s)"
    strict = runner.invoke(app, ["parse", "--strict", str(COB4)])
    assert strict.exit_code == 1
    assert len(strict.stderr.strip().splitlines()) == 8
    assert strict.stdout == ""
    as_json = runner.invoke(app, ["parse", "--json", str(COB4)])
    payload = json.loads(as_json.stdout)
    assert payload["count"] == 1 and payload["refused"] is False
    assert payload["findings"][1]["segment_id"] == "REF"
    assert payload["findings"][1]["element"] == 2
    assert payload["documents"][0]["practice"]["npi"] == "0100000009"


def test_a_code_not_valid_on_the_date_of_service_is_a_finding() -> None:
    """Well formed, but ICD-10-CM has no such code: read, and found."""
    text = encode_837p([claim("CLM7001")]).text
    [diagnosis] = [part for part in text.split("~") if part.startswith("HI*")]
    unknown = text.replace(diagnosis, "HI*ABK:Z9999")
    result = read_document(unknown)
    [bill] = result.objects
    assert bill.claim.diagnoses == ["Z9999"]
    [finding] = result.findings
    assert finding.segment_id == "HI" and finding.element == 1
    assert finding.message == "diagnosis 1: not an ICD-10-CM code"
    assert finding.claim_number == "CLM7001"
    assert read_document(text).findings == []  # the original code is valid on its date


def _dependent_claim_text() -> str:
    the_payer = payer()
    bill = claim("CLM7101")
    bill = bill.model_copy(update={"coverage": coverage(the_payer,
                                                        relationship=Relationship.CHILD)})
    return encode_837p([bill]).text


def test_a_patient_loop_without_its_patient_name_is_a_positioned_structural_error() -> None:
    """The traceback of issue 17 (``assert patient_person is not None``): a 2000C loop whose
    NM1*QC is missing."""
    text = _dependent_claim_text()
    segments = text.split("~")
    qc = next(i for i, s in enumerate(segments) if s.startswith("NM1*QC"))
    del segments[qc:qc + 4]  # NM1*QC, N3, N4, DMG
    broken = _recount("~".join(segments))
    with pytest.raises(X12StructureError) as caught:
        read_document(broken)
    assert caught.value.segment_id == "NM1"
    assert caught.value.segment_index == segments.index(
        next(s for s in segments if s.startswith("CLM*"))) + 1
    assert "NM1*QC patient name in loop 2010CA (required)" in str(caught.value)


def test_a_patient_loop_without_pat_is_a_structural_error() -> None:
    text = _dependent_claim_text()
    segments = text.split("~")
    pat = next(i for i, s in enumerate(segments) if s.startswith("PAT*"))
    del segments[pat]
    with pytest.raises(X12StructureError, match="PAT in patient loop 2000C"):
        read_document(_recount("~".join(segments)))


def test_a_subscriber_not_said_to_be_the_patient_without_a_patient_loop_is_a_finding() -> None:
    text = encode_837p([claim("CLM7201")]).text
    assert "SBR*P*18*" in text
    result = read_document(text.replace("SBR*P*18*", "SBR*P**"))
    [bill] = result.objects
    assert bill.coverage.relationship is Relationship.SELF
    [finding] = result.findings
    assert (finding.segment_id, finding.element) == ("SBR", 2)
    assert finding.message.startswith("SBR02 = 18 (the subscriber is the patient) or a patient")


def _recount(text: str) -> str:
    """``text`` with its SE01 recounted (the tests delete segments)."""
    segments = text.split("~")
    start = next(i for i, s in enumerate(segments) if s.startswith("ST*"))
    end = next(i for i, s in enumerate(segments) if s.startswith("SE*"))
    elements = segments[end].split("*")
    elements[1] = str(end - start + 1)
    segments[end] = "*".join(elements)
    return "~".join(segments)


# -- reader fixes ---------------------------------------------------------------------------------

def test_a_utf8_byte_order_mark_is_accepted(tmp_path) -> None:
    text = REASON_45.read_text(encoding="latin-1")
    path = tmp_path / "bom.835"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("ascii"))
    result = runner.invoke(app, ["parse", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "bom.835: 835, 1 transaction set(s)"
    [plain] = decode_835(text)
    assert decode_document("\ufeff" + text)[1] == [plain]
    assert decode_document("\xef\xbb\xbf" + text)[1] == [plain]


def test_isa11_u_in_a_5010_interchange_is_read_with_a_warning() -> None:
    text = REASON_45.read_text(encoding="latin-1")
    assert text[82] == "^"
    old_habit = text[:82] + "U" + text[83:]
    result = read_document(old_habit)
    assert result.objects == decode_835(text)
    [finding] = result.findings
    assert finding.severity is FindingSeverity.WARNING
    assert _positions([finding]) == [(1, "ISA", 11)]
    read_document(old_habit, strict=True)  # a warning is no reason to refuse


def test_imsweb_837_with_isa11_u_gets_past_the_isa_to_its_real_defect() -> None:
    """imsweb's x12_valid.txt (ISA11 = U) was blamed on ISA16; its real defect is SE01."""
    text = (FIXTURES / "837P" / "imsweb__x12_valid.txt").read_text(encoding="latin-1")
    with pytest.raises(X12EnvelopeError) as caught:
        read_document(text)
    assert (caught.value.segment_index, caught.value.segment_id, caught.value.element) == \
        (36, "SE", 1)


@pytest.mark.parametrize("indent", ["\n    ", "\r\n\t", "\n\t  "])
def test_indented_files_read_as_the_plain_file(indent: str) -> None:
    text = MULTIPLE.read_text(encoding="latin-1").replace("\n", "").replace("\r", "")
    indented = indent.join(segment + "~" for segment in text.split("~") if segment)
    expected = decode_835(text)
    assert decode_835(indented) == expected
    streamed = [stream.remittance() for stream in stream_835_text(indented, chunk_size=37)]
    assert streamed == expected


def test_a_segment_written_with_other_delimiters_is_named_not_the_isa() -> None:
    text = REASON_45.read_text(encoding="latin-1")
    changed = text[:106] + text[106:].replace("*", "!")
    with pytest.raises(X12SyntaxError) as caught:
        read_document(changed)
    assert caught.value.segment_index == 2
    assert "element separator ISA declares" in str(caught.value)
    # a garbled segment deep in the file is named where it is
    segments = text.split("~")
    segments[9] = segments[9].replace("*", "!", 1)
    with pytest.raises(X12SyntaxError) as deep:
        read_document("~".join(segments))
    assert deep.value.segment_index == 10


# -- lenient reading never invents money ----------------------------------------------------------

def _garble(text: str, segment_number: int, element: int) -> str:
    segments = text.split("~")
    elements = segments[segment_number - 1].split("*")
    elements[element] = "12.3.4"
    segments[segment_number - 1] = "*".join(elements)
    return "~".join(segments)


def test_lenient_skips_a_claim_whose_amount_is_garbled_and_says_so() -> None:
    text = MULTIPLE.read_text(encoding="latin-1")
    [whole] = decode_835(text)
    garbled = _garble(text, 38, 3)  # the second claim's CLP03
    with pytest.raises(X12ValueError, match="CLP03"):
        read_document(garbled)
    result = read_document(garbled, lenient=True)
    [remittance] = result.objects
    assert len(remittance.claims) == len(whole.claims) - 1
    assert [c.charge for c in remittance.claims] == \
        [c.charge for number, c in enumerate(whole.claims) if number != 1]
    assert Decimal("0.00") not in [c.charge for c in remittance.claims]
    garbled_finding = result.findings[0]
    assert _positions([garbled_finding]) == [(38, "CLP", 3)]
    assert garbled_finding.message == "CLP03 total claim charge as a decimal amount"
    # the payment no longer balances without that claim: said too
    assert any(f.segment_id == "BPR" for f in result.findings)


def test_lenient_skips_a_line_or_an_adjustment_with_a_garbled_amount() -> None:
    text = MULTIPLE.read_text(encoding="latin-1")
    [whole] = decode_835(text)
    line = read_document(_garble(text, 22, 2), lenient=True)  # first claim's 2nd SVC02
    first = line.objects[0].claims[0]
    assert len(first.services) == len(whole.claims[0].services) - 1
    assert _positions(line.findings[:1]) == [(22, "SVC", 2)]
    adjustment = read_document(_garble(text, 20, 3), lenient=True)  # first line's CAS03
    service = adjustment.objects[0].claims[0].services[0]
    assert service.adjustments == []
    assert service.charge == whole.claims[0].services[0].charge
    assert _positions(adjustment.findings[:1]) == [(20, "CAS", 3)]


def test_lenient_never_reads_a_payment_without_its_amount() -> None:
    text = MULTIPLE.read_text(encoding="latin-1")
    with pytest.raises(X12ValueError) as caught:
        read_document(_garble(text, 4, 2), lenient=True)
    assert (caught.value.segment_index, caught.value.element) == (4, 2)


def test_cli_lenient_reports_the_skipped_amount(tmp_path) -> None:
    path = tmp_path / "garbled.835"
    path.write_text(_garble(MULTIPLE.read_text(encoding="latin-1"), 38, 3))
    strict = runner.invoke(app, ["parse", str(path)])
    assert strict.exit_code == 1
    assert "segment 38 (CLP), element CLP03" in strict.stderr
    lenient = runner.invoke(app, ["parse", "--lenient", str(path)])
    assert lenient.exit_code == 0
    assert ("garbled.835: error: segment 38 (CLP), element CLP03: CLP03 total claim charge as a "
            "decimal amount") in lenient.stdout.splitlines()


# -- 835 balancing --------------------------------------------------------------------------------

def test_parse_reports_an_835_that_does_not_balance(tmp_path) -> None:
    text = TWO_PAYERS.read_text(encoding="latin-1")
    assert read_document(text).findings == []
    unbalanced = text.replace("BPR*I*420.5*", "BPR*I*421.5*")
    result = read_document(unbalanced)
    [finding] = result.findings
    assert _positions([finding]) == [(4, "BPR", 2)]
    assert finding.message == ("BPR02 total payment 421.50 equal to the claim payments (CLP04) "
                               "420.50 minus the provider adjustments (PLB) 0.00 (off by 1.00; "
                               "transaction set 1)")
    path = tmp_path / "unbalanced.835"
    path.write_text(unbalanced)
    parsed = runner.invoke(app, ["parse", str(path)])
    assert parsed.exit_code == 0
    assert "unbalanced.835: 835, 2 transaction set(s), 1 finding(s)" in parsed.stdout
    assert runner.invoke(app, ["parse", "--strict", str(path)]).exit_code == 1
    assert runner.invoke(app, ["validate", str(path)]).exit_code == 1


def test_the_adapter_refuses_findings_only_when_strict() -> None:
    unbalanced = TWO_PAYERS.read_text(encoding="latin-1").replace("BPR*I*420.5*",
                                                                   "BPR*I*421.5*")
    document = InboundDocument(channel="test", document_id="d1", content=unbalanced)
    relaxed = GenericX12Adapter(MemoryControlNumbers(start=1))
    decoded = relaxed.decode_all(document)
    assert decoded is not None and len(decoded) == 2
    strict = GenericX12Adapter(MemoryControlNumbers(start=1), strict=True)
    assert strict.stream_remittances(document) is None  # read whole, so it can be refused
    with pytest.raises(X12FindingsError) as caught:
        strict.decode_all(document)
    assert caught.value.segment_id == "BPR"


def test_lenient_reads_past_trailer_mismatches_and_reports_each() -> None:
    text = (FIXTURES / "837P" / "imsweb__x12_valid.txt").read_text(encoding="latin-1")
    result = read_document(text, lenient=True)
    assert _positions(result.findings[:2]) == [(1, "ISA", 11), (36, "SE", 1)]
    assert result.findings[1].message == \
        "SE01 equal to the number of segments from ST to SE (34)"
    # its two claims lack the subscriber's DMG birth date (the patient's): left out, said why
    assert result.objects == []
    left_out = [f for f in result.findings if "left out" in f.message]
    assert [(f.claim_number, f.segment_id) for f in left_out] == \
        [("A37YH556", "CLM"), ("A37YH667", "CLM")]
    ack = FIXTURES / "999" / "imsweb__x12_999_accepted.txt"
    with pytest.raises(X12EnvelopeError):
        read_document(ack.read_text(encoding="latin-1"))
    lenient_ack = read_document(ack.read_text(encoding="latin-1"), lenient=True)
    assert len(lenient_ack.objects) == 1
    assert _positions(lenient_ack.findings) == [(10, "IEA", 2)]


def test_lenient_reads_composites_written_with_another_separator_than_isa16() -> None:
    """lfh's example 12 writes CLM05, HI and SV101 with '>' while its ISA16 says ':'."""
    text = (FIXTURES / "837P-X222A2" / "lfh__demo.example12.837").read_text(encoding="latin-1")
    with pytest.raises(X12StructureError) as caught:
        read_document(text)
    assert "not split by the ISA16 component separator ':'" in str(caught.value)
    result = read_document(text, lenient=True)
    [bill] = result.objects
    assert bill.claim.place_of_service == "23"
    assert [line.procedure_code for line in bill.claim.lines] == ["99284"]
    assert bill.claim.lines[0].diagnosis_pointers == [1]
    said = [f for f in result.findings if f.segment_id == "CLM" and f.element == 5]
    assert [f.message for f in said] == [
        "composites split by the ISA16 component separator ':' (this transaction set uses "
        "'>'; read with that)"]


def test_a_po_box_billing_address_is_kept_as_sent_with_a_finding() -> None:
    text = (FIXTURES / "837P-X222A2" / "lfh__demo.example11.837").read_text(encoding="latin-1")
    result = read_document(text, lenient=True)
    [bill] = result.objects
    assert bill.practice.address.line1 == "P O BOX 123"
    [finding] = [f for f in result.findings if "P.O. box" in f.message]
    assert (finding.segment_id, finding.message) == (
        "N3", "2010AA billing provider address: billing provider address must be a street "
        "address, not a P.O. box")


def test_the_plugin_setting_strict_decoding_makes_the_adapter_strict() -> None:
    import pluggy
    from medbill_payer_generic_x12 import plugin

    from medbill_core.api import PROJECT_NAME
    from medbill_core.api.testing import hookspecs

    manager = pluggy.PluginManager(PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    manager.register(plugin, name="payer_generic_x12")

    def adapter_with(settings: object) -> GenericX12Adapter:
        class _Context:
            def settings_for(self, name: str) -> object:
                return settings

        (adapters,) = manager.hook.medbill_register_payer_adapters(context=_Context())
        return adapters[0]

    assert adapter_with(plugin.GenericX12Settings()).strict is False
    assert adapter_with(plugin.GenericX12Settings(strict_decoding=True)).strict is True
    assert adapter_with(None).strict is False


def test_a_claim_number_of_stray_bytes_is_named_in_escapes_not_sent_to_the_terminal(
        tmp_path) -> None:
    """CLM01 ``É`` written in UTF-8 reads (as latin-1) as ``Ã`` and the C1 control ``\\x89``:
    the findings and ``x12 validate`` name that claim with the control written as its escape
    (CI's fuzz found it printed raw)."""
    text = encode_837p([claim("CLM7001")]).text.replace("CLM*CLM7001*", "CLM*\u00c3\x89*")
    result = read_document(text)
    named = [str(finding) for finding in result.findings if finding.claim_number]
    assert named and all("claim \u00c3\\x89, segment" in line for line in named)
    path = tmp_path / "stray.837"
    path.write_bytes(text.encode("latin-1"))
    outcome = runner.invoke(app, ["validate", str(path)])
    assert outcome.exit_code == 1
    assert "claim \u00c3\\x89" in outcome.output
    assert all(char.isprintable() for char in outcome.output.replace("\n", ""))
