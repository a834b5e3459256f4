"""Payments and plans on the command line: strict amounts and dates, refunds, reversals,
applying credits, listing, cancelling and re-scheduling plans.

CLI tests run on a SQLite file through typer's CliRunner; service tests on both databases.
"""

from __future__ import annotations

import itertools
import json
from contextlib import suppress
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cli_support import cli, config_text, ok, one_line_error
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from medbill_core.app import Medbill
from medbill_core.config import load_config
from medbill_core.domain import Payment, PaymentMethodKind
from medbill_core.errors import LedgerError, NotFound, ValidationFailed
from medbill_core.ledger import EntryKind
from medbill_core.services.payments import (
    Overpayment,
    PlanStatus,
    apply_credit,
    cancel_plan,
    edit_plan,
    list_plans,
    missed_installments,
    new_plan,
    payment_applications,
    record_payment,
    refund_credit,
    reverse_payment,
    schedule,
)
from medbill_core.storage.schema import (
    AuditEventRow,
    LedgerEntryRow,
    PaymentPlanRow,
    PaymentRefundRow,
    PaymentRow,
)
from medbill_core.testing import factories

D = Decimal
TODAY = date.today()


def self_pay_claims(app: Medbill, number: int, charges: list[str],
                    days_ago: list[int]) -> tuple[str, list[int]]:
    """(account number, claim ids) of a new self-pay patient with one claim per charge."""
    with app.unit_of_work() as work:
        patient = work.patients.register(factories.make_patient(number))
        ids = []
        for i, (charge, age) in enumerate(zip(charges, days_ago, strict=True)):
            day = TODAY - timedelta(days=age)
            claim = factories.make_claim(patient.id, coverage_id=None,
                                         number=f"PA{number}-{i}", service_date=day)
            claim = claim.model_copy(update={"lines": [factories.make_line(
                1, service_date=day, charge=D(charge))]})
            ids.append(work.claims.create(claim).id)
        return patient.account_number, ids


@pytest.fixture
def config(cli_isolation: None, tmp_path: Path) -> Path:
    path = tmp_path / "medbill.toml"
    path.write_text(config_text(f"sqlite:///{tmp_path / 'medbill.db'}"), encoding="utf-8")
    ok(path, "db", "upgrade")
    return path


@pytest.fixture
def patient(config: Path) -> tuple[str, list[int]]:
    """A self-pay patient owing 100.00 (40 days ago) and 50.00 (5 days ago)."""
    app = Medbill.open(load_config(config), load_installed=False)
    try:
        return self_pay_claims(app, 1, ["100.00", "50.00"], [40, 5])
    finally:
        app.close()


def counts(config: Path) -> tuple[int, int, int]:
    """(payments, plans, ledger entries): nothing may be half-written by a refused command."""
    app = Medbill.open(load_config(config), load_installed=False)
    try:
        with app.unit_of_work() as work:
            return tuple(work.session.scalar(select(func.count()).select_from(table))
                         for table in (PaymentRow, PaymentPlanRow, LedgerEntryRow))
    finally:
        app.close()


# -- strict amounts, choices and dates (no tracebacks) ------------------------------------------

def iso(days: int) -> str:
    return (TODAY + timedelta(days=days)).isoformat()


@pytest.mark.parametrize(("args", "message"), [
    (("--total", "0", "--installments", "3"), "error: --total must be more than 0.00"),
    (("--total", "-5", "--installments", "3"), "error: --total must not be negative"),
    (("--total", "12.345", "--installments", "3"),
     "error: --total: more than two decimal places (amounts are in cents; never rounded)"),
    (("--total", "0.02", "--installments", "3"),
     "error: payment plan: installments: 3 installments need a total of at least 0.03"),
    (("--total", "1", "--installments", "120"),
     "error: payment plan: installments: 120 installments need a total of at least 1.20"),
    (("--total", "90", "--installments", "3", "--start", "2027-02-30"),
     "error: --start must be a date as YYYY-MM-DD"),
    (("--total", "90", "--installments", "3", "--start", "01/01/2027"),
     "error: --start must be a date as YYYY-MM-DD"),
    (("--total", "90", "--installments", "3", "--start", iso(-2530)),
     "error: --start is 2530 days in the past; check it, or pass "
     "--confirm-date if it is right"),
    (("--total", "90", "--installments", "3", "--frequency", "daily"),
     "error: --frequency must be one of weekly, biweekly, monthly, got 'daily'"),
    (("--total", "90", "--installments", "3", "--start", iso(400)),
     "error: --start is 400 days in the future; check it, or pass "
     "--confirm-date if it is right"),
])
def test_bad_plan_options_are_one_line_errors(config: Path, patient: tuple[str, list[int]],
                                              args: tuple[str, ...], message: str) -> None:
    account, _ = patient
    if "--start" not in args:
        args = (*args, "--start", iso(10))
    before = counts(config)
    result = cli(config, "plans", "create", "--patient", account, *args)
    assert one_line_error(result, result.exit_code) == message
    assert result.exit_code in (1, 2)
    assert counts(config) == before


def test_plan_dates_far_out_need_confirmation(config: Path,
                                              patient: tuple[str, list[int]]) -> None:
    account, _ = patient
    ok(config, "plans", "create", "--patient", account, "--total", "90", "--installments",
       "3", "--start", iso(-60), "--confirm-date")
    assert counts(config)[1] == 1


@pytest.mark.parametrize(("args", "message"), [
    (("--amount", "10", "--overpayment", "banana"),
     "error: --overpayment must be one of credit, refund, got 'banana'"),
    (("--amount", "1e3"),
     "error: --amount: not an amount: write digits with at most two decimal places, e.g. 25.00"),
    (("--amount", "0"), "error: --amount must be more than 0.00"),
    (("--amount", "10", "--received", iso(182)),
     "error: --received is 182 days in the future; check it, or pass "
     "--confirm-date if it is right"),
    (("--amount", "10", "--received", iso(-400)),
     "error: --received is 400 days in the past; check it, or pass "
     "--confirm-date if it is right"),
    (("--amount", "10", "--received", "2026-02-30"),
     "error: --received must be a date as YYYY-MM-DD"),
    (("--amount", "10", "--method", "bitcoin"),
     "error: --method must be one of cash, check, card, ach, other, got 'bitcoin'"),
])
def test_bad_payment_options_are_one_line_errors(config: Path, patient: tuple[str, list[int]],
                                                 args: tuple[str, ...], message: str) -> None:
    account, _ = patient
    before = counts(config)
    assert one_line_error(cli(config, "payments", "record", "--patient", account, *args),
                          2) == message
    assert counts(config) == before


def test_a_confirmed_old_payment_is_recorded_on_its_date(config: Path,
                                                         patient: tuple[str, list[int]]) -> None:
    account, _ = patient
    ok(config, "payments", "record", "--patient", account, "--amount", "10", "--received",
       iso(-400), "--confirm-date", "--overpayment", "CREDIT")
    app = Medbill.open(load_config(config), load_installed=False)
    try:
        with app.unit_of_work() as work:
            assert work.session.scalar(select(PaymentRow.received_on)) == TODAY - timedelta(400)
    finally:
        app.close()


# -- refunds, returned payments and credits (services, both databases) --------------------------

def record(app: Medbill, patient_id: int, amount: str, overpayment: Any = None,
           claim_id: int | None = None) -> Any:
    with app.unit_of_work() as work:
        return record_payment(work, Payment(patient_id=patient_id, amount=D(amount),
                                            method=PaymentMethodKind.CHECK, reference="1042",
                                            received_on=TODAY, claim_id=claim_id),
                              overpayment=overpayment)


def new_patient(app: Medbill, number: int, charges: list[str],
                days_ago: list[int]) -> tuple[int, list[int]]:
    account, claims = self_pay_claims(app, number, charges, days_ago)
    with app.unit_of_work() as work:
        return work.patients.by_account(account).id, claims


def balances(app: Medbill, patient_id: int, claims: list[int]) -> tuple[Decimal, ...]:
    """(patient balance of each claim ..., the patient's balance on no claim)."""
    with app.unit_of_work() as work:
        on_claims = [work.ledger.claim_balance(c).patient for c in claims]
        total = work.ledger.patient_balance(patient_id).patient
    return (*on_claims, total - sum(on_claims, D("0.00")))


def test_refund_of_a_credit_never_more_than_the_credit(medbill_app: Medbill) -> None:
    app = medbill_app
    patient_id, claims = new_patient(app, 11, ["80.00"], [10])
    payment = record(app, patient_id, "100.00", Overpayment.CREDIT)
    assert balances(app, patient_id, claims) == (D("0.00"), D("-20.00"))
    with app.unit_of_work() as work, pytest.raises(ValidationFailed,
                                                   match="exceeds the credit 20.00"):
        refund_credit(work, payment.payment_id, D("20.01"), "patient asked")
    with app.unit_of_work() as work, pytest.raises(ValidationFailed, match="reason"):
        refund_credit(work, payment.payment_id, D("5.00"), " ")
    with app.unit_of_work() as work, pytest.raises(NotFound, match="payment 999 not found"):
        refund_credit(work, 999, D("5.00"), "x")
    with app.unit_of_work() as work:
        first = refund_credit(work, payment.payment_id, D("15.00"), "patient asked")
    assert (first.amount, first.credit_left) == (D("15.00"), D("5.00"))
    with app.unit_of_work() as work:
        second = refund_credit(work, payment.payment_id, D("5.00"), "rest")
        assert second.credit_left == D("0.00")
        row = work.session.get(PaymentRow, payment.payment_id)
        assert (row.unapplied, row.refunded) == (D("0.00"), D("20.00"))
        refunds = work.session.scalars(select(PaymentRefundRow).order_by(
            PaymentRefundRow.id)).all()
        assert [(r.amount, r.reason, r.actor) for r in refunds] == [
            (D("15.00"), "patient asked", "tester"), (D("5.00"), "rest", "tester")]
        assert work.ledger.totals(patient_id=patient_id).is_balanced()
        assert [e.details["amount"] for e in work.session.scalars(select(AuditEventRow).where(
            AuditEventRow.action == "payment.refund").order_by(AuditEventRow.id))] == [
            "15.00", "5.00"]
    assert balances(app, patient_id, claims) == (D("0.00"), D("0.00"))


def test_a_returned_payment_reopens_the_claims_it_paid(medbill_app: Medbill) -> None:
    app = medbill_app
    patient_id, (old, new) = new_patient(app, 12, ["100.00", "50.00"], [40, 5])
    payment = record(app, patient_id, "170.00", Overpayment.CREDIT)  # 20.00 credit
    assert balances(app, patient_id, [old, new]) == (D("0.00"), D("0.00"), D("-20.00"))
    with app.unit_of_work() as work:
        refund_credit(work, payment.payment_id, D("5.00"), "asked")  # 15.00 credit left
        result = reverse_payment(work, payment.payment_id, "NSF", fee=D("25.00"))
    assert result.reversed_now
    assert result.reopened == {old: D("100.00"), new: D("50.00")}
    assert (result.credit_taken_back, result.refunded_owed, result.returned_fee) == (
        D("15.00"), D("5.00"), D("25.00"))
    # the claims owe again; the patient owes back the 5.00 refunded and the 25.00 fee
    assert balances(app, patient_id, [old, new]) == (D("100.00"), D("50.00"), D("30.00"))
    with app.unit_of_work() as work:
        totals = work.ledger.totals(patient_id=patient_id)
        assert totals.is_balanced() and totals.payments == D("0.00")
        again = reverse_payment(work, payment.payment_id, "NSF", fee=D("25.00"))
        assert not again.reversed_now
        row = work.session.get(PaymentRow, payment.payment_id)
        assert (row.reversed_on, row.reversal_reason, row.reversed_by, row.unapplied) == (
            TODAY, "NSF", "tester", D("0.00"))
        assert work.session.scalar(select(func.count()).select_from(AuditEventRow).where(
            AuditEventRow.action == "payment.reverse")) == 1
        with pytest.raises(ValidationFailed, match="was reversed"):
            refund_credit(work, payment.payment_id, D("1.00"), "x")
    assert balances(app, patient_id, [old, new]) == (D("100.00"), D("50.00"), D("30.00"))


def test_apply_credit_oldest_first_and_reversal_takes_it_back(medbill_app: Medbill) -> None:
    app = medbill_app
    patient_id, (first,) = new_patient(app, 13, ["30.00"], [60])
    payment = record(app, patient_id, "100.00", Overpayment.CREDIT)  # 70.00 credit
    with app.unit_of_work() as work:  # two later services
        for i, (charge, age) in enumerate((("50.00", 20), ("40.00", 10)), start=1):
            day = TODAY - timedelta(days=age)
            claim = factories.make_claim(patient_id, coverage_id=None, number=f"PC13-{i}",
                                         service_date=day)
            work.claims.create(claim.model_copy(update={"lines": [factories.make_line(
                1, service_date=day, charge=D(charge))]}))
        ids = sorted(work.claims.ids(patient_id=patient_id))
    _, older, newer = ids
    with app.unit_of_work() as work, pytest.raises(LedgerError, match="not a claim of"):
        apply_credit(work, patient_id, claim_id=999_999)
    with app.unit_of_work() as work:
        result = apply_credit(work, patient_id)
    assert (result.applied, result.used, result.credit_left) == (
        {older: D("50.00"), newer: D("20.00")}, {payment.payment_id: D("70.00")}, D("0.00"))
    assert balances(app, patient_id, [first, older, newer]) == (
        D("0.00"), D("0.00"), D("20.00"), D("0.00"))
    with app.unit_of_work() as work, pytest.raises(LedgerError, match="no payment credit"):
        apply_credit(work, patient_id)
    with app.unit_of_work() as work:
        reversed_ = reverse_payment(work, payment.payment_id, "returned check")
        assert reversed_.reopened == {first: D("30.00"), older: D("50.00"),
                                      newer: D("20.00")}
        assert work.ledger.totals(patient_id=patient_id).is_balanced()
    assert balances(app, patient_id, [first, older, newer]) == (
        D("30.00"), D("50.00"), D("40.00"), D("0.00"))


def test_a_returned_payment_is_owed_again_on_the_plan(medbill_app: Medbill) -> None:
    app = medbill_app
    patient_id, _ = new_patient(app, 14, ["90.00"], [10])
    with app.unit_of_work() as work:
        plan = new_plan(work, patient_id, D("90.00"), 3, TODAY)
    payment = record(app, patient_id, "90.00")
    with app.unit_of_work() as work:
        assert work.session.get(PaymentPlanRow, plan.id).status == "completed"
        reverse_payment(work, payment.payment_id, "NSF")
        row = work.session.get(PaymentPlanRow, plan.id)
        assert row.status == "active"
        assert [i.paid_amount for i in row.installments] == [D("0.00")] * 3


refund_op = st.tuples(st.just("refund"), st.integers(0, 5),
                      st.decimals(min_value=D("0.01"), max_value=D("60.00"), places=2))
reverse_op = st.tuples(st.just("reverse"), st.integers(0, 5),
                       st.one_of(st.none(), st.decimals(min_value=D("0.01"),
                                                        max_value=D("40.00"), places=2)))
pay_op = st.tuples(st.just("pay"), st.decimals(min_value=D("0.01"), max_value=D("150.00"),
                                               places=2),
                   st.sampled_from([None, Overpayment.CREDIT, Overpayment.REFUND]))
credit_op = st.tuples(st.just("apply"), st.booleans())
_patients = itertools.count(100)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(charges=st.lists(st.decimals(min_value=D("0.01"), max_value=D("120.00"), places=2),
                        min_size=1, max_size=3),
       operations=st.lists(st.one_of(pay_op, refund_op, reverse_op, credit_op), min_size=1,
                           max_size=12))
def test_ledger_invariants_hold_with_refunds_reversals_and_credits(
        medbill_app: Medbill, charges: list[Decimal], operations: list[Any]) -> None:
    """Payments, refunds of credits, returned payments (with fees) and credits applied, in
    any order, through the services: the patient's ledger balances (charges = payments +
    adjustments + balance), no claim is ever owed less than zero, the account's credit is
    exactly the payments' recorded credits (plus what reversed payments leave owed), and the
    patient's payments are exactly the payments not reversed."""
    app = medbill_app
    patient_id, claims = new_patient(app, next(_patients), [str(c) for c in charges],
                                     list(range(len(charges), 0, -1)))
    fees = D("0.00")
    for op in operations:
        with app.unit_of_work() as work:
            ids = list(work.session.scalars(select(PaymentRow.id).where(
                PaymentRow.patient_id == patient_id).order_by(PaymentRow.id)))
        if op[0] == "pay":
            with suppress(LedgerError):
                record(app, patient_id, str(op[1]), op[2])
        elif op[0] == "refund" and ids:
            with suppress(ValidationFailed), app.unit_of_work() as work:
                refund_credit(work, ids[op[1] % len(ids)], op[2], "asked")
        elif op[0] == "reverse" and ids:
            with app.unit_of_work() as work:
                result = reverse_payment(work, ids[op[1] % len(ids)], "NSF", fee=op[2])
                if result.reversed_now and op[2] is not None:
                    fees += op[2]
        elif op[0] == "apply":
            with suppress(LedgerError), app.unit_of_work() as work:
                apply_credit(work, patient_id, claim_id=claims[-1] if op[1] else None)
    with app.unit_of_work() as work:
        totals = work.ledger.totals(patient_id=patient_id)
        rows = work.session.scalars(select(PaymentRow).where(
            PaymentRow.patient_id == patient_id)).all()
        on_claims = [work.ledger.claim_balance(c).patient for c in claims]
        # what each payment paid on the account itself (a fee of a returned payment)
        settled = {row.id: row.amount - sum(payment_applications(work, row.id).values(), D("0.00"))
                   - row.unapplied - row.refunded for row in rows if row.reversed_on is None}
    assert totals.is_balanced()
    assert all(balance >= D("0.00") for balance in on_claims)
    assert all(row.unapplied >= D("0.00") for row in rows)
    assert all(amount >= D("0.00") for amount in settled.values())
    live = [row for row in rows if row.reversed_on is None]
    returned = [row for row in rows if row.reversed_on is not None]
    assert totals.payments == sum((row.amount for row in live), D("0.00"))
    on_account = totals.balance.patient - sum(on_claims, D("0.00"))
    assert on_account == (fees + sum((row.refunded for row in returned), D("0.00"))
                          - sum((row.unapplied + settled[row.id] for row in live), D("0.00")))


family_pay_op = st.tuples(st.just("family"), st.decimals(min_value=D("0.01"),
                                                         max_value=D("300.00"), places=2),
                         st.sampled_from([None, Overpayment.CREDIT, Overpayment.REFUND]),
                         # a lender's merchant fee kept of it (capped at the payment)
                         st.one_of(st.none(), st.decimals(min_value=D("0.00"),
                                                          max_value=D("300.00"), places=2)))
member_pay_op = st.tuples(st.just("member"), st.integers(0, 2),
                          st.decimals(min_value=D("0.01"), max_value=D("150.00"), places=2))
member_credit_op = st.tuples(st.just("apply"), st.integers(0, 2))


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(charges=st.lists(st.lists(st.decimals(min_value=D("0.01"), max_value=D("120.00"),
                                             places=2), min_size=1, max_size=2),
                        min_size=2, max_size=3),
       operations=st.lists(st.one_of(family_pay_op, member_pay_op, refund_op, reverse_op,
                                     member_credit_op), min_size=1, max_size=12))
def test_ledger_invariants_hold_with_guarantor_payments(
        medbill_app: Medbill, charges: list[list[Decimal]], operations: list[Any]) -> None:
    """Family payments (``payments record --guarantor``) mixed with the patients' own
    payments, refunds, returned payments (with fees) and credits applied, some family
    payments arriving less a lender's merchant fee: every patient's ledger balances, no claim
    is owed less than zero, the family's payments and financing fees are exactly the payments
    not reversed (the fees exactly theirs), and the family's money on no claim is exactly the
    recorded credits and what returned payments leave owed."""
    from medbill_core.domain import GuarantorRelationship
    from medbill_core.services.guarantors import GuarantorService
    from medbill_core.services.payments import record_guarantor_payment

    app = medbill_app
    members: list[int] = []
    claims: list[int] = []
    for patient_charges in charges:
        patient_id, ids = new_patient(app, next(_patients), [str(c) for c in patient_charges],
                                      [int(c) % 50 + 1 for c in patient_charges])
        members.append(patient_id)
        claims += ids
    with app.unit_of_work() as work:
        service = GuarantorService(work.session, actor="t")
        guarantor = service.guarantor_for_patient(members[0])
        for member in members[1:]:
            service.assign(member, guarantor.id, GuarantorRelationship.PARENT)
    fees = D("0.00")
    for op in operations:
        with app.unit_of_work() as work:
            ids = list(work.session.scalars(select(PaymentRow.id).where(
                PaymentRow.patient_id.in_(members)).order_by(PaymentRow.id)))
        if op[0] == "family":
            with suppress(LedgerError), app.unit_of_work() as work:
                record_guarantor_payment(work, guarantor.id, Payment(
                    patient_id=members[0], amount=op[1], method=PaymentMethodKind.CHECK,
                    received_on=TODAY), overpayment=op[2],
                    fee=None if op[3] is None else min(op[3], op[1]))
        elif op[0] == "member":
            with suppress(LedgerError):
                record(app, members[op[1] % len(members)], str(op[2]), Overpayment.CREDIT)
        elif op[0] == "refund" and ids:
            with suppress(ValidationFailed), app.unit_of_work() as work:
                refund_credit(work, ids[op[1] % len(ids)], op[2], "asked")
        elif op[0] == "reverse" and ids:
            with app.unit_of_work() as work:
                result = reverse_payment(work, ids[op[1] % len(ids)], "NSF", fee=op[2])
                if result.reversed_now and op[2] is not None:
                    fees += op[2]
        elif op[0] == "apply":
            with suppress(LedgerError), app.unit_of_work() as work:
                apply_credit(work, members[op[1] % len(members)])
    with app.unit_of_work() as work:
        totals = [work.ledger.totals(patient_id=m) for m in members]
        rows = work.session.scalars(select(PaymentRow).where(
            PaymentRow.patient_id.in_(members))).all()
        on_claims = [work.ledger.claim_balance(c).patient for c in claims]
        settled = {row.id: row.amount - sum(payment_applications(work, row.id).values(),
                                            D("0.00"))
                   - row.unapplied - row.refunded for row in rows if row.reversed_on is None}
        owed = sum((work.ledger.patient_balance(m).patient for m in members), D("0.00"))
    assert all(t.is_balanced() for t in totals)
    assert all(balance >= D("0.00") for balance in on_claims)
    assert all(row.unapplied >= D("0.00") for row in rows)
    assert all(amount >= D("0.00") for amount in settled.values())
    live = [row for row in rows if row.reversed_on is None]
    returned = [row for row in rows if row.reversed_on is not None]
    financing_fees = sum((t[EntryKind.FINANCING_FEE] for t in totals), D("0.00"))
    assert sum((t.payments for t in totals), D("0.00")) + financing_fees == sum(
        (row.amount for row in live), D("0.00"))
    assert financing_fees == sum((row.fee or D("0.00") for row in live), D("0.00"))
    on_account = owed - sum(on_claims, D("0.00"))
    assert on_account == (fees + sum((row.refunded for row in returned), D("0.00"))
                          - sum((row.unapplied + settled[row.id] for row in live), D("0.00")))


# -- payments on the command line ---------------------------------------------------------------

def test_cli_payments_list_refund_reverse_and_apply_credit(
        config: Path, patient: tuple[str, list[int]]) -> None:
    account, (old, _new) = patient
    ok(config, "payments", "record", "--patient", account, "--amount", "100", "--received",
       iso(-3), "--method", "check", "--reference", "1042")
    ok(config, "payments", "record", "--patient", account, "--amount", "80",
       "--overpayment", "credit")  # 50.00 to the newer claim, 30.00 credit
    listed = json.loads(ok(config, "payments", "list", "--json").stdout)
    assert [(p["account_number"], p["amount"], p["applied"], p["credit"], p["status"],
             p["received_on"]) for p in listed] == [
        (account, "100.00", "100.00", "0.00", "posted", iso(-3)),
        (account, "80.00", "50.00", "30.00", "posted", TODAY.isoformat())]
    first, second = (p["id"] for p in listed)
    recent = json.loads(ok(config, "payments", "list", "--patient", account, "--from",
                           iso(-1), "--json").stdout)
    assert [p["id"] for p in recent] == [second]
    assert json.loads(ok(config, "payments", "list", "--to", iso(-4), "--json").stdout) == []
    # an empty account is no account (it listed every patient's payments)
    for listing in ("payments", "plans"):
        assert one_line_error(cli(config, listing, "list", "--patient", "")) == \
            "error: no patient with that account number"
    # a refund never more than the credit
    assert one_line_error(cli(config, "payments", "refund", str(second), "--amount", "30.01",
                              "--reason", "asked")) == \
        f"error: payment {second}: amount: exceeds the credit 30.00 left on this payment"
    assert one_line_error(cli(config, "payments", "refund", str(second), "--amount", "-1",
                              "--reason", "asked"), 2) == "error: --amount must not be negative"
    assert one_line_error(cli(config, "payments", "refund", "999", "--amount", "1",
                              "--reason", "asked")) == "error: payment 999 not found"
    assert "credit left 25.00" in ok(config, "payments", "refund", str(second), "--amount",
                                     "5", "--reason", "asked").stdout
    refund = json.loads(ok(config, "payments", "refund", str(second), "--amount", "5",
                           "--reason", "asked", "--json").stdout)
    assert (refund["payment_id"], refund["amount"], refund["credit_left"]) == (
        second, "5.00", "20.00")
    # returned check: the older claim owes its 100.00 again, a 25.00 fee
    assert one_line_error(cli(config, "payments", "reverse", str(first), "--reason", "NSF",
                              "--fee", "abc"), 2).startswith("error: --fee: not an amount")
    out = " ".join(ok(config, "payments", "reverse", str(first), "--reason", "NSF", "--fee",
                      "25").stdout.split())
    assert f"payment {first} reversed; reopened claim {old}: 100.00" in out
    assert "already reversed; nothing changed" in ok(
        config, "payments", "reverse", str(first), "--reason", "NSF").stdout
    assert json.loads(ok(config, "payments", "reverse", str(first), "--reason", "NSF",
                         "--json").stdout) == {
        "payment_id": first, "reversed_now": False, "reopened": {},
        "credit_taken_back": "0.00", "refunded_owed": "0.00", "returned_fee": "25.00"}
    # the 20.00 credit goes onto the reopened claim
    applied = json.loads(ok(config, "payments", "apply-credit", "--patient", account,
                            "--json").stdout)
    assert applied == {"applied": {str(old): "20.00"}, "payments": {str(second): "20.00"},
                       "credit_left": "0.00"}
    assert one_line_error(cli(config, "payments", "apply-credit", "--patient", account)) == \
        f"error: apply credit: account {account} has no payment credit"
    listed = json.loads(ok(config, "payments", "list", "--json").stdout)
    assert [(p["applied"], p["credit"], p["refunded"], p["status"], p["returned_fee"])
            for p in listed] == [("0.00", "0.00", "0.00", "reversed", "25.00"),
                                 ("70.00", "0.00", "10.00", "posted", None)]
    table = ok(config, "payments", "list").stdout
    assert "2 payments" in table
    assert one_line_error(cli(config, "payments", "list", "--from", "2026-02-30"), 2) == \
        "error: --from must be a date as YYYY-MM-DD"
    assert one_line_error(cli(config, "payments", "list", "--from", iso(1), "--to",
                              iso(0))) == "error: payments list: from: is after --to"


# -- plans: list, cancel, edit ------------------------------------------------------------------

def plan_rows(app: Medbill, plan_id: int) -> list[tuple[int, date, Decimal, Decimal]]:
    with app.unit_of_work() as work:
        row = work.session.get(PaymentPlanRow, plan_id)
        return [(i.sequence, i.due_date, i.amount, i.paid_amount)
                for i in sorted(row.installments, key=lambda i: i.sequence)]


def test_edit_reschedules_what_is_left_exactly(medbill_app: Medbill) -> None:
    app = medbill_app
    patient_id, _ = new_patient(app, 21, ["300.00"], [30])
    start = TODAY - timedelta(days=10)
    with app.unit_of_work() as work:
        plan = new_plan(work, patient_id, D("300.00"), 3, start)
    record(app, patient_id, "130.00")  # installment 1 paid, 30.00 on installment 2
    with app.unit_of_work() as work:
        edited = edit_plan(work, plan.id, installments=7, start=TODAY + timedelta(days=5))
    assert sum(i.amount for i in edited.installments) == D("300.00")
    rows = plan_rows(app, plan.id)
    assert [r[2:] for r in rows[:2]] == [(D("100.00"), D("100.00")), (D("30.00"), D("30.00"))]
    assert rows[1][1] <= TODAY + timedelta(days=5)  # the part-paid one, due by the new start
    new = rows[2:]
    assert [r[0] for r in new] == list(range(3, 10))
    assert [r[2] for r in new] == [D("24.28")] * 6 + [D("24.32")]  # 170.00 in cents
    assert new[0][1] == TODAY + timedelta(days=5)
    # by amount: installments of 50.00, the last takes the rest; default start kept
    with app.unit_of_work() as work:
        edit_plan(work, plan.id, amount=D("50.00"))
    new = plan_rows(app, plan.id)[2:]
    assert [r[2] for r in new] == [D("50.00"), D("50.00"), D("50.00"), D("20.00")]
    assert new[0][1] == TODAY + timedelta(days=5)
    with app.unit_of_work() as work:
        with pytest.raises(ValidationFailed, match="not both"):
            edit_plan(work, plan.id, installments=2, amount=D("10.00"))
        with pytest.raises(ValidationFailed, match="before an installment already paid"):
            edit_plan(work, plan.id, start=start - timedelta(days=1))
        with pytest.raises(ValidationFailed, match="would need 17000 installments"):
            edit_plan(work, plan.id, amount=D("0.01"))
        with pytest.raises(ValidationFailed, match="installments: at most 120"):
            edit_plan(work, plan.id, installments=121)
        assert [e.details["rescheduled"] for e in work.session.scalars(
            select(AuditEventRow).where(AuditEventRow.action == "plan.edit")
            .order_by(AuditEventRow.id))] == ["170.00", "170.00"]


def test_cancel_and_list_plans(medbill_app: Medbill) -> None:
    app = medbill_app
    patient_id, _ = new_patient(app, 22, ["90.00"], [30])
    with app.unit_of_work() as work:
        plan = new_plan(work, patient_id, D("90.00"), 3, TODAY - timedelta(days=20))
        [listed] = list_plans(work, patient_id=patient_id)
        assert (listed.status, listed.total, listed.paid, listed.remaining,
                listed.next_due_date, listed.next_due_amount) == (
            PlanStatus.ACTIVE, D("90.00"), D("0.00"), D("90.00"),
            TODAY - timedelta(days=20), D("30.00"))
        assert [m.plan_id for m in missed_installments(work)] == [plan.id]
    with app.unit_of_work() as work:
        with pytest.raises(ValidationFailed, match="reason"):
            cancel_plan(work, plan.id, "")
        cancel_plan(work, plan.id, "patient set up autopay elsewhere")
    with app.unit_of_work() as work:
        assert missed_installments(work) == []
        [listed] = list_plans(work, patient_id=patient_id)
        assert (listed.status, listed.cancelled_on) == (PlanStatus.CANCELLED, TODAY)
        assert list_plans(work, patient_id=patient_id, status=PlanStatus.ACTIVE) == []
        with pytest.raises(ValidationFailed, match="status: is cancelled"):
            cancel_plan(work, plan.id, "again")
        with pytest.raises(ValidationFailed, match="status: is cancelled"):
            edit_plan(work, plan.id, installments=2)
        with pytest.raises(NotFound, match="payment plan 999 not found"):
            cancel_plan(work, 999, "x")
        # the balance stays, and a new plan may be made
        assert work.ledger.patient_balance(patient_id).patient == D("90.00")
        new_plan(work, patient_id, D("90.00"), 2, TODAY)


def test_cli_a_held_credit_is_not_refunded_or_applied_from_its_payment(
        config: Path, patient: tuple[str, list[int]]) -> None:
    """``payments refund`` and ``payments apply-credit`` refuse a held credit, as
    ``credits refund`` does: one line, exit 1, nothing moved."""
    account, _ = patient
    ok(config, "payments", "record", "--patient", account, "--amount", "100")  # the old claim
    ok(config, "payments", "record", "--patient", account, "--amount", "100",
       "--overpayment", "credit")  # 50.00 on the newer claim, 50.00 credit
    first, second = (p["id"] for p in json.loads(ok(config, "payments", "list",
                                                     "--json").stdout))
    ok(config, "credits", "hold", "--patient", account, "--reason", "appeal pending")
    for args in (("payments", "refund", str(second), "--amount", "10", "--reason", "x"),
                 ("credits", "refund", "--patient", account, "--amount", "10",
                  "--check-number", "7001", "--reason", "x")):
        line = one_line_error(cli(config, *args))
        assert line.startswith("error: patient ") and line.endswith(
            ": credit: is on hold; release the hold first"), line
    # the old claim owes again (the credit would pay it), yet the held credit stays put
    ok(config, "payments", "reverse", str(first), "--reason", "NSF")
    line = one_line_error(cli(config, "payments", "apply-credit", "--patient", account))
    assert line.startswith("error: patient ") and line.endswith(
        ": credit: is on hold; release the hold first"), line
    listed = json.loads(ok(config, "payments", "list", "--json").stdout)
    assert [(p["applied"], p["credit"], p["refunded"], p["status"]) for p in listed] == [
        ("0.00", "0.00", "0.00", "reversed"), ("50.00", "50.00", "0.00", "posted")]


def test_cli_plans_list_edit_cancel(config: Path, patient: tuple[str, list[int]]) -> None:
    account, _ = patient
    ok(config, "plans", "create", "--patient", account, "--total", "150", "--installments",
       "3", "--start", iso(5))
    [plan] = json.loads(ok(config, "plans", "list", "--json").stdout)
    assert (plan["account_number"], plan["status"], plan["total"], plan["remaining"],
            plan["installments"], plan["next_due_date"], plan["next_due_amount"]) == (
        account, "active", "150.00", "150.00", 3, iso(5), "50.00")
    edited = json.loads(ok(config, "plans", "edit", str(plan["id"]), "--installments", "4",
                           "--start", iso(10), "--json").stdout)
    assert [(i["due_date"], i["amount"]) for i in edited["installments"]] == [
        (i.due_date.isoformat(), str(i.amount))
        for i in schedule(D("150.00"), 4, TODAY + timedelta(days=10))]
    assert [i["amount"] for i in edited["installments"]] == ["37.50"] * 4
    assert sum(D(i["amount"]) for i in edited["installments"]) == D("150.00")
    assert one_line_error(cli(config, "plans", "edit", str(plan["id"]), "--amount",
                              "0.001"), 2).startswith("error: --amount: more than two")
    assert one_line_error(cli(config, "plans", "edit", str(plan["id"]), "--start",
                              iso(-2530)), 2).startswith("error: --start is 2530")
    assert one_line_error(cli(config, "plans", "edit", "999", "--installments", "2")) == \
        "error: payment plan 999 not found"
    assert one_line_error(cli(config, "plans", "list", "--status", "open"), 2) == \
        "error: --status must be one of active, completed, cancelled, got 'open'"
    assert f"plan {plan['id']} cancelled" in ok(config, "plans", "cancel", str(plan["id"]),
                                                "--reason", "hardship program").stdout
    assert one_line_error(cli(config, "plans", "cancel", str(plan["id"]), "--reason",
                              "again")) == f"error: payment plan {plan['id']}: status: is " \
        "cancelled"
    assert json.loads(ok(config, "plans", "list", "--status", "active", "--json").stdout) == []
    [cancelled] = json.loads(ok(config, "plans", "list", "--patient", account,
                                "--json").stdout)
    assert (cancelled["status"], cancelled["cancelled_on"]) == ("cancelled",
                                                                TODAY.isoformat())
    assert "1 payment plans" in ok(config, "plans", "list").stdout


def test_a_returned_payments_fee_is_paid_by_the_next_payment(medbill_app: Medbill) -> None:
    app = medbill_app
    patient_id, (claim,) = new_patient(app, 15, ["60.00"], [10])
    payment = record(app, patient_id, "60.00")
    with app.unit_of_work() as work:
        reverse_payment(work, payment.payment_id, "NSF", fee=D("25.00"))
    assert balances(app, patient_id, [claim]) == (D("60.00"), D("25.00"))
    with pytest.raises(LedgerError, match="payment of 90.00 exceeds the 85.00 owed"):
        record(app, patient_id, "90.00")
    again = record(app, patient_id, "85.00")  # the claim, then the fee: no credit
    assert (again.applied, again.credit, again.refunded) == ({claim: D("60.00")}, D("0.00"),
                                                             D("0.00"))
    assert balances(app, patient_id, [claim]) == (D("0.00"), D("0.00"))
    more = record(app, patient_id, "10.00", Overpayment.REFUND)
    assert (more.credit, more.refunded) == (D("0.00"), D("10.00"))


def test_cli_record_create_and_missed_print_json(config: Path,
                                                 patient: tuple[str, list[int]]) -> None:
    account, (old, new) = patient
    paid = json.loads(ok(config, "payments", "record", "--patient", account, "--amount",
                         "110", "--json").stdout)
    assert (paid["applied"], paid["credit"], paid["refunded"]) == (
        {str(old): "100.00", str(new): "10.00"}, "0.00", "0.00")
    plan = json.loads(ok(config, "plans", "create", "--patient", account, "--total", "40",
                         "--installments", "2", "--start", iso(-20), "--json").stdout)
    assert [i["amount"] for i in plan["installments"]] == ["20.00", "20.00"]
    missed = json.loads(ok(config, "plans", "missed", "--json").stdout)
    assert missed == [{"plan_id": plan["id"], "account_number": account, "installment": 1,
                       "due_date": iso(-20), "amount_due": "20.00", "days_late": 20}]
    assert "1 missed installments" in ok(config, "plans", "missed").stdout
