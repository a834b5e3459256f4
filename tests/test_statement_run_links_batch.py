"""A statement run's pay links and "statement ready" messages are issued and queued a group
of statements at a time: the SQL a run sends does not grow by the statements it prints a link
on, and when the group's links cannot be issued together the run issues them one at a time,
printing the same links (on both databases)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from notify_support import gateway_and_notifier, with_pay_links
from sqlalchemy import select
from test_pay_links import owing

from medbill_core.app import Medbill
from medbill_core.config import MedbillConfig
from medbill_core.errors import NotFound
from medbill_core.services import statements
from medbill_core.services.notifications import (
    ContactChoice,
    list_notifications,
    set_contact_preference,
)
from medbill_core.services.pay_links import list_links
from medbill_core.services.statements import run_statements
from medbill_core.storage.schema import PatientRow, StatementRow
from medbill_core.testing.sql import sent_statements


@pytest.fixture
def medbill_config(medbill_config: MedbillConfig) -> MedbillConfig:
    return with_pay_links(medbill_config)


@pytest.fixture
def medbill_extra_plugins() -> list[tuple[str, Any]]:
    return gateway_and_notifier()


def a_run(app: Medbill, out: Path, cycle: str) -> tuple[int, int]:
    """(SQL statements sent, statements produced) of a run."""
    with sent_statements(app.database.engine) as seen:
        result = run_statements(app, cycle=cycle, out_dir=out, renderer="linktext",
                                force=True)
    return len(seen), len(result.produced)


def texting(app: Medbill, patient_id: int) -> None:
    with app.unit_of_work() as work:
        work.session.get(PatientRow, patient_id).phone = "5555550142"  # type: ignore[union-attr]
        set_contact_preference(work, f"P{patient_id}", ContactChoice.SMS, "verbal")


def test_links_and_messages_cost_no_sql_per_statement(medbill_app: Medbill,
                                                      tmp_path: Path) -> None:
    first = [owing(medbill_app, "40.00", born=date(1980, 1, n)) for n in (1, 2)]
    texting(medbill_app, first[0])
    two, produced = a_run(medbill_app, tmp_path / "a", "C1")
    assert produced == 2
    more = [owing(medbill_app, "25.00", born=date(1981, 1, n)) for n in (1, 2, 3, 4, 5, 6)]
    texting(medbill_app, more[0])
    eight, produced = a_run(medbill_app, tmp_path / "b", "C2")
    assert produced == 8
    with medbill_app.unit_of_work(read_only=True) as work:
        links = list_links(work)
        queued = list_notifications(work)
    assert len(links) == 10 and all(link.statement_id is not None for link in links)
    assert sorted(n.account_key for n in queued) == sorted(
        [f"P{first[0]}"] * 2 + [f"P{more[0]}"])  # those who agreed, each statement once
    # six more statements printed with links in the same group, one more message queued:
    # that message's own statements (its look-ups, its row), nothing per link (one at a time
    # it was about seven statements a link)
    assert eight - two <= 6


def test_a_group_whose_links_cannot_be_issued_together_gets_them_one_by_one(
        medbill_app: Medbill, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    patients = [owing(medbill_app, "40.00", born=date(1980, 2, n)) for n in (1, 2, 3)]

    def refused(*_: Any) -> Any:
        raise NotFound("guarantor", 0)

    monkeypatch.setattr(statements, "print_on_statements", refused)
    result = run_statements(medbill_app, cycle="C1", out_dir=tmp_path, renderer="linktext")
    assert len(result.produced) == 3
    with medbill_app.unit_of_work(read_only=True) as work:
        by_statement = {row.id: row.patient_id for row in work.session.scalars(
            select(StatementRow))}
        links = list_links(work)
    assert sorted(by_statement[link.statement_id] for link in links  # type: ignore[index]
                  ) == sorted(patients)
