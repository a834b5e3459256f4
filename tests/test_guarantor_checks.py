"""A guarantor's birth date and e-mail are checked by the patient's rules (one rule for both):
in the services, the patients import, the HTTP API (SQLite and PostgreSQL) and the command
line; a refusal names the record and the field, changes nothing and shows no PHI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from test_http_accounts import BILLER, FRONT, authenticate
from test_http_api import assert_problem

from medbill_core import audit
from medbill_core.app import Medbill
from medbill_core.domain import Guarantor, Patient
from medbill_core.domain.base import saved_id, validate_record
from medbill_core.errors import ValidationFailed
from medbill_core.http import create_app
from medbill_core.services.guarantors import GuarantorService
from medbill_core.services.importing import import_patients
from medbill_core.testing import factories
from tests.cli_support import cli, config_text, ok, one_line_error

FUTURE = (date.today() + timedelta(days=30)).isoformat()
LONG_AGO = date(date.today().year - 200, 3, 1).isoformat()
BAD = ((("birth_date", FUTURE), "birth_date: birth date is in the future"),
       (("birth_date", LONG_AGO), "birth_date: birth date is before 1880"),
       (("email", "not-an-email"), "email: not an e-mail address (name@example.org)"),
       (("email", "ada@localhost"), "email: not an e-mail address (name@example.org)"))


@pytest.mark.parametrize(("field", "message"), [(f, m) for f, m in BAD])
def test_the_guarantor_and_the_patient_share_one_rule(field: tuple[str, str],
                                                      message: str) -> None:
    name, value = field
    with pytest.raises(ValidationFailed) as guarantor:
        validate_record(Guarantor, {"last_name": "Okafor", "first_name": "Ada", name: value},
                        record="guarantor")
    assert guarantor.value.message == f"guarantor: {message}"
    patient = factories.make_patient(1).model_dump(mode="json")
    with pytest.raises(ValidationFailed) as same:
        validate_record(Patient, {**patient, name: value}, record="patient P1")
    assert same.value.message == f"patient P1: {message}"
    assert "Okafor" not in guarantor.value.message + same.value.message
    # good values still pass, an e-mail trimmed
    assert validate_record(Guarantor, {"last_name": "O", "first_name": "A",
                                       "birth_date": "1970-05-01",
                                       "email": " a*b~c@mail.example.com "},
                           record="guarantor").email == "a*b~c@mail.example.com"


def test_a_bad_guarantor_edit_or_import_changes_nothing(medbill_app: Medbill,
                                                        tmp_path: Path) -> None:
    with medbill_app.unit_of_work() as work:
        work.patients.register(factories.make_patient(1))
        gid = saved_id(GuarantorService(work.session, actor="tester").add(Guarantor(
            last_name="Okafor", first_name="Ada", birth_date=date(1970, 5, 1),
            email="ada@example.org")))
    for (name, value), message in BAD:
        with pytest.raises(ValidationFailed) as caught, medbill_app.unit_of_work() as work:
            GuarantorService(work.session, actor="tester").edit(gid, {name: value})
        assert caught.value.message == f"guarantor {gid}: {message}"
    with medbill_app.unit_of_work() as work:
        stored = GuarantorService(work.session, actor="tester").get(gid)
        assert (stored.birth_date, stored.email) == (date(1970, 5, 1), "ada@example.org")
        assert audit.query(work.session, action="guarantor.update") == []
    rows = tmp_path / "p.csv"
    rows.write_text(
        "account_number,last_name,first_name,birth_date,sex,guarantor_relationship,"
        "guarantor_last_name,guarantor_first_name,guarantor_birth_date,guarantor_email\n"
        f"P7,Silva,Bo,2015-02-02,M,parent,Silva,Rosa,{FUTURE},\n"
        "P8,Silva,Cy,2016-02-02,M,parent,Silva,Rosa,,rosa-at-home\n", encoding="utf-8")
    with medbill_app.unit_of_work() as work:
        report = import_patients(work, rows, keep_good=True)
    assert [r.message for r in report.rejected] == [
        "row 2: guarantor_birth_date: birth date is in the future",
        "row 3: guarantor_email: not an e-mail address (name@example.org)"]
    with medbill_app.unit_of_work() as work:
        assert [g.id for g in GuarantorService(work.session, actor="t").list()] == [gid]


@pytest.fixture
def client(medbill_app: Medbill) -> Iterator[TestClient]:
    with TestClient(create_app(medbill_app, authenticate=authenticate)) as test_client:
        yield test_client


def test_the_api_refuses_a_bad_guarantor_birth_date_or_email(client: TestClient) -> None:
    body = {"last_name": "Okafor", "first_name": "Ada", "birth_date": "1970-05-01"}
    for (name, value), _message in BAD:
        problem = assert_problem(client.post("/v1/guarantors", json={**body, name: value},
                                             headers=FRONT), 422, "validation-failed")
        assert [item["field"] for item in problem["errors"]] == [f"body.{name}"]
        assert "Okafor" not in str(problem)
    made = client.post("/v1/guarantors", json=body, headers=FRONT)
    assert made.status_code == 201, made.text
    gid = made.json()["id"]
    for (name, value), _message in BAD:
        problem = assert_problem(client.patch(f"/v1/guarantors/{gid}", json={name: value},
                                              headers=BILLER), 422, "validation-failed")
        # the edited record's field (checked by the service, as a PATCH of a patient)
        assert [item["field"] for item in problem["errors"]] == [name]
    assert client.get(f"/v1/guarantors/{gid}", headers=BILLER).json()["birth_date"] \
        == "1970-05-01"


def test_the_command_line_refuses_them_in_one_line(cli_isolation: None,
                                                   tmp_path: Path) -> None:
    config = tmp_path / "medbill.toml"
    config.write_text(config_text(f"sqlite:///{tmp_path / 'medbill.db'}"), encoding="utf-8")
    ok(config, "db", "upgrade")
    assert one_line_error(cli(config, "guarantors", "add", "--last-name", "Okafor",
                              "--first-name", "Ada", "--email", "not-an-email")) == (
        "error: guarantor: email: not an e-mail address (name@example.org)")
    # the command line's dates are 1900-01-01 .. 2999-12-31 (date_rules), before the
    # record's own rule (born before 1880) is asked
    assert one_line_error(cli(config, "guarantors", "add", "--last-name", "Okafor",
                              "--first-name", "Ada", "--birth-date", LONG_AGO), 2) == (
        "error: --birth-date must be a date from 1900-01-01 to 2999-12-31")
    gid = json.loads(ok(config, "guarantors", "add", "--last-name", "Okafor", "--first-name",
                        "Ada", "--email", "ada@example.org", "--json").stdout)["id"]
    assert one_line_error(cli(config, "guarantors", "edit", str(gid), "--email",
                              "ada at home")) == (
        f"error: guarantor {gid}: email: not an e-mail address (name@example.org)")
    shown: Any = json.loads(ok(config, "guarantors", "show", str(gid), "--json").stdout)
    assert shown["email"] == "ada@example.org"
    assert json.loads(ok(config, "guarantors", "list", "--json").stdout)[0]["id"] == gid


def _dependent_coverage(birth_date: date) -> Any:
    coverage = factories.make_coverage(dependent=True)
    assert coverage.subscriber is not None
    return coverage.model_copy(update={"subscriber": coverage.subscriber.model_copy(
        update={"birth_date": birth_date})})


@pytest.mark.parametrize(("born", "message"), [
    (date.today() + timedelta(days=30), "subscriber.birth_date: birth date is in the future"),
    (date(1850, 1, 1), "subscriber.birth_date: birth date is before 1880")])
def test_a_guarantor_made_from_a_subscriber_is_checked_as_any_guarantor(
        medbill_app: Medbill, born: date, message: str) -> None:
    """A dependent's coverage made its subscriber a guarantor without the guarantor's rules:
    a birth date in the future or before 1880 was stored on the guarantor."""
    from medbill_core.services.patients import NewCoverage
    from medbill_core.storage.schema import CoverageRow, GuarantorRow

    with medbill_app.unit_of_work() as work:
        first = saved_id(work.patients.register(factories.make_patient(1)))
        second = saved_id(work.patients.register(factories.make_patient(2)))
    # one coverage (the guarantor chosen one by one), and a batch (chosen by one batch)
    attempts = ((first, [NewCoverage(first, _dependent_coverage(born))]),
                (second, [NewCoverage(first, factories.make_coverage(member_id="OWN0001")),
                          NewCoverage(second, _dependent_coverage(born))]))
    for patient_id, items in attempts:
        with pytest.raises(ValidationFailed) as refused, medbill_app.unit_of_work() as work:
            work.patients.add_coverages(items)
        assert refused.value.message == f"patient {patient_id}: {message}"
        assert "Testsubscriber" not in refused.value.message
    with medbill_app.unit_of_work() as work:  # nothing written
        assert work.session.query(GuarantorRow).count() == 0
        assert work.session.query(CoverageRow).count() == 0
        work.patients.add_coverage(first, _dependent_coverage(date(1960, 5, 5)))
        made = work.patients.get(first).guarantor_id
        assert made is not None
        assert GuarantorService(work.session, actor="t").get(made).birth_date == date(
            1960, 5, 5)


def test_a_coverage_import_names_the_row_and_the_subscriber_field(medbill_app: Medbill,
                                                                  tmp_path: Path) -> None:
    from medbill_core.services.importing import import_coverages

    with medbill_app.unit_of_work() as work:
        for number in (1, 2):
            work.patients.register(factories.make_patient(number))
        accounts = [p.account_number for p in work.patients.list()]
    rows = tmp_path / "c.csv"
    rows.write_text(
        "account_number,payer_key,order,member_id,relationship,subscriber_last_name,"
        "subscriber_first_name,subscriber_birth_date\n"
        f"{accounts[0]},acme,P,ACME00001,19,Okafor,Chidi,{FUTURE}\n"
        f"{accounts[1]},acme,P,ACME00002,19,Okafor,Chidi,1971-05-05\n", encoding="utf-8")
    with medbill_app.unit_of_work() as work:
        report = import_coverages(work, rows, keep_good=True)
    assert [r.message for r in report.rejected] == [
        "row 2: subscriber.birth_date: birth date is in the future"]
    with medbill_app.unit_of_work() as work:
        [guarantor] = GuarantorService(work.session, actor="t").list()
        assert guarantor.birth_date == date(1971, 5, 5)
        assert work.patients.coverages(work.patients.by_account(accounts[0]).id or 0) == []
