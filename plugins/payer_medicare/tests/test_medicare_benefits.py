"""Part B deductible and coinsurance read from a Medicare 271."""

from __future__ import annotations

from decimal import Decimal

import pytest
from medbill_payer_medicare.adapter import MedicareAdapter
from medbill_payer_medicare.benefits import read_medicare_benefits

from medbill_core.api import (
    Benefit,
    BenefitKind,
    BenefitSummary,
    CoverageLevel,
    CoverageStatus,
    EligibilityResponse,
)


def eb(kind: BenefitKind, insurance_type: str | None, *, amount: str | None = None,
       percent: str | None = None, period: str | None = None,
       service_types: list[str] | None = None,
       level: CoverageLevel | None = CoverageLevel.INDIVIDUAL) -> Benefit:
    return Benefit(kind=kind, code=kind.value, insurance_type=insurance_type,
                   amount=Decimal(amount) if amount else None,
                   percent=Decimal(percent) if percent else None, time_period=period,
                   service_types=service_types or [], coverage_level=level)


def hets_response(*extra: Benefit) -> EligibilityResponse:
    """What a HETS 271 for a beneficiary with Parts A and B says (2025 amounts)."""
    return EligibilityResponse(status=CoverageStatus.ACTIVE, payer_name="CMS", payer_id="CMS",
                               benefits=[
        eb(BenefitKind.ACTIVE_COVERAGE, "MA", service_types=["30"]),
        eb(BenefitKind.ACTIVE_COVERAGE, "MB", service_types=["30"]),
        eb(BenefitKind.DEDUCTIBLE, "MA", amount="1676.00", period="26"),
        eb(BenefitKind.DEDUCTIBLE, "MB", amount="257.00", period="23", service_types=["96"]),
        eb(BenefitKind.DEDUCTIBLE, "MB", amount="57.25", period="29", service_types=["96"]),
        eb(BenefitKind.CO_INSURANCE, "MB", percent="0.2", period="27", service_types=["96"]),
        *extra,
    ])


def test_part_b_summary() -> None:
    benefits = read_medicare_benefits(hets_response())
    assert benefits.part_a_active is True and benefits.part_b_active is True
    assert benefits.part_b == BenefitSummary(deductible=Decimal("257.00"),
                                             deductible_remaining=Decimal("57.25"),
                                             coinsurance=Decimal("0.2"))
    assert benefits.deductible_met is False
    assert not benefits.medicare_advantage
    assert all(isinstance(v, Decimal) for v in (benefits.part_b.deductible,
                                                benefits.part_b.deductible_remaining))


def test_part_a_deductible_is_not_taken() -> None:
    response = EligibilityResponse(status=CoverageStatus.ACTIVE, benefits=[
        eb(BenefitKind.DEDUCTIBLE, "MA", amount="1676.00", period="26")])
    assert read_medicare_benefits(response).part_b.deductible is None


def test_patient_share() -> None:
    benefits = read_medicare_benefits(hets_response())
    # 57.25 deductible left, then 20% of (98.19 - 57.25) = 8.188 -> 57.25 + 8.19
    assert benefits.patient_share(Decimal("98.19")) == Decimal("65.44")
    # deductible bigger than the allowed amount: all of it is the patient's
    assert benefits.patient_share(Decimal("40.00")) == Decimal("40.00")
    with pytest.raises(TypeError):
        benefits.patient_share(40.0)  # type: ignore[arg-type]


def test_deductible_met_and_inactive_part_b() -> None:
    response = EligibilityResponse(status=CoverageStatus.ACTIVE, benefits=[
        eb(BenefitKind.ACTIVE_COVERAGE, "MA"), eb(BenefitKind.INACTIVE, "MB"),
        eb(BenefitKind.DEDUCTIBLE, "MB", amount="0", period="29")])
    benefits = read_medicare_benefits(response)
    assert benefits.part_b_active is False and benefits.deductible_met is True
    assert benefits.patient_share(Decimal("100.00")) == Decimal("20.00")  # standard 20%


def test_untyped_benefits_used_only_when_no_part_b_ones() -> None:
    untyped = EligibilityResponse(status=CoverageStatus.ACTIVE, benefits=[
        eb(BenefitKind.DEDUCTIBLE, None, amount="257.00", period="23"),
        eb(BenefitKind.CO_INSURANCE, None, percent="0.2")])
    assert read_medicare_benefits(untyped).part_b.deductible == Decimal("257.00")
    mixed = hets_response(eb(BenefitKind.DEDUCTIBLE, None, amount="999.00", period="23"))
    assert read_medicare_benefits(mixed).part_b.deductible == Decimal("257.00")


def test_service_type_and_level_preference() -> None:
    response = EligibilityResponse(status=CoverageStatus.ACTIVE, benefits=[
        eb(BenefitKind.CO_INSURANCE, "MB", percent="0.5", service_types=["A7"]),
        eb(BenefitKind.CO_INSURANCE, "MB", percent="0.3", level=CoverageLevel.FAMILY),
        eb(BenefitKind.CO_INSURANCE, "MB", percent="0.2", service_types=["98"]),
    ])
    assert read_medicare_benefits(response, "98").part_b.coinsurance == Decimal("0.2")
    assert read_medicare_benefits(response, "A7").part_b.coinsurance == Decimal("0.5")


def test_medicare_advantage_on_file() -> None:
    other = Benefit(kind=BenefitKind.OTHER, code="R", insurance_type="HN",
                    plan_description="Advantage plan")
    benefits = MedicareAdapter(delegate=None).benefits(hets_response(other))
    assert benefits.other_payers == ["HN"] and benefits.medicare_advantage
