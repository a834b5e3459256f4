"""A statement run with a card gateway and a notifier: each statement's pay link goes out by
text or e-mail to the addressees who agreed to it -- queued in the run's transaction, sent
once by the outbox, the message holding only the practice's name and that statement's own
link (on both databases)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from notify_support import NOTIFIER, gateway_and_notifier, with_pay_links
from sqlalchemy import select
from test_pay_links import owing

from medbill_core.app import Medbill
from medbill_core.config import MedbillConfig
from medbill_core.services.notifications import (
    ContactChoice,
    deliver_due,
    list_notifications,
    set_contact_preference,
)
from medbill_core.services.pay_links import list_links
from medbill_core.services.statements import run_statements
from medbill_core.storage.schema import PatientRow, StatementRow


@pytest.fixture
def medbill_config(medbill_config: MedbillConfig) -> MedbillConfig:
    return with_pay_links(medbill_config)


@pytest.fixture
def medbill_extra_plugins() -> list[tuple[str, Any]]:
    return gateway_and_notifier()


def test_a_statement_run_sends_each_link_once_to_those_who_agreed(medbill_app: Medbill,
                                                                   tmp_path: Path) -> None:
    texted = owing(medbill_app, "40.00", born=date(1980, 4, 27))
    silent = owing(medbill_app, "70.00", born=date(1990, 2, 3))
    with medbill_app.unit_of_work() as work:
        work.session.get(PatientRow, texted).phone = "5555550142"  # type: ignore[union-attr]
        set_contact_preference(work, f"P{texted}", ContactChoice.SMS, "verbal, at check-in")
    run_statements(medbill_app, cycle="2026-12", out_dir=tmp_path, renderer="linktext")
    with medbill_app.unit_of_work(read_only=True) as work:
        statements = {row.patient_id: row.id for row in work.session.scalars(
            select(StatementRow))}
        links = {link.statement_id: link for link in list_links(work)}
        [queued] = list_notifications(work)
    assert set(statements) == {texted, silent}  # both billed, one of them agreed to texts
    assert queued.statement_id == statements[texted] and queued.account_key == f"P{texted}"
    assert NOTIFIER.delivered == []  # queued with the run, sent by the outbox
    deliver_due(medbill_app)
    deliver_due(medbill_app)  # a second pass sends nothing again
    [sent] = NOTIFIER.delivered
    assert sent.recipient == "5555550142"
    link = links[statements[texted]]
    assert link.patient_id == texted
    # the message carries the very link printed on that statement, and nothing of the
    # patient's
    with medbill_app.unit_of_work(read_only=True) as work:
        number = work.session.get(StatementRow, statements[texted]).statement_number  # type: ignore[union-attr]
    _, printed_url, _ = (tmp_path / f"statement-{number}.txt").read_text().splitlines()
    assert printed_url.startswith("https://pay.example.org/") and printed_url in sent.body
    with medbill_app.unit_of_work(read_only=True) as work:
        patient = work.session.get(PatientRow, texted)
        assert patient is not None
        for private in (patient.last_name, patient.first_name, "40.00", "1980"):
            assert private not in sent.body
