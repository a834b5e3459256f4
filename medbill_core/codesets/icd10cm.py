"""ICD-10-CM releases: the one shipped by ``simple-icd-10-cm`` and user-loaded ones.

ICD-10-CM changes once a fiscal year (1 October, plus an occasional 1 April
update), and the files carry no per-code dates. So each loaded release governs
a window of dates of service, and a lookup picks the release covering the date.

Reading the package's tabular XML takes a few seconds; the derived table
(code, description, billable) is cached as a small gzipped CSV in the user
cache directory, keyed by the package version and data file name.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import importlib.util
import re
from collections.abc import Iterable, Iterator
from datetime import date
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from medbill_core.codesets.formats import ICD10CM_RE
from medbill_core.codesets.model import CodeInfo, CodeSetError, CodeSystem, Release
from medbill_core.codesets.tables import Row, iter_csv, open_text, rows_to_table

if TYPE_CHECKING:
    from medbill_core.codesets.releases import ReleaseWindow

PACKAGE = "simple_icd_10_cm"
DISTRIBUTION = "simple-icd-10-cm"

_MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december"], start=1)}


def fiscal_year_window(fy: int) -> tuple[date, date]:
    """ICD-10-CM fiscal year ``fy`` runs from 1 October of ``fy - 1`` to 30 September of ``fy``."""
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


def _package_data_files() -> tuple[str, str] | None:
    # find_spec locates the package without importing it (its import parses the XML)
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "data"
    files = [p.name for p in folder.iterdir()] if folder.is_dir() else []
    codes = sorted(f for f in files if f.startswith("code-list") and f.endswith(".txt"))
    xml = sorted(f for f in files if f.endswith(".xml"))
    if not codes or not xml:
        return None
    return codes[-1], xml[-1]


def packaged_release_info() -> tuple[Release, str] | None:
    """The release ``simple-icd-10-cm`` ships and a cache key for it, or None if not installed."""
    found = _package_data_files()
    if found is None:
        return None
    codes_file, _ = found
    version = metadata.version(DISTRIBUTION)
    window = window_from_name(codes_file)
    if window is None:  # unexpected file name: assume the fiscal year of the package date
        raise CodeSetError(f"cannot tell the ICD-10-CM release of {DISTRIBUTION} {version}"
                           f" from its data file {codes_file!r}")
    stem = codes_file.removeprefix("code-list-").removesuffix(".txt")
    label = f"ICD-10-CM {stem.replace('-', ' ')} release"
    source = f"{DISTRIBUTION} {version} ({codes_file})"
    return Release(label, window[0], window[1], source), f"{version}-{stem}"


def _build_from_package() -> Iterator[tuple[str, str, bool]]:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import simple_icd_10_cm as cm

    for code in cm.get_all_codes(with_dots=False):
        if cm.is_chapter_or_block(code):
            continue
        yield code, cm.get_description(code), cm.is_leaf(code)


def write_release(path: Path, table: dict[str, CodeInfo]) -> int:
    """Store a release as a gzipped ``code,description,billable`` CSV (itself a loadable file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with gzip.open(tmp, "wt", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(("code", "description", "billable"))
        writer.writerows((i.code, i.description, "1" if i.billable else "0")
                         for i in table.values())
    tmp.replace(path)
    return len(table)


def read_release(path: Path, source: str) -> dict[str, CodeInfo]:
    """Read a file written by :func:`write_release` (trusted: checked when it was written)."""
    system = CodeSystem.ICD10CM
    try:
        with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
            rows = csv.reader(handle)
            if next(rows, None) != ["code", "description", "billable"]:
                raise CodeSetError(f"{path}: not a medbill ICD-10-CM release file")
            return {code: CodeInfo(system, code, description, billable=billable == "1",
                                   source=source)
                    for code, description, billable in rows}
    except (OSError, EOFError, ValueError, csv.Error) as exc:
        raise CodeSetError(f"cannot read {path}: {exc}") from exc


def load_packaged(cache_dir: Path | None) -> tuple[Release, dict[str, CodeInfo]] | None:
    """The packaged release's table, from the cache when present; None if not installed."""
    found = packaged_release_info()
    if found is None:
        return None
    release, key = found
    cache = cache_dir / f"icd10cm-{key}.csv.gz" if cache_dir else None
    if cache is not None and cache.is_file():
        try:
            return release, read_release(cache, release.source)
        except CodeSetError:
            pass  # a damaged cache is rebuilt below
    table = {
        code: CodeInfo(CodeSystem.ICD10CM, code, description, billable=leaf,
                       source=release.source)
        for code, description, leaf in _build_from_package()
    }
    if cache is not None:
        with contextlib.suppress(OSError):  # caching is an optimisation only
            write_release(cache, table)
    return release, table


# -- user files -----------------------------------------------------------------------------

def _order_rows(lines: Iterable[str]) -> Iterator[Row]:
    """The CMS/CDC ``icd10cm_order_YYYY.txt`` fixed-width file.

    Columns: order number (1-5), code (7-13), 1 = billable / 0 = header (15),
    short description (17-76), long description (78-).
    """
    for line in lines:
        if len(line) < 16 or not line.strip():
            continue
        yield {
            "code": line[6:13].strip(),
            "billable": line[14],
            "short_description": line[16:76].strip(),
            "description": line[77:].strip(),
        }


def _codes_rows(lines: Iterable[str]) -> Iterator[Row]:
    """The CDC ``icd10cm_codes_YYYY.txt`` file: billable codes only, ``CODE description``.

    The headers above them are derived (every 3+ character prefix of a billable
    code is a non-billable category or subcategory) and get no description.
    """
    billable: dict[str, str] = {}
    for line in lines:
        parts = line.strip().split(None, 1)
        if parts:
            billable[parts[0]] = parts[1].strip() if len(parts) > 1 else ""
    headers = {code[:n] for code in billable for n in range(3, len(code))} - billable.keys()
    for code in sorted(headers):
        yield {"code": code, "billable": "false", "description": "",
               "note": "header derived from the billable codes"}
    for code, description in billable.items():
        yield {"code": code, "billable": "true", "description": description}


def read_user_file(path: Path) -> dict[str, CodeInfo]:
    """Read an ICD-10-CM release: CSV (code, description, billable), order file or codes file."""
    try:
        with open_text(path) as handle:
            first = handle.readline()
            handle.seek(0)
            if "," in first and "code" in first.lower():
                rows: Iterable[Row] = list(iter_csv(handle))
            elif re.match(r"^[0-9]{5} [A-Z0-9]", first):
                rows = list(_order_rows(handle))
            elif ICD10CM_RE.match(first.split(None, 1)[0].replace(".", "") if first.split()
                                  else ""):
                rows = list(_codes_rows(handle))
            else:
                raise CodeSetError(
                    f"{path.name}: not an ICD-10-CM file medbill can read (a CSV with code,"
                    " description, billable columns; icd10cm_order_YYYY.txt; or"
                    " icd10cm_codes_YYYY.txt)"
                )
    except (OSError, UnicodeDecodeError) as exc:
        raise CodeSetError(f"cannot read {path}: {exc}") from exc
    return rows_to_table(CodeSystem.ICD10CM, rows, f"user file {path.name}", where=path.name)


# -- release windows (for `medbill codes status`; no table is read) ----------------------------

def release_windows(data_dir: Path | None) -> list[ReleaseWindow]:
    """The ICD-10-CM releases medbill has: packaged, loaded with ``codes load`` (one file
    per window in ``icd10cm/``) and loaded with ``codes update``."""
    from medbill_core.codesets.loaders import ICD_DIR
    from medbill_core.codesets.releases import ReleaseWindow, loaded_releases

    windows: list[ReleaseWindow] = []
    found = packaged_release_info()
    if found is not None:
        release = found[0]
        windows.append(ReleaseWindow("icd10cm", release.label, release.effective,
                                     release.through, f"{release.source} (packaged)"))
    folder = data_dir / ICD_DIR if data_dir else None
    if folder is not None and folder.is_dir():
        for path in sorted(folder.glob("*_*.csv.gz")):
            start, _, end = path.name.removesuffix(".csv.gz").partition("_")
            with contextlib.suppress(ValueError):
                windows.append(ReleaseWindow(
                    "icd10cm", f"ICD-10-CM {start}..{end}", date.fromisoformat(start),
                    date.fromisoformat(end), f"user file {path.name}", "loaded"))
    windows.extend(window for window, _ in loaded_releases(data_dir, "icd10cm"))
    return windows
