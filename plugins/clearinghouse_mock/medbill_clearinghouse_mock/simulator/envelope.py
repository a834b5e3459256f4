"""Envelope and syntax check of a received interchange, done at once on receipt.

The check never raises: whatever the body is (not X12, a truncated ISA, wrong counts, a second
interchange) it returns an :class:`InterchangeCheck` saying what a TA1 and a 999 must report:

* interchange-level problems (no ISA, ISA fields, IEA count/control number, anything outside a
  functional group) -> TA1 note code, and no 999;
* group-level problems (GS fields, functional ID or version not supported, GE count/control
  number, missing GE) -> 999 AK9 codes;
* transaction-level problems (ST/SE mismatch, SE count, wrong transaction set, bad segment IDs)
  -> 999 IK5 codes (and IK3 for a segment).

Segments are split with the X12 engine's :func:`read_segments`; the checks here are independent
of its streaming reader so that one bad transaction set does not hide the others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, time

from medbill_payer_generic_x12.api import (
    Delimiters,
    Segment,
    X12Error,
    delimiters_from_isa,
    read_segments,
)

_SEGMENT_ID = re.compile(r"^[A-Z][A-Z0-9]{1,2}$")


@dataclass(slots=True)
class SegmentProblem:
    """An IK3 (and optional IK4) of a 999: where in the transaction set, which code."""

    segment_id: str
    position: int  # ST = 1
    code: str  # IK304 segment syntax error code
    element: int | None = None
    component: int | None = None
    element_code: str | None = None  # IK403
    loop_id: str | None = None


@dataclass(slots=True)
class TransactionCheck:
    set_id: str
    control_number: str
    implementation: str | None
    segments: list[Segment]  # ST ... SE inclusive (SE may be missing when the trailer is)
    ik5_codes: list[str] = field(default_factory=list)
    problems: list[SegmentProblem] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return not self.ik5_codes and not self.problems

    def reject(self, code: str) -> None:
        if code not in self.ik5_codes:
            self.ik5_codes.append(code)


@dataclass(slots=True)
class GroupCheck:
    functional_id: str
    control_number: str
    version: str
    sender_id: str
    receiver_id: str
    segment: Segment
    transactions: list[TransactionCheck] = field(default_factory=list)
    ak9_codes: list[str] = field(default_factory=list)
    declared_count: int | None = None

    @property
    def accepted_count(self) -> int:
        if self.ak9_codes:
            return 0
        return sum(1 for t in self.transactions if t.accepted)

    @property
    def status(self) -> str:
        """AK901: A all accepted, P some, R none."""
        accepted = self.accepted_count
        if self.ak9_codes or accepted == 0:
            return "R"
        return "A" if accepted == len(self.transactions) else "P"


@dataclass(slots=True)
class InterchangeCheck:
    """What the envelope check found. ``note_code`` ``000`` means the interchange is accepted."""

    note_code: str = "000"
    control_number: str = "000000000"
    sender_qualifier: str = "ZZ"
    sender_id: str = "UNKNOWN"
    receiver_qualifier: str = "ZZ"
    receiver_id: str = "UNKNOWN"
    date: date | None = None
    time: time | None = None
    usage: str = "P"
    acknowledgment_requested: bool = False
    delimiters: Delimiters | None = None
    isa: Segment | None = None
    groups: list[GroupCheck] = field(default_factory=list)
    segment_count: int = 0

    @property
    def accepted(self) -> bool:
        return self.note_code == "000"


def _parse_date(text: str) -> date | None:
    if len(text) != 6 or not text.isdigit():
        return None
    try:
        return date(2000 + int(text[:2]), int(text[2:4]), int(text[4:]))
    except ValueError:
        return None


def _parse_time(text: str) -> time | None:
    if len(text) != 4 or not text.isdigit():
        return None
    try:
        return time(int(text[:2]), int(text[2:]))
    except ValueError:
        return None


def _el(segment: Segment, position: int) -> str:
    return segment[position].strip() if len(segment) > position else ""


def check_interchange(text: str, *, functional_id: str, set_id: str,
                      version_prefix: str | tuple[str, ...]) -> InterchangeCheck:
    """Check one interchange carrying ``set_id`` transaction sets in ``functional_id`` groups."""
    result = InterchangeCheck()
    body = text.lstrip("\ufeff \t\r\n")
    try:
        delimiters = delimiters_from_isa(body)
        _, segments = read_segments(body)
    except X12Error as exc:
        result.note_code = exc.ack_code if exc.ack_code and len(exc.ack_code) == 3 else "024"
        return result
    except Exception:
        result.note_code = "024"
        return result
    result.delimiters = delimiters
    result.segment_count = len(segments)
    isa = segments[0]
    if len(isa) != 17:
        result.note_code = "024"
        return result
    result.isa = isa
    result.sender_qualifier = _el(isa, 5) or "ZZ"
    result.sender_id = _el(isa, 6) or "UNKNOWN"
    result.receiver_qualifier = _el(isa, 7) or "ZZ"
    result.receiver_id = _el(isa, 8) or "UNKNOWN"
    control = _el(isa, 13)
    if not (len(control) == 9 and control.isdigit()):
        result.note_code = "018"
        return result
    result.control_number = control
    result.date = _parse_date(isa[9])
    result.time = _parse_time(isa[10])
    result.usage = _el(isa, 15)
    result.acknowledgment_requested = _el(isa, 14) == "1"
    for code, ok in (("014", result.date is not None), ("015", result.time is not None),
                     ("017", isa[12] == "00501"), ("019", _el(isa, 14) in ("0", "1")),
                     ("020", result.usage in ("P", "T"))):
        if not ok:
            result.note_code = code
            return result
    trailer = segments[-1]
    if trailer[0] != "IEA":
        result.note_code = "023"  # improper (premature) end of file
        return result
    if _el(trailer, 2) != control:
        result.note_code = "001"
        return result
    body_segments = segments[1:-1]
    index = 0
    while index < len(body_segments):
        segment = body_segments[index]
        if segment[0] != "GS":
            result.note_code = "024" if segment[0] not in ("ISA", "IEA") else "022"
            return result
        index = _check_group(body_segments, index, result, functional_id, set_id,
                             version_prefix)
    declared = _el(trailer, 1)
    if not declared.isdigit() or int(declared) != len(result.groups):
        result.note_code = "021"
        return result
    if not result.groups:
        result.note_code = "024"
    return result


def _check_group(segments: list[Segment], start: int, result: InterchangeCheck,
                 functional_id: str, set_id: str, version_prefix: str | tuple[str, ...]) -> int:
    gs = segments[start]
    group = GroupCheck(functional_id=_el(gs, 1), control_number=_el(gs, 6),
                       version=_el(gs, 8), sender_id=_el(gs, 2), receiver_id=_el(gs, 3),
                       segment=gs)
    result.groups.append(group)
    if len(gs) < 9 or not group.control_number.isdigit():
        group.ak9_codes.append("6")
    elif group.functional_id != functional_id:
        group.ak9_codes.append("1")
    elif not group.version.startswith(version_prefix):
        group.ak9_codes.append("2")
    index = start + 1
    while index < len(segments):
        segment = segments[index]
        tag = segment[0]
        if tag == "GE":
            declared = _el(segment, 1)
            if not declared.isdigit() or int(declared) != len(group.transactions):
                group.ak9_codes.append("5")
            if _el(segment, 2) != group.control_number:
                group.ak9_codes.append("4")
            group.declared_count = int(declared) if declared.isdigit() else None
            return index + 1
        if tag == "GS":
            group.ak9_codes.append("3")  # this group's trailer is missing
            return index
        if tag != "ST":
            group.ak9_codes.append("3")
            # A stray segment between transaction sets: nothing after it can be trusted.
            return len(segments)
        index = _check_transaction(segments, index, group, set_id, version_prefix)
    group.ak9_codes.append("3")
    return index


def _check_transaction(segments: list[Segment], start: int, group: GroupCheck, set_id: str,
                       version_prefix: str | tuple[str, ...]) -> int:
    st = segments[start]
    transaction = TransactionCheck(set_id=_el(st, 1), control_number=_el(st, 2),
                                   implementation=_el(st, 3) or None, segments=[st])
    group.transactions.append(transaction)
    if transaction.set_id != set_id:
        transaction.reject("1" if transaction.set_id else "6")
    if not (4 <= len(transaction.control_number) <= 9):
        transaction.reject("7")
    if transaction.implementation and not transaction.implementation.startswith(version_prefix):
        transaction.reject("1")
    index = start + 1
    while index < len(segments):
        segment = segments[index]
        tag = segment[0]
        transaction.segments.append(segment)
        position = len(transaction.segments)
        if tag == "SE":
            declared = _el(segment, 1)
            if not declared.isdigit() or int(declared) != position:
                transaction.reject("4")
            if _el(segment, 2) != transaction.control_number:
                transaction.reject("3")
            return index + 1
        if tag in ("ST", "GE", "GS", "IEA", "ISA"):
            transaction.segments.pop()
            transaction.reject("2")
            return index
        if not _SEGMENT_ID.match(tag):
            transaction.problems.append(SegmentProblem(tag[:3] or "XX", position, "1"))
            transaction.reject("5")
        index += 1
    transaction.reject("2")
    return index


def rebuild(check: InterchangeCheck, group: GroupCheck, segments: list[Segment]) -> str:
    """A standalone interchange holding ``segments`` (ST...SE) of ``group``, for the decoder.

    SE01 is recomputed, so ``segments`` may be a subset of a transaction set (ST + some loops).
    """
    assert check.delimiters is not None and check.isa is not None
    d = check.delimiters
    body = [list(s) for s in segments]
    if body[-1][0] != "SE":
        body.append(["SE", "", body[0][2] if len(body[0]) > 2 else ""])
    body[-1] = ["SE", str(len(body)), body[0][2] if len(body[0]) > 2 else ""]
    lines = [check.isa, group.segment, *body, ["GE", "1", group.control_number],
             ["IEA", "1", check.control_number]]
    return d.segment.join(d.element.join(s) for s in lines) + d.segment
