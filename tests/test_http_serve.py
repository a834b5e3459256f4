"""``medbill serve``: a real uvicorn on 127.0.0.1 (a subprocess, called with httpx, then
stopped), and the refusal to listen beyond loopback without ``--allow-remote``."""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from cli_support import config_text, ok, one_line_error

from medbill_core.cli.serve_cmd import is_loopback


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def served_config(tmp_path: Path, medbill_db_url: str) -> Path:
    config = tmp_path / "medbill.toml"
    config.write_text(config_text(medbill_db_url), encoding="utf-8")
    ok(config, "db", "upgrade")
    return config


def _wait_until_up(base: str, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, server.communicate()[1]
        try:
            if httpx.get(f"{base}/v1/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("medbill serve did not answer within 60 s")


def _stop(server: subprocess.Popen[str]) -> str:
    """SIGTERM (killed if still running after 30 s); what it wrote to stderr, then to stdout
    (uvicorn's access lines)."""
    server.send_signal(signal.SIGTERM)
    try:
        out, err = server.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        out, err = server.communicate()
    return (err or "") + (out or "")


def test_medbill_serve_answers_on_loopback_and_stops_on_sigterm(served_config: Path) -> None:
    port = _free_port()
    medbill = Path(sys.executable).with_name("medbill")
    env = {name: value for name, value in os.environ.items() if not name.startswith("MEDBILL_")}
    server = subprocess.Popen([str(medbill), "--config", str(served_config), "serve",
                               "--port", str(port)], env=env, cwd=served_config.parent,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    has_identity = importlib.util.find_spec("medbill_core.services.identity") is not None
    try:
        _wait_until_up(base, server)
        assert httpx.get(f"{base}/v1/health").json() == {"status": "ok"}
        document = httpx.get(f"{base}/openapi.json").json()
        assert document["openapi"].startswith("3.1") and "/v1/claims" in document["paths"]
        anonymous = httpx.get(f"{base}/v1/claims")
        assert anonymous.status_code == 401
        assert anonymous.headers["content-type"] == "application/problem+json"
        assert anonymous.headers["www-authenticate"] == 'Bearer realm="medbill"'
        assert "server" not in anonymous.headers
        keyed = httpx.get(f"{base}/v1/claims", headers={"Authorization": "Bearer nope"})
        # without the identity service (part "identity" of issue 15) keys cannot be checked:
        # a safe 500; with it, an unknown key is a 401
        assert keyed.status_code == (401 if has_identity else 500)
        assert keyed.headers["content-type"] == "application/problem+json"
    finally:
        stderr = _stop(server)
    # uvicorn shuts down gracefully, then lets the signal end the process (as its default
    # handler would): the exit status says it was stopped by SIGTERM
    assert server.returncode == -signal.SIGTERM, stderr
    assert f"serving the API on http://127.0.0.1:{port}" in stderr
    assert "Traceback" not in stderr
    assert "ConfigurationError" in stderr or has_identity  # the 500's log record, by its id
    assert '"GET /v1/claims' not in stderr  # no access log unless asked for


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.9", "::1", "localhost", "[::1]"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "example.org"])
def test_other_hosts_are_not_loopback(host: str) -> None:
    assert not is_loopback(host)


def test_a_remote_host_needs_allow_remote_and_is_warned_about(
        served_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cli_support import cli

    refused = cli(served_config, "serve", "--host", "0.0.0.0")
    assert one_line_error(refused, 2) == (
        "error: --host 0.0.0.0 is not a loopback address: add --allow-remote to listen "
        "there, behind a TLS proxy")

    import uvicorn

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: calls.append(kwargs))
    served = cli(served_config, "serve", "--host", "0.0.0.0", "--port", "9999",
                 "--allow-remote")
    assert served.exit_code == 0, served.output
    assert calls == [{"host": "0.0.0.0", "port": 9999, "log_level": "warning",
                      "access_log": False, "server_header": False}]
    assert "warning: listening on 0.0.0.0: this server speaks plain HTTP" in served.stderr


def test_workers_share_the_port_and_stop_together(served_config: Path) -> None:
    """``--workers 2``: two uvicorn worker processes, each with its own medbill instance from
    the same configuration, answer on one port; an API key made by the CLI works in both;
    SIGTERM stops them all."""
    import json

    created = ok(served_config, "keys", "create", "--label", "workers", "--role", "biller",
                 "--json")
    token = json.loads(created.stdout)["token"]
    port = _free_port()
    medbill = Path(sys.executable).with_name("medbill")
    env = {name: value for name, value in os.environ.items() if not name.startswith("MEDBILL_")}
    server = subprocess.Popen([str(medbill), "--config", str(served_config), "serve",
                               "--port", str(port), "--workers", "2", "--access-log"], env=env,
                              cwd=served_config.parent, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, server)
        workers = _children(server.pid)
        answers = []
        for _ in range(20):  # new connections: the kernel spreads them over the workers
            with httpx.Client(base_url=base,
                              headers={"Authorization": f"Bearer {token}"}) as client:
                answers.append(client.get("/v1/claims?limit=7").status_code)
        assert answers == [200] * 20
        assert httpx.get(f"{base}/v1/claims").status_code == 401
    finally:
        stderr = _stop(server)
    assert len(workers) >= 2, workers
    assert f"serving the API on http://127.0.0.1:{port} in 2 worker processes" in stderr
    assert "Traceback" not in stderr, stderr
    # --access-log: a line per request (it logged none: uvicorn's level was set to warning),
    # the path without its query string (a filter may name a patient)
    assert stderr.count('"GET /v1/claims HTTP/1.1" 200') == 20, stderr
    assert "limit=7" not in stderr
    assert not _still_running(workers, within=10)


def _still_running(processes: dict[int, str], within: float) -> list[int]:
    """Those of ``processes`` (pid → start time) still running after waiting up to ``within``
    seconds. A child ends a moment after its parent (multiprocessing's resource tracker
    reads its pipe's end); a zombie has ended; a pid reused by a new process (another start
    time) is not ours."""
    deadline = time.monotonic() + within
    while True:
        running = [pid for pid, started in processes.items()
                   if (state := _process_state(pid)) is not None
                   and state[0] != "Z" and state[1] == started]
        if not running or time.monotonic() >= deadline:
            return running
        time.sleep(0.2)


def _process_state(pid: int) -> tuple[str, str] | None:
    """(state letter, start time) from /proc, or None once the process is gone."""
    fields = _stat_fields(Path(f"/proc/{pid}/stat"))
    return None if fields is None else (fields[0], fields[19])


def _children(parent: int) -> dict[int, str]:
    """The live processes whose parent is ``parent`` (Linux: /proc): pid → start time."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        fields = _stat_fields(stat)
        if fields is not None and int(fields[1]) == parent:
            found[int(stat.parent.name)] = fields[19]
    return found


def _stat_fields(stat: Path) -> list[str] | None:
    """The fields of a /proc/PID/stat after the command name (state, parent, ..., start time
    at 19), or None once the process is gone. The name may hold spaces and parentheses: the
    fields start after its last ``)``."""
    try:
        return stat.read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
