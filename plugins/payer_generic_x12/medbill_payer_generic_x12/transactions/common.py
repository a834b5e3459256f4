"""Pieces shared by the transaction codecs: envelope options, party segments, element access."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from medbill_payer_generic_x12.x12.control import ControlNumberSource, MemoryControlNumbers
from medbill_payer_generic_x12.x12.delimiters import DEFAULT_DELIMITERS, Delimiters
from medbill_payer_generic_x12.x12.errors import (
    X12Error,
    X12StructureError,
    X12ValueError,
)
from medbill_payer_generic_x12.x12.reader import Segment, Transaction
from medbill_payer_generic_x12.x12.values import (
    money_expected,
    parse_ccyymmdd,
    parse_decimal,
    parse_money,
)
from medbill_payer_generic_x12.x12.writer import EnvelopeSettings, InterchangeWriter

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Parties:
    """Who exchanges the document: envelope IDs and the 1000A/1000B names of an 837/276/270.

    :ivar submitter_id: ISA06 and 1000A NM109 (the ID the clearinghouse gave us).
    :ivar receiver_id: ISA08 and 1000B NM109.
    """

    submitter_id: str
    submitter_name: str
    receiver_id: str
    receiver_name: str
    submitter_contact: str | None = None
    submitter_phone: str | None = None
    submitter_email: str | None = None
    sender_qualifier: str = "ZZ"
    receiver_qualifier: str = "ZZ"
    application_sender: str | None = None
    application_receiver: str | None = None
    usage: str = "P"
    acknowledgment_requested: bool = False

    def envelope(self) -> EnvelopeSettings:
        return EnvelopeSettings(
            sender_id=self.submitter_id, receiver_id=self.receiver_id,
            sender_qualifier=self.sender_qualifier, receiver_qualifier=self.receiver_qualifier,
            application_sender=self.application_sender,
            application_receiver=self.application_receiver, usage=self.usage,
            acknowledgment_requested=self.acknowledgment_requested)

    def reversed(self) -> Parties:
        """The same exchange seen from the other side (for responses the simulator writes)."""
        return Parties(submitter_id=self.receiver_id, submitter_name=self.receiver_name,
                       receiver_id=self.submitter_id, receiver_name=self.submitter_name,
                       sender_qualifier=self.receiver_qualifier,
                       receiver_qualifier=self.sender_qualifier,
                       application_sender=self.application_receiver,
                       application_receiver=self.application_sender, usage=self.usage)


#: Test/demo parties; real ones come from the payer's options.
DEFAULT_PARTIES = Parties(submitter_id="MEDBILL", submitter_name="MEDBILL",
                          receiver_id="RECEIVER", receiver_name="RECEIVER",
                          submitter_contact="BILLING", submitter_phone="5555550100")


def new_interchange(parties: Parties, control_numbers: ControlNumberSource | None,
                    now: datetime | None, delimiters: Delimiters | None,
                    line_breaks: bool) -> InterchangeWriter:
    return InterchangeWriter(parties.envelope(), control_numbers or MemoryControlNumbers(),
                             delimiters=delimiters or DEFAULT_DELIMITERS, now=now,
                             line_breaks=line_breaks)


# -- reading helpers ------------------------------------------------------------------------------

def el(segment: Segment, position: int) -> str:
    """Element ``position`` (1-based) or ``""`` when the segment is shorter."""
    return segment[position].strip() if len(segment) > position else ""


def opt(segment: Segment, position: int) -> str | None:
    """Element ``position`` or ``None`` when absent or empty."""
    if len(segment) > position:
        value = segment[position].strip()
        return value or None
    return None


def _missing(transaction: Transaction, segment: Segment, position: int, what: str) -> X12Error:
    """The error for a required element that is absent or empty (AK4/IK4 code 1)."""
    return transaction.error(X12StructureError, f"{what} (required)", segment, position,
                             ack_code="1")


def _parsed(transaction: Transaction, segment: Segment, position: int,
            parse: Callable[[str], _T | None], expected: str, ack_code: str) -> _T | None:
    """Element ``position`` read by ``parse``; ``None`` when absent or empty.

    :raises X12ValueError: ``parse`` rejects the text (``expected`` says what was wanted).
    """
    text = segment[position] if len(segment) > position else ""
    if not text:
        return None
    value = parse(text)
    if value is None:
        raise transaction.error(X12ValueError, expected, segment, position, ack_code=ack_code)
    return value


def required(transaction: Transaction, segment: Segment, position: int, what: str) -> str:
    value = segment[position].strip() if len(segment) > position else ""
    if not value:
        raise _missing(transaction, segment, position, what)
    return value


def money(transaction: Transaction, segment: Segment, position: int, what: str) -> Decimal:
    """A required amount element as Decimal cents (never rounded: see :func:`opt_money`)."""
    value = opt_money(transaction, segment, position, what)
    if value is None:
        raise _missing(transaction, segment, position, what)
    return value


def opt_money(transaction: Transaction, segment: Segment, position: int,
              what: str) -> Decimal | None:
    """An amount element as Decimal cents; ``None`` when absent or empty.

    :raises X12ValueError: not a decimal amount, or one with fractions of a cent (refused,
        never rounded: ``50.004`` is no amount a claim or payment can hold).
    """
    text = segment[position] if len(segment) > position else ""
    if not text:
        return None
    value = parse_money(text)
    if value is None:
        raise transaction.error(X12ValueError, money_expected(what, text), segment, position,
                                ack_code="6")
    return value


def opt_decimal(transaction: Transaction, segment: Segment, position: int,
                what: str) -> Decimal | None:
    return _parsed(transaction, segment, position, parse_decimal, f"{what} as a decimal number",
                   ack_code="6")


def ccyymmdd(transaction: Transaction, segment: Segment, position: int, what: str) -> date:
    value = opt_ccyymmdd(transaction, segment, position, what)
    if value is None:
        raise _missing(transaction, segment, position, what)
    return value


def opt_ccyymmdd(transaction: Transaction, segment: Segment, position: int,
                 what: str) -> date | None:
    return _parsed(transaction, segment, position, parse_ccyymmdd, f"{what} as a CCYYMMDD date",
                   ack_code="8")


def date_period(transaction: Transaction, segment: Segment, qualifier_at: int,
                what: str) -> tuple[date, date | None]:
    """D8 or RD8 date (qualifier at ``qualifier_at``, value after it)."""
    qualifier = el(segment, qualifier_at)
    text = el(segment, qualifier_at + 1)
    if not text:
        raise _missing(transaction, segment, qualifier_at + 1, what)
    if qualifier == "D8":
        day = parse_ccyymmdd(text)
        if day is not None:
            return day, None
    elif qualifier == "RD8":
        start_text, _, end_text = text.partition("-")
        start, end = parse_ccyymmdd(start_text), parse_ccyymmdd(end_text)
        if start is not None and end is not None:
            return start, end
    else:
        raise transaction.error(X12ValueError, "date format qualifier D8 or RD8", segment,
                                qualifier_at, ack_code="7")
    raise transaction.error(X12ValueError, f"{what} as CCYYMMDD (D8) or CCYYMMDD-CCYYMMDD (RD8)",
                            segment, qualifier_at + 1, ack_code="8")


def composite(segment: Segment, position: int, component_separator: str) -> list[str]:
    """Components of element ``position`` (``[]`` when absent)."""
    if len(segment) > position and segment[position]:
        return segment[position].split(component_separator)
    return []


def enum_value(transaction: Transaction, enum: type, value: str, segment: Segment,
               position: int, what: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        raise transaction.error(X12ValueError, f"{what}: a code this engine knows", segment,
                                position, ack_code="7") from None


_KEY_CHARS = re.compile(r"[^a-z0-9_-]+")


def payer_key_for(payer_id: str) -> str:
    """The payer key a decoder gives a payer it knows only by ID (``60054`` -> ``60054``)."""
    key = _KEY_CHARS.sub("-", payer_id.lower()).strip("-_")
    if not key or not key[0].isalnum():
        key = "p" + key
    return key[:40]


def ensure_transaction(transaction: Transaction, set_id: str, versions: tuple[str, ...]) -> None:
    """Refuse a transaction set of another kind or another implementation guide."""
    from medbill_payer_generic_x12.x12.errors import X12UnsupportedError

    if transaction.transaction_set_id != set_id:
        raise X12UnsupportedError(f"transaction set {set_id}",
                                  segment_index=transaction.start_index, segment_id="ST",
                                  element=1)
    version = transaction.version
    if version and not version.startswith(versions):
        raise X12UnsupportedError(f"implementation guide {' or '.join(versions)}",
                                  segment_index=transaction.start_index, segment_id="ST",
                                  element=3)


__all__ = ["DEFAULT_PARTIES", "Parties", "X12Error"]
