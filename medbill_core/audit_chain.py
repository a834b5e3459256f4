"""The audit trail's hash chain: a change to an audit row, or a row removed, shows.

Every audit row carries its position in the chain (``chain_seq``), the hash of the row before
it (``prev_hash``) and its own hash::

    row_hash = sha256(prev_hash + "\\n" + canonical JSON of the row's content)

where the content is the row's id, position, time (UTC, microseconds), actor, OS user, action,
entity, details and note. :func:`verify` recomputes the chain and names the first row where it
breaks.

Rows are sealed into the chain when their transaction commits (a ``before_commit`` hook), not
when they are recorded: the chain's head is then read and extended in a short critical section,
so two processes never extend the same head (a fork) and long transactions do not hold the
chain while they work. On PostgreSQL the critical section is a transaction-level advisory lock;
SQLite's ``BEGIN IMMEDIATE`` (see :mod:`medbill_core.storage.database`) already serialises
writers, and the pending rows are flushed before the head is read, so the write lock is held.
A unique ``chain_seq`` makes a fork impossible even if both failed.

What it does not prove: whoever can write the database can also recompute every hash after a
change, and can remove the newest rows unnoticed. Keep the head that ``medbill audit verify``
prints somewhere the database owner cannot write, and compare it later.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, inspect, select, text
from sqlalchemy.orm import Session

from medbill_core.storage.schema import AuditEventRow, as_utc

#: ``prev_hash`` of the first row.
GENESIS_HASH = "0" * 64
#: Key of the PostgreSQL advisory lock that serialises appends ("medaudit" in ASCII).
CHAIN_LOCK_KEY = int.from_bytes(b"medaudit", "big") & 0x7FFF_FFFF_FFFF_FFFF
#: ``session.info`` key of the audit rows recorded in the session's transaction, not sealed yet.
PENDING_KEY = "medbill.audit_pending"


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, ASCII only, no NaN: one text for one value."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False)


def canonical_time(moment: datetime) -> str:
    """UTC with microseconds; a naive time (SQLite drops the zone) is UTC as written."""
    return as_utc(moment).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def row_content(row: Mapping[str, Any]) -> str:
    """The canonical content of an audit row (a mapping of its column values)."""
    return canonical_json({
        "id": row["id"], "seq": row["chain_seq"], "at": canonical_time(row["at"]),
        "actor": row["actor"], "os_user": row["os_user"], "action": row["action"],
        "entity_type": row["entity_type"], "entity_id": row["entity_id"],
        "details": row["details"], "note": row["note"],
    })


def link_hash(prev_hash: str, content: str) -> str:
    """The hash of a row whose predecessor's hash is ``prev_hash``."""
    return hashlib.sha256(f"{prev_hash}\n{content}".encode()).hexdigest()


_COLUMNS = ("id", "chain_seq", "at", "actor", "os_user", "action", "entity_type", "entity_id",
            "details", "note")


def _values(row: AuditEventRow) -> dict[str, Any]:
    return {name: getattr(row, name) for name in _COLUMNS}


def add_pending(session: Session, row: AuditEventRow) -> None:
    """Add ``row`` to the session; it is sealed into the chain when the transaction commits."""
    session.add(row)
    session.info.setdefault(PENDING_KEY, []).append(row)


def _lock_chain(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK_KEY})


def _head(session: Session) -> tuple[int, str]:
    head = session.execute(
        select(AuditEventRow.chain_seq, AuditEventRow.row_hash)
        .where(AuditEventRow.chain_seq.is_not(None))
        .order_by(AuditEventRow.chain_seq.desc()).limit(1)).first()
    if head is None:
        return 0, GENESIS_HASH
    return int(head.chain_seq), str(head.row_hash)


@event.listens_for(Session, "before_commit")
def _seal_pending(session: Session) -> None:
    """Extend the chain with the audit rows of the committing (outermost) transaction."""
    if session.in_nested_transaction() or not session.info.get(PENDING_KEY):
        return  # a savepoint is released: its rows are sealed with the outer transaction
    pending = session.info.pop(PENDING_KEY)
    # rows of a savepoint that rolled back were expunged: they are not part of the commit
    rows = [row for row in pending if inspect(row).session is session
            and not inspect(row).deleted and not inspect(row).was_deleted]
    if not rows:
        return
    session.flush()  # ids for the rows (and on SQLite the write lock, so the head is current)
    _lock_chain(session)
    seq, prev = _head(session)
    for row in rows:
        seq += 1
        row.chain_seq = seq
        row.prev_hash = prev
        row.row_hash = prev = link_hash(prev, row_content(_values(row)))
    session.flush()


@event.listens_for(Session, "after_soft_rollback")
def _forget_pending(session: Session, previous_transaction: Any) -> None:
    if not session.in_transaction():
        session.info.pop(PENDING_KEY, None)


@dataclass(frozen=True)
class ChainBreak:
    """The first row where the chain does not hold, and why."""

    row_id: int
    position: int | None
    problem: str


@dataclass(frozen=True)
class ChainReport:
    rows: int
    head_position: int
    head_hash: str
    broken: ChainBreak | None
    #: Where the head recorded earlier (``expect_head``) was found; ``None``: not asked.
    expected_at: int | None = None
    #: The head recorded earlier is not in the chain: rebuilt, or cut after it was recorded.
    expected_missing: bool = False

    @property
    def intact(self) -> bool:
        return self.broken is None and not self.expected_missing


def verify(session: Session, *, expect_head: str | None = None,
           batch: int = 1000) -> ChainReport:
    """Recompute the chain row by row (streamed); stop at the first broken link.

    :param expect_head: a head hash printed by an earlier verification and kept elsewhere: it
        must still be in the chain (a chain rebuilt after a change, or cut, no longer has it).
    """
    statement = (select(*[getattr(AuditEventRow, name) for name in _COLUMNS],
                        AuditEventRow.prev_hash, AuditEventRow.row_hash)
                 .order_by(AuditEventRow.chain_seq.is_(None), AuditEventRow.chain_seq,
                           AuditEventRow.id)
                 .execution_options(yield_per=batch))
    count, position, prev = 0, 0, GENESIS_HASH
    expected_at = 0 if expect_head == GENESIS_HASH else None
    for row in session.execute(statement):
        values = row._mapping
        found = _problem(values, position, prev)
        if found:
            return ChainReport(count, position, prev,
                               ChainBreak(values["id"], values["chain_seq"], found), expected_at)
        count, position, prev = count + 1, values["chain_seq"], values["row_hash"]
        if expect_head is not None and prev == expect_head:
            expected_at = position
    return ChainReport(count, position, prev, None, expected_at,
                       expect_head is not None and expected_at is None)


def _problem(values: Mapping[Any, Any], position: int, prev: str) -> str | None:
    # Mapping[Any, Any]: a row's RowMapping is keyed by name or by column
    seq = values["chain_seq"]
    if seq is None or values["row_hash"] is None:
        return "not sealed into the chain (written outside medbill)"
    if seq <= position:
        return f"chain position {seq} repeats or goes back (after {position})"
    if seq != position + 1:
        missing = seq - position - 1
        return (f"chain position {seq} follows {position}: {missing} row(s) before it "
                "were deleted")
    if values["prev_hash"] != prev:
        return ("does not link to the row before it (that row was deleted, or its hash "
                "rewritten)")
    if link_hash(prev, row_content(values)) != values["row_hash"]:
        return ("its content (time, actor, action, entity, details or note) was changed "
                "after it was written")
    return None
