"""The corpus run over every fixture written by others: how many files of each transaction set the
engine reads cleanly, reads with findings, and refuses. The counts are asserted so that a change
in either direction shows; update them (and the closing note's numbers) when a change is meant.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from medbill_payer_generic_x12.corpus import CRASHED, main, report, run
from x12_factories import FIXTURES

SCRIPT = Path(__file__).parents[1] / "scripts" / "x12_corpus.py"

#: transaction set -> (files, read cleanly, read with findings, read only with --lenient,
#: refused); no file may crash
EXPECTED = {
    "270": (6, 6, 0, 0, 0),
    "271": (8, 7, 0, 1, 0),
    "276": (8, 8, 0, 0, 0),
    "277": (8, 8, 0, 0, 0),
    "277CA": (4, 4, 0, 0, 0),
    # SVC01 written with '>' (3), an empty SVC02, an impossible BPR16 date
    "835": (48, 43, 0, 5, 0),
    # NPI check digits, ICD-9 qualifiers: read with findings; 2 need --lenient (composites
    # written with '>'), 1 sends an RD8 statement period of one date
    "837I": (9, 0, 6, 2, 1),
    # every public 837P breaks a business rule (NPI check digits, ICD-9 qualifiers ...): read
    # with findings; 5 need --lenient (trailer counts, composites written with '>')
    "837P": (37, 0, 30, 5, 2),
    # the stupidedi 999's IEA02 does not match its ISA13
    "999": (5, 4, 0, 1, 0),
}


@pytest.fixture(scope="module")
def corpus() -> dict[str, Any]:
    return run(FIXTURES)


def test_counts_per_transaction_set(corpus: dict[str, Any]) -> None:
    found = {name: (s.files, s.outcomes["clean"], s.outcomes["findings"], s.outcomes["lenient"],
                    s.outcomes["refused"]) for name, s in corpus.items()}
    assert found == EXPECTED
    assert not any(s.outcomes[CRASHED] for s in corpus.values())


def test_findings_and_refusals_say_what_was_expected(corpus: dict[str, Any]) -> None:
    assert corpus["835"].finding_kinds == {"(lenient) SVC01-2 procedure code (required)": 3,
                                           "(lenient) SVC02 line charge (required)": 1,
                                           "(lenient) BPR16 payment date as a CCYYMMDD date": 1}
    kinds = corpus["837P"].finding_kinds
    assert kinds["ICD-10-CM qualifier ABK/ABF (BK/BF are ICD-9-CM, not accepted for services "
                 "since 2015-10-01)"] == 30
    assert kinds["2010AA billing provider npi: NPI check digit is wrong (Luhn over 80840 + "
                 "first nine digits)"] == 19
    assert dict(corpus["837P"].refused) == {
        "837P-X222A2/lfh__demo.example9.837": "segment 29 (SV1), element SV101-2: SV101-2 "
        "procedure code (required; SV101 is not split by the ISA16 component separator ':')",
        "public/837P/imsweb__x12_complex.txt": "segment 127 (SVD), element SVD01: SVD01 naming "
        "an other payer of loop 2330B (its NM109)"}
    text = report(corpus)
    assert ("270: 6 file(s): 6 read cleanly, 0 read with findings, 0 read only with --lenient, "
            "0 refused") in text
    assert text.endswith("total: 133 file(s): 80 read cleanly, 36 read with findings, 14 read "
                         "only with --lenient, 3 refused, 0 crashed")


def test_report_prints_no_patient_data(corpus: dict[str, Any]) -> None:
    # names and member IDs of the sample patients (the reasons name positions, never values)
    text = report(corpus)
    for value in ("SMITH", "JOHN", "DOE", "11122333301", "123456789A", "19430519"):
        assert value not in text


def test_a_decoder_crash_is_counted_not_raised(tmp_path: Path) -> None:
    (tmp_path / "270").mkdir()
    source = FIXTURES / "270" / "lfh__subscriber-health-benefit-check.270"
    (tmp_path / "270" / "a.270").write_bytes(source.read_bytes())

    def crashing(text: str, lenient: bool) -> Any:
        raise KeyError("HL")

    (summary,) = run(tmp_path, crashing).values()
    assert (summary.transaction_set, summary.outcomes[CRASHED]) == ("270", 1)
    assert summary.refused == [("270/a.270", "KeyError")]


def test_script_prints_json_and_exits_by_the_outcome(tmp_path: Path) -> None:
    (tmp_path / "notes.md").write_text("skipped")
    (tmp_path / "junk.txt").write_text("not x12 at all")
    result = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path), "--json"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [{
        "transaction_set": "unknown", "files": 1, "clean": 0, "findings": 0, "lenient": 0,
        "refused": 1, "crashed": 0, "finding_kinds": {},
        "refused_files": [{"file": "junk.txt", "reason": "segment 1: an interchange starting "
                           "with ISA (or a transaction set starting with ST)"}]}]
    assert main([str(tmp_path / "missing")]) == 2


def test_a_control_character_separator_is_named_by_its_escape() -> None:
    """ISA16 may be any character the data does not use, a control character too (found by
    the fuzzer: GS, 0x1D): the refusal names it as ``'\\x1d'``, so the message stays one
    visible line."""
    from medbill_payer_generic_x12.transactions.claim_837p import decode_837p
    from medbill_payer_generic_x12.x12.errors import X12Error

    original = (FIXTURES / "837P-X222A2" / "lfh__demo.example9.837").read_text()
    isa_end = original.index("~")
    text = original[:isa_end - 1] + "\x1d" + original[isa_end:]  # ISA16, the last element
    with pytest.raises(X12Error) as refused:
        decode_837p(text)
    message = str(refused.value)
    assert "component separator '\\x1d'" in message and message.isprintable()
