"""X12 errors: every problem names *where* (segment index, segment ID, element position) and
*what was expected*, never the data itself (element values may be PHI).

Decoding problems are :class:`X12Error` (a :class:`~medbill_core.errors.DecodeError`);
encoding problems are :class:`X12EncodeError` (a :class:`~medbill_core.errors.SubmissionError`).
Where an X12 acknowledgment code applies (TA1 note code, 999 IK3/IK4 error code) it is carried in
``ack_code`` so a caller can build a 999/TA1 from the error.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from medbill_core.api import DecodeError, SubmissionError

if TYPE_CHECKING:
    from pydantic import ValidationError

#: A segment ID as X12 writes it (``CLP``, ``N1``): only such an ID is named in a message.
_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{1,2}")


def describe_position(segment_index: int | None, segment_id: str | None,
                      element: int | None, component: int | None = None) -> str:
    """``segment 12 (CLP), element CLP03`` — a position in words, without data."""
    if segment_id is not None and not _SEGMENT_ID.fullmatch(segment_id):
        # what stood where an ID belongs is data (a control character, a terminal escape):
        # the position says enough
        segment_id = None
    parts: list[str] = []
    if segment_index is not None:
        parts.append(f"segment {segment_index}" + (f" ({segment_id})" if segment_id else ""))
    elif segment_id:
        parts.append(f"segment {segment_id}")
    if element is not None:
        name = f"{segment_id or ''}{element:02d}"
        if component is not None:
            name += f"-{component}"
        parts.append(f"element {name}")
    return ", ".join(parts) or "document"


def visible(text: str) -> str:
    """``text`` as read from a file, with each character a terminal would not show as itself
    (a control character from a stray byte, a right-to-left override) written as its escape
    (``\\x80``), so a message quoting it stays one visible line."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def describe_claim(claim_number: str) -> str:
    """``claim 1234-A``: the claim number as read, made :func:`visible`."""
    return f"claim {visible(claim_number)}"


class _Positioned:
    """Mixin holding the position fields shared by decode and encode errors."""

    segment_index: int | None
    segment_id: str | None
    element: int | None
    component: int | None
    expected: str
    ack_code: str | None

    def _init_position(self, expected: str, segment_index: int | None, segment_id: str | None,
                       element: int | None, component: int | None,
                       ack_code: str | None) -> str:
        self.segment_index = segment_index
        self.segment_id = segment_id
        self.element = element
        self.component = component
        self.expected = expected
        self.ack_code = ack_code
        return f"{describe_position(segment_index, segment_id, element, component)}: {expected}"


class X12Error(_Positioned, DecodeError):
    """A received X12 document could not be read.

    :param expected: what the reader expected at this position, in words (no data values).
    :param segment_index: 1-based index of the segment in the document (ISA = 1).
    :param segment_id: the segment's ID (``CLP``), when known.
    :param element: 1-based element position within the segment.
    :param component: 1-based component position within a composite element.
    :param ack_code: the matching TA1 note code / 999 error code, when one applies.
    """

    #: set by a decoder on a problem it notes but never refuses for (data kept for
    #: information only, such as a payer's address in an 835): a warning, not an error
    informational: bool = False

    def __init__(self, expected: str, *, segment_index: int | None = None,
                 segment_id: str | None = None, element: int | None = None,
                 component: int | None = None, ack_code: str | None = None) -> None:
        super().__init__(self._init_position(expected, segment_index, segment_id, element,
                                             component, ack_code))


class X12SyntaxError(X12Error):
    """The text is not well-formed X12 (bad ISA, delimiters, truncated segment)."""


class X12EnvelopeError(X12Error):
    """ISA/GS/ST envelopes do not match their trailers (counts, control numbers, nesting)."""


class X12StructureError(X12Error):
    """A transaction set lacks a segment or element its implementation guide requires."""


class X12ValueError(X12Error):
    """An element holds a value of the wrong form (a date, an amount, a code)."""


class X12UnsupportedError(X12Error):
    """The document is X12 but a transaction set or version this engine does not read."""


class X12EncodeError(_Positioned, SubmissionError):
    """Domain data cannot be written as X12 (a delimiter in the data, a missing required value)."""

    def __init__(self, expected: str, *, segment_index: int | None = None,
                 segment_id: str | None = None, element: int | None = None,
                 component: int | None = None, claim_number: str | None = None) -> None:
        message = self._init_position(expected, segment_index, segment_id, element, component,
                                      None)
        if claim_number:
            message = f"{describe_claim(claim_number)}: {message}"
        super().__init__(message, claim_number=claim_number)


class X12DelimiterInData(X12EncodeError):
    """A data value contains one of the interchange's delimiters."""


def refused_fields(error: ValidationError) -> str:
    """The fields a model refused, dotted (``services.0.paid``), for a positioned X12 error
    about a value no element check caught: their names only, never the input (PHI)."""
    return ", ".join(".".join(str(part) for part in item["loc"]) or "record"
                     for item in error.errors(include_input=False))
