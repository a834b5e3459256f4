"""Names outside the X12 character sets (José Ñúñez): written transliterated, noted, flagged by
scrubbing, and found by ``x12 validate`` in a file that carries them anyway."""

from __future__ import annotations

import logging
from datetime import datetime

import pytest
from medbill_payer_generic_x12.adapter import GenericX12Adapter
from medbill_payer_generic_x12.pyx12check import pyx12_verdict
from medbill_payer_generic_x12.transactions.claim_837p import decode_837p, encode_837p
from medbill_payer_generic_x12.validation import validate_document
from medbill_payer_generic_x12.x12 import MemoryControlNumbers, X12EncodeError
from medbill_payer_generic_x12.x12.charset import in_charset, transliterate
from typer.testing import CliRunner
from x12_factories import address, claim, payer

NOW = datetime(2024, 3, 5, 10, 30)
THE_PAYER = payer().model_copy(update={"options": {
    "submitter_id": "SUB123", "receiver_id": "CLEARHOUSE", "submitter_phone": "8165551234"}})


def accented_claim(number: str = "CLM1001"):
    billable = claim(number, the_payer=THE_PAYER)
    patient = billable.patient.model_copy(update={
        "first_name": "José", "last_name": "Ñúñez", "address": address("12 Calle Peña",
                                                                         "64108")})
    return billable.model_copy(update={"patient": patient})


@pytest.mark.parametrize(("text", "expected"), [
    ("José Ñúñez", "Jose Nunez"), ("Straße 5", "Strasse 5"), ("ØRSTED", "ORSTED"),
    ("Müller–Lüdenscheid", "Muller-Ludenscheid"), ("O’Neil", "O'Neil"), ("ŁÓDŹ", "LODZ"),
    ("Zoë  Brontë", "Zoe Bronte"), ("PLAIN O'NEIL-SMITH", "PLAIN O'NEIL-SMITH"),
])
def test_transliteration_to_the_x12_sets(text: str, expected: str) -> None:
    assert transliterate(text) == expected
    assert in_charset(expected)


def test_basic_and_extended_sets() -> None:
    assert in_charset("ABC 123 !\"&'()*+,-./:;?= abc %@[]_{}\\|<>~#$")
    assert not in_charset("Ñ") and not in_charset("é") and not in_charset("\t")


def test_837p_carries_names_transliterated_notes_where_and_passes_pyx12() -> None:
    batch = encode_837p([accented_claim()], now=NOW, control_numbers=MemoryControlNumbers(),
                        line_breaks=True)
    assert batch.text.isascii()
    assert "NM1*IL*1*Nunez*Jose*Q***MI*" in batch.text
    assert "N3*12 Calle Pena~" in batch.text
    assert batch.transliterated == [("CLM1001", "NM103"), ("CLM1001", "NM104"),
                                    ("CLM1001", "N301")]
    valid, errors = pyx12_verdict(batch.text)
    assert valid, errors
    decoded = decode_837p(batch.text)[0]
    assert (decoded.patient.first_name, decoded.patient.last_name) == ("Jose", "Nunez")
    assert validate_document(batch.text)[1] == []


def test_a_value_with_nothing_left_once_transliterated_is_refused_without_the_value() -> None:
    billable = claim()
    billable = billable.model_copy(update={"patient": billable.patient.model_copy(
        update={"last_name": "李"})})
    with pytest.raises(X12EncodeError) as caught:
        encode_837p([billable], now=NOW)
    assert "NM103" in str(caught.value) and "CLM1001" in str(caught.value)
    assert "李" not in str(caught.value)


def test_the_adapter_warns_when_scrubbing_and_logs_no_names(caplog) -> None:
    adapter = GenericX12Adapter()
    findings = [f for f in adapter.claim_edits(accented_claim()) if f.code == "x12.charset"]
    assert [(f.severity.value, f.field) for f in findings] == [("warning", "patient.last_name")]
    assert findings[0].message.startswith(
        "patient.last_name, patient.first_name, patient.address.line1 hold characters outside "
        "the X12 character set")
    assert "Ñ" not in findings[0].message.replace("Ñ as N", "")
    with caplog.at_level(logging.INFO, logger="medbill.x12"):
        files = adapter.encode_claims(THE_PAYER, [accented_claim()])
    assert files[0].content.isascii()
    assert "claim CLM1001: N301, NM103, NM104 written transliterated" in caplog.text
    assert "Ñ" not in caplog.text and "Nunez" not in caplog.text


def test_x12_validate_flags_characters_outside_the_sets(tmp_path) -> None:
    from medbill_payer_generic_x12.cli import app

    text = encode_837p([claim()], now=NOW).text
    raw = text.replace("*DOE*JANE*", "*ÑÚÑEZ*JOSÉ*", 1)
    _kind, findings = validate_document(raw)
    messages = [str(f) for f in findings]
    assert messages[-2:] == [
        f"error: segment {n} (NM1) element NM1{e:02d}: characters outside the X12 basic and "
        "extended character sets (e.g. accented letters; transliterate them)"
        for n, e in ((_segment_number(raw, "*ÑÚÑEZ*"), 3), (_segment_number(raw, "*ÑÚÑEZ*"), 4))]
    path = tmp_path / "accented.837"
    path.write_text(raw, encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    assert "2 error(s)" in result.output
    assert "ÑÚÑEZ" not in result.output and "JOSÉ" not in result.output


def _segment_number(text: str, marker: str) -> int:
    return next(n for n, segment in enumerate(text.split("~"), start=1) if marker in segment)
