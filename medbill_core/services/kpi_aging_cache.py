"""The aged A/R of past month ends, kept between KPI reports (the dashboard's trend would
otherwise age the whole ledger once per month of the period: seconds on a large practice).

Exact, not a time-to-live: a month end's aging depends only on the ledger entries effective
by then and the claims' submissions by then, and both tables are append-only (an entry is
never changed: corrections are new entries; a transition is a new row stamped when it
happens). So a kept figure is still right unless a row added since it was computed (an id
above the largest seen then) is effective on or before that month end (a back-dated posting)
or is a submission by then: checked on every use, through the primary keys, which reads only
the rows added since. Today's aging is kept by the same rule (a posting effective today
recomputes it).

One exception, said here: merging two patients moves ledger entries to the kept patient
without new rows; it can move an unapplied credit between patients (credits are not aged, so
the over-90 and over-120 figures do not change; only an account netting a credit does).
Kept per process (each ``medbill serve`` worker has its own), per database and practice.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import exists, func, select

from medbill_core.app import UnitOfWork
from medbill_core.domain import ClaimState
from medbill_core.money import ZERO
from medbill_core.services.receivables import aged_balances, end_of_local_day
from medbill_core.storage.schema import ClaimTransitionRow, LedgerEntryRow
from medbill_core.storage.tenancy import SCOPE_KEY

#: kept month ends at most (then the oldest half goes)
_MAX_KEPT = 5000


@dataclass(frozen=True)
class AgedTotals:
    """A/R in the age buckets at a day, and the parts older than 90 and 120 days."""

    total: Decimal
    over_90: Decimal
    over_120: Decimal


@dataclass(frozen=True)
class _Kept:
    totals: AgedTotals
    #: the largest ledger entry id and transition id when it was computed (0: none)
    ledger_id: int
    transition_id: int


_kept: dict[tuple[str, int | None, date], _Kept] = {}
_lock = threading.Lock()


def aged_totals(work: UnitOfWork, days: Sequence[date]) -> list[AgedTotals]:
    """The aging's balances at each of ``days`` summed (:func:`~medbill_core.services.
    receivables.aged_balances`: one clock, the same buckets), each kept for the next
    report."""
    ledger_id, transition_id = _largest_ids(work)
    result = []
    for as_of in days:
        key = (work.app.config.database_url, work.session.info.get(SCOPE_KEY), as_of)
        with _lock:
            kept = _kept.get(key)
        if kept is not None and (kept.ledger_id, kept.transition_id) == (
                ledger_id, transition_id):
            totals = kept.totals  # nothing added since
        elif kept is not None and not _changed_since(work, kept, as_of):
            totals = kept.totals
        else:
            totals = _computed(work, as_of)
        with _lock:
            if len(_kept) >= _MAX_KEPT:
                for old in list(_kept)[:_MAX_KEPT // 2]:
                    del _kept[old]
            _kept[key] = _Kept(totals, ledger_id, transition_id)
        result.append(totals)
    return result


def _computed(work: UnitOfWork, as_of: date) -> AgedTotals:
    balances = [b for b in aged_balances(work, as_of=as_of) if b.amount > ZERO]
    return AgedTotals(sum((b.amount for b in balances), ZERO),
                      sum((b.amount for b in balances if b.days > 90), ZERO),
                      sum((b.amount for b in balances if b.days > 120), ZERO))


def _largest_ids(work: UnitOfWork) -> tuple[int, int]:
    ledger = work.session.scalar(select(func.max(LedgerEntryRow.id))) or 0
    transition = work.session.scalar(select(func.max(ClaimTransitionRow.id))) or 0
    return int(ledger), int(transition)


def _changed_since(work: UnitOfWork, kept: _Kept, as_of: date) -> bool:
    """Whether a row added since ``kept`` was computed could change the aging at ``as_of``."""
    back_dated = exists().where(LedgerEntryRow.id > kept.ledger_id,
                                LedgerEntryRow.effective_date <= as_of)
    sent = exists().where(ClaimTransitionRow.id > kept.transition_id,
                          ClaimTransitionRow.target == ClaimState.SUBMITTED.value,
                          ClaimTransitionRow.at < end_of_local_day(as_of))
    return bool(work.session.scalar(select(back_dated | sent)))


def forget() -> None:
    """Drop every kept figure (tests; a restore of the database under a running server)."""
    with _lock:
        _kept.clear()
