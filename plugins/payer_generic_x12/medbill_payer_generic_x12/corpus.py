"""A corpus run: read every X12 file under a folder and count, per transaction set, what the
engine reads cleanly, reads with findings, reads only with ``--lenient``, and refuses (with the
reason). It answers "how much of what others send can we read?" for a folder of files from
trading partners or of public examples.

Each file is read as ``medbill x12 parse`` reads it (:func:`~.codec.read_document`, default
mode: structure enforced, business rules reported as positioned findings). A read without
findings is *clean*; with findings, *findings* (their kinds are counted: what rule, without the
position); a refusal that a lenient read gets past (trailer counts, a component separator
other than ISA16's ...) is *lenient*; a refusal both ways is *refused*, with the default
reason. An exception other than a positioned X12 error is counted as a *crash* (a defect:
there should be none). Messages never carry element values (see :mod:`.x12.errors`), so the
report holds no PHI; file names are printed as they are.

Run it with ``python plugins/payer_generic_x12/scripts/x12_corpus.py DIR [--json]``.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medbill_payer_generic_x12.codec import _kind_of as kind_of  # the ST -> kind table
from medbill_payer_generic_x12.codec import detect_kind, read_document
from medbill_payer_generic_x12.x12.errors import X12Error

#: what a file's verdict is
CLEAN, FINDINGS, LENIENT, REFUSED, CRASHED = "clean", "findings", "lenient", "refused", "crashed"
OUTCOMES = (CLEAN, FINDINGS, LENIENT, REFUSED, CRASHED)
#: the bucket of files whose transaction set could not be told (not X12, no ST ...)
UNKNOWN = "unknown"
_SKIPPED_SUFFIXES = {".md", ".rows", ".py", ".json"}

#: ``decode(text, lenient)``: the document's objects with ``.findings``, or an X12 error
Decode = Callable[[str, bool], Any]


@dataclass
class Verdict:
    path: str
    transaction_set: str
    outcome: str
    #: the strict refusal (a finding when the lenient read succeeded), one line, no data
    reason: str | None = None
    #: the kind of the refusal: what the engine expected, without the position
    kind: str | None = None
    #: the kinds of the findings of a file read with findings (each counted once per file)
    kinds: list[str] = field(default_factory=list)


@dataclass
class SetSummary:
    transaction_set: str
    files: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    finding_kinds: Counter[str] = field(default_factory=Counter)
    refused: list[tuple[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"transaction_set": self.transaction_set, "files": self.files,
                **{outcome: self.outcomes[outcome] for outcome in OUTCOMES},
                "finding_kinds": dict(self.finding_kinds.most_common()),
                "refused_files": [{"file": name, "reason": reason}
                                  for name, reason in self.refused]}


def _attempt(decode: Decode, text: str, lenient: bool) -> tuple[Any, Exception | None]:
    """What reading ``text`` gave, or what it raised."""
    try:
        return decode(text, lenient), None
    except Exception as error:  # a crash is one of the things this run is here to count
        return None, error


def _read(text: str, lenient: bool) -> Any:
    return read_document(text, lenient=lenient)


def judge(path: Path, root: Path, decode: Decode | None = None) -> Verdict:
    """The verdict on one file (``decode`` defaults to :func:`~.codec.read_document`)."""
    decode = decode or _read
    name = path.relative_to(root).as_posix()
    # latin-1 never fails: X12 is ASCII, so a stray byte shows up as an X12 error instead
    text = path.read_text(encoding="latin-1")
    try:
        transaction_set = detect_kind(text).value
    except X12Error:
        transaction_set = _unsupported_label(text)
    result, error = _attempt(decode, text, False)
    if error is None:
        findings = list(getattr(result, "findings", []))
        if not findings:
            return Verdict(name, transaction_set, CLEAN)
        kinds = sorted({finding.message for finding in findings})
        return Verdict(name, transaction_set, FINDINGS, str(findings[0]), kinds=kinds)
    if not isinstance(error, X12Error):
        return Verdict(name, transaction_set, CRASHED, type(error).__name__,
                       type(error).__name__)
    _, lenient_error = _attempt(decode, text, True)
    if lenient_error is not None and not isinstance(lenient_error, X12Error):
        return Verdict(name, transaction_set, CRASHED, type(lenient_error).__name__,
                       type(lenient_error).__name__)
    return Verdict(name, transaction_set, LENIENT if lenient_error is None else REFUSED,
                   str(error), error.expected)


def _unsupported_label(text: str) -> str:
    """The transaction set of a file the engine refuses before telling it: its DocumentKind when
    the ST names one (``837P``), else ``837 005010X223A2``; ``unknown`` without an ISA and ST.
    Read loosely (ISA04's separator, ISA's 106th character as terminator, a byte-order mark
    allowed) because the file is being refused for its envelope."""
    start = text.find("ISA")
    if start < 0 or len(text) < start + 106:
        return UNKNOWN
    element, terminator = text[start + 3], text[start + 105]
    version = ""
    for raw in text[start:start + 8192].split(terminator):
        parts = raw.strip().split(element)
        if parts[0] == "GS" and len(parts) > 8:
            version = parts[8]
        elif parts[0] == "ST" and len(parts) > 1:
            reference = parts[3] if len(parts) > 3 and parts[3] else version
            kind = kind_of(parts[1], reference)
            return kind.value if kind else f"{parts[1]} {reference}".strip()
    return UNKNOWN


def files_under(root: Path) -> list[Path]:
    """Every file under ``root`` but notes and listings, in a stable order."""
    return sorted(p for p in root.rglob("*")
                  if p.is_file() and p.suffix.lower() not in _SKIPPED_SUFFIXES
                  and not p.name.startswith("."))


def summarise(verdicts: Iterable[Verdict]) -> dict[str, SetSummary]:
    sets: dict[str, SetSummary] = {}
    for verdict in verdicts:
        summary = sets.setdefault(verdict.transaction_set, SetSummary(verdict.transaction_set))
        summary.files += 1
        summary.outcomes[verdict.outcome] += 1
        if verdict.outcome == FINDINGS:
            summary.finding_kinds.update(verdict.kinds)
        elif verdict.outcome == LENIENT and verdict.kind:
            summary.finding_kinds[f"(lenient) {verdict.kind}"] += 1
        elif verdict.outcome in (REFUSED, CRASHED):
            summary.refused.append((verdict.path, verdict.reason or ""))
    return dict(sorted(sets.items()))


def run(root: Path, decode: Decode | None = None) -> dict[str, SetSummary]:
    return summarise(judge(path, root, decode) for path in files_under(root))


def report(sets: dict[str, SetSummary], top: int = 5) -> str:
    """The summary as text: a line per transaction set, then its top finding kinds and refusals."""
    lines: list[str] = []
    totals: Counter[str] = Counter()
    for summary in sets.values():
        counts = summary.outcomes
        totals.update(counts)
        lines.append(f"{summary.transaction_set}: {summary.files} file(s): {counts[CLEAN]} read "
                     f"cleanly, {counts[FINDINGS]} read with findings, {counts[LENIENT]} read "
                     f"only with --lenient, {counts[REFUSED]} refused"
                     + (f", {counts[CRASHED]} CRASHED" if counts[CRASHED] else ""))
        for kind, count in summary.finding_kinds.most_common(top):
            lines.append(f"  finding x{count}: {kind}")
        for name, reason in summary.refused:
            lines.append(f"  refused {name}: {reason}")
    lines.append(f"total: {sum(totals.values())} file(s): {totals[CLEAN]} read cleanly, "
                 f"{totals[FINDINGS]} read with findings, {totals[LENIENT]} read only with "
                 f"--lenient, {totals[REFUSED]} refused, "
                 f"{totals[CRASHED]} crashed")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``x12_corpus.py DIR [--json]``: exit 0, or 1 when a file crashed the engine, 2 on usage."""
    args = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in args
    folders = [a for a in args if a != "--json"]
    if len(folders) != 1 or not Path(folders[0]).is_dir():
        print("usage: x12_corpus.py DIR [--json]  (DIR: a folder of X12 files)", file=sys.stderr)
        return 2
    root = Path(folders[0])
    sets = run(root)
    if as_json:
        print(json.dumps([summary.as_dict() for summary in sets.values()], indent=2))
    else:
        print(report(sets))
    return 1 if any(s.outcomes[CRASHED] for s in sets.values()) else 0


__all__ = ["CLEAN", "CRASHED", "FINDINGS", "LENIENT", "OUTCOMES", "REFUSED", "SetSummary",
           "Verdict", "judge", "main", "report", "run"]
