"""Remittances, A/R aging, a patient's balance and the audit trail over HTTP, on SQLite and
PostgreSQL: the figures are those the command line shows on the same database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cli_support import BLUECROSS, cli, config_text, ok, one_line_error
from fastapi.testclient import TestClient
from test_http_api import AUDITOR, EHR, assert_problem, fake_authenticate

from medbill_core.app import Medbill
from medbill_core.domain import (
    Adjustment,
    AdjustmentGroup,
    ClaimPayment,
    ClaimState,
    ClaimStatusCode,
    Remittance,
)
from medbill_core.http import create_app
from medbill_core.http.resources.remittances import RemittanceDetailOut, RemittancePage
from medbill_core.http.resources.reports import AgingByPatient, AgingByPayer
from medbill_core.services.remittance import post_remittance
from medbill_core.testing import factories

D = Decimal
S = ClaimState
TODAY = date.today()


@pytest.fixture
def client(medbill_app: Medbill) -> Iterator[TestClient]:
    with TestClient(create_app(medbill_app, authenticate=fake_authenticate)) as test_client:
        yield test_client


def remit(app: Medbill, trace: str, number: str, *, paid: str, co: str, pr: str,
          on: date, payer_id: str = "ACME1") -> None:
    charge = D(paid) + D(co) + D(pr)
    remittance = Remittance(
        trace_number=trace, payment_amount=D(paid), payer_name="Acme", payer_id=payer_id,
        payee_name="Clinic", payment_date=on,
        claims=[ClaimPayment(claim_number=number, status=ClaimStatusCode.PRIMARY,
                             charge=charge, paid=D(paid), adjustments=[
                                 Adjustment(group=AdjustmentGroup.CONTRACTUAL,
                                            reason_code="45", amount=D(co)),
                                 Adjustment(group=AdjustmentGroup.PATIENT_RESPONSIBILITY,
                                            reason_code="2", amount=D(pr))])])
    with app.unit_of_work() as work:
        post_remittance(work, remittance)


@pytest.fixture
def book(medbill_app: Medbill) -> dict[str, Any]:
    """Two acme claims sent 45 and 100 days ago, the first answered by an 835 (paid 50.00,
    15.00 for the patient), and a bluecross claim in draft."""
    ids: list[int] = []
    with medbill_app.unit_of_work() as work:
        work.patients.register_provider(factories.make_provider())
        patient = work.patients.register(factories.make_patient(1))
        acme = work.patients.add_coverage(patient.id, factories.make_coverage())
        other = work.patients.register(factories.make_patient(2))
        blue = work.patients.add_coverage(other.id, factories.make_coverage(
            payer_key="bluecross"))
        for number, days in (("AR001", 50), ("AR002", 100)):
            service = TODAY - timedelta(days=days)
            claim = work.claims.create(factories.make_claim(
                patient.id, coverage_id=acme.id, number=number, service_date=service,
                lines=1).model_copy(update={"lines": [factories.make_line(
                    1, service_date=service)]}))
            for target in (S.VALIDATED, S.SUBMITTED, S.ACCEPTED):
                work.claims.transition(claim.id, target)
            ids.append(claim.id)
        ids.append(work.claims.create(factories.make_claim(
            other.id, coverage_id=blue.id, payer_key="bluecross", number="AR003")).id)
    remit(medbill_app, "TRN0001", "AR001", paid="50.00", co="60.00", pr="15.00",
          on=TODAY - timedelta(days=20))
    remit(medbill_app, "TRN0002", "NOT-OURS", paid="12.00", co="0", pr="0",
          on=TODAY - timedelta(days=1))
    return {"claims": ids, "patient": patient.id, "other": other.id}


def test_remittances_are_listed_in_pages_and_read_with_their_claim_payments(
        client: TestClient, book: dict[str, Any]) -> None:
    first = client.get("/v1/remittances?limit=1", headers=EHR)
    assert first.status_code == 200, first.text
    [posted] = first.json()["data"]
    assert (posted["trace_number"], posted["payment_amount"], posted["posted_count"],
            posted["posted_total"], posted["difference"]) == ("TRN0001", "50.00", 1, "50.00",
                                                              "0.00")
    second = client.get(f"/v1/remittances?limit=1&cursor={first.json()['next_cursor']}",
                        headers=EHR).json()
    assert [(r["trace_number"], r["exception_count"]) for r in second["data"]] == [
        ("TRN0002", 1)]
    assert second["next_cursor"] is None
    assert [r["trace_number"] for r in client.get(
        "/v1/remittances?status=exceptions", headers=EHR).json()["data"]] == ["TRN0002"]
    detail = client.get(f"/v1/remittances/{posted['id']}", headers=EHR)
    assert detail.status_code == 200
    assert RemittanceDetailOut.model_validate(detail.json()).id == posted["id"]
    assert RemittancePage.model_validate(second).data[0].trace_number == "TRN0002"
    [payment] = detail.json()["claims"]
    assert (payment["claim_id"], payment["claim_number"], payment["paid"],
            payment["adjusted"], payment["patient_share"]) == (
        book["claims"][0], "AR001", "50.00", "75.00", "15.00")
    assert [a["code"] for a in payment["adjustments"]] == ["CO-45", "PR-2"]
    assert_problem(client.get("/v1/remittances/999", headers=EHR), 404, "not-found")


def test_ar_aging_is_the_command_lines_json_on_the_same_database(
        client: TestClient, book: dict[str, Any], medbill_config: Any, cli_isolation: None,
        tmp_path: Path) -> None:
    path = tmp_path / "medbill.toml"
    path.write_text(config_text(medbill_config.database_url, extra=BLUECROSS),
                    encoding="utf-8")
    for extra in ([], ["--by", "patient"], ["--as-of", str(TODAY - timedelta(days=30))]):
        expected = json.loads(ok(path, "ar", "aging", "--json", *extra).stdout)
        query = "&".join(f"{name.removeprefix('--').replace('-', '_')}={value}"
                         for name, value in zip(extra[::2], extra[1::2], strict=True))
        response = client.get(f"/v1/reports/ar-aging?{query}", headers=EHR)
        assert response.status_code == 200, response.text
        assert response.json() == expected
        model = AgingByPatient if "patient" in extra else AgingByPayer
        assert model.model_validate(response.json()).as_of.isoformat() == expected["as_of"]
    for outside in ("0001-01-01", "9999-12-31"):  # named, a usage error (was exit 2 unnamed)
        assert one_line_error(cli(path, "ar", "aging", "--as-of", outside), 2) == (
            "error: --as-of must be a date from 1900-01-01 to 2999-12-31")
    report = client.get("/v1/reports/ar-aging", headers=EHR).json()
    acme = next(row for row in report["insurance"] if row["payer"] == "acme")
    # AR002 is open at acme (aged from its submission, today); AR001 was answered
    assert acme["buckets"]["0-30"] == "125.00" and acme["total"] == "125.00"
    assert report["patient"]["total"] == "15.00"
    assert_problem(client.get("/v1/reports/ar-aging?by=clinic", headers=EHR), 422,
                   "validation-failed")
    # a date medbill takes at all: 9999-12-31 and 0001-01-01 overflowed (a 500)
    between = "must be a date from 1900-01-01 to 2999-12-31"
    for url, field in (("/v1/reports/ar-aging?as_of=9999-12-31", "query.as_of"),
                       ("/v1/reports/ar-aging?as_of=0001-01-01", "query.as_of"),
                       ("/v1/reports/kpi?to=9999-12-30", "query.to"),
                       ("/v1/reports/kpi?from=0001-01-01&to=2026-02-01", "query.from")):
        problem = assert_problem(client.get(url, headers=EHR), 422, "validation-failed")
        assert [(e["field"], e["message"]) for e in problem["errors"]] == [(field, between)]


def test_a_patients_balance_is_the_ledgers(client: TestClient, book: dict[str, Any],
                                           medbill_app: Medbill) -> None:
    balance = client.get(f"/v1/patients/{book['patient']}/balance", headers=EHR)
    assert balance.status_code == 200
    assert balance.json() == {"patient_id": book["patient"], "insurance": "125.00",
                              "patient": "15.00", "agency": "0.00", "total": "140.00"}
    with medbill_app.unit_of_work(read_only=True) as work:
        ledger = work.ledger.patient_balance(book["patient"])
    assert (ledger.insurance, ledger.patient) == (D("125.00"), D("15.00"))
    assert client.get(f"/v1/patients/{book['other']}/balance", headers=EHR).json()[
        "total"] == "125.00"
    assert_problem(client.get("/v1/patients/999/balance", headers=EHR), 404, "not-found")


def test_the_audit_trail_is_filtered_and_paged_newest_first(
        client: TestClient, book: dict[str, Any]) -> None:
    assert client.get(f"/v1/patients/{book['patient']}", headers=EHR).status_code == 200
    reads = client.get("/v1/audit?actor=key:ehr-sync", headers=AUDITOR).json()
    assert [(e["action"], e["entity_type"], e["entity_id"]) for e in reads["data"]] == [
        ("patient.read", "patient", str(book["patient"]))]
    created = client.get("/v1/audit?action=claim.create", headers=AUDITOR).json()["data"]
    assert [e["entity_id"] for e in created] == [str(i) for i in reversed(book["claims"])]
    assert all(e["actor"] == "tester" for e in created)
    seen: list[int] = []
    cursor = None
    while True:
        page = client.get("/v1/audit?entity_type=claim&limit=4"
                          + (f"&cursor={cursor}" if cursor else ""), headers=AUDITOR).json()
        seen += [event["id"] for event in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen, reverse=True) and len(seen) == len(set(seen)) > 4
    one = client.get(f"/v1/audit?entity_type=claim&entity_id={book['claims'][2]}",
                     headers=AUDITOR).json()["data"]
    assert [e["action"] for e in one] == ["claim.create"]
