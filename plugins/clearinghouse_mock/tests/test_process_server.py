"""The simulator in a child process (ProcessServer): a real process on 127.0.0.1 that serves
submissions, stops on request, says in one line why it did not start, and never outlives the
program that started it."""

from __future__ import annotations

import os
import socket
import ssl
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from chm_support import api_key, claim, fresh_member_id, suite_config, x837
from medbill_clearinghouse_mock.simulator.process import ProcessServer, SimulatorStartError
from medbill_clearinghouse_mock.simulator.server import TlsFiles

ACCOUNT = "acct01"
KEY = api_key(ACCOUNT)
PHI = ["ZEPHYRINE", "QUIXBY", "PHIMEMBER88", "19800228"]

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(),
                                reason="process checks read /proc")


def _alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie waiting for its reaper has ended)."""
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat_line.rpartition(")")[2].split()[0] not in ("Z", "X")


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:  # bounded by time
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def _one_line(error: pytest.ExceptionInfo[SimulatorStartError]) -> str:
    message = str(error.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_starts_serves_a_submission_and_stops(tmp_path: Path) -> None:
    state = tmp_path / "sim.db"
    text = x837([claim("PROC1", member_id="PHIMEMBER88", patient_last="QUIXBY",
                       patient_first="ZEPHYRINE")])
    with ProcessServer(suite_config(), state) as server:
        pid = server.pid
        assert pid is not None and pid != os.getpid() and _alive(pid)
        assert server.base_url == f"http://127.0.0.1:{server.port}"
        # the configuration file (it holds the keys) is gone once the child has read it
        assert [p.name for p in tmp_path.iterdir() if "config" in p.name] == []
        with httpx.Client(base_url=server.base_url, timeout=10,
                          headers={"Authorization": f"Bearer {KEY}"}) as http:
            submitted = http.post("/v1/claims/batches", content=text.encode(),
                                  headers={"Idempotency-Key": "process-1"})
            assert submitted.status_code == 202, submitted.text
            kinds = [d["kind"] for d in http.get("/v1/responses").json()["documents"]]
            assert kinds == ["999", "277CA"]
            made = http.post("/v1/payment-runs").json()["remittances"]
            assert [r["claim_payments"] for r in made] == [1]
    assert not _alive(pid)
    assert server.cpu_seconds is not None and server.cpu_seconds > 0
    # what it received is in its state file, which outlives it
    import sqlite3

    with sqlite3.connect(state) as stored:
        assert stored.execute("SELECT claim_number, status FROM claims").fetchall() == [
            ("PROC1", "remitted")]
    log = server.log_file
    assert log == tmp_path / "sim.log" and stat.S_IMODE(log.stat().st_mode) == 0o600
    lines = log.read_text()
    assert f"account={ACCOUNT} POST /v1/claims/batches -> 202" in lines
    assert f"account={ACCOUNT} POST /v1/payment-runs -> 200" in lines
    for value in PHI:
        assert value not in lines


def test_a_restarted_process_keeps_the_state_and_appends_to_the_log(tmp_path: Path) -> None:
    state = tmp_path / "sim.db"
    headers = {"Authorization": f"Bearer {KEY}", "Idempotency-Key": "restart-1"}
    text = x837([claim("PROC2", member_id=fresh_member_id())]).encode()
    with ProcessServer(suite_config(), state) as first:
        first_answer = httpx.post(f"{first.base_url}/v1/claims/batches", content=text,
                                  headers=headers, timeout=10).json()
    with ProcessServer(suite_config(), state) as second:
        again = httpx.post(f"{second.base_url}/v1/claims/batches", content=text,
                           headers=headers, timeout=10)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["submission_id"] == first_answer["submission_id"]
    assert first.log_file.read_text().count("POST /v1/claims/batches -> 202") == 2


def test_a_taken_port_is_a_one_line_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = ProcessServer(suite_config(), tmp_path / "sim.db", port=port)
        with pytest.raises(SimulatorStartError) as error:
            server.start()
    assert _one_line(error) == (f"the clearinghouse simulator cannot listen on "
                                f"127.0.0.1:{port}: Address already in use")
    assert server.pid is None and list(tmp_path.iterdir()) == []


def test_a_bad_configuration_is_a_one_line_error_naming_the_exit_code(tmp_path: Path) -> None:
    # a configuration no file would pass (the child validates what it reads)
    config = suite_config()
    broken = config.model_construct(**{**dict(config), "max_claims_per_remittance": 0})
    server = ProcessServer(broken, tmp_path / "sim.db")
    with pytest.raises(SimulatorStartError) as error:
        server.start()
    message = _one_line(error)
    assert message.startswith("the clearinghouse simulator did not start: exit code 2; "
                              "last log line: error: ")
    assert "max_claims_per_remittance" in message and str(server.log_file) in message
    assert server.pid is not None and not _alive(server.pid)
    assert [p.name for p in tmp_path.iterdir()] == ["sim.log"]  # no key file left behind


def test_no_answer_in_time_is_a_one_line_error_and_stops_the_child(tmp_path: Path) -> None:
    server = ProcessServer(suite_config(), tmp_path / "sim.db")
    with pytest.raises(SimulatorStartError) as error:
        server.start(timeout=0.01)  # the child needs far longer to import its libraries
    assert _one_line(error).startswith("the clearinghouse simulator did not answer GET "
                                       "/v1/health within 0.01 s (stopped, exit code ")
    assert server.pid is not None and not _alive(server.pid)


def test_the_child_stops_when_the_with_body_raises(tmp_path: Path) -> None:
    with pytest.raises(KeyError), ProcessServer(suite_config(), tmp_path / "sim.db") as server:
        pid = server.pid
        raise KeyError("the caller failed")
    assert pid is not None and not _alive(pid)
    assert server.pid == pid and server._process is not None
    assert server._process.returncode == 0  # a graceful stop, not a kill


def test_the_child_ends_when_its_parent_is_killed(tmp_path: Path) -> None:
    """A parent killed outright (no ``with`` exit, no stop()) leaves no simulator behind."""
    script = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        f"sys.path.append({str(Path(__file__).parent)!r})\n"
        "from chm_support import suite_config\n"
        "from medbill_clearinghouse_mock.simulator.process import ProcessServer\n"
        "server = ProcessServer(suite_config(), Path(sys.argv[1])).start()\n"
        "print(server.pid, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n")
    parent = subprocess.run([sys.executable, "-c", script, str(tmp_path / "sim.db")],
                            capture_output=True, text=True, timeout=60, check=False)
    assert parent.returncode == -9, parent.stderr
    child = int(parent.stdout.strip())
    assert _gone_within(child, 15)
    assert "parent process" in (tmp_path / "sim.log").read_text()


def test_https_with_a_self_signed_certificate(tmp_path: Path, certificate: TlsFiles) -> None:
    with ProcessServer(suite_config(), tmp_path / "sim.db", tls=certificate) as server:
        assert server.base_url.startswith("https://127.0.0.1:")
        trusting = ssl.create_default_context(cafile=certificate.cert)
        health = httpx.get(f"{server.base_url}/v1/health", verify=trusting, timeout=10)
        assert health.json()["status"] == "ok"
