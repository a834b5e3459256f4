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
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, ValidationInfo

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


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
        raise ValueError("amount is too large") from None


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
    return to_money(value)


#: ``model_validate(..., context={MONEY_INPUT: True})``: Money fields read the data as input.
MONEY_INPUT = "medbill_money_input"


def _validate_money(value: Any, info: ValidationInfo) -> Decimal:
    strict = bool(info.context and info.context.get(MONEY_INPUT))
    try:
        return parse_money_input(value) if strict else to_money(value)
    except TypeError as exc:  # pydantic reports ValueErrors as field errors, not TypeErrors
        raise ValueError(str(exc)) from None


#: A pydantic field type for amounts of money (US dollars, cents precision).
Money = Annotated[
    Decimal,
    BeforeValidator(_validate_money),
    PlainSerializer(lambda v: format(v, "f"), return_type=str, when_used="json"),
]


def total(amounts: Any) -> Decimal:
    """Sum an iterable of Decimals exactly, starting from ``0.00``."""
    result = ZERO
    for amount in amounts:
        result += amount
    return result
