"""Write-offs of patient balances: small balances and bad debt, with a manager's approval.

Every write-off is a **request** with a kind and a reason. The practice's policy
(:func:`policy`, one row a practice; defaults below) says what needs approval:

- a ``small_balance`` write-off is for what is left under the practice's limit (e.g. under
  $5.00, not worth a statement): it takes the account's **whole** patient balance (every
  claim's and what it owes on no claim, its credits counted: what a statement would ask
  for), read in the request's transaction, and that balance must be under the limit. It is
  approved by the policy at once (``decided_by`` is ``policy``) unless it is above the
  approval threshold. Part of a balance, or a balance at or above the limit, is not a small
  balance, whatever the amount asked for: it is refused in words (``ValidationFailed``
  naming ``amount`` or ``balance``), not queued, so a large balance cannot be written off in
  small pieces; request it as ``bad_debt`` or ``administrative``, which a manager approves;
- a ``bad_debt`` write-off (the patient will not pay), and any write-off above the approval
  threshold, waits ``requested`` until a manager approves or denies it
  (:data:`~medbill_core.permissions.Action.WRITEOFFS_APPROVE`); whoever requested it cannot
  approve it. The ledger entry is written on approval only, from the balance as it is then
  (a payment since may have lowered it: approval then refuses in words).

The entries are ``write_off`` on the patient bucket, oldest service first across the
patient's claims (or the one claim named), then what the account owes on no claim, each with
the kind's reason code (``SMALLBAL``, ``BADDEBT``, ``ADMIN``) and posted under
``write_off:<request id>``. :func:`small_balance_candidates` and
:func:`write_off_small_balances` are the bulk run (with a dry-run listing).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select

from medbill_core import audit
from medbill_core.app import UnitOfWork
from medbill_core.errors import NotFound, ValidationFailed
from medbill_core.ledger import Bucket, EntryKind, LedgerLine
from medbill_core.money import ZERO, checked_amount, to_money
from medbill_core.permissions import Action
from medbill_core.services.payments import patient_claim_balances, settle_patient_claims
from medbill_core.storage.schema import (
    CollectionPlacementRow,
    LedgerEntryRow,
    PatientRow,
    PaymentPlanRow,
    WriteOffPolicyRow,
    WriteOffRequestRow,
)

DEFAULT_SMALL_BALANCE_LIMIT = Decimal("5.00")
DEFAULT_APPROVAL_ABOVE = Decimal("100.00")
#: who approves a write-off the policy allows without a person
POLICY_ACTOR = "policy"


class WriteOffKind(StrEnum):
    SMALL_BALANCE = "small_balance"
    BAD_DEBT = "bad_debt"
    #: an administrative adjustment (a courtesy, a billing error the practice absorbs)
    ADMINISTRATIVE = "administrative"


REASON_CODES = {WriteOffKind.SMALL_BALANCE: "SMALLBAL", WriteOffKind.BAD_DEBT: "BADDEBT",
                WriteOffKind.ADMINISTRATIVE: "ADMIN"}


class WriteOffStatus(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    DENIED = "denied"


@dataclass(frozen=True)
class Policy:
    small_balance_limit: Decimal
    approval_above: Decimal

    def as_json(self) -> dict[str, str]:
        return {"small_balance_limit": str(self.small_balance_limit),
                "approval_above": str(self.approval_above)}


def policy(work: UnitOfWork) -> Policy:
    """The practice's write-off thresholds (the defaults until a manager sets them)."""
    row = work.session.scalar(select(WriteOffPolicyRow))
    if row is None:
        return Policy(DEFAULT_SMALL_BALANCE_LIMIT, DEFAULT_APPROVAL_ABOVE)
    return Policy(row.small_balance_limit, row.approval_above)


def set_policy(work: UnitOfWork, *, small_balance_limit: Decimal | None = None,
               approval_above: Decimal | None = None) -> Policy:
    """:raises ValidationFailed: a threshold that is negative or more than
    :data:`~medbill_core.money.MAX_AMOUNT`."""
    work.require(Action.WRITEOFFS_APPROVE)
    current = policy(work)
    new = Policy(checked_amount(small_balance_limit if small_balance_limit is not None
                                else current.small_balance_limit,
                                "write-off policy", "small_balance_limit"),
                 checked_amount(approval_above if approval_above is not None
                                else current.approval_above, "write-off policy",
                                "approval_above"))
    for name, value in new.as_json().items():
        if Decimal(value) < ZERO:
            raise ValidationFailed("write-off policy", [(name, "must not be negative")])
    row = work.session.scalar(select(WriteOffPolicyRow))
    if row is None:
        row = WriteOffPolicyRow(small_balance_limit=new.small_balance_limit,
                                approval_above=new.approval_above, updated_by=work.actor)
        work.session.add(row)
    else:
        row.small_balance_limit = new.small_balance_limit
        row.approval_above = new.approval_above
        row.updated_by = work.actor
    work.session.flush()
    audit.record(work.session, actor=work.actor, action="write_off.policy",
                 entity_type="write_off_policy", entity_id=row.id, details=new.as_json())
    return new


@dataclass(frozen=True)
class WriteOff:
    id: int
    account_number: str
    claim_id: int | None
    kind: WriteOffKind
    amount: Decimal
    reason: str
    status: WriteOffStatus
    requested_by: str
    requested_on: date
    decided_by: str | None
    decided_on: date | None

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "account_number": self.account_number,
                "claim_id": self.claim_id, "kind": self.kind.value, "amount": str(self.amount),
                "reason": self.reason, "status": self.status.value,
                "requested_by": self.requested_by,
                "requested_on": self.requested_on.isoformat(), "decided_by": self.decided_by,
                "decided_on": self.decided_on.isoformat() if self.decided_on else None}


def _summary(row: WriteOffRequestRow, account_number: str) -> WriteOff:
    return WriteOff(row.id, account_number, row.claim_id, WriteOffKind(row.kind), row.amount,
                    row.reason, WriteOffStatus(row.status), row.requested_by,
                    row.requested_on, row.decided_by, row.decided_on)


def _targets(work: UnitOfWork, patient_id: int, claim_id: int | None
             ) -> list[tuple[int | None, Decimal]]:
    """(claim id or None for the account itself, patient balance) the write-off may take,
    in order."""
    balances: list[tuple[int | None, Decimal]] = [
        (cid, bal) for cid, bal in patient_claim_balances(work, patient_id)
        if claim_id is None or cid == claim_id]
    if claim_id is None:
        on_account = to_money(work.session.scalar(
            select(func.coalesce(func.sum(LedgerEntryRow.patient_delta), 0)).where(
                LedgerEntryRow.patient_id == patient_id, LedgerEntryRow.claim_id.is_(None)))
            or ZERO)
        if on_account > ZERO:
            balances.append((None, on_account))
    return balances


def request_write_off(work: UnitOfWork, patient_id: int, kind: WriteOffKind,
                      amount: Decimal | None, reason: str, *, claim_id: int | None = None,
                      on: date | None = None) -> WriteOff:
    """Request a write-off of (part of) a patient balance (``amount`` None: all of it, of the
    claim or of the account); posted at once when the policy allows it without approval.

    A ``small_balance`` write-off must take the account's whole patient balance (credits
    counted), and that balance must be under the practice's limit (see the module's
    documentation): part of a balance, or more than it, is refused, so no sequence of small
    requests writes off a larger balance. The account's row is locked first (PostgreSQL;
    SQLite's transaction holds the write lock already): two requests on one account read its
    balance one after the other.

    :raises ValidationFailed: no reason, nothing owed, an amount that is not positive or more
        than the balance, or a small balance that is not the account's whole balance under
        the practice's limit.
    """
    work.require(Action.WRITEOFFS_REQUEST)
    account = work.patients.get(patient_id).account_number
    record = f"patient {patient_id}"
    if not reason.strip():
        raise ValidationFailed(record, [("reason", "say why (no patient details)")])
    _lock_account(work, patient_id)
    owed = sum((bal for _, bal in _targets(work, patient_id, claim_id)), ZERO)
    if owed <= ZERO:
        raise ValidationFailed(record, [("balance", "nothing is owed" + (
            f" on claim {claim_id}" if claim_id is not None else ""))])
    amount = owed if amount is None else checked_amount(amount, record, "amount")
    if amount <= ZERO:
        raise ValidationFailed(record, [("amount", "must be more than 0.00")])
    if amount > owed:
        raise ValidationFailed(record, [("amount", f"exceeds the balance {owed}")])
    rules = policy(work)
    if kind is WriteOffKind.SMALL_BALANCE:
        problem = _not_small_balance(work, patient_id, amount, rules)
        if problem is not None:
            raise ValidationFailed(record, [problem])
    day = on or date.today()
    row = WriteOffRequestRow(patient_id=patient_id, claim_id=claim_id, kind=kind.value,
                             amount=amount, reason=reason.strip()[:500],
                             status=WriteOffStatus.REQUESTED.value, requested_by=work.actor,
                             requested_on=day)
    work.session.add(row)
    work.session.flush()
    audit.record(work.session, actor=work.actor, action="write_off.request",
                 entity_type="write_off", entity_id=row.id,
                 details={"patient_id": patient_id, "kind": kind.value,
                          "amount": str(amount)})
    if needs_approval(kind, amount, rules):
        return _summary(row, account)
    _post(work, row, day)
    _decide(work, row, WriteOffStatus.APPROVED, POLICY_ACTOR, day, "under the practice's "
            "small-balance limit")
    return _summary(row, account)


def _lock_account(work: UnitOfWork, patient_id: int) -> None:
    """Hold the patient's row until the transaction ends (``SELECT ... FOR UPDATE``; SQLite
    ignores it, its ``BEGIN IMMEDIATE`` serialises writers): a concurrent request on the
    account waits, then reads the balance this one leaves."""
    work.session.execute(select(PatientRow.id).where(PatientRow.id == patient_id)
                         .with_for_update())


def _not_small_balance(work: UnitOfWork, patient_id: int, amount: Decimal,
                       rules: Policy) -> tuple[str, str] | None:
    """Why writing off ``amount`` is not a small-balance write-off (a field and a reason),
    or None: it is when it takes the account's whole patient balance (credits counted), and
    that balance is under the practice's limit."""
    whole = work.ledger.patient_balance(patient_id).patient
    if whole <= ZERO:
        return ("balance", "nothing is owed once the account's credit is counted: apply "
                           "the credit")
    if whole >= rules.small_balance_limit:
        return ("balance", f"{whole} is not a small balance (under "
                           f"{rules.small_balance_limit}): request another kind")
    if amount != whole:
        return ("amount", f"{amount} is not the account's whole balance {whole}: a "
                          "small-balance write-off takes all of it")
    return None


def needs_approval(kind: WriteOffKind, amount: Decimal, rules: Policy) -> bool:
    return kind is not WriteOffKind.SMALL_BALANCE or amount > rules.approval_above


def _post(work: UnitOfWork, row: WriteOffRequestRow, day: date) -> None:
    left = row.amount
    lines = []
    for claim_id, balance in _targets(work, row.patient_id, row.claim_id):
        part = min(left, balance)
        if part <= ZERO:
            break
        lines.append(LedgerLine(EntryKind.WRITE_OFF, part, patient_id=row.patient_id,
                                claim_id=claim_id, bucket=Bucket.PATIENT,
                                reason_code=REASON_CODES[WriteOffKind(row.kind)]))
        left -= part
    if left > ZERO:
        raise ValidationFailed(f"write-off {row.id}", [(
            "amount", f"{row.amount} is more than patient {row.patient_id} owes now "
                      f"({row.amount - left}); deny it and request again")])
    posting = work.ledger.post(f"write_off:{row.id}", "write_off", lines, effective_date=day,
                               memo=f"{row.kind} write-off {row.id}")
    row.posting_id = posting.posting_id
    settle_patient_claims(work, [line.claim_id for line in lines if line.claim_id is not None],
                          f"write-off {row.id}")


def _decide(work: UnitOfWork, row: WriteOffRequestRow, status: WriteOffStatus, who: str,
            day: date, note: str | None) -> None:
    row.status = status.value
    row.decided_by = who
    row.decided_on = day
    row.decision_note = note[:500] if note else None
    audit.record(work.session, actor=work.actor, action=f"write_off.{status.value}",
                 entity_type="write_off", entity_id=row.id,
                 details={"amount": str(row.amount), "decided_by": who})


def _open(work: UnitOfWork, request_id: int) -> WriteOffRequestRow:
    row = work.session.get(WriteOffRequestRow, request_id)
    if row is None:
        raise NotFound("write-off", request_id)
    if row.status != WriteOffStatus.REQUESTED.value:
        raise ValidationFailed(f"write-off {request_id}", [("status", f"is {row.status}")])
    return row


def _account(work: UnitOfWork, patient_id: int) -> str:
    return work.session.scalar(select(PatientRow.account_number).where(
        PatientRow.id == patient_id)) or ""


def approve_write_off(work: UnitOfWork, request_id: int, *, note: str | None = None,
                      on: date | None = None) -> WriteOff:
    """A manager approves: the write-off is posted now.

    :raises PermissionDenied: not a manager. :raises NotFound: no such request.
    :raises ValidationFailed: not waiting, requested by the same person, or more than is
        owed now."""
    work.require(Action.WRITEOFFS_APPROVE)
    row = _open(work, request_id)
    if row.requested_by == work.actor:
        raise ValidationFailed(f"write-off {request_id}", [(
            "approver", "whoever requested a write-off cannot approve it; another manager "
                        "must")])
    day = on or date.today()
    _post(work, row, day)
    _decide(work, row, WriteOffStatus.APPROVED, work.actor, day, note)
    return _summary(row, _account(work, row.patient_id))


def deny_write_off(work: UnitOfWork, request_id: int, note: str, *,
                   on: date | None = None) -> WriteOff:
    """:raises ValidationFailed: no note saying why."""
    work.require(Action.WRITEOFFS_APPROVE)
    row = _open(work, request_id)
    if not note.strip():
        raise ValidationFailed(f"write-off {request_id}", [("note", "say why it is denied")])
    _decide(work, row, WriteOffStatus.DENIED, work.actor, on or date.today(), note.strip())
    return _summary(row, _account(work, row.patient_id))


def list_write_offs(work: UnitOfWork, *, status: WriteOffStatus | None = None,
                    after_id: int | None = None, limit: int | None = None) -> list[WriteOff]:
    """Write-off requests by id (at most ``limit`` after ``after_id``: the API's keyset
    pages; without them, every request)."""
    work.require(Action.WRITEOFFS_READ)
    query = (select(WriteOffRequestRow, PatientRow.account_number)
             .join(PatientRow, PatientRow.id == WriteOffRequestRow.patient_id)
             .order_by(WriteOffRequestRow.id).limit(limit))
    if after_id is not None:
        query = query.where(WriteOffRequestRow.id > after_id)
    if status is not None:
        query = query.where(WriteOffRequestRow.status == status.value)
    return [_summary(row, account) for row, account in work.session.execute(query)]


@dataclass(frozen=True)
class SmallBalance:
    patient_id: int
    account_number: str
    balance: Decimal

    def as_json(self) -> dict[str, Any]:
        return {"account_number": self.account_number, "balance": str(self.balance)}


def small_balance_candidates(work: UnitOfWork) -> list[SmallBalance]:
    """Patients whose whole patient balance is more than 0.00 and under the practice's
    small-balance limit, leaving out accounts on a payment plan, placed with an agency, or
    with a write-off already waiting for approval."""
    work.require(Action.WRITEOFFS_READ)
    limit = policy(work).small_balance_limit
    rows = work.session.execute(
        select(LedgerEntryRow.patient_id, func.sum(LedgerEntryRow.patient_delta))
        .group_by(LedgerEntryRow.patient_id)
        .having(func.sum(LedgerEntryRow.patient_delta) > 0)
        .order_by(LedgerEntryRow.patient_id)).all()
    excluded = set(work.session.scalars(select(PaymentPlanRow.patient_id).where(
        PaymentPlanRow.status == "active")))
    excluded |= set(work.session.scalars(select(CollectionPlacementRow.patient_id).where(
        CollectionPlacementRow.status == "placed")))
    excluded |= set(work.session.scalars(select(WriteOffRequestRow.patient_id).where(
        WriteOffRequestRow.status == WriteOffStatus.REQUESTED.value)))
    chosen = [(pid, to_money(balance)) for pid, balance in rows
              if pid not in excluded and to_money(balance) < limit]
    if not chosen:
        return []
    accounts = dict(work.session.execute(select(PatientRow.id, PatientRow.account_number)
                                         .where(PatientRow.id.in_([p for p, _ in chosen]))).all())
    return [SmallBalance(pid, accounts.get(pid, ""), balance) for pid, balance in chosen]


def write_off_small_balances(work: UnitOfWork, reason: str, *, dry_run: bool = False,
                             on: date | None = None) -> list[SmallBalance]:
    """Write off every small balance (:func:`small_balance_candidates`); with ``dry_run``,
    only list them. Each is its own request, approved by the policy (a limit above the
    approval threshold still waits for a manager)."""
    work.require(Action.WRITEOFFS_REQUEST)
    if not reason.strip():
        raise ValidationFailed("small-balance write-off", [("reason", "say why")])
    found = small_balance_candidates(work)
    if dry_run:
        return found
    for item in found:
        request_write_off(work, item.patient_id, WriteOffKind.SMALL_BALANCE, item.balance,
                          reason, on=on)
    return found
