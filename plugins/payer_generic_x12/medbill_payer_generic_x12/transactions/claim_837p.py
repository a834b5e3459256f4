"""837P professional claims, 005010X222A1: BillableClaim -> X12 and back.

Encoding groups claims by billing provider and payer: each group is one transaction set with
one 2000A billing provider level; every claim gets its own 2000B subscriber level (and a 2000C
patient level when the patient is not the subscriber). Groups larger than
``max_claims_per_transaction`` (the TR3 recommends at most 5,000 CLMs) are split.

Where medbill data lives in the 837P:

=============================  =====================================================
Practice                       2000A PRV*BI, 2010AA NM1*85/N3/N4/REF*EI/PER, 2010AB
Coverage / subscriber          2000B SBR, 2010BA NM1*IL/N3/N4/DMG
Payer                          2010BB NM1*PR (+N3/N4)
Patient (not subscriber)       2000C PAT, 2010CA NM1*QC/N3/N4/DMG
Patient account number         2300 REF*EA (medical record number)
Claim                          2300 CLM, REF*G1, REF*F8, HI (ABK/ABF)
Referring / rendering          2310A NM1*DN, 2310B NM1*82 + PRV*PE
Prior payers                   2320 SBR/CAS/AMT*D/OI, 2330A NM1*IL, 2330B NM1*PR/DTP*573
Prior payers' line results     2430 SVD/CAS/DTP*573/AMT*EAF under each line they answer
Service lines                  2400 LX, SV1, DTP*472, REF*6R
=============================  =====================================================

A prior payer that adjudicated line by line (``PriorPayerAdjudication.line_adjudications``)
gets a loop 2430 under each 2400 line it answered, after that line's own segments (2430 is the
last loop of 2400 that medbill writes, position 5400, after REF*6R at 4700), in prior-payer
order: SVD (SVD01 = the payer's 2330B NM109, SVD02 line paid, SVD03 HC:code:modifiers as the
payer adjudicated them, SVD05 paid units, SVD06 bundled/unbundled line), CAS (the line's
adjustments, grouped by group code, up to six triplets a segment, at most five segments),
DTP*573 (the line's date, else the payer's) and AMT*EAF (remaining patient liability, when
known). 2320 CAS then carries only the claim-level adjustments, and 2330B DTP*573 is left out
for that payer: X222A1 wants it only when loop 2430 DTP*573 is not used. Decoding reads the
2430s back; the payer's ``paid_date`` is then the latest of its 2430 dates (and of its 2330B
DTP*573, should a sender write both).

Not carried by an 837P (a decoded claim has them at their defaults): database ids,
``Claim.patient_id`` (0), claim state, patient phone/e-mail, coverage plan name and dates,
the referring provider's taxonomy, payer keys (derived from the payer ID by
:func:`~medbill_payer_generic_x12.transactions.common.payer_key_for`). The claim's service dates
are the span of its lines' dates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from medbill_core.api import (
    Address,
    BillableClaim,
    ClaimAdjustmentRef,
    EntityType,
    Patient,
    Payer,
    Practice,
    PriorLineAdjudication,
    PriorPayerAdjudication,
    Relationship,
    ServiceLine,
    Sex,
    Subscriber,
    UnitType,
    total,
)
from medbill_payer_generic_x12.code_verdicts import CodeVerdicts
from medbill_payer_generic_x12.construct import gc_paused
from medbill_payer_generic_x12.keep_as_sent import validate_keeping
from medbill_payer_generic_x12.transactions.common import (
    DEFAULT_PARTIES,
    Parties,
    ccyymmdd,
    composite,
    date_period,
    el,
    ensure_transaction,
    enum_value,
    money,
    new_interchange,
    opt,
    opt_decimal,
    payer_key_for,
    required,
)
from medbill_payer_generic_x12.x12.control import ControlNumberSource
from medbill_payer_generic_x12.x12.delimiters import Delimiters
from medbill_payer_generic_x12.x12.errors import (
    X12EncodeError,
    X12Error,
    X12StructureError,
    X12ValueError,
    refused_fields,
)
from medbill_payer_generic_x12.x12.findings import Finding, FindingSeverity, X12FindingsError
from medbill_payer_generic_x12.x12.reader import Segment, Transaction, X12Reader
from medbill_payer_generic_x12.x12.values import format_date, format_decimal, format_money
from medbill_payer_generic_x12.x12.values import is_digits as _digits
from medbill_payer_generic_x12.x12.writer import TransactionWriter

if TYPE_CHECKING:
    from pydantic import BaseModel

_Model = TypeVar("_Model", bound="BaseModel")

VERSION = "005010X222A1"
FUNCTIONAL_ID = "HC"
MAX_CLAIMS_PER_TRANSACTION = 5000
#: PAT01 codes X222A1 allows for a patient who is not the subscriber.
PATIENT_RELATIONSHIPS = frozenset({"01", "19", "20", "21", "39", "40"})
#: SBR02 codes X222A1 allows in loop 2320.
OTHER_SUBSCRIBER_RELATIONSHIPS = frozenset({"01", "18", "19", "20", "21", "39", "40", "53"})
_CAS_TRIPLETS_PER_SEGMENT = 6
#: CAS max use in loop 2430 (X222A1; 2320 has the same limit).
_CAS_SEGMENTS = 5


@dataclass(slots=True)
class EncodedBatch:
    """An encoded interchange and what is in it."""

    text: str
    control_number: str
    claim_numbers: list[str]
    transaction_count: int
    #: ``(claim number, element)`` of each value written transliterated to the X12 character
    #: set (accented letters ...), for the caller to report; never the value itself.
    transliterated: list[tuple[str | None, str]] = field(default_factory=list)


@dataclass(slots=True)
class _Group:
    practice: Practice
    payer: Payer
    claims: list[BillableClaim] = field(default_factory=list)


def group_claims(claims: Sequence[BillableClaim]) -> list[_Group]:
    """Claims grouped by billing provider and payer, in first-seen order."""
    groups: dict[tuple[str, str], list[_Group]] = {}
    ordered: list[_Group] = []
    for claim in claims:
        if claim.payer is None or claim.coverage is None:
            raise X12EncodeError("a payer and a coverage (a self-pay claim has no 837P)",
                                 claim_number=claim.claim.claim_number)
        key = (claim.practice.npi, claim.payer.payer_id)
        candidates = groups.setdefault(key, [])
        for group in candidates:
            # Identity first: callers usually share one Practice/Payer object across claims,
            # and comparing models field by field is what the grouping spent its time on.
            if ((group.practice is claim.practice or group.practice == claim.practice)
                    and (group.payer is claim.payer or group.payer == claim.payer)):
                group.claims.append(claim)
                break
        else:
            group = _Group(claim.practice, claim.payer, [claim])
            candidates.append(group)
            ordered.append(group)
    return ordered


def encode_837p(claims: Sequence[BillableClaim], *, parties: Parties = DEFAULT_PARTIES,
                control_numbers: ControlNumberSource | None = None,
                now: datetime | None = None, delimiters: Delimiters | None = None,
                max_claims_per_transaction: int = MAX_CLAIMS_PER_TRANSACTION,
                max_lines_per_claim: int = 50, line_breaks: bool = False) -> EncodedBatch:
    """Encode claims into one interchange with one 837P functional group.

    :raises X12EncodeError: a claim cannot be expressed in an 837P (self-pay, too many lines, a
        relationship code X222A1 does not allow, data holding a delimiter...). The message names
        the claim number and the segment/element, never PHI.
    """
    if not claims:
        raise X12EncodeError("at least one claim to encode")
    with gc_paused():
        return _encode(claims, parties, control_numbers, now, delimiters,
                       max_claims_per_transaction, max_lines_per_claim, line_breaks,
                       VERSION, _write_claim)


#: writes one claim's loops (2000B and below) into a transaction: ``(writer, billing HL,
#: claim, payer)``
ClaimWriter = Callable[[TransactionWriter, int, BillableClaim, Payer], None]


def _encode(claims: Sequence[BillableClaim], parties: Parties,
            control_numbers: ControlNumberSource | None, now: datetime | None,
            delimiters: Delimiters | None, max_claims_per_transaction: int,
            max_lines_per_claim: int, line_breaks: bool, version: str,
            write_claim: ClaimWriter) -> EncodedBatch:
    """The envelope shared by the 837P and the 837I (``version``): claims grouped by practice
    and payer, transaction sets of at most ``max_claims_per_transaction`` claims, each with its
    header and billing provider; ``write_claim`` writes each claim's own loops."""
    interchange = new_interchange(parties, control_numbers, now, delimiters, line_breaks)
    # the 999 names GS06, the TA1 ISA13: one number finds the batch from either
    group_handle = interchange.group(FUNCTIONAL_ID, version, same_control_number=True)
    claim_numbers: list[str] = []
    transliterated: list[tuple[str | None, str]] = []
    stamp = interchange.now
    for group in group_claims(claims):
        for start in range(0, len(group.claims), max_claims_per_transaction):
            chunk = group.claims[start:start + max_claims_per_transaction]
            writer = group_handle.transaction("837", version)
            _write_header(writer, parties, stamp)
            billing_hl = _write_billing_provider(writer, group.practice)
            for claim in chunk:
                writer.context_claim = claim.claim.claim_number
                if len(claim.claim.lines) > max_lines_per_claim:
                    raise X12EncodeError(
                        f"at most {max_lines_per_claim} service lines per claim (the payer's "
                        "limit)", segment_id="LX", claim_number=claim.claim.claim_number)
                write_claim(writer, billing_hl, claim, group.payer)
                claim_numbers.append(claim.claim.claim_number)
            writer.context_claim = None
            transliterated += writer.transliterated
    text = interchange.text()  # renders HL/ST/SE: they hold no text to transliterate
    return EncodedBatch(text, interchange.control_number, claim_numbers,
                        group_handle.transaction_count, transliterated)


# -- encoding -------------------------------------------------------------------------------------

def _write_header(w: TransactionWriter, parties: Parties, stamp: datetime) -> None:
    w.add("BHT", "0019", "00", w.control_number, format_date(stamp.date()),
          f"{stamp.hour:02d}{stamp.minute:02d}", "CH")
    w.add("NM1", "41", "2", parties.submitter_name, None, None, None, None, "46",
          parties.submitter_id)
    contact: list[str | None] = ["IC", parties.submitter_contact or parties.submitter_name]
    if parties.submitter_phone:
        contact += ["TE", parties.submitter_phone]
    if parties.submitter_email:
        contact += ["EM", parties.submitter_email]
    if len(contact) == 2:
        raise X12EncodeError("a submitter phone number or e-mail (1000A PER is required)",
                             segment_id="PER", element=3)
    w.add("PER", *contact)
    w.add("NM1", "40", "2", parties.receiver_name, None, None, None, None, "46",
          parties.receiver_id)


def _address(w: TransactionWriter, address: Address) -> None:
    w.add("N3", address.line1, address.line2)
    w.add("N4", address.city, address.state, address.postal_code)


def _write_billing_provider(w: TransactionWriter, practice: Practice) -> int:
    hl = w.hl("20")
    if practice.taxonomy:
        w.add("PRV", "BI", "PXC", practice.taxonomy)
    w.add("NM1", "85", "2", practice.name, None, None, None, None, "XX", practice.npi)
    _address(w, practice.address)
    w.add("REF", "EI", practice.tax_id)
    if practice.phone:
        w.add("PER", "IC", practice.contact_name, "TE", practice.phone)
    if practice.pay_to_address:
        w.add("NM1", "87", "2")
        _address(w, practice.pay_to_address)
    return hl


def _person_name(w: TransactionWriter, entity: str, person: Patient | Subscriber,
                 id_qualifier: str | None = None, identifier: str | None = None) -> None:
    suffix = person.suffix if isinstance(person, Patient) else None
    w.add("NM1", entity, "1", person.last_name, person.first_name, person.middle_name, None,
          suffix, id_qualifier, identifier)


def _demographics(birth_date: date, sex: Sex) -> tuple[str, str, str]:
    return ("D8", format_date(birth_date), sex.value)


def _require_address(claim: BillableClaim, address: Address | None, loop: str) -> Address:
    if address is None:
        raise X12EncodeError(f"an address for loop {loop} (N3/N4 are required there)",
                             segment_id="N3", claim_number=claim.claim.claim_number)
    return address


def _write_claim(w: TransactionWriter, billing_hl: int, bill: BillableClaim, payer: Payer) -> None:
    claim = bill.claim
    coverage = bill.coverage
    assert coverage is not None
    patient = bill.patient
    patient_is_subscriber = coverage.relationship is Relationship.SELF
    subscriber_hl = w.hl("22", billing_hl)
    w.add("SBR", coverage.order.value, "18" if patient_is_subscriber else None,
          coverage.group_number, coverage.group_name, None, None, None, None,
          payer.claim_filing_indicator)
    if patient_is_subscriber:
        _person_name(w, "IL", patient, "MI", coverage.member_id)
        _address(w, _require_address(bill, patient.address, "2010BA"))
        w.add("DMG", *_demographics(patient.birth_date, patient.sex))
    else:
        subscriber = coverage.subscriber
        assert subscriber is not None
        _person_name(w, "IL", subscriber, "MI", coverage.member_id)
        if subscriber.address:
            _address(w, subscriber.address)
        if subscriber.birth_date:
            w.add("DMG", *_demographics(subscriber.birth_date, subscriber.sex))
    w.add("NM1", "PR", "2", payer.name, None, None, None, None, "PI", payer.payer_id)
    if payer.address:
        _address(w, payer.address)
    if not patient_is_subscriber:
        relationship = coverage.relationship.value
        if relationship not in PATIENT_RELATIONSHIPS:
            raise X12EncodeError(
                "a patient relationship 837P allows in PAT01 (01, 19, 20, 21, 39, 40)",
                segment_id="PAT", element=1, claim_number=claim.claim_number)
        w.hl("23", subscriber_hl)
        w.add("PAT", relationship)
        _person_name(w, "QC", patient)
        _address(w, _require_address(bill, patient.address, "2010CA"))
        w.add("DMG", *_demographics(patient.birth_date, patient.sex))
    _write_claim_information(w, bill)


def _write_claim_information(w: TransactionWriter, bill: BillableClaim) -> None:
    claim = bill.claim
    w.add("CLM", claim.claim_number, format_money(claim.total_charge), None, None,
          (claim.place_of_service, "B", claim.frequency.value), "Y",
          "A" if claim.accepts_assignment else "C", "Y" if claim.benefits_assigned else "N",
          "Y" if claim.release_of_information else "I")
    if claim.prior_authorization:
        w.add("REF", "G1", claim.prior_authorization)
    if claim.original_claim_reference:
        w.add("REF", "F8", claim.original_claim_reference)
    w.add("REF", "EA", bill.patient.account_number)
    codes: list[tuple[str, str]] = [("ABK" if index == 0 else "ABF", code)
                                    for index, code in enumerate(claim.diagnoses)]
    w.add("HI", *codes)
    if bill.referring_provider:
        provider = bill.referring_provider
        if provider.entity_type is not EntityType.PERSON:
            raise X12EncodeError("a referring provider who is a person (2310A NM102 = 1)",
                                 segment_id="NM1", element=2, claim_number=claim.claim_number)
        w.add("NM1", "DN", "1", provider.last_name, provider.first_name, None, None, None,
              "XX", provider.npi)
    if bill.rendering_provider:
        provider = bill.rendering_provider
        w.add("NM1", "82", provider.entity_type.value, provider.last_name,
              provider.first_name if provider.entity_type is EntityType.PERSON else None,
              None, None, None, "XX", provider.npi)
        if provider.taxonomy:
            w.add("PRV", "PE", "PXC", provider.taxonomy)
    for prior in bill.prior_adjudications:
        _write_other_payer(w, bill, prior)
    for line in claim.lines:
        _write_line(w, bill, line)


def _write_other_payer(w: TransactionWriter, bill: BillableClaim,
                       prior: PriorPayerAdjudication, *, institutional: bool = False) -> None:
    """Loops 2320/2330A/2330B of one prior payer; the 837I writes them the same way, but
    X223A2 allows every 5010 relationship code in SBR02."""
    coverage = prior.coverage
    relationship = coverage.relationship.value
    if not institutional and relationship not in OTHER_SUBSCRIBER_RELATIONSHIPS:
        raise X12EncodeError("an other-subscriber relationship 837P allows in 2320 SBR02",
                             segment_id="SBR", element=2, claim_number=bill.claim.claim_number)
    w.add("SBR", coverage.order.value, relationship, coverage.group_number, coverage.group_name,
          None, None, None, None, prior.payer.claim_filing_indicator)
    _write_cas(w, bill, prior.claim_adjustments, "2320")
    w.add("AMT", "D", format_money(prior.paid_amount))
    w.add("OI", None, None, "Y" if bill.claim.benefits_assigned else "N", None, None,
          "Y" if bill.claim.release_of_information else "I")
    if coverage.subscriber is None:
        _person_name(w, "IL", bill.patient, "MI", coverage.member_id)
    else:
        _person_name(w, "IL", coverage.subscriber, "MI", coverage.member_id)
        if coverage.subscriber.address:
            _address(w, coverage.subscriber.address)
    w.add("NM1", "PR", "2", prior.payer.name, None, None, None, None, "PI",
          prior.payer.payer_id)
    if prior.payer.address:
        _address(w, prior.payer.address)
    if not prior.line_adjudications:  # else each 2430 has its DTP*573 (X222A1/X223A2: not both)
        w.add("DTP", "573", "D8", format_date(prior.paid_date))


def _write_cas(w: TransactionWriter, bill: BillableClaim, adjustments: list[ClaimAdjustmentRef],
               loop: str) -> None:
    """CAS segments: triplets grouped by group code (first-seen order), six a segment. Loop
    2430 refuses more than five segments; 2320 writes them as it always has."""
    by_group: dict[str, list[ClaimAdjustmentRef]] = {}
    for adjustment in adjustments:
        by_group.setdefault(adjustment.group_code, []).append(adjustment)
    segments = sum(-(-len(group) // _CAS_TRIPLETS_PER_SEGMENT) for group in by_group.values())
    if loop == "2430" and segments > _CAS_SEGMENTS:
        raise X12EncodeError(f"at most {_CAS_SEGMENTS} CAS segments in loop {loop} (six "
                             "adjustments of one group code each)", segment_id="CAS",
                             claim_number=bill.claim.claim_number)
    for group_code, grouped in by_group.items():
        for start in range(0, len(grouped), _CAS_TRIPLETS_PER_SEGMENT):
            elements: list[str | None] = [group_code]
            for adjustment in grouped[start:start + _CAS_TRIPLETS_PER_SEGMENT]:
                elements += [adjustment.reason_code, format_money(adjustment.amount),
                             format_decimal(adjustment.quantity)
                             if adjustment.quantity is not None else None]
            w.add("CAS", *elements)


def _write_line_adjudication(w: TransactionWriter, bill: BillableClaim,
                             prior: PriorPayerAdjudication,
                             adjudication: PriorLineAdjudication,
                             revenue_code: str | None = None) -> None:
    """Loop 2430: one prior payer's adjudication of the current service line. An 837I names
    the line's revenue code in SVD04, and leaves SVD03 out when the payer paid under the
    revenue code alone (qualifier NU)."""
    procedure: tuple[str, ...] | None = None
    if adjudication.procedure_qualifier != "NU":
        procedure = (adjudication.procedure_qualifier, adjudication.procedure_code,
                     *adjudication.modifiers)
    bundled = adjudication.bundled_line_number
    w.add("SVD", prior.payer.payer_id, format_money(adjudication.paid_amount), procedure,
          revenue_code, format_decimal(adjudication.paid_units),
          str(bundled) if bundled else None)
    _write_cas(w, bill, adjudication.adjustments, "2430")
    w.add("DTP", "573", "D8", format_date(adjudication.adjudication_date or prior.paid_date))
    if adjudication.remaining_patient_liability is not None:
        w.add("AMT", "EAF", format_money(adjudication.remaining_patient_liability))


def _write_line(w: TransactionWriter, bill: BillableClaim, line: ServiceLine) -> None:
    w.add("LX", str(line.line_number))
    modifiers = line.modifiers
    procedure = ("HC", line.procedure_code, *modifiers, *([None] * (4 - len(modifiers))),
                 line.description)
    w.add("SV1", procedure, format_money(line.charge), line.unit_type.value,
          format_decimal(line.units), line.place_of_service, None,
          tuple(str(pointer) for pointer in line.diagnosis_pointers))
    if line.service_date_to and line.service_date_to != line.service_date_from:
        w.add("DTP", "472", "RD8",
              f"{format_date(line.service_date_from)}-{format_date(line.service_date_to)}")
    else:
        w.add("DTP", "472", "D8", format_date(line.service_date_from))
    if line.line_control_number:
        w.add("REF", "6R", line.line_control_number)
    for prior in bill.prior_adjudications:
        for adjudication in prior.lines_for(line.line_number):
            _write_line_adjudication(w, bill, prior, adjudication)


# -- decoding -------------------------------------------------------------------------------------

@dataclass(slots=True)
class _Person:
    last_name: str = ""
    first_name: str | None = None
    middle_name: str | None = None
    suffix: str | None = None
    identifier: str | None = None
    entity_type: str = "1"
    address_lines: tuple[str, str | None] | None = None
    city_state_zip: tuple[str, str, str] | None = None
    birth_date: date | None = None
    sex: str | None = None
    #: document indexes of its NM1, N3 and N4 (for positioned findings)
    nm1_index: int | None = None
    n3_index: int | None = None
    n4_index: int | None = None

    def address(self) -> dict[str, str | None] | None:
        """The N3/N4 address as data: validated with the record that holds it, so a bad
        value becomes a positioned X12 error rather than a bare validation error."""
        if self.address_lines is None or self.city_state_zip is None:
            return None
        city, state, postal_code = self.city_state_zip
        return {"line1": self.address_lines[0], "line2": self.address_lines[1], "city": city,
                "state": state, "postal_code": postal_code}


@dataclass(slots=True)
class _OtherPayer:
    sbr: Segment
    sbr_index: int | None = None
    adjustments: list[ClaimAdjustmentRef] = field(default_factory=list)
    paid: Decimal | None = None
    subscriber: _Person = field(default_factory=_Person)
    payer: _Person = field(default_factory=_Person)
    paid_date: date | None = None
    #: its loops 2430 (PriorLineAdjudication data), from every 2400 line
    lines: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class _ClaimParts:
    clm: Segment
    clm_index: int
    references: dict[str, str] = field(default_factory=dict)
    diagnoses: list[str] = field(default_factory=list)
    referring: _Person | None = None
    rendering: _Person | None = None
    rendering_taxonomy: str | None = None
    others: list[_OtherPayer] = field(default_factory=list)
    lines: list[dict[str, Any]] = field(default_factory=list)
    #: the component separator its composites are read with (ISA16, unless a lenient read
    #: found the sender used another)
    component: str = ":"
    #: (segment index, element) of each diagnosis, and the SV1 index of each line
    diagnosis_positions: list[tuple[int, int]] = field(default_factory=list)
    line_indexes: list[int] = field(default_factory=list)


def decode_837p(text: str, *, payer_key: Callable[[str], str] = payer_key_for,
                adapter: str = "generic_x12", strict: bool = True) -> list[BillableClaim]:
    """Every claim of every 837P transaction set in ``text``.

    :param payer_key: gives the payer key for a payer ID (837Ps carry IDs, not medbill keys).
    :param strict: refuse the document when a claim breaks a business rule (an NPI check
        digit, an ICD-9 qualifier, a ZIP code...); ``False`` returns the claims with such
        values kept as sent (see :func:`decode_837p_findings` for the findings).
    :raises X12Error: for malformed input, naming the segment and element
        (:class:`~medbill_payer_generic_x12.x12.findings.X12FindingsError` for broken rules).
    """
    claims, findings = decode_837p_findings(text, payer_key=payer_key, adapter=adapter)
    if strict and findings:
        raise X12FindingsError(findings)
    return claims


def decode_837p_findings(text: str, *, payer_key: Callable[[str], str] = payer_key_for,
                         adapter: str = "generic_x12", check_codes: bool = False,
                         lenient: bool = False) -> tuple[list[BillableClaim], list[Finding]]:
    """The claims of a structurally sound 837P and the positioned findings about them.

    A value that breaks a business rule (a check digit, a code's form, a field's length) is
    kept as sent with a finding; a claim whose data cannot be kept that way (a required loop
    left empty, a code an enumeration lacks) is left out, with findings saying why.

    :param check_codes: also find diagnoses that are well formed but not valid ICD-10-CM
        codes on the claim's first date of service (the packaged, date-aware code set).
    :param lenient: read past envelope count and control number mismatches, and an SV101
        written with another component separator than ISA16's (each a finding).

    :raises X12Error: for malformed structure, naming the segment and element.
    """
    return decode_claims_with_findings(text, decode_837p_transaction, payer_key=payer_key,
                                       adapter=adapter, check_codes=check_codes,
                                       lenient=lenient)


def decode_claims_with_findings(
        text: str, decode_transaction: Callable[..., Iterable[BillableClaim]], *,
        payer_key: Callable[[str], str], adapter: str, check_codes: bool,
        lenient: bool) -> tuple[list[BillableClaim], list[Finding]]:
    """Every transaction set of an 837 (P or I: ``decode_transaction``) decoded, with the
    findings of the reader (what a lenient read skipped) before the decoder's."""
    claims: list[BillableClaim] = []
    findings: list[Finding] = []
    skipped: list[X12Error] = []
    with gc_paused():
        for transaction in X12Reader(text, strict=not lenient,
                                     warnings=skipped).transactions():
            claims.extend(decode_transaction(transaction, payer_key=payer_key,
                                             adapter=adapter, findings=findings,
                                             check_codes=check_codes, lenient=lenient))
    return claims, [Finding.from_error(error) for error in skipped] + findings


class _State:
    """What the decoder has read so far in the hierarchy."""

    def __init__(self) -> None:
        self.practice_parts: dict[str, Any] = {}
        self.billing_address: _Person = _Person()
        self.pay_to: _Person | None = None
        self.practice: Practice | None = None
        self.sbr: Segment | None = None
        self.sbr_index: int | None = None
        self.subscriber = _Person()
        self.payer = _Person()
        self.pat: Segment | None = None
        self.patient: _Person | None = None
        self.loop = ""
        #: document indexes of loop 2000A's PRV and REF*EI (for positioned findings)
        self.taxonomy_index: int | None = None
        self.tax_id_index: int | None = None
        #: the practice could not be built (findings say why): its claims are left out
        self.practice_failed = False


def decode_837p_transaction(transaction: Transaction, *,
                            payer_key: Callable[[str], str] = payer_key_for,
                            adapter: str = "generic_x12",
                            findings: list[Finding] | None = None,
                            check_codes: bool = False,
                            lenient: bool = False) -> Iterator[BillableClaim]:
    """Claims of one 837P transaction set, as they are completed (streaming).

    :param findings: where business-rule findings go (claims then keep such values as sent);
        without it a broken rule refuses the transaction set with a positioned X12 error.
    """
    from pydantic import ValidationError

    try:
        yield from _claims_of(transaction, payer_key, adapter, findings, check_codes,
                              lenient)
    except ValidationError as exc:  # a value no element check caught: still positioned
        raise X12ValueError(f"valid {refused_fields(exc)}",
                            segment_index=transaction.segment_index) from None


def _claims_of(transaction: Transaction, payer_key: Callable[[str], str],
               adapter: str, findings: list[Finding] | None,
               check_codes: bool = False, lenient: bool = False) -> Iterator[BillableClaim]:
    ensure_transaction(transaction, "837", ("005010X222",))
    component = transaction.delimiters.component
    state = _State()
    state_findings = findings
    verdicts = CodeVerdicts() if check_codes and findings is not None else None

    def build(parts: _ClaimParts) -> Iterator[BillableClaim]:
        built = _build_claim(transaction, state, parts, payer_key, adapter, state_findings,
                             verdicts)
        if built is not None:
            yield built

    claim: _ClaimParts | None = None
    other: _OtherPayer | None = None
    person: _Person | None = None
    line: dict[str, Any] | None = None
    svd: dict[str, Any] | None = None  # the loop 2430 being read
    for segment in transaction.segments():
        tag = segment[0]
        if tag == "HL":
            if claim is not None:
                yield from build(claim)
                claim = None
            level = required(transaction, segment, 3, "HL03 hierarchical level code")
            if level == "20":
                state = _State()
                state.loop = "2000A"
            elif level == "22":
                _finish_practice(transaction, state, findings)
                previous = state
                state = _State()
                state.practice_parts, state.practice = previous.practice_parts, previous.practice
                state.billing_address, state.pay_to = previous.billing_address, previous.pay_to
                state.practice_failed = previous.practice_failed
                state.taxonomy_index = previous.taxonomy_index
                state.tax_id_index = previous.tax_id_index
                state.loop = "2000B"
            elif level == "23":
                state.loop = "2000C"
                state.patient = _Person()
            else:
                raise transaction.error(X12ValueError, "HL03 level 20, 22 or 23", segment, 3,
                                        ack_code="7")
            person = None
            continue
        if tag == "PRV" and state.loop == "2000A":
            state.practice_parts["taxonomy"] = el(segment, 3)
            state.taxonomy_index = transaction.segment_index
        elif tag == "SBR":
            if claim is None:
                state.sbr = segment
                state.sbr_index = transaction.segment_index
            else:
                other = _OtherPayer(segment, transaction.segment_index)
                claim.others.append(other)
                person = None
        elif tag == "PAT":
            # in loop 2000B (the subscriber is the patient) PAT only adds a death date or
            # weight; a patient apart from the subscriber is loop 2000C
            if state.loop == "2000C":
                state.pat = segment
        elif tag == "NM1":
            entity = required(transaction, segment, 1, "NM101 entity identifier code")
            person = _read_name(segment)
            person.nm1_index = transaction.segment_index
            if claim is None:
                if entity == "85":
                    state.billing_address = person
                elif entity == "87":
                    state.pay_to = person
                elif entity == "IL":
                    state.subscriber = person
                elif entity == "PR":
                    state.payer = person
                elif entity == "QC":
                    state.patient = person
                else:
                    person = None
            elif other is not None and entity == "IL":
                other.subscriber = person
            elif other is not None and entity == "PR":
                other.payer = person
            elif entity == "DN" and other is None:
                claim.referring = person
            elif entity == "82" and other is None:
                claim.rendering = person
            else:
                person = None
        elif tag == "N3":
            if person is not None:
                person.address_lines = (required(transaction, segment, 1, "N301 address"),
                                        opt(segment, 2))
                person.n3_index = transaction.segment_index
        elif tag == "N4":
            if person is not None:
                person.city_state_zip = (el(segment, 1), el(segment, 2), el(segment, 3))
                person.n4_index = transaction.segment_index
        elif tag == "DMG":
            if person is not None:
                person.birth_date = ccyymmdd(transaction, segment, 2, "DMG02 birth date")
                person.sex = el(segment, 3) or "U"
        elif tag == "REF":
            qualifier = el(segment, 1)
            value = required(transaction, segment, 2, "REF02 reference identification")
            if line is not None and qualifier == "6R":
                line["line_control_number"] = value
            elif claim is not None and other is None and line is None:
                claim.references[qualifier] = value
            elif claim is None and state.loop == "2000A" and qualifier in ("EI", "SY"):
                state.practice_parts["tax_id"] = value
                state.tax_id_index = transaction.segment_index
        elif tag == "PER":
            if claim is None and state.loop == "2000A" and person is state.billing_address:
                state.practice_parts["contact_name"] = opt(segment, 2)
                if el(segment, 3) == "TE":
                    state.practice_parts["phone"] = el(segment, 4)
        elif tag == "CLM":
            if claim is not None:
                yield from build(claim)
            if lenient and findings is not None and component not in el(segment, 5):
                component = _lenient_component(transaction, segment, component, findings)
            claim = _ClaimParts(segment, transaction.segment_index, component=component)
            other = None
            line = None
            svd = None
            person = None
        elif tag == "HI":
            if claim is not None and other is None:
                for position in range(1, len(segment)):
                    parts = composite(segment, position, component)
                    if len(parts) >= 2 and parts[0] in ("ABK", "ABF", "BK", "BF"):
                        claim.diagnoses.append(parts[1])
                        claim.diagnosis_positions.append((transaction.segment_index, position))
                        if parts[0] in ("BK", "BF"):
                            _icd9_qualifier(transaction, segment, position, findings)
        elif tag == "PRV":
            if claim is not None and claim.rendering is not None and person is claim.rendering:
                claim.rendering_taxonomy = el(segment, 3)
        elif tag == "CAS":
            if other is not None:
                other.adjustments.extend(_read_cas(transaction, segment))
            elif svd is not None:
                svd["adjustments"].extend(_read_cas(transaction, segment))
        elif tag == "AMT":
            if other is not None and el(segment, 1) == "D":
                other.paid = money(transaction, segment, 2, "AMT02 payer paid amount")
            elif svd is not None and el(segment, 1) == "EAF":
                svd["remaining_patient_liability"] = money(
                    transaction, segment, 2, "AMT02 remaining patient liability")
        elif tag == "DTP":
            qualifier = el(segment, 1)
            if line is not None and qualifier == "472":
                start, end = date_period(transaction, segment, 2, "DTP03 service date")
                line["service_date_from"] = start
                line["service_date_to"] = end
            elif other is not None and qualifier == "573":
                other.paid_date = ccyymmdd(transaction, segment, 3, "DTP03 remittance date")
            elif svd is not None and qualifier == "573":
                svd["adjudication_date"] = ccyymmdd(transaction, segment, 3,
                                                    "DTP03 line remittance date")
        elif tag == "LX":
            if claim is None:
                raise transaction.error(X12StructureError, "CLM before LX", segment)
            other = None
            person = None
            svd = None
            line = {"line_number": _line_number(transaction, segment)}
            claim.lines.append(line)
        elif tag == "SV1":
            if line is None or claim is None:
                raise transaction.error(X12StructureError, "LX before SV1", segment)
            _read_sv1(transaction, segment, component, line,
                      findings if lenient else None)
            claim.line_indexes.append(transaction.segment_index)
        elif tag == "SVD":
            if claim is None or line is None:
                raise transaction.error(X12StructureError, "LX before SVD", segment)
            svd = _read_svd(transaction, segment, component, line["line_number"])
            _line_payer(transaction, segment, claim, svd).lines.append(svd)
    if claim is not None:
        yield from build(claim)


def _lenient_component(transaction: Transaction, clm: Segment, component: str,
                       findings: list[Finding]) -> str:
    """The separator CLM05 (place:B:frequency) is written with, when not ISA16's: senders
    that write one composite so write them all. Said once per transaction set."""
    other = next((char for char in _OTHER_COMPONENTS if char in el(clm, 5)), None)
    if other is None:
        return component
    findings.append(Finding(f"composites split by the ISA16 component separator {component!r} "
                            f"(this transaction set uses '{other}'; read with that)",
                            segment_index=transaction.segment_index, segment_id="CLM",
                            element=5))
    return other


def _icd9_qualifier(transaction: Transaction, segment: Segment, position: int,
                    findings: list[Finding] | None) -> None:
    """HIPAA has required ICD-10-CM (ABK/ABF) since 2015-10-01: an ICD-9 qualifier is a rule
    broken, not a structure (the code is read; its form is checked as an ICD-10 code)."""
    finding = Finding("ICD-10-CM qualifier ABK/ABF (BK/BF are ICD-9-CM, not accepted for "
                      "services since 2015-10-01)", segment_index=transaction.segment_index,
                      segment_id=segment[0], element=position, component=1)
    if findings is None:
        raise X12FindingsError([finding])
    findings.append(finding)


def _read_name(segment: Segment) -> _Person:
    return _Person(last_name=el(segment, 3), first_name=opt(segment, 4),
                   middle_name=opt(segment, 5), suffix=opt(segment, 7),
                   identifier=opt(segment, 9), entity_type=el(segment, 2) or "1")


_GROUP_CODES = frozenset({"CO", "CR", "OA", "PI", "PR"})


def _read_cas(transaction: Transaction, segment: Segment) -> list[ClaimAdjustmentRef]:
    group = required(transaction, segment, 1, "CAS01 claim adjustment group code")
    if group not in _GROUP_CODES:
        raise transaction.error(X12ValueError, "CAS01 group code CO, CR, OA, PI or PR",
                                segment, 1, ack_code="7")
    adjustments = []
    for position in range(2, min(len(segment), 20), 3):
        reason = el(segment, position)
        if not reason:
            continue
        amount = money(transaction, segment, position + 1, f"CAS{position + 1:02d} amount")
        quantity = opt_decimal(transaction, segment, position + 2,
                               f"CAS{position + 2:02d} quantity")
        adjustments.append(ClaimAdjustmentRef(group_code=group, reason_code=reason,
                                              amount=amount, quantity=quantity))
    return adjustments


def _read_svd(transaction: Transaction, segment: Segment, component: str,
              line_number: int) -> dict[str, Any]:
    """Loop 2430 SVD as PriorLineAdjudication data (CAS, DTP*573 and AMT*EAF follow)."""
    required(transaction, segment, 1, "SVD01 other payer primary identifier")
    procedure = composite(segment, 3, component)
    if len(procedure) < 2 or not procedure[0] or not procedure[1]:
        raise transaction.error(X12StructureError, "SVD03-1 and SVD03-2 procedure qualifier "
                                "and code (required)", segment, 3, ack_code="1")
    units = opt_decimal(transaction, segment, 5, "SVD05 paid service unit count")
    if units is None:
        required(transaction, segment, 5, "SVD05 paid service unit count")
    bundled = opt(segment, 6)
    if bundled is not None and not _digits(bundled):
        raise transaction.error(X12ValueError, "SVD06 as a whole number", segment, 6,
                                ack_code="6")
    return {"line_number": line_number, "procedure_qualifier": procedure[0],
            "procedure_code": procedure[1],
            "modifiers": [modifier for modifier in procedure[2:6] if modifier],
            "paid_amount": money(transaction, segment, 2, "SVD02 service line paid amount"),
            "paid_units": units, "bundled_line_number": int(bundled) if bundled else None,
            "adjustments": [], "adjudication_date": None, "remaining_patient_liability": None}


def _line_payer(transaction: Transaction, segment: Segment, claim: _ClaimParts,
                svd: dict[str, Any]) -> _OtherPayer:
    """The 2320/2330B other payer a loop 2430 belongs to: the one whose 2330B NM109 is SVD01.
    When several 2320 loops name that payer, the first one without a 2430 for this line yet
    (else the last one: a payer that split the line sends several)."""
    candidates = [other for other in claim.others if other.payer.identifier == el(segment, 1)]
    if not candidates:
        raise transaction.error(X12ValueError, "SVD01 naming an other payer of loop 2330B "
                                "(its NM109)", segment, 1, ack_code="7")
    for other in candidates:
        if all(line["line_number"] != svd["line_number"] for line in other.lines):
            return other
    return candidates[-1]


def _line_number(transaction: Transaction, segment: Segment) -> int:
    text = required(transaction, segment, 1, "LX01 line number")
    if not _digits(text):
        raise transaction.error(X12ValueError, "LX01 as a whole number", segment, 1,
                                ack_code="6")
    return int(text)


def _read_sv1(transaction: Transaction, segment: Segment, component: str,
              line: dict[str, Any], lenient_findings: list[Finding] | None = None) -> None:
    """2400 SV1 into ``line``. ``lenient_findings``: read an SV101 written with another
    component separator (a finding says so) instead of refusing it."""
    procedure = composite(segment, 1, component)
    if len(procedure) < 2 or not procedure[1]:
        other = _other_component(procedure)
        if other is not None and lenient_findings is not None:
            lenient_findings.append(Finding(
                f"SV101 split by the ISA16 component separator {component!r} (it uses "
                f"'{other}'; read with that)", segment_index=transaction.segment_index,
                segment_id="SV1", element=1))
            procedure = procedure[0].split(other)
            component = other  # SV107 is written with it too
    if len(procedure) < 2 or not procedure[1]:
        raise transaction.error(X12StructureError, "SV101-2 procedure code (required; SV101 is "
                                f"not split by the ISA16 component separator {component!r})"
                                if _other_component(procedure) is not None
                                else "SV101-2 procedure code (required)",
                                segment, 1, 2, ack_code="1")
    line["procedure_code"] = procedure[1]
    line["modifiers"] = [modifier for modifier in procedure[2:6] if modifier]
    line["description"] = procedure[6] if len(procedure) > 6 and procedure[6] else None
    line["charge"] = money(transaction, segment, 2, "SV102 line charge")
    line["unit_type"] = enum_value(transaction, UnitType, el(segment, 3), segment, 3,
                                   "SV103 unit code")
    line["units"] = opt_decimal(transaction, segment, 4, "SV104 units")
    line["place_of_service"] = opt(segment, 5)
    pointers = composite(segment, 7, component)
    if not pointers or not all(_digits(pointer) for pointer in pointers if pointer):
        raise transaction.error(X12StructureError, "SV107 diagnosis pointers (required)",
                                segment, 7, ack_code="1")
    line["diagnosis_pointers"] = [int(pointer) for pointer in pointers if pointer]


#: Component separators other translators use: SV101 written with one of them (when ISA16
#: declares another) is named in the error.
_OTHER_COMPONENTS = frozenset(">:^|\\<")


def _other_component(parts: list[str]) -> str | None:
    """The other component separator a composite left whole holds, if any."""
    if len(parts) != 1:
        return None
    return next((char for char in _OTHER_COMPONENTS if char in parts[0]), None)


def _finish_practice(transaction: Transaction, state: _State,
                     findings: list[Finding] | None = None) -> None:
    if state.practice is not None or state.practice_failed:
        return
    billing = state.billing_address
    parts = state.practice_parts
    if not billing.last_name:
        raise X12StructureError("loop 2010AA billing provider (NM1*85) before the subscriber",
                                segment_index=transaction.segment_index, segment_id="HL",
                                ack_code="3")
    data = {
        "name": billing.last_name, "npi": billing.identifier, "tax_id": parts.get("tax_id"),
        "taxonomy": parts.get("taxonomy"), "address": billing.address(),
        "phone": parts.get("phone"), "contact_name": parts.get("contact_name"),
        "pay_to_address": state.pay_to.address() if state.pay_to else None,
    }
    if findings is None:
        state.practice = _validated(transaction, Practice, data, "2010AA billing provider")
        return

    def locate(loc: tuple[str | int, ...]) -> tuple[int | None, str | None, int | None]:
        head = loc[0] if loc else None
        if head == "tax_id":
            return state.tax_id_index, "REF", 2
        if head == "taxonomy":
            return state.taxonomy_index, "PRV", 3
        person = state.pay_to if head == "pay_to_address" and state.pay_to else billing
        return _person_position(person, loc[1:] if head in ("address", "pay_to_address")
                                else loc, head in ("address", "pay_to_address"))

    state.practice = validate_keeping(Practice, data, what="2010AA billing provider",
                                      locate=locate, findings=findings)
    state.practice_failed = state.practice is None


#: Person/address fields -> (segment, element) in NM1 or N3/N4.
_NAME_ELEMENTS = {"name": 3, "last_name": 3, "first_name": 4, "middle_name": 5, "suffix": 7,
                  "npi": 9, "member_id": 9}
_ADDRESS_ELEMENTS = {"line1": ("N3", 1), "line2": ("N3", 2), "city": ("N4", 1),
                     "state": ("N4", 2), "postal_code": ("N4", 3)}


def _person_position(person: _Person | None, loc: tuple[str | int, ...], address: bool
                     ) -> tuple[int | None, str | None, int | None]:
    """Where a person's field (or, ``address``, its address field) was read."""
    if person is None:
        return None, None, None
    name = loc[0] if loc and isinstance(loc[0], str) else None
    if address:
        segment_id, element = _ADDRESS_ELEMENTS.get(name or "", ("N3", None))
        index = person.n4_index if segment_id == "N4" else person.n3_index
        return (index or person.nm1_index), segment_id if index else "NM1", element
    return person.nm1_index, "NM1", _NAME_ELEMENTS.get(name or "")


def _validated(transaction: Transaction, model: type[_Model], data: dict[str, Any],
               what: str) -> _Model:
    from pydantic import ValidationError

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise X12ValueError(f"{what} with valid {refused_fields(exc)}",
                            segment_index=transaction.segment_index) from None


def _build_claim(transaction: Transaction, state: _State, parts: _ClaimParts,
                 payer_key: Callable[[str], str], adapter: str,
                 findings: list[Finding] | None = None,
                 verdicts: CodeVerdicts | None = None) -> BillableClaim | None:
    """The claim of ``parts``; ``verdicts``: find diagnoses not valid on the date."""
    _finish_practice(transaction, state, findings)
    clm = parts.clm
    claim_number = required(transaction, clm, 1, "CLM01 patient control number")
    if state.practice_failed and findings is not None:
        findings.append(Finding("claim left out: its billing provider (loop 2010AA) breaks "
                                "rules that cannot be kept as sent",
                                segment_index=parts.clm_index, segment_id="CLM",
                                claim_number=claim_number))
        return None
    location = composite(clm, 5, parts.component)
    if len(location) < 3:
        raise X12StructureError("CLM05 place of service : B : frequency code",
                                segment_index=parts.clm_index, segment_id="CLM", element=5,
                                ack_code="1")
    sbr = state.sbr
    if sbr is None:
        raise X12StructureError("SBR in loop 2000B", segment_index=parts.clm_index,
                                segment_id="SBR", ack_code="3")
    payer_id = state.payer.identifier or ""
    key = payer_key(payer_id)
    payer_data = {
        "key": key, "payer_id": payer_id, "name": state.payer.last_name, "adapter": adapter,
        "claim_filing_indicator": el(sbr, 9) or "CI", "address": state.payer.address()}
    patient_is_subscriber = state.pat is None
    patient_person = state.subscriber if patient_is_subscriber else state.patient
    if state.loop == "2000C" and state.pat is None:
        raise X12StructureError("PAT in patient loop 2000C (required)",
                                segment_index=parts.clm_index, segment_id="PAT", ack_code="3")
    if patient_person is None or patient_person.nm1_index is None:
        raise X12StructureError(
            "NM1*QC patient name in loop 2010CA (required)" if not patient_is_subscriber
            else "NM1*IL subscriber name in loop 2010BA (required)",
            segment_index=parts.clm_index, segment_id="NM1", ack_code="3")
    if patient_is_subscriber and el(sbr, 2) != "18" and findings is not None:
        # the subscriber is not said to be the patient, and no 2000C names another one
        findings.append(Finding("SBR02 = 18 (the subscriber is the patient) or a patient loop "
                                "2000C; read as the subscriber being the patient",
                                segment_index=state.sbr_index, segment_id="SBR", element=2,
                                claim_number=claim_number))
    relationship = "18" if patient_is_subscriber else el(state.pat or [], 1)
    subscriber = None
    if not patient_is_subscriber:
        sub = state.subscriber
        subscriber = {"last_name": sub.last_name, "first_name": sub.first_name,
                      "middle_name": sub.middle_name, "birth_date": sub.birth_date,
                      "sex": sub.sex or "U", "address": sub.address()}
    coverage = {"payer_key": key, "order": el(sbr, 1), "member_id": state.subscriber.identifier,
                "group_number": opt(sbr, 3), "group_name": opt(sbr, 4),
                "relationship": relationship, "subscriber": subscriber}
    patient = {"account_number": parts.references.get("EA") or claim_number,
               "last_name": patient_person.last_name, "first_name": patient_person.first_name,
               "middle_name": patient_person.middle_name, "suffix": patient_person.suffix,
               "birth_date": patient_person.birth_date, "sex": patient_person.sex or "U",
               "address": patient_person.address()}
    lines = parts.lines
    if not lines:
        raise X12StructureError("at least one 2400 service line", segment_index=parts.clm_index,
                                segment_id="LX", ack_code="3")
    for line in lines:
        if "procedure_code" not in line or "service_date_from" not in line:
            raise X12StructureError("SV1 and DTP*472 in each service line",
                                    segment_index=parts.clm_index, segment_id="LX",
                                    ack_code="3")
    starts = [line["service_date_from"] for line in lines]
    ends = [line["service_date_to"] or line["service_date_from"] for line in lines]
    rendering = _provider(parts.rendering, parts.rendering_taxonomy, "rendering (2310B)",
                          findings, claim_number)
    referring = _provider(parts.referring, None, "referring (2310A)", findings, claim_number)
    claim = {
        "claim_number": claim_number, "patient_id": 0, "payer_key": key,
        "billing_provider_npi": state.practice.npi if state.practice else None,
        "rendering_provider_npi": rendering["npi"] if rendering else None,
        "referring_provider_npi": referring["npi"] if referring else None,
        "frequency": location[2], "original_claim_reference": parts.references.get("F8"),
        "place_of_service": location[0], "service_date_from": min(starts),
        "service_date_to": max(ends), "diagnoses": parts.diagnoses, "lines": lines,
        "prior_authorization": parts.references.get("G1"),
        "accepts_assignment": el(clm, 7) != "C", "benefits_assigned": el(clm, 8) != "N",
        "release_of_information": el(clm, 9) != "I",
    }
    priors = []
    for other in parts.others:
        if other.paid is None and findings is not None:
            # X222A1: AMT*D only "when the claim has been adjudicated by the payer identified in
            # this loop": other coverage not yet adjudicated is no prior adjudication
            findings.append(Finding(
                "loop 2320 other payer without AMT*D (not adjudicated by it yet): medbill keeps "
                "prior payers' adjudications only, this other coverage is left out",
                segment_index=other.sbr_index, segment_id="SBR",
                severity=FindingSeverity.WARNING, claim_number=claim_number))
            continue
        priors.append(_prior(transaction, other, parts, patient_person, payer_key, adapter))
    if findings is None:
        payer = _validated(transaction, Payer, payer_data, "2010BB payer")
        bill = _validated(transaction, BillableClaim, {
            "claim": claim, "practice": state.practice, "patient": patient,
            "coverage": coverage, "payer": payer, "rendering_provider": rendering,
            "referring_provider": referring, "prior_adjudications": priors},
            f"claim at segment {parts.clm_index}")
    else:
        kept_payer = validate_keeping(
            Payer, payer_data, what="2010BB payer", findings=findings,
            claim_number=claim_number,
            locate=lambda loc: _person_position(state.payer, loc[1:] if loc[:1] == ("address",)
                                                else loc, loc[:1] == ("address",)))
        if kept_payer is None:
            return None
        kept = validate_keeping(
            BillableClaim, {
                "claim": claim, "practice": state.practice, "patient": patient,
                "coverage": coverage, "payer": kept_payer, "rendering_provider": rendering,
                "referring_provider": referring, "prior_adjudications": priors},
            what="", findings=findings, claim_number=claim_number,
            locate=lambda loc: _claim_position(state, parts, patient_person, loc),
            reported=_REPORTED_ELSEWHERE)
        if kept is None:
            return None
        bill = kept
        if verdicts is not None:
            _diagnosis_code_findings(bill, parts, findings, verdicts)
    charge = money(transaction, clm, 2, "CLM02 total claim charge")
    if charge != total(line.charge for line in bill.claim.lines):
        raise X12ValueError("CLM02 equal to the sum of the SV102 line charges",
                            segment_index=parts.clm_index, segment_id="CLM", element=2)
    return bill


def _diagnosis_code_findings(bill: BillableClaim, parts: _ClaimParts,
                             findings: list[Finding], verdicts: CodeVerdicts) -> None:
    """A finding per diagnosis that is well formed but not valid on the date of service
    (ICD-10-CM is date-aware: codes are added and deleted every October)."""
    from medbill_core.api import CodeSystem

    on = bill.claim.service_date_from
    for number, code in enumerate(bill.claim.diagnoses):
        reason = verdicts.problem(CodeSystem.ICD10CM, code, on)
        if reason is None:
            continue  # valid, or malformed (that finding is already made)
        index, element = (parts.diagnosis_positions[number]
                          if number < len(parts.diagnosis_positions) else (None, None))
        findings.append(Finding(f"diagnosis {number + 1}: {reason}", segment_index=index,
                                segment_id="HI", element=element,
                                claim_number=bill.claim.claim_number))


#: Claim fields copied from a record whose own finding already names the value.
_REPORTED_ELSEWHERE = frozenset({"claim.billing_provider_npi", "claim.rendering_provider_npi",
                                 "claim.referring_provider_npi"})


def _claim_position(state: _State, parts: _ClaimParts, patient: _Person,
                    loc: tuple[str | int, ...]) -> tuple[int | None, str | None, int | None]:
    """Where the value at a BillableClaim error location was read (the CLM when unknown)."""
    head = loc[0] if loc else None
    rest = loc[1:]
    field_name = rest[0] if rest else None
    if head == "claim" and field_name == "diagnoses" and len(rest) > 1:
        number = rest[1]
        if isinstance(number, int) and number < len(parts.diagnosis_positions):
            index, element = parts.diagnosis_positions[number]
            return index, "HI", element
    if head == "claim" and field_name == "lines" and len(rest) > 1:
        number = rest[1]
        if isinstance(number, int) and number < len(parts.line_indexes):
            return parts.line_indexes[number], "SV1", None
    people = {"patient": patient, "rendering_provider": parts.rendering,
              "referring_provider": parts.referring}
    if head in people:
        address = field_name == "address"
        return _person_position(people[head], rest[1:] if address else rest, address)
    if head == "coverage" and field_name == "member_id":
        return state.subscriber.nm1_index, "NM1", 9
    if head == "coverage" and field_name == "subscriber":
        address = len(rest) > 1 and rest[1] == "address"
        return _person_position(state.subscriber, rest[2:] if address else rest[1:], address)
    return parts.clm_index, "CLM", None


def _provider(person: _Person | None, taxonomy: str | None, role: str = "",
              findings: list[Finding] | None = None,
              claim_number: str | None = None) -> dict[str, Any] | None:
    if person is None:
        return None
    if person.identifier is None and findings is not None:
        # NM109 is situational (a provider without an NPI); medbill's providers have one
        findings.append(Finding(f"{role} provider NPI (NM108 XX, NM109): the provider is left "
                                "out", segment_index=person.nm1_index, segment_id="NM1",
                                element=9, claim_number=claim_number))
        return None
    return {"npi": person.identifier, "last_name": person.last_name,
            "first_name": person.first_name, "entity_type": person.entity_type,
            "taxonomy": taxonomy}


def _prior(transaction: Transaction, other: _OtherPayer, parts: _ClaimParts, patient: _Person,
           payer_key: Callable[[str], str], adapter: str) -> dict[str, Any]:
    sbr = other.sbr
    relationship = el(sbr, 2)
    payer_id = other.payer.identifier or ""
    key = payer_key(payer_id)
    subscriber = None
    if relationship != "18":
        sub = other.subscriber
        subscriber = {"last_name": sub.last_name, "first_name": sub.first_name,
                      "middle_name": sub.middle_name, "address": sub.address()}
    if any(line["adjudication_date"] is None for line in other.lines):
        raise X12StructureError("DTP*573 in each loop 2430", segment_index=parts.clm_index,
                                segment_id="SVD", ack_code="3")
    # X222A1 puts the date in 2430 instead of 2330B; a sender that wrote both gets the latest
    dates = [line["adjudication_date"] for line in other.lines]
    paid_date = max([*dates, *([other.paid_date] if other.paid_date else [])], default=None)
    if other.paid is None or paid_date is None:
        raise X12StructureError("AMT*D and DTP*573 for each prior payer in loop 2320/2330B "
                                "(DTP*573 in its loops 2430 when it adjudicated the lines)",
                                segment_index=parts.clm_index, segment_id="SBR",
                                ack_code="3")
    return {
        "payer": {"key": key, "payer_id": payer_id, "name": other.payer.last_name,
                  "adapter": adapter, "claim_filing_indicator": el(sbr, 9) or "CI",
                  "address": other.payer.address()},
        "coverage": {"payer_key": key, "order": el(sbr, 1),
                     "member_id": other.subscriber.identifier,
                     "group_number": opt(sbr, 3), "group_name": opt(sbr, 4),
                     "relationship": relationship, "subscriber": subscriber},
        "paid_amount": other.paid, "paid_date": paid_date,
        "claim_adjustments": other.adjustments, "line_adjudications": other.lines,
    }


__all__ = ["VERSION", "EncodedBatch", "decode_837p", "decode_837p_findings",
           "decode_837p_transaction", "encode_837p",
           "group_claims"]
