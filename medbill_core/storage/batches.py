"""What the batch services share: ``IN (...)`` lists in chunks, rows the unit of work already
holds, and rows written by Core statements beside the ORM's own unit of work.

The batch methods (``ClaimService.create_many``, ``PatientService.register_many`` ...) insert
and update with Core executemany, then put the rows into the session so later look-ups in the
same transaction are identity-map hits. The ORM undoes on rollback only what it flushed
itself; :func:`expunge_on_rollback` and :func:`expire_on_rollback` tell it about the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.orm.util import identity_key

#: Most ids, numbers or keys one ``IN (...)`` list of a batch query holds: far below any
#: database's bound-parameter limit, small enough for the planner to use an index per list.
IN_LIST = 500

_T = TypeVar("_T")
_R = TypeVar("_R")

#: ``session.info`` keys: rows inserted by statements (gone after a rollback) and rows
#: updated by statements (their attributes set to what the database now holds)
_INSERTED = "medbill.batch_inserted"
_UPDATED = "medbill.batch_written"


def unique(items: Iterable[_T]) -> list[_T]:
    """``items`` without repeats, in first-seen order."""
    return list(dict.fromkeys(items))


def chunks(items: Sequence[_T], size: int = IN_LIST) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def held_or_read(session: Session, model: type[_R], column: InstrumentedAttribute[Any],
                 keys: Iterable[Any]) -> dict[Any, _R]:
    """Rows of ``model`` by ``column`` (its primary key): those the session holds unexpired
    as they are, the rest read with one query per :data:`IN_LIST` keys. Missing keys are
    simply absent from the answer."""
    found: dict[Any, _R] = {}
    missing = []
    for key in unique(keys):
        row = session.identity_map.get(identity_key(model, key))
        if isinstance(row, model) and not inspect(row).expired:
            found[key] = row
        else:
            missing.append(key)
    for chunk in chunks(missing):
        for key, row in session.execute(select(column, model).where(column.in_(chunk))):
            found[key] = row
    return found


def expunge_on_rollback(session: Session, rows: Iterable[object]) -> None:
    """Rows a batch method inserted by statements and put into ``session``: a rollback (of a
    savepoint too) expunges them, as the ORM does with new rows it flushed itself (they may
    no longer exist; those that do are read again when asked for)."""
    session.info.setdefault(_INSERTED, []).extend(rows)


def expire_on_rollback(session: Session, rows: Iterable[object]) -> None:
    """Rows a batch method wrote by statements (attributes set to what the database then
    held): a rollback (of a savepoint too) expires them, as the ORM does with what it
    flushed itself (they may hold what was rolled back)."""
    session.info.setdefault(_UPDATED, []).extend(rows)


@event.listens_for(Session, "after_soft_rollback")
def _forget_written(session: Session, _transaction: object) -> None:
    for row in session.info.pop(_INSERTED, ()):
        if row in session:
            session.expunge(row)
    for row in session.info.pop(_UPDATED, ()):
        if row in session:
            session.expire(row)
