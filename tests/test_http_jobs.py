"""Jobs over HTTP, on SQLite and PostgreSQL: a statement run (and a submission: see
test_http_claims) answers 202 with a queued job that a background thread runs for the caller;
the job is polled until it succeeded or failed (one safe line, never PHI); jobs a stopped
server left behind are marked failed ("interrupted") when the next one starts; and the
eligibility-check and estimate routes answer what the services compute."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from inproc_plugins import line_practice_config, make_line_plugin
from test_http_api import (
    EHR,
    EHR_KEY,
    OTHER,
    PHI_NAME,
    PRINCIPALS,
    assert_problem,
    fake_authenticate,
)

from medbill_core import audit
from medbill_core.app import Medbill
from medbill_core.config import MedbillConfig
from medbill_core.domain import ClaimState
from medbill_core.errors import MedbillError
from medbill_core.http import create_app
from medbill_core.http.resources.jobs import job_runner, stop_jobs
from medbill_core.services import jobs
from medbill_core.services.submission import submit
from medbill_core.storage.schema import JobRow, JobStatus
from medbill_core.testing import factories

ACTOR = "key:ehr-sync"


def finished(client: TestClient, location: str, timeout: float = 30.0) -> dict[str, Any]:
    """The job at ``location`` once it succeeded or failed (polled as a client would)."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(location, headers=EHR)
        assert response.status_code == 200, response.text
        job: dict[str, Any] = response.json()
        if job["status"] in ("succeeded", "failed"):
            return job
        assert time.monotonic() < deadline, f"job still {job['status']}"
        time.sleep(0.02)


@pytest.fixture
def medbill_config(medbill_db_url: str) -> MedbillConfig:
    return line_practice_config(medbill_db_url)


@pytest.fixture
def medbill_extra_plugins() -> list[tuple[str, Any]]:
    return [("lineplug", make_line_plugin())]


@pytest.fixture
def api(medbill_app: Medbill, tmp_path: Any) -> Iterator[tuple[TestClient, Any]]:
    app = create_app(medbill_app, authenticate=fake_authenticate)
    app.state.statements_dir = tmp_path / "statements"
    try:
        with TestClient(app) as client:
            yield client, app
    finally:
        stop_jobs(app)


@pytest.fixture
def client(api: tuple[TestClient, Any]) -> TestClient:
    return api[0]


@pytest.fixture
def patient(medbill_app: Medbill) -> dict[str, int]:
    with medbill_app.unit_of_work() as work:
        work.patients.register_provider(factories.make_provider())
        stored = work.patients.register(factories.make_patient(1, last_name=PHI_NAME))
        coverage = work.patients.add_coverage(stored.id, factories.make_coverage(
            payer_key="linepay"))
    return {"patient_id": stored.id, "coverage_id": coverage.id}


def test_a_statement_run_is_a_job_run_for_the_caller(
        client: TestClient, medbill_app: Medbill, patient: dict[str, int],
        tmp_path: Any) -> None:
    with medbill_app.unit_of_work() as work:  # a self-pay visit: the patient owes it all
        claim = work.claims.create(factories.make_claim(
            patient["patient_id"], coverage_id=None, number="SELF1"))
        work.claims.transition(claim.id, ClaimState.VALIDATED)
    submit(medbill_app)  # a self-pay claim moves to the patient's balance
    body = {"cycle": "2026-11", "renderer": "text", "min_balance": "5.00"}
    response = client.post("/v1/statement-runs", headers={**EHR, "Idempotency-Key": "run-1"},
                           json=body)
    assert response.status_code == 202, response.text
    assert response.json()["kind"] == "statements.run"
    job = finished(client, response.headers["location"])
    assert job["status"] == "succeeded", job
    assert job["result"] == {"cycle": "2026-11", "produced": 1, "already_done": 0,
                             "skipped": {}}
    [rendered] = (tmp_path / "statements").iterdir()
    assert rendered.name.startswith("statement-2026-11-") and rendered.suffix == ".txt"
    # the statement was recorded as the caller's, and the job's rows name the caller
    with medbill_app.unit_of_work(read_only=True) as work:
        produced = list(audit.query(work.session, action="statement.produce"))
        finished_events = list(audit.query(work.session, action="job.succeeded"))
    assert {event.actor for event in produced} <= {ACTOR}
    assert [event.actor for event in finished_events] == [ACTOR]
    # the same key and body: the first answer again (the queued job), no second run
    again = client.post("/v1/statement-runs", headers={**EHR, "Idempotency-Key": "run-1"},
                        json=body)
    assert again.status_code == 202 and again.json() == response.json()
    assert again.headers["location"] == response.headers["location"]
    listed = client.get("/v1/jobs", headers=EHR).json()
    assert [j["id"] for j in listed["data"]] == [job["id"]]
    assert listed["next_cursor"] is None


def test_a_statement_run_with_a_bad_option_is_refused_before_any_job(
        client: TestClient) -> None:
    for body, field in (({"cycle": "2026-11", "min_balance": "0"}, "body.min_balance"),
                        ({"cycle": "../etc"}, "body.cycle"),
                        ({"cycle": "2026-11", "min_balance": "1e3"}, "body.min_balance")):
        problem = assert_problem(client.post("/v1/statement-runs", headers=EHR, json=body),
                                 422, "validation-failed")
        assert [e["field"] for e in problem["errors"]] == [field]
    problem = assert_problem(client.post("/v1/statement-runs", headers=EHR, json={
        "cycle": "2026-12e", "renderer": "nope"}), 422, "validation-failed")
    assert [(e["field"], e["message"]) for e in problem["errors"]] == [(
        "body.renderer", "no enabled plugin provides a statement renderer of that name "
                         "(available: text)")]
    assert client.get("/v1/jobs", headers=EHR).json()["data"] == []
    # a front-desk user may not run statements (nor submit claims)
    assert_problem(client.post("/v1/statement-runs", headers=OTHER, json={"cycle": "x"}),
                   403, "permission-denied")
    assert_problem(client.post("/v1/claims/submit", headers=OTHER, json={}),
                   403, "permission-denied")


def _run_until_done(app: Any, medbill: Medbill, run: Any) -> dict[str, Any]:
    principal = PRINCIPALS[EHR_KEY]
    with medbill.unit_of_work(principal=principal) as work:
        job = jobs.create_job(work, "statements.run", {"cycle": "x"})
    runner = job_runner(app)
    runner.launch(job.id, principal, run, {})
    assert runner.wait_idle()
    with medbill.unit_of_work(read_only=True) as work:
        return jobs.get_job(work, job.id).as_json()


def test_a_failing_job_records_one_safe_line_and_never_the_exception_text(
        api: tuple[TestClient, Any], medbill_app: Medbill,
        caplog: pytest.LogCaptureFixture) -> None:
    client, app = api

    def refused(medbill: Medbill, params: Mapping[str, Any]) -> dict[str, Any]:
        raise MedbillError("renderer 'fax' is not enabled\nsecond line")

    def broken(medbill: Medbill, params: Mapping[str, Any]) -> dict[str, Any]:
        raise RuntimeError(f"patient {PHI_NAME} broke it")

    job = _run_until_done(app, medbill_app, refused)
    assert (job["status"], job["error"]) == ("failed", "renderer 'fax' is not enabled")
    assert job["started_at"] and job["finished_at"] and job["result"] is None
    with caplog.at_level(logging.DEBUG):
        job = _run_until_done(app, medbill_app, broken)
    assert job["status"] == "failed"
    assert job["error"].startswith("the job failed on the server (error_id ")
    read = client.get(f"/v1/jobs/{job['id']}", headers=EHR).json()
    assert read["error"] == job["error"] and PHI_NAME not in str(read)
    assert PHI_NAME not in caplog.text and "RuntimeError" in caplog.text
    # the job acted for its principal: its audit events name the caller
    with medbill_app.unit_of_work(read_only=True) as work:
        failed = list(audit.query(work.session, action="job.failed"))
    assert [event.actor for event in failed] == [ACTOR, ACTOR]
    assert_problem(client.get("/v1/jobs/999", headers=EHR), 404, "not-found")
    listed = client.get("/v1/jobs?status=failed&limit=1", headers=EHR).json()
    assert len(listed["data"]) == 1 and listed["next_cursor"]
    second = client.get(f"/v1/jobs?status=failed&limit=1&cursor={listed['next_cursor']}",
                        headers=EHR).json()
    assert [j["id"] for j in second["data"]] == [job["id"]] and second["next_cursor"] is None


def test_jobs_a_stopped_server_left_are_marked_interrupted_not_run_again(
        medbill_app: Medbill) -> None:
    with medbill_app.unit_of_work() as work:
        for status in (JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.SUCCEEDED):
            work.session.add(JobRow(kind="claims.submit", status=status.value,
                                    created_by=ACTOR, practice_id=1, params={}))
    assert jobs.mark_interrupted(medbill_app) == 2
    with medbill_app.unit_of_work(read_only=True) as work:
        listed = jobs.list_jobs(work)
    assert [(job.status.value, job.error) for job in listed] == [
        ("failed", jobs.INTERRUPTED), ("failed", jobs.INTERRUPTED), ("succeeded", None)]
    assert jobs.mark_interrupted(medbill_app) == 0


def test_a_full_server_answers_503_and_a_stopped_one_interrupts_what_it_held(
        api: tuple[TestClient, Any], medbill_app: Medbill) -> None:
    client, app = api
    runner = job_runner(app)
    runner.max_pending = 0
    problem = assert_problem(client.post("/v1/statement-runs", headers=EHR,
                                         json={"cycle": "2026-11", "renderer": "text"}),
                             503, "server-busy")
    assert problem["detail"].startswith("the server is running as many jobs")
    assert client.get("/v1/jobs", headers=EHR).json()["data"] == []
    stop_jobs(app)
    principal = PRINCIPALS[EHR_KEY]
    with medbill_app.unit_of_work(principal=principal) as work:
        job = jobs.create_job(work, "claims.submit")
    runner.launch(job.id, principal, lambda medbill, params: {}, {})
    with medbill_app.unit_of_work(read_only=True) as work:
        assert jobs.get_job(work, job.id).error == jobs.INTERRUPTED


def test_an_eligibility_check_answers_the_payers_271(
        client: TestClient, patient: dict[str, int], medbill_app: Medbill) -> None:
    today = date.today().isoformat()
    response = client.post("/v1/eligibility-checks", headers=EHR, json={
        "patient_id": patient["patient_id"], "date_of_service": today})
    assert response.status_code == 200, response.text
    assert response.json() == {
        "patient_id": patient["patient_id"], "coverage_id": patient["coverage_id"],
        "payer": "linepay", "date_of_service": today, "status": "active", "plan": None,
        "rejected": False, "issues": [],
        "summary": {"copay": None, "coinsurance": None, "deductible": None,
                    "deductible_remaining": None, "out_of_pocket": None,
                    "out_of_pocket_remaining": None}}
    with medbill_app.unit_of_work(read_only=True) as work:
        [event] = list(audit.query(work.session, action="eligibility.check"))
    assert event.actor == ACTOR
    assert_problem(client.post("/v1/eligibility-checks", headers=EHR,
                               json={"patient_id": 999}), 404, "not-found")
    problem = assert_problem(client.post("/v1/eligibility-checks", headers=EHR, json={
        "patient_id": patient["patient_id"], "coverage_id": 999}), 422, "validation-failed")
    assert [e["field"] for e in problem["errors"]] == ["body.coverage_id"]
    problem = assert_problem(client.post("/v1/eligibility-checks", headers=EHR, json={
        "patient_id": patient["patient_id"], "date_of_service": "1990-01-01"}), 422,
        "validation-failed")
    assert [e["field"] for e in problem["errors"]] == ["body.date_of_service"]
    with medbill_app.unit_of_work(read_only=True) as work:
        account = work.patients.get(patient["patient_id"]).account_number
    assert account not in problem["detail"] and PHI_NAME not in str(problem)


def test_an_estimate_prices_the_planned_services(
        client: TestClient, patient: dict[str, int]) -> None:
    response = client.post("/v1/estimates", headers=EHR, json={
        "patient_id": patient["patient_id"], "check_eligibility": False,
        "services": [{"procedure_code": "99213", "charge": "125.00"},
                     {"procedure_code": "36415", "units": "2", "charge": "37.00"}]})
    assert response.status_code == 200, response.text
    estimate = response.json()
    assert "patient" not in estimate and "practice" not in estimate
    assert estimate["total_charge"] == "162.00"
    assert [s["procedure_code"] for s in estimate["services"]] == ["99213", "36415"]
    assert estimate["estimate_number"].startswith(f"GFE-P{patient['patient_id']:07d}-")
    problem = assert_problem(client.post("/v1/estimates", headers=EHR, json={
        "patient_id": patient["patient_id"],
        "services": [{"procedure_code": "99213", "charge": "-1"}]}), 422,
        "validation-failed")
    assert [e["field"] for e in problem["errors"]] == ["body.services[0].charge"]
    for units in ("\u0661", "\uff12", "1e1", "1E1"):  # as claims import reads units
        problem = assert_problem(client.post("/v1/estimates", headers=EHR, json={
            "patient_id": patient["patient_id"], "check_eligibility": False,
            "services": [{"procedure_code": "36415", "units": units, "charge": "37.00"}]}),
            422, "validation-failed")
        assert [(e["field"], e["message"]) for e in problem["errors"]] == [(
            "body.services[0].units", "not a number: write ASCII digits, e.g. 12 or 12.5")]
    assert_problem(client.post("/v1/estimates", headers=EHR, json={
        "patient_id": 999, "services": [{"procedure_code": "99213", "charge": "1.00"}]}),
        404, "not-found")


def test_an_upload_that_is_not_an_x12_response_is_refused_and_nothing_is_stored(
        client: TestClient) -> None:
    url, x12 = "/v1/inbound-documents", {**EHR, "Content-Type": "application/edi-x12"}
    assert_problem(client.post(url, headers={**EHR, "Content-Type": "application/json"},
                               content=b"{}"), 415, "unsupported-media-type")
    problem = assert_problem(client.post(url, headers=x12, content=f"hello {PHI_NAME}"),
                             422, "validation-failed")
    assert PHI_NAME not in str(problem) and problem["errors"][0]["field"] == "body"
    assert_problem(client.post(url, headers=x12, content=b"\xff\xfe"), 422,
                   "validation-failed")
    claim_file = "ST*837*0001*005010X222A1~BHT*0019*00*1*20261201*1200*CH~SE*3*0001~"
    problem = assert_problem(client.post(url, headers=x12, content=claim_file), 422,
                             "validation-failed")
    assert "837 is not a response" in problem["detail"]
    # an X12 response no enabled plugin decodes: refused as undecodable, nothing applied
    ack = "ST*999*0001*005010X231A1~AK1*HC*1*005010X222A1~AK9*A*1*1*1~SE*4*0001~"
    problem = assert_problem(client.post(url, headers=x12, content=ack), 422,
                             "undecodable-document")
    listed = client.get(url, headers=EHR).json()["data"]
    assert [(d["kind"], d["status"]) for d in listed] == [("999", "undecodable")]
    assert_problem(client.get(f"{url}/999", headers=EHR), 404, "not-found")


def test_medbill_serve_marks_the_jobs_a_stopped_server_left_interrupted(
        tmp_path: Path, medbill_db_url: str) -> None:
    from cli_support import config_text, ok
    from test_http_serve import _free_port, _wait_until_up

    config = tmp_path / "medbill.toml"
    config.write_text(config_text(medbill_db_url), encoding="utf-8")
    ok(config, "db", "upgrade")
    app = Medbill.open(MedbillConfig(database_url=medbill_db_url), load_installed=False)
    try:
        with app.unit_of_work() as work:  # what a killed server leaves behind
            work.session.add(JobRow(kind="statements.run", status=JobStatus.RUNNING.value,
                                    created_by=ACTOR, practice_id=1, params={}))
        port = _free_port()
        medbill = Path(sys.executable).with_name("medbill")
        env = {name: value for name, value in os.environ.items()
               if not name.startswith("MEDBILL_")}
        server = subprocess.Popen([str(medbill), "--config", str(config), "serve", "--port",
                                   str(port)], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        try:
            _wait_until_up(f"http://127.0.0.1:{port}", server)
            with app.unit_of_work(read_only=True) as work:
                [job] = jobs.list_jobs(work)
            assert (job.status, job.error) == (JobStatus.FAILED, jobs.INTERRUPTED)
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.communicate()
    finally:
        app.close()


def test_an_estimate_of_an_unpriced_code_names_the_field_not_the_code(
        client: TestClient, patient: dict[str, int]) -> None:
    problem = assert_problem(client.post("/v1/estimates", headers=EHR, json={
        "patient_id": patient["patient_id"], "check_eligibility": False,
        "services": [{"procedure_code": "99213", "charge": "1.00"},
                     {"procedure_code": "00000"}]}), 422, "validation-failed")
    assert [e["field"] for e in problem["errors"]] == ["body.services[1].charge"]
    assert "00000" not in str(problem)
    assert problem["errors"][0]["message"].startswith("none given and the charge master has "
                                                      "no price for it on ")
