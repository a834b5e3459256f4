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
#: The most numbers one reservation of :class:`SQLiteControlNumbers` may take.
MAX_BLOCK_SIZE = 10_000


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
    """A counter kept in a SQLite file; safe across processes (each reservation is one
    transaction that takes the write lock first).

    Numbers are reserved ``block_size`` at a time and handed out from memory: a reservation is an
    fsync'd commit (milliseconds), so reserving one number per file made the counter the slowest
    step of a large submission run. The price is gaps: numbers reserved by a process that ends
    before using them are never used. X12 asks control numbers to be unique per sender, not
    consecutive, so a gap is harmless; a clearinghouse that wants consecutive numbers is served
    with ``block_size=1``.

    :param path: the database file (created with its table on first use).
    :param namespace: keeps counters of several senders apart in one file.
    :param block_size: how many numbers one reservation takes (1 to 10,000).
    """

    def __init__(self, path: str | os.PathLike[str], namespace: str = "default", *,
                 block_size: int = 1) -> None:
        if not 1 <= block_size <= MAX_BLOCK_SIZE:
            raise ValueError(f"block_size must be 1 to {MAX_BLOCK_SIZE}")
        self._path = os.fspath(path)
        self._namespace = namespace
        self._block_size = block_size
        #: per kind: the next number to hand out and the last one reserved
        self._reserved: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()
        with self._connect() as connection:
            connection.execute(
                "CREATE TABLE IF NOT EXISTS x12_control_numbers ("
                " namespace TEXT NOT NULL, kind TEXT NOT NULL, last_value INTEGER NOT NULL,"
                " PRIMARY KEY (namespace, kind))")

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self._path, timeout=30, isolation_level=None)
        return connection

    def next_number(self, kind: str) -> int:
        with self._lock:
            next_value, last_reserved = self._reserved.get(kind, (1, 0))
            if next_value > last_reserved:
                next_value, last_reserved = self._reserve(kind)
            self._reserved[kind] = (next_value + 1, last_reserved)
            return next_value

    def _reserve(self, kind: str) -> tuple[int, int]:
        """Take the next block of ``kind`` in the file: ``(first, last)`` of the block."""
        connection = self._connect()
        try:
            # BEGIN IMMEDIATE takes the write lock first: two processes never read one value.
            connection.execute("BEGIN IMMEDIATE")
            row = connection.execute(
                "SELECT last_value FROM x12_control_numbers WHERE namespace = ? AND kind = ?",
                (self._namespace, kind)).fetchone()
            last = row[0] if row else 0
            first = 1 if last >= MAX_CONTROL_NUMBER else last + 1
            # a block never runs past the largest value: numbering wraps to 1 after it
            end = min(first + self._block_size - 1, MAX_CONTROL_NUMBER)
            connection.execute(
                "INSERT INTO x12_control_numbers (namespace, kind, last_value) VALUES (?, ?, ?) "
                "ON CONFLICT (namespace, kind) DO UPDATE SET last_value = excluded.last_value",
                (self._namespace, kind, end))
            connection.execute("COMMIT")
            return first, end
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        finally:
            connection.close()
