"""Professional claims (CMS-1500 / 837P content) and their service lines."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import Field, field_validator, model_validator

from medbill_core.domain.base import DomainModel
from medbill_core.domain.coverage import Coverage
from medbill_core.domain.identifiers import (
    NPI,
    ICD10Code,
    Modifier,
    PlaceOfService,
    ProcedureCode,
)
from medbill_core.domain.parties import Patient, Payer, Practice, Provider
from medbill_core.money import Money, total

MAX_DIAGNOSES = 12
MAX_MODIFIERS = 4
MAX_DIAGNOSIS_POINTERS = 4
MAX_LINES = 50


class ClaimState(StrEnum):
    """Where a claim is in the revenue cycle. Transitions live in :mod:`medbill_core.lifecycle`."""

    DRAFT = "draft"
    VALIDATED = "validated"
    SUBMITTED = "submitted"
    ACKNOWLEDGED = "acknowledged"
    REJECTED = "rejected"
    ACCEPTED = "accepted"
    PAID = "paid"
    PARTIALLY_PAID = "partially_paid"
    DENIED = "denied"
    PATIENT_BALANCE = "patient_balance"
    CLOSED = "closed"
    REPLACED = "replaced"
    VOIDED = "voided"


class ClaimFrequency(StrEnum):
    """CLM05-3 claim frequency type code."""

    ORIGINAL = "1"
    REPLACEMENT = "7"
    VOID = "8"


class UnitType(StrEnum):
    """SV103: units or anesthesia minutes."""

    UNITS = "UN"
    MINUTES = "MJ"


class ServiceLine(DomainModel):
    """One procedure on a claim (837P loop 2400)."""

    line_number: int = Field(ge=1, le=MAX_LINES)
    procedure_code: ProcedureCode
    modifiers: list[Modifier] = Field(default_factory=list, max_length=MAX_MODIFIERS)
    units: Decimal = Field(gt=0, max_digits=8, decimal_places=3)
    unit_type: UnitType = UnitType.UNITS
    charge: Money = Field(gt=0)
    diagnosis_pointers: list[int] = Field(min_length=1, max_length=MAX_DIAGNOSIS_POINTERS)
    service_date_from: date
    service_date_to: date | None = None
    place_of_service: PlaceOfService | None = None
    line_control_number: str | None = Field(default=None, max_length=30,
                                            pattern=r"^[A-Za-z0-9-]+$")
    description: str | None = Field(default=None, max_length=80)

    @field_validator("units", mode="before")
    @classmethod
    def _no_float_units(cls, value: object) -> object:
        if isinstance(value, float):
            return Decimal(str(value))
        return value

    @field_validator("diagnosis_pointers")
    @classmethod
    def _pointer_range(cls, value: list[int]) -> list[int]:
        for pointer in value:
            if not 1 <= pointer <= MAX_DIAGNOSES:
                raise ValueError(f"diagnosis pointer must be 1 to {MAX_DIAGNOSES}")
        if len(set(value)) != len(value):
            raise ValueError("diagnosis pointers repeat")
        return value

    @model_validator(mode="after")
    def _dates(self) -> ServiceLine:
        if self.service_date_to and self.service_date_to < self.service_date_from:
            raise ValueError("service end date is before its start date")
        return self

    @property
    def last_service_date(self) -> date:
        return self.service_date_to or self.service_date_from


class Claim(DomainModel):
    """A professional claim as the practice builds it.

    ``claim_number`` is the patient control number (CLM01) the payer echoes
    back on acknowledgments and remittances; medbill matches responses on it.
    A replacement (frequency 7) or void (8) must carry the payer's claim
    control number of the claim it replaces in ``original_claim_reference``.
    """

    id: int | None = None
    claim_number: str = Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9-]+$")
    patient_id: int
    coverage_id: int | None = None
    payer_key: str | None = None
    billing_provider_npi: NPI
    rendering_provider_npi: NPI | None = None
    referring_provider_npi: NPI | None = None
    frequency: ClaimFrequency = ClaimFrequency.ORIGINAL
    original_claim_reference: str | None = Field(default=None, max_length=50,
                                                 pattern=r"^[A-Za-z0-9-]+$")
    replaces_claim_id: int | None = None
    #: For a secondary/tertiary claim or a replacement: the encounter's first claim, whose
    #: ledger account carries the charges and every payer's postings.
    account_claim_id: int | None = None
    place_of_service: PlaceOfService
    service_date_from: date
    service_date_to: date
    diagnoses: list[ICD10Code] = Field(min_length=1, max_length=MAX_DIAGNOSES)
    lines: list[ServiceLine] = Field(min_length=1, max_length=MAX_LINES)
    prior_authorization: str | None = Field(default=None, max_length=50,
                                            pattern=r"^[A-Za-z0-9-]+$")
    accepts_assignment: bool = True
    benefits_assigned: bool = True
    release_of_information: bool = True
    state: ClaimState = ClaimState.DRAFT
    payer_claim_number: str | None = Field(default=None, max_length=50)
    created_at: datetime | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Claim:
        if self.service_date_to < self.service_date_from:
            raise ValueError("service_date_to is before service_date_from")
        if self.frequency is not ClaimFrequency.ORIGINAL and not self.original_claim_reference:
            raise ValueError(
                f"frequency {self.frequency.value} (replacement/void) needs "
                "original_claim_reference, the payer's claim control number"
            )
        if self.payer_key is None and self.coverage_id is not None:
            raise ValueError("a claim with a coverage must name its payer_key")
        if len(set(self.diagnoses)) != len(self.diagnoses):
            raise ValueError("diagnoses repeat")
        numbers = [line.line_number for line in self.lines]
        if len(set(numbers)) != len(numbers):
            raise ValueError("service line numbers repeat")
        for line in self.lines:
            for pointer in line.diagnosis_pointers:
                if pointer > len(self.diagnoses):
                    raise ValueError(
                        f"line {line.line_number}: diagnosis pointer {pointer} points past "
                        f"the {len(self.diagnoses)} diagnoses on the claim"
                    )
            if (line.service_date_from < self.service_date_from
                    or line.last_service_date > self.service_date_to):
                raise ValueError(
                    f"line {line.line_number}: service dates fall outside the claim's dates"
                )
        return self

    @property
    def total_charge(self) -> Decimal:
        """Sum of the line charges (CLM02)."""
        return total(line.charge for line in self.lines)

    @property
    def is_self_pay(self) -> bool:
        return self.coverage_id is None


class PriorPayerAdjudication(DomainModel):
    """What an earlier payer did with the claim, for a secondary claim's 2320/2330 loops."""

    payer: Payer
    coverage: Coverage
    paid_amount: Money
    paid_date: date
    claim_adjustments: list[ClaimAdjustmentRef] = Field(default_factory=list)


class ClaimAdjustmentRef(DomainModel):
    """A group code + CARC + amount triplet carried forward from a prior payer."""

    group_code: str = Field(pattern=r"^(CO|CR|OA|PI|PR)$")
    reason_code: str = Field(min_length=1, max_length=5)
    amount: Money
    quantity: Decimal | None = None


class BillableClaim(DomainModel):
    """Everything a payer adapter needs to encode one claim, resolved by the core.

    Plugins receive this instead of database rows: the claim, the practice, the
    patient, the coverage being billed and its payer, the providers, and for
    secondary/tertiary claims what the earlier payers did.
    """

    claim: Claim
    practice: Practice
    patient: Patient
    coverage: Coverage | None
    payer: Payer | None
    rendering_provider: Provider | None = None
    referring_provider: Provider | None = None
    prior_adjudications: list[PriorPayerAdjudication] = Field(default_factory=list)

    @model_validator(mode="after")
    def _matching(self) -> BillableClaim:
        if (self.coverage is None) != (self.payer is None):
            raise ValueError("coverage and payer go together: both or neither")
        if self.payer and self.claim.payer_key != self.payer.key:
            raise ValueError("claim payer_key does not match the payer")
        return self


PriorPayerAdjudication.model_rebuild()
