"""The accounting export's file formats: QuickBooks Desktop IIF, QuickBooks Online
journal-entry CSV, and a generic CSV.

* **IIF** (Intuit Interchange Format): tab-separated. First an ``!ACCNT`` block naming every
  account of the batch's chart with its QuickBooks type (``OCASSET``, ``OCLIAB``, ``INC``,
  ``EXP``): without it QuickBooks Desktop creates a missing account on import as a bank
  account, and the practice's books then hold A/R and allowances in the wrong kind of
  account (an account that exists already is matched by name). Then a header row per record
  type (``!TRNS``, ``!SPL``, ``!ENDTRNS``), then per journal entry one ``TRNS`` row (its first
  line), a ``SPL`` row per further line and ``ENDTRNS``; ``TRNSTYPE`` GENERAL JOURNAL, dates
  MM/DD/YYYY, a positive ``AMOUNT`` is a debit and a negative one a credit, the entry's
  amounts add up to zero. CRLF line ends (a Windows application reads it).
* **QuickBooks Online**: the columns of its journal-entry import (Settings > Import data >
  Journal entries): ``Journal No.``, ``Journal Date`` (MM/DD/YYYY), ``Account Name``,
  ``Debits``, ``Credits``, ``Description``, ``Name``; the rows of one entry share its number.
* **generic CSV**: one row per line with the batch, ISO dates, the entry type and reference,
  the account, debit and credit columns and the memo.

No patient is named anywhere: an entry sums a day or a deposit. Text from outside (an 835's
payer name) is cleaned: no tabs, line breaks or quotes in IIF, and no cell a spreadsheet would
read as a formula in CSV.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from enum import StrEnum

from medbill_core.services.accounting_journal import JournalEntry

#: QuickBooks Online's longest journal number and description
_QBO_DESCRIPTION_MAX = 4000
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ExportFormat(StrEnum):
    IIF = "iif"
    QBO = "qbo"
    CSV = "csv"


IIF_ACCOUNTS_HEADER = "!ACCNT\tNAME\tACCNTTYPE\tDESC\r\n"
IIF_HEADER = (
    "!TRNS\tTRNSID\tTRNSTYPE\tDATE\tACCNT\tNAME\tCLASS\tAMOUNT\tDOCNUM\tMEMO\r\n"
    "!SPL\tSPLID\tTRNSTYPE\tDATE\tACCNT\tNAME\tCLASS\tAMOUNT\tDOCNUM\tMEMO\r\n"
    "!ENDTRNS\r\n")
QBO_COLUMNS = ("Journal No.", "Journal Date", "Account Name", "Debits", "Credits",
               "Description", "Name")
CSV_COLUMNS = ("batch", "journal_no", "date", "entry_type", "reference", "account", "debit",
               "credit", "memo")


def render(export_format: ExportFormat, batch_number: int, entries: Iterable[JournalEntry],
           accounts: Sequence[tuple[str, str, str]] = ()) -> Iterable[str]:
    """The file's text, piece by piece.

    :param accounts: (name, IIF account type, description) of every account the entries may
        name, for the IIF's ``!ACCNT`` block (the other formats name accounts only).
    """
    if export_format is ExportFormat.IIF:
        return _iif(entries, accounts)
    if export_format is ExportFormat.QBO:
        return _qbo(entries)
    return _csv(batch_number, entries)


def _us_date(day: date) -> str:
    return day.strftime("%m/%d/%Y")


def _amount(value: Decimal) -> str:
    return format(value, "f")


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else " " for ch in text)


def _iif_text(text: str) -> str:
    """An IIF field: no tab, line break or double quote (quotes delimit IIF fields)."""
    return _printable(text).replace("\t", " ").replace('"', "'")


def _iif(entries: Iterable[JournalEntry],
         accounts: Sequence[tuple[str, str, str]]) -> Iterable[str]:
    if accounts:
        yield IIF_ACCOUNTS_HEADER
        for name, account_type, description in accounts:
            yield "\t".join(("ACCNT", _iif_text(name), account_type,
                             _iif_text(description))) + "\r\n"
    yield IIF_HEADER
    for entry in entries:
        for index, line in enumerate(entry.lines):
            record = "TRNS" if index == 0 else "SPL"
            yield "\t".join((record, "", "GENERAL JOURNAL", _us_date(entry.day),
                             _iif_text(line.account), "", "", _amount(line.amount),
                             entry.number, _iif_text(entry.memo))) + "\r\n"
        yield "ENDTRNS\r\n"


def csv_cell(text: str) -> str:
    """A CSV cell a spreadsheet shows as text, never runs as a formula."""
    text = _printable(text)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _rows_as_csv(rows: Iterable[tuple[str, ...]]) -> Iterable[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def _money_cell(value: Decimal) -> str:
    return _amount(value) if value else ""


def _qbo(entries: Iterable[JournalEntry]) -> Iterable[str]:
    def rows() -> Iterable[tuple[str, ...]]:
        yield QBO_COLUMNS
        for entry in entries:
            for line in entry.lines:
                yield (entry.number, _us_date(entry.day), csv_cell(line.account),
                       _money_cell(line.debit), _money_cell(line.credit),
                       csv_cell(entry.memo)[:_QBO_DESCRIPTION_MAX], "")
    return _rows_as_csv(rows())


def _csv(batch_number: int, entries: Iterable[JournalEntry]) -> Iterable[str]:
    def rows() -> Iterable[tuple[str, ...]]:
        yield CSV_COLUMNS
        for entry in entries:
            for line in entry.lines:
                yield (str(batch_number), entry.number, entry.day.isoformat(),
                       entry.entry_type.value, csv_cell(entry.reference),
                       csv_cell(line.account), _money_cell(line.debit),
                       _money_cell(line.credit), csv_cell(entry.memo))
    return _rows_as_csv(rows())
