"""The simulator's state in its own SQLite file: a restart loses nothing.

One connection, one lock: every service operation runs in one transaction under the lock, so a
submission is recorded together with everything it produced (acknowledgments, claims, feed
documents) or not at all, and two requests with the same idempotency key never both process.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from medbill_core.api import create_private, private_dir

SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    id TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    received_at TEXT NOT NULL,
    status TEXT NOT NULL,
    http_status INTEGER NOT NULL,
    response_json TEXT NOT NULL,
    UNIQUE (account, idempotency_key)
);
CREATE TABLE IF NOT EXISTS interchanges (
    account TEXT NOT NULL,
    sender_id TEXT NOT NULL,
    control_number TEXT NOT NULL,
    submission_id TEXT NOT NULL,
    PRIMARY KEY (account, sender_id, control_number)
);
CREATE TABLE IF NOT EXISTS claims (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account TEXT NOT NULL,
    submission_id TEXT NOT NULL,
    payer_id TEXT NOT NULL,
    claim_number TEXT NOT NULL,
    payer_claim_number TEXT NOT NULL UNIQUE,
    member_id TEXT,
    billing_npi TEXT NOT NULL,
    status TEXT NOT NULL,
    total_charge TEXT NOT NULL,
    frequency TEXT NOT NULL,
    original_reference TEXT,
    fingerprint TEXT,
    received_date TEXT NOT NULL,
    adjudicated_at REAL,
    payment_json TEXT,
    reversal_json TEXT,
    payee_json TEXT,
    remittance_id TEXT,
    reasons_json TEXT
);
CREATE INDEX IF NOT EXISTS claims_lookup ON claims (account, payer_id, claim_number);
CREATE INDEX IF NOT EXISTS claims_status ON claims (status);
CREATE INDEX IF NOT EXISTS claims_fingerprint ON claims (payer_id, fingerprint);
CREATE TABLE IF NOT EXISTS accumulators (
    payer_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    year INTEGER NOT NULL,
    deductible_met TEXT NOT NULL,
    out_of_pocket_met TEXT NOT NULL,
    PRIMARY KEY (payer_id, member_id, year)
);
CREATE TABLE IF NOT EXISTS documents (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id TEXT NOT NULL UNIQUE,
    account TEXT NOT NULL,
    kind TEXT NOT NULL,
    submission_id TEXT,
    content TEXT NOT NULL,
    created_at TEXT NOT NULL,
    acknowledged_at TEXT,
    deliveries INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS documents_feed ON documents (account, acknowledged_at, seq);
CREATE TABLE IF NOT EXISTS remittances (
    id TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    payer_id TEXT NOT NULL,
    payee_npi TEXT NOT NULL,
    trace_number TEXT NOT NULL,
    amount TEXT NOT NULL,
    claim_count INTEGER NOT NULL,
    document_id TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS request_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    request_id TEXT NOT NULL,
    account TEXT,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    status INTEGER NOT NULL,
    request_bytes INTEGER NOT NULL,
    response_bytes INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    fault TEXT
);
"""


class Store:
    """The SQLite file behind the simulator. Use :meth:`transaction` for every access."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        if self.path != ":memory:":
            # the simulated payers' claims carry (synthetic) PHI: owner-only like medbill's own
            create_private(private_dir(Path(self.path).parent) / Path(self.path).name)
        self._connection = sqlite3.connect(self.path, check_same_thread=False,
                                           isolation_level=None, timeout=30)
        self._connection.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        with self._lock:
            if self.path != ":memory:":
                self._connection.execute("PRAGMA journal_mode=WAL")
            self._connection.execute("PRAGMA synchronous=NORMAL")
            self._connection.executescript(SCHEMA)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """The connection inside BEGIN IMMEDIATE ... COMMIT (ROLLBACK on any exception)."""
        with self._lock:
            connection = self._connection
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def next_value(self, connection: sqlite3.Connection, name: str) -> int:
        """The next value of a named counter (inside the caller's transaction)."""
        row = connection.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
        value = (row["value"] if row else 0) + 1
        connection.execute("INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) "
                           "DO UPDATE SET value = excluded.value", (name, value))
        return value

    def next_values(self, connection: sqlite3.Connection, name: str, count: int) -> int:
        """The first of the next ``count`` values of a named counter, all taken at once (the
        same numbers ``count`` calls of :meth:`next_value` give)."""
        row = connection.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
        first = (row["value"] if row else 0) + 1
        if count > 0:
            connection.execute("INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT "
                               "(name) DO UPDATE SET value = excluded.value",
                               (name, first + count - 1))
        return first

    def log_request(self, *, at: str, request_id: str, account: str | None, method: str,
                    path: str, status: int, request_bytes: int, response_bytes: int,
                    duration_ms: int, fault: str | None) -> None:
        with self.transaction() as connection:
            connection.execute(
                "INSERT INTO request_log (at, request_id, account, method, path, status, "
                "request_bytes, response_bytes, duration_ms, fault) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (at, request_id, account, method, path, status, request_bytes, response_bytes,
                 duration_ms, fault))

    def close(self) -> None:
        with self._lock:
            self._connection.close()


class StoreControlNumbers:
    """ISA13/GS06 numbers from the store's counters, inside the current transaction."""

    def __init__(self, store: Store, connection: sqlite3.Connection) -> None:
        self._store = store
        self._connection = connection

    def next_number(self, kind: str) -> int:
        value = self._store.next_value(self._connection, f"x12:{kind}")
        return (value - 1) % 999_999_999 + 1
