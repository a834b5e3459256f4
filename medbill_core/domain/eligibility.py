"""Eligibility inquiries (X12 270) and benefit responses (X12 271)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum

from pydantic import Field

from medbill_core.domain.base import DomainModel
from medbill_core.domain.coverage import Coverage
from medbill_core.domain.parties import Patient, Payer, Practice, Provider
from medbill_core.money import Money


class EligibilityRequest(DomainModel):
    """An inquiry about one patient's coverage on a date, for some service types.

    ``service_types`` are X12 service type codes (``30`` health benefit plan
    coverage, ``98`` professional physician visit, ...).
    """

    trace_number: str = Field(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9-]+$")
    practice: Practice
    provider: Provider | None = None
    patient: Patient
    coverage: Coverage
    payer: Payer
    service_date: date
    service_types: list[str] = Field(default_factory=lambda: ["30"], min_length=1, max_length=99)


class CoverageStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    UNKNOWN = "unknown"
    ERROR = "error"


class BenefitKind(StrEnum):
    """EB01 benefit information codes medbill interprets."""

    ACTIVE_COVERAGE = "1"
    INACTIVE = "6"
    CO_INSURANCE = "A"
    CO_PAYMENT = "B"
    DEDUCTIBLE = "C"
    OUT_OF_POCKET = "G"
    LIMITATIONS = "F"
    NON_COVERED = "I"
    OTHER = "other"


class Network(StrEnum):
    """EB12 in-plan-network indicator."""

    IN = "Y"
    OUT = "N"
    BOTH = "W"
    NOT_APPLICABLE = "U"


class CoverageLevel(StrEnum):
    """EB02 coverage level: individual or family."""

    INDIVIDUAL = "IND"
    FAMILY = "FAM"
    EMPLOYEE_ONLY = "EMP"
    OTHER = "other"


class Benefit(DomainModel):
    """One EB segment: a benefit fact for a service type and network.

    ``time_period`` is EB06 (``23`` calendar year, ``29`` remaining, ``22``
    service year...). A remaining deductible arrives as a separate EB with
    time period ``29``.
    """

    kind: BenefitKind
    code: str = Field(description="EB01 as received")
    service_types: list[str] = Field(default_factory=list)
    coverage_level: CoverageLevel | None = None
    insurance_type: str | None = None
    plan_description: str | None = None
    time_period: str | None = None
    amount: Money | None = None
    percent: Decimal | None = Field(default=None, ge=0, le=1)
    network: Network | None = None
    authorization_required: bool | None = None
    messages: list[str] = Field(default_factory=list)


class BenefitSummary(DomainModel):
    """The numbers a patient estimate needs for one service type and network."""

    copay: Money | None = None
    coinsurance: Decimal | None = None
    deductible: Money | None = None
    deductible_remaining: Money | None = None
    out_of_pocket: Money | None = None
    out_of_pocket_remaining: Money | None = None


class EligibilityIssue(DomainModel):
    """An AAA request-validation reject from the payer."""

    loop: str | None = None
    reject_reason: str
    follow_up: str | None = None


REMAINING_PERIOD = "29"


class EligibilityResponse(DomainModel):
    """The payer's answer (271), decoded."""

    trace_number: str | None = None
    status: CoverageStatus
    payer_name: str | None = None
    payer_id: str | None = None
    plan_name: str | None = None
    group_number: str | None = None
    plan_begin: date | None = None
    plan_end: date | None = None
    benefits: list[Benefit] = Field(default_factory=list)
    issues: list[EligibilityIssue] = Field(default_factory=list)

    def summary(self, service_type: str = "30", network: Network = Network.IN) -> BenefitSummary:
        """Copay, coinsurance, deductible and out-of-pocket for one service type and network.

        A benefit without service types applies to all; a benefit whose network is
        ``BOTH`` or unstated applies to either network. Individual-level values are
        preferred over family-level ones.
        """
        chosen: dict[str, Decimal] = {}

        def applies(benefit: Benefit) -> bool:
            if benefit.service_types and service_type not in benefit.service_types:
                return False
            return benefit.network in (None, network, Network.BOTH, Network.NOT_APPLICABLE)

        ordered = sorted(
            (b for b in self.benefits if applies(b)),
            key=lambda b: 0 if b.coverage_level in (None, CoverageLevel.INDIVIDUAL) else 1,
        )
        for benefit in ordered:
            remaining = benefit.time_period == REMAINING_PERIOD
            if benefit.kind is BenefitKind.CO_PAYMENT and benefit.amount is not None:
                chosen.setdefault("copay", benefit.amount)
            elif benefit.kind is BenefitKind.CO_INSURANCE and benefit.percent is not None:
                chosen.setdefault("coinsurance", benefit.percent)
            elif benefit.kind is BenefitKind.DEDUCTIBLE and benefit.amount is not None:
                chosen.setdefault("deductible_remaining" if remaining else "deductible",
                                  benefit.amount)
            elif benefit.kind is BenefitKind.OUT_OF_POCKET and benefit.amount is not None:
                chosen.setdefault("out_of_pocket_remaining" if remaining else "out_of_pocket",
                                  benefit.amount)
        return BenefitSummary(**chosen)
