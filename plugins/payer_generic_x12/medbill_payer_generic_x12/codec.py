"""One entry point for any supported X12 document: detect what it is, decode it.

Library use::

    from medbill_payer_generic_x12.codec import decode_document, read_document
    kind, objects = decode_document(text)      # ("835", [Remittance, ...])
    result = read_document(text)               # objects and positioned findings
    result.kind, result.objects, result.findings
    read_document(text, strict=True)           # findings refused (X12FindingsError)

Structure and business rules are apart (see :mod:`~medbill_payer_generic_x12.x12.findings`):
a structural defect raises a positioned :class:`X12Error`; a broken business rule is a finding.
``lenient`` reads past structural defects real payer files have (a garbled amount or one
with fractions of a cent, a wrong trailer count), each kept as a finding; it never invents
a value in their place (nor rounds one).
"""

from __future__ import annotations

from typing import Any

from medbill_core.api import DocumentKind, Remittance
from medbill_payer_generic_x12.document_findings import (
    balance_findings,
    charset_findings,
    envelope_findings,
)
from medbill_payer_generic_x12.transactions.acknowledgments import (
    decode_277ca,
    decode_999,
    decode_ta1,
)
from medbill_payer_generic_x12.transactions.claim_837i import decode_837i_findings
from medbill_payer_generic_x12.transactions.claim_837p import decode_837p_findings
from medbill_payer_generic_x12.transactions.claim_status import decode_277
from medbill_payer_generic_x12.transactions.claim_status_inquiry import decode_276
from medbill_payer_generic_x12.transactions.eligibility import decode_271
from medbill_payer_generic_x12.transactions.eligibility_inquiry import decode_270
from medbill_payer_generic_x12.transactions.remittance_835 import decode_835
from medbill_payer_generic_x12.x12.errors import (
    X12Error,
    X12SyntaxError,
    X12UnsupportedError,
)
from medbill_payer_generic_x12.x12.findings import (
    DecodeResult,
    Finding,
    FindingSeverity,
    X12FindingsError,
)
from medbill_payer_generic_x12.x12.reader import X12Reader, read_segments, valid_segment_id


def detect_kind(text: str) -> DocumentKind:
    """What the document carries, from its first ST (and GS08), or TA1 for a TA1 interchange.

    :raises X12Error: when the text is not X12 or holds a transaction set this engine lacks.
    """
    delimiters, segments = read_segments(text[:4096] if len(text) > 4096 else text)
    _ = delimiters
    version = ""
    saw_ta1 = False
    for index, segment in enumerate(segments, start=1):
        tag = segment[0]
        if not valid_segment_id(tag):
            # what follows the ISA is split with the delimiters the ISA declares: a segment
            # written with others (or garbled) is named here, not blamed on the ISA
            raise X12SyntaxError("a segment ID of 2 or 3 upper-case letters or digits, then the "
                                 "element separator ISA declares", segment_index=index,
                                 ack_code="1")
        if tag == "GS" and len(segment) > 8:
            version = segment[8]
        elif tag == "TA1":
            saw_ta1 = True
        elif tag == "ST":
            set_id = segment[1] if len(segment) > 1 else ""
            reference = segment[3] if len(segment) > 3 and segment[3] else version
            kind = _kind_of(set_id, reference)
            if kind is None:
                raise X12UnsupportedError(
                    "a transaction set this engine reads (837P, 837I, 835, 999, 277CA, 270, "
                    "271, 276, 277)",
                    segment_index=index, segment_id="ST", element=1)
            return kind
    if saw_ta1:
        return DocumentKind.INTERCHANGE_ACK_TA1
    raise X12UnsupportedError("a transaction set (ST) or a TA1",
                              segment_index=len(segments) + 1 if segments else 1)


def _kind_of(set_id: str, reference: str) -> DocumentKind | None:
    if set_id == "837" and reference.startswith("005010X222"):
        return DocumentKind.CLAIM_837P
    if set_id == "837" and reference.startswith("005010X223"):
        return DocumentKind.CLAIM_837I
    if set_id == "277" and reference.startswith("005010X214"):
        return DocumentKind.CLAIM_ACK_277CA
    return {"835": DocumentKind.REMITTANCE_835, "999": DocumentKind.FUNCTIONAL_ACK_999,
            "271": DocumentKind.ELIGIBILITY_271, "277": DocumentKind.STATUS_277,
            "270": DocumentKind.ELIGIBILITY_270, "276": DocumentKind.STATUS_276}.get(set_id)


_DECODERS: dict[DocumentKind, Any] = {
    DocumentKind.REMITTANCE_835: lambda text, strict: decode_835(text, strict=strict),
    DocumentKind.FUNCTIONAL_ACK_999: lambda text, strict: decode_999(text, strict=strict),
    DocumentKind.CLAIM_ACK_277CA: lambda text, strict: decode_277ca(text, strict=strict),
    DocumentKind.ELIGIBILITY_271: lambda text, strict: decode_271(text, strict=strict),
    DocumentKind.STATUS_277: lambda text, strict: decode_277(text, strict=strict),
    DocumentKind.INTERCHANGE_ACK_TA1: lambda text, strict: decode_ta1(text, strict=strict),
    DocumentKind.ELIGIBILITY_270: lambda text, strict: decode_270(text, strict=strict),
    DocumentKind.STATUS_276: lambda text, strict: decode_276(text, strict=strict),
}
#: Decoders that return their own findings: ``(text, lenient) -> (objects, findings)``.
_FINDING_DECODERS: dict[DocumentKind, Any] = {
    DocumentKind.CLAIM_837P: lambda text, lenient: decode_837p_findings(
        text, check_codes=True, lenient=lenient),
    DocumentKind.CLAIM_837I: lambda text, lenient: decode_837i_findings(
        text, check_codes=True, lenient=lenient),
    DocumentKind.REMITTANCE_835: lambda text, lenient: _decode_835(text, lenient),
}


def _decode_835(text: str, lenient: bool) -> tuple[list[Remittance], list[Finding]]:
    warnings: list[X12Error] = []
    remittances = decode_835(text, strict=not lenient, warnings=warnings)
    findings = [Finding.from_error(warning, FindingSeverity.WARNING
                                   if getattr(warning, "informational", False)
                                   else FindingSeverity.ERROR) for warning in warnings]
    return remittances, findings + balance_findings(text, remittances)


def _skipped_envelope_problems(text: str) -> list[Finding]:
    """The trailer mismatches a lenient read of a small document (999, 277CA, 271, 277, TA1)
    read past: its decoders do not report them, a second pass over the envelopes does."""
    skipped: list[X12Error] = []
    for transaction in X12Reader(text, strict=False, warnings=skipped).transactions():
        transaction.drain()
    return [Finding.from_error(error) for error in skipped]


def read_document(text: str, *, strict: bool = False, lenient: bool = False) -> DecodeResult:
    """The document's objects and findings.

    :param strict: refuse a document with any error finding (:class:`X12FindingsError`, which
        carries them all).
    :param lenient: read past structural defects payers' files are known to have, each kept as
        an error finding (skipping the element or record it spoils, never inventing a value).
    :raises X12Error: malformed or unsupported input, with its position.
    """
    kind = detect_kind(text)
    findings = envelope_findings(text)
    with_findings = _FINDING_DECODERS.get(kind)
    if with_findings is not None:
        objects, own = with_findings(text, lenient)
        findings += own
    else:
        decoder = _DECODERS.get(kind)
        if decoder is None:
            raise X12UnsupportedError(f"a response document (this engine writes but does not "
                                      f"read {kind.value} requests)", segment_index=1)
        objects = decoder(text, not lenient)
        if lenient:
            findings += _skipped_envelope_problems(text)
    findings += charset_findings(text)
    result = DecodeResult(kind, objects, findings)
    if strict:
        result.refuse_findings()
    return result


def decode_document(text: str, *, strict: bool = True) -> tuple[DocumentKind, list[Any]]:
    """``(kind, domain objects)``: one object per transaction set (per TA1 for a TA1; per claim
    for an 837). Findings are left out (:func:`read_document` gives them).

    :param strict: ``False`` reads leniently (see :func:`read_document`).
    :raises X12Error: malformed or unsupported input, with its position.
    """
    result = read_document(text, lenient=not strict)
    return result.kind, result.objects


__all__ = ["DecodeResult", "Finding", "X12Error", "X12FindingsError", "decode_document",
           "detect_kind", "read_document"]
