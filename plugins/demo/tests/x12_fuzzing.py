"""Mutants of real X12 documents, and running them through the command line with a time limit.

Used by ``test_fuzz_x12.py`` (hypothesis draws the mutations) and ``test_fuzz_regressions.py``
(the minimal failing examples it found, kept as plain files).

A document is cut into segments with its own delimiters (from the ISA, else ``*`` and ``~``),
independently of the engine's reader, so a mutation can produce anything a broken payer system
could: segments deleted, repeated, swapped or truncated, elements replaced with hostile text,
delimiters changed, bytes flipped, a byte-order mark inserted, loops repeated, trailer counts
and control numbers changed.
"""

from __future__ import annotations

import re
import shutil
import signal
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

#: The fixtures of the generic X12 plugin: real documents written by others.
SAMPLES = Path(__file__).resolve().parents[3] / "plugins" / "payer_generic_x12" / "tests" \
    / "fixtures"
SAMPLE_DIRS = {"835": "835", "837": "837P-X222A2", "999": "999", "277CA": "277CA",
               "271": "271", "277": "277-X212", "270": "public/270", "276": "276"}

#: How long one command may take on one mutant (the issue: "no hang over 10 s").
CASE_SECONDS = 10

# -- cutting a document into segments and putting it back together ---------------------------


@dataclass(frozen=True)
class Layout:
    """How a document is written: its delimiters and what separates segments."""

    element: str
    component: str
    terminator: str
    line_break: str  # "" or the line break written after each terminator


def layout_of(text: str) -> Layout:
    body = text.lstrip("\ufeff \t\r\n")
    if body.startswith("ISA") and len(body) > 105:
        element, component, terminator = body[3], body[104], body[105]
    else:
        element, component, terminator = "*", ":", "~"
    after = body.split(terminator, 1)[1][:2] if terminator in body else ""
    line_break = "\r\n" if after.startswith("\r\n") else "\n" if after.startswith("\n") else ""
    return Layout(element, component, terminator, line_break)


def segments_of(text: str, layout: Layout) -> list[list[str]]:
    body = text.lstrip("\ufeff \t\r\n")
    pieces = [piece.strip("\r\n") for piece in body.split(layout.terminator)]
    return [piece.split(layout.element) for piece in pieces if piece]


def text_of(segments: list[list[str]], layout: Layout) -> str:
    end = layout.terminator + layout.line_break
    return "".join(layout.element.join(segment) + end for segment in segments)


# -- hostile values ----------------------------------------------------------------------------

#: Values a broken or hostile sender could put in any element.
HOSTILE_VALUES = [
    "", " ", "[/x]", "[/x]EFT1", "[bold red]PAID[/]", "\x00", "AB\x00CD", "\x1b[31m", "\t",
    "١٢٣", "１２３", "1_000", "9" * 40, "9" * 400, "1" + "0" * 30 + ".00", "1e999", "-1e-999",
    "NaN", "Infinity", "-0", "+5", "--5", "5.", ".5", "1.2.3", "0.001", "12345678901234.56",
    "-12345678901234.56", "99999999", "00000000", "20260230", "99991231", "2500",
    "É", "ü", "😀", "\u202e", "x" * 5000, "'; DROP TABLE claims;--", "%s%n", "{0}", "${x}",
    "\\", "\ufeff", "\r", "\n", "2147483648", "-2147483649", "18446744073709551616",
]


#: Numbers and dates as no payer should write them (and some it may).
HOSTILE_NUMBERS = [
    "", "0", "-0", "0.00", "-1", "1", "100", "-100.00", "0.01", "-0.01", "12345678901234.56",
    "-12345678901234.56", "99999999999999999999.99", "1" + "0" * 40, "1e3", "1E-2", "١٢٣",
    "１２", "1_000", "1,000.00", "$5", "5-", "NaN", "-Infinity", "0x10", " 5 ", "5.001",
    "20261301", "20260229", "99991231", "19000101", "00010101", "2026", "202612", "A", "AB",
]


def hostile_values(layout: Layout) -> st.SearchStrategy[str]:
    """A hostile value, a delimiter of the document, or arbitrary text."""
    listed = st.sampled_from(HOSTILE_VALUES)
    return st.one_of(
        listed, listed, listed,  # the listed values first: they are the ones that bite
        st.sampled_from([layout.element, layout.component, layout.terminator, "^"]),
        st.text(max_size=20),
        st.integers(min_value=-(10**30), max_value=10**30).map(str),
        st.decimals(allow_nan=False, allow_infinity=False, places=2).map(str),
    )


# -- mutations ---------------------------------------------------------------------------------

#: Segments that start a loop: repeating one repeats its loop (up to the next of the same ID).
LOOP_STARTS = ("CLP", "SVC", "LX", "HL", "CLM", "NM1", "AK2", "IK3", "TRN", "ST", "GS", "PLB",
               "CAS", "STC", "SV1", "LIN", "IK5")
#: Elements of the segments posting reads (amounts, quantities, codes, dates), by segment.
MONEY_ELEMENTS = {
    "BPR": [1, 2, 3, 16], "TRN": [1, 2, 3], "CLP": [1, 2, 3, 4, 5, 6, 7, 9],
    "CAS": [1, 2, 3, 4, 5, 6, 7, 8, 9, 19], "SVC": [1, 2, 3, 4, 5, 7], "PLB": [1, 2, 3, 4],
    "AMT": [1, 2], "QTY": [1, 2], "DTM": [1, 2], "LX": [1], "MIA": [1, 4], "MOA": [1, 2],
    "REF": [1, 2], "NM1": [1, 8, 9], "AK9": [1, 2, 3, 4], "IK5": [1, 2], "AK2": [1, 2, 3],
    "STC": [1, 2, 3, 4, 10, 12], "CLM": [1, 2, 5], "SV1": [1, 2, 3, 4], "DTP": [1, 2, 3],
    "HL": [1, 2, 3, 4], "AK1": [1, 2, 3], "IK3": [1, 2, 3, 4], "IK4": [1, 2, 3],
}
TRAILERS = {"SE": 1, "GE": 1, "IEA": 1}
CONTROL_NUMBERS = {"ISA": 13, "IEA": 2, "GS": 6, "GE": 2, "ST": 2, "SE": 2}


@dataclass
class Mutant:
    """A seed document and the mutations applied to it (what hypothesis shows on failure)."""

    seed: str
    steps: list[str]
    data: bytes

    def __repr__(self) -> str:
        return f"Mutant(seed={self.seed!r}, steps={self.steps!r}, data={self.data!r})"


class _Draw:
    """Hypothesis's ``draw`` for values, and a seeded :class:`random.Random` (drawn by
    hypothesis, so a failure replays) for positions and choices of mutation: hypothesis
    favours 0 and the first option, which made a third of the byte-level mutations
    truncations and most others hit the ISA, testing only the first check."""

    def __init__(self, draw: Any) -> None:
        self.draw = draw
        self.random = draw(st.randoms(use_true_random=True))

    def __call__(self, strategy: st.SearchStrategy[Any]) -> Any:
        return self.draw(strategy)


def _position(draw: _Draw, size: int) -> int:
    """A position in ``range(size)``, uniformly."""
    return draw.random.randrange(max(size, 1))


def _choice(draw: _Draw, options: list[Any]) -> Any:
    return options[_position(draw, len(options))]


def _index(draw: _Draw, segments: list[list[str]]) -> int:
    return _position(draw, len(segments))


def _mutate_segments(draw: _Draw, segments: list[list[str]], layout: Layout,
                     steps: list[str]) -> Layout:
    """One structural mutation, in place; returns the (possibly changed) layout."""
    if not segments:
        segments.append(["ISA"])
    operation = _choice(draw, [
        "delete", "duplicate", "swap", "element", "element", "element", "add_element",
        "drop_element", "money", "money", "repeat_loop", "trailer_count", "control_number",
        "insert_segment", "lowercase_tag", "component", "delimiters", "line_breaks",
        "empty_segment", "hl_parent"])
    at = _index(draw, segments)
    tag = segments[at][0]
    if operation == "delete":
        del segments[at]
        steps.append(f"delete segment {at + 1} ({tag})")
    elif operation == "duplicate":
        times = draw.random.randint(1, 3)
        segments[at:at] = [list(segments[at]) for _ in range(times)]
        steps.append(f"duplicate segment {at + 1} ({tag}) x{times}")
    elif operation == "swap":
        other = _index(draw, segments)
        segments[at], segments[other] = segments[other], segments[at]
        steps.append(f"swap segments {at + 1} and {other + 1}")
    elif operation in ("element", "add_element", "drop_element", "component"):
        # a segment ID first, then one of its segments: an 835's rare segments (TRN, BPR,
        # PLB) are as likely as its many CAS and DTM
        tags = sorted({segment[0] for segment in segments})
        tag = tags[_position(draw, len(tags))]
        same = [i for i, segment in enumerate(segments) if segment[0] == tag]
        at = same[_position(draw, len(same))]
        segment = segments[at]
        position = 1 + _position(draw, len(segment))
        value = draw(hostile_values(layout))
        if operation == "element":
            while len(segment) <= position:
                segment.append("")
            segment[position] = value
            steps.append(f"segment {at + 1} ({tag}) element {position} := {value!r}")
        elif operation == "add_element":
            segment.insert(position, value)
            steps.append(f"segment {at + 1} ({tag}) insert element {position} = {value!r}")
        elif operation == "drop_element":
            if len(segment) > 1:
                del segment[min(position, len(segment) - 1)]
            steps.append(f"segment {at + 1} ({tag}) drop element {position}")
        else:
            if position < len(segment):
                parts = segment[position].split(layout.component)
                part = _position(draw, len(parts) + 1)
                parts[part:part + 1] = [value]
                segment[position] = layout.component.join(parts)
            steps.append(f"segment {at + 1} ({tag}) element {position} component := {value!r}")
    elif operation == "money":
        # the elements posting reads: amounts, quantities, codes and dates of the payment
        chosen = [i for i, segment in enumerate(segments) if segment[0] in MONEY_ELEMENTS]
        if chosen:
            where = chosen[_position(draw, len(chosen))]
            segment = segments[where]
            position = _choice(draw, MONEY_ELEMENTS[segment[0]])
            value = draw(st.one_of(st.sampled_from(HOSTILE_NUMBERS), hostile_values(layout)))
            while len(segment) <= position:
                segment.append("")
            segment[position] = value
            steps.append(f"segment {where + 1} ({segment[0]}) element {position} := {value!r}")
    elif operation == "repeat_loop":
        starts = [i for i, segment in enumerate(segments) if segment[0] in LOOP_STARTS]
        if starts:
            first = _choice(draw, starts)
            loop = segments[first][0]
            end = next((i for i in range(first + 1, len(segments))
                        if segments[i][0] in (loop, "SE", "GE", "IEA")), len(segments))
            times = draw.random.randint(1, 4)
            segments[end:end] = [list(s) for _ in range(times) for s in segments[first:end]]
            steps.append(f"repeat the {loop} loop at segment {first + 1} x{times}")
    elif operation == "trailer_count":
        trailers = [i for i, segment in enumerate(segments) if segment[0] in TRAILERS]
        if trailers:
            where = _choice(draw, trailers)
            value = draw(st.one_of(st.integers(-5, 10**6).map(str),
                                   st.sampled_from(["", "١", "1_0", "9" * 30, "X"])))
            segment = segments[where]
            while len(segment) < 2:
                segment.append("")
            segment[1] = value
            steps.append(f"{segment[0]}01 at segment {where + 1} := {value!r}")
    elif operation == "control_number":
        named = [i for i, segment in enumerate(segments) if segment[0] in CONTROL_NUMBERS]
        if named:
            where = _choice(draw, named)
            segment = segments[where]
            position = CONTROL_NUMBERS[segment[0]]
            value = draw(st.one_of(st.integers(0, 10**12).map(str),
                                   st.sampled_from(["", "0", "000000000", "ABC", "9" * 30])))
            if segment[0] == "ISA":
                value = value[:9].rjust(9, "0")  # keep the ISA fixed width
            while len(segment) <= position:
                segment.append("")
            segment[position] = value
            steps.append(f"{segment[0]}{position:02d} at segment {where + 1} := {value!r}")
    elif operation == "insert_segment":
        new_tag = _choice(draw, [
            "CLP", "SVC", "CAS", "PLB", "BPR", "TRN", "ST", "SE", "GS", "GE", "IEA", "ISA", "LX",
            "HL", "CLM", "SV1", "STC", "AK2", "IK5", "AK9", "NM1", "DTM", "AMT", "XYZ", "Q",
            "ZZZZ"])
        elements = draw(st.lists(hostile_values(layout), max_size=6))
        segments.insert(at, [new_tag, *elements])
        steps.append(f"insert {new_tag} at segment {at + 1} with {elements!r}")
    elif operation == "lowercase_tag":
        segments[at][0] = tag.lower()
        steps.append(f"segment {at + 1} tag {tag!r} lower-cased")
    elif operation == "delimiters":
        which = _choice(draw, ["element", "component", "terminator"])
        char = _choice(draw, ["|", "^", ">", "\n", "!", "*", "~", ":", "A", " ", "\x1d",
                              "\x00", "\u00a7"])
        layout = Layout(char if which == "element" else layout.element,
                        char if which == "component" else layout.component,
                        char if which == "terminator" else layout.terminator,
                        layout.line_break)
        if which == "component" and segments and segments[0][0] == "ISA" \
                and len(segments[0]) > 16:
            segments[0][16] = char
        steps.append(f"{which} delimiter := {char!r}")
    elif operation == "line_breaks":
        layout = Layout(layout.element, layout.component, layout.terminator,
                        _choice(draw, ["", "\n", "\r\n", "\r", "\n\n"]))
        steps.append(f"line break after segments := {layout.line_break!r}")
    elif operation == "hl_parent":
        # a hierarchy that points at itself, at a later level or at none
        levels = [i for i, segment in enumerate(segments) if segment[0] == "HL"]
        if levels:
            where = _choice(draw, levels)
            segment = segments[where]
            while len(segment) < 3:
                segment.append("")
            ids = [segments[i][1] for i in levels if len(segments[i]) > 1]
            segment[2] = _choice(draw, [*ids, "", "0", "999"])
            steps.append(f"HL at segment {where + 1} parent := {segment[2]!r}")
    elif operation == "empty_segment":
        segments.insert(at, [""])
        steps.append(f"empty segment at {at + 1}")
    return layout


def recount(segments: list[list[str]]) -> None:
    """SE01, GE01 and IEA01 set to what their envelopes hold, in place."""
    start = transactions = groups = 0
    for index, segment in enumerate(segments):
        tag = segment[0]
        if tag == "ST":
            start = index
            transactions += 1
        elif tag == "SE" and len(segment) > 1:
            segment[1] = str(index - start + 1)
        elif tag == "GS":
            transactions = 0
            groups += 1
        elif tag == "GE" and len(segment) > 1:
            segment[1] = str(transactions)
        elif tag == "ISA":
            groups = 0
        elif tag == "IEA" and len(segment) > 1:
            segment[1] = str(groups)


def _mutate_bytes(draw: _Draw, data: bytes, steps: list[str]) -> bytes:
    """One byte-level mutation."""
    operation = _choice(draw, ["truncate", "flip", "insert", "bom", "chunk_repeat"])
    at = _position(draw, len(data) + 1)
    if operation == "truncate":
        steps.append(f"truncate at byte {at}")
        return data[:at]
    if operation == "flip":
        # mostly ASCII: a byte that is not UTF-8 stops ``remit post`` at once
        byte = draw.random.randrange(256 if draw.random.randrange(4) == 0 else 128)
        steps.append(f"byte {at} := {byte:#04x}")
        return data[:at] + bytes([byte]) + data[at + 1:]
    if operation == "insert":
        extra = (draw(st.binary(min_size=1, max_size=8)) if draw.random.randrange(4) == 0
                 else bytes(draw.random.randrange(128) for _ in range(draw.random.randint(1, 8))))
        steps.append(f"insert {extra!r} at byte {at}")
        return data[:at] + extra + data[at:]
    if operation == "bom":
        where = _choice(draw, [0, at])
        steps.append(f"byte-order mark at byte {where}")
        return data[:where] + "\ufeff".encode() + data[where:]
    length = draw.random.randint(1, 400)
    times = draw.random.randint(1, 5)
    chunk = data[at:at + length]
    steps.append(f"repeat bytes {at}..{at + len(chunk)} x{times}")
    return data[:at] + chunk * (times + 1) + data[at + len(chunk):]


@st.composite
def mutants(hypothesis_draw: Any, seeds: dict[str, str]) -> Mutant:
    """A seed (by name) with 1-4 structural mutations, and for a third of the mutants 1-2
    byte-level ones after them."""
    draw = _Draw(hypothesis_draw)
    # the engine's own documents get half the draws: most of the others stop at one known
    # defect (an 837P example's NPI fails its check digit), a shallow place to fuzz
    engine = sorted(name for name in seeds if name.startswith("engine/"))
    others = sorted(name for name in seeds if not name.startswith("engine/"))
    name = _choice(draw, _choice(draw, [names for names in (engine, others) if names]))
    text = seeds[name]
    layout = layout_of(text)
    segments = segments_of(text, layout)
    steps: list[str] = []
    for _ in range(draw.random.randint(1, 4)):
        layout = _mutate_segments(draw, segments, layout, steps)
    if draw.random.randrange(2) and not any(step[:4] in ("SE01", "GE01", "IEA0")
                                            for step in steps):
        # half the senders count right whatever they wrote: the mutation then reaches the
        # transaction's decoder instead of stopping at the trailer's count
        recount(segments)
        steps.append("trailer counts recounted")
    data = text_of(segments, layout).encode("utf-8")
    # byte-level damage mostly stops the reader early: a third of the mutants get it
    if draw.random.randrange(3) == 0:
        for _ in range(draw.random.randint(1, 2)):
            data = _mutate_bytes(draw, data, steps)
    if draw.random.randrange(10) == 0:
        # two interchanges in one file: the same one again (a resent batch) or another seed
        other = _choice(draw, [name, *sorted(seeds)])
        data += seeds[other].encode("utf-8")
        steps.append(f"then the interchange of {other}")
    return Mutant(name, steps, data)


# -- well-formed 835s that say odd things ------------------------------------------------------

#: Amounts that are valid X12 numbers, some of which no payer should send.
ODD_AMOUNTS = ["0", "0.00", "-0.01", "0.01", "-1", "-125", "1", "125", "224.99", "1000000",
               "99999999.99", "-99999999.99", "12345678901234.56", "1.5", "10"]
ODD_DATES = ["19000101", "19991231", "20000229", "20261231", "20991231", "20260101"]
#: CLP02 claim status codes (paid primary ... reversal, not our claim), and some others.
CLAIM_STATUSES = ["1", "2", "3", "4", "19", "20", "21", "22", "23", "25", "0", "99"]
GROUP_CODES = ["CO", "PR", "OA", "PI", "CR"]
REASON_CODES = ["1", "2", "3", "45", "18", "23", "50", "96", "97", "253", "A1", "B7", "Z9"]
#: (segment ID, element position) -> the values it is given.
POSTING_ELEMENTS: dict[tuple[str, int], list[str]] = {
    ("BPR", 2): ODD_AMOUNTS, ("BPR", 1): ["I", "H", "X", "P"], ("BPR", 16): ODD_DATES,
    ("CLP", 2): CLAIM_STATUSES, ("CLP", 3): ODD_AMOUNTS, ("CLP", 4): ODD_AMOUNTS,
    ("CLP", 5): ODD_AMOUNTS, ("CLP", 7): ["2633900000002", "2633900000003", "X", "1"],
    ("CLP", 9): ["1", "7", "8", "0"], ("CAS", 1): GROUP_CODES, ("CAS", 2): REASON_CODES,
    ("CAS", 3): ODD_AMOUNTS, ("CAS", 4): ["1", "0", "-1", "2.5"], ("SVC", 2): ODD_AMOUNTS,
    ("SVC", 3): ODD_AMOUNTS, ("SVC", 5): ["1", "0", "-1", "2", "0.5", "99999"],
    ("AMT", 2): ODD_AMOUNTS, ("DTM", 2): ODD_DATES, ("PLB", 4): ODD_AMOUNTS,
    ("REF", 2): ["5-1", "5-9", "3-1", "X", "0-0"],
}


@st.composite
def posting_mutants(hypothesis_draw: Any, seeds: dict[str, str]) -> Mutant:
    """An engine 835 that still reads: valid numbers, codes and dates that say odd things
    (a claim paid more than charged, a reversal, a negative adjustment, another claim's
    number), loops repeated or dropped, counts kept right. These reach the posting rules."""
    draw = _Draw(hypothesis_draw)
    name = _choice(draw, sorted(n for n in seeds if n.startswith("engine/")))
    layout = layout_of(seeds[name])
    segments = segments_of(seeds[name], layout)
    steps: list[str] = []
    for _ in range(draw.random.randint(1, 4)):
        operation = _choice(draw, ["value", "value", "value", "claim_number", "repeat_claim",
                                   "drop_line"])
        clps = [i for i, segment in enumerate(segments) if segment[0] == "CLP"]
        if operation == "value":
            where = [(i, position) for i, segment in enumerate(segments)
                     for (tag, position) in POSTING_ELEMENTS if tag == segment[0]]
            at, position = _choice(draw, where)
            segment = segments[at]
            value = _choice(draw, POSTING_ELEMENTS[(segment[0], position)])
            while len(segment) <= position:
                segment.append("")
            segment[position] = value
            steps.append(f"segment {at + 1} ({segment[0]}) element {position} := {value!r}")
        elif operation == "claim_number" and len(clps) > 1:
            first, second = _choice(draw, clps), _choice(draw, clps)
            segments[first][1] = segments[second][1]
            steps.append(f"CLP at segment {first + 1} pays the claim of segment {second + 1}")
        elif operation == "repeat_claim":
            first = _choice(draw, clps)
            end = next((i for i in range(first + 1, len(segments))
                        if segments[i][0] in ("CLP", "SE")), len(segments))
            segments[end:end] = [list(segment) for segment in segments[first:end]]
            steps.append(f"the claim payment at segment {first + 1} twice")
        elif operation == "drop_line":
            svcs = [i for i, segment in enumerate(segments) if segment[0] == "SVC"]
            if svcs:
                first = _choice(draw, svcs)
                end = next((i for i in range(first + 1, len(segments))
                            if segments[i][0] in ("SVC", "CLP", "SE")), len(segments))
                del segments[first:end]
                steps.append(f"service line at segment {first + 1} dropped")
    recount(segments)
    return Mutant(name, steps, text_of(segments, layout).encode("utf-8"))


# -- seeds -------------------------------------------------------------------------------------

def sample_seeds(kind: str) -> dict[str, str]:
    """The real documents written by others, of one kind (a key of :data:`SAMPLE_DIRS`)."""
    folder = SAMPLES / SAMPLE_DIRS[kind]
    return {f"{folder.name}/{path.name}": path.read_text(encoding="latin-1")
            for path in sorted(folder.iterdir()) if path.is_file()}


# -- running a command under a time limit -----------------------------------------------------

class CaseTimeout(BaseException):
    """A command ran over :data:`CASE_SECONDS` (not an Exception: nothing may swallow it)."""


@contextmanager
def time_limit(seconds: int = CASE_SECONDS) -> Iterator[None]:
    """Interrupt the block after ``seconds`` (SIGALRM, main thread) and fail if it ran
    longer even when it could not be interrupted (a long C call)."""

    def expired(signum: int, frame: Any) -> None:
        raise CaseTimeout(f"over {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    started = time.monotonic()
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    elapsed = time.monotonic() - started
    if elapsed > seconds:
        raise CaseTimeout(f"took {elapsed:.1f} s")


# -- the ledger and claim states, to compare before and after a failed command ----------------

#: What a failed ``remit post`` must leave untouched: money, claim states and the records an
#: 835 makes (remittances, exceptions, denials, adjudications, findings).
LEDGER_QUERIES = {
    "ledger": "select count(*), coalesce(sum(amount), 0), coalesce(sum(insurance_delta), 0), "
              "coalesce(sum(patient_delta), 0) from ledger_entries",
    "postings": "select count(*) from postings",
    "claims": "select group_concat(id || ':' || state, ',') from "
              "(select id, state from claims order by id)",
    "transitions": "select count(*) from claim_transitions",
    "remittances": "select count(*) from remittances",
    "exceptions": "select count(*) from remittance_exceptions",
    "provider_adjustments": "select count(*) from provider_adjustments",
    "denials": "select count(*) from denials",
    "adjudications": "select count(*) from claim_adjudications",
    "findings": "select count(*) from remittance_findings",
}


def ledger_snapshot(database: Path) -> dict[str, tuple[Any, ...]]:
    with sqlite3.connect(database) as db:
        return {name: tuple(db.execute(query).fetchone()) for name, query in
                LEDGER_QUERIES.items()}


def restore_database(template: Path, database: Path) -> None:
    """``database`` as ``template`` again (the write-ahead log of the last case removed)."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(template, database)


#: The lines a traceback or the last-resort guard would print.
CRASH_MARKERS = re.compile(r"Traceback \(most recent call last\)|internal error \(")
