"""The simulator's hosted card page (``/checkout/{id}``) and the gateway's ``checkout_url``:
the payer types the card there; a success goes back to the return URL with a 303 (and its
webhook goes out), a decline is shown on the page and the payer may try another card; a
page for another payment's secret is a 404."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import httpx
from medbill_payments_mock.gateway import MockGateway
from medbill_payments_mock.settings import PaymentsMockSettings
from pm_support import Receiver

from medbill_core.api import GatewayCapability, GatewayPaymentStatus, PaymentRequest

RETURN = "https://pay.example.org/pay/return"


def new_payment(gateway: MockGateway, amount: str = "42.10") -> tuple[str, str]:
    created = gateway.create_payment(PaymentRequest(
        amount=Decimal(amount), description="Clinic payment cp_1", reference="cp_1",
        idempotency_key=f"k-{amount}-{id(gateway)}-{len(amount)}"))
    assert created.client_secret is not None
    return created.intent_id, created.client_secret


def test_the_gateway_names_its_card_page(gateway: MockGateway) -> None:
    assert gateway.supports(GatewayCapability.HOSTED_CHECKOUT)
    intent, secret = new_payment(gateway)
    url = gateway.checkout_url(intent, client_secret=secret, return_url=RETURN)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == gateway.settings.base_url
    assert parts.path == f"/checkout/{intent}"
    assert parse_qs(parts.query) == {"client_secret": [secret], "return_url": [RETURN]}
    public = MockGateway(PaymentsMockSettings(base_url=gateway.settings.base_url,
                                              public_base_url="https://gw.example.org/",
                                              api_key="k", webhook_secret="s"))
    assert public.checkout_url(intent, client_secret=secret, return_url=RETURN).startswith(
        f"https://gw.example.org/checkout/{intent}?")


def test_a_good_card_returns_to_the_page_and_the_payment_succeeded(
        gateway: MockGateway, simulator: object, receiver: Receiver) -> None:
    intent, secret = new_payment(gateway)
    url = gateway.checkout_url(intent, client_secret=secret, return_url=RETURN)
    with httpx.Client() as browser:
        form = browser.get(url)
        assert form.status_code == 200
        assert "Pay $42.10" in form.text and 'for="card_number">Card number' in form.text
        done = browser.post(url.split("?")[0], data={
            "client_secret": secret, "return_url": RETURN, "card_number": "4242 4242 4242 4242",
            "expiry": "12/34", "cvc": "123"})
        assert (done.status_code, done.headers["location"]) == (303, RETURN)
        # the page of a paid payment goes straight back
        assert browser.get(url).status_code == 303
    paid = gateway.retrieve_payment(intent)
    assert (paid.status, paid.card_last4) == (GatewayPaymentStatus.SUCCEEDED, "4242")
    assert any(b"payment_intent.succeeded" in body for _, body in receiver.wait_for(1))


def test_a_decline_is_shown_and_another_card_may_follow(gateway: MockGateway,
                                                         simulator: object) -> None:
    intent, secret = new_payment(gateway, "13.00")
    url = gateway.checkout_url(intent, client_secret=secret, return_url=RETURN)
    fields = {"client_secret": secret, "return_url": RETURN, "expiry": "12/34", "cvc": "1"}
    with httpx.Client() as browser:
        declined = browser.post(url.split("?")[0], data={**fields,
                                                         "card_number": "4000000000009995"})
        assert declined.status_code == 402
        assert "Declined.</strong> Your card has insufficient funds." in declined.text
        assert gateway.retrieve_payment(intent).status is GatewayPaymentStatus.FAILED
        second = browser.post(url.split("?")[0], data={**fields,
                                                       "card_number": "4242424242424242"})
        assert second.status_code == 303
    assert gateway.retrieve_payment(intent).status is GatewayPaymentStatus.SUCCEEDED


def test_another_payments_secret_or_a_bad_return_is_refused(gateway: MockGateway,
                                                             simulator: object) -> None:
    intent, _ = new_payment(gateway, "9.99")
    _, other_secret = new_payment(gateway, "8.88")
    base = gateway.settings.base_url
    with httpx.Client(base_url=base) as browser:
        assert browser.get(f"/checkout/{intent}", params={
            "client_secret": other_secret, "return_url": RETURN}).status_code == 404
        assert browser.post(f"/checkout/{intent}", data={
            "client_secret": other_secret, "return_url": RETURN,
            "card_number": "4242424242424242"}).status_code == 404
        assert browser.get(f"/checkout/{intent}", params={
            "client_secret": other_secret, "return_url": "javascript:alert(1)"}
        ).status_code == 400
    assert gateway.retrieve_payment(intent).status is GatewayPaymentStatus.PENDING
