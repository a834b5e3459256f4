"""A patient holds one coverage of each order on any day: a second primary (or secondary)
whose dates overlap one the patient has is refused, in the services, the coverages import,
the API and the command line (SQLite and PostgreSQL), naming the field and what to do; one
that starts after the other ended is taken. Overlaps already stored stay readable and
editable."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from test_http_accounts import FRONT, authenticate
from test_http_api import assert_problem

from medbill_core import audit
from medbill_core.app import Medbill
from medbill_core.domain.base import saved_id
from medbill_core.errors import ValidationFailed
from medbill_core.http import create_app
from medbill_core.services.importing import import_coverages
from medbill_core.services.patients import NewCoverage
from medbill_core.storage.schema import CoverageRow
from medbill_core.testing import factories
from tests.cli_support import cli, config_text, ok, one_line_error

JAN = date(2026, 1, 1)
ACME_PRIMARY = ("the patient already has an active primary coverage on these dates "
                "(coverage {id}: acme, from 2026-01-01); end it first (coverages terminate "
                "{id} --end DATE) or add this one as secondary")


def _patient_with_acme(medbill_app: Medbill) -> tuple[int, int]:
    with medbill_app.unit_of_work() as work:
        patient = work.patients.register(factories.make_patient(1))
        acme = work.patients.add_coverage(saved_id(patient), factories.make_coverage(
            start_date=JAN))
    return saved_id(patient), saved_id(acme)


def test_a_second_overlapping_primary_is_refused(medbill_app: Medbill) -> None:
    pid, acme = _patient_with_acme(medbill_app)
    message = ACME_PRIMARY.format(id=acme)
    for start, end in ((date(2026, 3, 1), None), (None, None), (date(2025, 1, 1),
                                                                 date(2026, 1, 1))):
        with pytest.raises(ValidationFailed) as caught, medbill_app.unit_of_work() as work:
            work.patients.save_coverage(pid, factories.make_coverage(
                payer_key="bluecross", member_id="BC1234", start_date=start, end_date=end))
        assert caught.value.message == f"patient {pid}: order: {message}"
    # a batch: the second item overlaps the first one, not yet stored: nothing is written
    with pytest.raises(ValidationFailed) as caught, medbill_app.unit_of_work() as work:
        work.patients.add_coverages([
            NewCoverage(pid, factories.make_coverage(payer_key="medicare", order="S",
                                                     member_id="MC1234")),
            NewCoverage(pid, factories.make_coverage(payer_key="bluecross", order="S",
                                                     member_id="BC1234"))])
    assert "active secondary coverage on these dates (medicare, with no start date)" in \
        caught.value.message
    with medbill_app.unit_of_work() as work:
        assert [c.id for c in work.patients.coverages(pid)] == [acme]
        assert len(audit.query(work.session, action="coverage.create")) == 1
        # what does not overlap is taken: a secondary, a primary before or after acme's dates
        work.patients.save_coverage(pid, factories.make_coverage(
            payer_key="bluecross", order="S", member_id="BC1234"))
        work.patients.save_coverage(pid, factories.make_coverage(
            payer_key="medicare", member_id="MC1234", start_date=date(2025, 1, 1),
            end_date=date(2025, 12, 31)))
        # the same payer and order updates acme's dates (not a second coverage)
        work.patients.save_coverage(pid, factories.make_coverage(start_date=date(2026, 2, 1)))
        assert [(c.payer_key, c.order.value) for c in work.patients.coverages(pid)] == [
            ("acme", "P"), ("medicare", "P"), ("bluecross", "S")]


def test_an_edit_may_not_make_two_primaries_overlap(medbill_app: Medbill) -> None:
    pid, acme = _patient_with_acme(medbill_app)
    with medbill_app.unit_of_work() as work:
        old = work.patients.save_coverage(pid, factories.make_coverage(
            payer_key="bluecross", member_id="BC1234", start_date=date(2025, 1, 1),
            end_date=date(2025, 12, 31)))[0]
        second = work.patients.save_coverage(pid, factories.make_coverage(
            payer_key="medicare", order="S", member_id="MC1234"))[0]
    for coverage_id, changes, field in (
            (saved_id(old), {"end_date": None}, "end_date"),
            (saved_id(old), {"end_date": "2026-06-30"}, "end_date"),
            (saved_id(second), {"order": "P"}, "order")):
        with pytest.raises(ValidationFailed) as caught, medbill_app.unit_of_work() as work:
            work.patients.edit_coverage(coverage_id, changes)
        assert caught.value.message == (
            f"coverage {coverage_id}: {field}: {ACME_PRIMARY.format(id=acme)}")
    with medbill_app.unit_of_work() as work:
        assert work.patients.coverage(saved_id(old)).end_date == date(2025, 12, 31)
        assert audit.query(work.session, action="coverage.update") == []
        # ending acme first, then bluecross may start after it
        work.patients.terminate_coverage(acme, date(2026, 6, 30))
        work.patients.edit_coverage(saved_id(old), {"start_date": "2026-07-01",
                                                    "end_date": None})


def test_stored_overlaps_stay_readable_and_can_be_ended(medbill_app: Medbill) -> None:
    pid, _acme = _patient_with_acme(medbill_app)
    with medbill_app.unit_of_work() as work:
        other = saved_id(work.patients.save_coverage(pid, factories.make_coverage(
            payer_key="bluecross", order="S", member_id="BC1234"))[0])
        # data from before the rule: two primaries at once
        work.session.execute(update(CoverageRow).where(CoverageRow.id == other)
                             .values(coverage_order="P"))
    with medbill_app.unit_of_work() as work:
        assert [c.order.value for c in work.patients.coverages(pid)] == ["P", "P"]
        # correcting the member id keeps the overlap it had: taken
        work.patients.edit_coverage(other, {"member_id": "BC9999"})
        work.patients.save_coverage(pid, factories.make_coverage(start_date=JAN,
                                                                 plan_name="Acme Gold"))
        work.patients.terminate_coverage(other, date(2026, 3, 31))
        assert work.patients.coverage(other).end_date == date(2026, 3, 31)


def test_the_import_names_the_row(medbill_app: Medbill, tmp_path: Path) -> None:
    pid, acme = _patient_with_acme(medbill_app)
    account = factories.make_patient(1).account_number
    rows = tmp_path / "c.csv"
    rows.write_text("account_number,payer_key,order,member_id,start_date,end_date\n"
                    f"{account},bluecross,P,BC1234,2026-05-01,\n"
                    f"{account},medicare,P,MC1234,2024-01-01,2025-12-31\n",
                    encoding="utf-8")
    with medbill_app.unit_of_work() as work:
        report = import_coverages(work, rows, keep_good=True)
    assert [r.message for r in report.rejected] == [
        f"row 2: order: {ACME_PRIMARY.format(id=acme)}"]
    assert report.imported == 1
    with medbill_app.unit_of_work() as work:
        assert [c.payer_key for c in work.patients.coverages(pid)] == ["acme", "medicare"]


@pytest.fixture
def client(medbill_app: Medbill) -> Iterator[TestClient]:
    with TestClient(create_app(medbill_app, authenticate=authenticate)) as test_client:
        yield test_client


def test_the_api_refuses_a_second_primary(client: TestClient, medbill_app: Medbill) -> None:
    pid, acme = _patient_with_acme(medbill_app)
    body = {"payer_key": "bluecross", "order": "P", "member_id": "BC1234"}
    problem = assert_problem(client.post(f"/v1/patients/{pid}/coverages", json=body,
                                         headers=FRONT), 422, "validation-failed")
    assert [e["field"] for e in problem["errors"]] == ["order"]
    made = client.post(f"/v1/patients/{pid}/coverages", json={**body, "order": "S"},
                       headers=FRONT)
    assert made.status_code == 201, made.text
    problem = assert_problem(client.patch(f"/v1/patients/{pid}/coverages/{made.json()['id']}",
                                          json={"order": "P"}, headers=FRONT),
                             422, "validation-failed")
    assert [e["field"] for e in problem["errors"]] == ["order"]
    assert acme


def test_the_command_line_says_it_in_one_line(cli_isolation: None, tmp_path: Path) -> None:
    config = tmp_path / "medbill.toml"
    config.write_text(config_text(f"sqlite:///{tmp_path / 'medbill.db'}"), encoding="utf-8")
    ok(config, "db", "upgrade")
    (tmp_path / "p.csv").write_text("account_number,last_name,first_name,birth_date,sex\n"
                                    "P1,Okafor,Chidi,1971-05-05,M\n", encoding="utf-8")
    (tmp_path / "c.csv").write_text("account_number,payer_key,order,member_id,start_date\n"
                                    "P1,acme,P,ACME00001,2026-01-01\n"
                                    "P1,medicare,S,MC1234,2026-01-01\n", encoding="utf-8")
    (tmp_path / "c2.csv").write_text("account_number,payer_key,order,member_id\n"
                                     "P1,medicare,P,MC9999\n", encoding="utf-8")
    ok(config, "patients", "import", str(tmp_path / "p.csv"))
    ok(config, "coverages", "import", str(tmp_path / "c.csv"))
    listed = json.loads(ok(config, "coverages", "list", "--patient", "P1", "--json").stdout)
    acme, blue = listed[0]["id"], listed[1]["id"]
    error = one_line_error(cli(config, "coverages", "import", str(tmp_path / "c2.csv")))
    assert error.startswith("error: c2.csv row 2: order: the patient already has an active "
                            f"primary coverage on these dates (coverage {acme}: acme")
    assert one_line_error(cli(config, "coverages", "edit", str(blue), "--order", "P")) == (
        f"error: coverage {blue}: order: {ACME_PRIMARY.format(id=acme)}")
    assert len(json.loads(ok(config, "coverages", "list", "--patient", "P1",
                             "--json").stdout)) == 2
