"""Numbered accounting export batches: each ledger posting is exported once, ever.

An export (``medbill accounting export``) takes every ledger posting of the practice not yet
exported (in ``--from``/``--to`` when given, by effective date) and every 835 of the period
whose deposit holds lines the ledger does not (PLB adjustments, claim payments that matched no
claim) not yet exported, records them as the next numbered batch (the database refuses a
posting or a deposit in two batches), and writes the batch's journal entries
(:mod:`medbill_core.services.accounting_journal`) in one format. An IIF import cannot be
undone in QuickBooks: running the export again exports nothing new. ``reexport`` writes a
batch again from what it recorded (its postings, its deposits, its chart of accounts): the same
file byte for byte, checked against the SHA-256 recorded at export.

The ledger is read as a stream (a server-side cursor on PostgreSQL): memory holds one day's
journal, not the period's movements.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import exists, func, insert, literal, select
from sqlalchemy.exc import IntegrityError

from medbill_core import audit
from medbill_core.app import UnitOfWork
from medbill_core.errors import ConfigurationError, MedbillError, NotFound, ValidationFailed
from medbill_core.money import ZERO
from medbill_core.permissions import Action
from medbill_core.services.accounting_chart import (
    AccountRole,
    account_names,
    accounts_to_create,
)
from medbill_core.services.accounting_formats import ExportFormat, render
from medbill_core.services.accounting_journal import (
    JournalContext,
    JournalEntry,
    Movement,
    Remittance,
    journal,
)
from medbill_core.storage.prefix_sql import starts_with
from medbill_core.storage.schema import (
    AccountingBatchPostingRow,
    AccountingBatchRemittanceRow,
    AccountingBatchRow,
    LedgerEntryRow,
    PostingRow,
    ProviderAdjustmentRow,
    RemittanceExceptionRow,
    RemittanceRow,
)
from medbill_core.storage.tenancy import scope_of

if TYPE_CHECKING:
    from sqlalchemy import CursorResult

#: ledger rows fetched per round trip while streaming
_STREAM_ROWS = 5000


class BatchChanged(MedbillError):
    """A re-export would not give the file exported (the records under it changed)."""


@dataclass
class BatchTotals:
    """What a batch's journal adds up to, gathered while it is written."""

    journal_entries: int = 0
    ledger_entries: int = 0
    debits: Decimal = ZERO
    credits: Decimal = ZERO
    by_role: dict[AccountRole, Decimal] = field(default_factory=dict)
    #: (journal number, entry type, reference, day, amount received)
    deposits: list[tuple[str, str, str, date, Decimal]] = field(default_factory=list)

    def add(self, entry: JournalEntry) -> None:
        self.journal_entries += 1
        self.ledger_entries += entry.ledger_entries
        self.debits += entry.debits
        self.credits += entry.credits
        for role, amount in entry.by_role.items():
            self.by_role[role] = self.by_role.get(role, ZERO) + amount
        if entry.entry_type.value != "daily":
            self.deposits.append((entry.number, entry.entry_type.value, entry.reference,
                                  entry.day, entry.deposit))


@dataclass(frozen=True)
class BatchSummary:
    number: int
    format: str
    date_from: date | None
    date_to: date | None
    postings: int
    ledger_entries: int
    journal_entries: int
    debits: Decimal
    sha256: str
    created_at: datetime
    created_by: str

    def as_json(self) -> dict[str, Any]:
        return {"number": self.number, "format": self.format,
                "from": self.date_from.isoformat() if self.date_from else None,
                "to": self.date_to.isoformat() if self.date_to else None,
                "postings": self.postings, "ledger_entries": self.ledger_entries,
                "journal_entries": self.journal_entries, "debits": str(self.debits),
                "credits": str(self.debits), "sha256": self.sha256,
                "created_at": self.created_at.isoformat(), "created_by": self.created_by}


@dataclass(frozen=True)
class RenderedBatch:
    summary: BatchSummary
    content: bytes
    totals: BatchTotals


def _summary(row: AccountingBatchRow) -> BatchSummary:
    return BatchSummary(row.number, row.format, row.date_from, row.date_to, row.postings,
                        row.ledger_entries, row.journal_entries, row.debits, row.sha256,
                        row.created_at, row.created_by)


def _practice(work: UnitOfWork) -> int:
    practice_id = scope_of(work.session)
    if practice_id is None:
        raise ConfigurationError("the accounting export is per practice: choose one "
                                 "([medbill] practice_code or MEDBILL_PRACTICE_CODE)")
    return practice_id


def _period(date_from: date | None, date_to: date | None) -> list[Any]:
    if date_from and date_to and date_from > date_to:
        raise ValidationFailed("accounting export", [("from", "is after the last day asked for")])
    conditions: list[Any] = []
    if date_from is not None:
        conditions.append(LedgerEntryRow.effective_date >= date_from)
    if date_to is not None:
        conditions.append(LedgerEntryRow.effective_date <= date_to)
    return conditions


def _remittance_period(date_from: date | None, date_to: date | None) -> list[Any]:
    conditions: list[Any] = []
    if date_from is not None:
        conditions.append(RemittanceRow.effective_date >= date_from)
    if date_to is not None:
        conditions.append(RemittanceRow.effective_date <= date_to)
    return conditions


def export_batch(work: UnitOfWork, export_format: ExportFormat, *,
                 date_from: date | None = None,
                 date_to: date | None = None) -> RenderedBatch | None:
    """Record the next batch (what is not exported yet, in the period) and write it;
    ``None`` when there is nothing new to export (nothing is recorded then).

    :raises ValidationFailed: ``date_from`` after ``date_to``.
    :raises MedbillError: another export recorded some of the same postings meanwhile.
    """
    work.require(Action.ACCOUNTING_EXPORT)
    practice_id = _practice(work)
    session = work.session
    work.ledger.flush_pending()
    not_exported = ~exists().where(
        AccountingBatchPostingRow.posting_id == LedgerEntryRow.posting_id)
    postings = select(LedgerEntryRow.posting_id).where(
        LedgerEntryRow.practice_id == practice_id, not_exported,
        *_period(date_from, date_to)).distinct()
    # an 835's deposit needs recording only for what the ledger does not hold
    deposits = select(RemittanceRow.id).where(
        RemittanceRow.practice_id == practice_id,
        (RemittanceRow.exception_count > 0) | (RemittanceRow.plb_count > 0),
        ~exists().where(AccountingBatchRemittanceRow.remittance_id == RemittanceRow.id),
        *_remittance_period(date_from, date_to))
    posting_count = session.scalar(select(func.count()).select_from(postings.subquery())) or 0
    deposit_count = session.scalar(select(func.count()).select_from(deposits.subquery())) or 0
    if not posting_count and not deposit_count:
        return None
    number = (session.scalar(select(func.max(AccountingBatchRow.number))) or 0) + 1
    row = AccountingBatchRow(number=number, format=export_format.value, date_from=date_from,
                             date_to=date_to, accounts=account_names(work),
                             postings=posting_count, ledger_entries=0, journal_entries=0,
                             debits=ZERO, sha256="", created_by=work.actor)
    session.add(row)
    try:
        session.flush()
        inserted = session.execute(insert(AccountingBatchPostingRow).from_select(
            ["batch_id", "posting_id", "practice_id"],
            select(literal(row.id), postings.subquery().c.posting_id, literal(practice_id))))
        row.postings = cast("CursorResult[Any]", inserted).rowcount
        session.execute(insert(AccountingBatchRemittanceRow).from_select(
            ["batch_id", "remittance_id", "practice_id"],
            select(literal(row.id), deposits.subquery().c.id, literal(practice_id))))
    except IntegrityError:
        raise MedbillError("accounting export: another export ran at the same time; run it "
                           "again (nothing was exported by this one)") from None
    rendered = _render(work, row)
    row.sha256 = rendered.summary.sha256
    row.ledger_entries = rendered.totals.ledger_entries
    row.journal_entries = rendered.totals.journal_entries
    row.debits = rendered.totals.debits
    audit.record(session, actor=work.actor, action="accounting.export",
                 entity_type="accounting_batch", entity_id=number,
                 details={"format": export_format.value,
                          "from": date_from.isoformat() if date_from else None,
                          "to": date_to.isoformat() if date_to else None,
                          "postings": posting_count, "deposits": deposit_count,
                          "journal_entries": row.journal_entries, "debits": str(row.debits)})
    return RenderedBatch(_summary(row), rendered.content, rendered.totals)


def reexport_batch(work: UnitOfWork, number: int) -> RenderedBatch:
    """Batch ``number`` written again, byte for byte as exported (audited: the books left
    the system once more).

    :raises NotFound: no such batch.
    :raises BatchChanged: the records under it no longer give the same file.
    """
    work.require(Action.ACCOUNTING_EXPORT)
    row = _batch_row(work, number)
    rendered = _render(work, row)
    if rendered.summary.sha256 != row.sha256:
        raise BatchChanged(f"accounting batch {number}: its records no longer give the file "
                           "exported (SHA-256 differs); nothing was written")
    audit.record(work.session, actor=work.actor, action="accounting.reexport",
                 entity_type="accounting_batch", entity_id=number,
                 details={"format": row.format, "sha256": row.sha256})
    return RenderedBatch(_summary(row), rendered.content, rendered.totals)


def _batch_row(work: UnitOfWork, number: int) -> AccountingBatchRow:
    row = work.session.scalar(select(AccountingBatchRow).where(
        AccountingBatchRow.number == number))
    if row is None:
        raise NotFound("accounting batch", number)
    return row


def list_batches(work: UnitOfWork, *, before: int | None = None,
                 limit: int | None = None) -> list[BatchSummary]:
    """The practice's batches, newest first (at most ``limit`` numbered below ``before``:
    the API's keyset pages; without them, every batch)."""
    work.require(Action.ACCOUNTING_READ)
    query = select(AccountingBatchRow).order_by(AccountingBatchRow.number.desc()).limit(limit)
    if before is not None:
        query = query.where(AccountingBatchRow.number < before)
    return [_summary(row) for row in work.session.scalars(query)]


def get_batch(work: UnitOfWork, number: int) -> BatchSummary:
    """:raises NotFound: no such batch."""
    work.require(Action.ACCOUNTING_READ)
    return _summary(_batch_row(work, number))


# -- writing a batch --------------------------------------------------------------------------

def _render(work: UnitOfWork, row: AccountingBatchRow) -> RenderedBatch:
    context, extra_days = _context(work, row)
    totals = BatchTotals()

    def counted(entries: Iterator[JournalEntry]) -> Iterator[JournalEntry]:
        for entry in entries:
            totals.add(entry)
            yield entry

    entries = counted(journal(_movements(work, row.id), context, extra_days))
    digest = hashlib.sha256()
    parts: list[bytes] = []
    for piece in render(ExportFormat(row.format), row.number, entries,
                        accounts_to_create(row.accounts)):
        data = piece.encode("utf-8")
        digest.update(data)
        parts.append(data)
    if totals.debits != totals.credits:  # each entry balances: a bug, never written
        raise MedbillError(f"accounting batch {row.number}: debits {totals.debits} and "
                           f"credits {totals.credits} differ; nothing was written")
    summary = BatchSummary(row.number, row.format, row.date_from, row.date_to, row.postings,
                           totals.ledger_entries, totals.journal_entries, totals.debits,
                           digest.hexdigest(), row.created_at, row.created_by)
    return RenderedBatch(summary, b"".join(parts), totals)


def _movements(work: UnitOfWork, batch_id: int) -> Iterator[Movement]:
    """The batch's ledger entries by day, streamed."""
    query = (select(LedgerEntryRow.effective_date, PostingRow.posting_key, LedgerEntryRow.kind,
                    LedgerEntryRow.insurance_delta, LedgerEntryRow.patient_delta,
                    LedgerEntryRow.agency_delta, LedgerEntryRow.claim_id)
             .join(PostingRow, PostingRow.id == LedgerEntryRow.posting_id)
             .join(AccountingBatchPostingRow,
                   AccountingBatchPostingRow.posting_id == LedgerEntryRow.posting_id)
             .where(AccountingBatchPostingRow.batch_id == batch_id)
             .order_by(LedgerEntryRow.effective_date, LedgerEntryRow.posting_id,
                       LedgerEntryRow.id)
             .execution_options(yield_per=_STREAM_ROWS))
    for day, key, kind, insurance, patient, agency, claim_id in work.session.execute(query):
        yield Movement(day, key, kind, insurance, patient, claim_id is not None, agency)


def _context(work: UnitOfWork, row: AccountingBatchRow) -> tuple[JournalContext, list[date]]:
    session = work.session
    in_batch = set(session.scalars(select(AccountingBatchRemittanceRow.remittance_id).where(
        AccountingBatchRemittanceRow.batch_id == row.id)))
    remittances: dict[str, Remittance] = {}
    extra_days: list[date] = []
    for remittance in session.scalars(select(RemittanceRow).order_by(RemittanceRow.id)):
        prefix = f"835:{remittance.payer_ref}:{remittance.trace_number}:"
        extra: list[tuple[AccountRole, Decimal]] = []
        if remittance.id in in_batch:
            extra = _deposit_only_lines(work, remittance, prefix)
            if extra:
                extra_days.append(remittance.effective_date)
        remittances[prefix] = Remittance(
            remittance.id, prefix, remittance.trace_number, remittance.payer_name,
            remittance.payment_method, remittance.effective_date, remittance.payment_amount,
            tuple(extra), remittance.id in in_batch)
    exception_keys = frozenset(session.scalars(select(RemittanceExceptionRow.posting_key)))
    return JournalContext(row.number, dict(row.accounts), remittances, exception_keys), \
        extra_days


def _deposit_only_lines(work: UnitOfWork, remittance: RemittanceRow,
                        prefix: str) -> list[tuple[AccountRole, Decimal]]:
    """What an 835's deposit holds beyond the ledger: claim payments that matched no claim
    (to unapplied insurance) and PLB adjustments (BPR02 = claim payments - PLB amounts)."""
    lines: list[tuple[AccountRole, Decimal]] = []
    if remittance.exception_count:
        paid = work.session.scalar(select(func.coalesce(func.sum(RemittanceExceptionRow.paid),
                                                        0)).where(
            starts_with(work.session, RemittanceExceptionRow.posting_key, prefix)))
        if paid:
            lines += [(AccountRole.INSURANCE_DEPOSITS, paid),
                      (AccountRole.UNAPPLIED_INSURANCE, -paid)]
    if remittance.plb_count:
        plb = work.session.scalar(select(func.coalesce(func.sum(ProviderAdjustmentRow.amount),
                                                       0)).where(
            starts_with(work.session, ProviderAdjustmentRow.posting_key, prefix)))
        if plb:
            lines += [(AccountRole.PROVIDER_ADJUSTMENTS, plb),
                      (AccountRole.INSURANCE_DEPOSITS, -plb)]
    return lines
