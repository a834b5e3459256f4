"""Every API read of a patient's billing records leaves an audit event naming the caller: a
patient's balance, payments (one and a page), statements (one and a page), a claim's history
and a financial-assistance decision letter (its guarantor's name, address and income) were
shown without one, while the patient, guarantor and claim reads were audited. On SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from inproc_plugins import make_line_plugin
from test_financial_assistance import _family
from test_http_accounts import AUDITOR, FRONT, MANAGER, TODAY, authenticate, events, self_pay

from medbill_core.app import Medbill
from medbill_core.http import create_app
from medbill_core.services.statements import run_statements


@pytest.fixture
def medbill_extra_plugins() -> list[tuple[str, Any]]:
    return [("lineplug", make_line_plugin())]  # its renderer "text" writes the statements


@pytest.fixture
def client(medbill_app: Medbill, tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(medbill_app, authenticate=authenticate)
    app.state.statements_dir = tmp_path
    with TestClient(app) as test_client:
        yield test_client


def shown(app: Medbill, action: str) -> list[tuple[str, str, Any]]:
    """(actor, entity id, ids of a page or None) of each ``action`` event, oldest first."""
    return [(event.actor, event.entity_id, (event.details or {}).get("ids"))
            for event in reversed(events(app, action))]


def test_reads_of_balances_payments_statements_and_history_are_audited(
        client: TestClient, medbill_app: Medbill, tmp_path: Path) -> None:
    patient_id, (claim_id,) = self_pay(medbill_app, 31, ["60.00"], [10])
    paid = client.post("/v1/payments", json={
        "patient_id": patient_id, "amount": "20.00", "method": "check", "reference": "77",
        "received_on": TODAY.isoformat()}, headers=FRONT).json()
    assert client.get(f"/v1/patients/{patient_id}/balance", headers=AUDITOR).json()[
        "patient"] == "40.00"
    assert shown(medbill_app, "patient_balance.read") == [
        ("key:k-auditor", str(patient_id), None)]
    assert [p["id"] for p in client.get("/v1/payments", headers=AUDITOR).json()["data"]] == [
        paid["id"]]
    assert client.get(f"/v1/payments/{paid['id']}", headers=AUDITOR).status_code == 200
    assert shown(medbill_app, "payment.list") == [("key:k-auditor", "list", [paid["id"]])]
    assert shown(medbill_app, "payment.read") == [("key:k-auditor", str(paid["id"]), None)]
    run_statements(medbill_app, cycle="2026-11", out_dir=tmp_path, renderer="text")
    [statement] = client.get("/v1/statements", headers=FRONT).json()["data"]
    assert client.get(f"/v1/statements/{statement['id']}", headers=FRONT).status_code == 200
    assert shown(medbill_app, "statement.list") == [
        ("key:k-front_desk", "list", [statement["id"]])]
    assert shown(medbill_app, "statement.read") == [
        ("key:k-front_desk", str(statement["id"]), None)]
    assert client.get(f"/v1/claims/{claim_id}/history", headers=AUDITOR).status_code == 200
    [history] = events(medbill_app, "claim.read")
    assert (history.actor, history.entity_id, history.details) == (
        "key:k-auditor", str(claim_id), {"via": "api:history"})
    # an empty page shows nothing: nothing recorded; a record not found: nothing either
    assert client.get("/v1/payments?patient=999", headers=AUDITOR).json()["data"] == []
    assert client.get("/v1/patients/999/balance", headers=AUDITOR).status_code == 404
    assert len(events(medbill_app, "payment.list")) == 1
    assert len(events(medbill_app, "patient_balance.read")) == 1


def test_reading_an_assistance_letter_is_audited(client: TestClient,
                                                 medbill_app: Medbill) -> None:
    guarantor, _, _ = _family(medbill_app, [("100.00", 3)])
    application = client.post("/v1/assistance/applications", json={
        "guarantor_id": guarantor, "household_size": 2, "annual_income": "43280.00",
        "state": "NY", "applied_on": (TODAY - timedelta(days=7)).isoformat(),
        "documents_received": True}, headers=FRONT).json()
    assert client.post(f"/v1/assistance/applications/{application['id']}/approve", json={},
                       headers=MANAGER).status_code == 200
    letter = client.get(f"/v1/assistance/applications/{application['id']}/letter",
                        headers=FRONT)
    assert letter.status_code == 200
    assert shown(medbill_app, "assistance_letter.read") == [
        ("key:k-front_desk", str(application["id"]), None)]
    assert client.get("/v1/assistance/applications/999/letter",
                      headers=FRONT).status_code == 404
    assert len(events(medbill_app, "assistance_letter.read")) == 1
