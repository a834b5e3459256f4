"""The whole cycle over HTTP only (issue 15's proof), with the X12 plugins and the
clearinghouse simulator on loopback: providers, patients, coverages and claims created
through the API, scrubbed, an eligibility check and an estimate asked, submitted (a job,
polled), the simulator's 999s, 277CAs and 835s uploaded through ``POST /v1/inbound-documents``
(the same file twice is applied once; a broken one is a 422 naming the segment), the
remittance and the patients' balances read back; and a webhook receiver on 127.0.0.1 that
fails each event's first two deliveries ends with every event once, each signed. On SQLite
and PostgreSQL."""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from medbill_demo.data import PROVIDERS, demo_patients, encounter_claim
from medbill_demo.runner import CHANNEL, demo_config
from medbill_demo.simulation import API_KEY, DemoClearinghouse

from medbill_core.app import Medbill
from medbill_core.domain import Coverage
from medbill_core.domain.identity import Role
from medbill_core.http import create_app
from medbill_core.http.resources.jobs import stop_jobs
from medbill_core.services import identity, webhooks
from medbill_core.services.webhook_signing import verify_signature
from medbill_core.storage.schema import utcnow
from medbill_core.testing.webhook_receiver import Receiver

#: demo patients 1 (Acme), 2 (Blue Cross) and 3 (Medicare, no secondary): one claim each
PATIENTS = (1, 2, 3)
X12 = "application/edi-x12"


def _without(model: Any, *names: str) -> dict[str, Any]:
    data: dict[str, Any] = model.model_dump(mode="json", exclude_none=True)
    for name in names:
        data.pop(name, None)
    return data


@pytest.fixture
def world(tmp_path: Path, medbill_db_url: str) -> Iterator[dict[str, Any]]:
    """The simulator, a fresh medbill on it, an API key, and a webhook receiver subscribed."""
    receiver = Receiver(fail_first=2).start()
    try:
        with DemoClearinghouse(tmp_path) as clearinghouse:
            app = Medbill.open(demo_config(tmp_path, clearinghouse.base_url, API_KEY,
                                           database_url=medbill_db_url), upgrade=True)
            try:
                with app.unit_of_work() as work:  # what `medbill keys create` does
                    administrator = identity.local_principal(work, app.config)
                    token = identity.create_key(work, administrator, "ehr-sync",
                                                Role.BILLING_MANAGER).token
                    subscription = webhooks.add_subscription(
                        work, receiver.url, [t for t in webhooks.EVENT_TYPES if t != "ping"])
                api = create_app(app)
                api.state.statements_dir = tmp_path / "statements"
                try:
                    with TestClient(api) as client:
                        client.headers["Authorization"] = f"Bearer {token}"
                        yield {"app": app, "client": client, "clearinghouse": clearinghouse,
                               "receiver": receiver, "secret": subscription.secret}
                finally:
                    stop_jobs(api)
            finally:
                app.close()
    finally:
        receiver.stop()


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _finished(client: TestClient, location: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        job: dict[str, Any] = _ok(client.get(location))
        if job["status"] in ("succeeded", "failed"):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.05)


def _upload_responses(app: Medbill, client: TestClient) -> list[dict[str, Any]]:
    """Take what the simulator has for us (its feed, through the channel plugin) and upload
    each file through the API; acknowledged to the simulator once applied."""
    outcomes = []
    channel = app.hooks.context.channel(CHANNEL)
    for _ in range(10):
        documents = app.hooks.fetch_responses(channel=CHANNEL)
        if not documents:
            break
        for document in documents:
            outcome = _ok(client.post("/v1/inbound-documents", content=document.content,
                                      headers={"Content-Type": X12}), 201)
            outcomes.append(outcome)
            app.hooks.acknowledge(channel, document)
    return outcomes


def _create_claims(client: TestClient) -> dict[int, int]:
    """Providers, the patients, their coverages and one claim each; {claim id: patient id}."""
    for provider in PROVIDERS:
        _ok(client.post("/v1/providers", json=_without(provider, "id")))
    rng = random.Random(15)
    demos = demo_patients(max(PATIENTS) + 1)
    claims = {}
    for number in PATIENTS:
        demo = demos[number]
        patient = _ok(client.post("/v1/patients", json=_without(
            demo.patient, "id", "merged_into_id")), 201)
        coverages = [_ok(client.post(f"/v1/patients/{patient['id']}/coverages",
                                     json=_without(coverage, "id", "patient_id")), 201)
                     for coverage in demo.coverages]
        primary = Coverage.model_validate(coverages[0])
        claim = encounter_claim(number, patient["id"], primary,
                                date.today() - timedelta(days=10), rng)
        if primary.payer_key == "medicare":  # Medicare wants the ordering provider on labs
            claim = claim.model_copy(update={"referring_provider_npi": PROVIDERS[1].npi})
        created = _ok(client.post("/v1/claims", json=_without(claim, "id", "state",
                                                              "frequency")), 201)
        scrubbed = _ok(client.post(f"/v1/claims/{created['id']}/scrub"))
        assert scrubbed["clean"] and scrubbed["state"] == "validated", scrubbed
        claims[created["id"]] = patient["id"]
    return claims


def test_the_whole_cycle_over_http_only(world: dict[str, Any]) -> None:
    app, client = world["app"], world["client"]
    claims = _create_claims(client)
    first_patient = next(iter(claims.values()))

    # before the visit: is the patient covered, and what will they owe?
    check = _ok(client.post("/v1/eligibility-checks", json={"patient_id": first_patient}))
    assert (check["status"], check["rejected"], check["payer"]) == ("active", False, "acme")
    estimate = _ok(client.post("/v1/estimates", json={
        "patient_id": first_patient, "services": [{"procedure_code": "99213",
                                                   "charge": "125.00"}]}))
    assert estimate["total_charge"] == "125.00" and estimate["payer_name"] == "Acme Health Plan"

    # submit: a job, polled until done
    never_sent = client.post(f"/v1/claims/{sorted(claims)[0]}/status-checks")
    assert never_sent.status_code == 409, never_sent.text
    assert never_sent.json()["type"] == "urn:medbill:problem:claim-state"
    submitted = client.post("/v1/claims/submit", json={"claim_ids": sorted(claims)},
                            headers={"Idempotency-Key": "submit-1"})
    assert submitted.status_code == 202, submitted.text
    job = _finished(client, submitted.headers["location"])
    assert job["status"] == "succeeded", job
    assert sorted(f["payer_key"] for f in job["result"]["files"]) == [
        "acme", "bluecross", "medicare"]
    assert {f["status"] for f in job["result"]["files"]} == {"sent"}

    # the acknowledgments, uploaded
    acks = _upload_responses(app, client)
    assert {a["kind"] for a in acks} >= {"999", "277CA"} and {a["status"] for a in acks} == {
        "applied"}
    states = {claim_id: _ok(client.get(f"/v1/claims/{claim_id}"))["state"]
              for claim_id in claims}
    assert set(states.values()) == {"accepted"}, states
    # where an accepted claim stands, asked of its payer (276/277 through the simulator)
    first_claim = sorted(claims)[0]
    status = _ok(client.post(f"/v1/claims/{first_claim}/status-checks"))
    assert status["claim_id"] == first_claim and status["statuses"], status
    assert all(len(s["meanings"]) == len(s["status_codes"]) for s in status["statuses"])

    # the same file again: its original outcome, nothing applied twice
    again = client.post("/v1/inbound-documents", content=_raw_document(app, acks[0]["id"]),
                        headers={"Content-Type": X12})
    assert again.status_code == 200 and again.json() == acks[0]
    # a broken file: 422 naming the segment, nothing stored as applied
    broken = _raw_document(app, acks[0]["id"]).replace("GS*", "GX*", 1)
    problem = client.post("/v1/inbound-documents", content=broken,
                          headers={"Content-Type": X12})
    assert problem.status_code == 422, problem.text
    assert problem.json()["type"] == "urn:medbill:problem:undecodable-document"
    assert "segment 2" in problem.json()["detail"], problem.json()

    # the payers pay: the 835s, uploaded
    assert world["clearinghouse"].payment_run() >= 1
    remits = _upload_responses(app, client)
    assert {r["kind"] for r in remits} == {"835"} and {r["status"] for r in remits} == {
        "applied"}
    assert all(r["detail"].startswith("835 ") for r in remits)
    states = {claim_id: _ok(client.get(f"/v1/claims/{claim_id}"))["state"]
              for claim_id in claims}
    assert set(states.values()) <= {"paid", "patient_balance", "closed"}, states

    # the remittances and the patients' balances, read through the API
    listed = _ok(client.get("/v1/remittances"))["data"]
    assert len(listed) == len(remits) and {r["difference"] for r in listed} == {"0.00"}
    paid_claims = set()
    for remittance in listed:
        detail = _ok(client.get(f"/v1/remittances/{remittance['id']}"))
        paid_claims |= {c["claim_id"] for c in detail["claims"]}
        assert sum(Decimal(c["paid"]) for c in detail["claims"]) == Decimal(
            remittance["posted_total"])
    assert paid_claims == set(claims)
    for claim_id, patient_id in claims.items():
        balance = _ok(client.get(f"/v1/patients/{patient_id}/balance"))
        assert Decimal(balance["insurance"]) == 0, (claim_id, balance)
        assert Decimal(balance["total"]) == Decimal(balance["patient"]) >= 0
    documents = _ok(client.get("/v1/inbound-documents?channel=api&limit=500"))["data"]
    assert len(documents) == len(acks) + len(remits) + 1  # the broken one, undecodable
    assert [d["status"] for d in documents].count("undecodable") == 1

    # webhooks, delivered as `medbill webhooks deliver` and the workers do; the receiver
    # refuses each event's first two deliveries
    rounds = [webhooks.run_due(app, now=utcnow() + timedelta(minutes=minutes), limit=10000)
              for minutes in (0, 2, 10)]
    assert [{o.status for o in outcomes} for outcomes in rounds] == [
        {"failed"}, {"failed"}, {"delivered"}]
    receiver = world["receiver"]
    accepted = receiver.accepted()
    assert len(accepted) == len(rounds[2]) and len(receiver.requests) == 3 * len(accepted)
    assert max(Counter(r.event_id for r in accepted).values()) == 1
    assert all(verify_signature(world["secret"], r.headers["Medbill-Signature"], r.body)
               for r in receiver.requests)
    types = Counter(json.loads(r.body)["type"] for r in accepted)
    assert types["claim.submitted"] == types["claim.accepted"] == len(claims), types
    assert types["remittance.posted"] == len(remits), types
    assert types["claim.paid"] + types["claim.denied"] >= 1, types
    # nothing is left to deliver
    assert webhooks.run_due(app, now=utcnow() + timedelta(hours=1)) == []


def _raw_document(app: Medbill, document_id: int) -> str:
    """An uploaded document's content as stored (the API does not send it back)."""
    from medbill_core.storage.schema import InboundDocumentRow

    with app.database.reader() as session:
        row = session.get(InboundDocumentRow, document_id)
        assert row is not None
        return row.content
