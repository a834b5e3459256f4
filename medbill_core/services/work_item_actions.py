"""The actions of a work item's row: each calls the service that does that work (the rules,
roles and audit records are theirs); the item leaves its queue at the next refresh because
the data no longer calls for it.

* denials: correct and resend (the denials are marked ``resend``, a replacement claim with
  the corrections is created, scrubbed and, when clean, submitted), appeal, write off, move
  the patient's share to the patient;
* no response: a 276 status inquiry;
* underpayments: resolve the adapter's findings with a note;
* remittance exceptions: resolve with a note.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from medbill_core.app import Medbill, UnitOfWork
from medbill_core.domain.identity import Principal
from medbill_core.errors import ValidationFailed
from medbill_core.permissions import Action
from medbill_core.services.work_queue_sources import Queue
from medbill_core.services.work_queues import WorkItem, get_item
from medbill_core.storage.schema import DenialRow


def _item_of(work: UnitOfWork, item_id: int, *queues: Queue) -> WorkItem:
    item = get_item(work, item_id)
    if item.queue not in queues:
        raise ValidationFailed(f"work item {item_id}", [(
            "queue", f"is {item.queue.value}: this action is for "
                     + " or ".join(q.value for q in queues))])
    if item.closed_on is not None:
        raise ValidationFailed(f"work item {item_id}", [(
            "status", "is closed: the work it asked for is done")])
    return item


def _open_denials(work: UnitOfWork, claim_id: int) -> list[DenialRow]:
    from medbill_core.services.denials import DenialStatus

    return list(work.session.scalars(select(DenialRow).where(
        DenialRow.claim_id == claim_id, DenialRow.status == DenialStatus.OPEN.value)
        .order_by(DenialRow.id)))


def _claim_id(item: WorkItem) -> int:
    if item.claim_id is None:  # every denial, no-response and underpayment item has one
        raise ValidationFailed(f"work item {item.id}", [("claim", "the item names no claim")])
    return item.claim_id


def _first_denial(work: UnitOfWork, item: WorkItem) -> DenialRow:
    rows = _open_denials(work, _claim_id(item))
    if not rows:
        raise ValidationFailed(f"work item {item.id}", [(
            "status", "the claim has no open denial left: refresh the queue")])
    return rows[0]


@dataclass(frozen=True)
class Resent:
    """A replacement made from a denied claim's work item, and whether it went out."""

    original_id: int
    replacement_id: int
    replacement_number: str
    #: the replacement's blocking scrub findings (then it stays a draft to fix)
    findings: tuple[str, ...]
    submitted: bool

    def as_json(self) -> dict[str, Any]:
        return {"original_id": self.original_id, "replacement_id": self.replacement_id,
                "replacement_claim_number": self.replacement_number,
                "findings": list(self.findings), "submitted": self.submitted}


def correct_and_resend(app: Medbill, principal: Principal | None, item_id: int,
                       changes: Mapping[str, Any], reason: str) -> Resent:
    """Correct a denied claim (``changes``: claim fields, as ``claims correct --from``) and
    send the replacement: its denials are marked ``resend``, the replacement is created,
    scrubbed and submitted when clean (else it waits as a draft on the scrub queue).

    :raises ValidationFailed: not a denial item, the claim cannot be corrected, bad changes.
    """
    from medbill_core.domain import Claim, validate_record
    from medbill_core.services.denials import mark_resend
    from medbill_core.services.scrubbing import scrub_claims
    from medbill_core.services.submission import submit

    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(f"work item {item_id}", [("reason", "is required")])
    with app.unit_of_work(principal=principal) as work:
        work.require(Action.QUEUES_WORK)
        item = _item_of(work, item_id, Queue.DENIALS)
        denial = _first_denial(work, item)
        original = work.claims.get(_claim_id(item))
        corrected = validate_record(Claim, {**original.model_dump(mode="json"), **changes},
                                    record=f"work item {item_id}")
        mark_resend(work, denial.id, reason)
        replacement = work.claims.correct(original.id or 0, corrected, reason=reason)
        [result] = scrub_claims(work, [replacement.id or 0]).results
    blocking = tuple(f.code for f in result.findings if f.blocks_submission)
    if not blocking:
        submit(app, claim_ids=[replacement.id or 0], principal=principal)
    return Resent(original.id or 0, replacement.id or 0, replacement.claim_number, blocking,
                  not blocking)


def appeal(work: UnitOfWork, item_id: int, reason: str) -> Any:
    """Appeal the denied claim (:func:`~medbill_core.services.denials.appeal`)."""
    from medbill_core.services.denials import appeal as appeal_denial

    work.require(Action.QUEUES_WORK)
    item = _item_of(work, item_id, Queue.DENIALS)
    return appeal_denial(work, _first_denial(work, item).id, reason)


def write_off(work: UnitOfWork, item_id: int, reason: str) -> int:
    """Write off every open denial of the claim (the manager's: ``denials.write_off``);
    how many."""
    from medbill_core.services.denials import write_off as write_off_denial

    work.require(Action.QUEUES_WORK)
    item = _item_of(work, item_id, Queue.DENIALS)
    rows = _open_denials(work, _claim_id(item))
    for row in rows:
        write_off_denial(work, row.id, reason)
    return len(rows)


def transfer_to_patient(work: UnitOfWork, item_id: int, note: str | None = None) -> int:
    """Move every open patient-responsibility (PR) denial of the claim to the patient; how
    many.

    :raises ValidationFailed: the claim has no PR denial.
    """
    from medbill_core.services.denials import transfer_to_patient as transfer

    work.require(Action.QUEUES_WORK)
    item = _item_of(work, item_id, Queue.DENIALS)
    rows = [row for row in _open_denials(work, _claim_id(item)) if row.group_code == "PR"]
    if not rows:
        raise ValidationFailed(f"work item {item_id}", [(
            "group_code", "no open denial is the patient's responsibility (PR)")])
    for row in rows:
        transfer(work, row.id, note)
    return len(rows)


def status_check(app: Medbill, principal: Principal | None, item_id: int) -> Any:
    """Send the claim's 276 (:func:`~medbill_core.services.claim_status.check_claim_status`)
    and return its answer."""
    from medbill_core.services.claim_status import check_claim_status

    with app.unit_of_work(principal=principal, read_only=True) as work:
        work.require(Action.QUEUES_WORK)
        claim_id = _claim_id(_item_of(work, item_id, Queue.NO_RESPONSE, Queue.UNDERPAYMENTS))
    with app.acting_for(principal) if principal is not None else nullcontext():
        return check_claim_status(app, claim_id)


def resolve(work: UnitOfWork, item_id: int, note: str) -> int:
    """Resolve what an underpayment item (the adapter's findings on the claim) or a
    remittance exception item stands for, with the biller's note; how many were resolved."""
    from medbill_core.services.remittance_findings import open_findings, resolve_finding
    from medbill_core.services.remittance_register import resolve_exception

    work.require(Action.QUEUES_WORK)
    item = _item_of(work, item_id, Queue.UNDERPAYMENTS, Queue.REMITTANCE_EXCEPTIONS)
    if item.queue is Queue.REMITTANCE_EXCEPTIONS:
        resolve_exception(work, item.subject_id, note)
        return 1
    findings = open_findings(work, [_claim_id(item)]).get(_claim_id(item), [])
    if not findings:
        raise ValidationFailed(f"work item {item_id}", [(
            "findings", "none open: a partial payment is settled by the payer's next 835, "
                        "an appeal or a write-off")])
    return sum(1 for finding in findings if resolve_finding(work, finding.id, note))
