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
writers for the whole transaction. A unique ``chain_seq`` makes a fork impossible even if both
failed.

Until then a transaction's events are plain column values in ``session.info`` (no ORM objects:
recording one costs no flush). At commit their ids are drawn (PostgreSQL's sequence, or on SQLite
the rowids after the largest, under the write lock), their hashes computed in memory from the
head, and all of them inserted by one executemany: a commit of N events sends 2 statements on
SQLite (head and ids; insert) and 3 on PostgreSQL (lock; ids and head; insert). A read of the audit
table through the session inside the transaction first inserts the events recorded so far,
unsealed (:func:`flush_pending`); the commit then seals those by one executemany UPDATE.

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
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Table,
    TextClause,
    bindparam,
    event,
    func,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.sql.util import find_tables

from medbill_core.errors import MedbillError
from medbill_core.storage.database import READ_ONLY_SESSION
from medbill_core.storage.schema import AuditEventRow, as_utc
from medbill_core.storage.transaction_buffer import (
    TransactionBuffer,
    buffer_of,
    follow_savepoints,
)

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
    utc = as_utc(moment).astimezone(UTC)
    if utc.year < 1000:  # strftime's %Y does not pad such years, isoformat does
        return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    # isoformat is strftime's text for every other year, at a fraction of its cost
    return utc.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


#: a text as a JSON string, ASCII only (what :func:`canonical_json` writes for it)
_json_text = json.encoder.encode_basestring_ascii


def _json_value(value: Any) -> str:
    """:func:`canonical_json` of one value; texts, whole numbers, booleans, nulls and the
    lists and text-keyed mappings of them (nearly every row) without the encoder's set-up."""
    kind = type(value)
    if kind is str:
        return _json_text(value)
    if value is None:
        return "null"
    if kind is int:
        return int.__repr__(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is dict and all(type(key) is str for key in value):
        return "{" + ",".join(f"{_json_text(key)}:{_json_value(value[key])}"
                              for key in sorted(value)) + "}"
    if kind is list:
        return "[" + ",".join(_json_value(item) for item in value) + "]"
    return canonical_json(value)


def row_content(row: Mapping[str, Any]) -> str:
    """The canonical content of an audit row (a mapping of its column values): the
    :func:`canonical_json` of its content, written out in the sorted key order (every commit
    hashes each of its events: a dictionary sorted and encoded per event cost more)."""
    return (f'{{"action":{_json_value(row["action"])},"actor":{_json_value(row["actor"])},'
            f'"at":{_json_text(canonical_time(row["at"]))},'
            f'"details":{_json_value(row["details"])},'
            f'"entity_id":{_json_value(row["entity_id"])},'
            f'"entity_type":{_json_value(row["entity_type"])},"id":{_json_value(row["id"])},'
            f'"note":{_json_value(row["note"])},"os_user":{_json_value(row["os_user"])},'
            f'"seq":{_json_value(row["chain_seq"])}}}')


def _reference_row_content(row: Mapping[str, Any]) -> str:
    """:func:`row_content` as the dictionary it encodes (tests compare the two)."""
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
_EVENTS = cast(Table, AuditEventRow.__table__)
_EVENT_MAPPER = inspect(AuditEventRow)


class _Pending(TransactionBuffer[tuple[int, int]]):
    """The audit events of one session's transaction, in the order they were recorded, as the
    column values they will be inserted with: no ORM objects, so recording costs no flush.

    ``events[:inserted]`` are already in the database, unsealed (``chain_seq`` NULL) with their
    ``id`` set: something read the audit table inside the transaction (:func:`flush_pending`).
    The rest are inserted, sealed, by one executemany when the transaction commits."""

    __slots__ = ("events", "inserted")

    def __init__(self) -> None:
        super().__init__()
        self.events: list[dict[str, Any]] = []
        self.inserted = 0

    def mark(self) -> tuple[int, int]:
        return len(self.events), self.inserted

    def restore(self, mark: tuple[int, int]) -> None:
        # the savepoint's events are gone, and so are the rows a read inserted inside it
        recorded, inserted = mark
        del self.events[recorded:]
        for values in self.events[inserted:]:
            values.pop("id", None)
        self.inserted = min(self.inserted, inserted)


def _pending(session: Session) -> _Pending:
    return buffer_of(session, PENDING_KEY, _Pending)


follow_savepoints(PENDING_KEY, _Pending)


def add_pending(session: Session, values: dict[str, Any]) -> None:
    """Keep one event's column values (``at``, ``actor``, ``os_user``, ``action``,
    ``entity_type``, ``entity_id``, ``details``, ``note``) for the session's transaction; it is
    inserted and sealed into the chain when the transaction commits."""
    _pending(session).events.append(values)


def add_pending_many(session: Session, events: list[dict[str, Any]]) -> None:
    """:func:`add_pending` for many events (in order)."""
    _pending(session).events.extend(events)


_LAST_SEQ = select(func.max(_EVENTS.c.chain_seq)).scalar_subquery()
#: the chain's head and the largest id (either may be NULL: no rows)
_HEAD_AND_LAST_ID = select(
    _LAST_SEQ, select(_EVENTS.c.row_hash).where(_EVENTS.c.chain_seq == _LAST_SEQ).scalar_subquery(),
    select(func.max(_EVENTS.c.id)).scalar_subquery())
_LAST_ID = select(func.max(_EVENTS.c.id))
#: ``count`` ids drawn from the column's own sequence (PostgreSQL), with the head beside each
_PG_IDS_AND_HEAD = text(
    "SELECT nextval(pg_get_serial_sequence('audit_events', 'id')), "
    "(SELECT max(chain_seq) FROM audit_events), "
    "(SELECT row_hash FROM audit_events "
    " WHERE chain_seq = (SELECT max(chain_seq) FROM audit_events)) "
    "FROM generate_series(1, :count)")
_LOCK = text("SELECT pg_advisory_xact_lock(:key)")
_INSERT = insert(_EVENTS)
_SEAL = update(_EVENTS).where(_EVENTS.c.id == bindparam("sealed_id")).values(
    chain_seq=bindparam("sealed_seq"), prev_hash=bindparam("sealed_prev"),
    row_hash=bindparam("sealed_hash"))


def _new_ids(connection: Connection, count: int) -> list[int]:
    """Ids for ``count`` new audit rows: PostgreSQL's own sequence (what the column's default
    would have drawn); on SQLite the next rowids (the transaction holds the write lock from its
    ``BEGIN IMMEDIATE``, so nobody else inserts meanwhile)."""
    if connection.dialect.name == "postgresql":
        return sorted(row[0] for row in connection.execute(_PG_IDS_AND_HEAD, {"count": count}))
    last = connection.execute(_LAST_ID).scalar() or 0
    return list(range(last + 1, last + 1 + count))


def flush_pending(session: Session) -> None:
    """Insert the events recorded so far, not sealed yet, so that a read of the audit table
    inside this transaction sees them (sealing at commit then only sets their chain columns).
    Reads through the session call it themselves (:func:`_flush_before_audit_read`): an ORM
    select whose first entity is :class:`AuditEventRow` (``select(AuditEventRow...)``,
    ``select(func.count()).select_from(AuditEventRow)``, ``session.get``), a Core select of
    its table, a ``text()`` naming it. A read on the raw connection, or a join that starts
    from another entity, must call it first."""
    pending = session.info.get(PENDING_KEY)
    if pending is None or pending.inserted == len(pending.events):
        return
    if session.info.get(READ_ONLY_SESSION):
        raise MedbillError("internal error: a read-only transaction tried to write")
    connection = session.connection()
    fresh = pending.events[pending.inserted:]
    for values, new_id in zip(fresh, _new_ids(connection, len(fresh)), strict=True):
        values["id"] = new_id
    connection.execute(_INSERT, [
        {**values, "chain_seq": None, "prev_hash": None, "row_hash": None} for values in fresh])
    pending.inserted = len(pending.events)


@event.listens_for(Session, "do_orm_execute")
def _flush_before_audit_read(state: ORMExecuteState) -> None:
    pending = state.session.info.get(PENDING_KEY)
    if pending is None or pending.inserted == len(pending.events):
        return
    statement = state.statement
    if isinstance(statement, TextClause):
        reads = _EVENTS.name in statement.text
    elif not state.is_select:
        return
    elif state.is_orm_statement:  # select(AuditEventRow...), select_from(AuditEventRow), get()
        reads = state.bind_mapper is _EVENT_MAPPER
    elif isinstance(statement, ClauseElement):
        reads = any(getattr(table, "name", None) == _EVENTS.name
                    for table in find_tables(statement))
    else:
        reads = True  # a statement of a kind not seen before: flushing early is harmless
    if reads:
        flush_pending(state.session)


def _lock_chain(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(_LOCK, {"key": CHAIN_LOCK_KEY})


def _head_and_ids(connection: Connection, count: int) -> tuple[int, str, list[int]]:
    """The chain's head and ``count`` new ids, in one statement (under the chain lock; on
    PostgreSQL the statement's snapshot is taken after the lock was granted)."""
    if connection.dialect.name == "postgresql" and count:
        rows = connection.execute(_PG_IDS_AND_HEAD, {"count": count}).all()
        seq, prev = rows[0][1], rows[0][2]
        ids = sorted(row[0] for row in rows)
    else:
        seq, prev, last_id = connection.execute(_HEAD_AND_LAST_ID).one()
        first = (last_id or 0) + 1
        ids = list(range(first, first + count))
    if seq is None:
        return 0, GENESIS_HASH, ids
    return int(seq), str(prev), ids


@event.listens_for(Session, "before_commit")
def _seal_pending(session: Session) -> None:
    """Extend the chain with the audit events of the committing (outermost) transaction: the
    head is read under the chain lock, each event's hash computed in memory from it, and the
    events inserted by one executemany (those a read already inserted are updated)."""
    if session.in_nested_transaction():
        return  # a savepoint is released: its events are sealed with the outer transaction
    pending = session.info.get(PENDING_KEY)
    if pending is None or not pending.events:
        session.info.pop(PENDING_KEY, None)
        return
    session.flush()  # the ORM's own rows first: the chain lock is then held only briefly
    session.info.pop(PENDING_KEY, None)
    connection = session.connection()
    _lock_chain(connection)
    fresh = pending.events[pending.inserted:]
    seq, prev, ids = _head_and_ids(connection, len(fresh))
    for values, new_id in zip(fresh, ids, strict=True):
        values["id"] = new_id
    for values in pending.events:
        seq += 1
        values["chain_seq"] = seq
        values["prev_hash"] = prev
        values["row_hash"] = prev = link_hash(prev, row_content(values))
    if pending.inserted:
        connection.execute(_SEAL, [
            {"sealed_id": values["id"], "sealed_seq": values["chain_seq"],
             "sealed_prev": values["prev_hash"], "sealed_hash": values["row_hash"]}
            for values in pending.events[:pending.inserted]])
    if fresh:
        connection.execute(_INSERT, fresh)


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
