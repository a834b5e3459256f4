"""The engine's own checks of a document: structure (strict decoding) and money balancing.

pyx12 does not check balancing and has no maps for 270/271/276/277; these findings fill that gap.
Messages name positions, claim numbers and amounts' roles, never patient data.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from medbill_core.api import DocumentKind, Remittance
from medbill_payer_generic_x12.codec import decode_document, read_document
from medbill_payer_generic_x12.document_findings import CHARSET_MESSAGE, charset_findings
from medbill_payer_generic_x12.x12.errors import X12Error, describe_claim, visible


@dataclass(frozen=True, slots=True)
class Finding:
    severity: str  # "error" or "warning"
    message: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.message}"


def validate_document(text: str) -> tuple[DocumentKind | None, list[Finding]]:
    """Structural findings (every defect a lenient read skips, or the first fatal one) and, for
    an 835, balancing findings."""
    findings: list[Finding] = []
    try:
        result = read_document(text)
        kind, objects = result.kind, result.objects
        # business-rule findings (837P NPIs, codes ...); charset and balancing come below
        findings += [Finding(f.severity.value, _located(f)) for f in result.findings
                     if f.message != CHARSET_MESSAGE and f.segment_id not in ("BPR", "CLP")]
    except X12Error as strict_error:
        findings.append(Finding("error", str(strict_error)))
        try:
            kind, objects = _lenient(text, findings, strict_error)
        except X12Error:
            return None, findings
    findings += _charset_findings(text)
    for index, item in enumerate(objects, start=1):
        if isinstance(item, Remittance):
            findings += _balance_835(index, item)
    return kind, findings


def _charset_findings(text: str) -> list[Finding]:
    """An error per element holding characters outside the X12 basic and extended character
    sets (found by :func:`~medbill_payer_generic_x12.document_findings.charset_findings`),
    named by segment number, tag and element position, never by the value."""
    found = []
    for finding in charset_findings(text):
        if finding.segment_index is None:  # the count of those beyond the first ones
            found.append(Finding("error", f"... and {finding.message}"))
            continue
        tag = finding.segment_id or ""
        found.append(Finding("error", f"segment {finding.segment_index} ({tag}) element "
                                      f"{tag}{finding.element or 0:02d}: {finding.message}"))
    return found


def _located(finding: Any) -> str:
    """A positioned finding as validate words it (severity apart)."""
    text = str(finding)
    return text.split(": ", 1)[1] if ": " in text else text


def _lenient(text: str, findings: list[Finding], first: X12Error) -> tuple[DocumentKind, Any]:
    from medbill_payer_generic_x12.codec import detect_kind
    from medbill_payer_generic_x12.transactions.remittance_835 import decode_835

    kind = detect_kind(text)
    if kind is DocumentKind.REMITTANCE_835:
        warnings: list[X12Error] = []
        objects = decode_835(text, strict=False, warnings=warnings)
        findings += [Finding("error", str(w)) for w in warnings if str(w) != str(first)]
        return kind, objects
    return decode_document(text, strict=False)


def _balance_835(index: int, remittance: Remittance) -> list[Finding]:
    findings = []
    where = f"835 transaction {index} (trace {visible(remittance.trace_number)})"
    difference = remittance.balance_difference()
    if difference != 0:
        findings.append(Finding("error", (
            f"{where}: BPR02 {remittance.payment_amount} is not claim payments "
            f"{remittance.claims_paid} minus provider adjustments {remittance.provider_adjusted} "
            f"(off by {difference})")))
    for claim in remittance.claims:
        if not claim.is_balanced():
            findings.append(Finding("error", (
                f"{where}, {describe_claim(claim.claim_number)}: charge {claim.charge} - paid "
                f"{claim.paid} = {claim.charge - claim.paid}, but adjustments total "
                f"{claim.adjusted}")))
        for line, service in enumerate(claim.services, start=1):
            if service.adjustments and not service.is_balanced():
                gap: Decimal = service.charge - service.paid - service.adjusted
                findings.append(Finding("warning", (
                    f"{where}, {describe_claim(claim.claim_number)} line {line}: line charge - "
                    f"paid - adjustments = {gap}")))
    return findings


__all__ = ["Finding", "validate_document"]
