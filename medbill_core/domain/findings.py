"""Claim edit findings: what the scrubber reports about a claim."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from medbill_core.domain.base import DomainModel
from medbill_core.money import Money


class Severity(StrEnum):
    """``error`` blocks submission; ``warning`` is shown but does not."""

    ERROR = "error"
    WARNING = "warning"


class ClaimFinding(DomainModel):
    """One problem a claim edit found.

    ``message`` and ``fix_hint`` must name fields and codes, never PHI values.
    """

    severity: Severity
    code: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")
    message: str = Field(min_length=1)
    claim_number: str
    line_number: int | None = None
    field: str | None = None
    fix_hint: str | None = None
    source: str = "core"
    #: the code-set release the finding was checked against ("HCPCS Level II 2026 Q3"), so a
    #: denied claim can be traced to the table that passed it (None: not a code-set finding)
    release: str | None = None

    @property
    def blocks_submission(self) -> bool:
        return self.severity is Severity.ERROR


class PaymentFinding(ClaimFinding):
    """A finding about a payer's payment of a claim (an adapter's remittance finding, e.g. an
    underpayment), with the amounts a biller needs to chase it (None: the adapter did not say).

    Stored while the 835 is posted and listed by ``medbill ar followup``.
    """

    #: what the payer should have allowed (e.g. the fee schedule amount for the line)
    expected_amount: Money | None = None
    #: what the payer allowed
    allowed_amount: Money | None = None
    #: what the payer paid (on the line, when ``line_number`` is set)
    paid_amount: Money | None = None
