"""The X12 CARC and RARC lists: the packaged merge of two editions, and ``codes update``.

X12 publishes the Claim Adjustment Reason Codes (code source 139) and the Remittance
Advice Remark Codes (code source 411) as web lists, updated three times a year (1 March,
1 July, 1 November). medbill ships two editions and merges them:

* the lists **as of 2024-06-18** (``carc.csv``, ``rarc.csv``), with start dates, and for
  CARC the stop dates (the RARC scrape kept none);
* the lists **as of 2026-08-17** (``carc_2026-08.csv``, ``rarc_2026-08.csv``: code,
  status current/deactivated, description), without any dates.

The merge rule (:func:`merge`), also applied to a list a user loads:

* every code of the newer list is kept, with the **newer description** (X12 revises the
  texts); X12's "Usage:" text, which the newer lists append to the description, is kept
  apart, in the code's note, so the description stays the reason itself;
* start and stop dates come from the newer list when it has them, else from the dated
  2024 list; a code absent from the 2024 list has no start date and a note saying it was
  added after 2024-06-18;
* a code the newer list calls *deactivated* but whose stop date nobody gave stays
  **valid on every date, with a note**. X12 says a stopped code can no longer be used in
  original remittances after its stop date, but we do not know that date, and a
  remittance is what a payer sent: medbill must read it as sent (reversals and
  corrections may carry stopped codes anyway). So the check is a warning at most, never
  a rejection. A known stop date still makes a later date ``TERMINATED``;
* a code the newer list calls *current* that had a stop date in the dated list was
  reinstated: the stop date is dropped, with a note;
* codes only in the dated list stay as they were.

A list's edition (the "as of" date) comes from the file name (``carc_2026-08-17.csv``,
``rarc_2026-08.csv``: the first of the month) or else from the latest start, last-modified
or stop date in it; its release window is the X12 update period containing that date
(:class:`~medbill_core.codesets.releases.Cadence` ``X12_TRIANNUAL``).
"""

from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path

from medbill_core.codesets.formats import CARC_RE, RARC_RE, SHAPE_HINTS, normalize
from medbill_core.codesets.model import CodeInfo, CodeSetError, CodeSystem
from medbill_core.codesets.releases import Cadence, ReleaseWindow, loaded_releases, period
from medbill_core.codesets.tables import (
    _COLUMNS,
    Row,
    _norm_header,
    parse_date,
    read_packaged_csv,
    rows_to_table,
    write_table,
)
from medbill_core.codesets.update import PreparedRelease, ReleaseFormat, SourceFile, digest_of

Table = dict[str, CodeInfo]

KEYS = {CodeSystem.CARC: "carc", CodeSystem.RARC: "rarc"}

#: The dated lists (as of about 2024-06-18): file, whether it kept stop dates.
DATED = {CodeSystem.CARC: ("carc.csv", True), CodeSystem.RARC: ("rarc.csv", False)}
DATED_AS_OF = date(2024, 6, 18)
#: The newer lists shipped (status and description only).
NEWER = {CodeSystem.CARC: "carc_2026-08.csv", CodeSystem.RARC: "rarc_2026-08.csv"}
NEWER_AS_OF = date(2026, 8, 17)

#: A loaded release folder holds ``<system>.csv.gz`` in the canonical layout.
STORED_FILE = {CodeSystem.CARC: "carc.csv.gz", CodeSystem.RARC: "rarc.csv.gz"}

_STATUS = ("status", "code_status")
_LAST_MODIFIED = ("last_modified_date", "last_modified", "modified")
_LIST_MARKERS = _STATUS + _LAST_MODIFIED + ("start_date", "stop_date", "start", "stop",
                                            "deactivation_date")
_AS_OF_RE = re.compile(r"(20[0-9]{2})-(0[1-9]|1[0-2])(?:-([0-3][0-9]))?")


@dataclass(frozen=True, slots=True)
class ListEntry:
    """One code of an X12 list as read, before the merge."""

    line: int
    code: str
    description: str  # the text before X12's "Usage:" note
    usage: str  # X12's "Usage:" note, if any
    status: str  # "current", "deactivated" or "" (not given)
    start: date | None
    stop: date | None
    last_modified: date | None
    notes: str


def release_label(system: CodeSystem, as_of: date) -> str:
    """``X12 CARC list, July 2026 update (as of 2026-08-17)``."""
    name, _, _ = period(Cadence.X12_TRIANNUAL, as_of)
    return f"X12 {system.label} list, {name} (as of {as_of})"


def window(as_of: date) -> tuple[date, date]:
    """The X12 update period containing ``as_of``."""
    _, start, end = period(Cadence.X12_TRIANNUAL, as_of)
    assert end is not None  # X12 periods always end
    return start, end


# -- reading a list -----------------------------------------------------------------------------

def _pick(row: Row, names: Sequence[str]) -> str:
    for name in names:
        value = row.get(name)
        if value is not None and value.strip():
            return value.strip()
    return ""


def _header(text: str) -> tuple[int, list[str], str] | None:
    """(line index, normalised names, delimiter) of the header row, if there is one."""
    for index, line in enumerate(text.splitlines()[:20]):
        delimiter = "\t" if line.count("\t") > line.count(",") else ","
        names = [_norm_header(c) for c in next(csv.reader([line], delimiter=delimiter), [])]
        if "code" in names and "description" in names:
            return index, names, delimiter
    return None


def read_list(system: CodeSystem, text: str, *, where: str) -> list[ListEntry]:
    """The codes of an X12 list export: ``code, status, description`` (the shared 2026
    files) or x12.org's ``code, description, start date, last modified, stop date`` (and
    medbill's own dated files). Raises :class:`CodeSetError` naming the line of a bad row."""
    found = _header(text)
    if found is None:
        raise CodeSetError(f"{where}: no header row with code and description columns")
    index, names, delimiter = found
    reader = csv.reader(io.StringIO("\n".join(text.splitlines()[index + 1:])),
                        delimiter=delimiter)
    entries: list[ListEntry] = []
    shape = RARC_RE if system is CodeSystem.RARC else CARC_RE
    for number, values in enumerate(reader, start=index + 2):
        if not any(v.strip() for v in values):
            continue
        row = dict(zip(names, values, strict=False))
        raw = row.get("code", "").strip()
        code = normalize(system, raw)
        if not shape.match(code):
            raise CodeSetError(f"{where}: line {number}: {raw!r} is not a {system.label} code"
                               f" ({SHAPE_HINTS[system]})")
        status = _pick(row, _STATUS).lower()
        if status and status not in ("current", "deactivated"):
            raise CodeSetError(f"{where}: line {number} ({code}): status {status!r} is not"
                               " current or deactivated")
        try:
            start = parse_date(_pick(row, _COLUMNS["effective"]))
            stop = parse_date(_pick(row, _COLUMNS["terminated"]))
            modified = parse_date(_pick(row, _LAST_MODIFIED))
        except ValueError as exc:
            raise CodeSetError(f"{where}: line {number} ({code}): {exc}") from None
        description = " ".join(_pick(row, ("description",)).split())
        description, _, usage = description.partition(" Usage: ")
        usage = usage or " ".join(_pick(row, ("usage",)).split())
        entries.append(ListEntry(number, code, description, usage, status, start, stop,
                                 modified, _pick(row, ("note", "notes"))))
    return entries


def list_kind(codes: Sequence[str]) -> CodeSystem | None:
    """CARC or RARC, by the codes' shapes: RARCs are all M, MA or N plus digits; a CARC
    list has plain numbers (1, 2, 45 ...). ``None`` when the codes are neither."""
    cleaned = [c.strip().upper() for c in codes if c.strip()]
    if not cleaned:
        return None
    if all(RARC_RE.match(c) for c in cleaned) and not any(c.isdigit() for c in cleaned):
        return CodeSystem.RARC
    if all(CARC_RE.match(c) for c in cleaned) and any(c.isdigit() for c in cleaned):
        return CodeSystem.CARC
    return None


# -- the merge ---------------------------------------------------------------------------------

def merge(system: CodeSystem, dated: Table, entries: Sequence[ListEntry], *, as_of: date,
          source: str, dated_as_of: date = DATED_AS_OF,
          dated_has_stops: bool = True) -> Table:
    """The newer list ``entries`` (as of ``as_of``) over the ``dated`` table (see the
    module docstring for the rule)."""
    merged: Table = dict(dated)
    for entry in entries:
        old = dated.get(entry.code)
        start = entry.start or (old.effective if old else None)
        stop = entry.stop or (old.terminated if old else None)
        notes = [f"Usage: {entry.usage}" if entry.usage else "",
                 entry.notes or (old.note if old else "")]
        if old is None and entry.start is None:
            notes.append(f"added to the X12 list after {dated_as_of} (listed as of {as_of});"
                         " its start date is not in medbill's data")
        if entry.status == "current" and stop is not None and stop <= as_of \
                and entry.stop is None:
            notes.append(f"current again in the X12 list as of {as_of} (it had stopped after"
                         f" {stop})")
            stop = None
        if entry.status == "deactivated" and stop is None:
            since = (f" after {dated_as_of}" if old is not None and dated_has_stops else "")
            notes.append(f"deactivated by X12{since} (listed as deactivated as of {as_of});"
                         " its stop date is not in medbill's data, so it is accepted on any"
                         " date: a payer may not use it in an original remittance after its"
                         " stop date")
        merged[entry.code] = CodeInfo(
            system, entry.code, entry.description or (old.description if old else ""),
            effective=start, terminated=stop, source=source,
            note="; ".join(n for n in notes if n))
    return merged


@functools.cache
def dated_table(system: CodeSystem) -> Table:
    """The packaged dated list (as of 2024-06-18)."""
    name, _ = DATED[system]
    return rows_to_table(system, read_packaged_csv(name),
                         f"X12 {system.label} list as of {DATED_AS_OF}", where=name)


@functools.cache
def packaged_table(system: CodeSystem) -> Table:
    """The packaged list: the 2026-08-17 list merged over the dated 2024 list."""
    name = NEWER[system]
    text = resources.files("medbill_core.codesets").joinpath("data", name).read_text(
        encoding="utf-8-sig")
    return merge(system, dated_table(system), read_list(system, text, where=name),
                 as_of=NEWER_AS_OF, source=f"X12 {system.label} list as of {NEWER_AS_OF}"
                 f" (dates from the list as of {DATED_AS_OF})",
                 dated_has_stops=DATED[system][1])


# -- `medbill codes update` --------------------------------------------------------------------

def _head_codes(source: SourceFile) -> tuple[list[str], list[str]] | None:
    text = source.head_text()
    found = _header(text)
    if found is None:
        return None
    index, names, delimiter = found
    lines = text.splitlines()[index + 1:-1]  # the last line of the head may be cut
    column = names.index("code")
    codes = [row[column] for row in csv.reader(lines, delimiter=delimiter)
             if len(row) > column]
    return names, codes


def _recognise_as(system: CodeSystem) -> Callable[[SourceFile], bool]:
    def recognise(source: SourceFile) -> bool:
        found = _head_codes(source)
        if found is None:
            return False
        names, codes = found
        if "name" in names or "recid" in names or not any(m in names for m in _LIST_MARKERS):
            return False
        return list_kind(codes) is system
    return recognise


def edition(source: SourceFile, entries: Sequence[ListEntry]) -> date:
    """The list's "as of" date: from the name (``carc_2026-08-17.csv``; ``..._2026-08``:
    the first of the month), else the latest date in it."""
    match = _AS_OF_RE.search(source.name)
    if match:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3) or 1))
    dates = [d for e in entries for d in (e.start, e.last_modified, e.stop) if d is not None]
    if not dates:
        raise CodeSetError(f"{source.label}: cannot tell which X12 update it is (no dates in"
                           " it): name it with the date you saved it, e.g. carc_2026-11-20.csv")
    return max(dates)


def _prepare_as(system: CodeSystem) -> Callable[[Sequence[SourceFile]], list[PreparedRelease]]:
    def prepare(sources: Sequence[SourceFile]) -> list[PreparedRelease]:
        out = []
        for source in sources:
            entries = read_list(system, source.text(), where=source.label)
            if not entries:
                raise CodeSetError(f"{source.label}: no {system.label} codes in it")
            as_of = edition(source, entries)
            label = release_label(system, as_of)
            table = merge(system, dated_table(system), entries, as_of=as_of,
                          source=f"{label}, from {source.name}",
                          dated_has_stops=DATED[system][1])
            start, end = window(as_of)
            out.append(PreparedRelease(KEYS[system], label, start, end, len(entries),
                                       (source,), digest_of([source]), _writer(system, table)))
        return out
    return prepare


def _writer(system: CodeSystem, table: Table) -> Callable[[Path], None]:
    def write(folder: Path) -> None:
        write_table(folder / STORED_FILE[system], table.values())
    return write


FORMATS: list[ReleaseFormat] = [
    ReleaseFormat("X12 CARC list (CSV: code, description, status or start/stop dates)",
                  _recognise_as(CodeSystem.CARC), _prepare_as(CodeSystem.CARC)),
    ReleaseFormat("X12 RARC list (CSV: code, description, status or start/stop dates)",
                  _recognise_as(CodeSystem.RARC), _prepare_as(CodeSystem.RARC)),
]


# -- releases ----------------------------------------------------------------------------------

def release_windows(system: CodeSystem, data_dir: Path | None) -> list[ReleaseWindow]:
    """The packaged list and the lists loaded with ``codes update``."""
    start, end = window(NEWER_AS_OF)
    packaged = ReleaseWindow(
        KEYS[system], release_label(system, NEWER_AS_OF), start, end,
        f"x12.org {system.label} list as of {NEWER_AS_OF}, merged with the dated list as of"
        f" {DATED_AS_OF} (packaged)",
        note="no start/stop dates for codes added or deactivated after 2024-06-18")
    return [packaged] + [w for w, _ in loaded_releases(data_dir, KEYS[system])]
