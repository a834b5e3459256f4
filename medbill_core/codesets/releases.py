"""Releases of reference data: which one governs a date of service, and what is missing.

Every code set medbill checks claims against changes on a schedule: ICD-10-CM and
ICD-10-PCS each fiscal year (1 October), HCPCS Level II, the NCCI edits and the
Medicare fee schedule each quarter, the X12 CARC/RARC lists three times a year. A
**release** is one such edition and governs the dates of service of its window. A code
set's :class:`CodeSetSpec` says how its windows fall (its :class:`Cadence`), where the
official files come from, and lists the releases medbill has (packaged with medbill,
or loaded by the user with ``medbill codes update``).

:func:`coverage` answers "which release governs this date?" -- and when none does, names
the missing release and the command that loads it, so a check past the newest loaded
release is a warning, never a silent pass. ``medbill codes status`` prints
:func:`status` for today.

Loaded releases are recorded in the user code-set directory's ``manifest.json`` under
``releases`` (written by :mod:`medbill_core.codesets.update`), one entry per code set
and effective date; their files live in ``releases/<code set>/<effective date>/``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from medbill_core.codesets.loaders import MANIFEST

if TYPE_CHECKING:
    from medbill_core.codesets.model import Verdict

RELEASES_DIR = "releases"
UPDATE_COMMAND = "medbill codes update FILE..."


class Cadence(StrEnum):
    """How a code set's release windows fall."""

    FISCAL_YEAR = "fiscal_year"  # 1 October .. 30 September (ICD-10-CM, ICD-10-PCS)
    QUARTERLY = "quarterly"  # 1 Jan / 1 Apr / 1 Jul / 1 Oct (HCPCS, NCCI, MPFS)
    X12_TRIANNUAL = "x12_triannual"  # X12 code list updates: 1 Mar / 1 Jul / 1 Nov
    NONE = "none"  # no schedule: a release stands until replaced (place of service)


def _quarter(on: date) -> tuple[date, date, int]:
    q = (on.month - 1) // 3
    start = date(on.year, 3 * q + 1, 1)
    end = (date(on.year + 1, 1, 1) if q == 3 else date(on.year, 3 * q + 4, 1)) - timedelta(1)
    return start, end, q + 1


def _x12_period(on: date) -> tuple[date, date]:
    if on.month >= 11:
        return date(on.year, 11, 1), date(on.year + 1, 3, 1) - timedelta(1)
    if on.month >= 7:
        return date(on.year, 7, 1), date(on.year, 10, 31)
    if on.month >= 3:
        return date(on.year, 3, 1), date(on.year, 6, 30)
    return date(on.year - 1, 11, 1), date(on.year, 3, 1) - timedelta(1)


_X12_MONTHS = {3: "March", 7: "July", 11: "November"}


def period(cadence: Cadence, on: date) -> tuple[str, date, date | None]:
    """The scheduled release window containing ``on``: (name, first day, last day or None).

    The name is the edition's usual name ("FY2027", "2026 Q4", "November 2026 update").
    """
    if cadence is Cadence.FISCAL_YEAR:
        fy = on.year + 1 if on.month >= 10 else on.year
        return f"FY{fy}", date(fy - 1, 10, 1), date(fy, 9, 30)
    if cadence is Cadence.QUARTERLY:
        start, end, q = _quarter(on)
        return f"{on.year} Q{q}", start, end
    if cadence is Cadence.X12_TRIANNUAL:
        start, end = _x12_period(on)
        return f"{_X12_MONTHS[start.month]} {start.year} update", start, end
    return "current list", on, None


@dataclass(frozen=True, slots=True)
class ReleaseWindow:
    """One release medbill has, and the dates of service it governs (inclusive).

    ``through`` is ``None`` for a code set without a schedule (it stands until replaced).
    ``origin`` is ``packaged`` (shipped with medbill) or ``loaded`` (``medbill codes update``).
    """

    code_set: str
    label: str
    effective: date
    through: date | None
    source: str
    origin: str = "packaged"
    rows: int | None = None
    note: str = ""

    def covers(self, on: date) -> bool:
        return self.effective <= on and (self.through is None or on <= self.through)


@dataclass(frozen=True, slots=True)
class CodeSetSpec:
    """A code set medbill keeps releases of.

    :ivar key: the name used in the manifest, ``codes status --json`` and release folders.
    :ivar name: the name people know it by ("ICD-10-CM").
    :ivar cadence: how its release windows fall.
    :ivar official_files: what to download and from where (printed when a release is missing).
    :ivar releases: lists the releases medbill has, packaged and loaded, given the user
        code-set directory (``None``: packaged only). Owned by the module that reads the set.
    :ivar cumulative: each release answers every earlier date of service too, because its
        records carry their own dates (HCPCS add/termination dates, NCCI effective/deletion
        dates, CARC/RARC start/stop dates); a snapshot set (ICD-10-CM, MUEs, the fee
        schedule) answers only its own window.
    """

    key: str
    name: str
    cadence: Cadence
    official_files: str
    releases: Callable[[Path | None], list[ReleaseWindow]] = field(repr=False)
    cumulative: bool = False


@dataclass(frozen=True, slots=True)
class Coverage:
    """The answer to "which release of this code set governs this date?"."""

    spec: CodeSetSpec
    on: date
    release: ReleaseWindow | None  # the release covering ``on``; else the nearest one, if any
    covered: bool

    @property
    def release_label(self) -> str:
        return self.release.label if self.release else ""

    @property
    def wanted_period(self) -> str:
        """The scheduled edition for ``on`` without the code set's name: "FY2027 (...)"."""
        name, start, end = period(self.spec.cadence, self.on)
        return f"{name} ({start}..{end})" if end else name

    @property
    def wanted(self) -> str:
        """The release that governs ``on`` by the schedule: "ICD-10-CM FY2027 (2026-10-01..
        2027-09-30)"."""
        name, start, end = period(self.spec.cadence, self.on)
        return f"{self.spec.name} {name} ({start}..{end})" if end else self.spec.name

    @property
    def how_to_load(self) -> str:
        return f"download {self.spec.official_files} and run `{UPDATE_COMMAND}`"

    @property
    def missing(self) -> str:
        """One line naming the release that governs ``on`` and how to load it ('' if covered)."""
        if self.covered:
            return ""
        used = (f"; checked against {self.release.label} ({self.release.effective}.."
                f"{self.release.through or ''})" if self.release else "; not checked")
        return f"{self.wanted} is not loaded{used}: {self.how_to_load}"


def _registry() -> dict[str, CodeSetSpec]:
    # Imported here: the owner modules import this one for the types above.
    from medbill_core.codesets import catalog

    return {spec.key: spec for spec in catalog.SPECS}


def spec(key: str) -> CodeSetSpec:
    """The :class:`CodeSetSpec` named ``key`` (see :data:`catalog.SPECS`)."""
    try:
        return _registry()[key]
    except KeyError:
        raise KeyError(f"unknown code set {key!r}") from None


def specs() -> list[CodeSetSpec]:
    return list(_registry().values())


def coverage(key: str, on: date, data_dir: Path | None = None,
             releases: list[ReleaseWindow] | None = None) -> Coverage:
    """Which release of code set ``key`` governs date of service ``on``.

    The newest covering release wins (for a cumulative set, any release not ended before
    ``on`` covers it); a loaded release wins over a packaged one with the same date. When
    none covers ``on``, the nearest release (the later one on a tie) is given with
    ``covered=False``.
    """
    code_set = spec(key)
    found = releases if releases is not None else code_set.releases(data_dir)
    if code_set.cumulative:
        covering = [r for r in found if r.through is None or on <= r.through]
    else:
        covering = [r for r in found if r.covers(on)]
    if covering:
        best = max(covering, key=lambda r: (r.effective, r.origin == "loaded"))
        return Coverage(code_set, on, best, True)
    if not found:
        return Coverage(code_set, on, None, False)

    def distance(r: ReleaseWindow) -> tuple[int, int]:
        if on < r.effective:
            return (r.effective - on).days, 1
        end = r.through or r.effective
        return (on - end).days, 0

    return Coverage(code_set, on, min(found, key=distance), False)


_listed: dict[tuple[str, Path | None], tuple[int, list[ReleaseWindow]]] = {}


def listed_releases(key: str, data_dir: Path | None) -> list[ReleaseWindow]:
    """``spec(key).releases(data_dir)``, kept until the directory's manifest changes (a
    ``codes update`` in this or another process): the scrubber asks for every claim."""
    try:
        stamp = (data_dir / MANIFEST).stat().st_mtime_ns if data_dir is not None else 0
    except OSError:
        stamp = -1
    cached = _listed.get((key, data_dir))
    if cached is not None and cached[0] == stamp:
        return cached[1]
    found = spec(key).releases(data_dir)
    _listed[(key, data_dir)] = (stamp, found)
    return found


def forget_listed_releases() -> None:
    _listed.clear()
    _loaded.clear()


def status(on: date, data_dir: Path | None = None) -> list[tuple[CodeSetSpec,
                                                                 list[ReleaseWindow],
                                                                 Coverage]]:
    """Every code set, its releases (oldest first) and its coverage of ``on``."""
    out = []
    for code_set in specs():
        found = sorted(code_set.releases(data_dir), key=lambda r: (r.effective, r.origin))
        out.append((code_set, found, coverage(code_set.key, on, data_dir, found)))
    return out


# -- the manifest of loaded releases -----------------------------------------------------------

def release_dir(data_dir: Path, key: str, effective: date) -> Path:
    """Where the files of a loaded release live."""
    return data_dir / RELEASES_DIR / key / effective.isoformat()


#: ``loaded_releases``'s reading of each (data directory, code set): the manifest's identity
#: (modification time, size, inode) it was read at, and each release with its folder.
_loaded: dict[tuple[Path, str], tuple[tuple[int, int, int], list[tuple[ReleaseWindow, Path]]]] = {}


def loaded_releases(data_dir: Path | None, key: str) -> list[tuple[ReleaseWindow, Path]]:
    """The releases of ``key`` loaded with ``medbill codes update``, with their folders.

    The manifest is read again only when it changed (a ``codes update`` in this or another
    process: it replaces the file); a release whose folder is gone is left out on every
    call, as when the manifest is read."""
    if data_dir is None:
        return []
    try:
        found = (data_dir / MANIFEST).stat()
    except OSError:
        return []
    stamp = (found.st_mtime_ns, found.st_size, found.st_ino)
    cached = _loaded.get((data_dir, key))
    if cached is None or cached[0] != stamp:
        read = _read_loaded_releases(data_dir, key)
        if read is None:
            return []
        cached = _loaded[(data_dir, key)] = (stamp, read)
    return [(window, folder) for window, folder in cached[1] if folder.is_dir()]


def _read_loaded_releases(data_dir: Path, key: str) -> list[tuple[ReleaseWindow, Path]] | None:
    """The manifest's releases of ``key`` (None: the manifest cannot be read now)."""
    try:
        manifest = json.loads((data_dir / MANIFEST).read_text(encoding="utf-8"))
    except OSError:
        return None
    except ValueError:
        return []
    entries = (manifest.get("releases") or {}).get(key) or {}
    out = []
    for effective, entry in sorted(entries.items()):
        try:
            start = date.fromisoformat(effective)
            end = date.fromisoformat(entry["through"]) if entry.get("through") else None
            window = ReleaseWindow(
                key, str(entry["release"]), start, end,
                f"loaded {str(entry.get('loaded_at', ''))[:10]} from"
                f" {', '.join(entry.get('files', []))}", "loaded", int(entry.get("rows", 0)))
        except (KeyError, TypeError, ValueError):
            continue  # a hand-edited entry medbill cannot read is ignored, not fatal
        out.append((window, release_dir(data_dir, key, start)))
    return out


#: Code systems of a lookup (``CodeSystem`` values) -> the code set whose releases answer it.
SYSTEM_CODE_SETS = {"icd10cm": "icd10cm", "icd10pcs": "icd10pcs", "hcpcs": "hcpcs",
                    "modifier": "hcpcs-modifiers", "pos": "pos", "carc": "carc",
                    "rarc": "rarc"}


def lookup_coverage(system: str, code: str, on: date,
                    data_dir: Path | None) -> Coverage | None:
    """Which release answers a single lookup of ``code`` (a ``CodeSystem`` value) on ``on``;
    ``None`` when the code is not release-based (CPT codes and CPT modifier numbers are
    checked by format only, group codes are fixed)."""
    from medbill_core.codesets.formats import CPT_RE, is_cpt_modifier_number

    key = SYSTEM_CODE_SETS.get(system)
    if key is None or key not in _registry():
        return None
    norm = code.strip().upper()
    if (system == "hcpcs" and CPT_RE.match(norm)) or (
            system == "modifier" and is_cpt_modifier_number(norm)):
        return None
    return coverage(key, on, data_dir)


def release_gap(system: str, code: str, on: date, data_dir: Path | None) -> str:
    """The gap line for a single lookup of ``code`` (a ``CodeSystem`` value) on ``on``: ''
    when a loaded release covers the date, or the code is not release-based (CPT codes and
    CPT modifier numbers are checked by format only)."""
    found = lookup_coverage(system, code, on, data_dir)
    return found.missing if found is not None else ""


def outside_every_release(found: Coverage, data_dir: Path | None) -> str:
    """Why ``found.on`` cannot be answered, naming the windows of every release medbill has:
    "2040-01-01 is outside every loaded ICD-10-CM release (ICD-10-CM April 2026 update
    : 2026-04-01..2026-09-30; ICD-10-CM FY2027: 2026-10-01..2027-09-30)". A cumulative set's
    release also answers the dates before it ("through D"); a list without a schedule stands
    from its date ("from D")."""
    windows: dict[str, None] = {}
    for release in sorted(listed_releases(found.spec.key, data_dir),
                          key=lambda r: (r.effective, r.origin)):
        if release.through is None:
            span = f"from {release.effective}"
        elif found.spec.cumulative:
            span = f"through {release.through}"
        else:
            span = f"{release.effective}..{release.through}"
        windows.setdefault(f"{release.label}: {span}", None)
    if not windows:
        return f"no {found.spec.name} release is loaded"
    return (f"{found.on} is outside every loaded {found.spec.name} release"
            f" ({'; '.join(windows)})")


@dataclass(frozen=True)
class NotChecked:
    """A code valid in the nearest release, looked up on a date no loaded release covers:
    not a pass. ``medbill validate`` and ``medbill codes show`` say it alike."""

    #: "E11.9: 2024-05-01 is outside every loaded ICD-10-CM release (...)"
    message: str
    #: the release that would answer the date and how to load it (:func:`release_to_load`)
    to_load: str


def not_checked(verdict: Verdict, data_dir: Path | None) -> NotChecked | None:
    """:class:`NotChecked` when ``verdict`` passed a code on a date no loaded release of its
    code set covers; None when a release covers the date, the code is not release-based, or
    the code failed on its own (it keeps its reason; :func:`release_gap` is then its note)."""
    if not verdict.ok:
        return None
    found = lookup_coverage(verdict.system.value, verdict.code, verdict.on, data_dir)
    if found is None or found.covered:
        return None
    code = verdict.info.display_code if verdict.info else verdict.code
    return NotChecked(f"{code}: {outside_every_release(found, data_dir)}",
                      release_to_load(found))


def release_to_load(found: Coverage) -> str:
    """The release that would answer ``found.on`` and how to load it, one line."""
    _, _, end = period(found.spec.cadence, found.on)
    wanted = found.wanted if end else f"a {found.spec.name} list in force on {found.on}"
    return f"{wanted} is not loaded: {found.how_to_load}"


def without_gap_note(note: str) -> str:
    """``note`` without the lookup's own "date past the release" remark, for a printout
    that shows :func:`release_gap`'s fuller line (which names the missing release) instead."""
    kept = [part for part in note.split("; ")
            if "checked against that release" not in part
            and "is outside the loaded" not in part
            and not (part.startswith("date ") and " is after " in part)]
    return "; ".join(kept)
