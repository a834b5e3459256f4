"""Payment gateways: the base class a card-payment plugin implements (modelled on pretix's
``BasePaymentProvider``), and what it answers with.

A plugin registers :class:`PaymentGateway` instances through
:func:`~medbill_core.hookspecs.medbill_register_payment_gateways`; a practice names the one it
uses in ``medbill.toml`` (``[medbill] payment_gateway = "mock"``, the plugin enabled in
``plugins``). The core's card payment service (:mod:`medbill_core.services.card_payments`)
calls the gateway and posts to the ledger only from the gateway's confirmation: a webhook
(:meth:`PaymentGateway.verify_webhook`) or a read of the payment
(:meth:`PaymentGateway.retrieve_payment`), whichever comes first.

Rules every implementation follows:

* **Money** is :class:`decimal.Decimal` dollars with cents, in and out. The gateway's minor
  units (cents for USD) are converted in one place, :meth:`PaymentGateway.to_minor_units` and
  :meth:`PaymentGateway.from_minor_units`: never by hand, never through float.
* **No PHI** goes to the gateway: a description names the practice and our payment reference
  (``card-payment 12``), never a patient's name, birth date, account or date of service;
  metadata carries our references only.
* **No card data** is kept: a card number given to :meth:`PaymentGateway.confirm_payment`
  (a phone payment keyed by staff) goes to the gateway and nowhere else; what comes back is
  the card's brand and last four digits at most.
* **Retries are safe**: every call that creates something at the gateway takes an
  idempotency key the gateway uses to answer a repeated request with the first answer.
* **Errors** are :class:`GatewayError` (the gateway is unreachable or refused the request:
  a one-line message without PHI) and :class:`WebhookRefused` (a webhook whose signature or
  timestamp does not verify). A decline is not an error: it is a payment whose status is
  ``failed`` with a decline code.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar

from medbill_core.errors import GatewayError, WebhookRefused
from medbill_core.money import CENT

__all__ = [
    "GatewayCapability", "GatewayError", "GatewayEvent", "GatewayEventType", "GatewayPayment",
    "GatewayPaymentStatus", "GatewayRefund", "GatewayRefundStatus", "PaymentGateway",
    "PaymentRequest", "WebhookRefused", "verify_hmac_header",
]


class GatewayCapability(StrEnum):
    """What a gateway can do beyond taking a one-off card payment."""

    #: charge a card the gateway keeps for a customer (:meth:`PaymentGateway.charge_saved_card`)
    SAVED_CARDS = "saved_cards"
    #: refund part of a payment (without it, only whole refunds)
    PARTIAL_REFUNDS = "partial_refunds"
    #: sends signed webhooks (:meth:`PaymentGateway.verify_webhook`); without them, payments
    #: are confirmed by reading them back only
    WEBHOOKS = "webhooks"
    #: a card page of its own the payer's browser is sent to (:meth:`PaymentGateway.checkout_url`):
    #: the card is typed at the gateway, never into medbill's pages
    HOSTED_CHECKOUT = "hosted_checkout"


class GatewayPaymentStatus(StrEnum):
    """Where a payment stands at the gateway (the common card APIs' payment-intent states,
    folded to what medbill acts on)."""

    #: created; no card yet, or a card that needs the customer's action (3-D Secure)
    PENDING = "pending"
    #: the gateway is still deciding (a delayed confirmation); a webhook will tell
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    #: declined (``decline_code`` says why) or canceled
    FAILED = "failed"


class GatewayRefundStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class PaymentRequest:
    """A payment to create at the gateway.

    :param amount: Decimal dollars with cents (more than 0.00).
    :param description: shown to the card holder and the practice: the practice and our
        reference, never PHI.
    :param reference: our payment reference (``card-payment 12``), sent as metadata so a
        webhook can be matched without the gateway's id.
    :param idempotency_key: the same key for a retry of the same request.
    :param metadata: more of our references (ids, never PHI).
    :param currency: ISO 4217, lower case.
    """

    amount: Decimal
    description: str
    reference: str
    idempotency_key: str
    metadata: Mapping[str, str] = field(default_factory=dict)
    currency: str = "usd"


@dataclass(frozen=True)
class GatewayPayment:
    """A payment as the gateway reports it. Amounts are Decimal dollars with cents."""

    intent_id: str
    status: GatewayPaymentStatus
    amount: Decimal
    amount_refunded: Decimal = Decimal("0.00")
    #: why a payment failed, as the gateway codes it (``insufficient_funds``); never card data
    decline_code: str | None = None
    #: the gateway's words for the decline (shown to staff; no card data)
    decline_message: str | None = None
    card_brand: str | None = None
    card_last4: str | None = None
    #: what a browser page needs to confirm the payment with the gateway (never logged)
    client_secret: str | None = None
    #: our reference sent with :class:`PaymentRequest`, as the gateway returns it
    reference: str | None = None


@dataclass(frozen=True)
class GatewayRefund:
    refund_id: str
    intent_id: str
    amount: Decimal
    status: GatewayRefundStatus
    failure_reason: str | None = None


class GatewayEventType(StrEnum):
    PAYMENT_SUCCEEDED = "payment.succeeded"
    PAYMENT_FAILED = "payment.failed"
    PAYMENT_PROCESSING = "payment.processing"
    REFUND_SUCCEEDED = "refund.succeeded"
    REFUND_FAILED = "refund.failed"
    #: an event medbill does not act on (acknowledged, nothing done)
    OTHER = "other"


@dataclass(frozen=True)
class GatewayEvent:
    """A verified webhook: the gateway's event id (the same event delivered twice has the
    same id) and the payment or refund it is about."""

    event_id: str
    type: GatewayEventType
    created: datetime
    payment: GatewayPayment | None = None
    refund: GatewayRefund | None = None


def verify_hmac_header(secret: str, header: str, body: bytes, *, tolerance: int,
                       now: float | None = None) -> int:
    """Check a ``t=<unix seconds>,v1=<hex>`` signature header (the scheme of the common card
    APIs: HMAC-SHA256 keyed with the webhook secret over ``"<t>.<raw body>"``; several ``v1``
    while a secret rotates) and return its timestamp.

    :raises WebhookRefused: the header is missing or malformed, the timestamp is further than
        ``tolerance`` seconds from now (a replay), or no signature matches.
    """
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isascii() and value.isdigit():
            timestamp = int(value)
        elif name == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        raise WebhookRefused("the webhook's signature header is missing or malformed")
    moment = time.time() if now is None else now
    if abs(moment - timestamp) > tolerance:
        raise WebhookRefused(f"the webhook's timestamp is more than {tolerance} seconds from "
                             "now (a replayed or delayed delivery)")
    expected = hmac.new(secret.encode("utf-8"), str(timestamp).encode("ascii") + b"." + body,
                        hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        raise WebhookRefused("the webhook's signature does not match")
    return timestamp


class PaymentGateway:
    """A card payment gateway. Subclass it, set :attr:`identifier` and
    :attr:`verbose_name`, declare :attr:`capabilities`, implement the methods your gateway
    supports; the defaults refuse with a :class:`GatewayError` naming what is unsupported.

    .. versionadded:: 1.4
    """

    #: Unique, stable, lower-case name used in configuration (``payment_gateway = "mock"``).
    identifier: ClassVar[str] = ""
    #: Human-readable name for listings.
    verbose_name: ClassVar[str] = ""
    capabilities: ClassVar[frozenset[GatewayCapability]] = frozenset()
    #: How many decimal places the gateway's minor unit has (2: cents).
    minor_unit_exponent: ClassVar[int] = 2
    #: How far a webhook's signed timestamp may be from our clock (seconds); an instance
    #: may set its own from its settings.
    webhook_tolerance: int = 300

    # -- money: the one place amounts are converted ----------------------------------------
    def to_minor_units(self, amount: Decimal) -> int:
        """``Decimal("12.34")`` -> ``1234``.

        :raises GatewayError: the amount has fractions of a cent (never rounded).
        """
        scaled = amount.scaleb(self.minor_unit_exponent)
        if not amount.is_finite() or scaled != scaled.to_integral_value():
            raise GatewayError(f"payment gateway {self.identifier!r}: an amount in fractions "
                               "of a cent")
        return int(scaled)

    def from_minor_units(self, value: int) -> Decimal:
        """``1234`` -> ``Decimal("12.34")``.

        :raises GatewayError: the gateway sent something that is not a whole number.
        """
        if isinstance(value, bool) or not isinstance(value, int):
            raise GatewayError(f"payment gateway {self.identifier!r}: an amount that is not "
                               "a whole number of minor units")
        return Decimal(value).scaleb(-self.minor_unit_exponent).quantize(CENT)

    def supports(self, capability: GatewayCapability) -> bool:
        return capability in self.capabilities

    # -- payments ----------------------------------------------------------------------------
    def create_payment(self, request: PaymentRequest) -> GatewayPayment:
        """Create a payment (an intent to charge ``request.amount``), not yet charged."""
        raise self._unsupported("create payments")

    def confirm_payment(self, intent_id: str, *, payment_method: str,
                        idempotency_key: str) -> GatewayPayment:
        """Charge a card for a created payment: ``payment_method`` is the gateway's token for
        the card, or (a phone payment keyed by staff, where the gateway takes them) the card
        number itself, passed on and kept nowhere. The answer may be ``succeeded``,
        ``failed`` (declined), or ``processing`` (a webhook will confirm it)."""
        raise self._unsupported("confirm payments")

    def retrieve_payment(self, intent_id: str) -> GatewayPayment:
        """The payment as the gateway has it now (confirming on the browser's return)."""
        raise self._unsupported("read payments")

    def charge_saved_card(self, request: PaymentRequest, *, customer: str,
                          payment_method: str) -> GatewayPayment:
        """Create and confirm a payment on a card the gateway keeps for ``customer``
        (:attr:`GatewayCapability.SAVED_CARDS`)."""
        raise self._unsupported("charge saved cards")

    def checkout_url(self, intent_id: str, *, client_secret: str, return_url: str) -> str:
        """The gateway's own card page for a created payment
        (:attr:`GatewayCapability.HOSTED_CHECKOUT`): the payer types the card there, and the
        gateway sends the browser back to ``return_url`` (a ``303``) when it succeeded,
        or when the payer gives up; medbill then reads the payment back
        (:meth:`retrieve_payment`).

        .. versionadded:: 1.5
        """
        raise self._unsupported("show a card page")

    # -- refunds -----------------------------------------------------------------------------
    def refund(self, intent_id: str, *, amount: Decimal | None, idempotency_key: str,
               reason: str | None = None) -> GatewayRefund:
        """Give back ``amount`` of a succeeded payment (``None``: all that is left). Part of
        it needs :attr:`GatewayCapability.PARTIAL_REFUNDS`. The refund may be ``pending``
        (a webhook will confirm it)."""
        raise self._unsupported("refund payments")

    # -- webhooks ----------------------------------------------------------------------------
    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        """Turn a received webhook (the raw body, before any JSON parsing, and the request's
        headers, names lower case) into a verified event.

        :raises WebhookRefused: the signature does not verify, or its timestamp is outside
            :attr:`webhook_tolerance` (see :func:`verify_hmac_header`).
        """
        raise WebhookRefused(f"payment gateway {self.identifier!r} does not send webhooks")

    def _unsupported(self, what: str) -> GatewayError:
        return GatewayError(f"payment gateway {self.identifier!r} cannot {what}")
