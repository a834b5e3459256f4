"""Date-aware code sets: ICD-10-CM, HCPCS Level II, CPT (format), modifiers, POS, CARC/RARC.

A code is valid *for a date of service*, not forever::

    from medbill_core.codesets import default_codesets

    cs = default_codesets()
    verdict = cs.hcpcs("G0519", on=date(2024, 6, 1))
    verdict.ok, verdict.reason, verdict.message   # False, Reason.NOT_YET_EFFECTIVE, "..."

Packaged data and its origin: ``medbill_core/codesets/data/SOURCES.md``. Users
update a code set with :func:`load_file` (``medbill codes load SYSTEM FILE``).
Plain-language text for printed codes (CARC with group, RARC, 277CA category and status
codes, AAA reject reasons, percentages) is in :mod:`medbill_core.codesets.explain`;
description search (``medbill codes search``) in :mod:`medbill_core.codesets.search`.
"""

from medbill_core.codesets.loaders import (
    LoadResult,
    load_file,
    read_file,
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
from medbill_core.codesets.registry import CodeSets, default_codesets, reset_default_codesets

__all__ = [
    "CodeInfo",
    "CodeSetError",
    "CodeSets",
    "CodeSystem",
    "LoadResult",
    "Reason",
    "Release",
    "Verdict",
    "default_codesets",
    "load_file",
    "read_file",
    "reset_default_codesets",
    "user_cache_dir",
    "user_data_dir",
]
