"""A lender's merchant fee in the books: a financed payment pays the family's balance in full,
posts what the lender deposits as ``patient_payment`` and what it kept as ``financing_fee``;
the accounting export's patient deposit is the money that reaches the bank and the fee is
the practice's financing expense. A fee of 0.00 posts today's payment whole; a fee equal to
the approved amount is legal; a fee beyond it is refused; a returned payment takes the fee
back. On SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from notify_support import LENDER_PROVIDER, callback
from sqlalchemy import select
from test_accounting_export import iif_accounts, iif_totals, parse_iif
from test_financing import (  # noqa: F401 - the lender's fixtures
    TODAY,
    family,
    medbill_config,
    medbill_extra_plugins,
    owed,
    payments,
    referral,
    referred,
)

from medbill_core.app import Medbill
from medbill_core.domain import Payment, PaymentMethodKind
from medbill_core.domain.identity import Principal, PrincipalKind, Role
from medbill_core.errors import ValidationFailed
from medbill_core.financing_providers import FinancingStatus
from medbill_core.ledger import EntryKind
from medbill_core.services.accounting_export import export_batch
from medbill_core.services.accounting_formats import ExportFormat
from medbill_core.services.financing import (
    Applied,
    ReferralStatus,
    check_referral,
    handle_callback,
)
from medbill_core.services.payments import (
    get_payment,
    list_payments,
    payment_applications,
    record_guarantor_payment,
    reverse_payment,
)
from medbill_core.storage.schema import ClaimRow, LedgerEntryRow, PaymentRow, PostingRow

D = Decimal
MANAGER = Principal(kind=PrincipalKind.USER, id=7, name="meg", practice_id=1,
                    role=Role.BILLING_MANAGER)
FEES = "Patient Financing Fees"
DEPOSITS = "Undeposited Funds"
AR_PATIENTS = "Accounts Receivable - Patients"
CREDITS = "Patient Credits"


def approve(app: Medbill, application: str, approved: str, fee: str | None) -> None:
    decision = LENDER_PROVIDER.decide(application, FinancingStatus.APPROVED, approved, fee)
    assert handle_callback(app, "fakefin", *callback(decision)) is Applied.POSTED


def entries(app: Medbill, payment_id: int) -> list[tuple[str, int, int | None, Decimal]]:
    """(kind, patient, claim, patient delta) of the payment's own posting."""
    with app.unit_of_work(read_only=True) as work:
        rows = work.session.execute(
            select(LedgerEntryRow.kind, LedgerEntryRow.patient_id, LedgerEntryRow.claim_id,
                   LedgerEntryRow.patient_delta)
            .join(PostingRow, PostingRow.id == LedgerEntryRow.posting_id)
            .where(PostingRow.posting_key == f"payment:{payment_id}")
            .order_by(LedgerEntryRow.id)).all()
    return [(kind, patient, claim, delta) for kind, patient, claim, delta in rows]


def claims_of(app: Medbill, patients: list[int]) -> list[int]:
    with app.unit_of_work(read_only=True) as work:
        return [work.session.scalars(select(ClaimRow.id).where(
            ClaimRow.patient_id == patient)).one() for patient in patients]


def books(app: Medbill) -> tuple[dict[str, Decimal], dict[str, str], list[Any]]:
    """(amount per account, the IIF's account types, the batch's deposits) of everything not
    exported yet, as QuickBooks Desktop would import it; debits equal credits."""
    with app.unit_of_work(principal=MANAGER) as work:
        batch = export_batch(work, ExportFormat.IIF)
    assert batch is not None
    assert batch.totals.debits == batch.totals.credits
    text = batch.content.decode("utf-8")
    per_account = iif_totals(parse_iif(text))
    return per_account, iif_accounts(text), batch.totals.deposits


def test_the_fee_is_carved_out_of_the_payment_and_booked_as_an_expense(
        medbill_app: Medbill) -> None:
    guarantor_id, patients = family(medbill_app, "300.00", "200.00")
    parent_claim, child_claim = claims_of(medbill_app, patients)
    _, application = referred(medbill_app, guarantor_id, "450.00")
    assert owed(medbill_app, guarantor_id) == D("500.00")
    approve(medbill_app, application, "450.00", "27.00")
    # the family's balance drops by everything the lender approved
    assert owed(medbill_app, guarantor_id) == D("50.00")
    [payment] = payments(medbill_app)
    assert (payment.amount, payment.fee, payment.unapplied) == (D("450.00"), D("27.00"),
                                                                D("0.00"))
    parent, child = patients
    assert entries(medbill_app, payment.id) == [
        ("financing_fee", parent, parent_claim, D("-27.00")),
        ("patient_payment", parent, parent_claim, D("-273.00")),
        ("patient_payment", child, child_claim, D("-150.00"))]
    with medbill_app.unit_of_work(read_only=True) as work:
        summary = get_payment(work, payment.id)
        listed = list_payments(work, guarantor_id=guarantor_id)
        applied = payment_applications(work, payment.id)
        totals = work.ledger.totals()
    # the payment record: what the family paid, what the lender kept, what it deposited
    assert (summary.amount, summary.fee, summary.net, summary.applied, summary.credit) == (
        D("450.00"), D("27.00"), D("423.00"), D("450.00"), D("0.00"))
    assert {key: listed[0].as_json()[key] for key in ("amount", "fee", "net", "applied")} == {
        "amount": "450.00", "fee": "27.00", "net": "423.00", "applied": "450.00"}
    assert applied == {parent_claim: D("300.00"), child_claim: D("150.00")}
    assert (totals.payments, totals.adjustments, totals[EntryKind.FINANCING_FEE]) == (
        D("423.00"), D("27.00"), D("27.00"))
    assert totals.is_balanced()
    # the books: the day's patient deposit is what the lender deposited, the fee an expense
    per_account, types, deposits = books(medbill_app)
    assert types[FEES] == "EXP"
    assert [(kind, day, amount) for _, kind, _, day, amount in deposits] == [
        ("patient_deposit", TODAY, D("423.00"))]
    assert per_account[DEPOSITS] == D("423.00")
    assert per_account[FEES] == D("27.00")
    assert per_account[AR_PATIENTS] == D("500.00") - D("450.00")
    assert CREDITS not in per_account


@pytest.mark.parametrize("fee", [None, "0.00"])
def test_no_fee_or_a_fee_of_zero_posts_the_payment_whole(medbill_app: Medbill,
                                                         fee: str | None) -> None:
    guarantor_id, patients = family(medbill_app, "80.00")
    [claim] = claims_of(medbill_app, patients)
    referral_id, application = referred(medbill_app, guarantor_id)
    approve(medbill_app, application, "80.00", fee)
    [payment] = payments(medbill_app)
    assert (payment.amount, payment.fee) == (D("80.00"), None)
    assert entries(medbill_app, payment.id) == [
        ("patient_payment", patients[0], claim, D("-80.00"))]
    assert referral(medbill_app, referral_id).merchant_fee == (D(fee) if fee else None)
    per_account, _, deposits = books(medbill_app)
    assert [amount for *_, amount in deposits] == [D("80.00")]
    assert FEES not in per_account


def test_a_fee_equal_to_the_approved_amount_is_all_expense(medbill_app: Medbill) -> None:
    """The lender deposits nothing (a promotional plan whose fee takes it all): the family's
    balance is still paid, the practice's books hold the whole amount as expense."""
    guarantor_id, patients = family(medbill_app, "100.00")
    [claim] = claims_of(medbill_app, patients)
    _, application = referred(medbill_app, guarantor_id)
    approve(medbill_app, application, "100.00", "100.00")
    assert owed(medbill_app, guarantor_id) == D("0.00")
    [payment] = payments(medbill_app)
    assert entries(medbill_app, payment.id) == [
        ("financing_fee", patients[0], claim, D("-100.00"))]
    with medbill_app.unit_of_work(read_only=True) as work:
        summary = get_payment(work, payment.id)
    assert (summary.net, summary.applied) == (D("0.00"), D("100.00"))
    per_account, _, deposits = books(medbill_app)
    assert per_account[FEES] == D("100.00")
    assert DEPOSITS not in per_account  # nothing reached the bank
    assert [amount for *_, amount in deposits] == [D("0.00")]


def test_a_fee_beyond_the_approved_amount_posts_nothing(medbill_app: Medbill) -> None:
    guarantor_id, _ = family(medbill_app, "60.00")
    referral_id, application = referred(medbill_app, guarantor_id)
    decision = LENDER_PROVIDER.decide(application, FinancingStatus.APPROVED, "60.00", "60.01")
    with pytest.raises(ValidationFailed) as caught:
        handle_callback(medbill_app, "fakefin", *callback(decision))
    message = str(caught.value)
    assert "merchant_fee" in message and "60.01 is not between 0.00 and the 60.00" in message
    assert "\n" not in message
    assert referral(medbill_app, referral_id).status is ReferralStatus.REFERRED
    assert payments(medbill_app) == []
    assert owed(medbill_app, guarantor_id) == D("60.00")


def test_a_fee_beyond_what_is_still_owed_reaches_the_credit(medbill_app: Medbill) -> None:
    """The family paid 30.00 by check after the referral: the lender's 100.00 leaves a 30.00
    credit; its 80.00 fee takes the 70.00 still owed and 10.00 of the credit, so the deposit
    is 20.00 and the credit the family holds is still 30.00."""
    guarantor_id, patients = family(medbill_app, "100.00")
    [claim] = claims_of(medbill_app, patients)
    referral_id, application = referred(medbill_app, guarantor_id)
    with medbill_app.unit_of_work() as work:
        record_guarantor_payment(work, guarantor_id, Payment(
            patient_id=patients[0], amount=D("30.00"), method=PaymentMethodKind.CHECK,
            reference="1001", received_on=TODAY))
    LENDER_PROVIDER.decide(application, FinancingStatus.APPROVED, "100.00", "80.00")
    with medbill_app.unit_of_work() as work:
        assert check_referral(work, referral_id).status is ReferralStatus.POSTED
    assert owed(medbill_app, guarantor_id) == D("-30.00")
    _, payment = payments(medbill_app)
    assert (payment.fee, payment.unapplied) == (D("80.00"), D("30.00"))
    parent = patients[0]
    assert entries(medbill_app, payment.id) == [
        ("financing_fee", parent, claim, D("-70.00")),
        ("financing_fee", parent, None, D("-10.00")),
        ("patient_payment", parent, None, D("-20.00"))]
    per_account, _, deposits = books(medbill_app)
    assert [amount for *_, amount in deposits] == [D("30.00") + D("20.00")]
    assert (per_account[FEES], per_account[CREDITS]) == (D("80.00"), D("-30.00"))
    assert per_account.get(AR_PATIENTS, D("0.00")) == D("0.00")  # 100.00 charged, all paid


def test_a_returned_financed_payment_takes_the_fee_back(medbill_app: Medbill) -> None:
    """The lender claws the payment back (the loan was cancelled): the family owes what it
    owed before, and the fee is no longer an expense."""
    guarantor_id, patients = family(medbill_app, "300.00", "200.00")
    parent_claim, child_claim = claims_of(medbill_app, patients)
    _, application = referred(medbill_app, guarantor_id)
    approve(medbill_app, application, "500.00", "40.00")
    [payment] = payments(medbill_app)
    with medbill_app.unit_of_work(principal=MANAGER) as work:
        result = reverse_payment(work, payment.id, "loan cancelled by the lender")
    assert result.reopened == {parent_claim: D("300.00"), child_claim: D("200.00")}
    assert owed(medbill_app, guarantor_id) == D("500.00")
    with medbill_app.unit_of_work(read_only=True) as work:
        totals = work.ledger.totals()
        reversal = work.session.execute(
            select(LedgerEntryRow.kind, LedgerEntryRow.claim_id, LedgerEntryRow.amount)
            .join(PostingRow, PostingRow.id == LedgerEntryRow.posting_id)
            .where(PostingRow.posting_key == f"reversal:payment:{payment.id}")
            .order_by(LedgerEntryRow.id)).all()
        stored = work.session.get(PaymentRow, payment.id)
    assert sorted(reversal) == sorted([
        ("patient_payment", parent_claim, D("-260.00")),
        ("patient_payment", child_claim, D("-200.00")),
        ("financing_fee", parent_claim, D("-40.00"))])
    assert (totals[EntryKind.PATIENT_PAYMENT], totals[EntryKind.FINANCING_FEE]) == (
        D("0.00"), D("0.00"))
    assert totals.is_balanced()
    assert stored is not None and stored.reversed_on == TODAY
    # payment and reversal the same day: the books hold neither deposit nor expense
    per_account, _, _ = books(medbill_app)
    assert per_account.get(FEES, D("0.00")) == D("0.00")
    assert per_account.get(DEPOSITS, D("0.00")) == D("0.00")


def test_the_statement_shows_the_financed_payment_whole(medbill_app: Medbill) -> None:
    """The family's statement says the lender paid 250.00 of the 300.00 claim: the 25.00 fee
    it kept is the practice's cost, never a line the family reads as unpaid."""
    from medbill_core.services.statements import build_statement

    guarantor_id, patients = family(medbill_app, "300.00")
    _, application = referred(medbill_app, guarantor_id, "250.00")
    approve(medbill_app, application, "250.00", "25.00")
    with medbill_app.unit_of_work() as work:
        statement = build_statement(work, patients[0], statement_date=TODAY, cycle="2026-12")
    assert [(line.charge, line.patient_paid, line.balance) for line in statement.lines] == [
        (D("300.00"), D("250.00"), D("50.00"))]
    assert statement.balance_due == D("50.00")


def test_http_the_payment_shows_the_fee_and_what_was_deposited(medbill_app: Medbill) -> None:
    from fastapi.testclient import TestClient
    from test_http_accounts import AUDITOR, authenticate

    from medbill_core.http import create_app

    guarantor_id, patients = family(medbill_app, "120.00")
    [claim] = claims_of(medbill_app, patients)
    _, application = referred(medbill_app, guarantor_id)
    approve(medbill_app, application, "120.00", "9.60")
    [payment] = payments(medbill_app)
    with TestClient(create_app(medbill_app, authenticate=authenticate)) as client:
        shown = client.get(f"/v1/payments/{payment.id}", headers=AUDITOR)
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert {key: body[key] for key in ("amount", "fee", "net", "applied", "credit")} == {
        "amount": "120.00", "fee": "9.60", "net": "110.40", "applied": "120.00",
        "credit": "0.00"}
    assert body["applications"] == [{"claim_id": claim, "amount": "120.00"}]
