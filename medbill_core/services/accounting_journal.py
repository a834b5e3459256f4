"""Journal entries derived from the ledger, for the accounting export.

The ledger's movements of a period come in ordered by day; each day gives, in this order:

* **the day's patient deposit**: every patient payment recorded that day (postings
  ``payment:<id>``), debited to the patient deposit account for the money received, credited
  to patient A/R (and patient credits for what was kept as credit, refunds payable for what
  is refunded at once);
* **one deposit per 835** (the remittance register's payment: BPR02, one EFT trace or check
  number): its claim payments, contractual adjustments and transfers to the patient or the
  next payer, plus what the ledger does not hold: PLB provider-level adjustments and claim
  payments that matched no claim (unapplied insurance), so its deposit line is BPR02;
* **the day's other activity**: charges, write-offs, refunds, denial decisions, credits
  applied, returned payments, 835 postings that no registered remittance holds.

Each ledger entry is booked on its own (:mod:`medbill_core.services.accounting_chart`): its
change to the insurance bucket to insurance A/R, to the patient bucket to patient A/R (on a
claim) or patient credits (on the account), and the opposite amount to its kind's account.
An entry's lines therefore always balance, and so does every journal entry; lines on the
same account are summed, one line per account.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from medbill_core.errors import LedgerError
from medbill_core.ledger import EntryKind
from medbill_core.money import ZERO
from medbill_core.services.accounting_chart import COUNTER_ROLE, AccountRole

#: the roles money received is debited to
DEPOSIT_ROLES = frozenset({AccountRole.INSURANCE_DEPOSITS, AccountRole.PATIENT_DEPOSITS})
_ROLE_ORDER = {role: index for index, role in enumerate(AccountRole)}


class EntryType(StrEnum):
    """What a journal entry stands for (the generic CSV's ``entry_type``)."""

    PATIENT_DEPOSIT = "patient_deposit"
    DEPOSIT_835 = "deposit_835"
    DAILY = "daily"


_TYPE_ORDER = {EntryType.PATIENT_DEPOSIT: 0, EntryType.DEPOSIT_835: 1, EntryType.DAILY: 2}


@dataclass(frozen=True)
class Movement:
    """One ledger entry as the export reads it."""

    day: date
    posting_key: str
    kind: str
    insurance_delta: Decimal
    patient_delta: Decimal
    on_claim: bool
    #: the change to what collection agencies hold (issue 18's agency bucket)
    agency_delta: Decimal = ZERO


@dataclass(frozen=True)
class Remittance:
    """A registered 835 payment: one deposit."""

    id: int
    prefix: str
    trace_number: str
    payer_name: str
    payment_method: str
    day: date
    payment_amount: Decimal
    #: (role, amount) booked with the deposit beyond the ledger (PLB, unmatched claims);
    #: empty when another batch booked them
    extra_lines: tuple[tuple[AccountRole, Decimal], ...] = ()
    #: the batch books this deposit's extra lines
    in_batch: bool = False


@dataclass(frozen=True)
class JournalLine:
    account: str
    #: positive: a debit; negative: a credit
    amount: Decimal

    @property
    def debit(self) -> Decimal:
        return self.amount if self.amount > ZERO else ZERO

    @property
    def credit(self) -> Decimal:
        return -self.amount if self.amount < ZERO else ZERO


@dataclass(frozen=True)
class JournalEntry:
    number: str
    day: date
    entry_type: EntryType
    #: the 835's trace (EFT or check number); empty for the others
    reference: str
    memo: str
    lines: tuple[JournalLine, ...]
    #: the same amounts by role (several roles may share an account)
    by_role: dict[AccountRole, Decimal]
    ledger_entries: int

    @property
    def debits(self) -> Decimal:
        return sum((line.debit for line in self.lines), ZERO)

    @property
    def credits(self) -> Decimal:
        return sum((line.credit for line in self.lines), ZERO)

    @property
    def deposit(self) -> Decimal:
        """Money received (a deposit entry's debit to its deposit account)."""
        return sum((amount for role, amount in self.by_role.items() if role in DEPOSIT_ROLES),
                   ZERO)


@dataclass
class _Group:
    entry_type: EntryType
    remittance: Remittance | None
    by_role: dict[AccountRole, Decimal] = field(default_factory=dict)
    ledger_entries: int = 0

    def book(self, role: AccountRole, amount: Decimal) -> None:
        if amount:
            self.by_role[role] = self.by_role.get(role, ZERO) + amount


@dataclass(frozen=True)
class JournalContext:
    batch_number: int
    #: role value -> account name (the batch's chart)
    accounts: dict[str, str]
    remittances: dict[str, Remittance]
    #: posting keys of 835 claim payments first held as matching no claim: their money was
    #: booked to unapplied insurance with the deposit, their posting moves it from there
    exception_keys: frozenset[str]


def book_movement(group: _Group, movement: Movement, *, unapplied: bool) -> None:
    """Book one ledger entry's lines into ``group`` (see the module docstring)."""
    try:
        counter = COUNTER_ROLE[EntryKind(movement.kind)]
    except (ValueError, KeyError):  # a kind added to the ledger and not to the chart
        raise LedgerError(f"accounting export: ledger entries of kind {movement.kind!r} have "
                          "no account in the chart (accounting_chart.COUNTER_ROLE); nothing "
                          "was exported") from None
    kind = EntryKind(movement.kind)
    group.book(AccountRole.AR_INSURANCE, movement.insurance_delta)
    group.book(AccountRole.AR_PATIENT if movement.on_claim else AccountRole.PATIENT_CREDITS,
               movement.patient_delta)
    group.book(AccountRole.AR_AGENCY, movement.agency_delta)
    if unapplied and kind is EntryKind.PAYER_PAYMENT:
        counter = AccountRole.UNAPPLIED_INSURANCE
    group.book(counter, -(movement.insurance_delta + movement.patient_delta
                          + movement.agency_delta))
    group.ledger_entries += 1


def journal(movements: Iterable[Movement], context: JournalContext,
            extra_days: Iterable[date] = ()) -> Iterator[JournalEntry]:
    """The journal entries of ``movements`` (ordered by day), numbered ``MB<batch>-<n>``.

    Memory holds one day's groups, never the period's movements. ``extra_days``: days whose
    835 deposits the batch books beyond the ledger (even without a movement that day).
    """
    numbers = _numbers(context.batch_number)
    pending_days = sorted(set(extra_days))
    day: date | None = None
    groups: dict[tuple[EntryType, int], _Group] = {}
    last_key: str | None = None
    last_group: _Group | None = None
    unapplied = False
    for movement in movements:
        if movement.day != day:
            if day is not None:
                yield from _close_day(day, groups, context, numbers)
            while pending_days and pending_days[0] < movement.day:
                yield from _close_day(pending_days.pop(0), {}, context, numbers)
            if pending_days and pending_days[0] == movement.day:
                pending_days.pop(0)
            day, groups, last_key = movement.day, {}, None
        if movement.posting_key != last_key:
            last_key = movement.posting_key
            last_group = _group_of(movement.posting_key, groups, context)
            unapplied = movement.posting_key in context.exception_keys
        assert last_group is not None
        book_movement(last_group, movement, unapplied=unapplied)
    if day is not None:
        yield from _close_day(day, groups, context, numbers)
    for left in pending_days:
        yield from _close_day(left, {}, context, numbers)


def _numbers(batch: int) -> Iterator[str]:
    sequence = 0
    while True:
        sequence += 1
        yield f"MB{batch}-{sequence:04d}"


def _group_of(posting_key: str, groups: dict[tuple[EntryType, int], _Group],
              context: JournalContext) -> _Group:
    remittance = _remittance_of(posting_key, context.remittances) \
        if posting_key.startswith("835:") else None
    if remittance is not None:
        key = (EntryType.DEPOSIT_835, remittance.id)
    elif posting_key.startswith("payment:"):
        key = (EntryType.PATIENT_DEPOSIT, 0)
    else:
        key = (EntryType.DAILY, 0)
    group = groups.get(key)
    if group is None:
        group = groups[key] = _Group(key[0], remittance)
    return group


def _remittance_of(posting_key: str, remittances: dict[str, Remittance]) -> Remittance | None:
    """The registered 835 whose postings start with a prefix of ``posting_key``
    (``835:<payer>:<trace>:``; a payer name may hold colons: every colon is tried)."""
    position = posting_key.find(":", 4)
    while position != -1:
        found = remittances.get(posting_key[:position + 1])
        if found is not None:
            return found
        position = posting_key.find(":", position + 1)
    return None


def _close_day(day: date, groups: dict[tuple[EntryType, int], _Group],
               context: JournalContext, numbers: Iterator[str]) -> Iterator[JournalEntry]:
    for remittance in context.remittances.values():
        if remittance.in_batch and remittance.day == day and remittance.extra_lines:
            key = (EntryType.DEPOSIT_835, remittance.id)
            group = groups.get(key) or groups.setdefault(
                key, _Group(EntryType.DEPOSIT_835, remittance))
            for role, amount in remittance.extra_lines:
                group.book(role, amount)
    for _, group in sorted(groups.items(),
                                         key=lambda item: (_TYPE_ORDER[item[0][0]],
                                                           item[0][1])):
        entry = _entry(day, group, context, numbers)
        if entry is not None:
            yield entry


def _entry(day: date, group: _Group, context: JournalContext,
           numbers: Iterator[str]) -> JournalEntry | None:
    by_role = {role: amount for role, amount in sorted(
        group.by_role.items(), key=lambda item: _ROLE_ORDER[item[0]]) if amount}
    if sum(by_role.values(), ZERO) != ZERO:  # every booking balances: a bug, never exported
        raise LedgerError(f"accounting export: the journal of {day} does not balance")
    if not by_role:  # e.g. a transfer between payers only: nothing changes in the books
        return None
    per_account: dict[str, Decimal] = {}
    for role, amount in by_role.items():
        name = context.accounts[role.value]
        per_account[name] = per_account.get(name, ZERO) + amount
    lines = tuple(JournalLine(name, amount) for name, amount in per_account.items() if amount)
    if not lines:  # roles sharing one account cancelled out
        return None
    remittance = group.remittance
    if group.entry_type is EntryType.DEPOSIT_835 and remittance is not None:
        reference = remittance.trace_number
        memo = (f"835 {remittance.payment_method} {remittance.trace_number} "
                f"{remittance.payer_name}")
    elif group.entry_type is EntryType.PATIENT_DEPOSIT:
        reference, memo = "", f"patient payments {day.isoformat()}"
    else:
        reference, memo = "", f"billing activity {day.isoformat()}"
    return JournalEntry(next(numbers), day, group.entry_type, reference, memo, lines, by_role,
                        group.ledger_entries)
