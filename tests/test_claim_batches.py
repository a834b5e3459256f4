"""Claims created, read, moved, scrubbed, submitted and acknowledged in batches.

The batch services send a number of SQL statements that does not grow with the number of
claims (counted with an Engine listener; audit events are left out: writing them is the audit
trail's business, see test_audit_chain), and leave the same rows, ledger entries and audit
events as the per-claim methods they replace.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from decimal import Decimal
from typing import Any

import pytest
from inproc_plugins import line_practice_config, make_line_plugin
from sqlalchemy import func, select, update

from medbill_core import audit
from medbill_core.config import MedbillConfig
from medbill_core.domain import (
    AckStatus,
    ClaimAcknowledgment,
    ClaimAcknowledgmentBatch,
    ClaimAckStatus,
    ClaimState,
    FunctionalAcknowledgment,
    StatusCode,
)
from medbill_core.errors import IllegalTransition, NotFound, UnknownPayer, ValidationFailed
from medbill_core.services.claims import ClaimAdvance, ClaimMove
from medbill_core.services.responses import apply_decoded
from medbill_core.services.scrubbing import scrub_claims
from medbill_core.services.submission import prepare_batches, send_pending
from medbill_core.storage.schema import (
    ClaimLineRow,
    ClaimRow,
    ClaimTransitionRow,
    LedgerEntryRow,
    PostingRow,
    SubmissionRow,
)
from medbill_core.testing import factories
from medbill_core.testing.sql import sent_statements

S = ClaimState
#: statements a batch may send beyond those of a batch of the smallest size (the IN lists and
#: executemany pages of a few hundred more ids)
SLACK = 3


@pytest.fixture
def medbill_config(medbill_db_url: str) -> MedbillConfig:
    return line_practice_config(medbill_db_url)


@pytest.fixture
def line_plugin() -> Any:
    return make_line_plugin()


@pytest.fixture
def medbill_extra_plugins(line_plugin: Any) -> list[tuple[str, Any]]:
    return [("lineplug", line_plugin)]


def counted(app: Any) -> AbstractContextManager[list[str]]:
    """The statements sent meanwhile, but those writing or reading audit events."""
    return sent_statements(app.database.engine, keep=lambda sql: "audit_events" not in sql)


def setup_practice(app: Any, patients: int = 3) -> list[tuple[int, int]]:
    """(patient id, coverage id) of ``patients`` insured patients."""
    found = []
    with app.unit_of_work() as work:
        work.patients.register_provider(factories.make_provider())
        for n in range(1, patients + 1):
            patient = work.patients.register(factories.make_patient(n))
            coverage = work.patients.add_coverage(
                patient.id, factories.make_coverage(payer_key="linepay"))
            found.append((patient.id, coverage.id))
    return found


def new_claims(practice: list[tuple[int, int]], count: int, prefix: str) -> list[Any]:
    claims = []
    for n in range(count):
        patient_id, coverage_id = practice[n % len(practice)]
        claims.append(factories.make_claim(patient_id, coverage_id=coverage_id,
                                           payer_key="linepay", number=f"{prefix}{n}",
                                           lines=1 + n % 3))
    return claims


def create(app: Any, claims: list[Any]) -> list[int]:
    with app.unit_of_work() as work:
        return [c.id for c in work.claims.create_many(claims)]


def cost(app: Any, action: Callable[[Any], object]) -> int:
    """Statements ``action(work)`` sends in one unit of work (its BEGIN and COMMIT too)."""
    with counted(app) as statements, app.unit_of_work() as work:
        action(work)
    return len(statements)


def bounded(small: int, large: int) -> None:
    """A batch of four times the claims costs the same statements, within :data:`SLACK`."""
    assert large <= small + SLACK, (small, large)


# -- create ---------------------------------------------------------------------------------

def test_create_many_writes_what_create_writes_claim_by_claim(medbill_app) -> None:
    practice = setup_practice(medbill_app)
    with medbill_app.unit_of_work() as work:
        one_by_one = [work.claims.create(c) for c in new_claims(practice, 3, "ONE")]
    with medbill_app.unit_of_work() as work:
        batch = work.claims.create_many(new_claims(practice, 3, "BAT"))
    assert [c.claim_number for c in batch] == ["BAT0", "BAT1", "BAT2"]

    def shape(claim: Any) -> tuple[Any, ...]:
        dumped = claim.model_dump(exclude={"id", "claim_number", "created_at"})
        return (dumped, claim.state)

    assert [shape(c) for c in batch] == [shape(c) for c in one_by_one]
    with medbill_app.unit_of_work() as work:
        for single, batched in zip(one_by_one, batch, strict=True):
            assert work.claims.get(batched.id) == batched  # as stored
            assert shape(work.claims.get(single.id)) == shape(batched)
            entries = [[(e.kind, e.amount, e.insurance_delta, e.patient_delta,
                         e.claim_line_number, e.patient_id, e.payer_key, e.effective_date)
                        for e in work.session.scalars(
                            select(LedgerEntryRow).where(LedgerEntryRow.claim_id == claim_id)
                            .order_by(LedgerEntryRow.id))]
                       for claim_id in (single.id, batched.id)]
            assert entries[0] == entries[1] and entries[0]
            postings = [work.session.scalars(select(PostingRow).where(
                PostingRow.posting_key == f"charge:claim:{claim_id}")).one()
                for claim_id in (single.id, batched.id)]
            assert [(p.source, p.actor, p.memo) for p in postings] == [
                ("claim", "tester", f"charges of claim {single.id}"),
                ("claim", "tester", f"charges of claim {batched.id}")]
        events = list(reversed(audit.query(work.session, limit=12)))

    def normal(e: Any, claim: Any) -> tuple[str, dict[str, Any]]:
        details = dict(e.details)
        if e.action == "ledger.post":
            assert details.pop("key") == f"charge:claim:{claim.id}"
        else:
            assert e.entity_id == str(claim.id)
            assert details.pop("claim_number") == claim.claim_number
        return e.action, details

    assert [normal(e, c) for e, c in zip(events[6:], [c for c in batch for _ in "ab"],
                                         strict=True)] \
        == [normal(e, c) for e, c in zip(events[:6], [c for c in one_by_one for _ in "ab"],
                                         strict=True)]
    assert [e.action for e in events[6:]] == ["claim.create", "ledger.post"] * 3


def test_create_many_refuses_the_first_bad_claim_and_writes_nothing(medbill_app) -> None:
    practice = setup_practice(medbill_app, 1)
    create(medbill_app, new_claims(practice, 1, "OLD"))
    good = new_claims(practice, 2, "NEW")
    cases = [
        (good[0].model_copy(update={"claim_number": "OLD0"}), ValidationFailed,
         "already used by another claim"),
        (good[1].model_copy(update={"claim_number": "NEW0"}), ValidationFailed,
         "already used by another claim"),  # by the claim before it in the batch
        (good[1].model_copy(update={"patient_id": 999}), ValidationFailed, "no such patient"),
        (good[1].model_copy(update={"coverage_id": 999}), ValidationFailed,
         "no such coverage for this patient"),
        (good[1].model_copy(update={"payer_key": "nobody"}), UnknownPayer, "nobody"),
    ]
    for bad, error, words in cases:
        with pytest.raises(error, match=words), medbill_app.unit_of_work() as work:
            work.claims.create_many([good[0], bad, good[1]])
    with medbill_app.unit_of_work() as work:
        assert work.session.scalars(select(ClaimRow.claim_number)).all() == ["OLD0"]


def test_create_many_cost_does_not_grow_with_the_batch(medbill_app) -> None:
    practice = setup_practice(medbill_app, 10)
    small = cost(medbill_app, lambda work: work.claims.create_many(new_claims(practice, 50, "A")))
    large = cost(medbill_app, lambda work: work.claims.create_many(new_claims(practice, 200, "B")))
    bounded(small, large)
    assert small <= 12


# -- read and move --------------------------------------------------------------------------

def test_reads_by_id_and_number_cost_a_few_queries(medbill_app) -> None:
    practice = setup_practice(medbill_app, 10)
    ids = create(medbill_app, new_claims(practice, 200, "R"))
    numbers = [f"R{n}" for n in range(200)]
    small = cost(medbill_app, lambda work: work.claims.get_many(ids[:50]))
    large = cost(medbill_app, lambda work: work.claims.get_many(ids))
    bounded(small, large)
    assert small <= 4  # BEGIN, claims, lines (and COMMIT on PostgreSQL)
    small = cost(medbill_app, lambda work: work.claims.by_numbers(numbers[:50]))
    large = cost(medbill_app, lambda work: work.claims.by_numbers(numbers))
    bounded(small, large)
    with medbill_app.unit_of_work() as work:
        claims = work.claims.get_many([ids[3], ids[1], ids[3]])
        assert [c.claim_number for c in claims] == ["R3", "R1", "R3"]
        assert len(claims[0].lines) == 1 + 3 % 3 and claims[1].lines
        found = work.claims.by_numbers(["R2", "nope", "R2"])
        assert list(found) == ["R2"] and found["R2"].id == ids[2]
        with pytest.raises(NotFound):
            work.claims.get_many([ids[0], 10**6])
        with pytest.raises(NotFound):
            work.claims.by_number("nope")


def test_a_list_page_is_the_claims_get_reads_in_a_few_queries(medbill_app) -> None:
    practice = setup_practice(medbill_app, 4)
    claims = new_claims(practice, 30, "L")
    patient_id, coverage_id = practice[0]
    claims.append(factories.make_institutional_claim(
        patient_id, coverage_id=coverage_id, payer_key="linepay", number="LI1"))
    ids = create(medbill_app, claims)
    with medbill_app.unit_of_work(read_only=True) as work:
        page = work.claims.list(limit=20)
        rest = work.claims.list(limit=100, after_id=ids[19])
        filtered = work.claims.list(patient_id=patient_id, limit=100)
    with medbill_app.unit_of_work(read_only=True) as work:
        expected = work.claims.get_many(ids)
    # the same domain claims (every field, lines in order, institutional details) as a read
    # of each claim through its ORM row
    assert page + rest == expected
    assert [c.lines for c in page[:3]] == [e.lines for e in expected[:3]]
    assert len(page[1].lines) == 2 and expected[-1].institutional is not None
    assert filtered == [c for c in expected if c.patient_id == patient_id]
    small = cost(medbill_app, lambda work: work.claims.list(limit=5))
    large = cost(medbill_app, lambda work: work.claims.list(limit=100))
    bounded(small, large)
    assert small <= 4  # BEGIN, claims, lines (and COMMIT on PostgreSQL)


def test_transition_many_moves_records_and_audits_like_transition(medbill_app) -> None:
    practice = setup_practice(medbill_app)
    ids = create(medbill_app, new_claims(practice, 3, "T"))
    with medbill_app.unit_of_work() as work:
        moved = work.claims.transition_many([
            ClaimMove(ids[0], S.VALIDATED, "clean"),
            ClaimMove(ids[1], S.VALIDATED, "clean"),
            ClaimMove(ids[0], S.SUBMITTED, "sent", payer_claim_number="PCN0"),
            ClaimMove(ids[2], S.DELETED, "not needed")])
        assert [(c.claim_number, c.state, c.payer_claim_number) for c in moved] == [
            ("T0", S.VALIDATED, None), ("T1", S.VALIDATED, None),
            ("T0", S.SUBMITTED, "PCN0"), ("T2", S.DELETED, None)]
        assert work.claims.get(ids[0]).state is S.SUBMITTED  # the session sees it
    with medbill_app.unit_of_work() as work:
        assert [(c.state, c.payer_claim_number) for c in work.claims.get_many(ids)] == [
            (S.SUBMITTED, "PCN0"), (S.VALIDATED, None), (S.DELETED, None)]
        assert [(t.source, t.target, t.reason) for t in work.claims.history(ids[0])] == [
            (S.DRAFT, S.VALIDATED, "clean"), (S.VALIDATED, S.SUBMITTED, "sent")]
        events = list(reversed(audit.query(work.session, action="claim.transition")))
        assert [(e.entity_id, e.details) for e in events] == [
            (str(ids[0]), {"from": "draft", "to": "validated"}),
            (str(ids[1]), {"from": "draft", "to": "validated"}),
            (str(ids[0]), {"from": "validated", "to": "submitted"}),
            (str(ids[2]), {"from": "draft", "to": "deleted"})]
    # an illegal move refuses the whole batch before anything is written
    with pytest.raises(IllegalTransition), medbill_app.unit_of_work() as work:
        work.claims.transition_many([ClaimMove(ids[1], S.QUEUED, "batch"),
                                     ClaimMove(ids[2], S.DRAFT, "back")])
    with medbill_app.unit_of_work() as work:
        assert work.claims.get(ids[1]).state is S.VALIDATED
        assert work.claims.advance_many([
            ClaimAdvance(work.claims.get(ids[0]), S.ACKNOWLEDGED, "999", acknowledgment=True),
            ClaimAdvance(work.claims.get(ids[0]), S.ACCEPTED, "277CA", acknowledgment=True),
            ClaimAdvance(work.claims.get(ids[0]), S.ACKNOWLEDGED, "late 999",
                         acknowledgment=True)])[2] is None


def test_read_many_and_transition_read_move_claims_read_once(medbill_app) -> None:
    practice = setup_practice(medbill_app)
    ids = create(medbill_app, new_claims(practice, 3, "R"))
    with medbill_app.unit_of_work(read_only=True) as work:
        expected = work.claims.get_many(ids)
    with medbill_app.unit_of_work() as work:
        work.claims.get(ids[0])  # a row this unit of work holds is moved as a row
        read = work.claims.read_many([ids[1], ids[0], ids[2], ids[1], 999_999])
        assert read == dict(zip(ids, expected, strict=True))
        # the claims it did not hold are read as column values: no row is kept for them
        assert [row.id for row in work.session.identity_map.values()
                if isinstance(row, ClaimRow)] == [ids[0]]
        moved = work.claims.transition_read([
            ClaimMove(ids[1], S.VALIDATED, "clean"),
            ClaimMove(ids[0], S.VALIDATED, "clean"),
            ClaimMove(ids[1], S.SUBMITTED, "sent", payer_claim_number="PCN1")], read)
        assert [(c.claim_number, c.state, c.payer_claim_number) for c in moved] == [
            ("R1", S.VALIDATED, None), ("R0", S.VALIDATED, None), ("R1", S.SUBMITTED, "PCN1")]
        assert work.claims.get(ids[0]).state is S.VALIDATED  # the held row says so
        assert work.claims.get(ids[1]) == moved[2]
        with pytest.raises(NotFound):
            work.claims.transition_read([ClaimMove(999_999, S.VALIDATED, "clean")], read)
        with pytest.raises(IllegalTransition):
            work.claims.transition_read([ClaimMove(ids[2], S.SUBMITTED, "sent")], read)
    with medbill_app.unit_of_work(read_only=True) as work:
        assert work.claims.get_many(ids) == [
            expected[0].model_copy(update={"state": S.VALIDATED}), moved[2], expected[2]]
        assert [(t.source, t.target, t.reason) for t in work.claims.history(ids[1])] == [
            (S.DRAFT, S.VALIDATED, "clean"), (S.VALIDATED, S.SUBMITTED, "sent")]


def test_transition_many_cost_does_not_grow_with_the_batch(medbill_app) -> None:
    practice = setup_practice(medbill_app, 10)
    ids = create(medbill_app, new_claims(practice, 250, "M"))
    small = cost(medbill_app, lambda work: work.claims.transition_many(
        ClaimMove(i, S.VALIDATED, "clean") for i in ids[:50]))
    large = cost(medbill_app, lambda work: work.claims.transition_many(
        [ClaimMove(i, S.VALIDATED, "clean") for i in ids[50:]]
        + [ClaimMove(i, S.QUEUED, "batch 1", payer_claim_number=f"P{i}") for i in ids[50:]]))
    bounded(small, large)
    with medbill_app.unit_of_work() as work:
        assert work.session.scalar(select(ClaimTransitionRow.target).where(
            ClaimTransitionRow.claim_id == ids[-1]).order_by(ClaimTransitionRow.id.desc())
            .limit(1)) == "queued"
        assert work.claims.get(ids[-1]).payer_claim_number == f"P{ids[-1]}"


# -- the cycle's batch services -------------------------------------------------------------

def cycle_costs(app: Any, practice: list[tuple[int, int]], count: int, prefix: str
                ) -> dict[str, int]:
    """Statements of scrubbing, batching, sending and acknowledging ``count`` new claims."""
    ids = create(app, new_claims(practice, count, prefix))
    costs = {"scrub": cost(app, lambda work: scrub_claims(work, ids)),
             "prepare": cost(app, prepare_batches)}
    with counted(app) as statements:
        send_pending(app)
    costs["send"] = len(statements)
    with app.unit_of_work() as work:
        control = work.session.scalars(select(SubmissionRow.control_number)
                                       .order_by(SubmissionRow.id.desc())).first()
    costs["999"] = cost(app, lambda work: apply_decoded(work, FunctionalAcknowledgment(
        group_control_number=control, functional_id="HC", status=AckStatus.ACCEPTED)))
    costs["277CA"] = cost(app, lambda work: apply_decoded(work, ClaimAcknowledgmentBatch(
        claims=[ClaimAcknowledgment(claim_number=f"{prefix}{n}", status=ClaimAckStatus.ACCEPTED,
                                    payer_claim_number=f"PCN{n}",
                                    status_codes=[StatusCode(category="A2", code="20")])
                for n in range(count)])))
    with app.unit_of_work() as work:
        assert {c.state for c in work.claims.get_many(ids)} == {S.ACCEPTED}
    return costs


def test_cycle_services_cost_does_not_grow_with_the_batch(medbill_app) -> None:
    practice = setup_practice(medbill_app, 10)
    small = cycle_costs(medbill_app, practice, 50, "C")
    large = cycle_costs(medbill_app, practice, 200, "D")
    for phase, statements in small.items():
        assert large[phase] <= statements + SLACK, (phase, small, large)


def test_batching_reads_again_the_rows_read_before_it_locked(medbill_app) -> None:
    """Claims read earlier in the transaction (as rows) are batched as they are once locked:
    their rows are read again, then say what the batch left (queued)."""
    practice = setup_practice(medbill_app)
    ids = create(medbill_app, new_claims(practice, 3, "L"))
    with medbill_app.unit_of_work() as work:
        scrub_claims(work, ids)
    with medbill_app.unit_of_work() as work:
        before = work.claims.get(ids[0])  # its row is held, lines loaded
        # changed behind the held row (as by another transaction before the lock)
        work.session.execute(update(ClaimRow.__table__).where(ClaimRow.id == ids[0])
                             .values(prior_authorization="PA-LOCKED"))
        prepare_batches(work)
        row = work.session.get_one(ClaimRow, ids[0])
        assert (row.state, row.prior_authorization) == ("queued", "PA-LOCKED")
        assert work.claims.get(ids[0]) == before.model_copy(update={
            "state": S.QUEUED, "prior_authorization": "PA-LOCKED"})
        assert work.session.scalar(select(func.count()).where(
            ClaimRow.state == "queued")) == 3


def test_acknowledgments_in_a_batch_keep_their_order(medbill_app) -> None:
    """A 277CA naming a claim twice: the second answer sees the first (accepted, then a late
    rejection only recorded); an unknown number is not applicable."""
    practice = setup_practice(medbill_app)
    ids = create(medbill_app, new_claims(practice, 2, "K"))
    with medbill_app.unit_of_work() as work:
        scrub_claims(work, ids)
        prepare_batches(work)
    send_pending(medbill_app)

    def ack(number: str, status: ClaimAckStatus, pcn: str | None = None) -> ClaimAcknowledgment:
        return ClaimAcknowledgment(claim_number=number, status=status, payer_claim_number=pcn,
                                   status_codes=[StatusCode(category="A2", code="20")])

    with medbill_app.unit_of_work() as work:
        detail = apply_decoded(work, ClaimAcknowledgmentBatch(claims=[
            ack("K0", ClaimAckStatus.ACCEPTED, "PCN0"), ack("K0", ClaimAckStatus.REJECTED),
            ack("NOPE", ClaimAckStatus.ACCEPTED), ack("K1", ClaimAckStatus.REJECTED, "PCN1")]))
    assert detail == "277CA: 1 accepted, 1 rejected, 2 not applicable"
    with medbill_app.unit_of_work() as work:
        assert [(c.state, c.payer_claim_number) for c in work.claims.get_many(ids)] == [
            (S.ACCEPTED, "PCN0"), (S.REJECTED, "PCN1")]
        events = list(reversed(audit.query(work.session, entity_type="claim", limit=3)))
        assert [(e.action, e.entity_id) for e in events] == [
            ("claim.transition", str(ids[0])), ("claim.acknowledgment_kept", str(ids[0])),
            ("claim.transition", str(ids[1]))]
        assert events[-2].details == {"answer": "277CA A2:20", "would_move_to": "rejected",
                                      "state": "accepted"}


def test_lines_of_rows_loaded_without_them_come_in_one_query(medbill_app) -> None:
    practice = setup_practice(medbill_app, 5)
    ids = create(medbill_app, new_claims(practice, 60, "L"))
    with medbill_app.unit_of_work() as work:
        work.session.scalars(select(ClaimRow)).all()  # rows held without their lines
        with counted(medbill_app) as statements:
            claims = work.claims.get_many(ids)
        assert len(statements) == 1 and "claim_lines" in statements[0]
        assert [len(c.lines) for c in claims[:3]] == [1, 2, 3]
        assert sum(len(c.lines) for c in claims) == work.session.scalar(
            select(func.count()).select_from(ClaimLineRow))
        assert sum(c.total_charge for c in claims) > Decimal(0)


def test_a_savepoint_rolled_back_forgets_batch_writes(medbill_app) -> None:
    """Rows the batch methods wrote with statements are expired by a savepoint's rollback, as
    the ORM expires what it flushed: the unit of work then reads what the database holds."""
    practice = setup_practice(medbill_app)
    [kept] = create(medbill_app, new_claims(practice, 1, "S"))
    with medbill_app.unit_of_work() as work:
        savepoint = work.session.begin_nested()
        work.claims.transition(kept, S.VALIDATED, reason="clean")
        [gone] = work.claims.create_many(new_claims(practice, 1, "GONE"))
        assert work.claims.by_number("GONE0").id == gone.id
        savepoint.rollback()
        assert work.claims.get(kept).state is S.DRAFT
        with pytest.raises(NotFound):
            work.claims.by_number("GONE0")
        with pytest.raises(NotFound):
            work.claims.get(gone.id)
        [again] = work.claims.create_many(new_claims(practice, 1, "AGAIN"))
        assert work.claims.get(again.id).claim_number == "AGAIN0"
        assert work.claims.transition(kept, S.VALIDATED, reason="clean").state is S.VALIDATED
    with medbill_app.unit_of_work() as work:
        assert work.claims.get(kept).state is S.VALIDATED
        assert work.claims.get(again.id).claim_number == "AGAIN0"
        assert [t.target for t in work.claims.history(kept)] == [S.VALIDATED]
