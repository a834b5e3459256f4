"""Claim edit findings: what the scrubber reports about a claim."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from medbill_core.domain.base import DomainModel


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

    @property
    def blocks_submission(self) -> bool:
        return self.severity is Severity.ERROR
