"""CMS National Correct Coding Initiative (Medicare, practitioner): PTP pairs and MUEs.

* **Procedure-to-procedure (PTP) edits**: a column-1 / column-2 code pair that
  should not be billed for the same patient, provider and date of service. The
  column-2 code is denied unless the pair's *modifier indicator* is ``1`` and
  an NCCI-associated modifier (:data:`ASSOCIATED_MODIFIERS`) is on the
  column-2 line; ``0`` means no modifier bypasses the edit; ``9`` means the
  edit does not apply (such rows are dropped when loading).
* **Medically unlikely edits (MUE)**: the most units of a code a provider
  would report for one patient on one date of service. The adjudication
  indicator (MAI) says how: ``1`` per claim line, ``2``/``3`` per date of
  service (all lines of the code on that day added up).

Usage::

    from medbill_core.codesets.ncci import default_ncci

    ncci = default_ncci()
    on = date(2024, 8, 1)
    ncci.ptp_for(on).edit("99213", "36591", on)           # PtpEdit or None
    ncci.mue_for(on).get("36415")                         # MueLimit(value=2, ...)

The packaged tables (``data/ncci_*``, origin in ``data/SOURCES.md``) are read
on first use. The PTP table is indexed by column-1 code and each code's pairs
are parsed only when that code is first looked up, so start-up stays fast.

Updating: ``medbill codes update`` loads the official quarterly files (the four
``ccipra`` PTP parts and the practitioner MUE CSV, or their zips; see :data:`FORMATS`)
as one quarter each, kept beside the earlier ones; :meth:`Ncci.ptp_for` /
:meth:`Ncci.mue_for` pick the quarter governing a date of service. The older way,
:func:`load_ptp` / :func:`load_mue`, replaces the packaged tables without a quarter, or
from a shell::

    python -m medbill_core.codesets.ncci load-ptp ccipra-v313r0-f1.txt ... -f4.txt
    python -m medbill_core.codesets.ncci load-mue MCR_MUE_PractitionerServices_Eff_10-01-2024.csv
"""

from __future__ import annotations

import argparse
import csv
import functools
import gzip
import hashlib
import io
import json
import re
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import NamedTuple

from medbill_core.codesets.loaders import MANIFEST, read_manifest, user_data_dir
from medbill_core.codesets.model import CodeSetError
from medbill_core.codesets.releases import Cadence, ReleaseWindow, loaded_releases, period
from medbill_core.codesets.tables import parse_date
from medbill_core.codesets.update import PreparedRelease, ReleaseFormat, SourceFile, digest_of

#: Packaged files (see data/SOURCES.md) and their labels.
PACKAGED_PTP = "ncci_ptp_practitioner_2024q3.csv.gz"
PACKAGED_MUE = "ncci_mue_practitioner_2024q3.csv.gz"
PACKAGED_PTP_LABEL = "CMS NCCI practitioner PTP edits 2024 Q3 (effective 2024-07-01)"
PACKAGED_MUE_LABEL = "CMS NCCI practitioner MUE table 2024 Q3 (effective 2024-07-01)"
PACKAGED_EFFECTIVE = date(2024, 7, 1)

#: What a quarter loaded with ``medbill codes update`` holds (compact PTP, MUE layouts).
RELEASE_PTP = "ptp.csv.gz"
RELEASE_MUE = "mue.csv.gz"

#: What ``load_ptp`` / ``load_mue`` write in the user data directory (and manifest keys).
USER_PTP = "ncci_ptp.csv.gz"
USER_MUE = "ncci_mue.csv.gz"
PTP_KEY = "ncci-ptp"
MUE_KEY = "ncci-mue"

#: Columns of the compact PTP layout: one row per column-1 code, indicator, dates and
#: rationale, with all its column-2 codes space-separated.
PTP_FIELDS = ("column_1", "modifier_indicator", "effective_date", "deletion_date", "rationale",
              "column_2_codes")
MUE_FIELDS = ("hcpcs", "mue_value", "mue_adjudication_indicator", "mue_rationale")

#: NCCI-associated modifiers (NCCI Policy Manual, ch. I, "Modifiers and Modifier
#: Indicators"): anatomic, global surgery, and 27, 59, 91, XE, XS, XP, XU.
ANATOMIC_MODIFIERS = frozenset({
    "E1", "E2", "E3", "E4", "FA", "F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9",
    "TA", "T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9",
    "LT", "RT", "LC", "LD", "RC", "LM", "RI",
})
GLOBAL_SURGERY_MODIFIERS = frozenset({"24", "25", "57", "58", "78", "79"})
OTHER_NCCI_MODIFIERS = frozenset({"27", "59", "91", "XE", "XS", "XP", "XU"})
ASSOCIATED_MODIFIERS = ANATOMIC_MODIFIERS | GLOBAL_SURGERY_MODIFIERS | OTHER_NCCI_MODIFIERS

def bypasses_ptp_edit(column_2_modifiers: Iterable[str],
                      column_1_modifiers: Iterable[str]) -> bool:
    """Whether the column-2 line of a PTP pair with modifier indicator 1 carries an
    NCCI-associated modifier that lets it be paid beside the column-1 line. An anatomic
    modifier counts only when it names a site the column-1 lines do not (the same site is the
    same service). Shared by the scrubber's edit and the coding audit's bypass count."""
    column_1_sites = {m for m in column_1_modifiers if m in ANATOMIC_MODIFIERS}
    return any(modifier in ASSOCIATED_MODIFIERS
               and not (modifier in ANATOMIC_MODIFIERS and modifier in column_1_sites)
               for modifier in column_2_modifiers)


#: MUE adjudication indicators.
MAI_TEXT = {1: "per claim line", 2: "per day (policy)", 3: "per day (clinical)"}

# Procedure codes as NCCI lists them: CPT (incl. 0001A vaccine and 0002M MAAA codes) and
# HCPCS Level II. Five letters/digits.
_CODE_RE = re.compile(r"^[0-9A-Z]{5}$")


class PtpEdit(NamedTuple):
    """One PTP edit. ``deleted`` is the last date of service it applies to (inclusive)."""

    column_1: str
    column_2: str
    modifier_indicator: int  # 0 not allowed, 1 allowed
    effective: date | None = None
    deleted: date | None = None
    rationale: str = ""

    @property
    def modifier_allowed(self) -> bool:
        return self.modifier_indicator == 1

    def applies_on(self, on: date) -> bool:
        if self.effective is not None and on < self.effective:
            return False
        return self.deleted is None or on <= self.deleted


class MueLimit(NamedTuple):
    """The MUE of one code: at most ``value`` units, per line (MAI 1) or per day (2, 3)."""

    code: str
    value: int
    adjudication: int
    rationale: str = ""

    @property
    def per_line(self) -> bool:
        return self.adjudication == 1

    @property
    def adjudication_text(self) -> str:
        return MAI_TEXT.get(self.adjudication, f"MAI {self.adjudication}")


# -- the lookup tables -----------------------------------------------------------------------

_NO_EDITS: dict[str, tuple[PtpEdit, ...]] = {}


class PtpTable:
    """PTP edits by column-1 code. Rows stay raw text until their column-1 code is looked up."""

    def __init__(self, rows_by_column_1: dict[str, list[str]], label: str) -> None:
        self._raw = rows_by_column_1
        self._parsed: dict[str, dict[str, tuple[PtpEdit, ...]]] = {}
        self.label = label

    @classmethod
    def from_text(cls, text: str, label: str) -> PtpTable:
        """Index compact-layout text (see :data:`PTP_FIELDS`) by its first column."""
        rows: dict[str, list[str]] = {}
        lines = text.split("\n")
        if not lines or not lines[0].startswith("column_1,"):
            raise CodeSetError(f"{label}: not a medbill NCCI PTP table (header "
                               + ",".join(PTP_FIELDS) + ")")
        for line in lines[1:]:
            comma = line.find(",")
            if comma > 0:
                rows.setdefault(line[:comma], []).append(line)
        return cls(rows, label)

    def __contains__(self, column_1: str) -> bool:
        return column_1 in self._raw

    @property
    def column_1_codes(self) -> int:
        return len(self._raw)

    def column_2_edits(self, column_1: str) -> dict[str, tuple[PtpEdit, ...]]:
        """Every edit with ``column_1`` in column 1, by column-2 code (all dates)."""
        parsed = self._parsed.get(column_1)
        if parsed is not None:
            return parsed
        raw = self._raw.get(column_1)
        if raw is None:
            return _NO_EDITS
        collected: dict[str, list[PtpEdit]] = {}
        for fields in csv.reader(raw):
            _, indicator, effective, deleted, rationale, codes = fields
            template = PtpEdit(column_1, "", int(indicator),
                               date.fromisoformat(effective) if effective else None,
                               date.fromisoformat(deleted) if deleted else None, rationale)
            for code in codes.split():
                collected.setdefault(code, []).append(template._replace(column_2=code))
        parsed = {code: tuple(edits) for code, edits in collected.items()}
        self._parsed[column_1] = parsed
        return parsed

    def edit(self, column_1: str, column_2: str, on: date) -> PtpEdit | None:
        """The edit of the pair that applies on ``on`` (the most recent one if several do)."""
        edits = self.column_2_edits(column_1).get(column_2)
        if not edits:
            return None
        applicable = [e for e in edits if e.applies_on(on)]
        if not applicable:
            return None
        if len(applicable) == 1:
            return applicable[0]
        return max(applicable, key=lambda e: (e.effective or date.min, e.deleted or date.max))

    def edits_among(self, codes: Iterable[str], on: date) -> list[PtpEdit]:
        """The edits among ``codes`` (billed on one date of service) that apply on ``on``."""
        unique = list(dict.fromkeys(codes))
        found = []
        for first in unique:
            if first not in self._raw:
                continue
            for second in unique:
                if second != first:
                    edit = self.edit(first, second, on)
                    if edit is not None:
                        found.append(edit)
        return found

    def iter_edits(self) -> Iterator[PtpEdit]:
        """Every edit (parses the whole table: for exports and checks, not for scrubbing)."""
        for column_1 in self._raw:
            for edits in self.column_2_edits(column_1).values():
                yield from edits


class MueTable(dict[str, MueLimit]):
    """MUE limits by code."""

    def __init__(self, limits: dict[str, MueLimit], label: str) -> None:
        super().__init__(limits)
        self.label = label


# -- reading files ---------------------------------------------------------------------------

def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise CodeSetError(f"cannot read {path}: {exc}") from exc
    for encoding in ("utf-8-sig", "cp1252"):  # CMS text files are not always UTF-8
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def _packaged_text(name: str) -> str:
    raw = resources.files("medbill_core.codesets").joinpath("data", name).read_bytes()
    return gzip.decompress(raw).decode("utf-8") if name.endswith(".gz") else raw.decode("utf-8")


def _header_name(cell: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", cell.strip().lower()).strip("_")


def _ncci_date(text: str) -> date | None:
    text = text.strip()
    if not text or text == "*":
        return None
    return parse_date(text)


def _rows(text: str) -> Iterator[list[str]]:
    sample = text[:20000]
    delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
    yield from csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)


def _cell(cells: list[str], names: dict[str, int], *candidates: str) -> str:
    for name in candidates:
        index = names.get(name)
        if index is not None and index < len(cells) and cells[index]:
            return cells[index]
    return ""


def parse_ptp_text(text: str, *, where: str = "PTP file") -> Iterator[PtpEdit]:
    """PTP edits from the text of one file, skipping indicator-9 rows. Accepts:

    * the official CMS quarterly files (``ccipra-vNNNrN-fN.txt``, tab-separated, a notice
      and a wrapped header above the data; columns column 1, column 2, "in existence prior
      to 1996", effective date, deletion date (``*`` = none), modifier indicator, rationale)
      and CSV exports of them;
    * a CSV with named columns ``column_1, column_2, [effective_date,] deletion_date,
      modifier_indicator[, rationale]`` (the layout of the team's shared data);
    * the compact layout medbill writes (:data:`PTP_FIELDS`).
    """
    names: dict[str, int] | None = None
    compact = False
    for number, row in enumerate(_rows(text), start=1):
        cells = [c.strip() for c in row]
        if not cells or not any(cells):
            continue
        if names is None and not _CODE_RE.match(cells[0].upper()):
            header = [_header_name(c) for c in cells]
            if "column_1" in header and "modifier_indicator" in header and (
                    "column_2" in header or "column_2_codes" in header):
                names = {name: index for index, name in enumerate(header)}
                compact = "column_2_codes" in names
            continue  # notice or header line (the official layout is read by position)
        code_1 = cells[0].upper()
        if not _CODE_RE.match(code_1):
            continue
        try:
            if compact and names is not None:
                indicator = cells[names["modifier_indicator"]]
                effective = _ncci_date(cells[names["effective_date"]])
                deleted = _ncci_date(cells[names["deletion_date"]])
                rationale = cells[names["rationale"]] if "rationale" in names else ""
                seconds = cells[names["column_2_codes"]].upper().split()
            elif names is not None:
                indicator = _cell(cells, names, "modifier_indicator", "modifier")
                effective = _ncci_date(_cell(cells, names, "effective_date"))
                deleted = _ncci_date(_cell(cells, names, "deletion_date"))
                rationale = _cell(cells, names, "rationale", "ptp_edit_rationale")
                seconds = [_cell(cells, names, "column_2").upper()]
            else:  # official positional layout
                if len(cells) < 6:
                    continue
                indicator = cells[5]
                effective = _ncci_date(cells[3])
                deleted = _ncci_date(cells[4])
                rationale = cells[6] if len(cells) > 6 else ""
                seconds = [cells[1].upper()]
        except (KeyError, IndexError, ValueError) as exc:
            raise CodeSetError(f"{where}: row {number} ({code_1}): {exc}") from None
        if indicator not in ("0", "1", "9"):
            raise CodeSetError(f"{where}: row {number} ({code_1}): modifier indicator"
                               f" {indicator!r} is not 0, 1 or 9")
        if indicator == "9":
            continue
        code_1, rationale = sys.intern(code_1), sys.intern(rationale)
        for code_2 in seconds:
            if not _CODE_RE.match(code_2):
                raise CodeSetError(f"{where}: row {number}: {code_2!r} is not a procedure code")
            yield PtpEdit(code_1, sys.intern(code_2), int(indicator), effective, deleted,
                          rationale)


def parse_mue_text(text: str, *, where: str = "MUE file") -> dict[str, MueLimit]:
    """MUE limits from the official CMS practitioner CSV (notice lines above a header whose
    first cell is "HCPCS/CPT Code"; MAI as "3 Date of Service Edit: Clinical") or from a
    CSV with columns ``hcpcs, mue_value, mue_adjudication_indicator, mue_rationale``."""
    limits: dict[str, MueLimit] = {}
    for number, row in enumerate(_rows(text), start=1):
        cells = [c.strip() for c in row]
        if len(cells) < 3 or not _CODE_RE.match(cells[0].upper()):
            continue
        if not cells[1].isdigit():
            continue
        mai = cells[2][:1]
        if mai not in ("1", "2", "3"):
            raise CodeSetError(f"{where}: row {number} ({cells[0]}): adjudication indicator"
                               f" {cells[2]!r} is not 1, 2 or 3")
        code = cells[0].upper()
        limits[code] = MueLimit(code, int(cells[1]), int(mai),
                                cells[3] if len(cells) > 3 else "")
    return limits


def compact_ptp_text(edits: Iterable[PtpEdit]) -> tuple[str, int]:
    """The compact layout of ``edits`` (duplicates dropped) and the number of pairs kept."""
    groups: dict[tuple[str, int, str, str, str], set[str]] = {}
    for edit in edits:
        key = (edit.column_1, edit.modifier_indicator,
               edit.effective.isoformat() if edit.effective else "",
               edit.deleted.isoformat() if edit.deleted else "", edit.rationale)
        groups.setdefault(key, set()).add(edit.column_2)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(PTP_FIELDS)
    pairs = 0
    for key in sorted(groups):
        codes = sorted(groups[key])
        pairs += len(codes)
        writer.writerow([key[0], str(key[1]), key[2], key[3], key[4], " ".join(codes)])
    return out.getvalue(), pairs


def mue_text(limits: Iterable[MueLimit]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(MUE_FIELDS)
    for limit in sorted(limits):
        writer.writerow([limit.code, limit.value, limit.adjudication, limit.rationale])
    return out.getvalue()


def _write_gz(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0))
    tmp.replace(path)


# -- the registry ----------------------------------------------------------------------------

_packaged_lock = threading.Lock()
_packaged: dict[str, PtpTable | MueTable] = {}


def _packaged_ptp() -> PtpTable:
    with _packaged_lock:
        table = _packaged.get(PTP_KEY)
        if table is None:
            table = _packaged[PTP_KEY] = PtpTable.from_text(_packaged_text(PACKAGED_PTP),
                                                            PACKAGED_PTP_LABEL)
    return table  # type: ignore[return-value]


def _packaged_mue() -> MueTable:
    with _packaged_lock:
        table = _packaged.get(MUE_KEY)
        if table is None:
            table = _packaged[MUE_KEY] = MueTable(
                parse_mue_text(_packaged_text(PACKAGED_MUE), where=PACKAGED_MUE),
                PACKAGED_MUE_LABEL)
    return table  # type: ignore[return-value]


class Ncci:
    """The NCCI tables in use, per quarter. Each table is read on first access.

    The releases are the packaged 2024 Q3 tables (or, in their place, a table loaded with
    the legacy ``load_ptp`` / ``load_mue``) and the quarters loaded with ``medbill codes
    update`` (``releases/ncci-ptp/<first day>/``, ``releases/ncci-mue/<first day>/``).
    :meth:`ptp_for` / :meth:`mue_for` give the release governing a date of service: the
    newest one effective on or before it (the oldest one for an earlier date); :attr:`ptp`
    and :attr:`mue` are the newest release.

    :param data_dir: user code-set directory (default :func:`user_data_dir`);
        ``use_user_data=False`` uses the packaged tables only.
    """

    def __init__(self, data_dir: Path | str | None = None, *, use_user_data: bool = True) -> None:
        self.data_dir = user_data_dir(data_dir) if use_user_data else None
        self._lock = threading.Lock()
        self._ptp: PtpTable | None = None
        self._mue: MueTable | None = None
        self._quarters: dict[tuple[str, date], PtpTable | MueTable] = {}
        self._loaded_by_key: dict[str, list[tuple[ReleaseWindow, Path]]] = {}

    def _user_label(self, key: str, default: str) -> str:
        entry = read_manifest(self.data_dir).get(key) if self.data_dir else None
        if not entry:
            return default
        files = entry.get("files") or [entry.get("file", default)]
        loaded = str(entry.get("loaded_at", ""))[:10]
        return f"user file {', '.join(map(str, files))}" + (f" (loaded {loaded})" if loaded
                                                             else "")

    @property
    def base_ptp(self) -> PtpTable:
        """The table loaded with the legacy ``load_ptp`` if any, else the packaged one."""
        if self._ptp is None:
            with self._lock:
                if self._ptp is None:
                    path = self.data_dir / USER_PTP if self.data_dir else None
                    if path is not None and path.is_file():
                        self._ptp = PtpTable.from_text(
                            _read_text(path), self._user_label(PTP_KEY, USER_PTP))
                    else:
                        self._ptp = _packaged_ptp()
        return self._ptp

    @property
    def base_mue(self) -> MueTable:
        """The table loaded with the legacy ``load_mue`` if any, else the packaged one."""
        if self._mue is None:
            with self._lock:
                if self._mue is None:
                    path = self.data_dir / USER_MUE if self.data_dir else None
                    if path is not None and path.is_file():
                        self._mue = MueTable(parse_mue_text(_read_text(path), where=str(path)),
                                             self._user_label(MUE_KEY, USER_MUE))
                    else:
                        self._mue = _packaged_mue()
        return self._mue

    def _loaded(self, key: str) -> list[tuple[ReleaseWindow, Path]]:
        found = self._loaded_by_key.get(key)
        if found is None:
            found = self._loaded_by_key[key] = loaded_releases(self.data_dir, key)
        return found

    def _quarter(self, key: str, on: date | None) -> PtpTable | MueTable | None:
        """The loaded quarter of ``key`` governing ``on`` (the newest when ``on`` is None),
        or None when the base table (packaged 2024 Q3, or the legacy loaded one) does."""
        effective = [(w.effective, (w, f)) for w, f in self._loaded(key)]
        candidates: list[tuple[date, tuple[ReleaseWindow, Path] | None]] = sorted(
            effective + ([] if any(e == PACKAGED_EFFECTIVE for e, _ in effective)
                         else [(PACKAGED_EFFECTIVE, None)]), key=lambda c: c[0])
        if on is None:
            chosen = candidates[-1][1]
        else:
            at_or_before = [c for c in candidates if c[0] <= on]
            chosen = (at_or_before[-1] if at_or_before else candidates[0])[1]
        if chosen is None:
            return None
        window, folder = chosen
        cached = self._quarters.get((key, window.effective))
        if cached is not None:
            return cached
        with self._lock:
            if key == PTP_KEY:
                table: PtpTable | MueTable = PtpTable.from_text(
                    _read_text(folder / RELEASE_PTP), window.label)
            else:
                path = folder / RELEASE_MUE
                table = MueTable(parse_mue_text(_read_text(path), where=str(path)), window.label)
            self._quarters[(key, window.effective)] = table
        return table

    def ptp_for(self, on: date) -> PtpTable:
        """The PTP release governing date of service ``on`` (its ``label`` names it)."""
        return self._quarter(PTP_KEY, on) or self.base_ptp  # type: ignore[return-value]

    def mue_for(self, on: date) -> MueTable:
        """The MUE release governing date of service ``on`` (its ``label`` names it)."""
        return self._quarter(MUE_KEY, on) or self.base_mue  # type: ignore[return-value]

    @property
    def ptp(self) -> PtpTable:
        """The newest PTP release."""
        return self._quarter(PTP_KEY, None) or self.base_ptp  # type: ignore[return-value]

    @property
    def mue(self) -> MueTable:
        """The newest MUE release."""
        return self._quarter(MUE_KEY, None) or self.base_mue  # type: ignore[return-value]


@functools.cache
def default_ncci() -> Ncci:
    """The process-wide :class:`Ncci` over the default user data directory."""
    return Ncci()


def reset_default_ncci() -> None:
    """Forget the default instance (after loading a file, or when the environment changes)."""
    default_ncci.cache_clear()


# -- loading the official quarterly files ----------------------------------------------------

@dataclass(frozen=True, slots=True)
class NcciLoadResult:
    key: str  # "ncci-ptp" or "ncci-mue"
    rows: int  # pairs (PTP) or codes (MUE) stored
    sources: tuple[Path, ...]
    stored_at: Path


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _record(target_dir: Path, key: str, paths: Sequence[Path], rows: int) -> None:
    manifest = read_manifest(target_dir)
    manifest[key] = {
        "system": key,
        "files": [p.name for p in paths],
        "sha256": [_sha256(p) for p in paths],
        "rows": rows,
        "loaded_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    (target_dir / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True),
                                       encoding="utf-8")


def _existing(paths: Iterable[Path | str]) -> list[Path]:
    checked = [Path(p) for p in paths]
    if not checked:
        raise CodeSetError("no file given")
    for path in checked:
        if not path.is_file():
            raise CodeSetError(f"no such file: {path}")
    return checked


def _edits_of(files: Sequence[Path], *, require: bool,
              on_file: Callable[[int], None] | None = None) -> Iterator[PtpEdit]:
    for number, path in enumerate(files, start=1):
        count = 0
        for edit in parse_ptp_text(_read_text(path), where=path.name):
            count += 1
            yield edit
        if require and not count:
            raise CodeSetError(f"{path.name}: no NCCI PTP edits found")
        if on_file is not None:
            on_file(number)


def load_ptp(paths: Iterable[Path | str], *, data_dir: Path | str | None = None,
             on_progress: Callable[[int, int], None] | None = None) -> NcciLoadResult:
    """Store the PTP edits of ``paths`` (all four ``ccipra`` files of one quarter, or one
    CSV) as the user's table; it replaces the packaged one. Nothing is written on error.

    :param on_progress: called with (steps done, steps): one step per file read, one for
        storing the table.
    """
    files = _existing(paths)
    steps = len(files) + 1
    text, pairs = compact_ptp_text(_edits_of(
        files, require=True,
        on_file=None if on_progress is None else lambda done: on_progress(done, steps)))
    target_dir = user_data_dir(data_dir)
    target = target_dir / USER_PTP
    try:
        _write_gz(target, text)
        _record(target_dir, PTP_KEY, files, pairs)
    except OSError as exc:
        raise CodeSetError(f"cannot write to {target_dir}: {exc}") from exc
    reset_default_ncci()
    if on_progress is not None:
        on_progress(steps, steps)
    return NcciLoadResult(PTP_KEY, pairs, tuple(files), target)


def load_mue(path: Path | str, *, data_dir: Path | str | None = None,
             on_progress: Callable[[int, int], None] | None = None) -> NcciLoadResult:
    """Store the practitioner MUE table of ``path`` as the user's table (replaces the
    packaged one). Nothing is written on error.

    :param on_progress: called with (steps done, 2): the file read, then the table stored.
    """
    files = _existing([path])
    limits = parse_mue_text(_read_text(files[0]), where=files[0].name)
    if not limits:
        raise CodeSetError(f"{files[0].name}: no MUE rows found (code, value, indicator)")
    if on_progress is not None:
        on_progress(1, 2)
    target_dir = user_data_dir(data_dir)
    target = target_dir / USER_MUE
    try:
        _write_gz(target, mue_text(limits.values()))
        _record(target_dir, MUE_KEY, files, len(limits))
    except OSError as exc:
        raise CodeSetError(f"cannot write to {target_dir}: {exc}") from exc
    reset_default_ncci()
    if on_progress is not None:
        on_progress(2, 2)
    return NcciLoadResult(MUE_KEY, len(limits), tuple(files), target)


def pack_ptp(sources: Iterable[Path | str], target: Path | str, *,
             deleted_since: date | None = None) -> int:
    """Write the compact, gzipped table of ``sources`` to ``target``, leaving out edits
    deleted before ``deleted_since`` (how the packaged file was made from the shared CSV;
    see data/SOURCES.md). Returns the pairs kept."""
    edits = _edits_of(_existing(sources), require=False)
    if deleted_since is not None:
        edits = (e for e in edits if e.deleted is None or e.deleted >= deleted_since)
    text, pairs = compact_ptp_text(edits)
    _write_gz(Path(target), text)
    return pairs


# -- `medbill codes update`: the official quarterly files ------------------------------------

#: ``ccipra-v323r0-f1.txt``: practitioner PTP, version 32.3 revision 0, part 1 of 4. The
#: version's first two digits count years from 1994 and the third the quarter from 0
#: (v303 = 2024 Q4, effective 2024-10-01; v322 = 2026 Q3; v323 = 2026 Q4).
_PTP_NAME_RE = re.compile(r"ccipra-v([0-9]{2})([0-3])r([0-9]+)-f([1-4])", re.IGNORECASE)
#: ``MCR_MUE_PractitionerServices_Eff_10-01-2026.csv``.
_MUE_NAME_RE = re.compile(r"Eff_([01][0-9])-([0-3][0-9])-(20[0-9]{2})", re.IGNORECASE)
_PTP_PARTS = (1, 2, 3, 4)


def _quarter_of(on: date) -> tuple[date, date]:
    _, start, end = period(Cadence.QUARTERLY, on)
    assert end is not None  # quarters end
    return start, end


def ptp_quarter_from_name(name: str) -> tuple[date, str, int] | None:
    """(first day of the quarter, version ``v323r0``, part) from a CMS PTP file name."""
    match = _PTP_NAME_RE.search(name)
    if match is None:
        return None
    year = 1994 + int(match.group(1))
    start = date(year, 3 * int(match.group(2)) + 1, 1)
    version = f"v{match.group(1)}{match.group(2)}r{match.group(3)}"
    return start, version, int(match.group(4))


def _head_lower(source: SourceFile) -> str:
    return source.head_text().lower()


def _recognise_ptp(source: SourceFile) -> bool:
    """The CMS practitioner PTP text file (or a CSV export): its wrapped header names
    column 1, column 2, the deletion date and the modifier indicator. Outpatient-hospital
    files (``ccioph``) have the same layout and are left alone."""
    head = _head_lower(source)
    if "ccioph" in source.name.lower() or "hospital" in source.name.lower():
        return False
    return all(word in head for word in ("column 1", "column 2", "deletion", "modifier")) \
        or head.startswith(",".join(PTP_FIELDS))


def _recognise_mue(source: SourceFile) -> bool:
    """The CMS practitioner MUE CSV: its header names the practitioner MUE values and the
    adjudication indicator (the DME and outpatient-hospital tables name theirs)."""
    head = " ".join(_head_lower(source).split())
    return ("practitioner services mue values" in head and "adjudication indicator" in head) \
        or head.startswith(",".join(MUE_FIELDS))


def _ptp_edits(source: SourceFile) -> list[PtpEdit]:
    edits = list(parse_ptp_text(source.text(), where=source.label))
    if not edits:
        raise CodeSetError(f"{source.label}: no NCCI PTP edits found")
    return edits


def _prepare_ptp(sources: Sequence[SourceFile]) -> list[PreparedRelease]:
    """One release per version: all four parts (f1-f4) together; a file without the CMS
    name is taken as a whole table."""
    groups: dict[str, list[SourceFile]] = {}
    for source in sources:
        named = ptp_quarter_from_name(source.name)
        groups.setdefault(named[1] if named else f"file {source.label}", []).append(source)
    out = []
    for version, group in sorted(groups.items()):
        named = ptp_quarter_from_name(group[0].name)
        if named is not None:
            parts: dict[int, SourceFile] = {}
            for source in group:
                part = ptp_quarter_from_name(source.name)[2]  # type: ignore[index]
                if part in parts:
                    raise CodeSetError(f"ccipra-{version}: part f{part} given twice"
                                       f" ({parts[part].label} and {source.label})")
                parts[part] = source
            missing = [f"ccipra-{version}-f{p}" for p in _PTP_PARTS if p not in parts]
            if missing:
                raise CodeSetError(f"ccipra-{version}: {', '.join(missing)} missing: give all"
                                   " four parts (f1-f4) of the quarter together")
            group = [parts[p] for p in _PTP_PARTS]
        edits = [edit for source in group for edit in _ptp_edits(source)]
        newest = max((e.effective for e in edits if e.effective is not None), default=None)
        if named is not None:
            start, end = _quarter_of(named[0])
            if newest is not None and newest > end:
                raise CodeSetError(f"ccipra-{version}: the name says {start}..{end} but an edit"
                                   f" takes effect on {newest}")
        elif newest is not None:
            start, end = _quarter_of(newest)
        else:
            raise CodeSetError(f"{group[0].label}: cannot tell which quarter it is (no"
                               " effective dates, and not named like ccipra-v323r0-f1.txt)")
        text, pairs = compact_ptp_text(edits)
        name, _, _ = period(Cadence.QUARTERLY, start)
        label = f"NCCI practitioner PTP {name}" + (f" ({version})" if named else "")

        def write(folder: Path, text: str = text) -> None:
            _write_gz(folder / RELEASE_PTP, text)

        out.append(PreparedRelease(PTP_KEY, label, start, end, pairs, tuple(group),
                                   digest_of(group), write))
    return out


def _prepare_mue(sources: Sequence[SourceFile]) -> list[PreparedRelease]:
    out = []
    for source in sources:
        match = _MUE_NAME_RE.search(source.name)
        if match is None:
            raise CodeSetError(f"{source.label}: cannot tell which quarter it is (the MUE table"
                               " has no dates): keep the CMS name, e.g."
                               " MCR_MUE_PractitionerServices_Eff_10-01-2026.csv")
        try:
            effective = date(int(match.group(3)), int(match.group(1)), int(match.group(2)))
        except ValueError:
            raise CodeSetError(f"{source.label}: {match.group(0)} is not a date") from None
        limits = parse_mue_text(source.text(), where=source.label)
        if not limits:
            raise CodeSetError(f"{source.label}: no MUE rows found (code, value, indicator)")
        start, end = _quarter_of(effective)
        name, _, _ = period(Cadence.QUARTERLY, start)
        text = mue_text(limits.values())

        def write(folder: Path, text: str = text) -> None:
            _write_gz(folder / RELEASE_MUE, text)

        out.append(PreparedRelease(MUE_KEY, f"NCCI practitioner MUE {name}", start, end,
                                   len(limits), (source,), digest_of([source]), write))
    return out


FORMATS: list[ReleaseFormat] = [
    ReleaseFormat("CMS NCCI practitioner PTP edits (ccipra-vNNNrN-f1..f4 text files)",
                  _recognise_ptp, _prepare_ptp),
    ReleaseFormat("CMS NCCI practitioner MUE table (MCR_MUE_PractitionerServices_Eff_...csv)",
                  _recognise_mue, _prepare_mue),
]


def release_windows(key: str, data_dir: Path | None) -> list[ReleaseWindow]:
    """The packaged 2024 Q3 table and the quarters loaded with ``codes update``."""
    kind = "PTP" if key == PTP_KEY else "MUE"
    packaged = ReleaseWindow(
        key, f"NCCI practitioner {kind} 2024 Q3", PACKAGED_EFFECTIVE, date(2024, 9, 30),
        f"CMS NCCI practitioner {kind} edits effective 2024-07-01 (packaged; no 2026 table"
        " could be obtained: load the current quarter's CMS zips with `medbill codes"
        " update`)")
    return [packaged] + [w for w, _ in loaded_releases(data_dir, key)]


# -- command line (until `medbill codes load` learns these systems) -------------------------

def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m medbill_core.codesets.ncci",
                                     description="Load or query the NCCI PTP and MUE tables.")
    parser.add_argument("--data-dir", help="user code-set directory"
                        " (default: $MEDBILL_CODESETS_DIR or ~/.local/share/medbill/codesets)")
    commands = parser.add_subparsers(dest="command", required=True)
    ptp = commands.add_parser("load-ptp", help="load the quarterly practitioner PTP files")
    ptp.add_argument("files", nargs="+", type=Path)
    mue = commands.add_parser("load-mue", help="load the quarterly practitioner MUE file")
    mue.add_argument("file", type=Path)
    show = commands.add_parser("show", help="the MUE of a code, or the PTP edit of a pair")
    show.add_argument("codes", nargs="+")
    show.add_argument("--date", type=date.fromisoformat, default=None)
    args = parser.parse_args(argv)
    try:
        if args.command == "load-ptp":
            result = load_ptp(args.files, data_dir=args.data_dir)
            print(f"Loaded {result.rows:,} PTP pairs into {result.stored_at}")
        elif args.command == "load-mue":
            result = load_mue(args.file, data_dir=args.data_dir)
            print(f"Loaded {result.rows:,} MUE limits into {result.stored_at}")
        else:
            ncci = Ncci(args.data_dir)
            on = args.date or date.today()
            codes = [c.strip().upper() for c in args.codes]
            for code in codes:
                limit = ncci.mue_for(on).get(code)
                print(f"{code}: MUE {limit.value} {limit.adjudication_text} ({limit.rationale})"
                      if limit else f"{code}: no MUE")
            table = ncci.ptp_for(on)
            for edit in table.edits_among(codes, on):
                rule = "modifier allowed" if edit.modifier_allowed else "no modifier allowed"
                print(f"PTP {edit.column_1} / {edit.column_2} on {on}: {rule}"
                      f" ({edit.rationale}; {table.label})")
    except CodeSetError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
