"""The Medicare Physician Fee Schedule (MPFS) data, kept by release.

CMS publishes the fee schedule each quarter as a zip (``RVU26A`` = January 2026 release,
``B`` April, ``C`` July, ``D`` October) holding the national relative value file
(``PPRRVU*``: RVUs and payment indicators per code and modifier), the geographic practice
cost indices (``GPCI*``), the OPPS imaging-cap amounts per locality (``OPPSCAP*``), the
anesthesia factors (``ANES*``) and the locality/county list (``*LOCCO*``). This module holds
that **data**: which release governs a date of service (:func:`schedule_for`), the packaged
releases (see ``data/SOURCES.md``) and the ``medbill codes update`` format that loads a CMS
zip (:data:`FORMATS`). The pricing **rules** (formula, setting, status codes, modifiers, the
OPPS cap, the NA rule, participation) belong to the Medicare payer plugin, which reads the
data through :func:`schedule_for`.

A date past the newest release is still answered, from the nearest release, with
``covered=False`` and ``missing`` naming the release to load (see
:func:`medbill_core.codesets.releases.coverage`), so a price from an older table is never
presented as certain.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

from medbill_core.codesets.loaders import user_data_dir
from medbill_core.codesets.model import CodeSetError
from medbill_core.codesets.releases import (
    Cadence,
    ReleaseWindow,
    coverage,
    loaded_releases,
    period,
)
from medbill_core.codesets.update import PreparedRelease, ReleaseFormat, SourceFile, digest_of

KEY = "mpfs"
#: An RVU file with fewer rows is refused: CMS's files hold about 19,000 (19,090 in RVU25D,
#: 19,356 in RVU26C), so a few hundred rows means a truncated or wrong file.
MIN_RVU_ROWS = 1000
#: A GPCI file with fewer localities is refused (CMS has about 110).
MIN_LOCALITIES = 50

_PACKAGE = "medbill_core.codesets"
_DATA = ("data", "mpfs")

# -- the data -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RVURow:
    """One row of the CMS RVU file (the columns pricing uses).

    The ``opps_*`` fields are the RVU file's "PE/MP used for OPPS payment amount" columns:
    zero for services the OPPS imaging cap does not apply to.
    """

    hcpcs: str
    modifier: str
    status_code: str
    work: Decimal
    pe_nonfacility: Decimal
    pe_nonfacility_na: bool
    pe_facility: Decimal
    pe_facility_na: bool
    mp: Decimal
    pctc_indicator: str
    global_days: str
    mult_proc: str
    opps_pe_nonfacility: Decimal = Decimal("0")
    opps_pe_facility: Decimal = Decimal("0")
    opps_mp: Decimal = Decimal("0")

    @property
    def opps_capped(self) -> bool:
        """True when the RVU file gives OPPS cap RVUs for this row (imaging TC / global)."""
        return bool(self.opps_pe_nonfacility or self.opps_pe_facility or self.opps_mp)


@dataclass(frozen=True, slots=True)
class Locality:
    """One MPFS payment locality with its GPCIs (Addendum E)."""

    mac: str
    state: str
    locality: str
    name: str
    work_gpci: Decimal
    pe_gpci: Decimal
    mp_gpci: Decimal

    @property
    def key(self) -> tuple[str, str]:
        return (self.mac, self.locality)


@dataclass(frozen=True, slots=True)
class OppsCapAmount:
    """One row of CMS's OPPSCAP file: the payment amounts of a service in one locality after
    the OPPS imaging cap (for contractor-priced codes, the cap itself)."""

    facility: Decimal
    nonfacility: Decimal


@dataclass(frozen=True)
class FeeScheduleData:
    """One MPFS release: RVUs, GPCIs, conversion factor and (when loaded) OPPS cap amounts."""

    year: int
    conversion_factor: Decimal
    rvus: Mapping[tuple[str, str], RVURow]
    localities: dict[tuple[str, str], Locality]
    label: str = ""
    opps_caps: dict[tuple[str, str, str, str], OppsCapAmount] = field(default_factory=dict)

    def rvu(self, code: str, modifier: str | None = None) -> RVURow | None:
        return self.rvus.get((code.upper(), (modifier or "").upper()))

    def opps_cap(self, code: str, modifier: str, locality: Locality) -> OppsCapAmount | None:
        """The OPPSCAP file's amounts for this service in ``locality`` (None: not in it)."""
        return self.opps_caps.get((code.upper(), modifier.upper(), locality.mac,
                                   locality.locality))

    def locality(self, locality: str, mac: str | None = None) -> Locality:
        """The locality ``locality`` of MAC ``mac`` (``mac`` may be omitted when the number
        belongs to one MAC only).

        :raises CodeSetError: unknown or ambiguous locality.
        """
        number = locality.strip().zfill(2)
        name = self.label or f"MPFS {self.year}"
        if mac is not None:
            found = self.localities.get((mac.strip().zfill(5), number))
            if found is None:
                raise CodeSetError(
                    f"{name}: no locality {number} under MAC {mac} (see the GPCI file)")
            return found
        matches = [loc for (_, number_), loc in self.localities.items() if number_ == number]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise CodeSetError(f"{name}: no locality {number}")
        macs = ", ".join(sorted(loc.mac for loc in matches))
        raise CodeSetError(f"{name}: locality {number} exists under several MACs ({macs});"
                           " set 'mac'")

    def has_mac(self, mac: str) -> bool:
        return any(key[0] == mac for key in self.localities)


class MpfsSchedule(NamedTuple):
    """The fee schedule that prices a date of service, and how sure that is.

    ``covered`` is False when no release governs the date (it was priced from the nearest
    one); ``missing`` then names the release to load and the command.
    """

    schedule: FeeScheduleData
    release: ReleaseWindow
    covered: bool
    missing: str


# -- reading the stored (canonical) layout ------------------------------------------------------

#: The stored RVU layout: CMS's columns under short names, without DESCRIPTION.
RVU_COLUMNS = (
    "hcpcs", "modifier", "status_code", "not_used_for_medicare_payment", "work_rvu",
    "nonfacility_pe_rvu", "nonfacility_na_indicator", "facility_pe_rvu",
    "facility_na_indicator", "mp_rvu", "nonfacility_total", "facility_total", "pctc_indicator",
    "global_days", "preop_pct", "intraop_pct", "postop_pct", "mult_proc", "bilat_surg",
    "asst_surg", "co_surg", "team_surg", "pricing_indicator", "endo_base", "conversion_factor",
    "phys_supervision_diag", "calc_flag", "diag_imaging_family", "opps_nonfacility_pe",
    "opps_facility_pe", "opps_mp",
)
GPCI_COLUMNS = ("mac", "state", "locality", "locality_name", "pw_gpci", "pe_gpci", "mp_gpci",
                "locality_name_note")
OPPSCAP_COLUMNS = ("hcpcs", "modifier", "procstat", "mac", "locality", "facility_price",
                   "nonfacility_price")


def _decimal(text: str | None) -> Decimal:
    return Decimal((text or "").strip() or "0")


def _read_rvus(lines: Iterable[str]) -> dict[tuple[str, str], RVURow]:
    """The RVU rows of a stored RVU file, as ``csv.DictReader`` reads them (empty lines
    skipped, a short row's missing cells ``None``, a missing column an error at the first
    row), read by column position: a release has about 19,000 rows, and its few distinct
    RVU texts are made ``Decimal`` once each."""
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None:
        return {}
    column = {name: position for position, name in enumerate(header)}
    width = len(header)
    at: tuple[int, ...] | None = None
    opps: tuple[int | None, ...] = ()
    decimals: dict[str | None, Decimal] = {}

    def number(text: str | None) -> Decimal:
        found = decimals.get(text)
        if found is None:
            found = decimals[text] = _decimal(text)
        return found

    rows: dict[tuple[str, str], RVURow] = {}
    for record in reader:
        if not record:
            continue
        if at is None:
            at = tuple(column[name] for name in (
                "hcpcs", "modifier", "status_code", "work_rvu", "nonfacility_pe_rvu",
                "nonfacility_na_indicator", "facility_pe_rvu", "facility_na_indicator",
                "mp_rvu", "pctc_indicator", "global_days", "mult_proc"))
            opps = tuple(column.get(name)
                         for name in ("opps_nonfacility_pe", "opps_facility_pe", "opps_mp"))
        cells: list[Any] = record
        if len(cells) < width:
            cells = cells + [None] * (width - len(cells))
        row = RVURow(
            hcpcs=cells[at[0]].strip().upper(),
            modifier=cells[at[1]].strip().upper(),
            status_code=cells[at[2]].strip().upper(),
            work=number(cells[at[3]]),
            pe_nonfacility=number(cells[at[4]]),
            pe_nonfacility_na=cells[at[5]].strip().upper() == "NA",
            pe_facility=number(cells[at[6]]),
            pe_facility_na=cells[at[7]].strip().upper() == "NA",
            mp=number(cells[at[8]]),
            pctc_indicator=cells[at[9]].strip(),
            global_days=cells[at[10]].strip(),
            mult_proc=cells[at[11]].strip(),
            opps_pe_nonfacility=number(None if opps[0] is None else cells[opps[0]]),
            opps_pe_facility=number(None if opps[1] is None else cells[opps[1]]),
            opps_mp=number(None if opps[2] is None else cells[opps[2]]),
        )
        rows[(row.hcpcs, row.modifier)] = row
    return rows


def _read_localities(lines: Iterable[str]) -> dict[tuple[str, str], Locality]:
    localities: dict[tuple[str, str], Locality] = {}
    for record in csv.DictReader(lines):
        locality = Locality(
            mac=record["mac"].strip().zfill(5), state=record["state"].strip(),
            locality=record["locality"].strip().zfill(2), name=record["locality_name"].strip(),
            work_gpci=_decimal(record["pw_gpci"]), pe_gpci=_decimal(record["pe_gpci"]),
            mp_gpci=_decimal(record["mp_gpci"]))
        localities[locality.key] = locality
    return localities


def _read_opps_caps(lines: Iterable[str]) -> dict[tuple[str, str, str, str], OppsCapAmount]:
    caps: dict[tuple[str, str, str, str], OppsCapAmount] = {}
    for record in csv.DictReader(lines):
        caps[(record["hcpcs"], record["modifier"], record["mac"], record["locality"])] = \
            OppsCapAmount(_decimal(record["facility_price"]),
                          _decimal(record["nonfacility_price"]))
    return caps


def _packaged_text(name: str) -> str:
    resource = resources.files(_PACKAGE).joinpath(*_DATA, name)
    if name.endswith(".gz"):
        return gzip.decompress(resource.read_bytes()).decode("utf-8")
    return resource.read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _packaged_conversion_factors() -> dict[int, Decimal]:
    factors: dict[int, Decimal] = {}
    for record in csv.DictReader(io.StringIO(_packaged_text("conversion_factors.csv"))):
        if record["fee_schedule"].strip().startswith("physician"):
            factors[int(record["year"])] = _decimal(record["conversion_factor"])
    return factors


@dataclass(frozen=True)
class _Packaged:
    window: ReleaseWindow
    year: int
    rvu_file: str
    gpci_file: str


_RVU26C = "CMS RVU26C (PPRRVU2026_Jul_nonQPP.csv, released 2026-06-30) and Addendum E CY2026 " \
          "GPCIs, packaged"
#: The packaged releases (see data/SOURCES.md). RVU25D is the only 2025 release medbill has,
#: so it governs all of 2025 (CMS's January-July 2025 releases changed few values); RVU26C is
#: the only 2026 one, so it also stands in for January-June 2026 (RVU26A/B were not obtained),
#: under its own label so a price can be traced to the stand-in.
_PACKAGED: tuple[_Packaged, ...] = (
    _Packaged(ReleaseWindow(
        KEY, "MPFS 2025 RVU25D (October 2025 release)", date(2025, 1, 1), date(2025, 12, 31),
        "CMS RVU25D (PPRRVU2025_Oct.csv, released 2025-09-11) and Addendum E CY2025 GPCIs,"
        " packaged",
        note="the only 2025 release shipped: it governs all of 2025"),
        2025, "rvu_2025_oct.csv.gz", "gpci_2025.csv"),
    _Packaged(ReleaseWindow(
        KEY, "MPFS 2026 RVU26C (July 2026 release, standing in for 2026 Q1-Q2)",
        date(2026, 1, 1), date(2026, 6, 30), _RVU26C,
        note="RVU26A and RVU26B were not obtained; the July release stands in for them"),
        2026, "rvu_2026_jul.csv.gz", "gpci_2026.csv"),
    _Packaged(ReleaseWindow(
        KEY, "MPFS 2026 RVU26C (July 2026 release)", date(2026, 7, 1), date(2026, 9, 30),
        _RVU26C), 2026, "rvu_2026_jul.csv.gz", "gpci_2026.csv"),
)


@lru_cache(maxsize=4)
def _packaged_rvus(rvu_file: str) -> dict[tuple[str, str], RVURow]:
    return _read_rvus(io.StringIO(_packaged_text(rvu_file)))


@lru_cache(maxsize=4)
def _packaged_localities(gpci_file: str) -> dict[tuple[str, str], Locality]:
    return _read_localities(io.StringIO(_packaged_text(gpci_file)))


class _RvusOnFirstUse(Mapping[tuple[str, str], RVURow]):
    """A packaged release's RVU rows, read when first priced: a payer's options are checked
    against the GPCI file (its locality) when every command starts, and that should not read
    19,000 RVU rows."""

    def __init__(self, rvu_file: str) -> None:
        self._file = rvu_file

    def _rows(self) -> dict[tuple[str, str], RVURow]:
        return _packaged_rvus(self._file)

    def __getitem__(self, key: tuple[str, str]) -> RVURow:
        return self._rows()[key]

    def get(self, key: tuple[str, str], default: RVURow | None = None) -> RVURow | None:  # type: ignore[override]
        return self._rows().get(key, default)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._rows())

    def __len__(self) -> int:
        return len(self._rows())


@lru_cache(maxsize=len(_PACKAGED))
def _packaged_schedule(entry: _Packaged) -> FeeScheduleData:
    return FeeScheduleData(entry.year, _packaged_conversion_factors()[entry.year],
                           _RvusOnFirstUse(entry.rvu_file),
                           _packaged_localities(entry.gpci_file), entry.window.label)


RVU_STORED = "rvu.csv.gz"
GPCI_STORED = "gpci.csv"
OPPSCAP_STORED = "oppscap.csv.gz"
RELEASE_STORED = "release.json"


@lru_cache(maxsize=4)
def _load_folder(folder: str, stamp: float) -> FeeScheduleData:
    # ``stamp`` (the release file's mtime) is part of the cache key: a release stored again
    # by another process is read again.
    path = Path(folder)
    try:
        meta = json.loads((path / RELEASE_STORED).read_text(encoding="utf-8"))
        rvus = _read_rvus(io.StringIO(gzip.decompress(
            (path / RVU_STORED).read_bytes()).decode("utf-8")))
        localities = _read_localities(io.StringIO(
            (path / GPCI_STORED).read_text(encoding="utf-8")))
        caps = {}
        if (path / OPPSCAP_STORED).exists():
            caps = _read_opps_caps(io.StringIO(gzip.decompress(
                (path / OPPSCAP_STORED).read_bytes()).decode("utf-8")))
        return FeeScheduleData(int(meta["year"]), Decimal(meta["conversion_factor"]), rvus,
                               localities, str(meta["label"]), caps)
    except (OSError, ValueError, KeyError, InvalidOperation, EOFError) as exc:
        raise CodeSetError(f"the MPFS release stored in {path} cannot be read"
                           f" ({type(exc).__name__}); load it again with"
                           " `medbill codes update`") from None


def reset_cache() -> None:
    """Forget loaded releases (called after ``medbill codes update``)."""
    _load_folder.cache_clear()


# -- which release prices a date ----------------------------------------------------------------

def release_windows(data_dir: Path | None) -> list[ReleaseWindow]:
    """The packaged MPFS releases and those loaded into ``data_dir`` (None: packaged only)."""
    return [p.window for p in _PACKAGED] + [w for w, _ in loaded_releases(data_dir, KEY)]


def _data_dir(data_dir: Path | str | None) -> Path:
    return user_data_dir(data_dir)


def _schedule_of(window: ReleaseWindow, folders: dict[date, Path]) -> FeeScheduleData:
    if window.origin == "loaded":
        folder = folders[window.effective]
        stamp = (folder / RELEASE_STORED).stat().st_mtime if folder.exists() else 0.0
        return _load_folder(str(folder), stamp)
    entry = next(p for p in _PACKAGED if p.window == window)
    return _packaged_schedule(entry)


def schedule_for(on: date, data_dir: Path | str | None = None) -> MpfsSchedule:
    """The MPFS release that prices date of service ``on``.

    Loaded releases (``medbill codes update``, in ``data_dir``, default the user code-set
    directory) win over packaged ones with the same window. A date no release covers is
    priced from the nearest release with ``covered=False`` and ``missing`` set.
    """
    folder_dir = _data_dir(data_dir)
    loaded = loaded_releases(folder_dir, KEY)
    windows = [p.window for p in _PACKAGED] + [w for w, _ in loaded]
    answer = coverage(KEY, on, folder_dir, windows)
    assert answer.release is not None  # packaged releases always exist
    schedule = _schedule_of(answer.release, {w.effective: f for w, f in loaded})
    return MpfsSchedule(schedule, answer.release, answer.covered, answer.missing)


def schedule_for_year(year: int, data_dir: Path | str | None = None) -> MpfsSchedule:
    """The newest release effective in calendar year ``year`` (a payer may pin a year).

    :raises CodeSetError: no release of that year.
    """
    folder_dir = _data_dir(data_dir)
    loaded = loaded_releases(folder_dir, KEY)
    windows = [p.window for p in _PACKAGED] + [w for w, _ in loaded]
    of_year = [w for w in windows if w.effective.year == year]
    if not of_year:
        raise CodeSetError(f"no Medicare fee schedule release for {year} (available: "
                           + ", ".join(str(y) for y in available_years(folder_dir)) + ")")
    newest = max(of_year, key=lambda w: (w.effective, w.origin == "loaded"))
    return MpfsSchedule(_schedule_of(newest, {w.effective: f for w, f in loaded}), newest,
                        True, "")


def available_years(data_dir: Path | str | None = None) -> list[int]:
    """Calendar years with at least one MPFS release (packaged or loaded)."""
    return sorted({w.effective.year for w in release_windows(_data_dir(data_dir))})


# -- medbill codes update: the CMS RVU zip ------------------------------------------------------

_MONTHS = {"JAN": 1, "JANUARY": 1, "APR": 4, "APRIL": 4, "JUL": 7, "JULY": 7, "OCT": 10,
           "OCTOBER": 10}
_LETTERS = {"A": 1, "B": 4, "C": 7, "D": 10}
_MONTH_NAMES = {1: "January", 4: "April", 7: "July", 10: "October"}
_BANNER = re.compile(r"(\d{4}) NATIONAL PHYSICIAN FEE SCHEDULE RELATIVE VALUE FILE\s+"
                     r"(JANUARY|APRIL|JULY|OCTOBER)", re.IGNORECASE)
_RVU_ZIP = re.compile(r"RVU(\d{2})([A-D])", re.IGNORECASE)
_PPRRVU_NAME = re.compile(r"PPRRVU(\d{2}|\d{4})_?(JAN|APR|JUL|OCT)", re.IGNORECASE)
_HCPCS = re.compile(r"^[A-Z0-9]{5}$")

#: CMS column name (letters and digits only) -> stored column.
_RVU_NAMES = {
    "HCPCS": "hcpcs", "MOD": "modifier", "STATUSCODE": "status_code",
    "NOTUSEDFORMEDICAREPAYMENT": "not_used_for_medicare_payment", "WORKRVU": "work_rvu",
    "NONFACPERVU": "nonfacility_pe_rvu", "NONFACNAINDICATOR": "nonfacility_na_indicator",
    "FACILITYPERVU": "facility_pe_rvu", "FACILITYNAINDICATOR": "facility_na_indicator",
    "MPRVU": "mp_rvu", "NONFACILITYTOTAL": "nonfacility_total",
    "FACILITYTOTAL": "facility_total", "PCTCIND": "pctc_indicator", "GLOBDAYS": "global_days",
    "PREOP": "preop_pct", "INTRAOP": "intraop_pct", "POSTOP": "postop_pct",
    "MULTPROC": "mult_proc", "BILATSURG": "bilat_surg", "ASSTSURG": "asst_surg",
    "COSURG": "co_surg", "TEAMSURG": "team_surg", "PRICIND": "pricing_indicator",
    "ENDOBASE": "endo_base", "CONVFACTOR": "conversion_factor",
    "PHYSICIANSUPERVISIONOFDIAGNOSTICPROCEDURES": "phys_supervision_diag",
    "CALCULATIONFLAG": "calc_flag", "DIAGNOSTICIMAGINGFAMILYINDICATOR": "diag_imaging_family",
    "NONFACILITYPEUSEDFOROPPSPAYMENTAMOUNT": "opps_nonfacility_pe",
    "FACILITYPEUSEDFOROPPSPAYMENTAMOUNT": "opps_facility_pe",
    "MPUSEDFOROPPSPAYMENTAMOUNT": "opps_mp",
}
_RVU_REQUIRED = ("hcpcs", "modifier", "status_code", "work_rvu", "nonfacility_pe_rvu",
                 "nonfacility_na_indicator", "facility_pe_rvu", "facility_na_indicator",
                 "mp_rvu", "pctc_indicator", "global_days", "mult_proc", "conversion_factor")
_RVU_NUMBERS = ("work_rvu", "nonfacility_pe_rvu", "facility_pe_rvu", "mp_rvu",
                "nonfacility_total", "facility_total", "conversion_factor",
                "opps_nonfacility_pe", "opps_facility_pe", "opps_mp")


def _key(cell: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", cell.upper())


def _rows(text: str) -> Iterator[tuple[int, list[str]]]:
    yield from enumerate(csv.reader(io.StringIO(text)), start=1)


def _table(source: SourceFile) -> list[tuple[int, list[str]]]:
    """All rows of ``source`` as CSV; a file that is not CSV is refused, naming the line."""
    rows: list[tuple[int, list[str]]] = []
    reader = csv.reader(io.StringIO(source.text()))
    try:
        for row in reader:
            rows.append((reader.line_num, row))
    except csv.Error as exc:
        raise CodeSetError(f"{source.label} line {reader.line_num}: not CSV ({exc})") from None
    return rows


def _filled(row: Sequence[str]) -> int:
    return sum(1 for cell in row if cell.strip())


def _rvu_header(rows: list[tuple[int, list[str]]]) -> tuple[int, list[str]] | None:
    """(index of the header row, composed column names) of a CMS PPRRVU csv, or None.

    CMS spreads each column name over the rows above the one starting ``HCPCS`` (``STATUS``
    / ``CODE``); those rows are joined per column. Banner rows above them hold one cell.
    """
    for index, (_, row) in enumerate(rows):
        if row and _key(row[0]) == "HCPCS":
            start = index
            while start > 0 and _filled(rows[start - 1][1]) >= 2:
                start -= 1
            width = len(row)
            names = []
            for column in range(width):
                parts = [r[column].strip() for _, r in rows[start:index + 1]
                         if column < len(r) and r[column].strip()]
                names.append(" ".join(parts))
            return index, names
    return None


def _head_rows(source: SourceFile, limit: int = 40) -> list[tuple[int, list[str]]]:
    lines = source.head_text().splitlines()[:limit]
    try:
        return list(_rows("\n".join(lines)))
    except csv.Error:  # binary or not CSV: not one of CMS's csv files
        return []


def _kind(source: SourceFile) -> str | None:
    """Which CMS RVU-zip file ``source`` is, by its header cells (None: not one)."""
    if not source.name.lower().endswith((".csv", ".txt")) and "." in source.name:
        return None
    rows = _head_rows(source)
    header = _rvu_header(rows)
    if header is not None:
        keys = {_key(n) for n in header[1]}
        if {"WORKRVU", "STATUSCODE"} <= keys:
            return "rvu"
        if {"PROCSTAT", "CARRIER", "LOCALITY"} <= keys:
            return "oppscap"
    for _, row in rows:
        cells = [_key(c) for c in row]
        joined = " ".join(cells)
        if "PEGPCI" in joined and "MPGPCI" in joined and any("LOCALITY" in k for k in cells):
            return "gpci"
        if any(k.startswith("COUNTIES") for k in cells) and any("LOCALITY" in k for k in cells):
            return "locco"
        if any("ANESTHESIA" in k and "CONVERSIONFACTOR" in k for k in cells) or (
                any("ANES" in k for k in cells) and any("LOCALITY" in k for k in cells)
                and any("CONVERSIONFACTOR" in k or k.endswith("CF") for k in cells)):
            return "anes"
    return None


def _recognise(source: SourceFile) -> bool:
    return _kind(source) is not None


def _number(text: str, where: str, column: str) -> Decimal:
    try:
        value = Decimal(text.strip() or "0")
    except InvalidOperation:
        raise CodeSetError(f"{where}: {column} {text.strip()[:20]!r} is not a number") from None
    if not value.is_finite():
        raise CodeSetError(f"{where}: {column} {text.strip()[:20]!r} is not a number")
    return value


def _edition(rvu: SourceFile, banner_text: str) -> tuple[int, int]:
    """(year, first month) of the release, from the banner, else the file or zip name."""
    found = _BANNER.search(banner_text)
    if found:
        return int(found.group(1)), _MONTHS[found.group(2).upper()]
    named = _PPRRVU_NAME.search(rvu.name)
    if named:
        year = int(named.group(1))
        return (year if year > 999 else 2000 + year), _MONTHS[named.group(2).upper()]
    for text in (rvu.member or "", rvu.origin.name):
        zipped = _RVU_ZIP.search(text)
        if zipped:
            return 2000 + int(zipped.group(1)), _LETTERS[zipped.group(2).upper()]
    raise CodeSetError(
        f"{rvu.label}: cannot tell which quarterly release this RVU file is (no 'RELEASED'"
        " banner naming the month, and the name is not like PPRRVU2026_Oct.csv or"
        " rvu26d.zip); keep CMS's file name")


def _parse_rvu(source: SourceFile) -> tuple[list[dict[str, str]], Decimal, tuple[int, int]]:
    rows = _table(source)
    header = _rvu_header(rows)
    if header is None:  # recognised from its head, so this is a broken file
        raise CodeSetError(f"{source.label}: no header row starting with HCPCS")
    index, names = header
    columns: dict[str, int] = {}
    for position, name in enumerate(names):
        stored = _RVU_NAMES.get(_key(name))
        if stored is not None and stored not in columns:
            columns[stored] = position
    missing = [c for c in _RVU_REQUIRED if c not in columns]
    if missing:
        raise CodeSetError(f"{source.label} line {rows[index][0]}: required RVU columns"
                           f" missing: {', '.join(missing)}")
    banner = " ".join(" ".join(r) for _, r in rows[:index])
    edition = _edition(source, banner)
    out: list[dict[str, str]] = []
    seen: dict[tuple[str, str], int] = {}
    factor: tuple[Decimal, int] | None = None
    for line, row in rows[index + 1:]:
        if not _filled(row):
            continue
        where = f"{source.label} line {line}"
        record = {name: (row[pos].strip() if pos < len(row) else "")
                  for name, pos in columns.items()}
        code = record["hcpcs"].upper()
        if not _HCPCS.match(code):
            raise CodeSetError(f"{where}: HCPCS {code[:12]!r} is not a 5-character code")
        record["hcpcs"] = code
        record["modifier"] = record["modifier"].upper()
        if len(record["modifier"]) not in (0, 2):
            raise CodeSetError(f"{where}: modifier {record['modifier'][:8]!r} is not 2"
                               " characters")
        if not re.fullmatch(r"[A-Z]", record["status_code"].upper()):
            raise CodeSetError(f"{where}: status code {record['status_code'][:8]!r} is not"
                               " one letter")
        for column in _RVU_NUMBERS:
            if column in record:
                _number(record[column], where, column.upper().replace("_", " "))
        cf = _number(record["conversion_factor"], where, "CONV FACTOR")
        if factor is None:
            factor = (cf, line)
        elif cf != factor[0]:
            raise CodeSetError(f"{where}: CONV FACTOR {cf} differs from {factor[0]} on line"
                               f" {factor[1]} (one release has one conversion factor)")
        key = (code, record["modifier"])
        if key in seen:
            raise CodeSetError(f"{where}: {code} {record['modifier'] or '(no modifier)'}"
                               f" repeats line {seen[key]}")
        seen[key] = line
        out.append(record)
    if len(out) < MIN_RVU_ROWS or factor is None:
        raise CodeSetError(f"{source.label}: {len(out)} RVU rows; a CMS RVU file has about"
                           f" 19,000 (fewer than {MIN_RVU_ROWS:,} means a truncated file)")
    return out, factor[0], edition


def _column(names: list[str], *wanted: str) -> int | None:
    for position, name in enumerate(names):
        key = _key(name)
        if any(w in key for w in wanted):
            return position
    return None


def _parse_gpci(source: SourceFile) -> list[dict[str, str]]:
    rows = _table(source)
    index = next((i for i, (_, r) in enumerate(rows)
                  if any("PEGPCI" in _key(c) for c in r) and any("MPGPCI" in _key(c) for c in r)),
                 None)
    if index is None:
        raise CodeSetError(f"{source.label}: no header row with PE GPCI and MP GPCI")
    line, row = rows[index]
    names = [_key(c) for c in row]

    def exact(key: str) -> int | None:
        return next((i for i, n in enumerate(names) if n == key), None)

    mac_column = _column(row, "CONTRACTOR", "CARRIER")
    locality_column = _column(row, "LOCALITYNUMBER")
    cols = {
        "mac": mac_column if mac_column is not None else exact("MAC"),
        "state": exact("STATE"),
        "locality": locality_column if locality_column is not None else exact("LOCALITY"),
        "locality_name": _column(row, "LOCALITYNAME"),
        "pw_gpci": _column(row, "PWGPCI", "WORKGPCI"),
        "pe_gpci": _column(row, "PEGPCI"),
        "mp_gpci": _column(row, "MPGPCI"),
    }
    absent = [name for name, pos in cols.items() if pos is None]
    if absent:
        raise CodeSetError(f"{source.label} line {line}: GPCI columns missing:"
                           f" {', '.join(absent)}")
    out: list[dict[str, str]] = []
    seen: dict[tuple[str, str], tuple[int, dict[str, str]]] = {}
    for number, data in rows[index + 1:]:
        def cell(name: str, data: list[str] = data) -> str:
            pos = cols[name]
            return data[pos].strip() if pos is not None and pos < len(data) else ""

        mac = cell("mac")
        if not mac or not mac[0].isdigit():
            continue  # blank rows and CMS's footnotes (*, **, Note: ...)
        where = f"{source.label} line {number}"
        if not re.fullmatch(r"[0-9]{4,5}", mac):
            raise CodeSetError(f"{where}: MAC {mac[:12]!r} is not a 5-digit number")
        locality = cell("locality")
        if not re.fullmatch(r"[0-9]{1,2}", locality):
            raise CodeSetError(f"{where}: locality {locality[:12]!r} is not a 2-digit number")
        raw_name = cell("locality_name")
        name = raw_name.rstrip("*").strip()
        record = {"mac": mac.zfill(5), "state": cell("state"), "locality": locality.zfill(2),
                  "locality_name": name, "locality_name_note": raw_name[len(name):].strip()}
        for column in ("pw_gpci", "pe_gpci", "mp_gpci"):
            record[column] = str(_number(cell(column), where, column.upper().replace("_", " ")))
        key = (record["mac"], record["locality"])
        if key in seen:
            if {k: v for k, v in seen[key][1].items() if k != "state"} != \
                    {k: v for k, v in record.items() if k != "state"}:
                raise CodeSetError(f"{where}: MAC {key[0]} locality {key[1]} repeats line"
                                   f" {seen[key][0]} with other values")
            continue
        seen[key] = (number, record)
        out.append(record)
    if len(out) < MIN_LOCALITIES:
        raise CodeSetError(f"{source.label}: {len(out)} localities; CMS's GPCI file has about"
                           f" 110 (fewer than {MIN_LOCALITIES} means a truncated file)")
    return out


def _parse_oppscap(source: SourceFile) -> list[dict[str, str]]:
    rows = _table(source)
    header = _rvu_header(rows)
    if header is None:
        raise CodeSetError(f"{source.label}: no header row starting with HCPCS")
    index, names = header
    keys = [_key(n) for n in names]

    def position(*wanted: str) -> int:
        for i, k in enumerate(keys):
            if k in wanted:
                return i
        raise CodeSetError(f"{source.label} line {rows[index][0]}: OPPSCAP column"
                           f" {wanted[0]} missing")

    cols = {"hcpcs": position("HCPCS"), "modifier": position("MOD"),
            "procstat": position("PROCSTAT"), "mac": position("CARRIER"),
            "locality": position("LOCALITY"), "facility_price": position("FACILITYPRICE"),
            "nonfacility_price": position("NONFACILITYPRICE", "NONFACILTYPRICE")}
    out: list[dict[str, str]] = []
    for line, row in rows[index + 1:]:
        if not _filled(row):
            continue
        where = f"{source.label} line {line}"
        record = {name: (row[pos].strip() if pos < len(row) else "")
                  for name, pos in cols.items()}
        record["hcpcs"] = record["hcpcs"].upper()
        record["modifier"] = record["modifier"].upper()
        if not _HCPCS.match(record["hcpcs"]):
            raise CodeSetError(f"{where}: HCPCS {record['hcpcs'][:12]!r} is not a 5-character"
                               " code")
        if not re.fullmatch(r"[0-9]{4,5}", record["mac"]) or \
                not re.fullmatch(r"[0-9]{1,2}", record["locality"]):
            raise CodeSetError(f"{where}: carrier/locality {record['mac'][:8]!r}/"
                               f"{record['locality'][:8]!r} are not numbers")
        record["mac"] = record["mac"].zfill(5)
        record["locality"] = record["locality"].zfill(2)
        for column, label in (("facility_price", "FACILITY PRICE"),
                              ("nonfacility_price", "NON-FACILITY PRICE")):
            record[column] = str(_number(record[column], where, label))
        out.append(record)
    if not out:
        raise CodeSetError(f"{source.label}: no OPPS cap rows")
    return out


def _csv_bytes(columns: Sequence[str], records: Iterable[dict[str, str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore",
                            lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({c: record.get(c, "") for c in columns})
    return buffer.getvalue().encode("utf-8")


def _quarter_end(year: int, month: int) -> date:
    _, _, end = period(Cadence.QUARTERLY, date(year, month, 1))
    assert end is not None
    return end


def _prepare_group(sources: Sequence[SourceFile]) -> PreparedRelease:
    by_kind: dict[str, list[SourceFile]] = {}
    for source in sources:
        by_kind.setdefault(_kind(source) or "", []).append(source)
    labels = ", ".join(s.label for s in sources)
    rvus = by_kind.get("rvu", [])
    if len(rvus) > 1:
        # From CY2026 CMS ships two RVU files, for qualifying APM participants (QPP) and for
        # everyone else (nonQPP), differing in the conversion factor; medbill prices with the
        # nonQPP one, as the packaged release does.
        rvus = [s for s in rvus if "NONQPP" in _key(s.name)] or rvus
    if len(rvus) != 1:
        raise CodeSetError(
            f"{labels}: an MPFS release needs exactly one PPRRVU csv file"
            f" ({len(rvus)} given); give CMS's RVU zip (rvu26d.zip) or its PPRRVU and GPCI"
            " files")
    gpcis = by_kind.get("gpci", [])
    if len(gpcis) != 1:
        raise CodeSetError(f"{labels}: an MPFS release needs exactly one GPCI csv file"
                           f" ({len(gpcis)} given)")
    caps = by_kind.get("oppscap", [])
    if len(caps) > 1:
        raise CodeSetError(f"{labels}: more than one OPPSCAP csv file given")
    rvu_rows, factor, (year, month) = _parse_rvu(rvus[0])
    gpci_rows = _parse_gpci(gpcis[0])
    cap_rows = _parse_oppscap(caps[0]) if caps else []
    letter = "ABCD"[(month - 1) // 3]
    label = f"MPFS {year} RVU{year % 100:02d}{letter} ({_MONTH_NAMES[month]} {year} release)"
    used = tuple(rvus + gpcis + caps)
    meta = {"label": label, "year": year, "conversion_factor": str(factor),
            "files": {s.label: s.sha256() for s in used}}

    def write(folder: Path) -> None:
        (folder / RVU_STORED).write_bytes(gzip.compress(_csv_bytes(RVU_COLUMNS, rvu_rows),
                                                        mtime=0))
        (folder / GPCI_STORED).write_bytes(_csv_bytes(GPCI_COLUMNS, gpci_rows))
        if cap_rows:
            (folder / OPPSCAP_STORED).write_bytes(
                gzip.compress(_csv_bytes(OPPSCAP_COLUMNS, cap_rows), mtime=0))
        (folder / RELEASE_STORED).write_text(json.dumps(meta, indent=2, sort_keys=True),
                                             encoding="utf-8")

    return PreparedRelease(KEY, label, date(year, month, 1), _quarter_end(year, month),
                           len(rvu_rows), used, digest_of(used), write)


def _prepare(sources: Sequence[SourceFile]) -> list[PreparedRelease]:
    """One release per zip given (loose files given together make one release)."""
    groups: dict[Path | None, list[SourceFile]] = {}
    for source in sources:
        groups.setdefault(source.origin if source.member else None, []).append(source)
    return [_prepare_group(group) for group in groups.values()]


FORMATS: list[ReleaseFormat] = [
    ReleaseFormat("CMS MPFS relative value files (RVU zip: PPRRVU, GPCI, OPPSCAP csv)",
                  _recognise, _prepare),
]

__all__ = ["FORMATS", "KEY", "MIN_RVU_ROWS", "FeeScheduleData", "Locality", "MpfsSchedule",
           "OppsCapAmount", "RVURow", "available_years", "release_windows", "reset_cache",
           "schedule_for", "schedule_for_year"]
