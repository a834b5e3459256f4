"""A statement run and the collections work list cost SQL statements by the accounts they
bill, in batches, never by the history the database holds (both databases)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from inproc_plugins import make_line_plugin

from medbill_core.domain import Payment, PaymentMethodKind
from medbill_core.services import statements
from medbill_core.services.payments import record_payment
from medbill_core.services.statements import collections_worklist, run_statements
from medbill_core.testing import factories
from medbill_core.testing.sql import sent_statements

D = Decimal
TODAY = date.today()


@pytest.fixture
def medbill_extra_plugins() -> list[tuple[str, Any]]:
    return [("lineplug", make_line_plugin())]  # the "text" statement renderer


@contextmanager
def counted(app: Any) -> Iterator[Callable[[], int]]:
    """The SQL statements executed inside the block (an executemany counts once)."""
    with sent_statements(app.database.engine) as seen:
        yield lambda: len(seen)


def patient_with_claims(app: Any, number: int, charges: list[str], *,
                        paid: bool = False) -> int:
    """A self-pay patient owing ``charges`` (claims of 10, 20 ... days ago), paid in full
    (claims closed: history) when ``paid``."""
    with app.unit_of_work() as work:
        patient = work.patients.register(factories.make_patient(number))
        for i, charge in enumerate(charges):
            day = TODAY - timedelta(days=10 * (i + 1))
            claim = factories.make_claim(patient.id, coverage_id=None, number=f"Q{number}-{i}",
                                         service_date=day)
            work.claims.create(claim.model_copy(update={"lines": [
                factories.make_line(1, service_date=day, charge=D(charge))]}))
    if paid:
        with app.unit_of_work() as work:
            record_payment(work, Payment(
                patient_id=patient.id, amount=sum((D(c) for c in charges), D("0")),
                method=PaymentMethodKind.CHECK, reference="1", received_on=TODAY))
    return patient.id


def a_run(app: Any, out: Path, cycle: str) -> tuple[int, list[str]]:
    with counted(app) as executed:
        result = run_statements(app, cycle=cycle, out_dir=out, renderer="text", force=True)
    return executed(), result.produced


def a_worklist(app: Any) -> tuple[int, list[Any]]:
    with counted(app) as executed, app.unit_of_work() as work:
        items = collections_worklist(work)
    return executed(), items


def test_statement_runs_and_the_worklist_cost_the_same_whatever_the_history(
        medbill_app: Any, tmp_path: Path) -> None:
    owing = [patient_with_claims(medbill_app, n, ["40.00", "25.50"]) for n in (1, 2, 3)]
    small_run, produced = a_run(medbill_app, tmp_path / "a", "C1")
    small_list, items = a_worklist(medbill_app)
    assert len(produced) == 3 and [item.patient_id for item in items] == owing
    # history: claims settled long ago, of other patients and of the same ones
    for n in range(10, 22):
        patient_with_claims(medbill_app, n, ["80.00", "12.00", "30.00"], paid=True)
    with medbill_app.unit_of_work() as work:
        for patient_id in owing:
            day = TODAY - timedelta(days=200)
            claim = work.claims.create(factories.make_claim(
                patient_id, coverage_id=None, number=f"OLD{patient_id}", service_date=day
            ).model_copy(update={"lines": [factories.make_line(1, service_date=day,
                                                                charge=D("99.00"))]}))
            record_payment(work, Payment(patient_id=patient_id, amount=D("99.00"),
                                         method=PaymentMethodKind.CASH, reference="2",
                                         received_on=TODAY, claim_id=claim.id))
    large_run, produced = a_run(medbill_app, tmp_path / "b", "C2")
    large_list, items = a_worklist(medbill_app)
    assert len(produced) == 3 and [item.patient_id for item in items] == owing
    assert (large_run, large_list) == (small_run, small_list)


def test_statement_queries_grow_by_the_accounts_billed_in_batches(
        medbill_app: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(statements, "BATCH", 2)
    for n in (1, 2, 3, 4):
        patient_with_claims(medbill_app, n, ["40.00", "25.50", "10.00"])
    list_of_four, _ = a_worklist(medbill_app)
    four, produced = a_run(medbill_app, tmp_path / "a", "C1")
    assert len(produced) == 4
    for n in (5, 6, 7, 8):
        patient_with_claims(medbill_app, n, ["40.00"])
    list_of_eight, _ = a_worklist(medbill_app)
    eight, produced = a_run(medbill_app, tmp_path / "b", "C2")
    assert len(produced) == 8
    # the work list: a few set-based queries, however many guarantors
    assert list_of_eight == list_of_four <= 12
    # a run: its choice (a few queries), then per batch of guarantors one load of their data
    # (a query of each kind: at most 9), per statement only its own transaction (its row,
    # its audit event: at most 6); four more statements, two more batches
    assert four <= 12 + 2 * 9 + 4 * 6
    assert eight - four <= 2 * 9 + 4 * 6


def test_the_worklist_agrees_with_the_statements_it_does_not_build(medbill_app: Any) -> None:
    """Its balances, ages and stages summed in SQL are the statements' (a family, a credit on
    the account, a returned payment with its fee, balances of every age)."""
    from medbill_core.domain import GuarantorRelationship, StatementSection
    from medbill_core.services.guarantors import GuarantorService
    from medbill_core.services.payments import Overpayment, reverse_payment
    from medbill_core.services.statements import build_statement

    parent = patient_with_claims(medbill_app, 1, ["30.00", "12.00"])
    child = patient_with_claims(medbill_app, 2, ["50.00", "40.00", "20.00", "9.00", "7.00",
                                                 "5.00", "3.00", "2.00", "1.00", "6.00",
                                                 "8.00", "4.00", "11.00"])
    credit = patient_with_claims(medbill_app, 3, ["25.00"])
    returned = patient_with_claims(medbill_app, 4, ["60.00", "15.00"])
    with medbill_app.unit_of_work() as work:
        service = GuarantorService(work.session, actor="t")
        guarantor = service.guarantor_for_patient(parent)
        service.assign(child, guarantor.id, GuarantorRelationship.PARENT)
        record_payment(work, Payment(patient_id=credit, amount=D("40.00"),
                                     method=PaymentMethodKind.CHECK, reference="3",
                                     received_on=TODAY), overpayment=Overpayment.CREDIT)
        paid = record_payment(work, Payment(patient_id=returned, amount=D("70.00"),
                                            method=PaymentMethodKind.CHECK, reference="4",
                                            received_on=TODAY))
    with medbill_app.unit_of_work() as work:
        reverse_payment(work, paid.payment_id, "NSF", fee=D("25.00"))
    shown, stages = set(), set()
    for as_of in (TODAY, TODAY + timedelta(days=45), TODAY + timedelta(days=100)):
        with medbill_app.unit_of_work() as work:
            items = collections_worklist(work, as_of=as_of, minimum=D("-1000"))
            assert len(items) == 3  # the family, the credit, the returned payment
            for item in items:
                members = [parent, child] if item.guarantor_id else [item.patient_id]
                statement = build_statement(work, members[0], statement_date=as_of,
                                            cycle="W", family=members)
                shown |= {line.description for line in statement.lines}
                stages.add(item.stage)
                sections = statement.sections or [StatementSection(
                    patient=statement.patient, account_number=statement.account_number,
                    lines=statement.lines, balance_due=statement.balance_due)]
                assert (item.account_number, item.balance, item.stage, item.patients) == (
                    statement.account_number, statement.balance_due, statement.dunning_stage,
                    tuple((s.account_number, s.balance_due) for s in sections)), as_of
    assert {statements.CREDIT, statements.RETURNED_FEE} <= shown and len(stages) >= 3
