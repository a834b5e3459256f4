"""Patient financing referrals (an in-process lender): the referral sends only what the lender
needs, an approval posts the approved amount once as a payment from the lender (the callback
twice, a poll after the callback), a decline or an expiry posts nothing, an amount beyond the
balance is refused. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from notify_support import LENDER, LENDER_PROVIDER, callback, plugin
from sqlalchemy import select, update
from test_http_accounts import AUDITOR, FRONT, authenticate
from test_http_api import assert_problem

from medbill_core.app import Medbill
from medbill_core.config import MedbillConfig
from medbill_core.domain.base import saved_id
from medbill_core.errors import NotFound, ValidationFailed, WebhookRefused
from medbill_core.financing_providers import FinancingError, FinancingStatus
from medbill_core.http import create_app
from medbill_core.ledger import EntryKind
from medbill_core.services.card_payments import balance_owed
from medbill_core.services.financing import (
    Applied,
    ReferralStatus,
    check_pending,
    check_referral,
    get_referral,
    handle_callback,
    list_referrals,
    refer,
)
from medbill_core.storage.schema import (
    AuditEventRow,
    FinancingReferralRow,
    GuarantorRow,
    LedgerEntryRow,
    PatientRow,
    PaymentRow,
    utcnow,
)
from medbill_core.testing import factories

D = Decimal
TODAY = date.today()


@pytest.fixture
def medbill_config(medbill_config: MedbillConfig) -> MedbillConfig:
    return medbill_config.model_copy(update={"financing_provider": "fakefin"})


@pytest.fixture
def medbill_extra_plugins() -> list[tuple[str, Any]]:
    LENDER_PROVIDER.reset()
    return [("fake_lender", plugin())]


_numbers = iter(range(800, 10_000))


def family(app: Medbill, *charges: str) -> tuple[int, list[int]]:
    """(guarantor id, patient ids): a parent and a child, each owing a charge."""
    from medbill_core.domain import GuarantorRelationship
    from medbill_core.services.guarantors import GuarantorService

    patients = []
    with app.unit_of_work() as work:
        for i, charge in enumerate(charges):
            number = next(_numbers)
            patient = work.patients.register(factories.make_patient(
                number, email=f"p{number}@example.org"))
            day = TODAY - timedelta(days=40 - i)
            claim = factories.make_claim(patient.id, coverage_id=None, number=f"FN{number}",
                                         service_date=day)
            claim = claim.model_copy(update={"lines": [factories.make_line(
                1, service_date=day, charge=D(charge))]})
            work.claims.create(claim)
            assert patient.id is not None
            patients.append(patient.id)
        service = GuarantorService(work.session, actor="t")
        guarantor = service.guarantor_for_patient(patients[0])
        for child in patients[1:]:
            service.assign(child, guarantor.id, GuarantorRelationship.PARENT)
    assert guarantor.id is not None
    return guarantor.id, patients


def owed(app: Medbill, guarantor_id: int) -> Decimal:
    with app.unit_of_work(read_only=True) as work:
        return balance_owed(work, guarantor_id=guarantor_id)


def referred(app: Medbill, guarantor_id: int, amount: str | None = None) -> tuple[int, str]:
    with app.unit_of_work() as work:
        view = refer(work, guarantor_id, consent="verbal, at checkout",
                     amount=D(amount) if amount else None)
    return view.id, view.application_id


def referral(app: Medbill, referral_id: int) -> Any:
    with app.unit_of_work(read_only=True) as work:
        return get_referral(work, referral_id)


def payments(app: Medbill) -> list[PaymentRow]:
    with app.unit_of_work(read_only=True) as work:
        return list(work.session.scalars(select(PaymentRow).order_by(PaymentRow.id)))


def test_the_referral_sends_only_what_the_lender_needs(medbill_app: Medbill) -> None:
    guarantor_id, (_, child) = family(medbill_app, "300.00", "200.00")
    referral_id, application = referred(medbill_app, guarantor_id)
    [request] = LENDER_PROVIDER.requests
    with medbill_app.unit_of_work(read_only=True) as work:
        guarantor = work.session.get(GuarantorRow, guarantor_id)
        child_patient = work.patients.get(child)
    assert guarantor is not None
    assert (request.amount, request.applicant_first_name, request.applicant_last_name,
            request.applicant_email, request.applicant_phone) == (
        D("500.00"), guarantor.first_name, guarantor.last_name, guarantor.email,
        guarantor.phone)
    assert request.practice_name == medbill_app.config.require_practice().name
    assert request.reference.startswith("fin_") and request.idempotency_key.endswith("-refer")
    sent = repr(request)
    for phi in (child_patient.last_name, child_patient.account_number,
                child_patient.birth_date.isoformat(), "FN"):
        assert phi not in sent
    view = referral(medbill_app, referral_id)
    assert (view.status, view.amount, view.application_id, view.consent, view.payment_id) == (
        ReferralStatus.REFERRED, D("500.00"), application, "verbal, at checkout", None)
    assert owed(medbill_app, guarantor_id) == D("500.00")  # nothing posted on a referral


def test_an_approval_by_callback_twice_then_a_poll_posts_once(medbill_app: Medbill) -> None:
    guarantor_id, _ = family(medbill_app, "300.00", "200.00")
    referral_id, application = referred(medbill_app, guarantor_id, "450.00")
    decision = LENDER_PROVIDER.decide(application, FinancingStatus.APPROVED, "450.00", "27.00")
    body, headers = callback(decision)
    assert handle_callback(medbill_app, "fakefin", body, headers) is Applied.POSTED
    assert handle_callback(medbill_app, "fakefin", body, headers) is Applied.UNCHANGED
    with medbill_app.unit_of_work() as work:
        polled = check_referral(work, referral_id)
    [payment] = payments(medbill_app)
    assert (payment.amount, payment.method, payment.reference) == (
        D("450.00"), "other", f"{LENDER} {application}")
    assert (polled.status, polled.approved_amount, polled.merchant_fee, polled.payment_id,
            polled.lender_name, polled.decided_by) == (
        ReferralStatus.POSTED, D("450.00"), D("27.00"), payment.id, LENDER,
        "financing:fakefin")
    assert owed(medbill_app, guarantor_id) == D("50.00")
    with medbill_app.unit_of_work(read_only=True) as work:
        kinds = [(entry.kind, entry.patient_delta) for entry in work.session.scalars(
            select(LedgerEntryRow).where(LedgerEntryRow.kind.in_(
                (EntryKind.PATIENT_PAYMENT, EntryKind.FINANCING_FEE))))]
        posted = work.session.scalars(select(AuditEventRow).where(
            AuditEventRow.action == "financing.post")).all()
    # oldest service first across the family: the parent's 300.00 (the lender's 27.00 fee
    # first out of it), then 150.00 of the child's
    assert sorted(kinds) == [("financing_fee", D("-27.00")), ("patient_payment", D("-273.00")),
                             ("patient_payment", D("-150.00"))]
    assert [(event.actor, event.entity_id) for event in posted] == [
        ("financing:fakefin", str(referral_id))]


def test_a_poll_finds_the_approval_when_no_callback_came(medbill_app: Medbill) -> None:
    guarantor_id, _ = family(medbill_app, "120.00")
    referral_id, application = referred(medbill_app, guarantor_id)
    with medbill_app.unit_of_work() as work:
        assert check_referral(work, referral_id).status is ReferralStatus.REFERRED  # pending
    LENDER_PROVIDER.decide(application, FinancingStatus.APPROVED, "100.00")
    with medbill_app.unit_of_work() as work:
        view = check_referral(work, referral_id)
    assert (view.status, view.approved_amount, view.merchant_fee) == (
        ReferralStatus.POSTED, D("100.00"), None)
    body, headers = callback(LENDER_PROVIDER.applications[application])
    assert handle_callback(medbill_app, "fakefin", body, headers) is Applied.UNCHANGED
    assert [p.amount for p in payments(medbill_app)] == [D("100.00")]
    assert owed(medbill_app, guarantor_id) == D("20.00")


@pytest.mark.parametrize("status", [FinancingStatus.DECLINED, FinancingStatus.EXPIRED])
def test_a_decline_or_an_expiry_posts_nothing(medbill_app: Medbill,
                                              status: FinancingStatus) -> None:
    guarantor_id, _ = family(medbill_app, "90.00")
    referral_id, application = referred(medbill_app, guarantor_id)
    body, headers = callback(LENDER_PROVIDER.decide(application, status))
    assert handle_callback(medbill_app, "fakefin", body, headers) is Applied.RECORDED
    # a later approval of a decided referral changes nothing
    late = LENDER_PROVIDER.decide(application, FinancingStatus.APPROVED, "90.00")
    assert handle_callback(medbill_app, "fakefin", *callback(late)) is Applied.UNCHANGED
    view = referral(medbill_app, referral_id)
    assert (view.status.value, view.payment_id, view.approved_amount) == (status.value, None,
                                                                           None)
    assert payments(medbill_app) == []
    assert owed(medbill_app, guarantor_id) == D("90.00")


def _made_hours_ago(app: Medbill, referral_id: int, hours: int) -> None:
    with app.unit_of_work() as work:
        work.session.execute(update(FinancingReferralRow)
                             .where(FinancingReferralRow.id == referral_id)
                             .values(created_at=utcnow() - timedelta(hours=hours)))


def test_the_lender_is_asked_about_late_referrals_and_one_that_fails_stops_none(
        medbill_app: Medbill) -> None:
    """A lost callback: the hourly poll asks about the referrals undecided an hour after they
    were made (not the recent ones), applies each answer once, and a referral whose answer
    cannot be applied stays as it was while the others are asked."""
    made = {}
    for name, charge in (("approved", "100.00"), ("declined", "50.00"), ("waiting", "70.00"),
                         ("failing", "80.00"), ("recent", "90.00")):
        guarantor_id, _ = family(medbill_app, charge)
        made[name] = (guarantor_id, *referred(medbill_app, guarantor_id))
    ids = {name: referral_id for name, (_, referral_id, _) in made.items()}
    for name, hours in (("approved", 5), ("declined", 4), ("waiting", 3), ("failing", 2)):
        _made_hours_ago(medbill_app, ids[name], hours)
    LENDER_PROVIDER.decide(made["approved"][2], FinancingStatus.APPROVED, "100.00")
    LENDER_PROVIDER.decide(made["declined"][2], FinancingStatus.DECLINED)
    LENDER_PROVIDER.decide(made["failing"][2], FinancingStatus.APPROVED, "800.00")
    LENDER_PROVIDER.decide(made["recent"][2], FinancingStatus.APPROVED, "90.00")

    checked = check_pending(medbill_app)
    assert checked.statuses == {ReferralStatus.POSTED: [ids["approved"]],
                                ReferralStatus.DECLINED: [ids["declined"]],
                                ReferralStatus.REFERRED: [ids["waiting"]]}
    assert list(checked.failed) == [ids["failing"]] and checked.asked == 4
    assert "more than the 80.00 referred" in checked.failed[ids["failing"]]
    assert "\n" not in checked.failed[ids["failing"]]
    assert {name: referral(medbill_app, referral_id).status
            for name, referral_id in ids.items()} == {
        "approved": ReferralStatus.POSTED, "declined": ReferralStatus.DECLINED,
        "waiting": ReferralStatus.REFERRED, "failing": ReferralStatus.REFERRED,
        "recent": ReferralStatus.REFERRED}
    assert [p.amount for p in payments(medbill_app)] == [D("100.00")]
    assert owed(medbill_app, made["approved"][0]) == D("0.00")
    assert checked.as_json()["posted"] == [ids["approved"]]
    assert checked.as_json()["failed"][0]["id"] == ids["failing"]

    again = check_pending(medbill_app)  # the decided ones are not asked again
    assert (again.statuses, list(again.failed)) == (
        {ReferralStatus.REFERRED: [ids["waiting"]]}, [ids["failing"]])
    everything = check_pending(medbill_app, older_than=timedelta(0), limit=3)
    assert everything.statuses == {ReferralStatus.REFERRED: [ids["waiting"]],
                                   ReferralStatus.POSTED: [ids["recent"]]}
    assert list(everything.failed) == [ids["failing"]]
    assert [p.amount for p in payments(medbill_app)] == [D("100.00"), D("90.00")]


def test_the_workers_financing_job_asks_each_practice(medbill_app: Medbill) -> None:
    from medbill_core.jobs import JOB_KINDS
    from medbill_core.jobs import tasks as job_tasks

    guarantor_id, _ = family(medbill_app, "40.00")
    referral_id, application = referred(medbill_app, guarantor_id)
    _made_hours_ago(medbill_app, referral_id, 2)
    LENDER_PROVIDER.decide(application, FinancingStatus.APPROVED, "40.00")
    job_tasks.use(medbill_app)
    try:
        job_tasks.financing.func(None)
    finally:
        job_tasks.use(None)  # type: ignore[arg-type]
    assert referral(medbill_app, referral_id).status is ReferralStatus.POSTED
    assert owed(medbill_app, guarantor_id) == D("0.00")
    assert "financing" in JOB_KINDS


def test_an_amount_beyond_the_balance_is_refused_in_one_line(medbill_app: Medbill) -> None:
    guarantor_id, _ = family(medbill_app, "60.00")
    with medbill_app.unit_of_work() as work, pytest.raises(ValidationFailed) as caught:
        refer(work, guarantor_id, consent="verbal", amount=D("60.01"))
    message = str(caught.value)
    assert "amount" in message and "60.01 exceeds the 60.00 owed" in message
    assert "\n" not in message
    with medbill_app.unit_of_work() as work, pytest.raises(ValidationFailed, match="consent"):
        refer(work, guarantor_id, consent="  ")
    with medbill_app.unit_of_work() as work, pytest.raises(ValidationFailed,
                                                           match="more than 0.00"):
        refer(work, guarantor_id, consent="verbal", amount=D("0.00"))
    with medbill_app.unit_of_work() as work, pytest.raises(NotFound):
        refer(work, 999_999, consent="verbal")
    assert LENDER_PROVIDER.requests == []


def test_a_balance_referred_and_undecided_is_not_referred_again(medbill_app: Medbill) -> None:
    """Two referrals of the same balance would both post (the family owing the lender twice,
    the practice holding a credit): what an undecided referral may pay is spoken for."""
    guarantor_id, _ = family(medbill_app, "100.00")
    first_id, application = referred(medbill_app, guarantor_id, "60.00")
    with medbill_app.unit_of_work() as work, pytest.raises(ValidationFailed) as caught:
        refer(work, guarantor_id, consent="verbal", amount=D("40.01"))
    assert str(caught.value) == (f"guarantor {guarantor_id}: amount: 40.01 exceeds the 40.00 "
                                 "owed less 60.00 in undecided referrals")
    second_id, _ = referred(medbill_app, guarantor_id)  # the rest: 40.00
    assert referral(medbill_app, second_id).amount == D("40.00")
    with medbill_app.unit_of_work() as work, pytest.raises(
            ValidationFailed, match="nothing is owed less 100.00 in undecided referrals"):
        refer(work, guarantor_id, consent="verbal")
    # a decline frees its part again
    body, headers = callback(LENDER_PROVIDER.decide(application, FinancingStatus.DECLINED))
    assert handle_callback(medbill_app, "fakefin", body, headers) is Applied.RECORDED
    third_id, _ = referred(medbill_app, guarantor_id)
    assert referral(medbill_app, third_id).amount == D("60.00")
    assert first_id < second_id < third_id


def test_an_approval_beyond_the_referral_posts_nothing(medbill_app: Medbill) -> None:
    guarantor_id, _ = family(medbill_app, "60.00")
    referral_id, application = referred(medbill_app, guarantor_id)
    body, headers = callback(LENDER_PROVIDER.decide(application, FinancingStatus.APPROVED,
                                                    "600.00"))
    with pytest.raises(ValidationFailed, match="more than the 60.00 referred"):
        handle_callback(medbill_app, "fakefin", body, headers)
    assert referral(medbill_app, referral_id).status is ReferralStatus.REFERRED
    assert payments(medbill_app) == []


def test_a_callback_with_a_bad_signature_does_nothing(medbill_app: Medbill) -> None:
    guarantor_id, _ = family(medbill_app, "60.00")
    referral_id, application = referred(medbill_app, guarantor_id)
    decision = LENDER_PROVIDER.decide(application, FinancingStatus.APPROVED, "60.00")
    with pytest.raises(WebhookRefused):
        handle_callback(medbill_app, "fakefin", *callback(decision, secret="wrong"))
    assert referral(medbill_app, referral_id).status is ReferralStatus.REFERRED


def test_a_lender_that_is_down_records_nothing(medbill_app: Medbill) -> None:
    guarantor_id, _ = family(medbill_app, "60.00")
    LENDER_PROVIDER.down = True
    with medbill_app.unit_of_work() as work, pytest.raises(FinancingError,
                                                           match="unreachable"):
        refer(work, guarantor_id, consent="verbal")
    with medbill_app.unit_of_work(read_only=True) as work:
        assert list_referrals(work) == []


def test_a_referral_paid_meanwhile_leaves_the_rest_as_a_credit(medbill_app: Medbill) -> None:
    """The family paid part by check after the referral; the lender still pays what it
    approved: the excess is the family's credit, not refused."""
    from medbill_core.domain import Payment, PaymentMethodKind
    from medbill_core.services.payments import record_guarantor_payment

    guarantor_id, (parent,) = family(medbill_app, "100.00")
    referral_id, application = referred(medbill_app, guarantor_id)
    with medbill_app.unit_of_work() as work:
        record_guarantor_payment(work, guarantor_id, Payment(
            patient_id=parent, amount=D("30.00"), method=PaymentMethodKind.CHECK,
            reference="1001", received_on=TODAY))
    LENDER_PROVIDER.decide(application, FinancingStatus.APPROVED, "100.00")
    with medbill_app.unit_of_work() as work:
        assert check_referral(work, referral_id).status is ReferralStatus.POSTED
    assert owed(medbill_app, guarantor_id) == D("-30.00")


# -- HTTP --------------------------------------------------------------------------------------

@pytest.fixture
def client(medbill_app: Medbill) -> Iterator[TestClient]:
    with TestClient(create_app(medbill_app, authenticate=authenticate)) as test_client:
        yield test_client


def test_http_refer_read_check_and_the_lenders_callback(client: TestClient,
                                                        medbill_app: Medbill) -> None:
    guarantor_id, _ = family(medbill_app, "250.00")
    body = {"guarantor_id": guarantor_id, "consent": "verbal, at checkout", "amount": "200.00"}
    created = client.post("/v1/financing-referrals", json=body,
                          headers={**FRONT, "Idempotency-Key": "fin-1"})
    assert created.status_code == 201, created.text
    referral = created.json()
    assert (referral["status"], referral["amount"], referral["payment_id"]) == (
        "referred", "200.00", None)
    assert created.headers["location"] == f"/v1/financing-referrals/{referral['id']}"
    again = client.post("/v1/financing-referrals", json=body,
                        headers={**FRONT, "Idempotency-Key": "fin-1"})
    assert again.json() == referral and len(LENDER_PROVIDER.requests) == 1
    assert_problem(client.post("/v1/financing-referrals", json={**body, "amount": "250.01"},
                               headers=FRONT), 422, "validation-failed")
    url = "/v1/financing-providers/fakefin/callbacks"
    decision = LENDER_PROVIDER.decide(referral["application_id"], FinancingStatus.APPROVED,
                                      "200.00", "12.00")
    forged = callback(decision, secret="guess")
    assert_problem(client.post(url, content=forged[0], headers=forged[1]), 400,
                   "webhook-refused")
    signed_body, signed_headers = callback(decision)
    first = client.post(url, content=signed_body, headers=signed_headers)
    assert (first.status_code, first.json()) == (200, {"received": True, "outcome": "posted"})
    second = client.post(url, content=signed_body, headers=signed_headers)
    assert second.json()["outcome"] == "unchanged"
    checked = client.post(f"/v1/financing-referrals/{referral['id']}/check", headers=FRONT)
    assert checked.status_code == 200, checked.text
    assert (checked.json()["status"], checked.json()["approved_amount"],
            checked.json()["merchant_fee"]) == ("posted", "200.00", "12.00")
    read = client.get(f"/v1/financing-referrals/{referral['id']}", headers=AUDITOR).json()
    assert read == checked.json()
    listed = client.get("/v1/financing-referrals?status=posted", headers=AUDITOR).json()
    assert [item["id"] for item in listed["data"]] == [referral["id"]]
    assert_problem(client.post(f"/v1/financing-referrals/{referral['id']}/check",
                               headers=AUDITOR), 403, "permission-denied")
    assert len(payments(medbill_app)) == 1
    assert owed(medbill_app, guarantor_id) == D("50.00")


def self_pay(app: Medbill, charge: str) -> int:
    """A patient who pays their own bills (no guarantor record), owing ``charge``."""
    number = next(_numbers)
    with app.unit_of_work() as work:
        patient = work.patients.register(factories.make_patient(number))
        claim = factories.make_claim(saved_id(patient), coverage_id=None, number=f"FS{number}",
                                     service_date=TODAY - timedelta(days=20))
        work.claims.create(claim.model_copy(update={"lines": [factories.make_line(
            1, service_date=TODAY - timedelta(days=20), charge=D(charge))]}))
    return saved_id(patient)


def guarantor_of(app: Medbill, patient_id: int) -> int | None:
    with app.unit_of_work(read_only=True) as work:
        row = work.session.get(PatientRow, patient_id)
        assert row is not None
        return row.guarantor_id


def test_a_patient_who_pays_their_own_bills_is_referred_as_their_own_guarantor(
        medbill_app: Medbill) -> None:
    patient_id = self_pay(medbill_app, "75.00")
    assert guarantor_of(medbill_app, patient_id) is None
    LENDER_PROVIDER.down = True  # refused: no guarantor is left made for it
    with pytest.raises(FinancingError), medbill_app.unit_of_work() as work:
        refer(work, patient_id=patient_id, consent="verbal")
    assert guarantor_of(medbill_app, patient_id) is None
    LENDER_PROVIDER.down = False
    with medbill_app.unit_of_work() as work:
        view = refer(work, patient_id=patient_id, consent="verbal, at checkout")
        patient = work.patients.get(patient_id)
    guarantor_id = guarantor_of(medbill_app, patient_id)
    assert guarantor_id is not None and view.guarantor_id == guarantor_id
    [request] = LENDER_PROVIDER.requests
    assert (request.applicant_last_name, request.applicant_first_name, request.amount) == (
        patient.last_name, patient.first_name, D("75.00"))
    LENDER_PROVIDER.decide(view.application_id, FinancingStatus.APPROVED, "75.00")
    with medbill_app.unit_of_work() as work:
        assert check_referral(work, view.id).status is ReferralStatus.POSTED
    assert owed(medbill_app, guarantor_id) == D("0.00")
    # a patient with a guarantor: the guarantor applies, for the family's balance
    family_guarantor, (_, child) = family(medbill_app, "40.00", "25.00")
    with medbill_app.unit_of_work() as work:
        view = refer(work, patient_id=child, consent="verbal")
    assert (view.guarantor_id, view.amount) == (family_guarantor, D("65.00"))
    with medbill_app.unit_of_work() as work, pytest.raises(ValidationFailed,
                                                           match="one of them"):
        refer(work, family_guarantor, patient_id=child, consent="verbal")
    with medbill_app.unit_of_work() as work, pytest.raises(ValidationFailed,
                                                           match="one of them"):
        refer(work, consent="verbal")
    with medbill_app.unit_of_work() as work, pytest.raises(NotFound, match="patient"):
        refer(work, patient_id=999_999, consent="verbal")


def test_http_refers_a_patient(client: TestClient, medbill_app: Medbill) -> None:
    patient_id = self_pay(medbill_app, "55.00")
    made = client.post("/v1/financing-referrals", json={
        "patient_id": patient_id, "consent": "verbal"}, headers=FRONT)
    assert made.status_code == 201, made.text
    assert (made.json()["guarantor_id"], made.json()["amount"]) == (
        guarantor_of(medbill_app, patient_id), "55.00")
    both = client.post("/v1/financing-referrals", json={
        "patient_id": patient_id, "guarantor_id": made.json()["guarantor_id"],
        "consent": "verbal"}, headers=FRONT)
    assert_problem(both, 422, "validation-failed")


def test_http_a_lender_that_is_down_is_a_502_problem(client: TestClient,
                                                     medbill_app: Medbill) -> None:
    guarantor_id, _ = family(medbill_app, "30.00")
    LENDER_PROVIDER.down = True
    problem = assert_problem(client.post("/v1/financing-referrals", json={
        "guarantor_id": guarantor_id, "consent": "verbal"}, headers=FRONT), 502,
        "financing-provider-failed")
    assert problem["detail"] == "financing provider 'fakefin' is unreachable"


def test_a_callback_and_a_poll_at_the_same_moment_post_once(medbill_app: Medbill,
                                                            medbill_backend: str) -> None:
    """The lender's callback arrives while staff press "check": the referral's row lock
    makes one of them post and the other find it posted (PostgreSQL)."""
    import threading

    if medbill_backend != "postgres":
        pytest.skip("SQLite runs one writer at a time: the race needs PostgreSQL's row locks")
    guarantor_id, _ = family(medbill_app, "140.00")
    referral_id, application = referred(medbill_app, guarantor_id)
    body, headers = callback(LENDER_PROVIDER.decide(application, FinancingStatus.APPROVED,
                                                    "140.00", "7.00"))
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def by_callback() -> None:
        start.wait()
        try:
            handle_callback(medbill_app, "fakefin", body, headers)
        except BaseException as exc:  # reported below
            errors.append(exc)

    def by_poll() -> None:
        start.wait()
        try:
            with medbill_app.unit_of_work() as work:
                check_referral(work, referral_id)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=by_callback), threading.Thread(target=by_poll)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert [(p.amount, p.fee) for p in payments(medbill_app)] == [(D("140.00"), D("7.00"))]
    assert referral(medbill_app, referral_id).status is ReferralStatus.POSTED
    assert owed(medbill_app, guarantor_id) == D("0.00")
    with medbill_app.unit_of_work(read_only=True) as work:  # the fee posted once too
        totals = work.ledger.totals()
    assert (totals[EntryKind.PATIENT_PAYMENT], totals[EntryKind.FINANCING_FEE]) == (
        D("133.00"), D("7.00"))
