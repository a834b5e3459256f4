"""Card payments end to end with the real pieces: the payments_mock gateway simulator on
loopback delivering signed webhooks to medbill's HTTP API served by uvicorn, the httpx
gateway, the card payments service, the ledger; and the command line a billing specialist
uses on a phone payment. On SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import medbill_payments_mock.plugin as payments_mock_plugin
import pytest
import uvicorn
from medbill_payments_mock.simulator.server import BackgroundServer, free_port
from medbill_payments_mock.simulator.state import SimulatorConfig
from sqlalchemy import select
from typer.testing import CliRunner

from medbill_core.app import Medbill
from medbill_core.cli.main import application
from medbill_core.config import MedbillConfig, config_toml
from medbill_core.domain.identity import Principal, PrincipalKind, Role
from medbill_core.errors import NotAuthenticated
from medbill_core.http import create_app
from medbill_core.services.card_payments import balance_owed
from medbill_core.storage.schema import CardPaymentRow, PaymentRow
from medbill_core.testing import factories

D = Decimal
API_KEY = "sk_test_integration"
SECRET = "whsec_integration"
FRONT = {"Authorization": "Bearer front"}
MANAGER = {"Authorization": "Bearer manager"}
_numbers = iter(range(700, 10_000))


def _authenticate(medbill: Medbill, token: str) -> Principal:
    roles = {"front": Role.FRONT_DESK, "manager": Role.BILLING_MANAGER}
    if token not in roles:
        raise NotAuthenticated("unknown key")
    return Principal(kind=PrincipalKind.API_KEY, id=9, name=f"k-{token}", practice_id=1,
                     role=roles[token])


@pytest.fixture(scope="module")
def medbill_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def gateway_server(medbill_port: int) -> Iterator[BackgroundServer]:
    config = SimulatorConfig(
        api_keys=[API_KEY], webhook_secret=SECRET,
        webhook_url=f"http://127.0.0.1:{medbill_port}/v1/payment-gateways/mock/webhooks")
    with BackgroundServer(config) as running:
        yield running


@pytest.fixture
def simulator(gateway_server: BackgroundServer, medbill_port: int) -> Iterator[Any]:
    yield gateway_server.simulator
    gateway_server.simulator.webhooks.drain()
    gateway_server.simulator.configure(
        webhook_delay_seconds=0.0, webhook_copies=1, webhook_timestamp_offset=0,
        webhook_wrong_secret=False, refund_delay_seconds=None,
        webhook_url=f"http://127.0.0.1:{medbill_port}/v1/payment-gateways/mock/webhooks")


def _settings(base_url: str) -> dict[str, Any]:
    return {"base_url": base_url, "api_key": API_KEY, "webhook_secret": SECRET,
            "max_retries": 1, "backoff_initial": 0.01, "connect_timeout": 0.5}


@pytest.fixture
def medbill_config(medbill_config: MedbillConfig,
                   gateway_server: BackgroundServer) -> MedbillConfig:
    return medbill_config.model_copy(update={
        "payment_gateway": "mock",
        "plugin_settings": {"payments_mock": _settings(gateway_server.base_url)}})


@pytest.fixture
def medbill_extra_plugins() -> list[tuple[str, Any]]:
    return [("payments_mock", payments_mock_plugin)]


@pytest.fixture
def api(medbill_app: Medbill, medbill_port: int, simulator: Any) -> Iterator[httpx.Client]:
    """medbill's HTTP API served by uvicorn where the simulator delivers its webhooks."""
    server = uvicorn.Server(uvicorn.Config(
        create_app(medbill_app, authenticate=_authenticate), host="127.0.0.1",
        port=medbill_port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline
        time.sleep(0.02)
    with httpx.Client(base_url=f"http://127.0.0.1:{medbill_port}", timeout=20) as client:
        yield client
    simulator.webhooks.drain()
    server.should_exit = True
    thread.join(10)


def owing(app: Medbill, *charges: str) -> int:
    number = next(_numbers)
    with app.unit_of_work() as work:
        patient = work.patients.register(factories.make_patient(number))
        for i, charge in enumerate(charges):
            day = date.today() - timedelta(days=20 - i)
            claim = factories.make_claim(patient.id, coverage_id=None,
                                         number=f"GW{number}-{i}", service_date=day)
            work.claims.create(claim.model_copy(update={"lines": [factories.make_line(
                1, service_date=day, charge=D(charge))]}))
        assert patient.id is not None
        return patient.id


def owed(app: Medbill, patient_id: int) -> Decimal:
    with app.unit_of_work(read_only=True) as work:
        return balance_owed(work, patient_id=patient_id)


def payments(app: Medbill, patient_id: int) -> int:
    with app.unit_of_work(read_only=True) as work:
        return len(work.session.scalars(select(PaymentRow.id).where(
            PaymentRow.patient_id == patient_id)).all())


def wait_until(check: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def browser_pays(server: BackgroundServer, intent_id: str, card: str) -> dict[str, Any]:
    """What the payer's browser does at the gateway (not through medbill)."""
    response = httpx.post(f"{server.base_url}/v1/payment_intents/{intent_id}/confirm",
                          json={"payment_method": card},
                          headers={"Authorization": f"Bearer {API_KEY}"})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def create(api: httpx.Client, patient_id: int, **more: Any) -> dict[str, Any]:
    response = api.post("/v1/card-payments", json={"patient_id": patient_id, **more},
                        headers=FRONT)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_the_webhook_posts_the_payment_and_the_return_finds_it_done(
        medbill_app: Medbill, api: httpx.Client, gateway_server: BackgroundServer) -> None:
    patient_id = owing(medbill_app, "80.00", "45.25")
    created = create(api, patient_id)
    assert (created["amount"], created["status"]) == ("125.25", "created")
    assert created["client_secret"].startswith(created["gateway_payment_id"])
    intent = gateway_server.simulator.gateway.intents[created["gateway_payment_id"]]
    assert intent["amount"] == 12525  # cents at the gateway
    assert intent["metadata"] == {"medbill_reference": created["reference"]}
    browser_pays(gateway_server, created["gateway_payment_id"], "4242424242424242")
    wait_until(lambda: owed(medbill_app, patient_id) == D("0.00"))
    returned = api.post(f"/v1/card-payments/{created['id']}/confirm", headers=FRONT).json()
    assert (returned["status"], returned["card_brand"], returned["card_last4"]) == (
        "succeeded", "visa", "4242")
    assert payments(medbill_app, patient_id) == 1
    gateway_server.simulator.webhooks.drain()  # the delivery is recorded after medbill answers
    assert [d.status for d in gateway_server.simulator.webhooks.deliveries][-1] == 200


def test_the_return_before_a_delayed_webhook_posts_once(
        medbill_app: Medbill, api: httpx.Client, gateway_server: BackgroundServer,
        simulator: Any) -> None:
    simulator.configure(webhook_delay_seconds=0.5, webhook_copies=3)
    patient_id = owing(medbill_app, "60.00")
    created = create(api, patient_id)
    browser_pays(gateway_server, created["gateway_payment_id"], "pm_card_visa")
    returned = api.post(f"/v1/card-payments/{created['id']}/confirm", headers=FRONT).json()
    assert returned["status"] == "succeeded"
    simulator.webhooks.drain()
    mine = [d for d in simulator.webhooks.deliveries if d.event_type ==
            "payment_intent.succeeded"][-3:]
    assert [d.status for d in mine] == [200, 200, 200]  # duplicates answered 2xx
    assert payments(medbill_app, patient_id) == 1
    assert owed(medbill_app, patient_id) == D("0.00")


def test_a_decline_posts_nothing(medbill_app: Medbill, api: httpx.Client,
                                 gateway_server: BackgroundServer) -> None:
    patient_id = owing(medbill_app, "60.00")
    created = create(api, patient_id)
    browser_pays(gateway_server, created["gateway_payment_id"], "4000000000009995")
    wait_until(lambda: api.get(f"/v1/card-payments/{created['id']}",
                               headers=FRONT).json()["status"] == "failed")
    failed = api.get(f"/v1/card-payments/{created['id']}", headers=FRONT).json()
    assert (failed["decline_code"], failed["payment_id"]) == ("insufficient_funds", None)
    assert payments(medbill_app, patient_id) == 0 and owed(medbill_app, patient_id) == D("60")


@pytest.mark.parametrize("forgery", [{"webhook_wrong_secret": True},
                                     {"webhook_timestamp_offset": -3600}],
                         ids=["bad-signature", "replayed-old-timestamp"])
def test_a_forged_or_replayed_webhook_is_refused(
        medbill_app: Medbill, api: httpx.Client, gateway_server: BackgroundServer,
        simulator: Any, forgery: dict[str, Any]) -> None:
    simulator.configure(webhook_retries=0, **forgery)
    patient_id = owing(medbill_app, "33.00")
    created = create(api, patient_id)
    browser_pays(gateway_server, created["gateway_payment_id"], "pm_card_visa")
    simulator.webhooks.drain()
    assert simulator.webhooks.deliveries[-1].status == 400
    assert payments(medbill_app, patient_id) == 0
    simulator.configure(webhook_retries=2)
    # the browser's return still confirms it with the gateway itself
    api.post(f"/v1/card-payments/{created['id']}/confirm", headers=FRONT)
    assert payments(medbill_app, patient_id) == 1


def test_refunds_part_at_once_and_the_rest_when_the_gateway_confirms(
        medbill_app: Medbill, api: httpx.Client, gateway_server: BackgroundServer,
        simulator: Any) -> None:
    patient_id = owing(medbill_app, "100.00")
    created = create(api, patient_id)
    browser_pays(gateway_server, created["gateway_payment_id"], "5555555555554444")
    api.post(f"/v1/card-payments/{created['id']}/confirm", headers=FRONT)
    part = api.post(f"/v1/card-payments/{created['id']}/refunds",
                    json={"amount": "25.00", "reason": "courtesy"}, headers=MANAGER)
    assert part.status_code == 201, part.text
    assert (part.json()["status"], part.json()["refunded"]) == ("partially_refunded", "25.00")
    assert owed(medbill_app, patient_id) == D("25.00")
    simulator.configure(refund_delay_seconds=0.3)
    rest = api.post(f"/v1/card-payments/{created['id']}/refunds",
                    json={"reason": "closed account"}, headers=MANAGER).json()
    assert rest["refunds"][-1]["status"] == "pending" and rest["refunded"] == "25.00"
    wait_until(lambda: owed(medbill_app, patient_id) == D("100.00"))
    done = api.get(f"/v1/card-payments/{created['id']}", headers=FRONT).json()
    assert (done["status"], done["refunded"]) == ("refunded", "100.00")
    assert gateway_server.simulator.gateway.intents[created["gateway_payment_id"]][
        "amount_refunded"] == 10000


def test_a_gateway_that_is_down_is_a_502_and_nothing_is_recorded(
        medbill_config: MedbillConfig) -> None:
    config = medbill_config.model_copy(update={"plugin_settings": {
        "payments_mock": _settings(f"http://127.0.0.1:{free_port()}")}})
    app = Medbill.open(config, extra_plugins=[("payments_mock", payments_mock_plugin)],
                       load_installed=False, upgrade=True)
    try:
        patient_id = owing(app, "20.00")
        from fastapi.testclient import TestClient

        with TestClient(create_app(app, authenticate=_authenticate)) as client:
            response = client.post("/v1/card-payments", json={"patient_id": patient_id},
                                   headers=FRONT)
        assert response.status_code == 502
        assert response.json()["detail"] == ("payment gateway 'mock' is unreachable "
                                             "(ConnectError) after 2 attempt(s)")
        with app.unit_of_work(read_only=True) as work:
            assert work.session.scalars(select(CardPaymentRow)).all() == []
    finally:
        app.close()


def test_a_phone_payment_on_the_command_line(tmp_path: Path, medbill_backend: str,
                                             gateway_server: BackgroundServer,
                                             simulator: Any) -> None:
    if medbill_backend != "sqlite":
        pytest.skip("the command line's workspace is a SQLite file")
    simulator.configure(webhook_url=None)  # no medbill server here: the answer confirms
    config_file = tmp_path / "medbill.toml"
    config = MedbillConfig(
        database_url=f"sqlite:///{tmp_path / 'medbill.db'}", plugins=["payments_mock"],
        actor="clerk", practice=factories.make_practice(), payment_gateway="mock",
        plugin_settings={"payments_mock": _settings(gateway_server.base_url)})
    config_file.write_text(config_toml(config), encoding="utf-8")
    app = Medbill.open(config, upgrade=True)
    try:
        patient_id = owing(app, "64.00")
        with app.unit_of_work(read_only=True) as work:
            account = work.patients.get(patient_id).account_number
    finally:
        app.close()

    def medbill(*args: str) -> Any:
        return CliRunner().invoke(application(["-c", str(config_file), *args]),
                                  ["-c", str(config_file), *args])

    declined = medbill("payments", "card", "create", "--patient", account, "--card",
                       "4000 0000 0000 0002")
    assert declined.exit_code == 1, declined.output
    assert "card payment 1: failed, 64.00 via mock (visa 0002); declined: generic_decline " \
           "(Your card was declined.)" in declined.output
    paid = medbill("payments", "card", "create", "--patient", account, "--amount", "40.00",
                   "--card", "4242424242424242")
    assert paid.exit_code == 0, paid.output
    assert "card payment 2: succeeded, 40.00 via mock (visa 4242); payment 1" in paid.output
    assert "4242424242424242" not in paid.output
    refunded = medbill("payments", "card", "refund", "2", "--amount", "15.00", "--reason",
                       "overcharged")
    assert "partially_refunded" in refunded.output and "refunded 15.00" in refunded.output
    shown = medbill("payments", "card", "show", "2", "--json")
    assert '"refunded": "15.00"' in shown.output and '"card_last4": "4242"' in shown.output
    app = Medbill.open(config)
    try:
        assert owed(app, patient_id) == D("39.00")
    finally:
        app.close()
    prompted = CliRunner().invoke(
        application(["-c", str(config_file), "payments", "card", "create"]),
        ["-c", str(config_file), "payments", "card", "create", "--patient", account,
         "--amount", "1.00"], input="4242424242424242\n")
    assert prompted.exit_code == 0, prompted.output
    assert "succeeded" in prompted.output and "4242424242424242" not in prompted.output


def test_a_refused_refund_leaves_the_next_attempt_a_new_key(
        medbill_app: Medbill, api: httpx.Client, gateway_server: BackgroundServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The gateway keeps each answer under its idempotency key: a refund it refused (more than
    it still holds: 40.00 was refunded on its own dashboard) must not leave the corrected
    attempt the same key (the simulator would refuse another amount under it for ever), while
    a retry of an attempt whose answer was lost (medbill stopped after sending) keeps its key
    and refunds once."""
    from medbill_core.errors import GatewayError
    from medbill_core.services import card_payments
    from medbill_core.services.card_payments import refund_card_payment
    from medbill_core.storage.schema import CardRefundRow

    patient_id = owing(medbill_app, "100.00")
    created = create(api, patient_id)
    browser_pays(gateway_server, created["gateway_payment_id"], "pm_card_visa")
    api.post(f"/v1/card-payments/{created['id']}/confirm", headers=FRONT)
    intent = gateway_server.simulator.gateway.intents[created["gateway_payment_id"]]
    outside = httpx.post(f"{gateway_server.base_url}/v1/refunds", headers={
        "Authorization": f"Bearer {API_KEY}"}, json={
        "payment_intent": created["gateway_payment_id"], "amount": 4000})
    assert outside.status_code == 200, outside.text
    # medbill still counts 100.00 to refund; the gateway holds 60.00
    refused = api.post(f"/v1/card-payments/{created['id']}/refunds",
                       json={"reason": "closed account"}, headers=MANAGER)
    assert refused.status_code == 502, refused.text
    assert refused.json()["detail"] == ("payment gateway 'mock' answered 400 "
                                        "(amount_too_large)")
    with medbill_app.unit_of_work(read_only=True) as work:
        kept = work.session.scalars(select(CardRefundRow)).all()
        assert [(r.status, r.amount, r.posting_id) for r in kept] == [
            ("failed", D("100.00"), None)]
        assert kept[0].failure_reason == "payment gateway 'mock' answered 400 (amount_too_large)"
    assert owed(medbill_app, patient_id) == D("0.00")  # nothing posted
    # the corrected attempt goes through (it was refused for ever under the spent key)
    corrected = api.post(f"/v1/card-payments/{created['id']}/refunds",
                         json={"amount": "30.00", "reason": "closed account"}, headers=MANAGER)
    assert corrected.status_code == 201, corrected.text
    assert (corrected.json()["status"], corrected.json()["refunded"]) == (
        "partially_refunded", "30.00")
    assert intent["amount_refunded"] == 7000
    assert owed(medbill_app, patient_id) == D("30.00")

    # medbill stops after the gateway refunded (its transaction rolled back): the retry of the
    # same attempt is sent with the same key and answered with the same refund, not another
    def stopped(*args: Any, **kwargs: Any) -> Any:
        raise GatewayError("payment gateway 'mock' is unreachable (ReadTimeout) after 2 "
                           "attempt(s)")

    with monkeypatch.context() as patched:
        patched.setattr(card_payments, "apply_gateway_refund", stopped)
        with pytest.raises(GatewayError), medbill_app.unit_of_work() as work:
            refund_card_payment(work, created["id"], "courtesy", amount=D("20.00"))
    assert intent["amount_refunded"] == 9000  # the gateway did it
    with medbill_app.unit_of_work() as work:
        view = refund_card_payment(work, created["id"], "courtesy", amount=D("20.00"))
    assert intent["amount_refunded"] == 9000  # once
    assert (view.status.value, view.refunded) == ("partially_refunded", D("50.00"))
    assert [r.status for r in view.refunds] == ["failed", "succeeded", "succeeded"]
    assert owed(medbill_app, patient_id) == D("50.00")
