"""Dating a claim's submissions in the past, for tests of what ages from them (follow-up,
aging, the no-response work queue): the transitions and the claim's own record of its latest
submission (``claims.submitted_at``) changed together, as the services would have written
them had the claim been sent then."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from medbill_core.domain import ClaimState
from medbill_core.storage.schema import ClaimRow, ClaimTransitionRow

_SUBMITTED = ClaimState.SUBMITTED.value


def date_submissions(session: Session, claim_id: int, at: datetime, *,
                     latest_only: bool = False) -> None:
    """Date the claim's submissions (only the latest with ``latest_only``) at ``at``."""
    transitions: tuple[ColumnElement[bool], ...] = (
        ClaimTransitionRow.claim_id == claim_id, ClaimTransitionRow.target == _SUBMITTED)
    if latest_only:
        latest = session.scalar(select(func.max(ClaimTransitionRow.id)).where(*transitions))
        transitions = (ClaimTransitionRow.id == latest,)
    session.execute(update(ClaimTransitionRow).where(*transitions).values(at=at))
    keep_submitted_at(session, claim_id)


def keep_submitted_at(session: Session, claim_id: int) -> None:
    """The claim's ``submitted_at`` set again from its transitions (after a test changed
    them)."""
    session.execute(update(ClaimRow).where(ClaimRow.id == claim_id).values(
        submitted_at=select(func.max(ClaimTransitionRow.at))
        .where(ClaimTransitionRow.claim_id == claim_id,
               ClaimTransitionRow.target == _SUBMITTED).scalar_subquery()))
