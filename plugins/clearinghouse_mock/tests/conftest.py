import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

# The tests import their helpers (chm_support) as a top-level module. Appended, not
# prepended: other plugins' tests import their own top-level helpers by common names.
sys.path.append(str(Path(__file__).parent))

from chm_support import ACCOUNTS, api_key, suite_config
from medbill_clearinghouse_mock.channel import ClearinghouseChannel
from medbill_clearinghouse_mock.settings import ClearinghouseMockSettings
from medbill_clearinghouse_mock.simulator.server import BackgroundServer, TlsFiles

_unused_accounts = iter(ACCOUNTS)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundServer]:
    """The real simulator: uvicorn on 127.0.0.1, a free port, in a background thread."""
    state = tmp_path_factory.mktemp("clearinghouse") / "state.db"
    with BackgroundServer(suite_config(), state) as running:
        yield running


@pytest.fixture
def account() -> str:
    """An account no other test has used: its feed starts empty."""
    return next(_unused_accounts)


@pytest.fixture
def http(server: BackgroundServer, account: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=10,
                      headers={"Authorization": f"Bearer {api_key(account)}"}) as client:
        yield client


@pytest.fixture
def make_channel(server: BackgroundServer, account: str):  # type: ignore[no-untyped-def]
    """Channels against the suite's server, with quick backoff so retry tests stay fast."""
    made: list[ClearinghouseChannel] = []

    def factory(**overrides: object) -> ClearinghouseChannel:
        values: dict[str, object] = {"base_url": server.base_url, "api_key": api_key(account),
                                     "backoff_initial": 0.01, "backoff_max": 0.05,
                                     "read_timeout": 5.0}
        values.update(overrides)
        channel = ClearinghouseChannel(ClearinghouseMockSettings.model_validate(values))
        made.append(channel)
        return channel

    yield factory
    for channel in made:
        channel.close()


@pytest.fixture
def faults(server: BackgroundServer, http: httpx.Client):  # type: ignore[no-untyped-def]
    """Set the server's fault rules for one test (cleared afterwards)."""

    def set_rules(*rules: dict[str, object]) -> None:
        response = http.put("/v1/test/faults", json=list(rules))
        assert response.status_code == 200, response.text

    yield set_rules
    http.delete("/v1/test/faults")


@pytest.fixture
def certificate(tmp_path: Path) -> TlsFiles:
    """A self-signed certificate for 127.0.0.1 (openssl)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return TlsFiles(cert, key)
