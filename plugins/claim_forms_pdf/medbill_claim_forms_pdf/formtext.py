"""How the forms want values written: names ``LAST, FIRST, M``, dates in their sub-boxes,
telephone numbers split at the area code, ICD-10 codes without their decimal point."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from medbill_core.api import Address, Coverage, Patient, Relationship, Sex


def person_name(last: str, first: str | None, middle: str | None = None,
                suffix: str | None = None) -> str:
    """NUCC: last name (and its suffix), first name, middle initial, separated by commas;
    no periods."""
    head = f"{last} {suffix}" if suffix else last
    parts = [head, first or ""]
    if middle:
        parts.append(middle[0])
    return ", ".join(part for part in parts if part).replace(".", "")


def patient_name(patient: Patient) -> str:
    return person_name(patient.last_name, patient.first_name, patient.middle_name,
                       patient.suffix)


def insured_name(patient: Patient, coverage: Coverage) -> str:
    subscriber = coverage.subscriber
    if subscriber is None:
        return patient_name(patient)
    return person_name(subscriber.last_name, subscriber.first_name, subscriber.middle_name)


def insured_address(patient: Patient, coverage: Coverage) -> Address | None:
    if coverage.subscriber is None:
        return patient.address
    return coverage.subscriber.address


def insured_birth(patient: Patient, coverage: Coverage) -> tuple[date | None, Sex]:
    if coverage.subscriber is None:
        return patient.birth_date, patient.sex
    return coverage.subscriber.birth_date, coverage.subscriber.sex


def is_self(coverage: Coverage) -> bool:
    return coverage.relationship is Relationship.SELF


def mm_dd_yy(day: date) -> tuple[str, str, str]:
    return f"{day.month:02d}", f"{day.day:02d}", f"{day.year % 100:02d}"


def mm_dd_yyyy(day: date) -> tuple[str, str, str]:
    return f"{day.month:02d}", f"{day.day:02d}", f"{day.year:04d}"


def mmddyy(day: date | None) -> str | None:
    """The UB-04's six-digit date."""
    return None if day is None else day.strftime("%m%d%y")


def mmddccyy(day: date | None) -> str | None:
    """The UB-04's eight-digit birth date (FL10)."""
    return None if day is None else day.strftime("%m%d%Y")


def phone_parts(phone: str | None) -> tuple[str, str] | None:
    """Area code and the seven digits (the forms print them in two places)."""
    if not phone:
        return None
    digits = "".join(ch for ch in phone if ch.isdigit())
    if len(digits) != 10:
        return None
    return digits[:3], digits[3:]


def city_state_zip(address: Address | None) -> str | None:
    if address is None:
        return None
    return f"{address.city} {address.state} {address.postal_code}"


def street(address: Address | None) -> str | None:
    if address is None:
        return None
    return " ".join(part for part in (address.line1, address.line2) if part)


def icd(code: str) -> str:
    """NUCC and NUBC: no decimal point in a diagnosis code."""
    return code.replace(".", "")


def units(value: Decimal) -> str:
    """Units as the forms take them: a whole number without decimals, else its decimals."""
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def digits_only(value: str) -> str:
    return "".join(ch for ch in value if ch.isalnum())
