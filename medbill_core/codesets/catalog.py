"""The code sets medbill keeps releases of, and the releases each has.

One :class:`~medbill_core.codesets.releases.CodeSetSpec` per code set, in the order
``medbill codes status`` prints them. Each spec's ``releases`` function lists the
packaged releases (see ``data/SOURCES.md``) and the ones the user loaded with
``medbill codes update`` (see :mod:`medbill_core.codesets.update`), without reading the
tables themselves, so ``codes status`` stays fast.
"""

from __future__ import annotations

from datetime import date
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
    packaged = [ReleaseWindow(
        "hcpcs", "HCPCS Level II 2024 Q3", date(2024, 7, 1), date(2024, 9, 30),
        "CMS HCPC2024_JUL_ANWEB_v3 (packaged)")]
    return _with_loaded("hcpcs", packaged, data_dir)


def _ncci_ptp(data_dir: Path | None) -> list[ReleaseWindow]:
    packaged = [ReleaseWindow(
        "ncci-ptp", "NCCI practitioner PTP 2024 Q3", date(2024, 7, 1), date(2024, 9, 30),
        "CMS NCCI practitioner PTP edits effective 2024-07-01 (packaged)")]
    return _with_loaded("ncci-ptp", packaged, data_dir)


def _ncci_mue(data_dir: Path | None) -> list[ReleaseWindow]:
    packaged = [ReleaseWindow(
        "ncci-mue", "NCCI practitioner MUE 2024 Q3", date(2024, 7, 1), date(2024, 9, 30),
        "CMS NCCI practitioner MUE table effective 2024-07-01 (packaged)")]
    return _with_loaded("ncci-mue", packaged, data_dir)


def _carc(data_dir: Path | None) -> list[ReleaseWindow]:
    packaged = [ReleaseWindow(
        "carc", "X12 CARC list as of 2024-06-18", date(2024, 3, 1), date(2024, 6, 30),
        "x12.org code list scraped about 2024-06-18 (packaged)")]
    return _with_loaded("carc", packaged, data_dir)


def _rarc(data_dir: Path | None) -> list[ReleaseWindow]:
    packaged = [ReleaseWindow(
        "rarc", "X12 RARC list as of 2024-06-18", date(2024, 3, 1), date(2024, 6, 30),
        "x12.org code list scraped about 2024-06-18 (packaged)")]
    return _with_loaded("rarc", packaged, data_dir)


def _pos(data_dir: Path | None) -> list[ReleaseWindow]:
    packaged = [ReleaseWindow(
        "pos", "CMS place of service codes, September 2023", date(2023, 10, 1), None,
        "CMS Place of Service code set page updated September 2023 (packaged)")]
    return _with_loaded("pos", packaged, data_dir)


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
                "the CMS quarterly Alpha-Numeric HCPCS file zip (cms.gov, 'Quarterly HCPCS')",
                _hcpcs, cumulative=True),
    CodeSetSpec("ncci-ptp", "NCCI practitioner PTP edits", Cadence.QUARTERLY,
                "the four CMS 'Medicare NCCI PTP Edits - Practitioner' zips of the quarter",
                _ncci_ptp, cumulative=True),
    CodeSetSpec("ncci-mue", "NCCI practitioner MUEs", Cadence.QUARTERLY,
                "the CMS 'Practitioner Services MUE Table' zip of the quarter", _ncci_mue),
    CodeSetSpec("carc", "X12 CARC list", Cadence.X12_TRIANNUAL,
                "the CARC list from x12.org/codes (saved as CSV)", _carc, cumulative=True),
    CodeSetSpec("rarc", "X12 RARC list", Cadence.X12_TRIANNUAL,
                "the RARC list from x12.org/codes (saved as CSV)", _rarc, cumulative=True),
    CodeSetSpec("pos", "place of service codes", Cadence.NONE,
                "the CMS Place of Service code set (saved as CSV)", _pos),
    CodeSetSpec("mpfs", "Medicare physician fee schedule", Cadence.QUARTERLY,
                "the CMS PFS relative value files zip of the quarter (cms.gov, 'PFS Relative"
                " Value Files', e.g. rvu26d.zip)", _mpfs),
]
