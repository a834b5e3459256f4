"""How old a balance is, and which age bucket it falls in: one rule for the A/R aging report
(``medbill ar aging``), patient statements and their dunning stage.

The clock
---------
A balance ages from the day it was **first billed to whoever owes it now**, not from the date
of service:

* an insurance balance from the first submission of the claim to that payer;
* a patient balance from the day it became the patient's (the first amount moved to the
  patient on the account; a self-pay service is the patient's on its date of service);
* a balance that was never billed (a claim not yet submitted) from its date of service.

Why not the date of service throughout: aging exists to drive follow-up, and a payer or a
patient can only be chased for a bill they have had. Aging a balance that moved to the patient
yesterday from a service four months ago would send a first statement as a "120 days past
due" final notice, and an insurance balance aged from the date of service would mix the
practice's own billing lag (charges not yet billed, which the claim work lists show) into
the payer's slowness. The callers (:mod:`.receivables`, :mod:`.statements`) pick the start
date by this rule; this module counts days and buckets them.

The buckets
-----------
The usual A/R buckets (HFMA-style) 0-30, 31-60, 61-90, 91-120 and over 120 days, each upper
edge inclusive: day 30 is still in 0-30, day 31 in 31-60. Days are counted from the start
date to the as-of date; a start after the as-of date counts as 0 days. A statement shows the
same edges in its four columns (the last two buckets together as "91+"), and its dunning
stage is the bucket's position: 0 current (0-30) ... 4 final notice (over 120 days).
"""

from __future__ import annotations

from datetime import date

#: The age buckets, in days ("121+" is "over 120").
BUCKETS = ("0-30", "31-60", "61-90", "91-120", "121+")
_UPPER_BOUNDS = ((30, "0-30"), (60, "31-60"), (90, "61-90"), (120, "91-120"))

#: A statement's aging column (:class:`~medbill_core.domain.Aging` field) of each bucket.
STATEMENT_COLUMNS = {"0-30": "current", "31-60": "days_30", "61-90": "days_60",
                     "91-120": "days_90_plus", "121+": "days_90_plus"}


def days_old(since: date, as_of: date) -> int:
    """Whole days from ``since`` to ``as_of`` (0 when ``since`` is later)."""
    return max(0, (as_of - since).days)


def age_bucket(days: int) -> str:
    """The bucket of a balance ``days`` old (0-30 includes day 30; negative days are 0-30)."""
    for upper, label in _UPPER_BOUNDS:
        if days <= upper:
            return label
    return BUCKETS[-1]


def statement_column(days: int) -> str:
    """The statement aging column of a balance ``days`` old: ``"current"`` up to day 30,
    ``"days_30"`` from day 31, ``"days_60"`` from 61, ``"days_90_plus"`` from 91."""
    return STATEMENT_COLUMNS[age_bucket(days)]


def dunning_stage(oldest_days: int) -> int:
    """0 current (up to day 30), 1 from day 31, 2 from 61, 3 from 91, 4 (final notice) from
    day 121: the position of the oldest balance's bucket."""
    return BUCKETS.index(age_bucket(oldest_days))
