"""The accounting export over HTTP, on both databases: the manager exports (201, the batch;
200 and null when nothing is new), its file is the same bytes each time, the chart is named
per practice; a biller may not export, an auditor reads the batches, and another practice
sees none of them."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from test_accounting_export import a_month, iif_totals, parse_iif
from test_http_api import AUDITOR, EHR, MANAGER, assert_problem, fake_authenticate

from medbill_core.app import Medbill
from medbill_core.http import create_app
from medbill_core.services.accounting_export import export_batch, list_batches
from medbill_core.services.accounting_formats import ExportFormat
from medbill_core.storage.schema import PracticeRow


@pytest.fixture
def client(medbill_app: Medbill) -> Iterator[TestClient]:
    a_month(medbill_app)
    with TestClient(create_app(medbill_app, authenticate=fake_authenticate)) as test_client:
        yield test_client


def test_the_manager_exports_and_fetches_the_file(client: TestClient) -> None:
    answer = client.post("/v1/accounting/batches", headers=MANAGER,
                         json={"format": "iif", "from": "2026-11-01", "to": "2026-11-30"})
    assert answer.status_code == 201, answer.text
    batch = answer.json()["batch"]
    assert answer.headers["location"] == "/v1/accounting/batches/1"
    assert (batch["number"], batch["format"], batch["from"], batch["debits"],
            batch["credits"]) == (1, "iif", "2026-11-01", "1134.50", "1134.50")
    nothing = client.post("/v1/accounting/batches", headers=MANAGER, json={"format": "qbo"})
    assert (nothing.status_code, nothing.json()) == (200, {"batch": None})
    first = client.get("/v1/accounting/batches/1/file", headers=MANAGER)
    second = client.get("/v1/accounting/batches/1/file", headers=MANAGER)
    assert first.status_code == 200 and first.content == second.content
    assert first.headers["content-type"].startswith("text/plain")
    assert 'filename="medbill-batch-1.iif"' in first.headers["content-disposition"]
    assert iif_totals(parse_iif(first.content.decode("utf-8")))["Undeposited Funds"] \
        == Decimal("407.15")
    listed = client.get("/v1/accounting/batches", headers=AUDITOR).json()["data"]
    assert [(b["number"], b["sha256"]) for b in listed] == [(1, batch["sha256"])]
    assert client.get("/v1/accounting/batches/1", headers=AUDITOR).json()["number"] == 1
    assert_problem(client.get("/v1/accounting/batches/2", headers=AUDITOR), 404, "not-found")


def test_who_may_do_what(client: TestClient) -> None:
    assert_problem(client.post("/v1/accounting/batches", headers=EHR, json={"format": "iif"}),
                   403, "permission-denied")
    assert_problem(client.get("/v1/accounting/batches", headers=EHR), 403,
                   "permission-denied")
    assert_problem(client.put("/v1/accounting/accounts/revenue", headers=AUDITOR,
                              json={"name": "Fee Income"}), 403, "permission-denied")
    assert_problem(client.post("/v1/accounting/batches", headers=MANAGER,
                               json={"format": "xls"}), 422, "validation-failed")
    assert_problem(client.post("/v1/accounting/batches", headers=MANAGER,
                               json={"format": "iif", "from": "2026-11-30",
                                     "to": "2026-11-01"}), 422, "validation-failed")


def test_the_chart_over_http(client: TestClient) -> None:
    named = client.put("/v1/accounting/accounts/revenue", headers=MANAGER,
                       json={"name": "Fee Income"})
    assert named.status_code == 200 and named.json()["account"] == "Fee Income"
    assert_problem(client.put("/v1/accounting/accounts/revenue", headers=MANAGER,
                              json={"name": "=SUM(A1)"}), 422, "validation-failed")
    assert_problem(client.put("/v1/accounting/accounts/bank", headers=MANAGER,
                              json={"name": "Checking"}), 422, "validation-failed")
    chart = client.get("/v1/accounting/accounts", headers=AUDITOR).json()["accounts"]
    assert {a["role"]: a["account"] for a in chart}["revenue"] == "Fee Income"
    back = client.delete("/v1/accounting/accounts/revenue", headers=MANAGER).json()
    assert (back["account"], back["custom"]) == ("Patient Service Revenue", False)


def test_another_practice_sees_no_batch(medbill_app: Medbill, client: TestClient) -> None:
    with medbill_app.unit_of_work() as work:
        assert export_batch(work, ExportFormat.CSV) is not None
    with medbill_app.unit_of_work() as work:
        row = PracticeRow(code="other", name="Other Clinic")
        work.session.add(row)
        work.session.flush()
        other = row.id
    with medbill_app.unit_of_work(practice_id=other) as work:
        assert export_batch(work, ExportFormat.CSV) is None  # none of the first's postings
    with medbill_app.unit_of_work(practice_id=other, read_only=True) as work:
        assert list_batches(work) == []
    with medbill_app.unit_of_work(read_only=True) as work:
        assert [batch.number for batch in list_batches(work)] == [1]
