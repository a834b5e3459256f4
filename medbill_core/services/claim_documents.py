"""Every X12 document exchanged for one claim, found through what each document names.

medbill keeps no link table between claims and documents; each kind of document already names
the claim (or its batch) in what is stored, and is found by that:

* **837** (what was sent): the outbox files (:class:`SubmissionRow`) whose ``claim_numbers``
  hold the claim's number (a JSON list, matched as its text ``"NUMBER"``: claim numbers are
  letters, digits and hyphens, so the quoted number matches only itself);
* **999** answering one of those files: its AK102 names the file's functional group (GS06),
  compared as a number (``000000012`` is ``12``), as :mod:`.responses` matches it;
* **TA1** answering one of those files: its TA101 names the file's interchange (ISA13);
* **277CA / 277**: a claim-level TRN02 (loop 2200D) is the claim number (CLM01);
* **835**: a CLP01 is the claim number.

Only documents received since the claim was created are read (nothing before can answer
it), and the text search (``LIKE``) only narrows the candidates: each is then read segment
by segment and kept only when the element itself names the claim. A 271 answers a
coverage, not a claim: the patient's account shows eligibility.

Reads only; the caller audits what it shows (:func:`document_content` does, for a download).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import String, cast, select

from medbill_core import audit
from medbill_core.errors import NotFound
from medbill_core.permissions import Action
from medbill_core.storage.schema import ClaimRow, InboundDocumentRow, SubmissionRow, as_utc
from medbill_core.x12_envelope import same_number

if TYPE_CHECKING:
    from medbill_core.app import UnitOfWork

#: the inbound kinds that answer a claim by its number, and the segment element naming it
_CLAIM_NAMED_BY: dict[str, tuple[tuple[str, int], ...]] = {
    "277CA": (("TRN", 2),), "277": (("TRN", 2),), "835": (("CLP", 1),)}
#: the inbound kinds that answer a file: the segment element naming it
_FILE_NAMED_BY = {"999": ("AK1", 2), "TA1": ("TA1", 1)}

#: what each kind is, for people
KIND_NAMES = {
    "837P": "837P claim", "837I": "837I institutional claim", "other": "claim file",
    "999": "999 acknowledgment",
    "TA1": "TA1 interchange acknowledgment", "277CA": "277CA claim acknowledgment",
    "277": "277 claim status", "835": "835 remittance", "270": "270 eligibility inquiry",
    "271": "271 eligibility response", "276": "276 claim status request"}


@dataclass(frozen=True)
class ClaimDocument:
    """One document exchanged for a claim (its content is read by :func:`document_content`).

    ``key`` names it in URLs: ``sent-<outbox id>`` or ``received-<inbound document id>``.
    """

    key: str
    #: ``sent`` (medbill's outbox) or ``received`` (from a channel)
    direction: str
    #: the X12 kind as stored (``837P``, ``999``, ``277CA``, ``835`` ...)
    kind: str
    at: datetime
    #: the outbox file's status (``accepted`` ...) or what receiving it did (``applied`` ...)
    status: str
    #: the channel's name for it (outbox file name or the channel's document id)
    name: str
    detail: str | None

    @property
    def kind_name(self) -> str:
        return KIND_NAMES.get(self.kind, f"{self.kind} document")

    @property
    def filename(self) -> str:
        """A download's file name: the key and kind only (a channel's name may hold PHI)."""
        return f"{self.key}-{self.kind}.x12".replace("/", "-")


def _segments(content: str) -> list[list[str]]:
    """The X12 segments of ``content``, split into elements (empty when it is not X12)."""
    text = content.lstrip("\ufeff \t\r\n")
    if not (text.startswith("ISA") and len(text) > 105):
        return []
    separator, terminator = text[3], text[105]
    return [raw.strip().split(separator) for raw in text.split(terminator) if raw.strip()]


def _names(content: str, where: tuple[tuple[str, int], ...], wanted: str) -> bool:
    """Whether a segment of ``content`` has ``wanted`` as the element ``where`` says."""
    for elements in _segments(content):
        for tag, position in where:
            if elements[0] == tag and len(elements) > position \
                    and elements[position].strip() == wanted:
                return True
    return False


def _answers_file(content: str, tag: str, position: int, number: str) -> bool:
    for elements in _segments(content):
        if elements[0] == tag and len(elements) > position \
                and same_number(elements[position].strip(), number):
            return True
    return False


def _claim_row(work: UnitOfWork, claim_id: int) -> ClaimRow:
    row = work.session.get(ClaimRow, claim_id)
    if row is None:
        raise NotFound("claim", claim_id)
    return row


def _sent(work: UnitOfWork, claim: ClaimRow) -> list[SubmissionRow]:
    return list(work.session.scalars(
        select(SubmissionRow)
        .where(cast(SubmissionRow.claim_numbers, String).contains(f'"{claim.claim_number}"'))
        .order_by(SubmissionRow.id)))


def _received(work: UnitOfWork, claim: ClaimRow,
              files: list[SubmissionRow]) -> list[InboundDocumentRow]:
    since = claim.created_at
    found: dict[int, InboundDocumentRow] = {}
    candidates = work.session.scalars(
        select(InboundDocumentRow)
        .where(InboundDocumentRow.kind.in_(list(_CLAIM_NAMED_BY)),
               InboundDocumentRow.received_at >= since,
               InboundDocumentRow.content.contains(claim.claim_number))
        .order_by(InboundDocumentRow.id))
    for row in candidates:
        if _names(row.content, _CLAIM_NAMED_BY[row.kind], claim.claim_number):
            found[row.id] = row
    for file in files:
        for kind, (tag, position) in _FILE_NAMED_BY.items():
            number = (file.group_control_number or file.control_number) if kind == "999" \
                else file.control_number
            # the number without its leading zeros is in the text however it is padded
            digits = number.lstrip("0") or "0"
            for row in work.session.scalars(
                    select(InboundDocumentRow)
                    .where(InboundDocumentRow.kind == kind,
                           InboundDocumentRow.received_at >= file.created_at,
                           InboundDocumentRow.content.contains(digits))):
                if row.id not in found and _answers_file(row.content, tag, position, number):
                    found[row.id] = row
    return sorted(found.values(), key=lambda row: (as_utc(row.received_at), row.id))


def claim_documents(work: UnitOfWork, claim_id: int) -> list[ClaimDocument]:
    """The documents exchanged for the claim, sent and received, in time order.

    :raises NotFound: no such claim (another practice's claim is none).
    """
    work.require(Action.CLAIMS_READ)
    claim = _claim_row(work, claim_id)
    files = _sent(work, claim)
    documents = [ClaimDocument(f"sent-{row.id}", "sent", row.kind,
                               as_utc(row.sent_at or row.created_at), row.status, row.filename,
                               row.last_error) for row in files]
    documents += [ClaimDocument(f"received-{row.id}", "received", row.kind,
                                as_utc(row.received_at), row.status, row.document_id,
                                row.detail) for row in _received(work, claim, files)]
    documents.sort(key=lambda document: document.at)
    return documents


def document_content(work: UnitOfWork, claim_id: int, key: str, *,
                     via: str) -> tuple[ClaimDocument, str]:
    """One of the claim's documents and its text, as stored. A document holds the patient's
    PHI: the read is audited (``claim.document_read``, the document's key in ``details``).

    :raises NotFound: no such claim, or the claim has no document with this key (a
        document of another claim is not told apart from one that does not exist).
    """
    for document in claim_documents(work, claim_id):
        if document.key == key:
            break
    else:
        raise NotFound("claim document", key)
    direction, _, number = key.partition("-")
    row: SubmissionRow | InboundDocumentRow | None = (
        work.session.get(SubmissionRow, int(number)) if direction == "sent"
        else work.session.get(InboundDocumentRow, int(number)))
    if row is None:  # listed a moment ago in this transaction
        raise NotFound("claim document", key)
    audit.record(work.session, actor=work.actor, action="claim.document_read",
                 entity_type="claim", entity_id=claim_id,
                 details={"via": via, "document": key, "kind": document.kind})
    return document, row.content
