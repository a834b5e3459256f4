"""Patients (the list, a read of PHI audited as one event naming the ids), their coverages
and providers over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient
from test_http_api import EHR, MANAGER, PHI_NAME, assert_problem, fake_authenticate

from medbill_core import audit
from medbill_core.app import Medbill
from medbill_core.http import create_app
from medbill_core.testing import factories

ACTOR = "key:ehr-sync"


@pytest.fixture
def client(medbill_app: Medbill) -> Iterator[TestClient]:
    with TestClient(create_app(medbill_app, authenticate=fake_authenticate)) as test_client:
        yield test_client


@pytest.fixture
def patients(medbill_app: Medbill) -> list[int]:
    """Seven patients: Rivera, Rivas, Riverside ... by number; the third one is Okafor."""
    names = ["Rivera", "Rivas", "Okafor", "riverside", "Rivera", "Smith", "Rivet"]
    with medbill_app.unit_of_work() as work:
        return [work.patients.register(factories.make_patient(number, last_name=name)).id
                for number, name in enumerate(names, start=1)]


def events(app: Medbill, action: str) -> list[audit.AuditEvent]:
    with app.unit_of_work(read_only=True) as work:
        return list(audit.query(work.session, action=action))


def walk(client: TestClient, query: str) -> tuple[list[int], int]:
    seen: list[int] = []
    cursor, pages = None, 0
    while True:
        response = client.get(f"/v1/patients?{query}" + (f"&cursor={cursor}" if cursor else ""),
                              headers=EHR)
        assert response.status_code == 200, response.text
        seen += [patient["id"] for patient in response.json()["data"]]
        pages += 1
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return seen, pages


def test_the_patient_list_pages_filters_and_audits_each_page_by_ids(
        client: TestClient, patients: list[int], medbill_app: Medbill) -> None:
    seen, pages = walk(client, "limit=3")
    assert seen == patients and pages == 3
    listed = events(medbill_app, "patient.list")
    assert [(event.actor, event.details["ids"]) for event in reversed(listed)] == [
        (ACTOR, patients[0:3]), (ACTOR, patients[3:6]), (ACTOR, patients[6:7])]
    assert all(event.details["via"] == "api" for event in listed)
    seen, _ = walk(client, "last_name=riv&limit=2")
    assert seen == [patients[n] for n in (0, 1, 3, 4, 6)]
    seen, _ = walk(client, "last_name=RIVER")
    assert seen == [patients[n] for n in (0, 3, 4)]
    first = client.get("/v1/patients?account_number=A00002", headers=EHR).json()
    assert [(p["id"], p["last_name"]) for p in first["data"]] == [(patients[1], "Rivas")]
    # a list that shows nobody read nobody's record: no event
    before = len(events(medbill_app, "patient.list"))
    assert client.get("/v1/patients?last_name=Zz", headers=EHR).json() == {
        "data": [], "next_cursor": None}
    assert len(events(medbill_app, "patient.list")) == before
    problem = assert_problem(client.get("/v1/patients?last_name=", headers=EHR), 422,
                             "validation-failed")
    assert problem["errors"][0]["field"] == "query.last_name"


def test_coverages_are_added_updated_listed_and_their_reads_audited(
        client: TestClient, patients: list[int], medbill_app: Medbill) -> None:
    patient_id = patients[0]
    body = factories.make_coverage(payer_key="acme").model_dump(mode="json", exclude_none=True)
    body.pop("patient_id", None)
    added = client.post(f"/v1/patients/{patient_id}/coverages", headers=EHR, json=body)
    assert added.status_code == 201, added.text
    coverage = added.json()
    assert (coverage["patient_id"], coverage["payer_key"], coverage["member_id"]) == (
        patient_id, "acme", "XYZ123456789")
    updated = client.post(f"/v1/patients/{patient_id}/coverages", headers=EHR,
                          json={**body, "plan_name": "Acme Gold"})
    assert updated.status_code == 200 and updated.json()["id"] == coverage["id"]
    listed = client.get(f"/v1/patients/{patient_id}/coverages", headers=EHR)
    assert listed.status_code == 200
    assert [(c["id"], c["plan_name"]) for c in listed.json()["data"]] == [
        (coverage["id"], "Acme Gold")]
    [read] = events(medbill_app, "patient.read")
    assert (read.actor, read.entity_id, read.details["via"]) == (ACTOR, str(patient_id),
                                                                 "api:coverages")
    assert [e.actor for e in events(medbill_app, "coverage.create")] == [ACTOR]
    assert_problem(client.get("/v1/patients/999/coverages", headers=EHR), 404, "not-found")
    assert_problem(client.post("/v1/patients/999/coverages", headers=EHR, json=body), 404,
                   "not-found")
    problem = assert_problem(client.post(f"/v1/patients/{patient_id}/coverages", headers=EHR,
                                         json={**body, "payer_key": "nobody"}), 422,
                             "unknown-payer")
    assert PHI_NAME not in problem["detail"] and "XYZ123456789" not in str(problem)
    assert problem["detail"] == ("the payer key is not a configured payer (GET /v1/payers "
                                 "lists them)")


def test_a_coverage_sent_again_keeps_the_fields_it_leaves_out(
        client: TestClient, patients: list[int], medbill_app: Medbill) -> None:
    """A re-post of a dependent's coverage with only its member id changed blanked the group
    number, plan name and dates, and turned it into the patient's own plan (relationship
    defaulted to self, subscriber dropped): fields left out now keep their stored values, as
    a patient's do; null still clears one."""
    patient_id = patients[0]
    url = f"/v1/patients/{patient_id}/coverages"
    body = factories.make_coverage(payer_key="acme", dependent=True, group_name="Acme Corp",
                                   start_date=date(2026, 1, 1), end_date=date(2026, 12, 31)
                                   ).model_dump(mode="json", exclude_none=True)
    body.pop("patient_id", None)
    added = client.post(url, headers=EHR, json=body)
    assert added.status_code == 201, added.text
    coverage = added.json()
    again = client.post(url, headers=EHR, json={"payer_key": "acme", "order": "P",
                                                "member_id": "NEW0001"})
    assert again.status_code == 200, again.text
    assert again.json() == {**coverage, "member_id": "NEW0001"}
    assert (again.json()["group_number"], again.json()["plan_name"], again.json()["group_name"],
            again.json()["relationship"], again.json()["subscriber"]["first_name"],
            again.json()["start_date"], again.json()["end_date"]) == (
        "GRP001", "Acme PPO", "Acme Corp", "19", "Alex", "2026-01-01", "2026-12-31")
    [stored] = client.get(url, headers=EHR).json()["data"]
    assert stored == again.json()
    # null clears an optional field; the order left out is the primary's
    cleared = client.post(url, headers=EHR, json={"payer_key": "acme", "group_number": None,
                                                  "member_id": "NEW0001"})
    assert cleared.status_code == 200, cleared.text
    assert (cleared.json()["id"], cleared.json()["group_number"],
            cleared.json()["plan_name"]) == (coverage["id"], None, "Acme PPO")
    # self (18) without a subscriber: the patient's own plan now, the subscriber goes
    own = client.post(url, headers=EHR, json={"payer_key": "acme", "member_id": "NEW0001",
                                              "relationship": "18"})
    assert own.status_code == 200, own.text
    assert (own.json()["relationship"], own.json()["subscriber"],
            own.json()["group_name"]) == ("18", None, "Acme Corp")
    changed = [event.details for event in events(medbill_app, "coverage.update")]
    assert [sorted(details["fields"]) for details in reversed(changed)] == [
        ["member_id"], ["group_number"], ["relationship_code", "subscriber"]]
    # a required field sent as null is still refused, naming it; nothing changes
    problem = assert_problem(client.post(url, headers=EHR, json={"payer_key": "acme",
                                                                 "member_id": None}),
                             422, "validation-failed")
    assert problem["errors"][0]["field"] == "body.member_id"
    assert client.get(url, headers=EHR).json()["data"] == [own.json()]


def test_providers_are_registered_by_npi_and_listed_in_pages(
        client: TestClient, medbill_app: Medbill) -> None:
    body = factories.make_provider().model_dump(mode="json", exclude_none=True)
    body.pop("id", None)
    first = client.post("/v1/providers", headers=MANAGER, json=body)
    assert first.status_code == 200, first.text
    again = client.post("/v1/providers", headers=MANAGER,
                        json={**body, "last_name": "Carter-Lee"})
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["last_name"] == "Carter-Lee"
    second = factories.make_provider(npi="1245319599", last_name="Okoye")
    body2 = second.model_dump(mode="json", exclude_none=True)
    body2.pop("id", None)
    assert client.post("/v1/providers", headers=MANAGER, json=body2).status_code == 200
    page1 = client.get("/v1/providers?limit=1", headers=EHR).json()
    assert [p["last_name"] for p in page1["data"]] == ["Carter-Lee"]
    page2 = client.get(f"/v1/providers?limit=1&cursor={page1['next_cursor']}",
                       headers=EHR).json()
    assert [p["npi"] for p in page2["data"]] == ["1245319599"]
    assert page2["next_cursor"] is None
    assert [e.actor for e in events(medbill_app, "provider.create")] == ["key:billing-office"] * 2
    problem = assert_problem(client.post("/v1/providers", headers=MANAGER,
                                         json={**body, "npi": "1234567890"}), 422,
                             "validation-failed")
    assert problem["errors"][0]["field"].startswith("body.npi")


def test_the_access_log_drops_the_query_string_a_patient_filter_is_in() -> None:
    import logging

    from medbill_core.cli.serve_cmd import PathWithoutQuery

    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1,
                               '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "GET", f"/v1/patients?last_name={PHI_NAME}",
                                "1.1", 200), None)
    assert PathWithoutQuery().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "GET /v1/patients HTTP/1.1" 200'
