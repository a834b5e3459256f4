"""Delivering the simulator's events to the configured webhook URL, signed like the common
card APIs: ``Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 over "<t>.<body>">``.

A background thread sends each event after ``webhook_delay_seconds``, ``webhook_copies``
times (duplicates on demand), retrying a delivery the receiver did not accept with a 2xx.
Each attempt is recorded (event id, status code or error type) for the tests to read. The
same thread runs the simulator's clock (payments and refunds settling later).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import threading
import time
from dataclasses import dataclass

import httpx

from medbill_payments_mock.simulator.state import Event, Gateway

log = logging.getLogger("medbill_payments_mock.simulator.webhooks")

SIGNATURE_HEADER = "Stripe-Signature"


def signature_header(secret: str, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret.encode("utf-8"), str(timestamp).encode("ascii") + b"." + body,
                      hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@dataclass(frozen=True)
class Delivery:
    event_id: str
    event_type: str
    #: the receiver's HTTP status, or ``None`` when it could not be reached
    status: int | None
    error: str | None = None


class WebhookSender:
    """Sends events in the background; :meth:`stop` ends the thread."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.deliveries: list[Delivery] = []
        #: deliveries not finished yet (queued, due later, retrying), for :meth:`drain`
        self._unfinished = 0
        self._count_lock = threading.Lock()
        self._queue: queue.Queue[tuple[float, Event]] = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="payments-mock-webhooks",
                                        daemon=True)
        gateway.listeners.append(self._enqueue)

    def start(self) -> WebhookSender:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until no delivery is queued or due later; False when the time ran out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._unfinished == 0:
                return True
            time.sleep(0.02)
        return False

    def _enqueue(self, event: Event) -> None:
        config = self.gateway.config
        due = time.monotonic() + config.webhook_delay_seconds
        for _ in range(config.webhook_copies):
            with self._count_lock:
                self._unfinished += 1
            self._queue.put((due, event))

    def deliver(self, event: Event) -> Delivery:
        """Send ``event`` once now (no retry): what the receiver answered."""
        config = self.gateway.config
        if config.webhook_url is None:
            return Delivery(event.id, event.type, None, "no webhook_url")
        body = json.dumps(event.as_json(), separators=(",", ":")).encode("utf-8")
        secret = "whsec_not_the_secret" if config.webhook_wrong_secret \
            else config.webhook_secret
        header = signature_header(secret, body,
                                  int(time.time()) + config.webhook_timestamp_offset)
        try:
            response = httpx.post(config.webhook_url, content=body, timeout=10, headers={
                "Content-Type": "application/json", SIGNATURE_HEADER: header})
            delivery = Delivery(event.id, event.type, response.status_code)
        except httpx.HTTPError as exc:
            delivery = Delivery(event.id, event.type, None, type(exc).__name__)
        self.deliveries.append(delivery)
        log.info("webhook %s %s -> %s", event.id, event.type, delivery.status or delivery.error)
        return delivery

    def _run(self) -> None:
        waiting: list[tuple[float, int, Event]] = []
        while not self._stop.is_set():
            self.gateway.tick()
            try:
                due, event = self._queue.get(timeout=0.05)
                waiting.append((due, 0, event))
                while True:  # and everything else queued meanwhile
                    due, event = self._queue.get_nowait()
                    waiting.append((due, 0, event))
            except queue.Empty:
                pass
            now = time.monotonic()
            ready = [item for item in waiting if item[0] <= now]
            waiting = [item for item in waiting if item[0] > now]
            for _, attempt, event in sorted(ready, key=lambda item: item[0]):
                delivery = self.deliver(event)
                accepted = delivery.status is not None and 200 <= delivery.status < 300
                if not accepted and delivery.error != "no webhook_url" \
                        and attempt < self.gateway.config.webhook_retries:
                    waiting.append((now + 0.2 * 2 ** attempt, attempt + 1, event))
                else:
                    with self._count_lock:
                        self._unfinished -= 1
