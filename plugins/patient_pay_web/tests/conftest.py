"""Fixtures of the pay page's tests.

* ``gateway_server``: the payments_mock simulator on a free loopback port (session);
* ``site``: an installation with the pay page and the mock gateway on a fresh SQLite
  database, its app, and a live server of that app on a real port (``site.url``), whose
  address is the configured ``public_url`` (the gateway sends browsers back there) and
  where the simulator delivers its webhooks;
* ``client``: a ``TestClient`` of the site's app (no cookies);
* ``page``: a new page of the session's headless Chromium (the workspace's harness), 390 px
  wide as a phone is.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from medbill_patient_pay_web.testing import API_KEY, WEBHOOK_SECRET, open_pay_site, pay_config
from medbill_payments_mock.simulator.server import BackgroundServer
from medbill_payments_mock.simulator.state import SimulatorConfig
from medbill_workspace_web.testing import LateApp, LiveServer, launch_browser

from medbill_core.api.workspace import create_app

# The tests import their helper (pay_support) by plain name, and make test runs them with
# --import-mode=importlib: appended, as the workspace's suite does, not prepended.
sys.path.append(str(Path(__file__).parent))

from pay_support import Site


@pytest.fixture(scope="session")
def gateway_server() -> Iterator[BackgroundServer]:
    with BackgroundServer(SimulatorConfig(api_keys=[API_KEY],
                                          webhook_secret=WEBHOOK_SECRET)) as running:
        yield running


@pytest.fixture
def site(tmp_path: Path, gateway_server: BackgroundServer) -> Iterator[Site]:
    late = LateApp()
    server = LiveServer(late)  # type: ignore[arg-type]
    config = pay_config(f"sqlite:///{tmp_path / 'pay.db'}", public_url=server.url,
                        gateway_url=gateway_server.base_url)
    medbill = open_pay_site(config)
    late.app = create_app(medbill)
    gateway_server.simulator.configure(
        webhook_url=f"{server.url}/v1/payment-gateways/mock/webhooks",
        webhook_delay_seconds=0.0)
    try:
        with server:
            yield Site(medbill, late.app, server.url, gateway_server)
    finally:
        gateway_server.simulator.webhooks.drain()
        gateway_server.simulator.configure(webhook_url=None, webhook_delay_seconds=0.0)
        medbill.close()


@pytest.fixture
def client(site: Site) -> Iterator[TestClient]:
    with TestClient(site.app, base_url=site.url) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = launch_browser(playwright)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.set_default_timeout(10_000)
    opened = context.new_page()
    try:
        yield opened
    finally:
        context.close()
