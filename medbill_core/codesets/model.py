"""Records and verdicts returned by the code-set lookups."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import NamedTuple

from medbill_core.errors import MedbillError


class CodeSystem(StrEnum):
    """The code sets medbill knows. The value is the name used by ``medbill codes load``."""

    ICD10CM = "icd10cm"
    ICD10PCS = "icd10pcs"  # inpatient hospital procedures (7 characters)
    HCPCS = "hcpcs"  # HCPCS Level II (A-V + 4 digits)
    CPT = "cpt"  # HCPCS Level I; AMA-licensed, format only unless a user loads descriptors
    MODIFIER = "modifier"  # HCPCS Level II modifiers + CPT modifier numbers
    POS = "pos"
    CARC = "carc"
    RARC = "rarc"
    GROUP = "group"  # claim adjustment group codes (CAS01)

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    CodeSystem.ICD10CM: "ICD-10-CM",
    CodeSystem.ICD10PCS: "ICD-10-PCS",
    CodeSystem.HCPCS: "HCPCS Level II",
    CodeSystem.CPT: "CPT",
    CodeSystem.MODIFIER: "modifier",
    CodeSystem.POS: "place of service",
    CodeSystem.CARC: "CARC",
    CodeSystem.RARC: "RARC",
    CodeSystem.GROUP: "claim adjustment group",
}


class Reason(StrEnum):
    """Why a code is (in)valid for a date."""

    OK = "ok"
    FORMAT = "format"  # not shaped like a code of this system
    UNKNOWN = "unknown"  # well-formed but not in the loaded code set
    NOT_BILLABLE = "not_billable"  # ICD-10-CM category/subcategory header
    UNASSIGNED = "unassigned"  # POS number reserved but not assigned
    NOT_YET_EFFECTIVE = "not_yet_effective"
    TERMINATED = "terminated"


class CodeSetError(MedbillError):
    """A code-set file could not be read or loaded."""


class CodeInfo(NamedTuple):
    """One code of one code set, as loaded (not yet judged for a date). Immutable.

    ``effective`` is the first and ``terminated`` the last day the code may be
    used (both inclusive; ``None`` = open). This matches the CMS HCPCS
    ``TERM DT`` ("last date for which a code may be used") and the X12 CARC/RARC
    ``Stop`` date ("can no longer be used ... after that date").
    """

    system: CodeSystem
    code: str
    description: str
    short_description: str = ""
    billable: bool = True
    assigned: bool = True
    effective: date | None = None
    terminated: date | None = None
    format_only: bool = False  # no descriptor data: only the format was checked
    source: str = ""
    note: str = ""

    @property
    def display_code(self) -> str:
        """The code as printed for people (ICD-10-CM with its dot)."""
        if self.system is CodeSystem.ICD10CM and len(self.code) > 3:
            return f"{self.code[:3]}.{self.code[3:]}"
        return self.code

    def status_on(self, on: date) -> Reason:
        """The :class:`Reason` this code gets for ``on``, ignoring release coverage."""
        if not self.assigned:
            return Reason.UNASSIGNED
        if not self.billable:
            return Reason.NOT_BILLABLE
        if self.effective is not None and on < self.effective:
            return Reason.NOT_YET_EFFECTIVE
        if self.terminated is not None and on > self.terminated:
            return Reason.TERMINATED
        return Reason.OK


class Verdict(NamedTuple):
    """The answer to "may this code be used on this date?". Immutable.

    ``bool(verdict)`` is ``verdict.ok``. ``message`` is one line for a person
    (built on access, so bulk checks stay cheap); ``note`` carries caveats that
    do not make the code invalid (date outside the loaded ICD-10-CM release,
    format-only check, data gaps) -- a scrubber may report it as a warning.
    (A ``NamedTuple`` rather than a dataclass: bulk checks build one per lookup.)
    """

    system: CodeSystem
    code: str
    reason: Reason
    on: date
    info: CodeInfo | None = None
    note: str = ""
    detail: str = ""  # the message, when it is not derived from ``info``
    #: the release the code was checked against ("HCPCS Level II 2026 Q3"), so a finding
    #: can be traced to the table that passed or failed it; '' when not release-based
    release: str = ""

    @property
    def ok(self) -> bool:
        return self.reason is Reason.OK

    def __bool__(self) -> bool:
        return self.reason is Reason.OK

    @property
    def message(self) -> str:
        if self.detail or self.info is None:
            return self.detail or f"{self.code}: {self.reason.value}"
        info, on, reason = self.info, self.on, self.reason
        code, label = info.display_code, info.system.label
        if reason is Reason.OK:  # a code without a title in the data ends at the date
            return f"{code}: {label}, valid on {on}" + (
                f": {info.description}" if info.description else "")
        if reason is Reason.NOT_BILLABLE:
            return (f"{code}: {label} category header ({info.description}), not billable:"
                    " use a more specific code (more characters)")
        if reason is Reason.UNASSIGNED:
            return f"{code}: {label} code is unassigned"
        if reason is Reason.NOT_YET_EFFECTIVE:
            return f"{code}: {label} not yet effective on {on} (effective {info.effective})"
        return f"{code}: {label} terminated after {info.terminated}, not valid on {on}"


@dataclass(frozen=True, slots=True)
class Release:
    """One ICD-10-CM or ICD-10-PCS release and the dates of service it governs (inclusive)."""

    label: str
    effective: date
    through: date
    source: str

    def covers(self, on: date) -> bool:
        return self.effective <= on <= self.through

    def distance(self, on: date) -> int:
        if on < self.effective:
            return (self.effective - on).days
        if on > self.through:
            return (on - self.through).days
        return 0
