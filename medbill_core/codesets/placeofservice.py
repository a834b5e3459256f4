"""CMS place of service (POS) codes: the packaged list and ``codes update`` of a newer one.

CMS keeps the POS code set as a web table (cms.gov, "Place of Service Code Set") that
changes rarely and on no schedule: a list stands until CMS replaces it. Codes CMS added
carry their own effective dates in the list text ("Effective October 1, 2023"), so the
newest list medbill has answers every date of service.

``codes update`` reads the list saved as CSV: ``code, name`` and optionally
``description``, ``effective_date`` (or ``effective``) and ``assigned``; "Unassigned"
rows, and ranges such as ``35-40``, are expanded into unassigned codes. The list's
date comes from the file name (``pos_2026-03-15.csv``; ``pos_2026-03.csv`` = the 1st)
or else the latest effective date in it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from medbill_core.codesets.formats import POS_RE
from medbill_core.codesets.model import CodeInfo, CodeSetError, CodeSystem
from medbill_core.codesets.releases import ReleaseWindow, loaded_releases
from medbill_core.codesets.tables import _norm_header, rows_to_table, write_table
from medbill_core.codesets.update import PreparedRelease, ReleaseFormat, SourceFile, digest_of

KEY = "pos"
PACKAGED_FILE = "place_of_service.csv"
PACKAGED_LABEL = "CMS place of service codes, September 2023"
PACKAGED_EFFECTIVE = date(2023, 10, 1)
STORED_FILE = "pos.csv.gz"

_RANGE_RE = re.compile(r"^\s*([0-9]{2})\s*[-\u2013]\s*([0-9]{2})\s*$")
_AS_OF_RE = re.compile(r"(20[0-9]{2})-(0[1-9]|1[0-2])(?:-([0-3][0-9]))?")


def _header(text: str) -> tuple[int, list[str], str] | None:
    for index, line in enumerate(text.splitlines()[:20]):
        delimiter = "\t" if line.count("\t") > line.count(",") else ","
        names = [_norm_header(c) for c in next(csv.reader([line], delimiter=delimiter), [])]
        if any(n in names for n in ("code", "pos_code", "place_of_service_code")) \
                and any(n in names for n in ("name", "place_of_service_name")):
            return index, names, delimiter
    return None


def _recognise(source: SourceFile) -> bool:
    found = _header(source.head_text())
    if found is None:
        return False
    index, names, delimiter = found
    lines = source.head_text().splitlines()[index + 1:index + 40]
    code_at = next(i for i, n in enumerate(names)
                   if n in ("code", "pos_code", "place_of_service_code"))
    codes = [row[code_at].strip() for row in csv.reader(lines, delimiter=delimiter)
             if len(row) > code_at and row[code_at].strip()]
    return bool(codes) and all(POS_RE.match(c) or _RANGE_RE.match(c) for c in codes[:-1] or codes)


def read_list(text: str, *, where: str, source: str) -> dict[str, CodeInfo]:
    """The POS table of a saved CMS list (see the module docstring)."""
    found = _header(text)
    if found is None:
        raise CodeSetError(f"{where}: no header row with code and name columns")
    index, names, delimiter = found
    names = ["code" if n in ("pos_code", "place_of_service_code") else
             "name" if n == "place_of_service_name" else n for n in names]
    rows = []
    reader = csv.reader(io.StringIO("\n".join(text.splitlines()[index + 1:])),
                        delimiter=delimiter)
    for number, values in enumerate(reader, start=index + 2):
        if not any(v.strip() for v in values):
            continue
        row = dict(zip(names, values, strict=False))
        code = row.get("code", "").strip()
        unassigned = row.get("name", "").strip().lower() == "unassigned"
        span = _RANGE_RE.match(code)
        if span:
            if not unassigned:
                raise CodeSetError(f"{where}: line {number}: a range of codes ({code}) must be"
                                   " 'Unassigned'")
            first, last = int(span.group(1)), int(span.group(2))
            for value in range(first, last + 1):
                rows.append({**row, "code": f"{value:02d}", "assigned": "false"})
            continue
        if not POS_RE.match(code):
            raise CodeSetError(f"{where}: line {number}: {code!r} is not a place of service"
                               " code (2 digits)")
        if unassigned:
            row["assigned"] = "false"
        rows.append(row)
    try:
        return rows_to_table(CodeSystem.POS, rows, source, where=where)
    except CodeSetError as exc:
        raise CodeSetError(f"{exc.message} (a record of the list after its header)") from None


def edition(source: SourceFile, table: dict[str, CodeInfo]) -> date:
    """The list's date: from the file name, else the latest effective date in it."""
    match = _AS_OF_RE.search(source.name)
    if match:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3) or 1))
    dates = [info.effective for info in table.values() if info.effective is not None]
    if not dates:
        raise CodeSetError(f"{source.label}: cannot tell the list's date (no effective dates"
                           " in it): name it with the date you saved it, e.g. pos_2026-03-15.csv")
    return max(dates)


def _prepare(sources: Sequence[SourceFile]) -> list[PreparedRelease]:
    out = []
    for source in sources:
        table = read_list(source.text(), where=source.label,
                          source=f"CMS place of service list, from {source.name}")
        if not table:
            raise CodeSetError(f"{source.label}: no place of service codes in it")
        as_of = edition(source, table)

        def write(folder: Path, table: dict[str, CodeInfo] = table) -> None:
            write_table(folder / STORED_FILE, table.values())

        out.append(PreparedRelease(KEY, f"CMS place of service codes as of {as_of}", as_of,
                                   None, len(table), (source,), digest_of([source]), write))
    return out


FORMATS: list[ReleaseFormat] = [
    ReleaseFormat("CMS place of service list (CSV: code, name[, description, effective date])",
                  _recognise, _prepare),
]


def release_windows(data_dir: Path | None) -> list[ReleaseWindow]:
    """The packaged list and the lists loaded with ``codes update`` (no end: a list stands
    until a newer one)."""
    packaged = ReleaseWindow(
        KEY, PACKAGED_LABEL, PACKAGED_EFFECTIVE, None,
        "CMS Place of Service code set page updated September 2023; no change found through"
        " 2025-04-26 (see data/SOURCES.md) (packaged)")
    return [packaged] + [w for w, _ in loaded_releases(data_dir, KEY)]
