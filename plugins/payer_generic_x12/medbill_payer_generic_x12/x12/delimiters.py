"""The four X12 delimiters, read from the fixed-width ISA segment (or guessed for a bare ST)."""

from __future__ import annotations

from dataclasses import dataclass

from medbill_payer_generic_x12.x12.errors import X12SyntaxError

#: The ISA segment is fixed width: 106 characters including its terminator.
ISA_LENGTH = 106
_ELEMENT_AT = 3
_REPETITION_AT = 82
_COMPONENT_AT = 104
_TERMINATOR_AT = 105
#: End offsets (exclusive) of the 16 ISA elements, so we can check the fixed layout.
_ISA_ELEMENT_ENDS = (6, 17, 20, 31, 34, 50, 53, 69, 76, 81, 83, 89, 99, 101, 103, 105)
_FORBIDDEN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 ")


@dataclass(frozen=True, slots=True)
class Delimiters:
    """Element, repetition, component separators and the segment terminator."""

    element: str = "*"
    repetition: str = "^"
    component: str = ":"
    segment: str = "~"

    def __post_init__(self) -> None:
        chars = (self.element, self.repetition, self.component, self.segment)
        if any(len(c) != 1 for c in chars):
            raise ValueError("each delimiter is exactly one character")
        if len(set(chars)) != 4:
            raise ValueError("the four delimiters must differ")
        if any(c in _FORBIDDEN for c in chars):
            raise ValueError("delimiters cannot be letters, digits or spaces")

    @property
    def all(self) -> str:
        return self.element + self.repetition + self.component + self.segment


DEFAULT_DELIMITERS = Delimiters()


#: What may precede the ISA: blank lines, and a UTF-8 byte-order mark (common in files from
#: Windows tools), either decoded (U+FEFF) or as its three bytes read as latin-1 (the CLI and
#: the file reader decode latin-1, which never fails on a stray byte).
_UTF8_BOM_AS_LATIN1 = "\xef\xbb\xbf"
PREAMBLE_CHARACTERS = "\ufeff \t\r\n"


def strip_preamble(text: str) -> str:
    """``text`` without what may precede its ISA (byte-order mark, blank lines)."""
    text = text.lstrip(PREAMBLE_CHARACTERS)
    if text.startswith(_UTF8_BOM_AS_LATIN1):
        text = text[len(_UTF8_BOM_AS_LATIN1):].lstrip(PREAMBLE_CHARACTERS)
    return text


_strip_preamble = strip_preamble


def repetition_undeclared(head: str) -> bool:
    """True when ISA11 holds a letter or digit (``U``, the 4010 interchange standards
    identifier, kept by translators upgraded to 5010) instead of a repetition separator.
    The interchange is read as having none (pyx12 does the same)."""
    head = strip_preamble(head)
    return len(head) > _REPETITION_AT and head.startswith("ISA") and (
        head[_REPETITION_AT] in _FORBIDDEN)


def delimiters_from_isa(head: str) -> Delimiters:
    """Read the delimiters from the start of an interchange (at least 106 characters of it).

    :raises X12SyntaxError: when ``head`` does not start with a well-formed ISA segment.
    """
    head = _strip_preamble(head)
    if not head.startswith("ISA"):
        raise X12SyntaxError("an interchange starting with ISA", segment_index=1,
                             ack_code="024")
    if len(head) < ISA_LENGTH:
        raise X12SyntaxError("a complete 106-character ISA segment (the document is truncated)",
                             segment_index=1, segment_id="ISA", ack_code="024")
    element = head[_ELEMENT_AT]
    for position, end in enumerate(_ISA_ELEMENT_ENDS[:-1], start=1):
        if head[end] != element:
            # ISA elements are fixed width; a separator anywhere else means a padding error.
            raise X12SyntaxError(
                f"the element separator at column {end + 1} (ISA elements are fixed width)",
                segment_index=1, segment_id="ISA", element=position, ack_code="024")
    component, terminator = head[_COMPONENT_AT], head[_TERMINATOR_AT]
    repetition = head[_REPETITION_AT]
    if repetition in _FORBIDDEN:
        # ISA11 = "U" (4010's standards identifier) in a 5010 interchange: no repetition
        # separator is declared. Any character the other three delimiters leave free stands
        # in; only repeated elements (271 EB03) would split on it.
        repetition = next(c for c in "^{}!|" if c not in (element, component, terminator))
    checks: tuple[tuple[int | None, str], ...] = ((16, component), (None, terminator))
    for isa_element, char in checks:
        if char in _FORBIDDEN:
            what = ("ISA16 component separator" if isa_element == 16 else
                    "a segment terminator after ISA16")
            raise X12SyntaxError(f"{what} that is not a letter, digit or space",
                                 segment_index=1, segment_id="ISA", element=isa_element,
                                 ack_code="026")
    try:
        return Delimiters(element=element, repetition=repetition, component=component,
                          segment=terminator)
    except ValueError:
        raise X12SyntaxError("four distinct delimiters (ISA01 element separator, ISA11 "
                             "repetition, ISA16 component separator, segment terminator)",
                             segment_index=1, segment_id="ISA", ack_code="026") from None


def detect_delimiters(text: str) -> Delimiters:
    """Delimiters of ``text``: from its ISA, or guessed for a bare ``ST...SE`` transaction.

    Some payers' sample files (and some portals' downloads) carry one transaction set without
    its envelope. The element separator then follows ``ST``; the terminator is the first
    character after the ST segment's alphanumeric elements; component and repetition take the
    5010 defaults unless the terminator collides with them.
    """
    text = _strip_preamble(text)
    if text.startswith("ISA"):
        return delimiters_from_isa(text)
    if not text.startswith("ST") or len(text) < 4:
        raise X12SyntaxError("an interchange starting with ISA (or a transaction set starting "
                             "with ST)", segment_index=1, ack_code="024")
    element = text[2]
    if element.isalnum() or element.isspace():
        raise X12SyntaxError("an element separator after ST", segment_index=1,
                             segment_id="ST")
    for char in text[3:200]:
        if not (char.isalnum() or char == element):
            segment = char
            break
    else:
        raise X12SyntaxError("a segment terminator after the ST segment", segment_index=1,
                             segment_id="ST")
    component = ":" if segment != ":" and element != ":" else ">"
    repetition = "^" if segment != "^" and element != "^" else "{"
    try:
        return Delimiters(element=element, repetition=repetition, component=component,
                          segment=segment)
    except ValueError:
        raise X12SyntaxError("distinct delimiters", segment_index=1, segment_id="ST") from None
