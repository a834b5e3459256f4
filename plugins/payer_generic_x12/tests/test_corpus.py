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

#: transaction set -> (files, read cleanly, read with findings, refused); no file may crash
EXPECTED = {
    "270": (6, 6, 0, 0),
    "271": (8, 7, 1, 0),
    "276": (8, 8, 0, 0),
    "277": (8, 8, 0, 0),
    "277CA": (4, 4, 0, 0),
    "835": (48, 43, 5, 0),
    # the 837I examples, until the engine reads 005010X223 (X223A3 is LinuxForHealth's label)
    "837 005010X223A2": (5, 0, 0, 5),
    "837 005010X223A3": (4, 0, 0, 4),
    # business validation (NPI check digits, ICD qualifiers ...) refuses the whole document
    "837P": (36, 0, 0, 36),
    # the stupidedi 999 starts with a UTF-8 byte-order mark
    "999": (5, 3, 1, 1),
}


@pytest.fixture(scope="module")
def corpus() -> dict[str, Any]:
    return run(FIXTURES)


def test_counts_per_transaction_set(corpus: dict[str, Any]) -> None:
    found = {name: (s.files, s.outcomes["clean"], s.outcomes["findings"], s.outcomes["refused"])
             for name, s in corpus.items()}
    assert found == EXPECTED
    assert not any(s.outcomes[CRASHED] for s in corpus.values())


def test_findings_and_refusals_say_what_was_expected(corpus: dict[str, Any]) -> None:
    assert corpus["835"].finding_kinds == {"SVC01-2 procedure code (required)": 3,
                                           "SVC02 line charge (required)": 1,
                                           "BPR16 payment date as a CCYYMMDD date": 1}
    refusals = dict(corpus["999"].refused)
    assert refusals == {"public/999/stupidedi__response-to-functional-group-containing-3-837s"
                        ".edi": "segment 1: an interchange starting with ISA (or a transaction "
                                "set starting with ST)"}
    text = report(corpus)
    assert "270: 6 file(s): 6 read cleanly, 0 read with findings, 0 refused" in text
    assert text.endswith("total: 132 file(s): 79 read cleanly, 7 read with findings, "
                         "46 refused, 0 crashed")


def test_report_prints_no_patient_data(corpus: dict[str, Any]) -> None:
    # names and member IDs of the sample patients (the reasons name positions, never values)
    text = report(corpus)
    for value in ("SMITH", "JOHN", "DOE", "11122333301", "123456789A", "19430519"):
        assert value not in text


def test_a_decoder_crash_is_counted_not_raised(tmp_path: Path) -> None:
    (tmp_path / "270").mkdir()
    source = FIXTURES / "270" / "lfh__subscriber-health-benefit-check.270"
    (tmp_path / "270" / "a.270").write_bytes(source.read_bytes())

    def crashing(text: str, strict: bool) -> Any:
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
        "transaction_set": "unknown", "files": 1, "clean": 0, "findings": 0, "refused": 1,
        "crashed": 0, "finding_kinds": {},
        "refused_files": [{"file": "junk.txt", "reason": "segment 1: an interchange starting "
                           "with ISA (or a transaction set starting with ST)"}]}]
    assert main([str(tmp_path / "missing")]) == 2
