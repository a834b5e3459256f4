"""Appeals (list, read, open for a denied claim, move on), guarantors (list and read audited,
create, edit), practices (the caller's one), coverage and provider edits over HTTP, on SQLite
and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from test_appeals import ago, denied_claim, new_claim
from test_http_accounts import AUDITOR, BILLER, FRONT, MANAGER, authenticate, events, walk
from test_http_api import PHI_NAME, assert_problem

from medbill_core.app import Medbill
from medbill_core.domain import Guarantor
from medbill_core.domain.base import saved_id
from medbill_core.domain.identity import Principal, PrincipalKind, Role
from medbill_core.http import create_app
from medbill_core.http.resources.appeals import AppealOut
from medbill_core.services.guarantors import GuarantorService
from medbill_core.services.identity import add_practice
from medbill_core.storage.schema import PracticeRow
from medbill_core.testing import factories

TODAY = date.today()


def _owner(practice_id: int | None) -> Principal:
    assert practice_id is not None
    return Principal(kind=PrincipalKind.USER, id=0, name="owner", practice_id=practice_id,
                     role=Role.ADMINISTRATOR, bootstrap=True)


@pytest.fixture
def client(medbill_app: Medbill) -> Iterator[TestClient]:
    with TestClient(create_app(medbill_app, authenticate=authenticate)) as test_client:
        yield test_client


def test_an_appeal_is_opened_for_a_denied_claim_and_moved_to_its_outcome(
        client: TestClient, medbill_app: Medbill) -> None:
    claim_id, number = denied_claim(medbill_app)
    accepted_id, _ = new_claim(medbill_app)
    body = {"claim_id": claim_id, "reason": f"{PHI_NAME}'s visit was medically necessary"}
    assert_problem(client.post("/v1/appeals", json=body, headers=FRONT), 403,
                   "permission-denied")
    opened = client.post("/v1/appeals", json=body,
                         headers={**BILLER, "Idempotency-Key": "appeal-1"})
    assert opened.status_code == 201, opened.text
    appeal = opened.json()
    assert opened.headers["location"] == f"/v1/appeals/{appeal['id']}"
    assert (appeal["claim_id"], appeal["claim_number"], appeal["level"], appeal["status"],
            appeal["denial_codes"], appeal["opened_by"]) == (
        claim_id, number, 1, "open", ["CO-50", "CO-16"], "key:k-biller")
    assert PHI_NAME not in opened.text  # the reason is kept, never shown back
    assert set(appeal) == set(AppealOut.model_fields)  # what the document says, exactly
    assert client.post("/v1/appeals", json=body,
                       headers={**BILLER, "Idempotency-Key": "appeal-1"}).json() == appeal
    problem = assert_problem(client.post("/v1/appeals", json=body, headers=BILLER), 422,
                             "validation-failed")
    assert problem["errors"][0]["field"] == "appeal"  # one in progress per claim
    problem = assert_problem(client.post("/v1/appeals", json={**body, "reason": "a\u0000b"},
                                         headers=BILLER), 422, "validation-failed")
    assert [item["field"] for item in problem["errors"]] == ["body.reason"]
    problem = assert_problem(client.post("/v1/appeals", json={**body, "claim_id": accepted_id},
                                         headers=BILLER), 422, "validation-failed")
    assert problem["errors"][0]["field"] == "state"
    assert_problem(client.post("/v1/appeals", json={**body, "claim_id": 99999},
                               headers=BILLER), 404, "not-found")
    assert client.get(f"/v1/appeals/{appeal['id']}", headers=AUDITOR).json() == appeal
    problem = assert_problem(client.patch(
        f"/v1/appeals/{appeal['id']}", json={"status": "sent", "confirm_date": True,
                                             "on": (TODAY - timedelta(days=2)).isoformat()},
        headers=BILLER), 422, "validation-failed")
    assert problem["errors"][0]["field"] == "on"  # before it was opened, even confirmed
    sent_on = TODAY.isoformat()
    sent = client.patch(f"/v1/appeals/{appeal['id']}", json={"status": "sent", "on": sent_on},
                        headers=BILLER)
    assert sent.status_code == 200, sent.text
    assert (sent.json()["status"], sent.json()["sent_on"]) == ("sent", sent_on)
    problem = assert_problem(client.patch(f"/v1/appeals/{appeal['id']}",
                                          json={"status": "won"}, headers=BILLER), 422,
                             "validation-failed")
    assert problem["errors"][0]["field"] == "body.note"
    won = client.patch(f"/v1/appeals/{appeal['id']}",
                       json={"status": "won", "note": "overturned"}, headers=MANAGER)
    assert (won.json()["status"], won.json()["decided_on"]) == ("won", TODAY.isoformat())
    problem = assert_problem(client.patch(f"/v1/appeals/{appeal['id']}",
                                          json={"status": "withdrawn"}, headers=BILLER),
                             422, "validation-failed")
    assert problem["errors"][0]["field"] == "status"
    assert_problem(client.patch("/v1/appeals/99999", json={"status": "sent"}, headers=BILLER),
                   404, "not-found")
    assert_problem(client.get("/v1/appeals", headers=FRONT), 403, "permission-denied")


def test_an_outcome_is_not_dated_before_the_appeal_was_sent(
        client: TestClient, medbill_app: Medbill) -> None:
    claim_id, _ = denied_claim(medbill_app)
    appeal = client.post("/v1/appeals", json={"claim_id": claim_id, "reason": "x"},
                         headers=BILLER).json()
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    sent = client.patch(f"/v1/appeals/{appeal['id']}", headers=BILLER,
                        json={"status": "sent", "on": tomorrow, "confirm_date": True})
    assert sent.json()["sent_on"] == tomorrow
    problem = assert_problem(client.patch(f"/v1/appeals/{appeal['id']}", headers=BILLER,
                                          json={"status": "lost", "note": "no"}),
                             422, "validation-failed")
    assert [(item["field"], item["message"]) for item in problem["errors"]] == [(
        "decided_on", f"would be {TODAY.isoformat()} (today), before the appeal was sent "
                      f"({tomorrow}); a decision cannot be dated before the appeal was sent")]
    still = client.get(f"/v1/appeals/{appeal['id']}", headers=AUDITOR).json()
    assert (still["status"], still["decided_on"]) == ("sent", None)


def test_the_appeal_list_pages_and_filters_by_status_and_deadline(
        client: TestClient, medbill_app: Medbill) -> None:
    made = []
    for days in (100, 30, 5):  # denied that long ago: the deadline follows
        claim_id, _ = denied_claim(medbill_app, on=ago(days))
        response = client.post("/v1/appeals", json={"claim_id": claim_id, "reason": "x"},
                               headers=BILLER)
        assert response.status_code == 201, response.text
        made.append(response.json())
    assert walk(client, "/v1/appeals?limit=2", AUDITOR) == ([a["id"] for a in made], 2)
    assert client.patch(f"/v1/appeals/{made[1]['id']}", json={"status": "withdrawn"},
                        headers=BILLER).status_code == 200
    assert walk(client, "/v1/appeals?status=open", AUDITOR)[0] == [made[0]["id"],
                                                                   made[2]["id"]]
    cut = made[1]["deadline"]
    assert walk(client, f"/v1/appeals?deadline_before={cut}", AUDITOR)[0] == [made[0]["id"]]
    assert_problem(client.get("/v1/appeals?status=lostish", headers=AUDITOR), 422,
                   "validation-failed")


def test_guarantors_are_created_edited_and_every_read_audited(
        client: TestClient, medbill_app: Medbill) -> None:
    body = {"last_name": PHI_NAME, "first_name": "Ada", "birth_date": "1970-05-01",
            "address": {"line1": "1 Main St", "city": "Springfield", "state": "IL",
                        "postal_code": "62701"}}
    made = client.post("/v1/guarantors", json=body, headers={**FRONT, "Idempotency-Key": "g1"})
    assert made.status_code == 201, made.text
    guarantor = made.json()
    assert made.headers["location"] == f"/v1/guarantors/{guarantor['id']}"
    assert (guarantor["last_name"], guarantor["address"]["city"]) == (PHI_NAME, "Springfield")
    other = client.post("/v1/guarantors", json={"last_name": "Okafor", "first_name": "Bo"},
                        headers=FRONT).json()
    problem = assert_problem(client.post("/v1/guarantors", json={**body, "first_name": ""},
                                         headers=FRONT), 422, "validation-failed")
    assert [item["field"] for item in problem["errors"]] == ["body.first_name"]
    assert PHI_NAME not in str(problem)
    read = client.get(f"/v1/guarantors/{guarantor['id']}", headers=AUDITOR)
    assert read.json() == guarantor
    [event] = events(medbill_app, "guarantor.read")
    assert (event.actor, event.entity_id, event.details["via"]) == (
        "key:k-auditor", str(guarantor["id"]), "api")
    assert walk(client, "/v1/guarantors?limit=1", AUDITOR) == (
        [guarantor["id"], other["id"]], 2)
    assert [e.details["ids"] for e in reversed(events(medbill_app, "guarantor.list"))] == [
        [guarantor["id"]], [other["id"]]]
    assert walk(client, "/v1/guarantors?last_name=oka", AUDITOR)[0] == [other["id"]]
    edited = client.patch(f"/v1/guarantors/{guarantor['id']}",
                          json={"first_name": "Adah", "birth_date": None, "address": {
                              **body["address"], "city": "Peoria"}}, headers=BILLER)
    assert edited.status_code == 200, edited.text
    assert (edited.json()["first_name"], edited.json()["address"]["city"],
            edited.json()["address"]["line1"], edited.json()["birth_date"]) == (
        "Adah", "Peoria", "1 Main St", None)
    [update] = events(medbill_app, "guarantor.update")
    assert PHI_NAME not in str(update.details) and "Adah" not in str(update.details)
    problem = assert_problem(client.patch(f"/v1/guarantors/{guarantor['id']}",
                                          json={"last_name": None}, headers=BILLER),
                             422, "validation-failed")
    assert PHI_NAME not in str(problem)
    assert_problem(client.patch(f"/v1/guarantors/{guarantor['id']}",
                                json={"first_name": "X"}, headers=AUDITOR),
                   403, "permission-denied")
    assert_problem(client.get("/v1/guarantors/99999", headers=AUDITOR), 404, "not-found")
    assert_problem(client.patch("/v1/guarantors/99999", json={"first_name": "Y"},
                                headers=BILLER), 404, "not-found")


def test_practices_show_only_the_callers_own(client: TestClient, medbill_app: Medbill) -> None:
    with medbill_app.unit_of_work() as work:
        own = work.session.get(PracticeRow, 1)
        if own is None:
            own = PracticeRow(id=1, code="default", name="Default Clinic", active=True)
            work.session.add(own)
        other = PracticeRow(code="elsewhere", name="Elsewhere", active=True)
        work.session.add(other)
        work.session.flush()
        own_id, own_code, other_id = own.id, own.code, other.id
    listed = client.get("/v1/practices", headers=FRONT)
    assert listed.status_code == 200, listed.text
    assert [(p["id"], p["code"]) for p in listed.json()["data"]] == [(own_id, own_code)]
    assert listed.json()["next_cursor"] is None
    assert client.get(f"/v1/practices/{own_id}", headers=AUDITOR).json()["code"] == own_code
    assert_problem(client.get(f"/v1/practices/{other_id}", headers=FRONT), 404, "not-found")
    assert_problem(client.get("/v1/practices/99999", headers=FRONT), 404, "not-found")


def test_a_coverage_is_edited_through_its_patient(client: TestClient,
                                                  medbill_app: Medbill) -> None:
    with medbill_app.unit_of_work() as work:
        patient = work.patients.register(factories.make_patient(1))
        stranger = work.patients.register(factories.make_patient(2))
        coverage = work.patients.add_coverage(patient.id, factories.make_coverage())
        second = work.patients.add_coverage(patient.id, factories.make_coverage(
            order="S", member_id="SEC12345"))
    path = f"/v1/patients/{patient.id}/coverages/{coverage.id}"
    edited = client.patch(path, json={"plan_name": "Acme Gold", "group_number": None},
                          headers=FRONT)
    assert edited.status_code == 200, edited.text
    assert (edited.json()["plan_name"], edited.json()["group_number"],
            edited.json()["member_id"]) == ("Acme Gold", None, coverage.member_id)
    [update] = events(medbill_app, "coverage.update")
    assert update.actor == "key:k-front_desk"
    problem = assert_problem(client.patch(path, json={"order": "S"}, headers=FRONT), 422,
                             "validation-failed")
    assert problem["errors"][0]["field"] == "order"  # the patient's other coverage has it
    assert_problem(client.patch(path, json={"payer_key": "nobody"}, headers=FRONT), 422,
                   "validation-failed")
    assert_problem(client.patch(path, json={"plan_name": "X"}, headers=AUDITOR), 403,
                   "permission-denied")
    assert_problem(client.patch(f"/v1/patients/{stranger.id}/coverages/{coverage.id}",
                                json={"plan_name": "X"}, headers=FRONT), 404, "not-found")
    assert_problem(client.patch(f"/v1/patients/{patient.id}/coverages/99999",
                                json={"plan_name": "X"}, headers=FRONT), 404, "not-found")
    assert second.id is not None


def test_a_provider_is_edited_and_its_npi_stays_its_own(client: TestClient,
                                                       medbill_app: Medbill) -> None:
    with medbill_app.unit_of_work() as work:
        first = work.patients.register_provider(factories.make_provider())
        other = work.patients.register_provider(factories.make_provider(
            npi="1245319599", last_name="Okoye"))
    edited = client.patch(f"/v1/providers/{first.id}",
                          json={"last_name": "Carter-Lee", "taxonomy": None}, headers=MANAGER)
    assert edited.status_code == 200, edited.text
    assert (edited.json()["last_name"], edited.json()["npi"], edited.json()["taxonomy"]) == (
        "Carter-Lee", first.npi, None)
    [update] = events(medbill_app, "provider.update")
    assert (update.actor, update.entity_id) == ("key:k-billing_manager", str(first.id))
    problem = assert_problem(client.patch(f"/v1/providers/{first.id}",
                                          json={"npi": other.npi}, headers=MANAGER),
                             422, "validation-failed")
    assert problem["errors"][0]["field"] == "npi"
    assert_problem(client.patch(f"/v1/providers/{first.id}", json={"npi": "1234567890"},
                                headers=MANAGER), 422, "validation-failed")
    assert_problem(client.patch(f"/v1/providers/{first.id}", json={"last_name": "X"},
                                headers=BILLER), 403, "permission-denied")
    assert_problem(client.patch("/v1/providers/99999", json={"last_name": "X"},
                                headers=MANAGER), 404, "not-found")


def test_a_new_patient_is_linked_to_the_guarantor_it_names(client: TestClient,
                                                           medbill_app: Medbill) -> None:
    """``POST /v1/patients`` stored a ``guarantor_id`` nowhere: the patient is now linked (and
    shown with it); an unknown id, another practice's guarantor, a missing relationship or a
    "self" guarantor who is another person is a 422 naming the field, nothing stored."""
    from test_http_api import _patient_body

    parent = client.post("/v1/guarantors", json={
        "last_name": "Okafor", "first_name": "Chidi", "birth_date": "1971-05-05"},
        headers=FRONT).json()["id"]
    body = _patient_body(21, guarantor_id=parent, guarantor_relationship="parent")
    made = client.post("/v1/patients", json=body, headers=FRONT)
    assert made.status_code == 201, made.text
    patient = made.json()
    assert (patient["guarantor_id"], patient["guarantor_relationship"]) == (parent, "parent")
    read = client.get(f"/v1/patients/{patient['id']}", headers=AUDITOR).json()
    assert (read["guarantor_id"], read["guarantor_relationship"]) == (parent, "parent")
    [link] = events(medbill_app, "patient.guarantor")
    assert (link.actor, link.entity_id, link.details["guarantor_id"]) == (
        "key:k-front_desk", str(patient["id"]), parent)
    # re-registered without the guarantor fields: the link stays
    again = client.post("/v1/patients", json=_patient_body(21), headers=FRONT)
    assert again.status_code == 200, again.text
    assert again.json()["guarantor_id"] == parent
    first = medbill_app.default_practice_id()
    with medbill_app.unit_of_work() as work:
        elsewhere = add_practice(work, _owner(first), "elsewhere-g", "Elsewhere",
                                 details=medbill_app.config.practice.model_copy(
                                     update={"name": "Elsewhere"})).id
    with medbill_app.unit_of_work(principal=_owner(elsewhere)) as work:
        foreign = saved_id(GuarantorService(work.session, actor="t").add(Guarantor(
            last_name="Okafor", first_name="Ada")))
    for number, extra, field in (
            (22, {"guarantor_id": 99999, "guarantor_relationship": "parent"}, "guarantor_id"),
            (23, {"guarantor_id": foreign, "guarantor_relationship": "spouse"}, "guarantor_id"),
            (24, {"guarantor_id": 2**40, "guarantor_relationship": "other"}, "guarantor_id"),
            (25, {"guarantor_id": parent}, "guarantor_relationship"),
            (26, {"guarantor_relationship": "parent"}, "guarantor_id"),
            (27, {"guarantor_id": parent, "guarantor_relationship": "self"},
             "guarantor_relationship")):
        problem = assert_problem(client.post("/v1/patients", json=_patient_body(number, **extra),
                                             headers=FRONT), 422, "validation-failed")
        assert [item["field"] for item in problem["errors"]] == [field], problem
        assert PHI_NAME not in str(problem) and "Okafor" not in str(problem)
        with medbill_app.unit_of_work(read_only=True) as work:
            assert work.patients.search(account=f"A{number:05d}") == []
    # the patient's own guarantor record: "self" is right
    own = client.post("/v1/guarantors", json={
        "last_name": PHI_NAME, "first_name": "Jordan", "birth_date": "1980-01-29"},
        headers=FRONT).json()["id"]
    selfish = client.post("/v1/patients", json=_patient_body(
        28, guarantor_id=own, guarantor_relationship="self"), headers=FRONT)
    assert selfish.status_code == 201, selfish.text


def test_a_re_registered_patient_or_provider_keeps_the_fields_left_out(
        client: TestClient, medbill_app: Medbill) -> None:
    """Posting a known account number (or NPI) again with fewer fields blanked the others:
    only the fields sent change now, null clears one."""
    from test_http_api import _patient_body

    made = client.post("/v1/patients", json=_patient_body(31, email="a@example.org"),
                       headers=FRONT).json()
    assert made["phone"] and made["address"] and made["email"]
    body = {key: made[key] for key in ("account_number", "last_name", "first_name",
                                       "birth_date", "sex")}
    again = client.post("/v1/patients", json={**body, "first_name": "Jo", "email": None},
                        headers=FRONT)
    assert again.status_code == 200, again.text
    assert {key: again.json()[key] for key in ("first_name", "phone", "address", "email")} == {
        "first_name": "Jo", "phone": made["phone"], "address": made["address"], "email": None}
    [update] = events(medbill_app, "patient.update")
    assert update.details == {"fields": ["email", "first_name"]}
    provider = factories.make_provider(taxonomy="207Q00000X")
    first = client.post("/v1/providers", json=provider.model_dump(mode="json", exclude={"id"}),
                        headers=MANAGER).json()
    assert first["taxonomy"] == "207Q00000X" and first["first_name"]
    again = client.post("/v1/providers", json={"npi": provider.npi, "last_name": "Carter-Lee"},
                        headers=MANAGER)
    assert again.status_code == 200, again.text
    assert (again.json()["last_name"], again.json()["first_name"], again.json()["taxonomy"]) \
        == ("Carter-Lee", first["first_name"], "207Q00000X")
