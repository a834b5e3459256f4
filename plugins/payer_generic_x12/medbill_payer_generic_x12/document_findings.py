"""Findings about a whole document that no single decoder owns: characters outside the X12
character sets, an ISA11 that declares no repetition separator, and 835 money balancing.

Each is positioned (segment number, ID, element) and names roles and amounts of payments,
never patient data.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from medbill_core.api import Remittance
from medbill_payer_generic_x12.x12.charset import outside_pattern
from medbill_payer_generic_x12.x12.delimiters import (
    detect_delimiters,
    repetition_undeclared,
    strip_preamble,
)
from medbill_payer_generic_x12.x12.errors import X12Error
from medbill_payer_generic_x12.x12.findings import Finding, FindingSeverity

#: Elements with characters outside the X12 sets reported one by one; beyond, only counted.
MAX_CHARSET_FINDINGS = 20
CHARSET_MESSAGE = ("characters outside the X12 basic and extended character sets (e.g. accented "
                   "letters; transliterate them)")


def charset_findings(text: str) -> list[Finding]:
    """A finding per element holding characters outside the X12 basic and extended character
    sets (see :mod:`~medbill_payer_generic_x12.x12.charset`), and one counting those beyond
    :data:`MAX_CHARSET_FINDINGS`."""
    try:
        delimiters = detect_delimiters(text)
    except X12Error:
        return []  # the structural error already says the document is unreadable
    outside = outside_pattern(delimiters.all + "\r\n")
    body = strip_preamble(text)
    if outside.search(body) is None:
        return []  # the common case, one C-level scan of the document
    found: list[Finding] = []
    count = 0
    for number, tag, position in _outside_elements(body, delimiters.segment, delimiters.element,
                                                   outside):
        count += 1
        if count <= MAX_CHARSET_FINDINGS:
            found.append(Finding(CHARSET_MESSAGE, segment_index=number, segment_id=tag,
                                 element=position))
    if count > MAX_CHARSET_FINDINGS:
        found.append(Finding(f"{count - MAX_CHARSET_FINDINGS} more elements with characters "
                             "outside the X12 character sets"))
    return found


def _outside_elements(body: str, terminator: str, separator: str,
                      outside: Any) -> Iterator[tuple[int, str, int]]:
    for number, segment in enumerate(body.split(terminator), start=1):
        if outside.search(segment) is None:
            continue
        elements = segment.strip(" \t\r\n").split(separator)
        tag = elements[0]
        for position, value in enumerate(elements[1:], start=1):
            if outside.search(value) is not None:
                yield number, tag, position


def envelope_findings(text: str) -> list[Finding]:
    """A warning when ISA11 declares no repetition separator (``U`` from 4010 habits)."""
    if repetition_undeclared(text[:200]):
        return [Finding("a repetition separator (ISA11 holds a letter, as 4010 interchanges "
                        "did; read as declaring none)", segment_index=1, segment_id="ISA",
                        element=11, severity=FindingSeverity.WARNING)]
    return []


def balance_findings(text: str, remittances: Sequence[Remittance]) -> list[Finding]:
    """835 balancing (X221A1 section 1.10.2): per transaction set, BPR02 equals the claims'
    CLP04 total minus the PLB adjustments; per claim, charge - paid = its adjustments."""
    findings: list[Finding] = []
    bpr_indexes: list[int] | None = None
    for number, remittance in enumerate(remittances, start=1):
        difference = remittance.balance_difference()
        if difference != 0:
            if bpr_indexes is None:
                bpr_indexes = _indexes_of(text, "BPR")
            index = bpr_indexes[number - 1] if number <= len(bpr_indexes) else None
            findings.append(Finding(
                f"BPR02 total payment {remittance.payment_amount} equal to the claim payments "
                f"(CLP04) {remittance.claims_paid} minus the provider adjustments (PLB) "
                f"{remittance.provider_adjusted} (off by {difference}; transaction set "
                f"{number})", segment_index=index, segment_id="BPR", element=2))
        for claim in remittance.claims:
            if not claim.is_balanced():
                findings.append(Finding(
                    f"claim adjustments (CAS) equal to charge {claim.charge} minus payment "
                    f"{claim.paid} (they total {claim.adjusted}; transaction set {number})",
                    segment_id="CLP", claim_number=claim.claim_number))
    return findings


def _indexes_of(text: str, tag: str) -> list[int]:
    """Document indexes (ISA = 1) of the segments with ID ``tag``."""
    try:
        delimiters = detect_delimiters(text)
    except X12Error:
        return []
    body = strip_preamble(text)
    prefix = tag + delimiters.element
    return [number for number, segment in enumerate(body.split(delimiters.segment), start=1)
            if segment.lstrip(" \t\r\n").startswith(prefix)]


__all__ = ["balance_findings", "charset_findings", "envelope_findings"]
