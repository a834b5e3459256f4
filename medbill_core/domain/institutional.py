"""What an institutional claim (UB-04 / CMS-1450, 837I 005010X223A2) carries beyond a
professional one: the facility's bill type, the stay, the attending and operating physicians,
NUBC occurrence / span / value / condition codes, present-on-admission indicators and
ICD-10-PCS procedures.

A :class:`~medbill_core.domain.claim.Claim` of kind ``institutional`` keeps its shared parts
where a professional claim keeps them (patient, coverage, billing provider NPI, statement
period in ``service_date_from``/``service_date_to``, frequency, ICD-10-CM diagnoses with the
principal first, service lines with their revenue codes) and these in
``Claim.institutional``. Field names follow the NUBC UB-04 form locators (FL) and the 837I
segments they travel in, named in each field's description.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field, field_validator, model_validator

from medbill_core.domain.base import DomainModel
from medbill_core.domain.identifiers import NPI, ICD10Code

#: 837I HI: principal diagnosis plus up to 24 others (two HI segments of 12)
MAX_INSTITUTIONAL_DIAGNOSES = 25
#: 837I HI composites per code list (occurrence, span, value, condition, other procedures)
MAX_CODES = 24

_PCS_RE = re.compile(r"[0-9A-HJ-NP-Z]{7}", re.ASCII)
_REVENUE_RE = re.compile(r"[0-9]{4}", re.ASCII)
_NUBC_CODE_RE = re.compile(r"[0-9A-Z]{2}", re.ASCII)


def _pcs(value: str) -> str:
    value = value.upper()
    if not _PCS_RE.fullmatch(value):
        raise ValueError("ICD-10-PCS code must be 7 letters or digits (no I or O)")
    return value


def _revenue(value: str) -> str:
    if len(value) == 3 and value.isdigit():  # "450" as often typed: the UB-04 prints 0450
        value = "0" + value
    if not _REVENUE_RE.fullmatch(value):
        raise ValueError("revenue code must be 4 digits (NUBC, e.g. 0450)")
    return value


def _nubc_code(value: str) -> str:
    value = value.upper()
    if not _NUBC_CODE_RE.fullmatch(value):
        raise ValueError("NUBC code must be 2 letters or digits")
    return value


#: an ICD-10-PCS code (format; validity on a date is the code set's: ``codes show``)
ICD10PCSCode = Annotated[str, AfterValidator(_pcs)]
#: a NUBC revenue code, 4 digits (UB-04 FL42, 837I SV201)
RevenueCode = Annotated[str, AfterValidator(_revenue)]
#: a NUBC occurrence, occurrence span, value or condition code
NUBCCode = Annotated[str, AfterValidator(_nubc_code)]


class ClaimKind(StrEnum):
    """Which form and transaction a claim is billed on."""

    #: CMS-1500, 837P (005010X222A1): physicians, suppliers
    PROFESSIONAL = "professional"
    #: UB-04 / CMS-1450, 837I (005010X223A2): hospitals and other facilities
    INSTITUTIONAL = "institutional"


class PresentOnAdmission(StrEnum):
    """Present-on-admission indicator of a diagnosis (837I HI0x-9, UB-04 FL67 8th character).
    A code exempt from POA reporting has no indicator (``None``), as 5010 sends it."""

    YES = "Y"
    NO = "N"
    #: documentation insufficient to determine
    UNKNOWN = "U"
    #: clinically undetermined
    CLINICALLY_UNDETERMINED = "W"


class Occurrence(DomainModel):
    """An occurrence code and its date (UB-04 FL31-34, 837I HI*BH)."""

    code: NUBCCode
    occurrence_date: date


class OccurrenceSpan(DomainModel):
    """An occurrence span code and its dates (UB-04 FL35-36, 837I HI*BI)."""

    code: NUBCCode
    date_from: date
    date_to: date

    @model_validator(mode="after")
    def _ordered(self) -> OccurrenceSpan:
        if self.date_to < self.date_from:
            raise ValueError(f"occurrence span {self.code}: ends before it starts")
        return self


class ValueAmount(DomainModel):
    """A value code and its amount (UB-04 FL39-41, 837I HI*BE). Most value amounts are
    dollars (e.g. 80 covered days is a count, A1 a deductible in dollars): the amount is kept
    as given, a Decimal with at most 2 places, never rounded."""

    code: NUBCCode
    amount: Decimal = Field(max_digits=12, decimal_places=2)

    @field_validator("amount", mode="before")
    @classmethod
    def _no_float(cls, value: object) -> object:
        if isinstance(value, float):
            raise ValueError("give the value amount as text or a Decimal, not a float")
        return value


class InstitutionalProcedure(DomainModel):
    """An ICD-10-PCS procedure and the date it was performed (UB-04 FL74, 837I HI*BBR/BBQ)."""

    code: ICD10PCSCode
    procedure_date: date


class InstitutionalDetails(DomainModel):
    """The institutional parts of a claim (see the module docstring)."""

    facility_type_code: str = Field(
        pattern=r"^[0-9]{2}$",
        description="type of bill without its frequency: facility type and bill "
                    "classification, e.g. 11 hospital inpatient, 13 hospital outpatient "
                    "(UB-04 FL4 digits 2-3, 837I CLM05-1 with qualifier A)")
    admission_date: date | None = Field(
        default=None, description="admission or start of care (FL12, 837I DTP*435)")
    admission_hour: int | None = Field(default=None, ge=0, le=23,
                                       description="admission hour 00-23 (FL13, DTP*435 RD8/DT)")
    admission_type: str | None = Field(
        default=None, pattern=r"^[1-59]$",
        description="priority of the admission: 1 emergency, 2 urgent, 3 elective, "
                    "4 newborn, 5 trauma, 9 information not available (FL14, CL101)")
    admission_source: str | None = Field(
        default=None, pattern=r"^[0-9A-Z]$",
        description="point of origin for admission or visit (FL15, CL102)")
    discharge_hour: int | None = Field(default=None, ge=0, le=23,
                                       description="discharge hour 00-23 (FL16, DTP*096)")
    patient_status: str = Field(
        pattern=r"^[0-9]{2}$",
        description="patient discharge status, e.g. 01 home, 30 still a patient "
                    "(FL17, CL103)")
    attending_provider_npi: NPI | None = Field(
        default=None, description="attending provider (FL76, 837I 2310A NM1*71)")
    operating_provider_npi: NPI | None = Field(
        default=None, description="operating physician (FL77, 837I 2310B NM1*72)")
    other_operating_provider_npi: NPI | None = Field(
        default=None, description="other operating physician (FL78, 837I 2310C NM1*ZZ)")
    present_on_admission: list[PresentOnAdmission | None] = Field(
        default_factory=list, max_length=MAX_INSTITUTIONAL_DIAGNOSES,
        description="one indicator per diagnosis of the claim, in the claim's order (None: "
                    "exempt); empty when none is reported (outpatient)")
    admitting_diagnosis: ICD10Code | None = Field(
        default=None, description="admitting diagnosis, inpatient (FL69, 837I HI*ABJ)")
    reason_for_visit: list[ICD10Code] = Field(
        default_factory=list, max_length=3,
        description="patient's reason for visit, unscheduled outpatient (FL70, HI*APR)")
    external_causes: list[ICD10Code] = Field(
        default_factory=list, max_length=12,
        description="external cause of injury codes (FL72, HI*ABN)")
    principal_procedure: InstitutionalProcedure | None = Field(
        default=None, description="principal ICD-10-PCS procedure, inpatient (FL74, HI*BBR)")
    other_procedures: list[InstitutionalProcedure] = Field(
        default_factory=list, max_length=MAX_CODES,
        description="other ICD-10-PCS procedures (FL74a-e, HI*BBQ)")
    occurrences: list[Occurrence] = Field(default_factory=list, max_length=MAX_CODES)
    occurrence_spans: list[OccurrenceSpan] = Field(default_factory=list, max_length=MAX_CODES)
    values: list[ValueAmount] = Field(default_factory=list, max_length=MAX_CODES)
    condition_codes: list[NUBCCode] = Field(default_factory=list, max_length=MAX_CODES,
                                            description="condition codes (FL18-28, HI*BG)")
    drg: str | None = Field(default=None, pattern=r"^[0-9]{3}$",
                            description="MS-DRG when the facility assigns it (HI*DR)")

    @model_validator(mode="after")
    def _consistent(self) -> InstitutionalDetails:
        if self.other_procedures and self.principal_procedure is None:
            raise ValueError("other procedures given without a principal procedure")
        if self.admission_hour is not None and self.admission_date is None:
            raise ValueError("admission hour given without an admission date")
        return self

    @property
    def is_inpatient(self) -> bool:
        """Bill classification 1 (inpatient, Part A) or 2 (inpatient, Part B only)."""
        return self.facility_type_code[1] in "12"

    def type_of_bill(self, frequency: str) -> str:
        """The four-character type of bill (UB-04 FL4): a leading 0, the facility type code
        and the claim frequency (CLM05-3)."""
        return f"0{self.facility_type_code}{frequency}"
