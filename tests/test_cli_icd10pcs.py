"""ICD-10-PCS in the CLI: ``medbill validate icd10pcs``, ``codes show``, ``codes search`` and
``codes status``, against the packaged FY2026 and FY2027 releases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medbill_core.cli import codes, validate_cmd
from medbill_core.codesets import reset_default_codesets

runner = CliRunner()

#: added in FY2027 (CMS FY2027 ICD-10-PCS addenda)
ADDED_FY2027 = "028F3Z0"
#: deleted in FY2027 (same addenda): valid through 2026-09-30
DELETED_FY2027 = "X2KB317"


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory,
                  monkeypatch: pytest.MonkeyPatch) -> Path:
    user_dir = tmp_path / "codesets"
    monkeypatch.setenv("MEDBILL_CODESETS_DIR", str(user_dir))
    monkeypatch.setenv("MEDBILL_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "medbill-cache"))
    reset_default_codesets()
    return user_dir


def validate(*args: str):
    return runner.invoke(validate_cmd.app, list(args))


def codes_cmd(*args: str):
    return runner.invoke(codes.app, list(args))


def test_validate_icd10pcs_valid_code_names_its_title_and_release() -> None:
    ok = validate("icd10pcs", "0dtj4zz", "--date", "2026-05-01")
    assert ok.exit_code == 0, ok.stdout
    assert ok.stdout.startswith("valid: 0DTJ4ZZ: ICD-10-PCS, valid on 2026-05-01:")
    assert "Resection of Appendix, Percutaneous Endoscopic Approach" in ok.stdout
    assert "checked against ICD-10-PCS FY2026" in ok.stdout


def test_validate_icd10pcs_code_added_next_fiscal_year() -> None:
    early = validate("icd10pcs", ADDED_FY2027, "--date", "2026-09-30")
    assert early.exit_code == 1
    assert early.stdout.startswith(f"invalid: {ADDED_FY2027}: ICD-10-PCS not yet effective on"
                                   " 2026-09-30 (first in ICD-10-PCS FY2027, from 2026-10-01)")
    assert validate("icd10pcs", ADDED_FY2027, "--date", "2026-10-01").exit_code == 0


def test_validate_icd10pcs_deleted_code() -> None:
    assert validate("icd10pcs", DELETED_FY2027, "--date", "2026-09-30").exit_code == 0
    late = validate("icd10pcs", DELETED_FY2027, "--date", "2026-10-01")
    assert late.exit_code == 1
    assert late.stdout.startswith(f"invalid: {DELETED_FY2027}: ICD-10-PCS deleted after"
                                  " 2026-09-30 (last in ICD-10-PCS FY2026)")


def test_validate_icd10pcs_partial_and_malformed_codes() -> None:
    partial = validate("icd10pcs", "0DT", "--date", "2026-05-01")
    assert partial.exit_code == 1
    assert "0DT: not a complete ICD-10-PCS code: codes have 7 characters" in partial.stdout
    letter_o = validate("icd10pcs", "0DTJ4ZO", "--date", "2026-05-01")
    assert letter_o.exit_code == 1
    assert "not a well-formed ICD-10-PCS code" in letter_o.stdout


def test_validate_icd10pcs_outside_every_release_is_not_checked() -> None:
    old = validate("icd10pcs", "0DTJ4ZZ", "--date", "2024-05-01", "--json")
    assert old.exit_code == 1
    answer = json.loads(old.stdout)
    assert (answer["valid"], answer["checked"]) == (False, False)
    assert "outside every loaded ICD-10-PCS release (ICD-10-PCS FY2026:" in answer["message"]
    assert any("FY2024" in note and "not loaded" in note for note in answer["notes"]), answer


def test_show_recognises_a_pcs_code_without_system() -> None:
    shown = codes_cmd("show", "0DTJ4ZZ", "--date", "2026-05-01", "--json")
    assert shown.exit_code == 0, shown.stdout
    verdicts = json.loads(shown.stdout)["verdicts"]
    assert [(v["system"], v["valid"]) for v in verdicts] == [("icd10pcs", True)]
    assert verdicts[0]["description"] == "Resection of Appendix, Percutaneous Endoscopic Approach"


def test_show_with_system_icd10pcs_reports_why_not() -> None:
    shown = codes_cmd("show", DELETED_FY2027, "-s", "icd10pcs", "-d", "2026-10-15")
    assert shown.exit_code == 1
    assert f"{DELETED_FY2027}  ICD-10-PCS  terminated on 2026-10-15" in shown.stdout


def test_search_finds_pcs_titles_with_system_filter() -> None:
    found = codes_cmd("search", "resection", "appendix", "percutaneous", "endoscopic",
                      "-s", "icd10pcs", "-d", "2026-05-01", "--json")
    assert found.exit_code == 0, found.stdout
    hits = json.loads(found.stdout)["hits"]
    assert {hit["system"] for hit in hits} == {"icd10pcs"}
    assert "0DTJ4ZZ" in [hit["code"] for hit in hits]


def test_search_added_code_only_from_its_fiscal_year() -> None:
    words = ("division", "aortic", "valve", "percutaneous", "native")
    before = codes_cmd("search", *words, "-s", "icd10pcs", "-d", "2026-09-30", "--json")
    after = codes_cmd("search", *words, "-s", "icd10pcs", "-d", "2026-10-01", "--json")
    assert ADDED_FY2027 not in [hit["code"] for hit in json.loads(before.stdout)["hits"]]
    assert ADDED_FY2027 in [hit["code"] for hit in json.loads(after.stdout)["hits"]]


def test_status_lists_pcs_releases() -> None:
    status = codes_cmd("status", "--date", "2026-05-01", "--json")
    assert status.exit_code == 0, status.stdout
    text = status.stdout
    assert "ICD-10-PCS FY2026" in text and "ICD-10-PCS FY2027" in text
