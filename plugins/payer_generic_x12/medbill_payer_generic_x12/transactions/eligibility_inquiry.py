"""Reading a received 270 eligibility request (005010X279A1) into EligibilityInquiry objects.

A clearinghouse or payer receives 270s from providers; :func:`encode_270` in
:mod:`.eligibility` writes them. Mapping: 2100A NM1 -> payer; 2100B NM1 -> provider (the
information receiver); 2000C/2000D TRN -> trace_number and trace_originator; 2100C NM1*IL ->
subscriber (NM109 MI -> member_id); 2100D NM1*03 -> dependent; DMG -> birth date and sex of
the loop's person; INS02 -> relationship; DTP*291 (also 307, 472 and the other eligibility
dates) -> service_date (and service_date_to for RD8); each EQ -> service_types (EQ01, repeats
included) and procedure_codes (EQ02).

One inquiry per patient asked about: a dependent loop, or a subscriber loop that is itself
the patient (it has a TRN, or no dependent loop under it). A patient loop without its TRN is a
positioned error: its answer could not be matched to the question.
"""

from __future__ import annotations

from typing import Any

from medbill_core.api import EligibilityInquiry, InquiryParty, InquiryPerson
from medbill_payer_generic_x12.transactions.common import el, ensure_transaction, opt, required
from medbill_payer_generic_x12.transactions.inquiry_parts import (
    demographics,
    party,
    period,
    person_name,
)
from medbill_payer_generic_x12.x12.errors import X12StructureError
from medbill_payer_generic_x12.x12.reader import Segment, Transaction, X12Reader

VERSIONS = ("005010X279",)
_PATIENT_LOOPS = {"22": "2000C subscriber", "23": "2000D dependent"}


def decode_270(text: str, *, strict: bool = True) -> list[EligibilityInquiry]:
    """Every inquiry of the document, in order (a batch 270 asks about many patients)."""
    reader = X12Reader(text, strict=strict)
    return [inquiry for t in reader.transactions() for inquiry in decode_270_transaction(t)]


class _Patient:
    """One HL 22 or 23 loop read so far."""

    def __init__(self, level: str, index: int, has_children: bool) -> None:
        self.level = level
        self.index = index
        self.has_children = has_children
        self.trace: tuple[str, str | None] | None = None
        self.person: dict[str, Any] = {}
        self.relationship: str | None = None
        self.dates: tuple[Any, Any] | None = None
        self.service_types: list[str] = []
        self.procedure_codes: list[str] = []

    @property
    def asked_about(self) -> bool:
        return self.level == "23" or self.trace is not None or not self.has_children


class _Reading:
    def __init__(self, transaction: Transaction) -> None:
        self.transaction = transaction
        self.payer: InquiryParty | None = None
        self.provider: InquiryParty | None = None
        self.subscriber: _Patient | None = None
        self.current: _Patient | None = None
        self.inquiries: list[EligibilityInquiry] = []

    def finish(self) -> None:
        """Close the patient loop being read: it becomes an inquiry when it is the patient."""
        patient = self.current
        self.current = None
        if patient is None or not patient.asked_about:
            return
        if patient.trace is None:
            raise X12StructureError(f"TRN trace number in the {_PATIENT_LOOPS[patient.level]} "
                                    "loop (required for the patient asked about)",
                                    segment_index=patient.index, segment_id="HL", ack_code="3")
        if self.payer is None or self.provider is None:
            raise X12StructureError("the 2100A payer and 2100B receiver names before the "
                                    "subscriber", segment_index=patient.index, segment_id="HL",
                                    ack_code="3")
        subscriber = self.subscriber
        dependent = patient.level == "23"
        start, end = patient.dates if patient.dates else (None, None)
        self.inquiries.append(EligibilityInquiry(
            trace_number=patient.trace[0], trace_originator=patient.trace[1],
            payer=self.payer, provider=self.provider,
            subscriber=InquiryPerson(**(subscriber.person if subscriber else {})),
            dependent=InquiryPerson(**patient.person) if dependent else None,
            relationship=patient.relationship if dependent else None,
            service_date=start, service_date_to=end,
            service_types=patient.service_types, procedure_codes=patient.procedure_codes))

    def read(self, segment: Segment) -> None:
        tag = segment[0]
        transaction = self.transaction
        if tag == "HL":
            self.finish()
            level = el(segment, 3)
            if level in ("20", "21"):
                # a new payer (or receiver) level: the loops under it start afresh
                if level == "20":
                    self.payer = None
                self.provider = self.subscriber = None
            elif level in _PATIENT_LOOPS:
                opened = _Patient(level, transaction.segment_index, el(segment, 4) == "1")
                if level == "22":
                    self.subscriber = opened
                elif self.subscriber is None:
                    raise transaction.error(X12StructureError, "a 2000C subscriber loop before "
                                            "the dependent loop", segment, 3, ack_code="3")
                self.current = opened
            return
        patient = self.current
        if tag == "NM1":
            entity = el(segment, 1)
            if patient is None:
                # 2100A names the payer (PR, or a plan sponsor / third-party administrator);
                # 2100B the information receiver (1P provider, FA facility ...)
                if self.payer is None:
                    self.payer = party(transaction, segment)
                else:
                    self.provider = party(transaction, segment)
            elif entity in ("IL", "03"):
                patient.person.update(person_name(segment, member_id=entity == "IL"))
        elif patient is None:
            return
        elif tag == "TRN" and patient.trace is None:
            patient.trace = (required(transaction, segment, 2, "TRN02 trace number"),
                             opt(segment, 3))
        elif tag == "DMG":
            patient.person.update(demographics(transaction, segment))
        elif tag == "INS":
            patient.relationship = opt(segment, 2)
        elif tag == "DTP" and patient.dates is None:
            patient.dates = period(transaction, segment, "DTP03 eligibility date")
        elif tag == "EQ":
            repetition = transaction.delimiters.repetition
            patient.service_types += [code for code in el(segment, 1).split(repetition) if code]
            procedure = opt(segment, 2)
            if procedure:
                patient.procedure_codes.append(
                    procedure.replace(transaction.delimiters.component, ":"))


def decode_270_transaction(transaction: Transaction) -> list[EligibilityInquiry]:
    """The inquiries of one 270 transaction set (one per patient asked about)."""
    ensure_transaction(transaction, "270", VERSIONS)
    reading = _Reading(transaction)
    for segment in transaction.segments():
        reading.read(segment)
    reading.finish()
    return reading.inquiries


__all__ = ["VERSIONS", "decode_270", "decode_270_transaction"]
