"""The mock patient financing lender (``financing_provider = "mock"``).

The common health care lenders publish no API, so the mock keeps no state to lose: the
application id it answers a referral with carries what it needs to decide
(``mockfin_<our reference>_<amount in cents>``), so a poll from another process
(``medbill financing check``) decides the same way. Its rules, like the gateway simulator's
test cards:

* an amount of at most ``financing_approve_up_to`` (default 5000.00) is **approved** in full,
  with a merchant fee of ``financing_fee_percent`` of it (half-up to the cent; none at 0);
* a larger amount is **declined**;
* test amounts: cents ``.11`` stay **pending** (the applicant never finishes applying),
  cents ``.13`` **expire**.

A referral is always answered ``pending`` (the applicant applies at the lender); the decision
comes by a poll (:meth:`MockLender.check_application`) or by the callback the lender would POST
(:meth:`MockLender.signed_callback` builds it, signed with ``financing_callback_secret``:
``X-Mockfin-Signature: t=<unix ts>,v1=<HMAC-SHA256 hex of "<t>.<body>">``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal

from medbill_core.api import (
    CENT,
    FinancingDecision,
    FinancingError,
    FinancingProvider,
    FinancingRequest,
    FinancingStatus,
    WebhookRefused,
    verify_hmac_header,
)
from medbill_payments_mock.settings import PaymentsMockSettings

LENDER_NAME = "Mock Health Credit"
SIGNATURE_HEADER = "x-mockfin-signature"
_APPLICATION = re.compile(r"^mockfin_(?P<reference>[A-Za-z0-9_]{1,60})_(?P<cents>[0-9]{1,9})$")
#: cents of the test amounts: pending forever, expired
PENDING_CENTS, EXPIRED_CENTS = 11, 13


class MockLender(FinancingProvider):
    identifier = "mock"
    verbose_name = "Mock health care lender (decides by amount)"

    def __init__(self, settings: PaymentsMockSettings | None = None) -> None:
        self.settings = settings or PaymentsMockSettings()
        #: every referral received (tests read it): what the lender was told
        self.referrals: list[FinancingRequest] = []

    def refer(self, request: FinancingRequest) -> FinancingDecision:
        if request.amount <= 0:
            raise FinancingError("financing provider 'mock' refused the referral: no amount")
        self.referrals.append(request)
        cents = int((request.amount / CENT).to_integral_value())
        return FinancingDecision(f"mockfin_{request.reference}_{cents}",
                                 FinancingStatus.PENDING, LENDER_NAME,
                                 reference=request.reference)

    def check_application(self, application_id: str) -> FinancingDecision:
        return self.decide(application_id)

    def decide(self, application_id: str) -> FinancingDecision:
        """The lender's decision on an application, by its amount."""
        match = _APPLICATION.match(application_id)
        if match is None:
            raise FinancingError("financing provider 'mock' knows no such application")
        amount = (Decimal(int(match["cents"])) * CENT).quantize(CENT)
        reference = match["reference"]
        cents = int(match["cents"]) % 100
        if cents == PENDING_CENTS:
            return FinancingDecision(application_id, FinancingStatus.PENDING, LENDER_NAME,
                                     reference=reference)
        if cents == EXPIRED_CENTS:
            return FinancingDecision(application_id, FinancingStatus.EXPIRED, LENDER_NAME,
                                     decline_reason="the application was not completed",
                                     reference=reference)
        if amount > self.settings.financing_approve_up_to:
            return FinancingDecision(application_id, FinancingStatus.DECLINED, LENDER_NAME,
                                     decline_reason="the amount is above the credit line",
                                     reference=reference)
        percent = self.settings.financing_fee_percent
        fee = (amount * percent / 100).quantize(CENT, rounding=ROUND_HALF_UP) \
            if percent else None
        return FinancingDecision(application_id, FinancingStatus.APPROVED, LENDER_NAME,
                                 approved_amount=amount, merchant_fee=fee,
                                 reference=reference)

    # -- callbacks ---------------------------------------------------------------------------
    def signed_callback(self, application_id: str, *, now: float | None = None
                        ) -> tuple[bytes, dict[str, str]]:
        """The callback the lender POSTs about an application: (body, headers)."""
        decision = self.decide(application_id)
        body = json.dumps({"application_id": decision.application_id,
                           "status": decision.status.value}, separators=(",", ":")).encode()
        moment = int(time.time() if now is None else now)
        digest = hmac.new(self._secret().encode(), f"{moment}.".encode() + body,
                          hashlib.sha256).hexdigest()
        return body, {SIGNATURE_HEADER: f"t={moment},v1={digest}"}

    def verify_callback(self, body: bytes, headers: Mapping[str, str]) -> FinancingDecision:
        """A verified callback's decision (decided again from the application id: the body
        names the application, the rules decide, as the lender's own records would)."""
        verify_hmac_header(self._secret(), headers.get(SIGNATURE_HEADER, ""), body,
                           tolerance=self.settings.webhook_tolerance)
        try:
            application_id = str(json.loads(body)["application_id"])
        except (ValueError, KeyError, TypeError):
            raise WebhookRefused("the lender's callback names no application") from None
        return self.decide(application_id)

    def _secret(self) -> str:
        secret = self.settings.financing_callback_secret
        if not secret:
            raise WebhookRefused("financing provider 'mock': no financing_callback_secret is "
                                 "configured; callbacks are refused")
        return secret
