"""Column types that keep money and quantities exact on every backend.

SQLite has no decimal type (SQLAlchemy's Numeric goes through float there),
so money is stored as integer cents everywhere: exact, and sums in SQL stay exact.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, String
from sqlalchemy.types import TypeDecorator

from medbill_core.money import CENT, to_money


class Cents(TypeDecorator[Decimal]):
    """A Decimal amount of dollars stored as a BIGINT number of cents."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> int | None:
        if value is None:
            return None
        return int(to_money(value) / CENT)

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        if value is None:
            return None
        return (Decimal(int(value)) * CENT).quantize(CENT)


class DecimalText(TypeDecorator[Decimal]):
    """A Decimal quantity (units) stored as its exact text."""

    impl = String(32)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("quantities must be Decimal, not float")
        return format(Decimal(value).normalize(), "f")

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        return None if value is None else Decimal(value)
