"""The ``medbill`` command line, driven for real.

A few end-to-end checks run the installed console script in a subprocess (what
a user types); the rest use ``typer.testing.CliRunner`` on ``build_app()``. Checks that
need the shipped plugins installed (``init`` enabling them, ``plugins list``, their
commands) are in the integration suite: plugins/demo/tests/test_cli_installed_plugins.py.
Error paths must give one line on stderr, a non-zero exit and no traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from cli_support import cli, config_text, ok, one_line_error

from medbill_core import audit
from medbill_core.app import Medbill
from medbill_core.config import load_config
from medbill_core.domain import ClaimState
from medbill_core.storage.database import Database
from medbill_core.testing.cli import console_script as medbill
from medbill_core.testing.factories import PRACTICE_NPI, RENDERING_NPI

PATIENTS_CSV = """\
account_number,last_name,first_name,birth_date,sex,address_line1,address_city,address_state,\
address_postal_code,phone
P1,Okafor,Chidi,1971-05-05,M,10 Lake Shore Dr,Chicago,IL,60601,3125550101
P2,Hartmann,Greta,1983-08-19,F,22 Dune Road,Evanston,IL,60201,
P3,Silva,Mateus,1999-12-31,M,,,,,
"""
COVERAGES_CSV = """\
account_number,payer_key,order,member_id,group_number
P1,acme,P,ACME00001,G100
P2,acme,P,ACME00002,G100
P2,medicare,S,1EG4TE5MK73,
"""


# -- fixtures and helpers ---------------------------------------------------------------------

@pytest.fixture(autouse=True)
def _isolated(cli_isolation: None) -> None:
    """Every test here runs the command line isolated (see conftest)."""


def write_config(tmp_path: Path, *, database_url: str | None = None, **options: Any) -> Path:
    path = tmp_path / "medbill.toml"
    url = database_url or f"sqlite:///{tmp_path / 'medbill.db'}"
    path.write_text(config_text(url, **options), encoding="utf-8")
    return path


def data_file(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def open_medbill(config: Path) -> Medbill:
    return Medbill.open(load_config(config), load_installed=False)


def account_numbers(config: Path) -> list[str]:
    medbill = open_medbill(config)
    try:
        with medbill.unit_of_work() as work:
            return [p.account_number for p in work.patients.list()]
    finally:
        medbill.close()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A configuration (no plugins enabled) on an upgraded SQLite database."""
    path = write_config(tmp_path)
    ok(path, "db", "upgrade")
    return path


def claim_record(number: str, account: str, coverage_id: int | None, payer: str | None,
                 charges: Sequence[str], **extra: Any) -> dict[str, Any]:
    day = (date.today() - timedelta(days=7)).isoformat()
    codes = ["99213", "36415", "81002"]
    return {
        "claim_number": number, "account_number": account, "coverage_id": coverage_id,
        "payer_key": payer, "billing_provider_npi": PRACTICE_NPI,
        "rendering_provider_npi": RENDERING_NPI, "place_of_service": "11",
        "service_date_from": day, "service_date_to": day, "diagnoses": ["E11.9", "I10"],
        "lines": [{"line_number": i, "procedure_code": codes[i - 1], "units": "1",
                   "charge": charge, "diagnosis_pointers": [1], "service_date_from": day}
                  for i, charge in enumerate(charges, start=1)],
        **extra,
    }


@pytest.fixture
def billed(config: Path, tmp_path: Path) -> Path:
    """Patients, coverages and two claims imported through the CLI; CLM-2 is validated."""
    ok(config, "patients", "import", str(data_file(tmp_path, "p.csv", PATIENTS_CSV)))
    ok(config, "coverages", "import", str(data_file(tmp_path, "c.csv", COVERAGES_CSV)))
    claims = [claim_record("CLM-1", "P1", 1, "acme", ["125.00", "18.50"]),
              claim_record("CLM-2", "P3", None, None, ["80.00"])]
    result = ok(config, "claims", "import", str(data_file(tmp_path, "claims.json",
                                                          json.dumps(claims))))
    assert result.stdout.strip() == "imported 2 claims"
    medbill = open_medbill(config)
    try:
        with medbill.unit_of_work() as work:
            work.claims.transition(work.claims.by_number("CLM-2").id, ClaimState.VALIDATED,
                                   reason="edits passed")
    finally:
        medbill.close()
    return config


# -- the installed console script, end to end -------------------------------------------------

def head() -> str | None:
    return Database("sqlite://").head_revision()


def test_console_script_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    assert medbill(tmp_path, "init", "--plugins", "").returncode == 0
    (tmp_path / "broken.toml").write_text("[medbill\n", encoding="utf-8")
    wrong_npi = (tmp_path / "medbill.toml").read_text(encoding="utf-8").replace(
        '"1234567893"', '"1234567890"')
    (tmp_path / "npi.toml").write_text(wrong_npi, encoding="utf-8")
    (tmp_path / "bad.csv").write_text("account_number,last_name\nA1,Doe\n", encoding="utf-8")
    cases = [
        (("init",), 2, "already exists (use --force to overwrite)"),
        (("patients", "import", "bad.csv"), 1, "run 'medbill db upgrade'"),
        (("--config", "broken.toml", "claims", "list"), 2, "broken.toml: not valid TOML"),
        (("--config", "broken.toml", "plugins", "list"), 2, "broken.toml: not valid TOML"),
        (("-c", "npi.toml", "audit"), 2, "npi.toml: [practice] npi: NPI check digit"),
    ]
    for args, code, expected in cases:
        done = medbill(tmp_path, *args, columns=50)  # long messages must not be wrapped
        assert done.returncode == code, (args, done.stderr)
        assert "Traceback" not in done.stderr + done.stdout
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, (args, done.stderr)
        assert lines[0].startswith("error: ") and expected in lines[0], (args, lines)


# -- init -------------------------------------------------------------------------------------

def test_init_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    target = tmp_path / "medbill.toml"
    target.write_text("# mine\n", encoding="utf-8")
    line = one_line_error(cli(None, "init"), code=2)
    assert "medbill.toml already exists (use --force to overwrite)" in line
    assert target.read_text(encoding="utf-8") == "# mine\n"
    ok(None, "init", "--force", "--plugins", "")
    assert load_config(target).plugins == []


# -- database ---------------------------------------------------------------------------------

def test_db_upgrade_and_current(tmp_path: Path) -> None:
    newest = head()
    path = write_config(tmp_path)
    assert ok(path, "db", "current").stdout.strip() == f"current: empty; newest: {newest}"
    upgraded = ok(path, "db", "upgrade").stdout.replace("\n", "")  # rich wraps long paths
    assert f"empty -> {newest}" in upgraded and "medbill.db" in upgraded
    assert ok(path, "db", "current").stdout.strip() == f"current: {newest}; newest: {newest}"
    assert f"{newest} -> {newest}" in ok(path, "db", "upgrade").stdout  # idempotent


def test_db_upgrade_hides_the_database_password(tmp_path: Path) -> None:
    path = write_config(tmp_path, database_url="postgresql+psycopg://bill:s3cret@127.0.0.1:1/x")
    line = one_line_error(cli(path, "db", "upgrade"))
    assert "cannot open the database" in line and "s3cret" not in line


@pytest.mark.parametrize("command", [("patients", "list"), ("claims", "list"), ("audit",),
                                     ("claims", "show", "1")])
def test_a_database_not_upgraded_says_to_run_db_upgrade(tmp_path: Path,
                                                        command: tuple[str, ...]) -> None:
    path = write_config(tmp_path)
    line = one_line_error(cli(path, *command))
    assert line == "error: the database schema is not up to date: run 'medbill db upgrade'"


def test_an_unopenable_database_is_one_line(tmp_path: Path) -> None:
    path = write_config(tmp_path, database_url=f"sqlite:///{tmp_path}/missing/dir/x.db")
    assert "cannot open the database: unable to open database file" in one_line_error(
        cli(path, "patients", "list"))
    assert "cannot open the database" in one_line_error(cli(path, "db", "upgrade"))


# -- broken configuration ---------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("[medbill\nplugins = []\n", "not valid TOML"),
    ('[medbill]\nplugins = []\n[pratice]\nname = "x"\n', "unknown section(s): pratice"),
    (config_text("sqlite:///x.db").replace(PRACTICE_NPI, "1234567890"),
     "[practice] npi: NPI check digit is wrong"),
    (config_text("sqlite:///x.db").replace('tax_id = "12-3456789"', ""),
     "[practice] tax_id: field required"),
    ('[medbill]\nlog_level = "LOUD"\n', "[medbill] log_level: string should match pattern"),
    ('[medbill]\nsurprise = 1\n', "[medbill] surprise: extra inputs are not permitted"),
    ('[payers.acme]\npayer_id = "A1"\nname = "Acme"\n', "[payers.acme] adapter: field required"),
])
def test_broken_configuration_is_one_line_naming_file_and_field(
        tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "site.toml"
    path.write_text(text, encoding="utf-8")
    for command in (("patients", "list"), ("plugins", "list"), ("db", "upgrade")):
        line = one_line_error(cli(path, *command), code=2)
        assert "site.toml" in line and expected in line, (command, line)


def test_config_from_the_environment_variable(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere.toml"
    path.write_text("[medbill\n", encoding="utf-8")
    line = one_line_error(cli(None, "patients", "list", env={"MEDBILL_CONFIG": str(path)}), 2)
    assert "elsewhere.toml: not valid TOML" in line
    good = write_config(tmp_path)
    result = ok(None, "db", "current", env={"MEDBILL_CONFIG": str(good)})
    assert "current: empty" in result.stdout


def test_environment_overrides_reach_the_commands(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    other = tmp_path / "other.db"
    result = ok(path, "db", "upgrade", env={"MEDBILL_DATABASE_URL": f"sqlite:///{other}"})
    assert "other.db" in result.stdout.replace("\n", "") and other.exists()
    assert not (tmp_path / "medbill.db").exists()


# -- patients and coverages -------------------------------------------------------------------

def test_patients_import_csv_and_list(config: Path, tmp_path: Path) -> None:
    result = ok(config, "patients", "import", str(data_file(tmp_path, "p.csv", PATIENTS_CSV)))
    assert result.stdout.strip() == "imported 3 patients"
    assert result.stderr == ""
    assert account_numbers(config) == ["P1", "P2", "P3"]
    listing = ok(config, "patients", "list").stdout
    for text in ("P1", "Okafor, Chidi", "Hartmann, Greta", "Silva, Mateus"):
        assert text in listing
    paged = ok(config, "patients", "list", "--limit", "1", "--offset", "1").stdout
    assert "Hartmann" in paged and "Okafor" not in paged and "Silva" not in paged


def test_patients_import_json(config: Path, tmp_path: Path) -> None:
    records = [{"account_number": "J1", "last_name": "Ito", "first_name": "Ren",
                "birth_date": "1960-02-29", "sex": "M",
                "address": {"line1": "1 Bay St", "city": "Peoria", "state": "IL",
                            "postal_code": "61602"}},
               {"account_number": "J2", "last_name": "Diaz", "first_name": "Lucia",
                "birth_date": "1977-07-07", "sex": "F"}]
    path = data_file(tmp_path, "people.json", json.dumps(records))
    assert ok(config, "patients", "import", str(path)).stdout.strip() == "imported 2 patients"
    assert account_numbers(config) == ["J1", "J2"]


def test_patients_import_format_option(config: Path, tmp_path: Path) -> None:
    path = data_file(tmp_path, "export.dat", PATIENTS_CSV)
    line = one_line_error(cli(config, "patients", "import", str(path)))
    assert "export.dat: unknown format 'dat'" in line
    ok(config, "patients", "import", str(path), "--format", "csv")
    assert account_numbers(config) == ["P1", "P2", "P3"]


def test_patients_import_bad_row_imports_nothing(config: Path, tmp_path: Path) -> None:
    bad = PATIENTS_CSV.replace("1983-08-19", "1983-13-45")
    line = one_line_error(cli(config, "patients", "import",
                              str(data_file(tmp_path, "p.csv", bad))))
    assert line.startswith("error: p.csv row 3: birth_date: ")
    assert line.endswith("import: nothing was imported")
    assert "1983-13-45" not in line and "Hartmann" not in line
    assert account_numbers(config) == []
    events = json.loads(ok(config, "audit", "--json").stdout)
    assert events == []


def test_patients_import_keep_good(config: Path, tmp_path: Path) -> None:
    bad = (PATIENTS_CSV.replace("1983-08-19", "1983-13-45")
           + "P4,Novak,Petra,1990-01-01,Z,,,,,\n")
    result = cli(config, "patients", "import", str(data_file(tmp_path, "p.csv", bad)),
                 "--keep-good")
    assert result.exit_code == 1
    assert result.stdout.strip() == "imported 2 patients"
    assert result.stderr.strip().splitlines() == [
        "skipped row 3: birth_date: Input should be a valid date or datetime, month value is "
        "outside expected range of 1-12",
        "skipped row 5: sex: Input should be 'F', 'M' or 'U'",
    ]
    assert account_numbers(config) == ["P1", "P3"]


def test_patients_import_missing_file_is_a_usage_error(config: Path, tmp_path: Path) -> None:
    # a long path used to be wrapped inside Typer's 80-column error box, splitting the words
    folder = tmp_path / ("a-rather-long-folder-name-" * 6)
    result = cli(config, "patients", "import", str(folder / "nope.csv"))
    line = one_line_error(result, 2)
    assert "does not exist" in line and str(folder / "nope.csv") in line


def test_usage_errors_are_one_line_pointing_at_help(config: Path) -> None:
    line = one_line_error(cli(config, "claims", "list", "--state", "banana"), 2)
    assert "'--state'" in line and "banana" in line and "claims list --help" in line
    assert "No such command 'nosuch'" in one_line_error(cli(config, "nosuch"), 2)
    assert "Missing option '--note'" in one_line_error(cli(config, "remit", "resolve", "1"), 2)


def test_the_console_script_never_prints_a_traceback(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """The last-resort guard of ``run()``: an unexpected exception is one line without its
    text (it may hold PHI), exit 70; MEDBILL_TRACEBACK=1 shows it."""
    from medbill_core.cli import main, plugins_cmd

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("patient Jane Doe born 1970-01-01")

    monkeypatch.setattr(plugins_cmd, "installed_plugins", broken)
    monkeypatch.setattr(sys, "argv", ["medbill", "plugins", "list"])
    with pytest.raises(SystemExit) as exited:
        main.run()
    assert exited.value.code == main.INTERNAL_ERROR_EXIT
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error (RuntimeError)" in err
    assert "Jane" not in err and "Traceback" not in err and "MEDBILL_TRACEBACK=1" in err
    monkeypatch.setenv("MEDBILL_TRACEBACK", "1")
    with pytest.raises(RuntimeError):
        main.run()


def test_coverages_import_by_account_number(config: Path, tmp_path: Path) -> None:
    ok(config, "patients", "import", str(data_file(tmp_path, "p.csv", PATIENTS_CSV)))
    result = ok(config, "coverages", "import", str(data_file(tmp_path, "c.csv", COVERAGES_CSV)))
    assert result.stdout.strip() == "imported 3 coverages"
    listing = ok(config, "patients", "list").stdout
    row = {line.split("│")[2].strip(): line for line in listing.splitlines()
           if line.count("│") >= 4 and line.split("│")[2].strip().startswith("P")}
    assert "acme (primary)" in row["P1"]
    assert "acme (primary), medicare (secondary)" in row["P2"]
    assert row["P3"].split("│")[4].strip() == "-"


def test_coverages_import_unknown_payer_is_named(config: Path, tmp_path: Path) -> None:
    ok(config, "patients", "import", str(data_file(tmp_path, "p.csv", PATIENTS_CSV)))
    text = COVERAGES_CSV + "P3,atlantis,P,ATL1,\n"
    line = one_line_error(cli(config, "coverages", "import",
                              str(data_file(tmp_path, "c.csv", text))))
    # the brackets survive: messages are printed as text, not as rich markup
    assert line == ("error: c.csv row 5: payer_key: not a configured payer (see [payers] in "
                    "medbill.toml); import: nothing was imported")
    assert json.loads(ok(config, "audit", "--json", "--entity", "coverage").stdout) == []


def test_coverages_import_unknown_account_is_named(config: Path, tmp_path: Path) -> None:
    refused = cli(config, "coverages", "import", str(data_file(tmp_path, "c.csv", COVERAGES_CSV)))
    assert refused.exit_code == 1
    # every bad row is listed, the first in the error line, the others after it
    lines = refused.stderr.strip().splitlines()
    assert lines[0].startswith("error: c.csv row 2: account_number: no patient has this account")
    assert [line.split(":")[0].strip() for line in lines[1:]] == ["also bad", "also bad"]
    result = cli(config, "coverages", "import", str(data_file(tmp_path, "c.csv", COVERAGES_CSV)),
                 "--keep-good")
    assert result.exit_code == 1
    assert result.stdout.strip() == "imported 0 coverages"
    assert len(result.stderr.strip().splitlines()) == 3


# -- claims -----------------------------------------------------------------------------------

def test_claims_import_and_list(billed: Path) -> None:
    rows = json.loads(ok(billed, "claims", "list", "--json").stdout)["claims"]
    assert [(r["claim_number"], r["state"], r["payer"], r["charge"], r["insurance_balance"],
             r["patient_balance"]) for r in rows] == [
        ("CLM-1", "draft", "acme", "143.50", "143.50", "0.00"),
        ("CLM-2", "validated", "self-pay", "80.00", "0.00", "80.00"),
    ]
    assert rows[0]["service_date"] == (date.today() - timedelta(days=7)).isoformat()
    drafts = json.loads(ok(billed, "claims", "list", "--json", "--state", "draft").stdout)["claims"]
    assert [r["claim_number"] for r in drafts] == ["CLM-1"]
    validated = json.loads(ok(billed, "claims", "list", "--json", "--state",
                              "validated").stdout)["claims"]
    assert [r["claim_number"] for r in validated] == ["CLM-2"]
    assert json.loads(ok(billed, "claims", "list", "--json", "--state",
                         "paid").stdout)["claims"] == []
    by_payer = json.loads(ok(billed, "claims", "list", "--json", "--payer",
                             "acme").stdout)["claims"]
    assert [r["claim_number"] for r in by_payer] == ["CLM-1"]
    table = ok(billed, "claims", "list").stdout
    assert "2 claims" in table and "CLM-1" in table and "143.50" in table


def test_claims_list_rejects_an_unknown_state(billed: Path) -> None:
    result = cli(billed, "claims", "list", "--state", "lost")
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_claims_show_by_number_and_by_id(billed: Path) -> None:
    by_number = json.loads(ok(billed, "claims", "show", "CLM-1", "--json").stdout)
    by_id = json.loads(ok(billed, "claims", "show", str(by_number["id"]), "--json").stdout)
    assert by_number == by_id
    assert by_number["claim_number"] == "CLM-1"
    assert by_number["state"] == "draft"
    assert by_number["total_charge"] == "143.50"
    assert [(line["procedure_code"], line["charge"]) for line in by_number["lines"]] == [
        ("99213", "125.00"), ("36415", "18.50")]
    assert by_number["diagnoses"] == ["E119", "I10"]
    assert by_number["ledger"] == {"charge": "143.50"}
    assert by_number["balance"] == {"insurance": "143.50", "patient": "0.00"}
    assert by_number["history"] == []

    text = ok(billed, "claims", "show", "CLM-1").stdout
    assert "claim CLM-1" in text and "draft" in text and "payer acme" in text
    assert "99213" in text and "125.00" in text
    assert "balance insurance 143.50, patient 0.00" in text


def test_claims_show_history(billed: Path) -> None:
    shown = json.loads(ok(billed, "claims", "show", "CLM-2", "--json").stdout)
    assert shown["state"] == "validated"
    assert shown["balance"] == {"insurance": "0.00", "patient": "80.00"}
    assert [(h["source"], h["target"], h["actor"], h["reason"]) for h in shown["history"]] == [
        ("draft", "validated", "clerk", "edits passed")]
    text = ok(billed, "claims", "show", "CLM-2").stdout
    assert "draft -> validated by clerk (edits passed)" in text


def test_claims_show_unknown(billed: Path) -> None:
    assert one_line_error(cli(billed, "claims", "show", "CLM-9")) == (
        "error: claim number CLM-9 not found")
    assert one_line_error(cli(billed, "claims", "show", "999")) == (
        "error: claim id or number 999 not found")


def test_claims_import_is_all_or_nothing(billed: Path, tmp_path: Path) -> None:
    claims = [claim_record("CLM-3", "P2", 2, "acme", ["50.00"]),
              claim_record("CLM-4", "P2", 2, "acme", ["50.00"], place_of_service="1")]
    line = one_line_error(cli(billed, "claims", "import",
                              str(data_file(tmp_path, "more.json", json.dumps(claims)))))
    assert line == ("error: record 2: place_of_service: place of service must be "
                    "2 digits")
    listed = json.loads(ok(billed, "claims", "list", "--json").stdout)["claims"]
    assert [r["claim_number"] for r in listed] == ["CLM-1", "CLM-2"]


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"account_number": "P404"}, "record 1: account_number: no patient has this account number"),
    ({"coverage_id": None, "payer_key": "atlantis"},
     "record 1: payer_key: not a configured payer"),
    ({"payer_key": None}, "record 1: (record): a claim with a coverage must name"),
    ({"coverage_id": 3}, "claim CLM-5: payer_key: does not match the coverage's payer"),
    ({"coverage_id": 1}, "claim CLM-5: coverage_id: no such coverage for this patient"),
    ({"claim_number": "CLM-1"}, "claim CLM-1: claim_number: already used by another claim"),
    ({"diagnoses": ["E11.9"] * 2}, "record 1: (record): diagnoses repeat"),
])
def test_claims_import_errors(billed: Path, tmp_path: Path, overrides: dict[str, Any],
                              expected: str) -> None:
    record = {**claim_record("CLM-5", "P2", 2, "acme", ["50.00"]), **overrides}
    line = one_line_error(cli(billed, "claims", "import",
                              str(data_file(tmp_path, "one.json", json.dumps([record])))))
    assert line.startswith(f"error: {expected}"), line


def test_claims_import_rejects_non_list_and_broken_json(config: Path, tmp_path: Path) -> None:
    assert "expected a JSON list" in one_line_error(cli(
        config, "claims", "import", str(data_file(tmp_path, "x.json", '{"a": 1}'))))
    assert "not valid JSON (line 1" in one_line_error(cli(
        config, "claims", "import", str(data_file(tmp_path, "y.json", "[{"))))
    latin = tmp_path / "z.json"
    latin.write_bytes('[{"note": "M\xfcller"}]'.encode("latin-1"))
    assert "z.json: not UTF-8 text" in one_line_error(cli(config, "claims", "import",
                                                          str(latin)))


# -- audit ------------------------------------------------------------------------------------

def test_audit_lists_and_filters(billed: Path) -> None:
    events = json.loads(ok(billed, "audit", "--json").stdout)
    actions = [e["action"] for e in events]
    assert actions.count("patient.create") == 3
    assert actions.count("coverage.create") == 3
    assert actions.count("claim.create") == 2
    assert actions.count("ledger.post") == 2
    assert actions[0] == "claim.transition"  # newest first
    # the command line acts as its local user: the bootstrap administrator named after the
    # OS account while the database has no user; the service called directly (the fixture's
    # transition) acts as the configured actor
    assert {e["actor"] for e in events if e["action"] != "claim.transition"} == {
        f"user:{audit.os_user()}"}
    assert {e["actor"] for e in events if e["action"] == "claim.transition"} == {"clerk"}
    assert [e["id"] for e in events] == sorted((e["id"] for e in events), reverse=True)

    clm2 = json.loads(ok(billed, "claims", "show", "CLM-2", "--json").stdout)["id"]
    claim_events = json.loads(ok(billed, "audit", "--json", "--entity", "claim",
                                 "--id", str(clm2)).stdout)
    assert [(e["action"], e["details"]) for e in claim_events] == [
        ("claim.transition", {"from": "draft", "to": "validated"}),
        ("claim.create", {"claim_number": "CLM-2", "lines": 1, "frequency": "1"}),
    ]
    transitions = json.loads(ok(billed, "audit", "--json", "--action",
                                "claim.transition").stdout)
    assert [(e["entity_type"], e["entity_id"]) for e in transitions] == [("claim", str(clm2))]
    assert json.loads(ok(billed, "audit", "--json", "--actor", "nobody").stdout) == []
    limited = json.loads(ok(billed, "audit", "--json", "--limit", "2").stdout)
    assert [e["id"] for e in limited] == [e["id"] for e in events[:2]]
    future = (date.today() + timedelta(days=2)).isoformat()
    assert json.loads(ok(billed, "audit", "--json", "--since", future).stdout) == []

    table = ok(billed, "audit", "--entity", "patient").stdout
    assert "audit trail" in table and "patient 1" in table and "claim" not in table


def test_audit_details_of_a_reimport_name_fields_only(config: Path, tmp_path: Path) -> None:
    ok(config, "patients", "import", str(data_file(tmp_path, "p.csv", PATIENTS_CSV)))
    changed = PATIENTS_CSV.replace("3125550101", "3125550199")
    ok(config, "patients", "import", str(data_file(tmp_path, "p.csv", changed)))
    updates = json.loads(ok(config, "audit", "--json", "--action", "patient.update").stdout)
    assert [(u["entity_id"], u["details"]) for u in updates] == [("1", {"fields": ["phone"]})]
    assert "3125550199" not in ok(config, "audit").stdout


# -- both databases ---------------------------------------------------------------------------

def test_import_and_claims_through_the_cli_on_each_database(
        medbill_db_url: str, tmp_path: Path) -> None:
    path = write_config(tmp_path, database_url=medbill_db_url)
    ok(path, "db", "upgrade")
    bad = PATIENTS_CSV.replace("1983-08-19", "1983-02-30")
    assert "row 3: birth_date" in one_line_error(cli(
        path, "patients", "import", str(data_file(tmp_path, "bad.csv", bad))))
    assert account_numbers(path) == []
    ok(path, "patients", "import", str(data_file(tmp_path, "p.csv", PATIENTS_CSV)))
    ok(path, "coverages", "import", str(data_file(tmp_path, "c.csv", COVERAGES_CSV)))
    claims = [claim_record("CLM-1", "P1", 1, "acme", ["125.00", "18.50"])]
    ok(path, "claims", "import", str(data_file(tmp_path, "cl.json", json.dumps(claims))))
    shown = json.loads(ok(path, "claims", "show", "CLM-1", "--json").stdout)
    assert (shown["total_charge"], shown["balance"]) == (
        "143.50", {"insurance": "143.50", "patient": "0.00"})
    assert account_numbers(path) == ["P1", "P2", "P3"]


# -- corrections, voids and rejected claims ------------------------------------------------------

def _move(config: Path, number: str, *states: ClaimState, payer_claim_number: str | None = None
          ) -> int:
    app = open_medbill(config)
    try:
        with app.unit_of_work() as work:
            claim = work.claims.by_number(number)
            for state in states:
                work.claims.transition(claim.id, state)
            if payer_claim_number:
                work.claims.record_payer_claim_number(claim.id, payer_claim_number)
            return claim.id
    finally:
        app.close()


def test_claims_correct_sends_a_replacement_with_the_changed_fields(billed: Path,
                                                                     tmp_path: Path) -> None:
    claim_id = _move(billed, "CLM-1", ClaimState.VALIDATED, ClaimState.SUBMITTED,
                     ClaimState.ACCEPTED, payer_claim_number="ICN-77")
    shown = json.loads(ok(billed, "claims", "show", "CLM-1", "--json").stdout)
    shown["lines"] = shown["lines"][:1]  # the second line was billed by mistake
    changes = data_file(tmp_path, "fix.json", json.dumps(shown))
    out = ok(billed, "claims", "correct", str(claim_id), "--from", str(changes), "--reason",
             "venipuncture billed twice").stdout
    assert "replacement claim CLM-1-R1" in out and "for claim CLM-1" in out
    replacement = json.loads(ok(billed, "claims", "show", "CLM-1-R1", "--json").stdout)
    assert (replacement["frequency"], replacement["original_claim_reference"],
            replacement["state"], replacement["total_charge"]) == ("7", "ICN-77", "draft",
                                                                    "125.00")
    original = json.loads(ok(billed, "claims", "show", "CLM-1", "--json").stdout)
    assert original["state"] == "replaced"
    # the difference posted on the visit's account (the original's): acme owes 125.00 on the
    # replacement, as claims list shows it, nothing on the replaced claim
    assert original["visit_balance"]["insurance"] == "125.00"
    assert (original["balance"], replacement["balance"]) == (
        {"insurance": "0.00", "patient": "0.00"}, {"insurance": "125.00", "patient": "0.00"})
    assert replacement["ledger_account"] == {"claim_id": claim_id, "claim_number": "CLM-1"}


def test_claims_correct_refuses_bad_changes_and_changes_nothing(billed: Path,
                                                                 tmp_path: Path) -> None:
    claim_id = _move(billed, "CLM-1", ClaimState.VALIDATED, ClaimState.SUBMITTED,
                     ClaimState.ACCEPTED, payer_claim_number="ICN-78")
    broken = data_file(tmp_path, "broken.json", "{ not json")
    assert "broken.json" in one_line_error(cli(billed, "claims", "correct", str(claim_id),
                                               "--from", str(broken), "--reason", "x"))
    listed = data_file(tmp_path, "list.json", "[]")
    assert "a JSON object" in one_line_error(cli(billed, "claims", "correct", str(claim_id),
                                                 "--from", str(listed), "--reason", "x"))
    bad_code = data_file(tmp_path, "bad.json", json.dumps({"place_of_service": "ZZ"}))
    message = one_line_error(cli(billed, "claims", "correct", str(claim_id), "--from",
                                 str(bad_code), "--reason", "x"))
    assert "bad.json" in message and "place_of_service" in message
    assert json.loads(ok(billed, "claims", "show", "CLM-1", "--json").stdout)["state"] == (
        "accepted")
    listed = json.loads(ok(billed, "claims", "list", "--json").stdout)["claims"]
    assert [r["claim_number"] for r in listed] == ["CLM-1", "CLM-2"]


def test_a_rejected_claim_is_reopened_not_replaced_and_voided_locally(billed: Path,
                                                                      tmp_path: Path) -> None:
    claim_id = _move(billed, "CLM-1", ClaimState.VALIDATED, ClaimState.SUBMITTED,
                     ClaimState.REJECTED, payer_claim_number="ICN-79")
    changes = data_file(tmp_path, "fix.json", "{}")
    message = one_line_error(cli(billed, "claims", "correct", str(claim_id), "--from",
                                 str(changes), "--reason", "member ID"))
    assert "rejected" in message and "reopen" in message
    out = " ".join(ok(billed, "claims", "void", str(claim_id), "--reason",
                      "not pursued").stdout.split())  # the console wraps long lines
    assert "voided" in out and "nothing is sent to the payer" in out
    shown = json.loads(ok(billed, "claims", "show", "CLM-1", "--json").stdout)
    assert shown["state"] == "voided"
    assert shown["balance"] == {"insurance": "0.00", "patient": "0.00"}
    rows = json.loads(ok(billed, "claims", "list", "--json").stdout)["claims"]
    assert [r["claim_number"] for r in rows] == ["CLM-1", "CLM-2"]  # no frequency-8 claim


# -- amounts are read exactly on every input path (never rounded, no exponent) ----------------

@pytest.mark.parametrize(("charge", "expected"), [
    ("12.345", "lines[0].charge: money must be a Decimal, an integer or a numeric string, "
               "not a float"),
    ("10.005", "lines[0].charge: money must be a Decimal, an integer or a numeric string, "
               "not a float"),
    ("1e3", "lines[0].charge: money must be a Decimal, an integer or a numeric string, "
            "not a float"),
    ('"12.345"', "lines[0].charge: more than two decimal places"),
    ('"1e3"', "lines[0].charge: not an amount"),
])
def test_json_import_refuses_amounts_that_would_need_rounding(
        billed: Path, tmp_path: Path, charge: str, expected: str) -> None:
    """A JSON number 12.345 used to be rounded to 12.35, 1e3 read as 1000; a JSON number
    with a fraction or an exponent is a float, refused as `claims edit` refuses it."""
    record = claim_record("CLM-7", "P2", 2, "acme", ["CHARGE"])
    text = json.dumps([record]).replace('"CHARGE"', charge)
    line = one_line_error(cli(billed, "claims", "import",
                              str(data_file(tmp_path, "exp.json", text))))
    field, reason = expected.split(": ", 1)
    assert line.startswith(f"error: record 1: {field}: {reason}"), line
    listed = json.loads(ok(billed, "claims", "list", "--json").stdout)["claims"]
    assert "CLM-7" not in [r["claim_number"] for r in listed]


def test_json_import_reads_text_and_integers_exactly(billed: Path, tmp_path: Path) -> None:
    record = claim_record("CLM-8", "P2", 2, "acme", ["CHARGE"])
    text = json.dumps([record, {**record, "claim_number": "CLM-9"}])
    text = text.replace('"CHARGE"', '"125.1"', 1).replace('"CHARGE"', "125", 1)
    ok(billed, "claims", "import", str(data_file(tmp_path, "num.json", text)))
    listed = {r["claim_number"]: r for r in json.loads(ok(billed, "claims", "list",
                                                          "--json").stdout)["claims"]}
    assert (listed["CLM-8"]["charge"], listed["CLM-9"]["charge"]) == ("125.10", "125.00")


def test_csv_amounts_go_through_the_strict_reader(tmp_path: Path) -> None:
    from decimal import Decimal

    from medbill_core.domain import validate_record
    from medbill_core.domain.claim import ServiceLine
    from medbill_core.errors import ValidationFailed
    from medbill_core.services.importing import read_rows

    path = data_file(tmp_path, "lines.csv", "line_number,procedure_code,units,charge,"
                     "diagnosis_pointers,service_date_from\n"
                     "1,99213,1,10.005,[1],2026-11-02\n1,99213,1,10.00,[1],2026-11-02\n")
    rows = [(number, dict(row, diagnosis_pointers=[1])) for number, row in read_rows(path)]
    with pytest.raises(ValidationFailed, match="row 2: charge: more than two"):
        validate_record(ServiceLine, rows[0][1], record="row 2")
    assert validate_record(ServiceLine, rows[1][1], record="row 3").charge == Decimal("10.00")
    # a Decimal from json.loads(parse_float=Decimal) is input too
    with pytest.raises(ValidationFailed, match="more than two decimal places"):
        validate_record(ServiceLine, {**rows[1][1], "charge": Decimal("12.345")}, record="x")
    # amounts the program computes are still quantized (coinsurance, pricing)
    computed = ServiceLine.model_validate({**rows[1][1], "charge": Decimal("12.345")})
    assert computed.charge == Decimal("12.35")


@pytest.mark.parametrize("value", ["12.345", "10.005", "1e3", "1,000", "-5.00", "0",
                                   "100000000.00"])
def test_amount_options_refuse_what_would_need_rounding(billed: Path, value: str) -> None:
    line = one_line_error(cli(billed, "payments", "record", "--patient", "P1",
                              "--amount", value), 2)
    assert line.startswith("error: --amount")
    line = one_line_error(cli(billed, "plans", "create", "--patient", "P1", "--total", value,
                              "--installments", "3", "--start",
                              (date.today() + timedelta(days=5)).isoformat()), 2)
    assert line.startswith("error: --total")


@pytest.mark.parametrize(("service", "words"), [
    ("99213*1.333=10.01", "charge 10.01 per unit x 1.333 units is 13.34333"),
    ("99213*0.001=0.01", "charge 0.01 per unit x 0.001 units is 0.00001"),
    ("97110-GP*1.5=10.01", "charge 10.01 per unit x 1.5 units is 15.015"),
])
def test_an_estimates_units_times_charge_must_be_whole_cents(billed: Path, service: str,
                                                             words: str) -> None:
    """The planned service carries the line's total (as a claim line does): units x the
    charge per unit is refused when it is not whole cents, never rounded."""
    line = one_line_error(cli(billed, "estimate", "--patient", "P3", "--service", "99213=1.00",
                              "--service", service, "--no-eligibility"), 2)
    assert line == f"error: --service 2: {words}, not whole cents (amounts are never rounded)"
    result = json.loads(ok(billed, "estimate", "--patient", "P3", "--service",
                           "99213*1.5=10.02", "--service", "97110-GP*1.25=10.00",
                           "--no-eligibility", "--json").stdout)
    assert [(s["units"], s["charge"]) for s in result["services"]] == [
        ("1.5", "15.03"), ("1.25", "12.50")]


# -- implausible dates are refused unless confirmed -------------------------------------------

@pytest.mark.parametrize(("command", "when", "words"), [
    (("estimate", "--patient", "P1", "--service", "99213=100.00", "--no-eligibility"),
     date.today() + timedelta(days=400), "400 days in the future"),
    (("estimate", "--patient", "P1", "--service", "99213=100.00", "--no-eligibility"),
     date.today() - timedelta(days=60), "60 days in the past"),
    (("eligibility", "check", "--patient", "P1"), date.today() + timedelta(days=400),
     "400 days in the future"),
    (("eligibility", "check", "--patient", "P1"), date.today() - timedelta(days=2530),
     "2530 days in the past"),
])
def test_implausible_dates_need_confirm_date(billed: Path, command: tuple[str, ...],
                                             when: date, words: str) -> None:
    line = one_line_error(cli(billed, *command, "--date", when.isoformat()), 2)
    assert line == (f"error: --date is {words}; check it, or pass "
                    "--confirm-date if it is right")
    confirmed = cli(billed, *command, "--date", when.isoformat(), "--confirm-date")
    assert "--date" not in confirmed.output


@pytest.mark.parametrize("value", ["2026-02-30", "01/01/2027", "banana"])
def test_malformed_dates_are_one_line(billed: Path, value: str) -> None:
    for command in (("estimate", "--patient", "P1", "--service", "99213=1.00"),
                    ("eligibility", "check", "--patient", "P1")):
        line = one_line_error(cli(billed, *command, "--date", value), 2)
        assert line == "error: --date must be a date as YYYY-MM-DD"


# -- appeals ----------------------------------------------------------------------------------

def test_an_appeal_cannot_be_sent_in_the_future_unless_confirmed(config: Path) -> None:
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    line = one_line_error(cli(config, "appeals", "sent", "1", "--on", tomorrow), 2)
    assert line == ("error: --on is 1 day in the future; check it, or pass "
                    "--confirm-date if it is right")
    # confirmed, the date passes: what remains is that appeal 1 does not exist
    assert "appeal 1 not found" in one_line_error(
        cli(config, "appeals", "sent", "1", "--on", tomorrow, "--confirm-date"))

