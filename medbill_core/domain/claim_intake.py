"""A claim file received from a practice's EHR (an 837 batch), as a decoder read it.

A billing company receives 837P/837I batches from its clients and imports them as draft claims
(:mod:`medbill_core.services.claim_intake`). The decoder reads the envelope (who sent the file,
its interchange control number) and each claim on its own: a claim it cannot read is refused
with the position and the reason, the others are still read.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from medbill_core.domain.base import DomainModel
from medbill_core.domain.claim import BillableClaim


class DecodedClaim(DomainModel):
    """One claim of a received claim file: read (``bill``) or refused (``refusal``).

    :ivar position: the segment number of the claim's CLM (ISA = 1), where a person looks for it.
    :ivar claim_number: CLM01 as sent, when it is a well-formed claim number (else ``None``).
    :ivar bill: the claim with its patient, subscriber, payer and providers as sent; the
        database ids are unset (0 / ``None``), the payer key is the decoder's guess from the
        payer ID (the importer maps the payer ID to a configured payer).
    :ivar refusal: why the claim cannot be read, positioned (segment number, segment id,
        element), never a value from the file.
    :ivar findings: what the decoder noticed without refusing the claim, positioned, no values.
    """

    position: int = Field(ge=1)
    claim_number: str | None = None
    bill: BillableClaim | None = None
    refusal: str | None = None
    findings: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _read_or_refused(self) -> DecodedClaim:
        if (self.bill is None) == (self.refusal is None):
            raise ValueError("a decoded claim is either read (bill) or refused (refusal)")
        return self


class DecodedClaimFile(DomainModel):
    """An 837 interchange as read: the envelope that identifies the file, and its claims.

    :ivar implementation: the implementation guide of the claims (``005010X222A1`` for an
        837P, ``005010X223A2`` for an 837I); of the first transaction set when several.
    :ivar interchange_control_number: ISA13.
    :ivar sender_qualifier: ISA05; ``sender_id``: ISA06 (who sent the file).
    :ivar receiver_id: ISA08.
    """

    implementation: str = Field(min_length=1, max_length=20)
    interchange_control_number: str = Field(min_length=1, max_length=9)
    sender_qualifier: str = Field(default="", max_length=2)
    sender_id: str = Field(min_length=1, max_length=15)
    receiver_id: str = Field(default="", max_length=15)
    claims: list[DecodedClaim] = Field(default_factory=list)
