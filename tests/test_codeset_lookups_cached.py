"""The code-set look-ups kept between calls (issue 14: pricing and the Medicare options check
ask several times per claim) give the answers of a fresh read: loaded releases follow the
manifest and their folders, the code-set folder follows the environment, and the RVU reader
by column position reads what ``csv.DictReader`` read."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

import pytest

from medbill_core.codesets import mpfs
from medbill_core.codesets.loaders import user_data_dir
from medbill_core.codesets.model import CodeInfo, CodeSystem
from medbill_core.codesets.releases import loaded_releases
from medbill_core.codesets.update import update
from tests.test_codeset_releases import _toy, toy_formats  # noqa: F401 (fixture)


def test_loaded_releases_follow_the_manifest_and_the_folders(tmp_path: Path,
                                                              toy_formats: None) -> None:  # noqa: F811
    data = tmp_path / "codesets"
    assert loaded_releases(data, "pos") == []  # no manifest yet
    update([_toy(tmp_path, "2027-01-01", "11")], data_dir=data)
    [(window, folder)] = loaded_releases(data, "pos")
    assert (window.label, window.rows, folder.name) == ("toy POS 2027-01-01", 1, "2027-01-01")
    assert loaded_releases(data, "pos") == [(window, folder)]
    assert loaded_releases(data, "icd10cm") == []
    # a release whose folder was removed by hand is left out at once (manifest unchanged)
    shutil.move(folder, tmp_path / "aside")
    assert loaded_releases(data, "pos") == []
    shutil.move(tmp_path / "aside", folder)
    assert loaded_releases(data, "pos") == [(window, folder)]
    # another process's `codes update` replaces the manifest: the next call reads it
    update([_toy(tmp_path, "2027-06-01", "11", "12")], data_dir=data)
    assert [(w.label, w.rows) for w, _ in loaded_releases(data, "pos")] == [
        ("toy POS 2027-01-01", 1), ("toy POS 2027-06-01", 2)]
    manifest = data / "manifest.json"
    entry = json.loads(manifest.read_text())
    del entry["releases"]["pos"]["2027-01-01"]
    replacement = data / "manifest.json.new"
    replacement.write_text(json.dumps(entry))
    os.replace(replacement, manifest)
    assert [w.label for w, _ in loaded_releases(data, "pos")] == ["toy POS 2027-06-01"]
    # an unreadable manifest: no release, as before
    manifest.write_text("{not json")
    os.utime(manifest, ns=(1, 1))
    assert loaded_releases(data, "pos") == []
    manifest.unlink()
    assert loaded_releases(data, "pos") == []


def test_the_code_set_folder_follows_the_environment(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEDBILL_CODESETS_DIR", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert user_data_dir() == tmp_path / "home" / ".local" / "share" / "medbill" / "codesets"
    monkeypatch.setenv("HOME", str(tmp_path / "other"))
    assert user_data_dir() == tmp_path / "other" / ".local" / "share" / "medbill" / "codesets"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert user_data_dir() == tmp_path / "xdg" / "medbill" / "codesets"
    monkeypatch.setenv("MEDBILL_CODESETS_DIR", str(tmp_path / "mine"))
    assert user_data_dir() == tmp_path / "mine"
    assert user_data_dir(tmp_path / "given") == tmp_path / "given"
    monkeypatch.delenv("MEDBILL_CODESETS_DIR")
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.delenv("HOME")  # then the password database names the home folder
    assert user_data_dir() == Path.home() / ".local" / "share" / "medbill" / "codesets"


def _dictreader_rvus(lines: Iterable[str]) -> dict[tuple[str, str], mpfs.RVURow]:
    """The RVU reader as it was (csv.DictReader, one Decimal per cell): the reference."""
    rows = {}
    for record in csv.DictReader(lines):
        row = mpfs.RVURow(
            hcpcs=record["hcpcs"].strip().upper(),
            modifier=record["modifier"].strip().upper(),
            status_code=record["status_code"].strip().upper(),
            work=mpfs._decimal(record["work_rvu"]),
            pe_nonfacility=mpfs._decimal(record["nonfacility_pe_rvu"]),
            pe_nonfacility_na=record["nonfacility_na_indicator"].strip().upper() == "NA",
            pe_facility=mpfs._decimal(record["facility_pe_rvu"]),
            pe_facility_na=record["facility_na_indicator"].strip().upper() == "NA",
            mp=mpfs._decimal(record["mp_rvu"]),
            pctc_indicator=record["pctc_indicator"].strip(),
            global_days=record["global_days"].strip(),
            mult_proc=record["mult_proc"].strip(),
            opps_pe_nonfacility=mpfs._decimal(record.get("opps_nonfacility_pe")),
            opps_pe_facility=mpfs._decimal(record.get("opps_facility_pe")),
            opps_mp=mpfs._decimal(record.get("opps_mp")),
        )
        rows[(row.hcpcs, row.modifier)] = row
    return rows


def _exactly(rows: dict[tuple[str, str], mpfs.RVURow]) -> list[object]:
    """Rows with each Decimal's exact text (1.30 and 1.3 are equal, not the same)."""
    return [(key, [(name, str(getattr(row, name))) for name in mpfs.RVURow.__slots__])
            for key, row in rows.items()]


@pytest.mark.parametrize("rvu_file", ["rvu_2025_oct.csv.gz", "rvu_2026_jul.csv.gz"])
def test_the_packaged_rvu_files_read_as_before(rvu_file: str) -> None:
    text = mpfs._packaged_text(rvu_file)
    read = mpfs._read_rvus(io.StringIO(text))
    assert len(read) > 19000
    assert _exactly(read) == _exactly(_dictreader_rvus(io.StringIO(text)))
    assert read[("99213", "")].work > Decimal("1")


HEADER = ",".join(mpfs.RVU_COLUMNS)
CELLS = {"hcpcs": "99213", "modifier": "26", "status_code": "a", "work_rvu": "1.30",
         "nonfacility_pe_rvu": " 1.22 ", "facility_pe_rvu": "0.55",
         "facility_na_indicator": "na", "mp_rvu": "", "pctc_indicator": "1",
         "global_days": "XXX", "mult_proc": "2", "opps_nonfacility_pe": "0.50",
         "opps_facility_pe": "0.00", "opps_mp": "0"}
ROW = ",".join(CELLS.get(name, "0") for name in mpfs.RVU_COLUMNS)


@pytest.mark.parametrize("text", [
    "", HEADER + "\n", HEADER + "\n" + ROW + "\n", HEADER + "\n\n" + ROW + "\n\n",
    HEADER + "\n" + ROW + ",extra,cells\n",
    HEADER + "\n" + ROW + "\n" + ROW.replace("99213,26", "99214,") + "\n" + ROW + "\n",
    "hcpcs,modifier\n",  # columns missing, but no row: nothing to read
    ",".join(mpfs.RVU_COLUMNS[:-3]) + "\n" + ",".join(ROW.split(",")[:-3]) + "\n",
], ids=["empty", "header", "row", "blank-lines", "long-row", "row-2", "no-rows", "no-opps"])
def test_an_rvu_file_reads_as_dictreader_read_it(text: str) -> None:
    assert _exactly(mpfs._read_rvus(io.StringIO(text))) == _exactly(
        _dictreader_rvus(io.StringIO(text)))


def test_an_rvu_row_reads_its_cells() -> None:
    [(key, row)] = mpfs._read_rvus(io.StringIO(HEADER + "\n" + ROW + "\n")).items()
    assert key == ("99213", "26")
    assert (row.status_code, str(row.work), str(row.pe_nonfacility), row.pe_nonfacility_na,
            row.pe_facility_na, row.mp, row.global_days, row.mult_proc) == (
        "A", "1.30", "1.22", False, True, Decimal("0"), "XXX", "2")
    assert (str(row.opps_pe_nonfacility), row.opps_capped) == ("0.50", True)


@pytest.mark.parametrize(("text", "error"), [
    (HEADER + "\n99213,26,A\n", AttributeError),  # short row: a missing cell
    ("hcpcs,modifier\n99213,\n", KeyError),  # a column missing
    (HEADER + "\n" + ROW.replace("1.30", "x") + "\n", ArithmeticError),
    (HEADER + "\n" + ROW.replace("0.50", "x") + "\n", ArithmeticError),
])
def test_a_broken_rvu_file_fails_as_before(text: str, error: type[Exception]) -> None:
    # the stored release's reader turns these into "cannot be read; load it again"
    with pytest.raises(error):
        _dictreader_rvus(io.StringIO(text))
    with pytest.raises(error):
        mpfs._read_rvus(io.StringIO(text))


def test_a_table_without_some_codes_keeps_the_others_in_order_unparsed() -> None:
    from medbill_core.codesets.icd10_common import LazyTable

    parsed: list[str] = []

    def parse(line: str) -> CodeInfo:
        parsed.append(line)
        code, description = line.split(",")
        return CodeInfo(CodeSystem.ICD10CM, code, description)

    table = LazyTable.from_csv_text("code,description\nA00,a\nB00,b\nC00,c\nD00,d\n",
                                    ["code", "description"], lambda cells: parse(",".join(cells)),
                                    where="toy")
    assert table["B00"].description == "b"
    kept = table.without(["A00", "C00", "Z99"])  # Z99: not in the table, nothing to take out
    assert list(kept) == ["B00", "D00"]
    assert list(table) == ["A00", "B00", "C00", "D00"]  # the table itself is unchanged
    assert parsed == ["B00,b"]  # D00 is still unparsed: parsed when first looked up
    assert kept["D00"].description == "d"
    assert parsed == ["B00,b", "D00,d"]


def test_the_april_2026_icd10cm_table_is_fy2027_with_the_changes_undone() -> None:
    from medbill_core.codesets import icd10cm

    april, fy2027 = icd10cm.april_2026_table(), icd10cm.fy2027_table()
    assert (len(fy2027), len(april)) == (98_403, 98_186)  # CMS's counts
    added = {row["code"] for row in icd10cm._change_rows("added")}
    assert added and not added & set(april)
    assert [code for code in fy2027 if code not in added][:50] == list(april)[:50]
