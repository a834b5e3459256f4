"""The simulator's state and rules: payment intents, refunds, idempotency keys and the events
they raise, shaped like the common card APIs (Stripe's payment intents). In memory, behind one
lock: a simulator lives as long as its process.

Amounts are integers of minor units (cents), as those APIs send them. Card numbers given to
``confirm`` are looked up in :data:`TEST_CARDS` and never kept: an intent remembers the card's
brand and last four digits only.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class SimulatorConfig(BaseModel):
    """How the simulator behaves; the ``/v1/test/settings`` endpoint changes it at run time."""

    model_config = ConfigDict(extra="forbid")

    #: secret API keys accepted (``Authorization: Bearer <key>``); none: every request is 401
    api_keys: list[str] = Field(default_factory=list)
    #: where events are delivered (``None``: recorded, not delivered)
    webhook_url: str | None = None
    #: the webhook signing secret (``whsec_...``)
    webhook_secret: str = "whsec_simulator"
    #: seconds before each delivery
    webhook_delay_seconds: float = Field(default=0.0, ge=0, le=600)
    #: how many times each event is delivered (a duplicate delivery: 2)
    webhook_copies: int = Field(default=1, ge=1, le=10)
    #: added to the signed timestamp (a replayed old delivery: -3600)
    webhook_timestamp_offset: int = 0
    #: sign with this secret instead (a forged delivery)
    webhook_wrong_secret: bool = False
    #: retries of a delivery the receiver did not accept with a 2xx
    webhook_retries: int = Field(default=2, ge=0, le=10)
    #: refunds answer ``pending`` and succeed after this many seconds (``None``: at once)
    refund_delay_seconds: float | None = Field(default=None, ge=0, le=600)
    #: a payment with the delayed-confirmation card settles after this many seconds
    #: (``None``: only when ``/v1/test/payment_intents/{id}/settle`` is called)
    processing_delay_seconds: float | None = Field(default=None, ge=0, le=600)


@dataclass(frozen=True)
class TestCard:
    brand: str
    #: ``succeeded``, ``declined`` or ``processing`` (settles later)
    outcome: str
    decline_code: str | None = None
    message: str | None = None


#: The test cards (the numbers the common card APIs publish for test mode).
TEST_CARDS: dict[str, TestCard] = {
    "4242424242424242": TestCard("visa", "succeeded"),
    "5555555555554444": TestCard("mastercard", "succeeded"),
    "378282246310005": TestCard("amex", "succeeded"),
    "4000000000009995": TestCard("visa", "declined", "insufficient_funds",
                                 "Your card has insufficient funds."),
    "4000000000000002": TestCard("visa", "declined", "generic_decline",
                                 "Your card was declined."),
    "4000000000000069": TestCard("visa", "declined", "expired_card", "Your card has expired."),
    "4000000000003220": TestCard("visa", "processing"),
}
#: Payment-method tokens for the same cards, as a browser integration would send them.
TEST_TOKENS: dict[str, str] = {
    "pm_card_visa": "4242424242424242",
    "pm_card_mastercard": "5555555555554444",
    "pm_card_chargeDeclinedInsufficientFunds": "4000000000009995",
    "pm_card_chargeDeclined": "4000000000000002",
    "pm_card_processing": "4000000000003220",
}


class ApiError(Exception):
    """An answer other than success: the HTTP status and the card API's error object."""

    def __init__(self, status: int, kind: str, message: str, *, code: str | None = None,
                 decline_code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"error": {"type": kind, "message": message,
                                               **({"code": code} if code else {}),
                                               **({"decline_code": decline_code}
                                                  if decline_code else {})}}


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


@dataclass
class Event:
    id: str
    type: str
    created: int
    data: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "object": "event", "type": self.type, "created": self.created,
                "data": {"object": self.data}}


@dataclass
class Gateway:
    """Every intent, refund, idempotent answer and event of the simulator."""

    config: SimulatorConfig
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: (api key, Idempotency-Key) -> (fingerprint of the request, status, answer)
    idempotent: dict[tuple[str, str], tuple[str, int, dict[str, Any]]] = field(
        default_factory=dict)
    events: list[Event] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)
    #: called with each new event (the webhook sender)
    listeners: list[Any] = field(default_factory=list)
    #: (due time, kind, id) of work the clock will do: settling payments and refunds
    timers: list[tuple[float, str, str]] = field(default_factory=list)

    # -- idempotency ---------------------------------------------------------------------
    def idempotent_call(self, api_key: str, key: str | None, method: str, path: str,
                        body: dict[str, Any], action: Any) -> tuple[int, dict[str, Any], bool]:
        """Run ``action()`` once per ``key``: the same key with the same request answers the
        first answer again (``replayed`` True); with another request it is a 400."""
        fingerprint = hashlib.sha256(json.dumps([method, path, body], sort_keys=True)
                                     .encode("utf-8")).hexdigest()
        with self.lock:
            if key is not None and (api_key, key) in self.idempotent:
                seen, status, answer = self.idempotent[(api_key, key)]
                if seen != fingerprint:
                    raise ApiError(400, "idempotency_error",
                                   "Keys for idempotent requests can only be used with the "
                                   "same parameters they were first used with.")
                return status, answer, True
            try:
                status, answer = 200, action()
            except ApiError as exc:
                if exc.status >= 500:
                    raise
                status, answer = exc.status, exc.body
            if key is not None:
                self.idempotent[(api_key, key)] = (fingerprint, status, answer)
            return status, answer, False

    # -- payment intents -----------------------------------------------------------------
    def create_intent(self, body: dict[str, Any]) -> dict[str, Any]:
        amount = body.get("amount")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 50:
            raise ApiError(400, "invalid_request_error",
                           "amount must be an integer number of cents, at least 50",
                           code="parameter_invalid_integer")
        currency = body.get("currency", "usd")
        if currency != "usd":
            raise ApiError(400, "invalid_request_error", "only usd is supported",
                           code="parameter_invalid")
        metadata = body.get("metadata") or {}
        if not isinstance(metadata, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise ApiError(400, "invalid_request_error", "metadata must map text to text")
        intent_id = _new_id("pi")
        intent: dict[str, Any] = {
            "id": intent_id, "object": "payment_intent", "amount": amount,
            "amount_received": 0, "amount_refunded": 0, "currency": currency,
            "description": str(body.get("description") or "")[:500],
            "metadata": metadata, "status": "requires_payment_method",
            "client_secret": f"{intent_id}_secret_{secrets.token_hex(8)}",
            "created": int(time.time()), "card": None, "last_payment_error": None,
        }
        with self.lock:
            self.intents[intent_id] = intent
            return dict(intent)

    def intent(self, intent_id: str) -> dict[str, Any]:
        with self.lock:
            found = self.intents.get(intent_id)
            if found is None:
                raise ApiError(404, "invalid_request_error",
                               f"No such payment_intent: '{intent_id}'",
                               code="resource_missing")
            return dict(found)

    def confirm_intent(self, intent_id: str, body: dict[str, Any]) -> dict[str, Any]:
        method = str(body.get("payment_method") or "")
        number = TEST_TOKENS.get(method, method).replace(" ", "").replace("-", "")
        card = TEST_CARDS.get(number)
        with self.lock:
            intent = self.intents.get(intent_id)
            if intent is None:
                raise ApiError(404, "invalid_request_error",
                               f"No such payment_intent: '{intent_id}'",
                               code="resource_missing")
            if intent["status"] not in ("requires_payment_method", "requires_confirmation"):
                raise ApiError(400, "invalid_request_error",
                               f"This PaymentIntent's status is {intent['status']}; it "
                               "cannot be confirmed", code="payment_intent_unexpected_state")
            if card is None:
                intent["last_payment_error"] = {
                    "type": "card_error", "code": "incorrect_number",
                    "decline_code": "incorrect_number",
                    "message": "Your card number is incorrect (use a test card)."}
                intent["status"] = "requires_payment_method"
                self._emit("payment_intent.payment_failed", intent)
                return dict(intent)
            intent["card"] = {"brand": card.brand, "last4": number[-4:]}
            if card.outcome == "succeeded":
                self._succeed(intent)
            elif card.outcome == "processing":
                intent["status"] = "processing"
                intent["last_payment_error"] = None
                self._emit("payment_intent.processing", intent)
                if self.config.processing_delay_seconds is not None:
                    self.timers.append((time.monotonic() + self.config.processing_delay_seconds,
                                        "intent", intent_id))
            else:
                intent["status"] = "requires_payment_method"
                intent["last_payment_error"] = {
                    "type": "card_error", "code": "card_declined",
                    "decline_code": card.decline_code, "message": card.message}
                self._emit("payment_intent.payment_failed", intent)
            return dict(intent)

    def settle_intent(self, intent_id: str, outcome: str = "succeeded") -> dict[str, Any]:
        """A payment waiting on a delayed confirmation succeeds (or fails)."""
        with self.lock:
            intent = self.intents.get(intent_id)
            if intent is None or intent["status"] != "processing":
                raise ApiError(400, "invalid_request_error", "no processing payment_intent "
                                                             f"'{intent_id}'")
            if outcome == "succeeded":
                self._succeed(intent)
            else:
                intent["status"] = "requires_payment_method"
                intent["last_payment_error"] = {
                    "type": "card_error", "code": "card_declined",
                    "decline_code": "generic_decline", "message": "Your card was declined."}
                self._emit("payment_intent.payment_failed", intent)
            return dict(intent)

    def _succeed(self, intent: dict[str, Any]) -> None:
        intent["status"] = "succeeded"
        intent["amount_received"] = intent["amount"]
        intent["last_payment_error"] = None
        self._emit("payment_intent.succeeded", intent)

    # -- refunds -------------------------------------------------------------------------
    def create_refund(self, body: dict[str, Any]) -> dict[str, Any]:
        intent_id = str(body.get("payment_intent") or "")
        with self.lock:
            intent = self.intents.get(intent_id)
            if intent is None:
                raise ApiError(404, "invalid_request_error",
                               f"No such payment_intent: '{intent_id}'",
                               code="resource_missing")
            if intent["status"] != "succeeded":
                raise ApiError(400, "invalid_request_error",
                               "only a succeeded payment can be refunded",
                               code="charge_not_refundable")
            left = intent["amount_received"] - intent["amount_refunded"]
            amount = body.get("amount", left)
            if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
                raise ApiError(400, "invalid_request_error",
                               "amount must be a positive integer number of cents",
                               code="parameter_invalid_integer")
            if amount > left:
                raise ApiError(400, "invalid_request_error",
                               f"Refund amount ({amount}) is greater than unrefunded amount "
                               f"on charge ({left})", code="amount_too_large")
            refund_id = _new_id("re")
            pending = self.config.refund_delay_seconds is not None
            refund: dict[str, Any] = {
                "id": refund_id, "object": "refund", "amount": amount,
                "payment_intent": intent_id, "currency": intent["currency"],
                "status": "pending" if pending else "succeeded",
                "reason": body.get("reason"), "created": int(time.time()),
                "failure_reason": None}
            intent["amount_refunded"] += amount
            self.refunds[refund_id] = refund
            self._emit("refund.created", refund)
            if pending:
                assert self.config.refund_delay_seconds is not None
                self.timers.append((time.monotonic() + self.config.refund_delay_seconds,
                                    "refund", refund_id))
            return dict(refund)

    def refund(self, refund_id: str) -> dict[str, Any]:
        with self.lock:
            found = self.refunds.get(refund_id)
            if found is None:
                raise ApiError(404, "invalid_request_error", f"No such refund: '{refund_id}'",
                               code="resource_missing")
            return dict(found)

    def settle_refund(self, refund_id: str, outcome: str = "succeeded") -> dict[str, Any]:
        with self.lock:
            refund = self.refunds.get(refund_id)
            if refund is None or refund["status"] != "pending":
                raise ApiError(400, "invalid_request_error", f"no pending refund '{refund_id}'")
            refund["status"] = "succeeded" if outcome == "succeeded" else "failed"
            if refund["status"] == "failed":
                refund["failure_reason"] = "expired_or_canceled_card"
                self.intents[refund["payment_intent"]]["amount_refunded"] -= refund["amount"]
            self._emit("refund.updated", refund)
            return dict(refund)

    # -- the clock -----------------------------------------------------------------------
    def tick(self) -> None:
        """Do the delayed work that is due (payments and refunds settling)."""
        now = time.monotonic()
        with self.lock:
            due = [timer for timer in self.timers if timer[0] <= now]
            self.timers = [timer for timer in self.timers if timer[0] > now]
        for _, kind, item in due:
            try:
                if kind == "intent":
                    self.settle_intent(item)
                else:
                    self.settle_refund(item)
            except ApiError:
                pass  # settled by hand meanwhile

    # -- events --------------------------------------------------------------------------
    def _emit(self, event_type: str, data: dict[str, Any]) -> None:
        event = Event(_new_id("evt"), event_type, int(time.time()), dict(data))
        self.events.append(event)
        for listener in self.listeners:
            listener(event)

    def event(self, event_id: str) -> Event:
        with self.lock:
            for event in self.events:
                if event.id == event_id:
                    return event
        raise ApiError(404, "invalid_request_error", f"No such event: '{event_id}'",
                       code="resource_missing")


def public_intent(intent: dict[str, Any]) -> dict[str, Any]:
    """An intent as the API answers it: the card under ``payment_method_details``."""
    card = intent.get("card")
    answer = {key: value for key, value in intent.items() if key != "card"}
    answer["payment_method_details"] = {"card": card} if card else None
    return answer
