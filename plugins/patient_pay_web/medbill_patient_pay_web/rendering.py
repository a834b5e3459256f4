"""The pay page's Jinja2 environment (autoescape on) and its money and date filters."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape


def dollars(amount: Decimal) -> str:
    """``Decimal("-1234.5")`` -> ``-$1,234.50`` (never through float)."""
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"


def us_date(day: date) -> str:
    return day.strftime("%m/%d/%Y")


@cache
def environment() -> Environment:
    env = Environment(loader=PackageLoader("medbill_patient_pay_web", "templates"),
                      autoescape=select_autoescape(default=True), undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["dollars"] = dollars
    env.filters["us_date"] = us_date
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)
