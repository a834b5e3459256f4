"""The ``mock`` PaymentGateway against the real simulator over HTTP: money in cents both ways,
idempotency keys on retries, declines, refunds, verified webhooks, a gateway that is down."""

from __future__ import annotations

import json
import socket
from decimal import Decimal

import httpx
import pytest
from medbill_payments_mock.gateway import MockGateway
from medbill_payments_mock.settings import PaymentsMockSettings
from pm_support import API_KEY, WEBHOOK_SECRET, Receiver

from medbill_core.api import (
    GatewayError,
    GatewayEventType,
    GatewayPaymentStatus,
    GatewayRefundStatus,
    PaymentRequest,
    WebhookRefused,
)

D = Decimal


def _request(amount: str = "123.45", key: str = "medbill-cp_t-create") -> PaymentRequest:
    return PaymentRequest(amount=D(amount), description="Test practice payment cp_t",
                          reference="cp_t", idempotency_key=key)


def _paid(gateway: MockGateway, amount: str = "123.45", card: str = "4242424242424242",
          key: str = "k1") -> str:
    intent = gateway.create_payment(_request(amount, key=f"create-{key}"))
    gateway.confirm_payment(intent.intent_id, payment_method=card,
                            idempotency_key=f"confirm-{key}")
    return intent.intent_id


def _unique(name: str) -> str:
    import uuid

    return f"{name}-{uuid.uuid4().hex}"


def test_amounts_cross_as_cents_and_come_back_as_decimal(gateway, simulator) -> None:
    created = gateway.create_payment(_request("123.45", key=_unique("c")))
    assert simulator.gateway.intents[created.intent_id]["amount"] == 12345
    assert created.amount == D("123.45") and created.status is GatewayPaymentStatus.PENDING
    assert created.client_secret and created.client_secret.startswith(created.intent_id)
    assert created.reference == "cp_t"
    with pytest.raises(GatewayError, match="fractions of a cent"):
        gateway.create_payment(_request("10.005", key=_unique("c")))
    assert gateway.to_minor_units(D("0.50")) == 50
    assert gateway.from_minor_units(5) == D("0.05")


def test_the_same_idempotency_key_creates_one_payment(gateway, simulator) -> None:
    key = _unique("create")
    first = gateway.create_payment(_request(key=key))
    again = gateway.create_payment(_request(key=key))
    assert first.intent_id == again.intent_id
    with pytest.raises(GatewayError, match="400 .idempotency_error"):
        gateway.create_payment(_request("99.00", key=key))


def test_a_success_names_the_card_by_brand_and_last_four(gateway, simulator) -> None:
    intent = gateway.create_payment(_request(key=_unique("c")))
    paid = gateway.confirm_payment(intent.intent_id, payment_method="4242 4242 4242 4242",
                                   idempotency_key=_unique("confirm"))
    assert paid.status is GatewayPaymentStatus.SUCCEEDED
    assert (paid.card_brand, paid.card_last4) == ("visa", "4242")
    assert gateway.retrieve_payment(intent.intent_id) == paid


@pytest.mark.parametrize(("card", "code"), [("4000000000009995", "insufficient_funds"),
                                            ("4000000000000002", "generic_decline")])
def test_a_decline_is_a_failed_payment_with_its_code(gateway, simulator, card, code) -> None:
    intent = gateway.create_payment(_request(key=_unique("c")))
    answer = gateway.confirm_payment(intent.intent_id, payment_method=card,
                                     idempotency_key=_unique("confirm"))
    assert answer.status is GatewayPaymentStatus.FAILED
    assert answer.decline_code == code
    assert answer.decline_message and card not in answer.decline_message


def test_a_delayed_confirmation_is_processing(gateway, simulator) -> None:
    intent = gateway.create_payment(_request(key=_unique("c")))
    answer = gateway.confirm_payment(intent.intent_id, payment_method="4000000000003220",
                                     idempotency_key=_unique("confirm"))
    assert answer.status is GatewayPaymentStatus.PROCESSING


def test_refunds_whole_and_part(gateway, simulator) -> None:
    intent_id = _paid(gateway, "100.00", key=_unique("r"))
    part = gateway.refund(intent_id, amount=D("30.00"), idempotency_key=_unique("re"))
    assert (part.amount, part.status) == (D("30.00"), GatewayRefundStatus.SUCCEEDED)
    rest = gateway.refund(intent_id, amount=None, idempotency_key=_unique("re"))
    assert rest.amount == D("70.00")
    assert gateway.retrieve_payment(intent_id).amount_refunded == D("100.00")
    with pytest.raises(GatewayError, match="400 .amount_too_large"):
        gateway.refund(intent_id, amount=D("0.01"), idempotency_key=_unique("re"))


def test_a_pending_refund_is_pending(gateway, simulator) -> None:
    simulator.configure(refund_delay_seconds=60)
    intent_id = _paid(gateway, "40.00", key=_unique("r"))
    answer = gateway.refund(intent_id, amount=D("40.00"), idempotency_key=_unique("re"))
    assert answer.status is GatewayRefundStatus.PENDING


def _delivered(receiver: Receiver, event_type: str) -> tuple[dict[str, str], bytes]:
    for headers, body in receiver.wait_for(1):
        if json.loads(body)["type"] == event_type:
            return headers, body
    for headers, body in receiver.wait_for(3, timeout=3):
        if json.loads(body)["type"] == event_type:
            return headers, body
    raise AssertionError(f"no {event_type} delivered")


def test_a_delivered_webhook_verifies_into_an_event(gateway, simulator, receiver) -> None:
    intent_id = _paid(gateway, "55.10", key=_unique("w"))
    headers, body = _delivered(receiver, "payment_intent.succeeded")
    event = gateway.verify_webhook(body, headers)
    assert event.type is GatewayEventType.PAYMENT_SUCCEEDED
    assert event.payment is not None and event.payment.intent_id == intent_id
    assert event.payment.amount == D("55.10")


def test_a_tampered_body_is_refused(gateway, simulator, receiver) -> None:
    _paid(gateway, "55.10", key=_unique("w"))
    headers, body = _delivered(receiver, "payment_intent.succeeded")
    with pytest.raises(WebhookRefused, match="signature does not match"):
        gateway.verify_webhook(body.replace(b"5510", b"9910"), headers)
    with pytest.raises(WebhookRefused, match="no Stripe-Signature"):
        gateway.verify_webhook(body, {})


def test_a_forged_signature_is_refused(gateway, simulator, receiver) -> None:
    simulator.configure(webhook_wrong_secret=True)
    _paid(gateway, "20.00", key=_unique("w"))
    headers, body = _delivered(receiver, "payment_intent.succeeded")
    with pytest.raises(WebhookRefused, match="signature does not match"):
        gateway.verify_webhook(body, headers)


def test_a_replayed_old_delivery_is_refused(gateway, simulator, receiver) -> None:
    simulator.configure(webhook_timestamp_offset=-3600)
    _paid(gateway, "20.00", key=_unique("w"))
    headers, body = _delivered(receiver, "payment_intent.succeeded")
    with pytest.raises(WebhookRefused, match="more than 300 seconds"):
        gateway.verify_webhook(body, headers)


def test_a_refund_event_names_the_refund(gateway, simulator, receiver) -> None:
    simulator.configure(refund_delay_seconds=0.2)
    intent_id = _paid(gateway, "60.00", key=_unique("w"))
    refund = gateway.refund(intent_id, amount=D("10.00"), idempotency_key=_unique("re"))
    headers, body = _delivered(receiver, "refund.updated")
    event = gateway.verify_webhook(body, headers)
    assert event.type is GatewayEventType.REFUND_SUCCEEDED
    assert event.refund is not None and event.refund.refund_id == refund.refund_id
    assert event.refund.amount == D("10.00")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_gateway_that_is_down_is_one_safe_line() -> None:
    down = MockGateway(PaymentsMockSettings(
        base_url=f"http://127.0.0.1:{_closed_port()}", api_key=API_KEY,
        webhook_secret=WEBHOOK_SECRET, max_retries=2, backoff_initial=0.01))
    with pytest.raises(GatewayError) as caught:
        down.create_payment(_request("77.77", key="down"))
    message = str(caught.value)
    assert message == ("payment gateway 'mock' is unreachable (ConnectError) after 3 "
                       "attempt(s)")
    assert down.last_attempts == 3 and "77.77" not in message
    assert not caught.value.refused  # it may have been done: a retry sends the same key


def test_a_retry_after_a_5xx_reuses_the_idempotency_key(server, simulator) -> None:
    seen: list[str | None] = []
    real = httpx.HTTPTransport()

    def flaky(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("idempotency-key"))
        if len(seen) == 1:  # the gateway acted, but its answer was lost
            real.handle_request(request).read()
            return httpx.Response(502, json={"error": {"type": "api_error"}})
        return real.handle_request(request)

    gateway = MockGateway(PaymentsMockSettings(
        base_url=server.base_url, api_key=API_KEY, webhook_secret=WEBHOOK_SECRET,
        backoff_initial=0.01), transport=httpx.MockTransport(flaky))
    before = len(simulator.gateway.intents)
    created = gateway.create_payment(_request(key=_unique("retry")))
    assert len(seen) == 2 and seen[0] == seen[1]
    assert len(simulator.gateway.intents) == before + 1
    assert created.intent_id in simulator.gateway.intents
    gateway.close()


def test_a_4xx_is_not_retried(gateway, simulator) -> None:
    with pytest.raises(GatewayError, match="404 .resource_missing") as caught:
        gateway.retrieve_payment("pi_doesnotexist")
    assert gateway.last_attempts == 1
    assert caught.value.refused  # answered and refused: nothing was done
