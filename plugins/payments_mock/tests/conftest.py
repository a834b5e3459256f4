import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

# The tests import their helpers (pm_support) as a top-level module. Appended, not prepended:
# other plugins' tests import their own top-level helpers by common names.
sys.path.append(str(Path(__file__).parent))

from medbill_payments_mock.gateway import MockGateway
from medbill_payments_mock.settings import PaymentsMockSettings
from medbill_payments_mock.simulator.server import BackgroundServer
from medbill_payments_mock.simulator.state import SimulatorConfig
from pm_support import API_KEY, WEBHOOK_SECRET, Receiver


@pytest.fixture(scope="session")
def receiver() -> Iterator[Receiver]:
    running = Receiver().start()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def server(receiver: Receiver) -> Iterator[BackgroundServer]:
    """The real simulator: uvicorn on 127.0.0.1, a free port, in a background thread."""
    config = SimulatorConfig(api_keys=[API_KEY], webhook_url=receiver.url,
                             webhook_secret=WEBHOOK_SECRET)
    with BackgroundServer(config) as running:
        yield running


@pytest.fixture
def simulator(server: BackgroundServer, receiver: Receiver):  # type: ignore[no-untyped-def]
    """The simulator with its default behaviour for this test (restored afterwards), and the
    receiver emptied."""
    receiver.status = 200
    server.simulator.webhooks.drain()  # what earlier tests sent is not this test's
    with receiver.lock:
        receiver.requests.clear()
    yield server.simulator
    server.simulator.configure(webhook_delay_seconds=0.0, webhook_copies=1,
                               webhook_timestamp_offset=0, webhook_wrong_secret=False,
                               refund_delay_seconds=None, processing_delay_seconds=None,
                               webhook_url=receiver.url)


@pytest.fixture
def http(server: BackgroundServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=10,
                      headers={"Authorization": f"Bearer {API_KEY}"}) as client:
        yield client


@pytest.fixture
def gateway(server: BackgroundServer) -> Iterator[MockGateway]:
    made = MockGateway(PaymentsMockSettings(base_url=server.base_url, api_key=API_KEY,
                                            webhook_secret=WEBHOOK_SECRET,
                                            backoff_initial=0.01))
    yield made
    made.close()
