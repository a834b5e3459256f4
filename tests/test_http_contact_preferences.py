"""Contact preferences over HTTP (``/v1/guarantors/{id}/contact-preference`` and
``/v1/patients/{id}/contact-preference``): what the CLI's ``notifications contact`` records,
with the same rules (consent named, a phone or an address on file), reads and changes
audited, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from test_http_accounts import AUDITOR, BILLER, FRONT, authenticate, events
from test_http_api import assert_problem

from medbill_core.app import Medbill
from medbill_core.domain import Guarantor, GuarantorRelationship
from medbill_core.http import create_app
from medbill_core.http.resources.contact_preferences import ContactPreferenceOut
from medbill_core.services.guarantors import GuarantorService
from medbill_core.testing import factories


@pytest.fixture
def client(medbill_app: Medbill) -> Iterator[TestClient]:
    with TestClient(create_app(medbill_app, authenticate=authenticate)) as test_client:
        yield test_client


def people(app: Medbill) -> dict[str, int]:
    """A guarantor with a phone and no e-mail, the child it pays for, and a patient paying
    their own bills with an e-mail address."""
    with app.unit_of_work() as work:
        service = GuarantorService(work.session, actor=work.actor)
        guarantor = service.add(Guarantor(last_name="Okafor", first_name="Bo",
                                          phone="555-201-7788"))
        child = work.patients.register(factories.make_patient(1))
        assert guarantor.id and child.id
        service.assign(child.id, guarantor.id, GuarantorRelationship.PARENT)
        adult = work.patients.register(factories.make_patient(2).model_copy(update={
            "email": "pat@example.org"}))
    assert guarantor.id and child.id and adult.id
    return {"guarantor": guarantor.id, "child": child.id, "adult": adult.id}


def test_a_guarantors_preference_is_recorded_with_its_consent_and_read_back(
        client: TestClient, medbill_app: Medbill) -> None:
    ids = people(medbill_app)
    url = f"/v1/guarantors/{ids['guarantor']}/contact-preference"
    never = client.get(url, headers=AUDITOR)
    assert never.status_code == 200, never.text
    assert never.json() == {"account": f"G{ids['guarantor']}", "channel": "none",
                            "consent": None, "consented_at": None, "recorded_by": None,
                            "recorded": False}
    problem = assert_problem(client.put(url, json={"channel": "sms"}, headers=FRONT), 422,
                             "validation-failed")
    assert [item["field"] for item in problem["errors"]] == ["consent"]
    problem = assert_problem(client.put(url, json={"channel": "email", "consent": "signed"},
                                        headers=FRONT), 422, "validation-failed")
    assert problem["errors"][0]["message"] == "email: no e-mail address on file"
    set_ = client.put(url, json={"channel": "sms", "consent": "verbal, at check-in"},
                      headers=FRONT)
    assert set_.status_code == 200, set_.text
    answer: dict[str, Any] = set_.json()
    assert set(answer) == set(ContactPreferenceOut.model_fields)
    assert (answer["channel"], answer["consent"], answer["recorded_by"], answer["recorded"]) \
        == ("sms", "verbal, at check-in", "key:k-front_desk", True)
    assert answer["consented_at"]
    assert client.get(url, headers=AUDITOR).json() == answer
    [change] = events(medbill_app, "contact_preference.set")
    assert (change.actor, change.entity_id, change.details) == (
        "key:k-front_desk", f"G{ids['guarantor']}", {"before": None, "after": "sms"})
    reads = events(medbill_app, "contact_preference.read")
    assert [(e.actor, e.details["via"]) for e in reads] == [("key:k-auditor", "api")] * 2
    off = client.put(url, json={"channel": "none"}, headers=BILLER).json()
    assert (off["channel"], off["consent"], off["consented_at"]) == ("none", None, None)


def test_a_patient_is_reached_through_the_guarantor_who_pays(
        client: TestClient, medbill_app: Medbill) -> None:
    ids = people(medbill_app)
    adult = f"/v1/patients/{ids['adult']}/contact-preference"
    made = client.put(adult, json={"channel": "email", "consent": "patient portal form"},
                      headers=BILLER)
    assert (made.status_code, made.json()["account"], made.json()["channel"]) == (
        200, f"P{ids['adult']}", "email")
    child = f"/v1/patients/{ids['child']}/contact-preference"
    for answer in (client.get(child, headers=AUDITOR),
                   client.put(child, json={"channel": "none"}, headers=BILLER)):
        problem = assert_problem(answer, 422, "validation-failed")
        assert f"set the preference for G{ids['guarantor']}" in problem["errors"][0]["message"]


@pytest.mark.parametrize(("body", "field"), [
    ({"channel": "fax", "consent": "x"}, "body.channel"),
    ({"channel": "sms", "consent": "line\nbreak"}, "body.consent"),
    ({"channel": "sms", "consent": "x" * 201}, "body.consent"),
    ({"channel": "sms", "consent": "x", "phone": "1"}, "body.phone"),
])
def test_a_wrong_body_is_a_problem_naming_its_field(client: TestClient, medbill_app: Medbill,
                                                   body: dict[str, Any], field: str) -> None:
    ids = people(medbill_app)
    problem = assert_problem(client.put(f"/v1/guarantors/{ids['guarantor']}/contact-preference",
                                        json=body, headers=BILLER), 422, "validation-failed")
    assert [item["field"] for item in problem["errors"]] == [field]
    assert events(medbill_app, "contact_preference.set") == []


def test_unknown_people_and_roles_without_the_right_are_refused(
        client: TestClient, medbill_app: Medbill) -> None:
    ids = people(medbill_app)
    for url in ("/v1/guarantors/99999/contact-preference",
                "/v1/patients/99999/contact-preference"):
        assert_problem(client.get(url, headers=AUDITOR), 404, "not-found")
        assert_problem(client.put(url, json={"channel": "none"}, headers=BILLER), 404,
                       "not-found")
    assert_problem(client.put(f"/v1/guarantors/{ids['guarantor']}/contact-preference",
                              json={"channel": "none"}, headers=AUDITOR), 403,
                   "permission-denied")
    assert_problem(client.get(f"/v1/guarantors/{ids['guarantor']}/contact-preference"), 401,
                   "not-authenticated")
