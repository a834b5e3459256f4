"""Segments the 270 and 276 readers share: parties (NM1), persons (NM1 + DMG), date periods.

Both requests name a payer, a receiver or provider and a subscriber (and maybe a dependent)
the same way, so reading them lives here once.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from medbill_core.api import EntityType, InquiryParty, Sex
from medbill_payer_generic_x12.transactions.common import (
    date_period,
    el,
    enum_value,
    opt,
    opt_ccyymmdd,
)
from medbill_payer_generic_x12.x12.reader import Segment, Transaction


def party(transaction: Transaction, segment: Segment) -> InquiryParty:
    """An NM1 naming a payer, receiver or provider (NM102 entity type, NM103/104 names, NM108/109
    identifier)."""
    entity = el(segment, 2)
    return InquiryParty(
        entity_type=enum_value(transaction, EntityType, entity, segment, 2, "NM102 entity type")
        if entity else None,
        name=opt(segment, 3), first_name=opt(segment, 4), id_qualifier=opt(segment, 8),
        identifier=opt(segment, 9))


def person_name(segment: Segment, member_id: bool) -> dict[str, Any]:
    """The name fields of an InquiryPerson from NM1 (and NM109 when it is a member ID)."""
    return {"last_name": opt(segment, 3), "first_name": opt(segment, 4),
            "middle_name": opt(segment, 5),
            "member_id": opt(segment, 9) if member_id and el(segment, 8) == "MI" else None}


def demographics(transaction: Transaction, segment: Segment) -> dict[str, Any]:
    """DMG: birth date (DMG01 D8, DMG02) and administrative sex (DMG03)."""
    fields: dict[str, Any] = {}
    if opt(segment, 2) is not None:
        fields["birth_date"] = opt_ccyymmdd(transaction, segment, 2, "DMG02 birth date")
    sex = el(segment, 3)
    if sex:
        fields["sex"] = enum_value(transaction, Sex, sex, segment, 3, "DMG03 sex")
    return fields


def period(transaction: Transaction, segment: Segment, what: str
           ) -> tuple[date, date | None]:
    """DTP02/DTP03: a D8 day (end ``None``) or an RD8 range."""
    start, end = date_period(transaction, segment, 2, what)
    if end is not None and end < start:
        from medbill_payer_generic_x12.x12.errors import X12ValueError

        raise transaction.error(X12ValueError, f"{what}: a range that does not end before it "
                                "starts", segment, 3, ack_code="8")
    return start, end


__all__ = ["demographics", "party", "period", "person_name"]
