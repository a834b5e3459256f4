"""Loading a user-supplied (official or licensed) code-set file into the user data directory.

A loaded file is checked, converted to medbill's canonical CSV layout and written
to the user data directory, where it takes precedence over the packaged data:
a code present in the user file wins, packaged codes absent from it stay.
ICD-10-CM files are kept per release instead (one file per window of dates of
service), because a release replaces the previous one on a fixed date.

Accepted inputs:

* every system: a CSV in the layout medbill ships (or writes), i.e. a code
  column and optionally description, short_description, effective/add/start
  date, termination/stop date, billable, assigned, note columns;
* ``hcpcs`` and ``modifier``: also a CSV export of the CMS Alpha-Numeric HCPCS
  file (``HCPCyyyy_MMM_ANWEB`` columns ``HCPC, SEQNUM, RECID, LONG DESCRIPTION,
  SHORT DESCRIPTION, ... ADD DT, ACT EFF DT, TERM DT, ACTION CD``; banner rows
  above the header are skipped, continuation records are joined);
* ``icd10cm``: also the CMS/CDC ``icd10cm_order_YYYY.txt`` and
  ``icd10cm_codes_YYYY.txt`` files;
* ``cpt``: a licensed CSV or tab-separated file with code and description.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from medbill_core.codesets import icd10cm
from medbill_core.codesets.model import CodeInfo, CodeSetError, CodeSystem
from medbill_core.codesets.tables import (
    _COLUMNS,
    Row,
    _norm_header,
    iter_csv,
    open_text,
    rows_to_table,
    write_table,
)

MANIFEST = "manifest.json"
ICD_DIR = "icd10cm"

# CMS ANWEB record identifiers: 3/4 procedure (first/continuation), 7/8 modifier.
_ANWEB_RECIDS = {CodeSystem.HCPCS: ("3", "4"), CodeSystem.MODIFIER: ("7", "8")}


#: ``user_data_dir()`` for each ($MEDBILL_CODESETS_DIR, $XDG_DATA_HOME, $HOME): pricing asks
#: several times per claim, and building the path each time cost more than the lookup.
_default_data_dirs: dict[tuple[str | None, str | None, str], Path] = {}


def user_data_dir(path: Path | str | None = None) -> Path:
    """Where loaded code sets live: ``path``, ``$MEDBILL_CODESETS_DIR``,
    ``$XDG_DATA_HOME/medbill/codesets`` or ``~/.local/share/medbill/codesets``."""
    if path is not None:
        return Path(path)
    home = os.environ.get("HOME")
    if home is None:  # the home folder comes from the password database: not kept
        return _user_data_dir()
    key = (os.environ.get("MEDBILL_CODESETS_DIR"), os.environ.get("XDG_DATA_HOME"), home)
    found = _default_data_dirs.get(key)
    if found is None:
        found = _default_data_dirs[key] = _user_data_dir()
    return found


def _user_data_dir() -> Path:
    if env := os.environ.get("MEDBILL_CODESETS_DIR"):
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "medbill" / "codesets"


def user_cache_dir(path: Path | str | None = None) -> Path:
    """Derived-data cache: ``path``, ``$MEDBILL_CACHE_DIR``, ``$XDG_CACHE_HOME/medbill`` or
    ``~/.cache/medbill``."""
    if path is not None:
        return Path(path)
    if env := os.environ.get("MEDBILL_CACHE_DIR"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "medbill"


@dataclass(frozen=True, slots=True)
class LoadResult:
    system: CodeSystem
    rows: int
    source: Path
    stored_at: Path
    effective: date | None = None  # ICD-10-CM release window
    through: date | None = None


def _read_user_csv(path: Path) -> list[Row]:
    """A user CSV/TSV, skipping banner lines above the header row."""
    try:
        with open_text(path) as handle:
            lines = handle.read().splitlines(keepends=True)
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        raise CodeSetError(f"cannot read {path}: {exc}") from exc
    code_names = set(_COLUMNS["code"])
    for index, line in enumerate(lines[:50]):
        delimiter = "\t" if "\t" in line and "," not in line else ","
        cells = {_norm_header(c.strip('"')) for c in line.rstrip("\r\n").split(delimiter)}
        if cells & code_names:
            return list(iter_csv(lines[index:], delimiter=delimiter))
    raise CodeSetError(
        f"{path.name}: no header row with a code column"
        f" (expected one of: {', '.join(_COLUMNS['code'])})"
    )


def _join_anweb(system: CodeSystem, rows: list[Row]) -> list[Row]:
    """Keep the ANWEB records of ``system`` and join continuation lines into one row each."""
    first, continuation = _ANWEB_RECIDS[system]
    joined: dict[str, Row] = {}
    for row in rows:
        recid = row.get("recid", "").strip()
        code = row.get("hcpc", "").strip()
        if recid == first:
            joined[code] = dict(row)
        elif recid == continuation and code in joined:
            extra = row.get("long_description", "").strip()
            base = joined[code].get("long_description", "").rstrip()
            joined[code]["long_description"] = f"{base} {extra}".strip()
    return list(joined.values())


def read_file(system: CodeSystem | str, path: Path | str) -> dict[str, CodeInfo]:
    """Parse a user file for ``system`` into a table without storing it."""
    system = CodeSystem(system)
    path = Path(path)
    if not path.is_file():
        raise CodeSetError(f"no such file: {path}")
    if system is CodeSystem.ICD10PCS:
        raise CodeSetError(
            "ICD-10-PCS releases are loaded with `medbill codes update FILE...` (the CMS"
            " icd10pcs_order_YYYY.txt or icd10pcs_codes_YYYY.txt file, or its zip)")
    if system is CodeSystem.ICD10CM:
        table = icd10cm.read_user_file(path)
    else:
        rows = _read_user_csv(path)
        if rows and "recid" in rows[0]:
            if system not in _ANWEB_RECIDS:
                raise CodeSetError(f"{path.name} is a CMS HCPCS (ANWEB) file; load it as hcpcs"
                                   " or modifier, not " + system.value)
            rows = _join_anweb(system, rows)
        table = rows_to_table(system, rows, f"user file {path.name}", where=path.name)
    if not table:
        raise CodeSetError(f"{path.name}: no {system.label} codes found")
    return table


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(data_dir: Path) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads((data_dir / MANIFEST).read_text(encoding="utf-8"))
        return manifest
    except (OSError, ValueError):
        return {}


def stored_file(data_dir: Path, system: CodeSystem) -> Path:
    return data_dir / f"{system.value}.csv"


def load_file(
    system: CodeSystem | str,
    path: Path | str,
    *,
    data_dir: Path | str | None = None,
    effective: date | None = None,
    through: date | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> LoadResult:
    """Check ``path`` and store it as the user's ``system`` code set.

    ``on_progress`` is called with (steps done, 2): the file read and checked, then stored.

    For ICD-10-CM, ``effective``/``through`` give the dates of service the
    release governs; when omitted they are read from the file name (``...2025``
    = FY2025, 2024-10-01..2025-09-30; ``...April-2025`` = 2025-04-01..2025-09-30).
    Raises :class:`CodeSetError` when the file cannot be used; nothing is
    written then.
    """
    system = CodeSystem(system)
    path = Path(path)
    target_dir = user_data_dir(data_dir)
    table = read_file(system, path)
    if on_progress is not None:
        on_progress(1, 2)
    key = system.value
    if system is CodeSystem.ICD10CM:
        if effective is None or through is None:
            guessed = icd10cm.window_from_name(path.name)
            if guessed is None:
                raise CodeSetError(f"cannot tell which dates {path.name} covers: give --effective"
                                   " and --through (e.g. 2024-10-01 and 2025-09-30 for FY2025)")
            effective = effective or guessed[0]
            through = through or guessed[1]
        if through < effective:
            raise CodeSetError(
                f"the release window ends ({through}) before it starts ({effective})")
        key = f"{ICD_DIR}/{effective.isoformat()}_{through.isoformat()}"
        target = target_dir / f"{key}.csv.gz"
    else:
        target = stored_file(target_dir, system)
    try:
        if system is CodeSystem.ICD10CM:
            rows = icd10cm.write_release(target, table)
        else:
            rows = write_table(target, table.values())
        manifest = read_manifest(target_dir)
        manifest[key] = {
            "system": system.value,
            "file": path.name,
            "sha256": _sha256(path),
            "rows": rows,
            "loaded_at": datetime.now(UTC).isoformat(timespec="seconds"),
            **({"effective": effective.isoformat(), "through": through.isoformat()}
               if effective and through else {}),
        }
        (target_dir / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True),
                                           encoding="utf-8")
    except OSError as exc:
        raise CodeSetError(f"cannot write to {target_dir}: {exc}") from exc
    from medbill_core.codesets.registry import reset_default_codesets

    reset_default_codesets()
    if on_progress is not None:
        on_progress(2, 2)
    return LoadResult(system, rows, path, target, effective, through)
