"""Claim status, 005010X212: ClaimStatusRequest -> 276, 277 -> ClaimStatusResponse, and a 277
writer (for the simulator and round trips).

277 mapping: NM1*PR -> payer_name; each claim status level (the TRN*2 under HL 22/23) ->
ClaimStatus: REF*EJ (our CLM01, "patient account number" in X212) -> claim_number, REF*1K ->
payer_claim_number, STC01/10/11 -> status_codes, STC02 effective_date, STC04 total_charge,
STC05 paid_amount, STC08 paid_date, STC09 check_number. The response's trace_number is the
first TRN02 (the echo of the 276 trace). Service-line statuses (SVC loops) are not kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from medbill_core.api import ClaimStatus, ClaimStatusRequest, ClaimStatusResponse, Relationship
from medbill_payer_generic_x12.construct import trusted
from medbill_payer_generic_x12.transactions.acknowledgments import read_stc
from medbill_payer_generic_x12.transactions.common import (
    DEFAULT_PARTIES,
    Parties,
    el,
    ensure_transaction,
    new_interchange,
    opt,
    opt_ccyymmdd,
    opt_money,
)
from medbill_payer_generic_x12.x12.control import ControlNumberSource
from medbill_payer_generic_x12.x12.errors import X12EncodeError
from medbill_payer_generic_x12.x12.reader import Transaction, X12Reader
from medbill_payer_generic_x12.x12.values import format_date, format_money, format_time
from medbill_payer_generic_x12.x12.writer import TransactionWriter

VERSION = "005010X212"


def _claim_levels(w: TransactionWriter, request: ClaimStatusRequest, parties: Parties,
                  payer_name: str | None = None) -> int:
    """HL 20/21/19/22 (and 23 for a dependent) with names; returns the claim's HL."""
    bill = request.claim
    if bill.payer is None or bill.coverage is None:
        raise X12EncodeError("a payer and a coverage (a self-pay claim has no claim status)",
                             claim_number=bill.claim.claim_number)
    source = w.hl("20")
    w.add("NM1", "PR", "2", payer_name or bill.payer.name, None, None, None, None, "PI",
          bill.payer.payer_id)
    receiver = w.hl("21", source)
    w.add("NM1", "41", "2", parties.submitter_name, None, None, None, None, "46",
          parties.submitter_id)
    provider = w.hl("19", receiver)
    w.add("NM1", "1P", "2", bill.practice.name, None, None, None, None, "XX", bill.practice.npi)
    subscriber_hl = w.hl("22", provider)
    coverage = bill.coverage
    holder = coverage.subscriber if coverage.subscriber else bill.patient
    w.add("NM1", "IL", "1", holder.last_name, holder.first_name, holder.middle_name, None, None,
          "MI", coverage.member_id)
    if coverage.relationship is Relationship.SELF:
        return subscriber_hl
    level = w.hl("23", subscriber_hl)
    patient = bill.patient
    w.add("NM1", "QC", "1", patient.last_name, patient.first_name, patient.middle_name)
    return level


def encode_276(requests: Sequence[ClaimStatusRequest], *, parties: Parties = DEFAULT_PARTIES,
               control_numbers: ControlNumberSource | None = None,
               now: datetime | None = None) -> str:
    interchange = new_interchange(parties, control_numbers, now, None, False)
    group = interchange.group("HR", VERSION)
    stamp = interchange.now
    for request in requests:
        w = group.transaction("276")
        w.context_claim = request.claim.claim.claim_number
        w.add("BHT", "0010", "13", request.trace_number, format_date(stamp.date()),
              format_time(stamp))
        bill = request.claim
        # X212 puts DMG before NM1 in the subscriber/dependent levels; we write it after the
        # name for simplicity only where the guide allows (it is situational there).
        _claim_levels(w, request, parties)
        w.add("TRN", "1", request.trace_number)
        if bill.claim.payer_claim_number:
            w.add("REF", "1K", bill.claim.payer_claim_number)
        w.add("REF", "EJ", bill.claim.claim_number)
        w.add("AMT", "T3", format_money(bill.claim.total_charge))
        claim = bill.claim
        if claim.service_date_to != claim.service_date_from:
            w.add("DTP", "472", "RD8",
                  f"{format_date(claim.service_date_from)}-{format_date(claim.service_date_to)}")
        else:
            w.add("DTP", "472", "D8", format_date(claim.service_date_from))
    return interchange.text()


def decode_277(text: str, *, strict: bool = True) -> list[ClaimStatusResponse]:
    reader = X12Reader(text, strict=strict)
    return [decode_277_transaction(t) for t in reader.transactions()]


def decode_277_transaction(transaction: Transaction) -> ClaimStatusResponse:
    ensure_transaction(transaction, "277", ("005010X212",))
    response: dict[str, Any] = {"trace_number": None, "payer_name": None, "claims": []}
    claim: dict[str, Any] | None = None
    in_service = False

    def finish() -> None:
        nonlocal claim
        if claim is not None:
            response["claims"].append(trusted(ClaimStatus, claim))
            claim = None

    for segment in transaction.segments():
        tag = segment[0]
        if tag == "HL":
            finish()
            in_service = False
        elif tag == "NM1" and el(segment, 1) == "PR" and response["payer_name"] is None:
            response["payer_name"] = opt(segment, 3)
        elif tag == "TRN" and el(segment, 1) == "2":
            finish()
            in_service = False
            if response["trace_number"] is None:
                response["trace_number"] = opt(segment, 2)
            claim = {"claim_number": None, "payer_claim_number": None, "status_codes": [],
                     "effective_date": None, "total_charge": None, "paid_amount": None,
                     "paid_date": None, "check_number": None}
        elif claim is None:
            continue
        elif tag == "SVC":
            in_service = True
        elif tag == "STC" and not in_service:
            first = not claim["status_codes"]
            claim["status_codes"] += read_stc(transaction, segment)
            if first:
                claim["effective_date"] = opt_ccyymmdd(transaction, segment, 2,
                                                       "STC02 effective date")
                claim["total_charge"] = opt_money(transaction, segment, 4, "STC04 charge")
                claim["paid_amount"] = opt_money(transaction, segment, 5, "STC05 paid")
                claim["paid_date"] = opt_ccyymmdd(transaction, segment, 8, "STC08 paid date")
                claim["check_number"] = opt(segment, 9)
        elif tag == "REF" and not in_service:
            if el(segment, 1) == "1K":
                claim["payer_claim_number"] = opt(segment, 2)
            elif el(segment, 1) == "EJ":
                claim["claim_number"] = opt(segment, 2)
    finish()
    return trusted(ClaimStatusResponse, response)


def encode_277(responses: Sequence[tuple[ClaimStatusResponse, ClaimStatusRequest]], *,
               parties: Parties = DEFAULT_PARTIES,
               control_numbers: ControlNumberSource | None = None,
               now: datetime | None = None) -> str:
    """277s answering 276 requests (the request supplies names and IDs the answer echoes)."""
    interchange = new_interchange(parties, control_numbers, now, None, False)
    group = interchange.group("HN", VERSION)
    stamp = interchange.now
    for response, request in responses:
        w = group.transaction("277")
        w.add("BHT", "0010", "08", request.trace_number, format_date(stamp.date()),
              format_time(stamp), "DG")
        _claim_levels(w, request, parties.reversed(), response.payer_name)
        for status in response.claims:
            w.context_claim = status.claim_number
            w.add("TRN", "2", response.trace_number or request.trace_number)
            codes = status.status_codes
            if not codes:
                raise X12EncodeError("at least one status code per claim (STC01)",
                                     segment_id="STC", claim_number=status.claim_number)
            for start in range(0, len(codes), 3):
                chunk = [(c.category, c.code, c.entity) for c in codes[start:start + 3]]
                first = start == 0
                w.add("STC", chunk[0],
                      format_date(status.effective_date) if status.effective_date else None,
                      None,
                      format_money(status.total_charge) if first and status.total_charge
                      is not None else None,
                      format_money(status.paid_amount) if first and status.paid_amount
                      is not None else None, None, None,
                      format_date(status.paid_date) if first and status.paid_date else None,
                      status.check_number if first else None,
                      chunk[1] if len(chunk) > 1 else None, chunk[2] if len(chunk) > 2 else None)
            if status.payer_claim_number:
                w.add("REF", "1K", status.payer_claim_number)
            if status.claim_number:
                w.add("REF", "EJ", status.claim_number)
    return interchange.text()


__all__ = ["VERSION", "decode_277", "decode_277_transaction", "encode_276", "encode_277"]
