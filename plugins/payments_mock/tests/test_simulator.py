"""The gateway simulator's HTTP API, over real HTTP on loopback: payment intents, test cards,
refunds, Idempotency-Key semantics, signed webhooks with duplicates and delays."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import httpx
from pm_support import WEBHOOK_SECRET, Receiver


def _intent(http: httpx.Client, amount: int = 12345, **headers: str) -> dict:
    response = http.post("/v1/payment_intents", json={
        "amount": amount, "currency": "usd", "description": "Test practice payment cp_1",
        "metadata": {"medbill_reference": "cp_1"}}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def _events_of(receiver: Receiver, count: int) -> list[dict]:
    return [json.loads(body) for _, body in receiver.wait_for(count)]


def test_every_request_needs_the_secret_key(server, simulator) -> None:
    response = httpx.post(f"{server.base_url}/v1/payment_intents", json={"amount": 1000})
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"
    wrong = httpx.get(f"{server.base_url}/v1/payment_intents/pi_x",
                      headers={"Authorization": "Bearer sk_test_wrong"})
    assert wrong.status_code == 401


def test_same_key_same_body_answers_the_first_answer(http, simulator) -> None:
    first = http.post("/v1/payment_intents", json={"amount": 2000},
                      headers={"Idempotency-Key": "k-same-1"})
    again = http.post("/v1/payment_intents", json={"amount": 2000},
                      headers={"Idempotency-Key": "k-same-1"})
    assert first.status_code == again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    other = http.post("/v1/payment_intents", json={"amount": 2000},
                      headers={"Idempotency-Key": "k-same-2"})
    assert other.json()["id"] != first.json()["id"]


def test_same_key_other_body_is_refused(http, simulator) -> None:
    http.post("/v1/payment_intents", json={"amount": 2000}, headers={"Idempotency-Key": "k-d"})
    response = http.post("/v1/payment_intents", json={"amount": 2500},
                         headers={"Idempotency-Key": "k-d"})
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "idempotency_error"


def test_a_good_card_succeeds_and_the_webhook_is_signed(http, simulator, receiver) -> None:
    intent = _intent(http)
    assert intent["status"] == "requires_payment_method" and intent["amount"] == 12345
    confirmed = http.post(f"/v1/payment_intents/{intent['id']}/confirm",
                          json={"payment_method": "4242424242424242"}).json()
    assert confirmed["status"] == "succeeded"
    assert confirmed["amount_received"] == 12345
    assert confirmed["payment_method_details"] == {"card": {"brand": "visa", "last4": "4242"}}
    [(headers, body)] = receiver.wait_for(1)
    event = json.loads(body)
    assert event["type"] == "payment_intent.succeeded"
    assert event["data"]["object"]["id"] == intent["id"]
    timestamp, signature = (part.split("=", 1)[1]
                            for part in headers["stripe-signature"].split(","))
    expected = hmac.new(WEBHOOK_SECRET.encode(), timestamp.encode() + b"." + body,
                        hashlib.sha256).hexdigest()
    assert signature == expected
    assert abs(int(timestamp) - time.time()) < 30
    # the card number is kept nowhere: not in the intent, not in the event
    assert "4242424242424242" not in json.dumps(simulator.gateway.intents)
    assert b"4242424242424242" not in body


def test_declined_cards_say_why(http, simulator) -> None:
    for number, code in (("4000000000009995", "insufficient_funds"),
                         ("4000000000000002", "generic_decline"),
                         ("1234123412341234", "incorrect_number")):
        intent = _intent(http)
        answer = http.post(f"/v1/payment_intents/{intent['id']}/confirm",
                           json={"payment_method": number}).json()
        assert answer["status"] == "requires_payment_method"
        assert answer["last_payment_error"]["decline_code"] == code
        assert answer["amount_received"] == 0


def test_a_delayed_card_is_processing_until_it_settles(http, simulator, receiver) -> None:
    intent = _intent(http)
    answer = http.post(f"/v1/payment_intents/{intent['id']}/confirm",
                       json={"payment_method": "4000000000003220"}).json()
    assert answer["status"] == "processing"
    settled = http.post(f"/v1/test/payment_intents/{intent['id']}/settle", json={}).json()
    assert settled["status"] == "succeeded"
    types = [event["type"] for event in _events_of(receiver, 2)]
    assert types == ["payment_intent.processing", "payment_intent.succeeded"]


def test_a_delayed_card_settles_by_itself_after_the_configured_delay(
        http, simulator, receiver) -> None:
    simulator.configure(processing_delay_seconds=0.3)
    intent = _intent(http)
    http.post(f"/v1/payment_intents/{intent['id']}/confirm",
              json={"payment_method": "pm_card_processing"})
    assert http.get(f"/v1/payment_intents/{intent['id']}").json()["status"] == "processing"
    events = _events_of(receiver, 2)
    assert events[-1]["type"] == "payment_intent.succeeded"


def test_refunds_whole_and_part_never_more_than_received(http, simulator) -> None:
    intent = _intent(http, amount=10000)
    http.post(f"/v1/payment_intents/{intent['id']}/confirm",
              json={"payment_method": "5555555555554444"})
    part = http.post("/v1/refunds", json={"payment_intent": intent["id"], "amount": 2500})
    assert part.json()["status"] == "succeeded" and part.json()["amount"] == 2500
    too_much = http.post("/v1/refunds", json={"payment_intent": intent["id"], "amount": 7501})
    assert too_much.status_code == 400
    assert too_much.json()["error"]["code"] == "amount_too_large"
    rest = http.post("/v1/refunds", json={"payment_intent": intent["id"]}).json()
    assert rest["amount"] == 7500
    assert http.get(f"/v1/payment_intents/{intent['id']}").json()["amount_refunded"] == 10000


def test_a_refund_of_an_unpaid_intent_is_refused(http, simulator) -> None:
    intent = _intent(http)
    response = http.post("/v1/refunds", json={"payment_intent": intent["id"]})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "charge_not_refundable"


def test_duplicates_and_delays_on_demand(http, simulator, receiver) -> None:
    simulator.configure(webhook_copies=2, webhook_delay_seconds=0.4)
    started = time.monotonic()
    intent = _intent(http)
    http.post(f"/v1/payment_intents/{intent['id']}/confirm",
              json={"payment_method": "pm_card_visa"})
    assert receiver.wait_for(1, timeout=0.2) == []  # not before the delay
    delivered = _events_of(receiver, 2)
    assert time.monotonic() - started >= 0.4
    assert len(delivered) == 2
    assert delivered[0]["id"] == delivered[1]["id"]


def test_a_refused_delivery_is_retried(http, simulator, receiver) -> None:
    receiver.status = 503
    intent = _intent(http)
    http.post(f"/v1/payment_intents/{intent['id']}/confirm",
              json={"payment_method": "pm_card_visa"})
    received = receiver.wait_for(3)
    assert len(received) == 3  # the first attempt and two retries
    # The receiver answers before the simulator records the delivery: wait for the record.
    assert simulator.webhooks.drain()
    [event_id] = {json.loads(body)["id"] for _, body in received}
    statuses = [d.status for d in simulator.webhooks.deliveries if d.event_id == event_id]
    assert statuses == [503, 503, 503]


def test_an_event_is_delivered_again_on_demand(http, simulator, receiver) -> None:
    intent = _intent(http)
    http.post(f"/v1/payment_intents/{intent['id']}/confirm",
              json={"payment_method": "pm_card_visa"})
    [(_, body)] = receiver.wait_for(1)
    event_id = json.loads(body)["id"]
    answer = http.post(f"/v1/test/events/{event_id}/deliver").json()
    assert answer == {"event": event_id, "status": 200, "error": None}
    assert [json.loads(b)["id"] for _, b in receiver.wait_for(2)] == [event_id, event_id]
