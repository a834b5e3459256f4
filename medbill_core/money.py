"""Money: always :class:`decimal.Decimal`, two places, never float.

``Money`` is an annotated type for pydantic models: it accepts ``Decimal``,
``int`` and numeric strings, rejects floats (binary floats cannot hold cents
exactly) and quantizes to cents with banker's-free ``ROUND_HALF_UP``.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


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
        try:
            amount = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError("not a decimal amount") from None
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
