"""The revenue-cycle KPIs a billing manager reads (``medbill report kpi``, ``GET
/v1/reports/kpi``, the workspace dashboard): each figure with its definition in words, its
numerator and denominator, a monthly trend, and the claims behind it (:func:`kpi_claims`).

Arithmetic
----------
Amounts are Decimal dollars, counts are ints. A figure's ``value`` is the exact quotient of
its numerator by its denominator in Decimal (28 significant digits, the default context):
rates are fractions (``7/9`` -> ``0.7777...``), never percentages with rounding baked in.
Only :meth:`Figure.display` rounds (half up, to 0.1 of a percent, a day or an hour) and the
JSON says so. A denominator of zero gives no value ("n/a"), never a division error.

The period
----------
``period_from`` .. ``period_to`` (both included; default: the 12 calendar months up to today,
the first starting on the 1st). Each figure is counted over the period and per calendar month
of it (the last month up to ``period_to``); a claim counts in the month of its event (sent,
first answered, posted). Which claims count: :mod:`.kpi_bases`.

Where the sums come from
------------------------
Every summed figure is assembled from per-month sums (:mod:`.kpi_rollups`): the closed months
of the period kept in the database and still right, the others (the current month, a partial
month) computed by date; the month-end agings likewise (:mod:`.kpi_aging_cache`). A report
therefore reads eleven kept months and computes one on the default view; ``keep=False``
computes all of them, and a test holds the two equal after back-dated changes.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, func, select

from medbill_core.app import UnitOfWork
from medbill_core.codesets.explain import brief_adjustment
from medbill_core.errors import ValidationFailed
from medbill_core.ledger import EntryKind
from medbill_core.money import ZERO
from medbill_core.permissions import Action
from medbill_core.services import date_rules
from medbill_core.services import kpi_bases as bases
from medbill_core.services.date_rules import check_in_range
from medbill_core.services.kpi_aging_cache import aged_totals
from medbill_core.services.kpi_rollups import MonthSums, month_sums
from medbill_core.services.receivables import aged_balances
from medbill_core.storage.date_sql import local_offset_seconds
from medbill_core.storage.schema import ClaimRow

#: the earliest first day of a period: the earliest date medbill takes
EARLIEST = date_rules.EARLIEST
#: the longest period a report covers (each month of it is an aging of the whole ledger)
MAX_MONTHS = 36
#: what the display of a value rounds to, and how
ROUNDING = "half up to 0.1 (of a percent, a day or an hour); value is exact"
_TENTH = Decimal("0.1")
#: the label of charges and payments with no payer (self-pay charges) and of patients' payments
SELF_PAY = "(self-pay)"
PATIENTS = "(patients)"


class Kpi(StrEnum):
    DAYS_IN_AR = "days_in_ar"
    CLEAN_CLAIM_RATE = "clean_claim_rate"
    FIRST_PASS_RATE = "first_pass_resolution_rate"
    DENIAL_RATE = "denial_rate"
    NET_COLLECTION_RATE = "net_collection_rate"
    AR_OVER_90 = "ar_over_90"
    AR_OVER_120 = "ar_over_120"
    CHARGE_LAG = "charge_lag"
    ERA_LAG = "era_lag"


class Unit(StrEnum):
    #: the value is a fraction (0.25); shown as a percentage (25.0%)
    RATE = "rate"
    DAYS = "days"
    HOURS = "hours"


class Part(StrEnum):
    """Which claims of a figure the drill-down lists."""

    NUMERATOR = "numerator"
    DENOMINATOR = "denominator"


@dataclass(frozen=True)
class Definition:
    title: str
    unit: Unit
    #: the figure in words, shown beside it everywhere
    text: str
    numerator: str
    denominator: str
    #: what the drill-down lists for the numerator and the denominator
    numerator_claims: str
    denominator_claims: str


DEFINITIONS: dict[Kpi, Definition] = {
    Kpi.DAYS_IN_AR: Definition(
        "Days in A/R", Unit.DAYS,
        "HFMA MAP Key 'days in net A/R': the A/R at the end of the month (the ledger balance, "
        "insurance and patient, credits netted) divided by the average daily net revenue of "
        "that month and the two before (charges less contractual adjustments, divided by the "
        "days of those three months up to the period's end). Net, not gross: MAP's definition.",
        "A/R at the month's end", "average daily net revenue (3 months)",
        "claim accounts with a balance at the period's end",
        "claim accounts charged in the last three months"),
    Kpi.CLEAN_CLAIM_RATE: Definition(
        "Clean-claim rate", Unit.RATE,
        "Encounters whose first claim, sent in the period, was never rejected (999 or 277CA) "
        "and so never had to be fixed and sent again, divided by the encounters first sent in "
        "the period. A corrected (frequency 7) or secondary claim is not a new submission.",
        "first claims never rejected", "first claims sent",
        "first claims sent and never rejected", "first claims sent in the period"),
    Kpi.FIRST_PASS_RATE: Definition(
        "First-pass resolution rate", Unit.RATE,
        "Claims the payer processed on its first answer (the first 835 claim payment, dated in "
        "the period) with no denial: paid, or adjudicated to the patient's responsibility, "
        "and no adjustment kept open as a denial; divided by the claims first answered in the "
        "period. A claim denied and paid later on appeal is not first-pass.",
        "claims resolved on the first answer", "claims first answered",
        "claims resolved on the payer's first answer", "claims first answered in the period"),
    Kpi.DENIAL_RATE: Definition(
        "Denial rate", Unit.RATE,
        "Claims whose first answer from the payer (dated in the period) denied them, wholly "
        "(CLP02 4) or in part (an adjustment the posting rules keep open as a denial), divided "
        "by the claims first answered in the period (HFMA 'initial denial rate'). A claim "
        "denied then paid on appeal counts as denied.",
        "claims denied on the first answer", "claims first answered",
        "claims denied on the payer's first answer", "claims first answered in the period"),
    Kpi.NET_COLLECTION_RATE: Definition(
        "Net collection rate", Unit.RATE,
        "Payments (payers' and patients', less refunds) effective in the period divided by "
        "the charges less the contractual adjustments effective in the period (HFMA MAP Key "
        "'net collection rate', by ledger effective date).",
        "payments less refunds", "charges less contractual adjustments",
        "claim accounts with a payment in the period",
        "claim accounts charged in the period"),
    Kpi.AR_OVER_90: Definition(
        "A/R over 90 days", Unit.RATE,
        "HFMA MAP Key 'aged A/R as a percentage of total billed A/R': the balances older than "
        "90 days at the month's end (aged as 'medbill ar aging' ages them: from the first "
        "submission to the payer, or the day the balance became the patient's) divided by the "
        "total A/R in the age buckets (credits are not aged and not counted).",
        "A/R older than 90 days", "A/R in the age buckets",
        "claim accounts with a balance older than 90 days at the period's end",
        "claim accounts with a balance at the period's end"),
    Kpi.AR_OVER_120: Definition(
        "A/R over 120 days", Unit.RATE,
        "As 'A/R over 90 days', for balances older than 120 days.",
        "A/R older than 120 days", "A/R in the age buckets",
        "claim accounts with a balance older than 120 days at the period's end",
        "claim accounts with a balance at the period's end"),
    Kpi.CHARGE_LAG: Definition(
        "Charge lag", Unit.DAYS,
        "Days from the date of service to the day the encounter's first claim was sent, "
        "averaged over the encounters first sent in the period (the median beside it).",
        "days from service to claim sent, summed", "first claims sent",
        "first claims sent in the period", "first claims sent in the period"),
    Kpi.ERA_LAG: Definition(
        "ERA lag", Unit.HOURS,
        "Hours from the receipt of an 835 from a clearinghouse channel to its posting, "
        "averaged over the 835s posted in the period (an 835 posted from a file is received "
        "and posted at once). The drill-down lists no claims: the figure is about files, "
        "listed in the remittance register.",
        "hours from receipt to posting, summed", "835s posted",
        "(none: see the remittance register)", "(none: see the remittance register)"),
}

Number = Decimal | int


def ratio(numerator: Number, denominator: Number) -> Decimal | None:
    """numerator / denominator, exact in Decimal (None when the denominator is not positive)."""
    if denominator <= 0:
        return None
    return Decimal(numerator) / Decimal(denominator)


@dataclass(frozen=True)
class Point:
    """A figure over one month (``month`` ``YYYY-MM``) or the whole period."""

    month: str
    numerator: Number
    denominator: Number
    value: Decimal | None

    def as_json(self, unit: Unit) -> dict[str, Any]:
        return {"month": self.month, "numerator": _text(self.numerator),
                "denominator": _text(self.denominator),
                "value": None if self.value is None else str(self.value),
                "display": display(self.value, unit)}


def display(value: Decimal | None, unit: Unit) -> str:
    """The value for people: rounded half up to 0.1 (``n/a`` without a value)."""
    if value is None:
        return "n/a"
    if unit is Unit.RATE:
        return f"{(value * 100).quantize(_TENTH, ROUND_HALF_UP)}%"
    return f"{value.quantize(_TENTH, ROUND_HALF_UP)} {unit.value}"


def display_quantity(value: Decimal | int) -> str:
    """A numerator or denominator for people: a count as it is, an amount (or a quotient,
    e.g. a daily revenue) rounded half up to the cent, with thousands separators (the JSON
    keeps the exact value)."""
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value.quantize(Decimal('0.01'), ROUND_HALF_UP):,}"


def _text(number: Number) -> str | int:
    return number if isinstance(number, int) else str(number)


@dataclass(frozen=True)
class Figure:
    kpi: Kpi
    total: Point
    trend: tuple[Point, ...]
    #: the charge lag's median days (None for other figures, or no claims)
    median: Decimal | None = None

    @property
    def definition(self) -> Definition:
        return DEFINITIONS[self.kpi]

    @property
    def value(self) -> Decimal | None:
        return self.total.value

    @property
    def display(self) -> str:
        return display(self.total.value, self.definition.unit)

    def as_json(self) -> dict[str, Any]:
        definition = self.definition
        data: dict[str, Any] = {
            "kpi": self.kpi.value, "title": definition.title, "unit": definition.unit.value,
            "definition": definition.text, "numerator_label": definition.numerator,
            "denominator_label": definition.denominator,
            **self.total.as_json(definition.unit),
            "trend": [point.as_json(definition.unit) for point in self.trend]}
        del data["month"]
        if self.kpi is Kpi.CHARGE_LAG:
            data["median"] = None if self.median is None else str(self.median)
        return data


@dataclass(frozen=True)
class DenialLine:
    """Denied claims of one CARC, payer or procedure code (first answers in the period)."""

    key: str
    #: the code in words (the CARC's meaning; empty for a payer or a procedure code)
    label: str
    claims: int
    #: CARC, payer: the denied amounts; procedure code: the charges of the denied claims'
    #: lines with the code
    amount: Decimal
    #: the payer's claims first answered in the period and its denial rate (payers only)
    adjudicated: int | None = None

    @property
    def rate(self) -> Decimal | None:
        return None if self.adjudicated is None else ratio(self.claims, self.adjudicated)

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"key": self.key, "label": self.label, "claims": self.claims,
                                "amount": str(self.amount)}
        if self.adjudicated is not None:
            data["adjudicated"] = self.adjudicated
            data["rate"] = None if self.rate is None else str(self.rate)
            data["rate_display"] = display(self.rate, Unit.RATE)
        return data


@dataclass(frozen=True)
class PayerShare:
    """One payer's charges and payments in the period and their share of the totals."""

    payer: str
    charges: Decimal
    payments: Decimal
    charge_share: Decimal | None
    payment_share: Decimal | None

    def as_json(self) -> dict[str, Any]:
        return {"payer": self.payer, "charges": str(self.charges),
                "payments": str(self.payments),
                "charge_share": None if self.charge_share is None else str(self.charge_share),
                "charge_share_display": display(self.charge_share, Unit.RATE),
                "payment_share": None if self.payment_share is None
                else str(self.payment_share),
                "payment_share_display": display(self.payment_share, Unit.RATE)}


#: what the payer mix is, in words
PAYER_MIX_DEFINITION = (
    "Each payer's share of the charges (by the claim's payer; self-pay charges apart) and of "
    "the payments (payers' payments by payer; patients' payments on one line) effective in "
    "the period.")


@dataclass(frozen=True)
class KpiReport:
    period_from: date
    period_to: date
    months: tuple[str, ...]
    figures: tuple[Figure, ...]
    denials_by_carc: tuple[DenialLine, ...]
    denials_by_payer: tuple[DenialLine, ...]
    denials_by_procedure: tuple[DenialLine, ...]
    payer_mix: tuple[PayerShare, ...]
    #: per month: the payer mix of that month
    payer_mix_trend: tuple[tuple[str, tuple[PayerShare, ...]], ...] = field(default=())

    def figure(self, kpi: Kpi) -> Figure:
        return next(figure for figure in self.figures if figure.kpi is kpi)

    def as_json(self) -> dict[str, Any]:
        return {
            "period": {"from": self.period_from.isoformat(), "to": self.period_to.isoformat()},
            "months": list(self.months), "rounding": ROUNDING,
            "figures": [figure.as_json() for figure in self.figures],
            "denials": {"by_carc": [line.as_json() for line in self.denials_by_carc],
                        "by_payer": [line.as_json() for line in self.denials_by_payer],
                        "by_procedure": [line.as_json() for line in self.denials_by_procedure]},
            "payer_mix": {"definition": PAYER_MIX_DEFINITION,
                          "payers": [share.as_json() for share in self.payer_mix],
                          "trend": [{"month": month,
                                     "payers": [share.as_json() for share in shares]}
                                    for month, shares in self.payer_mix_trend]}}

    def csv_rows(self) -> list[dict[str, Any]]:
        """One row per figure and month (and one per figure for the whole period, month
        ``period``): the numbers of :meth:`as_json`."""
        rows = []
        for figure in self.figures:
            unit = figure.definition.unit
            for point in (*figure.trend, Point("period", figure.total.numerator,
                                               figure.total.denominator, figure.total.value)):
                data = point.as_json(unit)
                rows.append({"kpi": figure.kpi.value, "month": point.month, "unit": unit.value,
                             "numerator": data["numerator"],
                             "denominator": data["denominator"], "value": data["value"] or "",
                             "display": data["display"]})
        return rows


CSV_COLUMNS = ("kpi", "month", "unit", "numerator", "denominator", "value", "display")


# -- the period --------------------------------------------------------------------------------

def default_period(today: date | None = None) -> tuple[date, date]:
    """The 12 calendar months up to today: from the 1st of the month 11 months back."""
    end = today or date.today()
    year, month = end.year, end.month - 11
    if month < 1:
        year, month = year - 1, month + 12
    return date(year, month, 1), end


def months_of(period_from: date, period_to: date) -> tuple[str, ...]:
    months = []
    year, month = period_from.year, period_from.month
    while (year, month) <= (period_to.year, period_to.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return tuple(months)


def month_end(month: str, period_to: date) -> date:
    """The month's last day, or the period's end in its last month."""
    year, number = int(month[:4]), int(month[5:])
    return min(date(year, number, calendar.monthrange(year, number)[1]), period_to)


def _months_back(month: str, count: int) -> str:
    year, number = int(month[:4]), int(month[5:]) - count
    while number < 1:
        year, number = year - 1, number + 12
    return f"{year:04d}-{number:02d}"


def _first_day(month: str) -> date:
    return date(int(month[:4]), int(month[5:]), 1)


def check_period(period_from: date | None, period_to: date | None,
                 today: date | None = None) -> tuple[date, date]:
    """The period asked (defaults filled in).

    :raises ValidationFailed: ``from`` after ``to``, or longer than :data:`MAX_MONTHS`.
    """
    default_from, default_to = default_period(today)
    end = period_to or default_to
    check_in_range(end, record="period", field="to")
    start = period_from or (default_period(end)[0] if period_to else default_from)
    # the months before it (days in A/R looks back) must be dates
    check_in_range(start, record="period", field="from")
    if start > end:
        raise ValidationFailed("period", [("from", "is after the end of the period")])
    if len(months_of(start, end)) > MAX_MONTHS:
        raise ValidationFailed("period", [("from", f"the period is at most {MAX_MONTHS} "
                                                   "months")])
    return start, end


# -- the report --------------------------------------------------------------------------------

def kpi_report(work: UnitOfWork, *, period_from: date | None = None,
               period_to: date | None = None, keep: bool = True) -> KpiReport:
    """Every figure over the period, with monthly trends and the denial breakdowns.

    Closed months come from their kept sums and month-end agings when still right
    (:mod:`.kpi_rollups`, :mod:`.kpi_aging_cache`); ``keep=False`` computes every month from
    scratch and keeps nothing (the figures are the same: a test holds them equal)."""
    work.require(Action.REPORTS_READ)
    start, end = check_period(period_from, period_to)
    months = months_of(start, end)
    offset = local_offset_seconds()
    window = (_months_back(months[0], 2), _months_back(months[0], 1), *months)
    sums = month_sums(work, window, start, end, offset, keep=keep)
    ledger = _LedgerMonths.of(sums, window, months)
    first_pass, denial, denials_by_payer = _answer_figures(sums, months)
    figures = (
        _days_in_ar(ledger, months, end),
        *_submission_figures(sums, months),
        first_pass, denial,
        _net_collection(ledger, months),
        *_aged_figures(work, months, end, keep=keep),
        _era_lag(work, months, start, end, offset),
    )
    order = list(Kpi)
    charges, payments = ledger.payer_charges, ledger.payer_payments
    return KpiReport(
        start, end, months, tuple(sorted(figures, key=lambda figure: order.index(figure.kpi))),
        _denials_by_carc(sums, months), denials_by_payer,
        _denials_by_procedure(sums, months), _shares(charges, payments, None),
        tuple((month, _shares(charges, payments, month)) for month in months))


def _figure(kpi: Kpi, months: Sequence[str], numerators: dict[str, Number],
            denominators: dict[str, Number], zero: Number) -> Figure:
    """A figure whose period total is the sum of its months'."""
    trend = tuple(Point(month, numerators.get(month, zero), denominators.get(month, zero),
                        ratio(numerators.get(month, zero), denominators.get(month, zero)))
                  for month in months)
    numerator = sum((point.numerator for point in trend), zero)
    denominator = sum((point.denominator for point in trend), zero)
    return Figure(kpi, Point("", numerator, denominator, ratio(numerator, denominator)), trend)


def _submission_figures(sums: dict[str, MonthSums],
                        months: Sequence[str]) -> tuple[Figure, Figure]:
    """Clean-claim rate and charge lag (both count the encounters first sent)."""
    submitted: dict[str, Number] = {}
    clean: dict[str, Number] = {}
    lag_days: dict[str, Number] = {}
    histogram: dict[int, int] = {}
    for month in months:
        for days, (count, clean_count) in sums[month].sent.items():
            submitted[month] = int(submitted.get(month, 0)) + count
            clean[month] = int(clean.get(month, 0)) + clean_count
            lag_days[month] = int(lag_days.get(month, 0)) + days * count
            histogram[days] = histogram.get(days, 0) + count
    clean_rate = _figure(Kpi.CLEAN_CLAIM_RATE, months, clean, submitted, 0)
    lag = _figure(Kpi.CHARGE_LAG, months, lag_days, submitted, 0)
    return clean_rate, Figure(lag.kpi, lag.total, lag.trend, median(histogram))


def median(histogram: dict[int, int]) -> Decimal | None:
    """The median of values given as value -> how many (the mean of the two middle ones for
    an even count); None for none."""
    count = sum(histogram.values())
    if not count:
        return None
    wanted = ((count - 1) // 2, count // 2)  # positions of the middle value(s), from 0
    found: list[int] = []
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        while len(found) < 2 and seen > wanted[len(found)]:
            found.append(value)
    return Decimal(found[0] + found[1]) / 2


def _answer_figures(sums: dict[str, MonthSums], months: Sequence[str]
                    ) -> tuple[Figure, Figure, tuple[DenialLine, ...]]:
    """First-pass resolution and denial rates, and the denials by payer: the first answers
    summed by month and payer."""
    answered: dict[str, Number] = {}
    resolved: dict[str, Number] = {}
    denied: dict[str, Number] = {}
    payers: dict[str, list[Any]] = {}
    for month in months:
        for payer, (count, resolved_count, denied_count, amount) in \
                sums[month].answered.items():
            answered[month] = int(answered.get(month, 0)) + count
            resolved[month] = int(resolved.get(month, 0)) + resolved_count
            denied[month] = int(denied.get(month, 0)) + denied_count
            line = payers.setdefault(payer or SELF_PAY, [0, ZERO, 0])
            line[0] += denied_count
            line[1] += amount
            line[2] += count
    by_payer = sorted((DenialLine(payer, "", claims, amount, count)
                       for payer, (claims, amount, count) in payers.items()),
                      key=lambda line: (-line.claims, line.key))
    return (_figure(Kpi.FIRST_PASS_RATE, months, resolved, answered, 0),
            _figure(Kpi.DENIAL_RATE, months, denied, answered, 0), tuple(by_payer))


_Sums = dict[tuple[str, str], Decimal]


@dataclass(frozen=True)
class _LedgerMonths:
    """The ledger per month from two months before the period (days in A/R looks back), and
    per month and payer in the period (the payer mix)."""

    charges: dict[str, Decimal]
    contractual: dict[str, Decimal]
    payments: dict[str, Decimal]
    #: the balance (both buckets) at each month's end
    balance: dict[str, Decimal]
    #: (month, payer label) -> charges, and -> payments (patients' on :data:`PATIENTS`)
    payer_charges: _Sums
    payer_payments: _Sums

    @classmethod
    def of(cls, sums: dict[str, MonthSums], window: Sequence[str],
           months: Sequence[str]) -> _LedgerMonths:
        charges = dict.fromkeys(window, ZERO)
        contractual = dict.fromkeys(window, ZERO)
        payments = dict.fromkeys(window, ZERO)
        change = dict.fromkeys(window, ZERO)
        payer_charges: _Sums = {}
        payer_payments: _Sums = {}
        for month in window:
            for (payer, kind), (money, insurance, patient) in sums[month].ledger.items():
                change[month] += insurance + patient
                if kind == EntryKind.CHARGE.value:
                    charges[month] += money
                    if month in months:
                        key = (month, payer or SELF_PAY)
                        payer_charges[key] = payer_charges.get(key, ZERO) + money
                elif kind == EntryKind.CONTRACTUAL_ADJUSTMENT.value:
                    contractual[month] += money
                elif kind == EntryKind.REFUND.value:
                    payments[month] -= money
                elif kind in bases.PAYMENT_KINDS:
                    payments[month] += money
                    if month in months:
                        label = PATIENTS if kind == EntryKind.PATIENT_PAYMENT.value \
                            else payer or SELF_PAY
                        payer_payments[(month, label)] = \
                            payer_payments.get((month, label), ZERO) + money
        opening = sums[window[0]].opening
        if opening is None:
            raise AssertionError("the window's first month comes with its opening balance")
        balance = {}
        running = opening
        for month in window:
            running += change[month]
            balance[month] = running
        return cls(charges, contractual, payments, balance, payer_charges, payer_payments)

    def net_revenue(self, month: str) -> Decimal:
        return self.charges[month] - self.contractual[month]


def _days_in_ar(ledger: _LedgerMonths, months: Sequence[str], end: date) -> Figure:
    trend = []
    for month in months:
        window = [_months_back(month, 2), _months_back(month, 1), month]
        days = (month_end(month, end) - _first_day(window[0])).days + 1
        revenue = sum((ledger.net_revenue(m) for m in window), ZERO)
        daily = ratio(revenue, days)
        balance = ledger.balance[month]
        # balance x days / revenue: one division, as exact as the quotient can be
        trend.append(Point(month, balance, daily if daily is not None else ZERO,
                           ratio(balance * days, revenue)))
    return _at_period_end(Kpi.DAYS_IN_AR, trend)


def _net_collection(ledger: _LedgerMonths, months: Sequence[str]) -> Figure:
    return _figure(Kpi.NET_COLLECTION_RATE, months,
                   {month: ledger.payments[month] for month in months},
                   {month: ledger.net_revenue(month) for month in months}, ZERO)


def _aged_figures(work: UnitOfWork, months: Sequence[str], end: date, *,
                  keep: bool = True) -> tuple[Figure, Figure]:
    """A/R over 90 and over 120 days at each month's end: the aging report's own balances and
    clock (:func:`~medbill_core.services.receivables.aged_balances`), past month ends kept
    between reports (:mod:`.kpi_aging_cache`)."""
    over_90: list[Point] = []
    over_120: list[Point] = []
    for month, totals in zip(months, aged_totals(work, [month_end(m, end) for m in months],
                                                 keep=keep),
                             strict=True):
        for aged, points in ((totals.over_90, over_90), (totals.over_120, over_120)):
            points.append(Point(month, aged, totals.total, ratio(aged, totals.total)))
    return _at_period_end(Kpi.AR_OVER_90, over_90), _at_period_end(Kpi.AR_OVER_120, over_120)


def _at_period_end(kpi: Kpi, trend: list[Point]) -> Figure:
    """A figure of a balance: the period's is its last month's (the period's end)."""
    last = trend[-1]
    return Figure(kpi, Point("", last.numerator, last.denominator, last.value), tuple(trend))


def _era_lag(work: UnitOfWork, months: Sequence[str], start: date, end: date,
             offset: int) -> Figure:
    documents = bases.era_documents(start, end, offset)
    rows = work.session.execute(select(documents.c.month, func.count(),
                                       func.sum(documents.c.seconds))
                                .group_by(documents.c.month)).all()
    hours = {month: Decimal(int(seconds or 0)) / 3600 for month, _count, seconds in rows}
    counts: dict[str, Number] = {month: int(count) for month, count, _seconds in rows}
    trend = tuple(Point(month, hours.get(month, ZERO), counts.get(month, 0),
                        ratio(hours.get(month, ZERO), counts.get(month, 0)))
                  for month in months)
    total_seconds = sum(int(seconds or 0) for _month, _count, seconds in rows)
    count = sum(int(count) for _month, count, _seconds in rows)
    total_hours = Decimal(total_seconds) / 3600
    return Figure(Kpi.ERA_LAG, Point("", total_hours, count, ratio(total_hours, count)), trend)


# -- denial breakdowns -------------------------------------------------------------------------

def _denials_by_carc(sums: dict[str, MonthSums],
                     months: Sequence[str]) -> tuple[DenialLine, ...]:
    totals: dict[tuple[str, str], tuple[int, Decimal]] = {}
    for month in months:
        for key, (claims, amount) in sums[month].carc.items():
            before = totals.get(key, (0, ZERO))
            totals[key] = (before[0] + claims, before[1] + amount)
    lines = [DenialLine(f"{group}-{reason}", brief_adjustment(f"{group}-{reason}"), claims,
                        amount) for (group, reason), (claims, amount) in totals.items()]
    return tuple(sorted(lines, key=lambda line: (-line.claims, -line.amount, line.key)))


def _denials_by_procedure(sums: dict[str, MonthSums],
                          months: Sequence[str]) -> tuple[DenialLine, ...]:
    totals: dict[str, tuple[int, Decimal]] = {}
    for month in months:
        for code, (claims, amount) in sums[month].procedures.items():
            before = totals.get(code, (0, ZERO))
            totals[code] = (before[0] + claims, before[1] + amount)
    lines = [DenialLine(code, "", claims, amount) for code, (claims, amount) in totals.items()]
    return tuple(sorted(lines, key=lambda line: (-line.claims, -line.amount, line.key)))


# -- payer mix ---------------------------------------------------------------------------------

def _shares(charges: _Sums, payments: _Sums, month: str | None) -> tuple[PayerShare, ...]:
    """The payer mix of one month (None: the whole period)."""
    def by_payer(sums: _Sums) -> dict[str, Decimal]:
        result: dict[str, Decimal] = {}
        for (month_key, payer), amount in sums.items():
            if month is None or month_key == month:
                result[payer] = result.get(payer, ZERO) + amount
        return result

    charged, paid = by_payer(charges), by_payer(payments)
    total_charged = sum(charged.values(), ZERO)
    total_paid = sum(paid.values(), ZERO)
    payers = sorted(set(charged) | set(paid),
                    key=lambda payer: (payer in (SELF_PAY, PATIENTS), payer))
    return tuple(PayerShare(payer, charged.get(payer, ZERO), paid.get(payer, ZERO),
                            ratio(charged.get(payer, ZERO), total_charged),
                            ratio(paid.get(payer, ZERO), total_paid)) for payer in payers)


# -- the drill-down ----------------------------------------------------------------------------

@dataclass(frozen=True)
class KpiClaim:
    """A claim behind a figure (no PHI: the claim's own numbers only)."""

    id: int
    claim_number: str
    payer_key: str | None
    state: str
    service_date: date
    charge: Decimal

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "claim_number": self.claim_number, "payer": self.payer_key,
                "state": self.state, "service_date": self.service_date.isoformat(),
                "charge": str(self.charge)}


def _claim_ids(work: UnitOfWork, kpi: Kpi, part: Part, start: date, end: date,
               month: str | None) -> Select[Any] | list[int]:
    """The claim ids behind a figure: a select of one ``claim_id`` column (aged A/R: the
    aging's claim accounts)."""
    numerator = part is Part.NUMERATOR
    if kpi in (Kpi.CLEAN_CLAIM_RATE, Kpi.CHARGE_LAG):
        sent = bases.submissions_listed(start, end, local_offset_seconds())
        query = select(sent.c.claim_id)
        if month is not None:
            query = query.where(sent.c.month == month)
        if numerator and kpi is Kpi.CLEAN_CLAIM_RATE:
            query = query.where(sent.c.clean == 1)
        return query
    if kpi in (Kpi.FIRST_PASS_RATE, Kpi.DENIAL_RATE):
        answers = bases.first_answers_listed(start, end)
        query = select(answers.c.claim_id)
        if month is not None:
            query = query.where(answers.c.month == month)
        if numerator:
            flag = answers.c.resolved if kpi is Kpi.FIRST_PASS_RATE else answers.c.denied
            query = query.where(flag == 1)
        return query
    if kpi is Kpi.NET_COLLECTION_RATE:
        kinds = bases.PAYMENT_KINDS if numerator else (EntryKind.CHARGE.value,)
        claims = bases.ledger_claims(kinds, start, end).subquery()
        query = select(claims.c.claim_id)
        return query.where(claims.c.month == month) if month is not None else query
    as_of = month_end(month, end) if month is not None else end
    if kpi is Kpi.DAYS_IN_AR:
        if numerator:
            return bases.open_accounts(as_of)
        window_from = _first_day(_months_back(months_of(as_of, as_of)[0], 2))
        claims = bases.ledger_claims((EntryKind.CHARGE.value,), window_from, as_of).subquery()
        return select(claims.c.claim_id)
    if kpi in (Kpi.AR_OVER_90, Kpi.AR_OVER_120):
        days = 90 if kpi is Kpi.AR_OVER_90 else 120
        ids = sorted({b.claim_id for b in aged_balances(work, as_of=as_of)
                      if b.claim_id is not None and b.amount > ZERO
                      and (not numerator or b.days > days)})
        return ids
    return []  # ERA lag: files, not claims


def kpi_claims(work: UnitOfWork, kpi: Kpi, *, part: Part = Part.NUMERATOR,
               period_from: date | None = None, period_to: date | None = None,
               month: str | None = None, after_id: int | None = None,
               limit: int = 50) -> list[KpiClaim]:
    """The claims behind a figure (its numerator or denominator, over the period or one month
    of it), by claim id, ``limit`` after ``after_id`` (keyset pages).

    :raises ValidationFailed: a bad period, or a month outside it.
    """
    work.require(Action.REPORTS_READ)
    start, end = check_period(period_from, period_to)
    if month is not None and month not in months_of(start, end):
        raise ValidationFailed("drill-down", [("month", "is not a month of the period")])
    ids = _claim_ids(work, kpi, part, start, end, month)
    query = select(ClaimRow.id, ClaimRow.claim_number, ClaimRow.payer_key, ClaimRow.state,
                   ClaimRow.service_date_from, ClaimRow.total_charge)
    if isinstance(ids, list):  # aged A/R: the aging's accounts, already in Python
        query = query.where(ClaimRow.id.in_(
            [claim_id for claim_id in ids if after_id is None or claim_id > after_id][:limit]))
    else:
        query = query.where(ClaimRow.id.in_(ids))
        if after_id is not None:
            query = query.where(ClaimRow.id > after_id)
    rows = work.session.execute(query.order_by(ClaimRow.id).limit(limit)).all()
    return [KpiClaim(*row) for row in rows]


def kpi_of(text: str) -> Kpi:
    """The KPI named ``text``.

    :raises ValidationFailed: no such KPI (the error lists them).
    """
    try:
        return Kpi(text)
    except ValueError:
        names = ", ".join(kpi.value for kpi in Kpi)
        raise ValidationFailed("drill-down", [("kpi", f"must be one of {names}")]) from None

