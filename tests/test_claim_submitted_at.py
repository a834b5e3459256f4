"""A claim keeps its latest submission (``claims.submitted_at``): written with each move to
``submitted`` (the follow-up list reads it), equal to the latest transition to ``submitted``,
and filled by migration 0041 from the transitions (both databases)."""

from __future__ import annotations

from datetime import datetime

from migration_support import migrate_again_from
from sqlalchemy import func, select

from medbill_core.domain import ClaimState as S
from medbill_core.services.claims import ClaimMove
from medbill_core.storage.schema import ClaimRow, ClaimTransitionRow, as_utc
from medbill_core.testing.factories import make_claim, make_coverage, make_patient


def _new_claims(app, count: int) -> list[int]:
    with app.unit_of_work() as work:
        patient = work.patients.register(make_patient(1))
        coverage = work.patients.add_coverage(patient.id, make_coverage()).id
        return [work.claims.create(make_claim(patient.id, coverage_id=coverage,
                                              number=f"SA{n:04d}")).id
                for n in range(count)]


def _latest_submission(work, claim_id: int) -> datetime | None:
    return work.session.scalar(select(func.max(ClaimTransitionRow.at)).where(
        ClaimTransitionRow.claim_id == claim_id, ClaimTransitionRow.target == "submitted"))


def _kept(work, claim_id: int) -> datetime | None:
    return work.session.scalar(select(ClaimRow.submitted_at).where(ClaimRow.id == claim_id))


def _same_instant(kept: datetime | None, latest: datetime | None) -> bool:
    """Equal instants (SQLite gives stored times back naive UTC, PostgreSQL aware)."""
    return kept is not None and latest is not None and as_utc(kept) == as_utc(latest)


def test_each_submission_is_kept_the_latest_wins(medbill_app) -> None:
    [claim_id, never_sent] = _new_claims(medbill_app, 2)
    with medbill_app.unit_of_work() as work:
        assert _kept(work, claim_id) is None
        for target in (S.VALIDATED, S.SUBMITTED):
            work.claims.transition(claim_id, target)
    with medbill_app.unit_of_work() as work:
        first = _kept(work, claim_id)
        assert _same_instant(first, _latest_submission(work, claim_id))
        # rejected, corrected and sent again: the second submission is the one kept
        for target in (S.REJECTED, S.DRAFT, S.VALIDATED, S.SUBMITTED, S.ACCEPTED):
            work.claims.transition(claim_id, target)
    with medbill_app.unit_of_work() as work:
        second = _kept(work, claim_id)
        assert _same_instant(second, _latest_submission(work, claim_id))
        assert first is not None and second is not None and second > first
        assert work.session.scalar(select(func.count()).where(
            ClaimTransitionRow.claim_id == claim_id,
            ClaimTransitionRow.target == "submitted")) == 2
        # moves that are not submissions leave it alone; a claim never sent has none
        work.claims.transition(claim_id, S.PAID)
    with medbill_app.unit_of_work() as work:
        assert _kept(work, claim_id) == second
        assert _kept(work, never_sent) is None


def test_a_batch_that_sends_a_claim_twice_keeps_its_second_submission(medbill_app) -> None:
    [claim_id, other] = _new_claims(medbill_app, 2)
    with medbill_app.unit_of_work() as work:
        work.claims.transition_many(
            [ClaimMove(claim_id, S.VALIDATED), ClaimMove(other, S.VALIDATED),
             ClaimMove(claim_id, S.SUBMITTED), ClaimMove(claim_id, S.REJECTED),
             ClaimMove(claim_id, S.DRAFT), ClaimMove(claim_id, S.VALIDATED),
             ClaimMove(claim_id, S.SUBMITTED), ClaimMove(other, S.SUBMITTED)])
    with medbill_app.unit_of_work() as work:
        for claim in (claim_id, other):
            assert _same_instant(_kept(work, claim), _latest_submission(work, claim))


def test_a_row_the_unit_of_work_holds_says_it_too(medbill_app) -> None:
    """A claim row already in the session is moved as a row: it must say what the database
    now holds (a later read in the same transaction would otherwise see no submission)."""
    [claim_id] = _new_claims(medbill_app, 1)
    with medbill_app.unit_of_work() as work:
        row = work.session.get(ClaimRow, claim_id)
        assert row is not None and row.submitted_at is None
        for target in (S.VALIDATED, S.SUBMITTED):
            work.claims.transition(claim_id, target)
        assert _same_instant(row.submitted_at, _latest_submission(work, claim_id))


def test_the_migration_fills_it_from_the_transitions(medbill_app) -> None:
    """Migration 0041 on a database holding submitted, resubmitted and unsent claims."""
    sent, resent, draft = _new_claims(medbill_app, 3)
    with medbill_app.unit_of_work() as work:
        for target in (S.VALIDATED, S.SUBMITTED):
            work.claims.transition(sent, target)
        for target in (S.VALIDATED, S.SUBMITTED, S.REJECTED, S.DRAFT, S.VALIDATED,
                       S.SUBMITTED):
            work.claims.transition(resent, target)
    migrate_again_from(medbill_app.database, "0040")
    with medbill_app.unit_of_work() as work:
        for claim in (sent, resent):
            assert _same_instant(_kept(work, claim), _latest_submission(work, claim))
        assert _kept(work, draft) is None
