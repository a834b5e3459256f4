"""A statement run records its statements several to a transaction (issue 14): the SQL of a
run does not grow with the statements recorded together, and a statement that fails still
fails alone: the statements before it are produced, a statement another run produced
meanwhile is reported done elsewhere, and a run started again makes none twice."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from inproc_plugins import make_line_plugin
from sqlalchemy import select

from medbill_core.app import Medbill
from medbill_core.errors import MedbillError, ValidationFailed
from medbill_core.services import statements
from medbill_core.services.statements import DONE_ELSEWHERE, run_statements
from medbill_core.storage.schema import AuditEventRow, StatementRow
from medbill_core.testing import factories
from medbill_core.testing.sql import sent_statements


@pytest.fixture
def medbill_extra_plugins() -> list[tuple[str, Any]]:
    return [("lineplug", make_line_plugin())]  # the "text" statement renderer


def self_pay(app: Medbill, number: int, charge: str = "60.00") -> int:
    with app.unit_of_work() as work:
        patient = work.patients.register(factories.make_patient(number))
        claim = factories.make_claim(patient.id, coverage_id=None, number=f"TX{number}")
        work.claims.create(claim.model_copy(update={"lines": [factories.make_line(
            1, service_date=claim.service_date_from, charge=Decimal(charge))]}))
    return patient.id


def rows(app: Medbill) -> list[tuple[int, str, int]]:
    """(row id, statement number, first patient) of every statement, in id order."""
    with app.unit_of_work() as work:
        return [(row.id, row.statement_number, row.patient_id) for row in work.session.scalars(
            select(StatementRow).order_by(StatementRow.id))]


def produce_events(app: Medbill) -> list[tuple[str, int]]:
    """(statement row id, first patient) of every statement.produce audit event, in order."""
    with app.unit_of_work() as work:
        return [(event.entity_id, event.details["patient_id"])
                for event in work.session.scalars(
                    select(AuditEventRow).where(AuditEventRow.action == "statement.produce")
                    .order_by(AuditEventRow.id))]


def test_statements_recorded_together_cost_the_sql_of_one(medbill_app: Medbill,
                                                          tmp_path: Path) -> None:
    first = [self_pay(medbill_app, n) for n in (1, 2, 3)]
    with sent_statements(medbill_app.database.engine) as three:
        run = run_statements(medbill_app, cycle="C1", out_dir=tmp_path / "a", renderer="text")
    assert len(run.produced) == 3
    later = [self_pay(medbill_app, n) for n in (4, 5, 6, 7, 8, 9)]
    with sent_statements(medbill_app.database.engine) as nine:
        run = run_statements(medbill_app, cycle="C2", out_dir=tmp_path / "b", renderer="text",
                             force=True)  # the first three were billed today
    assert len(run.produced) == 9
    assert len(nine) == len(three), (three, nine)
    # every statement its row, its audit event and its file, in the order of the run
    recorded = rows(medbill_app)
    assert [patient for _, _, patient in recorded] == [*first, *first, *later]
    assert produce_events(medbill_app) == [(str(row_id), patient)
                                           for row_id, _, patient in recorded]
    assert sorted(path.name for path in (tmp_path / "b").iterdir()) == sorted(
        path.name for path in run.files)


def test_a_statement_another_run_produced_meanwhile_fails_alone(
        medbill_app: Medbill, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    patients = [self_pay(medbill_app, n) for n in (11, 12, 13)]
    loaded = statements.load_statement_data

    def another_run_first(work: Any, patient_ids: Any) -> Any:
        data = loaded(work, patient_ids)
        # another run records the second patient's statement after this one chose it
        with medbill_app.unit_of_work() as other:
            other.session.add(StatementRow(
                statement_number="ELSEWHERE", patient_id=patients[1], patient_ids=[patients[1]],
                guarantor_key=f"P{patients[1]}", same_day_number=1, cycle="C3",
                statement_date=date.today(), due_date=date.today(),
                balance_due=Decimal("60.00"), dunning_stage=0, renderer="text",
                filename="elsewhere.txt", content_sha256="0" * 64, status="rendered"))
        return data

    monkeypatch.setattr(statements, "load_statement_data", another_run_first)
    out = tmp_path / "statements"
    run = run_statements(medbill_app, cycle="C3", out_dir=out, renderer="text")
    assert len(run.produced) == 2 and run.skipped[DONE_ELSEWHERE] == [str(patients[1])]
    assert sorted(path.name for path in out.iterdir()) == sorted(p.name for p in run.files)
    assert [patient for _, number, patient in rows(medbill_app) if number != "ELSEWHERE"] == [
        patients[0], patients[2]]
    assert [patient for _, patient in produce_events(medbill_app)] == [patients[0], patients[2]]


def test_a_statement_that_cannot_be_rendered_stops_the_run_after_the_ones_before(
        medbill_app: Medbill, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    patients = [self_pay(medbill_app, n) for n in (21, 22, 23)]
    render = medbill_app.hooks.render_statement

    def broken_second(*, statement: Any, renderer: str) -> Any:
        if statement.patient.id == patients[1]:
            raise MedbillError(f"statement {statement.statement_number}: cannot be rendered")
        return render(statement=statement, renderer=renderer)

    out = tmp_path / "statements"
    with monkeypatch.context() as patch:
        patch.setattr(medbill_app.hooks, "render_statement", broken_second)
        with pytest.raises(MedbillError, match="cannot be rendered"):
            run_statements(medbill_app, cycle="C4", out_dir=out, renderer="text")
    # the statement before the broken one is produced, as a statement a transaction would be
    assert [patient for _, _, patient in rows(medbill_app)] == [patients[0]]
    assert len(list(out.iterdir())) == 1
    # started again: the others, none twice
    again = run_statements(medbill_app, cycle="C4", out_dir=out, renderer="text")
    assert again.already_done == [str(patients[0])] and len(again.produced) == 2
    assert [patient for _, _, patient in rows(medbill_app)] == patients
    assert [patient for _, patient in produce_events(medbill_app)] == patients
    assert len(list(out.iterdir())) == 3


@pytest.mark.parametrize("cycle", ["", "../elsewhere", "2026 11", "-11", "x" * 21])
def test_a_cycle_that_is_no_cycle_name_is_refused_before_anything_is_made(
        medbill_app: Medbill, tmp_path: Path, cycle: str) -> None:
    """The cycle begins every statement number: the rule the API's request model states,
    held by the service for the command line too (it made statement numbers like
    ``-G0000001`` and ``../elsewhere-P0000001``)."""
    self_pay(medbill_app, 1)
    with pytest.raises(ValidationFailed, match="^statement run: cycle: 1 to 20 letters"):
        run_statements(medbill_app, cycle=cycle, out_dir=tmp_path / "out", renderer="text")
    assert rows(medbill_app) == [] and not (tmp_path / "out").exists()
