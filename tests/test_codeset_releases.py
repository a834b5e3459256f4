"""Code-set releases: which release governs a date, what is missing, and `codes update`'s
all-or-nothing, idempotent loading (with a toy format; the official formats have their own
tests beside their code sets)."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pytest

from medbill_core.codesets import update as update_module
from medbill_core.codesets.model import CodeSetError
from medbill_core.codesets.releases import (
    Cadence,
    CodeSetSpec,
    ReleaseWindow,
    coverage,
    loaded_releases,
    period,
    status,
)
from medbill_core.codesets.update import (
    PreparedRelease,
    ReleaseFormat,
    SourceFile,
    digest_of,
    update,
)
from tests.cli_support import cli, one_line_error

D = date


# -- schedules ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("cadence", "on", "expected"), [
    (Cadence.FISCAL_YEAR, D(2026, 9, 30), ("FY2026", D(2025, 10, 1), D(2026, 9, 30))),
    (Cadence.FISCAL_YEAR, D(2026, 10, 1), ("FY2027", D(2026, 10, 1), D(2027, 9, 30))),
    (Cadence.QUARTERLY, D(2026, 12, 5), ("2026 Q4", D(2026, 10, 1), D(2026, 12, 31))),
    (Cadence.QUARTERLY, D(2026, 1, 1), ("2026 Q1", D(2026, 1, 1), D(2026, 3, 31))),
    (Cadence.QUARTERLY, D(2026, 6, 30), ("2026 Q2", D(2026, 4, 1), D(2026, 6, 30))),
    (Cadence.X12_TRIANNUAL, D(2026, 12, 5),
     ("November 2026 update", D(2026, 11, 1), D(2027, 2, 28))),
    (Cadence.X12_TRIANNUAL, D(2028, 2, 29),
     ("November 2027 update", D(2027, 11, 1), D(2028, 2, 29))),
    (Cadence.X12_TRIANNUAL, D(2026, 8, 17),
     ("July 2026 update", D(2026, 7, 1), D(2026, 10, 31))),
    (Cadence.X12_TRIANNUAL, D(2026, 3, 1), ("March 2026 update", D(2026, 3, 1), D(2026, 6, 30))),
    (Cadence.NONE, D(2026, 3, 1), ("current list", D(2026, 3, 1), None)),
])
def test_each_schedule_names_the_release_governing_a_date(
        cadence: Cadence, on: date, expected: tuple[str, date, date | None]) -> None:
    assert period(cadence, on) == expected


# -- coverage -------------------------------------------------------------------------------------

def _window(key: str, label: str, start: date, end: date | None,
            origin: str = "packaged") -> ReleaseWindow:
    return ReleaseWindow(key, label, start, end, "test", origin)


FY26 = _window("icd10cm", "FY2026", D(2025, 10, 1), D(2026, 9, 30))
FY27 = _window("icd10cm", "FY2027", D(2026, 10, 1), D(2027, 9, 30))


def test_a_snapshot_release_covers_only_its_own_window() -> None:
    assert coverage("icd10cm", D(2026, 9, 30), releases=[FY26, FY27]).release == FY26
    assert coverage("icd10cm", D(2026, 10, 1), releases=[FY26, FY27]).release == FY27
    before = coverage("icd10cm", D(2025, 9, 30), releases=[FY26, FY27])
    assert (before.covered, before.release) == (False, FY26)  # the nearest one was used
    assert before.missing == (
        "ICD-10-CM FY2025 (2024-10-01..2025-09-30) is not loaded; checked against FY2026"
        " (2025-10-01..2026-09-30): download the CMS ICD-10-CM code files zip (cms.gov,"
        " 'ICD-10 Code Files') or the CDC order file and run `medbill codes update FILE...`")


def test_a_cumulative_release_answers_earlier_dates_but_not_later_ones() -> None:
    q3 = _window("hcpcs", "HCPCS 2026 Q3", D(2026, 7, 1), D(2026, 9, 30))
    assert coverage("hcpcs", D(2021, 3, 4), releases=[q3]).covered
    later = coverage("hcpcs", D(2026, 12, 5), releases=[q3])
    assert (later.covered, later.release, later.wanted_period) == (
        False, q3, "2026 Q4 (2026-10-01..2026-12-31)")


def test_the_newest_covering_release_wins_and_a_loaded_one_beats_a_packaged_one() -> None:
    q2 = _window("hcpcs", "packaged Q3", D(2026, 7, 1), D(2026, 9, 30))
    q3 = _window("hcpcs", "loaded Q3", D(2026, 7, 1), D(2026, 9, 30), "loaded")
    q4 = _window("hcpcs", "Q4", D(2026, 10, 1), D(2026, 12, 31), "loaded")
    assert coverage("hcpcs", D(2026, 8, 1), releases=[q3, q2]).release == q3
    assert coverage("hcpcs", D(2026, 8, 1), releases=[q2, q3, q4]).release == q4


def test_no_release_at_all_is_not_covered_and_says_not_checked() -> None:
    found = coverage("ncci-mue", D(2026, 12, 5), releases=[])
    assert (found.covered, found.release) == (False, None)
    assert "not loaded; not checked:" in found.missing


def test_status_lists_every_code_set_with_its_coverage(tmp_path: Path) -> None:
    rows = status(D(2026, 12, 5), tmp_path)
    keys = [spec.key for spec, _, _ in rows]
    assert {"icd10cm", "hcpcs", "ncci-ptp", "ncci-mue", "carc", "rarc", "pos"} <= set(keys)
    for spec, releases, found in rows:
        assert releases, f"{spec.key}: nothing packaged"
        assert found.covered or found.missing.startswith(spec.name)


# -- the update pipeline (a toy format) ------------------------------------------------------

TOY = b"TOY-POS-LIST\n"


def _toy_prepare(sources: Sequence[SourceFile]) -> list[PreparedRelease]:
    out = []
    for source in sources:
        lines = source.text().splitlines()[1:]
        for number, line in enumerate(lines, start=2):
            if not (len(line) == 2 and line.isdigit()):
                raise CodeSetError(f"{source.label}: line {number}: {line!r} is not a POS code")
        effective = date.fromisoformat(source.name.removesuffix(".txt")[-10:])

        def write(folder: Path, rows: list[str] = lines) -> None:
            (folder / "codes.txt").write_text("\n".join(rows), encoding="utf-8")

        out.append(PreparedRelease("pos", f"toy POS {effective}", effective, None, len(lines),
                                   (source,), digest_of([source]), write))
    return out


TOY_FORMAT = ReleaseFormat("toy POS list", lambda s: s.head.startswith(TOY), _toy_prepare)


@pytest.fixture
def toy_formats(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(update_module, "formats", lambda: [TOY_FORMAT])


def _toy(folder: Path, day: str, *codes: str) -> Path:
    path = folder / f"pos-{day}.txt"
    path.write_bytes(TOY + "\n".join(codes).encode())
    return path


def _manifest(data_dir: Path) -> dict[str, object]:
    return json.loads((data_dir / "manifest.json").read_text(encoding="utf-8"))


def test_update_loads_a_release_with_its_dates_and_twice_changes_nothing(
        tmp_path: Path, toy_formats: None) -> None:
    data = tmp_path / "codesets"
    source = _toy(tmp_path, "2027-01-01", "11", "12")
    [outcome] = update([source], data_dir=data)
    assert (outcome.action, outcome.prepared.rows, outcome.prepared.effective) == (
        "loaded", 2, D(2027, 1, 1))
    assert (outcome.stored_at / "codes.txt").read_text() == "11\n12"
    [(window, folder)] = loaded_releases(data, "pos")
    assert (window.label, window.effective, window.origin, window.rows) == (
        "toy POS 2027-01-01", D(2027, 1, 1), "loaded", 2)
    assert folder == outcome.stored_at
    before = _manifest(data)
    [again] = update([source], data_dir=data)
    assert again.action == "unchanged"
    assert _manifest(data) == before
    # a later release is added beside it; the earlier one stays for earlier dates
    update([_toy(tmp_path, "2027-06-01", "11")], data_dir=data)
    assert [w.label for w, _ in loaded_releases(data, "pos")] == [
        "toy POS 2027-01-01", "toy POS 2027-06-01"]
    assert coverage("pos", D(2027, 3, 1), data).release_label == "toy POS 2027-01-01"


def test_a_malformed_file_among_good_ones_stores_nothing(tmp_path: Path,
                                                          toy_formats: None) -> None:
    data = tmp_path / "codesets"
    good = _toy(tmp_path, "2027-01-01", "11")
    bad = _toy(tmp_path, "2027-06-01", "11", "1X")
    with pytest.raises(CodeSetError, match=r"pos-2027-06-01.txt: line 3: '1X' is not a POS"):
        update([good, bad], data_dir=data)
    assert not data.exists()


def test_unrecognised_inputs_are_refused_naming_the_file(tmp_path: Path,
                                                         toy_formats: None) -> None:
    stray = tmp_path / "notes.txt"
    stray.write_text("hello")
    with pytest.raises(CodeSetError, match=r"^notes.txt: not an official release file"
                                           r" medbill recognises \(`medbill codes update"
                                           r" --help` lists the files it reads\)$"):
        update([stray], data_dir=tmp_path / "d")
    with pytest.raises(CodeSetError, match="no such file"):
        update([tmp_path / "absent.zip"], data_dir=tmp_path / "d")
    with pytest.raises(CodeSetError, match="is a folder"):
        update([tmp_path], data_dir=tmp_path / "d")
    empty = tmp_path / "other.zip"
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("README.txt", "nothing here")
    with pytest.raises(CodeSetError, match="^other.zip: nothing in it is an official release"):
        update([empty], data_dir=tmp_path / "d")
    assert not (tmp_path / "d").exists()


def test_zips_and_zips_in_zips_are_opened_and_read_mes_skipped(tmp_path: Path,
                                                                toy_formats: None) -> None:
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr("data/pos-2027-06-01.txt", TOY + b"21\n22\n23")
        archive.writestr("read-me.pdf", b"%PDF-")
    outer = tmp_path / "bundle.zip"
    with zipfile.ZipFile(outer, "w") as archive:
        archive.writestr("README.txt", "about the files")
        archive.writestr("pos-2027-01-01.txt", TOY + b"11")
        archive.writestr("nested.zip", inner.getvalue())
    outcomes = update([outer], data_dir=tmp_path / "d")
    assert sorted((o.prepared.release, o.prepared.rows) for o in outcomes) == [
        ("toy POS 2027-01-01", 1), ("toy POS 2027-06-01", 3)]
    labels = sorted(s.label for o in outcomes for s in o.prepared.sources)
    assert labels == ["bundle.zip:nested.zip/data/pos-2027-06-01.txt",
                      "bundle.zip:pos-2027-01-01.txt"]


def test_two_different_files_for_one_release_are_refused(tmp_path: Path,
                                                         toy_formats: None) -> None:
    one = _toy(tmp_path, "2027-01-01", "11")
    other_folder = tmp_path / "other"
    other_folder.mkdir()
    two = _toy(other_folder, "2027-01-01", "12")
    with pytest.raises(CodeSetError, match="two different toy POS 2027-01-01 releases given"):
        update([one, two], data_dir=tmp_path / "d")
    # the same file twice is one release
    assert len(update([one, one], data_dir=tmp_path / "d")) == 1


def test_a_release_of_an_unknown_code_set_is_a_programming_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def prepare(sources: Sequence[SourceFile]) -> list[PreparedRelease]:
        return [PreparedRelease("nonesuch", "x", D(2027, 1, 1), None, 0, tuple(sources),
                                digest_of(sources), lambda folder: None)]

    monkeypatch.setattr(update_module, "formats",
                        lambda: [ReleaseFormat("any", lambda s: True, prepare)])
    with pytest.raises(KeyError, match="unknown code set 'nonesuch'"):
        update([_toy(tmp_path, "2027-01-01", "11")], data_dir=tmp_path / "d")


def test_a_spec_lists_packaged_and_loaded_releases() -> None:
    spec = CodeSetSpec("x", "X", Cadence.QUARTERLY, "files", lambda data_dir: [])
    assert spec.releases(None) == [] and not spec.cumulative


# -- the commands ---------------------------------------------------------------------------------

def test_codes_update_refuses_a_file_it_does_not_know_in_one_line(tmp_path: Path) -> None:
    stray = tmp_path / "notes.txt"
    stray.write_text("hello")
    result = cli(None, "codes", "update", str(stray), "--data-dir", str(tmp_path / "d"))
    assert one_line_error(result).startswith(
        "error: notes.txt: not an official release file medbill recognises")
    assert not (tmp_path / "d").exists()


def test_codes_status_reports_each_code_set_and_what_is_missing(tmp_path: Path) -> None:
    result = cli(None, "codes", "status", "--date", "2031-01-15", "--data-dir", str(tmp_path),
                 "--json")
    assert result.exit_code == 0, result.output
    sets = {entry["code_set"]: entry for entry in json.loads(result.stdout)["code_sets"]}
    icd = sets["icd10cm"]
    assert icd["covered"] is False
    assert icd["missing"].startswith("ICD-10-CM FY2031 (2030-10-01..2031-09-30) is not loaded")
    assert sets["pos"]["covered"] is True  # a list without a schedule stands until replaced
    text = cli(None, "codes", "status", "--date", "2031-01-15", "--data-dir", str(tmp_path))
    assert text.exit_code == 0
    assert "missing FY2031 (2030-10-01..2031-09-30)" in text.stdout
    assert "ICD-10-CM FY2031 (2030-10-01..2031-09-30) is not loaded: download" in text.stderr


def test_codes_status_refuses_a_bad_date() -> None:
    result = cli(None, "codes", "status", "--date", "2026-02-30")
    assert "--date" in one_line_error(result, 2)


def test_validate_past_the_newest_release_prints_one_line_naming_the_missing_one(
        tmp_path: Path) -> None:
    env = {"MEDBILL_CODESETS_DIR": str(tmp_path)}
    result = cli(None, "validate", "hcpcs", "G0008", "--date", "2026-11-01", env=env)
    assert result.exit_code == 1, result.output  # not a pass: no loaded release answers it
    assert result.stdout.startswith(
        "not checked: G0008: 2026-11-01 is outside every loaded HCPCS Level II release"
        " (HCPCS Level II 2026 Q3: through 2026-09-30)")
    notes = [line for line in result.stdout.splitlines() if line.startswith("note:")]
    assert len(notes) == 1, result.stdout
    assert notes[0].startswith("note: HCPCS Level II 2026 Q4 (2026-10-01..2026-12-31) is not"
                               " loaded: download")
    inside = cli(None, "validate", "hcpcs", "G0008", "--date", "2026-08-03", "--json", env=env)
    answer = json.loads(inside.stdout)
    assert (answer["release"], answer["notes"]) == (
        "HCPCS Level II 2026 Q3", ["checked against HCPCS Level II 2026 Q3"])


def test_the_lookups_own_past_release_remark_is_dropped_beside_the_gap_line() -> None:
    from medbill_core.codesets.releases import without_gap_note

    assert without_gap_note("date 2026-11-01 is after HCPCS Level II 2026 Q3 (2026-07-01.."
                            "2026-09-30); checked against that release") == ""
    assert without_gap_note("from a user file; date of service 2027-11-02 is outside the"
                            " loaded ICD-10-CM FY2027 (2026-10-01..2027-09-30); checked"
                            " against that release") == "from a user file"


def test_listed_releases_are_kept_until_the_manifest_changes(tmp_path: Path,
                                                             toy_formats: None) -> None:
    import os

    from medbill_core.codesets.releases import listed_releases

    data = tmp_path / "codesets"
    before = listed_releases("pos", data)
    assert listed_releases("pos", data) is before  # asked per claim: read once
    update([_toy(tmp_path, "2027-01-01", "11")], data_dir=data)
    after = listed_releases("pos", data)
    assert [w.label for w in after] == [w.label for w in before] + ["toy POS 2027-01-01"]
    # a `codes update` by another process changes the manifest: seen on the next call
    manifest = data / "manifest.json"
    entry = json.loads(manifest.read_text())
    del entry["releases"]["pos"]
    manifest.write_text(json.dumps(entry))
    os.utime(manifest, ns=(1, 1))
    assert [w.label for w in listed_releases("pos", data)] == [w.label for w in before]
