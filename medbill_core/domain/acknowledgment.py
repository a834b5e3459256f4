"""Acknowledgments: TA1 (interchange), 999 (functional group) and 277CA (claim)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import Field

from medbill_core.domain.base import DomainModel
from medbill_core.money import Money


class AckStatus(StrEnum):
    """IK501/AK901 acknowledgment codes."""

    ACCEPTED = "A"
    ACCEPTED_WITH_ERRORS = "E"
    PARTIALLY_ACCEPTED = "P"
    REJECTED = "R"
    MESSAGE_AUTHENTICATION_FAILED = "M"
    CONTENT_DECRYPT_FAILED = "X"
    ASSURANCE_FAILED = "W"

    @property
    def accepted(self) -> bool:
        return self in (AckStatus.ACCEPTED, AckStatus.ACCEPTED_WITH_ERRORS,
                        AckStatus.PARTIALLY_ACCEPTED)


class InterchangeAcknowledgment(DomainModel):
    """TA1: the interchange envelope was (not) accepted."""

    interchange_control_number: str
    interchange_date: date | None = None
    accepted: bool
    note_code: str = Field(description="TA105 interchange note code; 000 means no error")


class SegmentError(DomainModel):
    """IK3/IK4 detail of a 999: where in the transaction set, and why."""

    segment_id: str
    segment_position: int
    loop_id: str | None = None
    segment_error_code: str | None = None
    element_position: int | None = None
    component_position: int | None = None
    element_error_code: str | None = None


class TransactionSetAck(DomainModel):
    """AK2...IK5: one transaction set's outcome."""

    transaction_set_id: str
    control_number: str
    status: AckStatus
    error_codes: list[str] = Field(default_factory=list)
    segment_errors: list[SegmentError] = Field(default_factory=list)


class FunctionalAcknowledgment(DomainModel):
    """A 999 for one functional group."""

    group_control_number: str
    functional_id: str
    status: AckStatus
    transactions: list[TransactionSetAck] = Field(default_factory=list)
    included_count: int | None = None
    received_count: int | None = None
    accepted_count: int | None = None
    error_codes: list[str] = Field(
        default_factory=list, max_length=5,
        description="AK905-AK909: functional group syntax error codes (X12 code list 716), "
                    "at most five")


class ClaimAckStatus(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    PENDING = "pending"


class StatusCode(DomainModel):
    """STC01 composite: claim status category (A1...A8), status code, entity."""

    category: str
    code: str
    entity: str | None = None


class ClaimAcknowledgment(DomainModel):
    """A 277CA outcome for one claim, matched by ``claim_number`` (our CLM01)."""

    claim_number: str
    status: ClaimAckStatus
    payer_claim_number: str | None = None
    status_codes: list[StatusCode] = Field(default_factory=list)
    effective_date: date | None = None
    total_charge: Money | None = None
    message: str | None = None


class ClaimAcknowledgmentBatch(DomainModel):
    """A whole 277CA: one payer's (or clearinghouse's) claim-level acknowledgments."""

    control_number: str | None = None
    sender_name: str | None = None
    claims: list[ClaimAcknowledgment] = Field(default_factory=list)
