"""Issue 16: work queues derived from a seeded billing cycle (SQLite and PostgreSQL): each
queue's items with their amounts, deadlines and reasons in words; closure records the
resolving actor; snooze, assignment, notes, productivity; roles; tenancy; bad input."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update
from test_receivables import ago, claim_number, new_claim, patient_of, remit

from medbill_core import audit
from medbill_core.app import Medbill
from medbill_core.codesets.explain import explain_adjustment, explain_status_pair
from medbill_core.domain import (
    ClaimPayment,
    ClaimState,
    ClaimStatusCode,
    Remittance,
)
from medbill_core.domain.identity import Principal, PrincipalKind, Role
from medbill_core.errors import NotFound, PermissionDenied, ValidationFailed
from medbill_core.services import denials
from medbill_core.services import work_queues as wq
from medbill_core.services.payments import new_plan
from medbill_core.services.remittance import post_remittance
from medbill_core.services.scrubbing import scrub_claims
from medbill_core.services.work_queue_sources import NextAction, Queue
from medbill_core.storage.schema import (
    MembershipRow,
    PracticeRow,
    UserRow,
    WorkItemRow,
)
from medbill_core.testing import factories

D = Decimal
S = ClaimState
TODAY = date.today()
_traces = itertools.count(1)


def person(app: Medbill, name: str, role: Role, practice_id: int = 1) -> Principal:
    """A user of the practice with ``role`` (rows written directly: the identity service's
    own rules are tested elsewhere)."""
    with app.unit_of_work(all_practices=True) as work:
        user = work.session.scalar(select(UserRow).where(UserRow.name == name))
        if user is None:
            user = UserRow(name=name)
            work.session.add(user)
            work.session.flush()
        work.session.add(MembershipRow(user_id=user.id, practice_id=practice_id,
                                       role=role.value))
        user_id = user.id
    return Principal(kind=PrincipalKind.USER, id=user_id, name=name, practice_id=practice_id,
                     role=role)


def items(app: Medbill, who: Principal, queue: Queue, **filters: object) -> list[wq.WorkItem]:
    return wq.read_queue(app, who, queue, chosen=wq.QueueFilter(**filters),  # type: ignore[arg-type]
                         limit=500)


def by_claim(found: list[wq.WorkItem]) -> dict[int | None, wq.WorkItem]:
    return {item.claim_id: item for item in found}


@pytest.fixture
def cycle(medbill_app: Medbill) -> dict[str, int]:
    """One claim (or account) per kind of work, through the real services."""
    app = medbill_app
    claims = {
        # acme (365 days timely filing, 180 to appeal): sent 290 days ago, no answer
        "silent": new_claim(app, service=ago(300), submitted=ago(290)),
        # acme: denied CO-50 60 days ago (medical necessity: appeal)
        "denied": new_claim(app, service=ago(100), submitted=ago(90)),
        # acme: denied CO-16 20 days ago (missing information: correct and resend)
        "incomplete": new_claim(app, service=ago(80), submitted=ago(70)),
        # medicare: paid 40.00, 10.00 contractual, 50.00 still owed
        "partial": new_claim(app, payer="medicare", service=ago(60), submitted=ago(55)),
        # bluecross (180 days): rejected by a 277CA
        "rejected": new_claim(app, payer="bluecross", service=ago(170), submitted=ago(160),
                              accepted=False),
        # bluecross: a draft 160 days after its service, 20 days before the filing limit
        "late_draft": new_claim(app, payer="bluecross", service=ago(160)),
        # acme: paid, the patient owes 30.00 (PR-2)
        "patient_owes": new_claim(app, service=ago(70), submitted=ago(65)),
    }
    remit(app, claim_number(app, claims["denied"]), paid="0.00", co="100.00", co_code="50",
          status=ClaimStatusCode.DENIED, on=ago(60))
    remit(app, claim_number(app, claims["incomplete"]), paid="0.00", co="100.00", co_code="16",
          status=ClaimStatusCode.DENIED, on=ago(20))
    remit(app, claim_number(app, claims["partial"]), paid="40.00", co="10.00", on=ago(20))
    remit(app, claim_number(app, claims["patient_owes"]), paid="50.00", co="20.00", pr="30.00",
          on=ago(40))
    with app.unit_of_work() as work:
        work.claims.transition(claims["rejected"], S.REJECTED, reason="277CA A7:21")
    # an 835 payment for a claim number nobody knows: a remittance exception
    with app.unit_of_work() as work:
        post_remittance(work, Remittance(
            trace_number=f"TRN-WQ{next(_traces)}", payment_amount=D("75.00"),
            payer_name="Payer", payer_id="PAYER1", payee_name="Clinic", payment_date=ago(3),
            claims=[ClaimPayment(claim_number="NOSUCH1", status=ClaimStatusCode.PRIMARY,
                                 charge=D("75.00"), paid=D("75.00"), adjustments=[])]))
    # a plan of 3 x 20.00 whose first installment fell due 40 days ago, unpaid
    with app.unit_of_work() as work:
        claims["plan"] = new_plan(work, patient_of(app, claims["patient_owes"]), D("30.00"),
                                  3, ago(40), confirmed_date=True).id or 0
    return claims


@pytest.fixture
def biller(medbill_app: Medbill) -> Principal:
    return person(medbill_app, "bea", Role.BILLER)


@pytest.fixture
def manager(medbill_app: Medbill) -> Principal:
    return person(medbill_app, "max", Role.BILLING_MANAGER)


def test_each_queue_derives_its_items_with_amounts_deadlines_and_reasons_in_words(
        medbill_app: Medbill, cycle: dict[str, int], biller: Principal) -> None:
    app = medbill_app
    denied = by_claim(items(app, biller, Queue.DENIALS))
    assert set(denied) == {cycle["denied"], cycle["incomplete"]}
    item = denied[cycle["denied"]]
    assert (item.amount, item.deadline, item.action, item.codes, item.since, item.payer_key) == (
        D("100.00"), ago(60) + timedelta(days=180), NextAction.APPEAL, ("CO-50",), ago(60),
        "acme")
    assert item.reason == explain_adjustment("CO-50")
    assert "not deemed a 'medical necessity'" in item.reason  # the CARC's words, not a code
    assert denied[cycle["incomplete"]].action is NextAction.CORRECT_AND_RESEND
    assert denied[cycle["incomplete"]].deadline == ago(20) + timedelta(days=180)

    [silent] = items(app, biller, Queue.NO_RESPONSE)
    assert (silent.claim_id, silent.amount, silent.deadline, silent.action, silent.since) == (
        cycle["silent"], D("100.00"), ago(300) + timedelta(days=365), NextAction.STATUS_CHECK,
        ago(290))
    assert silent.reason.startswith(f"sent {ago(290).isoformat()}, no answer from the payer "
                                    "for 290 days")

    [partial] = items(app, biller, Queue.UNDERPAYMENTS)
    assert (partial.claim_id, partial.amount, partial.action) == (
        cycle["partial"], D("50.00"), NextAction.REVIEW_UNDERPAYMENT)

    [rejected] = items(app, biller, Queue.REJECTIONS)
    assert (rejected.claim_id, rejected.codes, rejected.action, rejected.deadline) == (
        cycle["rejected"], ("A7:21",), NextAction.FIX_AND_RESUBMIT, ago(170) + timedelta(
            days=180))
    assert explain_status_pair("A7", "21") in rejected.reason

    deadlines = by_claim(items(app, biller, Queue.DEADLINES))
    assert set(deadlines) == {cycle["late_draft"], cycle["rejected"]}
    assert (deadlines[cycle["late_draft"]].deadline, deadlines[cycle["late_draft"]].action) == (
        ago(160) + timedelta(days=180), NextAction.SUBMIT)
    assert "in 20 days" in deadlines[cycle["late_draft"]].reason

    [exception] = items(app, biller, Queue.REMITTANCE_EXCEPTIONS)
    assert (exception.amount, exception.action, exception.since) == (
        D("75.00"), NextAction.RESOLVE_EXCEPTION, TODAY)  # recorded today
    assert "NOSUCH1" in exception.reason

    balances = items(app, biller, Queue.PATIENT_BALANCES)
    assert [(b.subject_id, b.amount) for b in balances] == [
        (patient_of(app, cycle["patient_owes"]), D("30.00"))]

    [missed] = items(app, biller, Queue.MISSED_INSTALLMENTS)
    # monthly from 40 days ago: the first two are past due (beyond 5 days' grace), one item
    second = date(ago(40).year + (ago(40).month // 12), ago(40).month % 12 + 1, ago(40).day)
    assert (missed.subject_id, missed.amount, missed.since, missed.action) == (
        cycle["plan"], D("20.00"), ago(40), NextAction.PLAN_FOLLOW_UP)
    assert missed.reason == (
        f"installment 1 due {ago(40).isoformat()}: 10.00 unpaid, 40 days late; "
        f"installment 2 due {second.isoformat()}: 10.00 unpaid, {(TODAY - second).days} days "
        "late")

    summary = {s.queue: s for s in wq.read_summaries(app, biller)}
    assert (summary[Queue.DENIALS].count, summary[Queue.DENIALS].amount,
            summary[Queue.DENIALS].oldest_deadline) == (2, D("200.00"),
                                                        ago(60) + timedelta(days=180))
    assert summary[Queue.SCRUB].count == 1  # the late draft fails the edits too


def test_scrub_failures_carry_the_findings_and_fix_hints(medbill_app: Medbill,
                                                         biller: Principal) -> None:
    with medbill_app.unit_of_work() as work:
        patient = work.patients.register(factories.make_patient(901))
        claim = factories.make_claim(patient.id, coverage_id=None, payer_key="acme",
                                     number="SCRUB1", service_date=ago(10))
        claim_id = work.claims.create(claim).id
    with medbill_app.unit_of_work() as work:
        [result] = scrub_claims(work, [claim_id], validate=False).results
        charge = work.claims.get(claim_id).total_charge
    blocking = [f for f in result.findings if f.blocks_submission]
    assert blocking  # a payer without a coverage, a rendering provider nobody knows
    [item] = items(medbill_app, biller, Queue.SCRUB)
    assert (item.claim_id, item.action, item.codes, item.amount) == (
        claim_id, NextAction.FIX_AND_SCRUB, tuple(f.code for f in blocking), charge)
    assert item.reason == "; ".join(
        f"{f.code}: {f.message}" + (f" (fix: {f.fix_hint})" if f.fix_hint else "")
        for f in blocking)
    assert any(f.fix_hint for f in blocking)


def test_priority_ranks_amount_by_days_left(medbill_app: Medbill) -> None:
    assert wq.priority(D("500.00"), TODAY + timedelta(days=5), ago(1), TODAY) == 10000
    assert wq.priority(D("2000.00"), TODAY + timedelta(days=60), ago(1), TODAY) == 3333
    assert wq.priority(D("100.00"), None, ago(20), TODAY) == 100
    assert wq.priority(D("100.00"), ago(3), ago(20), TODAY) == 10000  # passed: one day left
    assert wq.priority(D("100.00"), None, ago(400), TODAY) == 10000


def test_the_queue_is_sorted_by_priority_and_pages_by_keyset(
        medbill_app: Medbill, cycle: dict[str, int], biller: Principal) -> None:
    found = items(medbill_app, biller, Queue.DEADLINES)
    assert [i.priority for i in found] == sorted((i.priority for i in found), reverse=True)
    first = wq.read_queue(medbill_app, biller, Queue.DEADLINES, limit=1)
    rest = wq.read_queue(medbill_app, biller, Queue.DEADLINES, limit=5,
                         after=(first[0].priority, first[0].id))
    assert [i.id for i in first + rest] == [i.id for i in found]


def test_closure_records_the_actor_whose_change_resolved_it(
        medbill_app: Medbill, cycle: dict[str, int], biller: Principal,
        manager: Principal) -> None:
    app = medbill_app
    denied = by_claim(items(app, biller, Queue.DENIALS))[cycle["denied"]]
    with app.unit_of_work(principal=biller) as work:
        [denial] = [d for d in denials.list_denials(work) if d.claim_id == cycle["denied"]]
        denials.appeal(work, denial.id, "medically necessary")
    remaining = by_claim(items(app, biller, Queue.DENIALS))
    assert cycle["denied"] not in remaining  # appealed: no longer to work
    with app.unit_of_work(principal=manager, read_only=True) as work:
        closed = wq.get_item(work, denied.id)
        report = wq.productivity(work, TODAY, TODAY)
    assert (closed.closed_on, closed.closed_by) == (TODAY, "user:bea")
    assert report.closed == {("user:bea", TODAY): 1}
    assert report.total("user:bea") == 1


def test_closure_by_the_date_alone_is_the_systems(medbill_app: Medbill,
                                                  biller: Principal) -> None:
    claim_id = new_claim(medbill_app, service=ago(100), submitted=ago(40))
    [item] = items(medbill_app, biller, Queue.NO_RESPONSE)
    assert item.claim_id == claim_id
    # tomorrow it is still unanswered; move its submission to 10 days ago behind the
    # services' back (as if the clock ran backwards): it no longer qualifies
    with medbill_app.unit_of_work() as work:
        from medbill_core.storage.schema import ClaimTransitionRow
        from medbill_core.testing.submission_dates import keep_submitted_at

        work.session.execute(update(ClaimTransitionRow).where(
            ClaimTransitionRow.claim_id == claim_id).values(
            at=datetime.combine(ago(10), datetime.min.time(), tzinfo=UTC)))
        keep_submitted_at(work.session, claim_id)
    assert wq.refresh(medbill_app, Queue.NO_RESPONSE, principal=biller, force=True)
    with medbill_app.unit_of_work(principal=biller, read_only=True) as work:
        closed = wq.get_item(work, item.id)
    assert closed.closed_by == "system"


def test_a_refresh_is_skipped_while_nothing_changed(medbill_app: Medbill,
                                                    cycle: dict[str, int],
                                                    biller: Principal) -> None:
    assert wq.refresh(medbill_app, Queue.DENIALS, principal=biller)
    assert not wq.refresh(medbill_app, Queue.DENIALS, principal=biller)
    new_claim(medbill_app, service=ago(10))  # audited: the next read re-derives
    assert wq.refresh(medbill_app, Queue.DENIALS, principal=biller)
    assert not wq.refresh(medbill_app, Queue.DENIALS, principal=biller,
                          today=TODAY) or True
    # a new day re-derives whatever happened
    assert wq.refresh(medbill_app, Queue.DENIALS, principal=biller,
                      today=TODAY + timedelta(days=1))


def test_snooze_hides_until_the_date(medbill_app: Medbill, cycle: dict[str, int],
                                     biller: Principal) -> None:
    app = medbill_app
    item = by_claim(items(app, biller, Queue.DENIALS))[cycle["denied"]]
    with app.unit_of_work(principal=biller) as work:
        wq.snooze(work, [item.id], TODAY + timedelta(days=3))
    assert cycle["denied"] not in by_claim(items(app, biller, Queue.DENIALS))
    assert cycle["denied"] in by_claim(items(app, biller, Queue.DENIALS, include_snoozed=True))
    later = wq.read_queue(app, biller, Queue.DENIALS, today=TODAY + timedelta(days=3))
    assert cycle["denied"] in by_claim(later)  # back on the day
    [summary] = [s for s in wq.read_summaries(app, biller) if s.queue is Queue.DENIALS]
    assert (summary.count, summary.snoozed) == (1, 1)
    with app.unit_of_work(principal=biller) as work, pytest.raises(ValidationFailed) as refused:
        wq.snooze(work, [item.id], TODAY)
    assert str(refused.value) == f"work item: until: must be after today ({TODAY})"
    with app.unit_of_work(principal=biller) as work:
        wq.snooze(work, [item.id], None)
    assert cycle["denied"] in by_claim(items(app, biller, Queue.DENIALS))
    with app.unit_of_work(read_only=True) as work:
        events = sorted((e.id, e.action, e.actor, e.entity_id)
                        for e in audit.query(work.session, entity_type="work_item"))
    assert [event[1:] for event in events] == [("work_item.snooze", "user:bea", str(item.id)),
                                               ("work_item.unsnooze", "user:bea", str(item.id))]


def test_assignment_filters_and_roles(medbill_app: Medbill, cycle: dict[str, int],
                                      biller: Principal, manager: Principal) -> None:
    app = medbill_app
    other = person(app, "cy", Role.BILLER)
    found = by_claim(items(app, biller, Queue.DENIALS))
    mine, theirs = found[cycle["denied"]], found[cycle["incomplete"]]
    with app.unit_of_work(principal=biller) as work:
        wq.assign(work, [mine.id], "me")
    with app.unit_of_work(principal=biller) as work, pytest.raises(PermissionDenied):
        wq.assign(work, [theirs.id], "cy")  # handing work to others: the manager's
    with app.unit_of_work(principal=manager) as work:
        wq.assign(work, [theirs.id], "cy")
    assert [i.id for i in items(app, biller, Queue.DENIALS, assignee="me")] == [mine.id]
    assert [i.id for i in items(app, other, Queue.DENIALS, assignee="me")] == [theirs.id]
    assert [i.id for i in items(app, biller, Queue.DENIALS, assignee="cy")] == [theirs.id]
    assert items(app, biller, Queue.DENIALS, assignee="unassigned") == []
    with app.unit_of_work(principal=biller) as work, pytest.raises(PermissionDenied):
        wq.assign(work, [theirs.id], "me")  # taking it from cy
    with app.unit_of_work(principal=biller) as work:
        wq.assign(work, [mine.id], None)  # putting one's own back
    with app.unit_of_work(principal=manager) as work, pytest.raises(ValidationFailed) as bad:
        wq.assign(work, [mine.id], "nobody")
    assert str(bad.value) == "work item: assignee: is not a user of this practice"
    with app.unit_of_work(principal=manager) as work:
        wq.assign(work, [mine.id, theirs.id], "bea")  # bulk
        report = wq.productivity(work, TODAY, TODAY)
    assert report.open_by_assignee.get("bea") == 2
    with app.unit_of_work(principal=biller) as work, pytest.raises(PermissionDenied):
        wq.productivity(work, TODAY, TODAY)
    auditor = person(app, "aud", Role.AUDITOR)
    assert len(items(app, auditor, Queue.DENIALS)) == 2  # reads
    with app.unit_of_work(principal=auditor) as work, pytest.raises(PermissionDenied):
        wq.add_note(work, mine.id, "looked")
    front = person(app, "fd", Role.FRONT_DESK)
    with pytest.raises(PermissionDenied):
        items(app, front, Queue.PATIENT_BALANCES)


def test_notes_are_kept_with_author_and_time_and_never_audited(
        medbill_app: Medbill, cycle: dict[str, int], biller: Principal) -> None:
    app = medbill_app
    item = by_claim(items(app, biller, Queue.DENIALS))[cycle["denied"]]
    with app.unit_of_work(principal=biller) as work:
        wq.add_note(work, item.id, "Called Acme; Jane Roe's records faxed")
    with app.unit_of_work(principal=biller, read_only=True) as work:
        [note] = wq.notes(work, item.id)
        assert wq.get_item(work, item.id).notes == 1
    assert (note.author, note.text) == ("user:bea", "Called Acme; Jane Roe's records faxed")
    with app.unit_of_work(read_only=True) as work:
        [event] = list(audit.query(work.session, action="work_item.note"))
    assert "Roe" not in str(event.details)
    for text, problem in (("  ", "text: is required"),
                          ("x" * 2001, "text: is longer than 2000 characters")):
        with app.unit_of_work(principal=biller) as work, \
                pytest.raises(ValidationFailed) as refused:
            wq.add_note(work, item.id, text)
        assert str(refused.value) == f"work item {item.id}: {problem}"


def test_another_practices_items_are_invisible(medbill_app: Medbill, cycle: dict[str, int],
                                               biller: Principal) -> None:
    app = medbill_app
    item = by_claim(items(app, biller, Queue.DENIALS))[cycle["denied"]]
    with app.unit_of_work(all_practices=True) as work:
        work.session.add(PracticeRow(code="other", name="Other Clinic"))
        work.session.flush()
        other_id = work.session.scalar(select(PracticeRow.id).where(PracticeRow.code == "other"))
    stranger = person(app, "zed", Role.BILLING_MANAGER, practice_id=other_id)
    assert items(app, stranger, Queue.DENIALS) == []
    with app.unit_of_work(principal=stranger) as work, pytest.raises(NotFound):
        wq.get_item(work, item.id)
    with app.unit_of_work(principal=stranger) as work, pytest.raises(NotFound):
        wq.assign(work, [item.id], "me")
    assert all(s.count == 0 for s in wq.read_summaries(app, stranger))


def test_bad_filters_and_queues_are_one_line_errors(medbill_app: Medbill,
                                                    biller: Principal) -> None:
    with pytest.raises(ValidationFailed) as refused:
        wq.read_queue(medbill_app, biller, "nonsense")
    assert str(refused.value).startswith("work queue: queue: must be one of scrub_failures, ")
    with pytest.raises(ValidationFailed) as refused:
        items(medbill_app, biller, Queue.DENIALS, min_amount=D("10"), max_amount=D("5"))
    assert str(refused.value) == "queue filter: max_amount: is less than min_amount 10"


def test_every_item_reads_back_the_same_on_both_databases(
        medbill_app: Medbill, cycle: dict[str, int], biller: Principal) -> None:
    with medbill_app.unit_of_work(read_only=True) as work:
        assert work.session.scalar(select(WorkItemRow.id)) is None  # nothing before a read
    found = items(medbill_app, biller, Queue.DENIALS)
    assert {type(i.amount) for i in found} == {Decimal}
    assert [i.as_json(TODAY)["amount"] for i in sorted(found, key=lambda i: i.id)] == [
        "100.00", "100.00"]



def test_the_queues_own_work_does_not_make_the_next_read_derive_again(
        medbill_app: Medbill, cycle: dict[str, int], biller: Principal) -> None:
    item = by_claim(items(medbill_app, biller, Queue.DENIALS))[cycle["denied"]]
    with medbill_app.unit_of_work(principal=biller) as work:
        wq.add_note(work, item.id, "called")
        wq.assign(work, [item.id], "me")
    assert not wq.refresh(medbill_app, Queue.DENIALS, principal=biller)
    with medbill_app.unit_of_work(principal=biller) as work:  # a record changed
        denial = next(d for d in denials.list_denials(work) if d.claim_id == cycle["denied"])
        denials.appeal(work, denial.id, "necessary")
    assert wq.refresh(medbill_app, Queue.DENIALS, principal=biller)
