"""ICD-10-CM FY2027 and ICD-10-PCS: the packaged releases (official counts, the FY2027 changes
by date of service), PCS lookups and search, and ``medbill codes update`` from small files in
the official CMS/CDC layouts (order file, codes file, plain and zipped)."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import date
from importlib import resources
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medbill_core.cli import codes as codes_cli
from medbill_core.codesets import CodeSetError, CodeSets, CodeSystem, Reason, load_file, update
from medbill_core.codesets import icd10cm as cm
from medbill_core.codesets import icd10pcs as pcs
from medbill_core.codesets.formats import ICD10CM_RE, ICD10PCS_RE
from medbill_core.codesets.icd10_common import OfficialRow
from medbill_core.codesets.releases import coverage
from medbill_core.codesets.search import search

D = date
LAST_FY2026 = D(2026, 9, 30)
FIRST_FY2027 = D(2026, 10, 1)


@pytest.fixture(scope="module")
def cs(tmp_path_factory: pytest.TempPathFactory) -> CodeSets:
    """Packaged data only."""
    return CodeSets(tmp_path_factory.mktemp("no-user-data"),
                    cache_dir=tmp_path_factory.mktemp("cache"))


def packaged_csv(name: str) -> list[dict[str, str]]:
    raw = resources.files("medbill_core.codesets").joinpath("data", name).read_bytes()
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8"), newline="")))


# -- ICD-10-CM: the packaged releases ----------------------------------------------------------

def test_fy2027_and_april_2026_have_the_official_counts() -> None:
    fy2027, april = cm.fy2027_table(), cm.april_2026_table()
    assert (len(fy2027), sum(i.billable for i in fy2027.values())) == (98_403, 74_879)
    # FY2027 with the FY2027 changes undone gives the official FY2026 counts
    assert (len(april), sum(i.billable for i in april.values())) == (98_186, 74_719)


def test_fy2027_order_structure_holds() -> None:
    # the check `codes update` applies to an order file holds for the packaged table:
    # headers are exactly the codes with codes under them
    rows = [OfficialRow(n, i.code, i.billable, i.short_description, i.description)
            for n, i in enumerate(cm.fy2027_table().values(), start=1)]
    cm._check_structure(rows, "packaged FY2027")
    assert all(ICD10CM_RE.match(row.code) for row in rows)


def test_april_2026_has_every_code_of_simple_icd_10_cm_and_the_categories_it_lacks() -> None:
    found = cm.load_packaged(None)
    assert found is not None
    package = found[1]
    april = cm.april_2026_table()
    assert {code: i.billable for code, i in package.items()} == {
        code: april[code].billable for code in package}
    missing = set(april) - set(package)
    # 39 categories that share their block's name: the package drops them, among them
    # billable B20 (HIV disease) and Z66 (do not resuscitate)
    assert len(missing) == 39 and all(len(code) == 3 for code in missing)
    assert {"B20", "Z66", "F99", "R99", "P84"} <= {c for c in missing if april[c].billable}


def test_billable_categories_missing_from_the_package_are_valid(cs: CodeSets) -> None:
    # before FY2027 was packaged these were "no such code" in the April 2026 release
    for code in ("B20", "Z66"):
        verdict = cs.icd10cm(code, D(2026, 5, 1))
        assert verdict.reason is Reason.OK, verdict.message
        assert verdict.release == "ICD-10-CM April 2026 update"


def test_added_codes_are_valid_from_2026_10_01_only(cs: CodeSets) -> None:
    added = packaged_csv("icd10cm_fy2027_added.csv")
    assert len(added) == 238
    for row in added:
        code = row["code"]
        after = cs.icd10cm(code, FIRST_FY2027)
        assert after.release == "ICD-10-CM FY2027"
        assert after.info is not None and after.info.description == row["longTitle"]
        if row["billable"] == "true":
            assert after.reason is Reason.OK, after.message
            before = cs.icd10cm(code, LAST_FY2026)
            assert before.reason is Reason.NOT_YET_EFFECTIVE, before.message
            assert "first in ICD-10-CM FY2027, from 2026-10-01" in before.message
        else:
            assert after.reason is Reason.NOT_BILLABLE
            assert cs.get(CodeSystem.ICD10CM, code, LAST_FY2026) is None


def test_deleted_codes_are_valid_through_2026_09_30_only(cs: CodeSets) -> None:
    deleted = packaged_csv("icd10cm_fy2027_deleted.csv")
    assert len(deleted) == 21
    for row in deleted:
        code = row["code"]
        before = cs.icd10cm(code, LAST_FY2026)
        assert before.info is not None and before.info.description == row["longTitle"]
        if row["wasBillable"] == "true":
            assert before.reason is Reason.OK, before.message
            after = cs.icd10cm(code, FIRST_FY2027)
            assert after.reason is Reason.TERMINATED
            assert "deleted after 2026-09-30" in after.message
        else:
            assert before.reason is Reason.NOT_BILLABLE
            assert cs.get(CodeSystem.ICD10CM, code, FIRST_FY2027) is None


def test_revised_titles_and_billable_changes_follow_the_date(cs: CodeSets) -> None:
    revised = packaged_csv("icd10cm_fy2027_revised.csv")
    assert len(revised) == 4
    for row in revised:
        old = cs.get(CodeSystem.ICD10CM, row["code"], LAST_FY2026)
        new = cs.get(CodeSystem.ICD10CM, row["code"], FIRST_FY2027)
        assert old is not None and new is not None
        assert (old.description, new.description) == (row["previousLongTitle"],
                                                       row["newLongTitle"])
    assert cs.get(CodeSystem.ICD10CM, "Z29.14", FIRST_FY2027).description == (  # type: ignore[union-attr]
        "Encounter for prophylactic rabies immune globulin")
    changes = packaged_csv("icd10cm_fy2027_billable_changes.csv")
    assert len(changes) == 15
    for row in changes:
        assert cs.icd10cm(row["code"], LAST_FY2026).reason is Reason.OK
        assert cs.icd10cm(row["code"], FIRST_FY2027).reason is Reason.NOT_BILLABLE


def test_qa1_codes_with_a_letter_second(cs: CodeSets) -> None:
    verdict = cs.icd10cm("QA1.71", FIRST_FY2027)
    assert verdict.ok and verdict.info is not None
    assert verdict.info.description == "Lynch syndrome"
    assert ICD10CM_RE.match("QA171")
    assert cs.icd10cm("QA1.71", LAST_FY2026).reason is Reason.NOT_YET_EFFECTIVE
    # a code query with a letter second finds them (the old code-shape test wanted a digit)
    assert "QA1.71" in [h.code for h in search("QA1.7", on=FIRST_FY2027, codesets=cs,
                                               systems=(CodeSystem.ICD10CM,))]
    assert search("QA1.7", on=LAST_FY2026, codesets=cs, systems=(CodeSystem.ICD10CM,)) == []


def test_icd10cm_release_windows_for_status() -> None:
    cover = coverage("icd10cm", D(2026, 12, 5), None)
    assert cover.covered and cover.release_label == "ICD-10-CM FY2027"
    assert cover.release is not None and cover.release.rows == 98_403
    gap = coverage("icd10cm", D(2027, 10, 1), None)
    assert not gap.covered
    assert gap.missing.startswith("ICD-10-CM FY2028 (2027-10-01..2028-09-30) is not loaded;"
                                  " checked against ICD-10-CM FY2027")


# -- ICD-10-PCS ----------------------------------------------------------------------------------

def test_pcs_counts_titles_and_shapes() -> None:
    fy2027, fy2026 = pcs.fy2027_table(), pcs.fy2026_table()
    assert (len(fy2027), len(fy2026)) == (79_256, 79_193)
    untitled = [i for i in fy2027.values() if not i.description]
    assert len(untitled) == 369 and all("title not in medbill's data" in i.note
                                        for i in untitled)
    assert all(ICD10PCS_RE.match(code) for code in fy2027)
    changes = pcs.addenda()
    assert {k: len(v) for k, v in changes.items()} == {
        "Add": 101, "Delete": 38, "Revise from": 3, "Revise to": 3}
    assert set(changes["Add"]) <= set(fy2027) and not set(changes["Delete"]) & set(fy2027)
    assert all(fy2027[code].description == title for code, title in changes["Revise to"].items())


def test_pcs_lookups(cs: CodeSets) -> None:
    ok = cs.check("icd10pcs", " 0016070 ", FIRST_FY2027)
    assert ok.reason is Reason.OK and ok.release == "ICD-10-PCS FY2027"
    assert ok.info is not None and ok.info.description.startswith("Bypass Cerebral Ventricle")
    untitled = cs.icd10pcs("00H033J", FIRST_FY2027)
    assert untitled.ok and "title not in medbill's data" in untitled.note
    assert untitled.message == "00H033J: ICD-10-PCS, valid on 2026-10-01"
    part = cs.icd10pcs("0DT", FIRST_FY2027)
    assert part.reason is Reason.NOT_BILLABLE
    assert part.message.startswith("0DT: not a complete ICD-10-PCS code: codes have 7")
    assert cs.icd10pcs("0DTI0ZZ", FIRST_FY2027).reason is Reason.FORMAT  # no I in PCS
    assert cs.icd10pcs("0D.T", FIRST_FY2027).reason is Reason.FORMAT
    assert cs.icd10pcs("00160700", FIRST_FY2027).reason is Reason.FORMAT
    unknown = cs.icd10pcs("ZZZZZZZ", FIRST_FY2027)
    assert unknown.reason is Reason.UNKNOWN and unknown.release == "ICD-10-PCS FY2027"


def test_pcs_addenda_by_date(cs: CodeSets) -> None:
    changes = pcs.addenda()
    for code in changes["Add"]:
        assert cs.icd10pcs(code, FIRST_FY2027).ok
        before = cs.icd10pcs(code, LAST_FY2026)
        assert before.reason is Reason.NOT_YET_EFFECTIVE and before.release == "ICD-10-PCS FY2026"
    for code, title in changes["Delete"].items():
        before = cs.icd10pcs(code, LAST_FY2026)
        assert before.ok and before.info is not None and before.info.description == title
        assert cs.icd10pcs(code, FIRST_FY2027).reason is Reason.TERMINATED
    old = cs.icd10pcs("XW0E33B", LAST_FY2026).info
    new = cs.icd10pcs("XW0E33B", FIRST_FY2027).info
    assert old is not None and new is not None
    assert "DB-OTO" in old.description and "Lunsotogene Parvec-cwha" in new.description
    gap = cs.icd10pcs("0016070", D(2025, 6, 1))  # before FY2026: nearest release, with a note
    assert gap.ok and "outside the loaded ICD-10-PCS FY2026" in gap.note
    cover = coverage("icd10pcs", D(2026, 12, 5), None)
    assert cover.covered and cover.release_label == "ICD-10-PCS FY2027"


def test_pcs_search(cs: CodeSets) -> None:
    hits = search("drainage pleural active mechanical", on=FIRST_FY2027, codesets=cs, limit=50)
    assert {"0W99003", "0W9B003"} <= {h.code for h in hits}
    assert all(h.system is CodeSystem.ICD10PCS for h in hits)
    assert search("drainage pleural active mechanical", on=LAST_FY2026, codesets=cs) == []
    by_code = search("0W99", on=FIRST_FY2027, codesets=cs, limit=50)
    assert by_code and all(h.code.startswith("0W99") for h in by_code)
    assert by_code[0].system is CodeSystem.ICD10PCS


def test_codes_show_system_icd10pcs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDBILL_CODESETS_DIR", str(tmp_path))
    runner = CliRunner()
    shown = runner.invoke(codes_cli.app, ["show", "0W99003", "--system", "icd10pcs",
                                          "--date", "2026-12-01", "--json"])
    assert shown.exit_code == 0, shown.output
    [verdict] = json.loads(shown.stdout)["verdicts"]
    assert (verdict["system"], verdict["valid"]) == ("icd10pcs", True)
    early = runner.invoke(codes_cli.app, ["show", "0W99003", "--system", "icd10pcs",
                                          "--date", "2026-09-01"])
    assert early.exit_code == 1
    assert "not yet effective" in early.stdout


def test_legacy_load_refuses_pcs_and_points_to_update(tmp_path: Path) -> None:
    file = tmp_path / "icd10pcs_codes_2027.txt"
    file.write_text("0016070 Bypass Cerebral Ventricle to Nasopharynx\n", encoding="utf-8")
    with pytest.raises(CodeSetError, match="medbill codes update"):
        load_file("icd10pcs", file, data_dir=tmp_path / "user")
    assert not (tmp_path / "user").exists()


# -- `medbill codes update` from the official layouts --------------------------------------------

def order_line(number: int, code: str, valid: int, short: str, long: str) -> str:
    """One record of a CMS/CDC order file (fixed width)."""
    return f"{number:05d} {code:<7} {valid} {short:<60} {long}\n"


CM_ORDER = [
    ("A00", 0, "Cholera", "Cholera"),
    ("A000", 1, "Cholera due to Vibrio cholerae 01, biovar cholerae",
     "Cholera due to Vibrio cholerae 01, biovar cholerae"),
    ("A009", 1, "Cholera, unspecified", "Cholera, unspecified"),
    ("E11", 0, "Type 2 diabetes mellitus", "Type 2 diabetes mellitus"),
    ("E119", 1, "Type 2 diabetes mellitus without complications",
     "Type 2 diabetes mellitus without complications"),
    ("Z99", 0, "Dependence on enabling machines and devices, NEC",
     "Dependence on enabling machines and devices, not elsewhere classified"),
    ("Z9990", 1, "Test code new in FY2028", "Test code new in FY2028 (fixture)"),
]
PCS_ORDER = [
    ("001", 0, "Central Nervous System and Cranial Nerves, Bypass",
     "Central Nervous System and Cranial Nerves, Bypass"),
    ("0016070", 1, "Bypass Cereb Vent to Nasophar w Autol Sub, Open",
     "Bypass Cerebral Ventricle to Nasopharynx with Autologous Tissue Substitute, Open Approach"),
    ("0016071", 1, "Bypass Cereb Vent to Mastoid Sinus w Autol Sub, Open",
     "Bypass Cerebral Ventricle to Mastoid Sinus with Autologous Tissue Substitute, Open"
     " Approach"),
    ("0W9", 0, "Anatomical Regions, General, Drainage", "Anatomical Regions, General, Drainage"),
    ("0W99003", 1, "Drainage R Pleural Cav w Drain Dev, Active Mech Clear, Open",
     "Drainage of Right Pleural Cavity with Drainage Device, Active Mechanical Clearance,"
     " Open Approach"),
    ("0W9Z0ZY", 1, "Test code new in FY2028", "Test code new in FY2028 (fixture)"),
]


def order_file(rows: list[tuple[str, int, str, str]]) -> str:
    return "".join(order_line(n, *row) for n, row in enumerate(rows, start=1))


def codes_file(rows: list[tuple[str, int, str, str]]) -> str:
    return "".join(f"{code:<7} {long}\n" for code, valid, _, long in rows if valid)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_cm_order_file_loads_fy2028(tmp_path: Path) -> None:
    data = tmp_path / "codesets"
    order = write(tmp_path, "icd10cm_order_2028.txt", order_file(CM_ORDER))
    [outcome] = update.update([order], data_dir=data)
    prepared = outcome.prepared
    assert (outcome.action, prepared.code_set, prepared.release) == (
        "loaded", "icd10cm", "ICD-10-CM FY2028")
    assert (prepared.effective, prepared.through, prepared.rows) == (
        D(2027, 10, 1), D(2028, 9, 30), 7)
    user = CodeSets(data, cache_dir=tmp_path / "cache")
    new = user.icd10cm("Z99.90", D(2027, 11, 1))
    assert new.ok and new.release == "ICD-10-CM FY2028"
    assert new.info is not None and new.info.short_description == "Test code new in FY2028"
    assert user.icd10cm("E11", D(2027, 11, 1)).reason is Reason.NOT_BILLABLE
    assert user.icd10cm("Z99.90", D(2027, 9, 30)).reason is Reason.NOT_YET_EFFECTIVE
    # earlier releases stay for earlier dates of service
    assert user.icd10cm("QA1.71", D(2027, 9, 30)).release == "ICD-10-CM FY2027"
    cover = coverage("icd10cm", D(2027, 11, 1), data)
    assert cover.covered and cover.release_label == "ICD-10-CM FY2028"
    manifest = (data / "manifest.json").read_bytes()
    [again] = update.update([order], data_dir=data)
    assert again.action == "unchanged"
    assert (data / "manifest.json").read_bytes() == manifest


def test_cm_codes_file_derives_headers(tmp_path: Path) -> None:
    data = tmp_path / "codesets"
    codes = write(tmp_path, "icd10cm_codes_2028.txt", codes_file(CM_ORDER))
    [outcome] = update.update([codes], data_dir=data)
    assert outcome.prepared.rows == 8  # 4 codes and the headers A00, E11, Z99, Z99.9
    user = CodeSets(data, cache_dir=tmp_path / "cache")
    assert user.icd10cm("E11.9", D(2028, 1, 5)).ok
    assert user.icd10cm("Z99", D(2028, 1, 5)).reason is Reason.NOT_BILLABLE
    assert user.icd10cm("Z99.9", D(2028, 1, 5)).reason is Reason.NOT_BILLABLE


def test_cm_zip_with_order_and_codes_files_is_one_release(tmp_path: Path) -> None:
    data = tmp_path / "codesets"
    archive = tmp_path / "2028-code-descriptions-tabular-order.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("Code Descriptions/icd10cm_order_2028.txt", order_file(CM_ORDER))
        zipped.writestr("Code Descriptions/icd10cm_codes_2028.txt", codes_file(CM_ORDER))
        zipped.writestr("Code Descriptions/icd10cm_order_addenda_2028.txt",
                        "Add:         Z9990   Test code new in FY2028 (fixture)\n")
        zipped.writestr("Code Descriptions/icd10OrderFiles.pdf", b"%PDF-1.4")
    [outcome] = update.update([archive], data_dir=data)
    assert (outcome.prepared.release, outcome.prepared.rows) == ("ICD-10-CM FY2028", 7)
    assert len(outcome.prepared.sources) == 2
    user = CodeSets(data, cache_dir=tmp_path / "cache")
    info = user.get(CodeSystem.ICD10CM, "A00.9", D(2028, 1, 5))
    assert info is not None and info.short_description == "Cholera, unspecified"  # order file
    assert update.update([archive], data_dir=data)[0].action == "unchanged"


def test_cm_zip_whose_files_disagree_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "2028-code-descriptions-tabular-order.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("icd10cm_order_2028.txt", order_file(CM_ORDER))
        zipped.writestr("icd10cm_codes_2028.txt", codes_file(CM_ORDER[:-1]))
    with pytest.raises(CodeSetError, match=r"do not list the same valid codes \(only in"
                                           r" .*icd10cm_order_2028.txt: Z9990\)"):
        update.update([archive], data_dir=tmp_path / "codesets")
    assert not (tmp_path / "codesets").exists()


def test_pcs_order_and_nested_zip_codes_file(tmp_path: Path) -> None:
    data = tmp_path / "codesets"
    order = write(tmp_path, "icd10pcs_order_2028.txt", order_file(PCS_ORDER))
    [outcome] = update.update([order], data_dir=data)
    assert (outcome.prepared.code_set, outcome.prepared.release, outcome.prepared.rows) == (
        "icd10pcs", "ICD-10-PCS FY2028", 4)  # the 3-character tables are not codes
    user = CodeSets(data, cache_dir=tmp_path / "cache")
    new = user.icd10pcs("0W9Z0ZY", D(2027, 10, 1))
    assert new.ok and new.release == "ICD-10-PCS FY2028"
    assert user.icd10pcs("0W9Z0ZY", D(2027, 9, 30)).reason is Reason.NOT_YET_EFFECTIVE
    assert user.icd10pcs("001", D(2027, 10, 1)).reason is Reason.NOT_BILLABLE
    assert update.update([order], data_dir=data)[0].action == "unchanged"
    # the codes file of FY2029, in a zip inside the CMS zip
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zipped:
        zipped.writestr("icd10pcs_codes_2029.txt", codes_file(PCS_ORDER))
    outer = tmp_path / "2029-icd-10-pcs-codes-file.zip"
    with zipfile.ZipFile(outer, "w") as zipped:
        zipped.writestr("icd10pcs_codes_2029.zip", inner.getvalue())
    [later] = update.update([outer], data_dir=data)
    assert (later.action, later.prepared.release, later.prepared.rows) == (
        "loaded", "ICD-10-PCS FY2029", 4)
    user = CodeSets(data, cache_dir=tmp_path / "cache")
    assert user.icd10pcs("0W99003", D(2028, 10, 1)).release == "ICD-10-PCS FY2029"
    assert user.icd10pcs("0W99003", D(2028, 9, 30)).release == "ICD-10-PCS FY2028"


def _source(tmp_path: Path, name: str, text: str) -> update.SourceFile:
    [source] = update._expand(write(tmp_path, name, text))
    return source


def test_cm_and_pcs_files_are_told_apart_by_content(tmp_path: Path) -> None:
    fixtures = {
        "icd10cm": [order_file(CM_ORDER), codes_file(CM_ORDER)],
        "icd10pcs": [order_file(PCS_ORDER), codes_file(PCS_ORDER)],
    }
    by_name = {"icd10cm": cm.FORMATS[0], "icd10pcs": pcs.FORMATS[0]}
    for code_set, texts in fixtures.items():
        for n, text in enumerate(texts):
            # a name that says nothing: recognition is by content alone
            source = _source(tmp_path, f"file{n}.txt", text)
            recognised = [f for f in update.formats() if f.recognise(source)]
            assert recognised == [by_name[code_set]], (code_set, n)
    # neither: a text file, an addenda file (not a release), the read-me text file of an
    # MPFS zip, a PCS-looking code set all in letters (could be either), a CM code with I
    for text in ("Hello world\nThis is not a code file\n",
                 "Add:         0016070 Bypass Cerebral Ventricle\n",
                 "HDR CPT codes and descriptions only are copyright AMA\n",
                 "B020ZZZ Magnetic Resonance Imaging of Brain\n",
                 "I10     Essential (primary) hypertension\n0016070 Bypass\n"):
        source = _source(tmp_path, "other.txt", text)
        assert not any(f.recognise(source) for f in (cm.FORMATS[0], pcs.FORMATS[0]))


@pytest.mark.parametrize(("text", "message"), [
    (order_file(CM_ORDER).replace("00003 A009    1", "00003 A009    2"),
     "icd10cm_order_2028.txt line 3: not an order-file record"),
    (order_file(CM_ORDER) + order_line(8, "E119", 1, "Again", "Again"),
     "icd10cm_order_2028.txt line 8: E119 appears twice (first on line 5)"),
    (order_file(CM_ORDER).replace("00005 E119    1", "00005 E119    0"),
     "icd10cm_order_2028.txt line 5: E119 is marked a header (0) but has no codes under it"),
    (order_file(CM_ORDER).replace("00004 E11     0", "00004 E11     1"),
     "icd10cm_order_2028.txt line 4: E11 is marked valid (1) but has codes under it"),
    (order_file(CM_ORDER[1:]),
     "icd10cm_order_2028.txt line 1: A000 is under category A00, which the file does not have"),
    (order_file(CM_ORDER).replace("00006 Z99", "00002 Z99"),
     "icd10cm_order_2028.txt line 6: order number 2 does not follow 5"),
])
def test_malformed_order_file_changes_nothing(tmp_path: Path, text: str, message: str) -> None:
    data = tmp_path / "codesets"
    good = write(tmp_path, "icd10pcs_order_2028.txt", order_file(PCS_ORDER))
    update.update([good], data_dir=data)
    manifest = (data / "manifest.json").read_bytes()
    bad = write(tmp_path, "icd10cm_order_2028.txt", text)
    with pytest.raises(CodeSetError) as raised:
        update.update([good, bad], data_dir=data)
    assert message in str(raised.value)
    assert (data / "manifest.json").read_bytes() == manifest
    assert not (data / "releases" / "icd10cm").exists()


def test_malformed_pcs_code_is_named(tmp_path: Path) -> None:
    rows = [*PCS_ORDER, ("0W9Z0ZI", 1, "Bad", "A code with the letter I")]
    bad = write(tmp_path, "icd10pcs_order_2028.txt", order_file(rows))
    with pytest.raises(CodeSetError, match=r"icd10pcs_order_2028.txt line 7: '0W9Z0ZI' is not"
                                           r" a well-formed ICD-10-PCS code"):
        update.update([bad], data_dir=tmp_path / "codesets")
    assert not (tmp_path / "codesets").exists()


def test_a_file_name_without_the_year_is_refused(tmp_path: Path) -> None:
    file = write(tmp_path, "diagnoses.txt", order_file(CM_ORDER))
    with pytest.raises(CodeSetError, match=r"diagnoses.txt: cannot tell which ICD-10-CM release"
                                           r" .*icd10cm_order_2027.txt.*--effective"):
        update.update([file], data_dir=tmp_path / "codesets")
    assert not (tmp_path / "codesets").exists()
