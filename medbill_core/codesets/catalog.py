"""The code sets medbill keeps releases of, and the releases each has.

One :class:`~medbill_core.codesets.releases.CodeSetSpec` per code set, in the order
``medbill codes status`` prints them. Each spec's ``releases`` function lists the
packaged releases (see ``data/SOURCES.md``) and the ones the user loaded with
``medbill codes update`` (see :mod:`medbill_core.codesets.update`), without reading the
tables themselves, so ``codes status`` stays fast.
"""

from __future__ import annotations

from pathlib import Path

from medbill_core.codesets.releases import (
    Cadence,
    CodeSetSpec,
    ReleaseWindow,
    loaded_releases,
)


def _with_loaded(key: str, packaged: list[ReleaseWindow],
                 data_dir: Path | None) -> list[ReleaseWindow]:
    return packaged + [window for window, _ in loaded_releases(data_dir, key)]


def _icd10cm(data_dir: Path | None) -> list[ReleaseWindow]:
    from medbill_core.codesets import icd10cm

    return icd10cm.release_windows(data_dir)


def _icd10pcs(data_dir: Path | None) -> list[ReleaseWindow]:
    from medbill_core.codesets import icd10pcs

    return icd10pcs.release_windows(data_dir)


def _hcpcs(data_dir: Path | None) -> list[ReleaseWindow]:
    from medbill_core.codesets import hcpcs
    from medbill_core.codesets.model import CodeSystem

    return hcpcs.release_windows(CodeSystem.HCPCS, data_dir)


def _hcpcs_modifiers(data_dir: Path | None) -> list[ReleaseWindow]:
    from medbill_core.codesets import hcpcs
    from medbill_core.codesets.model import CodeSystem

    return hcpcs.release_windows(CodeSystem.MODIFIER, data_dir)


def _ncci_ptp(data_dir: Path | None) -> list[ReleaseWindow]:
    from medbill_core.codesets import ncci

    return ncci.release_windows(ncci.PTP_KEY, data_dir)


def _ncci_mue(data_dir: Path | None) -> list[ReleaseWindow]:
    from medbill_core.codesets import ncci

    return ncci.release_windows(ncci.MUE_KEY, data_dir)


def _carc(data_dir: Path | None) -> list[ReleaseWindow]:
    from medbill_core.codesets import x12lists
    from medbill_core.codesets.model import CodeSystem

    return x12lists.release_windows(CodeSystem.CARC, data_dir)


def _rarc(data_dir: Path | None) -> list[ReleaseWindow]:
    from medbill_core.codesets import x12lists
    from medbill_core.codesets.model import CodeSystem

    return x12lists.release_windows(CodeSystem.RARC, data_dir)


def _pos(data_dir: Path | None) -> list[ReleaseWindow]:
    from medbill_core.codesets import placeofservice

    return placeofservice.release_windows(data_dir)


def _mpfs(data_dir: Path | None) -> list[ReleaseWindow]:
    from medbill_core.codesets import mpfs

    return mpfs.release_windows(data_dir)


SPECS: list[CodeSetSpec] = [
    CodeSetSpec("icd10cm", "ICD-10-CM", Cadence.FISCAL_YEAR,
                "the CMS ICD-10-CM code files zip (cms.gov, 'ICD-10 Code Files') or the CDC"
                " order file", _icd10cm),
    CodeSetSpec("icd10pcs", "ICD-10-PCS", Cadence.FISCAL_YEAR,
                "the CMS ICD-10-PCS 'Order File' or 'Codes File' zip (cms.gov, 'ICD-10 Code"
                " Files')", _icd10pcs),
    CodeSetSpec("hcpcs", "HCPCS Level II", Cadence.QUARTERLY,
                "the CMS quarterly Alpha-Numeric HCPCS file (cms.gov, 'Quarterly HCPCS';"
                " the ANWEB table saved as CSV)", _hcpcs, cumulative=True),
    CodeSetSpec("hcpcs-modifiers", "HCPCS Level II modifiers", Cadence.QUARTERLY,
                "the CMS quarterly Alpha-Numeric HCPCS file (cms.gov, 'Quarterly HCPCS';"
                " the ANWEB table saved as CSV; its modifier records)", _hcpcs_modifiers,
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
]
