"""The server as a process: restarts keep state, the CLI, loopback only, no PHI in logs."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from chm_support import api_key, claim, fresh_member_id, suite_config, x270, x276, x837
from medbill_clearinghouse_mock.cli import app as cli_app
from medbill_clearinghouse_mock.simulator.config import default_config, load_simulator_config
from medbill_clearinghouse_mock.simulator.server import BackgroundServer, free_port
from typer.testing import CliRunner

from medbill_core.api import ConfigurationError

KEY = api_key("acct01")


def _client(server: BackgroundServer) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, timeout=10,
                        headers={"Authorization": f"Bearer {KEY}"})


def test_restart_loses_nothing(tmp_path: Path) -> None:
    state = tmp_path / "restart.db"
    text = x837([claim("RST1", member_id=fresh_member_id())]).encode()
    headers = {"Idempotency-Key": "restart-1"}
    with BackgroundServer(suite_config(), state) as first, _client(first) as http:
        submitted = http.post("/v1/claims/batches", content=text, headers=headers).json()
        before = http.get("/v1/responses").json()["documents"]
        http.post(f"/v1/responses/{before[0]['document_id']}/ack")
    with BackgroundServer(suite_config(), state) as second, _client(second) as http:
        after = http.get("/v1/responses").json()["documents"]
        assert [d["document_id"] for d in after] == [before[1]["document_id"]]
        again = http.post("/v1/claims/batches", content=text, headers=headers)
        assert again.json()["submission_id"] == submitted["submission_id"]
        assert again.headers["idempotent-replayed"] == "true"
        other = http.post("/v1/claims/batches", headers={"Idempotency-Key": "restart-2"},
                          content=x837([claim("RST2", member_id=fresh_member_id())]).encode())
        assert other.json()["submission_id"] != submitted["submission_id"]
        assert http.post("/v1/payment-runs").json()["remittances"][0]["claim_payments"] == 2


def test_only_loopback_addresses(tmp_path: Path) -> None:
    for host in ("0.0.0.0", "10.1.2.3", "192.168.1.1", "example.org"):
        with pytest.raises(ConfigurationError, match="loopback|IP address"):
            BackgroundServer(suite_config(), tmp_path / "x.db", host=host)


def test_no_phi_in_logs_or_request_log(server, caplog) -> None:  # type: ignore[no-untyped-def]
    phi = ["ZEPHYRINE", "QUIXBY", "PHIMEMBER77", "19800228"]
    caplog.set_level(logging.DEBUG)
    with _client(server) as http:
        text = x837([claim("PHI1", member_id="PHIMEMBER77", patient_last="QUIXBY",
                           patient_first="ZEPHYRINE"),
                     claim("PHI2", member_id="UNKNOWNPHIMEMBER77", patient_last="QUIXBY",
                           patient_first="ZEPHYRINE")])
        http.post("/v1/claims/batches", content=text.encode(), headers={"Idempotency-Key": "phi"})
        http.post("/v1/claims/batches", content=b"ISA*QUIXBY", headers={"Idempotency-Key": "p2"})
        http.post("/v1/eligibility", content=x270("PHIMEMBER77", last="QUIXBY",
                                                  first="ZEPHYRINE").encode())
        http.post("/v1/claim-status", content=x276(member_id="PHIMEMBER77",
                                                   claim_number="PHI1").encode())
        http.post("/v1/payment-runs")
        http.get("/v1/responses")
    records = [r.getMessage() for r in caplog.records]
    assert any("submission sub-" in m for m in records)
    assert any(" POST /v1/claims/batches -> 202" in m for m in records)
    for message in records:
        for value in phi:
            assert value not in message
    store = server.simulator.store
    with store.transaction() as connection:
        rows = [dict(r) for r in connection.execute("SELECT * FROM request_log")]
    assert {"method", "path", "status", "request_bytes", "response_bytes"} <= set(rows[0])
    assert any(r["path"] == "/v1/eligibility" and r["status"] == 200 for r in rows)
    flat = json.dumps(rows)
    for value in phi:
        assert value not in flat


def test_request_log_records_injected_faults(server) -> None:  # type: ignore[no-untyped-def]
    with _client(server) as http:
        http.put("/v1/test/faults", json=[{"endpoint": "eligibility", "kind": "status",
                                           "status": 503, "first": 1}])
        try:
            assert http.post("/v1/eligibility", content=b"x").status_code == 503
        finally:
            http.delete("/v1/test/faults")
    # the log row is written after the answer has gone out: wait for it (bounded)
    deadline = time.monotonic() + 5.0
    row: tuple[object, ...] = ()
    while time.monotonic() < deadline:
        with server.simulator.store.transaction() as connection:
            found = connection.execute(
                "SELECT status, fault FROM request_log WHERE path = ? AND fault IS NOT NULL "
                "ORDER BY id DESC LIMIT 1", ("/v1/eligibility",)).fetchone()
        if found is not None:
            row = tuple(found)
            break
        time.sleep(0.02)
    assert row == (503, "status:before")


def test_cli_default_config_round_trips(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli_app, ["default-config"])
    assert result.exit_code == 0
    path = tmp_path / "sim.json"
    path.write_text(result.output)
    assert load_simulator_config(path) == default_config()


def test_cli_refuses_a_non_loopback_host() -> None:
    result = CliRunner().invoke(cli_app, ["serve", "--host", "0.0.0.0", "--port", "1"])
    assert result.exit_code == 2
    assert "loopback" in result.output
    assert "Traceback" not in result.output


def test_cli_reports_a_bad_config_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[payers]]\npayer_id = "X"\n')
    result = CliRunner().invoke(cli_app, ["serve", "--config", str(bad)])
    assert result.exit_code == 2
    assert "payers" in result.output


def test_serve_as_a_real_process(tmp_path: Path) -> None:
    """``python -m medbill_clearinghouse_mock serve`` with a config file, on a free port."""
    config = tmp_path / "sim.json"
    config.write_text(suite_config().model_dump_json())
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "medbill_clearinghouse_mock", "serve", "--port", str(port),
         "--state", str(tmp_path / "proc.db"), "--config", str(config), "--log-level",
         "warning"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 20
        health = None
        while time.monotonic() < deadline:  # bounded by time
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert health is not None and health.status_code == 200
        answer = httpx.post(f"http://127.0.0.1:{port}/v1/eligibility",
                            content=x270("ROSTER0001").encode(),
                            headers={"Authorization": f"Bearer {KEY}"}, timeout=5)
        assert answer.status_code == 200 and answer.headers["x-document-kind"] == "271"
    finally:
        process.terminate()
        process.wait(timeout=15)
    assert (tmp_path / "proc.db").exists()


def test_medbill_cli_has_the_clearinghouse_commands(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from medbill_core.api.testing import command_line_app

    medbill_toml = tmp_path / "medbill.toml"
    medbill_toml.write_text('[medbill]\nplugins = ["clearinghouse_mock"]\n'
                            '[plugins.clearinghouse_mock]\nbase_url = "http://127.0.0.1:8035"\n')
    monkeypatch.chdir(tmp_path)
    argv = ["clearinghouse", "default-config"]
    app = command_line_app(argv)
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["clearinghouse_id"] == "MOCKCH"
