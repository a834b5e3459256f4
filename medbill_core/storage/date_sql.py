"""Date arithmetic in SQL that SQLite and PostgreSQL both run, for reports that aggregate in the
database (:mod:`medbill_core.services.kpi`) instead of reading every row into Python.

SQLite has no date type (dates are ``YYYY-MM-DD`` text, timestamps naive UTC text) and
PostgreSQL has real ones, so each expression compiles differently per dialect; the results
are the same: a month key ``YYYY-MM`` (text), a local calendar day (a date), whole days between
two dates and whole seconds between two timestamps (integers, never floats).

Local day: the stored timestamps are UTC; a report counts them on the local calendar day, as
:func:`~medbill_core.storage.schema.local_day` does in Python. SQL is given the local UTC offset
of the moment the report runs (:func:`local_offset_seconds`): around a change of daylight
saving time a timestamp within an hour of midnight may fall on the neighbouring day (Python's
``local_day`` uses the offset of the timestamp's own date). Reports counting whole days over
months are insensitive to that hour; nothing that posts money reads these expressions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Date, Integer, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import FunctionElement


def local_offset_seconds() -> int:
    """The local time zone's offset from UTC now, in whole seconds (east positive)."""
    offset = datetime.now().astimezone().utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


class month_of(FunctionElement[str]):
    """``YYYY-MM`` of a date column (text): the key a monthly trend groups by."""

    type = String()
    inherit_cache = True
    name = "month_of"


@compiles(month_of, "sqlite")
def _month_of_sqlite(element: month_of, compiler: SQLCompiler, **kw: Any) -> str:
    return f"strftime('%Y-%m', {compiler.process(element.clauses, **kw)})"


@compiles(month_of, "postgresql")
def _month_of_postgresql(element: month_of, compiler: SQLCompiler, **kw: Any) -> str:
    return f"to_char({compiler.process(element.clauses, **kw)}, 'YYYY-MM')"


class local_date(FunctionElement[Any]):
    """The local calendar day of a stored UTC timestamp, given the local offset in seconds:
    ``local_date(column, offset)``."""

    type = Date()
    inherit_cache = True
    name = "local_date"


def _args(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> list[str]:
    return [compiler.process(clause, **kw) for clause in element.clauses]


@compiles(local_date, "sqlite")
def _local_date_sqlite(element: local_date, compiler: SQLCompiler, **kw: Any) -> str:
    moment, offset = _args(element, compiler, **kw)
    return f"date({moment}, ({offset}) || ' seconds')"


@compiles(local_date, "postgresql")
def _local_date_postgresql(element: local_date, compiler: SQLCompiler, **kw: Any) -> str:
    moment, offset = _args(element, compiler, **kw)
    return f"CAST(timezone('UTC', {moment}) + make_interval(secs => {offset}) AS DATE)"


class days_between(FunctionElement[int]):
    """Whole days from the second date to the first: ``days_between(later, earlier)``."""

    type = Integer()
    inherit_cache = True
    name = "days_between"


@compiles(days_between, "sqlite")
def _days_between_sqlite(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = _args(element, compiler, **kw)
    # julianday of two dates differs by an exact whole number
    return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"


@compiles(days_between, "postgresql")
def _days_between_postgresql(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = _args(element, compiler, **kw)
    return f"(CAST({later} AS DATE) - CAST({earlier} AS DATE))"


class seconds_between(FunctionElement[int]):
    """Whole seconds from the second timestamp to the first: ``seconds_between(later,
    earlier)`` (integers, so sums and averages stay exact)."""

    type = Integer()
    inherit_cache = True
    name = "seconds_between"


@compiles(seconds_between, "sqlite")
def _seconds_between_sqlite(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = _args(element, compiler, **kw)
    return (f"(CAST(strftime('%s', {later}) AS INTEGER)"
            f" - CAST(strftime('%s', {earlier}) AS INTEGER))")


@compiles(seconds_between, "postgresql")
def _seconds_between_postgresql(element: seconds_between, compiler: SQLCompiler,
                                **kw: Any) -> str:
    later, earlier = _args(element, compiler, **kw)
    return (f"(CAST(floor(EXTRACT(EPOCH FROM {later})) AS BIGINT)"
            f" - CAST(floor(EXTRACT(EPOCH FROM {earlier})) AS BIGINT))")

