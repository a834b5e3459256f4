"""Inquiries as received: a 270 eligibility or 276 claim status request read from a file.

A practice builds an :class:`~medbill_core.domain.EligibilityRequest` or a
:class:`~medbill_core.domain.ClaimStatusRequest` from its own records (a practice address, a
patient's account number, a whole claim with diagnoses and lines). A 270 or 276 sent by someone
else carries far less: names and identifiers as the sender wrote them (an NPI or a payer-assigned
provider number, a member ID, perhaps no subscriber name at all). These models hold exactly what
the request said, so that a clearinghouse-side user can answer it, without inventing the rest.

Every person field (names, member IDs, birth dates) is PHI.
"""

from __future__ import annotations

from datetime import date

from pydantic import Field

from medbill_core.domain.base import DomainModel, phi_field
from medbill_core.domain.parties import EntityType, Sex
from medbill_core.money import Money


class InquiryParty(DomainModel):
    """A payer, information receiver or provider named by an NM1 segment (not PHI)."""

    entity_type: EntityType | None = None
    #: NM103: an organisation's name or a person's last name (absent when only an ID is sent)
    name: str | None = None
    first_name: str | None = None
    #: NM108 (``XX`` NPI, ``PI`` payer ID, ``SV`` service provider number, ``46`` ETIN, ...)
    id_qualifier: str | None = None
    identifier: str | None = None


class InquiryPerson(DomainModel):
    """A subscriber or dependent as the request names them."""

    last_name: str | None = phi_field(default=None)
    first_name: str | None = phi_field(default=None)
    middle_name: str | None = phi_field(default=None)
    #: NM109 with qualifier MI (a dependent usually has none: the subscriber's ID covers them)
    member_id: str | None = phi_field(default=None)
    birth_date: date | None = phi_field(default=None)
    sex: Sex | None = None


class EligibilityInquiry(DomainModel):
    """One subscriber's or dependent's inquiry in a received 270 (one per TRN).

    ``relationship`` is INS02 of a dependent loop (``None`` when the subscriber is the patient
    or the sender did not say). ``service_date_to`` is set for a date range (RD8).
    """

    trace_number: str
    #: TRN03: who assigned the trace number ("1" followed by an EIN, usually)
    trace_originator: str | None = None
    payer: InquiryParty
    provider: InquiryParty
    subscriber: InquiryPerson
    dependent: InquiryPerson | None = None
    relationship: str | None = None
    service_date: date | None = None
    service_date_to: date | None = None
    #: EQ01 service type codes in the order asked (several EQ segments, or repeats in one)
    service_types: list[str] = Field(default_factory=list)
    #: EQ02 procedure codes asked about (``HC:99213``-style composites as received, joined by ':')
    procedure_codes: list[str] = Field(default_factory=list)


class ClaimStatusInquiryLine(DomainModel):
    """A service line a 276 asks about (loop 2210D/E)."""

    #: SVC01 as qualifier and code (``HC:99203``, ``NU:0450``) with any modifiers
    procedure: str
    charge: Money | None = None
    units: str | None = None
    #: REF*FJ: the submitter's line item control number
    line_item_control_number: str | None = None
    service_date_from: date | None = None
    service_date_to: date | None = None


class ClaimStatusInquiry(DomainModel):
    """One claim asked about in a received 276 (one per TRN of loop 2200D/E).

    ``claim_number`` is REF*EJ, the patient control number (CLM01) of the claim;
    ``payer_claim_number`` REF*1K; ``bill_type`` REF*BLT (institutional claims).
    """

    trace_number: str
    payer: InquiryParty
    information_receiver: InquiryParty
    provider: InquiryParty
    subscriber: InquiryPerson
    dependent: InquiryPerson | None = None
    claim_number: str | None = None
    payer_claim_number: str | None = None
    bill_type: str | None = None
    prescription_number: str | None = None
    clearinghouse_trace_number: str | None = None
    total_charge: Money | None = None
    service_date_from: date | None = None
    service_date_to: date | None = None
    lines: list[ClaimStatusInquiryLine] = Field(default_factory=list)
