"""Institutional claims over HTTP: created with their institutional details (the place of
service implied by the type of bill), read back equal, scrubbed with the institutional
edits; the OpenAPI document describes them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from inproc_plugins import line_practice_config, make_line_plugin
from test_http_api import EHR, assert_problem, fake_authenticate

from medbill_core.app import Medbill
from medbill_core.config import MedbillConfig
from medbill_core.http import create_app
from medbill_core.http.resources.jobs import stop_jobs
from medbill_core.testing import factories


@pytest.fixture
def medbill_config(medbill_db_url: str) -> MedbillConfig:
    return line_practice_config(medbill_db_url)


@pytest.fixture
def medbill_extra_plugins() -> list[tuple[str, Any]]:
    return [("lineplug", make_line_plugin())]


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
        stored = work.patients.register(factories.make_patient(1))
        coverage = work.patients.add_coverage(stored.id, factories.make_coverage(
            payer_key="linepay"))
    return {"patient_id": stored.id, "coverage_id": coverage.id}


def institutional_body(patient: dict[str, int], number: str = "UB0001", *,
                       inpatient: bool = False) -> dict[str, Any]:
    claim = factories.make_institutional_claim(
        patient["patient_id"], coverage_id=patient["coverage_id"], payer_key="linepay",
        number=number, inpatient=inpatient)
    body = claim.model_dump(mode="json", exclude_none=True)
    for assigned in ("id", "state", "frequency", "place_of_service"):
        body.pop(assigned, None)
    return body


def test_an_institutional_claim_is_created_and_read_back(
        client: TestClient, patient: dict[str, int]) -> None:
    body = institutional_body(patient, inpatient=True)
    response = client.post("/v1/claims", json=body, headers=EHR)
    assert response.status_code == 201, response.text
    created = response.json()
    assert (created["kind"], created["place_of_service"]) == ("institutional", "21")
    assert created["institutional"]["facility_type_code"] == "11"
    assert created["institutional"]["present_on_admission"] == ["Y", "N"]
    assert created["institutional"]["principal_procedure"]["code"] == "0DTJ4ZZ"
    assert [(line["revenue_code"], line["procedure_code"]) for line in created["lines"]] == [
        ("0120", None), ("0250", None), ("0360", None)]
    read = client.get(f"/v1/claims/{created['id']}", headers=EHR)
    assert read.json() == created
    scrubbed = client.post(f"/v1/claims/{created['id']}/scrub", headers=EHR).json()
    assert scrubbed["findings"] == [] and scrubbed["state"] == "validated"


def test_outpatient_er_visit_takes_place_23_and_a_patch_replaces_the_details(
        client: TestClient, patient: dict[str, int]) -> None:
    created = client.post("/v1/claims", json=institutional_body(patient), headers=EHR).json()
    assert created["place_of_service"] == "23"
    details = {**created["institutional"], "patient_status": "07"}
    edited = client.patch(f"/v1/claims/{created['id']}", headers=EHR,
                          json={"institutional": details})
    assert edited.status_code == 200, edited.text
    assert edited.json()["institutional"]["patient_status"] == "07"


def test_bad_institutional_fields_are_422_naming_them(
        client: TestClient, patient: dict[str, int]) -> None:
    body = institutional_body(patient)
    body["institutional"]["facility_type_code"] = "1"
    problem = assert_problem(client.post("/v1/claims", json=body, headers=EHR), 422,
                             "validation-failed")
    assert "body.institutional.facility_type_code" in [e["field"] for e in problem["errors"]]
    # a professional claim still needs its place of service
    professional = factories.make_claim(patient["patient_id"], coverage_id=patient[
        "coverage_id"], payer_key="linepay", number="P1").model_dump(mode="json",
                                                                     exclude_none=True)
    for assigned in ("id", "state", "frequency", "place_of_service"):
        professional.pop(assigned, None)
    problem = assert_problem(client.post("/v1/claims", json=professional, headers=EHR), 422,
                             "validation-failed")
    assert [e["field"] for e in problem["errors"]] == ["body.place_of_service"]


def test_openapi_describes_institutional_claims(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    # FastAPI names a model's request and response schemas apart when they differ
    [name, *_] = [key for key in schemas if key.startswith("InstitutionalDetails")]
    details = schemas[name]["properties"]
    assert {"facility_type_code", "present_on_admission", "principal_procedure",
            "patient_status"} <= set(details)
    new_claim = schemas["NewClaim"]["properties"]
    assert "institutional" in new_claim and "kind" in new_claim
    assert "place_of_service" not in schemas["NewClaim"].get("required", [])
