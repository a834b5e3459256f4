"""X12 writer: segments with their data checked, envelopes with computed counts and numbers.

Nothing here is hand-typed: SE01 counts the segments written, GE01 the transaction sets, IEA01 the
groups; HL IDs, parents and child codes are assigned by :meth:`TransactionWriter.hl`; ISA13 and
GS06 come from a :class:`~medbill_payer_generic_x12.x12.control.ControlNumberSource`.

A data value holding one of the interchange's delimiters (or a line break / control character)
would silently corrupt the structure, so it is refused with :class:`X12DelimiterInData` naming the
segment and element, never the value.

Elements are given as ``str`` (``""``/``None`` for empty), for a composite a ``tuple`` of
components, or for a repeating element (EB03, EQ01, ...) a ``list`` of its repeats, written
joined by the repetition separator (empty repeats left out). Trailing empty elements and
components are dropped, as X12 requires.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from medbill_payer_generic_x12.x12.charset import transliterate
from medbill_payer_generic_x12.x12.control import ControlNumberSource
from medbill_payer_generic_x12.x12.delimiters import DEFAULT_DELIMITERS, Delimiters
from medbill_payer_generic_x12.x12.errors import X12DelimiterInData, X12EncodeError
from medbill_payer_generic_x12.x12.values import format_date, format_short_date, format_time

Element = str | tuple[str | None, ...] | list[str] | None


def _bad_characters(delimiters: Delimiters, *, allow_component: bool) -> re.Pattern[str]:
    chars = delimiters.segment + delimiters.repetition
    if not allow_component:
        chars += delimiters.component
    # Control characters (incl. CR/LF) are outside the X12 character sets and break readers.
    return re.compile("[" + re.escape(chars) + "\x00-\x1f\x7f]")


def _name_of(delimiters: Delimiters, char: str) -> str:
    names = {delimiters.element: "the element separator",
             delimiters.component: "the component separator",
             delimiters.repetition: "the repetition separator",
             delimiters.segment: "the segment terminator"}
    if char in names:
        return f"{names[char]} {char!r}"
    return "a control character or line break"


#: What the writer expects of a value outside the X12 character sets (see
#: :mod:`~medbill_payer_generic_x12.x12.charset`) that nothing is left of once transliterated.
NOTHING_LEFT = ("text in the X12 character set (nothing is left of this value once its "
                "characters outside the set are taken out)")


@functools.lru_cache(maxsize=8)
def _unwritable_pattern(delimiters: Delimiters) -> re.Pattern[str]:
    """One character no element's data may hold: a delimiter, a control character or a line
    break."""
    return re.compile("[" + re.escape(delimiters.all) + "\x00-\x1f\x7f]")


_DEFAULT_UNWRITABLE = _unwritable_pattern(DEFAULT_DELIMITERS)


def _unwritable_character(value: str, delimiters: Delimiters) -> str | None:
    """The first character of ``value`` no element's data may hold, or ``None``."""
    found = _unwritable_pattern(delimiters).search(value)
    return None if found is None else found.group()


def data_problem(value: str, delimiters: Delimiters = DEFAULT_DELIMITERS) -> str | None:
    """Why the writer would refuse ``value`` as an element's data, in its own words (what it
    expected), or ``None`` when it writes it: text outside the X12 character sets is written
    transliterated, and nothing may be left of it (:data:`NOTHING_LEFT`); the text written
    must hold none of the interchange's delimiters, control characters or line breaks. The
    answer never contains the value (it may be PHI), only a delimiter it holds.

    For checking data before it is encoded (the adapter's claim edits): the writer refuses
    such a value with :class:`X12EncodeError` / :class:`X12DelimiterInData` naming its
    segment and element."""
    if not value.isascii():
        value = transliterate(value)
        if not value:
            return NOTHING_LEFT
    found = (_DEFAULT_UNWRITABLE if delimiters is DEFAULT_DELIMITERS
             else _unwritable_pattern(delimiters)).search(value)
    return None if found is None else \
        f"data must not contain {_name_of(delimiters, found.group())}"


class SegmentBuffer:
    """Renders segments to strings, checking data against the delimiters.

    Subclassed by :class:`TransactionWriter`; usable alone for envelope segments.
    """

    def __init__(self, delimiters: Delimiters = DEFAULT_DELIMITERS) -> None:
        self.delimiters = delimiters
        self.lines: list[str] = []
        self._element = delimiters.element
        self._component = delimiters.component
        self._bad_in_line = _bad_characters(delimiters, allow_component=True)
        self._terminator = delimiters.segment
        self._repetition = delimiters.repetition
        #: Claim number named in errors while a claim is written (set by encoders).
        self.context_claim: str | None = None
        #: ``(claim number, element)`` of every value written transliterated (see
        #: :mod:`~medbill_payer_generic_x12.x12.charset`).
        self.transliterated: list[tuple[str | None, str]] = []

    def render(self, tag: str, elements: Iterable[Element]) -> str:
        component = self._component
        parts = [tag]
        components_used = 0
        repeats_used = 0
        for element in elements:
            if element is None:
                parts.append("")
            elif element.__class__ is tuple:
                values = [value or "" for value in element]
                while values and not values[-1]:
                    values.pop()
                components_used += len(values) - 1 if values else 0
                parts.append(component.join(values))
            elif element.__class__ is list:
                repeats = [value for value in element if value]
                repeats_used += len(repeats) - 1 if repeats else 0
                parts.append(self._repetition.join(repeats))
            else:
                parts.append(element)  # type: ignore[arg-type]
        while len(parts) > 1 and not parts[-1]:
            parts.pop()
        line = self._element.join(parts)
        if not line.isascii():  # rare: names like Ñúñez; str.isascii is a C scan
            return self.render(tag, self._transliterated(tag, elements))
        # Checked on the finished segment, not per element: the counts tell whether a separator
        # came from the data; terminators and control characters must not appear at all. Plain
        # ``in``/``count``/``isprintable`` scans are C loops, a fraction of a regex search.
        if (line.count(self._element) != len(parts) - 1
                or (line.count(component) != components_used if components_used
                    else component in line)
                or self._terminator in line
                or (line.count(self._repetition) != repeats_used if repeats_used
                    else self._repetition in line)
                or (not line.isprintable() and self._bad_in_line.search(line))):
            self._locate_bad_data(tag, elements)
        return line

    def _transliterated(self, tag: str, elements: Iterable[Element]) -> list[Element]:
        """The elements with text outside the X12 character sets transliterated, each place
        noted in :attr:`transliterated` (segment and element, never the value)."""
        result: list[Element] = []
        for position, element in enumerate(elements, start=1):
            values = element if isinstance(element, (tuple, list)) else (element,)
            changed = []
            for component_position, value in enumerate(values, start=1):
                if value and not value.isascii():
                    new = transliterate(value)
                    where = f"{tag}{position:02d}" + (
                        f"-{component_position}" if isinstance(element, tuple) else "")
                    if not new:
                        raise X12EncodeError(
                            NOTHING_LEFT, segment_id=tag, element=position,
                            component=component_position if isinstance(element, tuple)
                            else None, claim_number=self.context_claim)
                    self.transliterated.append(
                        (self.context_claim, where))
                    value = new
                changed.append(value)
            result.append(tuple(changed) if isinstance(element, tuple) else
                          [v or "" for v in changed] if isinstance(element, list)
                          else changed[0])
        return result

    def add(self, tag: str, *elements: Element) -> None:
        """Append one segment."""
        self.lines.append(self.render(tag, elements))

    def _locate_bad_data(self, tag: str, elements: Iterable[Element]) -> None:
        for position, element in enumerate(elements, start=1):
            values = element if isinstance(element, (tuple, list)) else (element,)
            for component_position, value in enumerate(values, start=1):
                if not value:
                    continue
                char = _unwritable_character(value, self.delimiters)
                if char is not None:
                    raise X12DelimiterInData(
                        f"data must not contain {_name_of(self.delimiters, char)}",
                        segment_id=tag, element=position,
                        component=component_position if isinstance(element, tuple) else None,
                        claim_number=self.context_claim)
        raise X12EncodeError("well-formed elements", segment_id=tag,
                             claim_number=self.context_claim)  # pragma: no cover


@dataclass(slots=True)
class _HL:
    line_index: int
    hl_id: int
    parent: int | None
    level_code: str
    has_children: bool = False
    child_code: bool = True


class TransactionWriter(SegmentBuffer):
    """The segments of one transaction set between ST and SE, with HL bookkeeping."""

    def __init__(self, transaction_set_id: str, control_number: str,
                 implementation_reference: str | None, delimiters: Delimiters) -> None:
        super().__init__(delimiters)
        self.transaction_set_id = transaction_set_id
        self.control_number = control_number
        self.implementation_reference = implementation_reference
        self._hls: list[_HL] = []

    def hl(self, level_code: str, parent: int | None = None, *, child_code: bool = True) -> int:
        """Open a hierarchical level; its ID and child code (HL04) are computed.

        ``child_code=False`` leaves HL04 out, for levels whose guide marks it not used.

        :returns: the new HL ID, to pass as ``parent`` of its children.
        """
        hl_id = len(self._hls) + 1
        if parent is not None:
            if not 1 <= parent < hl_id:
                raise X12EncodeError("an HL parent opened before its child", segment_id="HL",
                                     element=2, claim_number=self.context_claim)
            self._hls[parent - 1].has_children = True
        self._hls.append(_HL(len(self.lines), hl_id, parent, level_code,
                             child_code=child_code))
        self.lines.append("")  # rendered in finish(), when HL04 is known
        return hl_id

    @property
    def segment_count(self) -> int:
        """SE01: segments from ST to SE inclusive."""
        return len(self.lines) + 2

    def finish(self) -> list[str]:
        """ST, the body with HLs rendered, SE."""
        for level in self._hls:
            self.lines[level.line_index] = self.render("HL", (
                str(level.hl_id), str(level.parent) if level.parent else "", level.level_code,
                ("1" if level.has_children else "0") if level.child_code else None))
        header = self.render("ST", (self.transaction_set_id, self.control_number,
                                    self.implementation_reference))
        trailer = self.render("SE", (str(self.segment_count), self.control_number))
        return [header, *self.lines, trailer]


@dataclass(frozen=True, slots=True)
class EnvelopeSettings:
    """Who sends and receives, as the ISA and GS carry it.

    ``sender_id``/``receiver_id`` are ISA06/ISA08 (at most 15 characters);
    ``application_sender``/``application_receiver`` are GS02/GS03 (default: the same).
    """

    sender_id: str
    receiver_id: str
    sender_qualifier: str = "ZZ"
    receiver_qualifier: str = "ZZ"
    application_sender: str | None = None
    application_receiver: str | None = None
    usage: str = "P"
    acknowledgment_requested: bool = False

    def __post_init__(self) -> None:
        for name in ("sender_id", "receiver_id"):
            value = getattr(self, name)
            if not 1 <= len(value) <= 15:
                raise X12EncodeError(f"{name} of 1 to 15 characters", segment_id="ISA",
                                     element=6 if name == "sender_id" else 8)
        for name in ("sender_qualifier", "receiver_qualifier"):
            if len(getattr(self, name)) != 2:
                raise X12EncodeError(f"{name} of 2 characters", segment_id="ISA",
                                     element=5 if name == "sender_qualifier" else 7)
        if self.usage not in ("P", "T"):
            raise X12EncodeError("usage P (production) or T (test)", segment_id="ISA",
                                 element=15)


class InterchangeWriter:
    """Builds one interchange: ``group()`` -> ``transaction()`` -> segments -> :meth:`text`.

    :param settings: sender/receiver identification.
    :param control_numbers: source of ISA13 and GS06.
    :param now: the timestamp written in ISA09/10 and GS04/05 (default: now).
    :param line_breaks: put a newline after each terminator (readable; readers ignore it).
    """

    def __init__(self, settings: EnvelopeSettings, control_numbers: ControlNumberSource, *,
                 delimiters: Delimiters = DEFAULT_DELIMITERS, now: datetime | None = None,
                 line_breaks: bool = False) -> None:
        self.settings = settings
        self.delimiters = delimiters
        self.now = now or datetime.now()
        self.line_breaks = line_breaks
        self._control_numbers = control_numbers
        self.control_number = f"{control_numbers.next_number('interchange'):09d}"
        self._groups: list[tuple[list[str], list[TransactionWriter]]] = []
        self._ta1: list[str] = []
        self._transaction_sequence = 0

    def add_ta1(self, control_number: str, interchange_date: str, interchange_time: str,
                code: str, note_code: str) -> None:
        """A TA1 segment (acknowledging another interchange), placed before any group."""
        self._ta1.append(SegmentBuffer(self.delimiters).render(
            "TA1", (control_number, interchange_date, interchange_time, code, note_code)))

    def group(self, functional_id: str, version: str, *,
              same_control_number: bool = False) -> GroupHandle:
        """Open a functional group (GS01 ``HC``, GS08 ``005010X222A1``...).

        :param same_control_number: number the group (GS06) as the interchange (ISA13), for
            an interchange of one group that is answered at both levels (an 837: TA1 names
            ISA13, 999 names GS06), so the sender finds the batch by one number.
        """
        settings = self.settings
        buffer = SegmentBuffer(self.delimiters)
        control = (str(int(self.control_number)) if same_control_number
                   else str(self._control_numbers.next_number("group")))
        buffer.add("GS", functional_id, settings.application_sender or settings.sender_id,
                   settings.application_receiver or settings.receiver_id,
                   format_date(self.now.date()), format_time(self.now), control, "X", version)
        transactions: list[TransactionWriter] = []
        self._groups.append((buffer.lines, transactions))
        return GroupHandle(self, control, version, transactions)

    def _next_transaction_control(self) -> str:
        self._transaction_sequence += 1
        return f"{self._transaction_sequence:04d}"

    def isa(self) -> str:
        s = self.settings
        d = self.delimiters
        fields = (
            "00", " " * 10, "00", " " * 10, s.sender_qualifier, s.sender_id.ljust(15),
            s.receiver_qualifier, s.receiver_id.ljust(15), format_short_date(self.now.date()),
            format_time(self.now), d.repetition, "00501", self.control_number,
            "1" if s.acknowledgment_requested else "0", s.usage, d.component)
        for position, value in enumerate(fields[:-1], start=1):
            if position != 11 and any(char in d.all for char in value):  # ISA11 *is* one
                raise X12DelimiterInData("data must not contain a delimiter", segment_id="ISA",
                                         element=position)
        return d.element.join(("ISA", *fields))

    def segments(self) -> list[str]:
        """Every segment of the interchange, ISA to IEA."""
        result = [self.isa(), *self._ta1]
        if not self._groups and not self._ta1:
            raise X12EncodeError("a functional group or a TA1 in the interchange",
                                 segment_id="IEA")
        for gs_lines, transactions in self._groups:
            if not transactions:
                raise X12EncodeError("at least one transaction set in each functional group",
                                     segment_id="GS")
            result.extend(gs_lines)
            for transaction in transactions:
                result.extend(transaction.finish())
            control = gs_lines[0].split(self.delimiters.element)[6]
            result.append(self.delimiters.element.join(("GE", str(len(transactions)), control)))
        result.append(self.delimiters.element.join(
            ("IEA", str(len(self._groups)), self.control_number)))
        return result

    def text(self) -> str:
        terminator = self.delimiters.segment + ("\n" if self.line_breaks else "")
        return terminator.join(self.segments()) + terminator


@dataclass(slots=True)
class GroupHandle:
    """An open functional group; add transaction sets with :meth:`transaction`."""

    interchange: InterchangeWriter
    control_number: str
    version: str
    _transactions: list[TransactionWriter]

    def transaction(self, transaction_set_id: str, implementation_reference: str | None = None,
                    *, with_reference: bool = True) -> TransactionWriter:
        """Open a transaction set; ST03 is GS08 unless given (``with_reference=False``: none,
        as the 835 guide requires)."""
        reference = (implementation_reference or self.version) if with_reference else None
        writer = TransactionWriter(transaction_set_id,
                                   self.interchange._next_transaction_control(), reference,
                                   self.interchange.delimiters)
        self._transactions.append(writer)
        return writer

    @property
    def transaction_count(self) -> int:
        return len(self._transactions)
