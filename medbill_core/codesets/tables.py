"""Reading code-set CSV files (packaged, user-loaded or official) into lookup tables.

A table is a ``dict`` from the canonical code (see :func:`formats.normalize`) to
its :class:`CodeInfo`. Column names are matched case-insensitively with spaces
turned into underscores, and several spellings are accepted for each field, so
the packaged files, the files ``medbill codes load`` writes and CSV exports of
the official files share one reader.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from importlib import resources
from pathlib import Path

from medbill_core.codesets.formats import SHAPE_HINTS, SHAPES, normalize
from medbill_core.codesets.model import CodeInfo, CodeSetError, CodeSystem

Row = dict[str, str]

# field -> accepted column names, first match wins
_COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("code", "modifier", "hcpc", "hcpcs", "hcpcs_code", "cpt_code", "icd10cm_code"),
    "description": ("description", "description_2024", "long_description", "long_desc", "name"),
    "short_description": ("short_description", "short_desc"),
    "effective": ("effective_date", "add_date", "add_dt", "start_date", "start", "effective"),
    "terminated": ("termination_date", "term_date", "term_dt", "stop_date", "stop",
                   "deactivation_date"),
    "billable": ("billable",),
    "assigned": ("assigned",),
    "note": ("note", "notes"),
}
# POS: the short "name" is what people want; the long text is a definition.
_POS_DESCRIPTION = ("name", "description")

#: Columns of the files ``medbill codes load`` writes (the canonical layout).
CANONICAL_FIELDS = ("code", "description", "short_description", "effective_date",
                    "termination_date", "billable", "assigned", "note")

_ISO_OR_CMS_DATE = re.compile(r"^[0-9]{4}-?[0-9]{2}-?[0-9]{2}$")

_TRUE = {"true", "t", "1", "y", "yes"}
_FALSE = {"false", "f", "0", "n", "no"}


def _norm_header(name: str) -> str:
    return name.strip().lstrip("\ufeff").lower().replace(" ", "_").replace("-", "_")


def parse_date(text: str) -> date | None:
    """ISO ``YYYY-MM-DD``, ``YYYYMMDD`` (CMS files) or ``MM/DD/YYYY`` (x12.org); blank is None."""
    text = text.strip()
    if not text:
        return None
    if _ISO_OR_CMS_DATE.match(text):  # the common shapes, without strptime (bulk loads)
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass  # reported below, in the same words as any other bad date
    for fmt in ("%Y-%m-%d", "%Y%m%d", "%m/%d/%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"not a date: {text!r} (expected YYYY-MM-DD, YYYYMMDD or MM/DD/YYYY)")


def _parse_bool(text: str, default: bool) -> bool:
    value = text.strip().lower()
    if not value:
        return default
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"not a yes/no value: {text!r}")


def open_text(path: Path) -> io.TextIOBase:
    """Open a UTF-8 text file, gunzipping ``*.gz``."""
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


def iter_csv(text: Iterable[str], delimiter: str = ",") -> Iterator[Row]:
    """Rows of a CSV with normalised header names."""
    reader = csv.reader(text, delimiter=delimiter)
    header = next(reader, None)
    if header is None:
        return
    names = [_norm_header(h) for h in header]
    for values in reader:
        if not any(v.strip() for v in values):
            continue
        yield dict(zip(names, values, strict=False))


def read_packaged_csv(name: str) -> list[Row]:
    """A CSV from ``medbill_core/codesets/data`` (``.gz`` is decompressed)."""
    resource = resources.files("medbill_core.codesets").joinpath("data", name)
    raw = resource.read_bytes()
    if name.endswith(".gz"):
        raw = gzip.decompress(raw)
    return list(iter_csv(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def _pick(row: Row, names: tuple[str, ...]) -> str:
    for name in names:
        value = row.get(name)
        if value is not None and value.strip():
            return value.strip()
    return ""


def _has_any(header: Iterable[str], names: tuple[str, ...]) -> bool:
    return any(name in header for name in names)


def rows_to_table(
    system: CodeSystem, rows: Iterable[Row], source: str, *, where: str = ""
) -> dict[str, CodeInfo]:
    """Turn CSV rows into a table, checking every code's shape.

    Raises :class:`CodeSetError` naming the row (1-based data row) when a code is
    malformed, a date or flag cannot be read, or the code column is missing.
    """
    table: dict[str, CodeInfo] = {}
    description_cols = _POS_DESCRIPTION if system is CodeSystem.POS else _COLUMNS["description"]
    shape = SHAPES[system]
    where = where or source
    for number, row in enumerate(rows, start=1):
        if number == 1 and not _has_any(row, _COLUMNS["code"]):
            raise CodeSetError(
                f"{where}: no code column (expected one of: {', '.join(_COLUMNS['code'])})"
            )
        raw_code = _pick(row, _COLUMNS["code"])
        if not raw_code:
            continue
        code = normalize(system, raw_code)
        if not shape.match(code):
            raise CodeSetError(
                f"{where}: row {number}: {raw_code!r} is not a {system.label} code"
                f" ({SHAPE_HINTS[system]})"
            )
        try:
            effective = parse_date(_pick(row, _COLUMNS["effective"]))
            terminated = parse_date(_pick(row, _COLUMNS["terminated"]))
            billable = _parse_bool(_pick(row, _COLUMNS["billable"]), True)
            assigned = _parse_bool(_pick(row, _COLUMNS["assigned"]), True)
        except ValueError as exc:
            raise CodeSetError(f"{where}: row {number} ({raw_code}): {exc}") from exc
        note = _pick(row, _COLUMNS["note"])
        origin = row.get("source", "")
        if origin and "official" not in origin and effective is None:
            note = note or f"from {origin}; effective and termination dates not in the data"
        table[code] = CodeInfo(
            system=system,
            code=code,
            description=_pick(row, description_cols),
            short_description=_pick(row, _COLUMNS["short_description"]),
            billable=billable,
            assigned=assigned,
            effective=effective,
            terminated=terminated,
            source=source,
            note=note,
        )
    return table


def write_table(path: Path, table: Iterable[CodeInfo]) -> int:
    """Write ``table`` in the canonical layout (gzipped when ``path`` ends in ``.gz``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    count = 0
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(tmp, "wt", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(CANONICAL_FIELDS)
        for info in table:
            writer.writerow([
                info.code,
                info.description,
                info.short_description,
                info.effective.isoformat() if info.effective else "",
                info.terminated.isoformat() if info.terminated else "",
                "true" if info.billable else "false",
                "true" if info.assigned else "false",
                info.note,
            ])
            count += 1
    tmp.replace(path)
    return count
