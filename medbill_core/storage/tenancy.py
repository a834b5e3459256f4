"""Tenancy: every practice's rows are seen and written only in that practice's units of work.

One installation serves many practices. A table whose rows belong to one practice mixes in
:class:`PracticeScoped` (a ``practice_id`` column). Scoping happens here, once, at the session
level, not per query or per endpoint:

* **reads, updates, deletes**: a unit of work acting in a practice marks its session
  (:func:`scoped`); every ORM statement the session executes then gets the criterion
  ``practice_id = :practice`` on every scoped table it touches -- in joins, subqueries and
  relationship loads too (SQLAlchemy's ``with_loader_criteria``, the documented pattern for
  multi-tenant filtering). On SQLite it is written ``practice_id + 0 = :practice``, so that
  the planner never reads a whole practice by its index (see
  :func:`_only_the_practice_on_sqlite`). A query for another practice's claim by its id
  finds nothing, so the service raises NotFound: the caller learns nothing about other
  tenants.
* **inserts**: the column's default is the practice of the unit of work running in this
  context (:func:`acting_in`), for ORM objects and Core executemany alike, so no service sets
  it by hand and none can forget it.
* **unique values**: a value a practice chooses, or one derived from what it receives (a claim
  number, an account number, a received document's id, what an 835 posts under its keys:
  postings, answers, denials, findings, the register's remittances, exceptions and PLBs), is
  unique per practice: its constraint holds ``practice_id`` too
  (migrations 0023, 0043; in 0043's last, so that a look-up by the value still reads the
  constraint's index on SQLite), and another practice's use of the value never refuses, nor
  reveals, anything.

A unit of work without a practice (the installation's own work: migrations, the audit chain's
verification) is not filtered, and inserting a practice's row there is an error rather than
a row that belongs to no one.

Statements on a ``Table`` (Core, not ORM entities) are not filtered: the services use them
only for rows whose ids came from a scoped read (updates by id), and for installation-wide
tables (the audit chain, the webhook outbox).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, ClassVar

from sqlalchemy import ForeignKey, event
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    Session,
    declared_attr,
    mapped_column,
    with_loader_criteria,
)

from medbill_core.errors import ConfigurationError

#: ``session.info`` key: the practice whose rows the session sees
SCOPE_KEY = "medbill_practice_id"

_acting_practice: ContextVar[int | None] = ContextVar("medbill_acting_practice", default=None)


def acting_practice_id() -> int | None:
    """The practice the unit of work running in this context acts in (None: the
    installation's own work)."""
    return _acting_practice.get()


def new_row_practice_id() -> int:
    """Column default of ``practice_id``: the acting practice.

    :raises ConfigurationError: no practice acts (a practice's record cannot be created by
        the installation's own work).
    """
    practice_id = _acting_practice.get()
    if practice_id is None:
        raise ConfigurationError("no practice is chosen for this change: set [medbill] "
                                 "practice_code (or MEDBILL_PRACTICE_CODE)")
    return practice_id


@contextmanager
def acting_in(practice_id: int | None) -> Iterator[None]:
    """Rows inserted in this context belong to ``practice_id``."""
    token = _acting_practice.set(practice_id)
    try:
        yield
    finally:
        _acting_practice.reset(token)


def scoped(session: Session, practice_id: int | None) -> None:
    """Let ``session`` see only ``practice_id``'s rows (None: every practice's)."""
    if practice_id is None:
        session.info.pop(SCOPE_KEY, None)
    else:
        session.info[SCOPE_KEY] = practice_id


def scope_of(session: Session) -> int | None:
    return session.info.get(SCOPE_KEY)


class PracticeScoped:
    """Mixin of a table whose rows belong to one practice (see the module's documentation).

    The column is nullable in the schema only because SQLite adds a column with a foreign key
    in place only when it defaults to NULL (a table rebuild would have to drop tables the
    ledger refers to); every insert sets it (:func:`new_row_practice_id` refuses otherwise).
    """

    #: False for a table with an index of its own that leads with ``practice_id`` (it serves
    #: whatever the index on the column alone would), or whose rows are never read by the
    #: practice alone (a large table then keeps no index that no query reads)
    practice_index_alone: ClassVar[bool] = True

    @declared_attr
    def practice_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("practices.id"), nullable=True,
                             index=cls.practice_index_alone, default=new_row_practice_id)


def _scoped_practice(state: ORMExecuteState) -> int | None:
    """The practice whose rows ``state``'s statement may touch (None: it is not filtered)."""
    practice_id = state.session.info.get(SCOPE_KEY)
    if practice_id is None:
        return None
    if not (state.is_select or state.is_update or state.is_delete):
        return None
    if state.is_column_load or state.is_relationship_load:
        return None  # the criteria travel with the statement that loaded the parent
    return practice_id  # type: ignore[no-any-return]


def _only_the_practice(state: ORMExecuteState) -> None:
    practice_id = _scoped_practice(state)
    if practice_id is not None:
        state.statement = state.statement.options(with_loader_criteria(
            PracticeScoped, lambda cls: cls.practice_id == practice_id, include_aliases=True))


def _only_the_practice_on_sqlite(state: ORMExecuteState) -> None:
    """:func:`_only_the_practice` written ``practice_id + 0 = :practice``: the same rows, but
    a term SQLite's planner cannot read an index by. SQLite keeps no statistics unless told
    to, and without them it guesses that an equality narrows an index to a few rows: it read
    a whole practice through ``ix_*_practice_id`` rather than a batch of patients by
    ``patient_id IN (...)`` or claims by their unique number (a statement run read the
    practice's whole ledger for each batch of patients: its time grew with the database).
    Every such query has a better index; a practice-wide list reads the table in id order.
    PostgreSQL keeps statistics (autovacuum) and chooses for itself."""
    practice_id = _scoped_practice(state)
    if practice_id is not None:
        state.statement = state.statement.options(with_loader_criteria(
            PracticeScoped, lambda cls: cls.practice_id + 0 == practice_id,
            include_aliases=True))


def install(session_factory: Any, *, sqlite: bool = False) -> None:
    """Filter every session ``session_factory`` makes (:class:`~sqlalchemy.orm.sessionmaker`);
    ``sqlite``: its sessions use a SQLite database."""
    event.listen(session_factory, "do_orm_execute",
                 _only_the_practice_on_sqlite if sqlite else _only_the_practice)
