"""The HHS poverty guidelines: the yardstick of financial assistance (sliding fee discounts).

HHS publishes new guidelines each January in the Federal Register, with one table for the 48
contiguous states and DC and one each for Alaska and Hawaii: a figure per household size up to
eight and an amount to add for each person beyond eight. Each year's guidelines take effect on
the date the notice gives and stand until the next year's do, so an application is measured
against the guidelines in effect on its date. A date before the earliest shipped year has no
guideline here and is refused rather than measured against a later year's figures.

HHS defines no guidelines for Puerto Rico and the other territories; an application there is
refused (a practice there sets its own schedule outside medbill).

The tables are packaged as ``data/hhs_poverty_guidelines_<year>.csv`` (origin in
``data/SOURCES.md``); ``medbill codes status`` lists them as the ``hhs-poverty`` releases.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from functools import cache
from importlib import resources
from pathlib import Path

from medbill_core.codesets.releases import ReleaseWindow
from medbill_core.errors import ValidationFailed

KEY = "hhs-poverty"


class Region(StrEnum):
    """Which of HHS's three tables applies."""

    CONTIGUOUS = "contiguous_48_and_DC"
    ALASKA = "alaska"
    HAWAII = "hawaii"


#: The 48 contiguous states and DC; AK and HI have tables of their own.
_CONTIGUOUS_STATES = frozenset({
    "AL", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "ID", "IL", "IN", "IA", "KS",
    "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM",
    "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA",
    "WA", "WV", "WI", "WY"})


def region_of(state: str) -> Region:
    """The table for a two-letter state code.

    :raises ValidationFailed: not one of the 50 states or DC (territories have no HHS
        guideline).
    """
    code = state.strip().upper()
    if code == "AK":
        return Region.ALASKA
    if code == "HI":
        return Region.HAWAII
    if code in _CONTIGUOUS_STATES:
        return Region.CONTIGUOUS
    raise ValidationFailed("assistance application", [(
        "state", "HHS poverty guidelines cover the 50 states and DC only; give a two-letter "
                 "state code")])


@dataclass(frozen=True)
class GuidelineYear:
    """One year's three tables, with where they come from and when they took effect."""

    year: int
    effective: date
    source: str
    #: region -> the figures for household sizes 1..8
    sizes: dict[Region, tuple[Decimal, ...]]
    #: region -> the amount added for each person beyond eight
    each_additional: dict[Region, Decimal]

    def guideline(self, region: Region, household_size: int) -> Decimal:
        """The poverty guideline for a household of ``household_size`` (1 or more)."""
        if household_size < 1:
            raise ValidationFailed("assistance application", [
                ("household_size", "must be 1 or more")])
        table = self.sizes[region]
        if household_size <= len(table):
            return table[household_size - 1]
        return table[-1] + self.each_additional[region] * (household_size - len(table))


#: (year, effective date, Federal Register notice) of each packaged table
_PACKAGED = (
    (2025, date(2025, 1, 15),
     "HHS, Annual Update of the HHS Poverty Guidelines, 90 FR 5917 (2025-01-17), effective "
     "2025-01-15"),
    (2026, date(2026, 1, 13),
     "HHS, Annual Update of the HHS Poverty Guidelines, 91 FR 1797 (2026-01-15), effective "
     "2026-01-13"),
)


def _read_year(year: int, effective: date, source: str) -> GuidelineYear:
    text = resources.files("medbill_core.codesets").joinpath(
        "data", f"hhs_poverty_guidelines_{year}.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    by_size = [row for row in rows if row["household_size"].isdigit()]
    extra = next(row for row in rows if row["household_size"] == "each_additional_person")
    by_size.sort(key=lambda row: int(row["household_size"]))
    if [int(row["household_size"]) for row in by_size] != list(range(1, 9)):
        raise RuntimeError(f"hhs_poverty_guidelines_{year}.csv: household sizes 1..8 expected")
    return GuidelineYear(
        year, effective, source,
        {region: tuple(Decimal(row[region.value]) for row in by_size) for region in Region},
        {region: Decimal(extra[region.value]) for region in Region})


@cache
def guideline_years() -> tuple[GuidelineYear, ...]:
    """The packaged years, oldest first."""
    return tuple(_read_year(*packaged) for packaged in _PACKAGED)


def guidelines_on(day: date) -> GuidelineYear:
    """The guidelines in effect on ``day``.

    :raises ValidationFailed: ``day`` is before the earliest packaged year took effect.
    """
    years = guideline_years()
    in_effect = [year for year in years if year.effective <= day]
    if not in_effect:
        raise ValidationFailed("assistance application", [(
            "date", f"before {years[0].effective.isoformat()}, when the earliest HHS poverty "
                    f"guidelines medbill has ({years[0].year}) took effect")])
    return in_effect[-1]


def release_windows(data_dir: Path | None = None) -> list[ReleaseWindow]:
    """Each packaged year, governing from its effective date to the day before the next
    year's (the newest stands until replaced)."""
    years = guideline_years()
    windows = []
    for index, year in enumerate(years):
        through = years[index + 1].effective - timedelta(days=1) \
            if index + 1 < len(years) else None
        windows.append(ReleaseWindow(KEY, f"{year.year} poverty guidelines", year.effective,
                                     through, f"{year.source} (packaged)", rows=27))
    return windows
