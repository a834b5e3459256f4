"""Hypothesis: domain -> X12 -> domain is identity for every transaction; malformed input raises
only positioned X12Errors."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import x12_factories as f
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from medbill_payer_generic_x12.codec import decode_document
from medbill_payer_generic_x12.transactions.acknowledgments import (
    claim_ack_status,
    decode_277ca,
    decode_999,
    encode_277ca,
    encode_999,
)
from medbill_payer_generic_x12.transactions.claim_837p import decode_837p, encode_837p
from medbill_payer_generic_x12.transactions.claim_status import decode_277, encode_277
from medbill_payer_generic_x12.transactions.eligibility import decode_271, encode_271
from medbill_payer_generic_x12.transactions.remittance_835 import decode_835, encode_835
from medbill_payer_generic_x12.x12 import X12Error
from x12_factories import FIXTURES

from medbill_core.api import (
    AckStatus,
    Address,
    Adjustment,
    AdjustmentGroup,
    Benefit,
    BenefitKind,
    BillableClaim,
    ClaimAcknowledgment,
    ClaimAcknowledgmentBatch,
    ClaimAckStatus,
    ClaimAdjustmentRef,
    ClaimPayment,
    ClaimStatus,
    ClaimStatusCode,
    ClaimStatusRequest,
    ClaimStatusResponse,
    CommunicationNumber,
    CommunicationQualifier,
    CoverageLevel,
    CoverageOrder,
    CoverageStatus,
    EligibilityIssue,
    EligibilityResponse,
    FunctionalAcknowledgment,
    Network,
    PayerContactFunction,
    PayerContactInfo,
    PaymentMethod,
    PriorLineAdjudication,
    PriorPayerAdjudication,
    ProviderAdjustment,
    Relationship,
    Remittance,
    SegmentError,
    ServicePayment,
    StatusCode,
    TransactionSetAck,
    total,
)

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

words = st.from_regex(r"[A-Z0-9](?:[A-Z0-9 ]{0,8}[A-Z0-9])?", fullmatch=True)
ids = st.from_regex(r"[A-Z0-9]{1,12}", fullmatch=True)
ids2 = st.from_regex(r"[A-Z0-9]{2,12}", fullmatch=True)
codes = st.from_regex(r"[A-Z0-9]{1,5}", fullmatch=True)
money = st.integers(-10_000_000, 10_000_000).map(lambda cents: Decimal(cents) / 100)
positive_money = st.integers(1, 10_000_000).map(lambda cents: Decimal(cents) / 100)
quantities = st.integers(1, 99999).map(lambda n: Decimal(n) / 10)
dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 12, 31))
#: Payment, production and service dates of an 835: the decoder refuses those more than a
#: year ahead of today (a date no payer could mean).
remittance_dates = st.dates(min_value=date(2000, 1, 1),
                            max_value=date.today() + timedelta(days=366))


def _canonical(adjustments: list[Adjustment]) -> list[Adjustment]:
    # Encoders group CAS triplets by group code (as X12 asks); first-seen group order is kept.
    order: dict[AdjustmentGroup, list[Adjustment]] = {}
    for item in adjustments:
        order.setdefault(item.group, []).append(item)
    return [item for group in order.values() for item in group]


adjustments = st.lists(st.builds(Adjustment, group=st.sampled_from(AdjustmentGroup),
                                 reason_code=codes, amount=money,
                                 quantity=st.none() | quantities), max_size=8).map(_canonical)

services = st.builds(
    ServicePayment, procedure_code=st.from_regex(r"[0-9]{5}", fullmatch=True),
    procedure_qualifier=st.sampled_from(["HC", "AD", "NU"]),
    modifiers=st.lists(st.from_regex(r"[0-9A-Z]{2}", fullmatch=True), max_size=4),
    charge=money, paid=money, units=st.none() | quantities,
    original_procedure_code=st.none() | st.from_regex(r"[0-9]{5}", fullmatch=True),
    service_date_from=st.none() | remittance_dates,
    service_date_to=st.none() | remittance_dates, line_control_number=st.none() | ids,
    allowed_amount=st.none() | money,
    adjustments=adjustments, remark_codes=st.lists(codes, max_size=3))

claim_payments = st.builds(
    ClaimPayment, claim_number=ids, status=st.sampled_from(ClaimStatusCode), charge=money,
    paid=money, patient_responsibility=st.none() | money,
    filing_indicator=st.none() | st.sampled_from(["12", "MB", "CI"]),
    payer_claim_number=st.none() | ids, facility_type=st.none() | st.sampled_from(["11", "13"]),
    frequency=st.none() | st.sampled_from(["1", "7"]), patient_last_name=st.none() | words,
    patient_first_name=st.none() | words, member_id=st.none() | ids,
    service_date_from=st.none() | remittance_dates,
    service_date_to=st.none() | remittance_dates, received_date=st.none() | dates,
    interest=st.none() | money, adjustments=adjustments,
    remark_codes=st.lists(codes, max_size=5), services=st.lists(services, max_size=3))

provider_adjustments = st.lists(st.builds(
    ProviderAdjustment, provider_id=ids, fiscal_period_date=dates,
    reason_code=st.sampled_from(["L6", "WO", "FB", "72", "CS"]), reference=st.none() | ids,
    amount=money), max_size=8)

addresses = st.builds(
    Address, line1=words, line2=st.none() | words, city=st.from_regex(r"[A-Z][A-Z ]{0,20}[A-Z]",
                                                                      fullmatch=True),
    state=st.from_regex(r"[A-Z]{2}", fullmatch=True),
    postal_code=st.from_regex(r"[0-9]{5}|[0-9]{9}", fullmatch=True))
contact_order = list(PayerContactFunction)  # CX, BL, IC: the order encoders write PER in
payer_contacts = st.lists(st.builds(
    PayerContactInfo, function=st.sampled_from(PayerContactFunction), name=st.none() | words,
    numbers=st.lists(st.builds(CommunicationNumber,
                               qualifier=st.sampled_from(CommunicationQualifier),
                               number=st.from_regex(r"[A-Z0-9][A-Z0-9@./-]{0,30}",
                                                    fullmatch=True)), max_size=3)),
    max_size=4).map(lambda contacts: sorted(contacts,
                                            key=lambda c: contact_order.index(c.function)))

remittances = st.builds(
    Remittance, trace_number=ids, payer_trace_id=st.none() | ids,
    handling_code=st.sampled_from(["I", "H", "P"]), payment_amount=money,
    credit_debit=st.sampled_from(["C", "D"]), payment_method=st.sampled_from(PaymentMethod),
    payment_date=st.none() | remittance_dates, production_date=st.none() | remittance_dates,
    payer_name=words,
    payer_id=st.none() | ids, payer_address=st.none() | addresses,
    payer_contacts=payer_contacts, payee_name=words,
    payee_npi=st.none() | st.just("1234567893"),
    payee_tax_id=st.none() | st.from_regex(r"[0-9]{9}", fullmatch=True),
    claims=st.lists(claim_payments, max_size=4), provider_adjustments=provider_adjustments)


@SETTINGS
@given(st.lists(remittances, min_size=1, max_size=3))
def test_835_round_trip(items: list[Remittance]) -> None:
    assert decode_835(encode_835(items)) == items


segment_errors = st.builds(
    SegmentError, segment_id=st.from_regex(r"[A-Z][A-Z0-9]{1,2}", fullmatch=True),
    segment_position=st.integers(1, 99999), loop_id=st.none() | st.from_regex(r"[0-9A-Z]{4}",
                                                                              fullmatch=True),
    segment_error_code=st.none() | st.sampled_from(["1", "2", "3", "8"]),
    element_position=st.none() | st.integers(1, 99),
    component_position=st.none() | st.integers(1, 99),
    element_error_code=st.none() | st.sampled_from(["1", "4", "7", "8"]),
).filter(lambda e: e.element_position is not None or (e.component_position is None
                                                      and e.element_error_code is None))


def _separate(errors: list[SegmentError]) -> list[SegmentError]:
    # Consecutive element errors of one segment share an IK3; a segment-only error stands alone.
    return [e for i, e in enumerate(errors)
            if not (i and e.element_position is None and errors[i - 1].segment_id == e.segment_id
                    and errors[i - 1].segment_position == e.segment_position)]


set_acks = st.builds(TransactionSetAck, transaction_set_id=st.sampled_from(["837", "270"]),
                     control_number=ids, status=st.sampled_from(AckStatus),
                     error_codes=st.lists(st.sampled_from(["1", "2", "3", "4", "5"]),
                                          max_size=5),
                     segment_errors=st.lists(segment_errors, max_size=4).map(_separate))
functional_acks = st.builds(
    FunctionalAcknowledgment, group_control_number=ids, functional_id=st.sampled_from(["HC",
                                                                                       "HS"]),
    status=st.sampled_from(AckStatus), transactions=st.lists(set_acks, max_size=3),
    included_count=st.integers(0, 99), received_count=st.integers(0, 99),
    accepted_count=st.integers(0, 99),
    error_codes=st.lists(st.sampled_from(["1", "2", "3", "4", "5", "6", "17", "26"]),
                         max_size=5))


@SETTINGS
@given(st.lists(functional_acks, min_size=1, max_size=3))
def test_999_round_trip(items: list[FunctionalAcknowledgment]) -> None:
    assert decode_999(encode_999(items)) == items


status_codes = st.lists(st.builds(StatusCode, category=st.from_regex(r"A[0-8]", fullmatch=True),
                                  code=st.from_regex(r"[0-9]{1,3}", fullmatch=True),
                                  entity=st.none() | st.sampled_from(["85", "PR", "IL"])),
                        min_size=1, max_size=5)


@st.composite
def claim_acks(draw: st.DrawFn, number: str) -> ClaimAcknowledgment:
    codes_ = draw(status_codes)
    return ClaimAcknowledgment(claim_number=number, status=claim_ack_status(codes_),
                               payer_claim_number=draw(st.none() | ids), status_codes=codes_,
                               effective_date=draw(st.none() | dates),
                               total_charge=draw(st.none() | money),
                               message=draw(st.none() | words))


@SETTINGS
@given(st.data())
def test_277ca_round_trip(data: st.DataObject) -> None:
    numbers = data.draw(st.lists(ids, min_size=1, max_size=4, unique=True))
    acks = [data.draw(claim_acks(number)) for number in numbers]
    batch = ClaimAcknowledgmentBatch(control_number=data.draw(ids),
                                     sender_name=data.draw(words), claims=acks)
    claims = {number: f.claim(number) for number in numbers}
    assert decode_277ca(encode_277ca([batch], claims)) == [batch]
    assert all(a.status in (ClaimAckStatus.ACCEPTED, ClaimAckStatus.REJECTED,
                            ClaimAckStatus.PENDING) for a in acks)


_KINDS = {"1": BenefitKind.ACTIVE_COVERAGE, "6": BenefitKind.INACTIVE,
          "A": BenefitKind.CO_INSURANCE, "B": BenefitKind.CO_PAYMENT,
          "C": BenefitKind.DEDUCTIBLE, "G": BenefitKind.OUT_OF_POCKET,
          "F": BenefitKind.LIMITATIONS, "I": BenefitKind.NON_COVERED}


@st.composite
def benefits(draw: st.DrawFn) -> Benefit:
    code = draw(st.sampled_from([*_KINDS, "L", "CB", "3"]))
    return Benefit(
        kind=_KINDS.get(code, BenefitKind.OTHER), code=code,
        service_types=draw(st.lists(st.sampled_from(["30", "98", "UC", "AL", "1"]),
                                    max_size=4)),
        coverage_level=draw(st.none() | st.sampled_from([CoverageLevel.INDIVIDUAL,
                                                         CoverageLevel.FAMILY,
                                                         CoverageLevel.EMPLOYEE_ONLY])),
        insurance_type=draw(st.none() | st.sampled_from(["PR", "MB", "HM"])),
        plan_description=draw(st.none() | words),
        time_period=draw(st.none() | st.sampled_from(["23", "27", "29"])),
        amount=draw(st.none() | money),
        percent=draw(st.none() | st.integers(0, 100).map(lambda n: Decimal(n) / 100)),
        network=draw(st.none() | st.sampled_from(Network)),
        authorization_required=draw(st.none() | st.booleans()),
        messages=draw(st.lists(words, max_size=2)))


@SETTINGS
@given(st.data())
def test_271_round_trip(data: st.DataObject) -> None:
    items = data.draw(st.lists(benefits(), max_size=6))
    issues = data.draw(st.lists(st.builds(EligibilityIssue,
                                          loop=st.sampled_from(["2100A", "2100C"]),
                                          reject_reason=st.sampled_from(["42", "72", "75"]),
                                          follow_up=st.none() | st.sampled_from(["C", "N"])),
                                max_size=2))
    issues.sort(key=lambda issue: issue.loop)  # payer-level (2100A) issues are written first
    codes_ = {b.code for b in items}
    status = (CoverageStatus.ACTIVE if codes_ & {"1", "2", "3", "4", "5"} else
              CoverageStatus.INACTIVE if "6" in codes_ else
              CoverageStatus.ERROR if issues else CoverageStatus.UNKNOWN)
    active = next((b for b in items if b.code in {"1", "3"} and b.plan_description), None)
    begin = data.draw(st.none() | dates)
    response = EligibilityResponse(
        trace_number="TRACE-0001", status=status, payer_name=data.draw(words),
        payer_id=data.draw(ids), plan_name=active.plan_description if active else None,
        group_number=data.draw(st.none() | ids), plan_begin=begin,
        plan_end=data.draw(st.none() | dates.filter(lambda d: begin is None or d >= begin)),
        benefits=items, issues=issues)
    assert decode_271(encode_271([(response, f.eligibility_request())])) == [response]


@SETTINGS
@given(st.lists(st.builds(
    ClaimStatus, claim_number=st.none() | ids, payer_claim_number=st.none() | ids,
    status_codes=status_codes, effective_date=st.none() | dates,
    total_charge=st.none() | money, paid_amount=st.none() | money, paid_date=st.none() | dates,
    check_number=st.none() | ids), min_size=1, max_size=3), words)
def test_277_round_trip(statuses: list[ClaimStatus], payer_name: str) -> None:
    response = ClaimStatusResponse(trace_number="T-1", payer_name=payer_name, claims=statuses)
    request = ClaimStatusRequest(trace_number="T-1", claim=f.claim())
    assert decode_277(encode_277([(response, request)])) == [response]


adjustment_refs = st.lists(st.builds(
    ClaimAdjustmentRef, group_code=st.sampled_from(["CO", "PR", "OA"]), reason_code=codes,
    amount=positive_money, quantity=st.none() | quantities), max_size=7)


def _group_order(adjustment: ClaimAdjustmentRef) -> int:
    # Encoders group CAS triplets by group code; a fixed order survives the round trip.
    return ["CO", "PR", "OA"].index(adjustment.group_code)


@st.composite
def prior_lines(draw: st.DrawFn, line_count: int, paid_date: date) -> PriorLineAdjudication:
    """A loop 2430 of one of the claim's lines (any of them, several for one line allowed)."""
    return PriorLineAdjudication(
        line_number=draw(st.integers(1, line_count)),
        procedure_qualifier=draw(st.sampled_from(["HC", "HC", "IV", "WK", "ER"])),
        procedure_code=draw(st.sampled_from(["99213", "85025", "97110", "J1100", "G0008"])),
        modifiers=draw(st.lists(st.sampled_from(["25", "59", "GP", "KX"]), max_size=4,
                                unique=True)),
        paid_amount=draw(money), paid_units=draw(st.just(Decimal(0)) | quantities),
        bundled_line_number=draw(st.none() | st.integers(1, line_count)),
        adjustments=sorted(draw(adjustment_refs), key=_group_order),
        adjudication_date=draw(st.none() | st.dates(date(2000, 1, 1), paid_date)),
        remaining_patient_liability=draw(st.none() | money))


@st.composite
def billable_claims(draw: st.DrawFn, number: str) -> BillableClaim:
    diagnoses = draw(st.integers(1, 12))
    line_count = draw(st.integers(1, 6))
    lines = [f.line(n, code=draw(st.sampled_from(["99213", "85025", "97110", "J1100"])),
                    charge=str(draw(positive_money)),
                    modifiers=draw(st.lists(st.sampled_from(["25", "59", "GP", "KX", "XU"]),
                                            max_size=4, unique=True)),
                    pointers=draw(st.lists(st.integers(1, diagnoses), min_size=1, max_size=4,
                                           unique=True)),
                    day=draw(st.dates(date(2024, 1, 1), date(2024, 6, 30))),
                    units=str(draw(quantities))) for n in range(1, line_count + 1)]
    priors = []
    # one 2320 loop per payer ID: 2430 SVD01 names the payer by it
    for payer_id in draw(st.lists(ids2, max_size=2, unique=True)):
        prior_payer = f.payer(payer_id, draw(words))
        paid_date = draw(dates)
        claim_adjustments = sorted(draw(adjustment_refs), key=_group_order)
        line_adjudications = draw(st.lists(prior_lines(line_count, paid_date), max_size=4))
        line_adjudications.sort(key=lambda item: item.line_number)  # the 2400 order
        if line_adjudications:  # the day the payer finished: one line at the payer's date
            line_adjudications[0] = line_adjudications[0].model_copy(
                update={"adjudication_date": None})
        paid = draw(positive_money) if not line_adjudications else (
            total(item.paid_amount for item in line_adjudications)
            - total(a.amount for a in claim_adjustments))  # 2430 SVD02 - 2320 CAS = AMT*D
        priors.append(PriorPayerAdjudication(
            payer=prior_payer, coverage=f.coverage(prior_payer, member_id=draw(ids2)),
            paid_amount=paid, paid_date=paid_date, claim_adjustments=claim_adjustments,
            line_adjudications=line_adjudications))
    frequency = draw(st.sampled_from(["1", "7", "8"]))
    return f.claim(number, lines=lines, diagnoses=f.DIAGNOSES[:diagnoses],
                   relationship=draw(st.sampled_from([Relationship.SELF, Relationship.CHILD,
                                                      Relationship.SPOUSE])),
                   order=draw(st.sampled_from(CoverageOrder)), frequency=frequency,
                   original=draw(ids) if frequency != "1" else None, priors=priors,
                   prior_authorization=draw(st.none() | ids))


@SETTINGS
@given(st.data())
def test_837p_round_trip(data: st.DataObject) -> None:
    numbers = data.draw(st.lists(ids, min_size=1, max_size=3, unique=True))
    claims = [data.draw(billable_claims(number)) for number in numbers]
    decoded = decode_837p(encode_837p(claims).text)
    assert {c.claim.claim_number: c for c in decoded} == {c.claim.claim_number: c
                                                           for c in claims}


# -- fuzzing --------------------------------------------------------------------------------------

VALID_DOCUMENTS = [
    encode_837p([f.claim("F1"), f.secondary_claim("F2"), f.secondary_claim_with_lines("F3")]).text,
    (FIXTURES / "835" / "medbill__two-payers-reversal-plb.835").read_text(),
    (FIXTURES / "999" / "imsweb__x12_999_rejected.txt").read_text(),
    (FIXTURES / "271" / "lfh__subscriber-health-benefit-check.271").read_text(),
    (FIXTURES / "277CA" / "x12tr3__X214-payer-response.edi").read_text(),
    (FIXTURES / "277-X212" / "lfh__claim-level-status.277").read_text(),
]
FOREIGN = "*~:^|>!\n\r\t\x00{}<"


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(VALID_DOCUMENTS))
    for _ in range(draw(st.integers(1, 3))):
        operation = draw(st.sampled_from(["truncate", "replace", "insert", "drop", "duplicate",
                                          "count"]))
        position = draw(st.integers(0, max(len(text) - 1, 0)))
        if operation == "truncate":
            text = text[:position]
        elif operation == "replace" and text:
            char = draw(st.sampled_from(FOREIGN) | st.characters(min_codepoint=32,
                                                                 max_codepoint=255))
            text = text[:position] + char + text[position + 1:]
        elif operation == "insert":
            junk = draw(st.text(alphabet=st.characters(min_codepoint=1, max_codepoint=255),
                                max_size=12))
            text = text[:position] + junk + text[position:]
        else:
            segments = text.split("~")
            index = draw(st.integers(0, max(len(segments) - 1, 0)))
            if operation == "drop":
                del segments[index]
            elif operation == "duplicate":
                segments.insert(index, segments[index])
            else:
                digits = draw(st.from_regex(r"[0-9]{1,3}", fullmatch=True))
                parts = segments[index].split("*")
                parts[-1 if len(parts) > 1 else 0] = digits
                segments[index] = "*".join(parts)
            text = "~".join(segments)
    return text


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_malformed_input_raises_only_positioned_x12_errors(text: str) -> None:
    try:
        decode_document(text)
    except X12Error as error:
        assert error.segment_index is not None, str(error)
        assert str(error).startswith("segment ")


def test_invalid_address_in_an_837p_is_a_positioned_x12_error() -> None:
    """Found by the fuzzer above: an N4 ZIP of '0' escaped as a pydantic error."""
    text = encode_837p([f.claim("Z1")]).text
    start = text.index("N4*")
    end = text.index("~", start)
    parts = text[start:end].split("*")
    parts[3] = "0"
    broken = text[:start] + "*".join(parts) + text[end:]
    try:
        decode_837p(broken)
    except X12Error as error:
        assert error.segment_index is not None
        assert "postal_code" in str(error)
    else:
        raise AssertionError("a ZIP code of 0 was accepted")


def test_invalid_cas_group_in_an_837p_is_a_positioned_x12_error() -> None:
    """Found by the fuzzer: a CAS01 of '0PR' in loop 2320 escaped as a pydantic error."""
    text = encode_837p([f.claim("F1"), f.secondary_claim("F2")]).text
    assert "CAS*PR*" in text or "CAS*CO*" in text
    broken = text.replace("CAS*PR*", "CAS*0PR*", 1).replace("CAS*CO*", "CAS*0CO*", 1)
    try:
        decode_837p(broken)
    except X12Error as error:
        assert error.segment_index is not None and error.element == 1
        assert "CAS01" in str(error)
    else:
        raise AssertionError("CAS01 0PR was accepted")
