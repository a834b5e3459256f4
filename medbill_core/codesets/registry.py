"""``CodeSets``: date-aware lookups over the packaged and user-loaded code sets.

Each table is read once, on first use, into a ``dict``; a lookup is a
normalisation, a dict access and two date comparisons. Packaged tables are
shared by every instance in the process. ICD-10-CM and ICD-10-PCS are kept per
release (:mod:`medbill_core.codesets.icd10_common`): a lookup reads only the
release governing its date of service, unless the code is missing from it.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Mapping
from datetime import date
from pathlib import Path

from medbill_core.codesets import hcpcs, icd10cm, icd10pcs, placeofservice, x12lists
from medbill_core.codesets.formats import (
    CPT_MODIFIERS,
    CPT_RE,
    SHAPE_HINTS,
    SHAPES,
    is_cpt_modifier_number,
    normalize,
)
from medbill_core.codesets.icd10_common import LazyRelease, pick_release
from medbill_core.codesets.loaders import (
    read_manifest,
    stored_file,
    user_cache_dir,
    user_data_dir,
)
from medbill_core.codesets.model import (
    CodeInfo,
    CodeSetError,
    CodeSystem,
    Reason,
    Release,
    Verdict,
)
from medbill_core.codesets.releases import ReleaseWindow, release_dir, spec
from medbill_core.codesets.tables import (
    iter_csv,
    open_text,
    read_packaged_csv,
    rows_to_table,
)

Table = dict[str, CodeInfo]
#: The start of an ICD-10-PCS code (fewer than its 7 characters).
_PCS_PART = re.compile(r"^[0-9A-HJ-NP-Z]{1,6}$")

#: Packaged plain CSV files and the source label their records carry (see data/SOURCES.md).
#: HCPCS Level II and its modifiers come from the packaged CMS file (:mod:`.hcpcs`), the
#: CARC and RARC lists from the merged X12 lists (:mod:`.x12lists`).
PACKAGED: dict[CodeSystem, tuple[str, str]] = {
    CodeSystem.POS: (placeofservice.PACKAGED_FILE, placeofservice.PACKAGED_LABEL),
    CodeSystem.GROUP: ("claim_adjustment_group_codes.csv", "X12 claim adjustment group codes"),
}

#: Code sets kept per release, by their key in ``catalog.SPECS``. Each release of these
#: carries every code with its own start and stop dates (terminated codes stay in the
#: file), so the newest release medbill has -- packaged or loaded with ``codes update``
#: -- answers every date, and its name goes on every verdict (``Verdict.release``).
RELEASED: dict[CodeSystem, str] = {
    CodeSystem.HCPCS: "hcpcs",
    CodeSystem.MODIFIER: "hcpcs-modifiers",
    CodeSystem.POS: "pos",
    CodeSystem.CARC: "carc",
    CodeSystem.RARC: "rarc",
}

_CPT_NOTE = ("CPT descriptors are AMA-licensed and not shipped: only the format was checked"
             " (a licensed user can load them with `medbill codes load cpt FILE`)")
_CPT_MOD_NOTE = ("CPT modifier: AMA-licensed descriptor not shipped, checked by number only")

#: The code systems kept per release (fiscal years), not as one merged table.
PER_RELEASE = (CodeSystem.ICD10CM, CodeSystem.ICD10PCS)

#: How the records of a file loaded with ``codes load`` name their source.
_USER_FILE = "user file"

_packaged_lock = threading.Lock()
_packaged: dict[CodeSystem, Table] = {}


def _read_packaged(system: CodeSystem) -> Table:
    if system in (CodeSystem.HCPCS, CodeSystem.MODIFIER):
        return hcpcs.packaged_tables()[system]
    if system in (CodeSystem.CARC, CodeSystem.RARC):
        return x12lists.packaged_table(system)
    if system in PACKAGED:
        name, label = PACKAGED[system]
        return rows_to_table(system, read_packaged_csv(name), label, where=name)
    return {}


def _packaged_table(system: CodeSystem) -> Table:
    table = _packaged.get(system)
    if table is None:
        with _packaged_lock:
            table = _packaged.get(system)
            if table is None:
                table = _packaged[system] = _read_packaged(system)
    return table


def _newest_release(system: CodeSystem,
                    data_dir: Path | None) -> tuple[ReleaseWindow, Path | None]:
    """The newest release of a :data:`RELEASED` code set and, when it was loaded with
    ``codes update``, its stored table (``None``: the packaged table)."""
    key = RELEASED[system]
    windows = spec(key).releases(data_dir)
    newest = max(windows, key=lambda w: (w.effective, w.origin == "loaded"))
    if newest.origin != "loaded" or data_dir is None:
        return newest, None
    path = release_dir(data_dir, key, newest.effective) / stored_release_file(system)
    return newest, path


def stored_release_file(system: CodeSystem) -> str:
    """The table a loaded release folder holds (canonical layout, see ``tables.write_table``)."""
    return f"{system.value}.csv.gz"


def _judge(info: CodeInfo, on: date, note: str = "", release: str = "") -> Verdict:
    if info.note:
        note = f"{info.note}; {note}" if note else info.note
    return Verdict(info.system, info.code, info.status_on(on), on, info, note, release=release)


class CodeSets:
    """Date-aware code-set lookups.

    :param data_dir: user data directory with loaded code sets (default:
        :func:`user_data_dir`); ``use_user_data=False`` ignores it.
    :param cache_dir: where the derived ICD-10-CM table is cached (default:
        :func:`user_cache_dir`).

    Every check returns a :class:`Verdict`; ``on`` is the date of service
    (for CARC/RARC/group codes: the date of the remittance) and defaults to today.
    """

    def __init__(
        self,
        data_dir: Path | str | None = None,
        *,
        cache_dir: Path | str | None = None,
        use_user_data: bool = True,
    ) -> None:
        self.data_dir = user_data_dir(data_dir) if use_user_data else None
        self.cache_dir = user_cache_dir(cache_dir)
        self._lock = threading.Lock()
        self._tables: dict[CodeSystem, Table] = {}
        self._per_release: dict[CodeSystem, list[LazyRelease]] = {}
        self._release_by_date: dict[tuple[CodeSystem, date], tuple[LazyRelease, str]] = {}
        self._releases: dict[CodeSystem, ReleaseWindow] = {}
        self._format_only: dict[tuple[CodeSystem, str], CodeInfo] = {}
        self._manifest = read_manifest(self.data_dir) if self.data_dir else {}

    # -- loading ---------------------------------------------------------------------------

    def _user_label(self, key: str) -> str:
        entry = self._manifest.get(key) or {}
        file = entry.get("file", f"{key}.csv")
        loaded = str(entry.get("loaded_at", ""))[:10]
        return f"{_USER_FILE} {file}" + (f" (loaded {loaded})" if loaded else "")

    def table(self, system: CodeSystem | str) -> Table:
        """The merged table of ``system``: rows of a file loaded with ``codes load`` over the
        rows of the newest release (packaged or loaded with ``codes update``; see
        :data:`RELEASED`). Not for the code systems kept per release (ICD-10-CM,
        ICD-10-PCS): see :meth:`release_table`."""
        # a plain str finds its StrEnum member: the cached path skips CodeSystem(system)
        table = self._tables.get(system)  # type: ignore[arg-type]
        if table is not None:
            return table
        system = CodeSystem(system)
        if system in PER_RELEASE:
            raise ValueError(f"{system.label} is kept per release: use release_table()")
        with self._lock:
            table = self._tables.get(system)
            if table is None:
                table = self._release_table(system)
                path = stored_file(self.data_dir, system) if self.data_dir else None
                if path is not None and path.is_file():
                    with open_text(path) as handle:
                        user = rows_to_table(system, iter_csv(handle),
                                             self._user_label(system.value), where=str(path))
                    table = {**table, **user}
                self._tables[system] = table
        return table

    def _release_table(self, system: CodeSystem) -> Table:
        """The table of the newest release of ``system`` (packaged tables for the others)."""
        if system not in RELEASED:
            return _packaged_table(system)
        window, path = _newest_release(system, self.data_dir)
        self._releases[system] = window
        if path is None:
            return _packaged_table(system)
        try:
            with open_text(path) as handle:
                return rows_to_table(system, iter_csv(handle), window.label, where=str(path))
        except (OSError, UnicodeDecodeError, EOFError) as exc:
            raise CodeSetError(f"cannot read {path}: {exc}") from exc

    def release(self, system: CodeSystem | str) -> ReleaseWindow | None:
        """The release whose table answers ``system`` (``None``: not kept per release)."""
        system = CodeSystem(system)
        if system not in RELEASED:
            return None
        self.table(system)
        return self._releases.get(system)

    def _release_note(self, system: CodeSystem, on: date) -> tuple[str, str]:
        """The release label for a verdict and the note when ``on`` is past that release."""
        window = self.release(system)
        if window is None:
            return "", ""
        if window.through is not None and on > window.through:
            return window.label, (f"date {on} is after {window.label} ({window.effective}.."
                                  f"{window.through}); checked against that release")
        return window.label, ""

    def releases(self, system: CodeSystem | str) -> list[LazyRelease]:
        """The releases of ICD-10-CM or ICD-10-PCS: the user's, then the packaged ones
        (their tables are read on first use)."""
        system = CodeSystem(system)
        found = self._per_release.get(system)
        if found is not None:
            return found
        with self._lock:
            found = self._per_release.get(system)
            if found is None:
                if system is CodeSystem.ICD10CM:
                    found = icd10cm.all_releases(self.data_dir, self.cache_dir)
                elif system is CodeSystem.ICD10PCS:
                    found = icd10pcs.all_releases(self.data_dir)
                else:
                    raise ValueError(f"{system.label} is not kept per release: use table()")
                if not found:  # only if the packaged data were removed
                    raise CodeSetError(f"no {system.label} data: load a release with"
                                       " `medbill codes update FILE...`")
                self._per_release[system] = found
        return found

    def _governing(self, system: CodeSystem, on: date) -> tuple[LazyRelease, str]:
        """The release for ``on`` and the note to attach (cached per date)."""
        picked = self._release_by_date.get((system, on))
        if picked is None:
            picked = self._release_by_date[(system, on)] = pick_release(
                self.releases(system), on)
        return picked

    def release_table(self, system: CodeSystem | str, on: date | None = None,
                      ) -> tuple[Release, Mapping[str, CodeInfo], str]:
        """The release of ICD-10-CM or ICD-10-PCS governing date of service ``on``, its
        table, and a note when no release covers ``on`` (the nearest one is used)."""
        lazy, note = self._governing(CodeSystem(system), on or date.today())
        return lazy.release, lazy.table(), note

    def icd10cm_releases(self) -> list[tuple[Release, Mapping[str, CodeInfo]]]:
        """Every ICD-10-CM release with its table (reads them all): user releases, then the
        packaged ones."""
        return [(lazy.release, lazy.table()) for lazy in self.releases(CodeSystem.ICD10CM)]

    def icd10cm_release(self, on: date | None = None) -> Release:
        """The release that governs date of service ``on`` (see :meth:`icd10cm`)."""
        return self._governing(CodeSystem.ICD10CM, on or date.today())[0].release

    def icd10pcs_release(self, on: date | None = None) -> Release:
        """The ICD-10-PCS release that governs date of service ``on``."""
        return self._governing(CodeSystem.ICD10PCS, on or date.today())[0].release

    def _pick_release(self, on: date) -> tuple[Release, Mapping[str, CodeInfo], str]:
        """The ICD-10-CM release for ``on``, its table and note (see :meth:`release_table`)."""
        return self.release_table(CodeSystem.ICD10CM, on)

    # -- verdict helpers -------------------------------------------------------------------

    @staticmethod
    def _shape_or_unknown(system: CodeSystem, code: str, raw: str, on: date,
                          source: str) -> Verdict:
        if not SHAPES[system].match(code):
            return Verdict(system, code, Reason.FORMAT, on, detail=(
                f"{raw.strip()!r}: not a well-formed {system.label} code: {SHAPE_HINTS[system]}"))
        return Verdict(system, code, Reason.UNKNOWN, on,
                       detail=f"{code}: no such {system.label} code in {source}")

    # -- lookups ---------------------------------------------------------------------------

    def get(self, system: CodeSystem | str, code: str, on: date | None = None) -> CodeInfo | None:
        """The record of ``code`` (no date check); for ICD-10-CM from the release for ``on``."""
        system = CodeSystem(system)
        code = normalize(system, code)
        if system in PER_RELEASE:
            return self.release_table(system, on)[1].get(code)
        return self.table(system).get(code)

    def check(self, system: CodeSystem | str, code: str, on: date | None = None) -> Verdict:
        """Dispatch to the lookup of ``system``."""
        return _DISPATCH[CodeSystem(system)](self, code, on)

    def icd10cm(self, code: str, on: date | None = None) -> Verdict:
        """An ICD-10-CM diagnosis: billable (a leaf code) in the release governing ``on``.

        If no loaded release covers ``on``, the nearest one is used and the
        verdict's ``note`` says so; a code absent from that release but present
        in another loaded one is reported as not yet effective / terminated.
        """
        on = on or date.today()
        norm = code.strip().upper()
        if "." in norm:
            if norm.find(".") != 3 or norm.count(".") > 1:
                return Verdict(CodeSystem.ICD10CM, norm, Reason.FORMAT, on, detail=(
                    f"{code.strip()!r}: not a well-formed ICD-10-CM code: the dot, if any,"
                    " follows the third character"))
            norm = norm.replace(".", "")
        return self._per_release_verdict(CodeSystem.ICD10CM, norm, code, on)

    def icd10pcs(self, code: str, on: date | None = None) -> Verdict:
        """An ICD-10-PCS procedure: a 7-character code of the release governing ``on``.

        Every PCS code is billable; a shorter start of one ("0DT") is not a complete code.
        Release gaps and codes added or deleted across releases are reported as for
        :meth:`icd10cm`.
        """
        on = on or date.today()
        norm = normalize(CodeSystem.ICD10PCS, code)
        return self._per_release_verdict(CodeSystem.ICD10PCS, norm, code, on)

    def _per_release_verdict(self, system: CodeSystem, norm: str, raw: str,
                             on: date) -> Verdict:
        """The verdict for a code of a per-release system (normalised ``norm``)."""
        lazy, note = self._governing(system, on)
        release, table = lazy.release, lazy.table()
        info = table.get(norm)
        if info is not None:
            return _judge(info, on, note, release.label)
        for other in self.releases(system):
            found = other.table().get(norm) if other is not lazy else None
            if found is None or not found.billable:
                continue
            if other.release.effective > on:
                return Verdict(system, norm, Reason.NOT_YET_EFFECTIVE, on, found,
                               release=release.label, detail=(
                                   f"{found.display_code}: {system.label} not yet effective on"
                                   f" {on} (first in {other.release.label}, from"
                                   f" {other.release.effective})"))
            if other.release.through < on:
                return Verdict(system, norm, Reason.TERMINATED, on, found,
                               release=release.label, detail=(
                                   f"{found.display_code}: {system.label} deleted after"
                                   f" {other.release.through} (last in {other.release.label}),"
                                   f" not valid on {on}"))
        if system is CodeSystem.ICD10PCS and _PCS_PART.match(norm) \
                and any(known.startswith(norm) for known in table):
            return Verdict(system, norm, Reason.NOT_BILLABLE, on, note=note,
                           release=release.label, detail=(
                               f"{norm}: not a complete ICD-10-PCS code: codes have 7"
                               f" characters (this is the start of some in {release.label})"))
        verdict = self._shape_or_unknown(system, norm, raw, on, release.label)
        return Verdict(verdict.system, verdict.code, verdict.reason, on, note=note,
                       detail=verdict.detail, release=release.label)

    def hcpcs(self, code: str, on: date | None = None) -> Verdict:
        """A HCPCS procedure code: Level II from the table; Level I (CPT) via :meth:`cpt`.

        Level II codes are checked against the newest release medbill has (packaged or
        loaded with ``medbill codes update``), for every date of service: a CMS quarterly
        file keeps terminated codes with their add and termination dates, so an older date
        is judged by the code's own dates. ``Verdict.release`` names that release; a date
        after it is still answered from it, with a note (``codes status`` and the
        scrubber's release-gap warning name the missing quarter).
        """
        on = on or date.today()
        norm = code.strip().upper()
        if CPT_RE.match(norm):
            return self.cpt(norm, on)
        info = self.table(CodeSystem.HCPCS).get(norm)
        if info is not None:
            return self._released(info, on)
        label, note = self._release_note(CodeSystem.HCPCS, on)
        verdict = self._shape_or_unknown(CodeSystem.HCPCS, norm, code, on, label)
        if verdict.reason is Reason.UNKNOWN and norm.startswith("D"):
            verdict = Verdict(CodeSystem.HCPCS, norm, Reason.UNKNOWN, on, detail=(
                f"{norm}: D-codes are CDT (ADA-licensed) and not shipped; load them"
                " with `medbill codes load hcpcs FILE`"))
        return verdict._replace(note=note, release=label)

    def cpt(self, code: str, on: date | None = None) -> Verdict:
        """A CPT code: format only, unless a licensed user loaded CPT descriptors."""
        on = on or date.today()
        norm = normalize(CodeSystem.CPT, code)
        if not CPT_RE.match(norm):
            return self._shape_or_unknown(CodeSystem.CPT, norm, code, on, "")
        table = self.table(CodeSystem.CPT)
        if table:
            info = table.get(norm)
            if info is None:
                return Verdict(CodeSystem.CPT, norm, Reason.UNKNOWN, on,
                               detail=f"{norm}: no such CPT code in the loaded CPT file")
            return _judge(info, on)
        info = self._format_only.get((CodeSystem.CPT, norm))
        if info is None:
            info = self._format_only[(CodeSystem.CPT, norm)] = CodeInfo(
                CodeSystem.CPT, norm, "CPT code (descriptor not shipped: AMA licence)",
                format_only=True, source="format check")
        return Verdict(CodeSystem.CPT, norm, Reason.OK, on, info, _CPT_NOTE,
                       f"{norm}: CPT code, format valid (descriptor not shipped)")

    def modifier(self, code: str, on: date | None = None) -> Verdict:
        """A procedure modifier: HCPCS Level II from the table; CPT (22-99) by number."""
        on = on or date.today()
        norm = normalize(CodeSystem.MODIFIER, code)
        info = self.table(CodeSystem.MODIFIER).get(norm)
        if info is not None:
            return self._released(info, on)
        if is_cpt_modifier_number(norm):
            known = norm in CPT_MODIFIERS
            info = self._format_only.get((CodeSystem.MODIFIER, norm))
            if info is None:
                info = self._format_only[(CodeSystem.MODIFIER, norm)] = CodeInfo(
                    CodeSystem.MODIFIER, norm, "CPT modifier (descriptor not shipped: AMA licence)",
                    format_only=True, source="CPT modifier numbers (codes only)")
            note = _CPT_MOD_NOTE if known else (
                f"{norm} is not in medbill's list of CPT modifier numbers in use;"
                " accepted on format (22-99) only")
            return Verdict(CodeSystem.MODIFIER, norm, Reason.OK, on, info, note,
                           f"{norm}: CPT modifier{'' if known else ' number'}, valid by format"
                           " (descriptor not shipped)")
        label, note = self._release_note(CodeSystem.MODIFIER, on)
        return self._shape_or_unknown(
            CodeSystem.MODIFIER, norm, code, on,
            f"{label or 'the HCPCS Level II modifiers'} or CPT modifiers 22-99",
        )._replace(note=note, release=label)

    def place_of_service(self, code: str, on: date | None = None) -> Verdict:
        """A CMS place-of-service code (unassigned numbers are invalid)."""
        return self._simple(CodeSystem.POS, code, on, "the CMS place of service list")

    def carc(self, code: str, on: date | None = None) -> Verdict:
        """A claim adjustment reason code; ``on`` is the remittance date (the X12 stop date
        bars original 835s after it; reversals and secondary claims may still report it).
        A code deactivated without a known stop date stays valid with a note."""
        return self._simple(CodeSystem.CARC, code, on, "the loaded CARC list")

    def rarc(self, code: str, on: date | None = None) -> Verdict:
        """A remittance advice remark code. The packaged list knows which RARCs X12
        deactivated but not since when: such a code stays valid with a note (see
        :mod:`medbill_core.codesets.x12lists`); a loaded list with stop dates catches them."""
        return self._simple(CodeSystem.RARC, code, on, "the loaded RARC list")

    def adjustment_group(self, code: str, on: date | None = None) -> Verdict:
        """A claim adjustment group code (CAS01). CR ends 2011-12-31 (not in 5010)."""
        return self._simple(CodeSystem.GROUP, code, on, "the claim adjustment group codes")

    def _simple(self, system: CodeSystem, code: str, on: date | None, source: str) -> Verdict:
        on = on or date.today()
        norm = normalize(system, code)
        info = self.table(system).get(norm)
        if info is not None:
            return self._released(info, on)
        label, note = self._release_note(system, on)
        return self._shape_or_unknown(system, norm, code, on, label or source)._replace(
            note=note, release=label)

    def _released(self, info: CodeInfo, on: date) -> Verdict:
        """The verdict on a code found in a per-release table: named after the release it
        was checked against (or the user file that added it), with a note when ``on`` is
        past that release."""
        label, note = self._release_note(info.system, on)
        if info.source.startswith(_USER_FILE):
            label, note = info.source, ""
        return _judge(info, on, note, label)

    def sources(self) -> dict[CodeSystem, list[str]]:
        """What each code set is loaded from, for ``medbill codes show`` and diagnostics."""
        out: dict[CodeSystem, list[str]] = {}
        for system in CodeSystem:
            if system in PER_RELEASE:
                out[system] = [f"{r.release.label} {r.release.effective}..{r.release.through}:"
                               f" {r.release.source}" for r in self.releases(system)]
                continue
            labels = sorted({info.source for info in self.table(system).values()})
            out[system] = labels or (["format check only"] if system is CodeSystem.CPT else [])
        return out


_DISPATCH = {
    CodeSystem.ICD10CM: CodeSets.icd10cm,
    CodeSystem.ICD10PCS: CodeSets.icd10pcs,
    CodeSystem.HCPCS: CodeSets.hcpcs,
    CodeSystem.CPT: CodeSets.cpt,
    CodeSystem.MODIFIER: CodeSets.modifier,
    CodeSystem.POS: CodeSets.place_of_service,
    CodeSystem.CARC: CodeSets.carc,
    CodeSystem.RARC: CodeSets.rarc,
    CodeSystem.GROUP: CodeSets.adjustment_group,
}


@functools.cache
def default_codesets() -> CodeSets:
    """The process-wide :class:`CodeSets` over the default directories."""
    return CodeSets()


def reset_default_codesets() -> None:
    """Forget the default instance (after loading a file, or when the environment changes)."""
    default_codesets.cache_clear()
