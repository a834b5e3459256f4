"""The ``mock`` payment gateway: medbill's side of the simulator's HTTP API (httpx).

* every creating call sends an ``Idempotency-Key``; a retry after a timeout, a connection
  error or a 5xx reuses it, so the gateway acts once;
* amounts cross as integer cents, converted by the base class's
  :meth:`~medbill_core.api.PaymentGateway.to_minor_units` / ``from_minor_units`` only;
* webhooks are verified with the signing secret (``Stripe-Signature: t=...,v1=...``) and a
  timestamp tolerance before anything in them is believed;
* errors are :class:`~medbill_core.api.GatewayError` naming the gateway and the status or the
  error code, never a card number or an amount.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import httpx

from medbill_core.api import (
    GatewayCapability,
    GatewayError,
    GatewayEvent,
    GatewayEventType,
    GatewayPayment,
    GatewayPaymentStatus,
    GatewayRefund,
    GatewayRefundStatus,
    PaymentGateway,
    PaymentRequest,
    WebhookRefused,
    verify_hmac_header,
)
from medbill_payments_mock.settings import PaymentsMockSettings

_RETRIABLE = (httpx.TimeoutException, httpx.TransportError)
_PAYMENT_EVENTS = {
    "payment_intent.succeeded": GatewayEventType.PAYMENT_SUCCEEDED,
    "payment_intent.payment_failed": GatewayEventType.PAYMENT_FAILED,
    "payment_intent.processing": GatewayEventType.PAYMENT_PROCESSING,
}
_REFUND_STATUSES = {"pending": GatewayRefundStatus.PENDING,
                    "succeeded": GatewayRefundStatus.SUCCEEDED,
                    "failed": GatewayRefundStatus.FAILED,
                    "canceled": GatewayRefundStatus.FAILED}


class MockGateway(PaymentGateway):
    """Talks to the payment gateway simulator (or anything serving the same API) over HTTP."""

    identifier = "mock"
    verbose_name = "Mock card gateway (simulator over HTTP)"
    capabilities = frozenset({GatewayCapability.PARTIAL_REFUNDS, GatewayCapability.WEBHOOKS,
                              GatewayCapability.HOSTED_CHECKOUT})

    def __init__(self, settings: PaymentsMockSettings | None = None, *,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.settings = settings or PaymentsMockSettings()
        self._transport = transport
        self.webhook_tolerance = self.settings.webhook_tolerance
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()
        #: attempts made by the last request (diagnostics and tests)
        self.last_attempts = 0

    @property
    def client(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                s = self.settings
                self._client = httpx.Client(
                    base_url=s.base_url, transport=self._transport,
                    timeout=httpx.Timeout(s.read_timeout, connect=s.connect_timeout),
                    headers={"Authorization": f"Bearer {s.resolved_api_key()}"})
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def _request(self, method: str, path: str, *, body: dict[str, Any] | None = None,
                 idempotency_key: str | None = None) -> dict[str, Any]:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        attempt = 0
        while True:
            attempt += 1
            self.last_attempts = attempt
            problem: str
            try:
                response = self.client.request(method, path, json=body, headers=headers)
            except _RETRIABLE as exc:
                problem = f"is unreachable ({type(exc).__name__})"
            else:
                if response.status_code < 400:
                    answer = response.json()
                    if not isinstance(answer, dict):
                        raise GatewayError(f"payment gateway {self.identifier!r}: an answer "
                                           "that is not a JSON object")
                    return answer
                code = _error_code(response)
                problem = f"answered {response.status_code} ({code})"
                if response.status_code < 500:  # refused: it did nothing (never retried)
                    raise GatewayError(f"payment gateway {self.identifier!r} {problem}",
                                       refused=True)
            if attempt > self.settings.max_retries:
                raise GatewayError(f"payment gateway {self.identifier!r} {problem}"
                                   f" after {attempt} attempt(s)")
            time.sleep(self.settings.backoff_initial * 2 ** (attempt - 1))

    # -- payments ------------------------------------------------------------------------
    def create_payment(self, request: PaymentRequest) -> GatewayPayment:
        return self._payment(self._request("POST", "/v1/payment_intents", body={
            "amount": self.to_minor_units(request.amount), "currency": request.currency,
            "description": request.description,
            "metadata": {**request.metadata, "medbill_reference": request.reference},
        }, idempotency_key=request.idempotency_key))

    def confirm_payment(self, intent_id: str, *, payment_method: str,
                        idempotency_key: str) -> GatewayPayment:
        return self._payment(self._request(
            "POST", f"/v1/payment_intents/{_path_id(intent_id)}/confirm",
            body={"payment_method": payment_method}, idempotency_key=idempotency_key))

    def retrieve_payment(self, intent_id: str) -> GatewayPayment:
        return self._payment(self._request("GET",
                                           f"/v1/payment_intents/{_path_id(intent_id)}"))

    def checkout_url(self, intent_id: str, *, client_secret: str, return_url: str) -> str:
        """The simulator's card page (``/checkout/{id}``), at ``public_base_url`` (the
        address the payer's browser reaches it at; default ``base_url``)."""
        base = self.settings.public_base_url or self.settings.base_url
        query = urlencode({"client_secret": client_secret, "return_url": return_url})
        return f"{base}/checkout/{_path_id(intent_id)}?{query}"

    def refund(self, intent_id: str, *, amount: Decimal | None, idempotency_key: str,
               reason: str | None = None) -> GatewayRefund:
        body: dict[str, Any] = {"payment_intent": intent_id}
        if amount is not None:
            body["amount"] = self.to_minor_units(amount)
        if reason:
            body["reason"] = reason
        return self._refund(self._request("POST", "/v1/refunds", body=body,
                                          idempotency_key=idempotency_key))

    # -- webhooks ------------------------------------------------------------------------
    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        header = headers.get("stripe-signature")
        if not header:
            raise WebhookRefused("the webhook has no Stripe-Signature header")
        verify_hmac_header(self.settings.resolved_webhook_secret(), header, body,
                           tolerance=self.webhook_tolerance)
        try:
            event = json.loads(body)
            event_id, event_type = str(event["id"]), str(event["type"])
            created = datetime.fromtimestamp(int(event["created"]), UTC)
            data = event["data"]["object"]
        except (ValueError, KeyError, TypeError) as exc:
            raise WebhookRefused(f"the webhook's event cannot be read ({type(exc).__name__})"
                                 ) from None
        if event_type in _PAYMENT_EVENTS:
            return GatewayEvent(event_id, _PAYMENT_EVENTS[event_type], created,
                                payment=self._payment(data))
        if event_type.startswith("refund."):
            refund = self._refund(data)
            kind = {GatewayRefundStatus.SUCCEEDED: GatewayEventType.REFUND_SUCCEEDED,
                    GatewayRefundStatus.FAILED: GatewayEventType.REFUND_FAILED}.get(
                refund.status, GatewayEventType.OTHER)
            return GatewayEvent(event_id, kind, created, refund=refund)
        return GatewayEvent(event_id, GatewayEventType.OTHER, created)

    # -- reading answers -----------------------------------------------------------------
    def _payment(self, intent: dict[str, Any]) -> GatewayPayment:
        try:
            status = str(intent["status"])
            error = intent.get("last_payment_error") or None
            card = (intent.get("payment_method_details") or {}).get("card") or {}
            if status == "succeeded":
                folded = GatewayPaymentStatus.SUCCEEDED
            elif status == "processing":
                folded = GatewayPaymentStatus.PROCESSING
            elif status == "canceled" or error:
                folded = GatewayPaymentStatus.FAILED
            else:
                folded = GatewayPaymentStatus.PENDING
            return GatewayPayment(
                intent_id=str(intent["id"]), status=folded,
                amount=self.from_minor_units(intent["amount"]),
                amount_refunded=self.from_minor_units(intent.get("amount_refunded", 0)),
                decline_code=str(error.get("decline_code") or error.get("code") or "declined")
                if error else None,
                decline_message=str(error.get("message"))[:255] if error and
                error.get("message") else None,
                card_brand=str(card["brand"]) if card.get("brand") else None,
                card_last4=str(card["last4"]) if card.get("last4") else None,
                client_secret=intent.get("client_secret"),
                reference=(intent.get("metadata") or {}).get("medbill_reference"))
        except (KeyError, TypeError, AttributeError) as exc:
            raise GatewayError(f"payment gateway {self.identifier!r}: a payment answer that "
                               f"cannot be read ({type(exc).__name__})") from None

    def _refund(self, refund: dict[str, Any]) -> GatewayRefund:
        try:
            return GatewayRefund(
                refund_id=str(refund["id"]), intent_id=str(refund["payment_intent"]),
                amount=self.from_minor_units(refund["amount"]),
                status=_REFUND_STATUSES.get(str(refund["status"]), GatewayRefundStatus.PENDING),
                failure_reason=refund.get("failure_reason"))
        except (KeyError, TypeError) as exc:
            raise GatewayError(f"payment gateway {self.identifier!r}: a refund answer that "
                               f"cannot be read ({type(exc).__name__})") from None


def _error_code(response: httpx.Response) -> str:
    try:
        error = response.json().get("error") or {}
        return str(error.get("code") or error.get("type") or "error")[:60]
    except (ValueError, AttributeError):
        return "error"


def _path_id(identifier: str) -> str:
    """An id from an answer, safe in a URL path (``pi_`` then letters and digits)."""
    if not identifier.replace("_", "").isalnum():
        raise GatewayError("payment gateway 'mock': a malformed payment id")
    return identifier
