"""Patient cost estimates before the visit (good-faith estimates)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import Field, field_validator

from medbill_core.domain.base import DomainModel
from medbill_core.domain.eligibility import BenefitSummary
from medbill_core.domain.parties import Patient, Practice
from medbill_core.money import ZERO, Amount, Money


class PlannedService(DomainModel):
    """A service the patient is expected to receive, with its charge and expected allowed amount.

    ``charge`` is the line's total (per-unit price x units). ``None`` means "the practice's
    price": the estimate service takes it from the charge master for the date of service.
    Units are more than zero and amounts are never negative: an estimate of a refund is not
    an estimate.
    """

    procedure_code: str = Field(min_length=1)
    modifiers: list[str] = Field(default_factory=list)
    units: Decimal = Field(default=Decimal(1), gt=0, le=9999)
    charge: Amount | None = None
    allowed: Amount | None = None
    description: str | None = None
    diagnoses: list[str] = Field(default_factory=list)

    @field_validator("charge", "allowed")
    @classmethod
    def _not_negative(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and value < 0:
            raise ValueError("must not be negative")
        return value

    @field_validator("procedure_code")
    @classmethod
    def _upper_code(cls, value: str) -> str:
        return value.upper()

    @field_validator("modifiers")
    @classmethod
    def _upper_modifiers(cls, value: list[str]) -> list[str]:
        return [modifier.strip().upper() for modifier in value]


class EstimatedService(DomainModel):
    procedure_code: str
    modifiers: list[str] = Field(default_factory=list)
    units: Decimal = Decimal(1)
    description: str | None = None
    diagnoses: list[str] = Field(default_factory=list)
    charge: Money
    allowed: Money
    copay: Money = ZERO
    deductible: Money = ZERO
    coinsurance: Money = ZERO
    patient_owes: Money
    plan_pays: Money


class CostEstimate(DomainModel):
    """What the patient will likely owe, and why. Amounts are estimates, not a bill."""

    estimate_number: str
    practice: Practice
    patient: Patient
    payer_name: str | None = None
    service_date: date
    benefits: BenefitSummary | None = None
    services: list[EstimatedService]
    total_charge: Money
    total_allowed: Money
    patient_total: Money
    plan_total: Money
    notes: list[str] = Field(default_factory=list)
