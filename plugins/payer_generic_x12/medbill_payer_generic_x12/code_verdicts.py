"""Why a well-formed code cannot be billed on a date, asked once per code and date in a document.

The claim decoders' ``check_codes`` asks the date-aware code sets about every diagnosis and
procedure of every claim; a batch repeats the same few codes on the same few dates, and each
question walks the releases (about 20 µs). :class:`CodeVerdicts` keeps the answers for one
document: the code sets cannot change under a decode, and nothing outlives it (a code set
loaded later is asked afresh by the next document).
"""

from __future__ import annotations

from datetime import date

from medbill_core.api import CodeSystem, default_codesets

#: Why a well-formed code cannot be billed on its date (the code sets' reasons, in words
#: without the code).
_REASONS = {"unknown": "not an {system} code", "not_billable": "a category header, not a "
            "billable {system} code", "not_yet_effective": "not yet effective on the date of "
            "service", "terminated": "no longer valid on the date of service"}
_NAMES = {CodeSystem.ICD10CM: "ICD-10-CM", CodeSystem.ICD10PCS: "ICD-10-PCS"}


class CodeVerdicts:
    """Reasons a code cannot be billed on a date, memoised for one document."""

    __slots__ = ("_codesets", "_known")

    def __init__(self) -> None:
        self._codesets = default_codesets()
        self._known: dict[tuple[CodeSystem, str, date], str | None] = {}

    def problem(self, system: CodeSystem, code: str, on: date) -> str | None:
        """Why ``code`` cannot be billed on ``on``, in words; ``None`` when it can, or when it
        is malformed (the form is the domain's finding, made already)."""
        key = (system, code, on)
        try:
            return self._known[key]
        except KeyError:
            pass
        template = _REASONS.get(self._codesets.check(system, code, on=on).reason.value)
        reason = template.format(system=_NAMES.get(system, system.value)) if template else None
        self._known[key] = reason
        return reason


__all__ = ["CodeVerdicts"]
