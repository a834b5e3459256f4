"""The chart of accounts the accounting export writes to, per practice.

The export books every ledger movement to accounts named by **role** (what the money is:
insurance A/R, revenue, a deposit waiting for the bank ...); each practice names the account
its accounting software uses for each role (``medbill accounting set-account``), else the
default below. Two roles may share an account (both deposit roles default to Undeposited
Funds).

How a ledger entry is booked (:mod:`medbill_core.services.accounting_journal`): its change to
the insurance bucket goes to insurance A/R; its change to the patient bucket goes to patient
A/R when it is on a claim and to patient credits when it is on the account itself (a credit
left by an overpayment, less an account fee such as a returned-check fee); the opposite amount
goes to the account its kind names in :data:`COUNTER_ROLE`. Every :class:`EntryKind` must have
one there (a test fails otherwise): a new kind is never exported silently.

The A/R roles are best created as *Other Current Asset* accounts: QuickBooks' own Accounts
Receivable type demands a customer on every journal line, and the patient-level detail lives
in medbill, not in the books.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import select

from medbill_core import audit
from medbill_core.app import UnitOfWork
from medbill_core.errors import ValidationFailed
from medbill_core.ledger import EntryKind
from medbill_core.permissions import Action
from medbill_core.storage.schema import AccountingAccountRow, utcnow


class AccountRole(StrEnum):
    """What an account holds, in the order journal lines are written."""

    INSURANCE_DEPOSITS = "insurance_deposits"
    PATIENT_DEPOSITS = "patient_deposits"
    AR_INSURANCE = "ar_insurance"
    AR_PATIENT = "ar_patient"
    AR_AGENCY = "ar_agency"
    PATIENT_CREDITS = "patient_credits"
    UNAPPLIED_INSURANCE = "unapplied_insurance"
    REFUNDS_PAYABLE = "refunds_payable"
    REVENUE = "revenue"
    CONTRACTUAL_ALLOWANCES = "contractual_allowances"
    WRITE_OFFS = "write_offs"
    PROVIDER_ADJUSTMENTS = "provider_adjustments"
    COLLECTION_FEES = "collection_fees"
    FINANCING_FEES = "financing_fees"


@dataclass(frozen=True)
class RoleDefault:
    name: str
    #: the QuickBooks account type to create it as
    account_type: str
    meaning: str


DEFAULTS: dict[AccountRole, RoleDefault] = {
    AccountRole.INSURANCE_DEPOSITS: RoleDefault(
        "Undeposited Funds", "Other Current Asset",
        "835 payments (BPR02, one deposit per EFT trace or check) until they reach the bank"),
    AccountRole.PATIENT_DEPOSITS: RoleDefault(
        "Undeposited Funds", "Other Current Asset",
        "patient payments (one deposit per day); a returned payment comes back out of it"),
    AccountRole.AR_INSURANCE: RoleDefault(
        "Accounts Receivable - Insurance", "Other Current Asset",
        "what payers still owe (the ledger's insurance bucket)"),
    AccountRole.AR_PATIENT: RoleDefault(
        "Accounts Receivable - Patients", "Other Current Asset",
        "what patients owe on claims (the ledger's patient bucket on claims)"),
    AccountRole.AR_AGENCY: RoleDefault(
        "Accounts Receivable - Collection Agencies", "Other Current Asset",
        "patient balances placed with collection agencies (the ledger's agency bucket)"),
    AccountRole.PATIENT_CREDITS: RoleDefault(
        "Patient Credits", "Other Current Liability",
        "patient money held on the account, on no claim (overpayments kept as credit)"),
    AccountRole.UNAPPLIED_INSURANCE: RoleDefault(
        "Unapplied Insurance Payments", "Other Current Liability",
        "835 claim payments that matched no claim, until they are posted"),
    AccountRole.REFUNDS_PAYABLE: RoleDefault(
        "Refunds Payable", "Other Current Liability",
        "refunds owed to patients or payers, until the check is written"),
    AccountRole.REVENUE: RoleDefault(
        "Patient Service Revenue", "Income", "gross charges (and account fees)"),
    AccountRole.CONTRACTUAL_ALLOWANCES: RoleDefault(
        "Contractual Allowances", "Income",
        "payers' contractual adjustments (a contra-revenue account: debits)"),
    AccountRole.WRITE_OFFS: RoleDefault(
        "Write-offs", "Income",
        "denials, small balances and bad debt written off (contra-revenue)"),
    AccountRole.PROVIDER_ADJUSTMENTS: RoleDefault(
        "Payer Provider-Level Adjustments", "Income",
        "835 PLB amounts: recoupments, interest, forward balances"),
    AccountRole.COLLECTION_FEES: RoleDefault(
        "Collection Agency Fees", "Expense",
        "what collection agencies keep of what they collect"),
    AccountRole.FINANCING_FEES: RoleDefault(
        "Patient Financing Fees", "Expense",
        "the merchant fees patient-financing lenders keep of what they approve"),
}

#: QuickBooks Desktop's IIF code (``ACCNTTYPE``) of each account type the defaults use
IIF_ACCOUNT_TYPES: dict[str, str] = {
    "Other Current Asset": "OCASSET",
    "Other Current Liability": "OCLIAB",
    "Income": "INC",
    "Expense": "EXP",
}


def accounts_to_create(accounts: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """(name, IIF account type, description) of a batch's chart (``role -> name`` as the
    batch recorded it), each name once (two roles may share an account: the first in journal
    order gives its type), for the IIF's ``!ACCNT`` block."""
    seen: dict[str, tuple[str, str, str]] = {}
    for role in AccountRole:
        name = accounts.get(role.value)
        if name is None or name in seen:
            continue
        default = DEFAULTS[role]
        seen[name] = (name, IIF_ACCOUNT_TYPES[default.account_type], default.meaning)
    return list(seen.values())


#: the account that takes the opposite side of a ledger entry of each kind (transfers move
#: money between A/R accounts: the entry's own two sides balance, this side is 0.00)
COUNTER_ROLE: dict[EntryKind, AccountRole] = {
    EntryKind.CHARGE: AccountRole.REVENUE,
    EntryKind.PAYER_PAYMENT: AccountRole.INSURANCE_DEPOSITS,
    EntryKind.CONTRACTUAL_ADJUSTMENT: AccountRole.CONTRACTUAL_ALLOWANCES,
    EntryKind.TRANSFER_TO_PATIENT: AccountRole.AR_INSURANCE,
    EntryKind.TRANSFER_TO_PAYER: AccountRole.AR_INSURANCE,
    EntryKind.PATIENT_PAYMENT: AccountRole.PATIENT_DEPOSITS,
    EntryKind.WRITE_OFF: AccountRole.WRITE_OFFS,
    EntryKind.REFUND: AccountRole.REFUNDS_PAYABLE,
    # a placement with an agency and its recall move patient A/R to agency A/R and back
    EntryKind.TRANSFER_TO_AGENCY: AccountRole.AR_AGENCY,
    EntryKind.RECALL_FROM_AGENCY: AccountRole.AR_AGENCY,
    # what an agency remits is money received; what it keeps, its fee
    EntryKind.AGENCY_PAYMENT: AccountRole.PATIENT_DEPOSITS,
    EntryKind.AGENCY_FEE: AccountRole.COLLECTION_FEES,
    # a lender pays a financed balance in full less its merchant fee: the practice's expense
    EntryKind.FINANCING_FEE: AccountRole.FINANCING_FEES,
}

#: QuickBooks' longest account name (a full ``Parent:Sub`` name)
NAME_MAX = 159
#: a first character that spreadsheets read as a formula
_FORMULA_START = ("=", "+", "-", "@")


@dataclass(frozen=True)
class ChartLine:
    role: AccountRole
    name: str
    #: False: the default name (the practice has not named it)
    custom: bool

    def as_json(self) -> dict[str, Any]:
        default = DEFAULTS[self.role]
        return {"role": self.role.value, "account": self.name, "custom": self.custom,
                "type": default.account_type, "meaning": default.meaning}


def chart(work: UnitOfWork) -> list[ChartLine]:
    """The practice's chart of accounts, every role in journal order."""
    work.require(Action.ACCOUNTING_READ)
    return _chart(work)


def _chart(work: UnitOfWork) -> list[ChartLine]:
    named = {row.role: row.name for row in work.session.scalars(select(AccountingAccountRow))}
    return [ChartLine(role, named.get(role.value, DEFAULTS[role].name), role.value in named)
            for role in AccountRole]


def account_names(work: UnitOfWork) -> dict[str, str]:
    """role -> account name, as an export records it."""
    return {line.role.value: line.name for line in _chart(work)}


def parse_role(value: str) -> AccountRole:
    """:raises ValidationFailed: not a role."""
    try:
        return AccountRole(value)
    except ValueError:
        raise ValidationFailed("chart of accounts", [(
            "role", f"is not one of {', '.join(role.value for role in AccountRole)}")]) \
            from None


def set_account(work: UnitOfWork, role: AccountRole, name: str | None) -> ChartLine:
    """Name the account of ``role`` (None: back to the default), audited.

    :raises ValidationFailed: an empty name, longer than QuickBooks allows, holding a tab, a
        line break or a double quote (IIF and CSV cells could not carry it), or starting as a
        spreadsheet formula would.
    """
    work.require(Action.ACCOUNTING_EXPORT)
    row = work.session.scalar(select(AccountingAccountRow).where(
        AccountingAccountRow.role == role.value))
    before = row.name if row is not None else DEFAULTS[role].name
    if name is None:
        if row is not None:
            work.session.delete(row)
        after = DEFAULTS[role].name
    else:
        after = _checked_name(role, name)
        if row is None:
            work.session.add(AccountingAccountRow(role=role.value, name=after,
                                                  updated_by=work.actor))
        else:
            row.name, row.updated_by, row.updated_at = after, work.actor, utcnow()
    audit.record(work.session, actor=work.actor, action="accounting.set_account",
                 entity_type="accounting_account", entity_id=role.value,
                 details={"before": before, "after": after})
    return ChartLine(role, after, name is not None)


def _checked_name(role: AccountRole, name: str) -> str:
    record = f"account {role.value}"
    name = name.strip()
    if not name:
        raise ValidationFailed(record, [("name", "is required")])
    if len(name) > NAME_MAX:
        raise ValidationFailed(record, [("name", f"is longer than {NAME_MAX} characters")])
    if any(ch in name for ch in '\t\r\n"') or not name.isprintable():
        raise ValidationFailed(record, [("name", "holds a tab, a line break, a double quote "
                                                 "or another control character")])
    if name.startswith(_FORMULA_START):
        raise ValidationFailed(record, [("name", "starts with = + - or @ (read as a "
                                                 "formula by spreadsheets)")])
    return name
