"""MPFS releases: which one prices a date, and loading CMS's RVU zip with ``codes update``."""

from __future__ import annotations

import gzip
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from medbill_core.codesets import mpfs, releases, update
from medbill_core.codesets.model import CodeSetError
from medbill_core.testing import mpfs_files


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "codesets"
    folder.mkdir()
    return folder


# -- packaged releases by date of service -------------------------------------------------------

@pytest.mark.parametrize(("on", "label", "factor"), [
    (date(2025, 1, 2), "MPFS 2025 RVU25D (October 2025 release)", "32.3465"),
    (date(2025, 12, 31), "MPFS 2025 RVU25D (October 2025 release)", "32.3465"),
    (date(2026, 1, 1), "MPFS 2026 RVU26C (July 2026 release, standing in for 2026 Q1-Q2)",
     "33.4009"),
    (date(2026, 7, 1), "MPFS 2026 RVU26C (July 2026 release)", "33.4009"),
    (date(2026, 9, 30), "MPFS 2026 RVU26C (July 2026 release)", "33.4009"),
])
def test_packaged_release_by_date(data_dir: Path, on: date, label: str, factor: str) -> None:
    chosen = mpfs.schedule_for(on, data_dir)
    assert (chosen.release.label, chosen.covered, chosen.missing) == (label, True, "")
    assert chosen.schedule.conversion_factor == Decimal(factor)
    assert chosen.schedule.label == label


def test_date_past_the_newest_release_names_the_missing_one(data_dir: Path) -> None:
    chosen = mpfs.schedule_for(date(2026, 11, 15), data_dir)
    assert chosen.covered is False
    assert chosen.release.label == "MPFS 2026 RVU26C (July 2026 release)"  # the nearest
    assert chosen.schedule.conversion_factor == Decimal("33.4009")
    assert "Medicare physician fee schedule 2026 Q4 (2026-10-01..2026-12-31) is not loaded" \
        in chosen.missing
    assert "medbill codes update" in chosen.missing and "rvu26d.zip" in chosen.missing


def test_codes_status_lists_the_mpfs_releases(data_dir: Path) -> None:
    [(spec, found, cover)] = [row for row in releases.status(date(2026, 12, 5), data_dir)
                              if row[0].key == "mpfs"]
    assert spec.name == "Medicare physician fee schedule"
    assert [(w.effective, w.through) for w in found] == [
        (date(2025, 1, 1), date(2025, 12, 31)), (date(2026, 1, 1), date(2026, 6, 30)),
        (date(2026, 7, 1), date(2026, 9, 30))]
    assert not cover.covered and "2026 Q4" in cover.missing


def test_packaged_rows_and_opps_columns() -> None:
    schedule = mpfs.schedule_for_year(2026).schedule
    assert len(schedule.rvus) == 19_356
    tc = schedule.rvu("72191", "TC")
    assert tc is not None and tc.opps_capped
    assert (tc.pe_nonfacility, tc.opps_pe_nonfacility, tc.opps_mp) == (
        Decimal("6.60"), Decimal("5.34"), Decimal("0.02"))
    visit = schedule.rvu("99213")
    assert visit is not None and not visit.opps_capped
    with pytest.raises(CodeSetError, match="no Medicare fee schedule release for 2019"):
        mpfs.schedule_for_year(2019)


# -- medbill codes update rvu26d.zip -----------------------------------------------------------

def _manifest(data_dir: Path) -> dict:
    path = data_dir / "manifest.json"
    return json.loads(path.read_text()) if path.exists() else {}


def test_update_loads_the_rvu_zip(tmp_path: Path, data_dir: Path) -> None:
    zipped = mpfs_files.write_rvu_zip(tmp_path / "rvu26d.zip")
    [outcome] = update.update([zipped], data_dir=data_dir)
    release = outcome.prepared
    assert outcome.action == "loaded"
    assert (release.code_set, release.release) == ("mpfs", "MPFS 2026 RVU26D (October 2026"
                                                           " release)")
    assert (release.effective, release.through) == (date(2026, 10, 1), date(2026, 12, 31))
    assert release.rows == len(mpfs_files.REAL_ROWS) + 1000
    assert sorted(s.name for s in release.sources) == [
        "GPCI2026.csv", "OPPSCAP_OCT.csv", "PPRRVU26_OCT.csv"]  # ANES, LOCCO, .txt skipped

    chosen = mpfs.schedule_for(date(2026, 11, 15), data_dir)
    assert (chosen.covered, chosen.missing) == (True, "")
    assert chosen.release.origin == "loaded"
    assert chosen.schedule.label == "MPFS 2026 RVU26D (October 2026 release)"
    assert chosen.schedule.conversion_factor == Decimal(mpfs_files.CONVERSION_FACTOR)
    la = chosen.schedule.locality("18", "01182")
    assert (la.work_gpci, la.pe_gpci, la.mp_gpci) == tuple(Decimal(g) for g in
                                                           mpfs_files.LA_GPCI)
    assert chosen.schedule.locality("01", "02102").name == "ALASKA"  # footnote mark removed
    row = chosen.schedule.rvu("11004")
    assert row is not None and row.pe_nonfacility_na and row.work == Decimal("10.53")
    cap = chosen.schedule.opps_cap("72191", "TC", la)
    assert cap is not None and cap.nonfacility == Decimal(mpfs_files.OPPSCAP_72191_TC)
    # earlier dates keep their packaged releases
    assert mpfs.schedule_for(date(2026, 8, 1), data_dir).release.origin == "packaged"

    stored = gzip.decompress((outcome.stored_at / "rvu.csv.gz").read_bytes()).decode()
    assert "descriptor" not in stored.lower() and "description" not in stored.splitlines()[0]


def test_loading_twice_changes_nothing(tmp_path: Path, data_dir: Path) -> None:
    zipped = mpfs_files.write_rvu_zip(tmp_path / "rvu26d.zip")
    update.update([zipped], data_dir=data_dir)
    before = (data_dir / "manifest.json").read_bytes()
    [again] = update.update([zipped], data_dir=data_dir)
    assert again.action == "unchanged"
    assert (data_dir / "manifest.json").read_bytes() == before


def test_the_non_qpp_file_is_loaded_when_cms_ships_both(tmp_path: Path,
                                                        data_dir: Path) -> None:
    zipped = mpfs_files.write_rvu_zip(tmp_path / "rvu26d.zip",
                                      rvu_name="PPRRVU2026_Oct_nonQPP.csv",
                                      qpp_factor="33.7000")
    [outcome] = update.update([zipped], data_dir=data_dir)
    assert [s.name for s in outcome.prepared.sources if s.name.startswith("PPRRVU")] == [
        "PPRRVU2026_Oct_nonQPP.csv"]
    schedule = mpfs.schedule_for(date(2026, 10, 5), data_dir).schedule
    assert schedule.conversion_factor == Decimal(mpfs_files.CONVERSION_FACTOR)


def test_edition_from_the_file_name_without_banner(tmp_path: Path, data_dir: Path) -> None:
    zipped = mpfs_files.write_rvu_zip(tmp_path / "rvu27a.zip",
                                      pprrvu=mpfs_files.pprrvu_csv(banner=False),
                                      rvu_name="PPRRVU2027_Jan.csv")
    [outcome] = update.update([zipped], data_dir=data_dir)
    assert outcome.prepared.release == "MPFS 2027 RVU27A (January 2027 release)"
    assert (outcome.prepared.effective, outcome.prepared.through) == (
        date(2027, 1, 1), date(2027, 3, 31))


def _break_line(text: str, number: int, old: str, new: str) -> str:
    lines = text.splitlines(keepends=True)
    assert old in lines[number - 1]
    lines[number - 1] = lines[number - 1].replace(old, new, 1)
    return "".join(lines)


@pytest.mark.parametrize(("transform", "message"), [
    # line 15 = the 5th data row (5 banner + 5 header rows above)
    (lambda t: _break_line(t, 15, mpfs_files.CONVERSION_FACTOR, "34.0000"),
     r"PPRRVU26_OCT.csv line 15: CONV FACTOR 34.0000 differs from 33.5500 on line 11"),
    (lambda t: _break_line(t, 12, ",10.53,", ",ten,"),
     r"PPRRVU26_OCT.csv line 12: WORK RVU 'ten' is not a number"),
    (lambda t: _break_line(t, 11, "99213", "9921"),
     r"PPRRVU26_OCT.csv line 11: HCPCS '9921' is not a 5-character code"),
    (lambda t: "".join(t.splitlines(keepends=True)[:400]),
     r"PPRRVU26_OCT.csv: 390 RVU rows; .*fewer than 1,000"),
    (lambda t: t.replace("CONV,", "CONVERSION,", 1),
     r"PPRRVU26_OCT.csv line 10: required RVU columns missing: conversion_factor"),
])
def test_malformed_rvu_file_stores_nothing(tmp_path: Path, data_dir: Path, transform,
                                           message: str) -> None:
    zipped = mpfs_files.write_rvu_zip(tmp_path / "rvu26d.zip", transform=transform)
    with pytest.raises(CodeSetError, match=message):
        update.update([zipped], data_dir=data_dir)
    assert _manifest(data_dir) == {}
    assert not (data_dir / "releases").exists()


def test_malformed_file_leaves_earlier_release_untouched(tmp_path: Path,
                                                         data_dir: Path) -> None:
    update.update([mpfs_files.write_rvu_zip(tmp_path / "rvu26d.zip")], data_dir=data_dir)
    before = (data_dir / "manifest.json").read_bytes()
    bad_gpci = mpfs_files.gpci_csv().replace("1.188", "1.1x8", 1)
    with pytest.raises(CodeSetError, match=r"GPCI2026.csv line 4: PE GPCI '1.1x8' is not a"
                                           r" number"):
        update.update([mpfs_files.write_rvu_zip(tmp_path / "rvu27a.zip", gpci=bad_gpci,
                                                rvu_name="PPRRVU2027_Jan.csv",
                                                pprrvu=mpfs_files.pprrvu_csv(banner=False))],
                      data_dir=data_dir)
    assert (data_dir / "manifest.json").read_bytes() == before
    assert not (data_dir / "releases" / "mpfs" / "2027-01-01").exists()


def test_a_release_needs_its_gpci_file(tmp_path: Path, data_dir: Path) -> None:
    rvu = tmp_path / "PPRRVU26_OCT.csv"
    rvu.write_text(mpfs_files.pprrvu_csv())
    with pytest.raises(CodeSetError, match="exactly one GPCI csv file"):
        update.update([rvu], data_dir=data_dir)
    gpci = tmp_path / "GPCI2026.csv"
    gpci.write_text(mpfs_files.gpci_csv())
    [outcome] = update.update([rvu, gpci], data_dir=data_dir)  # loose files: one release
    assert outcome.prepared.release == "MPFS 2026 RVU26D (October 2026 release)"
    assert mpfs.schedule_for(date(2026, 10, 1), data_dir).schedule.opps_caps == {}
