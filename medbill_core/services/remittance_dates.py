"""Dates in a remittance that a payer could not mean: never posted.

A payment or production date before 1900 or more than a year ahead of today (9999-12-31) is a
typo or a hostile file: the whole remittance is refused (its payment date is the date every
posting would carry). A claim payment whose dates of service fall after the payment date by
more than :data:`SERVICE_AFTER_PAYMENT` pays for care not yet given: that claim payment goes
to the remittance exceptions (a work list), unposted, and the rest of the 835 posts.

The X12 decoder refuses the impossible dates of a file with their segment position; these
checks hold for every adapter's remittances.
"""

from __future__ import annotations

from datetime import date, timedelta

from medbill_core.domain import ClaimPayment, Remittance
from medbill_core.errors import ValidationFailed

EARLIEST_DATE = date(1900, 1, 1)
DAYS_AHEAD = 366
SERVICE_AFTER_PAYMENT = timedelta(days=30)


def check_remittance_dates(remittance: Remittance, today: date | None = None) -> None:
    """:raises ValidationFailed: the payment or production date is not plausible."""
    latest = (today or date.today()) + timedelta(days=DAYS_AHEAD)
    problems = [(name, f"a date between {EARLIEST_DATE} and {latest}")
                for name, value in (("payment_date", remittance.payment_date),
                                    ("production_date", remittance.production_date))
                if value is not None and not EARLIEST_DATE <= value <= latest]
    if problems:
        raise ValidationFailed(f"835 {remittance.trace_number}", problems)


def implausible_service_dates(remittance: Remittance, payment: ClaimPayment) -> str | None:
    """Why ``payment`` cannot be posted for its dates of service (the exception's reason),
    or ``None``."""
    if remittance.payment_date is None:
        return None
    latest = remittance.payment_date + SERVICE_AFTER_PAYMENT
    dates = [payment.service_date_from, payment.service_date_to]
    for service in payment.services:
        dates += [service.service_date_from, service.service_date_to]
    if any(day is not None and not EARLIEST_DATE <= day <= latest for day in dates):
        return (f"dates of service after the payment date {remittance.payment_date} by more "
                f"than {SERVICE_AFTER_PAYMENT.days} days (or before {EARLIEST_DATE.year})")
    return None
