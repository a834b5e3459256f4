"""Patient money over HTTP: payments (list, read, record idempotently, refund), payment plans
(list, read, create, cancel) and statements (list, read, the rendered document: no-store,
audited, 410 when its file is gone), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from inproc_plugins import make_line_plugin
from test_http_api import PHI_NAME, assert_problem

from medbill_core import audit
from medbill_core.app import Medbill
from medbill_core.domain.identity import Principal, PrincipalKind, Role
from medbill_core.errors import NotAuthenticated
from medbill_core.http import create_app
from medbill_core.services.statements import run_statements
from medbill_core.testing import factories

D = Decimal
TODAY = date.today()
ROLES = {f"mbk_{role.value}": role for role in Role}


def authenticate(medbill: Medbill, token: str) -> Principal:
    role = ROLES.get(token)
    if role is None:
        raise NotAuthenticated("unknown key")
    return Principal(kind=PrincipalKind.API_KEY, id=7, name=f"k-{role.value}", practice_id=1,
                     role=role)


def key(role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer mbk_{role.value}"}


BILLER, MANAGER, FRONT, AUDITOR = (key(Role.BILLER), key(Role.BILLING_MANAGER),
                                   key(Role.FRONT_DESK), key(Role.AUDITOR))


@pytest.fixture
def medbill_extra_plugins() -> list[tuple[str, Any]]:
    return [("lineplug", make_line_plugin())]  # its renderer "text" writes the statements


@pytest.fixture
def client(medbill_app: Medbill, tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(medbill_app, authenticate=authenticate)
    app.state.statements_dir = tmp_path
    with TestClient(app) as test_client:
        yield test_client


def self_pay(app: Medbill, number: int, charges: list[str], days_ago: list[int],
             **patient: Any) -> tuple[int, list[int]]:
    """(patient id, claim ids) of a new self-pay patient owing each charge on a claim."""
    with app.unit_of_work() as work:
        registered = work.patients.register(factories.make_patient(number, **patient))
        ids = []
        for i, (charge, age) in enumerate(zip(charges, days_ago, strict=True)):
            day = TODAY - timedelta(days=age)
            claim = factories.make_claim(registered.id, coverage_id=None,
                                         number=f"HA{number}-{i}", service_date=day)
            claim = claim.model_copy(update={"lines": [factories.make_line(
                1, service_date=day, charge=D(charge))]})
            ids.append(work.claims.create(claim).id)
    assert registered.id is not None
    return registered.id, ids


def events(app: Medbill, action: str) -> list[audit.AuditEvent]:
    with app.unit_of_work(read_only=True) as work:
        return list(audit.query(work.session, action=action))


def walk(client: TestClient, path: str, headers: dict[str, str]) -> tuple[list[int], int]:
    seen: list[int] = []
    cursor, pages = None, 0
    while True:
        joiner = "&" if "?" in path else "?"
        response = client.get(path + (f"{joiner}cursor={cursor}" if cursor else ""),
                              headers=headers)
        assert response.status_code == 200, response.text
        seen += [row["id"] for row in response.json()["data"]]
        pages += 1
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return seen, pages


def test_a_payment_is_recorded_once_per_key_applied_oldest_first_and_read_back(
        client: TestClient, medbill_app: Medbill) -> None:
    patient_id, (older, newer) = self_pay(medbill_app, 1, ["60.00", "40.00"], [40, 10])
    body = {"patient_id": patient_id, "amount": "75.00", "method": "check",
            "reference": "1042", "received_on": TODAY.isoformat()}
    headers = {**FRONT, "Idempotency-Key": "pay-0001"}
    first = client.post("/v1/payments", json=body, headers=headers)
    assert first.status_code == 201, first.text
    payment = first.json()
    assert first.headers["location"] == f"/v1/payments/{payment['id']}"
    assert (payment["patient_id"], payment["amount"], payment["applied"], payment["credit"],
            payment["method"], payment["status"]) == (patient_id, "75.00", "75.00", "0.00",
                                                       "check", "posted")
    assert payment["applications"] == [{"claim_id": older, "amount": "60.00"},
                                       {"claim_id": newer, "amount": "15.00"}]
    again = client.post("/v1/payments", json=body, headers=headers)
    assert again.status_code == 201 and again.json() == payment
    assert again.headers["idempotent-replayed"] == "true"
    listed = client.get(f"/v1/payments?patient={patient_id}", headers=AUDITOR).json()
    assert [row["id"] for row in listed["data"]] == [payment["id"]]
    with medbill_app.unit_of_work(read_only=True) as work:
        assert work.ledger.patient_balance(patient_id).patient == D("25.00")
    read = client.get(f"/v1/payments/{payment['id']}", headers=FRONT)
    # the answer to the POST is the payment as read, with what to look at (nothing here)
    assert read.status_code == 200 and {**read.json(), "warnings": []} == payment
    # recorded once, by the key that sent it (the replay wrote nothing)
    assert [(e.actor, e.entity_id) for e in events(medbill_app, "payment.record")] == [
        ("key:k-front_desk", str(payment["id"]))]
    assert_problem(client.get("/v1/payments/9999", headers=FRONT), 404, "not-found")


def test_more_than_is_owed_needs_a_decision_and_a_credit_is_refunded_by_the_manager(
        client: TestClient, medbill_app: Medbill) -> None:
    patient_id, _ = self_pay(medbill_app, 2, ["30.00"], [5], last_name=PHI_NAME)
    body = {"patient_id": patient_id, "amount": "50.00", "method": "cash"}
    problem = assert_problem(client.post("/v1/payments", json=body, headers=BILLER), 409,
                             "ledger-rule")
    assert PHI_NAME not in str(problem) and "50.00" not in problem["detail"]
    assert problem["detail"] == ("the payment exceeds the 30.00 it may pay; send overpayment: "
                                 "credit (keep the rest on the account) or refund (give it "
                                 "back)")
    made = client.post("/v1/payments", json={**body, "overpayment": "credit"}, headers=BILLER)
    assert made.status_code == 201, made.text
    payment = made.json()
    assert (payment["applied"], payment["credit"], payment["received_on"]) == (
        "30.00", "20.00", TODAY.isoformat())
    refund = {"amount": "15.00", "reason": "patient asked"}
    assert_problem(client.post(f"/v1/payments/{payment['id']}/refunds", json=refund,
                               headers=BILLER), 403, "permission-denied")
    given = client.post(f"/v1/payments/{payment['id']}/refunds", json=refund, headers=MANAGER)
    assert given.status_code == 201, given.text
    assert given.json() | {"refund_id": 0} == {"refund_id": 0, "payment_id": payment["id"],
                                               "amount": "15.00", "credit_left": "5.00"}
    problem = assert_problem(client.post(f"/v1/payments/{payment['id']}/refunds",
                                         json={**refund, "amount": "6.00"}, headers=MANAGER),
                             422, "validation-failed")
    assert problem["errors"][0]["field"] == "amount"
    # a NUL never reaches the database (PostgreSQL would refuse it with an error of its own)
    problem = assert_problem(client.post(f"/v1/payments/{payment['id']}/refunds",
                                         json={**refund, "reason": "a\u0000b"},
                                         headers=MANAGER), 422, "validation-failed")
    assert [item["field"] for item in problem["errors"]] == ["body.reason"]
    after = client.get(f"/v1/payments/{payment['id']}", headers=BILLER).json()
    assert (after["credit"], after["refunded"]) == ("5.00", "15.00")
    assert_problem(client.post("/v1/payments/9999/refunds", json=refund, headers=MANAGER),
                   404, "not-found")


def test_payment_bodies_are_checked_field_by_field_without_echoing_them(
        client: TestClient, medbill_app: Medbill) -> None:
    patient_id, _ = self_pay(medbill_app, 3, ["30.00"], [5])
    for body, field in (
            ({"patient_id": patient_id, "amount": 12.5, "method": "cash"}, "body.amount"),
            ({"patient_id": patient_id, "amount": "0.00", "method": "cash"}, "body.amount"),
            ({"patient_id": patient_id, "amount": "100000000000000000000"}, "body.amount"),
            ({"patient_id": patient_id, "amount": "10.00", "method": "barter"}, "body.method"),
            ({"patient_id": patient_id, "amount": "10.00", "method": "card",
              "reference": "4111 1111 1111 1111"}, "body.reference"),
            ({"patient_id": patient_id, "amount": "10.00", "received_on": 0},
             "body.received_on")):
        problem = assert_problem(client.post("/v1/payments", json=body, headers=BILLER), 422,
                                 "validation-failed")
        assert [item["field"] for item in problem["errors"]] == [field], problem
        assert "4111" not in str(problem)
    assert_problem(client.post("/v1/payments", json={"patient_id": 9999, "amount": "1.00"},
                               headers=BILLER), 404, "not-found")


def test_the_payment_list_pages_and_filters(client: TestClient, medbill_app: Medbill) -> None:
    first, _ = self_pay(medbill_app, 4, ["500.00"], [60])
    second, _ = self_pay(medbill_app, 5, ["500.00"], [60])
    made = []
    for patient_id, method, days in ((first, "cash", 20), (second, "card", 10),
                                     (first, "check", 5), (first, "cash", 0)):
        response = client.post("/v1/payments", headers=BILLER, json={
            "patient_id": patient_id, "amount": "10.00", "method": method,
            "received_on": (TODAY - timedelta(days=days)).isoformat()})
        assert response.status_code == 201, response.text
        made.append(response.json()["id"])
    assert walk(client, "/v1/payments?limit=3", FRONT) == (made, 2)
    assert walk(client, f"/v1/payments?patient={first}&limit=1", FRONT) == (
        [made[0], made[2], made[3]], 3)
    assert walk(client, "/v1/payments?method=cash", FRONT)[0] == [made[0], made[3]]
    since = (TODAY - timedelta(days=10)).isoformat()
    until = (TODAY - timedelta(days=5)).isoformat()
    assert walk(client, f"/v1/payments?received_from={since}&received_to={until}",
                FRONT)[0] == [made[1], made[2]]
    assert_problem(client.get("/v1/payments?received_from=2026-13-01", headers=FRONT), 422,
                   "validation-failed")
    assert_problem(client.get("/v1/payments?cursor=bogus", headers=FRONT), 422,
                   "validation-failed")
    assert_problem(client.get(f"/v1/payments?received_from={until}&received_to={since}",
                              headers=FRONT), 422, "validation-failed")


def test_plans_are_created_listed_read_and_cancelled(client: TestClient,
                                                     medbill_app: Medbill) -> None:
    patient_id, _ = self_pay(medbill_app, 6, ["100.00"], [20])
    start = TODAY + timedelta(days=7)
    body = {"patient_id": patient_id, "total": "100.00", "installments": 3,
            "start": start.isoformat(), "frequency": "monthly"}
    made = client.post("/v1/plans", json=body, headers={**FRONT, "Idempotency-Key": "plan-1"})
    assert made.status_code == 201, made.text
    plan = made.json()
    assert made.headers["location"] == f"/v1/plans/{plan['id']}"
    assert [(i["amount"], i["paid_amount"]) for i in plan["installments"]] == [
        ("33.33", "0.00"), ("33.33", "0.00"), ("33.34", "0.00")]
    assert (plan["status"], plan["total"], plan["remaining"], plan["installment_count"],
            plan["next_due_date"], plan["next_due_amount"]) == (
        "active", "100.00", "100.00", 3, start.isoformat(), "33.33")
    again = client.post("/v1/plans", json=body, headers={**FRONT, "Idempotency-Key": "plan-1"})
    assert again.json() == plan
    problem = assert_problem(client.post("/v1/plans", json=body, headers=FRONT), 422,
                             "validation-failed")
    assert problem["errors"][0]["field"] == "patient_id"  # one active plan each
    assert_problem(client.post("/v1/plans", json={**body, "total": "500.00"}, headers=FRONT),
                   422, "validation-failed")
    assert_problem(client.post("/v1/plans", json={**body, "patient_id": 9999}, headers=FRONT),
                   404, "not-found")
    assert client.post("/v1/payments", headers=FRONT, json={
        "patient_id": patient_id, "amount": "40.00"}).status_code == 201
    read = client.get(f"/v1/plans/{plan['id']}", headers=AUDITOR).json()
    assert (read["paid"], read["remaining"], read["next_due_amount"]) == (
        "40.00", "60.00", "26.66")
    assert [row["id"] for row in client.get(
        f"/v1/plans?patient={patient_id}&status=active", headers=AUDITOR).json()["data"]] == [
        plan["id"]]
    # what is left (60.00) over two installments from a new start; the paid one stays
    later = (start + timedelta(days=45)).isoformat()
    moved = client.patch(f"/v1/plans/{plan['id']}", json={"installments": 2, "start": later},
                         headers=FRONT)
    assert moved.status_code == 200, moved.text
    spread = moved.json()["installments"]
    assert [(i["amount"], i["paid_amount"]) for i in spread] == [
        ("33.33", "33.33"), ("6.67", "6.67"), ("30.00", "0.00"), ("30.00", "0.00")]
    assert [i["due_date"] for i in spread[:3]] == [
        plan["installments"][0]["due_date"], plan["installments"][1]["due_date"], later]
    assert spread[3]["due_date"] > later
    assert (moved.json()["total"], moved.json()["remaining"]) == ("100.00", "60.00")
    problem = assert_problem(client.patch(f"/v1/plans/{plan['id']}",
                                          json={"installments": 2, "amount": "10.00"},
                                          headers=FRONT), 422, "validation-failed")
    assert problem["errors"][0]["field"] == "installments"
    assert_problem(client.patch("/v1/plans/9999", json={}, headers=FRONT), 404, "not-found")
    assert_problem(client.post(f"/v1/plans/{plan['id']}/cancel", json={"reason": "moved"},
                               headers=AUDITOR), 403, "permission-denied")
    cancelled = client.post(f"/v1/plans/{plan['id']}/cancel", json={"reason": "moved"},
                            headers=FRONT)
    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["status"], cancelled.json()["cancelled_on"]) == (
        "cancelled", TODAY.isoformat())
    assert_problem(client.post(f"/v1/plans/{plan['id']}/cancel", json={"reason": "again"},
                               headers=FRONT), 422, "validation-failed")
    assert client.get("/v1/plans?status=active", headers=FRONT).json() == {
        "data": [], "next_cursor": None}
    assert_problem(client.get("/v1/plans/9999", headers=FRONT), 404, "not-found")


def test_statements_are_listed_read_and_downloaded_never_cached_and_audited(
        client: TestClient, medbill_app: Medbill, tmp_path: Path) -> None:
    first, _ = self_pay(medbill_app, 7, ["60.00"], [10], last_name=PHI_NAME)
    second, _ = self_pay(medbill_app, 8, ["45.00"], [10])
    run = run_statements(medbill_app, cycle="2026-11", out_dir=tmp_path, renderer="text")
    assert len(run.produced) == 2
    listed = client.get("/v1/statements", headers=FRONT)
    assert listed.status_code == 200 and listed.headers["cache-control"] == "no-store"
    rows = listed.json()["data"]
    assert [(row["patient_id"], row["balance_due"], row["cycle"]) for row in rows] == [
        (first, "60.00", "2026-11"), (second, "45.00", "2026-11")]
    assert walk(client, "/v1/statements?limit=1", FRONT) == ([row["id"] for row in rows], 2)
    assert [row["id"] for row in client.get(f"/v1/statements?patient={second}",
                                            headers=FRONT).json()["data"]] == [rows[1]["id"]]
    today = TODAY.isoformat()
    assert len(client.get(f"/v1/statements?date_from={today}&date_to={today}",
                          headers=FRONT).json()["data"]) == 2
    assert client.get("/v1/statements?date_to=2000-01-01", headers=FRONT).json()["data"] == []
    assert client.get("/v1/statements?cycle=2026-10", headers=FRONT).json()["data"] == []
    one = client.get(f"/v1/statements/{rows[0]['id']}", headers=FRONT)
    assert one.json() == rows[0]
    document = client.get(rows[0]["document"], headers=FRONT)
    assert document.status_code == 200
    assert document.content == (tmp_path / f"statement-{rows[0]['statement_number']}.txt"
                                ).read_bytes()
    assert document.headers["content-type"].startswith("text/plain")
    assert document.headers["cache-control"] == "no-store"
    assert document.headers["content-disposition"] == (
        f'attachment; filename="{rows[0]["statement_number"]}.txt"')
    [download] = events(medbill_app, "statement.download")
    assert (download.actor, download.entity_id, download.details["patient_ids"]) == (
        "key:k-front_desk", str(rows[0]["id"]), [first])
    assert_problem(client.get(rows[0]["document"], headers=key(Role.ADMINISTRATOR)
                              | {"Authorization": "Bearer nope"}), 401, "not-authenticated")
    # a file altered or gone: 410, nothing disclosed, nothing audited
    path = tmp_path / f"statement-{rows[1]['statement_number']}.txt"
    path.write_text("something else")
    gone = assert_problem(client.get(rows[1]["document"], headers=FRONT), 410,
                          "statement-document-gone")
    assert gone["detail"] == (f"statement {rows[1]['id']}: its document is no longer "
                              "available")
    path.unlink()
    assert_problem(client.get(rows[1]["document"], headers=FRONT), 410,
                   "statement-document-gone")
    assert len(events(medbill_app, "statement.download")) == 1
    assert_problem(client.get("/v1/statements/9999/document", headers=FRONT), 404,
                   "not-found")
    assert_problem(client.get("/v1/statements/9999", headers=FRONT), 404, "not-found")


def test_implausible_dates_are_refused_unless_confirmed_as_on_the_command_line(
        client: TestClient, medbill_app: Medbill) -> None:
    patient_id, _ = self_pay(medbill_app, 4, ["80.00"], [5])
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    body = {"patient_id": patient_id, "amount": "10.00", "received_on": tomorrow}
    problem = assert_problem(client.post("/v1/payments", json=body, headers=BILLER), 422,
                             "validation-failed")
    assert [item["field"] for item in problem["errors"]] == ["received_on"], problem
    assert "1 day in the future" in problem["errors"][0]["message"]
    confirmed = client.post("/v1/payments", json={**body, "confirm_date": True}, headers=BILLER)
    assert confirmed.status_code == 201, confirmed.text
    plan = {"patient_id": patient_id, "total": "60.00", "installments": 3,
            "start": (TODAY - timedelta(days=40)).isoformat()}
    problem = assert_problem(client.post("/v1/plans", json=plan, headers=BILLER), 422,
                             "validation-failed")
    assert [item["field"] for item in problem["errors"]] == ["start"], problem
    assert "40 days in the past" in problem["errors"][0]["message"]
    for start in ("9999-12-31", "1800-01-01"):  # no confirmation makes them dates (a 500)
        problem = assert_problem(client.post("/v1/plans", json={
            **plan, "installments": 2, "start": start, "confirm_date": True},
            headers=BILLER), 422, "validation-failed")
        assert [(e["field"], e["message"]) for e in problem["errors"]] == [
            ("start", "must be a date from 1900-01-01 to 2999-12-31")]
    made = client.post("/v1/plans", json={**plan, "confirm_date": True}, headers=BILLER)
    assert made.status_code == 201, made.text
