"""Medicare Physician Fee Schedule (MPFS) pricing: the rules.

The **data** (RVUs, GPCIs, conversion factors, OPPS cap amounts, by release) is the core's
reference data, :mod:`medbill_core.codesets.mpfs`: a date of service is priced with the release
that governs it (:func:`~medbill_core.codesets.mpfs.schedule_for`), and releases are loaded
with ``medbill codes update rvu26d.zip``. This module holds the payment rules.

CMS's payment formula (42 CFR 414.20 and the RVU file's README)::

    fee = [(work RVU x work GPCI) + (PE RVU x PE GPCI) + (MP RVU x MP GPCI)] x conversion factor

rounded to cents. The practice-expense RVU is the **facility** one when the service is furnished
in a facility (see :data:`FACILITY_POS`) and the **non-facility** one otherwise. The amount for a
line is the fee times its units. A non-participating provider's amount is 95% of it.

**OPPS imaging cap** (Social Security Act 1848(b)(4), added by section 5102(b) of the Deficit
Reduction Act of 2005): for certain imaging services the technical component, and the TC part
of the global service, is paid at no more than the hospital outpatient (OPPS) amount. CMS's RVU
file README (CY2026, "National Physician Fee Schedule Relative Value File") gives the cap as::

    OPPS payment amount = [(work RVU x work GPCI) + (OPPS PE RVU x PE GPCI)
                           + (OPPS MP RVU x MP GPCI)] x conversion factor

with the non-facility or facility "PE used for OPPS payment amount" column by setting, and says
the lower of the fee schedule amount and the OPPS amount is paid. The RVU file carries those
OPPS columns on the capped rows only (zero elsewhere; on a global row they include the
professional component, so the cap bears on the TC part). When CMS's OPPSCAP file for the
release is loaded (``medbill codes update`` with the RVU zip), its locality amount -- "the
payment amounts after the application of the OPPS based payment caps" (same README) -- is used
instead of the computed one. Either way the fee is min(PFS amount, OPPS cap amount) and
:class:`FeeScheduleAmount` shows both and whether the cap applied.

**NA in the RVU file** (:func:`MedicarePricer.price` explains which rule priced a line):

* *Non-facility NA, furnished in a non-facility setting*: CMS's README says it did not develop
  non-facility PE RVUs for services that "are never (or rarely) performed in a non-facility
  setting" and marks them NA; the RVU file itself carries the facility PE RVU in the
  non-facility column of every such row (all 4,077 NA rows of RVU26C), so the non-facility
  amount CMS publishes for them is the facility amount. The PFS final rules' explanation of
  Addendum B states the rule: when the MAC determines the service can be performed in the
  non-facility setting, it is paid at the facility PE RVU (cited from that explanation as
  known; its exact text could not be retrieved where this was written -- the README text and
  the data fact above were checked). Priced so, with that rule named.
* *Facility NA, furnished in a facility*: a diagnostic test's technical component (PC/TC
  indicator 1 global or TC row, 3 TC-only, 4 global-only) is furnished by the facility, which
  is paid for it; the practitioner bills the professional component (26). Indicators 5
  (incident-to) and 7 (therapy by an independent therapist): the README says payment may not
  be made to hospital patients. These stay :class:`NotPriced`. Other facility-NA rows are priced
  from the facility PE column CMS publishes (which equals the non-facility PE RVU), rule named.

What this module prices: codes with PFS status ``A`` (active), ``R`` (restricted coverage) and
``T`` (injections: paid only when no other PFS service is billed that day, priced here as if
separately payable). Modifiers ``26`` (professional component), ``TC`` (technical component) and
``53`` select the RVU file's own row for the code when CMS publishes one. Anything else is not
priced and :class:`NotPriced` says why: other status codes (bundled, carrier-priced, not valid
for Medicare, statutorily excluded such as clinical lab, which is paid from the CLFS), the
facility-NA cases above, an anesthesia code (paid by base + time units, not RVUs).

What it does not model (the payer applies these; :mod:`.underpayment` does not flag lines they
may explain): multiple-procedure, bilateral, assistant-at-surgery, co-/team-surgery and other
payment-modifier reductions, the 2% sequestration, MIPS adjustments, HPSA bonuses.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from medbill_core.api import (
    CENT,
    CodeSetError,
    ConfigurationError,
    DomainModel,
    FeeScheduleData,
    Locality,
    MedbillError,
    Money,
    MpfsSchedule,
    RVURow,
    mpfs_available_years,
    mpfs_schedule_for,
    mpfs_schedule_for_year,
)

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

#: PC/TC indicators whose row includes a technical component the facility furnishes (1 global
#: or TC, 3 TC only, 4 global only) or that CMS does not pay for hospital patients (5, 7).
_NOT_PAID_IN_FACILITY = {"1": "the technical component is furnished and paid to the facility;"
                              " bill the professional component (26)",
                         "3": "a technical-component-only code: the facility furnishes and is"
                              " paid for it",
                         "4": "a global-only test: the facility furnishes the technical part;"
                              " bill the professional-component code",
                         "5": "incident-to services are not paid for hospital patients (PC/TC"
                              " indicator 5)",
                         "7": "not paid for hospital patients when furnished by an independent"
                              " therapist (PC/TC indicator 7)"}
RULE_NA_NONFACILITY = ("NA in the non-facility setting: paid at the facility PE RVU (CMS RVU"
                       " file; PFS Addendum B)")
RULE_NA_FACILITY = ("NA in the facility setting: priced from the facility PE RVU CMS publishes"
                    " for it")

class NotPriced(MedbillError):
    """A service the fee schedule does not price (the message says why; no PHI)."""


class FeeSchedule:
    """Finding the MPFS release to price with (the data is :mod:`medbill_core.codesets.mpfs`)."""

    @staticmethod
    def load(year: int = 2025, data_dir: Path | str | None = None) -> FeeScheduleData:
        """The newest release effective in ``year`` (packaged or loaded).

        :raises ConfigurationError: no release of that year.
        """
        return _for_year(year, data_dir).schedule

    @staticmethod
    def for_date(on: date, data_dir: Path | str | None = None) -> MpfsSchedule:
        """The release governing date of service ``on`` (see
        :func:`~medbill_core.api.mpfs_schedule_for`)."""
        return mpfs_schedule_for(on, data_dir)


def _for_year(year: int, data_dir: Path | str | None = None) -> MpfsSchedule:
    try:
        return mpfs_schedule_for_year(year, data_dir)
    except CodeSetError as exc:
        raise ConfigurationError(exc.message) from None


def locality_of(schedule: FeeScheduleData, locality: str, mac: str | None = None) -> Locality:
    """``schedule.locality(...)`` with a configuration error for an unknown locality."""
    try:
        return schedule.locality(locality, mac)
    except CodeSetError as exc:
        raise ConfigurationError(exc.message) from None


def available_years(data_dir: Path | str | None = None) -> list[int]:
    """Fee-schedule years with a release (packaged or loaded)."""
    return mpfs_available_years(data_dir)


class FeeScheduleAmount(DomainModel):
    """A priced service and how the price was reached (for display and audit).

    ``unit_amount`` is what Medicare pays per unit: the fee schedule amount, capped at the OPPS
    amount when ``opps_cap_applied``. ``release`` names the MPFS release used; when
    ``release_covered`` is False no release governs the date and ``release_note`` says which
    one to load -- the amount is then an estimate from the nearest release.
    """

    year: int
    release: str = ""
    release_covered: bool = True
    release_note: str = ""
    procedure_code: str
    pricing_modifier: str | None
    place_of_service: str
    facility: bool
    setting_rule: str = ""
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
    pfs_unit_amount: Money | None = None
    opps_cap_unit_amount: Money | None = None
    opps_cap_source: str = ""
    opps_cap_applied: bool = False
    unit_amount: Money
    units: Decimal
    amount: Money
    multiple_procedure_indicator: str


def is_facility(place_of_service: str) -> bool:
    """True when Medicare pays the facility PE RVU at ``place_of_service``."""
    return place_of_service in FACILITY_POS


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


class MedicarePricer:
    """Prices services for one locality from one MPFS release.

    :param release: the label of the release (default: the schedule's own).
    :param release_covered: False when the release does not govern the dates priced (a
        date past the newest release); amounts then carry ``release_note``.
    """

    def __init__(self, schedule: FeeScheduleData, locality: Locality, *,
                 participating: bool = True, release: str = "", release_covered: bool = True,
                 release_note: str = "") -> None:
        self.schedule = schedule
        self.locality = locality
        self.participating = participating
        self.release = release or schedule.label or f"MPFS {schedule.year}"
        self.release_covered = release_covered
        self.release_note = release_note

    @classmethod
    def for_locality(cls, locality: str, mac: str | None = None, *, year: int = 2025,
                     participating: bool = True) -> MedicarePricer:
        """A pricer with the newest release of ``year``."""
        chosen = _for_year(year)
        return cls(chosen.schedule, locality_of(chosen.schedule, locality, mac),
                   participating=participating, release=chosen.release.label)

    @classmethod
    def for_date(cls, on: date, locality: str, mac: str | None = None, *,
                 participating: bool = True,
                 data_dir: Path | str | None = None) -> MedicarePricer:
        """A pricer with the release governing date of service ``on``."""
        chosen = mpfs_schedule_for(on, data_dir)
        return cls(chosen.schedule, locality_of(chosen.schedule, locality, mac),
                   participating=participating, release=chosen.release.label,
                   release_covered=chosen.covered, release_note=chosen.missing)

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
                raise NotPriced(f"{code} is not in the {self.release} RVU file")
            raise NotPriced(f"{code} has no {modifier} row in the {self.release} "
                            "(no professional/technical split for this code)")
        return row

    def _pe_rvu(self, row: RVURow, label: str, facility: bool) -> tuple[Decimal, str]:
        """The PE RVU for the setting and the rule that chose it (see the module's NA rules)."""
        if facility and row.pe_facility_na:
            reason = _NOT_PAID_IN_FACILITY.get(row.pctc_indicator)
            if reason is not None and row.modifier != "26":
                raise NotPriced(f"{label} is not paid in a facility setting (NA in the RVU"
                                f" file): {reason}")
            return row.pe_facility, RULE_NA_FACILITY
        if not facility and row.pe_nonfacility_na:
            return row.pe_facility, RULE_NA_NONFACILITY
        return (row.pe_facility if facility else row.pe_nonfacility), ""

    def _opps_cap(self, row: RVURow, facility: bool) -> tuple[Decimal | None, str]:
        """The OPPS cap amount per unit for this row and setting, and where it came from."""
        loc = self.locality
        listed = self.schedule.opps_cap(row.hcpcs, row.modifier, loc)
        if listed is not None:
            return (listed.facility if facility else listed.nonfacility), "CMS OPPSCAP file"
        if not row.opps_capped:
            return None, ""
        opps_pe = row.opps_pe_facility if facility else row.opps_pe_nonfacility
        amount = (row.work * loc.work_gpci + opps_pe * loc.pe_gpci
                  + row.opps_mp * loc.mp_gpci) * self.schedule.conversion_factor
        return _cents(amount), "RVU file OPPS columns"

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
        pe_rvu, rule = self._pe_rvu(row, label, facility)
        loc = self.locality
        cf = self.schedule.conversion_factor
        pfs = _cents((row.work * loc.work_gpci + pe_rvu * loc.pe_gpci + row.mp * loc.mp_gpci)
                     * cf)
        cap, cap_source = self._opps_cap(row, facility)
        unit = pfs if cap is None else min(pfs, cap)
        if not self.participating:
            unit = _cents(unit * NON_PARTICIPATING_FACTOR)
        return FeeScheduleAmount(
            year=self.schedule.year, release=self.release,
            release_covered=self.release_covered, release_note=self.release_note,
            procedure_code=code.upper(), pricing_modifier=row.modifier or None,
            place_of_service=place_of_service, facility=facility, setting_rule=rule,
            mac=loc.mac, locality=loc.locality, locality_name=loc.name,
            work_rvu=row.work, pe_rvu=pe_rvu, mp_rvu=row.mp, work_gpci=loc.work_gpci,
            pe_gpci=loc.pe_gpci, mp_gpci=loc.mp_gpci, conversion_factor=cf,
            participating=self.participating, pfs_unit_amount=pfs,
            opps_cap_unit_amount=cap, opps_cap_source=cap_source,
            opps_cap_applied=cap is not None and cap < pfs, unit_amount=unit, units=units,
            amount=_cents(unit * units), multiple_procedure_indicator=row.mult_proc)
