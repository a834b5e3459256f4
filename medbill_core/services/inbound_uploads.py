"""X12 files a client uploads (``POST /v1/inbound-documents``): decoded and applied as
``medbill responses fetch`` applies the files it fetches (:func:`medbill_core.services.
responses.ingest_document`: a 999, TA1, 277CA, 277, 271 or 835), stored under the channel
:data:`API_CHANNEL` with the content's SHA-256 as the document id, so the same file sent
again is recognised: its original outcome is answered, nothing is applied twice. A practice
recognises its own uploads: the same file sent by another practice is that practice's to apply
(to its own records)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from medbill_core.domain import DocumentKind, InboundDocument
from medbill_core.errors import DecodeError, NotFound, ValidationFailed
from medbill_core.services.responses import (
    applied_differences,
    ingest_document,
    transaction_set,
)
from medbill_core.storage.schema import DocumentStatus, InboundDocumentRow, as_utc, utcnow

if TYPE_CHECKING:
    from medbill_core.app import Medbill, UnitOfWork

#: The channel uploaded documents are stored under.
API_CHANNEL = "api"
#: What each X12 transaction set a client may upload is stored as.
UPLOAD_KINDS: dict[str, DocumentKind] = {
    "835": DocumentKind.REMITTANCE_835,
    "999": DocumentKind.FUNCTIONAL_ACK_999,
    "TA1": DocumentKind.INTERCHANGE_ACK_TA1,
    "277": DocumentKind.CLAIM_ACK_277CA,
    "271": DocumentKind.ELIGIBILITY_271,
}
#: Settled outcomes: the same file uploaded again answers them (others are tried again).
_SETTLED = (DocumentStatus.APPLIED, DocumentStatus.DUPLICATE)


@dataclass(frozen=True)
class UploadedDocument:
    """A received document as a client sees it (never its content: it is PHI)."""

    id: int
    channel: str
    kind: str
    status: str
    detail: str | None
    content_sha256: str
    received_at: datetime
    applied_at: datetime | None
    #: an 835's claim payments whose trace was posted before with other figures (not
    #: posted again), as :meth:`~medbill_core.services.remittance.DifferingFigures.as_json`
    differing: tuple[dict[str, Any], ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "channel": self.channel, "kind": self.kind,
                "status": self.status, "detail": self.detail,
                "content_sha256": self.content_sha256,
                "received_at": as_utc(self.received_at).isoformat(),
                "applied_at": as_utc(self.applied_at).isoformat() if self.applied_at
                else None,
                "differing": list(self.differing)}


def _views(work: UnitOfWork, rows: list[InboundDocumentRow]) -> list[UploadedDocument]:
    differing = applied_differences(work, [row.id for row in rows
                                           if row.kind == DocumentKind.REMITTANCE_835.value
                                           and row.status == DocumentStatus.APPLIED])
    return [UploadedDocument(id=row.id, channel=row.channel, kind=row.kind, status=row.status,
                             detail=row.detail, content_sha256=row.content_sha256,
                             received_at=row.received_at, applied_at=row.applied_at,
                             differing=tuple(differing.get(row.id, ())))
            for row in rows]


def _view(work: UnitOfWork, row: InboundDocumentRow) -> UploadedDocument:
    return _views(work, [row])[0]


def upload_kind(content: str) -> DocumentKind:
    """What ``content`` is stored as (its ST01, or TA1).

    :raises ValidationFailed: not X12, or a transaction set medbill does not receive (an
        837, a 270 ...), named without quoting the file.
    """
    code = transaction_set(content)
    if code is None:
        raise ValidationFailed("request", [(
            "body", "not an X12 interchange medbill reads (no ISA/ST envelope with a "
                    "transaction set)")])
    kind = UPLOAD_KINDS.get(code)
    if kind is None:
        raise ValidationFailed("request", [(
            "body", f"an X12 {code} is not a response medbill applies (999, TA1, 277CA, 277, "
                    "271, 835)")])
    return kind


def _by_document_id(work: UnitOfWork, document_id: str) -> InboundDocumentRow | None:
    return work.session.scalar(select(InboundDocumentRow).where(
        InboundDocumentRow.channel == API_CHANNEL,
        InboundDocumentRow.document_id == document_id))


def receive_upload(medbill: Medbill, content: str) -> tuple[UploadedDocument, bool]:
    """Decode and apply an uploaded file; ``(document, created)``: ``created`` is false when
    the same content was uploaded before and settled (its original outcome is answered).

    :raises ValidationFailed: not a response medbill applies (nothing stored).
    :raises DecodeError: the file does not decode (its message names the segment position);
        nothing is applied (the receipt is kept, marked undecodable).
    """
    digest = hashlib.sha256(content.encode("utf-8")).hexdigest()
    with medbill.unit_of_work(read_only=True) as work:
        existing = _by_document_id(work, digest)
        if existing is not None and existing.status in _SETTLED:
            return _view(work, existing), False
    kind = upload_kind(content)
    result = ingest_document(medbill, InboundDocument(
        channel=API_CHANNEL, document_id=digest, kind=kind, content=content,
        received_at=utcnow()))
    if result.status == DocumentStatus.UNDECODABLE:
        raise DecodeError(result.detail or "the file does not decode")
    with medbill.unit_of_work(read_only=True) as work:
        row = _by_document_id(work, digest)
        if row is None:  # pragma: no cover - ingest_document stored it
            raise NotFound("inbound document", digest)
        return _view(work, row), True


def get_document(work: UnitOfWork, document_id: int) -> UploadedDocument:
    """:raises NotFound: no such document."""
    row = work.session.get(InboundDocumentRow, document_id)
    if row is None:
        raise NotFound("inbound document", str(document_id))
    return _view(work, row)


def list_documents(work: UnitOfWork, *, after_id: int | None = None, limit: int = 50,
                   kind: str | None = None, status: str | None = None,
                   channel: str | None = None) -> list[UploadedDocument]:
    """Received documents by id (every channel's: uploaded and fetched), filtered."""
    statement = select(InboundDocumentRow).order_by(InboundDocumentRow.id).limit(limit)
    if after_id is not None:
        statement = statement.where(InboundDocumentRow.id > after_id)
    if kind is not None:
        statement = statement.where(InboundDocumentRow.kind == kind)
    if status is not None:
        statement = statement.where(InboundDocumentRow.status == status)
    if channel is not None:
        statement = statement.where(InboundDocumentRow.channel == channel)
    return _views(work, list(work.session.scalars(statement)))
