"""Claim status inquiries (276) and responses (277, 005010X212)."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from medbill_core.domain.acknowledgment import StatusCode
from medbill_core.domain.base import DomainModel
from medbill_core.domain.claim import BillableClaim
from medbill_core.money import Money


class ClaimStatusRequest(DomainModel):
    """Ask the payer where a submitted claim stands."""

    trace_number: str = Field(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9-]+$")
    claim: BillableClaim


class ClaimStatus(DomainModel):
    """One claim's status in a 277 response."""

    claim_number: str | None = None
    payer_claim_number: str | None = None
    status_codes: list[StatusCode] = Field(default_factory=list)
    effective_date: date | None = None
    total_charge: Money | None = None
    paid_amount: Money | None = None
    paid_date: date | None = None
    check_number: str | None = None


class ClaimStatusResponse(DomainModel):
    """A decoded 277: the statuses of the claims asked about."""

    trace_number: str | None = None
    payer_name: str | None = None
    claims: list[ClaimStatus] = Field(default_factory=list)
