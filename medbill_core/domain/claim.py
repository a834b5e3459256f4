"""Claims and their service lines: professional (CMS-1500 / 837P) and institutional (UB-04 /
837I; the institutional parts in :mod:`medbill_core.domain.institutional`)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import Field, field_serializer, field_validator, model_validator

from medbill_core.domain.base import DomainModel
from medbill_core.domain.coverage import Coverage
from medbill_core.domain.identifiers import (
    NPI,
    ICD10Code,
    Modifier,
    PlaceOfService,
    ProcedureCode,
)
from medbill_core.domain.institutional import (
    MAX_INSTITUTIONAL_DIAGNOSES,
    ClaimKind,
    InstitutionalDetails,
    RevenueCode,
)
from medbill_core.domain.parties import Patient, Payer, Practice, Provider
from medbill_core.money import MAX_AMOUNT, Amount, Money, total

MAX_DIAGNOSES = 12
MAX_MODIFIERS = 4
MAX_DIAGNOSIS_POINTERS = 4
MAX_LINES = 50


class ClaimState(StrEnum):
    """Where a claim is in the revenue cycle. Transitions live in :mod:`medbill_core.lifecycle`."""

    DRAFT = "draft"
    VALIDATED = "validated"
    #: In an outbox batch the channel has not taken yet (channel down, refused connection):
    #: nothing has left the practice, a later send (``claims submit``) moves it on.
    QUEUED = "queued"
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
    #: A draft removed before it ever left the practice; its charges are reversed.
    DELETED = "deleted"

    @property
    def label(self) -> str:
        """How lists and reports show the state to a person."""
        return _STATE_LABELS.get(self, self.value)


_STATE_LABELS = {ClaimState.QUEUED: "queued (not sent)",
                 ClaimState.DENIED: "denied (to work)",
                 ClaimState.PARTIALLY_PAID: "partially paid (review)",
                 ClaimState.PATIENT_BALANCE: "patient balance"}


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
    #: CPT/HCPCS; every professional line has one, an institutional line may have only its
    #: revenue code (room and board, pharmacy ...)
    procedure_code: ProcedureCode | None = None
    #: NUBC revenue code: every institutional line has one (SV201), a professional none
    revenue_code: RevenueCode | None = None
    modifiers: list[Modifier] = Field(default_factory=list, max_length=MAX_MODIFIERS)
    units: Decimal = Field(gt=0, max_digits=8, decimal_places=3)
    unit_type: UnitType = UnitType.UNITS
    #: the line's total (per-unit price x units), at most :data:`~medbill_core.money.MAX_AMOUNT`
    charge: Amount = Field(gt=0)
    #: one to four on a professional line; an institutional line points at none (SV2 has no
    #: pointers: the claim's diagnoses apply to the claim)
    diagnosis_pointers: list[int] = Field(default_factory=list,
                                          max_length=MAX_DIAGNOSIS_POINTERS)
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
        if self.procedure_code is None and self.revenue_code is None:
            raise ValueError("a service line needs a procedure code or a revenue code")
        return self

    @property
    def billed_code(self) -> str:
        """The code the line is billed under: its procedure code, or its revenue code when
        it has none (an institutional room-and-board or pharmacy line)."""
        return self.procedure_code or self.revenue_code or ""

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
    kind: ClaimKind = ClaimKind.PROFESSIONAL
    #: Where the care was given. An institutional claim sends no place of service (its
    #: facility type code says it) but keeps the one it implies (21 inpatient hospital,
    #: 22 outpatient hospital ...) for the reports that group by place.
    place_of_service: PlaceOfService
    #: professional: the dates of service; institutional: the statement covers period (FL6)
    service_date_from: date
    service_date_to: date
    #: the principal (institutional) or first-listed diagnosis first; 12 at most on a
    #: professional claim, 25 on an institutional one
    diagnoses: list[ICD10Code] = Field(min_length=1, max_length=MAX_INSTITUTIONAL_DIAGNOSES)
    lines: list[ServiceLine] = Field(min_length=1, max_length=MAX_LINES)
    prior_authorization: str | None = Field(default=None, max_length=50,
                                            pattern=r"^[A-Za-z0-9-]+$")
    accepts_assignment: bool = True
    benefits_assigned: bool = True
    release_of_information: bool = True
    state: ClaimState = ClaimState.DRAFT
    payer_claim_number: str | None = Field(default=None, max_length=50)
    #: set exactly when ``kind`` is institutional
    institutional: InstitutionalDetails | None = None
    created_at: datetime | None = None

    @field_serializer("created_at", when_used="json")
    def _created_at_with_offset(self, moment: datetime | None) -> datetime | None:
        # stored in UTC, but SQLite gives it back naive: JSON (the API's date-time, RFC 3339)
        # needs the offset
        return moment.replace(tzinfo=UTC) if moment and moment.tzinfo is None else moment

    @field_validator("lines")
    @classmethod
    def _total_within_limit(cls, lines: list[ServiceLine]) -> list[ServiceLine]:
        # the claim's total (CLM02, the stored total charge) is one amount too
        if total(line.charge for line in lines) > MAX_AMOUNT:
            raise ValueError(f"the lines' charges add up to more than {MAX_AMOUNT:,}")
        return lines

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
        if self.kind is ClaimKind.INSTITUTIONAL:
            self._institutional_consistent()
        else:
            self._professional_consistent()
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

    def _professional_consistent(self) -> None:
        if self.institutional is not None:
            raise ValueError("institutional details on a professional claim")
        if len(self.diagnoses) > MAX_DIAGNOSES:
            raise ValueError(f"a professional claim has at most {MAX_DIAGNOSES} diagnoses")
        for line in self.lines:
            if line.procedure_code is None:
                raise ValueError(f"line {line.line_number}: procedure_code is required")
            if line.revenue_code is not None:
                raise ValueError(f"line {line.line_number}: a revenue code belongs on an "
                                 "institutional claim")
            if not line.diagnosis_pointers:
                raise ValueError(f"line {line.line_number}: diagnosis_pointers needs 1 to "
                                 f"{MAX_DIAGNOSIS_POINTERS} pointers")

    def _institutional_consistent(self) -> None:
        details = self.institutional
        if details is None:
            raise ValueError("an institutional claim needs its institutional details")
        if details.present_on_admission and \
                len(details.present_on_admission) != len(self.diagnoses):
            raise ValueError(f"present_on_admission has {len(details.present_on_admission)} "
                             f"indicators for {len(self.diagnoses)} diagnoses")
        for line in self.lines:
            if line.revenue_code is None:
                raise ValueError(f"line {line.line_number}: revenue_code is required on an "
                                 "institutional claim")
            if line.diagnosis_pointers:
                raise ValueError(f"line {line.line_number}: an institutional line has no "
                                 "diagnosis pointers")

    @property
    def type_of_bill(self) -> str | None:
        """UB-04 FL4 (e.g. ``0131``); None on a professional claim."""
        if self.institutional is None:
            return None
        return self.institutional.type_of_bill(self.frequency.value)

    @property
    def total_charge(self) -> Decimal:
        """Sum of the line charges (CLM02)."""
        return total(line.charge for line in self.lines)

    @property
    def is_self_pay(self) -> bool:
        return self.coverage_id is None


class PriorLineAdjudication(DomainModel):
    """What an earlier payer did with one of the claim's service lines: an 837P loop 2430
    (Line Adjudication Information) under that line's loop 2400.

    Made from the payer's 835 service payment (loop 2110 SVC) when it adjudicated line by line.
    Every amount is the prior payer's, as it reported it; ``adjustments`` are that line's CAS
    only (the claim-level ones stay in :attr:`PriorPayerAdjudication.claim_adjustments`).
    X222A1 line balancing: the line's charge (SV102) = ``paid_amount`` + the line's adjustment
    amounts, summed over the payer's loops 2430 for that line (one line can have several when
    the payer split it); the scrubber does not enforce it, the payer does.
    """

    line_number: int = Field(ge=1, le=MAX_LINES,
                             description="2400 LX01 of the claim line this adjudication answers")
    procedure_qualifier: str = Field(
        default="HC", pattern=r"^(ER|HC|IV|NU|WK)$",
        description="SVD03-1: product/service ID qualifier, as the payer adjudicated the line; "
                    "NU: an institutional line adjudicated under its revenue code (837I "
                    "SVD04, no SVD03; an 837P cannot carry it)")
    procedure_code: str = Field(
        min_length=1, max_length=48, pattern=r"^[A-Za-z0-9]+$",
        description="SVD03-2: the procedure code the payer adjudicated (835 SVC01-2); it may "
                    "differ from the billed SV101-2")
    modifiers: list[Modifier] = Field(
        default_factory=list, max_length=MAX_MODIFIERS,
        description="SVD03-3..6: the procedure modifiers as the payer adjudicated them")
    paid_amount: Money = Field(description="SVD02: service line paid amount (835 SVC03)")
    paid_units: Decimal = Field(
        ge=0, max_digits=15, decimal_places=3,
        description="SVD05: paid service unit count (835 SVC05; one when the 835 left it "
                    "out, which is X221A1's default)")
    bundled_line_number: int | None = Field(
        default=None, ge=1, le=MAX_LINES,
        description="SVD06: the LX01 of the line this one was bundled into, or the line "
                    "it was unbundled from, when the payer bundled or split lines")
    adjustments: list[ClaimAdjustmentRef] = Field(
        default_factory=list, description="2430 CAS: the line-level adjustments (group, "
                                          "reason, amount, quantity triplets)")
    adjudication_date: date | None = Field(
        default=None,
        description="2430 DTP*573 (D8): line check or remittance date; None means the "
                    "claim-level PriorPayerAdjudication.paid_date (a date equal to it is "
                    "kept as None)")
    remaining_patient_liability: Money | None = Field(
        default=None,
        description="2430 AMT*EAF: what the patient still owes on this line after this payer "
                    "(in the provider's judgment; medbill records the line's PR total)")

    @field_validator("paid_units", mode="before")
    @classmethod
    def _no_float_units(cls, value: object) -> object:
        if isinstance(value, float):
            return Decimal(str(value))
        return value

    @property
    def adjusted(self) -> Decimal:
        """The sum of the line's adjustment amounts (2430 CAS)."""
        return total(a.amount for a in self.adjustments)

    @property
    def patient_responsibility(self) -> Decimal:
        """AMT*EAF when given, else the line's PR adjustments."""
        if self.remaining_patient_liability is not None:
            return self.remaining_patient_liability
        return total(a.amount for a in self.adjustments if a.group_code == "PR")


class PriorPayerAdjudication(DomainModel):
    """What an earlier payer did with the claim, for a secondary claim's 2320/2330 loops and,
    when that payer adjudicated line by line, the 2430 loops of the claim's lines.

    Without ``line_adjudications`` everything is at claim level: ``claim_adjustments`` holds
    all of the payer's adjustments (2320 CAS) and the payer's date is 2330B DTP*573. With them,
    ``claim_adjustments`` holds only what the 835 had at claim level (CLP-level CAS) and the
    line adjustments travel in loop 2430; X222A1 then balances the payer's amounts as
    ``paid_amount`` (2320 AMT*D) = the lines' SVD02 - the claim-level 2320 CAS amounts
    (X12 RFI 524), checked here.
    """

    payer: Payer
    coverage: Coverage
    paid_amount: Money = Field(description="2320 AMT*D: payer paid amount")
    paid_date: date = Field(
        description="2330B DTP*573: claim check or remittance date; with line adjudications "
                    "it is the latest of the lines' dates (2430 DTP*573), and X222A1 sends "
                    "the date there instead of in 2330B")
    claim_adjustments: list[ClaimAdjustmentRef] = Field(
        default_factory=list,
        description="2320 CAS: claim-level adjustments (all of them when no line "
                    "adjudications are given)")
    line_adjudications: list[PriorLineAdjudication] = Field(
        default_factory=list, description="2430 loops: the payer's line-level adjudication, "
                                          "in claim line order")

    @model_validator(mode="after")
    def _balanced(self) -> PriorPayerAdjudication:
        lines = self.line_adjudications
        if not lines:
            return self
        line_paid = total(line.paid_amount for line in lines)
        claim_adjusted = total(a.amount for a in self.claim_adjustments)
        if line_paid - claim_adjusted != self.paid_amount:
            raise ValueError(
                f"line adjudications do not balance: the lines' paid amounts ({line_paid}) "
                f"less the claim-level adjustments ({claim_adjusted}) must equal the payer's "
                f"paid amount ({self.paid_amount}) (X222A1: 2430 SVD02 - 2320 CAS = 2320 AMT*D)")
        if any(line.adjudication_date is not None and line.adjudication_date > self.paid_date
               for line in lines):
            raise ValueError("a line adjudication date is after the payer's paid_date, which "
                             "is the latest of them")
        if any(line.adjudication_date == self.paid_date for line in lines):
            # None stands for the claim-level date: one spelling for one meaning, so that an
            # 837P round trip (which cannot tell them apart) gives back an equal object.
            self.line_adjudications = [
                line.model_copy(update={"adjudication_date": None})
                if line.adjudication_date == self.paid_date else line for line in lines]
            return self
        if all(line.adjudication_date is not None for line in lines):
            raise ValueError("paid_date must be the latest of the line adjudication dates")
        return self

    @property
    def all_adjustments(self) -> list[ClaimAdjustmentRef]:
        """Claim-level then line-level adjustments (what the payer adjusted in all)."""
        result = list(self.claim_adjustments)
        for line in self.line_adjudications:
            result.extend(line.adjustments)
        return result

    def lines_for(self, line_number: int) -> list[PriorLineAdjudication]:
        """This payer's loops 2430 for one claim line (several when it split the line)."""
        return [line for line in self.line_adjudications if line.line_number == line_number]


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
    #: institutional claims: the providers ``Claim.institutional`` names by NPI, resolved
    #: (837I 2310A-C need their names)
    attending_provider: Provider | None = None
    operating_provider: Provider | None = None
    other_operating_provider: Provider | None = None
    prior_adjudications: list[PriorPayerAdjudication] = Field(default_factory=list)

    @model_validator(mode="after")
    def _matching(self) -> BillableClaim:
        if (self.coverage is None) != (self.payer is None):
            raise ValueError("coverage and payer go together: both or neither")
        if self.payer and self.claim.payer_key != self.payer.key:
            raise ValueError("claim payer_key does not match the payer")
        numbers = {line.line_number for line in self.claim.lines}
        for prior in self.prior_adjudications:
            for line in prior.line_adjudications:
                for number in (line.line_number, line.bundled_line_number):
                    if number is not None and number not in numbers:
                        raise ValueError(f"a prior payer's line adjudication names line "
                                         f"{number}, which the claim does not have")
        return self


PriorLineAdjudication.model_rebuild()
PriorPayerAdjudication.model_rebuild()
