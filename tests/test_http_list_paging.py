"""Every list of the API is cursor-paged (issue 15): ``?limit=&cursor=`` in, ``{"data",
"next_cursor"}`` out, keyset.

The first test reads the routes from the app (as the role tests do), so a list added later
without paging fails here without being named; the others walk issue 18's lists page by page
(limit 1 and 2: no row twice, none missing, filters kept on every page, a tampered cursor
refused) on SQLite and PostgreSQL.
"""

from __future__ import annotations

import typing
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import update
from test_http_api import EHR, MANAGER, assert_problem, fake_authenticate

from medbill_core.app import Medbill, UnitOfWork
from medbill_core.domain import Payment, PaymentMethodKind
from medbill_core.http import create_app
from medbill_core.http.pagination import encode_cursor
from medbill_core.http.route_table import core_app
from medbill_core.ledger import EntryKind, LedgerLine
from medbill_core.services.accounting_formats import ExportFormat
from medbill_core.services.collections import add_agency
from medbill_core.services.guarantors import GuarantorService
from medbill_core.services.patient_credits import credit_balances, refund_patient_credit
from medbill_core.services.payer_refunds import request_payer_refund
from medbill_core.services.payments import Overpayment, record_payment
from medbill_core.services.write_offs import WriteOffKind, request_write_off
from medbill_core.storage.schema import (
    FinancingReferralRow,
    NotificationRow,
    PayerRefundRequestRow,
    PayLinkRow,
    RefundCheckRow,
    StatementRow,
)
from medbill_core.testing import factories

D = Decimal

#: GET routes whose 200 body has a ``data`` list but that are not open-ended lists, with why
#: they are answered whole
NOT_LISTS: dict[str, str] = {
    "/v1/patients/{patient_id}/coverages": "one patient's insurance policies: a handful, "
                                           "read with the patient, as its sub-record",
    "/v1/webhooks": "the practice's webhook receivers: a handful an administrator configures "
                    "(each delivery log, which grows, is paged)",
}


def _data_lists(app: FastAPI) -> dict[str, APIRoute]:
    """GET path -> route, of the API routes whose 200 response model has a ``data`` list."""
    found: dict[str, APIRoute] = {}
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or "GET" not in (route.methods or set()):
            continue
        model = route.response_model
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            continue
        field = model.model_fields.get("data")
        if field is not None and typing.get_origin(field.annotation) is list:
            found[context.path or route.path] = route
    return found


def _unpaged(app: FastAPI) -> list[str]:
    problems = []
    for path, route in sorted(_data_lists(app).items()):
        if path in NOT_LISTS:
            continue
        query = {param.alias for param in route.dependant.query_params}
        model = route.response_model
        assert isinstance(model, type) and issubclass(model, BaseModel)
        fields = model.model_fields
        missing = sorted({"limit", "cursor"} - query) + (
            [] if "next_cursor" in fields else ["next_cursor in the response"])
        if missing:
            problems.append(f"GET {path}: no {', '.join(missing)}")
    return problems


def test_every_list_route_takes_limit_and_cursor_and_answers_next_cursor(
        medbill_app: Medbill) -> None:
    app = create_app(medbill_app, authenticate=fake_authenticate)
    lists = _data_lists(app)
    # the walk finds the lists (the core's and issue 18's among them) ...
    assert {"/v1/claims", "/v1/plans", "/v1/credits", "/v1/refund-checks", "/v1/write-offs",
            "/v1/collection-placements", "/v1/payer-refunds", "/v1/accounting/batches",
            "/v1/pay-links", "/v1/notifications", "/v1/financing-referrals"} <= set(lists)
    assert set(_data_lists(core_app())) <= set(lists)
    # ... and every one of them is paged; an exception names why it is not a list
    assert _unpaged(app) == [], "list routes without cursor pagination (see pagination.py)"
    assert set(NOT_LISTS) <= set(lists), "an exception for a route that is gone"


def test_the_check_catches_a_list_without_paging() -> None:
    """The check itself can fail: a list route without limit/cursor/next_cursor is named."""
    class Bare(BaseModel):
        data: list[int]

    app = FastAPI()

    @app.get("/v1/bare", response_model=Bare)
    def bare() -> Bare:  # pragma: no cover - never called
        return Bare(data=[])

    assert _unpaged(app) == ["GET /v1/bare: no cursor, limit, next_cursor in the response"]


# -- issue 18's lists, walked -----------------------------------------------------------------

@pytest.fixture
def client(medbill_app: Medbill) -> Iterator[TestClient]:
    with TestClient(create_app(medbill_app, authenticate=fake_authenticate)) as test_client:
        yield test_client


def _walk(client: TestClient, path: str, limit: int, key: str = "id",
          headers: dict[str, str] = EHR) -> list[Any]:
    """Every row of a list, page by page, each page checked."""
    seen: list[Any] = []
    cursor = None
    separator = "&" if "?" in path else "?"
    for _ in range(100):
        url = f"{path}{separator}limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"data", "next_cursor"}, url
        assert 0 < len(body["data"]) <= limit or (not seen and not body["data"]), url
        seen.extend(row[key] for row in body["data"])
        cursor = body["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError(f"{path}: no last page")


def _assert_walks(client: TestClient, path: str, expected: list[Any], key: str = "id",
                  headers: dict[str, str] = EHR) -> None:
    for limit in (1, 2):
        assert _walk(client, path, limit, key, headers) == expected, (path, limit)
    whole = client.get(path, headers=headers).json()
    assert [row[key] for row in whole["data"]] == expected and whole["next_cursor"] is None


def _assert_cursor_refused(client: TestClient, path: str, listing: str,
                           headers: dict[str, str] = EHR) -> None:
    cursor = client.get(f"{path}?limit=1", headers=headers).json()["next_cursor"]
    assert cursor is not None, path
    flipped = cursor[:-3] + ("A" if cursor[-3] != "A" else "B") + cursor[-2:]
    for bad in (flipped, cursor[:-4], "not-a-cursor", encode_cursor("claims", [1]),
                encode_cursor(listing, ["x"]), encode_cursor(listing, ["2026-13-01", 1]),
                encode_cursor(listing, ["1", 1])):
        problem = assert_problem(client.get(f"{path}?cursor={bad}", headers=headers), 422,
                                 "validation-failed")
        assert [(e["field"], e["code"]) for e in problem["errors"]] == [
            ("query.cursor", "cursor_invalid")], (path, bad)


def _patient(work: UnitOfWork, number: int, charge: str = "100.00") -> tuple[int, int]:
    """A patient with one claim of ``charge``: (patient id, claim id)."""
    patient_id = work.patients.register(factories.make_patient(number)).id
    assert patient_id is not None
    day = date.today() - timedelta(days=200)
    claim = factories.make_claim(patient_id, coverage_id=None, number=f"PG{number}",
                                 service_date=day)
    stored = work.claims.create(claim.model_copy(update={"lines": [factories.make_line(
        1, service_date=day, charge=D(charge))]}))
    assert stored.id is not None
    return patient_id, stored.id


def _pay(work: UnitOfWork, patient_id: int, amount: str) -> None:
    record_payment(work, Payment(patient_id=patient_id, amount=D(amount),
                                 method=PaymentMethodKind.CASH, received_on=date.today()),
                   overpayment=Overpayment.CREDIT)


def _claim_credit(work: UnitOfWork, patient_id: int, claim_id: int, amount: str) -> None:
    """The patient paid more on the claim than it charged: a credit sitting on the claim."""
    work.ledger.post(f"test:claim-credit:{claim_id}", "test", [LedgerLine(
        EntryKind.PATIENT_PAYMENT, D(amount), patient_id=patient_id, claim_id=claim_id)],
        effective_date=date.today(), allow_credit=True)


def test_credits_are_paged_by_patient_id(client: TestClient, medbill_app: Medbill) -> None:
    with medbill_app.unit_of_work() as work:
        accounts = [_patient(work, number) for number in range(1, 8)]
        patients = [patient_id for patient_id, _ in accounts]
        # credits left by payments, paid in an order unlike the ids; the fourth patient owes
        for patient_id, amount in zip(reversed(patients[:6]), ("130.00", "110.00", "50.00",
                                                               "120.00", "101.00", "140.00"),
                                      strict=True):
            _pay(work, patient_id, amount)
        # a credit on a claim only (the seventh), and on both (the second: 1.00 + 5.00)
        _claim_credit(work, *accounts[6], "115.00")
        _claim_credit(work, *accounts[1], "5.00")
    holders = [p for p in patients if p != patients[3]]
    _assert_walks(client, "/v1/credits", holders, key="patient_id")
    every = client.get("/v1/credits", headers=EHR).json()["data"]
    assert [(row["credit"], row["from_payments"], row["on_claims"]) for row in every] == [
        ("40.00", "40.00", "0.00"), ("6.00", "1.00", "5.00"), ("20.00", "20.00", "0.00"),
        ("10.00", "10.00", "0.00"), ("30.00", "30.00", "0.00"), ("15.00", "0.00", "15.00")]
    # the command line's work view keeps its order: oldest credit (all today), then largest
    with medbill_app.unit_of_work(read_only=True) as work:
        assert [item.patient_id for item in credit_balances(work)] == [
            patients[0], patients[5], patients[2], patients[6], patients[4], patients[1]]
    _assert_cursor_refused(client, "/v1/credits", "credits")


def test_refund_checks_are_paged_by_issue_date_then_id(client: TestClient,
                                                       medbill_app: Medbill) -> None:
    with medbill_app.unit_of_work() as work:
        ids = []
        for number in range(1, 6):
            patient_id, _ = _patient(work, number)
            _pay(work, patient_id, "150.00")
            ids.append(refund_patient_credit(work, patient_id, D("10.00"), "overpaid",
                                             check_number=f"90{number}").id)
        # checks 2 and 4 were written a week before: they come first, in id order
        work.session.execute(update(RefundCheckRow).where(RefundCheckRow.id.in_(
            [ids[1], ids[3]])).values(issued_on=date.today() - timedelta(days=7)))
    order = [ids[1], ids[3], ids[0], ids[2], ids[4]]
    _assert_walks(client, "/v1/refund-checks", order)
    client.post(f"/v1/refund-checks/{ids[3]}/clear", headers=MANAGER)
    client.post(f"/v1/refund-checks/{ids[0]}/clear", headers=MANAGER)
    assert _walk(client, "/v1/refund-checks?status=cleared", 1) == [ids[3], ids[0]]
    assert _walk(client, "/v1/refund-checks?status=issued", 1) == [ids[1], ids[2], ids[4]]
    _assert_cursor_refused(client, "/v1/refund-checks", "refund-checks")


def test_write_offs_are_paged_by_id_and_filtered(client: TestClient,
                                                 medbill_app: Medbill) -> None:
    with medbill_app.unit_of_work() as work:
        ids = [request_write_off(work, _patient(work, number, "400.00")[0],
                                 WriteOffKind.BAD_DEBT, None, "no contact").id
               for number in range(1, 6)]
    _assert_walks(client, "/v1/write-offs", ids)
    for write_off in (ids[1], ids[4]):
        approved = client.post(f"/v1/write-offs/{write_off}/approve", headers=MANAGER,
                               json={"note": "ok"})
        assert approved.status_code == 200, approved.text
    assert _walk(client, "/v1/write-offs?status=approved", 1) == [ids[1], ids[4]]
    assert _walk(client, "/v1/write-offs?status=requested", 2) == [ids[0], ids[2], ids[3]]
    _assert_cursor_refused(client, "/v1/write-offs", "write-offs")


def test_collection_placements_are_paged_by_id_and_filtered(client: TestClient,
                                                            medbill_app: Medbill) -> None:
    with medbill_app.unit_of_work() as work:
        add_agency(work, "ACB", "Acme Collections", "20")
        patients = [_patient(work, number)[0] for number in range(1, 6)]
    ids = []
    for patient_id in patients:
        placed = client.post("/v1/collection-placements", headers=MANAGER, json={
            "patient_id": patient_id, "agency": "ACB"})
        assert placed.status_code == 201, placed.text
        ids.append(placed.json()["id"])
    _assert_walks(client, "/v1/collection-placements", ids)
    recalled = client.post(f"/v1/collection-placements/{ids[2]}/recall", headers=MANAGER,
                           json={"reason": "paid the practice"})
    assert recalled.status_code == 200, recalled.text
    assert _walk(client, "/v1/collection-placements?status=recalled", 1) == [ids[2]]
    assert _walk(client, "/v1/collection-placements?status=placed", 1) == [
        ids[0], ids[1], ids[3], ids[4]]
    _assert_cursor_refused(client, "/v1/collection-placements", "collection-placements")


def _overpaid_claim(work: UnitOfWork, number: int) -> int:
    """A claim acme paid 112.50 on a 100.00 charge: 12.50 to give back."""
    patient_id = work.patients.register(factories.make_patient(number)).id
    assert patient_id is not None
    coverage = work.patients.add_coverage(patient_id, factories.make_coverage())
    claim = work.claims.create(factories.make_claim(
        patient_id, coverage_id=coverage.id, number=f"PGOP{number}").model_copy(update={
            "lines": [factories.make_line(1, charge=D("100.00"))]}))
    assert claim.id is not None
    work.ledger.post(f"835:PGOVER{number}", "test", [LedgerLine(
        EntryKind.PAYER_PAYMENT, D("112.50"), patient_id=patient_id, claim_id=claim.id,
        payer_key="acme")], effective_date=date.today(), allow_credit=True)
    return claim.id


def test_payer_refunds_are_paged_by_request_date_then_id(client: TestClient,
                                                         medbill_app: Medbill) -> None:
    with medbill_app.unit_of_work() as work:
        claims = [_overpaid_claim(work, number) for number in range(1, 6)]
        ids = [request_payer_refund(work, claim_id, D("5.00"), "overpaid").id
               for claim_id in claims]
        work.session.execute(update(PayerRefundRequestRow).where(
            PayerRefundRequestRow.id == ids[4]).values(
                requested_on=date.today() - timedelta(days=3)))
    order = [ids[4], *ids[:4]]
    _assert_walks(client, "/v1/payer-refunds", order)
    refunded = client.post(f"/v1/payer-refunds/{ids[1]}/refunded", headers=MANAGER,
                           json={"check_number": "5001"})
    assert refunded.status_code == 200, refunded.text
    assert _walk(client, "/v1/payer-refunds?status=requested", 1) == [
        ids[4], ids[0], ids[2], ids[3]]
    _assert_cursor_refused(client, "/v1/payer-refunds", "payer-refunds")


def test_accounting_batches_are_paged_newest_first(client: TestClient,
                                                   medbill_app: Medbill) -> None:
    numbers = []
    for number in range(1, 5):
        with medbill_app.unit_of_work() as work:
            _pay(work, _patient(work, number)[0], "20.00")
        created = client.post("/v1/accounting/batches", headers=MANAGER,
                              json={"format": ExportFormat.CSV.value})
        assert created.status_code == 201, created.text
        numbers.append(created.json()["batch"]["number"])
    assert numbers == [1, 2, 3, 4]
    _assert_walks(client, "/v1/accounting/batches", [4, 3, 2, 1], key="number",
                  headers=MANAGER)
    _assert_cursor_refused(client, "/v1/accounting/batches", "accounting-batches",
                           headers=MANAGER)


# -- newest-first lists of pay-by-link, texts and financing (keyset descending on id) ----------
# Their rows are written as the services store them: the walk is about the pages, and the
# services' own tests cover how a link, a message or a referral comes to be.

def _statement(work: UnitOfWork, patient_id: int) -> int:
    row = StatementRow(statement_number=f"PGS{patient_id}", patient_id=patient_id, cycle="PG",
                       statement_date=date.today(), due_date=date.today() + timedelta(days=30),
                       balance_due=D("100.00"), dunning_stage=0, renderer="text",
                       filename=f"statement-PGS{patient_id}.txt", content_sha256="0" * 64,
                       status="rendered", guarantor_key=f"P{patient_id}")
    work.session.add(row)
    work.session.flush()
    return row.id


def test_pay_links_are_paged_newest_first_and_filtered(client: TestClient,
                                                       medbill_app: Medbill) -> None:
    with medbill_app.unit_of_work() as work:
        patients = [_patient(work, number)[0] for number in range(1, 4)]
        statement = _statement(work, patients[0])
        ids = []
        # the first patient's links interleave with the others'; one is on a statement
        for number, (patient_id, on_statement) in enumerate(
                [(patients[0], None), (patients[1], None), (patients[0], statement),
                 (patients[2], None), (patients[0], None), (patients[1], None)]):
            row = PayLinkRow(code_hash=f"{number:064x}", patient_id=patient_id,
                             statement_id=on_statement, created_by="tester",
                             expires_at=datetime.now(UTC) + timedelta(days=30))
            work.session.add(row)
            work.session.flush()
            ids.append(row.id)
    _assert_walks(client, "/v1/pay-links", ids[::-1])
    assert _walk(client, f"/v1/pay-links?patient_id={patients[0]}", 1) == [
        ids[4], ids[2], ids[0]]
    assert _walk(client, f"/v1/pay-links?patient_id={patients[1]}", 2) == [ids[5], ids[1]]
    assert _walk(client, f"/v1/pay-links?statement_id={statement}", 1) == [ids[2]]
    _assert_cursor_refused(client, "/v1/pay-links", "pay-links")


def test_notifications_are_paged_newest_first_and_filtered(client: TestClient,
                                                           medbill_app: Medbill) -> None:
    with medbill_app.unit_of_work() as work:
        patients = [_patient(work, number)[0] for number in range(1, 3)]
        statement = _statement(work, patients[0])
        ids = []
        for number, (patient_id, status, on_statement) in enumerate(
                [(patients[0], "sent", statement), (patients[1], "failed", None),
                 (patients[0], "failed", None), (patients[1], "sent", None),
                 (patients[0], "failed", None)]):
            row = NotificationRow(
                dedupe_key=f"pg:{number}", template="payment_link",
                account_key=f"P{patient_id}", statement_id=on_statement, channel="sms",
                recipient=f"555555010{number}", subject=None, body="Pay at the link",
                notifier="fake", status=status, attempts=1, created_by="tester")
            work.session.add(row)
            work.session.flush()
            ids.append(row.id)
    _assert_walks(client, "/v1/notifications", ids[::-1])
    assert _walk(client, "/v1/notifications?status=failed", 1) == [ids[4], ids[2], ids[1]]
    assert _walk(client, f"/v1/notifications?account=P{patients[0]}", 1) == [
        ids[4], ids[2], ids[0]]
    assert _walk(client, f"/v1/notifications?status=failed&account=P{patients[0]}", 1) == [
        ids[4], ids[2]]
    assert _walk(client, f"/v1/notifications?statement_id={statement}", 1) == [ids[0]]
    # the addressee is G<id> or P<id>, nothing else
    assert_problem(client.get("/v1/notifications?account=X1", headers=EHR), 422,
                   "validation-failed")
    _assert_cursor_refused(client, "/v1/notifications", "notifications")


def test_financing_referrals_are_paged_newest_first_and_filtered(
        client: TestClient, medbill_app: Medbill) -> None:
    with medbill_app.unit_of_work() as work:
        guarantors = []
        for number in range(1, 3):
            patient_id = _patient(work, number)[0]
            guarantor = GuarantorService(work.session, actor="tester").guarantor_for_patient(
                patient_id)
            assert guarantor.id is not None
            guarantors.append(guarantor.id)
        ids = []
        for number, (guarantor_id, status) in enumerate(
                [(guarantors[0], "referred"), (guarantors[1], "declined"),
                 (guarantors[0], "declined"), (guarantors[1], "referred"),
                 (guarantors[0], "referred")]):
            row = FinancingReferralRow(
                reference=f"PGREF{number}", guarantor_id=guarantor_id, amount=D("50.00"),
                provider="fakefin", application_id=f"APP{number}", status=status,
                consent="verbal", created_by="tester")
            work.session.add(row)
            work.session.flush()
            ids.append(row.id)
    _assert_walks(client, "/v1/financing-referrals", ids[::-1])
    assert _walk(client, "/v1/financing-referrals?status=referred", 1) == [
        ids[4], ids[3], ids[0]]
    assert _walk(client, f"/v1/financing-referrals?guarantor_id={guarantors[1]}", 1) == [
        ids[3], ids[1]]
    assert _walk(client, f"/v1/financing-referrals?status=declined"
                         f"&guarantor_id={guarantors[0]}", 1) == [ids[2]]
    _assert_cursor_refused(client, "/v1/financing-referrals", "financing-referrals")


# -- forged cursors ------------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "listing", "dated", "headers"), [
    ("/v1/pay-links", "pay-links", False, EHR),
    ("/v1/notifications", "notifications", False, EHR),
    ("/v1/financing-referrals", "financing-referrals", False, EHR),
    ("/v1/write-offs", "write-offs", False, EHR),
    ("/v1/credits", "credits", False, EHR),
    ("/v1/accounting/batches", "accounting-batches", False, MANAGER),
    ("/v1/refund-checks", "refund-checks", True, EHR),
])
def test_a_forged_cursor_with_a_number_no_id_column_holds_is_refused(
        client: TestClient, path: str, listing: str, dated: bool,
        headers: dict[str, str]) -> None:
    """The cursor's check is a plain hash anyone can recompute: a well-formed cursor with an
    id beyond a 32-bit column (or below zero) is refused as tampered, not sent to the
    database (PostgreSQL casts the parameter to integer and fails: a 500)."""
    for number in (2**40, 2**31, -1, 2**70):
        key: list[int | str] = [date.today().isoformat(), number] if dated else [number]
        problem = assert_problem(client.get(
            f"{path}?cursor={encode_cursor(listing, key)}", headers=headers), 422,
            "validation-failed")
        assert [(e["field"], e["code"]) for e in problem["errors"]] == [
            ("query.cursor", "cursor_invalid")], (path, number)
    # the largest id a column holds is a cursor like any other
    top: list[int | str] = [date.today().isoformat(), 2**31 - 1] if dated else [2**31 - 1]
    edge = client.get(f"{path}?cursor={encode_cursor(listing, top)}", headers=headers)
    assert edge.status_code == 200, edge.text
