"""Read Medicare Part B benefits from a 271 (HETS-style) eligibility response.

A Medicare 271 reports each fact in an EB segment whose EB04 (insurance type) says which part
of Medicare it concerns: ``MA`` Part A, ``MB`` Part B. The facts a Part B estimate needs:

* active coverage: ``EB*1`` with ``MB`` (``EB*6`` inactive);
* the Part B deductible: ``EB*C`` with ``MB``, time period ``23`` (calendar year) for the
  amount and ``29`` (remaining) for what is left;
* the coinsurance: ``EB*A`` with ``MB`` and EB08 percent (``.2`` for Medicare's 20%);
* other payers on file: ``EB*R`` (Medicare Advantage plan, Medicare Secondary Payer...) with
  their insurance type in EB04.

When the response carries no ``MB``-typed benefit of a kind, benefits of that kind without an
insurance type are used (some clearinghouses drop EB04). Individual-level values are preferred
over family-level ones, and benefits for the ``service_type`` asked about (or for no service
type) over others.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from pydantic import Field

from medbill_core.api import (
    CENT,
    REMAINING_PERIOD,
    ZERO,
    Benefit,
    BenefitKind,
    BenefitSummary,
    CoverageLevel,
    DomainModel,
    EligibilityResponse,
    Money,
)

PART_A = "MA"
PART_B = "MB"
#: X12 insurance types (EB04) of managed-care plans: an ``EB*R`` with one of them on a Medicare
#: 271 means a Medicare Advantage (Part C) plan is on file for the date asked about.
MANAGED_CARE_TYPES = frozenset({"HM", "HN", "HS", "PR", "PS"})
#: Medicare Part B's standard coinsurance (used only when the 271 states none).
STANDARD_PART_B_COINSURANCE = Decimal("0.20")
#: The Part B annual deductible by calendar year, from CMS's yearly "Medicare Parts A & B
#: Premiums and Deductibles" fact sheets (2024: $240, 2025: $257, 2026: $283, announced
#: 2025-11-14). Used only when no 271 states the deductible; add each new year here.
PART_B_DEDUCTIBLES: dict[int, Decimal] = {
    2024: Decimal("240.00"),
    2025: Decimal("257.00"),
    2026: Decimal("283.00"),
}


def part_b_deductible(year: int) -> tuple[int, Decimal]:
    """``(year used, deductible)``: the year's Part B deductible, else the latest earlier one
    known (or the earliest known for a year before them all)."""
    known = sorted(PART_B_DEDUCTIBLES)
    earlier = [y for y in known if y <= year]
    chosen = earlier[-1] if earlier else known[0]
    return chosen, PART_B_DEDUCTIBLES[chosen]


def standard_part_b(service_date: date) -> BenefitSummary:
    """Original Medicare Part B as published: the whole year's deductible still to meet, then
    20% coinsurance, no copay and no out-of-pocket maximum. What an estimate assumes when the
    beneficiary's 271 is not at hand (assuming the deductible unmet errs toward the patient
    being told too much, never too little)."""
    _, deductible = part_b_deductible(service_date.year)
    return BenefitSummary(deductible=deductible, deductible_remaining=deductible,
                          coinsurance=STANDARD_PART_B_COINSURANCE)


class MedicareBenefits(DomainModel):
    """What a Medicare 271 says about Part B, for patient estimates.

    :ivar part_b: deductible, remaining deductible and coinsurance (copay and out-of-pocket
        stay empty: original Medicare Part B has neither).
    :ivar other_payers: EB04 insurance types of ``EB*R`` (other or primary payer) benefits.
    """

    part_a_active: bool | None = None
    part_b_active: bool | None = None
    part_b: BenefitSummary = Field(default_factory=BenefitSummary)
    other_payers: list[str] = Field(default_factory=list)

    @property
    def medicare_advantage(self) -> bool:
        """True when a managed-care (Medicare Advantage) plan is reported as another payer."""
        return any(kind in MANAGED_CARE_TYPES for kind in self.other_payers)

    @property
    def deductible_met(self) -> bool | None:
        """True when the remaining Part B deductible is zero (``None`` when not reported)."""
        remaining = self.part_b.deductible_remaining
        return None if remaining is None else remaining <= ZERO

    def patient_share(self, allowed: Money) -> Decimal:
        """The beneficiary's share of ``allowed``: remaining deductible, then coinsurance.

        Uses the standard 20% when the 271 stated no coinsurance, and assumes the whole
        deductible (when reported) is still due when no remaining amount was given.
        """
        if isinstance(allowed, float):
            raise TypeError("allowed must be a Decimal, not a float")
        remaining = self.part_b.deductible_remaining
        if remaining is None:
            remaining = self.part_b.deductible or ZERO
        deductible_part = min(max(remaining, ZERO), allowed)
        rate = (self.part_b.coinsurance if self.part_b.coinsurance is not None
                else STANDARD_PART_B_COINSURANCE)
        share = deductible_part + (allowed - deductible_part) * rate
        return share.quantize(CENT, rounding=ROUND_HALF_UP)


def _part(benefits: Iterable[Benefit], kind: BenefitKind, insurance_type: str) -> list[Benefit]:
    of_kind = [b for b in benefits if b.kind is kind]
    typed = [b for b in of_kind if b.insurance_type == insurance_type]
    return typed or [b for b in of_kind if b.insurance_type is None]


def _ordered(benefits: list[Benefit], service_type: str | None) -> list[Benefit]:
    def rank(benefit: Benefit) -> tuple[int, int]:
        for_service = (not benefit.service_types or service_type is None
                       or service_type in benefit.service_types)
        individual = benefit.coverage_level in (None, CoverageLevel.INDIVIDUAL)
        return (0 if for_service else 1, 0 if individual else 1)

    return sorted(benefits, key=rank)


def _active(benefits: list[Benefit], insurance_type: str) -> bool | None:
    if any(b.kind is BenefitKind.ACTIVE_COVERAGE and b.insurance_type == insurance_type
           for b in benefits):
        return True
    if any(b.kind is BenefitKind.INACTIVE and b.insurance_type == insurance_type
           for b in benefits):
        return False
    return None


def read_medicare_benefits(response: EligibilityResponse,
                           service_type: str | None = None) -> MedicareBenefits:
    """Part A/B status, the Part B deductible (and remaining) and coinsurance from a 271.

    :param service_type: prefer benefits stated for this X12 service type (``30``, ``98``...).
    """
    benefits = list(response.benefits)
    summary: dict[str, Decimal] = {}
    for benefit in _ordered(_part(benefits, BenefitKind.DEDUCTIBLE, PART_B), service_type):
        if benefit.amount is None:
            continue
        key = ("deductible_remaining" if benefit.time_period == REMAINING_PERIOD
               else "deductible")
        summary.setdefault(key, benefit.amount)
    for benefit in _ordered(_part(benefits, BenefitKind.CO_INSURANCE, PART_B), service_type):
        if benefit.percent is not None:
            summary.setdefault("coinsurance", benefit.percent)
    others = [b.insurance_type for b in benefits
              if b.code == "R" and b.insurance_type is not None]
    return MedicareBenefits(
        part_a_active=_active(benefits, PART_A), part_b_active=_active(benefits, PART_B),
        part_b=BenefitSummary(**summary), other_payers=list(dict.fromkeys(others)))
