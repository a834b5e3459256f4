"""HCPCS Level II procedure codes and modifiers from the CMS quarterly Alpha-Numeric file.

CMS publishes the whole HCPCS Level II code set every quarter (the "ANWEB" file,
``HCPCyyyy_MMM_ANWEB``): procedure records (RECID 3, continued by 4) and modifier
records (RECID 7, continued by 8), each with its add date (``ADD DT``), the date of its
last action (``ACT EFF DT``) and, once deleted, its termination date (``TERM DT``, the
last date of service it may be used). Terminated codes stay in the file with their
dates, so the **newest** quarterly file answers every date of service it knows about:
an older date is judged by the code's own add and termination dates, not by an older
file. medbill therefore keeps one table per code set -- the newest release, packaged or
loaded with ``medbill codes update`` -- and names that release on every verdict.

The packaged release is the July 2026 file (see ``data/SOURCES.md``). One release fills
two code sets: ``hcpcs`` (procedure codes) and ``hcpcs-modifiers``.
"""

from __future__ import annotations

import csv
import functools
import gzip
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from importlib import resources
from pathlib import Path

from medbill_core.codesets.formats import SHAPE_HINTS, SHAPES, normalize
from medbill_core.codesets.loaders import _join_anweb
from medbill_core.codesets.model import CodeInfo, CodeSetError, CodeSystem
from medbill_core.codesets.releases import (
    Cadence,
    ReleaseWindow,
    loaded_releases,
    period,
)
from medbill_core.codesets.tables import Row, _norm_header, parse_date, rows_to_table, write_table
from medbill_core.codesets.update import PreparedRelease, ReleaseFormat, SourceFile, digest_of

#: The code-set keys (``codes status``, release folders) of the two tables one file fills.
HCPCS_KEY = "hcpcs"
MODIFIER_KEY = "hcpcs-modifiers"
KEYS = {CodeSystem.HCPCS: HCPCS_KEY, CodeSystem.MODIFIER: MODIFIER_KEY}

#: The packaged CMS file (unchanged content, gzipped) and the quarter it is.
PACKAGED_FILE = "hcpcs_anweb_2026q3.csv.gz"
PACKAGED_EFFECTIVE = date(2026, 7, 1)
PACKAGED_SOURCE = "CMS HCPCS Level II quarterly file, July 2026 (ANWEB layout)"

#: What a loaded release folder holds, in medbill's canonical layout (tables.write_table).
STORED_FILE = {CodeSystem.HCPCS: "hcpcs.csv.gz", CodeSystem.MODIFIER: "modifier.csv.gz"}

#: The ANWEB columns medbill reads (of 48; pricing, coverage and the rest are not used).
_USED_COLUMNS = frozenset({"hcpc", "seqnum", "recid", "long_description", "short_description",
                           "add_dt", "act_eff_dt", "term_dt", "action_cd"})
#: Record identifiers: 3 procedure (4 its continuation), 7 modifier (8 its continuation).
_RECORD_SYSTEM = {"3": CodeSystem.HCPCS, "4": CodeSystem.HCPCS,
                  "7": CodeSystem.MODIFIER, "8": CodeSystem.MODIFIER}
#: Column names (normalised) that make a header row an ANWEB header.
_HEADER = ("hcpc", "seqnum", "recid")
_MONTHS = {"JAN": 1, "APR": 4, "JUL": 7, "OCT": 10}
_NAME_RE = re.compile(r"HCPC(20[0-9]{2})_?(JAN|APR|JUL|OCT)", re.IGNORECASE)


def label(system: CodeSystem, effective: date) -> str:
    """The release name people see: ``HCPCS Level II 2026 Q3`` (modifiers: ``... modifiers``)."""
    name, _, _ = period(Cadence.QUARTERLY, effective)
    kind = "HCPCS Level II" if system is CodeSystem.HCPCS else "HCPCS Level II modifiers"
    return f"{kind} {name}"


def quarter_window(effective: date) -> tuple[date, date]:
    """The quarter (first and last day) containing ``effective``."""
    _, start, end = period(Cadence.QUARTERLY, effective)
    assert end is not None  # a quarter always ends
    return start, end


# -- reading the ANWEB layout ------------------------------------------------------------------

def _is_header(cells: Iterable[str]) -> bool:
    names = {_norm_header(c) for c in cells}
    return all(name in names for name in _HEADER)


def anweb_rows(text: str, *, where: str) -> list[tuple[int, Row]]:
    """The data rows of an ANWEB CSV (or tab-separated) export, with their line numbers.

    Banner rows above the header are skipped; the header must name HCPC, SEQNUM and RECID.
    """
    lines = text.splitlines()
    for index, line in enumerate(lines[:50]):
        delimiter = "\t" if line.count("\t") > line.count(",") else ","
        cells = next(csv.reader([line], delimiter=delimiter), [])
        if _is_header(cells):
            names = [_norm_header(c) for c in cells]
            kept = [(i, name) for i, name in enumerate(names) if name in _USED_COLUMNS]
            out = []
            reader = csv.reader(lines[index + 1:], delimiter=delimiter)
            for offset, values in enumerate(reader, start=index + 2):
                if any(v.strip() for v in values):
                    out.append((offset, {name: values[i] for i, name in kept
                                         if i < len(values)}))
            return out
    raise CodeSetError(f"{where}: no ANWEB header row (HCPC, SEQNUM, RECID ...)")


def anweb_tables(numbered: Sequence[tuple[int, Row]], source: str, *,
                 where: str) -> dict[CodeSystem, dict[str, CodeInfo]]:
    """The procedure and modifier tables of ANWEB rows (continuation records joined).

    Raises :class:`CodeSetError` naming the file and line of a malformed record.
    """
    for number, row in numbered:
        recid = row.get("recid", "").strip()
        system = _RECORD_SYSTEM.get(recid)
        if system is None:
            raise CodeSetError(f"{where}: line {number}: RECID {recid!r} is not 3, 4, 7 or 8")
        raw = row.get("hcpc", "").strip()
        if not SHAPES[system].match(normalize(system, raw)):
            raise CodeSetError(f"{where}: line {number}: {raw!r} is not a {system.label} code"
                               f" ({SHAPE_HINTS[system]})")
        for column in ("add_dt", "act_eff_dt", "term_dt"):
            try:
                parse_date(row.get(column, ""))
            except ValueError as exc:
                raise CodeSetError(f"{where}: line {number} ({raw}): {column.upper()}:"
                                   f" {exc}") from None
    rows = [row for _, row in numbered]
    return {system: rows_to_table(system, _join_anweb(system, rows), source, where=where)
            for system in (CodeSystem.HCPCS, CodeSystem.MODIFIER)}


@functools.cache
def packaged_tables() -> dict[CodeSystem, dict[str, CodeInfo]]:
    """The packaged July 2026 procedure and modifier tables."""
    raw = resources.files("medbill_core.codesets").joinpath("data", PACKAGED_FILE).read_bytes()
    text = gzip.decompress(raw).decode("utf-8-sig")
    return anweb_tables(anweb_rows(text, where=PACKAGED_FILE), PACKAGED_SOURCE,
                        where=PACKAGED_FILE)


def edition(name: str, numbered: Sequence[tuple[int, Row]], *, where: str) -> date:
    """The first day of the quarter a file is: from its name (``HCPC2026_OCT_ANWEB`` ->
    2026-10-01), else from the latest ``ACT EFF DT`` in it (CMS dates a quarter's
    changes on the quarter's first day)."""
    match = _NAME_RE.search(name)
    if match:
        return date(int(match.group(1)), _MONTHS[match.group(2).upper()], 1)
    dates = [parse_date(row.get("act_eff_dt", "")) for _, row in numbered]
    latest = max((d for d in dates if d is not None), default=None)
    if latest is None:
        raise CodeSetError(f"{where}: cannot tell which quarter it is (no ACT EFF DT, and the"
                           " name is not like HCPC2026_OCT_ANWEB)")
    return quarter_window(latest)[0]


# -- `medbill codes update` --------------------------------------------------------------------

def _recognise(source: SourceFile) -> bool:
    head = source.head_text()
    for line in head.splitlines()[:50]:
        delimiter = "\t" if line.count("\t") > line.count(",") else ","
        if _is_header(next(csv.reader([line], delimiter=delimiter), [])):
            return True
    return False


def _prepare(sources: Sequence[SourceFile]) -> list[PreparedRelease]:
    return [release for source in sources for release in _prepare_text(source, source.text())]


def _prepare_text(source: SourceFile, text: str) -> list[PreparedRelease]:
    out: list[PreparedRelease] = []
    numbered = anweb_rows(text, where=source.label)
    tables = anweb_tables(numbered, f"CMS HCPCS file {source.name}", where=source.label)
    if not tables[CodeSystem.HCPCS]:
        raise CodeSetError(f"{source.label}: no HCPCS Level II procedure records (RECID 3)")
    effective = edition(source.name, numbered, where=source.label)
    start, end = quarter_window(effective)
    digest = digest_of([source])
    for system, table in tables.items():
        if not table:
            continue
        out.append(PreparedRelease(
            KEYS[system], label(system, start), start, end, len(table), (source,), digest,
            _writer(system, table)))
    return out


def _writer(system: CodeSystem, table: dict[str, CodeInfo]) -> Callable[[Path], None]:
    def write(folder: Path) -> None:
        write_table(folder / STORED_FILE[system], table.values())
    return write


#: The first record of the fixed-width ANWEB text file: code (5), sequence number (5),
#: record id (1), then the long description.
_FIXED_WIDTH_RE = re.compile(r"^[0-9A-Z ]{5}[0-9]{4,5}[3478]")


def _is_xlsx(source: SourceFile) -> bool:
    return source.name.lower().endswith(".xlsx") and source.head.startswith(b"PK")


@functools.lru_cache(maxsize=2)
def _xlsx_text(source: SourceFile) -> str:
    """The first worksheet of an xlsx as CSV text, dates as YYYYMMDD (the ANWEB CSV's form),
    so the xlsx and the CSV export are read by one reader. Kept for the source: recognising
    a workbook not named like CMS's reads it, and preparing it must not read it again."""
    import datetime as dt
    import io

    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(source.read_bytes()), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a damaged file
        raise CodeSetError(f"{source.label}: not a readable xlsx workbook"
                           f" ({type(exc).__name__})") from None
    try:
        sheet = book.worksheets[0]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        for values in sheet.iter_rows(values_only=True):
            cells = []
            for value in values:
                if value is None:
                    cells.append("")
                elif isinstance(value, dt.datetime | dt.date):
                    cells.append(value.strftime("%Y%m%d"))
                elif isinstance(value, float) and value.is_integer():
                    cells.append(str(int(value)))
                else:
                    cells.append(str(value))
            writer.writerow(cells)
        return out.getvalue()
    finally:
        book.close()


def _recognise_xlsx(source: SourceFile) -> bool:
    """The ANWEB workbook CMS ships in the quarterly zip: an xlsx whose first sheet has the
    ANWEB header row (read to tell it from any other workbook)."""
    if not _is_xlsx(source):
        return False
    if "anweb" in source.name.lower():
        return True  # CMS's name: a damaged one is then refused by name, not skipped
    try:
        head = "\n".join(_xlsx_text(source).splitlines()[:50])
    except CodeSetError:
        return False
    return any(_is_header(next(csv.reader([line]), [])) for line in head.splitlines())


def _prepare_xlsx(sources: Sequence[SourceFile]) -> list[PreparedRelease]:
    return [release for source in sources
            for release in _prepare_text(source, _xlsx_text(source))]


def _recognise_fixed_width(source: SourceFile) -> bool:
    """The fixed-width ANWEB text CMS ships beside the xlsx."""
    if not _NAME_RE.search(source.name) or "anweb" not in source.name.lower():
        return False
    first = source.head.split(b"\n", 1)[0].decode("latin-1")
    return source.name.lower().endswith(".txt") and bool(_FIXED_WIDTH_RE.match(first))


def _refuse_fixed_width(sources: Sequence[SourceFile]) -> list[PreparedRelease]:
    """The fixed-width text alone is refused (its field positions are not established here);
    given with the zip's xlsx, which holds the same records, it is left to the xlsx."""
    if all(_in_zip_with_xlsx(source) for source in sources):
        return []
    raise CodeSetError(
        f"{sources[0].label}: medbill reads the ANWEB table as xlsx or CSV, not the"
        " fixed-width text file: give the CMS zip, or its xlsx (HCPC2026_OCT_ANWEB.xlsx)")


def _in_zip_with_xlsx(source: SourceFile) -> bool:
    import zipfile

    if source.member is None:
        return False
    try:
        with zipfile.ZipFile(source.origin) as archive:
            return any(name.lower().endswith(".xlsx") and "anweb" in name.lower()
                       for name in archive.namelist())
    except (OSError, zipfile.BadZipFile):
        return False


FORMATS: list[ReleaseFormat] = [
    ReleaseFormat("CMS HCPCS Level II quarterly file (ANWEB, CSV or tab-separated export)",
                  _recognise, _prepare),
    ReleaseFormat("CMS HCPCS Level II quarterly file (ANWEB xlsx, as in the CMS zip)",
                  _recognise_xlsx, _prepare_xlsx),
    ReleaseFormat("CMS HCPCS Level II quarterly file as fixed-width text (read from the xlsx"
                  " beside it)", _recognise_fixed_width, _refuse_fixed_width),
]


# -- releases (for `codes status` and the lookups) --------------------------------------------

def release_windows(system: CodeSystem, data_dir: Path | None) -> list[ReleaseWindow]:
    """The releases of ``system`` (HCPCS or MODIFIER) medbill has, packaged and loaded."""
    key = KEYS[system]
    start, end = quarter_window(PACKAGED_EFFECTIVE)
    packaged = ReleaseWindow(key, label(system, start), start, end,
                             f"{PACKAGED_SOURCE} (packaged)",
                             note="" if system is CodeSystem.HCPCS else
                             "the modifier records of the same CMS file")
    return [packaged] + [window for window, _ in loaded_releases(data_dir, key)]


__all__ = ["FORMATS", "HCPCS_KEY", "MODIFIER_KEY", "PACKAGED_FILE", "anweb_rows", "anweb_tables",
           "edition", "label", "packaged_tables", "release_windows"]
