"""Real-time transactions: 270 in -> 271 out (X279A1), 276 in -> 277 out (X212).

The requests are read from segments that passed :func:`~.envelope.check_interchange`; a
request that lacks what the answer needs raises :class:`RequestProblem`, which the service turns
into a 999 rejection naming the segment.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from itertools import pairwise

from medbill_payer_generic_x12.api import (
    ControlNumberSource,
    InterchangeWriter,
    Segment,
    format_date,
    format_decimal,
    format_money,
    format_time,
    parse_ccyymmdd,
    parse_money,
)

from medbill_clearinghouse_mock.simulator.acks import Envelope, _clean
from medbill_clearinghouse_mock.simulator.config import Benefits, Member

ELIGIBILITY_VERSION = "005010X279A1"
#: EB03 repeats at most 99 times (X279A1): the service types a 271 can answer at once.
MAX_SERVICE_TYPES = 99
_SERVICE_TYPE = re.compile(r"[A-Z0-9]{1,2}")
STATUS_VERSION = "005010X212"


class RequestProblem(Exception):
    """A request segment is missing or malformed: 999 IK3 (and IK4) material, no data values."""

    def __init__(self, segment_id: str, position: int, code: str = "3",
                 element: int | None = None, element_code: str | None = None) -> None:
        super().__init__(f"{segment_id} at position {position}: code {code}")
        self.segment_id = segment_id
        self.position = position
        self.code = code
        self.element = element
        self.element_code = element_code


def _el(segment: Segment, position: int) -> str:
    return segment[position].strip() if len(segment) > position else ""


@dataclass(slots=True)
class Party:
    """An NM1 as received: entity code, type, names, ID qualifier and ID."""

    entity: str
    entity_type: str
    last_name: str
    first_name: str | None
    id_qualifier: str | None
    identifier: str | None

    @classmethod
    def from_nm1(cls, segment: Segment) -> Party:
        return cls(_el(segment, 1), _el(segment, 2) or "2", _el(segment, 3),
                   _el(segment, 4) or None, _el(segment, 8) or None, _el(segment, 9) or None)

    def elements(self) -> tuple[str | None, ...]:
        return (self.entity, self.entity_type, _clean(self.last_name) or "UNKNOWN",
                _clean(self.first_name, 35), None, None, None,
                self.id_qualifier if self.identifier else None, _clean(self.identifier, 80))


@dataclass(slots=True)
class Person:
    party: Party
    birth_date: date | None = None
    sex: str | None = None


# -- 270 / 271 ------------------------------------------------------------------------------------

@dataclass(slots=True)
class EligibilityInquiry:
    reference: str
    payer: Party
    provider: Party
    subscriber: Person
    dependent: Person | None
    trace: str
    trace_originator: str | None
    service_date: date | None
    service_types: list[str]

    @property
    def member_id(self) -> str:
        return self.subscriber.party.identifier or ""


def decode_270(segments: list[Segment], repetition: str) -> EligibilityInquiry:
    """The inquiry of one 270 transaction set (ST ... SE), first subscriber only."""
    return decode_270s(segments, repetition)[0]


def decode_270s(segments: list[Segment], repetition: str) -> list[EligibilityInquiry]:
    """Every inquiry of one 270 transaction set: one per 2000C subscriber loop (a batch 270
    asks about many subscribers), each with the payer and provider loops before them."""
    starts = [index for index, segment in enumerate(segments)
              if segment[0] == "HL" and _el(segment, 3) == "22"]
    if len(starts) <= 1:
        return [_decode_270_part(segments, range(len(segments)), repetition)]
    head = list(range(starts[0]))
    bounds = [*starts, len(segments)]
    return [_decode_270_part(segments, [*head, *range(start, end)], repetition)
            for start, end in pairwise(bounds)]


def _decode_270_part(segments: list[Segment], indexes: Iterable[int],
                     repetition: str) -> EligibilityInquiry:
    reference = ""
    payer = provider = None
    subscriber: Person | None = None
    dependent: Person | None = None
    current: Person | None = None
    trace = ""
    originator = None
    service_date = None
    service_types: list[str] = []
    for index in indexes:
        position, segment = index + 1, segments[index]
        tag = segment[0]
        if tag == "BHT":
            reference = _el(segment, 3)
        elif tag == "NM1":
            entity = _el(segment, 1)
            party = Party.from_nm1(segment)
            if entity == "PR":
                payer = party
            elif entity in ("1P", "FA", "80", "2B"):
                provider = party
            elif entity == "IL" and subscriber is None:
                subscriber = current = Person(party)
            elif entity == "03" and subscriber is not None and dependent is None:
                dependent = current = Person(party)
        elif tag == "TRN" and not trace:
            trace = _el(segment, 2)
            originator = _el(segment, 3) or None
        elif tag == "DMG" and current is not None:
            current.birth_date = parse_ccyymmdd(_el(segment, 2))
            current.sex = _el(segment, 3) or None
        elif tag == "DTP" and _el(segment, 1) == "291":
            text = _el(segment, 3).partition("-")[0]
            service_date = parse_ccyymmdd(text)
            if service_date is None:
                raise RequestProblem("DTP", position, "8", 3, "8")
        elif tag == "EQ":
            codes = [t for t in _el(segment, 1).split(repetition) if t]
            if any(_SERVICE_TYPE.fullmatch(code) is None for code in codes):
                raise RequestProblem("EQ", position, "8", 1, "7")  # not a service type code
            service_types.extend(codes)
            if len(dict.fromkeys(service_types)) > MAX_SERVICE_TYPES:
                raise RequestProblem("EQ", position, "8", 1, "12")  # too many repetitions
    if payer is None or not payer.identifier:
        raise RequestProblem("NM1", len(segments), "3")
    if provider is None:
        raise RequestProblem("NM1", len(segments), "3")
    if subscriber is None or not subscriber.party.identifier:
        raise RequestProblem("NM1", len(segments), "3")
    if not trace:
        raise RequestProblem("TRN", len(segments), "3")
    return EligibilityInquiry(reference or "0", payer, provider, subscriber, dependent, trace,
                              originator, service_date, service_types or ["30"])


@dataclass(slots=True)
class EligibilityAnswer:
    """What the payer knows: ``member`` None means not found; ``payer_name`` None: unknown payer."""

    payer_name: str | None
    member: Member | None
    active: bool
    deductible_met: Decimal = Decimal("0")
    out_of_pocket_met: Decimal = Decimal("0")


def encode_271(inquiry: EligibilityInquiry, answer: EligibilityAnswer, envelope: Envelope,
               numbers: ControlNumberSource, now: datetime) -> str:
    return encode_271s([(inquiry, answer)], envelope, numbers, now)


def encode_271s(answers: Sequence[tuple[EligibilityInquiry, EligibilityAnswer]],
                envelope: Envelope, numbers: ControlNumberSource, now: datetime) -> str:
    """One 271 transaction set answering the inquiries of one 270 transaction set (the same
    payer and provider): a 2000C subscriber loop per inquiry, in order. An unknown payer is
    refused once, at the payer level (2000A AAA), with no subscriber loops."""
    writer = InterchangeWriter(envelope.settings(), numbers, now=now)
    w = writer.group("HB", ELIGIBILITY_VERSION).transaction("271", ELIGIBILITY_VERSION)
    inquiry, answer = answers[0]
    w.add("BHT", "0022", "11", _clean(inquiry.reference, 50) or "0", format_date(now.date()),
          format_time(now))
    w.add("HL", "1", None, "20", "1")
    payer = inquiry.payer
    if answer.payer_name is None:
        w.add("NM1", *payer.elements())
        w.add("AAA", "Y", None, "T4", "N")  # payer name or identifier: not one we route to
        return writer.text()
    w.add("NM1", "PR", "2", _clean(answer.payer_name), None, None, None, None, "PI",
          payer.identifier)
    w.add("HL", "2", "1", "21", "1")
    w.add("NM1", *inquiry.provider.elements())
    hl = 3
    for inquiry, answer in answers:
        hl = _write_subscriber(w, inquiry, answer, hl)
    return writer.text()


def _write_subscriber(w, inquiry: EligibilityInquiry,  # type: ignore[no-untyped-def]
                      answer: EligibilityAnswer, hl: int) -> int:
    """The 2000C loop (and 2000D) answering one inquiry, its first HL numbered ``hl``;
    returns the next HL number."""
    has_dependent = inquiry.dependent is not None and answer.member is not None
    subscriber_hl = hl
    w.add("HL", str(subscriber_hl), "2", "22", "1" if has_dependent else "0")
    member = answer.member
    patient_trn_at_subscriber = not has_dependent
    if patient_trn_at_subscriber:
        w.add("TRN", "2", _clean(inquiry.trace, 50), _clean(inquiry.trace_originator, 10))
    if member is None:
        w.add("NM1", *inquiry.subscriber.party.elements())
        w.add("AAA", "Y", None, "75", "C")  # subscriber/insured not found
        return hl + 1
    w.add("NM1", "IL", "1", _clean(member.last_name), _clean(member.first_name, 35), None, None,
          None, "MI", member.member_id)
    if member.birth_date:
        w.add("DMG", "D8", format_date(member.birth_date), member.sex)
    if member.plan_begin and member.plan_end:
        w.add("DTP", "291", "RD8", f"{format_date(member.plan_begin)}-"
              f"{format_date(member.plan_end)}")
    elif member.plan_begin:
        w.add("DTP", "346", "D8", format_date(member.plan_begin))
    if has_dependent:
        assert inquiry.dependent is not None
        hl += 1
        w.add("HL", str(hl), str(subscriber_hl), "23", "0")
        w.add("TRN", "2", _clean(inquiry.trace, 50), _clean(inquiry.trace_originator, 10))
        dependent = inquiry.dependent
        w.add("NM1", "03", "1", _clean(dependent.party.last_name) or "UNKNOWN",
              _clean(dependent.party.first_name, 35))
        if dependent.birth_date:
            w.add("DMG", "D8", format_date(dependent.birth_date), dependent.sex)
    _write_benefits(w, inquiry, member.benefits, answer)
    return hl + 1


def _write_benefits(w, inquiry: EligibilityInquiry, benefits: Benefits,  # type: ignore[no-untyped-def]
                    answer: EligibilityAnswer) -> None:
    # EB03 repeats: one repeat per service type asked about (a 270 may ask several, in EQ01
    # repeats or in several EQ segments), each once, written by the writer's repetition
    # separator (never joined into the data, which the writer refuses).
    types = list(dict.fromkeys(inquiry.service_types))
    if not answer.active:
        w.add("EB", "6", "IND", types)
        return
    w.add("EB", "1", "IND", types, None, _clean(benefits.plan_name))
    if benefits.deductible > 0:
        remaining = max(Decimal("0"), benefits.deductible - answer.deductible_met)
        w.add("EB", "C", "IND", "30", None, None, "23", format_money(benefits.deductible),
              None, None, None, None, "Y")
        w.add("EB", "C", "IND", "30", None, None, "29", format_money(remaining),
              None, None, None, None, "Y")
    if benefits.coinsurance > 0:
        w.add("EB", "A", "IND", "30", None, None, None, None,
              format_decimal(benefits.coinsurance), None, None, None, "Y")
    for pos, amount in sorted(benefits.copays.items()):
        w.add("EB", "B", "IND", "98", None, None, "27", format_money(amount),
              None, None, None, None, "Y")
        w.add("III", "ZZ", pos)
    if benefits.out_of_pocket_max is not None:
        remaining = max(Decimal("0"), benefits.out_of_pocket_max - answer.out_of_pocket_met)
        w.add("EB", "G", "IND", "30", None, None, "23", format_money(benefits.out_of_pocket_max),
              None, None, None, None, "Y")
        w.add("EB", "G", "IND", "30", None, None, "29", format_money(remaining),
              None, None, None, None, "Y")


# -- 276 / 277 ------------------------------------------------------------------------------------

@dataclass(slots=True)
class StatusInquiry:
    """One claim asked about in a 276 (loop 2200D or 2200E)."""

    trace: str
    subscriber: Party
    dependent: Party | None = None
    payer_claim_number: str | None = None
    patient_control_number: str | None = None
    charge: Decimal | None = None
    service_from: date | None = None
    service_to: date | None = None


@dataclass(slots=True)
class ProviderInquiries:
    provider: Party
    claims: list[StatusInquiry] = field(default_factory=list)


@dataclass(slots=True)
class StatusRequest:
    reference: str
    payer: Party
    receiver: Party
    providers: list[ProviderInquiries]


def decode_276(segments: list[Segment]) -> StatusRequest:
    reference = ""
    payer = receiver = None
    providers: list[ProviderInquiries] = []
    subscriber: Party | None = None
    current: StatusInquiry | None = None
    level = ""
    for position, segment in enumerate(segments, start=1):
        tag = segment[0]
        if tag == "BHT":
            reference = _el(segment, 3)
        elif tag == "HL":
            level = _el(segment, 3)
            current = None
            if level == "22":
                subscriber = None
        elif tag == "NM1":
            entity = _el(segment, 1)
            party = Party.from_nm1(segment)
            if entity == "PR":
                payer = party
            elif entity == "41":
                receiver = party
            elif entity == "1P":
                providers.append(ProviderInquiries(party))
            elif entity == "IL":
                subscriber = party
            elif entity == "QC" and subscriber is not None:
                current = StatusInquiry("", subscriber, party)
                if not providers:
                    raise RequestProblem("NM1", position, "2")
                providers[-1].claims.append(current)
        elif tag == "TRN":
            if level == "22" and current is None and subscriber is not None:
                current = StatusInquiry("", subscriber)
                if not providers:
                    raise RequestProblem("TRN", position, "2")
                providers[-1].claims.append(current)
            if current is None:
                raise RequestProblem("TRN", position, "2")
            current.trace = _el(segment, 2)
        elif current is not None and tag == "REF":
            if _el(segment, 1) == "1K":
                current.payer_claim_number = _el(segment, 2) or None
            elif _el(segment, 1) == "EJ":
                current.patient_control_number = _el(segment, 2) or None
        elif current is not None and tag == "AMT" and _el(segment, 1) == "T3":
            current.charge = parse_money(_el(segment, 2))
        elif current is not None and tag == "DTP" and _el(segment, 1) == "472":
            start, _, end = _el(segment, 3).partition("-")
            current.service_from = parse_ccyymmdd(start)
            current.service_to = parse_ccyymmdd(end) if end else current.service_from
            if current.service_from is None:
                raise RequestProblem("DTP", position, "8", 3, "8")
    if payer is None or receiver is None:
        raise RequestProblem("NM1", len(segments), "3")
    claims = [c for p in providers for c in p.claims]
    if not claims or any(not c.trace for c in claims):
        raise RequestProblem("TRN", len(segments), "3")
    return StatusRequest(reference or "0", payer, receiver, providers)


@dataclass(slots=True)
class ClaimStatusAnswer:
    """The status of one asked-about claim. ``category``/``code`` as STC01-1/STC01-2."""

    category: str
    code: str
    entity: str | None = None
    payer_claim_number: str | None = None
    patient_control_number: str | None = None
    charge: Decimal | None = None
    paid: Decimal | None = None
    adjudicated: date | None = None
    payment_method: str | None = None
    paid_date: date | None = None
    check_number: str | None = None


def encode_277(request: StatusRequest, answers: list[ClaimStatusAnswer], payer_name: str,
               envelope: Envelope, numbers: ControlNumberSource, now: datetime) -> str:
    """One 277 answering every claim of ``request``, ``answers`` in the same order."""
    writer = InterchangeWriter(envelope.settings(), numbers, now=now)
    w = writer.group("HN", STATUS_VERSION).transaction("277", STATUS_VERSION)
    day = format_date(now.date())
    w.add("BHT", "0010", "08", _clean(request.reference, 50) or "0", day, format_time(now), "DG")
    w.add("HL", "1", None, "20", "1")
    w.add("NM1", "PR", "2", _clean(payer_name), None, None, None, None, "PI",
          request.payer.identifier)
    w.add("HL", "2", "1", "21", "1")
    w.add("NM1", *request.receiver.elements())
    hl = 2
    index = 0
    for provider in request.providers:
        if not provider.claims:
            continue
        hl += 1
        provider_hl = hl
        w.add("HL", str(provider_hl), "2", "19", "1")
        w.add("NM1", *provider.provider.elements())
        for claim in provider.claims:
            answer = answers[index]
            index += 1
            hl += 1
            subscriber_hl = hl
            w.add("HL", str(subscriber_hl), str(provider_hl), "22",
                  "1" if claim.dependent else "0")
            w.add("NM1", *claim.subscriber.elements())
            if claim.dependent:
                hl += 1
                w.add("HL", str(hl), str(subscriber_hl), "23")
                w.add("NM1", *claim.dependent.elements())
            w.add("TRN", "2", _clean(claim.trace, 50))
            charge = answer.charge if answer.charge is not None else claim.charge
            w.add("STC", (answer.category, answer.code, answer.entity), day, None,
                  format_money(charge) if charge is not None else "0",
                  format_money(answer.paid) if answer.paid is not None else None,
                  format_date(answer.adjudicated) if answer.adjudicated else None,
                  answer.payment_method,
                  format_date(answer.paid_date) if answer.paid_date else None,
                  answer.check_number)
            if answer.payer_claim_number:
                w.add("REF", "1K", answer.payer_claim_number)
            control = answer.patient_control_number or claim.patient_control_number
            if control:
                w.add("REF", "EJ", _clean(control, 50))
            start = claim.service_from
            end = claim.service_to
            if start:
                if end and end != start:
                    w.add("DTP", "472", "RD8", f"{format_date(start)}-{format_date(end)}")
                else:
                    w.add("DTP", "472", "D8", format_date(start))
    return writer.text()
