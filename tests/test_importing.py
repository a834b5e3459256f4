"""The patient and coverage import service, on SQLite and PostgreSQL (``medbill_app``).

Rules under test: flat CSV columns map onto the nested domain model; a bad row
is named by row number and field and never by its value; without ``keep_good``
one bad row imports nothing, with it the good rows are kept; updates are
audited with field *names* only.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from medbill_core import audit
from medbill_core.domain import CoverageOrder, Relationship, Sex
from medbill_core.errors import MedbillError, ValidationFailed
from medbill_core.services.importing import ImportReport, import_coverages, import_patients

PATIENT_HEADER = ("account_number,last_name,first_name,birth_date,sex,address_line1,"
                  "address_city,address_state,address_postal_code,phone")
GOOD_ROWS = [
    "A100,Okonkwo,Adaeze,1975-03-14,F,12 Birch Lane,Springfield,IL,62701,555-555-0100",
    "A101,Lindqvist,Henrik,1988-11-02,M,40 Cedar Court,Springfield,il,62702-1234,5555550101",
    "A102,Moreau,Camille,2001-06-30,U,,,,,",
]


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def patients_csv(tmp_path: Path, *rows: str, name: str = "patients.csv") -> Path:
    return write(tmp_path, name, "\n".join([PATIENT_HEADER, *rows]) + "\n")


def run_patients(app: Any, path: Path, **options: Any) -> ImportReport:
    with app.unit_of_work() as work:
        return import_patients(work, path, **options)


def run_coverages(app: Any, path: Path, **options: Any) -> ImportReport:
    with app.unit_of_work() as work:
        return import_coverages(work, path, **options)


def accounts(app: Any) -> list[str]:
    with app.unit_of_work() as work:
        return [p.account_number for p in work.patients.list(limit=1000)]


def import_error(app: Any, path: Path, **options: Any) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        run_patients(app, path, **options)
    return caught.value


# -- mapping ----------------------------------------------------------------------------------

def test_csv_flat_columns_map_to_the_nested_patient(medbill_app: Any, tmp_path: Path) -> None:
    report = run_patients(medbill_app, patients_csv(tmp_path, *GOOD_ROWS))
    assert (report.imported, report.rejected, report.ok) == (3, [], True)
    with medbill_app.unit_of_work() as work:
        first = work.patients.by_account("A100")
        second = work.patients.by_account("A101")
        third = work.patients.by_account("A102")
    assert (first.last_name, first.first_name, first.birth_date, first.sex) == (
        "Okonkwo", "Adaeze", date(1975, 3, 14), Sex.FEMALE)
    assert first.address is not None
    assert first.address.model_dump() == {"line1": "12 Birch Lane", "line2": None,
                                          "city": "Springfield", "state": "IL",
                                          "postal_code": "62701"}
    assert first.phone == "5555550100"  # normalized
    assert second.address is not None
    assert (second.address.state, second.address.postal_code) == ("IL", "627021234")
    # blank address cells: no address at all, not an address of blanks
    assert (third.address, third.phone, third.sex) == (None, None, Sex.UNKNOWN)


def test_json_accepts_the_nested_and_the_flat_shape(medbill_app: Any, tmp_path: Path) -> None:
    records = [
        {"account_number": "J1", "last_name": "Nakamura", "first_name": "Haruki",
         "birth_date": "1969-09-09", "sex": "M",
         "address": {"line1": "9 Pine Road", "city": "Peoria", "state": "IL",
                     "postal_code": "61602"}},
        {"account_number": "J2", "last_name": "Abara", "first_name": "Ngozi",
         "birth_date": "1992-01-20", "sex": "F", "address_line1": "3 Oak Street",
         "address_city": "Peoria", "address_state": "IL", "address_postal_code": "61603"},
    ]
    path = write(tmp_path, "patients.json", json.dumps(records))
    assert run_patients(medbill_app, path).imported == 2
    with medbill_app.unit_of_work() as work:
        nested, flat = work.patients.by_account("J1"), work.patients.by_account("J2")
    assert nested.address is not None and nested.address.city == "Peoria"
    assert flat.address is not None and flat.address.line1 == "3 Oak Street"


def test_coverage_csv_maps_subscriber_columns_and_finds_the_patient_by_account(
        medbill_app: Any, tmp_path: Path) -> None:
    run_patients(medbill_app, patients_csv(tmp_path, *GOOD_ROWS))
    path = write(tmp_path, "coverages.csv", "\n".join([
        "account_number,payer_key,order,member_id,group_number,relationship,"
        "subscriber_last_name,subscriber_first_name,subscriber_birth_date,subscriber_sex,"
        "subscriber_address_line1,subscriber_address_city,subscriber_address_state,"
        "subscriber_address_postal_code,start_date",
        "A100,acme,P,ACM100200,GRP9,18,,,,,,,,,2024-01-01",
        "A102,acme,P,ACM100201,GRP9,19,Moreau,Luc,1970-04-04,M,5 Elm St,Springfield,IL,62701,",
        "A102,medicare,S,1EG4TE5MK73,,18,,,,,,,,,",
    ]) + "\n")
    report = run_coverages(medbill_app, path)
    assert report.imported == 3
    with medbill_app.unit_of_work() as work:
        self_insured = work.patients.coverages(work.patients.by_account("A100").id)
        dependent = work.patients.coverages(work.patients.by_account("A102").id)
    assert [(c.payer_key, c.order, c.member_id) for c in self_insured] == [
        ("acme", CoverageOrder.PRIMARY, "ACM100200")]
    assert self_insured[0].subscriber is None
    assert self_insured[0].start_date == date(2024, 1, 1)
    assert [(c.payer_key, c.order) for c in dependent] == [
        ("acme", CoverageOrder.PRIMARY), ("medicare", CoverageOrder.SECONDARY)]
    primary = dependent[0]
    assert primary.relationship is Relationship.CHILD
    assert primary.subscriber is not None
    assert (primary.subscriber.last_name, primary.subscriber.birth_date) == (
        "Moreau", date(1970, 4, 4))
    assert primary.subscriber.address is not None
    assert primary.subscriber.address.city == "Springfield"


# -- updates and their audit ------------------------------------------------------------------

def test_reimport_updates_by_account_and_audits_field_names_only(
        medbill_app: Any, tmp_path: Path) -> None:
    run_patients(medbill_app, patients_csv(tmp_path, GOOD_ROWS[0]))
    changed = "A100,Okonkwo,Adaeze,1975-03-14,F,77 Walnut Avenue,Springfield,IL,62701,5555550177"
    assert run_patients(medbill_app, patients_csv(tmp_path, changed)).imported == 1
    with medbill_app.unit_of_work() as work:
        patient = work.patients.by_account("A100")
        events = audit.query(work.session, entity_type="patient", entity_id=patient.id)
    assert accounts(medbill_app) == ["A100"]
    assert patient.address is not None and patient.address.line1 == "77 Walnut Avenue"
    assert [e.action for e in events] == ["patient.update", "patient.create"]
    update = events[0]
    assert update.actor == "tester"
    assert update.details == {"fields": ["address", "phone"]}
    text = json.dumps(update.details)
    for value in ("Walnut", "12 Birch", "5555550177", "5555550100", "Okonkwo"):
        assert value not in text


def test_reimporting_identical_data_records_no_update(medbill_app: Any, tmp_path: Path) -> None:
    path = patients_csv(tmp_path, *GOOD_ROWS)
    run_patients(medbill_app, path)
    run_patients(medbill_app, path)
    with medbill_app.unit_of_work() as work:
        actions = [e.action for e in audit.query(work.session, entity_type="patient")]
    assert actions == ["patient.create"] * 3


def test_coverage_reimport_updates_same_payer_and_order(medbill_app: Any, tmp_path: Path) -> None:
    run_patients(medbill_app, patients_csv(tmp_path, GOOD_ROWS[0]))
    header = "account_number,payer_key,order,member_id,group_number"
    run_coverages(medbill_app, write(tmp_path, "c1.csv", f"{header}\nA100,acme,P,ACM1,G1\n"))
    run_coverages(medbill_app, write(tmp_path, "c2.csv", f"{header}\nA100,acme,P,ACM2,G1\n"))
    with medbill_app.unit_of_work() as work:
        coverages = work.patients.coverages(work.patients.by_account("A100").id)
        events = audit.query(work.session, entity_type="coverage")
    assert [c.member_id for c in coverages] == ["ACM2"]
    assert [(e.action, e.details) for e in events] == [
        ("coverage.update", {"fields": ["member_id"]}),
        ("coverage.create", {"patient_id": 1, "payer_key": "acme"})]


# -- all or nothing ---------------------------------------------------------------------------

def test_one_bad_row_imports_nothing(medbill_app: Any, tmp_path: Path) -> None:
    bad = "A103,Virtanen,Aino,1990-13-45,F,,,,,"
    error = import_error(medbill_app, patients_csv(tmp_path, GOOD_ROWS[0], bad, GOOD_ROWS[1]))
    assert error.record == "patients.csv row 3"
    assert error.problems[0][0] == "birth_date"
    assert "nothing was imported" in error.message
    assert "1990-13-45" not in error.message and "Virtanen" not in error.message
    assert accounts(medbill_app) == []
    with medbill_app.unit_of_work() as work:
        assert audit.query(work.session) == []


def test_a_failed_import_also_undoes_its_updates(medbill_app: Any, tmp_path: Path) -> None:
    run_patients(medbill_app, patients_csv(tmp_path, GOOD_ROWS[0]))
    update = "A100,Okonkwo,Adaeze,1975-03-14,F,1 Changed Street,Springfield,IL,62701,"
    import_error(medbill_app, patients_csv(tmp_path, update, "A104,Bad,Sex,1990-01-01,Q,,,,,"))
    with medbill_app.unit_of_work() as work:
        patient = work.patients.by_account("A100")
        actions = [e.action for e in audit.query(work.session)]
    assert patient.address is not None and patient.address.line1 == "12 Birch Lane"
    assert actions == ["patient.create"]


def test_several_bad_rows_are_counted(medbill_app: Any, tmp_path: Path) -> None:
    error = import_error(medbill_app, patients_csv(
        tmp_path, "B1,X,Y,1990-13-45,F,,,,,", GOOD_ROWS[0], "B2,X,Y,1990-01-01,Q,,,,,"))
    assert error.record == "patients.csv row 2"
    assert "(and 1 more bad rows)" in error.message


def test_keep_good_keeps_the_good_rows_and_reports_the_bad(
        medbill_app: Any, tmp_path: Path) -> None:
    rows = [GOOD_ROWS[0], "A103,Virtanen,Aino,1990-13-45,F,,,,,", GOOD_ROWS[1],
            "A104,Kowalski,Jan,1980-01-01,Q,,,,,"]
    report = run_patients(medbill_app, patients_csv(tmp_path, *rows), keep_good=True)
    assert report.imported == 2
    assert not report.ok
    assert [(r.record, r.problems[0][0]) for r in report.rejected] == [
        ("row 3", "birth_date"), ("row 5", "sex")]
    assert accounts(medbill_app) == ["A100", "A101"]
    with medbill_app.unit_of_work() as work:
        assert [e.entity_id for e in audit.query(work.session)] == ["2", "1"]


def test_json_records_are_numbered_from_one(medbill_app: Any, tmp_path: Path) -> None:
    records = [{"account_number": "J1", "last_name": "A", "first_name": "B",
                "birth_date": "1970-01-01", "sex": "F"},
               {"account_number": "J2", "last_name": "C", "first_name": "D", "sex": "M"}]
    error = import_error(medbill_app, write(tmp_path, "p.json", json.dumps(records)))
    assert error.record == "p.json record 2"
    assert error.problems[0] == ("birth_date", "Field required")
    assert accounts(medbill_app) == []


# -- what makes a row bad ---------------------------------------------------------------------

def _single_row_problem(app: Any, tmp_path: Path, row: str) -> tuple[str, str]:
    report = run_patients(app, patients_csv(tmp_path, row), keep_good=True)
    assert report.imported == 0
    assert len(report.rejected) == 1
    assert report.rejected[0].record == "row 2"
    return report.rejected[0].problems[0]


@pytest.mark.parametrize(("row", "field", "reason"), [
    ("A1,Doe,Jane,1990-13-45,F,,,,,", "birth_date", "month value is outside expected range"),
    ("A1,Doe,Jane,not-a-date,F,,,,,", "birth_date", "valid date"),
    ("A1,Doe,Jane,1990-01-01,X,,,,,", "sex", "'F', 'M' or 'U'"),
    ("A1,Doe,Jane,1990-01-01,F,,,,,12345", "phone", "10 digits"),
    ("A1,Doe,Jane,1990-01-01,F,1 Main St,Springfield,Illinois,62701,", "address.state",
     "2-letter"),
    ("A1,Doe,Jane,1990-01-01,F,1 Main St,,IL,62701,", "address.city", "Field required"),
    ("A 1,Doe,Jane,1990-01-01,F,,,,,", "account_number", "pattern"),
    (",Doe,Jane,1990-01-01,F,,,,,", "account_number", "Field required"),
])
def test_bad_values_name_the_field_not_the_value(medbill_app: Any, tmp_path: Path, row: str,
                                                field: str, reason: str) -> None:
    problem = _single_row_problem(medbill_app, tmp_path, row)
    assert problem[0] == field
    assert reason in problem[1]
    value = row.split(",")[3 if field == "birth_date" else 4]
    if len(value) > 2:
        assert value not in problem[1]


def test_birth_date_in_the_future_is_refused(medbill_app: Any, tmp_path: Path) -> None:
    future = (date.today() + timedelta(days=30)).isoformat()
    assert _single_row_problem(medbill_app, tmp_path, f"A1,Doe,Jane,{future},F,,,,,") == (
        "birth_date", "birth date is in the future")


def test_an_extra_column_is_a_named_error(medbill_app: Any, tmp_path: Path) -> None:
    path = write(tmp_path, "extra.csv", "account_number,last_name,first_name,birth_date,sex,"
                                        "favourite_colour\nA1,Doe,Jane,1990-01-01,F,teal\n")
    error = import_error(medbill_app, path)
    assert error.problems[0] == ("favourite_colour", "Extra inputs are not permitted")
    assert "teal" not in error.message


def test_a_row_longer_than_the_header_is_named(medbill_app: Any, tmp_path: Path) -> None:
    error = import_error(medbill_app, patients_csv(tmp_path, GOOD_ROWS[0] + ",surplus"))
    assert error.record == "patients.csv row 2"
    assert error.problems[0] == ("(row)", "has more cells than the header")


def test_a_short_row_reports_the_missing_fields(medbill_app: Any, tmp_path: Path) -> None:
    error = import_error(medbill_app, patients_csv(tmp_path, "A1,Doe,Jane"))
    assert error.problems[0] == ("birth_date", "Field required")


def test_a_file_without_header_row_is_refused_without_echoing_row_one(
        medbill_app: Any, tmp_path: Path) -> None:
    path = write(tmp_path, "noheader.csv", "\n".join(GOOD_ROWS) + "\n")
    with pytest.raises(ValidationFailed) as caught:
        run_patients(medbill_app, path, keep_good=True)
    assert caught.value.message == (
        "noheader.csv: header: no account_number column (row 1 must name the columns)")
    assert accounts(medbill_app) == []


def test_a_repeated_column_is_refused(medbill_app: Any, tmp_path: Path) -> None:
    path = write(tmp_path, "twice.csv", "account_number,last_name,last_name\nA1,Doe,Roe\n")
    with pytest.raises(ValidationFailed, match="twice.csv: last_name: column appears twice"):
        run_patients(medbill_app, path)


@pytest.mark.parametrize(("name", "content", "message"), [
    ("empty.csv", "", "empty.csv: header: the file is empty"),
    ("latin1.csv", f"{PATIENT_HEADER}\nA1,M\xfcller,J\xfcrgen,1970-01-01,M,,,,,\n".encode(
        "latin-1"), "latin1.csv: not UTF-8 text"),
    ("object.json", '{"account_number": "A1"}', "object.json: (file): expected a JSON list"),
    ("broken.json", '[{"account_number": "A1",]', "broken.json: not valid JSON (line 1"),
    ("empty.json", "", "empty.json: not valid JSON"),
    ("scalars.json", '[{"account_number": "A1"}, 42]', "record 2: (record): not an object"),
    ("patients.txt", "whatever", "patients.txt: unknown format 'txt' (use csv or json)"),
])
def test_unreadable_files_are_one_clear_error(medbill_app: Any, tmp_path: Path, name: str,
                                              content: str | bytes, message: str) -> None:
    path = write(tmp_path, name, content)
    with pytest.raises(MedbillError) as caught:
        run_patients(medbill_app, path, keep_good=True)  # file-level errors: never partial
    assert caught.value.message.startswith(message)
    assert "M\xfcller" not in caught.value.message
    assert accounts(medbill_app) == []


def test_a_header_only_file_imports_nothing(medbill_app: Any, tmp_path: Path) -> None:
    assert run_patients(medbill_app, patients_csv(tmp_path)).imported == 0
    assert run_patients(medbill_app, write(tmp_path, "none.json", "[]")).imported == 0


def test_format_option_overrides_the_extension(medbill_app: Any, tmp_path: Path) -> None:
    path = write(tmp_path, "export.txt", PATIENT_HEADER + "\n" + GOOD_ROWS[0] + "\n")
    assert run_patients(medbill_app, path, file_format="CSV").imported == 1


def test_utf8_with_bom_and_non_ascii_names(medbill_app: Any, tmp_path: Path) -> None:
    text = "\ufeff" + PATIENT_HEADER + "\nA1,M\xfcller,J\xfcrgen,1970-01-01,M,,,,,\n"
    assert run_patients(medbill_app, write(tmp_path, "bom.csv", text)).imported == 1
    with medbill_app.unit_of_work() as work:
        assert work.patients.by_account("A1").last_name == "M\xfcller"


# -- coverage rows ----------------------------------------------------------------------------

@pytest.mark.parametrize(("row", "field", "reason"), [
    ("A999,acme,P,ACM1,", "account_number", "no patient has this account number"),
    (",acme,P,ACM1,", "account_number", "required to find the patient"),
    ("A100,nowhere,P,ACM1,", "payer_key", "not a configured payer"),
    ("A100,acme,Z,ACM1,", "order", "'P', 'S' or 'T'"),
    ("A100,acme,P,ACM 1,", "member_id", "pattern"),
    ("A100,acme,P,ACM1,19", "(record)", "subscriber details are required"),
])
def test_bad_coverage_rows_name_row_and_field(medbill_app: Any, tmp_path: Path, row: str,
                                             field: str, reason: str) -> None:
    run_patients(medbill_app, patients_csv(tmp_path, GOOD_ROWS[0]))
    path = write(tmp_path, "cov.csv", "account_number,payer_key,order,member_id,relationship\n"
                                      f"A100,acme,S,GOOD1,\n{row}\n")
    with pytest.raises(ValidationFailed) as caught:
        run_coverages(medbill_app, path)
    assert caught.value.record == "cov.csv row 3"
    assert caught.value.problems[0][0] == field
    assert reason in caught.value.problems[0][1]
    with medbill_app.unit_of_work() as work:
        assert work.patients.coverages(work.patients.by_account("A100").id) == []
    report = run_coverages(medbill_app, path, keep_good=True)
    assert (report.imported, [r.record for r in report.rejected]) == (1, ["row 3"])
