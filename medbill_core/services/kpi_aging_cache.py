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

Kept in the database (``kpi_agings``), per practice: every server and worker sharing it reads
the same rows, and a restart finds them (kept in a process, the first view after each start
aged the ledger twelve times: 12 s on 100,000 claims). Written as
:mod:`.kpi_rollups` writes its months (:func:`.kpi_rollups.upsert`; the same caveat on
PostgreSQL ids handed out before commit).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import delete, exists, func, select

from medbill_core.app import UnitOfWork
from medbill_core.domain import ClaimState
from medbill_core.money import ZERO
from medbill_core.services.kpi_rollups import upsert
from medbill_core.services.receivables import aged_balances, end_of_local_day
from medbill_core.storage.schema import (
    ClaimTransitionRow,
    KpiAgingRow,
    KpiMonthRollupRow,
    LedgerEntryRow,
    utcnow,
)
from medbill_core.storage.tenancy import SCOPE_KEY


@dataclass(frozen=True)
class AgedTotals:
    """A/R in the age buckets at a day, and the parts older than 90 and 120 days."""

    total: Decimal
    over_90: Decimal
    over_120: Decimal


def aged_totals(work: UnitOfWork, days: Sequence[date], *,
               keep: bool = True) -> list[AgedTotals]:
    """The aging's balances at each of ``days`` summed (:func:`~medbill_core.services.
    receivables.aged_balances`: one clock, the same buckets), each kept for the next report
    (``keep=False``: each computed, nothing read or kept)."""
    ledger_id, transition_id = _largest_ids(work)  # before computing: a row added meanwhile
    # is counted and also seen as new next time (a recomputation, never a miss)
    kept: dict[date, KpiAgingRow] = {}
    if keep:
        kept = {row.as_of: row for row in work.session.scalars(select(KpiAgingRow).where(
            KpiAgingRow.scope == _scope(work), KpiAgingRow.as_of.in_(list(days))))}
    result = []
    fresh = []
    for as_of in days:
        row = kept.get(as_of)
        if row is not None and ((row.ledger_id, row.transition_id) == (ledger_id, transition_id)
                                or not _changed_since(work, row, as_of)):
            result.append(AgedTotals(row.total, row.over_90, row.over_120))
            continue
        totals = _computed(work, as_of)
        result.append(totals)
        fresh.append({"scope": _scope(work), "as_of": as_of, "total": totals.total,
                      "over_90": totals.over_90, "over_120": totals.over_120,
                      "ledger_id": ledger_id, "transition_id": transition_id,
                      "computed_at": utcnow()})
    if keep and fresh:
        upsert(work, KpiAgingRow, fresh, ("scope", "as_of"))
    return result


def _scope(work: UnitOfWork) -> int:
    return int(work.session.info.get(SCOPE_KEY) or 0)


def _computed(work: UnitOfWork, as_of: date) -> AgedTotals:
    balances = [b for b in aged_balances(work, as_of=as_of) if b.amount > ZERO]
    return AgedTotals(sum((b.amount for b in balances), ZERO),
                      sum((b.amount for b in balances if b.days > 90), ZERO),
                      sum((b.amount for b in balances if b.days > 120), ZERO))


def _largest_ids(work: UnitOfWork) -> tuple[int, int]:
    """Of every practice (as :func:`.kpi_rollups._marks`: on the connection, by the primary
    keys)."""
    connection = work.session.connection()
    ledger = connection.scalar(select(func.max(LedgerEntryRow.id))) or 0
    transition = connection.scalar(select(func.max(ClaimTransitionRow.id))) or 0
    return int(ledger), int(transition)


def _changed_since(work: UnitOfWork, kept: KpiAgingRow, as_of: date) -> bool:
    """Whether a row added since ``kept`` was computed could change the aging at ``as_of``."""
    back_dated = exists().where(LedgerEntryRow.id > kept.ledger_id,
                                LedgerEntryRow.effective_date <= as_of)
    sent = exists().where(ClaimTransitionRow.id > kept.transition_id,
                          ClaimTransitionRow.target == ClaimState.SUBMITTED.value,
                          ClaimTransitionRow.at < end_of_local_day(as_of))
    return bool(work.session.scalar(select(back_dated | sent)))


def forget(work: UnitOfWork | None = None) -> None:
    """Drop the kept agings and months of ``work``'s practice (a restore of the database
    under a running server; the bench's "nothing kept"). Without ``work``: nothing is kept in
    the process any more (tests call it between databases)."""
    if work is None:
        return
    scope = _scope(work)
    work.session.execute(delete(KpiAgingRow).where(KpiAgingRow.scope == scope))
    work.session.execute(delete(KpiMonthRollupRow).where(KpiMonthRollupRow.scope == scope))
