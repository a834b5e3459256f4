"""Control numbers (ISA13, GS06) from a counter that survives restarts.

Reusing an interchange control number makes clearinghouses reject the file as a duplicate, so the
counter is persistent. Anything with ``next_number(kind)`` can serve: a database sequence in the
core, a SQLite file here, memory in tests.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from typing import Protocol, runtime_checkable

#: ISA13 is 9 digits; GS06 is at most 9 digits. After the largest value numbering wraps to 1.
MAX_CONTROL_NUMBER = 999_999_999


@runtime_checkable
class ControlNumberSource(Protocol):
    """Hands out increasing control numbers per ``kind`` (``"interchange"``, ``"group"``)."""

    def next_number(self, kind: str) -> int: ...


class MemoryControlNumbers:
    """An in-process counter (tests, one-off conversions). Not persistent."""

    def __init__(self, start: int = 1) -> None:
        if not 1 <= start <= MAX_CONTROL_NUMBER:
            raise ValueError("start must be 1 to 999999999")
        self._next: dict[str, int] = {}
        self._start = start
        self._lock = threading.Lock()

    def next_number(self, kind: str) -> int:
        with self._lock:
            value = self._next.get(kind, self._start)
            self._next[kind] = 1 if value >= MAX_CONTROL_NUMBER else value + 1
            return value


class SQLiteControlNumbers:
    """A counter kept in a SQLite file; safe across processes (the update is one transaction).

    :param path: the database file (created with its table on first use).
    :param namespace: keeps counters of several senders apart in one file.
    """

    def __init__(self, path: str | os.PathLike[str], namespace: str = "default") -> None:
        self._path = os.fspath(path)
        self._namespace = namespace
        with self._connect() as connection:
            connection.execute(
                "CREATE TABLE IF NOT EXISTS x12_control_numbers ("
                " namespace TEXT NOT NULL, kind TEXT NOT NULL, last_value INTEGER NOT NULL,"
                " PRIMARY KEY (namespace, kind))")

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self._path, timeout=30, isolation_level=None)
        return connection

    def next_number(self, kind: str) -> int:
        connection = self._connect()
        try:
            # BEGIN IMMEDIATE takes the write lock first: two processes never read one value.
            connection.execute("BEGIN IMMEDIATE")
            row = connection.execute(
                "SELECT last_value FROM x12_control_numbers WHERE namespace = ? AND kind = ?",
                (self._namespace, kind)).fetchone()
            last = row[0] if row else 0
            value = 1 if last >= MAX_CONTROL_NUMBER else last + 1
            connection.execute(
                "INSERT INTO x12_control_numbers (namespace, kind, last_value) VALUES (?, ?, ?) "
                "ON CONFLICT (namespace, kind) DO UPDATE SET last_value = excluded.last_value",
                (self._namespace, kind, value))
            connection.execute("COMMIT")
            return value
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        finally:
            connection.close()
