"""Fixtures of the workspace's tests, for its own pages and the pages other parts add.

* ``workspace``: one seeded installation for the session (SQLite in a temporary folder; see
  :func:`medbill_workspace_web.testing.seed_workspace`): ``workspace.medbill``,
  ``workspace.seed``, ``workspace.app``;
* ``client``: a ``TestClient`` of that app with no cookies; sign it in with
  ``client_sign_in(client, "bill")`` (``medbill_workspace_web.testing``);
* ``live_server``: the app on a real port (``live_server.url``), for the browser;
* ``page``: a new browser page (its own cookies) at 1280 x 800 in the session's headless
  Chromium; ``login(page, live_server.url, "bill")`` signs it in;
* ``shot``: ``shot(page, "queue")`` keeps a screenshot (``docs/images/`` with
  ``MEDBILL_SCREENSHOTS=1``).

Tests that change records make their own (the seeded ones are shared by every test).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from medbill_workspace_web.testing import (
    LiveServer,
    Workspace,
    launch_browser,
    open_workspace,
    screenshot,
    seed_workspace,
    workspace_config,
)

from medbill_core.api.workspace import create_app

# The tests import their helpers (queues_support, records_seed) by plain name, and make test
# runs them with --import-mode=importlib from the repository's root (no test folder on
# sys.path): appended, as the demo's suite does, not prepended.
sys.path.append(str(Path(__file__).parent))


@pytest.fixture(scope="session")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    folder = tmp_path_factory.mktemp("workspace")
    medbill = open_workspace(workspace_config(f"sqlite:///{folder / 'workspace.db'}"))
    try:
        seed = seed_workspace(medbill)
        yield Workspace(medbill, seed, create_app(medbill))
    finally:
        medbill.close()


@pytest.fixture
def client(workspace: Workspace) -> Iterator[TestClient]:
    with TestClient(workspace.app, base_url="http://127.0.0.1") as test_client:
        yield test_client


@pytest.fixture(scope="session")
def live_server(workspace: Workspace) -> Iterator[LiveServer]:
    with LiveServer(workspace.app) as server:
        yield server


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    # not importorskip: the test extra installs Playwright, and a browser suite that skips
    # itself when something is missing proves nothing
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = launch_browser(playwright)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    opened = context.new_page()
    try:
        yield opened
    finally:
        context.close()


@pytest.fixture
def shot(tmp_path: Path) -> Callable[[Any, str], Path]:
    return lambda page, name: screenshot(page, name, tmp_path)
