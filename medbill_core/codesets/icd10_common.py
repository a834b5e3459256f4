"""What ICD-10-CM and ICD-10-PCS share: fiscal-year releases, their stored tables, and the
official CMS/CDC release files ``medbill codes update`` reads.

Both code sets change once a fiscal year (1 October; ICD-10-CM sometimes also on
1 April) and their files carry no per-code dates, so each release governs a window of
dates of service and a lookup picks the release covering the date. A release's table is
read on first use (:class:`LazyRelease`): a claim dated in FY2027 never reads FY2026.

The official files, as CMS and CDC publish them (also inside their zips):

* the **order file** (``icd10cm_order_2027.txt``, ``icd10pcs_order_2027.txt``), fixed
  width: order number (columns 1-5), code (7-13, left-justified, no dot), 1 = valid
  code / 0 = header (15), short title (17-76), long title (78-);
* the **codes file** (``icd10cm_codes_2027.txt``, ``icd10pcs_codes_2027.txt``): the valid
  codes only, the code in a 7-wide field (columns 1-7), a space, the title (column 9-).

They are told apart **by content**: the first line's layout says order or codes file (most
lines must agree), and the codes say CM or PCS: ICD-10-CM codes are a letter and a digit
(or QA) and up to 5 more, its valid codes 3 to 7 characters long; ICD-10-PCS valid codes
have exactly 7 characters, none of them I or O. A file whose codes could be either, or
neither, is not taken for one.
"""

from __future__ import annotations

import csv
import functools
import gzip
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from medbill_core.codesets.formats import ICD10CM_RE, ICD10PCS_RE
from medbill_core.codesets.model import CodeInfo, CodeSetError, CodeSystem, Release

if TYPE_CHECKING:
    from medbill_core.codesets.update import PreparedRelease, ReleaseFormat, SourceFile

Table = dict[str, CodeInfo]
#: A release's table as ``LazyRelease`` hands it out: a ``Table`` or a ``LazyTable``.
ReleaseTable = Mapping[str, CodeInfo]

_MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december"], start=1)}
_MONTH_NAMES = {i: m.title() for m, i in _MONTHS.items()}

#: The header row of a stored release table (short titles are optional, for older files).
TABLE_HEADER = ("code", "description", "billable", "short_description")


# -- release windows --------------------------------------------------------------------------

def fiscal_year_window(fy: int) -> tuple[date, date]:
    """Fiscal year ``fy`` runs from 1 October of ``fy - 1`` to 30 September of ``fy``."""
    return date(fy - 1, 10, 1), date(fy, 9, 30)


def window_from_name(name: str) -> tuple[date, date] | None:
    """Guess a release window from a file name.

    ``code-list-April-2026.txt`` -> 2026-04-01..2026-09-30 (a 1 April update);
    ``icd10cm-order-2025.txt`` -> FY2025, 2024-10-01..2025-09-30.
    """
    lowered = name.lower()
    match = re.search(r"(january|february|march|april|may|june|july|august|september|october"
                      r"|november|december)[-_ ]?(?:1[-_ ])?(20[0-9]{2})", lowered)
    if match:
        start = date(int(match.group(2)), _MONTHS[match.group(1)], 1)
        end_year = start.year + 1 if start.month >= 10 else start.year
        return start, date(end_year, 9, 30)
    match = re.search(r"(?<![0-9])(20[0-9]{2})(?![0-9])", lowered)
    if match:
        return fiscal_year_window(int(match.group(1)))
    return None


def release_label(system: CodeSystem, effective: date, through: date) -> str:
    """``ICD-10-CM FY2027`` for a whole fiscal year, ``ICD-10-CM April 2026 update`` else."""
    if (effective.month, effective.day) == (10, 1) and through == date(effective.year + 1, 9, 30):
        return f"{system.label} FY{through.year}"
    return f"{system.label} {_MONTH_NAMES[effective.month]} {effective.year} update"


# -- releases read on first use ---------------------------------------------------------------

class LazyRelease:
    """A release and its table, read on first use (once, also across threads).

    ``origin`` is ``packaged`` (shipped with medbill or a package) or ``loaded`` (by the
    user); a loaded release wins over a packaged one covering the same date.
    """

    __slots__ = ("_load", "_lock", "_table", "origin", "release")

    def __init__(self, release: Release, load: Callable[[], ReleaseTable],
                 origin: str = "packaged") -> None:
        self.release = release
        self.origin = origin
        self._load = load
        self._table: ReleaseTable | None = None
        self._lock = threading.Lock()

    def table(self) -> ReleaseTable:
        table = self._table
        if table is None:
            with self._lock:
                if self._table is None:
                    self._table = self._load()
                table = self._table
        return table


def pick_release(releases: Sequence[LazyRelease], on: date) -> tuple[LazyRelease, str]:
    """The release governing ``on`` and the note to attach ('' when one covers it).

    Of the releases covering ``on`` the latest in force wins (a loaded one over a
    packaged one with the same start), as :func:`releases.coverage` decides. When none
    covers it, the nearest is used (the later one on a tie) and the note says so.
    """
    covering = [r for r in releases if r.release.covers(on)]
    if covering:
        return max(covering, key=lambda r: (r.release.effective, r.origin == "loaded")), ""
    nearest = min(reversed(releases), key=lambda r: r.release.distance(on))
    release = nearest.release
    return nearest, (f"date of service {on} is outside the loaded {release.label}"
                     f" ({release.effective}..{release.through}); checked against that"
                     " release")


# -- stored release tables --------------------------------------------------------------------

def write_release(path: Path, table: Table) -> int:
    """Store a release as a gzipped ``code,description,billable,short_description`` CSV."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with gzip.open(tmp, "wt", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(TABLE_HEADER)
        writer.writerows((i.code, i.description, "1" if i.billable else "0",
                          i.short_description) for i in table.values())
    tmp.replace(path)
    return len(table)


def table_from_rows(system: CodeSystem, rows: Iterator[list[str]], source: str,
                    where: str) -> Table:
    """A table from the rows of a stored release (header included). Trusted content:
    it was checked when it was written."""
    header = next(rows, None)
    if header is None or tuple(header[:3]) != TABLE_HEADER[:3]:
        raise CodeSetError(f"{where}: not a medbill {system.label} release file")
    table: Table = {}
    if len(header) >= 4:
        for code, description, billable, short, *_ in rows:
            table[code] = CodeInfo(system, code, description, short, billable == "1", True,
                                   None, None, False, source)
    else:
        for code, description, billable, *_ in rows:
            table[code] = CodeInfo(system, code, description, "", billable == "1", True,
                                   None, None, False, source)
    return table


def read_release(path: Path, source: str,
                 system: CodeSystem = CodeSystem.ICD10CM) -> Table:
    """Read a file written by :func:`write_release`."""
    try:
        with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
            return table_from_rows(system, csv.reader(handle), source, str(path))
    except (OSError, EOFError, ValueError, csv.Error) as exc:
        raise CodeSetError(f"cannot read {path}: {exc}") from exc


class LazyTable(MutableMapping[str, CodeInfo]):
    """A packaged release table whose records are parsed when first looked up.

    A claim looks up a handful of the 98,000 ICD-10-CM codes: splitting the file into
    lines keyed by code costs a fifth of parsing every record into a :class:`CodeInfo`,
    and keeps ``medbill codes show`` and the first scrub of a day quick. Iterating the
    values (search, writing a copy) parses them all, once.
    """

    __slots__ = ("_parse", "_raw")

    def __init__(self, raw: dict[str, str | CodeInfo],
                 parse: Callable[[str], CodeInfo]) -> None:
        self._raw = raw
        self._parse = parse

    def __getitem__(self, code: str) -> CodeInfo:
        found = self._raw[code]
        if isinstance(found, str):
            found = self._raw[code] = self._parse(found)
        return found

    def get(self, code: str, default: CodeInfo | None = None) -> CodeInfo | None:  # type: ignore[override]
        found = self._raw.get(code)
        if found is None:
            return default
        if isinstance(found, str):
            found = self._raw[code] = self._parse(found)
        return found

    def __setitem__(self, code: str, info: CodeInfo) -> None:
        self._raw[code] = info

    def __delitem__(self, code: str) -> None:
        del self._raw[code]

    def __contains__(self, code: object) -> bool:
        return code in self._raw

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def without(self, codes: Iterable[str]) -> LazyTable:
        """A copy without ``codes`` (records still unparsed stay so)."""
        raw = dict(self._raw)  # copied whole, then the few codes taken out: same order
        for code in codes:
            raw.pop(code, None)
        return LazyTable(raw, self._parse)

    @classmethod
    def from_csv_text(cls, text: str, header: Sequence[str], parse: Callable[[list[str]],
                      CodeInfo], *, where: str) -> LazyTable:
        """Index ``text`` (a trusted, medbill-written CSV whose first column is the code and
        whose records are one line each) by code; ``parse`` gets a record's cells."""
        lines = text.split("\n")
        if next(csv.reader([lines[0].rstrip("\r")]), []) != list(header):
            raise CodeSetError(f"{where}: not a medbill release table (header {header})")
        raw: dict[str, str | CodeInfo] = {}
        for line in lines[1:]:
            if line:
                raw[line[:line.find(",")]] = line

        def parse_line(line: str) -> CodeInfo:
            return parse(next(csv.reader([line.rstrip("\r")])))

        return cls(raw, parse_line)


def read_packaged_release(name: str, system: CodeSystem, source: str) -> LazyTable:
    """A release table shipped in ``medbill_core/codesets/data`` (gzipped), parsed lazily."""
    from importlib import resources

    raw = resources.files("medbill_core.codesets").joinpath("data", name).read_bytes()
    text = gzip.decompress(raw).decode("utf-8")

    def parse(cells: list[str]) -> CodeInfo:
        code, description, billable, short, *_ = (*cells, "")
        return CodeInfo(system, code, description, short, billable == "1", True, None, None,
                        False, source)

    return LazyTable.from_csv_text(text, TABLE_HEADER, parse, where=name)


# -- the official order and codes files -------------------------------------------------------

ORDER = "order"
CODES = "codes"
# the code field is 7 wide, left-justified: the flag is always in column 15
_ORDER_LINE = re.compile(r"^[0-9]{5} (?:[0-9A-Z]{7}|[0-9A-Z]{6} |[0-9A-Z]{5}  |[0-9A-Z]{4}   "
                         r"|[0-9A-Z]{3}    ) [01](?: |$)")
# the code field is 7 wide too, then one space and the title (column 9)
_CODES_LINE = re.compile(r"^([0-9A-Z]{7}|[0-9A-Z]{6} |[0-9A-Z]{5}  |[0-9A-Z]{4}   "
                         r"|[0-9A-Z]{3}    ) (\S.*)$")
# stricter than ICD10CM_RE, to tell files apart: the second character is a digit but in QA
_CM_STRICT = re.compile(r"^(?:[A-Z][0-9]|QA)[0-9A-Z]{1,5}$")
_PCS_PART = re.compile(r"^[0-9A-HJ-NP-Z]{1,6}$")


@dataclass(frozen=True, slots=True)
class OfficialRow:
    """One record of an official file: ``billable`` is False for an order file's headers."""

    line: int
    code: str
    billable: bool
    short: str
    long: str


def _lines(text: str) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.rstrip("\r\n ")
        if line.strip():
            yield number, line


def _order_row(number: int, line: str, where: str) -> OfficialRow:
    if not _ORDER_LINE.match(line) or len(line) < 17:
        raise CodeSetError(f"{where} line {number}: not an order-file record (order number,"
                           " code, 0/1 flag, short title, long title in fixed columns)")
    long = line[77:].strip() if len(line) > 77 else ""
    short = line[16:76].strip()
    if not long:
        raise CodeSetError(f"{where} line {number}: {line[6:13].strip()} has no long title")
    return OfficialRow(number, line[6:13].strip(), line[14] == "1", short, long)


def _codes_row(number: int, line: str, where: str) -> OfficialRow:
    match = _CODES_LINE.match(line)
    if match is None:
        raise CodeSetError(f"{where} line {number}: not a codes-file record (a code, then"
                           " its title)")
    return OfficialRow(number, match.group(1).strip(), True, "", match.group(2).strip())


def _fits(system: CodeSystem, code: str, billable: bool) -> bool:
    """Whether ``code`` can be a code (or a header) of ``system``."""
    if system is CodeSystem.ICD10PCS:
        return bool(ICD10PCS_RE.match(code) if billable else _PCS_PART.match(code))
    return bool(_CM_STRICT.match(code)) and (billable or len(code) < 7)


def _layout_of(records: list[str]) -> str | None:
    """The first record says the layout and most of the others must agree (a bad line
    further down is then reported with its number when the file is read)."""
    for layout, pattern in ((ORDER, _ORDER_LINE), (CODES, _CODES_LINE)):
        if records and pattern.match(records[0]) \
                and 2 * sum(1 for line in records if pattern.match(line)) >= len(records):
            return layout
    return None


def classify(source: SourceFile) -> tuple[str, CodeSystem] | None:
    """(layout, code system) of an official ICD-10 file, from its first 64 KiB; None when
    it is not one."""
    from medbill_core.codesets.update import HEAD_BYTES

    text = source.head_text()
    lines = text.splitlines()
    if len(source.head) >= HEAD_BYTES and lines:
        lines = lines[:-1]  # the last line may be cut short
    records = [line.rstrip() for line in lines if line.strip()]
    layout = _layout_of(records)
    if layout is None:
        return None
    pattern = _ORDER_LINE if layout == ORDER else _CODES_LINE
    matching = [line for line in records if pattern.match(line)]
    if layout == ORDER:
        codes = [(line[6:13].strip(), line[14] == "1") for line in matching]
    else:
        codes = [(line[:7].strip(), True) for line in matching]
    # codes only one system can have decide, and none may point to the other; codes that
    # fit neither are errors reported with their line when the file is read, unless most do
    only: dict[CodeSystem, int] = {CodeSystem.ICD10CM: 0, CodeSystem.ICD10PCS: 0}
    misfits = 0
    for code, billable in codes:
        fitting = [system for system in only if _fits(system, code, billable)]
        if len(fitting) == 1:
            only[fitting[0]] += 1
        misfits += not fitting
    if 2 * misfits > len(codes):
        return None
    found = [system for system, count in only.items() if count]
    return (layout, found[0]) if len(found) == 1 else None


def read_official(source: SourceFile, layout: str, system: CodeSystem) -> list[OfficialRow]:
    """Every record of an official file, checked strictly: the layout of each line, code
    shapes, order numbers rising, no code twice. Raises :class:`CodeSetError` naming the
    file and line."""
    where = source.label
    text = source.text()
    rows: list[OfficialRow] = []
    seen: dict[str, int] = {}
    previous = 0
    for number, line in _lines(text):
        row = _order_row(number, line, where) if layout == ORDER \
            else _codes_row(number, line, where)
        if layout == ORDER:
            order = int(line[:5])
            if order <= previous:
                raise CodeSetError(f"{where} line {number}: order number {order} does not"
                                   f" follow {previous}")
            previous = order
        _check_shape(system, row, where)
        if row.code in seen:
            raise CodeSetError(f"{where} line {number}: {row.code} appears twice (first on"
                               f" line {seen[row.code]})")
        seen[row.code] = number
        rows.append(row)
    if not rows:
        raise CodeSetError(f"{where}: no {system.label} codes in it")
    return rows


def _check_shape(system: CodeSystem, row: OfficialRow, where: str) -> None:
    if system is CodeSystem.ICD10PCS:
        valid: object = (ICD10PCS_RE.match(row.code) if row.billable
                         else _PCS_PART.match(row.code))
        hint = "7 characters, digits and letters other than I and O"
    else:
        valid = ICD10CM_RE.match(row.code) and (row.billable or len(row.code) < 7)
        hint = "3-7 letters and digits starting with a letter; a header has at most 6"
    if not valid:
        kind = "code" if row.billable else "header"
        raise CodeSetError(f"{where} line {row.line}: {row.code!r} is not a well-formed"
                           f" {system.label} {kind} ({hint})")


# -- `medbill codes update` formats -----------------------------------------------------------

def source_window(source: SourceFile, system: CodeSystem) -> tuple[date, date]:
    """The release window of an official file: from its name, else its zip's name."""
    for name in (source.name, source.member or "", source.origin.name):
        window = window_from_name(name)
        if window is not None:
            return window
    example = f"{system.value}_order_2027.txt"
    if system is CodeSystem.ICD10CM:
        how = (f"rename it to carry the fiscal year as CMS does ({example}) or load it with"
               " `medbill codes load icd10cm FILE --effective YYYY-MM-DD --through YYYY-MM-DD`")
    else:
        how = f"rename it to carry the fiscal year as CMS does ({example})"
    raise CodeSetError(f"{source.label}: cannot tell which {system.label} release this is"
                       f" from its name: {how}")


def official_formats(system: CodeSystem, code_set: str,
                     build: Callable[[list[OfficialRow], str, str], Table]) -> list[ReleaseFormat]:
    """The :class:`ReleaseFormat` of a code set's official files.

    One format covers the order and the codes file, so the CMS zip that carries both
    gives one release: the order file is used (it has the headers and short titles) and
    the codes file must list exactly its valid codes. ``build(rows, layout, source)``
    turns checked records into the table to store.
    """
    from medbill_core.codesets.update import ReleaseFormat

    def recognise(source: SourceFile) -> bool:
        found = classify(source)
        return found is not None and found[1] is system

    def prepare(sources: Sequence[SourceFile]) -> list[PreparedRelease]:
        by_window: dict[tuple[date, date], list[SourceFile]] = {}
        for source in sources:
            by_window.setdefault(source_window(source, system), []).append(source)
        return [_prepare_release(system, code_set, window, group, build)
                for window, group in sorted(by_window.items())]

    layouts = "order file (icd10{0}_order_YYYY.txt) or codes file (icd10{0}_codes_YYYY.txt)"
    name = f"CMS/CDC {system.label} {layouts.format(system.value[5:])}"
    return [ReleaseFormat(name, recognise, prepare)]


def _prepare_release(system: CodeSystem, code_set: str, window: tuple[date, date],
                     sources: list[SourceFile],
                     build: Callable[[list[OfficialRow], str, str], Table]) -> PreparedRelease:
    from medbill_core.codesets.update import PreparedRelease, digest_of

    by_layout: dict[str, tuple[SourceFile, list[OfficialRow]]] = {}
    for source in sources:
        found = classify(source)
        assert found is not None  # recognised before
        layout = found[0]
        if layout in by_layout:
            raise CodeSetError(f"two {system.label} {layout} files for {window[0]}..{window[1]}"
                               f" ({by_layout[layout][0].label} and {source.label})")
        by_layout[layout] = (source, read_official(source, layout, system))
    if ORDER in by_layout and CODES in by_layout:
        _same_valid_codes(by_layout[ORDER], by_layout[CODES])
    layout = ORDER if ORDER in by_layout else CODES
    source, rows = by_layout[layout]
    effective, through = window
    label = release_label(system, effective, through)
    table = build(rows, layout, f"{label} ({source.label})")

    def write(folder: Path) -> None:
        write_release(folder / f"{code_set}.csv.gz", table)

    return PreparedRelease(code_set, label, effective, through, len(table), tuple(sources),
                           digest_of(sources), write)


def _same_valid_codes(order: tuple[SourceFile, list[OfficialRow]],
                      codes: tuple[SourceFile, list[OfficialRow]]) -> None:
    in_order = {row.code for row in order[1] if row.billable}
    in_codes = {row.code for row in codes[1]}
    if in_order != in_codes:
        only_order = sorted(in_order - in_codes)[:3]
        only_codes = sorted(in_codes - in_order)[:3]
        detail = "; ".join(part for part in (
            f"only in {order[0].label}: {', '.join(only_order)}" if only_order else "",
            f"only in {codes[0].label}: {', '.join(only_codes)}" if only_codes else "") if part)
        raise CodeSetError(f"{order[0].label} and {codes[0].label} do not list the same valid"
                           f" codes ({detail})")


def headers_from_codes(codes: Iterable[str]) -> set[str]:
    """The ICD-10-CM headers a codes file leaves out: every 3+ character prefix of a valid
    code that is not itself a valid code."""
    valid = set(codes)
    return {code[:n] for code in valid for n in range(3, len(code))} - valid


def formats_on_first_use(module: str, system: CodeSystem, code_set: str,
                         build: Callable[[list[OfficialRow], str, str], Table]
                         ) -> Callable[[str], object]:
    """A module ``__getattr__`` giving the module's ``FORMATS`` (its official files, see
    :func:`official_formats`) when first asked for: they need the update pipeline, which
    start-up and plain lookups do not import."""
    @functools.cache
    def formats() -> list[ReleaseFormat]:
        return official_formats(system, code_set, build)

    def module_getattr(name: str) -> object:
        if name == "FORMATS":
            return formats()
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return module_getattr
