"""The mock financing lender: referrals answered pending with a self-describing application,
decisions by amount (approve up to the limit, decline above, test amounts pending and expired),
the merchant fee, signed callbacks; registered through the financing providers hook."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from medbill_payments_mock.financing import LENDER_NAME, SIGNATURE_HEADER, MockLender
from medbill_payments_mock.settings import PaymentsMockSettings

from medbill_core.api import (
    FinancingError,
    FinancingRequest,
    FinancingStatus,
    MedbillConfig,
    WebhookRefused,
)
from medbill_core.api.testing import PluginHooks

D = Decimal
SECRET = "fin_test_secret"


def lender(**settings: object) -> MockLender:
    return MockLender(PaymentsMockSettings(financing_callback_secret=SECRET,
                                           **settings))  # type: ignore[arg-type]


def referral(amount: str, reference: str = "fin_abc123") -> FinancingRequest:
    return FinancingRequest(reference=reference, amount=D(amount), applicant_first_name="Pat",
                            applicant_last_name="Doe", applicant_email="pat@example.org",
                            applicant_phone=None, practice_name="Elm Pediatrics",
                            idempotency_key=f"medbill-{reference}-refer")


def test_a_referral_is_pending_and_names_its_amount() -> None:
    mock = lender()
    answer = mock.refer(referral("1200.50"))
    assert (answer.application_id, answer.status, answer.lender_name, answer.reference) == (
        "mockfin_fin_abc123_120050", FinancingStatus.PENDING, LENDER_NAME, "fin_abc123")
    assert [r.amount for r in mock.referrals] == [D("1200.50")]


@pytest.mark.parametrize(("amount", "status", "approved", "fee"), [
    ("5000.00", FinancingStatus.APPROVED, D("5000.00"), D("300.00")),
    ("99.99", FinancingStatus.APPROVED, D("99.99"), D("6.00")),  # 5.9994 half-up
    ("5000.01", FinancingStatus.DECLINED, None, None),
    ("250.11", FinancingStatus.PENDING, None, None),
    ("250.13", FinancingStatus.EXPIRED, None, None),
])
def test_decisions_go_by_the_amount(amount: str, status: FinancingStatus,
                                    approved: Decimal | None, fee: Decimal | None) -> None:
    mock = lender(financing_fee_percent=D("6.00"))
    # a poll from another process: a fresh lender decides the same from the application id
    application = mock.refer(referral(amount)).application_id
    decision = lender(financing_fee_percent=D("6.00")).check_application(application)
    assert (decision.status, decision.approved_amount, decision.merchant_fee) == (
        status, approved, fee)


def test_without_a_fee_none_is_reported() -> None:
    decision = lender().check_application(lender().refer(referral("80.00")).application_id)
    assert (decision.approved_amount, decision.merchant_fee) == (D("80.00"), None)


def test_an_unknown_application_is_a_one_line_error() -> None:
    with pytest.raises(FinancingError, match="^financing provider 'mock' knows no such "
                                             "application$"):
        lender().check_application("app_123")


def test_a_signed_callback_verifies_into_the_decision() -> None:
    mock = lender()
    application = mock.refer(referral("300.00")).application_id
    body, headers = mock.signed_callback(application)
    assert json.loads(body) == {"application_id": application, "status": "approved"}
    decision = mock.verify_callback(body, headers)
    assert (decision.application_id, decision.status, decision.approved_amount) == (
        application, FinancingStatus.APPROVED, D("300.00"))
    tampered = body.replace(b"approved", b"declined")
    with pytest.raises(WebhookRefused, match="does not match"):
        mock.verify_callback(tampered, headers)
    with pytest.raises(WebhookRefused, match="more than 300 seconds"):
        mock.verify_callback(*mock.signed_callback(application, now=1_000_000.0))
    with pytest.raises(WebhookRefused, match="no financing_callback_secret"):
        MockLender().verify_callback(body, {SIGNATURE_HEADER: headers[SIGNATURE_HEADER]})


def test_it_is_registered_beside_the_gateway() -> None:
    config = MedbillConfig(plugins=["payments_mock"], financing_provider="mock",
                           plugin_settings={"payments_mock": {
                               "financing_approve_up_to": "900.00"}})
    hooks = PluginHooks.start(config)
    [(plugin, registered)] = hooks.register_financing_providers()
    assert plugin == "payments_mock" and isinstance(registered, MockLender)
    provider = hooks.context.financing_provider()
    assert isinstance(provider, MockLender) and provider is hooks.context.financing_providers[
        "mock"]
    assert "mock" in hooks.context.payment_gateways
    application = provider.refer(referral("900.01")).application_id
    assert provider.check_application(application).status is FinancingStatus.DECLINED
