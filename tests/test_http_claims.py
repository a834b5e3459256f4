"""The claims' actions over HTTP, on SQLite and PostgreSQL: create a draft and read it back,
edit it (409 once it is not a draft), scrub (findings in the response), void, correct,
history, and submit (a job, polled until it succeeded); every change audited under the
caller."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from inproc_plugins import line_practice_config, make_line_plugin
from test_http_api import EHR, MANAGER, assert_problem, fake_authenticate
from test_http_jobs import finished

from medbill_core import audit
from medbill_core.app import Medbill
from medbill_core.config import MedbillConfig
from medbill_core.domain import ClaimState
from medbill_core.http import create_app
from medbill_core.http.resources.jobs import stop_jobs
from medbill_core.testing import factories

S = ClaimState
ACTOR = "key:ehr-sync"


@pytest.fixture
def medbill_config(medbill_db_url: str) -> MedbillConfig:
    return line_practice_config(medbill_db_url)


@pytest.fixture
def line_plugin() -> Any:
    return make_line_plugin()


@pytest.fixture
def medbill_extra_plugins(line_plugin: Any) -> list[tuple[str, Any]]:
    return [("lineplug", line_plugin)]


@pytest.fixture
def client(medbill_app: Medbill) -> Iterator[TestClient]:
    app = create_app(medbill_app, authenticate=fake_authenticate)
    try:
        with TestClient(app) as test_client:
            yield test_client
    finally:
        stop_jobs(app)


@pytest.fixture
def patient(medbill_app: Medbill) -> dict[str, int]:
    with medbill_app.unit_of_work() as work:
        work.patients.register_provider(factories.make_provider())
        stored = work.patients.register(factories.make_patient(1))
        coverage = work.patients.add_coverage(stored.id, factories.make_coverage(
            payer_key="linepay"))
    return {"patient_id": stored.id, "coverage_id": coverage.id}


def claim_body(patient: dict[str, int], number: str = "API0001", **overrides: Any
               ) -> dict[str, Any]:
    claim = factories.make_claim(patient["patient_id"], coverage_id=patient["coverage_id"],
                                 payer_key="linepay", number=number, **overrides)
    body = claim.model_dump(mode="json", exclude_none=True)
    for assigned in ("id", "state", "frequency"):
        body.pop(assigned, None)
    return body


def create(client: TestClient, body: dict[str, Any], key: str | None = None) -> dict[str, Any]:
    headers = {**EHR, **({"Idempotency-Key": key} if key else {})}
    response = client.post("/v1/claims", json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    assert response.headers["location"] == f"/v1/claims/{created['id']}"
    return created


def events(app: Medbill, action: str) -> list[audit.AuditEvent]:
    with app.unit_of_work(read_only=True) as work:
        return list(audit.query(work.session, action=action))


def test_a_created_claim_reads_back_equal_and_is_audited_under_the_caller(
        client: TestClient, patient: dict[str, int], medbill_app: Medbill) -> None:
    body = claim_body(patient)
    created = create(client, body, key="claim-1")
    assert created["state"] == "draft" and created["claim_number"] == "API0001"
    read = client.get(f"/v1/claims/{created['id']}", headers=EHR)
    assert read.status_code == 200
    assert read.json() == created
    assert read.json()["lines"][0]["charge"] == body["lines"][0]["charge"] == "125.00"
    [event] = events(medbill_app, "claim.create")
    assert (event.actor, event.entity_id) == (ACTOR, str(created["id"]))
    # the same key and body: the first answer again, no second claim
    again = client.post("/v1/claims", json=body, headers={**EHR, "Idempotency-Key": "claim-1"})
    assert again.status_code == 201 and again.json() == created
    assert again.headers["idempotent-replayed"] == "true"
    assert len(client.get("/v1/claims", headers=EHR).json()["data"]) == 1


def test_a_claim_with_an_unknown_patient_or_a_bad_field_is_422(
        client: TestClient, patient: dict[str, int]) -> None:
    problem = assert_problem(client.post("/v1/claims", headers=EHR, json=claim_body(
        {**patient, "patient_id": 999})), 422, "validation-failed")
    assert problem["errors"][0]["field"] == "patient_id"
    problem = assert_problem(client.post("/v1/claims", headers=EHR, json={
        **claim_body(patient), "state": "paid"}), 422, "validation-failed")
    assert [e["field"] for e in problem["errors"]] == ["body.state"]


def test_a_charge_is_text_or_an_integer_never_a_json_float(
        client: TestClient, patient: dict[str, int]) -> None:
    """As `medbill claims import` and `claims edit` read it (docs/http-api.md)."""
    for number, value in enumerate((165.0, 0.1, 1e3)):
        body = claim_body(patient, number=f"FLT{number}")
        body["lines"][0]["charge"] = value
        problem = assert_problem(client.post("/v1/claims", headers=EHR, json=body), 422,
                                 "validation-failed")
        assert [(e["field"], e["message"]) for e in problem["errors"]] == [(
            "body.lines[0].charge",
            "money must be a Decimal, an integer or a numeric string, not a float")]
    body = claim_body(patient, number="INT1")
    body["lines"][0]["charge"] = 125
    assert create(client, body)["lines"][0]["charge"] == "125.00"


@pytest.mark.parametrize("units", ["\uff11", "\u0661", "1E1", "1e1", "1_0"])
def test_units_written_as_text_take_ascii_digits_as_claims_import_reads_them(
        client: TestClient, patient: dict[str, int], medbill_app: Medbill, units: str) -> None:
    """The body is input as an import file is (validate_record): FastAPI's validation had no
    context, so "\uff11" was 1 and "1E1" 10 units."""
    refused = [("body.lines[0].units", "not a number: write ASCII digits, e.g. 12 or 12.5")]
    body = claim_body(patient, number="UNITS1")
    body["lines"][0]["units"] = units
    problem = assert_problem(client.post("/v1/claims", headers=EHR, json=body), 422,
                             "validation-failed")
    assert [(e["field"], e["message"]) for e in problem["errors"]] == refused
    assert client.get("/v1/claims", headers=EHR).json()["data"] == []
    created = create(client, {**body, "lines": [{**body["lines"][0], "units": "2"}]})
    assert created["lines"][0]["units"] == "2"
    line = {**created["lines"][0], "units": units}
    problem = assert_problem(client.patch(f"/v1/claims/{created['id']}", headers=EHR,
                                          json={"lines": [line]}), 422, "validation-failed")
    assert [(e["field"], e["message"]) for e in problem["errors"]] == refused
    with medbill_app.unit_of_work(read_only=True) as work:
        assert work.claims.get(created["id"]).lines[0].units == 2


def test_a_draft_is_edited_and_a_sent_claim_is_a_409_naming_its_state(
        client: TestClient, patient: dict[str, int], medbill_app: Medbill) -> None:
    created = create(client, claim_body(patient))
    line = {**created["lines"][0], "charge": "140.00"}
    edited = client.patch(f"/v1/claims/{created['id']}", headers=EHR,
                          json={"lines": [line], "prior_authorization": "AUTH77"})
    assert edited.status_code == 200, edited.text
    assert edited.json()["lines"][0]["charge"] == "140.00"
    assert edited.json()["prior_authorization"] == "AUTH77"
    assert edited.json()["claim_number"] == created["claim_number"]
    with medbill_app.unit_of_work(read_only=True) as work:
        assert str(work.ledger.totals(claim_id=created["id"]).charges) == "140.00"
    [update] = events(medbill_app, "claim.update")
    assert update.actor == ACTOR and set(update.details["fields"]) >= {"prior_authorization"}
    with medbill_app.unit_of_work() as work:
        work.claims.transition(created["id"], S.VALIDATED)
        work.claims.transition(created["id"], S.SUBMITTED)
    problem = assert_problem(client.patch(f"/v1/claims/{created['id']}", headers=EHR,
                                          json={"prior_authorization": "X1"}),
                             409, "claim-state")
    assert "submitted" in problem["detail"]
    assert problem["errors"][0]["field"] == "state"
    assert_problem(client.patch("/v1/claims/999", headers=EHR, json={}), 404, "not-found")


def test_scrub_answers_the_findings_and_moves_a_clean_draft(
        client: TestClient, patient: dict[str, int]) -> None:
    clean = create(client, claim_body(patient, "CLEAN1"))
    bad_line = factories.make_line(1, modifiers=["00"]).model_dump(mode="json",
                                                                    exclude_none=True)
    bad = create(client, {**claim_body(patient, "BADMOD1"), "lines": [bad_line]})
    scrubbed = client.post(f"/v1/claims/{clean['id']}/scrub", headers=EHR)
    assert scrubbed.status_code == 200, scrubbed.text
    assert scrubbed.json()["clean"] is True and scrubbed.json()["state"] == "validated"
    found = client.post(f"/v1/claims/{bad['id']}/scrub", headers=EHR).json()
    assert found["clean"] is False and found["state"] == "draft"
    errors = [(f["severity"], f["code"], f["field"]) for f in found["findings"]
              if f["severity"] == "error"]
    assert errors == [("error", "modifier.unknown", "modifiers[0]")]
    assert found["claim_number"] == "BADMOD1"


def test_submit_is_a_job_and_history_lists_the_transitions(
        client: TestClient, patient: dict[str, int], medbill_app: Medbill,
        line_plugin: Any) -> None:
    created = create(client, claim_body(patient))
    assert client.post(f"/v1/claims/{created['id']}/scrub", headers=EHR).json()["clean"]
    response = client.post("/v1/claims/submit", headers=EHR, json={})
    assert response.status_code == 202, response.text
    queued = response.json()
    assert (queued["kind"], queued["status"], queued["created_by"]) == (
        "claims.submit", "queued", ACTOR)
    assert response.headers["location"] == f"/v1/jobs/{queued['id']}"
    job = finished(client, response.headers["location"])
    assert job["status"] == "succeeded" and job["error"] is None
    [sent] = job["result"]["files"]
    assert (sent["payer_key"], sent["claims"], sent["status"]) == ("linepay", 1, "sent")
    assert len(line_plugin.channel.submitted) == 1
    history = client.get(f"/v1/claims/{created['id']}/history", headers=EHR).json()
    assert [(t["source"], t["target"], t["actor"]) for t in history["transitions"]] == [
        ("draft", "validated", ACTOR), ("validated", "queued", ACTOR),
        ("queued", "submitted", ACTOR)]
    assert [e.actor for e in events(medbill_app, "submission.sent")] == [ACTOR]
    # nothing validated is left: an empty job
    again = client.post("/v1/claims/submit", headers=EHR, json={})
    assert finished(client, again.headers["location"])["result"] == {"files": [], "held": []}


def test_a_submit_job_sends_the_rest_when_one_claim_cannot_be_encoded(
        client: TestClient, patient: dict[str, int], line_plugin: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    good, bad = (create(client, claim_body(patient, number)) for number in ("GOOD1", "BAD1"))
    for claim in (good, bad):
        assert client.post(f"/v1/claims/{claim['id']}/scrub", headers=EHR).json()["clean"]
    monkeypatch.setattr(line_plugin.adapter, "unencodable", frozenset({"BAD1"}))
    job = finished(client, client.post("/v1/claims/submit", headers=EHR,
                                       json={}).headers["location"])
    assert job["status"] == "succeeded" and job["error"] is None
    [sent] = job["result"]["files"]
    assert (sent["claims"], sent["status"]) == (1, "sent")
    assert job["result"]["held"] == [{
        "claim_id": bad["id"], "claim_number": "BAD1", "payer_key": "linepay",
        "reason": "line 2: a value with the separator '|'"}]
    assert [client.get(f"/v1/claims/{claim['id']}", headers=EHR).json()["state"]
            for claim in (good, bad)] == ["submitted", "draft"]
    history = client.get(f"/v1/claims/{bad['id']}/history", headers=EHR).json()
    assert history["transitions"][-1]["reason"] == (
        "not sent, the payer's file cannot carry it: line 2: a value with the separator '|'")


def paid_claim(medbill_app: Medbill, claim_id: int) -> None:
    with medbill_app.unit_of_work() as work:
        for target in (S.VALIDATED, S.SUBMITTED, S.ACCEPTED):
            work.claims.transition(claim_id, target)
        work.claims.record_payer_claim_number(claim_id, "PCN123")
        work.claims.transition(claim_id, S.PAID)


def test_void_and_correct_follow_the_claims_rules(
        client: TestClient, patient: dict[str, int], medbill_app: Medbill) -> None:
    draft = create(client, claim_body(patient, "DRAFT1"))
    problem = assert_problem(client.post(f"/v1/claims/{draft['id']}/void", headers=MANAGER,
                                         json={"reason": "duplicate"}), 409, "claim-state")
    assert "draft: never sent" in problem["detail"]

    paid = create(client, claim_body(patient, "PAID1"))
    paid_claim(medbill_app, paid["id"])
    voided = client.post(f"/v1/claims/{paid['id']}/void", headers=MANAGER,
                         json={"reason": "billed in error"})
    assert voided.status_code == 200, voided.text
    assert (voided.json()["frequency"], voided.json()["claim_number"],
            voided.json()["original_claim_reference"]) == ("8", "PAID1-V1", "PCN123")
    assert client.get(f"/v1/claims/{paid['id']}", headers=EHR).json()["state"] == "voided"
    # the paid claim is voided now: a second void, or a correction, names that state
    problem = assert_problem(client.post(f"/v1/claims/{paid['id']}/void", headers=MANAGER,
                                         json={"reason": "again"}), 409, "claim-state")
    assert "already voided" in problem["detail"]
    problem = assert_problem(client.post(f"/v1/claims/{paid['id']}/correct", headers=EHR,
                                         json={"reason": "x", "changes": {}}), 409,
                             "illegal-transition")
    assert "'voided'" in problem["detail"]

    other = create(client, claim_body(patient, "PAID2"))
    paid_claim(medbill_app, other["id"])
    line = {**other["lines"][0], "charge": "150.00"}
    corrected = client.post(f"/v1/claims/{other['id']}/correct", headers=EHR,
                            json={"reason": "charge", "changes": {"lines": [line]}})
    assert corrected.status_code == 201, corrected.text
    replacement = corrected.json()
    assert corrected.headers["location"] == f"/v1/claims/{replacement['id']}"
    assert (replacement["frequency"], replacement["replaces_claim_id"],
            replacement["lines"][0]["charge"]) == ("7", other["id"], "150.00")
    history = client.get(f"/v1/claims/{other['id']}/history", headers=EHR).json()
    assert history["transitions"][-1]["target"] == "replaced"
    assert client.get("/v1/claims/999/history", headers=EHR).status_code == 404


def test_a_blank_reason_to_void_or_correct_is_422_and_changes_nothing(
        client: TestClient, patient: dict[str, int], medbill_app: Medbill) -> None:
    """The body's schema takes any text of one character or more: the claims service refuses
    a blank reason (only spaces) as the command line does."""
    paid = create(client, claim_body(patient, "PAID1"))
    paid_claim(medbill_app, paid["id"])
    for action, body, words in (
            ("void", {"reason": "   "}, "say why the claim is voided"),
            ("correct", {"reason": " ", "changes": {}}, "say what the replacement corrects")):
        problem = assert_problem(client.post(f"/v1/claims/{paid['id']}/{action}",
                                             headers=MANAGER, json=body),
                                 422, "validation-failed")
        assert problem["detail"] == f"claim {paid['id']}: reason: required: {words}"
        assert [e["field"] for e in problem["errors"]] == ["reason"]
    assert client.get(f"/v1/claims/{paid['id']}", headers=EHR).json()["state"] == "paid"


def test_submit_refuses_a_draft_and_an_unknown_or_impossible_id(
        client: TestClient, patient: dict[str, int], line_plugin: Any) -> None:
    draft = create(client, claim_body(patient))
    problem = assert_problem(client.post("/v1/claims/submit", headers=EHR,
                                         json={"claim_ids": [draft["id"]]}), 409, "claim-state")
    assert "draft: only validated claims are submitted" in problem["detail"]
    assert_problem(client.post("/v1/claims/submit", headers=EHR, json={"claim_ids": [999]}),
                   404, "not-found")
    for huge in ({"claim_ids": [2**40]}, {**claim_body(patient), "coverage_id": 2**40}):
        url = "/v1/claims/submit" if "claim_ids" in huge else "/v1/claims"
        problem = assert_problem(client.post(url, headers=EHR, json=huge), 422,
                                 "validation-failed")
        assert problem["errors"][0]["field"] in ("body.claim_ids[0]", "body.coverage_id")
    assert line_plugin.channel.submitted == {}
