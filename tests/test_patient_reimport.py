"""Re-importing patients and coverages changes only what the file says (issue 10, item 4).

A column the file lacks or a blank cell leaves the stored value; only ``(clear)`` (or JSON
``null``) clears; the report names the fields each row changed; a refused file lists every
bad row, not only the first.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from medbill_core import audit
from medbill_core.services.importing import ImportRefused, import_coverages, import_patients
from tests.cli_support import cli, config_text, ok

FULL = ("account_number,last_name,first_name,birth_date,sex,address_line1,address_line2,"
        "address_city,address_state,address_postal_code,phone\n"
        "A100,Okonkwo,Adaeze,1975-03-14,F,12 Birch Lane,Apt 2,Springfield,IL,62701,"
        "555-555-0100\n")


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load(app: Any, path: Path, importer: Any = import_patients, **options: Any) -> Any:
    with app.unit_of_work() as work:
        return importer(work, path, **options)


def patient(app: Any, account: str = "A100") -> Any:
    with app.unit_of_work() as work:
        return work.patients.by_account(account)


def test_absent_columns_leave_address_and_phone_unchanged(medbill_app: Any,
                                                          tmp_path: Path) -> None:
    load(medbill_app, write(tmp_path, "full.csv", FULL))
    report = load(medbill_app, write(tmp_path, "short.csv",
                                     "account_number,last_name,first_name,birth_date,sex\n"
                                     "A100,Okonkwo-Reyes,Adaeze,1975-03-14,F\n"))
    stored = patient(medbill_app)
    assert stored.last_name == "Okonkwo-Reyes"
    assert stored.phone == "5555550100"
    assert stored.address is not None
    assert (stored.address.line1, stored.address.line2, stored.address.postal_code) == (
        "12 Birch Lane", "Apt 2", "62701")
    assert [(c.label, c.key, c.created, c.fields) for c in report.changes] == [
        ("row 2", "A100", False, ["last_name"])]
    assert (len(report.created), len(report.updated), report.unchanged) == (0, 1, 0)


def test_blank_cells_leave_values_and_the_marker_clears(medbill_app: Any, tmp_path: Path) -> None:
    load(medbill_app, write(tmp_path, "full.csv", FULL))
    report = load(medbill_app, write(tmp_path, "clear.csv",
                                     "account_number,phone,address_line2,address_city\n"
                                     "A100,(clear),(CLEAR),\n"))
    stored = patient(medbill_app)
    assert stored.phone is None
    assert stored.address is not None
    assert (stored.address.line2, stored.address.city) == (None, "Springfield")
    assert report.updated[0].fields == ["address", "phone"]
    with medbill_app.unit_of_work() as work:
        events = audit.query(work.session, entity_type="patient", action="patient.update")
    assert [e.details for e in events] == [{"fields": ["address", "phone"]}]


def test_clearing_a_required_address_part_clears_the_address(medbill_app: Any,
                                                              tmp_path: Path) -> None:
    load(medbill_app, write(tmp_path, "full.csv", FULL))
    load(medbill_app, write(tmp_path, "clear.csv", "account_number,address_line1\nA100,(clear)\n"))
    assert patient(medbill_app).address is None


def test_a_partial_address_merges_into_the_stored_one(medbill_app: Any, tmp_path: Path) -> None:
    load(medbill_app, write(tmp_path, "full.csv", FULL))
    load(medbill_app, write(tmp_path, "zip.csv", "account_number,address_postal_code\n"
                                                 "A100,62704\n"))
    address = patient(medbill_app).address
    assert address is not None
    assert (address.line1, address.city, address.postal_code) == (
        "12 Birch Lane", "Springfield", "62704")


def test_json_null_clears_and_missing_keys_keep(medbill_app: Any, tmp_path: Path) -> None:
    load(medbill_app, write(tmp_path, "full.csv", FULL))
    load(medbill_app, write(tmp_path, "p.json", json.dumps(
        [{"account_number": "A100", "phone": None, "email": "a@example.org"}])))
    stored = patient(medbill_app)
    assert (stored.phone, stored.email, stored.first_name) == (None, "a@example.org", "Adaeze")


def test_a_required_field_cannot_be_cleared(medbill_app: Any, tmp_path: Path) -> None:
    load(medbill_app, write(tmp_path, "full.csv", FULL))
    with pytest.raises(ImportRefused) as caught:
        load(medbill_app, write(tmp_path, "bad.csv", "account_number,last_name\nA100,(clear)\n"))
    assert caught.value.problems[0][0] == "last_name"
    assert patient(medbill_app).last_name == "Okonkwo"


def test_coverage_reimport_keeps_group_and_subscriber(medbill_app: Any, tmp_path: Path) -> None:
    load(medbill_app, write(tmp_path, "full.csv", FULL))
    load(medbill_app, write(tmp_path, "c.csv",
                            "account_number,payer_key,order,member_id,group_number,relationship,"
                            "subscriber_last_name,subscriber_first_name\n"
                            "A100,acme,P,XJ100200,GRP-7,01,Okonkwo,Chidi\n"), import_coverages)
    report = load(medbill_app, write(tmp_path, "c2.csv", "account_number,payer_key,member_id\n"
                                                         "A100,acme,XJ100201\n"),
                  import_coverages)
    with medbill_app.unit_of_work() as work:
        coverages = work.patients.coverages(patient(medbill_app).id)
    assert len(coverages) == 1
    assert (coverages[0].member_id, coverages[0].group_number) == ("XJ100201", "GRP-7")
    assert coverages[0].subscriber is not None
    assert coverages[0].subscriber.first_name == "Chidi"
    assert report.updated[0].fields == ["member_id"]


def test_cli_reports_what_changed_and_every_bad_row(tmp_path: Path) -> None:
    config = write(tmp_path, "medbill.toml", config_text(f"sqlite:///{tmp_path / 'm.db'}"))
    ok(config, "db", "upgrade")
    ok(config, "patients", "import", str(write(tmp_path, "full.csv", FULL)))
    short = write(tmp_path, "short.csv", "account_number,phone,email\nA100,(clear),\n")
    result = ok(config, "patients", "import", str(short))
    assert " ".join(result.stdout.split()) == (
        "imported 1 patients (0 created, 1 updated, 0 unchanged) row 2 (A100): changed phone")
    data = json.loads(ok(config, "patients", "import", str(short), "--json").stdout)
    assert (data["imported"], data["updated"], data["unchanged"]) == (1, [], 1)
    bad = write(tmp_path, "bad.csv", "account_number,sex\nA100,Q\nA101,X\nA102,Z\n")
    result = cli(config, "patients", "import", str(bad))
    assert result.exit_code == 1
    lines = [" ".join(line.split()) for line in result.stderr.strip().splitlines()]
    assert lines[0].startswith("error: bad.csv row 2: sex: ")
    assert lines[0].endswith("nothing was imported (and 2 more bad rows)")
    assert [line.split(":")[0:2] for line in lines[1:]] == [["also bad", " row 3"],
                                                             ["also bad", " row 4"]]


TWICE = FULL + ("A200,Reyes,Tomas,1980-01-02,M,,,,,,\n"
                "A100,Stranger,Pat,1990-09-09,M,,,,,,\n")


def test_one_account_number_twice_in_a_file_is_refused(medbill_app: Any,
                                                       tmp_path: Path) -> None:
    """The second record of an account number silently overwrote the first: it is refused,
    naming its row, the field and the first row; by default nothing is imported."""
    with pytest.raises(ImportRefused) as caught:
        load(medbill_app, write(tmp_path, "twice.csv", TWICE))
    assert caught.value.message == (
        "twice.csv row 4: account_number: repeated: the same account number as row 2; give "
        "each one row (merge the two); import: nothing was imported")
    assert "Stranger" not in caught.value.message
    with medbill_app.unit_of_work() as work:
        assert work.patients.search(account="A") == []
    # --keep-good: the first record is kept, the repeat rejected
    report = load(medbill_app, write(tmp_path, "twice.csv", TWICE), keep_good=True)
    assert [change.key for change in report.created] == ["A100", "A200"]
    assert [problem.message for problem in report.rejected] == [
        "row 4: account_number: repeated: the same account number as row 2; give each one "
        "row (merge the two)"]
    stored = patient(medbill_app)
    assert (stored.last_name, stored.phone) == ("Okonkwo", "5555550100")
    # a JSON file counts records; a coverage file refuses the same patient, payer and order
    with pytest.raises(ImportRefused) as caught:
        load(medbill_app, write(tmp_path, "twice.json", json.dumps(
            [{"account_number": "A200", "phone": "5555550111"},
             {"account_number": "A200", "phone": "5555550122"}])))
    assert caught.value.problems[0] == ("account_number", "repeated: the same account number "
                                                          "as record 1; give each one record "
                                                          "(merge the two)")
    assert patient(medbill_app, "A200").phone is None
    with pytest.raises(ImportRefused) as caught:
        load(medbill_app, write(tmp_path, "c.csv",
                                "account_number,payer_key,order,member_id,relationship\n"
                                "A100,acme,P,XJ100200,18\nA100,acme,p,XJ999999,18\n"),
             import_coverages)
    assert caught.value.message.startswith(
        "c.csv row 3: payer_key: repeated: the same patient, payer and order as row 2")
    with medbill_app.unit_of_work() as work:
        assert work.patients.coverages(patient(medbill_app).id) == []


def test_the_cli_names_the_repeated_row(tmp_path: Path) -> None:
    config = write(tmp_path, "medbill.toml", config_text(f"sqlite:///{tmp_path / 'm.db'}"))
    ok(config, "db", "upgrade")
    result = cli(config, "patients", "import", str(write(tmp_path, "twice.csv", TWICE)))
    assert result.exit_code == 1
    assert [" ".join(line.split()) for line in result.stderr.strip().splitlines()] == [
        "error: twice.csv row 4: account_number: repeated: the same account number as row 2; "
        "give each one row (merge the two); import: nothing was imported"]
    assert "Traceback" not in result.output
