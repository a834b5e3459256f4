"""The double-bucket patient-account ledger.

Every amount a claim or patient account owes lives in one of two buckets:
**insurance** (a payer is expected to pay it) and **patient**. Entries move
money between "owed" and "settled":

============================  ==================  =================
kind                          insurance bucket    patient bucket
============================  ==================  =================
charge                        + (or patient, self-pay / chosen bucket)
payer_payment                 -
contractual_adjustment        -
transfer_to_patient           -                   +
transfer_to_payer             - (from payer_key; a paired negative entry adds to the next payer)
patient_payment                                   - (+ when a returned payment takes it back)
financing_fee                                     - (a lender's merchant fee: the part of a
                                                    financed payment the lender kept)
write_off                     - (chosen bucket)
refund                        + (chosen bucket)
============================  ==================  =================

A third bucket, **agency**, holds what a patient owes that the practice placed with a
collection agency (:mod:`medbill_core.services.collections`): the patient bucket no longer
shows it, so statements and patient A/R leave it out while the agency works it, and the
agency A/R is its own sum (``agency_delta``):

============================  ==================  =================
kind                          patient bucket      agency bucket
============================  ==================  =================
transfer_to_agency            -                   +
recall_from_agency            +                   -
agency_payment                                    - (net of the agency's fee)
agency_fee                                        - (the agency's fee, an adjustment)
============================  ==================  =================

Patient payments carry the posting keys ``payment:<id>`` (as recorded),
``credit:payment:<id>:<n>`` (its credit applied to claims later: minus on the account, plus
on the claims), ``refund:payment:<id>:<n>`` (its credit refunded) and
``reversal:payment:<id>`` (returned: everything it applied taken back), so what a payment did
is always the sum of its postings.

A payment through a patient-financing lender (:mod:`medbill_core.services.financing`) pays
the patient's balance in full but reaches the practice less the lender's merchant fee: the
money received posts as ``patient_payment``, the fee as ``financing_fee`` (an expense of the
practice, counted with the adjustments), both in the payment's posting.

so for any claim, patient or payer:
``charges = payer payments + adjustments + write-offs + patient payments + agency payments
+ agency fees + financing fees - refunds + balance`` (the balance of all three buckets).
Negative amounts are allowed where a payer takes money back (reversals), and for
patient payments only in postings that move them (a returned check taking back what
a payment applied, a credit applied to a claim: ``moves_payments=True``); a
posting that would leave a bucket negative is refused unless the caller
declares it a credit (``allow_credit=True``).

Postings carry a unique ``posting_key`` (e.g. ``835:<trace>:<claim>``): posting
the same key again writes nothing and reports it, which makes remittance
posting idempotent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.orm import Session

from medbill_core import audit, ledger_balances
from medbill_core.errors import LedgerError
from medbill_core.money import ZERO, summed_cents, to_money
from medbill_core.storage.prefix_sql import starts_with
from medbill_core.storage.schema import LedgerBalanceRow, LedgerEntryRow, PostingRow, utcnow

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement


class EntryKind(StrEnum):
    CHARGE = "charge"
    PAYER_PAYMENT = "payer_payment"
    CONTRACTUAL_ADJUSTMENT = "contractual_adjustment"
    TRANSFER_TO_PATIENT = "transfer_to_patient"
    TRANSFER_TO_PAYER = "transfer_to_payer"
    PATIENT_PAYMENT = "patient_payment"
    WRITE_OFF = "write_off"
    REFUND = "refund"
    TRANSFER_TO_AGENCY = "transfer_to_agency"
    RECALL_FROM_AGENCY = "recall_from_agency"
    AGENCY_PAYMENT = "agency_payment"
    AGENCY_FEE = "agency_fee"
    FINANCING_FEE = "financing_fee"


class Bucket(StrEnum):
    INSURANCE = "insurance"
    PATIENT = "patient"
    #: placed with a collection agency (only the agency kinds move it)
    AGENCY = "agency"


#: kinds that move money into or out of the agency bucket
_AGENCY_KINDS = frozenset({EntryKind.TRANSFER_TO_AGENCY, EntryKind.RECALL_FROM_AGENCY,
                           EntryKind.AGENCY_PAYMENT, EntryKind.AGENCY_FEE})
#: kinds whose amounts must be positive (corrections use the opposite kind)
_POSITIVE_ONLY = frozenset({EntryKind.PATIENT_PAYMENT, EntryKind.REFUND,
                            EntryKind.WRITE_OFF, EntryKind.FINANCING_FEE}) | _AGENCY_KINDS
#: the kinds a payment's posting holds, negative only where it is taken back (``moves_payments``)
_PAYMENT_KINDS = frozenset({EntryKind.PATIENT_PAYMENT, EntryKind.FINANCING_FEE})


@dataclass(frozen=True)
class LedgerLine:
    """One entry to post. ``bucket`` is needed for charge, write-off and refund."""

    kind: EntryKind
    amount: Decimal
    patient_id: int
    claim_id: int | None = None
    payer_key: str | None = None
    claim_line_number: int | None = None
    reason_code: str | None = None
    bucket: Bucket | None = None

    def deltas(self) -> tuple[Decimal, Decimal]:
        """(insurance delta, patient delta) of this entry (the agency bucket's:
        :meth:`agency_delta`)."""
        amount = to_money(self.amount)
        kind = self.kind
        if kind in _AGENCY_KINDS:
            if self.bucket not in (None, Bucket.AGENCY):
                raise LedgerError(f"a {kind.value} entry moves the agency bucket only")
            return (ZERO, -amount) if kind is EntryKind.TRANSFER_TO_AGENCY else \
                (ZERO, amount) if kind is EntryKind.RECALL_FROM_AGENCY else (ZERO, ZERO)
        if self.bucket is Bucket.AGENCY:
            raise LedgerError(f"a {kind.value} entry cannot apply to the agency bucket")
        if kind is EntryKind.CHARGE:
            return (amount, ZERO) if self._bucket(Bucket.INSURANCE) is Bucket.INSURANCE \
                else (ZERO, amount)
        if kind in (EntryKind.PAYER_PAYMENT, EntryKind.CONTRACTUAL_ADJUSTMENT):
            return (-amount, ZERO)
        if kind is EntryKind.TRANSFER_TO_PATIENT:
            return (-amount, amount)
        if kind is EntryKind.TRANSFER_TO_PAYER:
            return (-amount, ZERO)
        if kind in _PAYMENT_KINDS:
            return (ZERO, -amount)
        if kind is EntryKind.WRITE_OFF:
            return (-amount, ZERO) if self._bucket() is Bucket.INSURANCE else (ZERO, -amount)
        # refund
        return (amount, ZERO) if self._bucket() is Bucket.INSURANCE else (ZERO, amount)

    def agency_delta(self) -> Decimal:
        """What this entry adds to the agency bucket."""
        if self.kind not in _AGENCY_KINDS:
            return ZERO
        amount = to_money(self.amount)
        return amount if self.kind is EntryKind.TRANSFER_TO_AGENCY else -amount

    def _bucket(self, default: Bucket | None = None) -> Bucket:
        if self.bucket is not None:
            return self.bucket
        if default is None:
            raise LedgerError(f"a {self.kind.value} entry must say which bucket it applies to")
        return default


@dataclass(frozen=True)
class Balance:
    insurance: Decimal
    patient: Decimal
    #: placed with a collection agency (see the module docstring)
    agency: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.insurance + self.patient + self.agency


@dataclass(frozen=True)
class Totals:
    """Sums by entry kind for a claim, a patient or everything, plus the balance."""

    by_kind: dict[EntryKind, Decimal]
    balance: Balance

    def __getitem__(self, kind: EntryKind) -> Decimal:
        return self.by_kind.get(kind, ZERO)

    @property
    def charges(self) -> Decimal:
        return self[EntryKind.CHARGE]

    @property
    def payments(self) -> Decimal:
        return (self[EntryKind.PAYER_PAYMENT] + self[EntryKind.PATIENT_PAYMENT]
                + self[EntryKind.AGENCY_PAYMENT])

    @property
    def adjustments(self) -> Decimal:
        """Contractual adjustments, write-offs, agency and financing fees, less refunds
        (payer-to-payer transfers net to zero within an account and are counted here so a
        payer's own totals balance)."""
        return (self[EntryKind.CONTRACTUAL_ADJUSTMENT] + self[EntryKind.WRITE_OFF]
                + self[EntryKind.AGENCY_FEE] + self[EntryKind.FINANCING_FEE]
                + self[EntryKind.TRANSFER_TO_PAYER] - self[EntryKind.REFUND])

    def is_balanced(self) -> bool:
        """The ledger invariant: charges = payments + adjustments + balance."""
        return self.charges == self.payments + self.adjustments + self.balance.total


@dataclass(frozen=True)
class PostingResult:
    posting_id: int
    created: bool
    entries: int


_BATCH_KEY = "medbill.ledger.batch"
_CHUNK = 500
#: the ledger's own statements need not flush the session's pending objects first
_NO_AUTOFLUSH = {"autoflush": False}
#: posting ids taken from PostgreSQL's sequence at once for a batch
_IDS_AT_ONCE = 50
#: the tables, for inserts of many rows: a Core executemany, without the ORM's bulk-insert
#: bookkeeping for each row (a quarter of the cost of writing a batch's entries)
_POSTINGS = cast(Table, PostingRow.__table__)
_ENTRIES = cast(Table, LedgerEntryRow.__table__)


@dataclass
class LedgerBatch:
    """What :meth:`Ledger.begin_batch` carries in memory (in ``session.info``)."""

    #: claim accounts whose balances are carried
    accounts: set[int] = field(default_factory=set)
    #: (claim account, payer key) -> [insurance, patient, agency]: what the batch began with
    #: (the patient's and agency's shares under no payer key, as the kept rows hold them)
    #: plus what it posted (under each entry's payer key); only the sums over a claim
    #: account and a payer's insurance share are read
    balances: dict[tuple[int, str | None], list[Decimal]] = field(default_factory=dict)
    #: posting keys known not to be posted yet
    absent_keys: set[str] = field(default_factory=set)
    #: postings and entries of the batch not written yet (:meth:`Ledger.flush_pending`)
    pending_postings: list[dict[str, Any]] = field(default_factory=list)
    pending_entries: list[dict[str, Any]] = field(default_factory=list)
    #: posting ids taken for the batch and not used yet
    free_ids: list[int] = field(default_factory=list)
    last_id: int | None = None

    def posted(self, posting_key: str, entries: Sequence[dict[str, Any]]) -> None:
        self.absent_keys.discard(posting_key)
        for entry in entries:
            if entry["claim_id"] in self.accounts:
                sums = self.balances.setdefault((entry["claim_id"], entry["payer_key"]),
                                                [ZERO, ZERO, ZERO])
                sums[0] += entry["insurance_delta"]
                sums[1] += entry["patient_delta"]
                sums[2] += entry["agency_delta"]

    def claim_balance(self, claim_id: int) -> Balance:
        insurance = patient = agency = ZERO
        for (account, _), sums in self.balances.items():
            if account == claim_id:
                insurance += sums[0]
                patient += sums[1]
                agency += sums[2]
        return Balance(insurance, patient, agency)

    def payer_balance(self, claim_id: int, payer_key: str) -> Decimal:
        sums = self.balances.get((claim_id, payer_key))
        return sums[0] if sums else ZERO


def _batch(session: Session) -> LedgerBatch | None:
    batch: LedgerBatch | None = session.info.get(_BATCH_KEY)
    return batch


class Ledger:
    """Posts entries and answers balances, inside the caller's transaction."""

    def __init__(self, session: Session, *, actor: str) -> None:
        self.session = session
        self.actor = actor

    def post(self, posting_key: str, source: str, lines: Sequence[LedgerLine], *,
             effective_date: date, memo: str | None = None,
             allow_credit: bool = False, moves_payments: bool = False,
             undoes_write_off: bool = False, undoes_refund: bool = False,
             record: bool = True) -> PostingResult:
        """Post ``lines`` under ``posting_key`` once.

        ``moves_payments``: the posting takes back or moves what patient payments applied
        (a returned check, a credit applied to a claim), so a patient payment (or the
        financing fee a financed payment carries) may be negative in it; anywhere else a
        negative patient payment is a mistake.
        ``undoes_write_off``: the posting takes back (part of) an earlier write-off that a
        later payment proved wrong, so a write-off may be negative in it.
        ``undoes_refund``: the posting takes back a refund whose money never left (a refund
        check voided), so a refund may be negative in it.
        ``record=False``: the caller records the posting's ``ledger.post`` audit event itself
        (where its events go in another order), with the details this method gives it.

        :returns: the posting; ``created`` is False when the key was posted before
            (nothing is written then).
        :raises LedgerError: an amount is zero, a positive-only kind is negative, or a
            bucket would go negative without ``allow_credit``.
        """
        batch = _batch(self.session)
        if batch is None or posting_key not in batch.absent_keys:
            self.flush_pending()
            existing = self.session.scalar(
                select(PostingRow).where(PostingRow.posting_key == posting_key))
            if existing is not None:
                return PostingResult(existing.id, False, len(existing.entries))
        if not lines:
            raise LedgerError(f"posting {posting_key}: no entries")
        reduces_a_bucket = False
        entries = []
        for line in lines:
            amount = to_money(line.amount)
            if amount == ZERO:
                raise LedgerError(f"posting {posting_key}: a {line.kind.value} of 0.00")
            if line.kind in _POSITIVE_ONLY and amount < ZERO and not (
                    moves_payments and line.kind in _PAYMENT_KINDS) and not (
                    undoes_write_off and line.kind is EntryKind.WRITE_OFF) and not (
                    undoes_refund and line.kind is EntryKind.REFUND):
                raise LedgerError(f"posting {posting_key}: {line.kind.value} must be positive")
            insurance_delta, patient_delta = line.deltas()
            agency_delta = line.agency_delta()
            reduces_a_bucket |= insurance_delta < ZERO or patient_delta < ZERO \
                or agency_delta < ZERO
            entries.append(dict(
                kind=line.kind.value, amount=amount, insurance_delta=insurance_delta,
                patient_delta=patient_delta, agency_delta=agency_delta, claim_id=line.claim_id,
                claim_line_number=line.claim_line_number, patient_id=line.patient_id,
                payer_key=line.payer_key, reason_code=line.reason_code,
                effective_date=effective_date))
        posting = dict(posting_key=posting_key, source=source, actor=self.actor,
                       posted_at=utcnow(), memo=memo)
        if batch is not None:
            # in a batch: the posting takes an id now and is written with the batch's others
            posting_id = self._take_id(batch)
            batch.pending_postings.append({"id": posting_id, **posting})
            batch.pending_entries.extend({**entry, "posting_id": posting_id}
                                         for entry in entries)
            batch.posted(posting_key, entries)
        else:
            # Core statements, not ORM objects: no flush of the whole session for the
            # posting's id, and one multi-row INSERT for the entries (never read back as
            # objects in the transaction that posts them)
            posting_id = self.session.execute(
                insert(PostingRow).values(**posting).returning(PostingRow.id),
                execution_options=_NO_AUTOFLUSH).scalar_one()
            self._insert_entries([{**entry, "posting_id": posting_id} for entry in entries])
        if reduces_a_bucket and not allow_credit:  # only a reduction can go below zero
            self._refuse_negative(posting_key, lines)
        if record:
            audit.record(self.session, actor=self.actor, action="ledger.post",
                         entity_type="posting", entity_id=posting_id,
                         details={"key": posting_key, "source": source, "entries": len(lines)})
        return PostingResult(posting_id, True, len(lines))

    # -- batches ----------------------------------------------------------------------------
    def next_in_family(self, prefix: str) -> int:
        """The number the next posting of a family of keys takes (``prefix`` then the number:
        ``credit:payment:12:`` -> 1, 2, ...): one more than the postings whose key begins with
        ``prefix``."""
        return (self.session.scalar(select(func.count()).select_from(PostingRow).where(
            starts_with(self.session, PostingRow.posting_key, prefix))) or 0) + 1

    def in_batch(self) -> bool:
        """A batch (:meth:`begin_batch`) is under way in this unit of work."""
        return _batch(self.session) is not None

    def begin_batch(self, claim_ids: Iterable[int], absent_keys: Iterable[str] = (), *,
                    postings: int = 0) -> None:
        """Carry the balances of these claim accounts in memory for the rest of a batch (one
        grouped query now; each posting of the batch updates them), and remember that the
        posting keys ``absent_keys`` are known not to be posted (the caller looked them up in
        one query). Balances of other accounts are still read from the database. Ends with
        :meth:`end_batch`; only :meth:`post` may write entries meanwhile. ``postings``: how
        many postings the batch will make at least (PostgreSQL: their ids taken at once)."""
        batch = _batch(self.session)
        if batch is None:
            batch = self.session.info[_BATCH_KEY] = LedgerBatch()
        if postings > len(batch.free_ids) and self._postgresql():
            batch.free_ids.extend(self._sequence_ids(postings - len(batch.free_ids)))
        wanted = sorted(set(claim_ids) - batch.accounts)
        kept = LedgerBalanceRow
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start:start + _CHUNK]
            # the balances kept per account (from their claim index alone), not the entries
            rows = self.session.execute(
                select(kept.claim_id, kept.bucket, kept.payer_key, kept.balance, kept.agency)
                .where(kept.claim_id.in_(chunk)), execution_options=_NO_AUTOFLUSH).all()
            batch.accounts.update(chunk)
            for claim_id, bucket, payer_key, balance, agency in rows:
                if claim_id is None:
                    continue
                sums = batch.balances.setdefault((claim_id, payer_key), [ZERO, ZERO, ZERO])
                if bucket == ledger_balances.INSURANCE:
                    sums[0] += balance
                else:  # the patient's row (no payer key): the patient's and agency's shares
                    sums[1] += balance
                    sums[2] += agency
        batch.absent_keys.update(absent_keys)

    def end_batch(self, *, discard: bool = False) -> None:
        """Write what the batch posted (:meth:`flush_pending`) and stop carrying balances;
        ``discard``: the transaction is being rolled back, write nothing."""
        if not discard:
            self.flush_pending()
        self.session.info.pop(_BATCH_KEY, None)

    def flush_pending(self) -> None:
        """Write the batch's postings and entries not written yet: one INSERT of the
        postings (their ids taken before), one of the entries. Every read of the ledger
        does this first, so what is pending is never missed."""
        batch = _batch(self.session)
        if batch is None or not batch.pending_postings:
            return
        postings, entries = batch.pending_postings, batch.pending_entries
        batch.pending_postings, batch.pending_entries = [], []
        self.session.execute(insert(_POSTINGS), postings, execution_options=_NO_AUTOFLUSH)
        self._insert_entries(entries)

    def _insert_entries(self, entries: list[dict[str, Any]]) -> None:
        # every column given (NULLs too): one executemany, not one per set of NULL columns
        self.session.execute(insert(_ENTRIES), entries, execution_options=_NO_AUTOFLUSH)
        ledger_balances.add(self.session, entries)  # the accounts' sums, in step

    def _take_id(self, batch: LedgerBatch) -> int:
        """A posting id for a batch's posting. SQLite: the next after the largest (a writing
        transaction holds the database's write lock from its start: nobody else inserts);
        PostgreSQL: from the column's sequence, a few at a time."""
        if not batch.free_ids:
            if self._postgresql():
                batch.free_ids = self._sequence_ids(_IDS_AT_ONCE)
            else:  # every practice's postings: read on the connection, past the session's
                # practice filter (postings are the practice's: migration 0043)
                batch.free_ids = [1 + (batch.last_id or self.session.connection().scalar(
                    select(func.max(_POSTINGS.c.id))) or 0)]
        batch.last_id = batch.free_ids.pop(0)
        return batch.last_id

    def _postgresql(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    def _sequence_ids(self, count: int) -> list[int]:
        """``count`` posting ids from PostgreSQL's sequence, in one statement."""
        return list(self.session.scalars(text(
            "SELECT nextval(pg_get_serial_sequence('postings', 'id')) "
            "FROM generate_series(1, :n)"), {"n": count}, execution_options=_NO_AUTOFLUSH))

    def _refuse_negative(self, posting_key: str, lines: Sequence[LedgerLine]) -> None:
        """Refuse when a bucket this posting *reduces* would end below zero (a credit that
        was already there, e.g. from a payer's over-adjustment, is not this posting's doing)."""
        reduced: dict[int, set[Bucket]] = {}
        for line in lines:
            insurance_delta, patient_delta = line.deltas()
            key = line.claim_id if line.claim_id is not None else -line.patient_id
            if insurance_delta < ZERO:
                reduced.setdefault(key, set()).add(Bucket.INSURANCE)
            if patient_delta < ZERO:
                reduced.setdefault(key, set()).add(Bucket.PATIENT)
            if line.agency_delta() < ZERO:
                reduced.setdefault(key, set()).add(Bucket.AGENCY)
        for key, buckets in sorted(reduced.items(), key=lambda item: item[0] or 0):
            if key is not None and key < 0:
                balance = self.patient_balance(-key)
                if balance.patient < ZERO:
                    raise LedgerError(
                        f"posting {posting_key}: patient {-key} balance would be "
                        f"{balance.patient}; record the over-payment as a credit explicitly")
                if Bucket.AGENCY in buckets and balance.agency < ZERO:
                    raise LedgerError(
                        f"posting {posting_key}: patient {-key} agency balance would be "
                        f"{balance.agency}")
                continue
            balance = self.claim_balance(key)
            for bucket, amount in ((Bucket.INSURANCE, balance.insurance),
                                   (Bucket.PATIENT, balance.patient),
                                   (Bucket.AGENCY, balance.agency)):
                if bucket in buckets and amount < ZERO:
                    raise LedgerError(
                        f"posting {posting_key}: claim {key} {bucket.value} balance would "
                        f"be {amount}; record an over-payment as a credit or refund explicitly")

    # -- balances ---------------------------------------------------------------------------
    def _balance(self, *conditions: ColumnElement[bool]) -> Balance:
        self.flush_pending()
        row = self.session.execute(
            select(func.coalesce(func.sum(LedgerEntryRow.insurance_delta), 0),
                   func.coalesce(func.sum(LedgerEntryRow.patient_delta), 0),
                   func.coalesce(func.sum(LedgerEntryRow.agency_delta), 0))
            .where(*conditions)).one()
        return Balance(_summed(row[0]), _summed(row[1]), _summed(row[2]))

    def claim_balance(self, claim_id: int) -> Balance:
        """What the payers, the patient and an agency are owed on a claim account: the
        balances kept per account (:mod:`medbill_core.ledger_balances`), from their claim
        index alone."""
        batch = _batch(self.session)
        if batch is not None and claim_id in batch.accounts:
            return batch.claim_balance(claim_id)
        self.flush_pending()
        kept = LedgerBalanceRow
        insurance = patient = agency = ZERO
        for bucket, balance, agency_share in self.session.execute(
                select(kept.bucket, kept.balance, kept.agency)
                .where(kept.claim_id == claim_id)):
            if bucket == ledger_balances.INSURANCE:
                insurance += balance
            else:
                patient += balance
                agency += agency_share
        return Balance(insurance, patient, agency)

    def payer_balance(self, claim_id: int, payer_key: str) -> Decimal:
        """What ``payer_key`` still owes on a claim account (the balances kept per
        account)."""
        batch = _batch(self.session)
        if batch is not None and claim_id in batch.accounts:
            return batch.payer_balance(claim_id, payer_key)
        self.flush_pending()
        kept = LedgerBalanceRow
        return _summed(self.session.scalar(
            select(func.sum(kept.balance))
            .where(kept.claim_id == claim_id, kept.bucket == ledger_balances.INSURANCE,
                   kept.payer_key == payer_key)))

    def patient_balance(self, patient_id: int, *, as_of: date | None = None) -> Balance:
        return self._balance(LedgerEntryRow.patient_id == patient_id, *as_of_conditions(as_of))

    def totals(self, *, claim_id: int | None = None, patient_id: int | None = None,
               payer_key: str | None = None, as_of: date | None = None) -> Totals:
        """Sums by kind and the balance, for one claim, patient, payer or the whole ledger;
        with ``as_of``, of the entries effective on or before that day only."""
        conditions: list[ColumnElement[bool]] = list(as_of_conditions(as_of))
        if claim_id is not None:
            conditions.append(LedgerEntryRow.claim_id == claim_id)
        if patient_id is not None:
            conditions.append(LedgerEntryRow.patient_id == patient_id)
        if payer_key is not None:
            conditions.append(LedgerEntryRow.payer_key == payer_key)
        self.flush_pending()
        rows = self.session.execute(
            select(LedgerEntryRow.kind, func.sum(LedgerEntryRow.amount))
            .where(*conditions).group_by(LedgerEntryRow.kind)).all()
        by_kind = {EntryKind(kind): _summed(amount) for kind, amount in rows}
        return Totals(by_kind, self._balance(*conditions))

    def insurance_balance_by_payer(self, *, as_of: date | None = None) -> dict[str, Decimal]:
        """Insurance A/R: what each payer is still expected to pay (as of a day: see
        :func:`as_of_conditions`)."""
        self.flush_pending()
        rows = self.session.execute(
            select(LedgerEntryRow.payer_key, func.sum(LedgerEntryRow.insurance_delta))
            .where(LedgerEntryRow.payer_key.is_not(None), *as_of_conditions(as_of))
            .group_by(LedgerEntryRow.payer_key)).all()
        return {key: _summed(amount) for key, amount in rows if key is not None}


def as_of_conditions(as_of: date | None) -> tuple[ColumnElement[bool], ...]:
    """The condition "effective on or before ``as_of``" (none when ``as_of`` is None).

    The ledger as of a day is its entries by **effective date** (the service date of a
    charge, the payment date of an 835, the received date of a patient payment, the day of a
    refund or reversal), not by when they were recorded: a month-end report re-run later
    shows the same balances, except for entries later back-dated into that month.
    """
    return () if as_of is None else (LedgerEntryRow.effective_date <= as_of,)


def _summed(value: object) -> Decimal:
    """:func:`~medbill_core.money.summed_cents`, a sum that lost its type a ledger error."""
    return summed_cents(value, LedgerError)
