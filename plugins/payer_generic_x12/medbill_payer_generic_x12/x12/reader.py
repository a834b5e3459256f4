"""Streaming X12 reader: text -> segments -> interchanges -> functional groups -> transactions.

Speed matters (an 835 with thousands of claims is decoded on the request path), so a segment is a
plain ``list[str]`` from :meth:`str.split` and no object is made per segment. Text is read in
chunks from a file, so a large file is never held whole: memory is bounded by the chunk size and
by what the consumer keeps.

Nesting is expressed with generators over one shared cursor::

    reader = X12Reader.from_text(text)
    for interchange in reader.interchanges():
        for group in interchange.groups():
            for transaction in group.transactions():
                for segment in transaction.segments():   # ST and SE are not yielded
                    ...

Each level checks its trailer (SE/GE/IEA counts and control numbers) when it is reached; a
consumer that stops early is fine: the next level up skips the rest of the child.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from itertools import repeat
from typing import IO

from medbill_payer_generic_x12.x12.delimiters import (
    ISA_LENGTH,
    Delimiters,
    delimiters_from_isa,
    detect_delimiters,
    strip_preamble,
)
from medbill_payer_generic_x12.x12.errors import (
    X12EnvelopeError,
    X12Error,
    X12StructureError,
    X12SyntaxError,
)
from medbill_payer_generic_x12.x12.values import is_digits as _digits

Segment = list[str]

_CHUNK_SIZE = 1 << 20
_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{1,2}")
#: Segment IDs already seen to be well-formed: a set lookup instead of a regex per segment.
_VALID_IDS: set[str] = {
    "ST", "SE", "GS", "GE", "ISA", "IEA", "TA1", "BPR", "TRN", "CUR", "REF", "DTM", "N1", "N2",
    "N3", "N4", "PER", "RDM", "LX", "TS3", "TS2", "CLP", "CAS", "NM1", "MIA", "MOA", "AMT", "QTY",
    "SVC", "LQ", "PLB", "HL", "SBR", "PAT", "CLM", "DTP", "HI", "PRV", "SV1", "BHT", "DMG", "OI",
    "EB", "EQ", "AAA", "MSG", "III", "LS", "LE", "STC", "INS", "HSD", "AK1", "AK2", "AK9", "IK3",
    "IK4", "IK5", "CTX", "PWK", "CN1", "NTE", "K3", "CR1", "CR2", "CRC", "HCP", "SVD", "LIN",
    "CTP", "FRM", "PS1", "MEA", "SV5", "CR3",
}
#: Envelope segments end (or must not appear inside) a transaction set.
_ENVELOPE_IDS = frozenset({"SE", "ST", "GS", "GE", "ISA", "IEA"})


def valid_segment_id(tag: str) -> bool:
    """True for a segment ID of 2 or 3 upper-case letters or digits, a letter first."""
    return tag in _VALID_IDS or _SEGMENT_ID.fullmatch(tag) is not None


def _check_segment_id(tag: str, index: int) -> None:
    if not _SEGMENT_ID.fullmatch(tag):
        raise X12SyntaxError("a segment ID of 2 or 3 upper-case letters or digits",
                             segment_index=index, ack_code="1")
    _VALID_IDS.add(tag)


def _normalise(text: str, delimiters: Delimiters) -> str:
    # Line breaks between segments (or wrapped lines) are not data: X12 text cannot contain them.
    if delimiters.segment == "\n":
        text = text.replace("\r", "") if "\r" in text else text
    elif "\n" in text or "\r" in text:
        text = text.replace("\r", "").replace("\n", "")
    return _unindent(text, delimiters.segment)


#: Per terminator: the terminator followed by spaces or tabs (an indented file).
_INDENTS: dict[str, re.Pattern[str]] = {}


def _unindent(text: str, terminator: str) -> str:
    """Spaces and tabs right after a terminator are layout (a pretty-printed file): a segment
    ID never starts with them. Elsewhere they are data and kept."""
    if terminator + " " not in text and terminator + "\t" not in text:
        return text  # the common case: two C-level scans
    pattern = _INDENTS.get(terminator)
    if pattern is None:
        pattern = _INDENTS[terminator] = re.compile(re.escape(terminator) + "[ \t]+")
    return pattern.sub(terminator, text)


#: C0 control characters and DEL: in neither X12 character set, and never data (a NUL in a
#: patient's name would be stored, and ends a C string in the next program that reads it).
_CONTROL_CHARACTERS = "".join(map(chr, range(0x20))) + "\x7f"


def _control_pattern(delimiters: Delimiters) -> re.Pattern[str]:
    """Control characters other than the interchange's own delimiters (some interchanges
    use control characters as delimiters) and line breaks (handled as layout)."""
    allowed = set(delimiters.all) | {"\r", "\n"}
    refused = "".join(char for char in _CONTROL_CHARACTERS if char not in allowed)
    return re.compile("[" + re.escape(refused) + "]")


def _refuse_control(pieces: list[str], separator: str, pattern: re.Pattern[str],
                    first_index: int) -> Iterator[Segment]:
    """``pieces`` split into segments, raising at the first element that holds a control
    character (``first_index``: the document index of the first piece, ISA = 1)."""
    for index, piece in enumerate(pieces, start=first_index):
        segment = piece.split(separator)
        if pattern.search(piece):
            position = next(p for p, value in enumerate(segment) if pattern.search(value))
            raise X12SyntaxError("text without control characters (such as NUL)",
                                 segment_index=index, segment_id=segment[0][:3] or None,
                                 element=position or None, ack_code="6")
        yield segment


def _split_segments(text: str, delimiters: Delimiters) -> Iterator[Segment]:
    pieces = _normalise(text, delimiters).split(delimiters.segment)
    tail = pieces.pop().strip()
    if tail:
        pieces.append(tail)  # reported as a truncated last segment by whoever reads it
    pattern = _control_pattern(delimiters)
    if any(pattern.search(piece) for piece in pieces):
        return _refuse_control(pieces, delimiters.element, pattern, 1)
    # A C-level iterator: no Python frame resumed per segment.
    return map(str.split, pieces, repeat(delimiters.element))


def _split_stream(stream: IO[str], head: str, delimiters: Delimiters,
                  chunk_size: int) -> Iterator[Segment]:
    terminator = delimiters.segment
    separator = delimiters.element
    pattern = _control_pattern(delimiters)
    remainder = head
    index = 1  # of the next segment (ISA = 1)
    while True:
        chunk = stream.read(chunk_size)
        if not chunk:
            break
        normalised = _normalise(remainder + chunk, delimiters)
        if not remainder:  # the previous chunk ended with a terminator: indentation is layout
            normalised = normalised.lstrip(" \t")
        pieces = normalised.split(terminator)
        remainder = pieces.pop()
        if pattern.search(normalised, 0, len(normalised) - len(remainder)):
            yield from _refuse_control(pieces, separator, pattern, index)
        else:
            for piece in pieces:
                yield piece.split(separator)
        index += len(pieces)
    remainder = _normalise(remainder, delimiters).strip()
    if remainder:
        yield from _refuse_control([remainder], separator, pattern, index)


class _Cursor:
    """The shared position: the segment iterator, one pushed-back segment, the segment index."""

    __slots__ = ("delimiters", "index", "pushed", "raw", "strict", "warnings")

    def __init__(self, raw: Iterator[Segment], delimiters: Delimiters, strict: bool = True,
                 warnings: list[X12Error] | None = None) -> None:
        self.raw = raw
        self.delimiters = delimiters
        self.index = 0  # 1-based index of the last segment taken (ISA = 1)
        self.pushed: Segment | None = None
        self.strict = strict
        self.warnings: list[X12Error] = warnings if warnings is not None else []

    def trailer_problem(self, error: X12Error) -> None:
        """A count or control number mismatch: raised when strict, noted when lenient."""
        if self.strict:
            raise error
        self.warnings.append(error)

    def take(self) -> Segment | None:
        segment: Segment | None
        if self.pushed is not None:
            segment, self.pushed = self.pushed, None
        else:
            segment = next(self.raw, None)
            if segment is None:
                return None
        self.index += 1
        tag = segment[0]
        if tag not in _VALID_IDS:
            _check_segment_id(tag, self.index)
        return segment

    def push_back(self, segment: Segment) -> None:
        self.pushed = segment
        self.index -= 1


def _element(segment: Segment, position: int) -> str:
    return segment[position] if len(segment) > position else ""


def _require(segment: Segment, position: int, index: int, what: str, code: str = "1") -> str:
    value = segment[position].strip() if len(segment) > position else ""
    if not value:
        raise X12StructureError(f"{what} (required)", segment_index=index,
                                segment_id=segment[0], element=position, ack_code=code)
    return value


def _count(segment: Segment, position: int, index: int, what: str) -> int:
    value = _require(segment, position, index, what)
    if not _digits(value):
        raise X12EnvelopeError(f"{what} as a whole number", segment_index=index,
                               segment_id=segment[0], element=position, ack_code="6")
    return int(value)


def parse_date(value: str) -> date | None:
    """CCYYMMDD or YYMMDD (ISA09) to a date; ``None`` for an empty or impossible value."""
    if not _digits(value):  # int() would read " 1", "1_0" and non-ASCII digits
        return None
    try:
        if len(value) == 8:
            return date(int(value[:4]), int(value[4:6]), int(value[6:]))
        if len(value) == 6:
            return date(2000 + int(value[:2]), int(value[2:4]), int(value[4:]))
    except ValueError:
        return None
    return None


def parse_time(value: str) -> time | None:
    if not _digits(value):
        return None
    try:
        if len(value) >= 4:
            return time(int(value[:2]), int(value[2:4]),
                        int(value[4:6]) if len(value) >= 6 else 0)
    except ValueError:
        return None
    return None


@dataclass(slots=True)
class Transaction:
    """One transaction set (ST...SE). Iterate :meth:`segments` once."""

    transaction_set_id: str
    control_number: str
    implementation_reference: str | None
    #: Index of the ST segment in the document (ISA = 1).
    start_index: int
    group: FunctionalGroup | None = None
    #: Position within the transaction of the last segment handed out (ST = 1), as 999 IK302.
    position: int = 1
    _cursor: _Cursor | None = field(default=None, repr=False)
    _iterator: Iterator[Segment] | None = field(default=None, repr=False)
    closed: bool = False

    @property
    def segment_index(self) -> int:
        """Index in the document of the last segment handed out."""
        return self.start_index + self.position - 1

    @property
    def delimiters(self) -> Delimiters:
        assert self._cursor is not None
        return self._cursor.delimiters

    @property
    def version(self) -> str | None:
        """ST03, else GS08: the implementation guide (``005010X221A1``)."""
        if self.implementation_reference:
            return self.implementation_reference
        return self.group.version if self.group else None

    def segments(self) -> Iterator[Segment]:
        """The segments between ST and SE (exclusive); SE's count and control number checked."""
        if self._iterator is None:
            self._iterator = self._iterate()
        return self._iterator

    def drain(self) -> None:
        """Read (and check) the rest of the transaction set without handing it out."""
        for _ in self.segments():
            pass

    def error(self, cls: type[X12Error], expected: str, segment: Segment | None = None,
              element: int | None = None, component: int | None = None,
              ack_code: str | None = None) -> X12Error:
        """An error at the last segment handed out (decoders raise what this returns)."""
        return cls(expected, segment_index=self.segment_index,
                   segment_id=segment[0] if segment else None, element=element,
                   component=component, ack_code=ack_code)

    def _iterate(self) -> Iterator[Segment]:
        cursor = self._cursor
        assert cursor is not None
        position = 1
        valid_ids = _VALID_IDS
        envelope_ids = _ENVELOPE_IDS
        segment: Segment | None = None
        try:
            if cursor.pushed is not None:  # never expected inside a transaction, but be exact
                raise X12EnvelopeError("segments of the transaction set",
                                       segment_index=self.start_index)
            for segment in cursor.raw:
                position += 1
                tag = segment[0]
                if tag not in valid_ids:
                    _check_segment_id(tag, self.start_index + position - 1)
                if tag in envelope_ids:
                    self.position = position
                    if tag == "SE":
                        self._check_trailer(segment, position)
                        return
                    raise X12EnvelopeError(
                        f"SE closing transaction set {self.transaction_set_id} before {tag}",
                        segment_index=self.start_index + position - 1, segment_id=tag,
                        ack_code="2")
                self.position = position
                yield segment
            raise X12SyntaxError(
                f"SE closing transaction set {self.transaction_set_id} (the document is "
                "truncated)", segment_index=self.start_index + position, ack_code="023")
        finally:
            cursor.index = self.start_index + position - 1

    def _check_trailer(self, segment: Segment, position: int) -> None:
        index = self.start_index + position - 1
        cursor = self._cursor
        assert cursor is not None
        count = _count(segment, 1, index, "SE01 number of included segments")
        if count != position:
            cursor.trailer_problem(X12EnvelopeError(
                f"SE01 equal to the number of segments from ST to SE ({position})",
                segment_index=index, segment_id="SE", element=1, ack_code="4"))
        if _element(segment, 2) != self.control_number:
            cursor.trailer_problem(X12EnvelopeError(
                "SE02 equal to ST02 (transaction set control number)", segment_index=index,
                segment_id="SE", element=2, ack_code="3"))
        self.closed = True


@dataclass(slots=True)
class FunctionalGroup:
    """One functional group (GS...GE)."""

    functional_id: str
    sender_id: str
    receiver_id: str
    date: date | None
    time: time | None
    control_number: str
    version: str
    start_index: int
    interchange: Interchange | None = None
    _cursor: _Cursor | None = field(default=None, repr=False)
    #: ``False`` for a bare ``ST...SE`` file without GS/GE.
    enveloped: bool = True
    transaction_count: int = 0
    _iterator: Iterator[Transaction] | None = field(default=None, repr=False)

    def transactions(self) -> Iterator[Transaction]:
        """The group's transaction sets; GE's count and control number checked at the end."""
        if self._iterator is None:
            self._iterator = self._iterate()
        return self._iterator

    def drain(self) -> None:
        for transaction in self.transactions():
            transaction.drain()

    def _iterate(self) -> Iterator[Transaction]:
        cursor = self._cursor
        assert cursor is not None
        while True:
            segment = cursor.take()
            if segment is None:
                if not self.enveloped:
                    return
                raise X12SyntaxError("GE closing the functional group (the document is "
                                     "truncated)", segment_index=cursor.index + 1,
                                     ack_code="023")
            tag = segment[0]
            if tag == "ST":
                transaction = self._open(segment, cursor)
                yield transaction
                transaction.drain()
                continue
            if tag == "GE" and self.enveloped:
                self._check_trailer(segment, cursor.index)
                return
            raise X12EnvelopeError(
                "ST (a transaction set) or GE" if self.enveloped else "ST (a transaction set)",
                segment_index=cursor.index, segment_id=tag, ack_code="2")

    def _open(self, segment: Segment, cursor: _Cursor) -> Transaction:
        index = cursor.index
        set_id = _require(segment, 1, index, "ST01 transaction set identifier")
        control = _require(segment, 2, index, "ST02 transaction set control number")
        self.transaction_count += 1
        return Transaction(set_id, control, _element(segment, 3) or None, index, self,
                           _cursor=cursor)

    def _check_trailer(self, segment: Segment, index: int) -> None:
        cursor = self._cursor
        assert cursor is not None
        count = _count(segment, 1, index, "GE01 number of transaction sets")
        if count != self.transaction_count:
            cursor.trailer_problem(X12EnvelopeError(
                f"GE01 equal to the number of transaction sets in the group "
                f"({self.transaction_count})", segment_index=index, segment_id="GE",
                element=1, ack_code="5"))
        if _element(segment, 2) != self.control_number:
            cursor.trailer_problem(X12EnvelopeError(
                "GE02 equal to GS06 (group control number)", segment_index=index,
                segment_id="GE", element=2, ack_code="4"))


@dataclass(slots=True)
class Interchange:
    """One interchange (ISA...IEA) and its header fields."""

    sender_qualifier: str
    sender_id: str
    receiver_qualifier: str
    receiver_id: str
    date: date | None
    time: time | None
    version: str
    control_number: str
    acknowledgment_requested: bool
    usage: str
    start_index: int
    delimiters: Delimiters
    _cursor: _Cursor | None = field(default=None, repr=False)
    enveloped: bool = True
    group_count: int = 0
    #: TA1 segments carried in the interchange (before its groups), as element lists.
    ta1_segments: list[Segment] = field(default_factory=list)
    _iterator: Iterator[FunctionalGroup] | None = field(default=None, repr=False)

    @property
    def is_test(self) -> bool:
        return self.usage == "T"

    @property
    def timestamp(self) -> datetime | None:
        if self.date is None:
            return None
        return datetime.combine(self.date, self.time or time(0, 0))

    def groups(self) -> Iterator[FunctionalGroup]:
        """The interchange's groups; IEA's count and control number checked at the end."""
        if self._iterator is None:
            self._iterator = self._iterate()
        return self._iterator

    def drain(self) -> None:
        for group in self.groups():
            group.drain()

    def _iterate(self) -> Iterator[FunctionalGroup]:
        cursor = self._cursor
        assert cursor is not None
        if not self.enveloped:
            yield FunctionalGroup("", "", "", None, None, "", "", 1, self, cursor,
                                  enveloped=False)
            return
        while True:
            segment = cursor.take()
            if segment is None:
                raise X12SyntaxError("IEA closing the interchange (the document is truncated)",
                                     segment_index=cursor.index + 1, ack_code="023")
            tag = segment[0]
            if tag == "GS":
                group = self._open(segment, cursor)
                yield group
                group.drain()  # skip what the consumer left
                continue
            if tag == "IEA":
                self._check_trailer(segment, cursor.index)
                return
            if tag == "TA1" and self.group_count == 0:
                self.ta1_segments.append(segment)  # TA1s precede the groups, if any
                continue
            raise X12EnvelopeError("GS (a functional group) or IEA", segment_index=cursor.index,
                                   segment_id=tag, ack_code="024")

    def _open(self, segment: Segment, cursor: _Cursor) -> FunctionalGroup:
        index = cursor.index
        self.group_count += 1
        return FunctionalGroup(
            functional_id=_require(segment, 1, index, "GS01 functional identifier code"),
            sender_id=_element(segment, 2).strip(),
            receiver_id=_element(segment, 3).strip(),
            date=parse_date(_element(segment, 4)),
            time=parse_time(_element(segment, 5)),
            control_number=_require(segment, 6, index, "GS06 group control number"),
            version=_element(segment, 8).strip(),
            start_index=index, interchange=self, _cursor=cursor)

    def _check_trailer(self, segment: Segment, index: int) -> None:
        cursor = self._cursor
        assert cursor is not None
        count = _count(segment, 1, index, "IEA01 number of functional groups")
        if count != self.group_count:
            cursor.trailer_problem(X12EnvelopeError(
                f"IEA01 equal to the number of functional groups ({self.group_count})",
                segment_index=index, segment_id="IEA", element=1, ack_code="021"))
        if _element(segment, 2) != self.control_number:
            cursor.trailer_problem(X12EnvelopeError(
                "IEA02 equal to ISA13 (interchange control number)", segment_index=index,
                segment_id="IEA", element=2, ack_code="001"))


def parse_isa(segment: Segment, index: int, delimiters: Delimiters) -> Interchange:
    """Header fields of an ISA segment already split into elements."""
    if len(segment) < 17:
        raise X12SyntaxError("16 ISA elements", segment_index=index, segment_id="ISA",
                             ack_code="024")
    control = segment[13].strip()
    if not (len(control) == 9 and _digits(control)):
        raise X12EnvelopeError("ISA13 interchange control number of 9 digits",
                               segment_index=index, segment_id="ISA", element=13,
                               ack_code="018")
    return Interchange(
        sender_qualifier=segment[5].strip(), sender_id=segment[6].strip(),
        receiver_qualifier=segment[7].strip(), receiver_id=segment[8].strip(),
        date=parse_date(segment[9]), time=parse_time(segment[10]), version=segment[12],
        control_number=control, acknowledgment_requested=segment[14] == "1",
        usage=segment[15], start_index=index, delimiters=delimiters)


class X12Reader:
    """Reads interchanges from text or a text stream.

    :param text: the whole document, or ``None`` when ``stream`` is given.
    :param stream: a text stream read in ``chunk_size`` pieces (for large files).
    :param strict: ``False`` turns trailer count and control number mismatches into
        :attr:`warnings` instead of errors (for reading payers' imperfect files).
    """

    def __init__(self, text: str | None = None, *, stream: IO[str] | None = None,
                 chunk_size: int = _CHUNK_SIZE, strict: bool = True,
                 warnings: list[X12Error] | None = None) -> None:
        if (text is None) == (stream is None):
            raise ValueError("give either text or stream")
        if text is not None:
            self.delimiters = detect_delimiters(text)
            raw = _split_segments(strip_preamble(text), self.delimiters)
        else:
            assert stream is not None
            head = strip_preamble(stream.read(ISA_LENGTH + 2))
            while len(head) < ISA_LENGTH:
                more = stream.read(ISA_LENGTH)
                if not more:
                    break
                head = strip_preamble(head + more)
            self.delimiters = detect_delimiters(head)
            raw = _split_stream(stream, head, self.delimiters, chunk_size)
        self._cursor = _Cursor(raw, self.delimiters, strict, warnings)
        self.warnings = self._cursor.warnings
        self._used = False

    @classmethod
    def from_text(cls, text: str, *, strict: bool = True,
                  warnings: list[X12Error] | None = None) -> X12Reader:
        return cls(text, strict=strict, warnings=warnings)

    @classmethod
    def from_path(cls, path: str | os.PathLike[str], chunk_size: int = _CHUNK_SIZE, *,
                  strict: bool = True, warnings: list[X12Error] | None = None) -> X12Reader:
        # newline="" keeps \r so the reader (not the io layer) decides what a line break is.
        stream = open(path, encoding="latin-1", newline="")  # noqa: SIM115 (closed by GC)
        return cls(stream=stream, chunk_size=chunk_size, strict=strict, warnings=warnings)

    @classmethod
    def from_bytes(cls, data: bytes) -> X12Reader:
        return cls(stream=io.StringIO(data.decode("latin-1")))

    def interchanges(self) -> Iterator[Interchange]:
        if self._used:
            raise RuntimeError("an X12Reader is read once")
        self._used = True
        cursor = self._cursor
        seen_any = False
        while True:
            segment = cursor.take()
            if segment is None:
                if not seen_any:
                    raise X12SyntaxError("an interchange starting with ISA", segment_index=1,
                                         ack_code="024")
                return
            tag = segment[0]
            if tag == "ISA":
                ensure_isa_delimiters(segment, cursor.index, self.delimiters)
                interchange = parse_isa(segment, cursor.index, self.delimiters)
                interchange._cursor = cursor
            elif tag == "ST" and not seen_any:
                cursor.push_back(segment)
                interchange = Interchange("", "", "", "", None, None, "", "", False, "P", 1,
                                          self.delimiters, cursor, enveloped=False)
            else:
                raise X12EnvelopeError("ISA (an interchange)" if seen_any else
                                       "an interchange starting with ISA",
                                       segment_index=cursor.index, segment_id=tag,
                                       ack_code="024")
            seen_any = True
            yield interchange
            interchange.drain()  # skip what the consumer left
            if not interchange.enveloped:
                extra = cursor.take()
                if extra is not None:
                    raise X12EnvelopeError("end of document after SE", segment_index=cursor.index,
                                           segment_id=extra[0])
                return

    def transactions(self) -> Iterator[Transaction]:
        """Every transaction set of every group of every interchange, in order."""
        for interchange in self.interchanges():
            for group in interchange.groups():
                yield from group.transactions()


def read_segments(text: str) -> tuple[Delimiters, list[Segment]]:
    """All segments of ``text`` as element lists (envelopes included); for small documents."""
    delimiters = detect_delimiters(text)
    return delimiters, list(_split_segments(strip_preamble(text), delimiters))


def ensure_isa_delimiters(segment: Segment, index: int, delimiters: Delimiters) -> None:
    """A second interchange in the same file must use the delimiters of the first."""
    if len(segment) != 17 or segment[16] != delimiters.component:
        raise X12SyntaxError("the delimiters of the first interchange", segment_index=index,
                             segment_id="ISA", element=16, ack_code="026")


__all__ = [
    "FunctionalGroup", "Interchange", "Segment", "Transaction", "X12Reader", "delimiters_from_isa",
    "ensure_isa_delimiters", "parse_date", "parse_time", "read_segments", "valid_segment_id",
]
