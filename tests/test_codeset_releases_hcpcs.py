"""HCPCS Level II 2026, the CARC/RARC merge, place of service and NCCI quarters: the shipped
data, and each `medbill codes update` format from small files in the official layouts."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from medbill_core.codesets import CodeSetError, CodeSets, CodeSystem, Reason, load_file
from medbill_core.codesets import x12lists as X
from medbill_core.codesets.ncci import Ncci
from medbill_core.codesets.releases import coverage, spec
from medbill_core.codesets.update import update
from medbill_core.default_plugins.core_edits import EditEnv, ncci_mue, ncci_ptp
from medbill_core.domain import BillableClaim
from medbill_core.testing import factories

D = date


@pytest.fixture(scope="module")
def cs(tmp_path_factory: pytest.TempPathFactory) -> CodeSets:
    """Packaged data only."""
    return CodeSets(tmp_path_factory.mktemp("no-user-data"),
                    cache_dir=tmp_path_factory.getbasetemp() / "medbill-cache")


def manifest(folder: Path) -> str:
    path = folder / "manifest.json"
    return path.read_text(encoding="utf-8") if path.exists() else ""


# -- the shipped HCPCS Level II July 2026 file ------------------------------------------------

def test_shipped_hcpcs_file_counts(cs: CodeSets) -> None:
    assert len(cs.table(CodeSystem.HCPCS)) == 8725
    assert len(cs.table(CodeSystem.MODIFIER)) == 384
    assert not [code for code in cs.table(CodeSystem.HCPCS) if code[0].isdigit()]  # no CPT


def test_hcpcs_code_added_in_2026_is_valid_from_its_add_date(cs: CodeSets) -> None:
    assert cs.hcpcs("A9574", D(2026, 6, 30)).reason is Reason.NOT_YET_EFFECTIVE
    verdict = cs.hcpcs("A9574", D(2026, 7, 1))
    assert verdict.ok
    assert verdict.info is not None and verdict.info.description == "Injection, ferumoxytol, 1 mg"
    assert verdict.release == "HCPCS Level II 2026 Q3"


def test_hcpcs_code_terminated_in_2025_is_invalid_after(cs: CodeSets) -> None:
    assert cs.hcpcs("A9155", D(2025, 3, 31)).ok
    late = cs.hcpcs("A9155", D(2025, 4, 1))
    assert late.reason is Reason.TERMINATED
    assert late.info is not None and late.info.terminated == D(2025, 3, 31)
    assert late.release == "HCPCS Level II 2026 Q3"  # an older date answered by the newest file


def test_date_past_the_newest_release_is_answered_with_a_note(cs: CodeSets) -> None:
    inside = cs.hcpcs("A4216", D(2026, 9, 30))
    assert inside.ok and inside.note == ""
    past = cs.hcpcs("A4216", D(2026, 10, 15))
    assert past.ok
    assert past.note == ("date 2026-10-15 is after HCPCS Level II 2026 Q3 (2026-07-01..2026-09-30);"
                         " checked against that release")
    gap = coverage("hcpcs", D(2026, 10, 15), cs.data_dir)
    assert not gap.covered and "HCPCS Level II 2026 Q4 (2026-10-01..2026-12-31)" in gap.missing
    unknown = cs.hcpcs("G0999", D(2026, 10, 15))
    assert unknown.reason is Reason.UNKNOWN
    assert unknown.message == "G0999: no such HCPCS Level II code in HCPCS Level II 2026 Q3"
    assert unknown.release == "HCPCS Level II 2026 Q3" and "after HCPCS" in unknown.note


def test_status_lists_codes_and_modifiers_as_two_releases() -> None:
    [codes] = spec("hcpcs").releases(None)
    [modifiers] = spec("hcpcs-modifiers").releases(None)
    assert (codes.label, codes.effective, codes.through) == (
        "HCPCS Level II 2026 Q3", D(2026, 7, 1), D(2026, 9, 30))
    assert modifiers.label == "HCPCS Level II modifiers 2026 Q3"


# -- CARC / RARC: the 2026 lists merged over the dated 2024 lists ------------------------------

def test_shipped_carc_and_rarc_counts(cs: CodeSets) -> None:
    carc, rarc = cs.table(CodeSystem.CARC), cs.table(CodeSystem.RARC)
    assert len(carc) == 407 and max(int(c) for c in carc if c.isdigit()) == 308
    assert len(rarc) == 1216 and max(int(c[1:]) for c in rarc if c.startswith("N")) == 940


def test_carc_merge_keeps_2024_dates_and_takes_2026_texts(cs: CodeSets) -> None:
    stopped = cs.carc("15", D(2018, 5, 2))
    assert stopped.reason is Reason.TERMINATED and stopped.info is not None
    assert stopped.info.terminated == D(2018, 5, 1)
    revised = cs.carc("216", D(2026, 8, 1))
    assert revised.info is not None and revised.info.effective == D(2008, 1, 27)
    assert revised.info.description == ("Based on the findings of a review organization or the"
                                        " payer's findings.")
    assert revised.release == "X12 CARC list, July 2026 update (as of 2026-08-17)"
    usage = cs.carc("45", D(2026, 8, 1))
    assert usage.info is not None and usage.info.description == (
        "Charge exceeds fee schedule/maximum allowable or contracted/legislated fee arrangement.")
    assert usage.note.startswith("Usage: This adjustment amount cannot equal")


def test_code_new_since_2024_has_no_start_date_and_says_so(cs: CodeSets) -> None:
    new = cs.rarc("N940", D(2020, 1, 1))
    assert new.ok and new.info is not None and new.info.effective is None
    assert new.note == ("added to the X12 list after 2024-06-18 (listed as of 2026-08-17);"
                        " its start date is not in medbill's data")
    assert cs.carc("308", D(2026, 8, 1)).ok


def test_deactivated_code_without_a_stop_date_is_accepted_with_a_note(cs: CodeSets) -> None:
    # a remittance is read as the payer sent it: the unknown stop date cannot reject it
    verdict = cs.rarc("M33", D(2026, 8, 1))
    assert verdict.reason is Reason.OK
    assert verdict.info is not None and verdict.info.terminated is None
    assert verdict.note == (
        "Consider using M68; deactivated by X12 (listed as deactivated as of 2026-08-17); its"
        " stop date is not in medbill's data, so it is accepted on any date: a payer may not"
        " use it in an original remittance after its stop date")


def test_merge_rules_for_a_code_stopped_or_reinstated_after_the_dated_list() -> None:
    dated = X.merge(CodeSystem.CARC, {}, [
        X.ListEntry(2, "1", "Old one", "", "", D(1995, 1, 1), None, None, ""),
        X.ListEntry(3, "2", "Old two", "", "", D(1995, 1, 1), D(2010, 1, 1), None, ""),
    ], as_of=D(2024, 6, 18), source="dated")
    newer = [X.ListEntry(2, "1", "New one", "", "deactivated", None, None, None, ""),
             X.ListEntry(3, "2", "New two", "", "current", None, None, None, "")]
    merged = X.merge(CodeSystem.CARC, dated, newer, as_of=D(2026, 8, 17), source="merged")
    assert merged["1"].effective == D(1995, 1, 1) and merged["1"].terminated is None
    assert merged["1"].note.startswith("deactivated by X12 after 2024-06-18")
    assert merged["2"].terminated is None  # current again: the old stop date no longer holds
    assert merged["2"].note == ("current again in the X12 list as of 2026-08-17 (it had stopped"
                                " after 2010-01-01)")
    assert (merged["1"].description, merged["2"].description) == ("New one", "New two")


def test_x12_release_window_is_the_july_2026_update() -> None:
    [carc] = spec("carc").releases(None)
    assert (carc.label, carc.effective, carc.through) == (
        "X12 CARC list, July 2026 update (as of 2026-08-17)", D(2026, 7, 1), D(2026, 10, 31))


def test_place_of_service_release(cs: CodeSets) -> None:
    assert len(cs.table(CodeSystem.POS)) == 99
    assert sum(info.assigned for info in cs.table(CodeSystem.POS).values()) == 52
    assert cs.place_of_service("11", D(2026, 8, 1)).release == (
        "CMS place of service codes, September 2023")


# -- `codes update`: the CMS ANWEB file ---------------------------------------------------------

ANWEB_HEADER = (
    "HCPC,SEQNUM,RECID,LONG DESCRIPTION,SHORT DESCRIPTION,PRICE1,PRICE2,PRICE3,PRICE4,MULT_PI,"
    "CIM1,CIM2,CIM3,MCM1,MCM2,MCM3,STATUTE,LABCERT1,LABCERT2,LABCERT3,LABCERT4,LABCERT5,"
    "LABCERT6,LABCERT7,LABCERT8,XREF1,XREF2,XREF3,XREF4,XREF5,COV,ASC_GRP,ASC_DT,OPPS,OPPS_PI,"
    "OPPS_DT,PROCNOTE,BETOS,TOS1,TOS2,TOS3,TOS4,TOS5,ANEST_BU,ADD DT,ACT EFF DT,TERM DT,"
    "ACTION CD")


def anweb_row(code: str, recid: str, long: str, short: str = "", add: str = "",
              act: str = "", term: str = "", action: str = "N") -> str:
    cells = [code, "0010", recid, long, short] + [""] * 39 + [add, act, term, action]
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cells)
    return out.getvalue()


def anweb_text(*rows: str) -> str:
    return "\n".join(['"HCPC2026_OCT_ANWEB.xlsx, saved as CSV"', ANWEB_HEADER, *rows]) + "\n"


ANWEB_OCT = anweb_text(
    anweb_row("A4216", "3", "Sterile water, saline and/or dextrose, diluent/flush, 10 ml",
              "Sterile water/saline, 10 ml", "20040101", "20070101"),
    anweb_row("G0999", "3", "Test code added in October 2026 with a long description that",
              "Test code", "20261001", "20261001", action="A"),
    anweb_row("G0999", "4", "continues on a continuation record"),
    anweb_row("A9155", "3", "Artificial saliva, 30 ml", "Artificial saliva", "20080101",
              "20250401", "20250331", "D"),
    anweb_row("   ZQ", "7", "Test modifier added in October 2026", "Test modifier", "20261001",
              "20261001", action="A"),
)


def test_anweb_csv_loads_procedures_and_modifiers_for_its_quarter(tmp_path: Path) -> None:
    source = tmp_path / "HCPC2026_OCT_ANWEB.csv"
    source.write_text(ANWEB_OCT, encoding="utf-8")
    user = tmp_path / "user"
    outcomes = update([source], data_dir=user)
    found = {(o.prepared.code_set, o.prepared.release, o.prepared.effective,
              o.prepared.through, o.prepared.rows, o.action) for o in outcomes}
    assert found == {
        ("hcpcs", "HCPCS Level II 2026 Q4", D(2026, 10, 1), D(2026, 12, 31), 3, "loaded"),
        ("hcpcs-modifiers", "HCPCS Level II modifiers 2026 Q4", D(2026, 10, 1),
         D(2026, 12, 31), 1, "loaded")}
    loaded = CodeSets(user)
    new = loaded.hcpcs("G0999", D(2026, 10, 1))
    assert new.ok and new.release == "HCPCS Level II 2026 Q4" and new.note == ""
    assert new.info is not None and new.info.description == (
        "Test code added in October 2026 with a long description that continues on a"
        " continuation record")
    assert loaded.hcpcs("G0999", D(2026, 9, 30)).reason is Reason.NOT_YET_EFFECTIVE
    assert loaded.hcpcs("A9155", D(2025, 4, 1)).reason is Reason.TERMINATED
    # the newest quarterly file is the whole code set: a code it lacks is unknown
    assert loaded.hcpcs("A9574", D(2026, 10, 1)).reason is Reason.UNKNOWN
    assert loaded.modifier("ZQ", D(2026, 10, 1)).release == "HCPCS Level II modifiers 2026 Q4"
    assert coverage("hcpcs", D(2026, 11, 1), user).covered

    before = manifest(user)
    again = update([source], data_dir=user)
    assert {o.action for o in again} == {"unchanged"}
    assert manifest(user) == before


def test_anweb_quarter_from_the_latest_action_date_when_the_name_does_not_say(
        tmp_path: Path) -> None:
    source = tmp_path / "hcpcs-export.csv"
    source.write_text(ANWEB_OCT, encoding="utf-8")
    outcomes = update([source], data_dir=tmp_path / "user")
    assert {o.prepared.effective for o in outcomes} == {D(2026, 10, 1)}


def test_legacy_codes_load_still_overrides_the_newest_release(tmp_path: Path) -> None:
    source = tmp_path / "HCPC2026_OCT_ANWEB.csv"
    source.write_text(ANWEB_OCT, encoding="utf-8")
    user = tmp_path / "user"
    update([source], data_dir=user)
    extra = tmp_path / "extra.csv"
    extra.write_text("code,description,add_date\nG0998,Local test code,2026-01-01\n",
                     encoding="utf-8")
    load_file("hcpcs", extra, data_dir=user)
    loaded = CodeSets(user)
    local = loaded.hcpcs("G0998", D(2026, 10, 2))
    assert local.ok and local.release.startswith("user file extra.csv")
    assert loaded.hcpcs("G0999", D(2026, 10, 2)).release == "HCPCS Level II 2026 Q4"


@pytest.mark.parametrize(("row", "error"), [
    (anweb_row("G0999", "5", "Bad record id", "", "20261001", "20261001"),
     "HCPC2026_OCT_ANWEB.csv: line 4: RECID '5' is not 3, 4, 7 or 8"),
    (anweb_row("G09X9", "3", "Bad code", "", "20261001", "20261001"),
     "HCPC2026_OCT_ANWEB.csv: line 4: 'G09X9' is not a HCPCS Level II code"),
    (anweb_row("G0999", "3", "Bad date", "", "20261301", "20261001"),
     "HCPC2026_OCT_ANWEB.csv: line 4 (G0999): ADD_DT: not a date"),
])
def test_malformed_anweb_names_the_line_and_stores_nothing(tmp_path: Path, row: str,
                                                           error: str) -> None:
    source = tmp_path / "HCPC2026_OCT_ANWEB.csv"
    source.write_text(anweb_text(anweb_row("A4216", "3", "Sterile water", "", "20040101",
                                           "20070101"), row), encoding="utf-8")
    user = tmp_path / "user"
    with pytest.raises(CodeSetError) as raised:
        update([source], data_dir=user)
    assert raised.value.message.startswith(error)
    assert manifest(user) == "" and not (user / "releases").exists()


def _anweb_xlsx(text: str) -> bytes:
    """The ANWEB rows of ``text`` as the xlsx CMS ships: header first, dates as numbers."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for number, cells in enumerate(csv.reader(io.StringIO(text))):
        if number == 0:
            continue  # the CSV fixture's "saved as CSV" banner
        sheet.append([int(c) if c.isdigit() and len(c) == 8 else c for c in cells])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_the_cms_zip_loads_from_its_xlsx_and_leaves_the_fixed_width_text(
        tmp_path: Path) -> None:
    archive = tmp_path / "october-2026-alpha-numeric-hcpcs-file.zip"
    record = "A4216" + "0010" + "3" + "Sterile water, saline and/or dextrose".ljust(80)
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("HCPC2026_OCT_ANWEB_v2.txt", record + "\n")
        handle.writestr("HCPC2026_OCT_ANWEB_v2.xlsx", _anweb_xlsx(ANWEB_OCT))
        handle.writestr("HCPC2026_recordlayout.txt", "CMS RIF REPORT\n")
    user = tmp_path / "user"
    found = {(o.prepared.code_set, o.prepared.release, o.prepared.rows)
             for o in update([archive], data_dir=user)}
    assert found == {("hcpcs", "HCPCS Level II 2026 Q4", 3),
                     ("hcpcs-modifiers", "HCPCS Level II modifiers 2026 Q4", 1)}
    codesets = CodeSets(user)
    assert codesets.hcpcs("G0999", D(2026, 10, 1)).ok
    assert codesets.hcpcs("G0999", D(2026, 10, 1)).info.description == (
        "Test code added in October 2026 with a long description that continues on a"
        " continuation record")
    assert codesets.hcpcs("A9155", D(2025, 4, 1)).reason is Reason.TERMINATED


def test_a_damaged_xlsx_or_the_fixed_width_text_alone_is_refused(tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.zip"
    with zipfile.ZipFile(damaged, "w") as handle:
        handle.writestr("HCPC2026_OCT_ANWEB_v2.xlsx", b"PK\x03\x04 not really an xlsx")
    user = tmp_path / "user"
    with pytest.raises(CodeSetError, match="HCPC2026_OCT_ANWEB_v2.xlsx: not a readable xlsx"):
        update([damaged], data_dir=user)
    text = tmp_path / "HCPC2026_OCT_ANWEB_v2.txt"
    text.write_text("A4216" + "0010" + "3" + "Sterile water".ljust(80) + "\n")
    with pytest.raises(CodeSetError, match="not the fixed-width text file"):
        update([text], data_dir=user)
    assert manifest(user) == ""


# -- `codes update`: NCCI PTP (all four parts) and MUE --------------------------------------------

PTP_NOTICE = (
    "CPT codes, descriptions and other data only are copyright 2025 American Medical"
    " Association. All rights reserved.\n"
    "Column 1\tColumn 2\t*=in existence prior to 1996\tEffective\tDeletion\tModifier\tPTP Edit\n"
    "\t\t\tDate\tDate\t0=not allowed\tRationale\n"
    "\t\t\t\t*=no data\t1=allowed\t\n"
    "\t\t\t\t\t9=not applicable\t\n")
PTP_PARTS = {
    1: "0999T\tA9574\t\t20261001\t*\t0\tMutually exclusive procedures\n",
    2: "11042\t11010\t*\t19960101\t20260930\t1\tMutually exclusive procedures\n",
    3: "20610\t36591\t\t20240101\t*\t0\tCPT Manual or CMS manual coding instruction\n",
    4: "93000\t93005\t\t20240101\t20240101\t9\tMisuse of Column Two code with Column One code\n"
       "93000\t93010\t\t20240101\t*\t0\tMisuse of Column Two code with Column One code\n",
}


def ptp_zip(folder: Path, version: str = "v323r0", parts: tuple[int, ...] = (1, 2, 3, 4),
            first_row: str | None = None) -> Path:
    path = folder / f"medicare-ncci-ptp-{version}.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for part in parts:
            row = first_row if first_row and part == 1 else PTP_PARTS[part]
            archive.writestr(f"ccipra-{version}-f{part}.txt",
                             (PTP_NOTICE + row).encode("cp1252"))
        archive.writestr("README.pdf", b"%PDF")
    return path


def test_ptp_quarter_from_four_parts_in_a_zip_and_picked_by_date(tmp_path: Path) -> None:
    user = tmp_path / "user"
    [outcome] = update([ptp_zip(tmp_path)], data_dir=user)
    release = outcome.prepared
    assert (release.code_set, release.release, release.effective, release.through,
            release.rows) == ("ncci-ptp", "NCCI practitioner PTP 2026 Q4 (v323r0)",
                              D(2026, 10, 1), D(2026, 12, 31), 4)
    ncci = Ncci(user)
    quarter = ncci.ptp_for(D(2026, 10, 15))
    assert quarter.label == "NCCI practitioner PTP 2026 Q4 (v323r0)"
    assert quarter.edit("0999T", "A9574", D(2026, 10, 15)) is not None
    assert quarter.edit("11042", "11010", D(2026, 10, 15)) is None  # deleted 2026-09-30
    assert ncci.ptp is quarter  # the newest release
    older = ncci.ptp_for(D(2024, 8, 1))
    assert older.label.startswith("CMS NCCI practitioner PTP edits 2024 Q3")
    assert older.edit("0999T", "A9574", D(2026, 10, 15)) is None

    before = manifest(user)
    assert [o.action for o in update([ptp_zip(tmp_path)], data_dir=user)] == ["unchanged"]
    assert manifest(user) == before


def test_older_quarters_stay_for_older_dates_of_service(tmp_path: Path) -> None:
    user = tmp_path / "user"
    q4 = tmp_path / "q4"
    q4.mkdir()
    update([ptp_zip(q4)], data_dir=user)
    q3 = tmp_path / "q3"
    q3.mkdir()
    update([ptp_zip(q3, "v322r0", first_row="0999T\t0998T\t\t20260701\t*\t1\tTest\n")],
           data_dir=user)
    ncci = Ncci(user)
    assert ncci.ptp_for(D(2026, 8, 1)).label == "NCCI practitioner PTP 2026 Q3 (v322r0)"
    assert ncci.ptp_for(D(2026, 12, 1)).label == "NCCI practitioner PTP 2026 Q4 (v323r0)"
    assert ncci.ptp_for(D(2027, 2, 1)).label == "NCCI practitioner PTP 2026 Q4 (v323r0)"
    assert sorted(json.loads(manifest(user))["releases"]["ncci-ptp"]) == [
        "2026-07-01", "2026-10-01"]


def test_ptp_with_a_part_missing_is_an_error_naming_it(tmp_path: Path) -> None:
    user = tmp_path / "user"
    with pytest.raises(CodeSetError, match=r"ccipra-v323r0: ccipra-v323r0-f3 missing: give all"
                                           r" four parts \(f1-f4\)"):
        update([ptp_zip(tmp_path, parts=(1, 2, 4))], data_dir=user)
    assert manifest(user) == ""


def test_ptp_whose_data_is_newer_than_its_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CodeSetError, match="the name says 2026-10-01..2026-12-31 but an edit"
                                           " takes effect on 2027-01-01"):
        update([ptp_zip(tmp_path, first_row="0999T\tA9574\t\t20270101\t*\t0\tTest\n")],
               data_dir=tmp_path / "user")


def test_malformed_ptp_names_the_file_and_row(tmp_path: Path) -> None:
    user = tmp_path / "user"
    with pytest.raises(CodeSetError, match=r"ccipra-v323r0-f1.txt: row 6 \(0999T\): modifier"
                                           r" indicator '7'"):
        update([ptp_zip(tmp_path, first_row="0999T\tA9574\t\t20261001\t*\t7\tTest\n")],
               data_dir=user)
    assert manifest(user) == ""


OFFICIAL_MUE = (
    '"CPT codes, descriptions and other data only are copyright 2025 American Medical'
    ' Association."\n'
    '\n'
    '"HCPCS/\nCPT Code","Practitioner Services MUE Values","MUE Adjudication Indicator",'
    '"MUE Rationale"\n'
    '36415,4,"3 Date of Service Edit: Clinical","CMS Policy"\n'
    'A9574,500,"1 Line Edit","Clinical: Data"\n')


def test_mue_quarter_from_the_cms_name(tmp_path: Path) -> None:
    source = tmp_path / "MCR_MUE_PractitionerServices_Eff_10-01-2026.csv"
    source.write_text(OFFICIAL_MUE, encoding="utf-8")
    user = tmp_path / "user"
    [outcome] = update([source], data_dir=user)
    assert (outcome.prepared.release, outcome.prepared.effective, outcome.prepared.rows) == (
        "NCCI practitioner MUE 2026 Q4", D(2026, 10, 1), 2)
    ncci = Ncci(user)
    assert ncci.mue_for(D(2026, 10, 2))["36415"].value == 4
    assert ncci.mue_for(D(2026, 9, 30))["36415"].value == 2  # the packaged 2024 Q3 table
    assert [o.action for o in update([source], data_dir=user)] == ["unchanged"]


def test_mue_without_its_cms_name_cannot_tell_the_quarter(tmp_path: Path) -> None:
    source = tmp_path / "mue.csv"
    source.write_text(OFFICIAL_MUE, encoding="utf-8")
    with pytest.raises(CodeSetError, match="mue.csv: cannot tell which quarter it is"):
        update([source], data_dir=tmp_path / "user")


def test_scrubber_checks_each_date_against_its_quarter(tmp_path: Path) -> None:
    user = tmp_path / "user"
    update([ptp_zip(tmp_path)], data_dir=user)
    mue = tmp_path / "MCR_MUE_PractitionerServices_Eff_10-01-2026.csv"
    mue.write_text(OFFICIAL_MUE, encoding="utf-8")
    update([mue], data_dir=user)
    env = EditEnv(today=D(2026, 12, 1), codesets=CodeSets(user), ncci=Ncci(user))

    def claim(on: date, *lines: tuple[str, str]) -> BillableClaim:
        made = [factories.make_line(n, service_date=on, procedure_code=code,
                                    units=Decimal(units))
                for n, (code, units) in enumerate(lines, start=1)]
        return factories.make_billable_claim(claim=factories.make_claim(
            service_date=on).model_copy(update={"lines": made}))

    pair = (("0999T", "1"), ("A9574", "1"))
    [finding] = ncci_ptp(claim(D(2026, 10, 5), *pair), env)
    assert finding.code == "ncci.ptp.not_allowed"
    assert "NCCI practitioner PTP 2026 Q4 (v323r0)" in finding.message
    assert ncci_ptp(claim(D(2026, 9, 30), *pair), env) == []  # 2024 Q3 table: no such edit
    assert ncci_mue(claim(D(2026, 10, 5), ("36415", "4")), env) == []  # Q4 MUE is 4
    assert [f.code for f in ncci_mue(claim(D(2026, 9, 30), ("36415", "4")), env)] == [
        "ncci.mue.exceeded"]  # the packaged MUE of 2


# -- `codes update`: X12 CARC and RARC lists, place of service ---------------------------------

X12_CARC = (
    "Code,Description,Start Date,Last Modified,Stop Date\n"
    '45,"Charge exceeds fee schedule/maximum allowable or contracted/legislated fee'
    ' arrangement. Usage: Use only with Group Codes PR or CO.",01/01/1995,11/01/2026,\n'
    "15,The authorization number is missing or invalid.,01/01/1995,,05/01/2018\n"
    "309,Test reason added in November 2026.,11/01/2026,,\n"
    "P21,Payment denied based on Medical Payments Coverage.,11/01/2017,,\n")
X12_RARC = (
    "code,status,description\n"
    '"M33","deactivated","Missing/incomplete/invalid UPIN."\n'
    '"N941","current","Test remark added in November 2026."\n'
    '"MA130","current","Your claim contains incomplete and/or invalid information."\n')


def test_carc_list_with_dates_and_rarc_list_with_status(tmp_path: Path) -> None:
    carc = tmp_path / "carc_2026-11-20.csv"
    carc.write_text(X12_CARC, encoding="utf-8")
    rarc = tmp_path / "rarc_2026-11.csv"
    rarc.write_text(X12_RARC, encoding="utf-8")
    user = tmp_path / "user"
    outcomes = {o.prepared.code_set: o.prepared for o in update([carc, rarc], data_dir=user)}
    assert (outcomes["carc"].release, outcomes["carc"].effective, outcomes["carc"].through,
            outcomes["carc"].rows) == (
        "X12 CARC list, November 2026 update (as of 2026-11-20)", D(2026, 11, 1),
        D(2027, 2, 28), 4)
    assert outcomes["rarc"].release == "X12 RARC list, November 2026 update (as of 2026-11-01)"
    loaded = CodeSets(user)
    new = loaded.carc("309", D(2026, 11, 2))
    assert new.ok and new.release == "X12 CARC list, November 2026 update (as of 2026-11-20)"
    assert loaded.carc("309", D(2026, 10, 31)).reason is Reason.NOT_YET_EFFECTIVE
    assert loaded.carc("15", D(2018, 5, 2)).reason is Reason.TERMINATED
    # codes of the packaged dated list the new one does not repeat are kept
    assert loaded.carc("2", D(2026, 11, 2)).ok
    assert loaded.rarc("N941", D(2026, 11, 2)).note.startswith("added to the X12 list after")
    assert loaded.rarc("MA130", D(2026, 11, 2)).ok
    before = manifest(user)
    assert {o.action for o in update([carc, rarc], data_dir=user)} == {"unchanged"}
    assert manifest(user) == before


def test_malformed_x12_list_names_the_line_and_stores_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "rarc_2026-11.csv"
    bad.write_text(X12_RARC + '"N942","retired","Bad status."\n', encoding="utf-8")
    user = tmp_path / "user"
    with pytest.raises(CodeSetError, match="rarc_2026-11.csv: line 5 \\(N942\\): status"
                                           " 'retired' is not current or deactivated"):
        update([bad], data_dir=user)
    assert manifest(user) == ""


def test_x12_list_without_a_date_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "rarc.csv"
    source.write_text(X12_RARC, encoding="utf-8")
    with pytest.raises(CodeSetError, match="rarc.csv: cannot tell which X12 update it is"):
        update([source], data_dir=tmp_path / "user")


POS = (
    "Code,Name,Description,Effective Date\n"
    "11,Office,\"Location, other than a hospital, where the health professional routinely"
    " provides examinations.\",\n"
    "30,Test Setting,A test place of service assigned in 2026.,2026-04-01\n"
    "35-40,Unassigned,N/A,\n"
    "99,Other Place of Service,Other place of service not identified above.,\n")


def test_place_of_service_list(tmp_path: Path) -> None:
    source = tmp_path / "pos_2026-03-15.csv"
    source.write_text(POS, encoding="utf-8")
    user = tmp_path / "user"
    [outcome] = update([source], data_dir=user)
    assert (outcome.prepared.code_set, outcome.prepared.release, outcome.prepared.effective,
            outcome.prepared.through, outcome.prepared.rows) == (
        "pos", "CMS place of service codes as of 2026-03-15", D(2026, 3, 15), None, 9)
    loaded = CodeSets(user)
    assert loaded.place_of_service("30", D(2026, 4, 1)).release == (
        "CMS place of service codes as of 2026-03-15")
    assert loaded.place_of_service("30", D(2026, 3, 31)).reason is Reason.NOT_YET_EFFECTIVE
    assert loaded.place_of_service("37", D(2026, 4, 1)).reason is Reason.UNASSIGNED
    assert [o.action for o in update([source], data_dir=user)] == ["unchanged"]
    bad = tmp_path / "pos_2026-04-01.csv"
    bad.write_text(POS + "1X,Broken,,\n", encoding="utf-8")
    with pytest.raises(CodeSetError, match="pos_2026-04-01.csv: line 6: '1X' is not a place of"
                                           " service code"):
        update([bad], data_dir=user)
