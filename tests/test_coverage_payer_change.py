"""A coverage keeps its payer once a claim billed to it was sent: the claims copied the payer
and their history (835s, follow-up, secondary billing) stays with it. Unsent claims (draft,
validated) follow a new payer, their charges moving with them; the member ID (not copied)
stays correctable. Services, API and command line, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from test_http_accounts import FRONT, authenticate
from test_http_api import assert_problem

from medbill_core import audit
from medbill_core.app import Medbill
from medbill_core.config import load_config
from medbill_core.domain import ClaimState
from medbill_core.domain.base import saved_id
from medbill_core.errors import ValidationFailed
from medbill_core.http import create_app
from medbill_core.services.patients import edit_coverage
from medbill_core.testing import factories
from tests.cli_support import cli, config_text, ok, one_line_error

S = ClaimState


def _claim(app: Medbill, coverage_id: int, patient_id: int, number: str,
           states: tuple[ClaimState, ...] = ()) -> int:
    with app.unit_of_work() as work:
        claim = work.claims.create(factories.make_claim(
            patient_id, coverage_id=coverage_id, payer_key="acme", number=number))
        for state in states:
            work.claims.transition(saved_id(claim), state)
    return saved_id(claim)


def _covered(app: Medbill) -> tuple[int, int]:
    with app.unit_of_work() as work:
        patient = work.patients.register(factories.make_patient(1))
        coverage = work.patients.add_coverage(saved_id(patient), factories.make_coverage())
    return saved_id(patient), saved_id(coverage)


def test_the_payer_of_a_coverage_with_sent_claims_stays(medbill_app: Medbill) -> None:
    pid, cid = _covered(medbill_app)
    _claim(medbill_app, cid, pid, "PC00001", (S.VALIDATED, S.SUBMITTED))
    _claim(medbill_app, cid, pid, "PC00002", (S.VALIDATED, S.SUBMITTED, S.ACCEPTED))
    with pytest.raises(ValidationFailed) as caught, medbill_app.unit_of_work() as work:
        edit_coverage(work, cid, {"payer_key": "bluecross"})
    assert caught.value.message == (
        f"coverage {cid}: payer_key: cannot change: claim PC00001 and 1 more billed to acme "
        f"with this coverage keep their history with it; end this coverage (coverages "
        f"terminate {cid} --end DATE) and add the bluecross coverage as a new one")
    with pytest.raises(ValidationFailed), medbill_app.unit_of_work() as work:
        work.patients.edit_coverage(cid, {"payer_key": "bluecross"})  # the service's rule
    with medbill_app.unit_of_work() as work:
        assert work.patients.coverage(cid).payer_key == "acme"
        assert audit.query(work.session, action="coverage.update") == []
        # the member ID is not copied by the claims: a rejected one is corrected
        _, changed = work.patients.edit_coverage(cid, {"member_id": "ACME99999"})
    assert changed == ["member_id"]


def test_unsent_claims_follow_a_new_payer(medbill_app: Medbill) -> None:
    pid, cid = _covered(medbill_app)
    draft = _claim(medbill_app, cid, pid, "PC00011")
    validated = _claim(medbill_app, cid, pid, "PC00012", (S.VALIDATED,))
    gone = _claim(medbill_app, cid, pid, "PC00013")
    with medbill_app.unit_of_work() as work:
        work.claims.delete_draft(gone, reason="entered twice")
    with medbill_app.unit_of_work() as work:
        coverage, changed, moved = edit_coverage(work, cid, {"payer_key": "bluecross"})
    assert (coverage.payer_key, changed, moved) == ("bluecross", ["payer_key"],
                                                    ["PC00011", "PC00012"])
    with medbill_app.unit_of_work() as work:
        for claim_id in (draft, validated):
            claim = work.claims.get(claim_id)
            assert (claim.payer_key, claim.state) == ("bluecross", S.DRAFT)
            owed = work.ledger.payer_balance(claim_id, "bluecross")
            assert owed == claim.total_charge > Decimal(0)
            assert work.ledger.payer_balance(claim_id, "acme") == 0
        assert work.claims.get(gone).payer_key == "acme"
        assert [e.actor for e in audit.query(work.session, action="coverage.update")] == [
            "tester"]


@pytest.fixture
def client(medbill_app: Medbill) -> Iterator[TestClient]:
    with TestClient(create_app(medbill_app, authenticate=authenticate)) as test_client:
        yield test_client


def test_the_api_refuses_it(client: TestClient, medbill_app: Medbill) -> None:
    pid, cid = _covered(medbill_app)
    _claim(medbill_app, cid, pid, "PC00021", (S.VALIDATED, S.SUBMITTED))
    problem = assert_problem(client.patch(f"/v1/patients/{pid}/coverages/{cid}",
                                          json={"payer_key": "bluecross"}, headers=FRONT),
                             422, "validation-failed")
    assert [e["field"] for e in problem["errors"]] == ["payer_key"]


def test_the_command_line_refuses_it_in_one_line(cli_isolation: None, tmp_path: Path) -> None:
    config = tmp_path / "medbill.toml"
    config.write_text(config_text(f"sqlite:///{tmp_path / 'medbill.db'}"), encoding="utf-8")
    ok(config, "db", "upgrade")
    (tmp_path / "p.csv").write_text("account_number,last_name,first_name,birth_date,sex\n"
                                    "P1,Okafor,Chidi,1971-05-05,M\n", encoding="utf-8")
    (tmp_path / "c.csv").write_text("account_number,payer_key,order,member_id\n"
                                    "P1,acme,P,ACME00001\n", encoding="utf-8")
    ok(config, "patients", "import", str(tmp_path / "p.csv"))
    ok(config, "coverages", "import", str(tmp_path / "c.csv"))
    cid = json.loads(ok(config, "coverages", "list", "--patient", "P1", "--json").stdout)[0]["id"]
    medbill = Medbill.open(load_config(config), load_installed=False)
    try:
        with medbill.unit_of_work() as work:
            patient_id = saved_id(work.patients.by_account("P1"))
            claim = work.claims.create(factories.make_claim(
                patient_id, coverage_id=cid, payer_key="acme", number="PC00031"))
            for state in (S.VALIDATED, S.SUBMITTED):
                work.claims.transition(saved_id(claim), state)
    finally:
        medbill.close()
    error = one_line_error(cli(config, "coverages", "edit", str(cid), "--payer", "medicare"))
    assert error.startswith(f"error: coverage {cid}: payer_key: cannot change: claim PC00031 "
                            "billed to acme")
    listed = json.loads(ok(config, "coverages", "list", "--patient", "P1", "--json").stdout)
    assert listed[0]["payer_key"] == "acme"
