"""Date-aware code sets: verdicts for known valid and invalid codes, loaders, releases."""

from __future__ import annotations

import gzip
import json
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medbill_core.codesets import (
    CodeSetError,
    CodeSets,
    CodeSystem,
    Reason,
    default_codesets,
    load_file,
    read_file,
)
from medbill_core.codesets import icd10cm as icd
from medbill_core.codesets.formats import CPT_MODIFIERS

D = date


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.getbasetemp() / "medbill-cache"


@pytest.fixture(scope="module")
def cs(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> CodeSets:
    """Packaged data only (an empty user directory)."""
    return CodeSets(tmp_path_factory.mktemp("no-user-data"), cache_dir=cache_dir)


@pytest.fixture
def user_dir(tmp_path: Path) -> Path:
    return tmp_path / "user-codesets"


# -- ICD-10-CM ---------------------------------------------------------------------------------

def test_icd10cm_category_header_is_not_billable(cs: CodeSets) -> None:
    verdict = cs.icd10cm("E11", D(2026, 5, 1))
    assert verdict.reason is Reason.NOT_BILLABLE
    assert not verdict
    assert verdict.info is not None
    assert verdict.info.billable is False
    assert verdict.info.description == "Type 2 diabetes mellitus"
    assert "not billable" in verdict.message


@pytest.mark.parametrize("code", ["E11.9", "E119", " e11.9 "])
def test_icd10cm_billable_code_with_or_without_dot(cs: CodeSets, code: str) -> None:
    verdict = cs.icd10cm(code, D(2026, 5, 1))
    assert verdict.reason is Reason.OK
    assert verdict.code == "E119"
    assert verdict.info is not None
    assert verdict.info.display_code == "E11.9"
    assert verdict.info.description == "Type 2 diabetes mellitus without complications"
    assert verdict.note == ""  # 2026-05-01 is inside the packaged release


def test_icd10cm_seventh_character_and_new_qa0_category(cs: CodeSets) -> None:
    assert cs.icd10cm("S72.001A", D(2026, 5, 1)).reason is Reason.OK
    assert cs.icd10cm("S72.001", D(2026, 5, 1)).reason is Reason.NOT_BILLABLE
    # QA0 (letter in the second position) is new in the April 2026 release
    qa = cs.icd10cm("QA0.0101", D(2026, 5, 1))
    assert qa.reason is Reason.OK
    assert qa.info is not None
    assert qa.info.description == "SCN2A-related neurodevelopmental disorder"


@pytest.mark.parametrize(("code", "reason"), [
    ("Z99.99", Reason.UNKNOWN), ("E1199", Reason.UNKNOWN),
    ("A00-A09", Reason.FORMAT), ("11", Reason.FORMAT), ("E11.9.1", Reason.FORMAT),
])
def test_icd10cm_invalid(cs: CodeSets, code: str, reason: Reason) -> None:
    assert cs.icd10cm(code, D(2026, 5, 1)).reason is reason


def test_icd10cm_packaged_release_window_and_outside_note(cs: CodeSets) -> None:
    release = cs.icd10cm_release(D(2026, 5, 1))
    assert release == icd.APRIL_2026
    assert (release.effective, release.through) == (D(2026, 4, 1), D(2026, 9, 30))
    # simple-icd-10-cm 1.5.0 ships the same April 2026 release: it is not added twice
    found = icd.packaged_release_info()
    assert found is not None
    assert (found[0].effective, found[0].through) == (release.effective, release.through)
    assert [r.label for r, _ in cs.icd10cm_releases()] == [
        "ICD-10-CM FY2027", "ICD-10-CM April 2026 update"]
    outside = cs.icd10cm("E11.9", D(2024, 4, 1))
    assert outside.reason is Reason.OK
    assert "outside the loaded ICD-10-CM April 2026 update" in outside.note
    assert cs.icd10cm("E11.9", release.effective).note == ""
    after = cs.icd10cm("E11.9", D(2027, 10, 1))
    assert "outside the loaded ICD-10-CM FY2027 (2026-10-01..2027-09-30)" in after.note


@pytest.mark.parametrize(("name", "window"), [
    ("code-list-April-2026.txt", (D(2026, 4, 1), D(2026, 9, 30))),
    ("icd10cm-order-2025.txt", (D(2024, 10, 1), D(2025, 9, 30))),
    ("icd10cm_tabular_October_2024.xml", (D(2024, 10, 1), D(2025, 9, 30))),
    ("diagnoses.txt", None),
])
def test_icd10cm_window_from_file_name(name: str, window: tuple[date, date] | None) -> None:
    assert icd.window_from_name(name) == window


def test_icd10cm_package_cache_round_trip(tmp_path: Path) -> None:
    # the optional simple-icd-10-cm reader caches its derived table; the cache reads back
    found = icd.packaged_release_info()
    assert found is not None
    built = icd.load_packaged(tmp_path)  # writes the cache file
    assert built is not None
    cached = icd.read_release(tmp_path / f"icd10cm-{found[1]}.csv.gz", built[0].source)
    assert cached == built[1]
    assert len(cached) > 90_000


def order_line(number: int, code: str, billable: int, short: str, long: str) -> str:
    """One record of the CMS icd10cm_order file (fixed width)."""
    return f"{number:05d} {code:<7} {billable} {short:<60} {long}\n"


ORDER_FY2025 = "".join([
    order_line(1, "E11", 0, "Type 2 diabetes mellitus", "Type 2 diabetes mellitus"),
    order_line(2, "E119", 1, "Type 2 diabetes mellitus without complications",
               "Type 2 diabetes mellitus without complications"),
    order_line(3, "Z9990", 1, "Test code deleted before FY2026",
               "Test code deleted before FY2026"),
])


def test_icd10cm_user_release_governs_its_dates(cs: CodeSets, user_dir: Path,
                                                cache_dir: Path, tmp_path: Path) -> None:
    assert cs.icd10cm("Z9990", D(2026, 5, 1)).reason is Reason.UNKNOWN  # not a real code
    order = tmp_path / "icd10cm-order-2025.txt"
    order.write_text(ORDER_FY2025, encoding="utf-8")
    result = load_file("icd10cm", order, data_dir=user_dir)
    assert (result.rows, result.effective, result.through) == (3, D(2024, 10, 1), D(2025, 9, 30))

    user = CodeSets(user_dir, cache_dir=cache_dir)
    in_fy25 = user.icd10cm("E11.9", D(2025, 3, 1))
    assert in_fy25.reason is Reason.OK
    assert in_fy25.info is not None and in_fy25.info.source.startswith("user file icd10cm-order")
    assert user.icd10cm("E11", D(2025, 3, 1)).reason is Reason.NOT_BILLABLE
    assert user.icd10cm("Z99.90", D(2025, 3, 1)).reason is Reason.OK
    # deleted in the later (packaged) release
    gone = user.icd10cm("Z99.90", D(2026, 5, 1))
    assert gone.reason is Reason.TERMINATED
    assert "deleted after 2025-09-30" in gone.message
    # a code that only the later release has is not yet effective in FY2025
    new = user.icd10cm("QA0.0101", D(2025, 3, 1))
    assert new.reason is Reason.NOT_YET_EFFECTIVE
    assert user.icd10cm_release(D(2025, 3, 1)).effective == D(2024, 10, 1)


def test_icd10cm_codes_file_derives_headers(tmp_path: Path) -> None:
    codes = tmp_path / "icd10cm_codes_2025.txt"
    codes.write_text("E119    Type 2 diabetes mellitus without complications\n"
                     "S72001A Fracture of unsp part of neck of right femur, init\n",
                     encoding="utf-8")
    table = read_file(CodeSystem.ICD10CM, codes)
    assert table["E119"].billable is True
    assert table["E119"].description == "Type 2 diabetes mellitus without complications"
    assert {code for code, info in table.items() if not info.billable} == {
        "E11", "S72", "S720", "S7200", "S72001"}


def test_icd10cm_load_needs_a_window(tmp_path: Path, user_dir: Path) -> None:
    order = tmp_path / "diagnoses.txt"
    order.write_text(ORDER_FY2025, encoding="utf-8")
    with pytest.raises(CodeSetError, match="--effective"):
        load_file("icd10cm", order, data_dir=user_dir)
    result = load_file("icd10cm", order, data_dir=user_dir, effective=D(2025, 4, 1),
                       through=D(2025, 9, 30))
    assert result.stored_at == user_dir / "icd10cm" / "2025-04-01_2025-09-30.csv.gz"


# -- HCPCS / CPT ----------------------------------------------------------------------------------

def test_hcpcs_before_add_date_is_not_yet_effective(cs: CodeSets) -> None:
    early = cs.hcpcs("G0519", D(2024, 6, 15))
    assert early.reason is Reason.NOT_YET_EFFECTIVE
    assert early.info is not None and early.info.effective == D(2024, 7, 1)
    assert "not yet effective" in early.message
    assert cs.hcpcs("g0519", D(2024, 7, 1)).reason is Reason.OK


def test_hcpcs_after_termination_date_is_terminated(cs: CodeSets) -> None:
    assert cs.hcpcs("C9152", D(2023, 12, 31)).reason is Reason.OK  # last day is valid
    late = cs.hcpcs("C9152", D(2024, 1, 1))
    assert late.reason is Reason.TERMINATED
    assert late.info is not None and late.info.terminated == D(2023, 12, 31)
    assert late.message == (
        "C9152: HCPCS Level II terminated after 2023-12-31, not valid on 2024-01-01")


def test_hcpcs_valid_code_record(cs: CodeSets) -> None:
    verdict = cs.hcpcs("A4216", D(2024, 8, 1))
    assert verdict.ok
    assert verdict.info is not None
    assert verdict.info.description == "Sterile water, saline and/or dextrose, diluent/flush, 10 ml"
    assert verdict.info.effective == D(2004, 1, 1)
    assert verdict.info.terminated is None
    assert cs.get("hcpcs", "a4216") == verdict.info


@pytest.mark.parametrize("code", ["99213", "0001U", "0500T", "3074F"])
def test_cpt_is_format_only(cs: CodeSets, code: str) -> None:
    verdict = cs.hcpcs(code, D(2024, 8, 1))
    assert verdict.system is CodeSystem.CPT
    assert verdict.reason is Reason.OK
    assert verdict.info is not None and verdict.info.format_only is True
    assert "AMA" in verdict.note


@pytest.mark.parametrize(("code", "reason"), [
    ("9921", Reason.FORMAT), ("Z1234", Reason.FORMAT), ("G05190", Reason.FORMAT),
    ("G0999", Reason.UNKNOWN), ("D0120", Reason.UNKNOWN),
])
def test_hcpcs_invalid(cs: CodeSets, code: str, reason: Reason) -> None:
    assert cs.hcpcs(code, D(2024, 8, 1)).reason is reason


def test_hcpcs_dental_code_explains_cdt(cs: CodeSets) -> None:
    assert "CDT" in cs.hcpcs("D0120", D(2024, 8, 1)).message


# -- modifiers ------------------------------------------------------------------------------------

def test_level2_modifier(cs: CodeSets) -> None:
    verdict = cs.modifier("GA", D(2024, 8, 1))
    assert verdict.reason is Reason.OK
    assert verdict.info is not None
    assert verdict.info.description == (
        "Waiver of liability statement issued as required by payer policy, individual case")
    assert verdict.info.format_only is False


def test_terminated_modifier(cs: CodeSets) -> None:
    assert cs.modifier("CP", D(2017, 6, 1)).reason is Reason.OK
    assert cs.modifier("CP", D(2024, 8, 1)).reason is Reason.TERMINATED


def test_modifiers_added_after_2020_have_their_dates_from_the_2026_file(cs: CodeSets) -> None:
    # the 2024 list had JZ without dates (valid on any date, with a note); the CMS 2026
    # file gives its add date, so a date before it is now caught
    jz = cs.modifier("JZ", D(2023, 1, 1))
    assert jz.reason is Reason.OK and jz.note == ""
    assert jz.info is not None and jz.info.effective == D(2023, 1, 1)
    assert cs.modifier("JZ", D(2022, 12, 31)).reason is Reason.NOT_YET_EFFECTIVE
    # AC was added in July 2026
    assert cs.modifier("AC", D(2026, 6, 30)).reason is Reason.NOT_YET_EFFECTIVE
    assert cs.modifier("AC", D(2026, 7, 1)).release == "HCPCS Level II modifiers 2026 Q3"
    # JG (340B drug) was ended on 2024-12-31, which the 2024 list could not know
    assert cs.modifier("JG", D(2024, 12, 31)).reason is Reason.OK
    assert cs.modifier("JG", D(2025, 1, 1)).reason is Reason.TERMINATED


@pytest.mark.parametrize("code", ["25", "59", "26", "76", "91"])
def test_cpt_modifiers_by_number(cs: CodeSets, code: str) -> None:
    verdict = cs.modifier(code, D(2024, 8, 1))
    assert code in CPT_MODIFIERS
    assert verdict.reason is Reason.OK
    assert verdict.info is not None and verdict.info.format_only is True
    assert "not in medbill's list" not in verdict.note


@pytest.mark.parametrize(("code", "reason"), [
    ("98", Reason.OK), ("ZZ", Reason.UNKNOWN), ("10", Reason.UNKNOWN), ("2", Reason.FORMAT),
    ("Q!", Reason.FORMAT), ("GAX", Reason.FORMAT),
])
def test_modifier_verdicts(cs: CodeSets, code: str, reason: Reason) -> None:
    assert cs.modifier(code, D(2024, 8, 1)).reason is reason


def test_unlisted_cpt_modifier_number_passes_with_note(cs: CodeSets) -> None:
    assert "not in medbill's list" in cs.modifier("98", D(2024, 8, 1)).note


# -- place of service, CARC, RARC, group codes ----------------------------------------------------

def test_place_of_service(cs: CodeSets) -> None:
    office = cs.place_of_service("11", D(2024, 8, 1))
    assert office.reason is Reason.OK
    assert office.info is not None and office.info.description == "Office"
    other = cs.place_of_service("99", D(2024, 8, 1))
    assert other.reason is Reason.OK
    assert other.info is not None and other.info.description == "Other Place of Service"
    unassigned = cs.place_of_service("30", D(2024, 8, 1))
    assert unassigned.reason is Reason.UNASSIGNED
    assert unassigned.message == "30: place of service code is unassigned"
    assert cs.place_of_service("00", D(2024, 8, 1)).reason is Reason.UNKNOWN
    assert cs.place_of_service("1", D(2024, 8, 1)).reason is Reason.FORMAT
    assert cs.place_of_service("27", D(2023, 9, 30)).reason is Reason.NOT_YET_EFFECTIVE
    assert cs.place_of_service("27", D(2023, 10, 1)).reason is Reason.OK


def test_carc_deactivated_after_stop_date(cs: CodeSets) -> None:
    assert cs.carc("15", D(2018, 5, 1)).reason is Reason.OK
    stopped = cs.carc("15", D(2018, 5, 2))
    assert stopped.reason is Reason.TERMINATED
    assert stopped.info is not None and stopped.info.terminated == D(2018, 5, 1)
    current = cs.carc("45", D(2024, 8, 1))
    assert current.reason is Reason.OK
    assert current.info is not None and current.info.description.startswith("Charge exceeds fee")
    assert cs.carc("P21", D(2024, 8, 1)).reason is Reason.OK
    assert cs.carc("999", D(2024, 8, 1)).reason is Reason.UNKNOWN
    assert cs.carc("ZZ9", D(2024, 8, 1)).reason is Reason.FORMAT


def test_rarc(cs: CodeSets) -> None:
    verdict = cs.rarc("N362", D(2024, 8, 1))
    assert verdict.reason is Reason.OK
    assert verdict.info is not None
    assert verdict.info.description == (
        "The number of Days or Units of Service exceeds our acceptable maximum.")
    assert cs.rarc("N999", D(2024, 8, 1)).reason is Reason.UNKNOWN
    assert cs.rarc("X1", D(2024, 8, 1)).reason is Reason.FORMAT


def test_adjustment_groups(cs: CodeSets) -> None:
    assert cs.adjustment_group("CO", D(2024, 8, 1)).reason is Reason.OK
    assert cs.adjustment_group("pr", D(2024, 8, 1)).reason is Reason.OK
    assert cs.adjustment_group("CR", D(2011, 6, 1)).reason is Reason.OK
    cr = cs.adjustment_group("CR", D(2024, 8, 1))
    assert cr.reason is Reason.TERMINATED
    assert "5010" in cr.note
    assert cs.adjustment_group("XX", D(2024, 8, 1)).reason is Reason.UNKNOWN


# -- API shape ------------------------------------------------------------------------------------

def test_check_dispatches_and_defaults_to_today(cs: CodeSets) -> None:
    assert cs.check("pos", "11", D(2024, 8, 1)) == cs.place_of_service("11", D(2024, 8, 1))
    assert cs.check(CodeSystem.CARC, "45").on == date.today()
    assert cs.check("icd10cm", "E11.9", D(2026, 5, 1)).ok


def test_records_are_immutable(cs: CodeSets) -> None:
    verdict = cs.hcpcs("A4216", D(2024, 8, 1))
    with pytest.raises(AttributeError):
        verdict.reason = Reason.UNKNOWN  # type: ignore[misc]
    with pytest.raises(AttributeError):
        verdict.info.code = "X"  # type: ignore[union-attr,misc]


@settings(max_examples=200, deadline=None)
@given(system=st.sampled_from(list(CodeSystem)), text=st.text(max_size=12))
def test_any_text_gets_a_verdict_never_an_exception(cs: CodeSets, system: CodeSystem,
                                                    text: str) -> None:
    verdict = cs.check(system, text, D(2024, 8, 1))
    assert isinstance(verdict.reason, Reason)
    assert verdict.message


# -- loaders --------------------------------------------------------------------------------------

def test_load_hcpcs_csv_overrides_and_extends_packaged(tmp_path: Path, user_dir: Path,
                                                       cache_dir: Path) -> None:
    update = tmp_path / "hcpcs_update.csv"
    update.write_text(
        "code,long_description,short_description,add_date,termination_date\n"
        "G0999,Test new code for an update,Test new code,2025-01-01,\n"
        "C9152,\"Injection, aripiprazole (extended)\",Inj abilify,2023-10-01,2024-12-31\n",
        encoding="utf-8")
    result = load_file("hcpcs", update, data_dir=user_dir)
    assert result.rows == 2
    assert result.stored_at == user_dir / "hcpcs.csv"
    manifest = json.loads((user_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["hcpcs"]["file"] == "hcpcs_update.csv"
    assert manifest["hcpcs"]["rows"] == 2
    assert len(manifest["hcpcs"]["sha256"]) == 64

    user = CodeSets(user_dir, cache_dir=cache_dir)
    new = user.hcpcs("G0999", D(2025, 2, 1))
    assert new.reason is Reason.OK
    assert new.info is not None and new.info.source.startswith("user file hcpcs_update.csv")
    assert user.hcpcs("G0999", D(2024, 12, 31)).reason is Reason.NOT_YET_EFFECTIVE
    assert user.hcpcs("C9152", D(2024, 6, 1)).reason is Reason.OK  # user row wins
    assert user.hcpcs("A4216", D(2024, 8, 1)).reason is Reason.OK  # packaged rows stay


ANWEB = """\
"HCPC2025_JAN_ANWEB.xlsx exported as CSV",,,,,,,,,
HCPC,SEQNUM,RECID,LONG DESCRIPTION,SHORT DESCRIPTION,PRICE1,ADD DT,ACT EFF DT,TERM DT,ACTION CD
G0999,00100,3,Test procedure with a description that,Test procedure,11,20250101,20250101,,A
G0999,00200,4,continues on a second record,,,,,,
G0998,00100,3,Test terminated procedure,Test terminated,11,20200101,20200101,20241231,D
ZX,00100,7,Test modifier,Test modifier,,20250101,20250101,,A
"""


def test_load_cms_anweb_layout(tmp_path: Path, user_dir: Path, cache_dir: Path) -> None:
    anweb = tmp_path / "HCPC2025_JAN_ANWEB.csv"
    anweb.write_text(ANWEB, encoding="utf-8")
    assert load_file("hcpcs", anweb, data_dir=user_dir).rows == 2
    assert load_file("modifier", anweb, data_dir=user_dir).rows == 1
    user = CodeSets(user_dir, cache_dir=cache_dir)
    joined = user.hcpcs("G0999", D(2025, 3, 1))
    assert joined.info is not None
    assert joined.info.description == (
        "Test procedure with a description that continues on a second record")
    assert joined.info.effective == D(2025, 1, 1)
    assert user.hcpcs("G0998", D(2025, 1, 1)).reason is Reason.TERMINATED
    assert user.modifier("ZX", D(2025, 3, 1)).reason is Reason.OK


def test_load_licensed_cpt_descriptors(tmp_path: Path, user_dir: Path, cache_dir: Path) -> None:
    cpt = tmp_path / "cpt_licensed.txt"
    cpt.write_text("code\tdescription\n99213\tLicensed descriptor text\n", encoding="utf-8")
    load_file("cpt", cpt, data_dir=user_dir)
    user = CodeSets(user_dir, cache_dir=cache_dir)
    known = user.hcpcs("99213", D(2024, 8, 1))
    assert known.system is CodeSystem.CPT
    assert known.reason is Reason.OK
    assert known.info is not None
    assert (known.info.description, known.info.format_only) == ("Licensed descriptor text", False)
    assert user.cpt("99214", D(2024, 8, 1)).reason is Reason.UNKNOWN


def test_load_rarc_with_stop_dates(tmp_path: Path, user_dir: Path, cache_dir: Path) -> None:
    rarc = tmp_path / "rarc.csv"
    rarc.write_text("code,description,start_date,stop_date\n"
                    "M33,Old remark,01/01/1997,01/01/2008\n", encoding="utf-8")
    load_file("rarc", rarc, data_dir=user_dir)
    user = CodeSets(user_dir, cache_dir=cache_dir)
    assert user.rarc("M33", D(2007, 12, 31)).reason is Reason.OK
    assert user.rarc("M33", D(2024, 8, 1)).reason is Reason.TERMINATED


@pytest.mark.parametrize(("content", "error"), [
    ("code,description\nG0999,ok\nBAD!,broken\n", "row 2: 'BAD!' is not a HCPCS Level II code"),
    ("name,description\nG0999,no code column\n", "no header row with a code column"),
    ("code,description\n", "no HCPCS Level II codes found"),
    ("code,description,add_date\nG0999,bad date,2025-13-01\n", "row 1 (G0999): not a date"),
])
def test_bad_files_are_rejected_and_nothing_is_written(tmp_path: Path, user_dir: Path,
                                                       content: str, error: str) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(content, encoding="utf-8")
    with pytest.raises(CodeSetError, match=error.replace("(", r"\(").replace(")", r"\)")):
        load_file("hcpcs", bad, data_dir=user_dir)
    assert not (user_dir / "hcpcs.csv").exists()


def test_missing_file(user_dir: Path) -> None:
    with pytest.raises(CodeSetError, match="no such file"):
        load_file("pos", user_dir / "nope.csv", data_dir=user_dir)


def test_gzipped_input_and_default_instance_reset(tmp_path: Path, user_dir: Path,
                                                  cache_dir: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDBILL_CODESETS_DIR", str(user_dir))
    monkeypatch.setenv("MEDBILL_CACHE_DIR", str(cache_dir))
    default_codesets.cache_clear()
    before = default_codesets()
    assert before.place_of_service("30", D(2024, 8, 1)).reason is Reason.UNASSIGNED
    pos = tmp_path / "pos.csv.gz"
    with gzip.open(pos, "wt", encoding="utf-8") as handle:
        handle.write("code,name,assigned,effective_date\n"
                     "30,Test newly assigned POS,true,2025-01-01\n")
    load_file("pos", pos)  # default directory from the environment
    after = default_codesets()
    assert after is not before
    assert after.place_of_service("30", D(2025, 1, 1)).reason is Reason.OK
    assert after.place_of_service("30", D(2024, 12, 31)).reason is Reason.NOT_YET_EFFECTIVE
    default_codesets.cache_clear()


def test_sources_name_every_code_set(cs: CodeSets) -> None:
    sources = cs.sources()
    assert set(sources) == set(CodeSystem)
    assert sources[CodeSystem.HCPCS] == [
        "CMS HCPCS Level II quarterly file, July 2026 (ANWEB layout)"]
    assert sources[CodeSystem.CPT] == ["format check only"]
    assert sources[CodeSystem.ICD10CM][0].startswith("ICD-10-CM ")
