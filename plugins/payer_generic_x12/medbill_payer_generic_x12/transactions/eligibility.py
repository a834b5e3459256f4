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
               now: datetime | None = None) -> str:
    """One 270 transaction set per request (real-time exchanges send one)."""
    interchange = new_interchange(parties, control_numbers, now, None, False)
    group = interchange.group("HS", VERSION)
    stamp = interchange.now
    for request in requests:
        w = group.transaction("270")
        w.add("BHT", "0022", "13", request.trace_number, format_date(stamp.date()),
              format_time(stamp))
        source = w.hl("20")
        w.add("NM1", "PR", "2", request.payer.name, None, None, None, None, "PI",
              request.payer.payer_id)
        receiver = w.hl("21", source)
        provider = request.provider
        if provider is not None:
            w.add("NM1", "1P", provider.entity_type.value, provider.last_name,
                  provider.first_name, None, None, None, "XX", provider.npi)
        else:
            w.add("NM1", "1P", "2", request.practice.name, None, None, None, None, "XX",
                  request.practice.npi)
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
    return interchange.text()


def _inquiry(w: TransactionWriter, request: EligibilityRequest) -> None:
    w.add("DTP", "291", "D8", format_date(request.service_date))
    for service_type in request.service_types:
        w.add("EQ", service_type)


def decode_271(text: str, *, strict: bool = True) -> list[EligibilityResponse]:
    reader = X12Reader(text, strict=strict)
    return [decode_271_transaction(t) for t in reader.transactions()]


def decode_271_transaction(transaction: Transaction) -> EligibilityResponse:
    ensure_transaction(transaction, "271", ("005010X279",))
    repetition = transaction.delimiters.repetition
    data: dict[str, Any] = {"trace_number": None, "payer_name": None, "payer_id": None,
                            "plan_name": None, "group_number": None, "plan_begin": None,
                            "plan_end": None}
    benefits: list[Benefit] = []
    issues: list[EligibilityIssue] = []
    loop = "2000A"
    benefit: dict[str, Any] | None = None

    def close() -> None:
        nonlocal benefit
        if benefit is not None:
            benefits.append(trusted(Benefit, benefit))
            benefit = None

    for segment in transaction.segments():
        tag = segment[0]
        if tag == "EB":
            close()
            benefit = _benefit(transaction, segment, repetition)
            loop = "2110"
        elif tag == "MSG" and benefit is not None:
            text = opt(segment, 1)
            if text:
                benefit["messages"].append(text)
        elif tag in ("LS", "LE", "III", "REF", "DTP", "AAA") and benefit is not None and \
                tag != "AAA":
            continue  # benefit-related entities and dates are not kept
        else:
            close()
            if tag == "NM1":
                entity = el(segment, 1)
                loop = _LOOP_BY_ENTITY.get(entity, loop)
                if entity == "PR":
                    data["payer_name"] = opt(segment, 3)
                    data["payer_id"] = opt(segment, 9)
            elif tag == "HL":
                loop = {"20": "2000A", "21": "2000B", "22": "2000C", "23": "2000D"}.get(
                    el(segment, 3), loop)
            elif tag == "TRN" and el(segment, 1) == "2" and data["trace_number"] is None:
                data["trace_number"] = opt(segment, 2)
            elif tag == "REF" and el(segment, 1) in ("6P", "18") and not data["group_number"]:
                data["group_number"] = opt(segment, 2)
            elif tag == "DTP":
                _plan_dates(transaction, segment, data)
            elif tag == "AAA":
                reason = el(segment, 3)
                if el(segment, 1) == "N" or reason:
                    issues.append(trusted(EligibilityIssue, {
                        "loop": loop, "reject_reason": reason or "unknown",
                        "follow_up": opt(segment, 4)}))
    close()
    codes = {b.code for b in benefits}
    if codes & _ACTIVE_CODES:
        status = CoverageStatus.ACTIVE
    elif "6" in codes:
        status = CoverageStatus.INACTIVE
    elif issues:
        status = CoverageStatus.ERROR
    else:
        status = CoverageStatus.UNKNOWN
    active = next((b for b in benefits if b.code in _ACTIVE_CODES and b.plan_description), None)
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


__all__ = ["VERSION", "decode_271", "decode_271_transaction", "encode_270", "encode_271"]
