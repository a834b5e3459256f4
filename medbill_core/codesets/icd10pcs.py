"""ICD-10-PCS releases: inpatient hospital procedure codes, packaged and user-loaded.

Every ICD-10-PCS code has 7 characters (digits and letters other than I and O); each
valid code is billable, and anything shorter is part of a code, not a code. The code set
changes once a fiscal year (1 October).

Packaged (``data/SOURCES.md``): **FY2027** (2026-10-01..2027-09-30; 79,256 codes, the
official count; 369 of them without a title in medbill's data: such a code keeps an empty
description and a note), and **FY2026** (2025-10-01..2026-09-30), derived from FY2027 by
undoing CMS's FY2027 addenda (the 101 added codes removed, the 38 deleted ones put back
with the titles the addenda give, the 3 revised titles reverted) -- 79,193 codes, the
count the addenda state for FY2026.

User releases: ``medbill codes update`` with the CMS order or codes file (:data:`FORMATS`).
"""

from __future__ import annotations

import functools
import gzip
import re
from datetime import date
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from medbill_core.codesets.icd10_common import (
    LazyRelease,
    LazyTable,
    OfficialRow,
    Table,
    formats_on_first_use,
    read_release,
)
from medbill_core.codesets.model import CodeInfo, CodeSystem, Release

if TYPE_CHECKING:
    from medbill_core.codesets.releases import ReleaseWindow

CODE_SET = "icd10pcs"
FY2027_FILE = "icd10pcs_fy2027.csv.gz"
ADDENDA_FILE = "icd10pcs_addenda_2027.txt"
PACKAGED_SOURCE = ("medbill packaged ICD-10-PCS (CMS FY2027 code set, rebuilt; FY2026 derived"
                   " from it with the FY2027 addenda; see codesets/data/SOURCES.md)")
FY2027 = Release("ICD-10-PCS FY2027", date(2026, 10, 1), date(2027, 9, 30),
                 "CMS ICD-10-PCS FY2027 code set, rebuilt; titles from third-party copies of"
                 " the CMS files (packaged)")
FY2026 = Release("ICD-10-PCS FY2026", date(2025, 10, 1), date(2026, 9, 30),
                 "CMS ICD-10-PCS FY2026, derived from FY2027 by undoing the CMS FY2027 addenda"
                 " (packaged)")
#: Official counts (CMS addenda summary), checked by the tests against the packaged data.
COUNTS = {FY2027.effective: 79_256, FY2026.effective: 79_193}

# "Add:         028F3Z0 Division of ..." / "Delete:" / "Revise from:" / "Revise to:"
_ADDENDA_LINE = re.compile(r"^(Add|Delete|Revise from|Revise to): +([0-9A-HJ-NP-Z]{7}) +(.+)$")


@functools.cache
def fy2027_table() -> LazyTable:
    """The packaged FY2027 table (read once per process; records parsed on first use)."""
    raw = resources.files("medbill_core.codesets").joinpath("data", FY2027_FILE).read_bytes()
    system = CodeSystem.ICD10PCS

    def parse(cells: list[str]) -> CodeInfo:
        code, description, note = cells
        return CodeInfo(system, code, description, "", True, True, None, None, False,
                        PACKAGED_SOURCE, note)

    return LazyTable.from_csv_text(gzip.decompress(raw).decode("utf-8"),
                                   ("code", "description", "note"), parse, where=FY2027_FILE)


def addenda() -> dict[str, dict[str, str]]:
    """The packaged FY2027 addenda: {"Add"|"Delete"|"Revise from"|"Revise to": {code: title}}."""
    raw = resources.files("medbill_core.codesets").joinpath("data", ADDENDA_FILE).read_bytes()
    out: dict[str, dict[str, str]] = {"Add": {}, "Delete": {}, "Revise from": {},
                                      "Revise to": {}}
    for line in raw.decode("utf-8").splitlines():
        match = _ADDENDA_LINE.match(line.strip())
        if match:
            out[match.group(1)][match.group(2)] = match.group(3).strip()
    return out


@functools.cache
def fy2026_table() -> LazyTable:
    """FY2026: FY2027 with the FY2027 addenda undone (read once per process)."""
    changes = addenda()
    table = fy2027_table().without(changes["Add"])
    for code, title in changes["Delete"].items():
        table[code] = CodeInfo(CodeSystem.ICD10PCS, code, title, source=PACKAGED_SOURCE)
    for code, title in changes["Revise from"].items():
        table[code] = table[code]._replace(description=title)
    return table


_SHIPPED = ((FY2027, fy2027_table), (FY2026, fy2026_table))


@functools.cache
def shipped_releases() -> tuple[LazyRelease, ...]:
    """The releases medbill ships, newest first (shared by every ``CodeSets``)."""
    return tuple(LazyRelease(release, load) for release, load in _SHIPPED)


def user_releases(data_dir: Path | None) -> list[LazyRelease]:
    """Releases loaded with ``medbill codes update`` (tables not read yet)."""
    from medbill_core.codesets.releases import loaded_releases

    out = []
    for window, folder in loaded_releases(data_dir, CODE_SET):
        release = Release(window.label, window.effective, window.through or date.max,
                          window.source)
        out.append(LazyRelease(release, functools.partial(
            read_release, folder / f"{CODE_SET}.csv.gz", window.source, CodeSystem.ICD10PCS),
            "loaded"))
    return out


def all_releases(data_dir: Path | None) -> list[LazyRelease]:
    """User releases, then the packaged ones."""
    return [*user_releases(data_dir), *shipped_releases()]


def release_windows(data_dir: Path | None) -> list[ReleaseWindow]:
    """The ICD-10-PCS releases medbill has, for ``medbill codes status`` (no table is read)."""
    from medbill_core.codesets.releases import ReleaseWindow, loaded_releases

    windows = [ReleaseWindow(CODE_SET, r.label, r.effective, r.through, r.source,
                             rows=COUNTS[r.effective])
               for r, _ in _SHIPPED]
    windows[0] = ReleaseWindow(
        CODE_SET, FY2027.label, FY2027.effective, FY2027.through, FY2027.source,
        rows=COUNTS[FY2027.effective], note="369 codes have no title in the packaged data")
    windows.extend(window for window, _ in loaded_releases(data_dir, CODE_SET))
    return windows


# -- `medbill codes update`: the official files -------------------------------------------------

def _build(rows: list[OfficialRow], layout: str, source: str) -> Table:
    # an order file's headers (the 3-character tables) are not codes: only the valid
    # 7-character codes are kept, as the codes file lists them
    system = CodeSystem.ICD10PCS
    return {row.code: CodeInfo(system, row.code, row.long, row.short, source=source)
            for row in rows if row.billable}


#: ``FORMATS``, the official order and codes files (plain or zipped), built on first use
__getattr__ = formats_on_first_use(__name__, CodeSystem.ICD10PCS, CODE_SET, _build)
