"""Values a session's transaction keeps for its commit, in step with its savepoints.

The audit trail (:mod:`medbill_core.audit_chain`) and the webhook outbox
(:mod:`medbill_core.storage.webhook_outbox`) record plain values in ``session.info`` while a
transaction is open and insert them when it commits (no ORM object, no flush per record). A
savepoint that rolls back must take what was recorded inside it with it, and a transaction
that rolls back takes everything. This module keeps that bookkeeping once: a buffer says how
to take a mark (when a savepoint begins) and how to go back to one (when it rolls back);
:func:`follow_savepoints` registers the session listeners that call them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar, cast

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

Mark = TypeVar("Mark")
Buffer = TypeVar("Buffer", bound="TransactionBuffer")  # type: ignore[type-arg]


class TransactionBuffer(Generic[Mark]):
    """What one session's transaction recorded; subclasses hold the values themselves."""

    __slots__ = ("closed", "savepoints")

    def __init__(self) -> None:
        #: the mark of each open savepoint (only open ones: an import with a savepoint per
        #: row holds a handful, not all)
        self.savepoints: dict[SessionTransaction, Mark] = {}
        #: the savepoint that ended last and its mark: SQLAlchemy reports the end of a
        #: savepoint before it reports that the end was a rollback
        self.closed: tuple[SessionTransaction, Mark | None] | None = None

    def mark(self) -> Mark:
        """Where the buffer stands now (a savepoint begins)."""
        raise NotImplementedError

    def restore(self, mark: Mark) -> None:
        """Go back to ``mark`` (the savepoint that took it rolled back)."""
        raise NotImplementedError


def buffer_of(session: Session, key: str, factory: Callable[[], Buffer]) -> Buffer:
    """The session's buffer under ``session.info[key]``, made by ``factory`` when missing."""
    buffer = session.info.get(key)
    if buffer is None:
        buffer = session.info[key] = factory()
    return cast(Buffer, buffer)


def follow_savepoints(key: str, factory: Callable[[], TransactionBuffer[Mark]]) -> None:
    """Keep the buffers under ``session.info[key]`` in step with savepoints and rollbacks.

    Call once per key, at import of the module that owns the buffer.
    """

    def mark_savepoint(session: Session, transaction: SessionTransaction) -> None:
        if transaction.nested:
            buffer = buffer_of(session, key, factory)
            buffer.savepoints[transaction] = buffer.mark()

    def close_savepoint(session: Session, transaction: SessionTransaction) -> None:
        # a savepoint ends by release or by rollback; a rollback then calls forget
        if transaction.nested:
            buffer = session.info.get(key)
            if buffer is not None:
                buffer.closed = (transaction, buffer.savepoints.pop(transaction, None))

    def forget(session: Session, previous_transaction: SessionTransaction) -> None:
        buffer = session.info.get(key)
        if buffer is None:
            return
        if not session.in_transaction():  # the whole transaction rolled back
            session.info.pop(key, None)
            return
        if buffer.closed is None or buffer.closed[0] is not previous_transaction:
            return
        mark, buffer.closed = buffer.closed[1], None
        if mark is not None:
            buffer.restore(mark)

    event.listen(Session, "after_transaction_create", mark_savepoint)
    event.listen(Session, "after_transaction_end", close_savepoint)
    event.listen(Session, "after_soft_rollback", forget)
