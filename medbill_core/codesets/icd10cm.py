"""ICD-10-CM releases: packaged with medbill, from ``simple-icd-10-cm``, and user-loaded ones.

ICD-10-CM changes once a fiscal year (1 October, plus an occasional 1 April update),
and the files carry no per-code dates. So each release governs a window of dates of
service, and a lookup picks the release covering the date (see
:mod:`medbill_core.codesets.icd10_common`).

Packaged (``data/SOURCES.md``): **FY2027** (2026-10-01..2027-09-30), and the **April 2026
update** (2026-04-01..2026-09-30), derived from FY2027 by undoing CMS's FY2027 change lists
(added codes removed, deleted codes put back with their titles, revised titles and
billable-status changes reverted) -- which gives the official FY2026 counts. Each table is
read on first use, in about a third of a second.

``simple-icd-10-cm`` is optional: when installed with a release medbill does not ship
(a newer one), that release is added. Reading its tabular XML takes seconds, so its table
(code, description, billable) is cached in the user cache directory.

User releases: ``medbill codes update`` (the official order/codes files, see
:data:`FORMATS`) and the older ``medbill codes load icd10cm FILE`` (one file per window in
``icd10cm/``).
"""

from __future__ import annotations

import contextlib
import csv
import functools
import importlib.util
import io
import re
from collections.abc import Iterable, Iterator
from datetime import date
from importlib import metadata, resources
from pathlib import Path
from typing import TYPE_CHECKING

from medbill_core.codesets.formats import ICD10CM_RE
from medbill_core.codesets.icd10_common import (
    CODES,
    LazyRelease,
    LazyTable,
    OfficialRow,
    Table,
    fiscal_year_window,
    formats_on_first_use,
    headers_from_codes,
    read_packaged_release,
    read_release,
    window_from_name,
    write_release,
)
from medbill_core.codesets.model import CodeInfo, CodeSetError, CodeSystem, Release
from medbill_core.codesets.tables import Row, iter_csv, open_text, rows_to_table

if TYPE_CHECKING:
    from medbill_core.codesets.releases import ReleaseWindow

# re-exported: callers knew them here before the code shared with ICD-10-PCS moved out
__all__ = ["fiscal_year_window", "read_release", "window_from_name",
           "write_release"]

PACKAGE = "simple_icd_10_cm"
DISTRIBUTION = "simple-icd-10-cm"
CODE_SET = "icd10cm"

#: The packaged FY2027 table and the FY2027 change lists (CMS, via data/SOURCES.md).
FY2027_FILE = "icd10cm_fy2027.csv.gz"
FY2027_CHANGES = {
    "added": "icd10cm_fy2027_added.csv",
    "deleted": "icd10cm_fy2027_deleted.csv",
    "revised": "icd10cm_fy2027_revised.csv",
    "billable": "icd10cm_fy2027_billable_changes.csv",
}
#: One source for every packaged row: unchanged codes are shared by both releases.
PACKAGED_SOURCE = ("medbill packaged ICD-10-CM (CMS FY2027, rebuilt; April 2026 derived from"
                   " it; see codesets/data/SOURCES.md)")
FY2027 = Release("ICD-10-CM FY2027", date(2026, 10, 1), date(2027, 9, 30),
                 "CMS ICD-10-CM FY2027, rebuilt from the CDC April 2026 tabular and the FY2027"
                 " change lists (packaged)")
APRIL_2026 = Release("ICD-10-CM April 2026 update", date(2026, 4, 1), date(2026, 9, 30),
                     "CDC ICD-10-CM April 1, 2026 update, derived from FY2027 by undoing the"
                     " FY2027 change lists (packaged)")
#: Official counts (CMS), checked by the tests against the packaged data.
COUNTS = {FY2027.effective: (98_403, 74_879), APRIL_2026.effective: (98_186, 74_719)}


# -- packaged releases --------------------------------------------------------------------------

@functools.cache
def fy2027_table() -> LazyTable:
    """The packaged FY2027 table (read once per process)."""
    return read_packaged_release(FY2027_FILE, CodeSystem.ICD10CM, PACKAGED_SOURCE)


def _change_rows(kind: str) -> list[dict[str, str]]:
    raw = resources.files("medbill_core.codesets").joinpath(
        "data", FY2027_CHANGES[kind]).read_bytes()
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


@functools.cache
def april_2026_table() -> LazyTable:
    """The April 2026 update: FY2027 with the FY2027 changes undone (read once per process)."""
    table = fy2027_table().without(row["code"] for row in _change_rows("added"))
    for row in _change_rows("deleted"):
        table[row["code"]] = CodeInfo(CodeSystem.ICD10CM, row["code"], row["longTitle"],
                                      row["shortTitle"], billable=row["wasBillable"] == "true",
                                      source=PACKAGED_SOURCE)
    for row in _change_rows("revised"):
        table[row["code"]] = table[row["code"]]._replace(
            description=row["previousLongTitle"], short_description=row["previousShortTitle"])
    for row in _change_rows("billable"):
        table[row["code"]] = table[row["code"]]._replace(
            billable=row["previousBillable"] == "true")
    return table


_SHIPPED = ((FY2027, fy2027_table), (APRIL_2026, april_2026_table))


@functools.cache
def shipped_releases() -> tuple[LazyRelease, ...]:
    """The releases medbill ships, newest first (shared by every ``CodeSets``)."""
    return tuple(LazyRelease(release, load) for release, load in _SHIPPED)


@functools.cache
def package_release(cache_dir: Path | None) -> LazyRelease | None:
    """The release ``simple-icd-10-cm`` ships, when installed and not one medbill ships."""
    found = packaged_release_info()
    if found is None or found[0].effective in {r.effective for r, _ in _SHIPPED}:
        return None

    def load() -> Table:
        loaded = load_packaged(cache_dir)
        return loaded[1] if loaded is not None else {}

    return LazyRelease(found[0], load)


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


# -- `medbill codes update`: the official files -------------------------------------------------

def _check_structure(rows: list[OfficialRow], where: str) -> None:
    """An order file's headers are exactly the codes with codes under them, and every code
    is in a category (3 characters) of the file: a flag or a code out of place is refused."""
    codes = {row.code for row in rows}
    parents = {row.code[:n] for row in rows for n in range(3, len(row.code))}
    for row in rows:
        if row.code[:3] not in codes:
            raise CodeSetError(f"{where} line {row.line}: {row.code} is under category"
                               f" {row.code[:3]}, which the file does not have")
        if row.billable and row.code in parents:
            raise CodeSetError(f"{where} line {row.line}: {row.code} is marked valid (1) but"
                               " has codes under it (a header is 0)")
        if not row.billable and row.code not in parents:
            raise CodeSetError(f"{where} line {row.line}: {row.code} is marked a header (0)"
                               " but has no codes under it")


def _build(rows: list[OfficialRow], layout: str, source: str) -> Table:
    system = CodeSystem.ICD10CM
    where = source.rpartition("(")[2].rstrip(")")
    if layout == CODES:
        table = {code: CodeInfo(system, code, "", billable=False, source=source)
                 for code in sorted(headers_from_codes(row.code for row in rows))}
        table.update((row.code, CodeInfo(system, row.code, row.long, source=source))
                     for row in rows)
        return table
    _check_structure(rows, where)
    return {row.code: CodeInfo(system, row.code, row.long, row.short, billable=row.billable,
                               source=source) for row in rows}


#: ``FORMATS``, the official order and codes files (plain or zipped), built on first use
__getattr__ = formats_on_first_use(__name__, CodeSystem.ICD10CM, CODE_SET, _build)


# -- every release medbill has -----------------------------------------------------------------

def _legacy_releases(data_dir: Path) -> list[LazyRelease]:
    """Releases stored by ``medbill codes load icd10cm FILE``: one file per window."""
    from medbill_core.codesets.loaders import ICD_DIR, read_manifest

    folder = data_dir / ICD_DIR
    if not folder.is_dir():
        return []
    manifest = read_manifest(data_dir)
    out = []
    for path in sorted(folder.glob("*_*.csv.gz")):
        start, _, end = path.name.removesuffix(".csv.gz").partition("_")
        try:
            effective, through = date.fromisoformat(start), date.fromisoformat(end)
        except ValueError:
            continue  # not a file medbill wrote
        entry = manifest.get(f"{ICD_DIR}/{start}_{end}") or {}
        loaded = str(entry.get("loaded_at", ""))[:10]
        source = f"user file {entry.get('file', path.name)}" + (
            f" (loaded {loaded})" if loaded else "")
        out.append(LazyRelease(Release(f"ICD-10-CM {start}..{end}", effective, through, source),
                               functools.partial(read_release, path, source), "loaded"))
    return out


def _updated_releases(data_dir: Path) -> list[LazyRelease]:
    """Releases stored by ``medbill codes update`` (see :data:`FORMATS`)."""
    from medbill_core.codesets.releases import loaded_releases

    out = []
    for window, folder in loaded_releases(data_dir, CODE_SET):
        release = Release(window.label, window.effective, window.through or date.max,
                          window.source)
        out.append(LazyRelease(release, functools.partial(
            read_release, folder / f"{CODE_SET}.csv.gz", window.source), "loaded"))
    return out


def user_releases(data_dir: Path | None) -> list[LazyRelease]:
    """Releases the user loaded, with ``codes update`` or ``codes load`` (not read yet)."""
    if data_dir is None:
        return []
    return [*_updated_releases(data_dir), *_legacy_releases(data_dir)]


def all_releases(data_dir: Path | None, cache_dir: Path | None) -> list[LazyRelease]:
    """User releases, then the packaged ones (tables not read yet)."""
    package = package_release(cache_dir)
    return [*user_releases(data_dir), *shipped_releases(),
            *([package] if package is not None else [])]


def release_windows(data_dir: Path | None) -> list[ReleaseWindow]:
    """The ICD-10-CM releases medbill has, for ``medbill codes status`` (no table is read)."""
    from medbill_core.codesets.releases import ReleaseWindow, loaded_releases

    windows = [ReleaseWindow(CODE_SET, r.label, r.effective, r.through, r.source,
                             rows=COUNTS[r.effective][0],
                             note=f"{COUNTS[r.effective][1]:,} valid codes (official count)")
               for r, _ in _SHIPPED]
    package = package_release(None)
    if package is not None:
        release = package.release
        windows.append(ReleaseWindow(CODE_SET, release.label, release.effective,
                                     release.through, f"{release.source} (installed package)"))
    windows.extend(window for window, _ in loaded_releases(data_dir, CODE_SET))
    if data_dir is not None:
        windows.extend(ReleaseWindow(CODE_SET, lazy.release.label, lazy.release.effective,
                                     lazy.release.through, lazy.release.source, "loaded")
                       for lazy in _legacy_releases(data_dir))
    return windows
