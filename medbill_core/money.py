"""Money: always :class:`decimal.Decimal`, two places, never float.

``Money`` is an annotated type for pydantic models: it accepts ``Decimal``,
``int`` and numeric strings, rejects floats (binary floats cannot hold cents
exactly). Text is what people and files type, so it is read strictly: plain
decimal notation with at most two places (``12.345`` and ``1e3`` are refused,
never rounded). Decimals computed by the program (fee schedule pricing,
coinsurance) are quantized to cents with ``ROUND_HALF_UP``.

Input is strict whatever its type: :func:`parse_money_input` (and ``Money`` fields
validated through :func:`medbill_core.domain.validate_record`, which every import and
command uses) refuse a ``Decimal`` with more than two places or an exponent, such as
``json.loads(..., parse_float=Decimal)`` makes of ``12.345`` or ``1e3``.

Amounts are bounded, so that no figure reaches the database (``BIGINT`` cents on SQLite and
PostgreSQL, at most 9,223,372,036,854,775,807) or the arithmetic on it too large:

* :data:`MAX_AMOUNT` (99,999,999.99) is the most one amount a person or a file states may be,
  either way: a line's charge, a claim's total, a price, a payment, a plan. ``Amount`` fields
  (and :func:`checked_amount` in the services) refuse more, naming the field.
* :data:`MAX_MONEY` (99,999,999,999,999.99) is the most any amount may be at all, a payer's
  figure or a total the program was given included: every ``Money`` field (and
  :func:`parse_money_input`) refuses more as "amount is too large".
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, ValidationInfo

from medbill_core.errors import ValidationFailed

CENT = Decimal("0.01")
ZERO = Decimal("0.00")

#: The most one amount a person or a file states may be, either way (a line's charge, a
#: claim's total, a price, a copay, a payment, a plan, a refund ...): 9,999,999,999 cents.
#: No one charge or payment of a practice or a hospital comes near a hundred million dollars,
#: so a bigger one is a slip of the keyboard (a pasted account number, digits typed twice).
#: A ``BIGINT`` cents column holds 922 million of them added up.
MAX_AMOUNT = Decimal("99999999.99")
#: The most any amount may be at all, whoever made it (a total the program adds up, a payer's
#: figure in an 835): 10**16 - 1 cents, under a nine-hundredth of what a ``BIGINT`` cents
#: column holds (2**63 - 1 on SQLite and PostgreSQL), so that sums of such amounts still
#: fit; a hundred trillion dollars, more than the world earns in a year. Not a limit of
#: belief: a payer's 835 saying twelve trillion is read, and held as an exception.
MAX_MONEY = Decimal("99999999999999.99")


class _TooLarge(ValueError):
    """An amount beyond :data:`MAX_MONEY` (``negative``: below ``-MAX_MONEY``)."""

    def __init__(self, negative: bool) -> None:
        super().__init__("amount is too large")
        self.negative = negative


#: Plain decimal notation as people write amounts: optional sign, digits, at most two places.
#: ASCII digits only: ``\d`` (and ``Decimal()``) would read Arabic-Indic or full-width digits.
_AMOUNT_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]{0,2})?|\.[0-9]{1,2})")
#: A number as X12 writes one (types R and N, once N's implied places are applied): ASCII
#: digits, an optional leading minus, at most one period. No plus sign, exponent, grouping,
#: underscore (``Decimal("1_000")`` is 1000), space or non-ASCII digit.
_PLAIN_NUMBER = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


def parse_plain_number(text: str) -> Decimal | None:
    """``text`` as a Decimal when it is a plain number (see :data:`_PLAIN_NUMBER`), else
    ``None``. The one reader of numbers in documents: the X12 engine's amounts, quantities
    and percents all come through here, so none reads ``"١٢٣"`` or ``"1_000"`` as a number."""
    if _PLAIN_NUMBER.fullmatch(text) is None:
        return None
    return Decimal(text)


def parse_amount(text: str) -> Decimal:
    """Read an amount typed by a person or written in a file, exactly.

    :raises ValueError: for anything but plain decimal notation with at most two
        decimal places: ``"12.345"`` (would need rounding), ``"1e3"`` (exponent),
        ``"1,000"`` (grouping), ``"NaN"``, ``""``. The message never repeats the text.
    """
    stripped = text.strip()
    if _AMOUNT_TEXT.fullmatch(stripped):
        return Decimal(stripped)
    if re.fullmatch(r"[+-]?[0-9]*\.[0-9]{3,}", stripped):
        raise ValueError("more than two decimal places (amounts are in cents; never rounded)")
    raise ValueError("not an amount: write digits with at most two decimal places, e.g. 25.00")


def to_money(value: Any) -> Decimal:
    """Convert ``value`` to a cent-quantized Decimal.

    :raises TypeError: for floats and booleans, which cannot carry money exactly.
    :raises ValueError: for text that is not a number or values that are not finite.
    """
    if isinstance(value, (bool, float)):
        raise TypeError("money must be a Decimal, an integer or a numeric string, not a float")
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, str):
        amount = parse_amount(value)
    else:
        raise TypeError("money must be a Decimal, an integer or a numeric string")
    if not amount.is_finite():
        raise ValueError("amount must be finite")
    try:
        return amount.quantize(CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation:  # more digits than the context holds (an integer of 27 digits)
        raise _TooLarge(amount.is_signed()) from None


def _within_money(amount: Decimal) -> Decimal:
    """``amount`` when it is at most :data:`MAX_MONEY` either way (what a ``BIGINT`` cents
    column holds, with room for sums).

    :raises ValueError: "amount is too large".
    """
    if abs(amount) > MAX_MONEY:
        raise _TooLarge(amount.is_signed())
    return amount


def _limit_message(negative: bool) -> str:
    return (f"must not be less than -{MAX_AMOUNT:,}" if negative
            else f"must not be more than {MAX_AMOUNT:,}")


def within_limit(amount: Decimal) -> Decimal:
    """``amount`` when it is at most :data:`MAX_AMOUNT` either way.

    :raises ValueError: saying the limit (never the amount).
    """
    if abs(amount) > MAX_AMOUNT:
        raise ValueError(_limit_message(amount < 0))
    return amount


def bounded_amount(value: Any, *, strict: bool = False) -> Decimal:
    """``value`` read as one amount (:func:`to_money`; ``strict``: as input,
    :func:`parse_money_input`), at most :data:`MAX_AMOUNT` either way. Every amount beyond
    the limit, however many its digits, is refused with the same words.

    :raises TypeError: floats and booleans.
    :raises ValueError: what :func:`to_money` refuses, or the limit (never the amount).
    """
    try:
        return within_limit(parse_money_input(value) if strict else to_money(value))
    except _TooLarge as exc:
        raise ValueError(_limit_message(exc.negative)) from None


def checked_amount(value: Any, record: str, field: str) -> Decimal:
    """An amount a service was given (by a command, a request, a form) as cents: a number,
    at most :data:`MAX_AMOUNT` either way. The services' one check of the limit on amounts
    that reach them without an ``Amount`` field.

    :raises ValidationFailed: naming ``field`` of ``record``, with the reason.
    """
    try:
        return bounded_amount(value)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(record, [(field, str(exc))]) from None


def summed_cents(value: object, error: type[Exception] = TypeError) -> Decimal:
    """A SQL ``SUM`` over a cents column as the column's type gives it back: Decimal dollars,
    quantized; NULL (nothing summed) is zero. Anything else means the sum lost the column's
    type (a bare SUM over an expression, a conversion done twice): raised as ``error``
    rather than taken for dollars or cents by guess."""
    if value is None:
        return ZERO
    if not isinstance(value, Decimal):
        raise error("a sum of amounts came back untyped")
    return value


def parse_money_input(value: Any) -> Decimal:
    """An amount that came from outside the program (a file, a command line, the
    configuration), read exactly: like :func:`to_money`, but a ``Decimal`` with more than
    two decimal places or written with an exponent is refused, not rounded.

    :raises TypeError: floats and booleans.
    :raises ValueError: what would need rounding, exponents, non-finite values, bad text.
    """
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("amount must be finite")
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent > 0:
            raise ValueError("not an amount: write digits with at most two decimal places, "
                             "e.g. 25.00 (no exponent)")
        if isinstance(exponent, int) and exponent < -2:
            raise ValueError("more than two decimal places (amounts are in cents; never rounded)")
    return _within_money(to_money(value))


#: ``model_validate(..., context={MONEY_INPUT: True})``: Money fields read the data as input.
MONEY_INPUT = "medbill_money_input"


def _validate_money(value: Any, info: ValidationInfo) -> Decimal:
    strict = bool(info.context and info.context.get(MONEY_INPUT))
    try:
        return parse_money_input(value) if strict else _within_money(to_money(value))
    except TypeError as exc:  # pydantic reports ValueErrors as field errors, not TypeErrors
        raise ValueError(str(exc)) from None


def _validate_amount(value: Any, info: ValidationInfo) -> Decimal:
    try:
        return bounded_amount(value, strict=bool(info.context and info.context.get(MONEY_INPUT)))
    except TypeError as exc:  # pydantic reports ValueErrors as field errors, not TypeErrors
        raise ValueError(str(exc)) from None


_AS_TEXT = PlainSerializer(lambda v: format(v, "f"), return_type=str, when_used="json")

#: A pydantic field type for amounts of money (US dollars, cents precision), at most
#: :data:`MAX_MONEY` either way: totals and figures the program is given by others.
Money = Annotated[Decimal, BeforeValidator(_validate_money), _AS_TEXT]

#: A pydantic field type for one amount a person or a file states (a charge, a price, a
#: payment): ``Money`` at most :data:`MAX_AMOUNT` either way, a bigger one refused as
#: "must not be more than 99,999,999.99" at its field.
Amount = Annotated[Decimal, BeforeValidator(_validate_amount), _AS_TEXT]


def total(amounts: Any) -> Decimal:
    """Sum an iterable of Decimals exactly, starting from ``0.00``."""
    result = ZERO
    for amount in amounts:
        result += amount
    return result
