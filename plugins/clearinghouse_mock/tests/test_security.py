"""Who may talk to the simulator (issue 11, item 12): no built-in or documented key, a key file
of the installation's own (owner-only) that the channel and the simulator share, and no
listening beyond loopback without TLS."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from chm_support import x270
from medbill_clearinghouse_mock.channel import ClearinghouseChannel
from medbill_clearinghouse_mock.cli import app as cli_app
from medbill_clearinghouse_mock.secret import ensure_key_file, read_key_file
from medbill_clearinghouse_mock.settings import ClearinghouseMockSettings
from medbill_clearinghouse_mock.simulator.config import ApiKey, default_config
from medbill_clearinghouse_mock.simulator.server import BackgroundServer, TlsFiles, free_port
from pydantic import ValidationError
from typer.testing import CliRunner

from medbill_core.api import ConfigurationError

OLD_KEY = "test-key-medbill"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _one_line_error(output: str) -> str:
    lines = [line for line in output.strip().splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert "Traceback" not in output
    return lines[0]


# -- no default key -----------------------------------------------------------------------------

def test_the_old_documented_key_opens_nothing(tmp_path: Path) -> None:
    assert default_config().api_keys == []
    with BackgroundServer(default_config(), tmp_path / "state.db") as server:
        for headers in ({"Authorization": f"Bearer {OLD_KEY}"}, {"X-API-Key": OLD_KEY}, {}):
            answer = httpx.get(f"{server.base_url}/v1/responses", headers=headers, timeout=5)
            assert answer.status_code == 401, headers
            ack = httpx.post(f"{server.base_url}/v1/responses/ack", headers=headers,
                             json={"document_ids": ["x"]}, timeout=5)
            assert ack.status_code == 401, headers
    with pytest.raises(ValidationError, match="formerly documented test key"):
        ApiKey(key=OLD_KEY, account="demo")
    with pytest.raises(ValidationError, match="formerly documented test key"):
        ClearinghouseMockSettings(api_key=OLD_KEY)


def test_a_channel_without_a_key_says_so() -> None:
    channel = ClearinghouseChannel(ClearinghouseMockSettings())
    with pytest.raises(ConfigurationError, match=r"no API key: set api_key_file"):
        channel.fetch_responses()


# -- the key file -------------------------------------------------------------------------------

def test_the_key_file_is_random_owner_only_and_kept(tmp_path: Path) -> None:
    previous = os.umask(0)  # a permissive umask does not widen it
    try:
        first, created = ensure_key_file(tmp_path / "a.key")
    finally:
        os.umask(previous)
    assert created and _mode(tmp_path / "a.key") == 0o600 and len(first) >= 40
    again, created_again = ensure_key_file(tmp_path / "a.key")
    assert (again, created_again) == (first, False)
    other, _ = ensure_key_file(tmp_path / "b.key")
    assert other != first


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    key_file = tmp_path / "clearinghouse-mock.key"
    ensure_key_file(key_file)
    key_file.chmod(0o640)
    with pytest.raises(ConfigurationError, match=r"other users can read .*chmod 600"):
        read_key_file(key_file)
    result = CliRunner().invoke(cli_app, ["serve", "--port", "1", "--state",
                                          str(tmp_path / "s.db")])
    assert result.exit_code != 0
    assert "other users can read this API key file" in _one_line_error(result.output)


def test_init_and_serve_share_one_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`medbill init` writes the key file; the medbill configuration names it; the simulator
    `clearinghouse serve` starts with this configuration accepts it; the channel sends it."""
    from medbill_clearinghouse_mock.cli import _accepting_configured_key

    from medbill_core.api.testing import command_line_app, load_config

    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("MEDBILL_"):
            monkeypatch.delenv(name)
    result = CliRunner().invoke(command_line_app(argv := ["init", str(tmp_path / "medbill.toml")]),
                            argv)
    assert result.exit_code == 0, result.output
    key_file = tmp_path / "clearinghouse-mock.key"
    assert _mode(key_file) == 0o600
    text = (tmp_path / "medbill.toml").read_text(encoding="utf-8")
    assert 'api_key_file = "clearinghouse-mock.key"' in text and OLD_KEY not in text
    settings = load_config(tmp_path / "medbill.toml").plugin_settings["clearinghouse_mock"]
    assert settings["api_key_file"] == str(key_file.resolve())
    monkeypatch.setenv("MEDBILL_CONFIG", str(tmp_path / "medbill.toml"))  # as `medbill -c`
    simulator = _accepting_configured_key(default_config(), None, tmp_path / "elsewhere.db")
    key = read_key_file(key_file)
    assert [(k.key, k.account) for k in simulator.api_keys] == [(key, "medbill")]
    assert not (tmp_path / "elsewhere.db").exists()
    with BackgroundServer(simulator, tmp_path / "state.db") as server:
        channel = ClearinghouseChannel(ClearinghouseMockSettings.model_validate(
            {**settings, "base_url": server.base_url}))
        try:
            assert channel.fetch_responses() == []
        finally:
            channel.close()
    # `medbill init --force` later keeps the key a running simulator accepts
    result = CliRunner().invoke(command_line_app(argv := ["init", str(tmp_path / "medbill.toml"),
                                                             "--force"]), argv)
    assert result.exit_code == 0 and "kept" in result.output
    assert read_key_file(key_file) == key


def _wait_for_health(base_url: str, process: subprocess.Popen[bytes], **kwargs: object) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(process.stdout.read() if process.stdout else b"")
        try:
            httpx.get(f"{base_url}/v1/health", timeout=1, **kwargs)  # type: ignore[arg-type]
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("the simulator did not start")


def test_serve_without_any_key_creates_one(tmp_path: Path) -> None:
    """`python -m medbill_clearinghouse_mock serve` with no configuration at all: a new key
    file next to the state file, owner-only; only its key is accepted."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "medbill_clearinghouse_mock", "serve", "--port", str(port),
         "--state", str(tmp_path / "sim.db"), "--log-level", "warning"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_health(base_url, process)
        key_file = tmp_path / "clearinghouse-mock.key"
        assert _mode(key_file) == 0o600
        key = read_key_file(key_file)
        for bad in (OLD_KEY, "x" * 43, key[:-1]):
            answer = httpx.post(f"{base_url}/v1/eligibility", content=x270("X1").encode(),
                                headers={"Authorization": f"Bearer {bad}"}, timeout=5)
            assert answer.status_code == 401
        answer = httpx.post(f"{base_url}/v1/eligibility", content=x270("ROSTER0001").encode(),
                            headers={"Authorization": f"Bearer {key}"}, timeout=5)
        assert answer.status_code == 200 and answer.headers["x-document-kind"] == "271"
    finally:
        process.terminate()
        process.wait(timeout=15)
    assert key not in (process.stdout.read().decode() if process.stdout else "")


# -- beyond loopback only over TLS ---------------------------------------------------------------

@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.org"])
def test_non_loopback_without_tls_is_refused(tmp_path: Path, host: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli_app, ["serve", "--host", host, "--port", "1"])
    assert result.exit_code == 2
    line = _one_line_error(result.output)
    assert "--tls-cert and --tls-key" in line and host in line
    assert list(tmp_path.iterdir()) == []  # refused before any key or state file is made
    half = CliRunner().invoke(cli_app, ["serve", "--host", host, "--tls-cert", "c.pem"])
    assert "give both --tls-cert and --tls-key" in _one_line_error(half.output)


def test_off_loopback_with_tls_the_channel_talks_https(tmp_path: Path,
                                                       certificate: TlsFiles) -> None:
    key, _ = ensure_key_file(tmp_path / "k.key")
    with BackgroundServer(default_config().with_key(key), tmp_path / "state.db",
                          host="0.0.0.0", tls=certificate) as server:
        assert server.base_url.startswith("https://0.0.0.0:")
        url = f"https://127.0.0.1:{server.port}"
        with pytest.raises(httpx.ConnectError):  # plain http or an untrusted cert: no answer
            httpx.get(f"{url}/v1/health", timeout=5)
        channel = ClearinghouseChannel(ClearinghouseMockSettings(
            base_url=url, api_key_file=str(tmp_path / "k.key"), ca_file=str(certificate.cert),
            max_retries=0))
        try:
            assert channel.fetch_responses() == []
        finally:
            channel.close()


def test_unusable_tls_files_are_one_line_errors(tmp_path: Path, certificate: TlsFiles) -> None:
    missing = CliRunner().invoke(cli_app, ["serve", "--host", "0.0.0.0", "--tls-cert",
                                           str(tmp_path / "none.pem"), "--tls-key",
                                           str(certificate.key)])
    assert missing.exit_code == 2 and "no such TLS file" in _one_line_error(missing.output)
    swapped = CliRunner().invoke(cli_app, ["serve", "--host", "0.0.0.0", "--tls-cert",
                                           str(certificate.key), "--tls-key",
                                           str(certificate.cert)])
    assert swapped.exit_code == 2
    assert "not a usable PEM certificate" in _one_line_error(swapped.output)
