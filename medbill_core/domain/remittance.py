"""Remittance advice (X12 835): what the payer paid, adjusted and why."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum

from pydantic import Field

from medbill_core.domain.base import DomainModel, phi_field
from medbill_core.domain.parties import Address
from medbill_core.money import ZERO, Money, total


class AdjustmentGroup(StrEnum):
    """CAS01 claim adjustment group codes."""

    CONTRACTUAL = "CO"
    CORRECTION = "CR"
    OTHER = "OA"
    PAYER_INITIATED = "PI"
    PATIENT_RESPONSIBILITY = "PR"


class Adjustment(DomainModel):
    """One CAS triplet: group + CARC + amount (+ quantity).

    A positive amount reduces what is paid; a negative one increases it.
    """

    group: AdjustmentGroup
    reason_code: str = Field(min_length=1, max_length=5)
    amount: Money
    quantity: Decimal | None = None


class ClaimStatusCode(StrEnum):
    """CLP02 claim status codes."""

    PRIMARY = "1"
    SECONDARY = "2"
    TERTIARY = "3"
    DENIED = "4"
    PRIMARY_FORWARDED = "19"
    SECONDARY_FORWARDED = "20"
    TERTIARY_FORWARDED = "21"
    REVERSAL = "22"
    NOT_OUR_CLAIM_FORWARDED = "23"
    PREDETERMINATION = "25"


class ServicePayment(DomainModel):
    """SVC loop 2110: payment for one service line. An institutional line billed without a
    HCPCS is paid under its revenue code (``procedure_qualifier`` ``NU``, the revenue code as
    ``procedure_code``); one with a HCPCS names its revenue code in ``revenue_code``."""

    procedure_code: str
    procedure_qualifier: str = "HC"
    modifiers: list[str] = Field(default_factory=list)
    charge: Money
    paid: Money
    units: Decimal | None = None
    original_procedure_code: str | None = None
    service_date_from: date | None = None
    service_date_to: date | None = None
    line_control_number: str | None = None
    allowed_amount: Money | None = None
    adjustments: list[Adjustment] = Field(default_factory=list)
    remark_codes: list[str] = Field(default_factory=list)
    revenue_code: str | None = Field(default=None, max_length=48,
                                     description="SVC04: NUBC revenue code of a HCPCS line")

    @property
    def adjusted(self) -> Decimal:
        return total(a.amount for a in self.adjustments)

    def is_balanced(self) -> bool:
        """SVC02 - SVC03 equals the line's adjustments."""
        return self.charge - self.paid == self.adjusted


class InpatientAdjudication(DomainModel):
    """MIA: how an inpatient institutional claim was priced (informational amounts: they are
    not part of the claim's balance). Its remark codes (MIA05, MIA20-23) are the claim's
    ``remark_codes``."""

    covered_days: Decimal = Field(ge=0, max_digits=15, decimal_places=2,
                                  description="MIA01: covered days or visits")
    pps_operating_outlier_amount: Money | None = Field(default=None, description="MIA02")
    lifetime_psychiatric_days: Decimal | None = Field(default=None, ge=0,
                                                      description="MIA03")
    drg_amount: Money | None = Field(default=None, description="MIA04: claim DRG amount")
    disproportionate_share_amount: Money | None = Field(default=None, description="MIA06")
    pps_capital_amount: Money | None = Field(default=None, description="MIA08")
    indirect_teaching_amount: Money | None = Field(default=None, description="MIA18")


class OutpatientAdjudication(DomainModel):
    """MOA: how an outpatient claim was priced (informational). Its remark codes (MOA03-07)
    are the claim's ``remark_codes``."""

    reimbursement_rate: Decimal | None = Field(default=None, ge=0, description="MOA01, a "
                                               "percentage as a decimal fraction (0.80)")
    hcpcs_payable_amount: Money | None = Field(default=None, description="MOA02")
    esrd_payment_amount: Money | None = Field(default=None, description="MOA08")
    nonpayable_professional_amount: Money | None = Field(default=None, description="MOA09")


class ClaimPayment(DomainModel):
    """CLP loop 2100: one claim's adjudication."""

    claim_number: str
    status: ClaimStatusCode
    charge: Money
    paid: Money
    patient_responsibility: Money | None = None
    filing_indicator: str | None = None
    payer_claim_number: str | None = None
    facility_type: str | None = None
    frequency: str | None = None
    patient_last_name: str | None = phi_field(default=None)
    patient_first_name: str | None = phi_field(default=None)
    member_id: str | None = phi_field(default=None)
    service_date_from: date | None = None
    service_date_to: date | None = None
    received_date: date | None = None
    interest: Money | None = None
    adjustments: list[Adjustment] = Field(default_factory=list)
    remark_codes: list[str] = Field(default_factory=list)
    services: list[ServicePayment] = Field(default_factory=list)
    drg_code: str | None = Field(default=None, max_length=4,
                                 description="CLP11: the DRG the payer priced the claim under")
    inpatient: InpatientAdjudication | None = Field(default=None, description="MIA")
    outpatient: OutpatientAdjudication | None = Field(default=None, description="MOA amounts")

    @property
    def all_adjustments(self) -> list[Adjustment]:
        """Claim-level then line-level adjustments."""
        result = list(self.adjustments)
        for service in self.services:
            result.extend(service.adjustments)
        return result

    @property
    def adjusted(self) -> Decimal:
        return total(a.amount for a in self.all_adjustments)

    def patient_share(self) -> Decimal:
        """Sum of PR adjustments (deductible, coinsurance, copay, non-covered to patient)."""
        return total(a.amount for a in self.all_adjustments
                     if a.group is AdjustmentGroup.PATIENT_RESPONSIBILITY)

    def is_balanced(self) -> bool:
        """CLP03 - CLP04 equals all claim- and line-level adjustments."""
        return self.charge - self.paid == self.adjusted

    @property
    def is_reversal(self) -> bool:
        return self.status is ClaimStatusCode.REVERSAL


class ProviderAdjustment(DomainModel):
    """One PLB reason/amount pair: not tied to a claim (interest, offsets, withholds).

    A positive amount reduces the payment; a negative amount increases it.
    """

    provider_id: str
    fiscal_period_date: date | None = None
    reason_code: str
    reference: str | None = None
    amount: Money


class PaymentMethod(StrEnum):
    """BPR04 payment method."""

    ACH = "ACH"
    CHECK = "CHK"
    FEDWIRE = "FWT"
    BOP = "BOP"
    NONE = "NON"


class PayerContactFunction(StrEnum):
    """PER01 contact function codes of the 835 payer loop 1000A (005010X221A1)."""

    BUSINESS = "CX"  # payer business contact (at most one)
    TECHNICAL = "BL"  # technical department (at least one; several allowed)
    WEB_SITE = "IC"  # information contact: the payer's web site (at most one)


class CommunicationQualifier(StrEnum):
    """PER03/PER05/PER07 communication number qualifiers X221A1 allows in loop 1000A."""

    PHONE = "TE"
    EXTENSION = "EX"  # telephone extension of the number before it
    EMAIL = "EM"
    FAX = "FX"
    URL = "UR"


class CommunicationNumber(DomainModel):
    """One qualifier/number pair of a PER segment."""

    qualifier: CommunicationQualifier = Field(
        description="PER03 / PER05 / PER07: communication number qualifier")
    number: str = Field(min_length=1, max_length=256,
                        description="PER04 / PER06 / PER08: the phone number, extension, "
                                    "e-mail address, fax number or URL, as written")


class PayerContactInfo(DomainModel):
    """One PER segment of the 835 payer loop 1000A: who to call at the payer, and how.

    X221A1 restricts which qualifiers each position takes (PER*CX: EM/FX/TE, then EX;
    PER*BL: EM/TE/UR first; PER*IC: only PER03 ``UR`` with the site's URL and no name); the
    model keeps the pairs in their order and leaves that check to the guide validators.
    Not PHI: these are the payer's own contact points.
    """

    function: PayerContactFunction = Field(description="PER01: contact function code "
                                                       "(CX business, BL technical, IC web site)")
    name: str | None = Field(default=None, max_length=60, description="PER02: contact name")
    numbers: list[CommunicationNumber] = Field(
        default_factory=list, max_length=3,
        description="PER03-PER08: up to three qualifier/number pairs, in segment order")

    def _first(self, qualifier: CommunicationQualifier) -> str | None:
        return next((n.number for n in self.numbers if n.qualifier is qualifier), None)

    @property
    def phone(self) -> str | None:
        """The first ``TE`` number."""
        return self._first(CommunicationQualifier.PHONE)

    @property
    def extension(self) -> str | None:
        """The first ``EX`` number."""
        return self._first(CommunicationQualifier.EXTENSION)

    @property
    def email(self) -> str | None:
        """The first ``EM`` number."""
        return self._first(CommunicationQualifier.EMAIL)

    @property
    def fax(self) -> str | None:
        """The first ``FX`` number."""
        return self._first(CommunicationQualifier.FAX)

    @property
    def url(self) -> str | None:
        """The first ``UR`` number."""
        return self._first(CommunicationQualifier.URL)


class Remittance(DomainModel):
    """One 835 transaction: one payment (or non-payment) from one payer to one payee."""

    trace_number: str = Field(description="TRN02: check or EFT trace number")
    payer_trace_id: str | None = Field(default=None, description="TRN03")
    handling_code: str = "I"
    payment_amount: Money
    credit_debit: str = "C"
    payment_method: PaymentMethod = PaymentMethod.CHECK
    payment_date: date | None = None
    production_date: date | None = None
    payer_name: str
    payer_id: str | None = None
    payer_address: Address | None = Field(default=None,
                                          description="1000A N3/N4: the payer's address")
    payer_contacts: list[PayerContactInfo] = Field(
        default_factory=list,
        description="1000A PER segments: business contact (PER*CX), technical contacts "
                    "(PER*BL) and web site (PER*IC); X12 encoders write them in that order")
    payee_name: str
    payee_npi: str | None = None
    payee_tax_id: str | None = None
    claims: list[ClaimPayment] = Field(default_factory=list)
    provider_adjustments: list[ProviderAdjustment] = Field(default_factory=list)

    @property
    def claims_paid(self) -> Decimal:
        return total(c.paid for c in self.claims)

    @property
    def provider_adjusted(self) -> Decimal:
        return total(p.amount for p in self.provider_adjustments)

    def balance_difference(self) -> Decimal:
        """BPR02 minus (claim payments - PLB adjustments); ``0.00`` when the 835 balances."""
        return self.payment_amount - (self.claims_paid - self.provider_adjusted)

    def is_balanced(self) -> bool:
        return self.balance_difference() == ZERO
