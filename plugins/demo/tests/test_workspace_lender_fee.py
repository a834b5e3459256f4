"""The workspace's patient account page shows a financed payment's lender fee (issue 18's
financing follow-up), and an account placed with a collection agency its agency balance. In
the integration suite: the lender's approval and the placement are posted through the
services directly (no lender plugin in the workspace's own tests), which a plugin's tests
may not import."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from medbill_core.domain import Payment, PaymentMethodKind
from medbill_core.domain.identity import Role
from medbill_core.services.collections import add_agency, place_account
from medbill_core.services.guarantors import GuarantorService
from medbill_core.services.payments import Overpayment, record_guarantor_payment

# the workspace plugin's own test seeding (records_seed.py)
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "workspace_web" / "tests"))

from medbill_workspace_web.testing import PRACTICE_A, client_sign_in
from records_seed import Records, page_text, records_workspace, self_pay_patient

D = Decimal


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Records]:
    with records_workspace(tmp_path_factory.mktemp("records")) as made:
        yield made


@pytest.fixture
def client(records: Records) -> Iterator[TestClient]:
    with TestClient(records.app, base_url="http://127.0.0.1") as test_client:  # type: ignore[arg-type]
        yield test_client


def test_a_financed_payment_shows_the_lenders_fee(client: TestClient,
                                                  records: Records) -> None:
    """A lender paid the balance less its merchant fee: the payment is the whole amount, its
    fee beside it (the practice's cost, not the patient's debt)."""
    # the lender's approval posts through the payments service (no lender plugin here)
    client_sign_in(client, "fran")
    patient_id, _claim = self_pay_patient(records, 505)
    ada = records.seed.principal(records.seed.both, PRACTICE_A, Role.ADMINISTRATOR)
    with records.medbill.unit_of_work(principal=ada) as work:
        guarantor = GuarantorService(work.session, actor=work.actor).guarantor_for_patient(
            patient_id)
        assert guarantor.id is not None
        record_guarantor_payment(work, guarantor.id, Payment(
            patient_id=patient_id, amount=D("143.50"), method=PaymentMethodKind.OTHER,
            reference="Acme Lending A-1", received_on=date.today()),
            overpayment=Overpayment.CREDIT, fee=D("8.61"))
    page = client.get(f"/workspace/patients/{patient_id}").text
    assert 'id="patient-balance">$0.00<' in page
    assert "Lender fee" in page
    assert re.search(r"\$143\.50 \$8\.61 other Acme Lending A-1 \$143\.50 \$0\.00",
                     page_text(page))


def test_a_placed_account_shows_the_agency_balance_and_refuses_a_patient_payment(
        client: TestClient, records: Records) -> None:
    """Placed with an agency, the patient owes 0.00 here and the agency holds the balance:
    the page says so, and a payment taken here is refused (it would be a refundable
    credit), pointing to the direct payment on the placement. (Placed through the
    collections service, which a plugin's tests may not import: here.)"""
    patient_id, _claim = self_pay_patient(records, 531)
    ada = records.seed.principal(records.seed.both, PRACTICE_A, Role.ADMINISTRATOR)
    with records.medbill.unit_of_work(principal=ada) as work:
        add_agency(work, "PLC", "Placed Collections", "30")
        placement = place_account(work, patient_id, "PLC").id
    csrf = client_sign_in(client, "fran")
    account = f"/workspace/patients/{patient_id}"
    page = client.get(account).text
    assert 'id="patient-balance">$0.00<' in page
    assert 'id="agency-balance">$143.50<' in page
    answer = client.post(f"{account}/payments", data={
        "csrf_token": csrf, "amount": "20.00", "method": "check",
        "received_on": date.today().isoformat(), "reference": "9911", "keep_credit": "1"})
    assert answer.status_code == 422
    assert (f"placed with agency PLC (143.50 held, placement {placement}): post the "
            f"patient&#39;s payment on the placement") in answer.text
    with records.medbill.unit_of_work(principal=ada) as work:
        balance = work.ledger.patient_balance(patient_id)
        assert (balance.patient, balance.agency) == (D("0.00"), D("143.50"))
