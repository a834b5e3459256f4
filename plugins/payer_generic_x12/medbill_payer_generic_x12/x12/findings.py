"""Findings: what a decoder noticed in a structurally sound document, with where it is.

Structure and business rules are kept apart. A document whose structure is sound (envelopes,
loops, required segments, element forms) always decodes into its objects; what breaks a
*business* rule (an NPI whose check digit is wrong, an ICD-9 qualifier in a 5010 claim, a code
not valid on the date of service, characters outside the X12 character sets, a missing address,
an 835 whose payment does not balance) becomes a :class:`Finding` next to the objects. A caller
that wants such documents refused (``medbill x12 parse --strict``, the adapter's ``strict``
flag) turns the findings into :class:`X12FindingsError`.

Structural problems stay :class:`~medbill_payer_generic_x12.x12.errors.X12Error` raised at the
first one. Like errors, findings name positions and roles, never the values (which may be PHI).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from medbill_core.api import DocumentKind
from medbill_payer_generic_x12.x12.errors import (
    X12Error,
    X12ValueError,
    describe_claim,
    describe_position,
)


class FindingSeverity(StrEnum):
    """``error``: a rule the receiver of the document would refuse it for; ``warning``: worth
    knowing (a habit of old translators the reader tolerates)."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Finding:
    """One positioned finding.

    :ivar segment_index: 1-based index of the segment in the document (ISA = 1), when known.
    :ivar segment_id: the segment's ID (``NM1``).
    :ivar element: 1-based element position within the segment.
    :ivar message: what rule is broken, in words, without data values.
    :ivar claim_number: the claim it concerns (a patient control number is not PHI), if any.
    """

    message: str
    segment_index: int | None = None
    segment_id: str | None = None
    element: int | None = None
    component: int | None = None
    severity: FindingSeverity = FindingSeverity.ERROR
    claim_number: str | None = None

    @property
    def position(self) -> str:
        return describe_position(self.segment_index, self.segment_id, self.element,
                                 self.component)

    def __str__(self) -> str:
        where = self.position
        if self.claim_number:
            where = f"{describe_claim(self.claim_number)}, {where}"
        return f"{self.severity.value}: {where}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"severity": self.severity.value, "segment_index": self.segment_index,
                "segment_id": self.segment_id, "element": self.element,
                "component": self.component, "claim_number": self.claim_number,
                "message": self.message, "text": str(self)}

    @classmethod
    def from_error(cls, error: X12Error,
                   severity: FindingSeverity = FindingSeverity.ERROR) -> Finding:
        """A problem a lenient read skipped past, kept as a finding."""
        return cls(error.expected, segment_index=error.segment_index,
                   segment_id=error.segment_id, element=error.element,
                   component=error.component, severity=severity)


@dataclass(slots=True)
class DecodeResult:
    """A decoded document: its kind, its objects (one per transaction set, or per claim for an
    837) and the findings about them."""

    kind: DocumentKind
    objects: list[Any]
    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is FindingSeverity.ERROR]

    def refuse_findings(self) -> None:
        """Strict reading: raise :class:`X12FindingsError` when any finding is an error."""
        errors = self.errors
        if errors:
            raise X12FindingsError(errors)


class X12FindingsError(X12ValueError):
    """A structurally sound document refused for its findings (strict reading): an
    :class:`X12ValueError`, as values breaking rules are what findings are about.

    ``findings`` holds every one; the message names the first and how many there are.
    """

    def __init__(self, findings: Sequence[Finding]) -> None:
        first = findings[0]
        more = f" (and {len(findings) - 1} more finding(s))" if len(findings) > 1 else ""
        super().__init__(f"{first.message}{more}", segment_index=first.segment_index,
                         segment_id=first.segment_id, element=first.element,
                         component=first.component)
        self.findings = list(findings)


__all__ = ["DecodeResult", "Finding", "FindingSeverity", "X12FindingsError"]
