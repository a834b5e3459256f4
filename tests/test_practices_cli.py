"""``medbill practices``: a billing company adds a client practice with its billing details,
acts in it with MEDBILL_PRACTICE_CODE, and each practice sees only its own patients; every
wrong input is one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import config_text, one_line_error
from typer.testing import CliRunner, Result

from medbill_core.cli.main import build_app

DETAILS = """[practice]
name = "Smith Pediatrics"
npi = "1234567893"
tax_id = "361234567"
taxonomy = "208000000X"

[practice.address]
line1 = "1 Elm Street"
city = "Springfield"
state = "IL"
postal_code = "62701"
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "medbill.toml"
    path.write_text(config_text(f"sqlite:///{tmp_path / 'medbill.db'}"), encoding="utf-8")
    assert run(path, "db", "upgrade").exit_code == 0
    return path


def run(config: Path, *args: str, practice: str | None = None) -> Result:
    env = {"MEDBILL_PRACTICE_CODE": practice} if practice else None
    return CliRunner().invoke(build_app(), ["--config", str(config), *args], env=env,
                              catch_exceptions=False)


def ok(config: Path, *args: str, practice: str | None = None) -> Result:
    result = run(config, *args, practice=practice)
    assert result.exit_code == 0, result.output
    return result


def test_a_client_practice_is_added_and_kept_apart(config: Path, tmp_path: Path) -> None:
    details = tmp_path / "smith.toml"
    details.write_text(DETAILS, encoding="utf-8")
    added = ok(config, "practices", "add", "smith-peds", "--name", "Smith Pediatrics",
               "--details", str(details))
    assert added.stdout.strip() == ("practice smith-peds added (id 2); act in it with "
                                    "MEDBILL_PRACTICE_CODE=smith-peds")
    listed = json.loads(ok(config, "practices", "list", "--json").stdout)
    assert [p["code"] for p in listed] == ["default", "smith-peds"]
    assert listed[1]["name"] == "Smith Pediatrics"
    patients = tmp_path / "patients.csv"
    patients.write_text("account_number,last_name,first_name,birth_date,sex\n"
                        "1001,Doe,Sam,1980-01-01,F\n", encoding="utf-8")
    ok(config, "patients", "import", str(patients))
    ok(config, "patients", "import", str(patients), practice="smith-peds")  # same account
    ids = set()
    for code in (None, "smith-peds"):
        shown = json.loads(ok(config, "patients", "list", "--json", practice=code).stdout)
        assert [p["account_number"] for p in shown] == ["1001"]
        ids.add(shown[0]["id"])
    assert len(ids) == 2  # two patients, one per practice


def test_wrong_input_is_one_line(config: Path, tmp_path: Path) -> None:
    assert one_line_error(run(config, "practices", "add", "Smith_Peds", "--name", "S")) == (
        "error: practice 'Smith_Peds': code: 1-32 lower-case letters, digits or '-', "
        "starting with a letter or digit")
    assert one_line_error(run(config, "practices", "add", "default", "--name", "Again")) == (
        "error: practice default: code: already exists")
    missing = tmp_path / "nope.toml"
    assert one_line_error(run(config, "practices", "add", "x", "--name", "X", "--details",
                              str(missing)), 2) == f"error: {missing}: No such file or directory"
    bad = tmp_path / "bad.toml"
    bad.write_text('[practice]\nname = "X"\nnpi = "123"\n', encoding="utf-8")
    line = one_line_error(run(config, "practices", "add", "x", "--name", "X", "--details",
                              str(bad)))
    assert line.startswith("error: bad.toml [practice]: npi: ") and "address" in line
    assert one_line_error(run(config, "patients", "list", practice="nowhere"), 2) == (
        "error: [medbill] practice_code 'nowhere' names no practice of this database")
    bare = ok(config, "practices", "add", "bare", "--name", "Bare Clinic")
    assert "it cannot bill until its details are set" in bare.stdout
    assert "bare" in [p["code"] for p in json.loads(ok(config, "practices", "list",
                                                        "--json").stdout)]
