"""Element value conversions both ways: dates, times, amounts, quantities, percents.

Money is Decimal throughout. Writers emit the shortest exact form (``100``, ``100.5``) as X12
type R asks; readers accept what type R allows (ASCII digits, a leading minus, one period:
:func:`medbill_core.money.parse_plain_number`, the one number reader) and hold money in cents,
never rounded: an amount with more than two places once its trailing zeros are dropped
(``50.004``; ``50.500`` is 50.50) is refused, as every amount the project reads is.
``Decimal()`` and ``int()`` alone would take ``"1_000"`` and Arabic-Indic digits.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from medbill_core.api import parse_plain_number

CENT = Decimal("0.01")


def is_digits(text: str) -> bool:
    """ASCII digits only (``str.isdigit`` also accepts '²', which ``int`` then refuses)."""
    return text.isascii() and text.isdigit()


_digits = is_digits


#: Writers format the same dates and amounts over and over (service dates of a batch, fee
#: schedule charges): the texts are cached, bounded so a long run cannot grow them without end.
_FORMAT_CACHE_LIMIT = 4096
_DATE_TEXTS: dict[date, str] = {}
_MONEY_TEXTS: dict[Decimal, str] = {}


def format_date(value: date) -> str:
    """CCYYMMDD."""
    text = _DATE_TEXTS.get(value)
    if text is None:
        text = f"{value.year:04d}{value.month:02d}{value.day:02d}"
        if len(_DATE_TEXTS) < _FORMAT_CACHE_LIMIT and value.__class__ is date:
            _DATE_TEXTS[value] = text
    return text


def format_short_date(value: date) -> str:
    """YYMMDD (ISA09)."""
    return f"{value.year % 100:02d}{value.month:02d}{value.day:02d}"


def format_time(value: time | datetime) -> str:
    """HHMM."""
    return f"{value.hour:02d}{value.minute:02d}"


def format_decimal(value: Decimal) -> str:
    """Type R: no exponent, no trailing zeros after the point, no point when whole."""
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text


def format_money(value: Decimal) -> str:
    """Rounded to cents, then as :func:`format_decimal`."""
    text = _MONEY_TEXTS.get(value)
    if text is None:
        text = format_decimal(value.quantize(CENT, rounding=ROUND_HALF_UP))
        if len(_MONEY_TEXTS) < _FORMAT_CACHE_LIMIT:
            _MONEY_TEXTS[value] = text
    return text


def parse_decimal(text: str) -> Decimal | None:
    """A type R value; ``None`` when it is not a plain number."""
    return parse_plain_number(text)


#: What an amount element with fractions of a cent is refused for: the project's words for
#: such an amount typed anywhere (medbill_core.money).
SUB_CENT = "more than two decimal places (amounts are in cents; never rounded)"


def exact_cents(value: Decimal) -> Decimal | None:
    """``value`` with two places, exactly: ``None`` when that would round it (``50.004``) or
    it has more digits than Decimal's context holds. Trailing zeros are no rounding:
    ``50.500`` is 50.50."""
    try:
        cents = value.quantize(CENT)
    except InvalidOperation:
        return None
    return cents if cents == value else None


def parse_money(text: str) -> Decimal | None:
    """A type R amount in cents; ``None`` when it is not a plain number or is not a whole
    number of cents (see :func:`exact_cents`): ask :func:`money_expected` why."""
    value = parse_plain_number(text)
    return None if value is None else exact_cents(value)


def money_expected(what: str, text: str) -> str:
    """What an amount element :func:`parse_money` refused should have held, for its positioned
    error: ``what`` as a decimal amount, or (a number with fractions of a cent) :data:`SUB_CENT`.
    The text itself is never quoted (element values may be PHI)."""
    value = parse_plain_number(text)
    if value is not None:
        try:
            if value.quantize(CENT) != value:
                return f"{what}: {SUB_CENT}"
        except InvalidOperation:  # more digits than the context holds: no amount at all
            pass
    return f"{what} as a decimal amount"


def parse_ccyymmdd(text: str) -> date | None:
    if len(text) != 8 or not _digits(text):
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None


def parse_date_or_range(qualifier: str, text: str) -> tuple[date, date | None] | None:
    """DTP02/DTP03: ``D8`` one date, ``RD8`` a ``CCYYMMDD-CCYYMMDD`` range."""
    if qualifier == "D8":
        day = parse_ccyymmdd(text)
        return None if day is None else (day, None)
    if qualifier == "RD8":
        start_text, _, end_text = text.partition("-")
        start, end = parse_ccyymmdd(start_text), parse_ccyymmdd(end_text)
        if start is None or end is None:
            return None
        return start, end
    return None
