"""Card payments through a payment gateway (an in-process one): posted to the ledger from the
gateway's confirmation only, once, whatever comes first (the webhook, the browser's return),
twice, or both at once (PostgreSQL); declines post nothing; refunds go back through the
gateway and post when it confirms them. On SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from card_gateway_support import GATEWAY, plugin, webhook
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from test_http_accounts import BILLER, FRONT, MANAGER, authenticate
from test_http_api import assert_problem

from medbill_core.app import Medbill
from medbill_core.config import MedbillConfig
from medbill_core.errors import (
    AdapterNotAvailable,
    GatewayError,
    ValidationFailed,
    WebhookRefused,
)
from medbill_core.gateways import PaymentRequest
from medbill_core.http import create_app
from medbill_core.ledger import EntryKind
from medbill_core.services.card_payments import (
    Applied,
    CardPaymentStatus,
    balance_owed,
    confirm_card_payment,
    get_card_payment,
    handle_webhook,
    list_card_payments,
    refund_card_payment,
    start_card_payment,
)
from medbill_core.services.payments import Overpayment
from medbill_core.storage.schema import (
    AuditEventRow,
    CardPaymentRow,
    LedgerEntryRow,
    PaymentRow,
)
from medbill_core.testing import factories

D = Decimal
TODAY = date.today()


@pytest.fixture
def medbill_config(medbill_config: MedbillConfig) -> MedbillConfig:
    return medbill_config.model_copy(update={"payment_gateway": "fake"})


@pytest.fixture
def medbill_extra_plugins() -> list[tuple[str, Any]]:
    GATEWAY.reset()
    return [("fake_gateway", plugin())]


_numbers = iter(range(500, 10_000))


def owing(app: Medbill, *charges: str) -> tuple[int, list[int]]:
    """(patient id, claim ids) of a new self-pay patient owing ``charges``, one claim each,
    the first the oldest."""
    number = next(_numbers)
    with app.unit_of_work() as work:
        patient = work.patients.register(factories.make_patient(number))
        ids = []
        for i, charge in enumerate(charges):
            day = TODAY - timedelta(days=30 - i)
            claim = factories.make_claim(patient.id, coverage_id=None,
                                         number=f"CP{number}-{i}", service_date=day)
            claim = claim.model_copy(update={"lines": [factories.make_line(
                1, service_date=day, charge=D(charge))]})
            ids.append(work.claims.create(claim).id)
        assert patient.id is not None
        return patient.id, ids


def start(app: Medbill, patient_id: int, amount: str | None = None) -> tuple[int, str]:
    with app.unit_of_work() as work:
        started = start_card_payment(work, patient_id=patient_id,
                                     amount=D(amount) if amount else None)
    return started.payment.id, started.payment.intent_id


def owed(app: Medbill, patient_id: int) -> Decimal:
    with app.unit_of_work(read_only=True) as work:
        return balance_owed(work, patient_id=patient_id)


def payments_of(app: Medbill, patient_id: int) -> list[PaymentRow]:
    with app.unit_of_work(read_only=True) as work:
        return list(work.session.scalars(select(PaymentRow).where(
            PaymentRow.patient_id == patient_id)))


def card(app: Medbill, card_payment_id: int) -> Any:
    with app.unit_of_work(read_only=True) as work:
        return get_card_payment(work, card_payment_id)


def test_the_intent_asks_the_gateway_for_the_balance_without_phi(medbill_app: Medbill) -> None:
    patient_id, _ = owing(medbill_app, "80.00", "45.50")
    card_id, intent = start(medbill_app, patient_id)
    [request] = GATEWAY.requests
    assert request.amount == D("125.50")
    assert request.metadata == {"medbill_reference": request.reference}
    assert request.idempotency_key == f"medbill-{request.reference}-create"
    with medbill_app.unit_of_work(read_only=True) as work:
        patient = work.patients.get(patient_id)
    for phi in (patient.last_name, patient.first_name, patient.account_number,
                patient.birth_date.isoformat()):
        assert phi not in request.description and phi not in request.reference
    view = card(medbill_app, card_id)
    assert (view.status, view.amount, view.intent_id, view.payment_id) == (
        CardPaymentStatus.CREATED, D("125.50"), intent, None)
    assert owed(medbill_app, patient_id) == D("125.50")  # nothing posted yet


def test_a_guarantor_pays_part_of_the_family_balance_by_card(medbill_app: Medbill) -> None:
    """What a pay page behind a family statement does: part of the guarantor's balance,
    applied across the family oldest service first, once confirmed."""
    from medbill_core.domain import GuarantorRelationship
    from medbill_core.services.guarantors import GuarantorService

    parent, (parent_claim,) = owing(medbill_app, "50.00")
    child, (child_claim,) = owing(medbill_app, "30.00")
    with medbill_app.unit_of_work() as work:
        service = GuarantorService(work.session, actor="t")
        guarantor = service.guarantor_for_patient(parent)
        service.assign(child, guarantor.id, GuarantorRelationship.PARENT)
    with medbill_app.unit_of_work() as work:
        assert balance_owed(work, guarantor_id=guarantor.id) == D("80.00")
        started = start_card_payment(work, guarantor_id=guarantor.id, amount=D("60.00"))
    assert GATEWAY.requests[-1].amount == D("60.00")
    GATEWAY.charge(started.payment.intent_id, "ok")
    assert handle_webhook(medbill_app, "fake", *webhook(
        "payment.succeeded", payment=started.payment.intent_id)) is Applied.POSTED
    view = card(medbill_app, started.payment.id)
    assert (view.status, view.guarantor_id) == (CardPaymentStatus.SUCCEEDED, guarantor.id)
    with medbill_app.unit_of_work(read_only=True) as work:
        assert balance_owed(work, guarantor_id=guarantor.id) == D("20.00")
    # oldest service first across the family: the parent's claim (older) is paid in full
    assert (_claim_balance(medbill_app, parent_claim),
            _claim_balance(medbill_app, child_claim)) == (D("0.00"), D("20.00"))


def test_an_intent_beyond_the_balance_or_for_nothing_is_refused(medbill_app: Medbill) -> None:
    patient_id, _ = owing(medbill_app, "30.00")
    with medbill_app.unit_of_work() as work, pytest.raises(ValidationFailed,
                                                           match="exceeds the 30.00 owed"):
        start_card_payment(work, patient_id=patient_id, amount=D("30.01"))
    with medbill_app.unit_of_work() as work, pytest.raises(ValidationFailed,
                                                           match="must be more than 0.00"):
        start_card_payment(work, patient_id=patient_id, amount=D("0.00"))
    paid_up, _ = owing(medbill_app)
    with medbill_app.unit_of_work() as work, pytest.raises(ValidationFailed,
                                                           match="nothing is owed"):
        start_card_payment(work, patient_id=paid_up)
    assert GATEWAY.requests == []


def test_the_same_webhook_twice_posts_once(medbill_app: Medbill) -> None:
    patient_id, _ = owing(medbill_app, "60.00", "40.00")
    card_id, intent = start(medbill_app, patient_id)
    GATEWAY.charge(intent, "ok")  # the payer's browser, at the gateway
    body, headers = webhook("payment.succeeded", payment=intent, event_id="evt_same")
    assert handle_webhook(medbill_app, "fake", body, headers) is Applied.POSTED
    assert handle_webhook(medbill_app, "fake", body, headers) is Applied.UNCHANGED
    [payment] = payments_of(medbill_app, patient_id)
    assert (payment.amount, payment.method, payment.reference) == (D("100.00"), "card",
                                                                   "visa 4242")
    view = card(medbill_app, card_id)
    assert (view.status, view.payment_id, view.card_brand, view.card_last4) == (
        CardPaymentStatus.SUCCEEDED, payment.id, "visa", "4242")
    assert owed(medbill_app, patient_id) == D("0.00")
    with medbill_app.unit_of_work(read_only=True) as work:
        assert list_card_payments(work, patient_id=patient_id) == [view]
        posted = work.session.scalars(select(AuditEventRow).where(
            AuditEventRow.action == "card_payment.post")).all()
    assert [(event.actor, event.entity_id) for event in posted] == [("gateway:fake",
                                                                     str(card_id))]


def test_a_webhook_before_the_browser_returns(medbill_app: Medbill) -> None:
    patient_id, _ = owing(medbill_app, "55.00")
    card_id, intent = start(medbill_app, patient_id)
    GATEWAY.charge(intent, "ok")
    assert handle_webhook(medbill_app, "fake",
                          *webhook("payment.succeeded", payment=intent)) is Applied.POSTED
    with medbill_app.unit_of_work() as work:  # the browser comes back after
        view = confirm_card_payment(work, card_id)
    assert view.status is CardPaymentStatus.SUCCEEDED
    assert len(payments_of(medbill_app, patient_id)) == 1
    assert owed(medbill_app, patient_id) == D("0.00")


def test_the_browser_returns_before_the_webhook(medbill_app: Medbill) -> None:
    patient_id, _ = owing(medbill_app, "55.00", "20.00")
    card_id, intent = start(medbill_app, patient_id, "50.00")
    GATEWAY.charge(intent, "ok")
    with medbill_app.unit_of_work() as work:
        view = confirm_card_payment(work, card_id)
    assert view.status is CardPaymentStatus.SUCCEEDED and view.payment_id is not None
    assert handle_webhook(medbill_app, "fake",
                          *webhook("payment.succeeded", payment=intent)) is Applied.UNCHANGED
    assert len(payments_of(medbill_app, patient_id)) == 1
    assert owed(medbill_app, patient_id) == D("25.00")


def test_a_phone_payment_charges_the_card_through_the_gateway(medbill_app: Medbill) -> None:
    patient_id, _ = owing(medbill_app, "35.00")
    card_id, _ = start(medbill_app, patient_id)
    with medbill_app.unit_of_work() as work:
        view = confirm_card_payment(work, card_id, card="ok")
    assert (view.status, view.card_last4) == (CardPaymentStatus.SUCCEEDED, "4242")
    assert owed(medbill_app, patient_id) == D("0.00")


@pytest.mark.parametrize(("card_name", "code"), [("broke", "insufficient_funds"),
                                                 ("declined", "generic_decline")])
def test_a_decline_posts_nothing_and_records_why(medbill_app: Medbill, card_name: str,
                                                 code: str) -> None:
    patient_id, _ = owing(medbill_app, "90.00")
    card_id, intent = start(medbill_app, patient_id)
    with medbill_app.unit_of_work() as work:
        view = confirm_card_payment(work, card_id, card=card_name)
    assert (view.status, view.decline_code, view.payment_id) == (CardPaymentStatus.FAILED,
                                                                 code, None)
    assert view.decline_message == "Your card was declined."
    assert handle_webhook(medbill_app, "fake",
                          *webhook("payment.failed", payment=intent)) is Applied.UNCHANGED
    assert payments_of(medbill_app, patient_id) == []
    assert owed(medbill_app, patient_id) == D("90.00")
    # the payer tries another card on the same payment: it posts then
    GATEWAY.charge(intent, "ok")
    assert handle_webhook(medbill_app, "fake",
                          *webhook("payment.succeeded", payment=intent)) is Applied.POSTED
    assert owed(medbill_app, patient_id) == D("0.00")
    assert card(medbill_app, card_id).decline_code is None


def test_a_delayed_confirmation_posts_when_it_settles(medbill_app: Medbill) -> None:
    patient_id, _ = owing(medbill_app, "70.00")
    card_id, intent = start(medbill_app, patient_id)
    with medbill_app.unit_of_work() as work:
        assert confirm_card_payment(work, card_id, card="slow").status is \
            CardPaymentStatus.PROCESSING
    assert owed(medbill_app, patient_id) == D("70.00")
    GATEWAY.settle(intent)
    assert handle_webhook(medbill_app, "fake",
                          *webhook("payment.succeeded", payment=intent)) is Applied.POSTED
    assert owed(medbill_app, patient_id) == D("0.00")


def test_a_webhook_with_a_bad_signature_or_an_old_timestamp_does_nothing(
        medbill_app: Medbill) -> None:
    patient_id, _ = owing(medbill_app, "25.00")
    _, intent = start(medbill_app, patient_id)
    GATEWAY.charge(intent, "ok")
    forged = webhook("payment.succeeded", payment=intent, secret="whsec_guess")
    with pytest.raises(WebhookRefused, match="signature does not match"):
        handle_webhook(medbill_app, "fake", *forged)
    replayed = webhook("payment.succeeded", payment=intent, age=3600)
    with pytest.raises(WebhookRefused, match="more than 300 seconds"):
        handle_webhook(medbill_app, "fake", *replayed)
    body, headers = webhook("payment.succeeded", payment=intent)
    with pytest.raises(WebhookRefused, match="signature does not match"):
        handle_webhook(medbill_app, "fake", body + b" ", headers)
    assert payments_of(medbill_app, patient_id) == []


def test_a_webhook_about_nothing_of_ours_is_ignored(medbill_app: Medbill) -> None:
    """A payment another system made at the same gateway account."""
    elsewhere = GATEWAY.create_payment(PaymentRequest(
        amount=D("5.00"), description="another system's", reference="r",
        idempotency_key="other"))
    GATEWAY.charge(elsewhere.intent_id, "ok")
    assert handle_webhook(medbill_app, "fake", *webhook(
        "payment.succeeded", payment=elsewhere.intent_id)) is None


def _ledger_refunds(app: Medbill, patient_id: int) -> Decimal:
    with app.unit_of_work(read_only=True) as work:
        total = work.session.scalar(select(func.coalesce(func.sum(LedgerEntryRow.amount), 0))
                                    .where(LedgerEntryRow.patient_id == patient_id,
                                           LedgerEntryRow.kind == EntryKind.REFUND.value))
    return D(total or 0).quantize(D("0.01"))


def _claim_balance(app: Medbill, claim_id: int) -> Decimal:
    with app.unit_of_work(read_only=True) as work:
        return work.ledger.claim_balance(claim_id).patient


def test_refund_part_then_whole(medbill_app: Medbill) -> None:
    patient_id, (older, newer) = owing(medbill_app, "60.00", "40.00")
    card_id, intent = start(medbill_app, patient_id)
    with medbill_app.unit_of_work() as work:
        confirm_card_payment(work, card_id, card="ok")
    with medbill_app.unit_of_work() as work:
        view = refund_card_payment(work, card_id, "billed in error", amount=D("30.00"))
    assert (view.status, view.refunded) == (CardPaymentStatus.PARTIALLY_REFUNDED, D("30.00"))
    assert _ledger_refunds(medbill_app, patient_id) == D("30.00")
    # what it paid on the newest claim is owed again first
    assert (_claim_balance(medbill_app, older), _claim_balance(medbill_app, newer)) == (
        D("0.00"), D("30.00"))
    [payment] = payments_of(medbill_app, patient_id)
    assert (payment.refunded, payment.unapplied) == (D("30.00"), D("0.00"))
    with medbill_app.unit_of_work() as work, pytest.raises(ValidationFailed,
                                                           match="at most the 70.00"):
        refund_card_payment(work, card_id, "too much", amount=D("70.01"))
    with medbill_app.unit_of_work() as work:
        view = refund_card_payment(work, card_id, "the rest")
    assert (view.status, view.refunded) == (CardPaymentStatus.REFUNDED, D("100.00"))
    assert [r.amount for r in view.refunds] == [D("30.00"), D("70.00")]
    assert owed(medbill_app, patient_id) == D("100.00")
    assert _ledger_refunds(medbill_app, patient_id) == D("100.00")
    assert GATEWAY.refunds and all(r.intent_id == intent for r in GATEWAY.refunds.values())


def test_a_refund_takes_the_credit_first(medbill_app: Medbill) -> None:
    patient_id, (claim,) = owing(medbill_app, "40.00")
    with medbill_app.unit_of_work() as work:
        started = start_card_payment(work, patient_id=patient_id, amount=D("50.00"),
                                     overpayment=Overpayment.CREDIT)
    with medbill_app.unit_of_work() as work:
        confirm_card_payment(work, started.payment.id, card="ok")
    assert owed(medbill_app, patient_id) == D("-10.00")
    from medbill_core.services.patient_credits import hold_credit, release_hold

    with medbill_app.unit_of_work() as work:  # a held credit is not refunded to the card
        hold_credit(work, patient_id, "appeal pending")
    with medbill_app.unit_of_work() as work, pytest.raises(ValidationFailed) as refused:
        refund_card_payment(work, started.payment.id, "the credit", amount=D("10.00"))
    assert str(refused.value) == (f"patient {patient_id}: credit: is on hold; release the "
                                  "hold first")
    assert owed(medbill_app, patient_id) == D("-10.00")
    assert not GATEWAY.refunds
    with medbill_app.unit_of_work() as work:
        release_hold(work, patient_id)
    with medbill_app.unit_of_work() as work:
        refund_card_payment(work, started.payment.id, "the credit", amount=D("10.00"))
    assert owed(medbill_app, patient_id) == D("0.00")
    assert _claim_balance(medbill_app, claim) == D("0.00")


def test_a_pending_refund_posts_when_the_gateway_confirms_it_once(
        medbill_app: Medbill) -> None:
    patient_id, _ = owing(medbill_app, "45.00")
    card_id, _ = start(medbill_app, patient_id)
    with medbill_app.unit_of_work() as work:
        confirm_card_payment(work, card_id, card="ok")
    GATEWAY.refunds_pending = True
    with medbill_app.unit_of_work() as work:
        view = refund_card_payment(work, card_id, "duplicate charge")
    [pending] = view.refunds
    assert (pending.status, view.refunded) == ("pending", D("0.00"))
    assert owed(medbill_app, patient_id) == D("0.00")  # nothing posted yet
    GATEWAY.settle_refund(pending.refund_id)
    delivery = webhook("refund.succeeded", refund=pending.refund_id)
    assert handle_webhook(medbill_app, "fake", *delivery) is Applied.POSTED
    assert handle_webhook(medbill_app, "fake", *delivery) is Applied.UNCHANGED
    assert owed(medbill_app, patient_id) == D("45.00")
    assert card(medbill_app, card_id).status is CardPaymentStatus.REFUNDED


def test_a_failed_refund_posts_nothing_and_may_be_asked_again(medbill_app: Medbill) -> None:
    patient_id, _ = owing(medbill_app, "45.00")
    card_id, _ = start(medbill_app, patient_id)
    with medbill_app.unit_of_work() as work:
        confirm_card_payment(work, card_id, card="ok")
    GATEWAY.refunds_pending = True
    with medbill_app.unit_of_work() as work:
        [pending] = refund_card_payment(work, card_id, "asked").refunds
    GATEWAY.settle_refund(pending.refund_id, ok=False)
    assert handle_webhook(medbill_app, "fake", *webhook(
        "refund.failed", refund=pending.refund_id)) is Applied.RECORDED
    view = card(medbill_app, card_id)
    assert (view.status, view.refunds[0].status, view.refunds[0].failure_reason) == (
        CardPaymentStatus.SUCCEEDED, "failed", "expired_or_canceled_card")
    GATEWAY.refunds_pending = False
    with medbill_app.unit_of_work() as work:
        assert refund_card_payment(work, card_id, "again").refunded == D("45.00")


def test_an_unpaid_card_payment_cannot_be_refunded(medbill_app: Medbill) -> None:
    patient_id, _ = owing(medbill_app, "45.00")
    card_id, _ = start(medbill_app, patient_id)
    with medbill_app.unit_of_work() as work, pytest.raises(ValidationFailed,
                                                           match="is created"):
        refund_card_payment(work, card_id, "why")


def test_a_gateway_that_is_down_posts_nothing(medbill_app: Medbill) -> None:
    patient_id, _ = owing(medbill_app, "45.00")
    GATEWAY.down = True
    with medbill_app.unit_of_work() as work, pytest.raises(GatewayError, match="unreachable"):
        start_card_payment(work, patient_id=patient_id)
    with medbill_app.unit_of_work(read_only=True) as work:
        assert work.session.scalar(select(func.count()).select_from(CardPaymentRow)) == 0
    GATEWAY.down = False
    card_id, _ = start(medbill_app, patient_id)
    GATEWAY.down = True
    with medbill_app.unit_of_work() as work, pytest.raises(GatewayError):
        confirm_card_payment(work, card_id, card="ok")
    assert payments_of(medbill_app, patient_id) == []


def test_no_configured_gateway_is_one_line(medbill_app: Medbill) -> None:
    patient_id, _ = owing(medbill_app, "45.00")
    with medbill_app.unit_of_work() as work, pytest.raises(AdapterNotAvailable,
                                                           match="provides the payment "
                                                                 "gateway 'stripe'"):
        start_card_payment(work, patient_id=patient_id, gateway="stripe")


def _race(app: Medbill, card_id: int, intent: str) -> list[Any]:
    """The gateway's webhook and the browser's return, let go at the same moment."""
    barrier = threading.Barrier(2)
    outcomes: list[Any] = []
    delivery = webhook("payment.succeeded", payment=intent)

    def by_webhook() -> None:
        barrier.wait()
        outcomes.append(handle_webhook(app, "fake", *delivery))

    def by_browser() -> None:
        barrier.wait()
        with app.unit_of_work() as work:
            outcomes.append(confirm_card_payment(work, card_id).status)

    threads = [threading.Thread(target=by_webhook), threading.Thread(target=by_browser)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcomes


def test_the_webhook_and_the_browser_racing_post_once(medbill_app: Medbill,
                                                      medbill_backend: str) -> None:
    if medbill_backend != "postgres":
        pytest.skip("SQLite runs one writer at a time: the race needs PostgreSQL's row locks")
    for _ in range(5):
        patient_id, _ = owing(medbill_app, "65.00")
        card_id, intent = start(medbill_app, patient_id)
        GATEWAY.charge(intent, "ok")
        outcomes = _race(medbill_app, card_id, intent)
        assert len(outcomes) == 2
        assert CardPaymentStatus.SUCCEEDED in outcomes  # the browser saw it succeeded
        assert len(payments_of(medbill_app, patient_id)) == 1
        assert owed(medbill_app, patient_id) == D("0.00")


# -- over HTTP ---------------------------------------------------------------------------------

@pytest.fixture
def client(medbill_app: Medbill) -> Iterator[TestClient]:
    with TestClient(create_app(medbill_app, authenticate=authenticate)) as test_client:
        yield test_client


def test_http_create_read_confirm_refund(client: TestClient, medbill_app: Medbill) -> None:
    patient_id, _ = owing(medbill_app, "75.00")
    body = {"patient_id": patient_id, "amount": "50.00"}
    created = client.post("/v1/card-payments", json=body,
                          headers={**FRONT, "Idempotency-Key": "card-1"})
    assert created.status_code == 201, created.text
    payment = created.json()
    assert (payment["status"], payment["amount"], payment["client_secret"]) == (
        "created", "50.00", "secret_x")
    assert created.headers["location"] == f"/v1/card-payments/{payment['id']}"
    again = client.post("/v1/card-payments", json=body,
                        headers={**FRONT, "Idempotency-Key": "card-1"})
    assert again.json() == payment and len(GATEWAY.requests) == 1
    GATEWAY.charge(payment["gateway_payment_id"], "ok")
    confirmed = client.post(f"/v1/card-payments/{payment['id']}/confirm", headers=FRONT)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "succeeded"
    assert confirmed.json()["card_last4"] == "4242"
    read = client.get(f"/v1/card-payments/{payment['id']}", headers=FRONT).json()
    assert read == confirmed.json()
    assert_problem(client.post(f"/v1/card-payments/{payment['id']}/refunds",
                               json={"reason": "asked"}, headers=BILLER), 403,
                   "permission-denied")
    refunded = client.post(f"/v1/card-payments/{payment['id']}/refunds",
                           json={"reason": "asked", "amount": "20.00"}, headers=MANAGER)
    assert refunded.status_code == 201, refunded.text
    assert (refunded.json()["status"], refunded.json()["refunded"]) == (
        "partially_refunded", "20.00")
    assert owed(medbill_app, patient_id) == D("45.00")


def test_http_webhook_needs_no_key_but_a_signature(client: TestClient,
                                                   medbill_app: Medbill) -> None:
    patient_id, _ = owing(medbill_app, "30.00")
    _, intent = start(medbill_app, patient_id)
    GATEWAY.charge(intent, "ok")
    url = "/v1/payment-gateways/fake/webhooks"
    forged_body, forged_headers = webhook("payment.succeeded", payment=intent,
                                          secret="whsec_guess")
    problem = assert_problem(client.post(url, content=forged_body, headers=forged_headers),
                             400, "webhook-refused")
    assert problem["detail"] == "the webhook's signature does not match"
    body, headers = webhook("payment.succeeded", payment=intent)
    first = client.post(url, content=body, headers=headers)
    assert (first.status_code, first.json()) == (200, {"received": True, "outcome": "posted"})
    second = client.post(url, content=body, headers=headers)
    assert (second.status_code, second.json()["outcome"]) == (200, "unchanged")
    assert len(payments_of(medbill_app, patient_id)) == 1
    assert_problem(client.post("/v1/payment-gateways/nope/webhooks", content=body,
                               headers=headers), 404, "not-found")


def test_http_a_gateway_that_is_down_is_a_502_problem(client: TestClient,
                                                      medbill_app: Medbill) -> None:
    patient_id, _ = owing(medbill_app, "30.00")
    GATEWAY.down = True
    problem = assert_problem(client.post("/v1/card-payments", json={"patient_id": patient_id},
                                         headers=FRONT), 502, "payment-gateway-failed")
    assert problem["detail"] == ("payment gateway 'fake' is unreachable (ConnectError) after "
                                 "3 attempt(s)")


def test_a_card_payment_is_not_started_on_a_placed_account(medbill_app: Medbill) -> None:
    """The agency holds the balance: the card is not charged into a refundable credit."""
    from medbill_core.services.collections import add_agency, place_account

    patient_id, _ = owing(medbill_app, "40.00")
    with medbill_app.unit_of_work() as work:
        add_agency(work, "ACB", "Acme Collections", "30")
        placement = place_account(work, patient_id, "ACB").id
    with medbill_app.unit_of_work() as work, pytest.raises(ValidationFailed) as refused:
        start_card_payment(work, patient_id=patient_id, amount=D("20.00"),
                           overpayment=Overpayment.CREDIT)
    assert str(refused.value) == (
        f"patient {patient_id}: placement: the account is placed with agency ACB (40.00 "
        f"held, placement {placement}): post the patient's payment on the placement: "
        f"medbill collections payment {placement} --collected AMOUNT --direct")
    assert not GATEWAY.requests
    assert owed(medbill_app, patient_id) == D("0.00")
