"""Medicare Physician Fee Schedule (MPFS) pricing.

CMS's payment formula (42 CFR 414.20 and the RVU file's README)::

    fee = [(work RVU x work GPCI) + (PE RVU x PE GPCI) + (MP RVU x MP GPCI)] x conversion factor

rounded to cents. The practice-expense RVU is the **facility** one when the service is furnished
in a facility (see :data:`FACILITY_POS`) and the **non-facility** one otherwise. The amount for a
line is the fee times its units. A non-participating provider's amount is 95% of it.

What this module prices: codes with PFS status ``A`` (active), ``R`` (restricted coverage) and
``T`` (injections: paid only when no other PFS service is billed that day, priced here as if
separately payable). Modifiers ``26`` (professional component), ``TC`` (technical component) and
``53`` select the RVU file's own row for the code when CMS publishes one. Anything else is not
priced and :class:`NotPriced` says why: other status codes (bundled, carrier-priced, not valid
for Medicare, statutorily excluded such as clinical lab, which is paid from the CLFS),
``NA`` in the chosen setting (CMS: not paid in that setting), an anesthesia code (paid by base +
time units, not RVUs).

What it does not model (the payer applies these; :mod:`.underpayment` does not flag lines they
may explain): multiple-procedure, bilateral, assistant-at-surgery, co-/team-surgery and other
payment-modifier reductions, the 2% sequestration, MIPS adjustments, HPSA bonuses.

Data: the CMS CY2025 RVU file (RVU25D, October 2025 release) and the CY2026 RVU file (RVU26C, July
2026 release), their Addendum E GPCIs and conversion factors, shipped in ``data/`` (see
``data/SOURCES.md``). A date of service is priced with its own year's schedule
(:func:`year_for`). A newer year's files with the same columns can be loaded with
:meth:`FeeSchedule.from_files`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from importlib import resources
from pathlib import Path

from medbill_core.domain.base import DomainModel
from medbill_core.errors import ConfigurationError, MedbillError
from medbill_core.money import CENT, Money

#: Places of service where Medicare pays the **facility** PE RVU. Source: Medicare Claims
#: Processing Manual (Pub. 100-04) ch. 12 section 20.4.2 (site-of-service payment
#: differential) and the CMS POS code set; the same split is in the third-party classification
#: of the shared data collection (``place_of_service.csv``, not shipped). Every other POS gets
#: the non-facility rate (office 11, home 12, independent clinic 49, FQHC 50, RHC 72,
#: telehealth in the patient's home 10, ...).
FACILITY_POS: frozenset[str] = frozenset({
    "02",  # telehealth provided other than in the patient's home
    "06",  # Indian Health Service provider-based facility
    "08",  # Tribal 638 provider-based facility
    "19",  # off-campus outpatient hospital
    "21",  # inpatient hospital
    "22",  # on-campus outpatient hospital
    "23",  # emergency room - hospital
    "24",  # ambulatory surgical center
    "26",  # military treatment facility
    "31",  # skilled nursing facility (Part A stay)
    "34",  # hospice
    "41",  # ambulance - land
    "42",  # ambulance - air or water
    "51",  # inpatient psychiatric facility
    "52",  # psychiatric facility - partial hospitalization
    "53",  # community mental health center
    "56",  # psychiatric residential treatment center
    "61",  # comprehensive inpatient rehabilitation facility
})

#: PFS status codes that carry payable RVUs.
PRICED_STATUSES = frozenset({"A", "R", "T"})
STATUS_MEANINGS = {
    "B": "bundled into another service (status B)",
    "C": "priced by the MAC, not from RVUs (status C)",
    "D": "deleted (status D)",
    "E": "excluded from the fee schedule by regulation (status E)",
    "F": "deleted, no grace period (status F)",
    "G": "not valid for Medicare, another code is used (status G)",
    "H": "deleted modifier (status H)",
    "I": "not valid for Medicare (status I)",
    "J": "anesthesia service, paid by base and time units (status J)",
    "M": "a measurement code, not paid (status M)",
    "N": "not covered by Medicare (status N)",
    "P": "bundled or excluded (status P)",
    "X": "statutorily excluded from the fee schedule, e.g. clinical lab paid from the CLFS "
         "(status X)",
}
#: Modifiers that select their own row in the RVU file.
PRICING_MODIFIERS = ("26", "TC", "53")
NON_PARTICIPATING_FACTOR = Decimal("0.95")

_PACKAGE = "medbill_payer_medicare"
#: Shipped fee schedules: year -> (RVU file, GPCI file).
SHIPPED_YEARS: dict[int, tuple[str, str]] = {
    2025: ("mpfs_rvu_2025_oct.csv", "mpfs_gpci_2025.csv"),
    2026: ("mpfs_rvu_2026_jul.csv", "mpfs_gpci_2026.csv"),
}


class NotPriced(MedbillError):
    """A service the fee schedule does not price (the message says why; no PHI)."""


@dataclass(frozen=True, slots=True)
class RVURow:
    """One row of the CMS RVU file (the columns pricing uses)."""

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


@dataclass(frozen=True, slots=True)
class Locality:
    """One MPFS payment locality with its 2025 GPCIs (Addendum E)."""

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


class FeeScheduleAmount(DomainModel):
    """A priced service and how the price was reached (for display and audit)."""

    year: int
    procedure_code: str
    pricing_modifier: str | None
    place_of_service: str
    facility: bool
    mac: str
    locality: str
    locality_name: str
    work_rvu: Decimal
    pe_rvu: Decimal
    mp_rvu: Decimal
    work_gpci: Decimal
    pe_gpci: Decimal
    mp_gpci: Decimal
    conversion_factor: Decimal
    participating: bool
    unit_amount: Money
    units: Decimal
    amount: Money
    multiple_procedure_indicator: str


def _decimal(text: str) -> Decimal:
    return Decimal(text.strip() or "0")


def _read_rvus(lines: Iterable[str]) -> dict[tuple[str, str], RVURow]:
    rows: dict[tuple[str, str], RVURow] = {}
    for record in csv.DictReader(lines):
        row = RVURow(
            hcpcs=record["hcpcs"].strip().upper(),
            modifier=record["modifier"].strip().upper(),
            status_code=record["status_code"].strip().upper(),
            work=_decimal(record["work_rvu"]),
            pe_nonfacility=_decimal(record["nonfacility_pe_rvu"]),
            pe_nonfacility_na=record["nonfacility_na_indicator"].strip().upper() == "NA",
            pe_facility=_decimal(record["facility_pe_rvu"]),
            pe_facility_na=record["facility_na_indicator"].strip().upper() == "NA",
            mp=_decimal(record["mp_rvu"]),
            pctc_indicator=record["pctc_indicator"].strip(),
            global_days=record["global_days"].strip(),
            mult_proc=record["mult_proc"].strip(),
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


def _read_conversion_factors(lines: Iterable[str]) -> dict[int, Decimal]:
    factors: dict[int, Decimal] = {}
    for record in csv.DictReader(lines):
        if record["fee_schedule"].strip().startswith("physician"):
            factors[int(record["year"])] = _decimal(record["conversion_factor"])
    return factors


def _data_text(name: str) -> str:
    return resources.files(_PACKAGE).joinpath("data", name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _shipped_conversion_factors() -> dict[int, Decimal]:
    return _read_conversion_factors(io.StringIO(_data_text("mpfs_conversion_factors.csv")))


def available_years() -> list[int]:
    """Fee-schedule years shipped with the plugin."""
    factors = _shipped_conversion_factors()
    return sorted(year for year in SHIPPED_YEARS if year in factors)


def year_for(service_date: date) -> int | None:
    """The shipped fee-schedule year that prices ``service_date``: its own calendar year (the
    MPFS is a calendar-year schedule), ``None`` when that year is not shipped (an amount from
    another year's schedule would be a guess presented as a price)."""
    return service_date.year if service_date.year in available_years() else None


@dataclass(frozen=True)
class FeeSchedule:
    """One year's RVUs, GPCIs and conversion factor."""

    year: int
    conversion_factor: Decimal
    rvus: dict[tuple[str, str], RVURow]
    localities: dict[tuple[str, str], Locality]

    @classmethod
    def load(cls, year: int = 2025) -> FeeSchedule:
        """The shipped fee schedule for ``year`` (loaded once, then cached)."""
        return _load_shipped(year)

    @classmethod
    def from_files(cls, year: int, rvu_csv: str | Path, gpci_csv: str | Path,
                   conversion_factor: Decimal) -> FeeSchedule:
        """Load a fee schedule from files with the shipped files' columns (see data/SOURCES.md)."""
        if not isinstance(conversion_factor, Decimal):
            raise TypeError("conversion_factor must be a Decimal")
        with open(rvu_csv, encoding="utf-8", newline="") as rvu_file, \
                open(gpci_csv, encoding="utf-8", newline="") as gpci_file:
            return cls(year, conversion_factor, _read_rvus(rvu_file), _read_localities(gpci_file))

    def rvu(self, code: str, modifier: str | None = None) -> RVURow | None:
        return self.rvus.get((code.upper(), (modifier or "").upper()))

    def locality(self, locality: str, mac: str | None = None) -> Locality:
        """The locality ``locality`` of MAC ``mac``.

        ``mac`` may be omitted when the locality number belongs to one MAC only.

        :raises ConfigurationError: unknown or ambiguous locality.
        """
        number = locality.strip().zfill(2)
        if mac is not None:
            found = self.localities.get((mac.strip().zfill(5), number))
            if found is None:
                raise ConfigurationError(
                    f"MPFS {self.year}: no locality {number} under MAC {mac} (see the GPCI file)")
            return found
        matches = [loc for (_, number_), loc in self.localities.items() if number_ == number]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise ConfigurationError(f"MPFS {self.year}: no locality {number}")
        macs = ", ".join(sorted(loc.mac for loc in matches))
        raise ConfigurationError(
            f"MPFS {self.year}: locality {number} exists under several MACs ({macs}); set 'mac'")

    def has_mac(self, mac: str) -> bool:
        return any(key[0] == mac for key in self.localities)


@lru_cache(maxsize=4)
def _load_shipped(year: int) -> FeeSchedule:
    if year not in SHIPPED_YEARS or year not in _shipped_conversion_factors():
        known = ", ".join(str(y) for y in available_years())
        raise ConfigurationError(
            f"no Medicare fee schedule shipped for {year} (available: {known})")
    rvu_name, gpci_name = SHIPPED_YEARS[year]
    return FeeSchedule(
        year=year, conversion_factor=_shipped_conversion_factors()[year],
        rvus=_read_rvus(io.StringIO(_data_text(rvu_name))),
        localities=_read_localities(io.StringIO(_data_text(gpci_name))))


def is_facility(place_of_service: str) -> bool:
    """True when Medicare pays the facility PE RVU at ``place_of_service``."""
    return place_of_service in FACILITY_POS


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


class MedicarePricer:
    """Prices services for one locality from one year's fee schedule."""

    def __init__(self, schedule: FeeSchedule, locality: Locality, *,
                 participating: bool = True) -> None:
        self.schedule = schedule
        self.locality = locality
        self.participating = participating

    @classmethod
    def for_locality(cls, locality: str, mac: str | None = None, *, year: int = 2025,
                     participating: bool = True) -> MedicarePricer:
        schedule = FeeSchedule.load(year)
        return cls(schedule, schedule.locality(locality, mac), participating=participating)

    def row_for(self, code: str, modifiers: Sequence[str] = ()) -> RVURow:
        """The RVU row a line bills against: the code's 26/TC/53 row when a modifier asks for it.

        :raises NotPriced: the code is not in the file, or a 26/TC/53 modifier has no row.
        """
        code = code.upper()
        wanted = [m.upper() for m in modifiers if m.upper() in PRICING_MODIFIERS]
        if len(wanted) > 1:
            raise NotPriced(f"{code}: modifiers {' and '.join(wanted)} select different RVU rows")
        modifier = wanted[0] if wanted else ""
        row = self.schedule.rvu(code, modifier)
        if row is None:
            if self.schedule.rvu(code) is None:
                raise NotPriced(f"{code} is not in the {self.schedule.year} MPFS RVU file")
            raise NotPriced(f"{code} has no {modifier} row in the {self.schedule.year} MPFS "
                            "(no professional/technical split for this code)")
        return row

    def price(self, code: str, place_of_service: str, *, modifiers: Sequence[str] = (),
              units: Decimal = Decimal("1")) -> FeeScheduleAmount:
        """The fee schedule amount for ``units`` of ``code`` at ``place_of_service``.

        :raises NotPriced: the fee schedule does not price this service (reason in the message).
        """
        if isinstance(units, float):
            raise TypeError("units must be a Decimal, not a float")
        row = self.row_for(code, modifiers)
        label = code.upper() + (f"-{row.modifier}" if row.modifier else "")
        if row.status_code not in PRICED_STATUSES:
            meaning = STATUS_MEANINGS.get(row.status_code, f"status {row.status_code}")
            raise NotPriced(f"{label} is not priced by the MPFS: {meaning}")
        facility = is_facility(place_of_service)
        if facility and row.pe_facility_na:
            raise NotPriced(f"{label} is not paid in a facility setting (NA in the RVU file)"
                            + ("; bill the professional component (26)"
                               if row.pctc_indicator == "1" and not row.modifier else ""))
        if not facility and row.pe_nonfacility_na:
            raise NotPriced(f"{label} is not paid in a non-facility setting (NA in the RVU file)")
        pe_rvu = row.pe_facility if facility else row.pe_nonfacility
        loc = self.locality
        cf = self.schedule.conversion_factor
        unit = _cents((row.work * loc.work_gpci + pe_rvu * loc.pe_gpci + row.mp * loc.mp_gpci) * cf)
        if not self.participating:
            unit = _cents(unit * NON_PARTICIPATING_FACTOR)
        return FeeScheduleAmount(
            year=self.schedule.year, procedure_code=code.upper(),
            pricing_modifier=row.modifier or None, place_of_service=place_of_service,
            facility=facility, mac=loc.mac, locality=loc.locality, locality_name=loc.name,
            work_rvu=row.work, pe_rvu=pe_rvu, mp_rvu=row.mp, work_gpci=loc.work_gpci,
            pe_gpci=loc.pe_gpci, mp_gpci=loc.mp_gpci, conversion_factor=cf,
            participating=self.participating, unit_amount=unit, units=units,
            amount=_cents(unit * units), multiple_procedure_indicator=row.mult_proc)
