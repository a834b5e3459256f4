"""The code sets medbill keeps releases of, and the releases each has.

One :class:`~medbill_core.codesets.releases.CodeSetSpec` per code set, in the order
``medbill codes status`` prints them. Each spec's ``releases`` function lists the
packaged releases (see ``data/SOURCES.md``) and the ones the user loaded with
``medbill codes update`` (see :mod:`medbill_core.codesets.update`), without reading the
tables themselves, so ``codes status`` stays fast.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

from medbill_core.codesets.model import CodeSystem
from medbill_core.codesets.releases import Cadence, CodeSetSpec, ReleaseWindow


def _listed_by(module: str, *args: object) -> Callable[[Path | None], list[ReleaseWindow]]:
    """The ``release_windows(*args, data_dir)`` of code-set module ``module``, imported on
    first call (``codes status`` should not load every reader to list releases)."""
    def releases(data_dir: Path | None) -> list[ReleaseWindow]:
        owner = importlib.import_module(f"medbill_core.codesets.{module}")
        found: list[ReleaseWindow] = owner.release_windows(*args, data_dir)
        return found

    return releases


_icd10cm = _listed_by("icd10cm")
_icd10pcs = _listed_by("icd10pcs")
_hcpcs = _listed_by("hcpcs", CodeSystem.HCPCS)
_hcpcs_modifiers = _listed_by("hcpcs", CodeSystem.MODIFIER)
_ncci_ptp = _listed_by("ncci", "ncci-ptp")
_ncci_mue = _listed_by("ncci", "ncci-mue")
_carc = _listed_by("x12lists", CodeSystem.CARC)
_rarc = _listed_by("x12lists", CodeSystem.RARC)
_pos = _listed_by("placeofservice")
_mpfs = _listed_by("mpfs")
_poverty = _listed_by("poverty")


SPECS: list[CodeSetSpec] = [
    CodeSetSpec("icd10cm", "ICD-10-CM", Cadence.FISCAL_YEAR,
                "the CMS ICD-10-CM code files zip (cms.gov, 'ICD-10 Code Files') or the CDC"
                " order file", _icd10cm),
    CodeSetSpec("icd10pcs", "ICD-10-PCS", Cadence.FISCAL_YEAR,
                "the CMS ICD-10-PCS 'Order File' or 'Codes File' zip (cms.gov, 'ICD-10 Code"
                " Files')", _icd10pcs),
    CodeSetSpec("hcpcs", "HCPCS Level II", Cadence.QUARTERLY,
                "the CMS quarterly Alpha-Numeric HCPCS file (cms.gov, 'Quarterly HCPCS';"
                " the zip as it comes, or its ANWEB xlsx or CSV)", _hcpcs, cumulative=True),
    CodeSetSpec("hcpcs-modifiers", "HCPCS Level II modifiers", Cadence.QUARTERLY,
                "the CMS quarterly Alpha-Numeric HCPCS file (cms.gov, 'Quarterly HCPCS';"
                " the zip as it comes; its modifier records)", _hcpcs_modifiers,
                cumulative=True),
    CodeSetSpec("ncci-ptp", "NCCI practitioner PTP edits", Cadence.QUARTERLY,
                "the four CMS 'Medicare NCCI PTP Edits - Practitioner' zips of the quarter",
                _ncci_ptp, cumulative=True),
    CodeSetSpec("ncci-mue", "NCCI practitioner MUEs", Cadence.QUARTERLY,
                "the CMS 'Practitioner Services MUE Table' zip of the quarter", _ncci_mue),
    CodeSetSpec("carc", "X12 CARC list", Cadence.X12_TRIANNUAL,
                "the CARC list from x12.org/codes (saved as CSV, named with the date, e.g."
                " carc_2026-11-20.csv)", _carc, cumulative=True),
    CodeSetSpec("rarc", "X12 RARC list", Cadence.X12_TRIANNUAL,
                "the RARC list from x12.org/codes (saved as CSV, named with the date, e.g."
                " rarc_2026-11-20.csv)", _rarc, cumulative=True),
    CodeSetSpec("pos", "place of service codes", Cadence.NONE,
                "the CMS Place of Service code set (saved as CSV: code, name, description;"
                " named with the date, e.g. pos_2026-03-15.csv)", _pos),
    CodeSetSpec("mpfs", "Medicare physician fee schedule", Cadence.QUARTERLY,
                "the CMS PFS relative value files zip of the quarter (cms.gov, 'PFS Relative"
                " Value Files', e.g. rvu26d.zip)", _mpfs),
    # published each January; a year stands until the next year's notice takes effect
    CodeSetSpec("hhs-poverty", "HHS poverty guidelines", Cadence.NONE,
                "the HHS poverty guidelines notice of the year (Federal Register, 'Annual Update"
                " of the HHS Poverty Guidelines'; aspe.hhs.gov/poverty): a new medbill release"
                " ships it", _poverty),
]
