"""One entry point for any supported X12 document: detect what it is, decode it.

Library use::

    from medbill_payer_generic_x12.codec import decode_document
    kind, objects = decode_document(text)      # ("835", [Remittance, ...])
"""

from __future__ import annotations

from typing import Any

from medbill_core.api import DocumentKind
from medbill_payer_generic_x12.transactions.acknowledgments import (
    decode_277ca,
    decode_999,
    decode_ta1,
)
from medbill_payer_generic_x12.transactions.claim_837i import decode_837i
from medbill_payer_generic_x12.transactions.claim_837p import decode_837p
from medbill_payer_generic_x12.transactions.claim_status import decode_277
from medbill_payer_generic_x12.transactions.claim_status_inquiry import decode_276
from medbill_payer_generic_x12.transactions.eligibility import decode_271
from medbill_payer_generic_x12.transactions.eligibility_inquiry import decode_270
from medbill_payer_generic_x12.transactions.remittance_835 import decode_835
from medbill_payer_generic_x12.x12.errors import X12Error, X12UnsupportedError
from medbill_payer_generic_x12.x12.reader import read_segments


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
    raise X12UnsupportedError("a transaction set (ST) or a TA1", segment_index=1)


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
    DocumentKind.CLAIM_837P: lambda text, strict: decode_837p(text),
    DocumentKind.CLAIM_837I: lambda text, strict: decode_837i(text),
    DocumentKind.REMITTANCE_835: lambda text, strict: decode_835(text, strict=strict),
    DocumentKind.FUNCTIONAL_ACK_999: lambda text, strict: decode_999(text, strict=strict),
    DocumentKind.CLAIM_ACK_277CA: lambda text, strict: decode_277ca(text, strict=strict),
    DocumentKind.ELIGIBILITY_271: lambda text, strict: decode_271(text, strict=strict),
    DocumentKind.STATUS_277: lambda text, strict: decode_277(text, strict=strict),
    DocumentKind.INTERCHANGE_ACK_TA1: lambda text, strict: decode_ta1(text, strict=strict),
    DocumentKind.ELIGIBILITY_270: lambda text, strict: decode_270(text, strict=strict),
    DocumentKind.STATUS_276: lambda text, strict: decode_276(text, strict=strict),
}


def decode_document(text: str, *, strict: bool = True) -> tuple[DocumentKind, list[Any]]:
    """``(kind, domain objects)``: one object per transaction set (per TA1 for a TA1).

    :raises X12Error: malformed or unsupported input, with its position.
    """
    kind = detect_kind(text)
    decoder = _DECODERS.get(kind)
    if decoder is None:
        raise X12UnsupportedError(f"a response document (this engine writes but does not read "
                                  f"{kind.value} requests)", segment_index=1)
    return kind, decoder(text, strict)


__all__ = ["X12Error", "decode_document", "detect_kind"]
