"""Patient cost estimates before the visit (good-faith estimates)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import Field

from medbill_core.domain.base import DomainModel
from medbill_core.domain.eligibility import BenefitSummary
from medbill_core.domain.parties import Patient, Practice
from medbill_core.money import ZERO, Money


class PlannedService(DomainModel):
    """A service the patient is expected to receive, with its charge and expected allowed amount."""

    procedure_code: str
    modifiers: list[str] = Field(default_factory=list)
    units: Decimal = Decimal(1)
    charge: Money
    allowed: Money | None = None
    description: str | None = None
    diagnoses: list[str] = Field(default_factory=list)


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
