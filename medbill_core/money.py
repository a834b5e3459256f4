"""Money: always :class:`decimal.Decimal`, two places, never float.

``Money`` is an annotated type for pydantic models: it accepts ``Decimal``,
``int`` and numeric strings, rejects floats (binary floats cannot hold cents
exactly). Text is what people and files type, so it is read strictly: plain
decimal notation with at most two places (``12.345`` and ``1e3`` are refused,
never rounded). Decimals computed by the program (fee schedule pricing,
coinsurance) are quantized to cents with ``ROUND_HALF_UP``.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


#: Plain decimal notation as people write amounts: optional sign, digits, at most two places.
_AMOUNT_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d{0,2})?|\.\d{1,2})")


def parse_amount(text: str) -> Decimal:
    """Read an amount typed by a person or written in a file, exactly.

    :raises ValueError: for anything but plain decimal notation with at most two
        decimal places: ``"12.345"`` (would need rounding), ``"1e3"`` (exponent),
        ``"1,000"`` (grouping), ``"NaN"``, ``""``. The message never repeats the text.
    """
    stripped = text.strip()
    if _AMOUNT_TEXT.fullmatch(stripped):
        return Decimal(stripped)
    if re.fullmatch(r"[+-]?\d*\.\d{3,}", stripped):
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
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _validate_money(value: Any) -> Decimal:
    try:
        return to_money(value)
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
