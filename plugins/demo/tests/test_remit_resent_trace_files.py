"""An 835 file the X12 engine wrote, posted, then the same payer and trace (TRN02) re-sent with
one claim's paid amount changed: ``remit post --json``, ``responses fetch --json`` and the
received document in the HTTP API (uploaded, then read back) each give the claim that differs
as data, the figures its trace posted and the file's (CLP02, paid, adjustments), and the
ledger keeps what the trace posted (the differences were only words in a summary line)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from remit_support import (
    claim_number,
    open_app,
    paid,
    remittance,
    seed_claims,
    write_config,
    x12_835,
)

from medbill_core.domain import DocumentKind, InboundDocument
from medbill_core.domain.identity import Role
from medbill_core.http import create_app
from medbill_core.pluginctx import PluginContext
from medbill_core.plugins import PluginHooks
from medbill_core.services import identity
from medbill_core.testing.cli import cli, ok

TRACE = "EFT-RESENT"
X12 = {"Content-Type": "application/edi-x12"}


def _figures(status: str, paid_amount: str, contractual: str) -> dict[str, Any]:
    return {"status": status, "paid": paid_amount, "adjustments": [
        {"group_code": "CO", "reason_code": "45", "amount": contractual},
        {"group_code": "PR", "reason_code": "2", "amount": "20.00"}]}


def _expected(number: str) -> list[dict[str, Any]]:
    """The claim's answer posted paid 100.00 (CO-45 23.50); the file has 90.00 (CO-45 33.50)."""
    return [{"claim_number": number, "trace_number": TRACE,
             "posted": _figures("1", "100.00", "23.50"),
             "in_file": _figures("1", "90.00", "33.50"),
             "message": (f"claim {number}: 835 {TRACE} posted CLP02 1, paid 100.00, adjustments "
                         "CO-45 23.50 PR-2 20.00; this file has CLP02 1, paid 90.00, adjustments "
                         "CO-45 33.50 PR-2 20.00: not posted (the trace is posted already; the "
                         "payer corrects an answer with a reversal and a new trace)")}]


def _ledger(database: Path) -> list[tuple[Any, ...]]:
    """Every ledger entry as stored (what a re-sent trace must leave alone)."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        return connection.execute("SELECT * FROM ledger_entries ORDER BY id").fetchall()


@pytest.fixture
def posted(cli_isolation: None, tmp_path: Path) -> tuple[Path, Path]:
    """A practice with two accepted claims, both paid by the first 835 of the trace."""
    database = tmp_path / "medbill.db"
    config = write_config(tmp_path, database)
    ok(config, "db", "upgrade")
    app = open_app(config)
    try:
        seed_claims(app, 2)
    finally:
        app.close()
    first = tmp_path / "first.835"
    first.write_text(x12_835(remittance(TRACE, [paid(claim_number(0)), paid(claim_number(1))])),
                     encoding="utf-8")
    data = json.loads(ok(config, "remit", "post", str(first), "--json").stdout)
    assert (data["status"], data["differing"]) == ("applied", [])
    return config, database


def _resent(folder: Path) -> Path:
    """The same trace again, claim 0 paid 90.00 instead of 100.00 (balanced: CO-45 grows)."""
    path = folder / "resent.835"
    path.write_text(x12_835(remittance(TRACE, [paid(claim_number(0), amount="90.00"),
                                               paid(claim_number(1))])), encoding="utf-8")
    return path


def test_remit_post_gives_the_differences_as_data(posted: tuple[Path, Path],
                                                   tmp_path: Path) -> None:
    config, database = posted
    before = _ledger(database)
    result = cli(config, "remit", "post", str(_resent(tmp_path)), "--json")
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert (data["kind"], data["status"]) == ("835", "applied")
    assert data["differing"] == _expected(claim_number(0))
    assert result.stderr.strip().splitlines() == [
        f"error: {_expected(claim_number(0))[0]['message']}"]
    assert _ledger(database) == before
    balances = {c["claim_number"]: (c["insurance_balance"], c["patient_balance"]) for c in
                json.loads(ok(config, "claims", "list", "--json").stdout)["claims"]}
    assert balances[claim_number(0)] == ("0.00", "20.00")


def test_responses_fetch_gives_the_differences_as_data(
        posted: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The re-sent 835 arrives through a channel (its feed stood in for: the file is real)."""
    config, database = posted
    before = _ledger(database)
    content = _resent(tmp_path).read_text(encoding="utf-8")
    acknowledged: list[str] = []
    monkeypatch.setattr(PluginHooks, "fetch_responses", lambda self, channel: [InboundDocument(
        channel=channel, document_id="feed-1", kind=DocumentKind.REMITTANCE_835,
        content=content)])
    monkeypatch.setattr(PluginContext, "channel", lambda self, identifier: identifier)
    monkeypatch.setattr(PluginHooks, "acknowledge",
                        lambda self, channel, document: acknowledged.append(document.document_id))
    result = cli(config, "responses", "fetch", "--channel", "feed", "--json")
    assert result.exit_code == 1, result.output
    [document] = json.loads(result.stdout)
    assert (document["document_id"], document["status"]) == ("feed-1", "applied")
    assert document["differing"] == _expected(claim_number(0))
    assert result.stderr.strip().splitlines() == [
        f"error: {_expected(claim_number(0))[0]['message']}"]
    assert acknowledged == ["feed-1"]
    assert _ledger(database) == before


def test_the_api_gives_the_differences_as_data(posted: tuple[Path, Path],
                                               tmp_path: Path) -> None:
    config, database = posted
    before = _ledger(database)
    content = _resent(tmp_path).read_text(encoding="utf-8")
    app = open_app(config)
    try:
        with app.unit_of_work() as work:  # what `medbill keys create` does
            token = identity.create_key(work, identity.local_principal(work, app.config),
                                        "ehr-sync", Role.BILLING_MANAGER).token
        with TestClient(create_app(app)) as client:
            client.headers["Authorization"] = f"Bearer {token}"
            answer = client.post("/v1/inbound-documents", headers=X12, content=content)
            assert answer.status_code == 201, answer.text
            uploaded = answer.json()
            assert (uploaded["kind"], uploaded["status"]) == ("835", "applied")
            assert uploaded["differing"] == _expected(claim_number(0))
            # read back later, and the same file again: the same differences
            read = client.get(f"/v1/inbound-documents/{uploaded['id']}")
            assert read.status_code == 200 and read.json() == uploaded
            again = client.post("/v1/inbound-documents", headers=X12, content=content)
            assert (again.status_code, again.json()) == (200, uploaded)
            listed = client.get("/v1/inbound-documents").json()["data"]
            assert [d["differing"] for d in listed if d["id"] == uploaded["id"]] == [
                _expected(claim_number(0))]
            assert [d["differing"] for d in listed if d["id"] != uploaded["id"]] == [[]]
            schema = client.get("/openapi.json").json()["components"]["schemas"]
            assert schema["InboundDocumentOut"]["properties"]["differing"]["items"] == {
                "$ref": "#/components/schemas/DifferingFiguresOut"}
            assert set(schema["AnswerFiguresOut"]["properties"]) == {
                "status", "paid", "adjustments"}
    finally:
        app.close()
    assert _ledger(database) == before
