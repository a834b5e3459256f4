"""Patient payments, payment plans, statements and the collections work list (both databases)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from inproc_plugins import make_line_plugin
from sqlalchemy import func, select

from medbill_core.domain import (
    ClaimState,
    Payment,
    PaymentMethodKind,
    PaymentPlan,
    PlanFrequency,
)
from medbill_core.errors import LedgerError, ValidationFailed
from medbill_core.services.payments import (
    Overpayment,
    create_plan,
    missed_installments,
    record_payment,
    schedule,
)
from medbill_core.services.statements import (
    build_statement,
    collections_worklist,
    dunning_stage,
    run_statements,
)
from medbill_core.storage.schema import LedgerEntryRow, PaymentRow, StatementRow
from medbill_core.testing import factories

D = Decimal
TODAY = date.today()


@pytest.fixture
def medbill_extra_plugins():
    return [("lineplug", make_line_plugin())]


def self_pay_patient(app, number: int, charges: list[str], days_ago: list[int]) -> tuple[int,
                                                                                         list[int]]:
    with app.unit_of_work() as work:
        patient = work.patients.register(factories.make_patient(number))
        ids = []
        for i, (charge, age) in enumerate(zip(charges, days_ago, strict=True)):
            day = TODAY - timedelta(days=age)
            claim = factories.make_claim(patient.id, coverage_id=None, number=f"SP{number}-{i}",
                                         service_date=day)
            claim = claim.model_copy(update={"lines": [factories.make_line(
                1, service_date=day, charge=D(charge))]})
            ids.append(work.claims.create(claim).id)
    return patient.id, ids


def pay(app, patient_id, amount, **kwargs):
    with app.unit_of_work() as work:
        return record_payment(work, Payment(patient_id=patient_id, amount=D(amount),
                                            method=PaymentMethodKind.CHECK, reference="1042",
                                            received_on=TODAY,
                                            claim_id=kwargs.pop("claim_id", None)), **kwargs)


def test_payments_apply_oldest_first(medbill_app) -> None:
    patient, (old, new) = self_pay_patient(medbill_app, 1, ["100.00", "50.00"], [40, 5])
    result = pay(medbill_app, patient, "120.00")
    assert result.applied == {old: D("100.00"), new: D("20.00")}
    with medbill_app.unit_of_work() as work:
        assert work.ledger.claim_balance(old).patient == D("0.00")
        assert work.ledger.claim_balance(new).patient == D("30.00")
        assert work.ledger.totals(patient_id=patient).is_balanced()


def test_payment_to_a_chosen_claim(medbill_app) -> None:
    patient, (_old, new) = self_pay_patient(medbill_app, 2, ["100.00", "50.00"], [40, 5])
    assert pay(medbill_app, patient, "50.00", claim_id=new).applied == {new: D("50.00")}


def test_overpayment_needs_a_decision_and_changes_nothing_without_one(medbill_app) -> None:
    patient, _ = self_pay_patient(medbill_app, 3, ["80.00"], [10])
    with pytest.raises(LedgerError, match="payment of 100.00 exceeds the 80.00 owed"):
        pay(medbill_app, patient, "100.00")
    with medbill_app.unit_of_work() as work:
        assert work.session.scalar(select(func.count()).select_from(PaymentRow)) == 0
        assert work.ledger.patient_balance(patient).patient == D("80.00")
    credit = pay(medbill_app, patient, "100.00", overpayment=Overpayment.CREDIT)
    assert credit.credit == D("20.00")
    with medbill_app.unit_of_work() as work:
        assert work.ledger.patient_balance(patient).patient == D("-20.00")
    patient2, _ = self_pay_patient(medbill_app, 4, ["80.00"], [10])
    refund = pay(medbill_app, patient2, "100.00", overpayment=Overpayment.REFUND)
    assert (refund.refunded, refund.credit) == (D("20.00"), D("0.00"))
    with medbill_app.unit_of_work() as work:
        assert work.ledger.patient_balance(patient2).patient == D("0.00")
        assert work.ledger.totals(patient_id=patient2).is_balanced()


def test_bad_payments_are_refused(medbill_app) -> None:
    patient, _ = self_pay_patient(medbill_app, 5, ["80.00"], [10])
    _other, (other_claim,) = self_pay_patient(medbill_app, 6, ["10.00"], [10])
    with pytest.raises(LedgerError, match=f"claim {other_claim} is not a claim of patient"):
        pay(medbill_app, patient, "5.00", claim_id=other_claim)
    with pytest.raises(ValueError):
        Payment(patient_id=patient, amount=D("-5"), method="cash", received_on=TODAY)


def test_schedule_adds_up_exactly() -> None:
    plan = schedule(D("100.00"), 3, date(2026, 1, 31))
    assert [i.amount for i in plan] == [D("33.33"), D("33.33"), D("33.34")]
    assert [i.due_date for i in plan] == [date(2026, 1, 31), date(2026, 2, 28),
                                          date(2026, 3, 31)]
    weekly = schedule(D("10.00"), 2, date(2026, 1, 1), PlanFrequency.WEEKLY)
    assert [i.due_date for i in weekly] == [date(2026, 1, 1), date(2026, 1, 8)]


@given(total=st.decimals(min_value=D("1.00"), max_value=D("99999.99"), places=2),
       count=st.integers(min_value=1, max_value=48))
def test_schedule_property(total: Decimal, count: int) -> None:
    installments = schedule(total, count, date(2026, 1, 1))
    assert sum(i.amount for i in installments) == total
    assert len(installments) == count


def test_plans_track_installments_and_missed_ones(medbill_app) -> None:
    patient, _ = self_pay_patient(medbill_app, 7, ["300.00"], [100])
    start = TODAY - timedelta(days=50)  # due 50 and ~20 days ago, then ~10 days ahead
    with medbill_app.unit_of_work() as work:
        with pytest.raises(ValidationFailed, match="exceeds the patient balance 300.00"):
            create_plan(work, PaymentPlan(patient_id=patient, total_amount=D("400"),
                                          start_date=start,
                                          installments=schedule(D("400"), 4, start)))
        plan = create_plan(work, PaymentPlan(patient_id=patient, total_amount=D("300"),
                                             start_date=start,
                                             installments=schedule(D("300"), 3, start)))
    pay(medbill_app, patient, "100.00")
    with medbill_app.unit_of_work() as work:
        missed = missed_installments(work)
    assert [(m.plan_id, m.sequence, m.amount_due) for m in missed] == [(plan.id, 2, D("100.00"))]
    with pytest.raises(ValueError, match="add up to 200.00, not the plan total 300.00"):
        PaymentPlan(patient_id=patient, total_amount=D("300"), start_date=start,
                    installments=schedule(D("200"), 2, start))


def test_statement_amounts_come_from_the_ledger(medbill_app) -> None:
    patient, (_old, _new) = self_pay_patient(medbill_app, 8, ["100.00", "50.00"], [95, 5])
    pay(medbill_app, patient, "30.00")
    with medbill_app.unit_of_work() as work:
        statement = build_statement(work, patient, statement_date=TODAY, cycle="2026-11")
    assert statement.balance_due == D("120.00")
    assert [(line.charge, line.patient_paid, line.balance) for line in statement.lines] == [
        (D("100.00"), D("30.00"), D("70.00")), (D("50.00"), D("0.00"), D("50.00"))]
    assert (statement.aging.days_90_plus, statement.aging.current) == (D("70.00"), D("50.00"))
    assert statement.dunning_stage == 3 and "90 days" in statement.message
    assert dunning_stage(200) == 4 and dunning_stage(10) == 0


def test_statement_run_skips_and_never_repeats(medbill_app, tmp_path) -> None:
    due, _ = self_pay_patient(medbill_app, 9, ["60.00"], [10])
    tiny, _ = self_pay_patient(medbill_app, 10, ["2.00"], [10])
    held, _ = self_pay_patient(medbill_app, 11, ["60.00"], [10])
    with medbill_app.unit_of_work() as work:
        work.patients.register(factories.make_patient(11, statement_hold=True))
        insured = work.patients.register(factories.make_patient(12))
        coverage = work.patients.add_coverage(insured.id, factories.make_coverage())
        claim = work.claims.create(factories.make_claim(insured.id, coverage_id=coverage.id,
                                                        number="PEND"))
        for target in (ClaimState.VALIDATED, ClaimState.SUBMITTED):
            work.claims.transition(claim.id, target)
        # a patient-responsibility amount while the claim is still pending at the payer
        from medbill_core.ledger import EntryKind, LedgerLine
        work.ledger.post("copay:PEND", "test", [LedgerLine(
            EntryKind.TRANSFER_TO_PATIENT, D("25.00"), patient_id=insured.id,
            claim_id=claim.id, payer_key="acme")], effective_date=TODAY)
    first = run_statements(medbill_app, cycle="2026-11", out_dir=tmp_path, renderer="text")
    assert first.produced == [f"2026-11-P{due:07d}"]
    assert first.skipped == {"on hold": [str(held)],
                             "claim pending at a payer": [str(insured.id)]}
    assert (tmp_path / f"statement-2026-11-P{due:07d}.txt").read_text() == \
        f"Statement 2026-11-P{due:07d}\nBalance due: 60.00\n"
    again = run_statements(medbill_app, cycle="2026-11", out_dir=tmp_path, renderer="text")
    assert again.produced == [] and again.already_done == [str(due)]
    with medbill_app.unit_of_work() as work:
        assert work.session.scalar(select(func.count()).select_from(StatementRow)) == 1
    assert str(tiny) not in first.already_done + [p for v in first.skipped.values() for p in v]


def test_statement_run_resumes_after_a_crash(medbill_app, tmp_path, monkeypatch) -> None:
    for n in (13, 14, 15):
        self_pay_patient(medbill_app, n, ["40.00"], [10])
    import medbill_core.services.statements as statements

    real = statements.build_statement
    calls = {"n": 0}

    def crash_on_second(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("power cut")
        return real(*args, **kwargs)

    monkeypatch.setattr(statements, "build_statement", crash_on_second)
    with pytest.raises(RuntimeError):
        run_statements(medbill_app, cycle="C1", out_dir=tmp_path, renderer="text")
    monkeypatch.undo()
    resumed = run_statements(medbill_app, cycle="C1", out_dir=tmp_path, renderer="text")
    assert len(resumed.produced) == 2 and len(resumed.already_done) == 1
    with medbill_app.unit_of_work() as work:
        numbers = list(work.session.scalars(select(StatementRow.statement_number)))
    assert len(numbers) == 3 and all(n.startswith("C1-P") for n in numbers)


def test_collections_worklist_orders_by_stage(medbill_app) -> None:
    old, _ = self_pay_patient(medbill_app, 16, ["90.00"], [130])
    new, _ = self_pay_patient(medbill_app, 17, ["500.00"], [3])
    with medbill_app.unit_of_work() as work:
        items = collections_worklist(work)
        entries = work.session.scalar(select(func.count()).select_from(LedgerEntryRow))
    assert [(i.patient_id, i.stage, i.balance) for i in items] == [
        (old, 4, D("90.00")), (new, 0, D("500.00"))]
    assert entries == 2
