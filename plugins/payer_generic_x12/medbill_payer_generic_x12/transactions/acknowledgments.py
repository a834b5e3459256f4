"""Acknowledgments both ways: TA1 (interchange), 999 (005010X231A1), 277CA (005010X214).

999 mapping: AK1 -> functional_id / group_control_number; AK2+IK5 -> TransactionSetAck;
IK3 (+IK4) -> SegmentError (one per IK4; an IK3 without IK4 gives one without element);
IK502-IK506 -> TransactionSetAck.error_codes; AK901-AK904 -> status and counts; AK905-AK909 ->
FunctionalAcknowledgment.error_codes. Not kept: IK4 bad-data copies (PHI).

277CA mapping: BHT03 -> control_number; 2100A NM1*PR -> sender_name; each patient level (HL03 PT)
-> ClaimAcknowledgment: TRN02 claim_number, STC composites -> status_codes (STC01/10/11),
STC02 effective_date, STC04 total_charge, STC12 message, REF*1K payer_claim_number. The status is
derived from the first status category: A2/A5 accepted, A3/A4/A6/A7/A8 rejected, else pending.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from medbill_core.api import (
    AckStatus,
    BillableClaim,
    ClaimAcknowledgment,
    ClaimAcknowledgmentBatch,
    ClaimAckStatus,
    FunctionalAcknowledgment,
    InterchangeAcknowledgment,
    SegmentError,
    StatusCode,
    TransactionSetAck,
    total,
)
from medbill_payer_generic_x12.construct import trusted
from medbill_payer_generic_x12.transactions.common import (
    DEFAULT_PARTIES,
    Parties,
    composite,
    el,
    ensure_transaction,
    enum_value,
    new_interchange,
    opt,
    opt_ccyymmdd,
    opt_money,
    required,
)
from medbill_payer_generic_x12.x12.control import ControlNumberSource
from medbill_payer_generic_x12.x12.errors import (
    X12EncodeError,
    X12StructureError,
    X12ValueError,
)
from medbill_payer_generic_x12.x12.reader import Segment, Transaction, X12Reader, parse_date
from medbill_payer_generic_x12.x12.values import format_date, format_money, format_time
from medbill_payer_generic_x12.x12.values import is_digits as _digits
from medbill_payer_generic_x12.x12.writer import TransactionWriter

VERSION_999 = "005010X231A1"
VERSION_277CA = "005010X214"
_ACCEPTED_CATEGORIES = frozenset({"A2", "A5"})
_REJECTED_CATEGORIES = frozenset({"A3", "A4", "A6", "A7", "A8"})


# -- TA1 ------------------------------------------------------------------------------------------

def decode_ta1(text: str, *, strict: bool = True) -> list[InterchangeAcknowledgment]:
    """Every TA1 segment in ``text`` (they ride in an interchange before, or instead of, groups)."""
    result = []
    reader = X12Reader(text, strict=strict)
    for interchange in reader.interchanges():
        interchange.drain()
        for segment in interchange.ta1_segments:
            status = el(segment, 4)
            if status not in ("A", "E", "R"):
                raise X12ValueError("TA104 acknowledgment code A, E or R",
                                    segment_index=interchange.start_index, segment_id="TA1",
                                    element=4)
            control = el(segment, 1)
            if not control:
                raise X12StructureError("TA101 interchange control number (required)",
                                        segment_index=interchange.start_index,
                                        segment_id="TA1", element=1)
            result.append(trusted(InterchangeAcknowledgment, {
                "interchange_control_number": control,
                "interchange_date": parse_date(el(segment, 2)) or None,
                "accepted": status != "R", "note_code": el(segment, 5) or "000"}))
    return result


def encode_ta1(acks: Sequence[InterchangeAcknowledgment], *, parties: Parties = DEFAULT_PARTIES,
               control_numbers: ControlNumberSource | None = None,
               now: datetime | None = None) -> str:
    """An interchange holding TA1 segments and no functional group."""
    interchange = new_interchange(parties, control_numbers, now, None, False)
    for ack in acks:
        code = "R" if not ack.accepted else ("A" if ack.note_code == "000" else "E")
        stamp = ack.interchange_date
        interchange.add_ta1(ack.interchange_control_number,
                            f"{stamp.year % 100:02d}{stamp.month:02d}{stamp.day:02d}"
                            if stamp else "", format_time(interchange.now), code, ack.note_code)
    return interchange.text()


# -- 999 ------------------------------------------------------------------------------------------

def decode_999(text: str, *, strict: bool = True) -> list[FunctionalAcknowledgment]:
    """One FunctionalAcknowledgment per 999 transaction set.

    ``strict=False`` reads past envelope count/control-number mismatches.
    """
    reader = X12Reader(text, strict=strict)
    return [decode_999_transaction(t) for t in reader.transactions()]


def decode_999_transaction(transaction: Transaction) -> FunctionalAcknowledgment:
    ensure_transaction(transaction, "999", ("005010X231",))
    component = transaction.delimiters.component
    header: dict[str, Any] = {}
    acks: list[TransactionSetAck] = []
    current: dict[str, Any] | None = None
    ik3: Segment | None = None
    ik3_has_ik4 = False

    def close_ik3() -> None:
        if current is not None and ik3 is not None and not ik3_has_ik4:
            current["segment_errors"].append(_segment_error(transaction, ik3, None, component))

    for segment in transaction.segments():
        tag = segment[0]
        if tag == "AK1":
            header["functional_id"] = required(transaction, segment, 1, "AK101 functional id")
            header["group_control_number"] = required(transaction, segment, 2,
                                                      "AK102 group control number")
        elif tag == "AK2":
            close_ik3()
            ik3 = None
            current = {"transaction_set_id": required(transaction, segment, 1, "AK201 set ID"),
                       "control_number": required(transaction, segment, 2,
                                                  "AK202 control number"),
                       "segment_errors": []}
        elif tag == "IK3":
            if current is None:
                raise transaction.error(X12StructureError, "AK2 before IK3", segment)
            close_ik3()
            ik3, ik3_has_ik4 = segment, False
        elif tag == "IK4":
            if current is None or ik3 is None:
                raise transaction.error(X12StructureError, "IK3 before IK4", segment)
            current["segment_errors"].append(_segment_error(transaction, ik3, segment, component))
            ik3_has_ik4 = True
        elif tag == "IK5":
            if current is None:
                raise transaction.error(X12StructureError, "AK2 before IK5", segment)
            close_ik3()
            ik3 = None
            current["status"] = enum_value(transaction, AckStatus, el(segment, 1), segment, 1,
                                           "IK501 acknowledgment code")
            current["error_codes"] = [code for code in (el(segment, p) for p in range(2, 7))
                                      if code]
            acks.append(trusted(TransactionSetAck, current))
            current = None
        elif tag == "AK9":
            header["status"] = enum_value(transaction, AckStatus, el(segment, 1), segment, 1,
                                          "AK901 acknowledgment code")
            for name, position in (("included_count", 2), ("received_count", 3),
                                   ("accepted_count", 4)):
                value = el(segment, position)
                if value and not _digits(value):
                    raise transaction.error(X12ValueError, f"AK9{position:02d} as a number",
                                            segment, position, ack_code="6")
                header[name] = int(value) if value else None
            header["error_codes"] = [code for code in (el(segment, p) for p in range(5, 10))
                                     if code]
    if current is not None:
        raise X12StructureError("IK5 closing each AK2", segment_index=transaction.segment_index,
                                segment_id="IK5", ack_code="3")
    for name, what in (("functional_id", "AK1"), ("status", "AK9")):
        if name not in header:
            raise X12StructureError(f"{what} segment (required)",
                                    segment_index=transaction.segment_index, ack_code="3")
    header["transactions"] = acks
    return trusted(FunctionalAcknowledgment, header)


def _segment_error(transaction: Transaction, ik3: Segment, ik4: Segment | None,
                   component: str) -> SegmentError:
    position = el(ik3, 2)
    if not _digits(position):
        raise transaction.error(X12ValueError, "IK302 segment position as a number", ik3, 2,
                                ack_code="6")
    data: dict[str, Any] = {
        "segment_id": required(transaction, ik3, 1, "IK301 segment ID"),
        "segment_position": int(position), "loop_id": opt(ik3, 3),
        "segment_error_code": opt(ik3, 4), "element_position": None,
        "component_position": None, "element_error_code": None}
    if ik4 is not None:
        parts = composite(ik4, 1, component)
        if not parts or not _digits(parts[0]):
            raise transaction.error(X12ValueError, "IK401-1 element position as a number", ik4,
                                    1, ack_code="6")
        data["element_position"] = int(parts[0])
        if len(parts) > 1 and _digits(parts[1]):
            data["component_position"] = int(parts[1])
        data["element_error_code"] = opt(ik4, 3)
    return trusted(SegmentError, data)


def encode_999(acks: Sequence[FunctionalAcknowledgment], *, parties: Parties = DEFAULT_PARTIES,
               control_numbers: ControlNumberSource | None = None, now: datetime | None = None,
               acknowledged_version: str = "005010X222A1") -> str:
    """One FA group with one 999 per FunctionalAcknowledgment."""
    if not acks:
        raise X12EncodeError("at least one acknowledgment to encode")
    interchange = new_interchange(parties, control_numbers, now, None, False)
    group = interchange.group("FA", VERSION_999)
    for ack in acks:
        w = group.transaction("999")
        w.add("AK1", ack.functional_id, ack.group_control_number, acknowledged_version)
        for item in ack.transactions:
            w.add("AK2", item.transaction_set_id, item.control_number)
            _write_segment_errors(w, item.segment_errors)
            w.add("IK5", item.status.value, *_error_codes(item.error_codes, "IK5"))
        w.add("AK9", ack.status.value, _count(ack.included_count), _count(ack.received_count),
              _count(ack.accepted_count), *_error_codes(ack.error_codes, "AK9"))
    return interchange.text()


def _error_codes(codes: Sequence[str], segment_id: str) -> Sequence[str]:
    # IK502-IK506 / AK905-AK909: five elements; more would be lost, so refuse rather than cut.
    if len(codes) > 5:
        raise X12EncodeError(f"at most 5 syntax error codes ({segment_id}, 5 elements)",
                             segment_id=segment_id)
    return codes


def _count(value: int | None) -> str:
    # AK902-AK904 are required in X231A1; an unknown count is written as 0.
    return str(value) if value is not None else "0"


def _write_segment_errors(w: TransactionWriter, errors: Sequence[SegmentError]) -> None:
    previous: SegmentError | None = None
    for error in errors:
        same_segment = (previous is not None and error.element_position is not None
                        and previous.element_position is not None
                        and (error.segment_id, error.segment_position, error.loop_id,
                             error.segment_error_code)
                        == (previous.segment_id, previous.segment_position, previous.loop_id,
                            previous.segment_error_code))
        if not same_segment:
            w.add("IK3", error.segment_id, str(error.segment_position), error.loop_id,
                  error.segment_error_code)
        if error.element_position is not None:
            w.add("IK4", (str(error.element_position),
                          str(error.component_position) if error.component_position else None),
                  None, error.element_error_code)
        previous = error


# -- 277CA ----------------------------------------------------------------------------------------

def claim_ack_status(codes: Sequence[StatusCode]) -> ClaimAckStatus:
    """Accepted, rejected or pending, from the first status category code."""
    if not codes:
        return ClaimAckStatus.PENDING
    category = codes[0].category
    if category in _ACCEPTED_CATEGORIES:
        return ClaimAckStatus.ACCEPTED
    if category in _REJECTED_CATEGORIES:
        return ClaimAckStatus.REJECTED
    return ClaimAckStatus.PENDING


def read_stc(transaction: Transaction, segment: Segment) -> list[StatusCode]:
    """STC01, STC10 and STC11 composites (category : status : entity)."""
    component = transaction.delimiters.component
    codes = []
    for position in (1, 10, 11):
        parts = composite(segment, position, component)
        if not parts:
            continue
        if len(parts) < 2 or not parts[0] or not parts[1]:
            raise transaction.error(X12StructureError,
                                    f"STC{position:02d} category and status codes", segment,
                                    position, ack_code="1")
        codes.append(trusted(StatusCode, {"category": parts[0].strip(), "code": parts[1].strip(),
                                          "entity": parts[2].strip() or None
                                          if len(parts) > 2 else None}))
    if not codes:
        raise transaction.error(X12StructureError, "STC01 claim status (required)", segment, 1,
                                ack_code="1")
    return codes


def decode_277ca(text: str, *, strict: bool = True) -> list[ClaimAcknowledgmentBatch]:
    """One ClaimAcknowledgmentBatch per 277CA transaction set."""
    reader = X12Reader(text, strict=strict)
    return [decode_277ca_transaction(t) for t in reader.transactions()]


def decode_277ca_transaction(transaction: Transaction) -> ClaimAcknowledgmentBatch:
    ensure_transaction(transaction, "277", ("005010X214",))
    batch: dict[str, Any] = {"control_number": None, "sender_name": None, "claims": []}
    claims: list[ClaimAcknowledgment] = batch["claims"]
    level = ""
    claim: dict[str, Any] | None = None

    def finish() -> None:
        if claim is None:
            return
        if not claim.get("claim_number"):
            raise X12StructureError("TRN02 patient control number in each claim level",
                                    segment_index=transaction.segment_index, segment_id="TRN",
                                    ack_code="3")
        claim["status"] = claim_ack_status(claim["status_codes"])
        claims.append(trusted(ClaimAcknowledgment, claim))

    for segment in transaction.segments():
        tag = segment[0]
        if tag == "HL":
            finish()
            claim = None
            level = el(segment, 3)
            if level == "PT":
                claim = {"claim_number": None, "payer_claim_number": None, "status_codes": [],
                         "effective_date": None, "total_charge": None, "message": None}
        elif tag == "BHT":
            batch["control_number"] = opt(segment, 3)
        elif tag == "NM1" and level == "20" and el(segment, 1) == "PR":
            batch["sender_name"] = opt(segment, 3)
        elif claim is None:
            continue
        elif tag == "TRN" and el(segment, 1) == "2":
            claim["claim_number"] = required(transaction, segment, 2, "TRN02 trace number")
        elif tag == "STC":
            first = not claim["status_codes"]
            claim["status_codes"] += read_stc(transaction, segment)
            if first:
                claim["effective_date"] = opt_ccyymmdd(transaction, segment, 2,
                                                       "STC02 effective date")
                claim["total_charge"] = opt_money(transaction, segment, 4, "STC04 charge")
                claim["message"] = opt(segment, 12)
        elif tag == "REF" and el(segment, 1) == "1K":
            claim["payer_claim_number"] = required(transaction, segment, 2, "REF02 claim number")
        elif tag == "SVC":
            finish()  # service lines (2220D) carry line statuses we do not keep
            claim = None
    finish()
    return trusted(ClaimAcknowledgmentBatch, batch)


def encode_277ca(batches: Sequence[ClaimAcknowledgmentBatch],
                 claims: Mapping[str, BillableClaim], *, parties: Parties = DEFAULT_PARTIES,
                 control_numbers: ControlNumberSource | None = None,
                 now: datetime | None = None, payer_id: str = "PAYER",
                 received: date | None = None) -> str:
    """277CA documents (one transaction set per batch) as a payer or clearinghouse sends them.

    :param claims: the submitted claims by claim number: the patient and billing provider
        levels need names and NPIs the acknowledgment model does not hold.
    """
    interchange = new_interchange(parties, control_numbers, now, None, False)
    group = interchange.group("HN", VERSION_277CA)
    stamp = interchange.now
    for batch in batches:
        _write_277ca(group.transaction("277"), batch, claims, parties, payer_id, stamp,
                     received or stamp.date())
    return interchange.text()


def _stc(w: TransactionWriter, codes: Sequence[StatusCode], effective: date | None,
         action: str, amount: str | None, message: str | None) -> None:
    for start in range(0, len(codes), 3):
        chunk = [(c.category, c.code, c.entity) for c in codes[start:start + 3]]
        w.add("STC", chunk[0], format_date(effective) if effective else None, action, amount,
              None, None, None, None, None, chunk[1] if len(chunk) > 1 else None,
              chunk[2] if len(chunk) > 2 else None, message if start == 0 else None)


def _write_277ca(w: TransactionWriter, batch: ClaimAcknowledgmentBatch,
                 claims: Mapping[str, BillableClaim], parties: Parties, payer_id: str,
                 stamp: datetime, received: date) -> None:
    today = format_date(stamp.date())
    w.add("BHT", "0085", "08", batch.control_number or w.control_number, today,
          format_time(stamp), "TH")
    source = w.hl("20")
    w.add("NM1", "PR", "2", batch.sender_name or parties.submitter_name, None, None, None, None,
          "PI", payer_id)
    w.add("TRN", "1", w.control_number)
    w.add("DTP", "050", "D8", format_date(received))
    w.add("DTP", "009", "D8", today)
    receiver = w.hl("21", source)
    w.add("NM1", "41", "2", parties.receiver_name, None, None, None, None, "46",
          parties.receiver_id)
    w.add("TRN", "2", batch.control_number or w.control_number)
    accepted = [c for c in batch.claims if c.status is ClaimAckStatus.ACCEPTED]
    rejected = [c for c in batch.claims if c.status is not ClaimAckStatus.ACCEPTED]
    w.add("STC", ("A1", "19", "PR"), today, "WQ",
          format_money(total(c.total_charge for c in batch.claims if c.total_charge)))
    if accepted:
        w.add("QTY", "90", str(len(accepted)))
    if rejected:
        w.add("QTY", "AA", str(len(rejected)))
    by_provider: dict[str, list[ClaimAcknowledgment]] = {}
    for ack in batch.claims:
        bill = claims.get(ack.claim_number)
        if bill is None:
            raise X12EncodeError("the submitted claim for each acknowledged claim (patient and "
                                 "provider names)", claim_number=ack.claim_number)
        by_provider.setdefault(bill.practice.npi, []).append(ack)
    for npi, acks in by_provider.items():
        practice = claims[acks[0].claim_number].practice
        provider = w.hl("19", receiver)
        w.add("NM1", "85", "2", practice.name, None, None, None, None, "XX", npi)
        w.add("TRN", "1", npi)
        w.add("STC", ("A1", "19", "PR"), None, "WQ",
              format_money(total(a.total_charge for a in acks if a.total_charge)))
        for ack in acks:
            bill = claims[ack.claim_number]
            w.context_claim = ack.claim_number
            w.hl("PT", provider, child_code=False)
            patient = bill.patient
            member = bill.coverage.member_id if bill.coverage else None
            w.add("NM1", "QC", "1", patient.last_name, patient.first_name, patient.middle_name,
                  None, patient.suffix, "MI" if member else None, member)
            w.add("TRN", "2", ack.claim_number)
            codes = ack.status_codes
            if not codes:
                raise X12EncodeError("at least one status code per claim (STC01)",
                                     segment_id="STC", claim_number=ack.claim_number)
            _stc(w, codes, ack.effective_date,
                 "WQ" if ack.status is ClaimAckStatus.ACCEPTED else "U",
                 format_money(ack.total_charge) if ack.total_charge is not None else None,
                 ack.message)
            if ack.payer_claim_number:
                w.add("REF", "1K", ack.payer_claim_number)
            claim = bill.claim
            if claim.service_date_to != claim.service_date_from:
                w.add("DTP", "472", "RD8", f"{format_date(claim.service_date_from)}-"
                      f"{format_date(claim.service_date_to)}")
            else:
                w.add("DTP", "472", "D8", format_date(claim.service_date_from))
        w.context_claim = None


__all__ = ["claim_ack_status", "decode_277ca", "decode_999", "decode_ta1", "encode_277ca",
           "encode_999", "encode_ta1", "read_stc"]
