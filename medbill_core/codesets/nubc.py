"""NUBC lists the institutional edits need: the type-of-bill facility and classification
digits (UB-04 FL4) and the revenue code groups (FL42), with whether an outpatient line under
the group must carry a HCPCS code.

The NUBC Official UB-04 Data Specifications Manual is licensed and not shipped. What is here
is what public sources print (``data/SOURCES.md``, "NUBC type of bill and revenue code
groups"): bill types as digit pairs, with the place of service each implies; revenue codes
as their three-digit groups (0450 is in group 045). Whether each fourth digit of a group is
assigned is not checked.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from enum import StrEnum
from typing import NamedTuple

from medbill_core.codesets.tables import read_packaged_csv

BILL_TYPES_FILE = "nubc_bill_types.csv"
REVENUE_FILE = "nubc_revenue_codes.csv"


class HcpcsRule(StrEnum):
    """Whether an outpatient line under a revenue code group needs a HCPCS code."""

    #: a service always identified by a HCPCS code (lab, radiology, surgery, ER, clinic ...)
    REQUIRED = "required"
    #: packaged items and accommodations that have no HCPCS (pharmacy, anesthesia ...)
    NOT_REQUIRED = "not_required"
    #: depends on the fourth digit or the payer (supplies: 0278 implants need one, 0272 not)
    VARIES = "varies"


class RevenueGroup(NamedTuple):
    group: str
    description: str
    accommodation: bool
    outpatient_hcpcs: HcpcsRule


class BillType(NamedTuple):
    facility_type_code: str
    description: str
    #: the CMS place of service the bill type implies (21 inpatient hospital, 22 outpatient
    #: hospital, 31 skilled nursing ...): kept on the claim for reports that group by place
    place_of_service: str


@functools.cache
def bill_types() -> dict[str, BillType]:
    """Facility type code (two digits, FL4 digits 2-3) -> its record."""
    out = {}
    for row in read_packaged_csv(BILL_TYPES_FILE):
        code = row["facility"] + row["classification"]
        out[code] = BillType(code, row["description"], row["place_of_service"])
    return out


@functools.cache
def revenue_groups() -> dict[str, RevenueGroup]:
    """Three-digit revenue code group -> its record."""
    return {row["group"]: RevenueGroup(row["group"], row["description"],
                                       row["accommodation"] == "yes",
                                       HcpcsRule(row["outpatient_hcpcs"]))
            for row in read_packaged_csv(REVENUE_FILE)}


def bill_type(facility_type_code: str) -> str | None:
    """What a facility type code (``13``) means, or None when NUBC assigns no such pair."""
    found = bill_types().get(facility_type_code)
    return found.description if found else None


#: emergency room revenue codes (045x): an outpatient hospital visit through the ER
_EMERGENCY_ROOM = "045"


def implied_place_of_service(facility_type_code: str, revenue_codes: Iterable[str]) -> str | None:
    """The place of service an institutional claim implies (it sends none): the bill type's,
    23 (emergency room, hospital) for an outpatient hospital bill with an ER line; None for a
    facility type code NUBC does not assign."""
    found = bill_types().get(facility_type_code)
    if found is None:
        return None
    if found.place_of_service == "22" and any(code.startswith(_EMERGENCY_ROOM)
                                              for code in revenue_codes):
        return "23"
    return found.place_of_service


def revenue_group(revenue_code: str) -> RevenueGroup | None:
    """The group of a four-digit revenue code (``0450`` -> group ``045``), or None when the
    group is reserved or unknown."""
    return revenue_groups().get(revenue_code[:3])


def describe_revenue_code(revenue_code: str) -> str:
    """A short description of a revenue code for statements and claim pages: its group's
    description, or an empty string when the group is not one NUBC assigns."""
    group = revenue_group(revenue_code)
    return group.description if group else ""
