"""Eligibility, 005010X279A1: EligibilityRequest -> 270, 271 -> EligibilityResponse, and a 271
writer (for the clearinghouse simulator and round-trip tests).

271 mapping: NM1*PR -> payer_name/payer_id; TRN*2 (the echo of our 270 trace) -> trace_number;
REF*6P/18 -> group_number; DTP*346/347 (or 291/356/357 ranges) -> plan_begin/plan_end; each EB
-> Benefit (EB01 kind/code, EB02 level, EB03 service types, EB04 insurance type, EB05 plan,
EB06 time period — 29 = remaining, EB07 amount, EB08 percent, EB11 authorization, EB12
network) with its following MSG texts; AAA -> EligibilityIssue (loop named by the level it
follows). Status: active when an EB01 1-5 is present, inactive for EB01 6 (and no active),
error when only AAA rejections came back, else unknown.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from medbill_core.api import (
    Benefit,
    BenefitKind,
    CoverageLevel,
    CoverageStatus,
    EligibilityIssue,
    EligibilityRequest,
    EligibilityResponse,
    Network,
    Relationship,
)
from medbill_payer_generic_x12.construct import trusted
from medbill_payer_generic_x12.transactions.common import (
    DEFAULT_PARTIES,
    Parties,
    el,
    ensure_transaction,
    new_interchange,
    opt,
    opt_decimal,
    opt_money,
)
from medbill_payer_generic_x12.x12.control import ControlNumberSource
from medbill_payer_generic_x12.x12.reader import Transaction, X12Reader
from medbill_payer_generic_x12.x12.values import (
    format_date,
    format_decimal,
    format_money,
    format_time,
    parse_ccyymmdd,
)
from medbill_payer_generic_x12.x12.writer import TransactionWriter

VERSION = "005010X279A1"
_ACTIVE_CODES = frozenset({"1", "2", "3", "4", "5"})
_KINDS = {kind.value: kind for kind in BenefitKind if kind is not BenefitKind.OTHER}
_LEVELS = {level.value: level for level in CoverageLevel if level is not CoverageLevel.OTHER}
_NETWORKS = {network.value: network for network in Network}
_LOOP_BY_ENTITY = {"PR": "2100A", "1P": "2100B", "FA": "2100B", "IL": "2100C", "03": "2100D"}


def _originator(tax_id: str) -> str:
    # TRN03: "1" followed by the originator's EIN, as the guide recommends.
    return "1" + tax_id


def encode_270(requests: Sequence[EligibilityRequest], *, parties: Parties = DEFAULT_PARTIES,
               control_numbers: ControlNumberSource | None = None,
               now: datetime | None = None, subscribers_per_transaction: int = 1) -> str:
    """One 270 transaction set per request (real-time exchanges send one), or, with
    ``subscribers_per_transaction`` above 1, batch inquiries: consecutive requests to the same
    payer from the same provider share one transaction set (one 2000A payer loop, one 2000B
    provider loop, a 2000C subscriber loop per request, each with its own TRN), at most that
    many per set. BHT03 is the first request's trace number."""
    interchange = new_interchange(parties, control_numbers, now, None, False)
    group = interchange.group("HS", VERSION)
    stamp = interchange.now
    for batch in _transaction_batches(requests, max(1, subscribers_per_transaction)):
        first = batch[0]
        w = group.transaction("270")
        w.add("BHT", "0022", "13", first.trace_number, format_date(stamp.date()),
              format_time(stamp))
        source = w.hl("20")
        w.add("NM1", "PR", "2", first.payer.name, None, None, None, None, "PI",
              first.payer.payer_id)
        receiver = w.hl("21", source)
        provider = first.provider
        if provider is not None:
            w.add("NM1", "1P", provider.entity_type.value, provider.last_name,
                  provider.first_name, None, None, None, "XX", provider.npi)
        else:
            w.add("NM1", "1P", "2", first.practice.name, None, None, None, None, "XX",
                  first.practice.npi)
        for request in batch:
            _subscriber(w, request, receiver)
    return interchange.text()


def _sender_key(request: EligibilityRequest) -> tuple[object, ...]:
    """What a 270's 2000A/2000B loops say: requests alike in it can share a transaction set."""
    provider = request.provider
    return (request.payer.name, request.payer.payer_id,
            (provider.entity_type, provider.last_name, provider.first_name, provider.npi)
            if provider is not None else (request.practice.name, request.practice.npi))


def _transaction_batches(requests: Sequence[EligibilityRequest], size: int
                         ) -> list[list[EligibilityRequest]]:
    batches: list[list[EligibilityRequest]] = []
    key: tuple[object, ...] | None = None
    for request in requests:
        this = _sender_key(request)
        if not batches or this != key or len(batches[-1]) >= size:
            batches.append([])
            key = this
        batches[-1].append(request)
    return batches


def _subscriber(w: TransactionWriter, request: EligibilityRequest, receiver: int) -> None:
    """The 2000C subscriber loop of one request (and its 2000D dependent loop)."""
    subscriber_hl = w.hl("22", receiver)
    coverage = request.coverage
    patient = request.patient
    dependent = coverage.relationship is not Relationship.SELF
    if not dependent:
        w.add("TRN", "1", request.trace_number, _originator(request.practice.tax_id))
    holder = coverage.subscriber if dependent else patient
    assert holder is not None
    w.add("NM1", "IL", "1", holder.last_name, holder.first_name, holder.middle_name, None,
          None, "MI", coverage.member_id)
    if not dependent:
        w.add("DMG", "D8", format_date(patient.birth_date), patient.sex.value)
        _inquiry(w, request)
    else:
        w.hl("23", subscriber_hl)
        w.add("TRN", "1", request.trace_number, _originator(request.practice.tax_id))
        w.add("NM1", "03", "1", patient.last_name, patient.first_name, patient.middle_name)
        w.add("DMG", "D8", format_date(patient.birth_date), patient.sex.value)
        w.add("INS", "N", coverage.relationship.value)
        _inquiry(w, request)


def _inquiry(w: TransactionWriter, request: EligibilityRequest) -> None:
    w.add("DTP", "291", "D8", format_date(request.service_date))
    for service_type in request.service_types:
        w.add("EQ", service_type)


def decode_271(text: str, *, strict: bool = True) -> list[EligibilityResponse]:
    """Every answer of the document: one per subscriber loop (2000C) of each transaction set
    (a batch 271 answers many subscribers in one set), or one for a set without any (a payer
    that rejected the whole inquiry at 2000A)."""
    reader = X12Reader(text, strict=strict)
    return [response for t in reader.transactions()
            for response in decode_271_subscribers(t)]


def decode_271_transaction(transaction: Transaction) -> EligibilityResponse:
    """The answer of a 271 transaction set about one subscriber (the first one when the set
    answers several: :func:`decode_271_subscribers` gives them all)."""
    return decode_271_subscribers(transaction)[0]


def decode_271_subscribers(transaction: Transaction) -> list[EligibilityResponse]:
    """One answer per 2000C subscriber loop of the transaction set, each read with the payer
    and provider loops before it; a set without a subscriber loop gives one answer. One pass
    over the segments (errors name the segment's own position)."""
    ensure_transaction(transaction, "271", ("005010X279",))
    head = _Reading(transaction)
    current = head
    answers: list[EligibilityResponse] = []
    for segment in transaction.segments():
        if segment[0] == "HL" and el(segment, 3) == "22":
            if current is not head:
                answers.append(current.response())
            else:
                head.close()
            current = head.copy()
        current.read(segment)
    answers.append(current.response())
    return answers


class _Reading:
    """What the segments of one subscriber's answer said so far."""

    def __init__(self, transaction: Transaction) -> None:
        self.transaction = transaction
        self.repetition = transaction.delimiters.repetition
        self.data: dict[str, Any] = {"trace_number": None, "payer_name": None,
                                     "payer_id": None, "plan_name": None,
                                     "group_number": None, "plan_begin": None,
                                     "plan_end": None}
        self.benefits: list[Benefit] = []
        self.issues: list[EligibilityIssue] = []
        self.loop = "2000A"
        self.benefit: dict[str, Any] | None = None

    def copy(self) -> _Reading:
        """A new subscriber's answer starting from what the payer and provider loops said."""
        other = _Reading(self.transaction)
        other.data = dict(self.data)
        other.benefits = list(self.benefits)
        other.issues = list(self.issues)
        other.loop = self.loop
        return other

    def close(self) -> None:
        if self.benefit is not None:
            self.benefits.append(trusted(Benefit, self.benefit))
            self.benefit = None

    def read(self, segment: list[str]) -> None:
        tag = segment[0]
        data = self.data
        if tag == "EB":
            self.close()
            self.benefit = _benefit(self.transaction, segment, self.repetition)
            self.loop = "2110"
        elif tag == "MSG" and self.benefit is not None:
            text = opt(segment, 1)
            if text:
                self.benefit["messages"].append(text)
        elif tag in ("LS", "LE", "III", "REF", "DTP", "AAA") and self.benefit is not None and \
                tag != "AAA":
            return  # benefit-related entities and dates are not kept
        else:
            self.close()
            if tag == "NM1":
                entity = el(segment, 1)
                self.loop = _LOOP_BY_ENTITY.get(entity, self.loop)
                if entity == "PR":
                    data["payer_name"] = opt(segment, 3)
                    data["payer_id"] = opt(segment, 9)
            elif tag == "HL":
                self.loop = {"20": "2000A", "21": "2000B", "22": "2000C", "23": "2000D"}.get(
                    el(segment, 3), self.loop)
            elif tag == "TRN" and el(segment, 1) == "2" and data["trace_number"] is None:
                data["trace_number"] = opt(segment, 2)
            elif tag == "REF" and el(segment, 1) in ("6P", "18") and not data["group_number"]:
                data["group_number"] = opt(segment, 2)
            elif tag == "DTP":
                _plan_dates(self.transaction, segment, data)
            elif tag == "AAA":
                reason = el(segment, 3)
                if el(segment, 1) == "N" or reason:
                    self.issues.append(trusted(EligibilityIssue, {
                        "loop": self.loop, "reject_reason": reason or "unknown",
                        "follow_up": opt(segment, 4)}))

    def response(self) -> EligibilityResponse:
        self.close()
        benefits, issues, data = self.benefits, self.issues, self.data
        codes = {b.code for b in benefits}
        if codes & _ACTIVE_CODES:
            status = CoverageStatus.ACTIVE
        elif "6" in codes:
            status = CoverageStatus.INACTIVE
        elif issues:
            status = CoverageStatus.ERROR
        else:
            status = CoverageStatus.UNKNOWN
        active = next((b for b in benefits if b.code in _ACTIVE_CODES and b.plan_description),
                      None)
        data["plan_name"] = active.plan_description if active else None
        data.update(status=status, benefits=benefits, issues=issues)
        return trusted(EligibilityResponse, data)


def _plan_dates(transaction: Transaction, segment: list[str], data: dict[str, Any]) -> None:
    qualifier, form, text = el(segment, 1), el(segment, 2), el(segment, 3)
    if form == "RD8" and qualifier in ("291", "292", "346", "356"):
        start, _, end = text.partition("-")
        data["plan_begin"] = data["plan_begin"] or parse_ccyymmdd(start)
        data["plan_end"] = data["plan_end"] or parse_ccyymmdd(end)
    elif form == "D8" and qualifier in ("346", "356"):
        data["plan_begin"] = parse_ccyymmdd(text)
    elif form == "D8" and qualifier in ("347", "357"):
        data["plan_end"] = parse_ccyymmdd(text)


def _benefit(transaction: Transaction, segment: list[str], repetition: str) -> dict[str, Any]:
    code = el(segment, 1)
    if not code:
        from medbill_payer_generic_x12.x12.errors import X12StructureError

        raise transaction.error(X12StructureError, "EB01 benefit code (required)", segment, 1,
                                ack_code="1")
    percent = opt_decimal(transaction, segment, 8, "EB08 percent")
    if percent is not None and not 0 <= percent <= 1:
        from medbill_payer_generic_x12.x12.errors import X12ValueError

        raise transaction.error(X12ValueError, "EB08 percent between 0 and 1", segment, 8,
                                ack_code="6")
    level_code = el(segment, 2)
    authorization = el(segment, 11)
    return {
        "kind": _KINDS.get(code, BenefitKind.OTHER), "code": code,
        "service_types": [s for s in el(segment, 3).split(repetition) if s],
        "coverage_level": _LEVELS.get(level_code, CoverageLevel.OTHER) if level_code else None,
        "insurance_type": opt(segment, 4), "plan_description": opt(segment, 5),
        "time_period": opt(segment, 6),
        "amount": opt_money(transaction, segment, 7, "EB07 amount"), "percent": percent,
        "network": _NETWORKS.get(el(segment, 12)),
        "authorization_required": {"Y": True, "N": False}.get(authorization),
        "messages": [],
    }


def encode_271(responses: Sequence[tuple[EligibilityResponse, EligibilityRequest]], *,
               parties: Parties = DEFAULT_PARTIES,
               control_numbers: ControlNumberSource | None = None,
               now: datetime | None = None) -> str:
    """271s answering the given requests (the request supplies the names the response echoes)."""
    interchange = new_interchange(parties, control_numbers, now, None, False)
    group = interchange.group("HB", VERSION)
    stamp = interchange.now
    for response, request in responses:
        w = group.transaction("271")
        w.add("BHT", "0022", "11", request.trace_number, format_date(stamp.date()),
              format_time(stamp))
        source = w.hl("20")
        w.add("NM1", "PR", "2", response.payer_name or request.payer.name, None, None, None,
              None, "PI", response.payer_id or request.payer.payer_id)
        for issue in response.issues:
            if issue.loop == "2100A":
                w.add("AAA", "N", None, issue.reject_reason, issue.follow_up)
        receiver = w.hl("21", source)
        w.add("NM1", "1P", "2", request.practice.name, None, None, None, None, "XX",
              request.practice.npi)
        w.hl("22", receiver)
        if response.trace_number:
            w.add("TRN", "2", response.trace_number, _originator(request.practice.tax_id))
        coverage = request.coverage
        holder = coverage.subscriber if coverage.subscriber else request.patient
        w.add("NM1", "IL", "1", holder.last_name, holder.first_name, holder.middle_name, None,
              None, "MI", coverage.member_id)
        for issue in response.issues:
            if issue.loop != "2100A":
                w.add("AAA", "N", None, issue.reject_reason, issue.follow_up)
        if response.group_number:
            w.add("REF", "6P", response.group_number)
        if response.plan_begin and response.plan_end:
            w.add("DTP", "346", "D8", format_date(response.plan_begin))
            w.add("DTP", "347", "D8", format_date(response.plan_end))
        elif response.plan_begin:
            w.add("DTP", "346", "D8", format_date(response.plan_begin))
        elif response.plan_end:
            w.add("DTP", "347", "D8", format_date(response.plan_end))
        for benefit in response.benefits:
            _write_benefit(w, benefit, response.plan_name, interchange.delimiters.repetition)
    return interchange.text()


def _write_benefit(w: TransactionWriter, b: Benefit, plan_name: str | None,
                   repetition: str) -> None:
    # Service types are one element with repeats: join them with the repetition separator
    # (the writer refuses it inside data, so check each code first).
    for code in b.service_types:
        w.render("EB", (code,))
    service_types = repetition.join(b.service_types)
    authorization = None if b.authorization_required is None else (
        "Y" if b.authorization_required else "N")
    line = w.render("EB", (
        b.code, b.coverage_level.value if b.coverage_level and
        b.coverage_level is not CoverageLevel.OTHER else None, "", b.insurance_type,
        b.plan_description, b.time_period,
        format_money(b.amount) if b.amount is not None else None,
        format_decimal(b.percent) if b.percent is not None else None, None, None, authorization,
        b.network.value if b.network else None))
    parts = line.split(w.delimiters.element)
    if service_types:
        while len(parts) < 4:
            parts.append("")
        parts[3] = service_types
    w.lines.append(w.delimiters.element.join(parts))
    for message in b.messages:
        w.add("MSG", message)
    _ = plan_name


__all__ = ["VERSION", "decode_271", "decode_271_subscribers", "decode_271_transaction",
           "encode_270", "encode_271"]
