"""Audit events are written in bulk (issue 14): kept as column values until the commit, then
sealed and inserted by one executemany; reads inside the transaction still see them; batch
services can turn autoflush off for a block or a whole unit of work."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import pytest
from sqlalchemy import func, select, text

from medbill_core import audit
from medbill_core.audit_chain import verify
from medbill_core.errors import MedbillError
from medbill_core.storage.schema import AuditEventRow
from medbill_core.testing.sql import sent_statements


def counted(app: Any) -> AbstractContextManager[list[str]]:
    """The SQL statements the app's engine sends inside the block (an executemany is one)."""
    return sent_statements(app.database.engine)


def record(session: Any, action: str, entity_id: object, **details: Any) -> None:
    audit.record(session, actor="clerk", action=action, entity_type="t", entity_id=entity_id,
                 details=details or None)


def intact(app: Any, rows: int) -> None:
    with app.database.reader() as session:
        report = verify(session)
    assert (report.rows, report.intact, report.head_position) == (rows, True, rows)


def test_five_hundred_events_commit_in_a_few_statements(medbill_app: Any) -> None:
    with medbill_app.unit_of_work() as work:  # a first transaction: the chain has a head
        record(work.session, "first", 0)
    with counted(medbill_app) as statements, medbill_app.unit_of_work() as work:
        for n in range(500):
            record(work.session, "bulk", n, n=n, codes=["A1", "B2"])
    # SQLite: BEGIN IMMEDIATE, head + ids, one executemany; PostgreSQL: lock, ids + head, insert
    assert len(statements) <= 3, statements
    assert sum("INSERT INTO audit_events" in s for s in statements) == 1
    intact(medbill_app, 501)
    with medbill_app.database.reader() as session:
        rows = session.scalars(select(AuditEventRow).order_by(AuditEventRow.chain_seq)).all()
    assert [row.entity_id for row in rows] == ["0", *[str(n) for n in range(500)]]
    assert [row.id for row in rows] == sorted(row.id for row in rows)  # ids follow the chain
    assert rows[7].details == {"n": 6, "codes": ["A1", "B2"]} and rows[0].details is None


def test_record_many_is_record_for_a_batch(medbill_app: Any) -> None:
    with counted(medbill_app) as statements, medbill_app.unit_of_work() as work:
        count = audit.record_many(work.session, [
            {"action": "claim.create", "entity_type": "claim", "entity_id": 1,
             "details": {"b": 2, "a": [1]}},
            {"action": "claim.scrub", "entity_type": "claim", "entity_id": "C-2"},
            {"action": "claim.submit", "entity_type": "claim", "entity_id": 3,
             "actor": "sender", "details": {}},
        ], actor="clerk")
        audit.record(work.session, actor="clerk", action="after", entity_type="t",
                     entity_id=4)
    assert count == 3
    assert len(statements) <= 3, statements
    with medbill_app.unit_of_work(read_only=True) as work:
        events = list(reversed(audit.query(work.session)))
    assert [(e.actor, e.action, e.entity_id, e.details) for e in events] == [
        ("clerk", "claim.create", "1", {"a": [1], "b": 2}),
        ("clerk", "claim.scrub", "C-2", None),
        ("sender", "claim.submit", "3", None),
        ("clerk", "after", "4", None)]
    assert {e.os_user for e in events} == {audit.os_user()}
    intact(medbill_app, 4)
    with pytest.raises(MedbillError, match="without an actor"), \
            medbill_app.unit_of_work() as work:
        audit.record_many(work.session, [{"action": "x", "entity_type": "t", "entity_id": 1}])


def test_reads_inside_the_transaction_see_its_events(medbill_app: Any) -> None:
    with medbill_app.unit_of_work() as work:
        record(work.session, "seen", 1)
        assert [e.action for e in audit.query(work.session)] == ["seen"]
        record(work.session, "seen", 2)
        session = work.session
        # any read of the table through the session, not only audit.query
        assert session.scalar(select(func.count()).select_from(AuditEventRow)) == 2
        record(work.session, "seen", 3)
        assert session.scalars(select(AuditEventRow.entity_id)
                               .where(AuditEventRow.action == "seen")).all() == ["1", "2", "3"]
        record(work.session, "unseen.yet", 4)
        first = session.scalars(select(AuditEventRow).order_by(AuditEventRow.id)).first()
        assert first is not None and session.get(AuditEventRow, first.id) is first
        assert first.chain_seq is None  # inserted early, sealed at commit
        record(work.session, "after.reads", 5)
        table = AuditEventRow.__table__
        assert session.execute(select(func.count()).select_from(table)).scalar() == 5
        record(work.session, "core.read", 6)
        assert session.execute(text("SELECT count(*) FROM audit_events")).scalar() == 6
        record(work.session, "last", 7)
    intact(medbill_app, 7)
    with medbill_app.unit_of_work(read_only=True) as work:
        events = list(reversed(audit.query(work.session)))
    assert [e.entity_id for e in events] == ["1", "2", "3", "4", "5", "6", "7"]


def test_a_read_between_commits_sends_one_insert_and_one_update(medbill_app: Any) -> None:
    with counted(medbill_app) as statements, medbill_app.unit_of_work() as work:
        for n in range(50):
            record(work.session, "early", n)
        audit.query(work.session, limit=1)
        for n in range(50):
            record(work.session, "late", n)
    assert sum(s.startswith("INSERT INTO audit_events") for s in statements) == 2
    assert sum(s.startswith("UPDATE audit_events") for s in statements) == 1
    intact(medbill_app, 100)


def test_savepoints_keep_or_drop_their_events(medbill_app: Any) -> None:
    with medbill_app.unit_of_work() as work:
        session = work.session
        record(session, "kept.before", 1)
        savepoint = session.begin_nested()  # released: its events stay
        record(session, "kept.released", 2)
        savepoint.commit()
        savepoint = session.begin_nested()  # rolled back after a read inserted rows in it
        record(session, "dropped", 3)
        assert len(audit.query(session)) == 3
        record(session, "dropped.too", 4)
        savepoint.rollback()
        record(session, "kept.after", 5)
        outer = session.begin_nested()  # nested savepoints: the outer one rolls back
        record(session, "dropped.outer", 6)
        inner = session.begin_nested()
        record(session, "dropped.inner", 7)
        inner.commit()
        outer.rollback()
        assert [e.action for e in audit.query(session)] == [
            "kept.after", "kept.released", "kept.before"]
        record(session, "kept.last", 8)
    with medbill_app.unit_of_work(read_only=True) as work:
        actions = [e.action for e in reversed(audit.query(work.session))]
    assert actions == ["kept.before", "kept.released", "kept.after", "kept.last"]
    intact(medbill_app, 4)


def test_a_failed_transaction_leaves_nothing(medbill_app: Any) -> None:
    with pytest.raises(RuntimeError), medbill_app.unit_of_work() as work:
        record(work.session, "failed", 1)
        audit.query(work.session)  # inserted, unsealed, then rolled back
        raise RuntimeError("the change failed")
    with medbill_app.unit_of_work() as work:
        record(work.session, "next", 2)
    with medbill_app.unit_of_work(read_only=True) as work:
        assert [e.action for e in audit.query(work.session)] == ["next"]
    intact(medbill_app, 1)


def test_a_reader_refuses_to_write_events(medbill_app: Any) -> None:
    with pytest.raises(MedbillError, match="read-only"), \
            medbill_app.unit_of_work(read_only=True) as work:
        record(work.session, "sneaky", 1)
        audit.query(work.session)
    intact(medbill_app, 0)


def test_batch_blocks_and_units_of_work_without_autoflush(medbill_app: Any) -> None:
    with medbill_app.unit_of_work() as work:
        assert work.session.autoflush
        with work.batch() as session:
            assert session is work.session and not session.autoflush
            record(session, "in.batch", 1)
            assert len(audit.query(session)) == 1  # audit reads still see their events
        assert work.session.autoflush
    with medbill_app.unit_of_work(autoflush=False) as work:
        assert not work.session.autoflush
        record(work.session, "no.autoflush", 2)
    intact(medbill_app, 2)
