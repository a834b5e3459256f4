"""Receiving documents from channels and letting them drive the claim lifecycle.

Each document is stored once (channel + document id) and applied in the same
transaction: a 999 or TA1 moves a batch's claims to acknowledged or rejected, a
277CA moves each claim to accepted or rejected, an 835 is posted to the ledger.
Only after the commit is the channel told the document was received, so a crash
loses nothing and a redelivered document is recognised and skipped. A document that could
not be decoded or applied is not a duplicate: received again, it is tried again.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from medbill_core import audit
from medbill_core.app import Medbill, UnitOfWork
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
)
from medbill_core.errors import AdapterNotAvailable, DecodeError, MedbillError, NotFound
from medbill_core.lifecycle import ALLOWED_TRANSITIONS
from medbill_core.services.remittance import post_remittance
from medbill_core.services.remittance_register import RemittanceStatus
from medbill_core.storage.schema import InboundDocumentRow, SubmissionRow, utcnow

log = logging.getLogger("medbill.responses")

APPLIED = "applied"
DUPLICATE = "duplicate"
UNDECODABLE = "undecodable"
FAILED = "failed"


@dataclass(frozen=True)
class IngestResult:
    document_id: str
    status: str
    kind: str
    detail: str = ""
    #: the claims a 277CA in it rejected, with their STC codes (for the plain-language
    #: reasons ``responses fetch`` prints beside them)
    rejections: tuple[Rejection, ...] = ()


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


def _move(work: UnitOfWork, claim_number: str, target: ClaimState, reason: str,
          payer_claim_number: str | None = None) -> bool:
    try:
        claim = work.claims.by_number(claim_number)
    except NotFound:
        return False
    if target not in ALLOWED_TRANSITIONS[claim.state]:
        return False  # already past this point (e.g. a late 999 after the 277CA)
    work.claims.transition(claim.id, target, reason=reason,
                           payer_claim_number=payer_claim_number)
    return True


def _submission_for(work: UnitOfWork, control_number: str) -> SubmissionRow | None:
    """The batch an acknowledgment names. A batch is recorded under its interchange number
    (ISA13, nine digits: ``000000004``); a 999 names the group (GS06, ``4``), which X12
    adapters number as the interchange: the number is compared as a number."""
    numbers = {control_number}
    if control_number.isdigit():
        numbers |= {control_number.lstrip("0") or "0", control_number.zfill(9)}
    return work.session.scalar(select(SubmissionRow).where(
        SubmissionRow.control_number.in_(numbers)).order_by(SubmissionRow.id.desc()))


def apply_functional_ack(work: UnitOfWork, ack: FunctionalAcknowledgment) -> str:
    submission = _submission_for(work, ack.group_control_number)
    if submission is None:
        return f"999 for unknown group {ack.group_control_number}"
    accepted = ack.status.accepted
    submission.status = "accepted" if accepted else "rejected"
    submission.answered_at = utcnow()
    target = ClaimState.ACKNOWLEDGED if accepted else ClaimState.REJECTED
    work.claims.prefetch(submission.claim_numbers)
    moved = sum(_move(work, number, target, f"999 {ack.status.value} for batch {submission.id}")
                for number in submission.claim_numbers)
    # the code's name in words ("accepted with errors"), not its letter
    status = ack.status.name.lower().replace("_", " ")
    return f"999 {status} (batch {submission.id}): {moved} claims {target.value}"


def apply_interchange_ack(work: UnitOfWork, ack: InterchangeAcknowledgment) -> str:
    if ack.accepted:
        return f"TA1 accepted interchange {ack.interchange_control_number}"
    submission = _submission_for(work, ack.interchange_control_number)
    if submission is None:
        return f"TA1 rejection for unknown interchange {ack.interchange_control_number}"
    submission.status = "rejected"
    submission.answered_at = utcnow()
    work.claims.prefetch(submission.claim_numbers)
    moved = sum(_move(work, number, ClaimState.REJECTED, f"TA1 note {ack.note_code}")
                for number in submission.claim_numbers)
    return f"TA1 rejected: {moved} claims rejected"


def apply_claim_acks(work: UnitOfWork, batch: ClaimAcknowledgmentBatch) -> str:
    accepted = rejected = unknown = 0
    work.claims.prefetch(ack.claim_number for ack in batch.claims)
    for ack in batch.claims:
        codes = ",".join(f"{c.category}:{c.code}" for c in ack.status_codes)
        if ack.status is ClaimAckStatus.ACCEPTED:
            moved = _move(work, ack.claim_number, ClaimState.ACCEPTED, f"277CA {codes}",
                          payer_claim_number=ack.payer_claim_number)
            accepted += moved
        elif ack.status is ClaimAckStatus.REJECTED:
            reason = f"277CA {codes}" + (f" {ack.message}" if ack.message else "")
            moved = _move(work, ack.claim_number, ClaimState.REJECTED, reason[:500],
                          payer_claim_number=ack.payer_claim_number)
            rejected += moved
        else:
            continue
        unknown += not moved
    return f"277CA: {accepted} accepted, {rejected} rejected, {unknown} not applicable"


def apply_decoded(work: UnitOfWork, decoded: Any,
                  on_progress: Callable[[int, int], None] | None = None) -> str:
    """Apply one decoded response (or a list of them) to claims and the ledger;
    ``on_progress(done, total)`` follows the claim payments of an 835."""
    if isinstance(decoded, list):
        return "; ".join(apply_decoded(work, item, on_progress) for item in decoded)
    if isinstance(decoded, FunctionalAcknowledgment):
        return apply_functional_ack(work, decoded)
    if isinstance(decoded, InterchangeAcknowledgment):
        return apply_interchange_ack(work, decoded)
    if isinstance(decoded, ClaimAcknowledgmentBatch):
        return apply_claim_acks(work, decoded)
    if isinstance(decoded, Remittance):
        result = post_remittance(work, decoded, on_progress=on_progress)
        flagged = (f", {len(result.findings)} flagged ("
                   + ", ".join(sorted({f.code for f in result.findings})) + ")"
                   if result.findings else "")
        unbalanced = ("; out of balance" if result.status == RemittanceStatus.OUT_OF_BALANCE
                      else "")
        kept = (f", {result.kept_open} kept open to work (medbill denials list)"
                if result.kept_open else "")
        return (f"835 {decoded.trace_number}: {len(result.posted)} posted, "
                f"{len(result.duplicates)} already posted, {len(result.unmatched)} unmatched"
                + kept + flagged + unbalanced)
    if isinstance(decoded, EligibilityResponse | ClaimStatusResponse):
        return f"{type(decoded).__name__} stored"
    return f"{type(decoded).__name__} not applicable"


def ingest_document(app: Medbill, document: InboundDocument,
                    on_progress: Callable[[int, int], None] | None = None) -> IngestResult:
    """Store, decode and apply one received document, exactly once.

    ``on_progress(done, total)`` follows the claim payments of an 835 as they post."""
    with app.unit_of_work() as work:
        existing = work.session.scalar(select(InboundDocumentRow).where(
            InboundDocumentRow.channel == document.channel,
            InboundDocumentRow.document_id == document.document_id))
        digest = hashlib.sha256(document.content.encode("utf-8")).hexdigest()
        if existing is not None and existing.status not in (UNDECODABLE, FAILED):
            return IngestResult(document.document_id, DUPLICATE, existing.kind)
        if existing is None:
            # the same document received another way (fetched from the clearinghouse, then
            # posted from a file): applying it again would replay it (an old 999 rejection
            # would reject the claims sent again since)
            same = work.session.scalar(select(InboundDocumentRow).where(
                InboundDocumentRow.content_sha256 == digest,
                InboundDocumentRow.status.not_in((UNDECODABLE, FAILED)))
                .order_by(InboundDocumentRow.id).limit(1))
            if same is not None:
                # kept as received (the receipt is a fact), marked as the duplicate it is
                detail = f"already received ({same.channel} document {same.document_id})"
                work.session.add(InboundDocumentRow(
                    channel=document.channel, document_id=document.document_id,
                    kind=same.kind, content=document.content, content_sha256=digest,
                    status=DUPLICATE, detail=detail,
                    received_at=document.received_at or utcnow()))
                return IngestResult(document.document_id, DUPLICATE, same.kind, detail)
        if existing is not None:
            # a document that failed was never applied: receiving it again tries it again
            # (a fixed adapter, the claim created meanwhile ...) instead of calling it a duplicate
            row = existing
            row.kind, row.content, row.content_sha256 = (document.kind.value, document.content,
                                                         digest)
            row.status, row.detail = "received", None
            audit.record(work.session, actor=work.actor, action="document.retry",
                         entity_type="inbound_document", entity_id=row.id)
        else:
            row = InboundDocumentRow(
                channel=document.channel, document_id=document.document_id,
                kind=document.kind.value, content=document.content, content_sha256=digest,
                status="received", received_at=document.received_at or utcnow())
            work.session.add(row)
            work.session.flush()
        try:
            decoded = app.hooks.decode_response(document=document)
        except (DecodeError, AdapterNotAvailable) as exc:
            row.status = UNDECODABLE
            row.detail = exc.message[:500]
            audit.record(work.session, actor=work.actor, action="document.undecodable",
                         entity_type="inbound_document", entity_id=row.id)
            return IngestResult(document.document_id, UNDECODABLE, row.kind, row.detail)
        queued = len(work.after_commit)
        savepoint = work.session.begin_nested()
        try:
            detail = apply_decoded(work, decoded, on_progress)
            savepoint.commit()
        except MedbillError as exc:
            # keep the document (and its failure) but none of its half-applied effects
            savepoint.rollback()
            del work.after_commit[queued:]
            row.status = FAILED
            row.detail = exc.message[:500]
            log.warning("document %s could not be applied: %s", row.id, exc.message)
            return IngestResult(document.document_id, FAILED, row.kind, row.detail)
        row.status = APPLIED
        row.detail = detail[:500]
        row.applied_at = utcnow()
        audit.record(work.session, actor=work.actor, action="document.apply",
                     entity_type="inbound_document", entity_id=row.id,
                     details={"kind": row.kind, "channel": row.channel})
        return IngestResult(document.document_id, APPLIED, row.kind, detail,
                            rejections_in(decoded))


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

    ``on_progress(done, total)`` is called after each document (a progress bar)."""
    documents = list(app.hooks.fetch_responses(channel=channel))
    results = []
    channel_impl = app.hooks.context.channel(channel)
    for done, document in enumerate(documents, start=1):
        result = ingest_document(app, document)
        results.append(result)
        if on_progress is not None:
            on_progress(done, len(documents))
        channel_impl.acknowledge(document)
        log.info("document %s from %s: %s", document.document_id, channel, result.status)
    return results
