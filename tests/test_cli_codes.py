"""``medbill codes`` and ``medbill validate``, run against the sub-apps with CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medbill_core.cli import codes, validate_cmd
from medbill_core.codesets import reset_default_codesets

runner = CliRunner()


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory,
                  monkeypatch: pytest.MonkeyPatch) -> Path:
    """User data in a fresh directory; the ICD-10-CM cache shared by the session."""
    user_dir = tmp_path / "codesets"
    monkeypatch.setenv("MEDBILL_CODESETS_DIR", str(user_dir))
    monkeypatch.setenv("MEDBILL_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "medbill-cache"))
    reset_default_codesets()
    return user_dir


def validate(*args: str):
    return runner.invoke(validate_cmd.app, list(args))


def codes_cmd(*args: str):
    return runner.invoke(codes.app, list(args))


def one_line_error(result) -> str:
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


# -- validate -------------------------------------------------------------------------------------

def test_validate_npi() -> None:
    ok = validate("npi", "1234567893")
    assert ok.exit_code == 0
    assert ok.stdout.startswith("valid: 1234567893: NPI, check digit correct")
    bad = validate("npi", "1234567890")
    assert bad.exit_code == 1
    assert "check digit is 0" in bad.stdout and "gives 3" in bad.stdout
    short = validate("npi", "12345")
    assert short.exit_code == 1
    assert "an NPI is 10 digits (got 5 characters)" in short.stdout


def test_validate_icd10() -> None:
    header = validate("icd10", "E11", "--date", "2026-05-01")
    assert header.exit_code == 1
    assert header.stdout.startswith("invalid: E11: ICD-10-CM category header")
    assert "not billable" in header.stdout
    ok = validate("icd10", "E11.9", "--date", "2026-05-01")
    assert ok.exit_code == 0
    assert ("valid: E11.9: ICD-10-CM, valid on 2026-05-01: Type 2 diabetes mellitus without"
            " complications") in ok.stdout
    assert "outside the loaded" not in ok.stdout  # 2026-05-01 is in a packaged release
    assert "note: checked against ICD-10-CM April 2026 update" in ok.stdout
    outside = validate("icd10", "E119", "--date", "2024-05-01")
    assert outside.exit_code == 1  # no loaded release answers 2024: not a pass
    assert outside.stdout.startswith(
        "not checked: E11.9: 2024-05-01 is outside every loaded ICD-10-CM release"
        " (ICD-10-CM April 2026 update: 2026-04-01..2026-09-30; ICD-10-CM FY2027:"
        " 2026-10-01..2027-09-30)")
    assert ("note: ICD-10-CM FY2024 (2023-10-01..2024-09-30) is not loaded: download"
            in outside.stdout)
    assert "outside the loaded" not in outside.stdout  # said once


@pytest.mark.parametrize(("kind", "code", "on", "outside"), [
    ("icd10", "E11.9", "1990-01-01", "ICD-10-CM release (ICD-10-CM April 2026 update:"
                                     " 2026-04-01..2026-09-30; ICD-10-CM FY2027:"
                                     " 2026-10-01..2027-09-30)"),
    ("icd10", "E11.9", "2040-01-01", "ICD-10-CM release (ICD-10-CM April 2026 update:"),
    ("icd10pcs", "0DTJ4ZZ", "2040-01-01", "ICD-10-PCS release (ICD-10-PCS FY2026:"
                                          " 2025-10-01..2026-09-30; ICD-10-PCS FY2027:"),
    ("icd10pcs", "0DTJ4ZZ", "1990-01-01", "ICD-10-PCS release"),
    ("hcpcs", "J1100", "2040-01-01", "HCPCS Level II release (HCPCS Level II 2026 Q3:"
                                     " through 2026-09-30)"),
    ("modifier", "GT", "2040-01-01", "HCPCS Level II modifiers release (HCPCS Level II"
                                     " modifiers 2026 Q3: through 2026-09-30)"),
    ("pos", "11", "1990-01-01", "place of service codes release (CMS place of service codes,"
                                " September 2023: from 2023-10-01)"),
])
def test_validate_on_a_date_no_loaded_release_covers_is_not_checked_exit_1(
        kind: str, code: str, on: str, outside: str) -> None:
    """A code valid in the nearest release was called valid on a date no loaded release
    answers (1990, 2040): now "not checked", exit 1, naming the loaded releases' windows."""
    result = validate(kind, code, "--date", on)
    assert result.exit_code == 1, result.stdout
    first, note = result.stdout.strip().splitlines()
    assert first.startswith(f"not checked: {code}: {on} is outside every loaded {outside}")
    assert note.startswith("note: ") and "is not loaded: download" in note
    answer = json.loads(validate(kind, code, "--date", on, "--json").stdout)
    assert (answer["valid"], answer["checked"]) == (False, False)
    assert "release" not in answer  # none was checked against


@pytest.mark.parametrize(("kind", "code", "on"), [
    ("hcpcs", "J1100", "1990-01-01"),  # HCPCS records carry their own dates: 2026 Q3 answers
    ("hcpcs", "99213", "2040-01-01"),  # CPT: by format only, no release
    ("modifier", "25", "2040-01-01"),  # CPT modifier: by number only
    ("pos", "11", "2040-01-01"),  # a list without a schedule stands until replaced
])
def test_validate_where_a_release_or_format_answers_the_date_stays_valid(
        kind: str, code: str, on: str) -> None:
    result = validate(kind, code, "--date", on)
    assert result.exit_code == 0, result.stdout
    assert result.stdout.startswith(f"valid: {code}: ")


def test_validate_an_invalid_code_outside_every_release_keeps_its_own_reason() -> None:
    bad = validate("icd10", "E11", "--date", "2040-01-01")
    assert bad.exit_code == 1
    assert bad.stdout.startswith("invalid: E11: ICD-10-CM category header")
    assert "FY2040 (2039-10-01..2040-09-30) is not loaded" in bad.stdout


def test_validate_hcpcs_dates() -> None:
    late = validate("hcpcs", "C9152", "--date", "2024-06-01")
    assert late.exit_code == 1
    assert "invalid: C9152: HCPCS Level II terminated after 2023-12-31" in late.stdout
    early = validate("hcpcs", "G0519", "-d", "2024-06-15")
    assert early.exit_code == 1
    assert "not yet effective on 2024-06-15 (effective 2024-07-01)" in early.stdout
    assert validate("hcpcs", "G0519", "--date", "2024-07-01").exit_code == 0
    cpt = validate("hcpcs", "99213")
    assert cpt.exit_code == 0
    assert "CPT code, format valid" in cpt.stdout
    bad = validate("hcpcs", "9921")
    assert bad.exit_code == 1
    assert "not a well-formed HCPCS Level II code" in bad.stdout


def test_validate_modifier_and_pos() -> None:
    assert validate("modifier", "25").exit_code == 0
    ga = validate("modifier", "GA", "--date", "2024-08-01")
    assert ga.exit_code == 0 and "Waiver of liability" in ga.stdout
    zz = validate("modifier", "ZZ")
    assert zz.exit_code == 1 and "no such modifier code" in zz.stdout
    office = validate("pos", "11")
    assert office.exit_code == 0 and "Office" in office.stdout
    assert validate("pos", "99").exit_code == 0
    unassigned = validate("pos", "30")
    assert unassigned.exit_code == 1
    assert "invalid: 30: place of service code is unassigned" in unassigned.stdout


def test_validate_bad_date_is_one_line_usage_error() -> None:
    result = validate("icd10", "E11.9", "--date", "2024-13-01")
    assert result.exit_code == 2
    assert one_line_error(result) == (
        "error: --date must be a date as YYYY-MM-DD")


# -- codes show / load ----------------------------------------------------------------------------

def test_show_finds_code_in_every_code_set() -> None:
    result = codes_cmd("show", "11", "--date", "2024-08-01")
    assert result.exit_code == 0
    assert "11  place of service  valid on 2024-08-01" in result.stdout
    assert "11  CARC  valid on 2024-08-01" in result.stdout
    assert "Office" in result.stdout


def test_show_invalid_with_system_and_date() -> None:
    result = codes_cmd("show", "C9152", "--system", "hcpcs", "--date", "2024-06-01")
    assert result.exit_code == 1
    assert "C9152  HCPCS Level II  terminated on 2024-06-01" in result.stdout
    assert "2023-12-31" in result.stdout


def test_show_icd10_header() -> None:
    result = codes_cmd("show", "E11", "-s", "icd10cm", "-d", "2026-05-01")
    assert result.exit_code == 1
    assert "E11  ICD-10-CM  not billable on 2026-05-01" in result.stdout
    assert "no (category header)" in result.stdout


def test_show_unknown_everywhere() -> None:
    result = codes_cmd("show", "ZZZZZ", "--date", "2024-08-01")
    assert result.exit_code == 1
    assert one_line_error(result) == "error: ZZZZZ: not found in any code set on 2024-08-01"


@pytest.mark.parametrize(("args", "code", "on", "outside"), [
    (("E119", "--date", "2024-05-01"), "E11.9", "2024-05-01",
     "ICD-10-CM release (ICD-10-CM April 2026 update: 2026-04-01..2026-09-30; ICD-10-CM"
     " FY2027: 2026-10-01..2027-09-30)"),
    (("J3301", "--system", "hcpcs", "--date", "2040-01-01"), "J3301", "2040-01-01",
     "HCPCS Level II release (HCPCS Level II 2026 Q3: through 2026-09-30)"),
])
def test_show_on_a_date_no_loaded_release_covers_is_not_checked_exit_1(
        args: tuple[str, ...], code: str, on: str, outside: str) -> None:
    """`codes show` printed the code as valid, the gap in a table row, exit 0: now one line
    in `medbill validate`'s words, exit 1."""
    result = codes_cmd("show", *args)
    assert result.exit_code == 1, result.stdout
    assert result.stdout == ""
    line = one_line_error(result)
    assert line.startswith(f"error: not checked: {code}: {on} is outside every loaded {outside}; ")
    assert "is not loaded: download" in line and "`medbill codes update FILE...`" in line
    kind = "icd10" if code == "E11.9" else "hcpcs"
    said = validate(kind, code, "--date", on).stdout.strip().splitlines()
    assert line == f"error: {said[0]}; {said[1].removeprefix('note: ')}"  # the same words
    answer = json.loads(codes_cmd("show", *args, "--json").stdout)
    [verdict] = answer["verdicts"]
    assert (verdict["valid"], verdict["checked"], verdict["release"]) == (False, False, None)
    assert verdict["message"] == said[0].removeprefix("not checked: ")
    assert codes_cmd("show", *args, "--json").exit_code == 1


def test_show_beside_a_code_set_that_answers_says_not_checked_in_one_line() -> None:
    """"11" on 1990: no place of service list is loaded for it; the CARC list answers."""
    result = codes_cmd("show", "11", "--date", "1990-01-01")
    assert result.exit_code == 1  # neither passes
    lines = result.stdout.splitlines()
    assert lines[0].startswith(
        "not checked: 11: 1990-01-01 is outside every loaded place of service codes release"
        " (CMS place of service codes, September 2023: from 2023-10-01); a place of service"
        " codes list in force on 1990-01-01 is not loaded: download")
    assert "11  CARC  not yet effective on 1990-01-01" in result.stdout
    assert "place of service  valid" not in result.stdout


def test_show_a_covered_date_stays_valid() -> None:
    result = codes_cmd("show", "J3301", "--date", "2026-09-15")
    assert result.exit_code == 0, result.stderr
    assert "J3301  HCPCS Level II  valid on 2026-09-15" in result.stdout
    assert "release gap" not in result.stdout and "not checked" not in result.stdout


def test_load_then_show(tmp_path: Path, isolated_dirs: Path) -> None:
    update = tmp_path / "hcpcs_2025.csv"
    update.write_text("code,long_description,add_date\nG0999,Test new code,2025-01-01\n",
                      encoding="utf-8")
    loaded = codes_cmd("load", "hcpcs", str(update))
    assert loaded.exit_code == 0, loaded.stderr
    assert "Loaded 1 HCPCS Level II codes from hcpcs_2025.csv" in loaded.stdout
    assert (isolated_dirs / "hcpcs.csv").is_file()
    shown = codes_cmd("show", "G0999", "--date", "2025-02-01")
    assert shown.exit_code == 0
    assert "Test new code" in shown.stdout
    assert "user file hcpcs_2025.csv" in shown.stdout
    assert validate("hcpcs", "G0999", "--date", "2024-12-01").exit_code == 1


def test_load_icd10cm_release_with_window(tmp_path: Path, isolated_dirs: Path) -> None:
    order = tmp_path / "my-diagnoses.txt"
    order.write_text(  # the CMS icd10cm_order layout: fixed width
        f"00001 E11     0 {'Type 2 diabetes mellitus':<60} Type 2 diabetes mellitus\n"
        f"00002 E119    1 {'Type 2 diabetes mellitus without complications':<60}"
        " Type 2 diabetes mellitus without complications\n", encoding="utf-8")
    no_window = codes_cmd("load", "icd10cm", str(order))
    assert no_window.exit_code == 1
    assert "give --effective and --through" in one_line_error(no_window)
    loaded = codes_cmd("load", "ICD10CM", str(order), "--effective", "2024-10-01",
                       "--through", "2025-09-30", "--data-dir", str(isolated_dirs))
    assert loaded.exit_code == 0, loaded.stderr
    assert "for dates of service 2024-10-01..2025-09-30" in loaded.stdout
    assert (isolated_dirs / "icd10cm" / "2024-10-01_2025-09-30.csv.gz").is_file()


def test_load_bad_file_is_one_line_error(tmp_path: Path, isolated_dirs: Path) -> None:
    bad = tmp_path / "pos.csv"
    bad.write_text("code,name\n1,Not two digits\n", encoding="utf-8")
    result = codes_cmd("load", "pos", str(bad))
    assert result.exit_code == 1
    assert one_line_error(result).startswith("error: pos.csv: row 1: '1' is not a place of")
    assert not isolated_dirs.exists()
    missing = codes_cmd("load", "carc", str(tmp_path / "nope.csv"))
    assert missing.exit_code == 1
    assert one_line_error(missing).startswith("error: no such file:")
    bad_date = codes_cmd("load", "icd10cm", str(bad), "--effective", "October")
    assert bad_date.exit_code == 2
    assert one_line_error(bad_date) == (
        "error: --effective must be a date as YYYY-MM-DD")


def test_the_readmes_validate_example_passes_whatever_today_is() -> None:
    """README's first `medbill validate` line, kind by kind (``mbi`` is the Medicare plugin's):
    `hcpcs J3301` without a date was 'not checked' (exit 1) once today passed the packaged HCPCS
    release's end (2026-09-30); the example gives a date of service the release covers."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    [line] = [text for text in readme.splitlines() if text.startswith("medbill validate npi ")]
    examples = [part.strip().split() for part in line.removeprefix("medbill validate ").split("|")]
    core_kinds = {command.name for command in validate_cmd.app.registered_commands}
    ran = []
    for kind, *args in examples:
        if kind not in core_kinds:
            continue
        result = validate(kind, *args)
        assert result.exit_code == 0, (kind, args, result.stdout)
        assert result.stdout.startswith("valid: "), (kind, args)
        ran.append(kind)
    assert ran == ["npi", "icd10", "icd10pcs", "hcpcs", "modifier", "pos"]
    assert ["hcpcs", "J3301", "--date", "2026-09-15"] in examples
