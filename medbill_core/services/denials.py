"""Denials as open insurance A/R: the work items the posting rules keep open, and decisions.

When an 835 answer is posted, every adjustment whose posting rule
(:mod:`medbill_core.services.posting_rules`) is ``deny`` or ``review`` posts nothing: the
amount stays in the payer's insurance balance and a work item (:class:`DenialRow`) records
it, "denied - to work". A person then decides, each decision audited in its transaction:

* **write off** (:func:`write_off`) with a reason: a write-off of the amount, insurance
  bucket, the item's ``GROUP-CARC`` as the entry's reason code;
* **transfer to the patient** (:func:`transfer_to_patient`): only an amount the payer assigned
  as patient responsibility (group PR); anything else is refused, the patient does not owe it;
* **appeal** (:func:`appeal`): an appeal of the claim (:mod:`.appeals`); the claim's items
  become ``appealed`` and stay owed until the payer answers again;
* **correct and resend** (:func:`mark_resend`): recorded; the replacement is made with
  ``medbill claims correct`` and its answer settles the account.

An item is decided once: a decision on an item already written off, transferred or closed
is refused, and so is a second "resend" ("was already decided: resend on ... by ...").
While the item's claim has an appeal in progress (open or sent), every decision on its items
(write off, transfer, another appeal, resend) is refused naming the appeal: its outcome is
recorded or it is withdrawn first, so no appeal stays open on a claim already settled. After
a lost or withdrawn appeal its ``appealed`` items are decided as any other.

A later answer of the payer on the same account (after an appeal, a replacement's answer, or a
reversal, CLP02 = 22) replaces the answer an item came from: its items still owed are
``closed`` and the new answer's rules apply to the new amounts. Written-off and transferred
items stay as decided.

Item notes (free text, may hold PHI) are stored, never audited or logged.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import Row, func, select

from medbill_core import audit
from medbill_core.app import UnitOfWork
from medbill_core.collector import collector_paused
from medbill_core.domain import Adjustment, Claim, ClaimState
from medbill_core.errors import NotFound, UnknownPayer, ValidationFailed
from medbill_core.ledger import Bucket, EntryKind, LedgerLine
from medbill_core.lifecycle import ALLOWED_TRANSITIONS
from medbill_core.money import ZERO, to_money
from medbill_core.permissions import Action
from medbill_core.services.posting_rules import KEPT_OPEN, PostingAction, RuleDecision
from medbill_core.storage.batches import chunks
from medbill_core.storage.id_list_sql import among
from medbill_core.storage.prefix_sql import starts_with
from medbill_core.storage.schema import (
    ClaimRow,
    DenialRow,
    LedgerEntryRow,
    PostingRow,
    local_day,
    utcnow,
)

NOTE_MAX = 500


class DenialStatus(StrEnum):
    OPEN = "open"
    APPEALED = "appealed"
    RESEND = "resend"
    WRITTEN_OFF = "written_off"
    TO_PATIENT = "to_patient"
    CLOSED = "closed"


#: statuses whose amount is still owed by the payer (open insurance A/R)
OWED = (DenialStatus.OPEN, DenialStatus.APPEALED, DenialStatus.RESEND)
_OWED_VALUES = [status.value for status in OWED]
_CHUNK = 1000


@dataclass(frozen=True)
class Denial:
    id: int
    claim_id: int
    claim_number: str
    claim_state: str
    payer_key: str
    code: str
    amount: Decimal
    #: ``deny`` or ``review``: the posting rule's action
    action: str
    rule: str
    denied_on: date
    status: DenialStatus
    appeal_deadline: date | None
    decided_by: str | None
    decided_on: date | None

    def days_left(self, as_of: date | None = None) -> int | None:
        if self.appeal_deadline is None:
            return None
        return (self.appeal_deadline - (as_of or date.today())).days

    def as_json(self, as_of: date | None = None) -> dict[str, Any]:
        """Without the note (free text)."""
        from medbill_core.codesets.explain import explain_adjustment

        return {"id": self.id, "claim_id": self.claim_id, "claim_number": self.claim_number,
                "claim_state": self.claim_state, "payer": self.payer_key, "code": self.code,
                "meaning": explain_adjustment(self.code),
                "amount": str(self.amount), "action": self.action, "rule": self.rule,
                "denied_on": self.denied_on.isoformat(), "status": self.status.value,
                "appeal_deadline": self.appeal_deadline.isoformat()
                if self.appeal_deadline else None,
                "days_left": self.days_left(as_of), "decided_by": self.decided_by,
                "decided_on": self.decided_on.isoformat() if self.decided_on else None}


# -- while posting an 835 ----------------------------------------------------------------------

def close_replaced(work: UnitOfWork, account_id: int, payer_key: str, reason: str, *,
                   items: Sequence[DenialRow] | None = None) -> int:
    """A new answer (or a reversal) of ``payer_key`` on the account replaces the earlier one:
    its items still owed are closed. Returns how many. ``items``: every item of the account,
    oldest first, when the caller has them (an 835 posted in batches): no query then."""
    if items is not None:
        rows = [row for row in items if row.payer_key == payer_key
                and row.status in _OWED_VALUES]
    else:
        rows = list(work.session.scalars(select(DenialRow).where(
            DenialRow.account_claim_id == account_id, DenialRow.payer_key == payer_key,
            DenialRow.status.in_(_OWED_VALUES))))
    for row in rows:
        row.status = DenialStatus.CLOSED.value
        row.decided_at = utcnow()
        row.decided_by = work.actor
        audit.record(work.session, actor=work.actor, action="denial.close",
                     entity_type="denial", entity_id=row.id,
                     details={"claim_id": row.claim_id, "why": reason})
    return len(rows)


def undo_decisions_paid_later(work: UnitOfWork, *, posting_key: str, claim: Claim,
                              account_id: int, answered_on: date,
                              items: Sequence[DenialRow] | None = None) -> dict[int, Decimal]:
    """The payer paid after all: a denial of this payer on the account that someone wrote off
    or moved to the patient is undone by what the payer's balance there went below zero
    (else the account shows the payer's money as a credit). The latest decision first: a
    write-off is taken back, an amount moved to the patient goes back to the payer (what the
    patient paid on it is then a credit on the claim, to apply or refund). Returns denial id
    -> amount undone. ``items``: as for :func:`close_replaced`."""
    payer_key = claim.payer_key or ""
    credit = -work.ledger.payer_balance(account_id, payer_key)
    if credit <= ZERO:
        return {}
    undone: dict[int, Decimal] = {}
    decided = [DenialStatus.WRITTEN_OFF.value, DenialStatus.TO_PATIENT.value]
    rows: Iterable[DenialRow]
    if items is not None:
        rows = sorted((row for row in items if row.payer_key == payer_key
                       and row.status in decided), key=lambda row: -row.id)
    else:
        rows = work.session.scalars(select(DenialRow).where(
            DenialRow.account_claim_id == account_id, DenialRow.payer_key == payer_key,
            DenialRow.status.in_(decided)).order_by(DenialRow.id.desc()))
    for row in rows:
        if credit <= ZERO:
            break
        kind = EntryKind.WRITE_OFF if row.status == DenialStatus.WRITTEN_OFF.value \
            else EntryKind.TRANSFER_TO_PATIENT
        left = row.amount - _undone(work, row.id)
        amount = min(left, credit)
        if amount <= ZERO:
            continue
        work.ledger.post(
            f"denial:{row.id}:undo:{posting_key}", "denial", [LedgerLine(
                kind, -amount, patient_id=claim.patient_id, claim_id=account_id,
                payer_key=payer_key, reason_code=f"{row.group_code}-{row.reason_code}",
                bucket=Bucket.INSURANCE if kind is EntryKind.WRITE_OFF else None)],
            effective_date=answered_on, memo=f"denial {row.id}: the payer paid after all",
            allow_credit=True, undoes_write_off=kind is EntryKind.WRITE_OFF)
        audit.record(work.session, actor=work.actor, action="denial.paid_later",
                     entity_type="denial", entity_id=row.id,
                     details={"claim_id": row.claim_id, "amount": str(amount),
                              "decision": row.status, "posting": posting_key})
        undone[row.id] = amount
        credit -= amount
    return undone


def _undone(work: UnitOfWork, denial_id: int) -> Decimal:
    """What later payments already undid of a denial's decision."""
    work.ledger.flush_pending()
    total = work.session.scalar(
        select(func.coalesce(func.sum(LedgerEntryRow.amount), 0))
        .join(PostingRow, PostingRow.id == LedgerEntryRow.posting_id)
        .where(starts_with(work.session, PostingRow.posting_key, f"denial:{denial_id}:undo:")))
    return -to_money(total) if total else ZERO


def record_kept_open(work: UnitOfWork, *, posting_key: str, claim: Claim, account_id: int,
                     adjustments: list[Adjustment], decisions: list[RuleDecision],
                     answered_on: date) -> list[DenialRow]:
    """A work item for each non-zero adjustment the rules kept open (``deny``/``review``)."""
    rows = []
    for position, (adjustment, decision) in enumerate(zip(adjustments, decisions, strict=True)):
        if decision.action not in KEPT_OPEN or adjustment.amount <= ZERO:
            continue
        row = DenialRow(posting_key=posting_key, position=position, claim_id=claim.id,
                        account_claim_id=account_id, payer_key=claim.payer_key or "",
                        group_code=adjustment.group.value, reason_code=adjustment.reason_code,
                        amount=adjustment.amount, action=decision.action.value,
                        rule=decision.rule[:60], denied_on=answered_on,
                        status=DenialStatus.OPEN.value)
        work.session.add(row)
        rows.append(row)
    if rows:
        work.session.flush()
        for row in rows:
            audit.record(work.session, actor=work.actor, action="denial.open",
                         entity_type="denial", entity_id=row.id,
                         details={"claim_id": row.claim_id,
                                  "code": f"{row.group_code}-{row.reason_code}",
                                  "amount": str(row.amount), "action": row.action,
                                  "rule": row.rule})
    return rows


# -- reading -----------------------------------------------------------------------------------

#: the columns of a denial item (:func:`_view`): a list reads these, not whole rows
_ITEM_COLUMNS = (DenialRow.id, DenialRow.claim_id, DenialRow.payer_key, DenialRow.group_code,
                 DenialRow.reason_code, DenialRow.amount, DenialRow.action, DenialRow.rule,
                 DenialRow.denied_on, DenialRow.status, DenialRow.decided_by,
                 DenialRow.decided_at)


def _view(work: UnitOfWork, row: DenialRow | Row[Any, *tuple[Any, ...]],
          claim: tuple[str, str], deadlines: dict[int, date | None] | None = None) -> Denial:
    """The item of the claim ``claim`` (its number and state) from its row or the row's
    :data:`_ITEM_COLUMNS`; its appeal deadline from ``deadlines`` (by claim id) when given."""
    from medbill_core.services.appeals import appeal_deadline

    deadline = deadlines[row.claim_id] if deadlines is not None \
        else appeal_deadline(work, row.claim_id, row.payer_key)
    number, state = claim
    return Denial(row.id, row.claim_id, number, state, row.payer_key,
                  f"{row.group_code}-{row.reason_code}", row.amount, row.action, row.rule,
                  row.denied_on, DenialStatus(row.status), deadline,
                  row.decided_by, local_day(row.decided_at) if row.decided_at else None)


@collector_paused()  # 60,000 rows and items alive: no collections scanning them
def list_denials(work: UnitOfWork, *, payer_key: str | None = None,
                 include_decided: bool = False,
                 action: PostingAction | None = None) -> list[Denial]:
    """Denial work items still owed by the payer (every item with ``include_decided``; only
    denials or only review items with ``action``), nearest appeal deadline first (none
    last), then by id.

    The items by their status index, then their claims by primary key and their appeal
    deadlines a chunk of claims at a time (never a query per item).

    :raises UnknownPayer: ``payer_key`` is not a configured payer.
    """
    work.require(Action.DENIALS_READ)
    from medbill_core.services.appeals import appeal_deadlines

    if payer_key is not None and payer_key not in work.app.config.payers:
        raise UnknownPayer(payer_key)
    # the item's columns, not ORM rows (59,329 items at 1,000,000 claims: a third of the time)
    query = select(*_ITEM_COLUMNS)
    if action is not None:
        query = query.where(DenialRow.action == PostingAction(action).value)
    if not include_decided:
        query = query.where(DenialRow.status.in_(_OWED_VALUES))
    if payer_key is not None:
        query = query.where(DenialRow.payer_key == payer_key)
    rows = work.session.execute(query).all()
    ids = sorted({row.claim_id for row in rows})
    # the two columns shown, not whole claims: ids from the scoped read, the Core result
    claims: dict[int, tuple[str, str]] = {}
    for chunk in chunks(ids, _CHUNK):
        claims.update((claim_id, (number, state)) for claim_id, number, state
                      in work.session.connection().execute(
                          select(ClaimRow.id, ClaimRow.claim_number, ClaimRow.state)
                          .where(among(work.session, ClaimRow.id, chunk))))
    deadlines = appeal_deadlines(work, sorted({(row.claim_id, row.payer_key) for row in rows}))
    items = [_view(work, row, claims[row.claim_id], deadlines) for row in rows]
    items.sort(key=lambda d: (d.appeal_deadline is None, d.appeal_deadline or date.min, d.id))
    return items


def denials_of_claim(work: UnitOfWork, claim_id: int) -> list[Denial]:
    """Every denial item of one claim, decided or not, oldest first (the claim page)."""
    work.require(Action.DENIALS_READ)
    from medbill_core.services.appeals import appeal_deadlines

    claim = work.session.get(ClaimRow, claim_id)
    if claim is None:
        return []
    rows = list(work.session.scalars(select(DenialRow).where(DenialRow.claim_id == claim_id)
                                     .order_by(DenialRow.id)))
    deadlines = appeal_deadlines(work, sorted({(row.claim_id, row.payer_key) for row in rows}))
    return [_view(work, row, (claim.claim_number, claim.state), deadlines) for row in rows]


def get_denial(work: UnitOfWork, denial_id: int) -> Denial:
    work.require(Action.DENIALS_READ)
    row = _row(work, denial_id)
    claim = work.session.get_one(ClaimRow, row.claim_id)
    return _view(work, row, (claim.claim_number, claim.state))


def _row(work: UnitOfWork, denial_id: int) -> DenialRow:
    row = work.session.get(DenialRow, denial_id)
    if row is None:
        raise NotFound("denial", denial_id)
    return row


def _owed_row(work: UnitOfWork, denial_id: int) -> DenialRow:
    row = _row(work, denial_id)
    if row.status not in _OWED_VALUES:
        raise ValidationFailed(f"denial {denial_id}", [(
            "status", f"is {row.status}; only an open, appealed or resend item can be decided")])
    return row


def _refuse_while_appealed(work: UnitOfWork, row: DenialRow) -> None:
    """A decision on an item whose claim has an appeal in progress (open or sent) would
    contradict it (an appeal left open on a claim written off): refused until the appeal's
    outcome is recorded or it is withdrawn."""
    from medbill_core.services.appeals import AppealStatus, pending_appeals

    pending = pending_appeals(work, [row.claim_id]).get(row.claim_id)
    if pending is None:
        return
    which = f"open appeal {pending.id}" if pending.status is AppealStatus.OPEN \
        else f"appeal {pending.id} sent to the payer"
    raise ValidationFailed(f"denial {row.id}", [(
        "appeal", f"claim {pending.claim_number} has {which}: record its outcome or withdraw "
                  "it first")])


def _refuse_repeated(row: DenialRow, decision: DenialStatus) -> None:
    """The same decision twice (a second "resend") is refused, as a second write-off is."""
    if row.status == decision.value:
        day = local_day(row.decided_at).isoformat() if row.decided_at else "?"
        raise ValidationFailed(f"denial {row.id}", [(
            "status", f"was already decided: {decision.value} on {day} by "
                      f"{row.decided_by or '?'}")])


def _note(record: str, name: str, value: str | None, *, required: bool) -> str | None:
    value = (value or "").strip()
    if not value:
        if required:
            raise ValidationFailed(record, [(name, "is required")])
        return None
    if len(value) > NOTE_MAX:
        raise ValidationFailed(record, [(name, f"is longer than {NOTE_MAX} characters")])
    return value


# -- decisions ---------------------------------------------------------------------------------

def _decide(work: UnitOfWork, row: DenialRow, status: DenialStatus, note: str | None) -> None:
    row.status = status.value
    row.decided_at = utcnow()
    row.decided_by = work.actor
    if note is not None:
        row.note = note
    audit.record(work.session, actor=work.actor, action=f"denial.{status.value}",
                 entity_type="denial", entity_id=row.id,
                 details={"claim_id": row.claim_id, "amount": str(row.amount),
                          "code": f"{row.group_code}-{row.reason_code}"})


def _take_off_payer(work: UnitOfWork, row: DenialRow, kind: EntryKind, memo: str) -> None:
    """Post the item's amount off the payer's balance, refusing more than the payer owes."""
    owed = work.ledger.payer_balance(row.account_claim_id, row.payer_key)
    if owed < row.amount:
        raise ValidationFailed(f"denial {row.id}", [(
            "amount", f"{row.amount} is more than the {owed} the payer still owes on the "
                      "claim's account")])
    claim = work.session.get_one(ClaimRow, row.claim_id)
    line = LedgerLine(kind, row.amount, patient_id=claim.patient_id,
                      claim_id=row.account_claim_id, payer_key=row.payer_key,
                      reason_code=f"{row.group_code}-{row.reason_code}",
                      bucket=Bucket.INSURANCE if kind is EntryKind.WRITE_OFF else None)
    work.ledger.post(f"denial:{row.id}:{kind.value}", "denial", [line],
                     effective_date=date.today(), memo=memo)
    _settle_claim(work, row.claim_id)


def _settle_claim(work: UnitOfWork, claim_id: int) -> None:
    """Once the payer owes nothing more on the account, the claim leaves its answered state:
    to ``patient_balance`` when the patient owes, ``closed`` when nothing is owed."""
    claim = work.claims.get(claim_id)
    account = work.claims.account_id(claim)
    if work.ledger.payer_balance(account, claim.payer_key or "") > ZERO:
        return
    balance = work.ledger.claim_balance(account)
    target = ClaimState.PATIENT_BALANCE if balance.patient > ZERO else \
        ClaimState.CLOSED if balance.total == ZERO else None
    if target is None:
        return
    reason = "denial decided"
    if target not in ALLOWED_TRANSITIONS[claim.state] and \
            ClaimState.PAID in ALLOWED_TRANSITIONS[claim.state]:
        claim = work.claims.transition(claim_id, ClaimState.PAID, reason=reason)
    if target in ALLOWED_TRANSITIONS[claim.state]:
        work.claims.transition(claim_id, target, reason=reason)


def write_off(work: UnitOfWork, denial_id: int, reason: str) -> Denial:
    """Write the item's amount off (insurance bucket) with the person's reason."""
    work.require(Action.DENIALS_WRITE_OFF)
    record = f"denial {denial_id}"
    reason_text = _note(record, "reason", reason, required=True)
    row = _owed_row(work, denial_id)
    _refuse_while_appealed(work, row)
    _take_off_payer(work, row, EntryKind.WRITE_OFF, memo=f"denial {row.id} written off")
    _decide(work, row, DenialStatus.WRITTEN_OFF, reason_text)
    return get_denial(work, denial_id)


def transfer_to_patient(work: UnitOfWork, denial_id: int, note: str | None = None) -> Denial:
    """Move the item's amount to the patient: only when the payer assigned it to the patient
    (group PR)."""
    work.require(Action.DENIALS_WORK)
    record = f"denial {denial_id}"
    note = _note(record, "note", note, required=False)
    row = _owed_row(work, denial_id)
    _refuse_while_appealed(work, row)
    if row.group_code != "PR":
        raise ValidationFailed(record, [(
            "group_code", f"is {row.group_code}: the payer did not assign this amount to the "
                          "patient (PR), so the patient may not be billed for it; appeal, "
                          "correct or write it off")])
    _take_off_payer(work, row, EntryKind.TRANSFER_TO_PATIENT,
                    memo=f"denial {row.id} transferred to the patient")
    _decide(work, row, DenialStatus.TO_PATIENT, note)
    return get_denial(work, denial_id)


def _claim_items(work: UnitOfWork, claim_id: int) -> list[DenialRow]:
    return list(work.session.scalars(select(DenialRow).where(
        DenialRow.claim_id == claim_id, DenialRow.status.in_(_OWED_VALUES))
        .order_by(DenialRow.id)))


def appeal(work: UnitOfWork, denial_id: int, reason: str, level: int | None = None) -> Any:
    """Appeal the item's claim (:func:`medbill_core.services.appeals.open_appeal`); every item
    of the claim still owed becomes ``appealed``. Returns the appeal."""
    work.require(Action.DENIALS_WORK)
    from medbill_core.services.appeals import open_appeal

    row = _owed_row(work, denial_id)
    _refuse_while_appealed(work, row)
    return open_appeal(work, row.claim_id, reason, level)  # marks the claim's items


def mark_appealed(work: UnitOfWork, claim_id: int) -> None:
    """The claim was appealed: its items still owed wait for the payer's new answer."""
    for row in _claim_items(work, claim_id):
        if row.status != DenialStatus.APPEALED.value:
            _decide(work, row, DenialStatus.APPEALED, None)


def mark_resend(work: UnitOfWork, denial_id: int, note: str | None = None) -> list[Denial]:
    """Record "correct and resend" for every item of the item's claim still owed (the
    replacement claim is made with ``medbill claims correct``)."""
    work.require(Action.DENIALS_WORK)
    note = _note(f"denial {denial_id}", "note", note, required=False)
    row = _owed_row(work, denial_id)
    _refuse_repeated(row, DenialStatus.RESEND)
    _refuse_while_appealed(work, row)
    claim = work.session.get(ClaimRow, row.claim_id)
    if claim is None or ClaimState.REPLACED not in ALLOWED_TRANSITIONS[ClaimState(claim.state)]:
        raise ValidationFailed(f"denial {denial_id}", [(
            "claim", f"is {claim.state if claim else 'missing'}; it cannot be corrected")])
    items = _claim_items(work, row.claim_id)
    for item in items:
        if item.status != DenialStatus.RESEND.value:  # each item decided (and audited) once
            _decide(work, item, DenialStatus.RESEND, note)
    return [get_denial(work, item.id) for item in items]
