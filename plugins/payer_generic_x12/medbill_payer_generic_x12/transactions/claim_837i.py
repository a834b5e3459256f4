"""837I institutional claims, 005010X223A2: BillableClaim (kind ``institutional``) -> X12
and back.

The envelope, the submitter/receiver (1000A/B), the billing provider (2000A/2010AA), the
subscriber, payer and patient levels (2000B/2010BA/2010BB/2000C/2010CA) and the grouping of
claims into transaction sets are the 837P's (:mod:`.claim_837p`); what differs is the claim
and its lines:

=============================  =====================================================
Type of bill                   2300 CLM05: facility type code : A : frequency
Statement covers period        2300 DTP*434 RD8
Admission date and hour        2300 DTP*435 (DT with the hour, D8 without)
Discharge hour                 2300 DTP*096 TM
Admission type/source, status  2300 CL1
Diagnoses, POA                 2300 HI ABK (principal) and ABF (others), POA in HI0x-9
Admitting, reason, external    2300 HI ABJ, APR, ABN
DRG                            2300 HI DR
ICD-10-PCS procedures          2300 HI BBR (principal), BBQ (others), D8 date
Occurrence / span / value      2300 HI BH (D8), BI (RD8), BE (amount in HI0x-5)
Condition codes                2300 HI BG
Attending / operating / other  2310A NM1*71 (+PRV*AT), 2310B NM1*72, 2310C NM1*ZZ
Rendering / referring          2310D NM1*82, 2310F NM1*DN
Prior payers                   2320 SBR/CAS/AMT*D/OI, 2330A NM1*IL, 2330B NM1*PR/DTP*573
Prior payers' line results     2430 SVD (SVD04 revenue code)/CAS/DTP*573/AMT*EAF
Service lines                  2400 LX, SV2 (revenue code, HC:HCPCS, charge, UN, units),
                               DTP*472, REF*6R
=============================  =====================================================

A 2430 SVD always names the line's revenue code (SVD04, required); SVD03 carries the
procedure the payer adjudicated, unless it adjudicated the line under its revenue code
(``procedure_qualifier`` ``NU``, the 835's ``SVC01 NU:0120``): then SVD03 is left out.

Not carried by an 837I (a decoded claim has them at their defaults or derived): what the 837P
leaves out, plus the place of service (a decoded claim gets the one the facility type code
implies: :data:`PLACE_OF_SERVICE_BY_FACILITY`), unit type ``DA`` (days; read as units) and a
present-on-admission list of only exempt diagnoses (sent as no indicator at all, read as an
empty list).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

from medbill_core.api import (
    BillableClaim,
    ClaimKind,
    EntityType,
    Payer,
    Provider,
    Relationship,
    ServiceLine,
    UnitType,
    total,
)
from medbill_payer_generic_x12.code_verdicts import CodeVerdicts
from medbill_payer_generic_x12.construct import gc_paused
from medbill_payer_generic_x12.keep_as_sent import validate_keeping
from medbill_payer_generic_x12.transactions.claim_837p import (
    MAX_CLAIMS_PER_TRANSACTION,
    EncodedBatch,
    _address,
    _demographics,
    _encode,
    _finish_practice,
    _lenient_component,
    _line_number,
    _line_payer,
    _OtherPayer,
    _Person,
    _person_name,
    _person_position,
    _prior,
    _provider,
    _read_cas,
    _read_name,
    _require_address,
    _State,
    _validated,
    _write_line_adjudication,
    _write_other_payer,
    decode_claims_with_findings,
)
from medbill_payer_generic_x12.transactions.common import (
    DEFAULT_PARTIES,
    Parties,
    ccyymmdd,
    composite,
    date_period,
    el,
    ensure_transaction,
    money,
    opt,
    opt_decimal,
    payer_key_for,
    required,
)
from medbill_payer_generic_x12.x12.control import ControlNumberSource
from medbill_payer_generic_x12.x12.delimiters import Delimiters
from medbill_payer_generic_x12.x12.errors import (
    X12EncodeError,
    X12StructureError,
    X12ValueError,
    refused_fields,
)
from medbill_payer_generic_x12.x12.findings import Finding, FindingSeverity, X12FindingsError
from medbill_payer_generic_x12.x12.reader import Segment, Transaction
from medbill_payer_generic_x12.x12.values import (
    format_date,
    format_decimal,
    format_money,
    parse_ccyymmdd,
    parse_decimal,
)
from medbill_payer_generic_x12.x12.values import is_digits as _digits
from medbill_payer_generic_x12.x12.writer import TransactionWriter

VERSION = "005010X223A2"
#: HI composites per segment (C022 HI01..HI12)
_PER_HI = 12
#: The place of service a decoded claim keeps for reports (an 837I sends none): by the
#: facility type code's first digit (1 hospital, 2 skilled nursing, 3 home health, 7 clinic,
#: 8 special facility), refined for the bill classifications that differ.
PLACE_OF_SERVICE_BY_FACILITY = {"11": "21", "12": "21", "13": "22", "14": "22", "18": "21",
                                "21": "31", "22": "31", "23": "31", "32": "12", "33": "12",
                                "34": "12", "71": "72", "72": "65", "73": "50", "74": "62",
                                "75": "62", "76": "53", "77": "50", "81": "34", "82": "34",
                                "83": "24", "84": "24", "85": "21", "86": "56", "89": "22"}
_DEFAULT_PLACE_OF_SERVICE = "21"
_UNIT_CODES = {"UN": UnitType.UNITS.value, "DA": UnitType.UNITS.value}


def encode_837i(claims: Sequence[BillableClaim], *, parties: Parties = DEFAULT_PARTIES,
                control_numbers: ControlNumberSource | None = None,
                now: datetime | None = None, delimiters: Delimiters | None = None,
                max_claims_per_transaction: int = MAX_CLAIMS_PER_TRANSACTION,
                max_lines_per_claim: int = 50, line_breaks: bool = False) -> EncodedBatch:
    """Encode institutional claims into one interchange with one 837I functional group.

    :raises X12EncodeError: a claim cannot be expressed in an 837I (a professional claim, a
        self-pay claim, too many lines, an attending provider the provider table lacks ...).
        The message names the claim number and the segment/element, never PHI.
    """
    if not claims:
        raise X12EncodeError("at least one claim to encode")
    with gc_paused():
        return _encode(claims, parties, control_numbers, now, delimiters,
                       max_claims_per_transaction, max_lines_per_claim, line_breaks,
                       VERSION, _write_claim)


# -- encoding -------------------------------------------------------------------------------------

def _write_claim(w: TransactionWriter, billing_hl: int, bill: BillableClaim,
                 payer: Payer) -> None:
    if bill.claim.institutional is None:
        raise X12EncodeError("an institutional claim (kind institutional, with its details) "
                             "for an 837I", segment_id="CLM", element=5,
                             claim_number=bill.claim.claim_number)
    _write_subscriber(w, billing_hl, bill, payer)
    _write_claim_information(w, bill)


def _write_subscriber(w: TransactionWriter, billing_hl: int, bill: BillableClaim,
                      payer: Payer) -> None:
    """2000B/2010BA/2010BB and, for a patient who is not the subscriber, 2000C/2010CA. X223A2
    allows every 5010 relationship code in PAT01, so none is refused here."""
    coverage = bill.coverage
    assert coverage is not None  # group_claims refuses self-pay claims
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
        assert subscriber is not None  # Coverage requires one unless the patient is self
        _person_name(w, "IL", subscriber, "MI", coverage.member_id)
        if subscriber.address:
            _address(w, subscriber.address)
        if subscriber.birth_date:
            w.add("DMG", *_demographics(subscriber.birth_date, subscriber.sex))
    w.add("NM1", "PR", "2", payer.name, None, None, None, None, "PI", payer.payer_id)
    if payer.address:
        _address(w, payer.address)
    if not patient_is_subscriber:
        w.hl("23", subscriber_hl)
        w.add("PAT", coverage.relationship.value)
        _person_name(w, "QC", patient)
        _address(w, _require_address(bill, patient.address, "2010CA"))
        w.add("DMG", *_demographics(patient.birth_date, patient.sex))


def _write_claim_information(w: TransactionWriter, bill: BillableClaim) -> None:
    claim = bill.claim
    details = claim.institutional
    assert details is not None
    w.add("CLM", claim.claim_number, format_money(claim.total_charge), None, None,
          (details.facility_type_code, "A", claim.frequency.value), None,
          "A" if claim.accepts_assignment else "C", "Y" if claim.benefits_assigned else "N",
          "Y" if claim.release_of_information else "I")
    if details.discharge_hour is not None:
        w.add("DTP", "096", "TM", f"{details.discharge_hour:02d}00")
    w.add("DTP", "434", "RD8",
          f"{format_date(claim.service_date_from)}-{format_date(claim.service_date_to)}")
    if details.admission_date is not None:
        if details.admission_hour is not None:
            w.add("DTP", "435", "DT",
                  f"{format_date(details.admission_date)}{details.admission_hour:02d}00")
        else:
            w.add("DTP", "435", "D8", format_date(details.admission_date))
    w.add("CL1", details.admission_type, details.admission_source, details.patient_status)
    if claim.prior_authorization:
        w.add("REF", "G1", claim.prior_authorization)
    if claim.original_claim_reference:
        w.add("REF", "F8", claim.original_claim_reference)
    w.add("REF", "EA", bill.patient.account_number)
    _write_hi(w, bill)
    _write_providers(w, bill)
    for prior in bill.prior_adjudications:
        _write_other_payer(w, bill, prior, institutional=True)
    for line in claim.lines:
        _write_line(w, bill, line)


def _hi(w: TransactionWriter, composites: list[tuple[str | None, ...]]) -> None:
    """HI segments of at most twelve composites each (X223A2 repeats the code lists that
    need more: other diagnoses, procedures, occurrences, spans, values, conditions)."""
    for start in range(0, len(composites), _PER_HI):
        w.add("HI", *composites[start:start + _PER_HI])


def _diagnosis(qualifier: str, code: str, poa: str | None) -> tuple[str | None, ...]:
    if poa is None:
        return (qualifier, code)
    return (qualifier, code, None, None, None, None, None, None, poa)


def _write_hi(w: TransactionWriter, bill: BillableClaim) -> None:
    """The 2300 HI segments in X223A2 order: principal, admitting, reason for visit, external
    cause, DRG, other diagnoses, principal and other procedures, occurrence spans,
    occurrences, values, conditions."""
    claim = bill.claim
    details = claim.institutional
    assert details is not None
    poa = [value.value if value is not None else None for value in details.present_on_admission]
    poa += [None] * (len(claim.diagnoses) - len(poa))
    w.add("HI", _diagnosis("ABK", claim.diagnoses[0], poa[0]))
    if details.admitting_diagnosis:
        w.add("HI", ("ABJ", details.admitting_diagnosis))
    if details.reason_for_visit:
        w.add("HI", *[("APR", code) for code in details.reason_for_visit])
    if details.external_causes:
        w.add("HI", *[("ABN", code) for code in details.external_causes])
    if details.drg:
        w.add("HI", ("DR", details.drg))
    _hi(w, [_diagnosis("ABF", code, poa[index])
            for index, code in enumerate(claim.diagnoses[1:], start=1)])
    if details.principal_procedure:
        procedure = details.principal_procedure
        w.add("HI", ("BBR", procedure.code, "D8", format_date(procedure.procedure_date)))
    _hi(w, [("BBQ", procedure.code, "D8", format_date(procedure.procedure_date))
            for procedure in details.other_procedures])
    _hi(w, [("BI", span.code, "RD8", f"{format_date(span.date_from)}-{format_date(span.date_to)}")
            for span in details.occurrence_spans])
    _hi(w, [("BH", occurrence.code, "D8", format_date(occurrence.occurrence_date))
            for occurrence in details.occurrences])
    _hi(w, [("BE", value.code, None, None, format_money(value.amount))
            for value in details.values])
    _hi(w, [("BG", code) for code in details.condition_codes])


def _named(bill: BillableClaim, npi: str | None, provider: Provider | None,
           loop: str, role: str) -> Provider | None:
    """The provider for an NPI the claim's details name; an NPI without its provider record
    cannot be sent (NM103, the name, is required)."""
    if npi is None:
        return None
    if provider is None or provider.npi != npi:
        raise X12EncodeError(f"the {role}'s provider record (loop {loop} needs the name of "
                             f"the NPI the claim gives)", segment_id="NM1", element=3,
                             claim_number=bill.claim.claim_number)
    if provider.entity_type is not EntityType.PERSON:
        raise X12EncodeError(f"an {role} who is a person (loop {loop} NM102 = 1)",
                             segment_id="NM1", element=2, claim_number=bill.claim.claim_number)
    return provider


def _write_providers(w: TransactionWriter, bill: BillableClaim) -> None:
    details = bill.claim.institutional
    assert details is not None
    attending = _named(bill, details.attending_provider_npi, bill.attending_provider,
                       "2310A", "attending provider")
    if attending is not None:
        w.add("NM1", "71", "1", attending.last_name, attending.first_name, None, None, None,
              "XX", attending.npi)
        if attending.taxonomy:
            w.add("PRV", "AT", "PXC", attending.taxonomy)
    for entity, npi, provider, loop, role in (
            ("72", details.operating_provider_npi, bill.operating_provider, "2310B",
             "operating physician"),
            ("ZZ", details.other_operating_provider_npi, bill.other_operating_provider,
             "2310C", "other operating physician")):
        found = _named(bill, npi, provider, loop, role)
        if found is not None:
            w.add("NM1", entity, "1", found.last_name, found.first_name, None, None, None,
                  "XX", found.npi)
    if bill.rendering_provider:
        rendering = _named(bill, bill.rendering_provider.npi, bill.rendering_provider,
                           "2310D", "rendering provider")
        assert rendering is not None
        w.add("NM1", "82", "1", rendering.last_name, rendering.first_name, None, None, None,
              "XX", rendering.npi)
    if bill.referring_provider:
        referring = _named(bill, bill.referring_provider.npi, bill.referring_provider,
                           "2310F", "referring provider")
        assert referring is not None
        w.add("NM1", "DN", "1", referring.last_name, referring.first_name, None, None, None,
              "XX", referring.npi)


def _write_line(w: TransactionWriter, bill: BillableClaim, line: ServiceLine) -> None:
    if line.revenue_code is None:
        raise X12EncodeError("a revenue code on every line of an 837I (SV201)",
                             segment_id="SV2", element=1, claim_number=bill.claim.claim_number)
    if line.unit_type is not UnitType.UNITS:
        raise X12EncodeError("units (UN) on an institutional line: SV204 has no minutes",
                             segment_id="SV2", element=4, claim_number=bill.claim.claim_number)
    w.add("LX", str(line.line_number))
    procedure: tuple[str | None, ...] | None = None
    if line.procedure_code:
        modifiers = line.modifiers
        procedure = ("HC", line.procedure_code, *modifiers, *([None] * (4 - len(modifiers))),
                     line.description)
    w.add("SV2", line.revenue_code, procedure, format_money(line.charge), "UN",
          format_decimal(line.units))
    if line.service_date_to and line.service_date_to != line.service_date_from:
        w.add("DTP", "472", "RD8",
              f"{format_date(line.service_date_from)}-{format_date(line.service_date_to)}")
    else:
        w.add("DTP", "472", "D8", format_date(line.service_date_from))
    if line.line_control_number:
        w.add("REF", "6R", line.line_control_number)
    for prior in bill.prior_adjudications:
        for adjudication in prior.lines_for(line.line_number):
            _write_line_adjudication(w, bill, prior, adjudication, line.revenue_code)


# -- decoding -------------------------------------------------------------------------------------

@dataclass(slots=True)
class _InstitutionalParts:
    """What the decoder has read of one claim (loop 2300 and below)."""

    clm: Segment
    clm_index: int
    references: dict[str, str] = field(default_factory=dict)
    statement: tuple[date, date] | None = None
    admission: tuple[date, int | None] | None = None
    discharge_hour: int | None = None
    cl1: Segment | None = None
    diagnoses: list[str] = field(default_factory=list)
    poa: list[str | None] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    providers: dict[str, _Person] = field(default_factory=dict)
    attending_taxonomy: str | None = None
    others: list[_OtherPayer] = field(default_factory=list)
    lines: list[dict[str, Any]] = field(default_factory=list)
    #: the component separator its composites are read with (ISA16, unless a lenient read
    #: found the sender used another)
    component: str = ":"
    #: where each value was read (for positioned findings): (segment index, HI element) of
    #: each diagnosis, in the claim's order; of the other HI codes by (details field, its
    #: index in the list, 0 for a single code); the CL1 and each line's SV2 index
    diagnosis_positions: list[tuple[int, int]] = field(default_factory=list)
    code_positions: dict[tuple[str, int], tuple[int, int]] = field(default_factory=dict)
    cl1_index: int | None = None
    attending_taxonomy_index: int | None = None
    line_indexes: list[int] = field(default_factory=list)


#: 2310 NM101 -> the role it names
_PROVIDER_ROLES = {"71": "attending", "72": "operating", "ZZ": "other_operating",
                   "82": "rendering", "DN": "referring"}


def decode_837i(text: str, *, payer_key: Callable[[str], str] = payer_key_for,
                adapter: str = "generic_x12", strict: bool = True) -> list[BillableClaim]:
    """Every claim of every 837I transaction set in ``text``.

    :param payer_key: gives the payer key for a payer ID (837Is carry IDs, not medbill keys).
    :param strict: refuse the document when a claim breaks a business rule (an NPI check
        digit, an ICD-9 qualifier, a ZIP code...); ``False`` returns the claims with such
        values kept as sent (see :func:`decode_837i_findings` for the findings).
    :raises X12Error: for malformed input, naming the segment and element
        (:class:`~medbill_payer_generic_x12.x12.findings.X12FindingsError` for broken rules).
    """
    claims, findings = decode_837i_findings(text, payer_key=payer_key, adapter=adapter)
    if strict and findings:
        raise X12FindingsError(findings)
    return claims


def decode_837i_findings(text: str, *, payer_key: Callable[[str], str] = payer_key_for,
                         adapter: str = "generic_x12", check_codes: bool = False,
                         lenient: bool = False) -> tuple[list[BillableClaim], list[Finding]]:
    """The claims of a structurally sound 837I and the positioned findings about them.

    A value that breaks a business rule (a check digit, a code's form, an ICD-9 qualifier)
    is kept as sent with a finding; a claim whose data cannot be kept that way (a code an
    enumeration lacks, a required record missing) is left out, with findings saying why.

    :param check_codes: also find ICD-10-CM diagnoses and ICD-10-PCS procedures that are well
        formed but not valid on their date (the packaged, date-aware code sets).
    :param lenient: read past envelope count and control number mismatches, and composites
        written with another component separator than ISA16's (each a finding).

    :raises X12Error: for malformed structure, naming the segment and element.
    """
    return decode_claims_with_findings(text, decode_837i_transaction, payer_key=payer_key,
                                       adapter=adapter, check_codes=check_codes,
                                       lenient=lenient)


def decode_837i_transaction(transaction: Transaction, *,
                            payer_key: Callable[[str], str] = payer_key_for,
                            adapter: str = "generic_x12",
                            findings: list[Finding] | None = None,
                            check_codes: bool = False,
                            lenient: bool = False) -> Iterator[BillableClaim]:
    """Claims of one 837I transaction set, as they are completed (streaming).

    :param findings: where business-rule findings go (claims then keep such values as sent);
        without it a broken rule refuses the transaction set with a positioned X12 error.
    """
    from pydantic import ValidationError

    try:
        yield from _claims_of(transaction, payer_key, adapter, findings, check_codes, lenient)
    except ValidationError as exc:  # a value no element check caught: still positioned
        raise X12ValueError(f"valid {refused_fields(exc)}",
                            segment_index=transaction.segment_index) from None


def _claims_of(transaction: Transaction, payer_key: Callable[[str], str], adapter: str,
               findings: list[Finding] | None, check_codes: bool,
               lenient: bool) -> Iterator[BillableClaim]:
    ensure_transaction(transaction, "837", ("005010X223",))
    component = transaction.delimiters.component
    state = _State()
    verdicts = CodeVerdicts() if check_codes and findings is not None else None

    def build(parts: _InstitutionalParts) -> Iterator[BillableClaim]:
        built = _build_claim(transaction, state, parts, payer_key, adapter, findings,
                             verdicts)
        if built is not None:
            yield built

    claim: _InstitutionalParts | None = None
    other: _OtherPayer | None = None
    person: _Person | None = None
    line: dict[str, Any] | None = None
    svd: dict[str, Any] | None = None
    for segment in transaction.segments():
        tag = segment[0]
        if tag == "HL":
            if claim is not None:
                yield from build(claim)
                claim = None
            state = _next_level(transaction, segment, state, findings)
            person = None
            continue
        if tag == "CLM":
            if claim is not None:
                yield from build(claim)
            if lenient and findings is not None and component not in el(segment, 5):
                component = _lenient_component(transaction, segment, component, findings)
            claim = _InstitutionalParts(segment, transaction.segment_index, component=component)
            other = line = svd = person = None
            continue
        if claim is None:
            person = _read_header_segment(transaction, segment, state, person)
            continue
        if tag == "LX":
            other = svd = person = None
            line = {"line_number": _line_number(transaction, segment)}
            claim.lines.append(line)
        elif line is not None:
            svd = _read_line_segment(transaction, segment, component, claim, line, svd)
        elif tag == "SBR":
            other = _OtherPayer(segment, transaction.segment_index)
            claim.others.append(other)
            person = None
        elif other is not None:
            person = _read_other_payer_segment(transaction, segment, other, person)
        else:
            person = _read_claim_segment(transaction, segment, component, claim, person,
                                         findings)
    if claim is not None:
        yield from build(claim)


def _next_level(transaction: Transaction, segment: Segment, state: _State,
                findings: list[Finding] | None) -> _State:
    level = required(transaction, segment, 3, "HL03 hierarchical level code")
    if level == "20":
        state = _State()
        state.loop = "2000A"
    elif level == "22":
        _finish_practice(transaction, state, findings)
        fresh = _State()
        fresh.practice_parts, fresh.practice = state.practice_parts, state.practice
        fresh.billing_address, fresh.pay_to = state.billing_address, state.pay_to
        fresh.practice_failed = state.practice_failed
        fresh.taxonomy_index, fresh.tax_id_index = state.taxonomy_index, state.tax_id_index
        fresh.loop = "2000B"
        state = fresh
    elif level == "23":
        state.loop = "2000C"
        state.patient = _Person()
    else:
        raise transaction.error(X12ValueError, "HL03 level 20, 22 or 23", segment, 3,
                                ack_code="7")
    return state


def _read_header_segment(transaction: Transaction, segment: Segment, state: _State,
                         person: _Person | None) -> _Person | None:
    """A segment of loops 2000A-2010CA (before the first CLM of a subscriber or patient)."""
    tag = segment[0]
    if tag == "PRV" and state.loop == "2000A":
        state.practice_parts["taxonomy"] = el(segment, 3)
        state.taxonomy_index = transaction.segment_index
    elif tag == "SBR":
        state.sbr = segment
        state.sbr_index = transaction.segment_index
    elif tag == "PAT":
        if state.loop == "2000C":
            state.pat = segment
    elif tag == "NM1":
        entity = required(transaction, segment, 1, "NM101 entity identifier code")
        person = _read_name(segment)
        person.nm1_index = transaction.segment_index
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
    elif tag in ("N3", "N4", "DMG"):
        _read_person_detail(transaction, segment, person)
    elif tag == "REF":
        if state.loop == "2000A" and el(segment, 1) in ("EI", "SY"):
            state.practice_parts["tax_id"] = required(transaction, segment, 2,
                                                      "REF02 reference identification")
            state.tax_id_index = transaction.segment_index
    elif tag == "PER" and state.loop == "2000A" and person is state.billing_address:
        state.practice_parts["contact_name"] = opt(segment, 2)
        if el(segment, 3) == "TE":
            state.practice_parts["phone"] = el(segment, 4)
    return person


def _read_person_detail(transaction: Transaction, segment: Segment,
                        person: _Person | None) -> None:
    if person is None:
        return
    tag = segment[0]
    if tag == "N3":
        person.address_lines = (required(transaction, segment, 1, "N301 address"),
                                opt(segment, 2))
        person.n3_index = transaction.segment_index
    elif tag == "N4":
        person.city_state_zip = (el(segment, 1), el(segment, 2), el(segment, 3))
        person.n4_index = transaction.segment_index
    else:
        person.birth_date = ccyymmdd(transaction, segment, 2, "DMG02 birth date")
        person.sex = el(segment, 3) or "U"


def _read_claim_segment(transaction: Transaction, segment: Segment, component: str,
                        claim: _InstitutionalParts, person: _Person | None,
                        findings: list[Finding] | None) -> _Person | None:
    """A segment of loops 2300/2310 (after CLM, before any 2320 or 2400)."""
    tag = segment[0]
    if tag == "DTP":
        _read_claim_date(transaction, segment, claim)
    elif tag == "CL1":
        claim.cl1 = segment
        claim.cl1_index = transaction.segment_index
    elif tag == "REF":
        claim.references[el(segment, 1)] = required(transaction, segment, 2,
                                                    "REF02 reference identification")
    elif tag == "HI":
        _read_hi(transaction, segment, component, claim, findings)
    elif tag == "NM1":
        entity = required(transaction, segment, 1, "NM101 entity identifier code")
        role = _PROVIDER_ROLES.get(entity)
        person = _read_name(segment) if role else None
        if role and person is not None:
            person.nm1_index = transaction.segment_index
            claim.providers[role] = person
    elif tag == "PRV" and person is not None and person is claim.providers.get("attending"):
        claim.attending_taxonomy = el(segment, 3)
        claim.attending_taxonomy_index = transaction.segment_index
    return person


def _read_claim_date(transaction: Transaction, segment: Segment,
                     claim: _InstitutionalParts) -> None:
    qualifier = el(segment, 1)
    if qualifier == "434":
        start, end = date_period(transaction, segment, 2, "DTP03 statement dates")
        claim.statement = (start, end or start)
    elif qualifier == "435":
        claim.admission = _admission(transaction, segment)
    elif qualifier == "096":
        claim.discharge_hour = _hour(transaction, segment, el(segment, 3), "DTP03 discharge hour")


def _hour(transaction: Transaction, segment: Segment, text: str, what: str) -> int:
    """The hour of an HHMM time (the minutes are not kept: the UB-04 codes hours)."""
    if len(text) != 4 or not _digits(text) or int(text[:2]) > 23 or int(text[2:]) > 59:
        raise transaction.error(X12ValueError, f"{what} as HHMM", segment, 3, ack_code="8")
    return int(text[:2])


def _admission(transaction: Transaction, segment: Segment) -> tuple[date, int | None]:
    qualifier = el(segment, 2)
    text = required(transaction, segment, 3, "DTP03 admission date")
    if qualifier == "DT" and len(text) == 12:
        day = parse_ccyymmdd(text[:8])
        if day is not None:
            return day, _hour(transaction, segment, text[8:], "DTP03 admission hour")
    elif qualifier == "D8":
        day = parse_ccyymmdd(text)
        if day is not None:
            return day, None
    else:
        raise transaction.error(X12ValueError, "DTP02 date format DT or D8", segment, 2,
                                ack_code="7")
    raise transaction.error(X12ValueError, "DTP03 admission date as CCYYMMDD (D8) or "
                            "CCYYMMDDHHMM (DT)", segment, 3, ack_code="8")


def _hi_date(transaction: Transaction, segment: Segment, position: int,
             parts: list[str]) -> tuple[date, date | None]:
    """HI0x-3/-4: a D8 date or an RD8 range of a composite."""
    qualifier = parts[2] if len(parts) > 2 else ""
    text = parts[3] if len(parts) > 3 else ""
    if qualifier == "D8":
        day = parse_ccyymmdd(text)
        if day is not None:
            return day, None
    elif qualifier == "RD8":
        start_text, _, end_text = text.partition("-")
        start, end = parse_ccyymmdd(start_text), parse_ccyymmdd(end_text)
        if start is not None and end is not None:
            return start, end
    raise transaction.error(X12ValueError, f"HI{position:02d}-4 date as D8 CCYYMMDD or RD8 "
                            "CCYYMMDD-CCYYMMDD", segment, position, ack_code="8")


#: ICD-9-CM qualifiers (X223A2 lists them for claims with services before 2015-10-01) -> the
#: ICD-10 qualifier that replaced each: diagnoses (CM) and procedures (PCS)
_ICD9_QUALIFIERS = {"BK": "ABK", "BF": "ABF", "BJ": "ABJ", "PR": "APR", "BN": "ABN",
                    "BR": "BBR", "BQ": "BBQ"}
_ICD9_PROCEDURES = frozenset({"BR", "BQ"})


def _read_hi(transaction: Transaction, segment: Segment, component: str,
             claim: _InstitutionalParts, findings: list[Finding] | None) -> None:
    details = claim.details
    index = transaction.segment_index
    for position in range(1, len(segment)):
        parts = composite(segment, position, component)
        if len(parts) < 2 or not parts[1]:
            if parts:
                raise transaction.error(
                    X12StructureError, f"HI{position:02d} as qualifier{component}code (the "
                    f"component separator of ISA16 is {component!r})", segment, position,
                    ack_code="1")
            continue
        qualifier, code = parts[0], parts[1]
        if qualifier in _ICD9_QUALIFIERS:
            _icd9_qualifier(index, qualifier, position, findings)
        where = (index, position)
        if qualifier in ("ABK", "BK", "ABF", "BF"):
            if qualifier in ("ABK", "BK") and claim.diagnoses:
                claim.diagnoses.insert(0, code)  # the principal first, wherever it came
                claim.poa.insert(0, _poa(parts))
                claim.diagnosis_positions.insert(0, where)
            else:
                claim.diagnoses.append(code)
                claim.poa.append(_poa(parts))
                claim.diagnosis_positions.append(where)
        elif qualifier in ("ABJ", "BJ"):
            details["admitting_diagnosis"] = code
            claim.code_positions["admitting_diagnosis", 0] = where
        elif qualifier in ("APR", "PR"):
            _append(claim, "reason_for_visit", code, where)
        elif qualifier in ("ABN", "BN"):
            _append(claim, "external_causes", code, where)
        elif qualifier == "DR":
            details["drg"] = code
            claim.code_positions["drg", 0] = where
        elif qualifier in ("BBR", "BR", "CAH", "BBQ", "BQ"):
            day, _ = _hi_date(transaction, segment, position, parts)
            procedure = {"code": code, "procedure_date": day}
            if qualifier in ("BBQ", "BQ"):
                _append(claim, "other_procedures", procedure, where)
            else:
                details["principal_procedure"] = procedure
                claim.code_positions["principal_procedure", 0] = where
        elif qualifier == "BI":
            start, end = _hi_date(transaction, segment, position, parts)
            _append(claim, "occurrence_spans",
                    {"code": code, "date_from": start, "date_to": end or start}, where)
        elif qualifier == "BH":
            day, _ = _hi_date(transaction, segment, position, parts)
            _append(claim, "occurrences", {"code": code, "occurrence_date": day}, where)
        elif qualifier == "BE":
            text = parts[4] if len(parts) > 4 else ""
            amount = parse_decimal(text) if text else None
            if amount is None:
                raise transaction.error(X12ValueError, f"HI{position:02d}-5 value amount as a "
                                        "decimal number", segment, position, ack_code="6")
            _append(claim, "values", {"code": code, "amount": amount}, where)
        elif qualifier == "BG":
            _append(claim, "condition_codes", code, where)
        # TC (home health treatment codes) and unknown qualifiers: not carried


def _append(claim: _InstitutionalParts, name: str, value: Any, where: tuple[int, int]) -> None:
    """``value`` added to the details list ``name``, its position kept for findings."""
    values = claim.details.setdefault(name, [])
    claim.code_positions[name, len(values)] = where
    values.append(value)


def _icd9_qualifier(index: int, qualifier: str, position: int,
                    findings: list[Finding] | None) -> None:
    """HIPAA has required ICD-10 since 2015-10-01: an ICD-9 qualifier is a rule broken, not
    a structure (the code is read; its form is checked as an ICD-10 code)."""
    system = "ICD-10-PCS" if qualifier in _ICD9_PROCEDURES else "ICD-10-CM"
    finding = Finding(f"{system} qualifier {_ICD9_QUALIFIERS[qualifier]} ({qualifier} is "
                      "ICD-9-CM, not accepted for services since 2015-10-01)",
                      segment_index=index, segment_id="HI", element=position, component=1)
    if findings is None:
        raise X12FindingsError([finding])
    findings.append(finding)


def _poa(parts: list[str]) -> str | None:
    return parts[8] if len(parts) > 8 and parts[8] else None


def _read_other_payer_segment(transaction: Transaction, segment: Segment, other: _OtherPayer,
                              person: _Person | None) -> _Person | None:
    """A segment of loops 2320/2330 (MIA/MOA and the 2330C-I secondary providers are not
    carried)."""
    tag = segment[0]
    if tag == "CAS":
        other.adjustments.extend(_read_cas(transaction, segment))
    elif tag == "AMT":
        if el(segment, 1) == "D":
            other.paid = money(transaction, segment, 2, "AMT02 payer paid amount")
    elif tag == "NM1":
        entity = el(segment, 1)
        person = _read_name(segment)
        person.nm1_index = transaction.segment_index
        if entity == "IL":
            other.subscriber = person
        elif entity == "PR":
            other.payer = person
        else:
            person = None
    elif tag in ("N3", "N4"):
        _read_person_detail(transaction, segment, person)
    elif tag == "DTP" and el(segment, 1) == "573":
        other.paid_date = ccyymmdd(transaction, segment, 3, "DTP03 remittance date")
    return person


def _read_line_segment(transaction: Transaction, segment: Segment, component: str,
                       claim: _InstitutionalParts, line: dict[str, Any],
                       svd: dict[str, Any] | None) -> dict[str, Any] | None:
    """A segment of loops 2400/2410/2420/2430; the 2430 being read is returned."""
    tag = segment[0]
    if tag == "SV2":
        _read_sv2(transaction, segment, component, line)
        claim.line_indexes.append(transaction.segment_index)
    elif tag == "DTP":
        qualifier = el(segment, 1)
        if qualifier == "472" and svd is None:
            start, end = date_period(transaction, segment, 2, "DTP03 service date")
            line["service_date_from"] = start
            line["service_date_to"] = end
        elif qualifier == "573" and svd is not None:
            svd["adjudication_date"] = ccyymmdd(transaction, segment, 3,
                                                "DTP03 line remittance date")
    elif tag == "REF":
        if el(segment, 1) == "6R" and svd is None:
            line["line_control_number"] = required(transaction, segment, 2,
                                                   "REF02 line item control number")
    elif tag == "SVD":
        svd = _read_svd(transaction, segment, component, line)
        # _line_payer reads only ``others``, which the 837I's claim parts have too
        _line_payer(transaction, segment, cast(Any, claim), svd).lines.append(svd)
    elif tag == "CAS":
        if svd is not None:
            svd["adjustments"].extend(_read_cas(transaction, segment))
    elif tag == "AMT" and svd is not None and el(segment, 1) == "EAF":
        svd["remaining_patient_liability"] = money(transaction, segment, 2,
                                                   "AMT02 remaining patient liability")
    return svd


def _read_sv2(transaction: Transaction, segment: Segment, component: str,
              line: dict[str, Any]) -> None:
    line["revenue_code"] = required(transaction, segment, 1, "SV201 revenue code")
    procedure = composite(segment, 2, component)
    if procedure:
        if len(procedure) < 2 or not procedure[1]:
            raise transaction.error(X12StructureError, "SV202-2 procedure code (required "
                                    "with SV202)", segment, 2, 2, ack_code="1")
        line["procedure_code"] = procedure[1]
        line["modifiers"] = [modifier for modifier in procedure[2:6] if modifier]
        line["description"] = procedure[6] if len(procedure) > 6 and procedure[6] else None
    line["charge"] = money(transaction, segment, 3, "SV203 line charge")
    unit = required(transaction, segment, 4, "SV204 unit code")
    if unit not in _UNIT_CODES:
        raise transaction.error(X12ValueError, "SV204 unit code DA or UN", segment, 4,
                                ack_code="7")
    line["unit_type"] = _UNIT_CODES[unit]
    units = opt_decimal(transaction, segment, 5, "SV205 units")
    if units is None:
        required(transaction, segment, 5, "SV205 service unit count")
    line["units"] = units


def _read_svd(transaction: Transaction, segment: Segment, component: str,
              line: dict[str, Any]) -> dict[str, Any]:
    required(transaction, segment, 1, "SVD01 other payer primary identifier")
    revenue_code = required(transaction, segment, 4, "SVD04 revenue code")
    procedure = composite(segment, 3, component)
    if procedure and (len(procedure) < 2 or not procedure[1]):
        raise transaction.error(X12StructureError, "SVD03-2 procedure code (required with "
                                "SVD03)", segment, 3, ack_code="1")
    units = opt_decimal(transaction, segment, 5, "SVD05 paid service unit count")
    if units is None:
        required(transaction, segment, 5, "SVD05 paid service unit count")
    bundled = opt(segment, 6)
    if bundled is not None and not _digits(bundled):
        raise transaction.error(X12ValueError, "SVD06 as a whole number", segment, 6,
                                ack_code="6")
    return {"line_number": line["line_number"],
            "procedure_qualifier": procedure[0] if procedure else "NU",
            "procedure_code": procedure[1] if procedure else revenue_code,
            "modifiers": [modifier for modifier in procedure[2:6] if modifier],
            "paid_amount": money(transaction, segment, 2, "SVD02 service line paid amount"),
            "paid_units": units, "bundled_line_number": int(bundled) if bundled else None,
            "adjustments": [], "adjudication_date": None, "remaining_patient_liability": None}


def _build_claim(transaction: Transaction, state: _State, parts: _InstitutionalParts,
                 payer_key: Callable[[str], str], adapter: str,
                 findings: list[Finding] | None = None,
                 verdicts: CodeVerdicts | None = None) -> BillableClaim | None:
    """The claim of ``parts``; ``verdicts``: find codes not valid on their date."""
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
    if len(location) < 3 or location[1] != "A" or len(location[0]) != 2:
        raise X12StructureError("CLM05 facility type code : A : frequency code",
                                segment_index=parts.clm_index, segment_id="CLM", element=5,
                                ack_code="1")
    if parts.statement is None:
        raise X12StructureError("DTP*434 statement dates (required)",
                                segment_index=parts.clm_index, segment_id="DTP",
                                ack_code="3")
    if parts.cl1 is None:
        raise X12StructureError("CL1 institutional claim code (required)",
                                segment_index=parts.clm_index, segment_id="CL1", ack_code="3")
    if not parts.diagnoses:
        raise X12StructureError("HI principal diagnosis ABK (required)",
                                segment_index=parts.clm_index, segment_id="HI", ack_code="3")
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
    if patient_person is None:
        raise X12StructureError("HL*23 patient loop 2000C before PAT",
                                segment_index=parts.clm_index, segment_id="PAT", ack_code="3")
    if patient_person.nm1_index is None:
        raise X12StructureError(
            "NM1*QC patient name in loop 2010CA (required)" if not patient_is_subscriber
            else "NM1*IL subscriber name in loop 2010BA (required)",
            segment_index=parts.clm_index, segment_id="NM1", ack_code="3")
    subscriber = None
    if not patient_is_subscriber:
        sub = state.subscriber
        subscriber = {"last_name": sub.last_name, "first_name": sub.first_name,
                      "middle_name": sub.middle_name, "birth_date": sub.birth_date,
                      "sex": sub.sex or "U", "address": sub.address()}
    coverage = {"payer_key": key, "order": el(sbr, 1), "member_id": state.subscriber.identifier,
                "group_number": opt(sbr, 3), "group_name": opt(sbr, 4),
                "relationship": "18" if patient_is_subscriber else el(state.pat or [], 1),
                "subscriber": subscriber}
    patient = {"account_number": parts.references.get("EA") or claim_number,
               "last_name": patient_person.last_name, "first_name": patient_person.first_name,
               "middle_name": patient_person.middle_name, "suffix": patient_person.suffix,
               "birth_date": patient_person.birth_date, "sex": patient_person.sex or "U",
               "address": patient_person.address()}
    statement_from, statement_to = parts.statement
    lines = parts.lines
    if not lines:
        raise X12StructureError("at least one 2400 service line", segment_index=parts.clm_index,
                                segment_id="LX", ack_code="3")
    for line in lines:
        if "charge" not in line:
            raise X12StructureError("SV2 in each service line", segment_index=parts.clm_index,
                                    segment_id="LX", ack_code="3")
        # DTP*472 is situational (inpatient lines often go without): the statement period's
        # first day stands in, as the UB-04 leaves FL45 blank then
        line.setdefault("service_date_from", statement_from)
    providers = {role: _provider(person, parts.attending_taxonomy if role == "attending"
                                 else None, _ROLE_LOOPS[role], findings, claim_number)
                 for role, person in parts.providers.items()}
    details = dict(parts.details)
    details.update({
        "facility_type_code": location[0],
        "admission_date": parts.admission[0] if parts.admission else None,
        "admission_hour": parts.admission[1] if parts.admission else None,
        "discharge_hour": parts.discharge_hour,
        "admission_type": opt(parts.cl1, 1), "admission_source": opt(parts.cl1, 2),
        "patient_status": el(parts.cl1, 3),
        "attending_provider_npi": _npi(providers.get("attending")),
        "operating_provider_npi": _npi(providers.get("operating")),
        "other_operating_provider_npi": _npi(providers.get("other_operating")),
        "present_on_admission": parts.poa if any(parts.poa) else []})
    claim = {
        "claim_number": claim_number, "patient_id": 0, "payer_key": key,
        "kind": ClaimKind.INSTITUTIONAL.value,
        "billing_provider_npi": state.practice.npi if state.practice else None,
        "rendering_provider_npi": _npi(providers.get("rendering")),
        "referring_provider_npi": _npi(providers.get("referring")),
        "frequency": location[2], "original_claim_reference": parts.references.get("F8"),
        "place_of_service": PLACE_OF_SERVICE_BY_FACILITY.get(location[0],
                                                              _DEFAULT_PLACE_OF_SERVICE),
        "service_date_from": statement_from, "service_date_to": statement_to,
        "diagnoses": parts.diagnoses, "lines": lines,
        "prior_authorization": parts.references.get("G1"),
        "accepts_assignment": el(clm, 7) != "C", "benefits_assigned": el(clm, 8) != "N",
        "release_of_information": el(clm, 9) != "I", "institutional": details,
    }
    priors = []
    for other in parts.others:
        if other.paid is None and findings is not None:
            # X223A2: AMT*D only once the payer of this loop adjudicated the claim: other
            # coverage not yet adjudicated is no prior adjudication
            findings.append(Finding(
                "loop 2320 other payer without AMT*D (not adjudicated by it yet): medbill keeps "
                "prior payers' adjudications only, this other coverage is left out",
                segment_index=other.sbr_index, segment_id="SBR",
                severity=FindingSeverity.WARNING, claim_number=claim_number))
            continue
        # _prior reads only ``clm_index`` of the claim parts, which the 837I's have too
        priors.append(_prior(transaction, other, cast(Any, parts), patient_person, payer_key,
                             adapter))
    bill_data: dict[str, Any] = {
        "claim": claim, "practice": state.practice, "patient": patient, "coverage": coverage,
        "rendering_provider": providers.get("rendering"),
        "referring_provider": providers.get("referring"),
        "attending_provider": providers.get("attending"),
        "operating_provider": providers.get("operating"),
        "other_operating_provider": providers.get("other_operating"),
        "prior_adjudications": priors}
    if findings is None:
        bill_data["payer"] = _validated(transaction, Payer, payer_data, "2010BB payer")
        bill = _validated(transaction, BillableClaim, bill_data,
                          f"claim at segment {parts.clm_index}")
    else:
        kept_payer = validate_keeping(
            Payer, payer_data, what="2010BB payer", findings=findings,
            claim_number=claim_number,
            locate=lambda loc: _payer_position(state, loc))
        if kept_payer is None:
            return None
        bill_data["payer"] = kept_payer
        kept = validate_keeping(
            BillableClaim, bill_data, what="", findings=findings, claim_number=claim_number,
            locate=lambda loc: _claim_position(state, parts, patient_person, loc),
            reported=_REPORTED_ELSEWHERE)
        if kept is None:
            return None
        bill = kept
        if verdicts is not None:
            _code_findings(bill, parts, findings, verdicts)
    charge = money(transaction, clm, 2, "CLM02 total claim charge")
    if charge != total(line.charge for line in bill.claim.lines):
        raise X12ValueError("CLM02 equal to the sum of the SV203 line charges",
                            segment_index=parts.clm_index, segment_id="CLM", element=2)
    return bill


def _npi(provider: dict[str, Any] | None) -> str | None:
    return provider["npi"] if provider else None


#: 2310 role -> how a finding names it
_ROLE_LOOPS = {"attending": "attending (2310A)", "operating": "operating (2310B)",
               "other_operating": "other operating (2310C)", "rendering": "rendering (2310D)",
               "referring": "referring (2310F)"}
#: Claim fields copied from a record whose own finding already names the value (the
#: billing provider's, or a 2310 provider's NM109).
_REPORTED_ELSEWHERE = frozenset({
    "claim.billing_provider_npi", "claim.rendering_provider_npi",
    "claim.referring_provider_npi", "claim.institutional.attending_provider_npi",
    "claim.institutional.operating_provider_npi",
    "claim.institutional.other_operating_provider_npi"})
#: BillableClaim provider fields -> the 2310 role read into them
_PROVIDER_FIELDS = {"attending_provider": "attending", "operating_provider": "operating",
                    "other_operating_provider": "other_operating",
                    "rendering_provider": "rendering", "referring_provider": "referring"}
#: CL1 elements of the details read from it
_CL1_ELEMENTS = {"admission_type": 1, "admission_source": 2, "patient_status": 3}
#: 2310 NM109 of the details' provider NPIs
_NPI_ROLES = {"attending_provider_npi": "attending", "operating_provider_npi": "operating",
              "other_operating_provider_npi": "other_operating"}


def _payer_position(state: _State, loc: tuple[str | int, ...]
                    ) -> tuple[int | None, str | None, int | None]:
    """Where a 2010BB payer field was read; the loop 2000B's SBR when no NM1*PR was."""
    if state.payer.nm1_index is None:
        return state.sbr_index, "SBR", None
    address = loc[:1] == ("address",)
    return _person_position(state.payer, loc[1:] if address else loc, address)


def _claim_position(state: _State, parts: _InstitutionalParts, patient: _Person,
                    loc: tuple[str | int, ...]) -> tuple[int | None, str | None, int | None]:
    """Where the value at a BillableClaim error location was read (the CLM when unknown)."""
    index, segment_id, element = _read_at(state, parts, patient, loc)
    if index is None:  # a record the document left out (a provider without its NM1)
        return parts.clm_index, "CLM", None
    return index, segment_id, element


def _read_at(state: _State, parts: _InstitutionalParts, patient: _Person,
             loc: tuple[str | int, ...]) -> tuple[int | None, str | None, int | None]:
    head = loc[0] if loc else None
    rest = loc[1:]
    field_name = rest[0] if rest else None
    number = rest[1] if len(rest) > 1 and isinstance(rest[1], int) else None
    if (head == "claim" and field_name == "diagnoses" and number is not None
            and number < len(parts.diagnosis_positions)):
        index, element = parts.diagnosis_positions[number]
        return index, "HI", element
    if (head == "claim" and field_name == "lines" and number is not None
            and number < len(parts.line_indexes)):
        return parts.line_indexes[number], "SV2", None
    if head == "claim" and field_name == "institutional" and len(rest) > 1:
        return _details_position(parts, rest[1:])
    if head == "attending_provider" and field_name == "taxonomy":
        return parts.attending_taxonomy_index, "PRV", 3
    if head in _PROVIDER_FIELDS:
        person = parts.providers.get(_PROVIDER_FIELDS[str(head)])
        return _person_position(person, rest, False)
    if head == "patient":
        address = field_name == "address"
        return _person_position(patient, rest[1:] if address else rest, address)
    if head == "coverage" and field_name == "member_id":
        return state.subscriber.nm1_index, "NM1", 9
    if head == "coverage" and field_name == "subscriber":
        address = len(rest) > 1 and rest[1] == "address"
        return _person_position(state.subscriber, rest[2:] if address else rest[1:], address)
    return parts.clm_index, "CLM", None


def _details_position(parts: _InstitutionalParts, loc: tuple[str | int, ...]
                      ) -> tuple[int | None, str | None, int | None]:
    """Where an InstitutionalDetails field (``loc`` inside the details) was read."""
    name = str(loc[0])
    number = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else 0
    if name == "present_on_admission" and number < len(parts.diagnosis_positions):
        index, element = parts.diagnosis_positions[number]
        return index, "HI", element
    if name in _CL1_ELEMENTS:
        return parts.cl1_index, "CL1", _CL1_ELEMENTS[name]
    if name in _NPI_ROLES:
        person = parts.providers.get(_NPI_ROLES[name])
        return _person_position(person, ("npi",), False)
    where = parts.code_positions.get((name, number))
    if where is not None:
        return where[0], "HI", where[1]
    return parts.clm_index, "CLM", 5 if name == "facility_type_code" else None


def _code_findings(bill: BillableClaim, parts: _InstitutionalParts,
                   findings: list[Finding], verdicts: CodeVerdicts) -> None:
    """A finding per ICD-10-CM diagnosis and ICD-10-PCS procedure that is well formed but not
    valid on its date (both code sets are date-aware: codes change every October).

    Diagnoses are checked on the discharge date (the statement's last day) of an inpatient
    claim, as CMS groups a stay by it, else on the first date of service; a procedure on the
    date it was performed.
    """
    from medbill_core.api import CodeSystem

    claim = bill.claim
    details = claim.institutional
    assert details is not None
    on = claim.service_date_to if details.is_inpatient else claim.service_date_from
    number = claim.claim_number

    def check(system: CodeSystem, code: str, day: date, what: str,
              where: tuple[int, int] | None) -> None:
        reason = verdicts.problem(system, code, day)
        if reason is None:
            return  # valid, or malformed (that finding is already made)
        findings.append(Finding(f"{what}: {reason}", segment_index=where[0] if where else None,
                                segment_id="HI", element=where[1] if where else None,
                                claim_number=number))

    positions = parts.diagnosis_positions
    for count, code in enumerate(claim.diagnoses):
        check(CodeSystem.ICD10CM, code, on, f"diagnosis {count + 1}",
              positions[count] if count < len(positions) else None)
    if details.admitting_diagnosis:
        check(CodeSystem.ICD10CM, details.admitting_diagnosis, on, "admitting diagnosis",
              parts.code_positions.get(("admitting_diagnosis", 0)))
    for name, codes, what in (("reason_for_visit", details.reason_for_visit, "reason for visit"),
                              ("external_causes", details.external_causes, "external cause")):
        for count, code in enumerate(codes):
            check(CodeSystem.ICD10CM, code, on, f"{what} {count + 1}",
                  parts.code_positions.get((name, count)))
    if details.principal_procedure is not None:
        procedure = details.principal_procedure
        check(CodeSystem.ICD10PCS, procedure.code, procedure.procedure_date,
              "principal procedure", parts.code_positions.get(("principal_procedure", 0)))
    for count, procedure in enumerate(details.other_procedures):
        check(CodeSystem.ICD10PCS, procedure.code, procedure.procedure_date,
              f"other procedure {count + 1}", parts.code_positions.get(("other_procedures",
                                                                          count)))


__all__ = ["PLACE_OF_SERVICE_BY_FACILITY", "VERSION", "decode_837i", "decode_837i_findings",
           "decode_837i_transaction", "encode_837i"]
