"""In-process notifier and financing lender for the core's tests: what they were sent, failures
on demand, signed callbacks, without a network (the mock plugins' own tests are theirs, and
the integration suite runs them together)."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Mapping, Sequence
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from medbill_core.financing_providers import (
    FinancingDecision,
    FinancingError,
    FinancingProvider,
    FinancingRequest,
    FinancingStatus,
)
from medbill_core.gateways import verify_hmac_header
from medbill_core.hookspecs import hookimpl
from medbill_core.notifiers import (
    NotificationChannel,
    Notifier,
    NotifierError,
    OutgoingMessage,
    SentMessage,
)

SECRET = "fin_core_tests"
LENDER = "Fake Health Credit"


class FakeNotifier(Notifier):
    identifier = "fake"
    verbose_name = "In-process test notifier"
    channels = frozenset({NotificationChannel.SMS, NotificationChannel.EMAIL})

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        #: what was delivered to a phone or mailbox: one per idempotency key
        self.delivered: list[OutgoingMessage] = []
        self.by_key: dict[str, str] = {}
        self.fail_next = 0
        self.refused: set[str] = set()
        #: the provider sends but its answer is lost on the way back, this many times
        self.lose_answers = 0
        self._ids = itertools.count(1)

    def send(self, message: OutgoingMessage) -> SentMessage:
        if self.fail_next:
            self.fail_next -= 1
            raise NotifierError("notifier 'fake' is unreachable (ConnectError)")
        if message.recipient in self.refused:
            raise NotifierError("notifier 'fake' refused the recipient (opted out)",
                                permanent=True)
        if message.idempotency_key not in self.by_key:
            self.delivered.append(message)
            self.by_key[message.idempotency_key] = f"msg_{next(self._ids)}"
        if self.lose_answers:
            self.lose_answers -= 1
            raise NotifierError("notifier 'fake': the connection closed before the answer")
        return SentMessage(self.by_key[message.idempotency_key])


class FakeLender(FinancingProvider):
    identifier = "fakefin"
    verbose_name = "In-process test lender"

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.requests: list[FinancingRequest] = []
        self.applications: dict[str, FinancingDecision] = {}
        self.down = False
        self._ids = itertools.count(1)

    def refer(self, request: FinancingRequest) -> FinancingDecision:
        if self.down:
            raise FinancingError("financing provider 'fakefin' is unreachable")
        self.requests.append(request)
        decision = FinancingDecision(f"app_{next(self._ids)}", FinancingStatus.PENDING, LENDER,
                                     reference=request.reference)
        self.applications[decision.application_id] = decision
        return decision

    def decide(self, application_id: str, status: FinancingStatus,
               approved: str | None = None, fee: str | None = None) -> FinancingDecision:
        """What the lender decides (the applicant finished applying)."""
        decision = FinancingDecision(
            application_id, status, LENDER,
            approved_amount=Decimal(approved) if approved else None,
            merchant_fee=Decimal(fee) if fee else None,
            decline_reason="credit criteria not met" if status is FinancingStatus.DECLINED
            else None)
        self.applications[application_id] = decision
        return decision

    def check_application(self, application_id: str) -> FinancingDecision:
        if self.down:
            raise FinancingError("financing provider 'fakefin' is unreachable")
        return self.applications[application_id]

    def verify_callback(self, body: bytes, headers: Mapping[str, str]) -> FinancingDecision:
        verify_hmac_header(SECRET, headers.get("x-fake-signature", ""), body, tolerance=300)
        data = json.loads(body)
        return FinancingDecision(
            data["application"], FinancingStatus(data["status"]), LENDER,
            approved_amount=Decimal(data["approved"]) if data.get("approved") else None,
            merchant_fee=Decimal(data["fee"]) if data.get("fee") else None)


def callback(decision: FinancingDecision, *, secret: str = SECRET
             ) -> tuple[bytes, dict[str, str]]:
    """The lender's signed callback about ``decision``."""
    body = json.dumps({"application": decision.application_id,
                       "status": decision.status.value,
                       "approved": str(decision.approved_amount)
                       if decision.approved_amount is not None else None,
                       "fee": str(decision.merchant_fee)
                       if decision.merchant_fee is not None else None}).encode()
    moment = int(time.time())
    digest = hmac.new(secret.encode(), f"{moment}.".encode() + body, hashlib.sha256)
    return body, {"X-Fake-Signature": f"t={moment},v1={digest.hexdigest()}"}


NOTIFIER = FakeNotifier()
LENDER_PROVIDER = FakeLender()


def plugin() -> Any:
    @hookimpl
    def medbill_register_notifiers(context: Any) -> Sequence[Notifier]:
        return [NOTIFIER]

    @hookimpl
    def medbill_register_financing_providers(context: Any) -> Sequence[FinancingProvider]:
        return [LENDER_PROVIDER]

    return SimpleNamespace(medbill_register_notifiers=medbill_register_notifiers,
                           medbill_register_financing_providers=(
                               medbill_register_financing_providers))


def with_pay_links(config: Any) -> Any:
    """``config`` with the fake card gateway and notifier and a public pay-link address: what
    a statement run needs to print pay links and queue "statement ready" messages."""
    from medbill_core.config import PayLinkSettings

    return config.model_copy(update={
        "payment_gateway": "fake", "notifier": "fake",
        "pay_links": PayLinkSettings(public_url="https://pay.example.org/")})


def gateway_and_notifier() -> list[tuple[str, Any]]:
    """The fake hosted-checkout gateway and the fake notifier as extra plugins, both reset."""
    from test_pay_links import HOSTED
    from test_pay_links import _Plugin as GatewayPlugin

    HOSTED.reset()
    NOTIFIER.reset()
    return [("hosted_gateway", GatewayPlugin()), ("fake_notify", plugin())]
