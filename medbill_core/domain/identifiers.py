"""Format and check-digit rules for the identifiers and codes on a claim.

These are structural checks only: a well-formed ICD-10-CM code may still not
exist or not be billable on the date of service. Code-set lookups belong to
the code-set loaders and the claim scrubber.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

#: Digits are ASCII digits: ``\d`` (and ``str.isdigit``, ``int``) would also take Arabic-Indic
#: (``١٢٣``) or full-width (``１２３``) digits, which no payer or X12 translator reads. Each
#: pattern is used with ``fullmatch`` (``$`` would let a trailing line break through).
_NPI_RE = re.compile(r"[0-9]{10}", re.ASCII)
_EIN_RE = re.compile(r"[0-9]{2}-?[0-9]{7}", re.ASCII)
_TAXONOMY_RE = re.compile(r"[0-9]{3}[0-9A-Z]{6}X", re.ASCII)
_ICD10_RE = re.compile(r"[A-Z][0-9A-Z][0-9A-Z](?:\.?[0-9A-Z]{1,4})?", re.ASCII)
_CPT_RE = re.compile(r"[0-9]{4}[0-9AFMTU]", re.ASCII)
_HCPCS_II_RE = re.compile(r"[A-V][0-9]{4}", re.ASCII)
_MODIFIER_RE = re.compile(r"[0-9A-Z]{2}", re.ASCII)
_POS_RE = re.compile(r"[0-9]{2}", re.ASCII)
_ZIP_RE = re.compile(r"[0-9]{5}(?:[0-9]{4})?", re.ASCII)
_STATE_RE = re.compile(r"[A-Z]{2}", re.ASCII)
_PHONE_RE = re.compile(r"[0-9]{10}", re.ASCII)
#: A local part and a domain with a dot, one ``@``, no spaces: enough to catch a typed name or
#: a phone number in the e-mail field (deliverability is the sender's business).
_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")


def luhn_check_digit(digits: str) -> int:
    """The Luhn check digit for ``digits`` (the check digit itself not included)."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 0:  # doubled: rightmost digit of the payload first
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return (10 - total % 10) % 10


def is_valid_npi(npi: str) -> bool:
    """True when ``npi`` is ten digits whose last is the Luhn digit over ``80840`` + the first nine.

    The ``80840`` prefix is the card issuer identifier the NPI standard prepends
    (CMS, "Requirements for NPI check digit").
    """
    if not _NPI_RE.fullmatch(npi):
        return False
    return luhn_check_digit("80840" + npi[:9]) == int(npi[9])


def npi_with_check_digit(first_nine: str) -> str:
    """Complete nine digits into a valid NPI (for tests and demo data)."""
    if not re.fullmatch(r"[0-9]{9}", first_nine, re.ASCII):
        raise ValueError("expected nine digits")
    return first_nine + str(luhn_check_digit("80840" + first_nine))


def _npi(value: str) -> str:
    if not _NPI_RE.fullmatch(value):
        raise ValueError("NPI must be 10 digits")
    if not is_valid_npi(value):
        raise ValueError("NPI check digit is wrong (Luhn over 80840 + first nine digits)")
    return value


def _ein(value: str) -> str:
    if not _EIN_RE.fullmatch(value):
        raise ValueError("EIN must be 9 digits (NN-NNNNNNN)")
    digits = value.replace("-", "")
    if digits[:2] in {"00", "07", "08", "09", "17", "18", "19", "28", "29", "49", "69", "70",
                      "78", "79", "89", "96", "97"}:
        raise ValueError("EIN prefix is not one the IRS assigns")
    return digits


def _taxonomy(value: str) -> str:
    value = value.upper()
    if not _TAXONOMY_RE.fullmatch(value):
        raise ValueError("taxonomy code must be 10 characters ending in X (NUCC format)")
    return value


def normalize_icd10(value: str) -> str:
    """Upper-case an ICD-10-CM code and drop its dot (claims carry codes without it)."""
    return value.strip().upper().replace(".", "")


def is_icd10_format(value: str) -> bool:
    """True when ``value`` has the shape of an ICD-10-CM code (3 to 7 characters)."""
    return (bool(_ICD10_RE.fullmatch(value.strip().upper()))
            and 3 <= len(normalize_icd10(value)) <= 7)


def _icd10(value: str) -> str:
    if not is_icd10_format(value):
        raise ValueError("not an ICD-10-CM code (letter, digit, then 1 to 5 characters)")
    return normalize_icd10(value)


def is_procedure_format(value: str) -> bool:
    """True for a CPT (five characters, Category II/III suffixes F/T) or HCPCS Level II code."""
    return bool(_CPT_RE.fullmatch(value) or _HCPCS_II_RE.fullmatch(value))


def _procedure(value: str) -> str:
    value = value.upper()
    if not is_procedure_format(value):
        raise ValueError("not a CPT or HCPCS Level II procedure code")
    return value


def _modifier(value: str) -> str:
    value = value.upper()
    if not _MODIFIER_RE.fullmatch(value):
        raise ValueError("modifier must be 2 letters or digits")
    return value


def _pos(value: str) -> str:
    if not _POS_RE.fullmatch(value):
        raise ValueError("place of service must be 2 digits")
    return value


def _zip(value: str) -> str:
    digits = value.replace("-", "")
    if not _ZIP_RE.fullmatch(digits):
        raise ValueError("ZIP code must be 5 or 9 digits")
    return digits


def _state(value: str) -> str:
    value = value.upper()
    if not _STATE_RE.fullmatch(value):
        raise ValueError("state must be a 2-letter code")
    return value


def _phone(value: str) -> str:
    digits = re.sub(r"[\s().+-]", "", value)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if not _PHONE_RE.fullmatch(digits):
        raise ValueError("phone number must have 10 digits")
    return digits


def check_email(value: str) -> str:
    """An e-mail address (patients' and guarantors'), trimmed."""
    value = value.strip()
    if not _EMAIL_RE.fullmatch(value):
        raise ValueError("not an e-mail address (name@example.org)")
    return value


NPI = Annotated[str, AfterValidator(_npi)]
EIN = Annotated[str, AfterValidator(_ein)]
TaxonomyCode = Annotated[str, AfterValidator(_taxonomy)]
ICD10Code = Annotated[str, AfterValidator(_icd10)]
ProcedureCode = Annotated[str, AfterValidator(_procedure)]
Modifier = Annotated[str, AfterValidator(_modifier)]
PlaceOfService = Annotated[str, AfterValidator(_pos)]
ZipCode = Annotated[str, AfterValidator(_zip)]
StateCode = Annotated[str, AfterValidator(_state)]
PhoneNumber = Annotated[str, AfterValidator(_phone)]
