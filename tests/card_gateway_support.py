"""An in-process payment gateway for the core's card payment tests: the gateway's answers
and signed webhooks without a network (the real simulator's tests are the payments_mock
plugin's, and the integration suite runs both together)."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from medbill_core.errors import GatewayError
from medbill_core.gateways import (
    GatewayCapability,
    GatewayEvent,
    GatewayEventType,
    GatewayPayment,
    GatewayPaymentStatus,
    GatewayRefund,
    GatewayRefundStatus,
    PaymentGateway,
    PaymentRequest,
    verify_hmac_header,
)
from medbill_core.hookspecs import hookimpl

SECRET = "whsec_core_tests"
#: cards: success, declines, a delayed confirmation
CARDS = {"ok": ("visa", "4242", None), "broke": ("visa", "9995", "insufficient_funds"),
         "declined": ("mastercard", "0002", "generic_decline"), "slow": ("visa", "3220", None)}


class FakeGateway(PaymentGateway):
    identifier = "fake"
    verbose_name = "In-process test gateway"
    capabilities = frozenset({GatewayCapability.PARTIAL_REFUNDS, GatewayCapability.WEBHOOKS})

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.payments: dict[str, GatewayPayment] = {}
        self.refunds: dict[str, GatewayRefund] = {}
        self.requests: list[PaymentRequest] = []
        self.keys: dict[str, str] = {}
        self.down = False
        self.refunds_pending = False
        self._ids = itertools.count(1)

    def _check_up(self) -> None:
        if self.down:
            raise GatewayError("payment gateway 'fake' is unreachable (ConnectError) after "
                               "3 attempt(s)")

    def create_payment(self, request: PaymentRequest) -> GatewayPayment:
        self._check_up()
        if request.idempotency_key in self.keys:
            return self.payments[self.keys[request.idempotency_key]]
        self.requests.append(request)
        intent = GatewayPayment(f"pi_{next(self._ids)}", GatewayPaymentStatus.PENDING,
                                request.amount, client_secret="secret_x",
                                reference=request.reference)
        self.payments[intent.intent_id] = intent
        self.keys[request.idempotency_key] = intent.intent_id
        return intent

    def charge(self, intent_id: str, card: str) -> GatewayPayment:
        """What the payer's browser does with the gateway (not through medbill)."""
        brand, last4, decline = CARDS[card]
        old = self.payments[intent_id]
        status = (GatewayPaymentStatus.FAILED if decline else
                  GatewayPaymentStatus.PROCESSING if card == "slow" else
                  GatewayPaymentStatus.SUCCEEDED)
        new = GatewayPayment(intent_id, status, old.amount, decline_code=decline,
                             decline_message="Your card was declined." if decline else None,
                             card_brand=brand, card_last4=last4, reference=old.reference)
        self.payments[intent_id] = new
        return new

    def settle(self, intent_id: str) -> GatewayPayment:
        old = self.payments[intent_id]
        new = GatewayPayment(intent_id, GatewayPaymentStatus.SUCCEEDED, old.amount,
                             card_brand=old.card_brand, card_last4=old.card_last4)
        self.payments[intent_id] = new
        return new

    def confirm_payment(self, intent_id: str, *, payment_method: str,
                        idempotency_key: str) -> GatewayPayment:
        self._check_up()
        return self.charge(intent_id, payment_method)

    def retrieve_payment(self, intent_id: str) -> GatewayPayment:
        self._check_up()
        return self.payments[intent_id]

    def refund(self, intent_id: str, *, amount: Decimal | None, idempotency_key: str,
               reason: str | None = None) -> GatewayRefund:
        self._check_up()
        assert amount is not None
        refund = GatewayRefund(f"re_{next(self._ids)}", intent_id, amount,
                               GatewayRefundStatus.PENDING if self.refunds_pending
                               else GatewayRefundStatus.SUCCEEDED)
        self.refunds[refund.refund_id] = refund
        return refund

    def settle_refund(self, refund_id: str, ok: bool = True) -> GatewayRefund:
        old = self.refunds[refund_id]
        new = GatewayRefund(refund_id, old.intent_id, old.amount,
                            GatewayRefundStatus.SUCCEEDED if ok else GatewayRefundStatus.FAILED,
                            None if ok else "expired_or_canceled_card")
        self.refunds[refund_id] = new
        return new

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        verify_hmac_header(SECRET, headers.get("x-fake-signature", ""), body,
                           tolerance=self.webhook_tolerance)
        event = json.loads(body)
        created = datetime.fromtimestamp(event["created"], UTC)
        kind = GatewayEventType(event["type"])
        if "payment" in event:
            return GatewayEvent(event["id"], kind, created,
                                payment=self.payments[event["payment"]])
        return GatewayEvent(event["id"], kind, created, refund=self.refunds[event["refund"]])


GATEWAY = FakeGateway()
_events = itertools.count(1)


def webhook(event_type: str, *, payment: str | None = None, refund: str | None = None,
            event_id: str | None = None, age: int = 0,
            secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    """A signed webhook about the gateway's current state of ``payment`` or ``refund``."""
    event: dict[str, Any] = {"id": event_id or f"evt_{next(_events)}", "type": event_type,
                             "created": int(time.time())}
    if payment is not None:
        event["payment"] = payment
    if refund is not None:
        event["refund"] = refund
    body = json.dumps(event).encode()
    moment = int(time.time()) - age
    digest = hmac.new(secret.encode(), f"{moment}.".encode() + body, hashlib.sha256)
    return body, {"X-Fake-Signature": f"t={moment},v1={digest.hexdigest()}"}


def plugin() -> Any:
    @hookimpl
    def medbill_register_payment_gateways(context: Any) -> Sequence[PaymentGateway]:
        return [GATEWAY]

    return SimpleNamespace(medbill_register_payment_gateways=medbill_register_payment_gateways)
