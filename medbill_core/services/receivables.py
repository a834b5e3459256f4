"""Accounts-receivable reports: aging, the insurance follow-up work list, remittance exceptions.

Every report here only reads; nothing is written and nothing is audited.

Aging
-----
Balances are the ledger's, taken **per claim account**: the encounter's first claim, which
its secondary, corrected and void claims share (``account_claim_id``), as the ledger and the
statements key them. Each account's balance is split by bucket and aged from:

* **insurance**, per account and payer (the payer key of the entries): the first submission
  of that payer's claim on the account, i.e. the earliest transition to ``submitted`` of any
  claim on the account billed to that payer (a replacement is aged from the original's
  submission); the account's service date when no such claim was ever submitted;
* **patient**, per account: the day the balance became the patient's, i.e. the effective
  date of the first (positive) transfer-to-patient entry on the account, else the account's
  service date (so a self-pay claim, owed by the patient from the start, ages from its
  service date).

Entries on no claim (a patient's unapplied payments) form one account per patient (and
per payer), aged from the earliest effective date of the entries moving that balance.

Days are counted from that date to ``as_of`` (a date after ``as_of`` counts as 0 days) and
fall into the buckets 0-30, 31-60, 61-90, 91-120 and 121+ (over 120): day 30 is still in
0-30, day 31 in 31-60. The clock and the buckets are :mod:`.aging`'s, which patient
statements share.

Balances placed with a collection agency (the ledger's agency bucket, issue 18) are neither
insurance nor patient A/R: they have their own line, per patient, aged from the day they were
placed (the first ``transfer_to_agency`` entry).

A negative account balance (a credit: an over-payment or an over-adjustment) is never aged
into a bucket nor netted against other accounts: it goes to the ``credit`` column, so that
the buckets plus the credit of a line are exactly its ledger balance.

The report is the ledger **as of** ``as_of`` (default today): only entries effective on or
before that day count (:func:`~medbill_core.ledger.as_of_conditions`; charges are dated by
their service date, so services after ``as_of`` are out), and only what had happened by then
dates them (submissions on or before that local day, transfers to the patient effective by
then). Its totals are :meth:`~medbill_core.ledger.Ledger.totals` and
:meth:`~medbill_core.ledger.Ledger.insurance_balance_by_payer` with the same ``as_of``, to
the cent, so a month-end report re-run later shows the same figures; a posting dated after
``as_of`` never changes it.

Follow-up
---------
See :func:`followup`.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import Table, and_, func, or_, select, text, union_all
from sqlalchemy.orm import aliased

from medbill_core import ledger_balances
from medbill_core.app import UnitOfWork
from medbill_core.codesets.explain import explain_adjustment
from medbill_core.collector import collector_paused
from medbill_core.domain import ClaimState, ClaimStatusCode
from medbill_core.errors import UnknownPayer
from medbill_core.ledger import EntryKind, as_of_conditions
from medbill_core.lifecycle import PENDING_AT_PAYER
from medbill_core.money import ZERO, summed_cents
from medbill_core.permissions import Action
from medbill_core.services.aging import BUCKETS, age_bucket, days_old
from medbill_core.services.appeals import pending_appeals
from medbill_core.services.date_rules import check_in_range
from medbill_core.services.posting_rules import denial_codes
from medbill_core.services.remittance_findings import OpenFinding, open_findings
from medbill_core.storage.id_list_sql import among
from medbill_core.storage.schema import (
    ClaimAdjudicationRow,
    ClaimRow,
    ClaimTransitionRow,
    LedgerBalanceRow,
    LedgerEntryRow,
    PatientRow,
    RemittanceExceptionRow,
    local_day,
)
from medbill_core.storage.tenancy import scope_of

#: The label of insurance amounts posted without a payer key.
NO_PAYER = "(no payer)"
_SUBMITTED = ClaimState.SUBMITTED.value
_CHUNK = 1000
#: a report as of a day sums again, from their entries, the accounts with entries on both
#: sides of it; when more do (a month end long past), it sums the entries of every account
RECOMPUTE_AT_MOST = 5000
#: the accounts with entries on both sides of a report's day, summed as of it (both
#: buckets' rows); None: too many, every entry is summed instead
_Straddling = list[ledger_balances.AccountBalance] | None


def _empty_buckets() -> dict[str, Decimal]:
    return dict.fromkeys(BUCKETS, ZERO)


@dataclass
class AgingLine:
    """Amounts of one payer, the patients or one patient per age bucket, credits apart."""

    label: str
    buckets: dict[str, Decimal] = field(default_factory=_empty_buckets)
    #: the sum of the negative (credit) account balances, zero or less
    credit: Decimal = ZERO

    def add(self, amount: Decimal, days: int) -> None:
        """Add one account's balance: a credit to ``credit``, anything else to its bucket."""
        if amount < ZERO:
            self.credit += amount
        elif amount > ZERO:
            self.buckets[age_bucket(days)] += amount

    @property
    def total(self) -> Decimal:
        return sum(self.buckets.values(), ZERO) + self.credit

    def is_empty(self) -> bool:
        return self.credit == ZERO and not any(self.buckets.values())

    @classmethod
    def summed(cls, label: str, lines: Iterable[AgingLine]) -> AgingLine:
        result = cls(label)
        for line in lines:
            for bucket, amount in line.buckets.items():
                result.buckets[bucket] += amount
            result.credit += line.credit
        return result

    def as_json(self) -> dict[str, Any]:
        return {"buckets": {bucket: str(amount) for bucket, amount in self.buckets.items()},
                "credit": str(self.credit), "total": str(self.total)}


@dataclass
class AgingReport:
    """Insurance A/R by payer, patient A/R and what is placed with agencies, as of a date."""

    as_of: date
    #: one line per payer key with a balance, by payer key (:data:`NO_PAYER` last)
    insurance: list[AgingLine]
    patient: AgingLine
    #: placed with collection agencies (the ledger's agency bucket)
    agency: AgingLine = field(default_factory=lambda: AgingLine("agency"))

    @property
    def insurance_total(self) -> AgingLine:
        return AgingLine.summed("insurance", self.insurance)

    @property
    def total(self) -> AgingLine:
        return AgingLine.summed("total", [*self.insurance, self.patient, self.agency])

    def as_json(self) -> dict[str, Any]:
        return {"as_of": self.as_of.isoformat(), "buckets": list(BUCKETS),
                "insurance": [{"payer": None if line.label == NO_PAYER else line.label,
                               **line.as_json()} for line in self.insurance],
                "insurance_total": self.insurance_total.as_json(),
                "patient": self.patient.as_json(), "agency": self.agency.as_json(),
                "total": self.total.as_json()}


@dataclass(frozen=True)
class _Group:
    """Ledger sums of one (claim account, patient, payer key)."""

    claim_id: int | None
    patient_id: int
    payer_key: str | None
    insurance: Decimal
    first_effective: date


def _of_patient(patient_id: int | None) -> tuple[Any, ...]:
    """The ledger condition of one patient's account (none: every patient's)."""
    return () if patient_id is None else (LedgerEntryRow.patient_id == patient_id,)


def _first_submitted(claim: Any, before: datetime) -> Any:
    """The first submission of ``claim`` (a claims alias of the enclosing select) before
    ``before`` (UTC); NULL: not sent by then. A probe of ``ix_claim_transitions_claim_target``
    (the claim keeps only its latest submission: ``claims.submitted_at``)."""
    return (select(func.min(ClaimTransitionRow.at))
            .where(ClaimTransitionRow.claim_id == claim.id,
                   ClaimTransitionRow.target == _SUBMITTED, ClaimTransitionRow.at < before)
            .correlate(claim).scalar_subquery())


def _service_date_of_account(account: Any) -> Any:
    """The date of service of the claim ``account`` (a column of the enclosing select),
    by primary key. A scalar subquery, not a join: PostgreSQL would join a fifth of the
    claims by reading the whole table."""
    own = aliased(ClaimRow)
    return select(own.service_date_from).where(own.id == account).scalar_subquery()


def _kept_groups(work: UnitOfWork, as_of: date,
                 patient_id: int | None) -> list[tuple[_Group, date]]:
    """The open insurance accounts the ledger keeps whose entries are all effective by
    ``as_of`` (:mod:`medbill_core.ledger_balances`, the partial index of open balances), each
    with the day its clock starts (the module docstring): read in one statement with the
    first submissions to the account's payer of its own claim and of the claims sharing it,
    each probed by index in SQL rather than sent back as 120,000 ids."""
    b = LedgerBalanceRow
    own = aliased(ClaimRow)  # the account's own claim (the encounter's first)
    sharing = aliased(ClaimRow)  # its secondary, corrected and void claims
    before = end_of_local_day(as_of)
    own_first = (select(func.min(_first_submitted(own, before)))
                 .where(own.id == b.claim_id, own.account_claim_id.is_(None),
                        own.payer_key.is_not_distinct_from(b.payer_key))
                 .correlate(b).scalar_subquery())
    shared_first = (select(func.min(_first_submitted(sharing, before)))
                    .where(sharing.account_claim_id == b.claim_id,
                           sharing.payer_key.is_not_distinct_from(b.payer_key))
                    .correlate(b).scalar_subquery())
    # the connection's Core result, not the ORM's (a third less for 120,000 rows): the
    # practice is named by _open, and the claims read are the kept rows' own
    rows = work.session.connection().execute(
        select(b.claim_id, b.patient_id, b.payer_key, b.balance, b.first_effective,
               own_first, shared_first)
        .where(*_open(work, ledger_balances.INSURANCE), b.last_effective <= as_of,
               *_balance_of_patient(patient_id))).all()
    # an account never sent to its payer ages from its date of service (few are)
    services = _service_dates(work, (claim_id for claim_id, _, _, _, _, own_sent, shared_sent
                                     in rows if claim_id is not None
                                     and own_sent is None and shared_sent is None))
    days = _LocalDays(as_of)
    kept = []
    for claim_id, patient, payer_key, amount, first, own_sent, shared_sent in rows:
        sent = [at for at in (own_sent, shared_sent) if at is not None]
        if claim_id is None:
            since = first
        elif sent:
            since = days.of(min(sent))
        else:
            since = services.get(claim_id, first)
        kept.append((_Group(claim_id, patient, payer_key, amount, first), since))
    return kept


def _groups(work: UnitOfWork, as_of: date, straddling: _Straddling,
            patient_id: int | None = None) -> list[_Group]:
    """The ledger sums of the (claim account, patient, payer key) a payer still owes on
    (insurance A/R) as of ``as_of`` that :func:`_kept_groups` does not read, of one patient
    when given: the accounts with entries on both sides of ``as_of`` summed again; when more
    than :data:`RECOMPUTE_AT_MOST` are, every account, every entry summed (:func:`_groups_
    from_entries`). ``straddling``: :func:`_straddling`'s answer, asked once per report."""
    if straddling is None:
        return _groups_from_entries(work, as_of, patient_id)
    return [_Group(row.claim_id, row.patient_id, row.payer_key, row.balance,
                   row.first_effective)
            for row in straddling
            if row.bucket == ledger_balances.INSURANCE and row.balance != ZERO]


def _groups_from_entries(work: UnitOfWork, as_of: date,
                         patient_id: int | None = None) -> list[_Group]:
    """:func:`_groups` from the entries: one aggregate in SQL, streamed from the covering
    index ``ix_ledger_entries_account`` (its order is the grouping's); the settled groups
    stay in the database."""
    insurance = func.sum(LedgerEntryRow.insurance_delta)
    rows = work.session.execute(
        select(LedgerEntryRow.claim_id, LedgerEntryRow.patient_id, LedgerEntryRow.payer_key,
               insurance, func.min(LedgerEntryRow.effective_date))
        .where(*as_of_conditions(as_of), *_of_patient(patient_id),
               ledger_balances.moves(ledger_balances.INSURANCE))
        .group_by(LedgerEntryRow.claim_id, LedgerEntryRow.patient_id,
                  LedgerEntryRow.payer_key)
        .having(insurance != ZERO)).all()
    return [_Group(claim_id, patient_id, payer_key, summed_cents(amount), first)
            for claim_id, patient_id, payer_key, amount, first in rows]


def _open(work: UnitOfWork, bucket: str) -> tuple[Any, ...]:
    """The conditions "a row of ``bucket`` with a balance" of the kept balances: written as
    the partial index's own condition (with a bound zero SQLite would not use the index),
    and with the practice named (on SQLite the scope's own criterion drives no index)."""
    practice = scope_of(work.session)
    return (text(f"{LedgerBalanceRow.__tablename__}.balance <> 0"),
            LedgerBalanceRow.bucket == bucket,
            *(() if practice is None else (LedgerBalanceRow.practice_id == practice,)))


def _balance_of_patient(patient_id: int | None) -> tuple[Any, ...]:
    return () if patient_id is None else (LedgerBalanceRow.patient_id == patient_id,)


def _straddling(work: UnitOfWork, as_of: date, patient_id: int | None) -> _Straddling:
    """The accounts with entries effective both by ``as_of`` and after it, summed from their
    entries as of ``as_of`` (none for today unless something is dated ahead); None when more
    than :data:`RECOMPUTE_AT_MOST` are (a month end long past)."""
    b = LedgerBalanceRow
    keys = work.session.execute(
        select(b.bucket, b.claim_id, b.patient_id, b.payer_key)
        .where(b.last_effective > as_of, b.first_effective <= as_of,
               *_balance_of_patient(patient_id))
        .limit(RECOMPUTE_AT_MOST + 1)).all()
    if len(keys) > RECOMPUTE_AT_MOST:
        return None
    if not keys:
        return []
    return ledger_balances.as_of(work.session, as_of,
                                 ((bucket, claim_id, patient, payer_key)
                                  for bucket, claim_id, patient, payer_key in keys))


def _service_dates(work: UnitOfWork, claim_ids: Iterable[int]) -> dict[int, date]:
    """Claim id -> its date of service, for the claims asked (by primary key, a chunk at a
    time): only the accounts that no submission or transfer dates need it."""
    result: dict[int, date] = {}
    for chunk in _chunks(claim_ids):
        result.update((claim_id, day) for claim_id, day in work.session.connection().execute(
            select(ClaimRow.id, ClaimRow.service_date_from)  # ids from a scoped read
            .where(among(work.session, ClaimRow.id, chunk))))
    return result


def _chunks(ids: Iterable[int]) -> Iterator[list[int]]:
    """The ids in chunks of :data:`_CHUNK`, each one statement's (with :func:`among`, one
    parameter): a few thousand at a time keep PostgreSQL's plans on the indexes (a fifth of
    the claims in one array and it reads the whole table)."""
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), _CHUNK):
        yield ordered[start:start + _CHUNK]


def end_of_local_day(day: date) -> datetime:
    """The first instant (UTC) after the local calendar day ``day``: timestamps before it fall
    on or before ``day`` as :func:`~medbill_core.storage.schema.local_day` counts them."""
    midnight = datetime.combine(day + timedelta(days=1), time.min).astimezone()
    return midnight.astimezone(UTC)


def _first_submissions(work: UnitOfWork, as_of: date,
                       accounts: Iterable[int]) -> dict[tuple[int, str | None], date]:
    """(claim account, payer key) -> the day the first claim to that payer on it was sent
    (sent on or before ``as_of``), for the claim ``accounts`` asked: the account's first
    claim (by primary key) and the claims sharing it (by ``ix_claims_account``, asked only
    for the accounts some claim shares), a chunk of accounts at a time."""
    shared = set(work.session.scalars(select(ClaimRow.account_claim_id).distinct().where(
        ClaimRow.account_claim_id.is_not(None))))
    days = _LocalDays(as_of)
    result: dict[tuple[int, str | None], date] = {}
    for chunk in _chunks(accounts):
        claims: Any = select(ClaimRow.id.label("account"), ClaimRow.id.label("claim_id"),
                             ClaimRow.payer_key).where(among(work.session, ClaimRow.id, chunk),
                                                       ClaimRow.account_claim_id.is_(None))
        sharing = [account for account in chunk if account in shared]
        if sharing:
            claims = union_all(claims, select(ClaimRow.account_claim_id, ClaimRow.id,
                                              ClaimRow.payer_key).where(
                among(work.session, ClaimRow.account_claim_id, sharing)))
        claims = claims.subquery()
        # the connection's Core result, not the ORM's: the accounts come from a scoped read
        # (tenancy filters ORM statements), and 120,000 rows cost a third less this way
        rows = work.session.connection().execute(
            select(claims.c.account, claims.c.payer_key, func.min(ClaimTransitionRow.at))
            .join(ClaimTransitionRow, ClaimTransitionRow.claim_id == claims.c.claim_id)
            .where(ClaimTransitionRow.target == _SUBMITTED,
                   ClaimTransitionRow.at < end_of_local_day(as_of))
            .group_by(claims.c.account, claims.c.payer_key))
        result.update(((account_id, payer_key), days.of(at))
                      for account_id, payer_key, at in rows)
    return result


class _LocalDays:
    """The local calendar day of stored timestamps, as :func:`~medbill_core.storage.schema.
    local_day` gives it, found among the local midnights of the days around ``as_of`` (one
    bisection, not a time-zone conversion per timestamp: 120,000 submissions); a timestamp
    outside them is converted."""

    def __init__(self, as_of: date, days_back: int = 800) -> None:
        self.first = as_of - timedelta(days=days_back)
        # midnights[i]: the first instant of day first + i + 1 (the end of day first + i),
        # as naive UTC (what SQLite gives back; PostgreSQL's aware values are made so)
        self.midnights = [end_of_local_day(self.first + timedelta(days=i)).replace(tzinfo=None)
                          for i in range(days_back + 1)]

    def of(self, moment: datetime) -> date:
        naive = moment if moment.tzinfo is None else \
            moment.astimezone(UTC).replace(tzinfo=None)
        index = bisect_right(self.midnights, naive)
        if index == 0 or index == len(self.midnights):
            return local_day(moment)
        return self.first + timedelta(days=index)


def _first_transfers_to_patient(work: UnitOfWork, as_of: date,
                                claim_ids: Iterable[int]) -> dict[int, date]:
    """Claim account -> effective date of its first transfer of a balance to the patient
    (effective on or before ``as_of``), for the claim accounts asked, from the entries."""
    result: dict[int, date] = {}
    for chunk in _chunks(claim_ids):
        rows = work.session.execute(
            select(LedgerEntryRow.claim_id, func.min(LedgerEntryRow.effective_date))
            .where(LedgerEntryRow.claim_id.in_(chunk),
                   LedgerEntryRow.kind == EntryKind.TRANSFER_TO_PATIENT.value,
                   LedgerEntryRow.amount > ZERO, *as_of_conditions(as_of))
            .group_by(LedgerEntryRow.claim_id)).all()
        result.update((claim_id, day) for claim_id, day in rows if claim_id is not None)
    return result


#: a patient account with a balance: (claim account, patient, balance, the first effective
#: date of its entries, the day its patient clock starts when known: its first transfer to
#: the patient, else, read with the kept rows, its date of service; None: look the date of
#: service up), all as of the report's day
_PatientRow = tuple[int | None, int, Decimal, date, date | None]


def _patient_rows(work: UnitOfWork, as_of: date, straddling: _Straddling,
                  patient_id: int | None) -> list[_PatientRow]:
    """The patient accounts with a balance as of ``as_of`` (of one patient when given): the
    kept rows of the partial index of open balances with their claim's date of service, as
    :func:`_kept_groups` reads the insurance ones, or every entry summed when too many
    accounts straddle ``as_of``."""
    if straddling is None:
        return _patient_rows_from_entries(work, as_of, patient_id)
    b = LedgerBalanceRow
    # Core result, practice named by _open, the claims the kept rows' own (as _kept_groups)
    rows: list[_PatientRow] = [
        (claim_id, owner, summed_cents(balance), first, clock)
        for claim_id, owner, balance, first, clock in work.session.connection().execute(
            select(b.claim_id, b.patient_id, b.balance, b.first_effective,
                   func.coalesce(b.first_to_patient, _service_date_of_account(b.claim_id)))
            .where(*_open(work, ledger_balances.PATIENT), b.last_effective <= as_of,
                   *_balance_of_patient(patient_id))).all()]
    rows.extend((row.claim_id, row.patient_id, row.balance, row.first_effective,
                 row.first_to_patient) for row in straddling
                if row.bucket == ledger_balances.PATIENT and row.balance != ZERO)
    return rows


def _patient_rows_from_entries(work: UnitOfWork, as_of: date,
                               patient_id: int | None) -> list[_PatientRow]:
    """:func:`_patient_rows` from the entries: one aggregate per (claim account, patient),
    streamed from the covering index ``ix_ledger_entries_account``; the transfers of the
    accounts owing looked up by claim."""
    patient = func.sum(LedgerEntryRow.patient_delta)
    rows = work.session.execute(
        select(LedgerEntryRow.claim_id, LedgerEntryRow.patient_id, patient,
               func.min(LedgerEntryRow.effective_date))
        # the entries moving the patient's share (the kept rows' also count the agency's,
        # which the aging reads apart, and which no unapplied payment carries alone)
        .where(*as_of_conditions(as_of), *_of_patient(patient_id),
               LedgerEntryRow.patient_delta != ZERO)
        .group_by(LedgerEntryRow.claim_id, LedgerEntryRow.patient_id)
        .having(patient != ZERO)).all()
    transfers = _first_transfers_to_patient(
        work, as_of, (claim_id for claim_id, *_ in rows if claim_id is not None))
    return [(claim_id, owner, summed_cents(balance), first,
             None if claim_id is None else transfers.get(claim_id))
            for claim_id, owner, balance, first in rows]


def _patient_accounts(work: UnitOfWork, as_of: date, straddling: _Straddling,
                      patient_id: int | None = None
                      ) -> list[tuple[int | None, int, Decimal, int]]:
    """(claim account, patient id, patient balance, age in days) of every patient account the
    patient owes on (or holds a credit on), of one patient when given."""
    rows = _patient_rows(work, as_of, straddling, patient_id)
    # a claim account's clock is its first transfer to the patient, else its date of
    # service; entries on no claim (a patient's unapplied payments) age from the first
    services = _service_dates(work, (claim_id for claim_id, _, _, _, to_patient in rows
                                     if claim_id is not None and to_patient is None))
    accounts = []
    for claim_id, owner, balance, first, to_patient in rows:
        start = first if claim_id is None else to_patient or services[claim_id]
        accounts.append((claim_id, owner, balance, days_old(start, as_of)))
    return accounts


def _insurance_accounts(work: UnitOfWork, today: date, straddling: _Straddling,
                        patient_id: int | None = None) -> list[tuple[_Group, int]]:
    """Every (claim account, patient, payer key) a payer owes on, with its age in days (of
    one patient when given)."""
    dated = [] if straddling is None else _kept_groups(work, today, patient_id)
    groups = _groups(work, today, straddling, patient_id)
    submissions = _first_submissions(work, today, (
        group.claim_id for group in groups
        if group.claim_id is not None and group.insurance != ZERO))
    # a claim account never sent to its payer ages from its date of service
    services = _service_dates(work, (
        group.claim_id for group in groups if group.claim_id is not None
        and group.insurance != ZERO and (group.claim_id, group.payer_key) not in submissions))
    aged = [(group, days_old(since, today)) for group, since in dated]
    for group in groups:
        if group.insurance == ZERO:
            continue
        if group.claim_id is None:
            since = group.first_effective
        else:
            since = submissions.get((group.claim_id, group.payer_key),
                                    services.get(group.claim_id, group.first_effective))
        aged.append((group, days_old(since, today)))
    return aged


@collector_paused()  # 100,000 rows and items alive: no collections scanning them
def aging(work: UnitOfWork, *, as_of: date | None = None) -> AgingReport:
    """Insurance A/R by payer and patient A/R by age bucket (rules: the module docstring)."""
    work.require(Action.REPORTS_READ)
    return _aging(work, _as_of(as_of), None)


def account_aging(work: UnitOfWork, patient_id: int, *,
                  as_of: date | None = None) -> AgingReport:
    """One patient's account by age bucket: what each payer owes on it and what the patient
    owes, aged by the same rules as :func:`aging` (the module docstring), so the account page
    and the A/R report agree to the cent. Whoever may see the patient's payments may see it
    (the front desk asks for the balance at the window)."""
    work.require(Action.PAYMENTS_READ)
    return _aging(work, _as_of(as_of), patient_id)


def _as_of(as_of: date | None) -> date:
    """The day an aging is as of (default today): one medbill takes at all (an aging as of
    9999-12-31 would overflow its day's end).

    :raises ValidationFailed: naming ``as_of``.
    """
    if as_of is None:
        return date.today()
    check_in_range(as_of, record="aging", field="as_of")
    return as_of


def _aging(work: UnitOfWork, today: date, patient_id: int | None) -> AgingReport:
    by_payer: dict[str | None, AgingLine] = {}
    straddling = _straddling(work, today, patient_id)
    for group, days in _insurance_accounts(work, today, straddling, patient_id):
        line = by_payer.get(group.payer_key)
        if line is None:
            line = by_payer[group.payer_key] = AgingLine(group.payer_key or NO_PAYER)
        line.add(group.insurance, days)
    patient = AgingLine("patient")
    for _claim_id, _patient_id, balance, days in _patient_accounts(work, today, straddling,
                                                                   patient_id):
        patient.add(balance, days)
    insurance = [by_payer[key] for key in sorted(by_payer, key=lambda k: (k is None, k or ""))
                 if not by_payer[key].is_empty()]
    agency = AgingLine("agency")
    for balance, days in _agency_accounts(work, today, patient_id):
        agency.add(balance, days)
    return AgingReport(today, insurance, patient, agency)


def _agency_accounts(work: UnitOfWork, as_of: date, patient_id: int | None
                     ) -> list[tuple[Decimal, int]]:
    """(agency balance, days since placed) per patient with one, as of ``as_of``."""
    query = (select(LedgerEntryRow.patient_id, func.sum(LedgerEntryRow.agency_delta),
                    func.min(LedgerEntryRow.effective_date))
             .where(LedgerEntryRow.kind.in_((EntryKind.TRANSFER_TO_AGENCY.value,
                                             EntryKind.RECALL_FROM_AGENCY.value,
                                             EntryKind.AGENCY_PAYMENT.value,
                                             EntryKind.AGENCY_FEE.value)),
                    # what the partial index ix_ledger_entries_agency holds
                    LedgerEntryRow.agency_delta != 0,
                    *as_of_conditions(as_of))
             .group_by(LedgerEntryRow.patient_id))
    if patient_id is not None:
        query = query.where(LedgerEntryRow.patient_id == patient_id)
    return [(amount, days_old(since, as_of)) for _, balance, since in work.session.execute(query)
            if (amount := summed_cents(balance)) != ZERO]


@dataclass(frozen=True)
class AgedBalance:
    """One claim account's balance owed by one payer or by the patient, and its age: the
    pieces :func:`aging` buckets, for reports that name the claims behind a bucket (the KPI
    drill-down)."""

    #: the claim account (the encounter's first claim); None: entries on no claim
    claim_id: int | None
    #: the payer key owing it; None: the patient owes it (or a payer no longer keyed)
    payer_key: str | None
    patient: bool
    #: the account's balance: positive (aged into :meth:`bucket`) or a credit (negative)
    amount: Decimal
    days: int

    @property
    def bucket(self) -> str | None:
        """The age bucket (None for a credit: credits are never aged)."""
        return age_bucket(self.days) if self.amount > ZERO else None


def aged_balances(work: UnitOfWork, *, as_of: date | None = None) -> list[AgedBalance]:
    """The account balances :func:`aging` sums, one per (claim account, payer) and per (claim
    account, patient), with the age :func:`aging` gives them (one clock, the same buckets)."""
    work.require(Action.REPORTS_READ)
    today = as_of or date.today()
    straddling = _straddling(work, today, None)
    result = [AgedBalance(group.claim_id, group.payer_key, False, group.insurance, days)
              for group, days in _insurance_accounts(work, today, straddling)]
    result.extend(AgedBalance(claim_id, None, True, balance, days)
                  for claim_id, _patient_id, balance, days
                  in _patient_accounts(work, today, straddling))
    return result


@dataclass
class PatientAgingReport:
    """Patient balances by age bucket, one line per patient account number."""

    as_of: date
    #: one line per patient with a patient balance (label: account number), by account number
    patients: list[AgingLine]

    @property
    def total(self) -> AgingLine:
        return AgingLine.summed("total", self.patients)

    def as_json(self) -> dict[str, Any]:
        return {"as_of": self.as_of.isoformat(), "buckets": list(BUCKETS),
                "patients": [{"account_number": line.label, **line.as_json()}
                             for line in self.patients],
                "total": self.total.as_json()}


@collector_paused()  # 100,000 rows and items alive: no collections scanning them
def patient_aging(work: UnitOfWork, *, as_of: date | None = None) -> PatientAgingReport:
    """The patient A/R of :func:`aging`, per patient (labelled by account number only)."""
    work.require(Action.REPORTS_READ)
    today = _as_of(as_of)
    lines: dict[int, AgingLine] = {}
    for _claim_id, patient_id, balance, days in _patient_accounts(
            work, today, _straddling(work, today, None)):
        line = lines.get(patient_id)
        if line is None:
            line = lines[patient_id] = AgingLine("")
        line.add(balance, days)
    numbers: dict[int, str] = {}
    for chunk in _chunks(lines):  # ids from a scoped read: the connection's Core result
        numbers.update(work.session.connection().execute(
            select(PatientRow.id, PatientRow.account_number)
            .where(among(work.session, PatientRow.id, chunk))).tuples().all())
    result = []
    for patient_id, line in lines.items():
        if line.is_empty():
            continue
        line.label = numbers[patient_id]
        result.append(line)
    result.sort(key=lambda line: line.label)
    return PatientAgingReport(today, result)


# -- the insurance follow-up work list ---------------------------------------------------------

class FollowUpAction(StrEnum):
    STATUS_INQUIRY = "status inquiry (276)"
    #: in an outbox batch the channel has not taken: nothing reached the payer yet
    SEND = "send: queued, not sent (claims outbox --retry)"
    APPEAL = "appeal or correct"
    #: denied (or partially paid) with an appeal open or sent: wait for its answer
    APPEAL_PENDING = "appeal pending"
    UNDERPAYMENT = "review underpayment"
    RESUBMIT = "fix and resubmit"


@dataclass(slots=True)  # not frozen: its per-field setattr was 0.17 s of 88,504 items
class FollowUpItem:
    claim_id: int
    claim_number: str
    payer_key: str | None
    state: ClaimState
    service_date: date
    charge: Decimal
    #: what the claim's payer still owes on the claim's account
    insurance_balance: Decimal
    #: the claim's latest submission (None: never submitted)
    submitted_on: date | None
    #: days from the latest submission (or the service date, never submitted) to ``as_of``
    days_since_submission: int
    #: service date + the payer's timely-filing days (None: the payer is not configured); for
    #: a denied claim its appeal deadline (:func:`~medbill_core.services.appeals.appeal_deadline`)
    filing_deadline: date | None
    days_left: int | None
    action: FollowUpAction
    #: for denials: the CARCs of the payer's answer, as ``GROUP-CODE``
    carc_codes: tuple[str, ...] = ()
    #: the appeal in progress (open or sent) and its deadline: action "appeal pending"
    appeal_id: int | None = None
    appeal_deadline: date | None = None
    #: what the payer's adapter flagged on its latest answer (underpayments), still open
    findings: tuple[OpenFinding, ...] = ()

    @property
    def expected_amount(self) -> Decimal | None:
        """What the flagged lines should have been allowed (None: no finding says)."""
        return _summed_or_none(f.expected_amount for f in self.findings)

    @property
    def allowed_amount(self) -> Decimal | None:
        return _summed_or_none(f.allowed_amount for f in self.findings)

    @property
    def paid_amount(self) -> Decimal | None:
        """What the payer paid on the flagged lines (None: no finding says)."""
        return _summed_or_none(f.paid_amount for f in self.findings)

    def as_json(self) -> dict[str, Any]:
        """The item; ``appeal_id`` and ``appeal_deadline`` only when an appeal is pending."""
        data: dict[str, Any] = {
            "claim_id": self.claim_id, "claim_number": self.claim_number,
            "payer": self.payer_key, "state": self.state.value,
            "service_date": self.service_date.isoformat(), "charge": str(self.charge),
            "insurance_balance": str(self.insurance_balance),
            "submitted_on": self.submitted_on.isoformat() if self.submitted_on else None,
            "days_since_submission": self.days_since_submission,
            "filing_deadline": self.filing_deadline.isoformat()
            if self.filing_deadline else None,
            # the deadline that applies: a denial's is its appeal deadline
            "deadline_kind": "appeal" if self.state is ClaimState.DENIED else "timely filing",
            "days_left": self.days_left, "action": self.action.value,
            "carc_codes": list(self.carc_codes),
            # each code in words, in the same order (the codes stay as they were)
            "meanings": [explain_adjustment(code) for code in self.carc_codes]}
        if self.appeal_id is not None:
            data["appeal_id"] = self.appeal_id
            data["appeal_deadline"] = self.appeal_deadline.isoformat() \
                if self.appeal_deadline else None
        if self.findings:
            data["expected"] = _text_or_none(self.expected_amount)
            data["allowed"] = _text_or_none(self.allowed_amount)
            data["paid"] = _text_or_none(self.paid_amount)
            data["findings"] = [finding.as_json() for finding in self.findings]
        return data


def _summed_or_none(amounts: Iterable[Decimal | None]) -> Decimal | None:
    known = [amount for amount in amounts if amount is not None]
    return sum(known, ZERO) if known else None


def _text_or_none(amount: Decimal | None) -> str | None:
    return None if amount is None else str(amount)


#: a stored state's value -> the state (a dict look-up, not an enum call per claim)
_STATES = {state.value: state for state in ClaimState}
_ANSWERED = {ClaimState.DENIED: FollowUpAction.APPEAL,
             ClaimState.PARTIALLY_PAID: FollowUpAction.UNDERPAYMENT,
             ClaimState.REJECTED: FollowUpAction.RESUBMIT}


def _payer_balance_of_claim() -> Any:
    """What the claim's payer still owes on the claim's account, as the ledger keeps it (the
    enclosing claims select's claim; NULL for none): one probe of ``ix_ledger_balances_claim``
    alone. The table, not the mapped class: the account is the scoped claim's own (same
    practice), and the tenancy criterion would take the probe off that covering index."""
    balances = cast(Table, LedgerBalanceRow.__table__).c
    return (select(func.sum(balances.balance))
            .where(balances.claim_id == func.coalesce(ClaimRow.account_claim_id, ClaimRow.id),
                   balances.bucket == ledger_balances.INSURANCE,
                   balances.payer_key == ClaimRow.payer_key)
            .correlate(ClaimRow).scalar_subquery())


@dataclass(frozen=True)
class _Answer:
    """What follow-up reads of the payer's latest answer to a denied claim."""

    codes: tuple[str, ...]
    paid_date: date


def _latest_answers(work: UnitOfWork, claim_ids: Iterable[int]) -> dict[int, _Answer]:
    """Claim id -> the denial codes (``GROUP-CARC``) and the date of the payer's latest answer
    to it that is not a reversal (the rules: :func:`~medbill_core.services.posting_rules.
    denial_codes`, as appeals read it, and :func:`~medbill_core.services.remittance.
    latest_answer`), for the claims ``claim_ids`` selects."""
    latest: dict[int, Any] = {}
    for chunk in _chunks(claim_ids):
        for row in work.session.connection().execute(
                select(ClaimAdjudicationRow.claim_id, ClaimAdjudicationRow.paid_date,
                       ClaimAdjudicationRow.adjustments, ClaimAdjudicationRow.posting_rules)
                .where(among(work.session, ClaimAdjudicationRow.claim_id, chunk),
                       ClaimAdjudicationRow.claim_status != ClaimStatusCode.REVERSAL.value)
                .order_by(ClaimAdjudicationRow.id)).all():
            latest[row.claim_id] = row
    return {claim_id: _Answer(denial_codes(row.adjustments or [], row.posting_rules),
                              row.paid_date)
            for claim_id, row in latest.items()}


def _followup_columns() -> tuple[Any, ...]:
    """The claim columns the follow-up list shows or decides by (its latest submission
    among them), with its payer's balance on the account."""
    return (ClaimRow.id, ClaimRow.claim_number, ClaimRow.payer_key, ClaimRow.state,
            ClaimRow.service_date_from, ClaimRow.total_charge, ClaimRow.submitted_at,
            _payer_balance_of_claim())


def _due_for_inquiry(today: date, older_than: int) -> Any:
    """The condition "not a claim waiting at its payer that was sent within ``older_than``
    days of ``today``": those are not due for a status inquiry yet (a quarter of the claims
    follow-up reads at 1,000,000 claims), and stay in the database. A coarse filter: the
    rule itself is applied to every claim read (an item ``days_since_submission`` over
    ``older_than``); a claim sent on the first day counted as recent is sent at or after
    that day's first instant."""
    waiting = [state.value for state in PENDING_AT_PAYER if state is not ClaimState.QUEUED]
    recent_from = end_of_local_day(today - timedelta(days=older_than + 1))
    return or_(ClaimRow.state.not_in(waiting), ClaimRow.submitted_at.is_(None),
               ClaimRow.submitted_at < recent_from)


@collector_paused()  # 100,000 rows and items alive: no collections scanning them
def followup(work: UnitOfWork, *, older_than: int = 30, as_of: date | None = None,
             payer_key: str | None = None,
             claim_ids: Collection[int] | None = None) -> list[FollowUpItem]:
    """The insurance follow-up work list, most urgent first.

    * claims waiting at the payer (``submitted``, ``acknowledged``, ``accepted``) for more
      than ``older_than`` days since their latest submission: a status inquiry (276);
    * denied claims: appeal or correct, with the CARCs of the payer's latest answer;
    * partially paid claims whose payer still owes on the account: review the underpayment;
    * claims whose payer's latest answer a payer adapter flagged while it was posted (an
      underpayment against the fee schedule: :mod:`.remittance_findings`), whatever their
      state: review the underpayment, with the expected, allowed and paid amounts;
    * either of those with an appeal open or sent (:mod:`.appeals`): appeal pending, with
      the appeal's deadline;
    * rejected claims: fix and resubmit.

    Urgency: fewest days left before the payer's timely-filing limit (service date +
    ``timely_filing_days``; claims of a payer no longer configured come last), then the
    longest since submission, then claim id.

    ``claim_ids``: of these claims only (what the work queues refresh after a change).

    :raises UnknownPayer: ``payer_key`` is not a configured payer.
    """
    work.require(Action.REPORTS_READ)
    today = as_of or date.today()
    payers = work.app.config.payers
    if payer_key is not None and payer_key not in payers:
        raise UnknownPayer(payer_key)
    states = [state.value for state in (*PENDING_AT_PAYER, *_ANSWERED)]
    flagged = open_findings(work, claim_ids)
    conditions = [or_(and_(ClaimRow.state.in_(states), _due_for_inquiry(today, older_than)),
                      ClaimRow.id.in_(sorted(flagged)))]
    if payer_key is not None:
        conditions.append(ClaimRow.payer_key == payer_key)
    # the claims' columns with their latest submission and payer balance (no ORM rows), then
    # the denials' latest answers and the appeals a chunk of claims at a time
    columns = _followup_columns()
    if claim_ids is None:
        # in no order: the items are sorted at the end (claim id last)
        claims = work.session.execute(select(*columns).where(*conditions)).all()
    else:
        claims = [row for chunk in _chunks(claim_ids)
                  for row in work.session.execute(select(*columns).where(
                      *conditions, ClaimRow.id.in_(chunk)))]
    days_of = _LocalDays(date.today())
    answers = _latest_answers(work, (c.id for c in claims
                                     if c.state == ClaimState.DENIED.value))
    appeals = pending_appeals(work, [c.id for c in claims if _STATES[c.state] in _ANSWERED])
    # per payer once, not per claim: the timely-filing and appeal windows
    filing = {key: timedelta(days=payer.timely_filing_days) for key, payer in payers.items()}
    appealing = {key: timedelta(days=payer.appeal_days) for key, payer in payers.items()}
    items = []
    for claim_id, number, claim_payer, state_value, service_date, charge, sent_at, owed \
            in claims:
        state = _STATES[state_value]
        sent = None if sent_at is None else days_of.of(sent_at)
        days = days_old(sent or service_date, today)
        balance = summed_cents(owed)
        findings = tuple(flagged[claim_id]) if flagged and claim_id in flagged else ()
        appeal = appeals.get(claim_id)
        if findings and state not in (ClaimState.DENIED, ClaimState.REJECTED):
            action = FollowUpAction.UNDERPAYMENT
            if appeal is not None:
                action = FollowUpAction.APPEAL_PENDING
        elif state is ClaimState.QUEUED:  # never reached the payer: no 276 to send, resend
            action = FollowUpAction.SEND
        elif state in PENDING_AT_PAYER:
            if days <= older_than:
                continue
            action = FollowUpAction.STATUS_INQUIRY
        else:
            action = _ANSWERED[state]
            if action is FollowUpAction.UNDERPAYMENT and balance <= ZERO:
                continue
            if appeal is not None:
                action = FollowUpAction.APPEAL_PENDING
        window = filing.get(claim_payer or "")
        deadline = service_date + window if window is not None else None
        answer = answers.get(claim_id)
        if state is ClaimState.DENIED:  # a denial's clock is the appeal's (one rule:
            # appeals.appeal_deadline, from the latest answer already read)
            window = appealing.get(claim_payer or "")
            deadline = answer.paid_date + window \
                if answer is not None and window is not None else None
        items.append(FollowUpItem(
            claim_id, number, claim_payer, state, service_date, charge, balance, sent, days,
            deadline, (deadline - today).days if deadline is not None else None, action,
            answer.codes if answer is not None else (),
            appeal.id if appeal is not None else None,
            appeal.deadline if appeal is not None else None, findings))
    items.sort(key=lambda item: (item.days_left is None, item.days_left or 0,
                                 -item.days_since_submission, item.claim_id))
    return items


# -- remittance exceptions ---------------------------------------------------------------------

@dataclass(frozen=True)
class RemittanceExceptionItem:
    """A remittance claim payment that matched no claim: a work item for a biller."""

    id: int
    trace_number: str
    #: the claim number as the payer sent it back
    claim_number: str
    paid: Decimal
    reason: str
    received_on: date
    #: set by ``medbill remit resolve`` (or by a later posting that found the claim)
    resolved: bool
    resolved_on: date | None = None
    resolved_by: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "trace_number": self.trace_number,
                "claim_number": self.claim_number, "paid": str(self.paid),
                "reason": self.reason, "received_on": self.received_on.isoformat(),
                "resolved": self.resolved,
                "resolved_on": self.resolved_on.isoformat() if self.resolved_on else None,
                "resolved_by": self.resolved_by}


def remittance_exceptions(work: UnitOfWork, *,
                          include_resolved: bool = False) -> list[RemittanceExceptionItem]:
    """Unmatched remittance claim payments, oldest first (resolved ones only when asked)."""
    work.require(Action.REPORTS_READ)
    query = select(RemittanceExceptionRow).order_by(RemittanceExceptionRow.created_at,
                                                     RemittanceExceptionRow.id)
    if not include_resolved:
        query = query.where(RemittanceExceptionRow.resolved.is_(False))
    return [RemittanceExceptionItem(row.id, row.trace_number, row.claim_number, row.paid,
                                    row.reason, local_day(row.created_at), row.resolved,
                                    local_day(row.resolved_at) if row.resolved_at else None,
                                    row.resolved_by)
            for row in work.session.scalars(query)]
