"""The same payment posted twice: an exact repeat of a patient's (or a family's) payment posted
and not reversed (same amount, received date, method and reference) is refused, naming the
earlier payment, unless the caller says the patient really paid twice; without a reference it
is a warning. The same for a collection agency's payments. Services on SQLite and PostgreSQL,
the command line and the HTTP API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cli_support import cli, config_text, ok, one_line_error
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from test_http_accounts import BILLER, authenticate

from medbill_core.app import Medbill
from medbill_core.config import load_config
from medbill_core.domain import Payment, PaymentMethodKind
from medbill_core.http import create_app
from medbill_core.services.collections import (
    DuplicateAgencyPayment,
    add_agency,
    place_account,
    record_agency_payment,
)
from medbill_core.services.guarantors import GuarantorService
from medbill_core.services.payments import (
    DuplicatePayment,
    Overpayment,
    record_guarantor_payment,
    record_payment,
    reverse_payment,
)
from medbill_core.storage.schema import AgencyPaymentRow, LedgerEntryRow, PaymentRow
from medbill_core.testing import factories

D = Decimal
TODAY = date.today()


def self_pay(app: Medbill, number: int, charge: str = "500.00") -> int:
    with app.unit_of_work() as work:
        patient = work.patients.register(factories.make_patient(number))
        day = TODAY - timedelta(days=20)
        claim = factories.make_claim(patient.id, coverage_id=None, number=f"DP{number}",
                                     service_date=day)
        work.claims.create(claim.model_copy(update={"lines": [factories.make_line(
            1, service_date=day, charge=D(charge))]}))
    assert patient.id is not None
    return patient.id


def pay(app: Medbill, patient_id: int, amount: str = "50.00", *,
        method: PaymentMethodKind = PaymentMethodKind.CHECK, reference: str | None = "1042",
        received_on: date = TODAY, **kwargs: Any) -> Any:
    with app.unit_of_work() as work:
        return record_payment(work, Payment(patient_id=patient_id, amount=D(amount),
                                            method=method, reference=reference,
                                            received_on=received_on), **kwargs)


def counts(app: Medbill) -> tuple[int, int]:
    with app.unit_of_work(read_only=True) as work:
        return tuple(work.session.scalar(select(func.count()).select_from(table))
                     for table in (PaymentRow, LedgerEntryRow))  # type: ignore[return-value]


def test_the_same_check_twice_is_refused_naming_the_first(medbill_app: Medbill) -> None:
    patient = self_pay(medbill_app, 1)
    first = pay(medbill_app, patient)
    before = counts(medbill_app)
    with pytest.raises(DuplicatePayment) as refused:
        pay(medbill_app, patient, reference=" 1042 ")
    assert refused.value.payment_id == first.payment_id
    assert str(refused.value) == (
        f"payment of 50.00 by check 1042 on {TODAY.isoformat()} is already posted (payment "
        f"#{first.payment_id}); post it again with --allow-duplicate if the patient really "
        "paid twice")
    assert counts(medbill_app) == before
    with medbill_app.unit_of_work(read_only=True) as work:
        assert work.ledger.patient_balance(patient).patient == D("450.00")
    # the patient really paid twice: said so, it posts
    again = pay(medbill_app, patient, allow_duplicate=True)
    assert again.payment_id != first.payment_id
    with medbill_app.unit_of_work(read_only=True) as work:
        assert work.ledger.patient_balance(patient).patient == D("400.00")


def test_another_figure_is_another_payment(medbill_app: Medbill) -> None:
    patient = self_pay(medbill_app, 2)
    pay(medbill_app, patient)
    assert pay(medbill_app, patient, reference="1043").warnings == ()
    assert pay(medbill_app, patient, amount="50.01").warnings == ()
    pay(medbill_app, patient, received_on=TODAY - timedelta(days=1))
    pay(medbill_app, patient, method=PaymentMethodKind.ACH)
    other = self_pay(medbill_app, 3)
    pay(medbill_app, other)  # another patient's check 1042
    assert counts(medbill_app)[0] == 6


def test_a_reversed_payment_may_be_posted_again(medbill_app: Medbill) -> None:
    patient = self_pay(medbill_app, 4)
    first = pay(medbill_app, patient)
    with medbill_app.unit_of_work() as work:
        reverse_payment(work, first.payment_id, "check returned unpaid")
    pay(medbill_app, patient)  # the replacement check
    with medbill_app.unit_of_work(read_only=True) as work:
        assert work.ledger.patient_balance(patient).patient == D("450.00")


def test_without_a_reference_it_is_a_warning(medbill_app: Medbill) -> None:
    patient = self_pay(medbill_app, 5)
    first = pay(medbill_app, patient, method=PaymentMethodKind.CASH, reference=None)
    assert first.warnings == ()
    second = pay(medbill_app, patient, method=PaymentMethodKind.CASH, reference="  ")
    assert second.warnings == (
        f"payment of 50.00 by cash on {TODAY.isoformat()} has no reference and the same "
        f"patient, amount, date and method as payment #{first.payment_id}: recorded as "
        "another payment (reverse it if it was posted twice)",)
    with medbill_app.unit_of_work(read_only=True) as work:
        assert work.ledger.patient_balance(patient).patient == D("400.00")


def test_a_family_payment_twice_is_refused(medbill_app: Medbill) -> None:
    patient = self_pay(medbill_app, 6)
    with medbill_app.unit_of_work() as work:
        guarantor = GuarantorService(work.session, actor="t").guarantor_for_patient(patient)
    assert guarantor.id is not None
    payment = Payment(patient_id=patient, amount=D("40.00"), method=PaymentMethodKind.CHECK,
                      reference="77", received_on=TODAY)
    with medbill_app.unit_of_work() as work:
        first = record_guarantor_payment(work, guarantor.id, payment)
    with pytest.raises(DuplicatePayment, match=rf"\(payment #{first.payment_id}\)"), \
            medbill_app.unit_of_work() as work:
        record_guarantor_payment(work, guarantor.id, payment)
    with pytest.raises(DuplicatePayment), medbill_app.unit_of_work() as work:
        record_payment(work, payment)  # the same check as the patient's own payment
    with medbill_app.unit_of_work() as work:
        record_guarantor_payment(work, guarantor.id, payment, allow_duplicate=True,
                                 overpayment=Overpayment.CREDIT)


def test_an_agency_payment_twice_is_refused(medbill_app: Medbill) -> None:
    patient = self_pay(medbill_app, 7)
    with medbill_app.unit_of_work() as work:
        add_agency(work, "ACME", "Acme Recovery", "20")
        placement = place_account(work, patient, "ACME").id
    with medbill_app.unit_of_work() as work:
        first = record_agency_payment(work, placement, D("60.00"), received_on=TODAY,
                                      reference="R-88")
    with pytest.raises(DuplicateAgencyPayment) as refused, \
            medbill_app.unit_of_work() as work:
        record_agency_payment(work, placement, D("60.00"), received_on=TODAY,
                              reference="r-88")
    assert str(refused.value) == (
        f"placement {placement}: agency payment of 60.00 (remittance R-88) on "
        f"{TODAY.isoformat()} is already posted (agency payment #{first.payment_id}); post "
        "it again with --allow-duplicate if the agency really paid twice")
    with medbill_app.unit_of_work(read_only=True) as work:
        assert work.session.scalar(select(func.count()).select_from(AgencyPaymentRow)) == 1
    with medbill_app.unit_of_work() as work:
        second = record_agency_payment(work, placement, D("60.00"), received_on=TODAY)
    assert second.warnings == (
        f"placement {placement}: agency payment of 60.00 on {TODAY.isoformat()} has no "
        f"reference and the same amount and date as agency payment #{first.payment_id}: "
        "recorded as another payment",)
    with medbill_app.unit_of_work() as work:
        record_agency_payment(work, placement, D("60.00"), received_on=TODAY,
                              reference="R-88", allow_duplicate=True)
    with medbill_app.unit_of_work(read_only=True) as work:
        assert work.session.scalar(select(func.count()).select_from(AgencyPaymentRow)) == 3


# -- the command line ---------------------------------------------------------------------------

@pytest.fixture
def config(cli_isolation: None, tmp_path: Path) -> Path:
    path = tmp_path / "medbill.toml"
    path.write_text(config_text(f"sqlite:///{tmp_path / 'medbill.db'}"), encoding="utf-8")
    ok(path, "db", "upgrade")
    return path


def test_the_command_line_refuses_the_same_check_twice(config: Path) -> None:
    app = Medbill.open(load_config(config), load_installed=False)
    try:
        patient = self_pay(app, 1)
        with app.unit_of_work(read_only=True) as work:
            account = work.patients.get(patient).account_number
    finally:
        app.close()
    args = ("payments", "record", "--patient", account, "--amount", "50.00", "--method",
            "check", "--reference", "1042", "--received", TODAY.isoformat())
    first = ok(config, *args)
    assert "payment 1 recorded" in first.output
    line = one_line_error(cli(config, *args))
    assert line == (f"error: payment of 50.00 by check 1042 on {TODAY.isoformat()} is already "
                    "posted (payment #1); post it again with --allow-duplicate if the patient "
                    "really paid twice")
    assert "payment 2 recorded" in ok(config, *args, "--allow-duplicate").output
    cash = ("payments", "record", "--patient", account, "--amount", "5.00")
    ok(config, *cash)
    warned = ok(config, *cash)
    assert "payment 4 recorded" in warned.output
    assert warned.stderr.strip().startswith("warning: payment of 5.00 by cash on")
    assert "payment #3" in warned.stderr


# -- the HTTP API -------------------------------------------------------------------------------

@pytest.fixture
def client(medbill_app: Medbill) -> Iterator[TestClient]:
    with TestClient(create_app(medbill_app, authenticate=authenticate)) as test_client:
        yield test_client


def test_the_api_answers_a_duplicate_with_a_409(medbill_app: Medbill,
                                                client: TestClient) -> None:
    patient = self_pay(medbill_app, 8)
    body = {"patient_id": patient, "amount": "50.00", "method": "check", "reference": "1042",
            "received_on": TODAY.isoformat()}
    first = client.post("/v1/payments", json=body, headers={**BILLER, "Idempotency-Key": "k1"})
    assert first.status_code == 201, first.text
    assert first.json()["warnings"] == []
    # a retry with the same key is the first answer again, not a refusal
    retry = client.post("/v1/payments", json=body, headers={**BILLER, "Idempotency-Key": "k1"})
    assert (retry.status_code, retry.json()["id"]) == (201, first.json()["id"])
    assert retry.headers["Idempotent-Replayed"] == "true"
    again = client.post("/v1/payments", json=body, headers=BILLER)
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    problem = again.json()
    assert problem["type"] == "urn:medbill:problem:duplicate-payment"
    assert problem["detail"] == (
        f"payment of 50.00 by check 1042 on {TODAY.isoformat()} is already posted (payment "
        f"#{first.json()['id']}); send allow_duplicate: true if the patient really paid twice")
    assert counts(medbill_app)[0] == 1
    meant = client.post("/v1/payments", json={**body, "allow_duplicate": True}, headers=BILLER)
    assert meant.status_code == 201, meant.text
    cash = {"patient_id": patient, "amount": "5.00", "method": "cash"}
    assert client.post("/v1/payments", json=cash, headers=BILLER).json()["warnings"] == []
    warned = client.post("/v1/payments", json=cash, headers=BILLER)
    assert warned.status_code == 201
    assert len(warned.json()["warnings"]) == 1


def test_the_api_refuses_an_agency_payment_twice(medbill_app: Medbill,
                                                 client: TestClient) -> None:
    patient = self_pay(medbill_app, 9)
    with medbill_app.unit_of_work() as work:
        add_agency(work, "ACME", "Acme Recovery", "20")
        placement = place_account(work, patient, "ACME").id
    body = {"collected": "60.00", "reference": "R-88", "received_on": TODAY.isoformat()}
    path = f"/v1/collection-placements/{placement}/payments"
    assert client.post(path, json=body, headers=BILLER).status_code == 201
    again = client.post(path, json=body, headers=BILLER)
    assert again.status_code == 409, again.text
    assert again.json()["type"] == "urn:medbill:problem:duplicate-payment"
    assert "send allow_duplicate: true" in again.json()["detail"]
    meant = client.post(path, json={**body, "allow_duplicate": True}, headers=BILLER)
    assert meant.status_code == 201, meant.text
