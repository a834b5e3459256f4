"""The KPIs' sums per month, closed months kept in the database (``kpi_month_rollups``), so
the dashboard's 12 months read eleven stored rows and compute only the current month.

Why a table, and not a cache in the process or more indexes
-----------------------------------------------------------
Aggregating two years of submissions, answers and ledger on every view cost 1.5 s on 100,000
claims; indexes alone (:mod:`.kpi_bases` reads a period by date) make the cost the period's
rows, still a year of them. A per-process cache is cold after every restart and is held once
per ``medbill serve`` worker and server sharing the database; a row in the database is
computed once for all of them.

Exact, not a time-to-live
-------------------------
A month's sums depend only on rows dated into it, and the tables read are append-only (a
ledger entry, a transition, an answer or a denial line is never changed: corrections are new
rows). A kept month stores the largest id of each table when it was computed (read before
computing: a row committed in between is counted and also seen as new, which only costs a
recomputation) and is used while no row added since (an id above) could change it, checked
on every use through the primary keys and the date indexes, which reads only the rows added
since:

* a ledger entry effective on or before the month's last day (the month's sums and the
  opening balance, everything before it);
* a transition to ``submitted`` dated before the month's end (a first submission in it, or
  before it, of a claim first sent in it), or to ``rejected`` of a claim sent in the month
  (the clean-claim rate counts rejections after the month);
* an answer paid in the month (a claim's first answer is its lowest id: a new one is first
  only for a claim with none, in its own month), or a denial line of one.

A month is kept only when it is over (its last day before today) and whole in the period; the
rest (the current month, a partial first or last month) is computed on every report, by date,
as :mod:`.kpi_bases` reads it. The local UTC offset the days were counted with is stored: a
report at another offset (daylight saving time) recomputes.

Said here, as the aging cache says it: the claims' columns read (frequency, account, payer,
service date, charge, lines) are fixed once a claim is sent, and merging patients moves
entries without new rows (the sums are per claim and payer, not per patient: unchanged). On
PostgreSQL ids are handed out before commit: a row committed after a later id was seen is
missed until the next row dated into its month; postings are one writer per practice at a
time in practice, and the drill-downs and ``medbill report kpi`` from scratch are unaffected.

Writing from a read-only report: the rows are upserted through a connection of their own
(the report's snapshot stays as it is); losing a race with another server is harmless (both
computed the same sums), and a failure to store only means the month is computed next time.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, distinct, exists, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import aliased

from medbill_core.app import UnitOfWork
from medbill_core.domain import ClaimState
from medbill_core.money import ZERO, summed_cents
from medbill_core.services import kpi_bases as bases
from medbill_core.storage.database import READ_ONLY_OPTION
from medbill_core.storage.schema import (
    ClaimAdjudicationRow,
    ClaimLineRow,
    ClaimTransitionRow,
    DenialRow,
    KpiMonthRollupRow,
    LedgerEntryRow,
    utcnow,
)
from medbill_core.storage.tenancy import SCOPE_KEY

#: (payer key, entry kind) -> amount, insurance change, patient change
LedgerSums = dict[tuple[str | None, str], tuple[Decimal, Decimal, Decimal]]


@dataclass(frozen=True)
class MonthSums:
    """One month's part of every summed figure."""

    month: str
    ledger: LedgerSums
    #: the balance (both buckets) of the entries effective before the month's first day
    #: (None: not asked for)
    opening: Decimal | None
    #: charge lag in days -> (encounters first sent, of them never rejected)
    sent: dict[int, tuple[int, int]]
    #: payer key -> (claims first answered, resolved, denied, denied amount)
    answered: dict[str | None, tuple[int, int, int, Decimal]]
    #: (group code, reason code) -> (claims denied on the first answer, amount)
    carc: dict[tuple[str, str], tuple[int, Decimal]]
    #: procedure code -> (denied claims with a line of it, those lines' charges)
    procedures: dict[str, tuple[int, Decimal]]

    def as_json(self) -> dict[str, Any]:
        return {
            "ledger": [[payer, kind, str(a), str(i), str(p)]
                       for (payer, kind), (a, i, p) in self.ledger.items()],
            "opening": None if self.opening is None else str(self.opening),
            "sent": [[lag, count, clean] for lag, (count, clean) in self.sent.items()],
            "answered": [[payer, *counts[:3], str(counts[3])]
                         for payer, counts in self.answered.items()],
            "carc": [[group, reason, claims, str(amount)]
                     for (group, reason), (claims, amount) in self.carc.items()],
            "procedures": [[code, claims, str(amount)]
                           for code, (claims, amount) in self.procedures.items()]}

    @classmethod
    def from_json(cls, month: str, data: dict[str, Any]) -> MonthSums:
        return cls(
            month,
            {(payer, kind): (Decimal(a), Decimal(i), Decimal(p))
             for payer, kind, a, i, p in data["ledger"]},
            None if data["opening"] is None else Decimal(data["opening"]),
            {int(lag): (int(count), int(clean)) for lag, count, clean in data["sent"]},
            {payer: (int(count), int(resolved), int(denied), Decimal(amount))
             for payer, count, resolved, denied, amount in data["answered"]},
            {(group, reason): (int(claims), Decimal(amount))
             for group, reason, claims, amount in data["carc"]},
            {code: (int(claims), Decimal(amount)) for code, claims, amount in data["procedures"]})


def first_day(month: str) -> date:
    return date(int(month[:4]), int(month[5:]), 1)


def last_day(month: str) -> date:
    year, number = int(month[:4]), int(month[5:])
    return date(year, number, calendar.monthrange(year, number)[1])


def month_sums(work: UnitOfWork, window: Sequence[str], start: date, end: date, offset: int,
               *, keep: bool = True, today: date | None = None) -> dict[str, MonthSums]:
    """The sums of each month of ``window`` (its first month with the opening balance): the
    ledger over whole months up to ``end``, the submissions and answers from ``start`` to
    ``end``. Closed whole months are read from the kept rows when still right, else computed
    and kept; the others computed (``keep=False``: every month computed, nothing read or
    kept: the from-scratch figures)."""
    today = today or date.today()
    # the months before the period (days in A/R looks back) are read whole, as kept
    keepable = {month for index, month in enumerate(window)
                if keep and last_day(month) < today and last_day(month) <= end
                and (index < 2 or first_day(month) >= start)}
    result = _kept(work, sorted(keepable), offset) if keepable else {}
    marks = _marks(work)  # before computing: see the module docstring
    computed: list[MonthSums] = []
    for run in _runs([month for month in window if month not in result], keepable):
        stored = run[0] in keepable  # a kept month's sums are the whole month's
        flows_from = first_day(run[0]) if stored else max(start, first_day(run[0]))
        sums = _computed(work, run, flows_from, min(end, last_day(run[-1])), offset,
                         opening=run[0] == window[0] or stored)
        if stored:
            computed.extend(sums.values())
        result.update(sums)
    if computed:
        _store(work, computed, marks, offset)
    return result


def _runs(months: Sequence[str], keepable: set[str]) -> list[list[str]]:
    """Consecutive months, kept ones apart from the others, in runs (each run is computed by
    one set of queries)."""
    runs: list[list[str]] = []
    for month in months:
        if runs and _next_month(runs[-1][-1]) == month \
                and (runs[-1][-1] in keepable) == (month in keepable):
            runs[-1].append(month)
        else:
            runs.append([month])
    return runs


def _next_month(month: str) -> str:
    year, number = int(month[:4]), int(month[5:])
    return f"{year + 1:04d}-01" if number == 12 else f"{year:04d}-{number + 1:02d}"


def _computed(work: UnitOfWork, run: Sequence[str], flows_from: date, to: date, offset: int,
              *, opening: bool) -> dict[str, MonthSums]:
    """The sums of consecutive months, by one grouped query per part."""
    ledger: dict[str, LedgerSums] = {month: {} for month in run}
    for month, payer, kind, amount, insurance, patient in work.session.execute(
            bases.ledger_months(first_day(run[0]), to)):
        ledger[month][(payer, kind)] = (summed_cents(amount), summed_cents(insurance),
                                        summed_cents(patient))
    balance: Decimal | None = None
    if opening:
        insurance, patient = work.session.execute(
            bases.balance_before(first_day(run[0]))).one()
        balance = summed_cents(insurance) + summed_cents(patient)
    sent_query = bases.submissions(flows_from, to, offset)
    sent: dict[str, dict[int, tuple[int, int]]] = {month: {} for month in run}
    for month, lag, count, clean in work.session.execute(
            select(sent_query.c.month, sent_query.c.lag, func.count(),
                   func.sum(sent_query.c.clean))
            .group_by(sent_query.c.month, sent_query.c.lag)):
        sent[month][int(lag)] = (int(count), int(clean or 0))
    answers = bases.first_answers(flows_from, to)
    answered: dict[str, dict[str | None, tuple[int, int, int, Decimal]]] = {
        month: {} for month in run}
    for month, payer, count, resolved, denied, amount in work.session.execute(
            select(answers.c.month, answers.c.payer_key, func.count(),
                   func.sum(answers.c.resolved), func.sum(answers.c.denied),
                   func.sum(answers.c.denied_amount))
            .group_by(answers.c.month, answers.c.payer_key)):
        answered[month][payer] = (int(count), int(resolved or 0), int(denied or 0),
                                  summed_cents(amount))
    # a claim has one first answer, in one month: distinct claims per month add up
    carc: dict[str, dict[tuple[str, str], tuple[int, Decimal]]] = {month: {} for month in run}
    for month, group, reason, claims, amount in work.session.execute(
            select(answers.c.month, DenialRow.group_code, DenialRow.reason_code,
                   func.count(distinct(DenialRow.claim_id)), func.sum(DenialRow.amount))
            .join(answers, answers.c.posting_key == DenialRow.posting_key)
            .group_by(answers.c.month, DenialRow.group_code, DenialRow.reason_code)):
        carc[month][(group, reason)] = (int(claims), summed_cents(amount))
    procedures: dict[str, dict[str, tuple[int, Decimal]]] = {month: {} for month in run}
    # the billed code: an institutional line without a procedure code counts by revenue code
    billed = func.coalesce(ClaimLineRow.procedure_code, ClaimLineRow.revenue_code)
    for month, code, claims, amount in work.session.execute(
            select(answers.c.month, billed,
                   func.count(distinct(ClaimLineRow.claim_id)), func.sum(ClaimLineRow.charge))
            .join(answers, answers.c.claim_id == ClaimLineRow.claim_id)
            .where(answers.c.denied == 1)
            .group_by(answers.c.month, billed)):
        procedures[month][code] = (int(claims), summed_cents(amount))
    result = {}
    for month in run:
        result[month] = MonthSums(month, ledger[month], balance, sent[month], answered[month],
                                  carc[month], procedures[month])
        if balance is not None:  # the next month opens with this one's close
            balance += sum((i + p for _a, i, p in ledger[month].values()), ZERO)
    return result


# -- kept months -------------------------------------------------------------------------------

Marks = tuple[int, int, int, int]


def _scope(work: UnitOfWork) -> int:
    return int(work.session.info.get(SCOPE_KEY) or 0)


def _marks(work: UnitOfWork) -> Marks:
    """The largest ids of the ledger, transitions, answers and denial lines (0: none), of
    every practice: read on the connection, past the session's practice filter (a max over
    one practice's rows cannot use the primary key; another practice's row only costs a
    recomputation)."""
    row = work.session.connection().execute(select(
        select(func.max(LedgerEntryRow.id)).scalar_subquery(),
        select(func.max(ClaimTransitionRow.id)).scalar_subquery(),
        select(func.max(ClaimAdjudicationRow.id)).scalar_subquery(),
        select(func.max(DenialRow.id)).scalar_subquery())).one()
    return (int(row[0] or 0), int(row[1] or 0), int(row[2] or 0), int(row[3] or 0))


def _kept(work: UnitOfWork, months: Sequence[str], offset: int) -> dict[str, MonthSums]:
    rows = work.session.scalars(select(KpiMonthRollupRow).where(
        KpiMonthRollupRow.scope == _scope(work), KpiMonthRollupRow.month.in_(months),
        KpiMonthRollupRow.offset_seconds == offset)).all()
    if not rows:
        return {}
    marks = _marks(work)
    result = {}
    for row in rows:
        kept: Marks = (row.ledger_id, row.transition_id, row.adjudication_id, row.denial_id)
        if kept == marks or not changed_since(work, row.month, kept, offset):
            result[row.month] = MonthSums.from_json(row.month, row.figures)
    return result


def _utc_range(first: date, last: date) -> tuple[datetime, datetime]:
    """UTC instants around the local days ``first`` .. ``last``, a day wider each side (any
    UTC offset falls within): what could be dated into them."""
    return (datetime.combine(first - timedelta(days=1), time.min, UTC),
            datetime.combine(last + timedelta(days=2), time.min, UTC))


def changed_since(work: UnitOfWork, month: str, marks: Marks, offset: int) -> bool:
    """Whether a row added after ``marks`` could change ``month``'s sums (the module
    docstring's list)."""
    del offset  # the range below is wide enough for any offset
    ledger_id, transition_id, adjudication_id, denial_id = marks
    first, last = first_day(month), last_day(month)
    low, high = _utc_range(first, last)
    new = aliased(ClaimTransitionRow)
    sent = aliased(ClaimTransitionRow)
    answer = ClaimAdjudicationRow
    checks = [
        exists().where(LedgerEntryRow.id > ledger_id, LedgerEntryRow.effective_date <= last),
        exists().where(new.id > transition_id, new.target == ClaimState.SUBMITTED.value,
                       new.at < high),
        exists().where(new.id > transition_id, new.target == ClaimState.REJECTED.value,
                       exists().where(sent.claim_id == new.claim_id,
                                      sent.target == ClaimState.SUBMITTED.value,
                                      sent.at >= low, sent.at < high)),
        exists().where(answer.id > adjudication_id, answer.paid_date >= first,
                       answer.paid_date <= last),
        exists().where(DenialRow.id > denial_id, and_(
            answer.posting_key == DenialRow.posting_key, answer.paid_date >= first,
            answer.paid_date <= last)),
    ]
    return bool(work.session.scalar(select(or_(*checks))))  # one round trip a month


def _store(work: UnitOfWork, months: Iterable[MonthSums], marks: Marks, offset: int) -> None:
    values = [{"scope": _scope(work), "month": sums.month, "offset_seconds": offset,
               "figures": sums.as_json(), "ledger_id": marks[0], "transition_id": marks[1],
               "adjudication_id": marks[2], "denial_id": marks[3], "computed_at": utcnow()}
              for sums in months]
    upsert(work, KpiMonthRollupRow, values, ("scope", "month"))


def upsert(work: UnitOfWork, model: Any, values: list[dict[str, Any]],
           key: tuple[str, ...]) -> None:
    """Insert or replace kept rows: in the report's own transaction when it writes, else
    through a connection of its own (a read-only report's session refuses writes; the rows
    are the database's, not the report's), a failure there leaving them to the next report."""
    session = work.session
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(model).values(values)
    statement = statement.on_conflict_do_update(
        index_elements=list(key),
        set_={name: statement.excluded[name] for name in values[0] if name not in key})
    if not session.get_bind().get_execution_options().get(READ_ONLY_OPTION):
        session.execute(statement)
        return
    with work.app.database.engine.connect() as connection:
        # a reader never waits for a writer: on SQLite, a file busy with a posting is not
        # waited for (busy_timeout 0 on this connection, set back after), the rows are left
        # for the next report
        raw = connection.connection.dbapi_connection if dialect == "sqlite" else None
        previous = 0
        if raw is not None:
            previous = int(raw.execute("PRAGMA busy_timeout").fetchone()[0])
            raw.execute("PRAGMA busy_timeout=0")
        try:
            with connection.begin():
                connection.execute(statement)
        except DBAPIError:
            return  # kept next time (a busy SQLite file, a server shutting down)
        finally:
            if raw is not None:
                raw.execute(f"PRAGMA busy_timeout={previous}")
