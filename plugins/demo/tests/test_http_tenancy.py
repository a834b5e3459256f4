"""Tenant isolation over HTTP, generated from the app's route table: a new route is covered
without editing this file (a route with a path parameter this file cannot fill fails it).

The demo's whole cycle fills its practice (``default``) with every kind of record; a second
practice, empty, gets an administrator key. Through every route:

* with the demo practice's identifiers, the other practice's key gets 404 -- on reads and on
  changes (a change whose body is refused first gets 422: then nothing changed either, which
  the test checks by the demo practice's row counts);
* the same requests with the demo practice's own key do not get 404 (the ids are real: the
  test could fail);
* every list answers the other practice with no item, and the demo practice with some
  (but the lists of the installation's shared reference data: the payers).
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from medbill_demo.runner import run_demo
from rich.console import Console
from sqlalchemy import func, select

from medbill_core.app import Medbill
from medbill_core.config import load_config
from medbill_core.domain.identity import Principal, PrincipalKind, Role
from medbill_core.http.app import create_app
from medbill_core.http.resources.claim_actions import NewClaim
from medbill_core.http.route_table import RouteAction, route_actions
from medbill_core.services.identity import add_practice, create_key
from medbill_core.services.webhooks import add_subscription
from medbill_core.services.work_queues import read_summaries
from medbill_core.storage import schema

#: a path parameter -> the table whose ids it takes (a route with another parameter fails
#: the test until it is added here)
ID_TABLES: dict[str, Any] = {
    "claim_id": schema.ClaimRow,
    "patient_id": schema.PatientRow,
    "coverage_id": schema.CoverageRow,
    "provider_id": schema.ProviderRow,
    "guarantor_id": schema.GuarantorRow,
    "remittance_id": schema.RemittanceRow,
    "payment_id": schema.PaymentRow,
    "plan_id": schema.PaymentPlanRow,
    "statement_id": schema.StatementRow,
    "appeal_id": schema.AppealRow,
    "denial_id": schema.DenialRow,
    "document_id": schema.InboundDocumentRow,
    "submission_id": schema.SubmissionRow,
    "practice_id": schema.PracticeRow,
    "subscription_id": schema.WebhookSubscriptionRow,
    "job_id": schema.JobRow,
    "item_id": schema.WorkItemRow,
    "import_id": schema.ClaimImportRow,
    "application_id": schema.AssistanceApplicationRow,
    "card_payment_id": schema.CardPaymentRow,
    # issue 18
    "write_off_id": schema.WriteOffRequestRow,
    "placement_id": schema.CollectionPlacementRow,
    "check_id": schema.RefundCheckRow,
    "refund_request_id": schema.PayerRefundRequestRow,
    "notification_id": schema.NotificationRow,
    "referral_id": schema.FinancingReferralRow,
    "link_id": schema.PayLinkRow,
}
#: path parameters that are not record ids (their values are made up, any answer but 500):
#: ``rest``, the workspace's page of any address it does not have; ``doc``, a claim's
#: document by its name (``sent-3``: the claim page checks the claim first, then the name);
#: ``kpi``, a KPI's name (its claims are a list, scoped like every list: tests/test_kpi.py
#: checks another practice's); ``queue``, a work queue's name; ``number``, an accounting batch's
#: number (each practice counts its own from 1: tests/test_accounting_http.py checks another
#: practice's); ``role``, a chart-of-accounts role; ``identifier``, a payment gateway's (its
#: webhook route needs no key: the signature is checked, then the payment's practice acts) or
#: a financing lender's (its callback route likewise)
NOT_IDS: set[str] = {"rest", "doc", "kpi", "queue", "number", "role", "identifier"}
#: the practice's records whose counts must not change under the other practice's requests
COUNTED = (schema.ClaimRow, schema.PatientRow, schema.CoverageRow, schema.PaymentRow,
           schema.PaymentPlanRow, schema.StatementRow, schema.AppealRow,
           schema.GuarantorRow, schema.ProviderRow, schema.LedgerEntryRow,
           schema.ClaimTransitionRow, schema.InboundDocumentRow, schema.RemittanceRow)
#: lists of what every practice of the installation shares (configured payers)
SHARED_LISTS = {"/v1/payers"}
_PARAMETER = re.compile(r"{([a-z_]+)(?::[a-z]+)?}")


class Demo:
    def __init__(self, medbill: Medbill, client: TestClient, demo_key: str, other_key: str,
                 ids: dict[str, int]) -> None:
        self.medbill = medbill
        self.client = client
        self.demo_key = demo_key
        self.other_key = other_key
        self.ids = ids

    def call(self, method: str, path: str, key: str, **kwargs: Any) -> Any:
        return self.client.request(method, path, headers={"Authorization": f"Bearer {key}"},
                                   **kwargs)

    def counts(self) -> dict[str, int]:
        with self.medbill.database.reader() as session:
            return {table.__tablename__: session.scalar(
                select(func.count()).select_from(table)) for table in COUNTED}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, medbill_backend: str,
         request: pytest.FixtureRequest) -> Iterator[Demo]:
    out = tmp_path_factory.mktemp("tenancy") / "demo"
    server, url = None, None
    name = f"medbill_tenancy{os.environ.get('PYTEST_XDIST_WORKER', '')}"
    if medbill_backend != "sqlite":
        server = request.getfixturevalue("medbill_postgres")
        url = server.create_database(name)
    run_demo(out, 16, console=Console(file=io.StringIO(), width=120), database_url=url)
    config = load_config(out / "medbill.toml")
    if url is not None:
        config = config.model_copy(update={"database_url": url})
    medbill = Medbill.open(config)
    demo_practice = medbill.default_practice_id()
    assert demo_practice is not None
    installer = Principal(kind=PrincipalKind.USER, id=0, name="installer",
                          practice_id=demo_practice, role=Role.ADMINISTRATOR, bootstrap=True)
    with medbill.unit_of_work(principal=installer) as work:
        add_practice(work, installer, "other", "Other Practice")
        add_subscription(work, "https://ehr.example.com/hooks", ["claim.paid"])
        # financial assistance (issue 18): an application, so its routes are walked too
        from medbill_core.services.financial_assistance import apply as apply_for_assistance

        guarantor = work.session.scalar(select(func.min(schema.GuarantorRow.id)))
        assert guarantor is not None  # the demo's statements have guarantors
        apply_for_assistance(work, guarantor, household_size=2,
                             annual_income=Decimal("1000.00"), state="IL",
                             applied_on=date.today())
        demo_key = create_key(work, installer, "demo-admin", Role.ADMINISTRATOR).token
        other_key = create_key(work, installer, "other-admin", Role.ADMINISTRATOR,
                               practice_code="other").token
    read_summaries(medbill, installer)  # the demo's work items: their routes are walked too
    ids: dict[str, int] = {}
    with medbill.database.reader() as session:  # the installation's view: every practice
        for name, table in ID_TABLES.items():
            of_practice = table.id if table is schema.PracticeRow else table.practice_id
            found = session.scalar(select(func.min(table.id)).where(
                of_practice == demo_practice))
            if found is not None:
                ids[name] = found
    try:
        with TestClient(create_app(medbill)) as client:
            yield Demo(medbill, client, demo_key, other_key, ids)
    finally:
        medbill.close()
        if server is not None:
            server.drop_database(name)


def _routes(demo: Demo) -> list[RouteAction]:
    """Every method of every route: the route table the role test and the docs read."""
    app = demo.client.app
    assert isinstance(app, FastAPI)
    return route_actions(app)


def _filled(demo: Demo, path: str) -> str | None:
    """The path with the demo practice's ids; None when the demo made no such record."""
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in NOT_IDS:
            return "1"
        assert name in ID_TABLES, f"path parameter {name!r} of {path}: add its table to " \
                                  "ID_TABLES (or NOT_IDS)"
        if name not in demo.ids:
            raise LookupError(name)
        return str(demo.ids[name])
    try:
        return _PARAMETER.sub(fill, path)
    except LookupError:
        return None


def test_another_practices_records_answer_404_on_every_route(demo: Demo) -> None:
    before = demo.counts()
    checked = []
    for route in _routes(demo):
        method = route.method
        if not _PARAMETER.search(route.path) or set(_PARAMETER.findall(route.path)) <= NOT_IDS:
            continue
        path = _filled(demo, route.path)
        if path is None:
            continue
        answer = demo.call(method, path, demo.other_key, json={})
        allowed = {404} if method in ("GET", "DELETE") else {404, 422}
        assert answer.status_code in allowed, (method, route.path, answer.status_code,
                                               answer.text[:300])
        # a page (the workspace's, outside the OpenAPI document) answers with an HTML page
        expected = "text/html" if route.page else "application/problem+json"
        assert answer.headers["content-type"].startswith(expected), (method, route.path)
        checked.append((method, route.path))
        if method == "GET":  # the ids are real: the demo's own key reads them
            own = demo.call(method, path, demo.demo_key)
            assert own.status_code != 404, (route.path, own.text[:300])
    assert demo.counts() == before
    assert len(checked) >= 10, checked


def test_lists_never_show_another_practices_rows(demo: Demo) -> None:
    listed = 0
    seen_some = []
    for route in _routes(demo):
        method = route.method
        if method != "GET" or _PARAMETER.search(route.path):
            continue
        answer = demo.call("GET", route.path, demo.other_key)
        if answer.status_code != 200 or not answer.headers["content-type"].startswith(
                "application/json"):
            continue
        body = answer.json()
        if not isinstance(body, dict) or "data" not in body or route.path in SHARED_LISTS:
            continue
        if route.path == "/v1/practices":  # its own practice, and only that
            assert [item["code"] for item in body["data"]] == ["other"]
            continue
        listed += 1
        assert body["data"] == [], (route.path, body["data"][:2])
        own = demo.call("GET", route.path, demo.demo_key).json()
        if own.get("data"):
            seen_some.append(route.path)
    assert listed >= 5
    assert {"/v1/claims", "/v1/patients"} <= set(seen_some), seen_some


def test_another_practices_ids_in_a_body_are_not_found(demo: Demo) -> None:
    """Records named in a request's body, not its path: a payment for the demo's patient, a
    plan, an appeal of its claim, a claim for its patient: as if they did not exist."""
    before = demo.counts()
    patient, claim = demo.ids["patient_id"], demo.ids["claim_id"]
    with demo.medbill.unit_of_work(read_only=True) as work:
        template = work.claims.get(claim).model_dump(mode="json")
    for path, body in (
            ("/v1/payments", {"patient_id": patient, "amount": "5.00"}),
            ("/v1/plans", {"patient_id": patient, "total": "30.00", "installments": 3,
                           "start": template["service_date_from"], "confirm_date": True}),
            ("/v1/appeals", {"claim_id": claim, "reason": "medically necessary"}),
            ("/v1/claims", {**{k: v for k, v in template.items()
                               if k in NewClaim.model_fields}, "claim_number": "OTHER00001"})):
        answer = demo.call("POST", path, demo.other_key, json=body)
        if path == "/v1/claims":  # a claim's references are checked as its fields are
            assert answer.status_code == 422, answer.text[:300]
            assert answer.json()["errors"][0]["message"] == "no such patient"
        else:
            assert answer.status_code == 404, (path, answer.status_code, answer.text[:300])
    assert demo.counts() == before
