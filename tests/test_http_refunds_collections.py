"""Refunds, write-offs and collections over HTTP (issue 18), on SQLite and PostgreSQL: the
manager's actions refused to a biller's key, problem+json on refusals, the services' rules."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from test_http_api import EHR, MANAGER, assert_problem, fake_authenticate

from medbill_core.app import Medbill
from medbill_core.domain import Payment, PaymentMethodKind
from medbill_core.http import create_app
from medbill_core.services.payments import Overpayment, record_payment
from medbill_core.testing import factories

D = Decimal


@pytest.fixture
def client(medbill_app: Medbill) -> Iterator[TestClient]:
    with TestClient(create_app(medbill_app, authenticate=fake_authenticate)) as test_client:
        yield test_client


def owing(app: Medbill, number: int, charge: str, paid: str | None = None) -> int:
    with app.unit_of_work() as work:
        patient = work.patients.register(factories.make_patient(number))
        day = date.today() - timedelta(days=45)
        claim = factories.make_claim(patient.id, coverage_id=None, number=f"HT{number}",
                                     service_date=day)
        work.claims.create(claim.model_copy(update={"lines": [factories.make_line(
            1, service_date=day, charge=D(charge))]}))
        if paid is not None:
            record_payment(work, Payment(patient_id=patient.id, amount=D(paid),
                                         method=PaymentMethodKind.CASH,
                                         received_on=date.today()),
                           overpayment=Overpayment.CREDIT)
        assert patient.id is not None
        return patient.id


def test_write_off_requested_by_a_biller_and_approved_by_a_manager(
        client: TestClient, medbill_app: Medbill) -> None:
    patient = owing(medbill_app, 1, "400.00")
    created = client.post("/v1/write-offs", headers=EHR, json={
        "patient_id": patient, "kind": "bad_debt", "reason": "no contact"})
    assert created.status_code == 201, created.text
    write_off = created.json()
    assert (write_off["status"], write_off["amount"]) == ("requested", "400.00")
    assert_problem(client.post(f"/v1/write-offs/{write_off['id']}/approve", headers=EHR,
                               json={}), 403, "permission-denied")
    approved = client.post(f"/v1/write-offs/{write_off['id']}/approve", headers=MANAGER,
                           json={"note": "ok"})
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    with medbill_app.unit_of_work() as work:
        assert work.ledger.patient_balance(patient).total == D("0.00")
    listed = client.get("/v1/write-offs?status=approved", headers=EHR).json()["data"]
    assert [item["id"] for item in listed] == [write_off["id"]]
    problem = assert_problem(client.post(f"/v1/write-offs/{write_off['id']}/deny",
                                         headers=MANAGER, json={"note": "late"}), 422,
                             "validation-failed")
    assert "is approved" in problem["detail"]


def test_placement_and_agency_payment_over_http(client: TestClient,
                                                medbill_app: Medbill) -> None:
    patient = owing(medbill_app, 2, "120.00")
    from medbill_core.services.collections import add_agency

    with medbill_app.unit_of_work() as work:
        add_agency(work, "ACB", "Acme Collections", "20")
    assert_problem(client.post("/v1/collection-placements", headers=EHR,
                               json={"patient_id": patient, "agency": "ACB"}),
                  403, "permission-denied")
    placed = client.post("/v1/collection-placements", headers=MANAGER,
                         json={"patient_id": patient, "agency": "ACB"})
    assert placed.status_code == 201, placed.text
    placement = placed.json()
    paid = client.post(f"/v1/collection-placements/{placement['id']}/payments", headers=EHR,
                       json={"collected": "50.00"})
    assert paid.status_code == 201, paid.text
    assert (paid.json()["fee"], paid.json()["net"], paid.json()["balance"]) == (
        "10.00", "40.00", "70.00")
    [listed] = client.get("/v1/collection-placements", headers=EHR).json()["data"]
    assert (listed["balance"], listed["collected"]) == ("70.00", "50.00")


def test_a_small_balance_piece_of_a_large_balance_is_refused_over_http(
        client: TestClient, medbill_app: Medbill) -> None:
    large = owing(medbill_app, 5, "103.50")
    problem = assert_problem(client.post("/v1/write-offs", headers=EHR, json={
        "patient_id": large, "kind": "small_balance", "amount": "4.99", "reason": "x"}),
        422, "validation-failed")
    assert problem["detail"] == (f"patient {large}: balance: 103.50 is not a small balance "
                                 "(under 5.00): request another kind")
    assert client.get("/v1/write-offs", headers=EHR).json()["data"] == []
    with medbill_app.unit_of_work() as work:
        assert work.ledger.patient_balance(large).patient == D("103.50")


def test_an_account_on_a_payment_plan_is_not_placed_over_http(
        client: TestClient, medbill_app: Medbill) -> None:
    from medbill_core.services.collections import add_agency
    from medbill_core.services.payments import new_plan

    planned = owing(medbill_app, 6, "300.00")
    with medbill_app.unit_of_work() as work:
        add_agency(work, "ACB", "Acme Collections", "20")
        plan = new_plan(work, planned, D("300.00"), 3, date.today())
    problem = assert_problem(client.post("/v1/collection-placements", headers=MANAGER,
                                         json={"patient_id": planned, "agency": "ACB"}),
                             422, "validation-failed")
    assert problem["detail"] == (f"patient {planned}: payment_plan: has active payment plan "
                                 f"{plan.id}: cancel it first")
    assert client.get("/v1/collection-placements", headers=EHR).json()["data"] == []
    with medbill_app.unit_of_work() as work:
        balance = work.ledger.patient_balance(planned)
        assert (balance.patient, balance.agency) == (D("300.00"), D("0.00"))


def test_credit_refund_by_check_and_void_over_http(client: TestClient,
                                                   medbill_app: Medbill) -> None:
    patient = owing(medbill_app, 3, "20.00", paid="45.00")
    [credit] = client.get("/v1/credits", headers=EHR).json()["data"]
    assert (credit["patient_id"], credit["credit"]) == (patient, "25.00")
    problem = assert_problem(client.post("/v1/credits/refunds", headers=MANAGER, json={
        "patient_id": patient, "amount": "25.00", "reason": "asked", "method": "gateway"}),
        422, "validation-failed")
    assert "payment gateway plugin" in problem["detail"]
    assert_problem(client.post("/v1/credits/refunds", headers=EHR, json={
        "patient_id": patient, "amount": "25.00", "reason": "asked", "check_number": "9"}),
        403, "permission-denied")
    issued = client.post("/v1/credits/refunds", headers=MANAGER, json={
        "patient_id": patient, "amount": "25.00", "reason": "asked", "check_number": "9"})
    assert issued.status_code == 201, issued.text
    voided = client.post(f"/v1/refund-checks/{issued.json()['id']}/void", headers=MANAGER,
                         json={"reason": "lost"})
    assert voided.status_code == 200, voided.text
    assert voided.json()["status"] == "void"
    assert client.get("/v1/credits", headers=EHR).json()["data"][0]["credit"] == "25.00"


def test_payer_refund_requested_and_refunded_over_http(client: TestClient,
                                                       medbill_app: Medbill) -> None:
    from medbill_core.ledger import EntryKind, LedgerLine

    with medbill_app.unit_of_work() as work:
        patient = work.patients.register(factories.make_patient(4))
        coverage = work.patients.add_coverage(patient.id, factories.make_coverage())
        claim = factories.make_claim(patient.id, coverage_id=coverage.id, number="HTOP4")
        claim_id = work.claims.create(claim.model_copy(update={
            "lines": [factories.make_line(1, charge=D("100.00"))]})).id
        work.ledger.post("835:HTOVER", "test", [LedgerLine(
            EntryKind.PAYER_PAYMENT, D("112.50"), patient_id=patient.id, claim_id=claim_id,
            payer_key="acme")], effective_date=date.today(), allow_credit=True)
    problem = assert_problem(client.post("/v1/payer-refunds", headers=MANAGER, json={
        "claim_id": claim_id, "amount": "12.51", "reason": "overpaid"}), 422,
        "validation-failed")
    assert "exceeds the 12.50" in problem["detail"]
    assert_problem(client.post("/v1/payer-refunds", headers=EHR, json={
        "claim_id": claim_id, "amount": "12.50", "reason": "overpaid"}), 403,
        "permission-denied")
    created = client.post("/v1/payer-refunds", headers=MANAGER, json={
        "claim_id": claim_id, "amount": "12.50", "reason": "overpaid"})
    assert created.status_code == 201, created.text
    done = client.post(f"/v1/payer-refunds/{created.json()['id']}/refunded", headers=MANAGER,
                       json={"check_number": "7710"})
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["closing_reference"]) == ("refunded", "7710")
    assert client.post("/v1/payer-refunds/recoupments", headers=EHR).json() == {"data": []}
    with medbill_app.unit_of_work() as work:
        assert work.ledger.claim_balance(claim_id).insurance == D("0.00")


def test_a_held_credit_is_not_refunded_from_its_payment_over_http(
        client: TestClient, medbill_app: Medbill) -> None:
    from sqlalchemy import select

    from medbill_core.services.patient_credits import hold_credit
    from medbill_core.storage.schema import PaymentRow

    patient = owing(medbill_app, 7, "100.00", paid="130.00")
    with medbill_app.unit_of_work() as work:
        hold_credit(work, patient, "appeal pending")
        [payment] = work.session.scalars(select(PaymentRow.id).where(
            PaymentRow.patient_id == patient))
    refused = f"patient {patient}: credit: is on hold; release the hold first"
    for url, body in ((f"/v1/payments/{payment}/refunds", {"amount": "10.00", "reason": "x"}),
                      ("/v1/credits/refunds", {"patient_id": patient, "amount": "10.00",
                                               "reason": "x", "check_number": "H7"})):
        problem = assert_problem(client.post(url, headers=MANAGER, json=body), 422,
                                 "validation-failed")
        assert problem["detail"] == refused
    with medbill_app.unit_of_work() as work:
        row = work.session.get(PaymentRow, payment)
        assert row is not None and (row.unapplied, row.refunded) == (D("30.00"), D("0.00"))


def test_a_payment_on_a_placed_account_is_refused_over_http(
        client: TestClient, medbill_app: Medbill) -> None:
    """POST /v1/payments on a placed account would leave a refundable credit while the
    agency holds the balance: refused (422), the direct payment goes on the placement."""
    from medbill_core.services.collections import add_agency, place_account

    patient = owing(medbill_app, 8, "113.80")
    with medbill_app.unit_of_work() as work:
        add_agency(work, "ACB", "Acme Collections", "30")
        placement = place_account(work, patient, "ACB").id
    body = {"patient_id": patient, "amount": "20.00", "method": "check",
            "reference": "9911", "received_on": date.today().isoformat(),
            "overpayment": "credit"}
    problem = assert_problem(client.post("/v1/payments", headers=MANAGER, json=body), 422,
                             "validation-failed")
    assert problem["detail"] == (
        f"patient {patient}: placement: the account is placed with agency ACB (113.80 held, "
        f"placement {placement}): post the patient's payment on the placement: medbill "
        f"collections payment {placement} --collected AMOUNT --direct")
    assert client.get("/v1/credits", headers=EHR).json()["data"] == []
    paid = client.post(f"/v1/collection-placements/{placement}/payments", headers=EHR,
                       json={"collected": "20.00", "direct": True, "reference": "9911"})
    assert paid.status_code == 201, paid.text
    assert (paid.json()["fee"], paid.json()["balance"]) == ("0.00", "93.80")
    with medbill_app.unit_of_work() as work:
        balance = work.ledger.patient_balance(patient)
        assert (balance.patient, balance.agency) == (D("0.00"), D("93.80"))
