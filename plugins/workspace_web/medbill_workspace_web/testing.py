"""The workspace's test harness: a seeded installation, the app, a live server and a real
browser, for the workspace's own tests and the pages other parts add (the fixtures in
``plugins/workspace_web/tests/conftest.py`` are built from these).

* :func:`seed_workspace` fills a database as a billing company's would be: practice A (the
  configuration's, code ``default``) with a user of every role, practice B (``north``) with
  a biller of its own, and a user (``ada``, administrator) member of both; a few synthetic
  patients and claims in each (no real person is described).
* :class:`LiveServer` runs the app with uvicorn on 127.0.0.1, on a free port, in a thread.
* :func:`launch_browser` starts the system's Chromium headless through Playwright (never a
  browser Playwright downloads: ``scripts/ensure-chromium.sh`` installs Debian's);
  :func:`login` signs a page in; :func:`screenshot` keeps a picture for the documentation
  when ``MEDBILL_SCREENSHOTS=1``.

Playwright and uvicorn are the test extra's: imported only when used.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medbill_core.api import MedbillConfig
from medbill_core.api.testing import factories
from medbill_core.api.workspace import (
    Medbill,
    Principal,
    PrincipalKind,
    Role,
    add_practice,
    add_user,
    grant,
)

if TYPE_CHECKING:
    from fastapi import FastAPI

#: Every seeded user's password (test data: never a real account's).
PASSWORD = "workspace-test-password"
PRACTICE_A = "default"
PRACTICE_B = "north"
#: Practice A's users by role; ``ada`` (administrator) is also practice B's administrator.
USERS_A: dict[Role, str] = {Role.ADMINISTRATOR: "ada", Role.BILLING_MANAGER: "mona",
                            Role.BILLER: "bill", Role.FRONT_DESK: "fran", Role.AUDITOR: "audra"}
#: Practice B's own biller (no membership in A).
USER_B = "nora"
#: Chromium's switches here: headless on a machine whose network is closed (no sandbox as
#: root in CI; no background fetches of Google's services, each refused by the network).
CHROMIUM_ARGS = ("--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync")
#: Where ``MEDBILL_SCREENSHOTS=1`` keeps screenshots: the documentation's images.
DOCS_IMAGES = Path(__file__).resolve().parents[3] / "docs" / "images"


def workspace_config(database_url: str) -> MedbillConfig:
    """A configuration with the workspace enabled, practice A's details and three payers."""
    return MedbillConfig(
        database_url=database_url, plugins=["workspace_web"], actor="workspace-tests",
        practice=factories.make_practice(),
        payers={"acme": factories.make_payer("acme"),
                "bluecross": factories.make_payer("bluecross", payer_id="BCBS1",
                                                  name="Blue Cross",
                                                  claim_filing_indicator="BL")})


def open_workspace(config: MedbillConfig) -> Medbill:
    """The installation with the workspace's hooks, on a migrated database."""
    from medbill_workspace_web import plugin

    return Medbill.open(config, extra_plugins=[("workspace_web", plugin)],
                        load_installed=False, upgrade=True)


@dataclass(frozen=True)
class SeededClaim:
    id: int
    claim_number: str
    patient_id: int
    practice: str


@dataclass
class Seed:
    """What :func:`seed_workspace` made: practice ids by code, users, claims, patients."""

    practices: dict[str, int]
    password: str = PASSWORD
    users_a: dict[Role, str] = field(default_factory=lambda: dict(USERS_A))
    user_b: str = USER_B
    both: str = USERS_A[Role.ADMINISTRATOR]
    claims: list[SeededClaim] = field(default_factory=list)
    patients: dict[str, list[int]] = field(default_factory=dict)
    user_ids: dict[str, int] = field(default_factory=dict)

    def claims_of(self, practice: str) -> list[SeededClaim]:
        return [claim for claim in self.claims if claim.practice == practice]

    def principal(self, user: str, practice: str, role: Role) -> Principal:
        """The principal ``user`` acts as in ``practice`` with ``role`` (to seed more
        records as that user)."""
        return Principal(kind=PrincipalKind.USER, id=self.user_ids[user], name=user,
                         practice_id=self.practices[practice], role=role)


@dataclass(frozen=True)
class Workspace:
    """A seeded installation and its app (the ``workspace`` fixture)."""

    medbill: Medbill
    seed: Seed
    app: FastAPI


def _installer(practice_id: int) -> Principal:
    # the stand-in administrator of a database without users (as `medbill users add` is)
    return Principal(kind=PrincipalKind.USER, id=0, name="installer", practice_id=practice_id,
                     role=Role.ADMINISTRATOR, bootstrap=True)


def _patients_and_claims(medbill: Medbill, principal: Principal, practice: str, *,
                         patients: int, claims_per_patient: int, first: int,
                         seed: Seed) -> None:
    with medbill.unit_of_work(principal=principal) as work:
        work.patients.register_provider(factories.make_provider())
        ids = []
        for number in range(first, first + patients):
            patient = work.patients.register(factories.make_patient(
                number, account_number=f"{practice[:1].upper()}{number:05d}"))
            assert patient.id is not None
            coverage = work.patients.add_coverage(patient.id, factories.make_coverage(
                patient.id, member_id=f"XYZ{number:09d}"))
            ids.append(patient.id)
            for index in range(claims_per_patient):
                number_text = f"{practice[:1].upper()}CLM{number:03d}{index}"
                claim = work.claims.create(factories.make_claim(
                    patient.id, coverage_id=coverage.id, number=number_text, lines=2,
                    service_date=date.today() - timedelta(days=10 + index)))
                assert claim.id is not None
                seed.claims.append(SeededClaim(claim.id, claim.claim_number, patient.id,
                                               practice))
        seed.patients[practice] = ids


def seed_workspace(medbill: Medbill) -> Seed:
    """Practices A and B, their users, patients and claims (see the module's docstring)."""
    practice_a = medbill.default_practice_id()
    assert practice_a is not None, "the configuration's practice was not created"
    installer = _installer(practice_a)
    with medbill.unit_of_work(principal=installer) as work:
        admin = add_user(work, installer, USERS_A[Role.ADMINISTRATOR], Role.ADMINISTRATOR,
                         password=PASSWORD)
    ada_a = Principal(kind=PrincipalKind.USER, id=admin.id, name=admin.name, practice_id=practice_a,
                      role=Role.ADMINISTRATOR)
    user_ids = {admin.name: admin.id}
    with medbill.unit_of_work(principal=ada_a) as work:
        for role, name in USERS_A.items():
            if role is not Role.ADMINISTRATOR:
                user_ids[name] = add_user(work, ada_a, name, role, password=PASSWORD).id
        north = add_practice(work, ada_a, PRACTICE_B, "North Clinic",
                             details=factories.make_practice(name="North Clinic"))
        user_ids[USER_B] = add_user(work, ada_a, USER_B, Role.BILLER, practice_code=PRACTICE_B,
                                    password=PASSWORD).id
        grant(work, ada_a, admin.name, Role.ADMINISTRATOR, practice_code=PRACTICE_B)
    seed = Seed(practices={PRACTICE_A: practice_a, PRACTICE_B: north.id}, user_ids=user_ids)
    ada_b = Principal(kind=PrincipalKind.USER, id=admin.id, name=admin.name, practice_id=north.id,
                      role=Role.ADMINISTRATOR)
    _patients_and_claims(medbill, ada_a, PRACTICE_A, patients=3, claims_per_patient=2,
                         first=1, seed=seed)
    _patients_and_claims(medbill, ada_b, PRACTICE_B, patients=1, claims_per_patient=1,
                         first=101, seed=seed)
    return seed


def total_charge(lines: int = 2) -> Decimal:
    """A seeded claim's charge (the factories' 125.00 and 18.50 lines)."""
    return Decimal("125.00") + Decimal("18.50") * (lines - 1)


_LOGIN_TOKEN = re.compile(r'name="login_token" value="([^"]+)"')
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def client_sign_in(client: Any, user: str, password: str = PASSWORD, *,
                   practice: str | None = None) -> str:
    """Sign a ``TestClient`` in through the sign-in form; the session's CSRF token (for a
    test's POSTs: the ``csrf_token`` form field or the ``X-CSRF-Token`` header)."""
    form = client.get("/workspace/login")
    token = _LOGIN_TOKEN.search(form.text)
    assert token is not None, "the sign-in page has no login_token field"
    answer = client.post("/workspace/login", data={
        "user": user, "password": password, "practice": practice or "",
        "login_token": token.group(1)}, follow_redirects=False)
    assert answer.status_code == 303, f"signing in as {user}: {answer.status_code}"
    return csrf_of(client.get("/workspace/").text)


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    found = _CSRF.search(html)
    assert found is not None, "the page has no csrf_token field"
    return found.group(1)


class LateApp:
    """An ASGI app filled in after the live server bound its port (``late.app = ...``): an
    installation whose configuration names that port as its public address (the pay page's
    links, a gateway's return address) can only be built once the port is known."""

    app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


class LiveServer:
    """``app`` served by uvicorn on 127.0.0.1, on a port the system chose, in a thread:
    ``with LiveServer(app) as server: server.url``."""

    def __init__(self, app: FastAPI) -> None:
        import uvicorn

        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))  # bound before uvicorn starts: no race for it
        self.port: int = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning",
                                                     lifespan="off"))
        self._thread = threading.Thread(target=self._server.run,
                                        kwargs={"sockets": [self._socket]}, daemon=True)

    def __enter__(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the workspace's live server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()


def chromium_path() -> str:
    """The system's Chromium (Debian's ``chromium``); a clear failure without it."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        raise RuntimeError("no chromium on PATH: run scripts/ensure-chromium.sh (the "
                           "browser tests drive the system's Chromium; Playwright's own "
                           "download is not used)")
    return found


def launch_browser(playwright: Any) -> Any:
    """Headless Chromium, the system's, through a started Playwright (``sync_playwright()``)."""
    return playwright.chromium.launch(executable_path=chromium_path(), headless=True,
                                      args=list(CHROMIUM_ARGS))


def login(page: Any, base_url: str, user: str, password: str = PASSWORD, *,
          practice: str | None = None, expect_success: bool = True) -> None:
    """Sign ``page`` in through the sign-in form, as a person would."""
    page.goto(f"{base_url}/workspace/login")
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(password)
    if practice is not None:
        page.get_by_label("Practice code").fill(practice)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    if expect_success and "/workspace/login" in page.url:
        raise AssertionError(f"signing in as {user} failed")


def screenshot(page: Any, name: str, tmp_dir: Path) -> Path:
    """A PNG of the page: ``docs/images/workspace-<name>.png`` when ``MEDBILL_SCREENSHOTS=1``
    (``make screenshots``), else in ``tmp_dir`` (a test still proves it can be taken)."""
    folder = DOCS_IMAGES if os.environ.get("MEDBILL_SCREENSHOTS") == "1" else tmp_dir
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"workspace-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
