"""Rows whose id is among many, with the ids sent as one value.

``column.in_(ids)`` sends one bound parameter per id: SQLAlchemy expands the statement's
text and runs every id through the parameter machinery (about 2 us each), and SQLite allows
at most 32,766 of them. :func:`among` sends the ids as one parameter: on SQLite a JSON array
read by ``json_each`` (SQLite seeks the column's index once per id, as for an IN list), on
PostgreSQL an integer array compared with ``= ANY``; the statement is compiled once and
cached whatever the number of ids. Callers still send a few thousand ids a statement:
given a fifth of a big table's ids in one array, PostgreSQL rightly reads the whole table.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from sqlalchemy import ColumnElement, Integer, any_, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session


def among(session: Session, column: Any, ids: Collection[int]) -> ColumnElement[bool]:
    """The condition "``column`` is one of ``ids``" (integers), for ``session``'s database."""
    if session.get_bind().dialect.name == "sqlite":
        listed = func.json_each(bindparam(None, json.dumps(sorted(ids)))) \
            .table_valued("value")
        return column.in_(select(listed.c.value))  # type: ignore[no-any-return]
    return column == any_(  # type: ignore[no-any-return]
        bindparam(None, sorted(ids), type_=ARRAY(Integer)))
