"""Reading a received 276 claim status request (005010X212) into ClaimStatusInquiry objects.

:func:`encode_276` in :mod:`.claim_status` writes them. Mapping: 2100A NM1 -> payer; 2100B ->
information_receiver; 2100C -> provider; 2100D NM1*IL (and DMG) -> subscriber; 2100E NM1*QC
(and DMG) -> dependent. Each TRN of loop 2200D/2200E starts one claim inquiry: REF*EJ ->
claim_number (the patient control number), REF*1K -> payer_claim_number, REF*BLT ->
bill_type, REF*XZ -> prescription_number, REF*D9 -> clearinghouse_trace_number, AMT*T3 ->
total_charge, DTP*472 -> service dates; each SVC (2210D/E) -> a line with its REF*FJ and
DTP*472.

A claim level (TRN) before the payer, receiver, provider and subscriber loops is a positioned
error: nothing could say whose claim it is.
"""

from __future__ import annotations

from typing import Any

from medbill_core.api import (
    ClaimStatusInquiry,
    ClaimStatusInquiryLine,
    InquiryParty,
    InquiryPerson,
)
from medbill_payer_generic_x12.transactions.common import (
    el,
    ensure_transaction,
    opt,
    opt_money,
    required,
)
from medbill_payer_generic_x12.transactions.inquiry_parts import (
    demographics,
    party,
    period,
    person_name,
)
from medbill_payer_generic_x12.x12.errors import X12StructureError
from medbill_payer_generic_x12.x12.reader import Segment, Transaction, X12Reader

VERSIONS = ("005010X212",)
#: HL03 level codes of the 276 and the party each one's NM1 names
_PARTY_LEVELS = {"20": "payer", "21": "information_receiver", "19": "provider"}
_CLAIM_REFERENCES = {"EJ": "claim_number", "1K": "payer_claim_number", "BLT": "bill_type",
                     "XZ": "prescription_number", "D9": "clearinghouse_trace_number"}


def decode_276(text: str, *, strict: bool = True) -> list[ClaimStatusInquiry]:
    """Every claim asked about in the document, in order."""
    reader = X12Reader(text, strict=strict)
    return [inquiry for t in reader.transactions() for inquiry in decode_276_transaction(t)]


class _Reading:
    def __init__(self, transaction: Transaction) -> None:
        self.transaction = transaction
        self.parties: dict[str, InquiryParty] = {}
        self.level = ""
        self.subscriber: dict[str, Any] | None = None
        self.dependent: dict[str, Any] | None = None
        self.claim: dict[str, Any] | None = None
        self.line: dict[str, Any] | None = None
        self.inquiries: list[ClaimStatusInquiry] = []

    def finish_line(self) -> None:
        if self.line is not None and self.claim is not None:
            self.claim["lines"].append(ClaimStatusInquiryLine(**self.line))
        self.line = None

    def finish_claim(self) -> None:
        self.finish_line()
        if self.claim is not None:
            self.inquiries.append(ClaimStatusInquiry(**self.claim))
        self.claim = None

    def start_claim(self, segment: Segment) -> None:
        transaction = self.transaction
        trace = required(transaction, segment, 2, "TRN02 trace number")
        missing = [name for name in ("payer", "information_receiver", "provider")
                   if name not in self.parties]
        if missing or self.subscriber is None:
            what = ", ".join(missing + ([] if self.subscriber else ["subscriber"]))
            raise transaction.error(X12StructureError, f"the {what} loop(s) before a claim's "
                                    "TRN", segment, ack_code="3")
        dependent = self.dependent if self.level == "23" else None
        self.claim = {
            "trace_number": trace, **self.parties,
            "subscriber": InquiryPerson(**self.subscriber),
            "dependent": InquiryPerson(**dependent) if dependent is not None else None,
            "lines": []}

    def read(self, segment: Segment) -> None:
        tag = segment[0]
        transaction = self.transaction
        if tag == "HL":
            self.finish_claim()
            self.level = el(segment, 3)
            if self.level in _PARTY_LEVELS:
                # a new payer, receiver or provider level: the loops under it start afresh
                below = list(_PARTY_LEVELS)[list(_PARTY_LEVELS).index(self.level):]
                for name in (_PARTY_LEVELS[level] for level in below):
                    self.parties.pop(name, None)
                self.subscriber = self.dependent = None
            elif self.level == "22":
                self.subscriber, self.dependent = {}, None
            elif self.level == "23":
                if self.subscriber is None:
                    raise transaction.error(X12StructureError, "a 2000D subscriber loop before "
                                            "the dependent loop", segment, 3, ack_code="3")
                self.dependent = {}
            return
        person = self.dependent if self.level == "23" else self.subscriber
        if tag == "TRN":
            self.finish_claim()
            self.start_claim(segment)
        elif self.claim is None:
            if tag == "NM1" and self.level in _PARTY_LEVELS:
                self.parties[_PARTY_LEVELS[self.level]] = party(transaction, segment)
            elif tag == "NM1" and person is not None:
                person.update(person_name(segment, member_id=self.level == "22"))
            elif tag == "DMG" and person is not None:
                person.update(demographics(transaction, segment))
        elif tag == "SVC":
            self.finish_line()
            self.line = self._service(segment)
        elif self.line is not None:
            self._line_detail(self.line, segment)
        elif tag == "REF" and el(segment, 1) in _CLAIM_REFERENCES:
            self.claim[_CLAIM_REFERENCES[el(segment, 1)]] = opt(segment, 2)
        elif tag == "AMT" and el(segment, 1) == "T3":
            self.claim["total_charge"] = opt_money(transaction, segment, 2, "AMT02 claim charge")
        elif tag == "DTP" and el(segment, 1) == "472":
            start, end = period(transaction, segment, "DTP03 claim service date")
            self.claim["service_date_from"], self.claim["service_date_to"] = start, end or start

    def _service(self, segment: Segment) -> dict[str, Any]:
        transaction = self.transaction
        procedure = required(transaction, segment, 1, "SVC01 procedure")
        return {"procedure": procedure.replace(transaction.delimiters.component, ":"),
                "charge": opt_money(transaction, segment, 2, "SVC02 line charge"),
                "units": opt(segment, 7)}

    def _line_detail(self, line: dict[str, Any], segment: Segment) -> None:
        tag = segment[0]
        if tag == "REF" and el(segment, 1) == "FJ":
            line["line_item_control_number"] = opt(segment, 2)
        elif tag == "DTP" and el(segment, 1) == "472":
            start, end = period(self.transaction, segment, "DTP03 line service date")
            line["service_date_from"], line["service_date_to"] = start, end or start


def decode_276_transaction(transaction: Transaction) -> list[ClaimStatusInquiry]:
    """The claim inquiries of one 276 transaction set."""
    ensure_transaction(transaction, "276", VERSIONS)
    reading = _Reading(transaction)
    for segment in transaction.segments():
        reading.read(segment)
    reading.finish_claim()
    return reading.inquiries


__all__ = ["VERSIONS", "decode_276", "decode_276_transaction"]
