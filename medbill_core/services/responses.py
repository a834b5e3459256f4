"""Receiving documents from channels and letting them drive the claim lifecycle.

Each document is stored once per practice (channel + document id: the same file may reach two
practices, each applies it to its own records) and applied in the same transaction: a 999 or
TA1 moves a batch's claims to acknowledged or rejected, a 277CA moves each claim to accepted or
rejected, an 835 is posted to the ledger.
Only after the commit is the channel told the document was received, so a crash
loses nothing and a redelivered document is recognised and skipped. A document that could
not be decoded or applied is not a duplicate: received again, it is tried again.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from medbill_core import audit
from medbill_core.adapters import PayerAdapter
from medbill_core.app import Medbill, UnitOfWork
from medbill_core.codesets.explain import explain_999_error
from medbill_core.domain import (
    ClaimAcknowledgmentBatch,
    ClaimAckStatus,
    ClaimState,
    ClaimStatusResponse,
    DocumentKind,
    EligibilityResponse,
    FunctionalAcknowledgment,
    InboundDocument,
    InterchangeAcknowledgment,
    Remittance,
    SegmentError,
    TransactionSetAck,
)
from medbill_core.errors import AdapterNotAvailable, DecodeError, MedbillError
from medbill_core.lifecycle import advance_path
from medbill_core.permissions import Action
from medbill_core.services.claims import ClaimMove
from medbill_core.services.remittance import DifferingFigures, post_remittance
from medbill_core.services.remittance_parts import (
    count_claim_payments,
    held_elsewhere,
    post_in_parts,
    remittance_summary,
    streaming_adapter,
    take_lease,
)
from medbill_core.storage.batches import chunks, unique
from medbill_core.storage.schema import (
    ClaimRow,
    DocumentStatus,
    InboundDocumentRow,
    SubmissionRow,
    SubmissionStatus,
    utcnow,
)
from medbill_core.x12_envelope import envelope_numbers, number_variants, same_number

log = logging.getLogger("medbill.responses")


@dataclass(frozen=True)
class IngestResult:
    document_id: str
    status: str
    kind: str
    detail: str = ""
    #: the claims a 277CA in it rejected, with their STC codes (for the plain-language
    #: reasons ``responses fetch`` prints beside them)
    rejections: tuple[Rejection, ...] = ()
    #: what must be told although the document was applied: each claim payment of an 835
    #: whose trace posted it with other figures (not posted again), with both sets of figures
    differing: tuple[DifferingFigures, ...] = ()

    @property
    def notices(self) -> tuple[str, ...]:
        """One line per claim payment in :attr:`differing` (an ``error:`` line each)."""
        return tuple(item.message for item in self.differing)


@dataclass(frozen=True)
class Rejection:
    """A claim a 277CA rejected and why: STC01-1 category and STC01-2 status codes."""

    claim_number: str
    codes: tuple[tuple[str, str], ...]


def rejections_in(decoded: Any) -> tuple[Rejection, ...]:
    """The claims rejected by the 277CA(s) in a decoded document (none for other kinds)."""
    if isinstance(decoded, list):
        return tuple(item for part in decoded for item in rejections_in(part))
    if not isinstance(decoded, ClaimAcknowledgmentBatch):
        return ()
    return tuple(Rejection(ack.claim_number, tuple((c.category, c.code) for c in ack.status_codes))
                 for ack in decoded.claims if ack.status is ClaimAckStatus.REJECTED)


@dataclass(frozen=True)
class _Answer:
    """An acknowledgment's answer for one claim: move it to ``target`` (see :func:`_move_many`)."""

    claim_number: str
    target: ClaimState
    reason: str
    payer_claim_number: str | None = None


@dataclass
class _Held:
    """What :func:`_move_many` needs of a claim: no domain claim is built for an answer."""

    claim_id: int
    state: ClaimState
    payer_claim_number: str | None


def _held_claims(work: UnitOfWork, claim_numbers: Sequence[str]) -> dict[str, _Held]:
    """The claims with these numbers (those that exist): their rows, read with one query per
    :data:`~medbill_core.storage.batches.IN_LIST` numbers (they stay in the session for the
    moves that follow)."""
    held: dict[str, _Held] = {}
    for chunk in chunks(unique(claim_numbers)):
        for row in work.session.scalars(select(ClaimRow)
                                        .where(ClaimRow.claim_number.in_(chunk))):
            held[row.claim_number] = _Held(row.id, ClaimState(row.state),
                                           row.payer_claim_number)
    return held


def _move_many(work: UnitOfWork, answers: Sequence[_Answer]) -> list[bool]:
    """Apply acknowledgments to claims, in order: move each claim to its ``target`` when it is
    still waiting for this answer (:func:`~medbill_core.lifecycle.ack_moves`), else only record
    it (a late or repeated 999/277CA never moves a claim the payer has answered further).

    The claims' rows are read with one query and moved in
    :meth:`~medbill_core.services.claims.ClaimService.transition_many` batches (one, unless a
    claim is answered twice or an answer is only recorded: the moves before it are applied
    first, so the audit trail keeps the order of the answers), each answer's path as
    :meth:`~medbill_core.services.claims.ClaimService.advance_many` takes it.

    :returns: per answer, whether it moved its claim (``False`` for an unknown claim number).
    """
    claims = _held_claims(work, [answer.claim_number for answer in answers])
    pending: list[ClaimMove] = []
    in_pending: set[str] = set()

    def apply_pending() -> None:
        work.claims.transition_many(pending)
        pending.clear()
        in_pending.clear()

    results = []
    for answer in answers:
        claim = claims.get(answer.claim_number)
        if claim is None:
            results.append(False)
            continue
        if answer.claim_number in in_pending:
            apply_pending()  # answered twice: the second answer sees what the first did
        path = advance_path(claim.state, answer.target, acknowledgment=True)
        if path:
            pending.extend(ClaimMove(claim.claim_id, step, answer.reason,
                                     answer.payer_claim_number) for step in path)
            claim.state = path[-1]
            claim.payer_claim_number = answer.payer_claim_number or claim.payer_claim_number
            in_pending.add(answer.claim_number)
            results.append(True)
            continue
        apply_pending()
        if answer.payer_claim_number and not claim.payer_claim_number:
            claim.payer_claim_number = work.claims.record_payer_claim_number(
                claim.claim_id, answer.payer_claim_number).payer_claim_number
        audit.record(work.session, actor=work.actor, action="claim.acknowledgment_kept",
                     entity_type="claim", entity_id=claim.claim_id,
                     details={"answer": answer.reason[:200],
                              "would_move_to": answer.target.value,
                              "state": claim.state.value})
        results.append(False)
    apply_pending()
    return results


def _submission_for(work: UnitOfWork, control_number: str) -> SubmissionRow | None:
    """The batch an interchange acknowledgment (TA1) names by its ISA13, compared as a
    number; the latest such batch."""
    return work.session.scalar(select(SubmissionRow).where(
        SubmissionRow.control_number.in_(number_variants(control_number)))
        .order_by(SubmissionRow.id.desc()))


def _batch_for_999(work: UnitOfWork, ack: FunctionalAcknowledgment) -> SubmissionRow | None:
    """The batch a 999 answers: the one whose functional group (GS06) the 999 names (AK102).

    Batches recorded before their group number was kept are found by their interchange
    number (our X12 files number the group as the interchange). Control numbers may repeat
    (a counter not kept across runs): the batch whose file holds every transaction set the
    999 names (AK202) wins, then one not answered yet, then the latest."""
    variants = number_variants(ack.group_control_number)
    candidates = list(work.session.scalars(select(SubmissionRow).where(
        SubmissionRow.group_control_number.in_(variants)
        | (SubmissionRow.group_control_number.is_(None)
           & SubmissionRow.control_number.in_(variants)))))
    if not candidates:
        return None
    named = [t.control_number for t in ack.transactions]

    def rank(row: SubmissionRow) -> tuple[bool, bool, int]:
        sets = envelope_numbers(row.content).transactions
        holds_all = all(any(same_number(n, st) for st in sets) for n in named)
        return holds_all, not SubmissionStatus(row.status).answered, row.id

    return max(candidates, key=rank)


def _segment_error_words(error: SegmentError) -> str:
    where = f"segment {error.segment_id} at position {error.segment_position}"
    words = [f"{where}: " + (explain_999_error("IK3", error.segment_error_code)
                             if error.segment_error_code else "error")]
    if error.element_error_code:
        element = f"element {error.element_position}" if error.element_position else "element"
        words.append(f"{element}: {explain_999_error('IK4', error.element_error_code)}")
    return ", ".join(words)


def _rejection_words(ack: FunctionalAcknowledgment, transaction: TransactionSetAck | None
                     ) -> str:
    """Why a 999 rejected (codes with their meanings; no data values, so no PHI)."""
    words: list[str] = []
    if transaction is not None:
        words += [explain_999_error("IK5", code) for code in transaction.error_codes]
        words += [_segment_error_words(error) for error in transaction.segment_errors]
    words += [explain_999_error("AK9", code) for code in ack.error_codes]
    return "; ".join(words) or "no error code given"


def apply_functional_ack(work: UnitOfWork, ack: FunctionalAcknowledgment) -> str:
    """Apply a 999 to the batch it answers: the claims of a rejected group, or of a rejected
    transaction set (IK501 = R) of a partially accepted group, are rejected with the 999's
    error codes in words; the others are acknowledged (when still waiting for it)."""
    submission = _batch_for_999(work, ack)
    if submission is None:
        return f"999 for unknown group {ack.group_control_number}"
    sets = envelope_numbers(submission.content).transactions
    answer_for: dict[str, TransactionSetAck] = {}
    transaction: TransactionSetAck | None  # of the 999, then the one answering each claim
    for transaction in ack.transactions:
        for number, claims in sets.items():
            if same_number(number, transaction.control_number):
                answer_for.update(dict.fromkeys(claims, transaction))
    group_rejected = not ack.status.accepted
    answers = []
    for number in submission.claim_numbers:
        transaction = answer_for.get(number)
        if group_rejected or (transaction is not None and not transaction.status.accepted):
            within = (f" transaction set {transaction.control_number}" if transaction is not None
                      else "")
            reason = (f"999 rejected batch {submission.id}{within}: "
                      + _rejection_words(ack, transaction))
            answers.append(_Answer(number, ClaimState.REJECTED, reason[:500]))
        else:
            answers.append(_Answer(number, ClaimState.ACKNOWLEDGED,
                                   f"999 {ack.status.value} for batch {submission.id}"))
    moved = _move_many(work, answers)
    acknowledged = sum(m for a, m in zip(answers, moved, strict=True)
                       if a.target is ClaimState.ACKNOWLEDGED)
    rejected = sum(m for a, m in zip(answers, moved, strict=True)
                   if a.target is ClaimState.REJECTED)
    any_rejected = group_rejected or any(not t.status.accepted for t in answer_for.values())
    submission.status = (SubmissionStatus.REJECTED if group_rejected else
                         SubmissionStatus.PARTIALLY_ACCEPTED if any_rejected
                         else SubmissionStatus.ACCEPTED)
    submission.answered_at = utcnow()
    # the code's name in words ("accepted with errors"), not its letter
    status = ack.status.name.lower().replace("_", " ")
    counts = [] if group_rejected else [f"{acknowledged} claims acknowledged"]
    if any_rejected:
        counts.append(f"{rejected} claims rejected")
    return f"999 {status} (batch {submission.id}): " + ", ".join(counts)


def apply_interchange_ack(work: UnitOfWork, ack: InterchangeAcknowledgment) -> str:
    if ack.accepted:
        return f"TA1 accepted interchange {ack.interchange_control_number}"
    submission = _submission_for(work, ack.interchange_control_number)
    if submission is None:
        return f"TA1 rejection for unknown interchange {ack.interchange_control_number}"
    submission.status = SubmissionStatus.REJECTED
    submission.answered_at = utcnow()
    moved = sum(_move_many(work, [_Answer(number, ClaimState.REJECTED,
                                          f"TA1 note {ack.note_code}")
                                  for number in submission.claim_numbers]))
    return f"TA1 rejected: {moved} claims rejected"


def apply_claim_acks(work: UnitOfWork, batch: ClaimAcknowledgmentBatch) -> str:
    answers = []
    for ack in batch.claims:
        codes = ",".join(f"{c.category}:{c.code}" for c in ack.status_codes)
        if ack.status is ClaimAckStatus.ACCEPTED:
            answers.append(_Answer(ack.claim_number, ClaimState.ACCEPTED, f"277CA {codes}",
                                   ack.payer_claim_number))
        elif ack.status is ClaimAckStatus.REJECTED:
            reason = f"277CA {codes}" + (f" {ack.message}" if ack.message else "")
            answers.append(_Answer(ack.claim_number, ClaimState.REJECTED, reason[:500],
                                   ack.payer_claim_number))
    moved = _move_many(work, answers)
    accepted = sum(m for a, m in zip(answers, moved, strict=True)
                   if a.target is ClaimState.ACCEPTED)
    rejected = sum(m for a, m in zip(answers, moved, strict=True)
                   if a.target is ClaimState.REJECTED)
    unknown = len(answers) - accepted - rejected
    return f"277CA: {accepted} accepted, {rejected} rejected, {unknown} not applicable"


def apply_decoded(work: UnitOfWork, decoded: Any,
                  on_progress: Callable[[int, int], None] | None = None,
                  differing: list[DifferingFigures] | None = None) -> str:
    """Apply one decoded response (or a list of them) to claims and the ledger;
    ``on_progress(done, total)`` follows the claim payments of an 835; ``differing`` gets
    each claim payment an 835's trace posted before with other figures."""
    if isinstance(decoded, list):
        return "; ".join(apply_decoded(work, item, on_progress, differing) for item in decoded)
    if isinstance(decoded, FunctionalAcknowledgment):
        return apply_functional_ack(work, decoded)
    if isinstance(decoded, InterchangeAcknowledgment):
        return apply_interchange_ack(work, decoded)
    if isinstance(decoded, ClaimAcknowledgmentBatch):
        return apply_claim_acks(work, decoded)
    if isinstance(decoded, Remittance):
        result = post_remittance(work, decoded, on_progress=on_progress)
        if differing is not None:
            differing.extend(result.differing)
        return remittance_summary(decoded.trace_number, result)
    if isinstance(decoded, EligibilityResponse | ClaimStatusResponse):
        return f"{type(decoded).__name__} stored"
    return f"{type(decoded).__name__} not applicable"


#: what a process that lost the race for a document reports: the winner applied it
DONE_ELSEWHERE = "already done: another medbill process applied it at the same time"
#: the detail of a document whose records the database refused twice (a stored row they
#: collide with, not another process's posting): kept as failed, tried again when received again
CONFLICT = ("not applied: a record it writes collides with one stored already (nothing of it "
            "was applied); receiving it again tries it again")
#: ... when the document was being posted in parts
PARTS_CONFLICT = ("not finished: a record it writes collides with one stored already (the "
                  "parts posted before it stay posted: posting the file again finishes it)")


def ingest_document(app: Medbill, document: InboundDocument,
                    on_progress: Callable[[int, int], None] | None = None) -> IngestResult:
    """Store, decode and apply one received document, exactly once, also when several
    processes receive it at the same time (``responses fetch`` twice, ``remit post`` of one
    file twice): the loser reports a duplicate, done by the other process.

    ``on_progress(done, total)`` follows the claim payments of an 835 as they post.
    An 835 an adapter can stream is posted in parts (:mod:`.remittance_parts`)."""
    app.require(Action.REMITTANCE_POST if document.kind is DocumentKind.REMITTANCE_835
                else Action.RESPONSES_FETCH)
    try:
        return _ingest(app, document, on_progress)
    except IntegrityError:
        # Another process stored the same document (or posted the same remittance) in the
        # meantime: PostgreSQL let this insert wait for that transaction and refused it once
        # committed. Everything here was rolled back; a second look sees what it did.
        log.info("document %s: applied by another process at the same time",
                 document.document_id)
    try:
        result = _ingest(app, document, on_progress)
    except IntegrityError:
        # refused again: no race but a stored row its records collide with. The document
        # is kept as failed (received again, it is tried again), never left "posting" nor
        # answered with an error nobody can act on.
        log.warning("document %s: a record it writes collides with a stored one; not applied",
                    document.document_id)
        return _failed_on_conflict(app, document)
    if result.status == DocumentStatus.DUPLICATE:
        return replace(result, detail=DONE_ELSEWHERE)
    return result


def _failed_on_conflict(app: Medbill, document: InboundDocument) -> IngestResult:
    """Record ``document`` as failed after its records collided twice with stored rows (the
    row of a document posted in parts says so already: its lease was given up)."""
    with app.unit_of_work() as work:
        row = work.session.scalar(select(InboundDocumentRow).where(
            InboundDocumentRow.channel == document.channel,
            InboundDocumentRow.document_id == document.document_id).with_for_update())
        if row is None:  # its transaction was rolled back: the receipt is kept now
            row = InboundDocumentRow(
                channel=document.channel, document_id=document.document_id,
                kind=document.kind.value, content=document.content,
                content_sha256=_sha256(document.content), status=DocumentStatus.FAILED,
                detail=CONFLICT, received_at=document.received_at or utcnow())
            work.session.add(row)
        elif row.status not in _NOT_SETTLED:  # another process settled it meanwhile
            return IngestResult(document.document_id, DocumentStatus.DUPLICATE, row.kind,
                                DONE_ELSEWHERE)
        else:  # a posting in parts said so already: its parts stay posted
            row.status = DocumentStatus.FAILED
            row.detail = row.detail if row.detail == PARTS_CONFLICT else CONFLICT
            row.lease_until = row.lease_holder = None
        return IngestResult(document.document_id, DocumentStatus.FAILED, row.kind,
                            row.detail or CONFLICT)


def _ingest(app: Medbill, document: InboundDocument,
            on_progress: Callable[[int, int], None] | None) -> IngestResult:
    if document.kind is DocumentKind.REMITTANCE_835:
        adapter = streaming_adapter(app, document)
        if adapter is not None:
            return _ingest_in_parts(app, adapter, document, on_progress)
    with app.unit_of_work() as work:
        received = _receive(work, document)
        if isinstance(received, IngestResult):
            return received
        row = received
        try:
            decoded = app.hooks.decode_response(document=document)
        except (DecodeError, AdapterNotAvailable) as exc:
            row.status = DocumentStatus.UNDECODABLE
            row.detail = exc.message[:500]
            audit.record(work.session, actor=work.actor, action="document.undecodable",
                         entity_type="inbound_document", entity_id=row.id)
            return IngestResult(document.document_id, DocumentStatus.UNDECODABLE, row.kind,
                                row.detail)
        queued = len(work.after_commit)
        savepoint = work.session.begin_nested()
        differing: list[DifferingFigures] = []
        try:
            detail = apply_decoded(work, decoded, on_progress, differing)
            savepoint.commit()
        except MedbillError as exc:
            # keep the document (and its failure) but none of its half-applied effects
            savepoint.rollback()
            del work.after_commit[queued:]
            row.status = DocumentStatus.FAILED
            row.detail = exc.message[:500]
            log.warning("document %s could not be applied: %s", row.id, exc.message)
            return IngestResult(document.document_id, DocumentStatus.FAILED, row.kind, row.detail)
        _applied(work, row, detail, differing)
        return IngestResult(document.document_id, DocumentStatus.APPLIED, row.kind, detail,
                            rejections_in(decoded), tuple(differing))


def _applied(work: UnitOfWork, row: InboundDocumentRow, detail: str,
             differing: list[DifferingFigures]) -> None:
    """Mark ``row`` applied; its audit event keeps the claim payments that differ from what
    their trace posted, figure by figure (claim numbers and amounts, no PHI): the detail
    column is words cut at 500 characters, and a client reading the document later
    (:func:`applied_differences`) gets them as data."""
    row.status = DocumentStatus.APPLIED
    row.detail = detail[:500]
    row.applied_at = utcnow()
    row.lease_until = row.lease_holder = None
    details: dict[str, object] = {"kind": row.kind, "channel": row.channel}
    if differing:
        details["differing"] = [item.as_json() for item in differing]
    audit.record(work.session, actor=work.actor, action="document.apply",
                 entity_type="inbound_document", entity_id=row.id, details=details)


def applied_differences(work: UnitOfWork, document_ids: Iterable[int]
                        ) -> dict[int, list[dict[str, Any]]]:
    """The claim payments each document's application found differing from what their
    trace posted (as :meth:`DifferingFigures.as_json` gives them), by document id; documents
    without any are left out. Read from the documents' ``document.apply`` audit events."""
    ids = [str(number) for number in document_ids]
    if not ids:
        return {}
    found: dict[int, list[dict[str, Any]]] = {}
    # oldest first: a document applied again (failed, then received again) keeps its last
    for event in sorted(audit.events_for(work.session, action="document.apply",
                                         entity_type="inbound_document", entity_ids=ids),
                        key=lambda event: event.id):
        listed = (event.details or {}).get("differing")
        if listed:
            found[int(event.entity_id)] = list(listed)
        else:
            found.pop(int(event.entity_id), None)
    return found


def _ingest_in_parts(app: Medbill, adapter: PayerAdapter, document: InboundDocument,
                     on_progress: Callable[[int, int], None] | None) -> IngestResult:
    """:func:`ingest_document` for a streamed 835: stored (status ``posting``), read once,
    then posted part by part; a broken-off posting is finished when it is received again."""
    with app.unit_of_work() as work:
        received = _receive(work, document)
        if isinstance(received, IngestResult):
            return received
        received.status = DocumentStatus.POSTING
        take_lease(received)
        work.session.flush()
        row_id, kind = received.id, received.kind
    try:
        total = count_claim_payments(app, adapter, document)
    except MedbillError as exc:  # nothing is posted yet
        status = DocumentStatus.UNDECODABLE if isinstance(exc, DecodeError) \
            else DocumentStatus.FAILED
        _release(app, row_id, status, exc.message[:500])
        return IngestResult(document.document_id, status, kind, exc.message[:500])
    differing: list[DifferingFigures] = []
    try:
        detail = post_in_parts(app, adapter, document, row_id, total, on_progress, differing)
    except MedbillError as exc:
        message = (f"{exc.message} (the parts posted before it stay posted: posting the file "
                   "again finishes it)")[:500]
        _release(app, row_id, DocumentStatus.FAILED, message)
        log.warning("document %s could not be applied: %s", row_id, exc.message)
        return IngestResult(document.document_id, DocumentStatus.FAILED, kind, message)
    except IntegrityError:
        # the part was rolled back; the row gives up its lease (never left "posting") and
        # ingest_document takes a second look (another process's posting, or a collision)
        _release(app, row_id, DocumentStatus.FAILED, PARTS_CONFLICT)
        raise
    with app.unit_of_work() as work:
        row = work.session.get(InboundDocumentRow, row_id)
        assert row is not None
        _applied(work, row, detail, differing)
    return IngestResult(document.document_id, DocumentStatus.APPLIED, kind, detail,
                        differing=tuple(differing))


def _release(app: Medbill, row_id: int, status: str, detail: str) -> None:
    """A streamed 835 that could not be (wholly) posted: its row says why, its lease ends."""
    with app.unit_of_work() as work:
        row = work.session.get(InboundDocumentRow, row_id)
        assert row is not None
        row.status, row.detail = status, detail
        row.lease_until = row.lease_holder = None
        if status == DocumentStatus.UNDECODABLE:
            audit.record(work.session, actor=work.actor, action="document.undecodable",
                         entity_type="inbound_document", entity_id=row_id)


#: a document in one of these states is received again when it arrives again (it was not
#: applied, or its posting was cut short)
_NOT_SETTLED = (DocumentStatus.UNDECODABLE, DocumentStatus.FAILED, DocumentStatus.POSTING)


def _sha256(content: str) -> str:
    """The content's SHA-256, hashed in pieces: no encoded copy of a large file at once."""
    digest = hashlib.sha256()
    for start in range(0, len(content), 1 << 20):
        digest.update(content[start:start + (1 << 20)].encode("utf-8"))
    return digest.hexdigest()


def _receive(work: UnitOfWork, document: InboundDocument) -> InboundDocumentRow | IngestResult:
    """The document's row, stored now (or again, when an earlier try failed or was broken
    off), or the result for a document received before."""
    # locked (PostgreSQL): two processes retrying a failed document never both apply it
    existing = work.session.scalar(select(InboundDocumentRow).where(
        InboundDocumentRow.channel == document.channel,
        InboundDocumentRow.document_id == document.document_id).with_for_update())
    digest = _sha256(document.content)
    if existing is not None and existing.status not in _NOT_SETTLED:
        return IngestResult(document.document_id, DocumentStatus.DUPLICATE, existing.kind,
                            "already received")
    if existing is not None and held_elsewhere(existing):
        return IngestResult(document.document_id, DocumentStatus.DUPLICATE, existing.kind,
                            "already being posted by another process")
    if existing is None:
        # the same document received another way (fetched from the clearinghouse, then
        # posted from a file): applying it again would replay it (an old 999 rejection
        # would reject the claims sent again since)
        same = work.session.scalar(select(InboundDocumentRow).where(
            InboundDocumentRow.content_sha256 == digest,
            InboundDocumentRow.status.not_in(_NOT_SETTLED))
            .order_by(InboundDocumentRow.id).limit(1))
        if same is not None:
            # kept as received (the receipt is a fact), marked as the duplicate it is
            detail = f"already received ({same.channel} document {same.document_id})"
            work.session.add(InboundDocumentRow(
                channel=document.channel, document_id=document.document_id,
                kind=same.kind, content=document.content, content_sha256=digest,
                status=DocumentStatus.DUPLICATE, detail=detail,
                received_at=document.received_at or utcnow()))
            return IngestResult(document.document_id, DocumentStatus.DUPLICATE, same.kind, detail)
    if existing is not None:
        # a document that failed was never applied: receiving it again tries it again
        # (a fixed adapter, the claim created meanwhile ...) instead of calling it a duplicate
        row = existing
        row.kind, row.content, row.content_sha256 = (document.kind.value, document.content,
                                                     digest)
        row.status, row.detail = DocumentStatus.RECEIVED, None
        audit.record(work.session, actor=work.actor, action="document.retry",
                     entity_type="inbound_document", entity_id=row.id)
    else:
        row = InboundDocumentRow(
            channel=document.channel, document_id=document.document_id,
            kind=document.kind.value, content=document.content, content_sha256=digest,
            status=DocumentStatus.RECEIVED, received_at=document.received_at or utcnow())
        work.session.add(row)
        work.session.flush()
    return row


#: what each X12 transaction set is, for messages, and the kind it is stored as when a file
#: given as an 835 turns out to be a response medbill applies anyway
_TRANSACTION_SETS: dict[str, tuple[str, DocumentKind | None]] = {
    "835": ("an 835 remittance", DocumentKind.REMITTANCE_835),
    "999": ("a 999 acknowledgment", DocumentKind.FUNCTIONAL_ACK_999),
    "TA1": ("a TA1 interchange acknowledgment", DocumentKind.INTERCHANGE_ACK_TA1),
    "277": ("a 277 claim acknowledgment or status response", DocumentKind.CLAIM_ACK_277CA),
    "837": ("an 837 claim file (what medbill sends, not a response)", None),
    "270": ("a 270 eligibility inquiry", None),
    "271": ("a 271 eligibility response (use 'medbill eligibility check')", None),
    "276": ("a 276 claim status request", None),
}


#: What an X12 transaction set identifier (ST01) looks like: three digits (``835``).
_TRANSACTION_SET_ID = re.compile(r"[0-9A-Z]{3}")


def transaction_set(content: str) -> str | None:
    """The X12 transaction set of ``content`` (ST01: ``835``, ``999`` ...; ``TA1`` for an
    interchange acknowledgment), or ``None`` when it is not X12 medbill can tell."""
    text = content.lstrip("\ufeff \t\r\n")
    if text.startswith("ISA") and len(text) > 105:
        separator, terminator = text[3], text[105]
    elif text.startswith("ST") and len(text) > 2:
        separator, terminator = text[2], "~"
    else:
        return None
    found_ta1 = False
    for segment in text.split(terminator):
        segment = segment.strip()
        if segment.startswith(f"ST{separator}"):
            code = segment.split(separator)[1].strip()
            # only an identifier is named back (it is printed): anything else in ST01 (control
            # characters, a terminal escape, a line separator) is the decoder's to report
            return code if _TRANSACTION_SET_ID.fullmatch(code) else None
        found_ta1 |= segment.startswith(f"TA1{separator}")
    return "TA1" if found_ta1 else None


@dataclass(frozen=True)
class FileRouting:
    """What a file given as an 835 is: its kind to ingest it as (``None``: refused) and a
    phrase for messages."""

    kind: DocumentKind | None
    description: str
    #: the file is not an 835 (applied as what it is, or refused)
    rerouted: bool


def route_file(content: str) -> FileRouting:
    """How ``medbill remit post`` handles a file: an 835 (or anything not recognisably X12,
    left for the decoder to judge) as a remittance; a 999, TA1 or 277 as that response; other
    X12 (an 837 ...) refused."""
    code = transaction_set(content)
    if code is None or code == "835":
        return FileRouting(DocumentKind.REMITTANCE_835, "an 835 remittance", False)
    description, kind = _TRANSACTION_SETS.get(code, (f"an X12 {code} transaction", None))
    return FileRouting(kind, description, True)


def fetch_and_apply(app: Medbill, channel: str,
                    on_progress: Callable[[int, int], None] | None = None
                    ) -> list[IngestResult]:
    """Poll ``channel``, apply every document, and acknowledge each one once it is stored.

    Each document is let go once applied and acknowledged (what a poll holds shrinks as it
    goes; the channel bounds how much one poll fetches). A crash part-way loses nothing: the
    documents not acknowledged are delivered again, those stored are recognised.

    ``on_progress(done, total)`` is called after each document (a progress bar)."""
    app.require(Action.RESPONSES_FETCH)
    waiting = list(app.hooks.fetch_responses(channel=channel))
    total = len(waiting)
    waiting.reverse()  # oldest last: popped first
    results = []
    channel_impl = app.hooks.context.channel(channel)
    while waiting:
        document = waiting.pop()
        result = ingest_document(app, document)
        results.append(result)
        if on_progress is not None:
            on_progress(len(results), total)
        app.hooks.acknowledge(channel_impl, document)
        log.info("document %s from %s: %s", document.document_id, channel, result.status)
    return results
