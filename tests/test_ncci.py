"""NCCI tables: the packaged PTP pairs and MUEs, lazy loading, and loading the official files."""

from __future__ import annotations

import gzip
import json
from datetime import date
from pathlib import Path

import pytest

from medbill_core.codesets import CodeSetError
from medbill_core.codesets import ncci as N
from medbill_core.codesets.ncci import (
    ASSOCIATED_MODIFIERS,
    MueLimit,
    Ncci,
    PtpEdit,
    PtpTable,
    compact_ptp_text,
    load_mue,
    load_ptp,
    parse_mue_text,
    parse_ptp_text,
)

D = date


@pytest.fixture(scope="module")
def packaged() -> Ncci:
    return Ncci(use_user_data=False)


# -- the packaged tables ---------------------------------------------------------------------

def test_packaged_pair_with_modifier_indicator_1(packaged: Ncci) -> None:
    edit = packaged.ptp.edit("20610", "99213", D(2024, 8, 1))
    assert edit == PtpEdit("20610", "99213", 1, None, None,
                           "CPT Manual or CMS manual coding instruction")
    assert edit.modifier_allowed


def test_packaged_pair_with_modifier_indicator_0(packaged: Ncci) -> None:
    edit = packaged.ptp.edit("20610", "36591", D(2024, 8, 1))
    assert edit is not None
    assert (edit.modifier_indicator, edit.modifier_allowed) == (0, False)


def test_pairs_are_directional_and_unrelated_codes_have_none(packaged: Ncci) -> None:
    assert packaged.ptp.edit("99213", "20610", D(2024, 8, 1)) is None
    assert packaged.ptp.edit("99213", "36415", D(2024, 8, 1)) is None
    assert packaged.ptp.edit("NOPE1", "36415", D(2024, 8, 1)) is None


def test_indicator_9_rows_are_not_loaded(packaged: Ncci) -> None:
    # 99213/81002 is in the CMS file with indicator 9 (deleted retroactively): no edit.
    assert packaged.ptp.column_2_edits("99213").get("81002") is None


def test_deleted_edit_applies_through_its_deletion_date_only(packaged: Ncci) -> None:
    # 0001A/36591: indicator 0, deleted 2023-12-31
    before = packaged.ptp.edit("0001A", "36591", D(2023, 12, 31))
    assert before is not None and before.deleted == D(2023, 12, 31)
    assert packaged.ptp.edit("0001A", "36591", D(2024, 1, 1)) is None


def test_edits_among_finds_the_pairs_in_either_order(packaged: Ncci) -> None:
    found = packaged.ptp.edits_among(["99213", "36415", "20610"], D(2024, 8, 1))
    assert [(e.column_1, e.column_2) for e in found] == [("20610", "99213")]
    assert packaged.ptp.edits_among(["99213", "99213"], D(2024, 8, 1)) == []


def test_packaged_mue_values(packaged: Ncci) -> None:
    assert packaged.mue["36415"] == MueLimit("36415", 2, 3, "CMS Policy")
    assert packaged.mue["A0425"].per_line and packaged.mue["A0425"].value == 250
    assert packaged.mue["G0008"].adjudication_text == "per day (policy)"
    assert len(packaged.mue) == 14677


def test_ptp_table_parses_a_column_1_code_only_when_first_asked() -> None:
    table = PtpTable.from_text(N._packaged_text(N.PACKAGED_PTP), "packaged")
    assert table._parsed == {}
    assert table.column_1_codes == 10988
    table.edit("20610", "99213", D(2024, 8, 1))
    assert list(table._parsed) == ["20610"]


def test_packaged_ptp_counts() -> None:
    text = N._packaged_text(N.PACKAGED_PTP)
    pairs = sum(len(line.rsplit(",", 1)[1].split()) for line in text.splitlines()[1:])
    active = sum(len(line.rsplit(",", 1)[1].split()) for line in text.splitlines()[1:]
                 if line.split(",")[3] == "")
    assert (pairs, active) == (1773338, 1669820)


def test_associated_modifiers() -> None:
    assert {"59", "XE", "XS", "XP", "XU", "25", "91", "LT", "RT", "F1", "T9", "E4"} \
        <= ASSOCIATED_MODIFIERS
    assert not {"76", "26", "TC", "GA", "50"} & ASSOCIATED_MODIFIERS


# -- reading the official files and loading updates ------------------------------------------

OFFICIAL_PTP = (
    "CPT codes, descriptions and other data only are copyright 2023 American Medical"
    " Association. All rights reserved.\n"
    "Column 1\tColumn 2\t*=in existence prior to 1996\tEffective\tDeletion\tModifier\tPTP Edit\n"
    "\t\t\tDate\tDate\t0=not allowed\tRationale\n"
    "\t\t\t\t*=no data\t1=allowed\t\n"
    "\t\t\t\t\t9=not applicable\t\n"
    "20610\t99213\t\t20240101\t*\t1\tCPT Manual or CMS manual coding instruction\n"
    "20610\t36591\t\t20240101\t*\t0\tCPT Manual or CMS manual coding instruction\n"
    "11042\t11010\t*\t19960101\t20240630\t1\tMutually exclusive procedures\n"
    "93000\t93005\t\t20240101\t20240101\t9\tMisuse of Column Two code with Column One code\n"
)

OFFICIAL_MUE = (
    '"CPT codes, descriptions and other data only are copyright 2024 American Medical'
    ' Association."\n'
    '\n'
    '"HCPCS/\nCPT Code","Practitioner Services MUE Values","MUE Adjudication Indicator",'
    '"MUE Rationale"\n'
    '36415,3,"3 Date of Service Edit: Clinical","CMS Policy"\n'
    'A0425,300,"1 Line Edit","Clinical: Data"\n'
    'G0008,1,"2 Date of Service Edit: Policy","Code Descriptor / CPT Instruction"\n'
)


def test_parse_the_official_ptp_layout() -> None:
    edits = list(parse_ptp_text(OFFICIAL_PTP))
    assert edits == [
        PtpEdit("20610", "99213", 1, D(2024, 1, 1), None,
                "CPT Manual or CMS manual coding instruction"),
        PtpEdit("20610", "36591", 0, D(2024, 1, 1), None,
                "CPT Manual or CMS manual coding instruction"),
        PtpEdit("11042", "11010", 1, D(1996, 1, 1), D(2024, 6, 30),
                "Mutually exclusive procedures"),
    ]


def test_parse_the_shared_csv_layout() -> None:
    text = ("column_1,column_2,deletion_date,modifier_indicator,rationale\n"
            "99202,0469T,,0,Misuse of Column Two code with Column One code\n"
            "0001A,36591,2023-12-31,0,CPT Manual or CMS manual coding instruction\n"
            "99213,81002,1998-01-01,9,Standards of medical/surgical practice\n")
    edits = list(parse_ptp_text(text))
    assert [(e.column_1, e.column_2, e.modifier_indicator, e.deleted) for e in edits] == [
        ("99202", "0469T", 0, None), ("0001A", "36591", 0, D(2023, 12, 31))]


def test_compact_layout_round_trip() -> None:
    edits = list(parse_ptp_text(OFFICIAL_PTP))
    text, pairs = compact_ptp_text(edits + edits[:1])  # duplicates are dropped
    assert pairs == 3
    assert sorted(parse_ptp_text(text)) == sorted(edits)
    table = PtpTable.from_text(text, "t")
    assert table.edit("20610", "99213", D(2023, 12, 31)) is None  # before its effective date
    assert table.edit("20610", "99213", D(2024, 1, 1)) == edits[0]
    assert sorted(table.iter_edits()) == sorted(edits)


def test_parse_the_official_mue_layout() -> None:
    limits = parse_mue_text(OFFICIAL_MUE)
    assert limits == {"36415": MueLimit("36415", 3, 3, "CMS Policy"),
                      "A0425": MueLimit("A0425", 300, 1, "Clinical: Data"),
                      "G0008": MueLimit("G0008", 1, 2, "Code Descriptor / CPT Instruction")}


def test_bad_modifier_indicator_names_the_row() -> None:
    with pytest.raises(CodeSetError, match=r"row 2 \(20610\): modifier indicator '7'"):
        list(parse_ptp_text("column_1,column_2,deletion_date,modifier_indicator\n"
                            "20610,99213,,7\n"))


def test_load_ptp_and_mue_replace_the_packaged_tables(tmp_path: Path) -> None:
    ptp_files = [tmp_path / "ccipra-v303r0-f1.txt", tmp_path / "ccipra-v303r0-f2.txt"]
    lines = OFFICIAL_PTP.splitlines(keepends=True)
    ptp_files[0].write_text("".join(lines[:6]), encoding="cp1252")
    ptp_files[1].write_text("".join(lines[:5] + lines[6:]), encoding="cp1252")
    mue_file = tmp_path / "MCR_MUE_PractitionerServices.csv"
    mue_file.write_text(OFFICIAL_MUE, encoding="utf-8")
    user = tmp_path / "user"

    result = load_ptp(ptp_files, data_dir=user)
    assert (result.key, result.rows, result.stored_at) == ("ncci-ptp", 3, user / N.USER_PTP)
    assert load_mue(mue_file, data_dir=user).rows == 3

    loaded = Ncci(user)
    assert loaded.ptp.edit("20610", "99213", D(2024, 8, 1)).effective == D(2024, 1, 1)
    assert loaded.ptp.edit("99202", "0469T", D(2024, 8, 1)) is None  # packaged table replaced
    assert loaded.ptp.label.startswith("user file ccipra-v303r0-f1.txt, ccipra-v303r0-f2.txt")
    assert loaded.mue["36415"].value == 3 and "99213" not in loaded.mue
    manifest = json.loads((user / "manifest.json").read_text())
    assert manifest["ncci-ptp"]["rows"] == 3 and len(manifest["ncci-ptp"]["sha256"]) == 2
    assert manifest["ncci-mue"]["files"] == ["MCR_MUE_PractitionerServices.csv"]
    assert gzip.decompress((user / N.USER_PTP).read_bytes()).decode().startswith("column_1,")
    assert Ncci(user, use_user_data=False).mue["36415"].value == 2


def test_load_errors_write_nothing(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("nothing here\n", encoding="utf-8")
    with pytest.raises(CodeSetError, match="empty.txt: no NCCI PTP edits found"):
        load_ptp([empty], data_dir=tmp_path / "user")
    with pytest.raises(CodeSetError, match="no MUE rows"):
        load_mue(empty, data_dir=tmp_path / "user")
    with pytest.raises(CodeSetError, match="no such file"):
        load_ptp([tmp_path / "missing.txt"], data_dir=tmp_path / "user")
    assert not (tmp_path / "user").exists()


def test_command_line_load_and_show(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "ptp.txt"
    source.write_text(OFFICIAL_PTP, encoding="utf-8")
    user = str(tmp_path / "user")
    assert N.main(["--data-dir", user, "load-ptp", str(source)]) == 0
    assert "Loaded 3 PTP pairs" in capsys.readouterr().out
    assert N.main(["--data-dir", user, "show", "20610", "99213", "--date", "2024-08-01"]) == 0
    out = capsys.readouterr().out
    assert "20610: MUE 2 per day (clinical)" in out
    assert "PTP 20610 / 99213 on 2024-08-01: modifier allowed" in out
    assert N.main(["--data-dir", user, "load-mue", str(tmp_path / "none.csv")]) == 1
    assert "no such file" in capsys.readouterr().err


def test_medbill_codes_load_ncci(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from medbill_core.cli.codes import app

    source = tmp_path / "ptp.txt"
    source.write_text(OFFICIAL_PTP, encoding="utf-8")
    user = tmp_path / "user"
    runner = CliRunner()
    result = runner.invoke(app, ["load-ncci", "ptp", str(source), "--data-dir", str(user)])
    assert result.exit_code == 0, result.output
    assert "Loaded 3 NCCI PTP rows" in result.output
    assert Ncci(user).ptp.edit("20610", "99213", D(2024, 8, 1)) is not None
    bad = runner.invoke(app, ["load-ncci", "nope", str(source), "--data-dir", str(user)])
    assert bad.exit_code != 0 and "unknown NCCI table 'nope'" in bad.output
