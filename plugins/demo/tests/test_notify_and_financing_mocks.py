"""Texts and financing with the real mocks (integration): a statement's "ready" text through
the notification outbox to notify_mock (an outage first: retried, recorded once, owner-only),
and a referral to payments_mock's lender approved by its signed callback and posted once (the
approved amount; the lender's merchant fee kept on the referral and the payment, posted as
the practice's financing fee). On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import stat
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import medbill_notify_mock.plugin as notify_mock_plugin
import medbill_payments_mock.plugin as payments_mock_plugin
import medbill_statements_pdf.plugin as statements_pdf_plugin
import pytest
from medbill_notify_mock.notifier import MockNotifier
from medbill_payments_mock.financing import LENDER_NAME, MockLender
from sqlalchemy import select

from medbill_core.app import Medbill
from medbill_core.config import MedbillConfig
from medbill_core.domain import GuarantorRelationship
from medbill_core.services.card_payments import balance_owed
from medbill_core.services.financing import (
    Applied,
    ReferralStatus,
    check_referral,
    handle_callback,
    refer,
)
from medbill_core.services.guarantors import GuarantorService
from medbill_core.services.notifications import (
    ContactChoice,
    NotificationStatus,
    deliver_due,
    set_contact_preference,
    statement_ready,
)
from medbill_core.services.statements import run_statements
from medbill_core.storage.schema import PaymentRow, StatementRow, utcnow
from medbill_core.testing import factories

D = Decimal
LINK = "https://pay.example.test/s/k3Yq9"


@pytest.fixture
def messages_file(tmp_path: Path) -> Path:
    return tmp_path / "notify-mock" / "messages.jsonl"


@pytest.fixture
def medbill_config(medbill_config: MedbillConfig, messages_file: Path) -> MedbillConfig:
    return medbill_config.model_copy(update={
        "notifier": "mock", "financing_provider": "mock",
        "plugin_settings": {
            "notify_mock": {"messages_file": str(messages_file), "fail_first": 1},
            "payments_mock": {"financing_fee_percent": "5.00",
                              "financing_callback_secret": "fin-integration-secret"}}})


@pytest.fixture
def medbill_extra_plugins() -> list[tuple[str, Any]]:
    return [("notify_mock", notify_mock_plugin), ("payments_mock", payments_mock_plugin),
            ("statements_pdf", statements_pdf_plugin)]


def _family(app: Medbill, *charges: str) -> tuple[int, list[int]]:
    patients = []
    with app.unit_of_work() as work:
        for i, charge in enumerate(charges):
            patient = work.patients.register(factories.make_patient(
                930 + i, phone="3125550188" if i == 0 else None))
            day = date.today() - timedelta(days=30 - i)
            claim = factories.make_claim(patient.id, coverage_id=None, number=f"NF{930 + i}",
                                         service_date=day)
            work.claims.create(claim.model_copy(update={"lines": [factories.make_line(
                1, service_date=day, charge=D(charge))]}))
            assert patient.id is not None
            patients.append(patient.id)
        service = GuarantorService(work.session, actor="t")
        guarantor = service.guarantor_for_patient(patients[0])
        for child in patients[1:]:
            service.assign(child, guarantor.id, GuarantorRelationship.PARENT)
    assert guarantor.id is not None
    return guarantor.id, patients


def test_a_statement_text_reaches_the_mock_once_after_an_outage(
        medbill_app: Medbill, messages_file: Path, tmp_path: Path) -> None:
    guarantor_id, patients = _family(medbill_app, "120.00", "80.00")
    with medbill_app.unit_of_work() as work:
        set_contact_preference(work, f"G{guarantor_id}", ContactChoice.SMS,
                               "verbal, at check-in")
    run_statements(medbill_app, cycle="NF", out_dir=tmp_path / "statements")
    with medbill_app.unit_of_work() as work:
        statement_id = work.session.scalar(select(StatementRow.id).where(
            StatementRow.guarantor_key == f"G{guarantor_id}"))
        assert statement_id is not None
        queued = statement_ready(work, statement_id, LINK)
    assert queued is not None and queued.recipient == "***-***-0188"
    [first] = deliver_due(medbill_app)  # the mock's simulated outage
    assert first.status is NotificationStatus.FAILED
    assert first.error == "notifier 'mock' is unavailable (a simulated outage)"
    [second] = deliver_due(medbill_app, now=utcnow() + timedelta(hours=1))
    assert second.status is NotificationStatus.SENT
    assert deliver_due(medbill_app, now=utcnow() + timedelta(days=1)) == []
    notifier = medbill_app.hooks.context.notifier()
    assert isinstance(notifier, MockNotifier)
    [recorded] = [json.loads(line) for line in
                  messages_file.read_text(encoding="utf-8").splitlines()]
    assert stat.S_IMODE(messages_file.stat().st_mode) == 0o600
    practice = medbill_app.config.require_practice().name
    assert (recorded["channel"], recorded["recipient"], recorded["body"]) == (
        "sms", "3125550188",
        f"{practice}: a new billing statement is ready. View it and pay securely at {LINK}")
    with medbill_app.unit_of_work(read_only=True) as work:
        for patient_id in patients:
            patient = work.patients.get(patient_id)
            assert patient.last_name not in recorded["body"]
            assert patient.account_number not in recorded["body"]


def test_a_referral_approved_by_the_lenders_callback_posts_once(medbill_app: Medbill) -> None:
    guarantor_id, _ = _family(medbill_app, "300.00", "100.00")
    with medbill_app.unit_of_work() as work:
        referral = refer(work, guarantor_id, consent="verbal, at checkout",
                         amount=D("250.00"))
    assert (referral.status, referral.lender_name) == (ReferralStatus.REFERRED, LENDER_NAME)
    lender = medbill_app.hooks.context.financing_provider()
    assert isinstance(lender, MockLender)
    body, headers = lender.signed_callback(referral.application_id)
    assert handle_callback(medbill_app, "mock", body, headers) is Applied.POSTED
    assert handle_callback(medbill_app, "mock", body, headers) is Applied.UNCHANGED
    with medbill_app.unit_of_work() as work:
        checked = check_referral(work, referral.id)
        payments = list(work.session.scalars(select(PaymentRow)))
        owed = balance_owed(work, guarantor_id=guarantor_id)
    assert (checked.status, checked.approved_amount, checked.merchant_fee) == (
        ReferralStatus.POSTED, D("250.00"), D("12.50"))
    assert [(p.amount, p.fee, p.method, p.id) for p in payments] == [
        (D("250.00"), D("12.50"), "other", checked.payment_id)]
    assert owed == D("150.00")  # the whole approved amount came off, the fee included


def test_an_amount_above_the_credit_line_is_declined_and_posts_nothing(
        medbill_app: Medbill) -> None:
    guarantor_id, _ = _family(medbill_app, "6000.00")
    with medbill_app.unit_of_work() as work:
        referral = refer(work, guarantor_id, consent="verbal")
    with medbill_app.unit_of_work() as work:
        checked = check_referral(work, referral.id)
        assert list(work.session.scalars(select(PaymentRow))) == []
    assert (checked.status, checked.decline_reason) == (
        ReferralStatus.DECLINED, "the amount is above the credit line")
