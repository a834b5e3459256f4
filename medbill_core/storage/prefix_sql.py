"""Rows whose key begins with a prefix, answered from the key's index on SQLite as well.

Keys name families of rows: a payment's credit applications ``credit:payment:12:1``,
``...:2``; an 835's adjudications ``835:<payer>:<trace>:...``. SQLite's LIKE ignores case, so
it can never be answered from the (case-sensitive) unique index on such a key: every row of
the table was read (1.4 s to count a payment's credit postings among 2.4 million postings).
GLOB compares case and all, and SQLite turns a GLOB whose pattern begins with literal text into
a range of the index. PostgreSQL gets LIKE, as before.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement
from sqlalchemy.orm import InstrumentedAttribute, Session


def starts_with(session: Session, column: InstrumentedAttribute[str],
                prefix: str) -> ColumnElement[bool]:
    """The condition "``column`` begins with ``prefix``" (taken literally: no character of
    it is a wildcard), for ``session``'s database."""
    if session.get_bind().dialect.name == "sqlite":
        # GLOB's wildcards, each matched literally as a one-character set
        literal = prefix.replace("[", "[[]").replace("*", "[*]").replace("?", "[?]")
        return column.op("GLOB")(literal + "*")
    return column.startswith(prefix, autoescape=True)
