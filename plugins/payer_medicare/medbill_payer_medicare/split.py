"""Split an encounter that does not fit on one 837P claim into claims that do.

An 837P claim carries at most 12 diagnoses (HI) and 50 service lines (loop 2400), and each
line points at up to 4 of the claim's diagnoses. An encounter (a day's work for one patient,
or a long series billed together) may have more. :func:`split_encounter` packs its lines into
as few claims as a first-fit pass finds, so that every claim:

* has at most 50 lines and at most 12 diagnoses;
* carries every diagnosis its lines point at, with the pointers renumbered to the claim's own
  diagnosis list, in the line's original pointer order (the first stays the line's primary);
* lists its diagnoses in the encounter's order (the encounter's principal diagnosis stays first
  on every claim that uses it);
* keeps each line exactly (code, modifiers, units, charge, dates, place of service, line
  control number); only ``line_number`` is renumbered 1..n within the claim, in encounter order.

No line is dropped or duplicated and the charges add up to the encounter's total. The claim
numbers are the encounter's number when one claim suffices, else ``<number>-1``, ``<number>-2``...
(each at most 20 characters, the CLM01 limit the domain model enforces).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import Field, field_validator, model_validator

from medbill_core.api import (
    MAX_DIAGNOSES,
    MAX_DIAGNOSIS_POINTERS,
    MAX_LINES,
    NPI,
    Claim,
    ClaimFrequency,
    DomainModel,
    ICD10Code,
    Modifier,
    Money,
    PlaceOfService,
    ProcedureCode,
    ServiceLine,
    UnitType,
    ValidationFailed,
    total,
    validate_record,
)


class EncounterLine(DomainModel):
    """A service line of an encounter: a :class:`ServiceLine` whose diagnosis pointers index
    the **encounter's** diagnoses (1-based, any number of them) and that has no line number."""

    procedure_code: ProcedureCode
    modifiers: list[Modifier] = Field(default_factory=list, max_length=4)
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
    def _pointers(cls, value: list[int]) -> list[int]:
        if any(p < 1 for p in value):
            raise ValueError("diagnosis pointers start at 1")
        if len(set(value)) != len(value):
            raise ValueError("diagnosis pointers repeat")
        return value

    @model_validator(mode="after")
    def _dates(self) -> EncounterLine:
        if self.service_date_to and self.service_date_to < self.service_date_from:
            raise ValueError("service end date is before its start date")
        return self

    @property
    def last_service_date(self) -> date:
        return self.service_date_to or self.service_date_from


class Encounter(DomainModel):
    """Everything to bill for one patient and coverage, before it is cut into claims.

    The header fields are the :class:`~medbill_core.domain.Claim` fields of the same names;
    ``diagnoses`` and ``lines`` have no 12/50 limit.
    """

    claim_number: str = Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9-]+$")
    patient_id: int
    coverage_id: int | None = None
    payer_key: str | None = None
    billing_provider_npi: NPI
    rendering_provider_npi: NPI | None = None
    referring_provider_npi: NPI | None = None
    place_of_service: PlaceOfService
    prior_authorization: str | None = Field(default=None, max_length=50,
                                            pattern=r"^[A-Za-z0-9-]+$")
    accepts_assignment: bool = True
    benefits_assigned: bool = True
    release_of_information: bool = True
    diagnoses: list[ICD10Code] = Field(min_length=1)
    lines: list[EncounterLine] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Encounter:
        if len(set(self.diagnoses)) != len(self.diagnoses):
            raise ValueError("diagnoses repeat")
        for index, line in enumerate(self.lines, start=1):
            if max(line.diagnosis_pointers) > len(self.diagnoses):
                raise ValueError(f"line {index}: a diagnosis pointer points past the "
                                 f"{len(self.diagnoses)} diagnoses of the encounter")
        return self

    @property
    def total_charge(self) -> Decimal:
        return total(line.charge for line in self.lines)


class _Bin:
    __slots__ = ("diagnoses", "lines")

    def __init__(self) -> None:
        self.lines: list[int] = []          # encounter line indexes (0-based)
        self.diagnoses: set[int] = set()    # encounter diagnosis indexes (1-based)

    def fits(self, pointers: Sequence[int], max_lines: int, max_diagnoses: int) -> bool:
        return (len(self.lines) < max_lines
                and len(self.diagnoses | set(pointers)) <= max_diagnoses)


def plan_split(encounter: Encounter, *, max_lines: int = MAX_LINES,
               max_diagnoses: int = MAX_DIAGNOSES) -> list[list[int]]:
    """The 0-based encounter line indexes of each claim (first fit, in encounter order)."""
    bins: list[_Bin] = []
    for index, line in enumerate(encounter.lines):
        for candidate in bins:
            if candidate.fits(line.diagnosis_pointers, max_lines, max_diagnoses):
                target = candidate
                break
        else:
            target = _Bin()
            bins.append(target)
        target.lines.append(index)
        target.diagnoses.update(line.diagnosis_pointers)
    return [b.lines for b in bins]


def split_encounter(encounter: Encounter, *, max_lines: int = MAX_LINES,
                    max_diagnoses: int = MAX_DIAGNOSES,
                    extra: dict[str, Any] | None = None) -> list[Claim]:
    """Cut ``encounter`` into valid :class:`Claim` objects (see the module documentation).

    :param max_lines: lines per claim (50 for an 837P; a payer may allow fewer).
    :param max_diagnoses: diagnoses per claim (12 for an 837P).
    :param extra: further :class:`Claim` fields set on every claim (e.g. ``created_at``).
    :raises ValidationFailed: a claim number would exceed 20 characters, or a resulting claim
        does not validate (the message names the claim number and field, never PHI).
    """
    if not 1 <= max_lines <= MAX_LINES or not 1 <= max_diagnoses <= MAX_DIAGNOSES:
        raise ValueError(f"limits are 1-{MAX_LINES} lines and 1-{MAX_DIAGNOSES} diagnoses")
    plan = plan_split(encounter, max_lines=max_lines, max_diagnoses=max_diagnoses)
    header = encounter.model_dump(exclude={"claim_number", "diagnoses", "lines"})
    if encounter.coverage_id is None:
        header["payer_key"] = None
    claims: list[Claim] = []
    for number, indexes in enumerate(plan, start=1):
        claim_number = (encounter.claim_number if len(plan) == 1
                        else f"{encounter.claim_number}-{number}")
        if len(claim_number) > 20:
            raise ValidationFailed(f"encounter {encounter.claim_number}", [(
                "claim_number", f"too long to number {len(plan)} split claims "
                                "(at most 20 characters with the -N suffix)")])
        lines = [encounter.lines[i] for i in indexes]
        used = sorted({p for line in lines for p in line.diagnosis_pointers})
        remap = {old: new for new, old in enumerate(used, start=1)}
        service_lines = [
            ServiceLine(**line.model_dump(exclude={"diagnosis_pointers"}),
                        line_number=position,
                        diagnosis_pointers=[remap[p] for p in line.diagnosis_pointers])
            for position, line in enumerate(lines, start=1)
        ]
        values = {
            **header,
            "claim_number": claim_number,
            "frequency": ClaimFrequency.ORIGINAL,
            "service_date_from": min(line.service_date_from for line in lines),
            "service_date_to": max(line.last_service_date for line in lines),
            "diagnoses": [encounter.diagnoses[p - 1] for p in used],
            "lines": service_lines,
            **(extra or {}),
        }
        claims.append(validate_record(Claim, values, record=f"claim {claim_number}"))
    return claims
