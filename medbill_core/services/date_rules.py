"""How far from today a date someone enters may plausibly lie, by what it dates.

A payment received six months ahead, or a plan starting two years back, is a typo far more
often than a fact. The services refuse such a date unless the caller confirms it, so the
command line (``--confirm-date``) and the HTTP API (``confirm_date``) obey the same rule;
the command line also checks it while reading its options, to answer with a usage error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from medbill_core.errors import ValidationFailed

#: The dates medbill takes at all, whatever they date and whoever confirms them: nothing a
#: practice bills, reports on or schedules lies outside, and the date arithmetic the services
#: do (the day after, a month ahead, a day either side of a period) stays within Python's
#: dates (year 1 to 9999) for every date inside.
EARLIEST = date(1900, 1, 1)
LATEST = date(2999, 12, 31)


def out_of_range(when: date) -> str | None:
    """Why ``when`` is not a date medbill takes (outside :data:`EARLIEST` to
    :data:`LATEST`), or None. The command line and the API word their refusals with it."""
    if EARLIEST <= when <= LATEST:
        return None
    return f"must be a date from {EARLIEST.isoformat()} to {LATEST.isoformat()}"


def check_in_range(when: date, *, record: str, field: str) -> None:
    """Refuse a date outside :data:`EARLIEST` to :data:`LATEST`; firm, confirmed or not.

    :raises ValidationFailed: naming ``record`` and ``field``.
    """
    reason = out_of_range(when)
    if reason is not None:
        raise ValidationFailed(record, [(field, reason)])


@dataclass(frozen=True)
class DateWindow:
    """Days ahead of and back from today a date may lie (None: no bound)."""

    future_days: int | None
    past_days: int | None


#: a payment cannot arrive tomorrow; one received over a year ago is most likely a typo
PAYMENT_RECEIVED = DateWindow(future_days=0, past_days=365)
#: a plan's first due date: up to a year ahead, at most a month back (older ones are "late")
PLAN_START = DateWindow(future_days=365, past_days=31)
#: the day an appeal went to the payer: not ahead
APPEAL_SENT = DateWindow(future_days=0, past_days=None)
#: the date of a refund check (the day the credit leaves the books): not ahead, and one
#: written over a year ago is most likely a typo, as a payment's received date
REFUND_ISSUED = DateWindow(future_days=0, past_days=365)


def check_date(when: date, window: DateWindow, *, record: str, field: str,
               confirmed: bool = False, today: date | None = None) -> None:
    """Refuse ``when`` outside ``window`` unless ``confirmed``.

    :raises ValidationFailed: naming ``record`` and ``field``, and how far the date lies;
        a date outside :data:`EARLIEST` to :data:`LATEST` even ``confirmed``.
    """
    check_in_range(when, record=record, field=field)
    if confirmed:
        return
    reason = outside(when, window, today)
    if reason is not None:
        # the distance, not the date: a message never repeats what was sent
        raise ValidationFailed(record, [(field, f"{reason}: check it, or confirm the date if "
                                                "it is right")])


def outside(when: date, window: DateWindow, today: date | None = None) -> str | None:
    """How far outside ``window`` ``when`` lies ("3 days in the future", "40 days in the
    past"); None when inside it. The command line's date options word their refusals
    with it too."""
    today = today or date.today()
    ahead, back = (when - today).days, (today - when).days
    if window.future_days is not None and ahead > window.future_days:
        return f"{_days(ahead)} in the future"
    if window.past_days is not None and back > window.past_days:
        return f"{_days(back)} in the past"
    return None


def _days(count: int) -> str:
    return f"{count} day" if count == 1 else f"{count} days"
