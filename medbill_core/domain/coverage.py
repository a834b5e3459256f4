"""Insurance coverage: who holds the policy, for whom, in what order."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import Field, model_validator

from medbill_core.domain.base import DomainModel, phi_field
from medbill_core.domain.parties import Address, Sex


class Relationship(StrEnum):
    """Patient's relationship to the subscriber (X12 element 1069, 5010 values)."""

    SELF = "18"
    SPOUSE = "01"
    CHILD = "19"
    EMPLOYEE = "20"
    UNKNOWN = "21"
    ORGAN_DONOR = "39"
    CADAVER_DONOR = "40"
    LIFE_PARTNER = "53"
    OTHER = "G8"


class CoverageOrder(StrEnum):
    """Coordination-of-benefits order (SBR01 P/S/T)."""

    PRIMARY = "P"
    SECONDARY = "S"
    TERTIARY = "T"

    @property
    def rank(self) -> int:
        return {"P": 1, "S": 2, "T": 3}[self.value]


class Subscriber(DomainModel):
    """The policy holder when it is not the patient. Every field but relationship is PHI."""

    last_name: str = phi_field(min_length=1, max_length=60)
    first_name: str = phi_field(min_length=1, max_length=35)
    middle_name: str | None = phi_field(default=None, max_length=25)
    birth_date: date | None = phi_field(default=None)
    sex: Sex = Sex.UNKNOWN
    address: Address | None = phi_field(default=None)


class Coverage(DomainModel):
    """A patient's coverage with one payer.

    ``subscriber`` is ``None`` when the patient is the subscriber
    (``relationship`` is then ``SELF``).
    """

    id: int | None = None
    patient_id: int | None = None
    payer_key: str = Field(min_length=1, max_length=40)
    order: CoverageOrder = CoverageOrder.PRIMARY
    member_id: str = phi_field(min_length=2, max_length=80, pattern=r"^[A-Za-z0-9-]+$")
    group_number: str | None = Field(default=None, max_length=50)
    group_name: str | None = Field(default=None, max_length=60)
    plan_name: str | None = Field(default=None, max_length=60)
    relationship: Relationship = Relationship.SELF
    subscriber: Subscriber | None = None
    start_date: date | None = None
    end_date: date | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Coverage:
        if self.relationship is Relationship.SELF and self.subscriber is not None:
            raise ValueError("relationship is 'self' (18) but a separate subscriber is given")
        if self.relationship is not Relationship.SELF and self.subscriber is None:
            raise ValueError("patient is not the subscriber: subscriber details are required")
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValueError("plan end date is before its start date")
        return self

    def is_active_on(self, day: date) -> bool:
        """True when ``day`` falls within the plan dates (open ends count as active)."""
        if self.start_date and day < self.start_date:
            return False
        return not (self.end_date and day > self.end_date)
