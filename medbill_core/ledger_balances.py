"""The ledger's balances per account, kept as entries are written (``ledger_balances``).

The entries are the truth; a report that asks what is *open* (the A/R aging, its KPI trend)
would otherwise sum every entry ever posted to find the few accounts still owed: at
1,000,000 claims two passes over 4.7 million entries, seconds each. So every write of
entries (:meth:`~medbill_core.ledger.Ledger.post`, in the same statement batch and the same
transaction, hence never out of step) adds each entry to two rows, the groupings the aging
reports by:

* an **insurance** row per (claim account, patient, payer key): the sum of the insurance
  deltas;
* a **patient** row per (claim account, patient): the sum of the patient deltas and of the
  agency deltas, and the effective date of the first positive transfer to the patient
  (patient A/R's clock);

each with the first and last effective dates of the entries summed -- the entries that
move that bucket (:func:`moves`): a payer payment adds nothing to the patient row, a patient
payment nothing to the insurance row. (A patient row is not
split by payer key: the patient's share moves to the patient under the payer's key and is
paid under none, so per payer key nearly every account would look open.)

A report **as of** a day takes a row as it is when its last entry is effective by then
(nothing after the day is in it), ignores it when its first is after the day, and sums that
account's entries again otherwise (:func:`as_of`): only accounts with entries effective on
both sides of the day -- few for today, many for a month end long past, where the aging
reads the entries instead (:data:`medbill_core.services.receivables.RECOMPUTE_AT_MOST`).

The rows are written with one upsert keyed by ``account_key``, in key order so that two
transactions touching the same accounts lock them in one order (PostgreSQL).
:func:`rebuild` computes rows from the entries again: after a patient merge moves entries
to another patient, after a bulk load; the migration that created the table filled it the
same way. :func:`mismatches` compares them with the entries (tests, ``db check``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    case,
    delete,
    func,
    literal_column,
    null,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from medbill_core.money import ZERO
from medbill_core.storage.batches import chunks
from medbill_core.storage.schema import LedgerBalanceRow, LedgerEntryRow

INSURANCE = "insurance"
PATIENT = "patient"

_BALANCES = cast(Table, LedgerBalanceRow.__table__)
_TRANSFER_TO_PATIENT = "transfer_to_patient"  # EntryKind's value (the ledger imports us)
_NO_AUTOFLUSH = {"autoflush": False}

#: (bucket, claim id, patient id, payer key): one row's identity (payer None on patient rows)
AccountKey = tuple[str, int | None, int, str | None]


def account_key(bucket: str, claim_id: int | None, patient_id: int,
                payer_key: str | None) -> str:
    """The row's identity as text: ``insurance/claim/patient/payer`` or
    ``patient/claim/patient``, an empty part for none."""
    claim = "" if claim_id is None else claim_id
    if bucket == PATIENT:
        return f"{bucket}/{claim}/{patient_id}"
    return f"{bucket}/{claim}/{patient_id}/{payer_key or ''}"


@dataclass
class AccountBalance:
    """One row's sums (of every entry, or of those effective by a day)."""

    bucket: str
    claim_id: int | None
    patient_id: int
    payer_key: str | None
    balance: Decimal
    agency: Decimal
    first_effective: date
    last_effective: date
    first_to_patient: date | None

    @property
    def key(self) -> AccountKey:
        return (self.bucket, self.claim_id, self.patient_id, self.payer_key)


def add(session: Session, entries: Sequence[dict[str, Any]]) -> None:
    """Add entries just inserted (the dicts given to the entries' INSERT: ``claim_id``,
    ``patient_id``, ``payer_key``, the three deltas, ``kind``, ``amount``,
    ``effective_date``) to their rows, creating the rows missing: one upsert statement."""
    summed: dict[AccountKey, list[Any]] = {}
    for entry in entries:
        effective = entry["effective_date"]
        to_patient = effective if (entry["kind"] == _TRANSFER_TO_PATIENT
                                   and entry["amount"] > ZERO) else None
        claim_id, patient_id = entry["claim_id"], entry["patient_id"]
        for key, balance, agency, clock in (
                ((INSURANCE, claim_id, patient_id, entry["payer_key"]),
                 entry["insurance_delta"], ZERO, None),
                ((PATIENT, claim_id, patient_id, None),
                 entry["patient_delta"], entry["agency_delta"], to_patient)):
            if balance == ZERO and agency == ZERO:
                continue  # the entry does not move this bucket (see moves())
            sums = summed.get(key)
            if sums is None:
                summed[key] = [balance, agency, effective, effective, clock]
                continue
            sums[0] += balance
            sums[1] += agency
            sums[2] = min(sums[2], effective)
            sums[3] = max(sums[3], effective)
            if clock is not None and (sums[4] is None or clock < sums[4]):
                sums[4] = clock
    if not summed:
        return
    rows = [_values(AccountBalance(*key, *sums)) for key, sums in summed.items()]
    rows.sort(key=lambda row: row["account_key"])
    session.execute(_upsert(session), rows, execution_options=_NO_AUTOFLUSH)


def _values(row: AccountBalance) -> dict[str, Any]:
    """A row's column values, to insert."""
    return {"account_key": account_key(*row.key), "bucket": row.bucket,
            "claim_id": row.claim_id, "patient_id": row.patient_id,
            "payer_key": row.payer_key, "balance": row.balance, "agency": row.agency,
            "first_effective": row.first_effective, "last_effective": row.last_effective,
            "first_to_patient": row.first_to_patient}


def _upsert(session: Session) -> Any:
    """INSERT ... ON CONFLICT (account_key) DO UPDATE adding the new sums to the row's (built
    once per dialect)."""
    dialect = session.get_bind().dialect.name
    statement = _UPSERTS.get(dialect)
    if statement is None:
        statement = _UPSERTS[dialect] = _upsert_for(dialect == "postgresql")
    return statement


_UPSERTS: dict[str, Any] = {}


def _upsert_for(postgresql: bool) -> Any:
    statement = (postgresql_insert if postgresql else sqlite_insert)(_BALANCES)
    new = statement.excluded
    row = _BALANCES.c
    # the earlier and the later of two dates: PostgreSQL's least()/greatest() ignore NULLs;
    # SQLite's two-argument min()/max() are NULL when either is (only the transfer may be)
    earliest = "least" if postgresql else "min"
    latest = "greatest" if postgresql else "max"
    first_to_patient = getattr(func, earliest)(row.first_to_patient, new.first_to_patient)
    if not postgresql:
        first_to_patient = func.coalesce(first_to_patient, row.first_to_patient,
                                         new.first_to_patient)
    return statement.on_conflict_do_update(index_elements=[row.account_key], set_={
        "balance": row.balance + new.balance,
        "agency": row.agency + new.agency,
        "first_effective": getattr(func, earliest)(row.first_effective, new.first_effective),
        "last_effective": getattr(func, latest)(row.last_effective, new.last_effective),
        "first_to_patient": first_to_patient})


def _summed(bucket: str, *conditions: Any) -> Any:
    """The entries matching ``conditions`` summed into ``bucket``'s rows: (practice, claim,
    patient, payer key, balance, agency, first and last effective, first transfer). ORM
    columns: a scoped session sees its practice's entries only."""
    e = LedgerEntryRow
    if bucket == INSURANCE:
        columns: tuple[Any, ...] = (e.payer_key, func.sum(e.insurance_delta),
                                    literal_column("0"), null())
        grouping: tuple[Any, ...] = (e.practice_id, e.claim_id, e.patient_id, e.payer_key)
    else:
        columns = (null(), func.sum(e.patient_delta), func.sum(e.agency_delta),
                   func.min(case((and_(e.kind == _TRANSFER_TO_PATIENT, e.amount > ZERO),
                                  e.effective_date))))
        grouping = (e.practice_id, e.claim_id, e.patient_id)
    return (select(e.practice_id, e.claim_id, e.patient_id, *columns[:3],
                   func.min(e.effective_date), func.max(e.effective_date), columns[3])
            .where(moves(bucket), *conditions).group_by(*grouping))


def moves(bucket: str) -> ColumnElement[bool]:
    """The entries that move ``bucket`` (a nonzero delta of it), the only ones its rows sum
    and date: an insurance row's dates are those of its payer's amounts, a patient row's
    those of the patient's (and the agency's) amounts. A row holds the accounts' sums all
    the same (the other entries add zero), and half the rows are written."""
    e = LedgerEntryRow
    if bucket == INSURANCE:
        return e.insurance_delta != ZERO
    return or_(e.patient_delta != ZERO, e.agency_delta != ZERO)


def summed_from_entries(session: Session, *conditions: Any) -> list[AccountBalance]:
    """Both buckets' rows computed from the entries matching ``conditions`` (what the rows
    kept must hold when ``conditions`` select whole accounts)."""
    return [row for _practice, row in _summed_with_practice(session, *conditions)]


def _summed_with_practice(session: Session,
                          *conditions: Any) -> list[tuple[int, AccountBalance]]:
    """:func:`summed_from_entries`, each row with the practice its entries belong to."""
    result = []
    for bucket in (INSURANCE, PATIENT):
        for row in session.execute(_summed(bucket, *conditions),
                                   execution_options=_NO_AUTOFLUSH):
            practice_id, claim_id, patient_id, payer, balance, agency, first, last, clock = row
            result.append((practice_id, AccountBalance(
                bucket, claim_id, patient_id, payer, _cents(balance), _cents(agency), first,
                last, clock)))
    return result


def _cents(value: Any) -> Decimal:
    """A sum of a cents column (Decimal dollars: the column's type converted it), or the
    insurance rows' constant agency share (0)."""
    if isinstance(value, Decimal):
        return value
    if value in (None, 0):
        return ZERO
    raise TypeError("ledger balance sum came back untyped")


def kept(session: Session, *conditions: Any) -> list[AccountBalance]:
    """The rows kept that match ``conditions``."""
    b = LedgerBalanceRow
    return [AccountBalance(*row) for row in session.execute(
        select(b.bucket, b.claim_id, b.patient_id, b.payer_key, b.balance, b.agency,
               b.first_effective, b.last_effective, b.first_to_patient).where(*conditions),
        execution_options=_NO_AUTOFLUSH)]


def rebuild(session: Session, patient_ids: Iterable[int] | None = None) -> int:
    """Compute the rows of these patients (None: of every patient with entries or rows, in
    the session's practice when it is scoped) from the entries again, replacing what was
    kept, a few hundred patients at a time; returns how many rows there are now. The
    entries' practice goes with them."""
    chosen = _patients(session) if patient_ids is None else sorted(set(patient_ids))
    written = 0
    for chunk in chunks(chosen):
        session.execute(delete(_BALANCES).where(_BALANCES.c.patient_id.in_(chunk)),
                        execution_options=_NO_AUTOFLUSH)
        rows = [{"practice_id": practice_id, **_values(row)}
                for practice_id, row in _summed_with_practice(
                    session, LedgerEntryRow.patient_id.in_(chunk))]
        if rows:
            session.execute(_BALANCES.insert(), rows, execution_options=_NO_AUTOFLUSH)
        written += len(rows)
    return written


def mismatches(session: Session, *, limit: int = 100) -> list[str]:
    """Rows kept that differ from their entries' sums, rows without entries, and accounts
    with entries but no row (at most ``limit`` of them; an empty list: the rows are right),
    a few hundred patients at a time. For tests and ``medbill db check-balances``."""
    b = LedgerBalanceRow
    patients = _patients(session)
    problems: list[str] = []
    for chunk in chunks(patients):
        rows = {row.key: row for row in kept(session, b.patient_id.in_(chunk))}
        for truth in summed_from_entries(session, LedgerEntryRow.patient_id.in_(chunk)):
            row = rows.pop(truth.key, None)
            if row != truth:
                problems.append(f"{account_key(*truth.key)}: kept "
                                f"{_described(row)}, entries {_described(truth)}")
        problems.extend(f"{account_key(*key)}: kept without entries" for key in rows)
        if len(problems) >= limit:
            break
    return problems[:limit]


def _patients(session: Session) -> list[int]:
    """The patients with entries or rows kept (ORM reads: of the session's practice when it
    is scoped, so that a rebuild there never touches another practice's rows)."""
    return sorted({*session.scalars(select(LedgerEntryRow.patient_id).distinct(),
                                    execution_options=_NO_AUTOFLUSH),
                   *session.scalars(select(LedgerBalanceRow.patient_id).distinct(),
                                    execution_options=_NO_AUTOFLUSH)})


def _described(row: AccountBalance | None) -> str:
    """A row's sums and dates (amounts and dates only: no patient detail)."""
    if row is None:
        return "nothing"
    return (f"balance {row.balance} agency {row.agency} effective {row.first_effective}.."
            f"{row.last_effective} first transfer {row.first_to_patient}")


def as_of(session: Session, day: date, accounts: Iterable[AccountKey]) -> list[AccountBalance]:
    """These rows as sums of their entries effective by ``day`` (for the rows with entries
    effective on both sides of it), from the entries: by claim (the entries' account index)
    and, for entries on no claim, by patient."""
    e = LedgerEntryRow
    keys = set(accounts)
    claims = sorted({claim for _, claim, _, _ in keys if claim is not None})
    patients = sorted({patient for _, claim, patient, _ in keys if claim is None})
    result = []
    for chunk in chunks(claims):
        result.extend(summed_from_entries(session, e.effective_date <= day,
                                          e.claim_id.in_(chunk)))
    for chunk in chunks(patients):
        result.extend(summed_from_entries(session, e.effective_date <= day,
                                          e.claim_id.is_(None), e.patient_id.in_(chunk)))
    return [balance for balance in result if balance.key in keys]


__all__ = ["INSURANCE", "PATIENT", "AccountBalance", "AccountKey", "account_key", "add",
           "as_of", "kept", "mismatches", "moves", "rebuild", "summed_from_entries"]
