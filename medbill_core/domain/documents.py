"""Files that travel between medbill and payers or clearinghouses, and rendered documents."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from medbill_core.domain.base import DomainModel


class DocumentKind(StrEnum):
    """What a file carries. X12 kinds are named by transaction set."""

    CLAIM_837P = "837P"
    #: institutional claims (005010X223A2)
    CLAIM_837I = "837I"
    ELIGIBILITY_270 = "270"
    ELIGIBILITY_271 = "271"
    STATUS_276 = "276"
    STATUS_277 = "277"
    CLAIM_ACK_277CA = "277CA"
    FUNCTIONAL_ACK_999 = "999"
    INTERCHANGE_ACK_TA1 = "TA1"
    REMITTANCE_835 = "835"
    OTHER = "other"


class SubmissionFile(DomainModel):
    """An encoded batch ready to send, produced by a payer adapter.

    ``content`` is the exact text to transmit (contains PHI: never log it).
    ``claim_numbers`` lists the claims inside, for the outbox and the lifecycle.
    """

    payer_key: str
    kind: DocumentKind
    content: str
    claim_numbers: list[str] = Field(default_factory=list)
    control_number: str
    filename: str
    created_at: datetime | None = None


class SubmissionReceipt(DomainModel):
    """What a channel says right after a submission."""

    channel: str
    submission_id: str
    accepted: bool
    idempotency_key: str | None = None
    message: str | None = None
    immediate_responses: list[InboundDocument] = Field(default_factory=list)


class InboundDocument(DomainModel):
    """A file received from a channel (an acknowledgment, a 271, a 277, an 835...)."""

    channel: str
    document_id: str
    kind: DocumentKind = DocumentKind.OTHER
    content: str
    received_at: datetime | None = None
    cursor: str | None = None


class RenderedDocument(DomainModel):
    """Output of a statement renderer."""

    renderer: str
    media_type: str
    filename: str
    content: bytes
    pages: int | None = None


SubmissionReceipt.model_rebuild()
