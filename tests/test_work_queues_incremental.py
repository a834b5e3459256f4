"""The incremental refresh of the work queues against its oracle, the full derivation.

After each of a random sequence of changes made through the real services (claims sent,
denied, paid in part, rejected; denials appealed, written off, moved to the patient;
payments, plans, coverage edits, unmatched remittances), every queue is refreshed as a read
would refresh it (incrementally: only the subjects the audit trail names since the last
mark) and its stored open items must be exactly the items a full derivation finds now.
"""

from __future__ import annotations

import contextlib
import itertools
import random
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, update
from test_receivables import ago, claim_number, new_claim, patient_of, remit
from test_work_queues import biller, cycle  # noqa: F401  (fixtures)

from medbill_core.app import Medbill
from medbill_core.domain import ClaimState, ClaimStatusCode, Payment
from medbill_core.domain.identity import Principal
from medbill_core.errors import MedbillError
from medbill_core.services import denials
from medbill_core.services import work_queues as wq
from medbill_core.services.payments import new_plan, record_payment
from medbill_core.services.work_queue_sources import Queue, Scope, derive
from medbill_core.storage.schema import (
    ClaimRow,
    CoverageRow,
    DenialRow,
    LedgerEntryRow,
    WorkItemRow,
)

D = Decimal
S = ClaimState
_refs = itertools.count(1)


def stored_and_derived(app: Medbill, queue: Queue) -> tuple[dict[str, Any], dict[str, Any]]:
    """The queue's open items as stored, and the items a full derivation finds now, each as
    item key -> the derived columns."""
    today = ago(0)
    with app.unit_of_work(wq.SYSTEM, practice_id=1) as work:
        stored = {row.item_key: {name: getattr(row, name) for name in wq._DERIVED}
                  for row in work.session.scalars(select(WorkItemRow).where(
                      WorkItemRow.queue == queue.value, WorkItemRow.closed_at.is_(None)))}
        for values in stored.values():
            values["codes"] = list(values["codes"] or [])
        full = {item.key: wq._values(item, today) for item in derive(work, queue, today)}
    for values in full.values():
        values["label"] = values["label"][:60]
    return stored, full


def _ids(app: Medbill, query: Any) -> list[int]:
    with app.unit_of_work() as work:
        return sorted(set(work.session.scalars(query)))


def _pick(rng: random.Random, app: Medbill, query: Any) -> int | None:
    found = _ids(app, query)
    return rng.choice(found) if found else None


# -- the changes, each through a service (a refused one changes nothing) ------------------------

def send_new_claim(rng: random.Random, app: Medbill) -> None:
    payer = rng.choice(["acme", "medicare", "bluecross"])
    age = rng.randint(20, 150)
    new_claim(app, payer=payer, service=ago(age), submitted=ago(age - rng.randint(1, 15)))


def new_draft(rng: random.Random, app: Medbill) -> None:
    new_claim(app, payer="bluecross", service=ago(rng.randint(140, 190)))


def _sent(rng: random.Random, app: Medbill) -> int | None:
    return _pick(rng, app, select(ClaimRow.id).where(ClaimRow.state.in_(
        [S.SUBMITTED.value, S.ACKNOWLEDGED.value, S.ACCEPTED.value])))


def deny(rng: random.Random, app: Medbill) -> None:
    claim_id = _sent(rng, app)
    if claim_id is not None:
        remit(app, claim_number(app, claim_id), paid="0.00", co="100.00",
              co_code=rng.choice(["50", "16", "29", "197"]), status=ClaimStatusCode.DENIED,
              on=ago(rng.randint(1, 40)))


def pay_in_part(rng: random.Random, app: Medbill) -> None:
    claim_id = _sent(rng, app)
    if claim_id is not None:
        if rng.random() < 0.5:  # the payer still owes the rest
            remit(app, claim_number(app, claim_id), paid="40.00", co="10.00", on=ago(5),
                  charge="100.00")
        else:  # the patient owes a share
            remit(app, claim_number(app, claim_id), paid="50.00", co="20.00", pr="30.00",
                  on=ago(rng.randint(1, 60)))


def reject(rng: random.Random, app: Medbill) -> None:
    claim_id = _pick(rng, app, select(ClaimRow.id).where(ClaimRow.state.in_(
        [S.SUBMITTED.value, S.ACKNOWLEDGED.value])))
    if claim_id is not None:
        with app.unit_of_work() as work:
            work.claims.transition(claim_id, S.REJECTED, reason="277CA A7:21")


def decide_denial(rng: random.Random, app: Medbill) -> None:
    denial_id = _pick(rng, app, select(DenialRow.id).where(DenialRow.status == "open"))
    if denial_id is None:
        return
    with app.unit_of_work() as work:
        decision = rng.choice(["appeal", "write_off", "to_patient"])
        if decision == "appeal":
            denials.appeal(work, denial_id, "medically necessary")
        elif decision == "write_off":
            denials.write_off(work, denial_id, "not worth an appeal")
        else:
            denials.transfer_to_patient(work, denial_id)


def _owing(rng: random.Random, app: Medbill) -> int | None:
    with app.unit_of_work() as work:
        from sqlalchemy import func

        total = func.sum(LedgerEntryRow.patient_delta)
        found = sorted(work.session.scalars(select(LedgerEntryRow.patient_id).group_by(
            LedgerEntryRow.patient_id).having(total > 0)))
    return rng.choice(found) if found else None


def pay(rng: random.Random, app: Medbill) -> None:
    patient_id = _owing(rng, app)
    if patient_id is not None:
        with app.unit_of_work() as work:
            record_payment(work, Payment(patient_id=patient_id, amount=D("10.00"),
                                         method="cash", reference=f"R-{next(_refs)}",
                                         received_on=ago(0)))


def plan(rng: random.Random, app: Medbill) -> None:
    patient_id = _owing(rng, app)
    if patient_id is not None:
        with app.unit_of_work() as work:
            new_plan(work, patient_id, D("10.00"), 2, ago(rng.randint(0, 50)),
                     confirmed_date=True)


def edit_coverage(rng: random.Random, app: Medbill) -> None:
    coverage_id = _pick(rng, app, select(CoverageRow.id))
    if coverage_id is not None:
        with app.unit_of_work() as work:
            work.patients.edit_coverage(coverage_id, {"member_id": f"NEW{next(_refs):06d}"})


def correct_or_void(rng: random.Random, app: Medbill) -> None:
    """A replacement (frequency 7: it shares the original's account) or a void (8)."""
    claim_id = _pick(rng, app, select(ClaimRow.id).where(ClaimRow.state.in_(
        [S.DENIED.value, S.PARTIALLY_PAID.value, S.PAID.value, S.PATIENT_BALANCE.value])))
    if claim_id is None:
        return
    with app.unit_of_work() as work:
        # the payer's claim control number the answer would have carried (the test's 835s
        # leave it out); the queues read nothing of it
        work.session.execute(update(ClaimRow).where(ClaimRow.id == claim_id).values(
            payer_claim_number=f"PCN{claim_id}"))
        if rng.random() < 0.6:
            work.claims.correct(claim_id, work.claims.get(claim_id), reason="modifier added")
        else:
            work.claims.void(claim_id, reason="billed in error")


def reopen_rejected(rng: random.Random, app: Medbill) -> None:
    claim_id = _pick(rng, app, select(ClaimRow.id).where(ClaimRow.state == S.REJECTED.value))
    if claim_id is not None:
        with app.unit_of_work() as work:
            work.claims.transition(claim_id, S.DRAFT, reason="reopened to fix the member ID")


def work_appeal(rng: random.Random, app: Medbill) -> None:
    """Send an open appeal, or record the payer's answer to a sent one."""
    from medbill_core.services import appeals
    from medbill_core.storage.schema import AppealRow

    appeal_id = _pick(rng, app, select(AppealRow.id).where(AppealRow.status.in_(
        ["open", "sent"])))
    if appeal_id is None:
        return
    with app.unit_of_work() as work:
        if appeals.get_appeal(work, appeal_id).status.value == "open":
            appeals.mark_sent(work, appeal_id, ago(rng.randint(0, 3)))
        else:
            appeals.record_outcome(work, appeal_id, rng.random() < 0.5, "the payer answered")


def unmatched_remittance(rng: random.Random, app: Medbill) -> None:
    remit(app, f"NOSUCH{next(_refs)}", paid="25.00", on=ago(rng.randint(0, 5)))


CHANGES: list[Callable[[random.Random, Medbill], None]] = [
    send_new_claim, new_draft, deny, deny, pay_in_part, reject, decide_denial, decide_denial,
    pay, plan, edit_coverage, unmatched_remittance, correct_or_void, reopen_rejected,
    work_appeal, work_appeal]


STEPS = 20


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_after_random_changes_the_incremental_items_equal_a_full_derivations(
        medbill_app: Medbill, cycle: dict[str, int], biller: Principal,  # noqa: F811
        seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    app = medbill_app
    rng = random.Random(seed)
    scopes: list[Scope | None] = []
    touched = wq.touched

    def spy(*args: Any) -> Scope | None:
        scopes.append(touched(*args))
        return scopes[-1]

    monkeypatch.setattr(wq, "touched", spy)
    wq.read_summaries(app, biller)  # the first read: every queue derived in full
    for step in range(STEPS):
        change = rng.choice(CHANGES)
        with contextlib.suppress(MedbillError):  # refused by its service: nothing changed
            change(rng, app)
        for queue in Queue:
            wq.read_queue(app, biller, queue, limit=1)
            stored, full = stored_and_derived(app, queue)
            assert stored == full, (seed, step, change.__name__, queue.value)
    # the reads were incremental (a scope found), not full derivations in disguise
    assert scopes and all(scope is not None for scope in scopes)


def test_the_summary_refreshes_incrementally_and_the_same_as_in_full(
        medbill_app: Medbill, cycle: dict[str, int], biller: Principal) -> None:  # noqa: F811
    app = medbill_app
    wq.read_summaries(app, biller)
    with app.unit_of_work() as work:  # the denied claim appealed, a new claim sent
        denial = next(d for d in denials.list_denials(work) if d.claim_id == cycle["denied"])
        denials.appeal(work, denial.id, "medically necessary")
    new_claim(app, service=ago(100), submitted=ago(60))
    incremental = {s.queue: s for s in wq.read_summaries(app, biller)}
    for queue in Queue:
        stored, full = stored_and_derived(app, queue)
        assert stored == full, queue.value
    assert incremental[Queue.DENIALS].count == 1  # the CO-16 one left
    assert incremental[Queue.NO_RESPONSE].count == 2


def test_an_event_the_mapping_does_not_know_derives_in_full(
        medbill_app: Medbill, cycle: dict[str, int], biller: Principal) -> None:  # noqa: F811
    from medbill_core import audit

    app = medbill_app
    wq.read_summaries(app, biller)
    with app.unit_of_work(wq.SYSTEM, practice_id=1, read_only=True) as work:
        mark = wq.audit_head(work, 1)
    with app.unit_of_work() as work:
        audit.record(work.session, actor="tester", action="practice.details_set",
                     entity_type="practice", entity_id=1, details={"fields": ["name"]})
    with app.unit_of_work() as work:
        patient_id = patient_of(app, cycle["denied"])
        audit.record(work.session, actor="tester", action="patient.update",
                     entity_type="patient", entity_id=patient_id, details={"fields": []})
    with app.unit_of_work(wq.SYSTEM, practice_id=1, read_only=True) as work:
        head = wq.audit_head(work, 1)
        assert wq.touched(work, 1, mark, head) is None  # the practice's event: unknown
        scope = wq.touched(work, 1, mark + 1, head)
    assert scope is not None
    assert cycle["denied"] in scope.claims and patient_id in scope.patients


def test_the_daily_job_derives_every_queue_for_the_day(
        medbill_app: Medbill, cycle: dict[str, int], biller: Principal) -> None:  # noqa: F811
    from medbill_core.jobs import JOB_KINDS
    from medbill_core.jobs import tasks as job_tasks

    assert wq.stale_queues(medbill_app, biller) == list(Queue)  # never read
    job_tasks.use(medbill_app)
    try:
        job_tasks.work_queues.func(None)
    finally:
        job_tasks.use(None)  # type: ignore[arg-type]
    assert wq.stale_queues(medbill_app, biller) == []  # the first read finds them fresh
    for queue in Queue:
        stored, full = stored_and_derived(medbill_app, queue)
        assert stored == full, queue.value
    assert "work-queues" in JOB_KINDS
