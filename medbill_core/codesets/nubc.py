"""NUBC lists the institutional edits need: the type-of-bill facility and classification
digits (UB-04 FL4) and the revenue code groups (FL42), with whether an outpatient line under
the group must carry a HCPCS code.

The NUBC Official UB-04 Data Specifications Manual is licensed and not shipped. What is here
is what public sources print (``data/SOURCES.md``, "NUBC type of bill and revenue code
groups"): bill types as digit pairs, revenue codes as their three-digit groups (0450 is in
group 045). Whether each fourth digit of a group is assigned is not checked.
"""

from __future__ import annotations

import functools
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


@functools.cache
def bill_types() -> dict[str, str]:
    """Facility type code (two digits, FL4 digits 2-3) -> description."""
    return {row["facility"] + row["classification"]: row["description"]
            for row in read_packaged_csv(BILL_TYPES_FILE)}


@functools.cache
def revenue_groups() -> dict[str, RevenueGroup]:
    """Three-digit revenue code group -> its record."""
    return {row["group"]: RevenueGroup(row["group"], row["description"],
                                       row["accommodation"] == "yes",
                                       HcpcsRule(row["outpatient_hcpcs"]))
            for row in read_packaged_csv(REVENUE_FILE)}


def bill_type(facility_type_code: str) -> str | None:
    """What a facility type code (``13``) means, or None when NUBC assigns no such pair."""
    return bill_types().get(facility_type_code)


def revenue_group(revenue_code: str) -> RevenueGroup | None:
    """The group of a four-digit revenue code (``0450`` -> group ``045``), or None when the
    group is reserved or unknown."""
    return revenue_groups().get(revenue_code[:3])


def describe_revenue_code(revenue_code: str) -> str:
    """A short description of a revenue code for statements and claim pages: its group's
    description, or an empty string when the group is not one NUBC assigns."""
    group = revenue_group(revenue_code)
    return group.description if group else ""
