"""Who takes part in a claim: the practice, providers, patients and payers."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from medbill_core.domain.base import DomainModel, phi_field, stored_as_is
from medbill_core.domain.identifiers import (
    EIN,
    NPI,
    PhoneNumber,
    StateCode,
    TaxonomyCode,
    ZipCode,
    check_email,
)
from medbill_core.money import Amount


class Sex(StrEnum):
    """Administrative sex as X12 DMG03 carries it."""

    FEMALE = "F"
    MALE = "M"
    UNKNOWN = "U"


class Address(DomainModel):
    """A US postal address (X12 N3/N4)."""

    line1: str = Field(min_length=1, max_length=55)
    line2: str | None = Field(default=None, max_length=55)
    city: str = Field(min_length=2, max_length=30)
    state: StateCode
    postal_code: ZipCode

    def mailing_lines(self) -> list[str]:
        """The address as printed on an envelope (a statement, a letter): its street lines,
        then ``City, ST 62701-1234`` (ZIP+4 is stored as nine digits and mailed hyphenated).

        .. versionadded:: 1.4
        """
        zip_code = self.postal_code
        if len(zip_code) == 9:
            zip_code = f"{zip_code[:5]}-{zip_code[5:]}"
        return [line for line in (self.line1, self.line2) if line] + [
            f"{self.city}, {self.state} {zip_code}"]


class Practice(DomainModel):
    """The billing provider: the organization that bills and gets paid (837P loop 2010AA).

    ``pay_to_address`` is used when payments go somewhere other than the
    billing address (loop 2010AB). The tax ID is an EIN, stored without dash.
    """

    name: str = Field(min_length=1, max_length=60)
    npi: NPI
    tax_id: EIN
    taxonomy: TaxonomyCode | None = None
    address: Address
    phone: PhoneNumber | None = None
    contact_name: str | None = Field(default=None, max_length=60)
    pay_to_address: Address | None = None

    @field_validator("address")
    @classmethod
    def _street_address(cls, value: Address) -> Address:
        # 837P 2010AA N3 must be a street address; payers reject P.O. boxes here.
        if value.line1.replace(".", "").upper().startswith(("PO BOX", "P O BOX")):
            raise ValueError("billing provider address must be a street address, not a P.O. box")
        return value


class EntityType(StrEnum):
    """X12 NM102: a person or an organization."""

    PERSON = "1"
    ORGANIZATION = "2"


class Provider(DomainModel):
    """A rendering, referring or supervising provider (not PHI: NPIs are public)."""

    id: int | None = None
    npi: NPI
    last_name: str = Field(min_length=1, max_length=60)
    first_name: str | None = Field(default=None, max_length=35)
    entity_type: EntityType = EntityType.PERSON
    taxonomy: TaxonomyCode | None = None


def check_birth_date(value: date) -> date:
    """A person's birth date: not in the future, not before 1880 (patients and guarantors
    alike)."""
    if value > date.today():
        raise ValueError("birth date is in the future")
    if value.year < 1880:
        raise ValueError("birth date is before 1880")
    return value


class GuarantorRelationship(StrEnum):
    """Who the guarantor is to the patient."""

    SELF = "self"
    PARENT = "parent"
    SPOUSE = "spouse"
    OTHER = "other"


class Guarantor(DomainModel):
    """The person responsible for a patient's balance, to whom statements are addressed.

    One guarantor can answer for several patients (a family); their balances then go on one
    statement. Every field but ``id`` is PHI.
    """

    id: int | None = None
    last_name: str = phi_field(min_length=1, max_length=60)
    first_name: str = phi_field(min_length=1, max_length=35)
    middle_name: str | None = phi_field(default=None, max_length=25)
    suffix: str | None = Field(default=None, max_length=10)
    birth_date: date | None = phi_field(default=None)
    address: Address | None = phi_field(default=None)
    phone: PhoneNumber | None = phi_field(default=None)
    email: str | None = phi_field(default=None, max_length=254)

    # the patient's rules, by the same functions (checked with the record: see Patient)
    @field_validator("birth_date")
    @classmethod
    def _birth_date_in_past(cls, value: date | None, info: ValidationInfo) -> date | None:
        return value if value is None or stored_as_is(info) else check_birth_date(value)

    @field_validator("email")
    @classmethod
    def _email_address(cls, value: str | None, info: ValidationInfo) -> str | None:
        return value if value is None or stored_as_is(info) else check_email(value)

    @property
    def display_name(self) -> str:
        name = " ".join(p for p in (self.first_name, self.middle_name, self.last_name) if p)
        return f"{name} {self.suffix}" if self.suffix else name


class Patient(DomainModel):
    """A patient. Name, birth date, address, phone and e-mail are PHI.

    ``guarantor_id`` names who pays (see :class:`Guarantor`); without one the patient is their
    own guarantor, unless ``guarantor_relationship`` is unset and the patient is a dependent on
    a coverage: then the subscriber becomes the guarantor when the coverage is added.
    """

    id: int | None = None
    account_number: str = Field(min_length=1, max_length=30, pattern=r"^[A-Za-z0-9-]+$")
    last_name: str = phi_field(min_length=1, max_length=60)
    first_name: str = phi_field(min_length=1, max_length=35)
    middle_name: str | None = phi_field(default=None, max_length=25)
    suffix: str | None = Field(default=None, max_length=10)
    birth_date: date = phi_field()
    sex: Sex
    address: Address | None = phi_field(default=None)
    phone: PhoneNumber | None = phi_field(default=None)
    email: str | None = phi_field(default=None, max_length=254)
    statement_hold: bool = False
    guarantor_id: int | None = None
    guarantor_relationship: GuarantorRelationship | None = None
    merged_into_id: int | None = None

    # field validators of the record, not of the field's type: an API body copying the
    # fields (POST /v1/patients) leaves them to the record's validation, which reports them
    # beside the record's other problems (control characters ...). An edit that does not
    # touch them keeps the stored values unjudged (validate_record's ``stored``): a record
    # stored before these rules existed stays editable.
    @field_validator("birth_date")
    @classmethod
    def _birth_date_in_past(cls, value: date, info: ValidationInfo) -> date:
        return value if stored_as_is(info) else check_birth_date(value)

    @field_validator("email")
    @classmethod
    def _email_address(cls, value: str | None, info: ValidationInfo) -> str | None:
        return value if value is None or stored_as_is(info) else check_email(value)


class PayerProgram(StrEnum):
    """The kind of plan a payer runs, for the policies that differ by program."""

    MEDICARE = "medicare"
    MEDICAID = "medicaid"
    COMMERCIAL = "commercial"

    @property
    def zero_mue_not_payable(self) -> bool:
        """An MUE of 0 (a code Medicare does not pay to practitioners) makes any unit of the
        code unpayable: CMS's rule, binding on Medicare and Medicaid, not on other plans."""
        return self in (PayerProgram.MEDICARE, PayerProgram.MEDICAID)


#: The program a payer's SBR09 claim filing indicator implies when ``program`` is not set:
#: MA Medicare Part A, MB Medicare Part B, MC Medicaid; anything else commercial.
PROGRAM_BY_FILING_INDICATOR = {"MA": PayerProgram.MEDICARE, "MB": PayerProgram.MEDICARE,
                               "MC": PayerProgram.MEDICAID}


class Payer(DomainModel):
    """A payer as configured in ``[payers.<key>]`` of ``medbill.toml``.

    The keys of the table are the core's; ``options`` alone belongs to the payer's adapter,
    which validates it (:attr:`~medbill_core.adapters.PayerAdapter.payer_options_model`).

    :ivar key: the practice's own name for the payer (``medicare-jk``).
    :ivar payer_id: the ID the clearinghouse routes on (X12 NM109 of loop 2010BB).
    :ivar adapter: identifier of the payer adapter that encodes and decodes for it.
    :ivar channel: identifier of the submission channel that carries its files.
    :ivar claim_filing_indicator: SBR09 (``MB`` Medicare Part B, ``CI`` commercial, ...).
    :ivar timely_filing_days: days after the date of service a claim is still accepted.
    :ivar appeal_days: days after the payer's answer (the 835's date) a denial may still be
        appealed: an appeal's deadline (``medbill appeals``).
    :ivar program: the payer's program (``medicare``, ``medicaid``, ``commercial``) for the
        policies that differ by program (an MUE of 0); unset, the claim filing indicator
        decides (:attr:`effective_program`).
    :ivar fee_schedule: contracted allowed amounts, ``"99213" = "92.50"`` or
        ``"99213-26" = ...`` (undated; ``medbill fees load`` keeps dated ones), for estimates
        and underpayment checks. The core reads it, whatever the adapter: an older
        configuration's ``[payers.<key>.options.fee_schedule]`` is moved here, so that the
        adapter's options model never sees it.
    :ivar options: adapter-specific options (companion-guide settings), validated by the adapter.
    :ivar duplicate_claims: how the scrub reports a service billed to this payer on another
        live claim (``claim.duplicate``): ``warning`` (the default: only the biller knows
        whether the service was given twice) or ``error``, which keeps the claim from being
        sent until one claim goes or the line carries a repeat or distinct-service modifier
        (a payer that denies duplicates outright, CARC 18, and an office that wants no
        such denial).
    """

    key: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    payer_id: str = Field(min_length=2, max_length=80, pattern=r"^[A-Za-z0-9-]+$")
    name: str = Field(min_length=1, max_length=60)
    adapter: str = Field(min_length=1)
    channel: str | None = None
    claim_filing_indicator: str = Field(default="CI", pattern=r"^[0-9A-Z]{2}$")
    timely_filing_days: int = Field(default=365, ge=1, le=3650)
    appeal_days: int = Field(default=180, ge=1, le=3650)
    address: Address | None = None
    program: PayerProgram | None = None
    fee_schedule: dict[str, Amount] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)
    duplicate_claims: Literal["warning", "error"] = "warning"

    @model_validator(mode="before")
    @classmethod
    def _fee_schedule_out_of_the_adapters_options(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("options"), dict) \
                and "fee_schedule" in data["options"]:
            options = dict(data["options"])
            moved = options.pop("fee_schedule")
            data = {**data, "options": options}
            if isinstance(moved, dict):
                data["fee_schedule"] = {**moved, **(data.get("fee_schedule") or {})}
            else:  # refused by the fee_schedule field, named there
                data.setdefault("fee_schedule", moved)
        return data

    @property
    def effective_program(self) -> PayerProgram:
        """``program``, else the one the claim filing indicator implies (commercial when it
        implies none)."""
        if self.program is not None:
            return self.program
        return PROGRAM_BY_FILING_INDICATOR.get(self.claim_filing_indicator,
                                               PayerProgram.COMMERCIAL)
