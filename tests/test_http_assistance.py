"""Financial assistance over HTTP: apply (front desk), approve (manager only) with the
discounts in the answer, the letter, revoke, the schedule; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from test_financial_assistance import _family
from test_http_accounts import AUDITOR, BILLER, FRONT, MANAGER, authenticate
from test_http_api import assert_problem

from medbill_core.app import Medbill
from medbill_core.http import create_app
from medbill_core.http.resources.assistance import ApplicationOut

TODAY = date.today()


@pytest.fixture
def client(medbill_app: Medbill) -> Iterator[TestClient]:
    with TestClient(create_app(medbill_app, authenticate=authenticate)) as test_client:
        yield test_client


def test_apply_approve_letter_revoke(client: TestClient, medbill_app: Medbill) -> None:
    guarantor, _, claims = _family(medbill_app, [("100.00", 3), ("40.00", 2)])
    body = {"guarantor_id": guarantor, "household_size": 2, "annual_income": "43280.00",
            "state": "NY", "applied_on": (TODAY - timedelta(days=7)).isoformat(),
            "documents_received": True}
    created = client.post("/v1/assistance/applications", json=body,
                          headers={**FRONT, "Idempotency-Key": "fa-1"})
    assert created.status_code == 201, created.text
    application = created.json()
    assert set(application) == set(ApplicationOut.model_fields)
    # 2026: 21,640 for two; 43,280 is exactly 200.00%: the 50% tier
    assert (application["percent_of_guideline"], application["tier"]["discount_percent"],
            application["status"]) == ("200.00", "50", "pending")
    number = application["id"]
    assert created.headers["location"] == f"/v1/assistance/applications/{number}"
    for role in (FRONT, BILLER):
        assert_problem(client.post(f"/v1/assistance/applications/{number}/approve", json={},
                                   headers=role), 403, "permission-denied")
    approved = client.post(f"/v1/assistance/applications/{number}/approve", json={},
                           headers=MANAGER)
    assert approved.status_code == 200, approved.text
    assert approved.json()["discounts"] == {str(claims[0]): "50.00", str(claims[1]): "20.00"}
    assert approved.json()["decided_by"] == "key:k-billing_manager"
    letter = client.get(f"/v1/assistance/applications/{number}/letter", headers=AUDITOR)
    assert letter.status_code == 200 and "reduced by 50%" in letter.text
    assert "43280" not in letter.text and "43,280" not in letter.text
    listed = client.get("/v1/assistance/applications?status=approved", headers=AUDITOR).json()
    assert [a["id"] for a in listed["data"]] == [number]
    problem = assert_problem(client.post(f"/v1/assistance/applications/{number}/revoke",
                                         json={}, headers=MANAGER), 422, "validation-failed")
    assert problem["errors"][0]["field"] == "body.reason"
    revoked = client.post(f"/v1/assistance/applications/{number}/revoke",
                          json={"reason": "moved out of state"}, headers=MANAGER)
    assert revoked.json()["discounts"] == {str(claims[0]): "-50.00", str(claims[1]): "-20.00"}
    with medbill_app.unit_of_work() as work:
        assert [work.ledger.claim_balance(c).patient for c in claims] == [
            Decimal("100.00"), Decimal("40.00")]
    assert_problem(client.get("/v1/assistance/applications/99999", headers=AUDITOR), 404,
                   "not-found")


def test_bad_applications_are_problems(client: TestClient, medbill_app: Medbill) -> None:
    guarantor, _, _ = _family(medbill_app, [("10.00", 1)])
    body = {"guarantor_id": guarantor, "household_size": 1, "annual_income": "1000.00",
            "state": "PR", "applied_on": TODAY.isoformat()}
    problem = assert_problem(client.post("/v1/assistance/applications", json=body,
                                         headers=FRONT), 422, "validation-failed")
    assert problem["errors"][0]["field"] == "state"
    problem = assert_problem(client.post("/v1/assistance/applications", json={
        **body, "state": "NY", "annual_income": "10.001"}, headers=FRONT), 422,
        "validation-failed")
    assert problem["errors"][0]["field"] == "body.annual_income"
    assert_problem(client.post("/v1/assistance/applications", json={
        **body, "state": "NY", "guarantor_id": 99999}, headers=FRONT), 404, "not-found")
    assert client.get("/v1/assistance/applications", headers=AUDITOR).json()["data"] == []


def test_schedule_read_and_set_by_the_manager(client: TestClient) -> None:
    shown = client.get("/v1/assistance/schedule", headers=FRONT).json()
    assert [t["up_to_percent"] for t in shown["tiers"]] == ["100", "150", "200", None]
    body = {"tiers": [{"up_to_percent": "100", "discount_percent": "100",
                       "nominal_fee": "25.00"},
                      {"up_to_percent": None, "discount_percent": "0"}],
            "expiry_months": 6}
    assert_problem(client.put("/v1/assistance/schedule", json=body, headers=BILLER), 403,
                   "permission-denied")
    stored = client.put("/v1/assistance/schedule", json=body, headers=MANAGER)
    assert stored.status_code == 200, stored.text
    assert client.get("/v1/assistance/schedule", headers=AUDITOR).json() == {
        "tiers": [{"up_to_percent": "100", "discount_percent": "100", "nominal_fee": "25.00"},
                  {"up_to_percent": None, "discount_percent": "0", "nominal_fee": None}],
        "expiry_months": 6, "prompt_pay_percent": None, "prompt_pay_days": None}
    problem = assert_problem(client.put("/v1/assistance/schedule", json={
        **body, "tiers": body["tiers"][:1]}, headers=MANAGER), 422, "validation-failed")
    assert problem["errors"][0]["field"] == "tiers"
