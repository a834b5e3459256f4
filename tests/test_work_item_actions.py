"""A work item's row actions call the existing services, and the item leaves its queue with
the resolving actor (SQLite and PostgreSQL): correct and resend (replacement created,
scrubbed, submitted through the channel), appeal, write off (the manager's), move to the
patient, a 276, resolve an exception."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from inproc_plugins import line_practice_config, make_line_plugin
from test_work_queues import person

from medbill_core import audit
from medbill_core.app import Medbill
from medbill_core.config import MedbillConfig
from medbill_core.domain import (
    Adjustment,
    AdjustmentGroup,
    ClaimPayment,
    ClaimState,
    ClaimStatusCode,
    Remittance,
)
from medbill_core.domain.identity import Principal, Role
from medbill_core.errors import PermissionDenied, ValidationFailed
from medbill_core.services import work_item_actions as actions
from medbill_core.services import work_queues as wq
from medbill_core.services.remittance import post_remittance
from medbill_core.services.work_queue_sources import NextAction, Queue
from medbill_core.testing import factories
from medbill_core.testing.submission_dates import date_submissions

D = Decimal
S = ClaimState
TODAY = date.today()
_numbers = itertools.count(1)


@pytest.fixture
def medbill_config(medbill_db_url: str) -> MedbillConfig:
    return line_practice_config(medbill_db_url)


@pytest.fixture
def medbill_extra_plugins() -> list[tuple[str, Any]]:
    return [("lineplug", make_line_plugin())]


@pytest.fixture(autouse=True)
def provider(medbill_app: Medbill) -> None:
    """The rendering provider the claims name (else the edits block the replacement)."""
    with medbill_app.unit_of_work() as work:
        work.patients.register_provider(factories.make_provider())


def sent_claim(app: Medbill, service: date, sent: date | None = None) -> tuple[int, str]:
    """A claim to linepay, accepted (submitted on ``sent``, default today), with the payer's
    claim number."""
    n = next(_numbers)
    with app.unit_of_work() as work:
        patient = work.patients.register(factories.make_patient(n))
        coverage = work.patients.add_coverage(patient.id, factories.make_coverage(
            payer_key="linepay", member_id=f"LM{n:05d}"))
        claim = factories.make_claim(patient.id, coverage_id=coverage.id, payer_key="linepay",
                                     number=f"WA{n:04d}", service_date=service)
        created = work.claims.create(claim)
        for target in (S.VALIDATED, S.SUBMITTED, S.ACCEPTED):
            work.claims.transition(created.id, target)
        work.claims.record_payer_claim_number(created.id, f"PCN{n}")
        if sent is not None:
            date_submissions(work.session, created.id,
                             datetime(sent.year, sent.month, sent.day, 12, tzinfo=UTC))
    return created.id, created.claim_number


def deny(app: Medbill, number: str, charge: Decimal, *codes: tuple[str, str, str],
         on: date) -> None:
    payment = ClaimPayment(claim_number=number, status=ClaimStatusCode.DENIED, charge=charge,
                           paid=D("0.00"), payer_claim_number="PCN", adjustments=[
                               Adjustment(group=AdjustmentGroup(group), reason_code=code,
                                          amount=D(amount)) for group, code, amount in codes])
    with app.unit_of_work() as work:
        post_remittance(work, Remittance(
            trace_number=f"TRN-WA{next(_numbers)}", payment_amount=D("0.00"),
            payer_name="Line", payer_id="LINE1", payee_name="Clinic", payment_date=on,
            claims=[payment]))


def charge_of(app: Medbill, claim_id: int) -> Decimal:
    with app.unit_of_work(read_only=True) as work:
        return work.claims.get(claim_id).total_charge


def denied_item(app: Medbill, who: Principal, claim_id: int) -> wq.WorkItem:
    [item] = [i for i in wq.read_queue(app, who, Queue.DENIALS) if i.claim_id == claim_id]
    return item


def test_correct_and_resend_sends_a_replacement_and_the_item_leaves_the_queue(
        medbill_app: Medbill) -> None:
    app = medbill_app
    biller = person(app, "bea", Role.BILLER)
    claim_id, number = sent_claim(app, TODAY - timedelta(days=40))
    total = charge_of(app, claim_id)
    deny(app, number, total, ("CO", "16", str(total)), on=TODAY - timedelta(days=5))
    item = denied_item(app, biller, claim_id)
    assert item.action is NextAction.CORRECT_AND_RESEND
    with pytest.raises(ValidationFailed) as refused:
        actions.correct_and_resend(app, biller, item.id, {}, "  ")
    assert str(refused.value) == f"work item {item.id}: reason: is required"
    resent = actions.correct_and_resend(app, biller, item.id,
                                        {"prior_authorization": "AUTH-77"}, "added the auth")
    assert (resent.original_id, resent.replacement_number, resent.findings,
            resent.submitted) == (claim_id, f"{number}-R1", (), True)
    with app.unit_of_work(read_only=True) as work:
        replacement = work.claims.get(resent.replacement_id)
        original = work.claims.get(claim_id)
    assert (replacement.state, replacement.prior_authorization, original.state) == (
        S.SUBMITTED, "AUTH-77", S.REPLACED)
    assert wq.read_queue(app, biller, Queue.DENIALS) == []
    with app.unit_of_work(principal=biller, read_only=True) as work:
        closed = wq.get_item(work, item.id)
    assert (closed.closed_on, closed.closed_by) == (TODAY, "user:bea")


def test_appeal_write_off_and_transfer_from_the_row(medbill_app: Medbill) -> None:
    app = medbill_app
    biller = person(app, "bea", Role.BILLER)
    manager = person(app, "max", Role.BILLING_MANAGER)
    appealed, n1 = sent_claim(app, TODAY - timedelta(days=60))
    written, n2 = sent_claim(app, TODAY - timedelta(days=60))
    patients, n3 = sent_claim(app, TODAY - timedelta(days=60))
    for claim_id, number, codes in ((appealed, n1, ("CO", "50")), (written, n2, ("CO", "18")),
                                    (patients, n3, ("PR", "204"))):
        total = charge_of(app, claim_id)
        deny(app, number, total, (*codes, str(total)), on=TODAY - timedelta(days=10))
    actions_by_claim = {i.claim_id: i.action for i in wq.read_queue(app, biller, Queue.DENIALS)}
    assert actions_by_claim == {appealed: NextAction.APPEAL, written: NextAction.WRITE_OFF,
                                patients: NextAction.TRANSFER_TO_PATIENT}
    with app.unit_of_work(principal=biller) as work:
        actions.appeal(work, denied_item(app, biller, appealed).id, "medically necessary")
    item = denied_item(app, biller, written)
    with app.unit_of_work(principal=biller) as work, pytest.raises(PermissionDenied):
        actions.write_off(work, item.id, "duplicate")  # forgiving money: the manager's
    with app.unit_of_work(principal=manager) as work:
        assert actions.write_off(work, item.id, "duplicate of an earlier claim") == 1
    with app.unit_of_work(principal=biller) as work, pytest.raises(ValidationFailed) as bad:
        actions.transfer_to_patient(work, item.id)  # written off: nothing left to move
    assert str(bad.value) == (f"work item {item.id}: group_code: no open denial is the "
                              "patient's responsibility (PR)")
    with app.unit_of_work(principal=biller) as work:
        assert actions.transfer_to_patient(work, denied_item(app, biller, patients).id) == 1
    assert wq.read_queue(app, biller, Queue.DENIALS) == []
    with app.unit_of_work(principal=manager, read_only=True) as work:
        report = wq.productivity(work, TODAY, TODAY)
    assert report.closed == {("user:bea", TODAY): 2, ("user:max", TODAY): 1}


def test_a_status_inquiry_from_a_no_response_row(medbill_app: Medbill) -> None:
    app = medbill_app
    biller = person(app, "bea", Role.BILLER)
    claim_id, _number = sent_claim(app, TODAY - timedelta(days=45), TODAY - timedelta(days=40))
    [item] = wq.read_queue(app, biller, Queue.NO_RESPONSE)
    assert (item.claim_id, item.action) == (claim_id, NextAction.STATUS_CHECK)
    check = actions.status_check(app, biller, item.id)
    assert check.claim_id == claim_id
    with app.unit_of_work(read_only=True) as work:
        [event] = audit.query(work.session, action="claim.status_check")
    assert (event.actor, event.entity_id) == ("user:bea", str(claim_id))
    with app.unit_of_work(principal=biller) as work, pytest.raises(ValidationFailed) as bad:
        actions.appeal(work, item.id, "x")
    assert str(bad.value) == f"work item {item.id}: queue: is no_response: this action is " \
        "for denials"
