"""835 remittance advice, 005010X221A1: X12 -> Remittance (fast, streaming) and back.

Decoding is on the hot path (a clearinghouse download may hold thousands of claims), so the
decoder is one pass over the segments with a dispatch on the segment ID, no object per segment,
and domain objects built with :func:`~medbill_payer_generic_x12.construct.trusted` after the
decoder has checked each value itself.

For a file too large to hold decoded, :func:`stream_835` hands out claims one at a time.

Where the 835 lands in the domain model:

==========================  ===================================================
BPR01-04, BPR02, BPR16      handling_code, payment_amount, credit_debit, payment_method,
                            payment_date
TRN02 / TRN03               trace_number / payer_trace_id
DTM*405                     production_date
N1*PR, REF*2U (or N1 XV)    payer_name, payer_id
N3/N4 (loop 1000A)          payer_address (US addresses; one with an N404 country other
                            than US is not kept)
PER*CX, PER*BL, PER*IC      payer_contacts (loop 1000A only): PayerContactInfo function
                            (PER01), name (PER02), numbers (PER03-08 qualifier/number pairs
                            EM, EX, FX, TE, UR); written back in X221A1 order CX, BL..., IC
N1*PE (XX/FI), REF*TJ       payee_name, payee_npi, payee_tax_id
CLP01-09, CLP11             ClaimPayment claim number, status, charge, paid, patient share,
                            filing indicator, payer claim number, facility type, frequency,
                            DRG
CAS (claim / line)          adjustments (grouped by group code, first-seen order)
NM1*QC                      patient name and member ID
MIA/MOA                     ClaimPayment.remark_codes, .inpatient, .outpatient (see
                            :mod:`.remittance_institutional`)
DTM*232/233, DTM*050        service dates, received date
AMT*I                       interest
SVC, DTM*472/150/151        ServicePayment code, modifiers, charge, paid, revenue code (SVC04),
                            units, original code, dates
REF*6R, AMT*B6, LQ          line control number, allowed amount, remark codes
PLB                         ProviderAdjustment (one per reason/amount pair)
==========================  ===================================================

Not kept (no domain field): payee address (1000B N3/N4), REF in 1000A other than 2U, some MIA
amounts, claim-level AMT other than interest, rendering provider, corrected names, TS3/TS2, QTY.

``encode_835(payer_contact=...)`` supplies the address and a PER*BL for remittances whose
``payer_address`` / ``payer_contacts`` are empty (X221A1 requires both).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import ValidationError

from medbill_core.api import (
    Address,
    Adjustment,
    AdjustmentGroup,
    ClaimPayment,
    ClaimStatusCode,
    CommunicationNumber,
    CommunicationQualifier,
    PayerContactFunction,
    PayerContactInfo,
    PaymentMethod,
    ProviderAdjustment,
    Remittance,
    ServicePayment,
    parse_plain_number,
)
from medbill_payer_generic_x12.construct import builder, gc_paused, trusted
from medbill_payer_generic_x12.transactions.common import (
    DEFAULT_PARTIES,
    Parties,
    ensure_transaction,
    new_interchange,
)
from medbill_payer_generic_x12.transactions.remittance_institutional import (
    clp_drg,
    read_mia,
    read_moa,
    write_adjudication,
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
from medbill_payer_generic_x12.x12.reader import Segment, Transaction, X12Reader
from medbill_payer_generic_x12.x12.values import (
    exact_cents,
    format_date,
    format_decimal,
    format_money,
    money_expected,
)
from medbill_payer_generic_x12.x12.values import is_digits as _digits
from medbill_payer_generic_x12.x12.writer import TransactionWriter

VERSION = "005010X221A1"
FUNCTIONAL_ID = "HP"

_GROUPS = {group.value: group for group in AdjustmentGroup}
_STATUSES = {status.value: status for status in ClaimStatusCode}
_METHODS = {method.value: method for method in PaymentMethod}
_CONTACT_FUNCTIONS = {function.value: function for function in PayerContactFunction}
_QUALIFIERS = {qualifier.value: qualifier for qualifier in CommunicationQualifier}
#: X221A1 order of the 1000A PER segments: business contact, technical contacts, web site.
_CONTACT_ORDER = {PayerContactFunction.BUSINESS: 0, PayerContactFunction.TECHNICAL: 1,
                  PayerContactFunction.WEB_SITE: 2}
#: Address fields -> (N3/N4 element, what it should be, 999 IK4 code) for positioned errors.
_ADDRESS_ELEMENTS = {"line1": ("N301", "payer address line of at most 55 characters", "5"),
                     "line2": ("N302", "payer address line of at most 55 characters", "5"),
                     "city": ("N401", "payer city name of 2 to 30 characters", "4"),
                     "state": ("N402", "payer state as a 2-letter code", "7"),
                     "postal_code": ("N403", "payer ZIP code of 5 or 9 digits", "7")}
_MAX_REASON = 5
#: Dates a payer could mean: a payment (BPR16), production (DTM*405) or service date before
#: 1900 or more than a year ahead of today is a typo or a hostile file (9999-12-31). (A date
#: of service after the payment that pays for it is the posting's question: the X12 guides'
#: own examples have them, so the file is read and that claim goes to the exceptions.)
EARLIEST_DATE = date(1900, 1, 1)
DAYS_AHEAD = 366
_ZERO = Decimal("0.00")
#: Amount texts repeat a lot within a file ("0", "45", "20"); Decimal is immutable, so share.
_MONEY_CACHE: dict[str, Decimal] = {}
_MONEY_CACHE_LIMIT = 2048  # bounded: streaming memory must not grow with the file
#: Dates repeat even more (a file covers a few weeks of service): CCYYMMDD text -> date.
_DATE_CACHE: dict[str, date] = {}
_DATE_CACHE_LIMIT = 1024
#: Per component separator, SVC01 composite text -> (qualifier, code, modifiers): "HC:99213"
#: recurs on most lines. Keyed by separator first: the same text splits differently under another.
_PROCEDURE_CACHES: dict[str, dict[str, tuple[str, str, tuple[str, ...]]]] = {}
_PROCEDURE_CACHE_LIMIT = 1024
_build_adjustment = builder(Adjustment)
_build_service = builder(ServicePayment)
_build_claim = builder(ClaimPayment)


def _parse_money(text: str) -> Decimal | None:
    """``text`` as a plain number (type R) in whole cents (and cached), else ``None`` (then
    :meth:`_Decoder.money` says why)."""
    value = parse_plain_number(text)
    if value is None:
        return None
    if text[-3:-2] != ".":  # "12.34" has two places already: quantize would be the identity
        # "50.004" is never rounded to a payment nobody made: refused (and not cached)
        value = exact_cents(value)
        if value is None:
            return None
    if len(_MONEY_CACHE) < _MONEY_CACHE_LIMIT:
        _MONEY_CACHE[text] = value
    return value


def _amount(segment: Segment, position: int) -> Decimal | None:
    """The amount at ``position``; ``None`` when absent or invalid (then ask ``money``)."""
    if len(segment) > position:
        text = segment[position]
        value = _MONEY_CACHE.get(text)
        return value if value is not None else _parse_money(text)
    return None


def _date(text: str) -> date | None:
    # Inlined CCYYMMDD parse: date() itself rejects impossible days.
    if len(text) == 8 and _digits(text):
        try:
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        except ValueError:
            return None
    return None


#: ``date`` where the decoder's ``date()`` method hides the name (in its annotations)
_Date = date
#: what :meth:`_Decoder.recover` carries on with
_Fallback = TypeVar("_Fallback")


class _Decoder:
    """State of one 835 transaction being decoded. Methods raise positioned X12Errors."""

    __slots__ = ("claim", "claims_seen", "component", "header", "latest", "plbs", "procedures",
                 "service", "strict", "transaction", "warnings")

    def __init__(self, transaction: Transaction, strict: bool = True,
                 warnings: list[X12Error] | None = None) -> None:
        self.transaction = transaction
        self.strict = strict
        self.warnings: list[X12Error] = warnings if warnings is not None else []
        self.component = transaction.delimiters.component
        self.procedures = _PROCEDURE_CACHES.setdefault(self.component, {})
        self.header: dict[str, Any] = {"claims": [], "provider_adjustments": []}
        self.claim: dict[str, Any] | None = None
        self.service: dict[str, Any] | None = None
        self.plbs: list[ProviderAdjustment] = []
        self.claims_seen = 0
        #: the latest date believable
        self.latest = date.today() + timedelta(days=DAYS_AHEAD)

    # -- value helpers ----------------------------------------------------------------------------
    def fail(self, cls: type[X12Error], expected: str, segment: Segment,
             element: int | None = None, code: str | None = None) -> X12Error:
        return self.transaction.error(cls, expected, segment, element, ack_code=code)

    def recover(self, error: Exception, fallback: _Fallback) -> _Fallback:
        """Strict: raise. Lenient: note the problem and carry on with ``fallback``."""
        if self.strict:
            raise error
        assert isinstance(error, X12Error)
        self.warnings.append(error)
        return fallback

    def note(self, error: X12Error) -> None:
        """A defect in data kept for information only (the payer's address and contacts):
        noted in :attr:`warnings` in both modes, never a reason to refuse a payment."""
        error.informational = True
        self.warnings.append(error)

    def money(self, segment: Segment, position: int, what: str) -> Decimal:
        text = segment[position] if len(segment) > position else ""
        value = _MONEY_CACHE.get(text)
        if value is None:
            value = _parse_money(text)
        if value is not None:
            return value
        if not text:
            error = self.fail(X12StructureError, f"{what} (required)", segment, position, "1")
        else:
            error = self.fail(X12ValueError, money_expected(what, text), segment, position, "6")
        # Lenient: an amount that cannot be read (or holds fractions of a cent) is never
        # replaced by one (0.00 would be posted as money nobody paid, 50.00 for 50.004 as a
        # rounding nobody made): the record holding it is skipped, the problem kept.
        self.recover(error, None)
        raise _SkippedAmount(error)

    def opt_money(self, segment: Segment, position: int, what: str) -> Decimal | None:
        """An optional amount; lenient, one that cannot be read is left out (and noted)."""
        if len(segment) <= position or not segment[position]:
            return None
        try:
            return self.money(segment, position, what)
        except _SkippedAmount:
            return None

    def opt_decimal(self, segment: Segment, position: int, what: str) -> Decimal | None:
        if len(segment) <= position or not segment[position]:
            return None
        value = parse_plain_number(segment[position])
        if value is None:
            raise self.fail(X12ValueError, f"{what} as a decimal number", segment, position, "6")
        return value

    def date(self, segment: Segment, position: int, what: str) -> date:
        text = segment[position] if len(segment) > position else ""
        value = _DATE_CACHE.get(text)
        if value is not None:
            return value
        value = _date(text)
        if value is None:
            if not text:
                raise self.fail(X12StructureError, f"{what} (required)", segment, position, "1")
            raise self.fail(X12ValueError, f"{what} as a CCYYMMDD date", segment, position, "8")
        if len(_DATE_CACHE) < _DATE_CACHE_LIMIT:
            _DATE_CACHE[text] = value
        return value

    def plausible(self, value: _Date, segment: Segment, position: int, what: str) -> _Date:
        """``value`` when it is between 1900-01-01 and a year from today; else a positioned
        error (raised in both modes: a date nobody could mean is never posted)."""
        if EARLIEST_DATE <= value <= self.latest:
            return value
        raise self.fail(X12ValueError, f"{what} between {EARLIEST_DATE.isoformat()} and "
                        f"{self.latest.isoformat()}", segment, position, "8")

    def plausible_date(self, segment: Segment, position: int, what: str,
                       required: bool = True) -> _Date | None:
        """:meth:`date` (or :meth:`opt_date`) checked by :meth:`plausible`."""
        value = (self.date(segment, position, what) if required
                 else self.opt_date(segment, position, what))
        return None if value is None else self.plausible(value, segment, position, what)

    def opt_date(self, segment: Segment, position: int, what: str) -> _Date | None:
        if len(segment) <= position or not segment[position]:
            return None
        value = _date(segment[position])
        if value is None:
            return self.recover(self.fail(X12ValueError, f"{what} as a CCYYMMDD date", segment,
                                          position, "8"), None)
        return value

    def text(self, segment: Segment, position: int, what: str) -> str:
        value = segment[position].strip() if len(segment) > position else ""
        if not value:
            raise self.fail(X12StructureError, f"{what} (required)", segment, position, "1")
        return value

    # -- segments ---------------------------------------------------------------------------------
    def adjustments(self, segment: Segment) -> list[Adjustment]:
        size = len(segment)
        group = _GROUPS.get(segment[1] if size > 1 else "")
        if group is None:
            raise self.fail(X12ValueError, "CAS01 group code CO, CR, OA, PI or PR", segment, 1,
                            "7")
        if size == 4:  # the common case: one triplet without quantity
            reason = segment[2].strip()
            if reason and len(reason) <= _MAX_REASON:
                try:
                    amount = self.money(segment, 3, "CAS03 amount")
                except _SkippedAmount:
                    return []  # lenient: the adjustment is left out, the problem noted
                return [_build_adjustment({"group": group, "reason_code": reason,
                                           "amount": amount, "quantity": None})]
        result = []
        skipped = False
        for position in (2, 5, 8, 11, 14, 17):
            if position >= size:
                break
            reason = segment[position].strip()
            if not reason:
                continue
            if len(reason) > _MAX_REASON:
                raise self.fail(X12ValueError, "a reason code of at most 5 characters", segment,
                                position, "5")
            try:
                amount = self.money(segment, position + 1, f"CAS{position + 1:02d} amount")
            except _SkippedAmount:
                skipped = True  # lenient: this adjustment is left out, the problem noted
                continue
            result.append(_build_adjustment({
                "group": group, "reason_code": reason, "amount": amount,
                "quantity": self.opt_decimal(segment, position + 2,
                                             f"CAS{position + 2:02d} quantity"),
            }))
        if not result and skipped:
            return result
        if not result:
            raise self.fail(X12StructureError, "CAS02 reason code (required)", segment, 2, "1")
        return result

    def clp(self, segment: Segment) -> dict[str, Any]:
        status = _STATUSES.get(segment[2] if len(segment) > 2 else "")
        if status is None:
            raise self.fail(X12ValueError, "CLP02 claim status code", segment, 2, "7")
        size = len(segment)
        claim_number = segment[1].strip()
        if not claim_number:
            claim_number = self.text(segment, 1, "CLP01 patient control number")
        charge = _amount(segment, 3)
        if charge is None:
            charge = self.money(segment, 3, "CLP03 total claim charge")
        paid = _amount(segment, 4)
        if paid is None:
            paid = self.money(segment, 4, "CLP04 claim payment amount")
        patient = _amount(segment, 5)
        if patient is None:
            patient = self.opt_money(segment, 5, "CLP05 patient responsibility")
        return {
            "claim_number": claim_number,
            "status": status,
            "charge": charge,
            "paid": paid,
            "patient_responsibility": patient,
            "filing_indicator": segment[6].strip() or None if size > 6 else None,
            "payer_claim_number": segment[7].strip() or None if size > 7 else None,
            "facility_type": segment[8].strip() or None if size > 8 else None,
            "frequency": segment[9].strip() or None if size > 9 else None,
            "patient_last_name": None, "patient_first_name": None, "member_id": None,
            "service_date_from": None, "service_date_to": None, "received_date": None,
            "interest": None, "adjustments": [], "remark_codes": [], "services": [],
            "drg_code": clp_drg(segment), "inpatient": None, "outpatient": None,
        }

    def procedure(self, segment: Segment) -> tuple[str, str, tuple[str, ...]]:
        """SVC01 as (qualifier, code, modifiers); well-formed ones are cached by their text."""
        composite = segment[1] if len(segment) > 1 else None
        procedure = composite.split(self.component) if composite is not None else []
        if len(procedure) < 2 or not procedure[1]:
            procedure = self.recover(
                self.fail(X12StructureError, "SVC01-2 procedure code (required)", segment, 1,
                          "1"), _guess_composite(procedure))
            composite = None  # depends on strictness: not cached
        result = (procedure[0].strip(), procedure[1].strip(),
                  tuple(m for m in procedure[2:6] if m))
        if composite is not None and len(self.procedures) < _PROCEDURE_CACHE_LIMIT:
            self.procedures[composite] = result
        return result

    def svc(self, segment: Segment) -> dict[str, Any]:
        size = len(segment)
        procedure = self.procedures.get(segment[1]) if size > 1 else None
        if procedure is None:
            procedure = self.procedure(segment)
        original = None
        if size > 6 and segment[6]:
            parts = segment[6].split(self.component)
            original = parts[1].strip() or None if len(parts) > 1 else None
        charge = _amount(segment, 2)
        if charge is None:
            charge = self.money(segment, 2, "SVC02 line charge")
        paid = _amount(segment, 3)
        if paid is None:
            paid = self.money(segment, 3, "SVC03 line payment")
        return {
            "procedure_code": procedure[1], "procedure_qualifier": procedure[0],
            "modifiers": list(procedure[2]),
            "charge": charge,
            "paid": paid,
            "units": self.opt_decimal(segment, 5, "SVC05 units paid") if size > 5 else None,
            "original_procedure_code": original, "service_date_from": None,
            "service_date_to": None, "line_control_number": None, "allowed_amount": None,
            "adjustments": [], "remark_codes": [],
            "revenue_code": segment[4].strip() or None if size > 4 else None,
        }

    def plb(self, segment: Segment) -> None:
        provider = self.text(segment, 1, "PLB01 provider identifier")
        fiscal = self.opt_date(segment, 2, "PLB02 fiscal period date")
        size = len(segment)
        found = False
        for position in (3, 5, 7, 9, 11, 13):
            if position >= size or not segment[position]:
                continue
            reason, _, reference = segment[position].partition(self.component)
            found = True
            try:
                amount = self.money(segment, position + 1, f"PLB{position + 1:02d} amount")
            except _SkippedAmount:
                continue  # lenient: this adjustment is left out, the problem noted
            self.plbs.append(trusted(ProviderAdjustment, {
                "provider_id": provider, "fiscal_period_date": fiscal,
                "reason_code": reason.strip(), "reference": reference.strip() or None,
                "amount": amount}))
        if not found:
            raise self.fail(X12StructureError, "PLB03 adjustment reason (required)", segment, 3,
                            "1")

    def header_segment(self, tag: str, segment: Segment) -> None:
        header = self.header
        if tag == "BPR":
            header["handling_code"] = self.text(segment, 1, "BPR01 transaction handling code")
            try:
                header["payment_amount"] = self.money(segment, 2, "BPR02 total payment amount")
            except _SkippedAmount as skipped:
                raise skipped.error from None  # no payment without its amount, even lenient
            header["credit_debit"] = self.text(segment, 3, "BPR03 credit/debit flag")
            method = _METHODS.get(segment[4] if len(segment) > 4 else "")
            if method is None:
                raise self.fail(X12ValueError, "BPR04 payment method ACH, BOP, CHK, FWT or NON",
                                segment, 4, "7")
            header["payment_method"] = method
            header["payment_date"] = self.plausible_date(segment, 16, "BPR16 payment date",
                                                         required=False)
        elif tag == "TRN":
            header["trace_number"] = self.text(segment, 2, "TRN02 check or EFT trace number")
            header["payer_trace_id"] = segment[3].strip() or None if len(segment) > 3 else None
        elif tag == "DTM" and segment[1:2] == ["405"]:
            header["production_date"] = self.plausible_date(segment, 2, "DTM02 production date")
        elif tag == "N1":
            entity = segment[1] if len(segment) > 1 else ""
            name = self.text(segment, 2, "N102 name")
            qualifier = segment[3] if len(segment) > 3 else ""
            identifier = segment[4].strip() if len(segment) > 4 else ""
            if entity == "PR":
                header["payer_name"] = name
                if qualifier == "XV" and identifier and "payer_id" not in header:
                    header["payer_id"] = identifier
                header["_loop"] = "1000A"
            elif entity == "PE":
                header["payee_name"] = name
                if qualifier == "XX" and identifier:
                    header["payee_npi"] = identifier
                elif qualifier == "FI" and identifier:
                    header["payee_tax_id"] = identifier
                header["_loop"] = "1000B"
        elif tag == "REF":
            qualifier = segment[1] if len(segment) > 1 else ""
            loop = header.get("_loop")
            if loop == "1000A" and qualifier == "2U":
                header["payer_id"] = self.text(segment, 2, "REF02 payer identification")
            elif loop == "1000B" and qualifier == "TJ":
                header["payee_tax_id"] = self.text(segment, 2, "REF02 payee tax ID")
        elif header.get("_loop") != "1000A":
            return  # the payee's N3/N4 (loop 1000B) are not kept
        elif tag == "N3":
            header["_n3"] = (self.text(segment, 1, "N301 payer address line"),
                             segment[2].strip() or None if len(segment) > 2 else None)
        elif tag == "N4":
            self.payer_address(segment)
        elif tag == "PER":
            contact = self.payer_contact(segment)
            if contact is not None:
                header.setdefault("payer_contacts", []).append(contact)

    def payer_address(self, segment: Segment) -> None:
        """N4 of loop 1000A, with the N3 before it, as ``payer_address``."""
        header = self.header
        lines = header.pop("_n3", None)
        country = segment[4].strip() if len(segment) > 4 else ""
        if country and country != "US":
            return  # Address holds US addresses only: a foreign payer address is not kept
        if lines is None:
            self.note(self.fail(X12StructureError, "N3 payer address before N4", segment,
                                None, "3"))
            return
        data = {"line1": lines[0], "line2": lines[1],
                "city": segment[1].strip() if len(segment) > 1 else "",
                "state": segment[2].strip() if len(segment) > 2 else "",
                "postal_code": segment[3].strip() if len(segment) > 3 else ""}
        try:
            header["payer_address"] = Address.model_validate(data)
        except ValidationError as exc:
            field = str(exc.errors(include_input=False)[0]["loc"][0])
            name, expected, code = _ADDRESS_ELEMENTS.get(field, ("N4", "a valid payer address",
                                                                 "7"))
            position = int(name[2:]) if name.startswith("N4") and len(name) > 2 else None
            value = data.get(field) or ""
            if field == "city" and len(value) > 30:
                code = "5"
            error = self.fail(X12StructureError if not value else X12ValueError,
                              f"{name} {expected}" + ("" if value else " (required)"), segment,
                              position, code if value else "1")
            self.note(error)

    def payer_contact(self, segment: Segment) -> PayerContactInfo | None:
        """One PER of loop 1000A; ``None`` (lenient) when PER01 is not CX, BL or IC."""
        size = len(segment)
        function = _CONTACT_FUNCTIONS.get(segment[1].strip() if size > 1 else "")
        if function is None:
            self.note(self.fail(X12ValueError, "PER01 contact function code CX, BL or IC",
                                segment, 1, "7"))
            return None
        name = segment[2].strip() if size > 2 else ""
        start = 3
        if (name in _QUALIFIERS and size > 3
                and (segment[3].strip() not in _QUALIFIERS
                     or size < 5 or not segment[4].strip())):
            # A known payer defect: PER02 left out with its separator ("PER*CX*TE*8005551212").
            self.note(self.fail(X12StructureError, "PER02 name (may be empty) before "
                                           "the communication numbers", segment, 2, "2"))
            name, start = "", 2
        if len(name) > 60:
            self.note(self.fail(X12ValueError, "PER02 name of at most 60 characters", segment, 2,
                                "5"))
            name = ""
        numbers: list[CommunicationNumber] = []
        for position in (start, start + 2, start + 4):
            qualifier_text = segment[position].strip() if size > position else ""
            number = segment[position + 1].strip() if size > position + 1 else ""
            if not qualifier_text and not number:
                continue
            qualifier = _QUALIFIERS.get(qualifier_text)
            if qualifier is None:
                if qualifier_text:
                    error = self.fail(X12ValueError, f"PER{position:02d} communication number "
                                      "qualifier EM, EX, FX, TE or UR", segment, position, "7")
                else:
                    error = self.fail(X12StructureError, f"PER{position:02d} communication "
                                      f"number qualifier (PER{position + 1:02d} is given)",
                                      segment, position, "2")
                self.note(error)
                continue
            if not number or len(number) > 256:
                self.note(self.fail(
                    X12StructureError if not number else X12ValueError,
                    f"PER{position + 1:02d} communication number "
                    + (f"(PER{position:02d} is given)" if not number else
                       "of at most 256 characters"),
                    segment, position + 1, "2" if not number else "5"))
                continue
            numbers.append(trusted(CommunicationNumber, {"qualifier": qualifier,
                                                         "number": number}))
        return trusted(PayerContactInfo, {"function": function, "name": name or None,
                                          "numbers": numbers})

    def remittance_header(self) -> Remittance:
        header = dict(self.header)
        header.pop("_loop", None)
        if header.pop("_n3", None) is not None:
            self.note(X12StructureError("N4 payer city, state and ZIP after N3",
                                        segment_index=self.transaction.segment_index,
                                        segment_id="N4", ack_code="3"))
        for name, what in (("payment_amount", "BPR segment"), ("trace_number", "TRN segment"),
                           ("payer_name", "N1*PR payer loop 1000A"),
                           ("payee_name", "N1*PE payee loop 1000B")):
            if name not in header:
                raise X12StructureError(f"{what} (required)",
                                        segment_index=self.transaction.segment_index,
                                        ack_code="3")
        header["claims"] = []
        header["provider_adjustments"] = []
        return trusted(Remittance, header)


class _SkippedAmount(Exception):
    """Lenient reading: an amount could not be read; the record holding it is skipped. The
    positioned problem is already in the decoder's warnings."""

    def __init__(self, error: X12Error) -> None:
        super().__init__(str(error))
        self.error = error


#: Tags that end a skipped claim (the next claim, a header number, PLB, ...) or line.
_AFTER_CLAIM = frozenset({"CLP", "LX", "PLB"})
_AFTER_SERVICE = frozenset({"SVC", "CLP", "LX", "PLB"})


def _guess_composite(parts: list[str]) -> list[str]:
    """Lenient reading of a composite written with another component separator than ISA16."""
    if len(parts) == 1:
        for separator in (">", ":", "^", "|", "\\", "<"):
            if separator in parts[0]:
                return parts[0].split(separator)
    return [*parts, "", ""][:2] if len(parts) < 2 else parts


_finish_service = _build_service


def _finish_claim(claim: dict[str, Any], service: dict[str, Any] | None) -> ClaimPayment:
    if service is not None:
        claim["services"].append(_build_service(service))
    return _build_claim(claim)


def iter_claim_payments(transaction: Transaction, decoder: _Decoder) -> Iterator[ClaimPayment]:
    """The claims of one 835 transaction set in order; header and PLBs land in ``decoder``."""
    claim: dict[str, Any] | None = None
    service: dict[str, Any] | None = None
    in_detail = False
    money_cached = _MONEY_CACHE.get
    parse_money = _parse_money
    date_cached = _DATE_CACHE.get
    groups = _GROUPS.get
    build_adjustment = _build_adjustment
    #: lenient: segments of a claim or service line skipped for an unreadable amount, until
    #: one of these tags starts the next record
    skip_until: frozenset[str] | None = None
    for segment in transaction.segments():
        tag = segment[0]
        if skip_until is not None:
            if tag not in skip_until:
                continue
            skip_until = None
        if tag == "CAS":
            target = service if service is not None else claim
            if target is None:
                continue
            if len(segment) == 4:  # the common case: one triplet without quantity
                group = groups(segment[1])
                reason = segment[2].strip()
                amount = money_cached(segment[3])
                if amount is None:
                    amount = parse_money(segment[3])
                if (group is not None and amount is not None and reason
                        and len(reason) <= _MAX_REASON):
                    target["adjustments"].append(build_adjustment({
                        "group": group, "reason_code": reason, "amount": amount,
                        "quantity": None}))
                    continue
            target["adjustments"] += decoder.adjustments(segment)
        elif tag == "SVC":
            if claim is None:
                raise decoder.fail(X12StructureError, "CLP before SVC", segment, None, "2")
            if service is not None:
                claim["services"].append(_finish_service(service))
            try:
                service = decoder.svc(segment)
            except _SkippedAmount:
                service, skip_until = None, _AFTER_SERVICE
        elif tag == "DTM":
            qualifier = segment[1] if len(segment) > 1 else ""
            if service is not None:
                if qualifier == "472" or qualifier == "150":
                    value = date_cached(segment[2]) if len(segment) > 2 else None
                    if value is None:
                        value = decoder.date(segment, 2, "DTM02 service date")
                    if not EARLIEST_DATE <= value <= decoder.latest:
                        decoder.plausible(value, segment, 2, "DTM02 service date")
                    service["service_date_from"] = value
                elif qualifier == "151":
                    service["service_date_to"] = decoder.plausible_date(segment, 2,
                                                                        "DTM02 service date")
            elif claim is not None:
                if qualifier == "232":
                    claim["service_date_from"] = decoder.plausible_date(
                        segment, 2, "DTM02 statement date")
                elif qualifier == "233":
                    claim["service_date_to"] = decoder.plausible_date(segment, 2,
                                                                      "DTM02 statement date")
                elif qualifier == "050":
                    claim["received_date"] = decoder.date(segment, 2, "DTM02 received date")
            elif not in_detail:
                decoder.header_segment(tag, segment)
        elif tag == "REF":
            if service is not None:
                if len(segment) > 2 and segment[1] == "6R":
                    control = segment[2].strip()
                    service["line_control_number"] = control or decoder.text(
                        segment, 2, "REF02 line control number")
                elif segment[1:2] == ["6R"]:
                    service["line_control_number"] = decoder.text(segment, 2,
                                                                  "REF02 line control number")
            elif claim is None and not in_detail:
                decoder.header_segment(tag, segment)
        elif tag == "AMT":
            qualifier = segment[1] if len(segment) > 1 else ""
            if service is not None:
                if qualifier == "B6":
                    allowed = _amount(segment, 2)
                    service["allowed_amount"] = allowed if allowed is not None else (
                        decoder.opt_money(segment, 2, "AMT02 allowed amount"))
            elif claim is not None and qualifier == "I":
                claim["interest"] = decoder.opt_money(segment, 2, "AMT02 interest")
        elif tag == "LQ":
            if service is not None:
                remark = segment[2].strip() if len(segment) > 2 else ""
                service["remark_codes"].append(remark or decoder.text(segment, 2,
                                                                      "LQ02 remark code"))
        elif tag == "CLP":
            in_detail = True
            if claim is not None:
                decoder.claims_seen += 1
                yield _finish_claim(claim, service)
            elif decoder.claims_seen == 0 and "_header" not in decoder.header:
                decoder.header["_header"] = decoder.remittance_header()
            service = None
            try:
                claim = decoder.clp(segment)
            except _SkippedAmount:
                claim, skip_until = None, _AFTER_CLAIM
        elif tag == "NM1":
            if claim is not None and service is None and segment[1:2] == ["QC"]:
                size = len(segment)
                claim["patient_last_name"] = segment[3].strip() or None if size > 3 else None
                claim["patient_first_name"] = segment[4].strip() or None if size > 4 else None
                claim["member_id"] = segment[9].strip() or None if size > 9 else None
        elif tag == "MOA":
            if claim is not None:
                read_moa(segment, claim, decoder)
        elif tag == "MIA":
            if claim is not None:
                read_mia(segment, claim, decoder)
        elif tag == "LX":
            in_detail = True
            if claim is not None:
                decoder.claims_seen += 1
                yield _finish_claim(claim, service)
                claim = service = None
            if "_header" not in decoder.header:
                decoder.header["_header"] = decoder.remittance_header()
        elif tag == "PLB":
            if claim is not None:
                decoder.claims_seen += 1
                yield _finish_claim(claim, service)
                claim = service = None
            in_detail = True
            decoder.plb(segment)
        elif not in_detail:
            decoder.header_segment(tag, segment)
    if claim is not None:
        decoder.claims_seen += 1
        yield _finish_claim(claim, service)


def _positioned(transaction: Transaction, claims: Iterator[ClaimPayment]
                ) -> Iterator[ClaimPayment]:
    """``claims``, where a value the element checks let through and a model refused (none is
    known: each element is checked where it is read) is still an X12 error naming the fields
    at the segment being read, never pydantic's own exception (the 837 decoders do the
    same)."""
    try:
        yield from claims
    except ValidationError as exc:
        raise X12ValueError(f"valid {refused_fields(exc)}",
                            segment_index=transaction.segment_index) from None


class RemittanceStream:
    """One 835 transaction set decoded claim by claim.

    ``header`` (a :class:`Remittance` without claims) is available once the first claim is out;
    ``provider_adjustments`` once :meth:`claims` is exhausted.
    """

    def __init__(self, transaction: Transaction, *, strict: bool = True,
                 warnings: list[X12Error] | None = None) -> None:
        ensure_transaction(transaction, "835", ("005010X221",))
        self.transaction = transaction
        self._decoder = _Decoder(transaction, strict, warnings)
        self._claims = _positioned(transaction, iter_claim_payments(transaction, self._decoder))

    def claims(self) -> Iterator[ClaimPayment]:
        return self._claims

    @property
    def header(self) -> Remittance:
        header = self._decoder.header.get("_header")
        if header is None:
            header = self._decoder.remittance_header()
            self._decoder.header["_header"] = header
        return header

    @property
    def warnings(self) -> list[X12Error]:
        """Problems skipped over in lenient mode (empty in strict mode)."""
        return self._decoder.warnings

    @property
    def provider_adjustments(self) -> list[ProviderAdjustment]:
        return self._decoder.plbs

    def remittance(self) -> Remittance:
        """The whole transaction set as one Remittance (reads the rest of it)."""
        claims = list(self._claims)
        header = self.header
        data = dict(header.__dict__)
        data["claims"] = claims
        data["provider_adjustments"] = list(self._decoder.plbs)
        return trusted(Remittance, data)


def decode_835_transaction(transaction: Transaction, *, strict: bool = True,
                           warnings: list[X12Error] | None = None) -> Remittance:
    return RemittanceStream(transaction, strict=strict, warnings=warnings).remittance()


def decode_835(text: str, *, strict: bool = True,
               warnings: list[X12Error] | None = None) -> list[Remittance]:
    """Every 835 transaction set in ``text``, one Remittance each.

    :param strict: raise on any defect (default). ``False`` reads past defects payers' files are
        known to have (an unparsable date, an amount left empty, a composite written with
        another component separator) and appends them to ``warnings`` instead.
    :raises X12Error: malformed input, positioned; never a bare IndexError/KeyError.
    """
    if warnings is None:
        warnings = []
    reader = X12Reader(text, strict=strict, warnings=warnings)
    with gc_paused():
        return [decode_835_transaction(t, strict=strict, warnings=warnings)
                for t in reader.transactions()]


class _TextSlices:
    """A read-only text stream over a string, without copying it (io.StringIO would)."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._position = 0

    def read(self, size: int = -1) -> str:
        start = self._position
        end = len(self._text) if size < 0 else min(len(self._text), start + size)
        self._position = end
        return self._text[start:end]


def stream_835_text(text: str, chunk_size: int = 1 << 16) -> Iterator[RemittanceStream]:
    """:func:`stream_835` for a document already in memory: only ``chunk_size`` characters
    of it are split into segments at a time, and claims are decoded as they are read."""
    reader = X12Reader(stream=_TextSlices(text), chunk_size=chunk_size)  # type: ignore[arg-type]
    for transaction in reader.transactions():
        yield RemittanceStream(transaction)


def stream_835(path: str | os.PathLike[str], chunk_size: int = 1 << 20
               ) -> Iterator[RemittanceStream]:
    """Stream a large 835 file: one :class:`RemittanceStream` per transaction set.

    Memory stays bounded by ``chunk_size`` and whatever the caller keeps of the claims.
    """
    reader = X12Reader.from_path(path, chunk_size=chunk_size)
    for transaction in reader.transactions():
        yield RemittanceStream(transaction)


# -- encoding -------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class PayerContact:
    """Fallback 1000A details for a Remittance without ``payer_address``/``payer_contacts``.

    ``Remittance.payer_address`` and ``Remittance.payer_contacts`` take precedence, each on its
    own; this supplies what X221A1 requires (N3/N4 and one PER*BL) when they are empty.
    """

    address: Address
    technical_contact_phone: str | None = None
    technical_contact_url: str | None = None

    def contacts(self) -> list[PayerContactInfo]:
        """The technical contact as a PER*BL, when a phone or URL is given."""
        numbers = [CommunicationNumber(qualifier=qualifier, number=number)
                   for qualifier, number in ((CommunicationQualifier.PHONE,
                                              self.technical_contact_phone),
                                             (CommunicationQualifier.URL,
                                              self.technical_contact_url)) if number]
        if not numbers:
            return []
        return [PayerContactInfo(function=PayerContactFunction.TECHNICAL, numbers=numbers)]


def encode_835(remittances: Sequence[Remittance], *, parties: Parties = DEFAULT_PARTIES,
               control_numbers: ControlNumberSource | None = None, now: datetime | None = None,
               delimiters: Delimiters | None = None, payer_contact: PayerContact | None = None,
               line_breaks: bool = False) -> str:
    """One interchange, one HP group, one 835 transaction set per Remittance.

    The payer address (N3/N4) and contacts (PER) come from ``Remittance.payer_address`` and
    ``Remittance.payer_contacts``; ``payer_contact`` stands in for whichever of the two a
    Remittance leaves empty. X221A1 requires N3/N4 and one PER*BL: without either source those
    segments are left out. PER segments are written in X221A1 order (CX, then BL, then IC).
    """
    if not remittances:
        raise X12EncodeError("at least one remittance to encode")
    interchange = new_interchange(parties, control_numbers, now, delimiters, line_breaks)
    group = interchange.group(FUNCTIONAL_ID, VERSION)
    for remittance in remittances:
        _write_remittance(group.transaction("835", with_reference=False), remittance,
                          payer_contact)
    return interchange.text()


def _cas(w: TransactionWriter, adjustments: Sequence[Adjustment]) -> None:
    by_group: dict[AdjustmentGroup, list[Adjustment]] = {}
    for adjustment in adjustments:
        by_group.setdefault(adjustment.group, []).append(adjustment)
    for group, items in by_group.items():
        for start in range(0, len(items), 6):
            elements: list[str | None] = [group.value]
            for item in items[start:start + 6]:
                elements += [item.reason_code, format_money(item.amount),
                             format_decimal(item.quantity) if item.quantity is not None
                             else None]
            w.add("CAS", *elements)


def _write_remittance(w: TransactionWriter, remittance: Remittance,
                      payer_contact: PayerContact | None) -> None:
    r = remittance
    payment_date = format_date(r.payment_date) if r.payment_date else None
    w.add("BPR", r.handling_code, format_money(r.payment_amount), r.credit_debit,
          r.payment_method.value, *([None] * 11), payment_date)
    w.add("TRN", "1", r.trace_number, r.payer_trace_id)
    if r.production_date:
        w.add("DTM", "405", format_date(r.production_date))
    w.add("N1", "PR", r.payer_name)
    address = r.payer_address or (payer_contact.address if payer_contact else None)
    if address is not None:
        w.add("N3", address.line1, address.line2)
        w.add("N4", address.city, address.state, address.postal_code)
    if r.payer_id:
        w.add("REF", "2U", r.payer_id)
    contacts = r.payer_contacts or (payer_contact.contacts() if payer_contact else [])
    for contact in sorted(contacts, key=lambda c: _CONTACT_ORDER.get(c.function, 3)):
        if len(contact.numbers) > 3:
            raise X12EncodeError("at most 3 communication numbers per contact (PER03-PER08)",
                                 segment_id="PER")
        numbers: list[str | None] = []
        for item in contact.numbers:
            numbers += [item.qualifier.value, item.number]
        w.add("PER", contact.function.value, contact.name, *numbers)
    if r.payee_npi:
        w.add("N1", "PE", r.payee_name, "XX", r.payee_npi)
        if r.payee_tax_id:
            w.add("REF", "TJ", r.payee_tax_id)
    elif r.payee_tax_id:
        w.add("N1", "PE", r.payee_name, "FI", r.payee_tax_id)
    else:
        w.add("N1", "PE", r.payee_name)
    if r.claims:
        w.add("LX", "1")
    for claim in r.claims:
        w.context_claim = claim.claim_number
        _write_claim(w, claim)
    w.context_claim = None
    _write_plb(w, r.provider_adjustments)


def _write_claim(w: TransactionWriter, c: ClaimPayment) -> None:
    w.add("CLP", c.claim_number, c.status.value, format_money(c.charge), format_money(c.paid),
          format_money(c.patient_responsibility) if c.patient_responsibility is not None
          else None, c.filing_indicator, c.payer_claim_number, c.facility_type, c.frequency,
          *((None, c.drg_code) if c.drg_code else ()))
    _cas(w, c.adjustments)
    if c.patient_last_name or c.patient_first_name or c.member_id:
        w.add("NM1", "QC", "1", c.patient_last_name, c.patient_first_name, None, None, None,
              "MI" if c.member_id else None, c.member_id)
    write_adjudication(w, c)
    if c.service_date_from:
        w.add("DTM", "232", format_date(c.service_date_from))
    if c.service_date_to:
        w.add("DTM", "233", format_date(c.service_date_to))
    if c.received_date:
        w.add("DTM", "050", format_date(c.received_date))
    if c.interest is not None:
        w.add("AMT", "I", format_money(c.interest))
    for service in c.services:
        _write_service(w, service)


def _write_service(w: TransactionWriter, s: ServicePayment) -> None:
    modifiers = list(s.modifiers)
    if len(modifiers) > 4:
        raise X12EncodeError("at most 4 procedure modifiers (SVC01-3 to SVC01-6)",
                             segment_id="SVC", element=1, claim_number=w.context_claim)
    w.add("SVC", (s.procedure_qualifier, s.procedure_code, *modifiers),
          format_money(s.charge), format_money(s.paid), s.revenue_code,
          format_decimal(s.units) if s.units is not None else None,
          (s.procedure_qualifier, s.original_procedure_code) if s.original_procedure_code
          else None)
    if s.service_date_to:
        if s.service_date_from:
            w.add("DTM", "150", format_date(s.service_date_from))
        w.add("DTM", "151", format_date(s.service_date_to))
    elif s.service_date_from:
        w.add("DTM", "472", format_date(s.service_date_from))
    _cas(w, s.adjustments)
    if s.line_control_number:
        w.add("REF", "6R", s.line_control_number)
    if s.allowed_amount is not None:
        w.add("AMT", "B6", format_money(s.allowed_amount))
    for code in s.remark_codes:
        w.add("LQ", "HE", code)


def _write_plb(w: TransactionWriter, adjustments: Sequence[ProviderAdjustment]) -> None:
    run: list[ProviderAdjustment] = []

    def flush() -> None:
        if not run:
            return
        first = run[0]
        if first.fiscal_period_date is None:
            raise X12EncodeError("a fiscal period date for each provider adjustment (PLB02)",
                                 segment_id="PLB", element=2)
        elements: list[Any] = [first.provider_id, format_date(first.fiscal_period_date)]
        for item in run:
            elements += [(item.reason_code, item.reference), format_money(item.amount)]
        w.add("PLB", *elements)
        run.clear()

    for adjustment in adjustments:
        if run and (len(run) == 6 or adjustment.provider_id != run[0].provider_id
                    or adjustment.fiscal_period_date != run[0].fiscal_period_date):
            flush()
        run.append(adjustment)
    flush()


__all__ = ["VERSION", "PayerContact", "RemittanceStream", "decode_835", "decode_835_transaction",
           "encode_835", "iter_claim_payments", "stream_835", "stream_835_text"]
