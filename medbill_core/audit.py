"""The audit trail: who created or changed which billing record, and when.

Audit events are written in the same transaction as the change they describe,
so there is never a change without its record (or a record without its change).
``details`` holds identifiers, field *names* and codes only, never PHI values.

Each event also records the OS account of the process (``os_user``), whatever actor name the
configuration gives, and is sealed into a hash chain when its transaction commits
(:mod:`medbill_core.audit_chain`; ``medbill audit verify``).
"""

from __future__ import annotations

import functools
import getpass
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from medbill_core.audit_chain import add_pending, add_pending_many, canonical_json, flush_pending
from medbill_core.errors import MedbillError
from medbill_core.storage import tenancy
from medbill_core.storage.batches import chunks
from medbill_core.storage.schema import AuditEventRow, utcnow

#: Longest actor / OS user name the audit table holds.
NAME_LENGTH = 80


@dataclass(frozen=True)
class AuditEvent:
    id: int
    at: datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    details: Mapping[str, Any] | None
    os_user: str | None = None


@functools.cache
def os_user() -> str:
    """The OS account running this process: the password database's name for the real user
    id (environment variables such as ``USER`` can say anything), else what
    :func:`getpass.getuser` finds, else ``uid:N``."""
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name[:NAME_LENGTH]
    except (ImportError, KeyError, AttributeError):
        pass
    try:
        return getpass.getuser()[:NAME_LENGTH] or "unknown"
    except (OSError, KeyError, ImportError):
        uid = getattr(os, "getuid", None)
        return f"uid:{uid()}" if uid else "unknown"


def record(session: Session, *, actor: str, action: str, entity_type: str,
           entity_id: object, details: Mapping[str, Any] | None = None) -> None:
    """Add an audit event to the current transaction (sealed into the chain at commit).

    ``details`` are stored as their canonical JSON reads back, so the hash computed now is
    the hash recomputed from the database later. The event is kept as plain column values in
    the session (no ORM object, nothing to flush): the transaction's events are inserted by one
    executemany when it commits, or earlier when something reads the audit table.
    """
    add_pending(session, _event(actor, action, entity_type, entity_id, details))


def record_many(session: Session, events: Iterable[Mapping[str, Any]], *,
                actor: str | None = None) -> int:
    """:func:`record` for a batch: each event a mapping of ``action``, ``entity_type``,
    ``entity_id``, optional ``details`` and ``actor`` (default: the ``actor`` argument).
    Returns the number of events recorded."""
    batch = []
    for item in events:
        who = item.get("actor", actor)
        if who is None:
            raise MedbillError("internal error: an audit event without an actor")
        batch.append(_event(who, item["action"], item["entity_type"], item["entity_id"],
                            item.get("details")))
    add_pending_many(session, batch)
    return len(batch)


def _event(actor: str, action: str, entity_type: str, entity_id: object,
           details: Mapping[str, Any] | None) -> dict[str, Any]:
    return {"at": utcnow(), "actor": actor[:NAME_LENGTH], "os_user": os_user(),
            "action": action, "entity_type": entity_type, "entity_id": str(entity_id),
            "details": stored_details(details) if details else None,
            "note": None}


#: the types whose values canonical JSON gives back as they are
_PLAIN = frozenset({str, int, bool, type(None)})


def stored_details(details: Mapping[str, Any]) -> dict[str, Any]:
    """``details`` as their canonical JSON reads back (keys sorted; tuples, enums, non-text
    keys as JSON has them). Texts, whole numbers, booleans and lists of them (the details of
    nearly every event) read back as they are: only the keys are sorted, without the round
    trip through JSON."""
    for key, value in details.items():
        kind = type(value)
        if type(key) is not str or (kind not in _PLAIN and not (
                kind is list and all(type(item) in _PLAIN for item in value))):
            loaded: dict[str, Any] = json.loads(canonical_json(dict(details)))
            return loaded
    return {key: list(value) if type(value) is list else value
            for key, value in sorted(details.items())}


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """Names of the fields whose values differ (values themselves are not kept)."""
    return sorted(key for key in set(before) | set(after) if before.get(key) != after.get(key))


def apply_changes(session: Session, row: object, before: Mapping[str, Any],
                  after: Mapping[str, Any], *, actor: str, action: str, entity_type: str,
                  entity_id: object) -> list[str]:
    """Set on ``row`` the fields whose values differ between ``before`` and ``after`` and,
    when any did, record ``action`` naming those fields (names only: values are PHI).
    Returns the changed field names; nothing is written or recorded when there are none."""
    changed = changed_fields(before, after)
    if changed:
        for key in changed:
            setattr(row, key, after[key])
        session.flush()
        record(session, actor=actor, action=action, entity_type=entity_type,
               entity_id=entity_id, details={"fields": changed})
    return changed


def query(session: Session, *, entity_type: str | None = None, entity_id: object | None = None,
          actor: str | None = None, action: str | None = None, since: datetime | None = None,
          limit: int = 100, before_id: int | None = None) -> Sequence[AuditEvent]:
    """Audit events, newest first, filtered by any of the given fields (those recorded in
    this transaction included); ``before_id``: only older events than that one (a keyset
    page). In a practice's unit of work, that practice's events only."""
    flush_pending(session)
    statement = select(AuditEventRow).order_by(AuditEventRow.id.desc()).limit(limit)
    practice_id = tenancy.scope_of(session)
    if practice_id is not None:  # a practice's auditor sees its own practice's trail
        statement = statement.where(AuditEventRow.practice_id == practice_id)
    if before_id is not None:
        statement = statement.where(AuditEventRow.id < before_id)
    if entity_type:
        statement = statement.where(AuditEventRow.entity_type == entity_type)
    if entity_id is not None:
        statement = statement.where(AuditEventRow.entity_id == str(entity_id))
    if actor:  # the recorded actor name or the OS account
        statement = statement.where(or_(AuditEventRow.actor == actor,
                                        AuditEventRow.os_user == actor))
    if action:
        statement = statement.where(AuditEventRow.action == action)
    if since:
        statement = statement.where(AuditEventRow.at >= since)
    return [AuditEvent(row.id, row.at, row.actor, row.action, row.entity_type, row.entity_id,
                       row.details, row.os_user) for row in session.scalars(statement)]


def events_for(session: Session, *, action: str, entity_type: str,
               entity_ids: Sequence[str]) -> list[AuditEvent]:
    """Every ``action`` event of these entities (one query per few hundred ids: a page of
    records reads its events at once, not one query each), in a practice's unit of work that
    practice's only; in no particular order."""
    flush_pending(session)
    practice_id = tenancy.scope_of(session)
    found: list[AuditEvent] = []
    for part in chunks(list(entity_ids)):
        statement = select(AuditEventRow).where(AuditEventRow.action == action,
                                                AuditEventRow.entity_type == entity_type,
                                                AuditEventRow.entity_id.in_(part))
        if practice_id is not None:
            statement = statement.where(AuditEventRow.practice_id == practice_id)
        found.extend(AuditEvent(row.id, row.at, row.actor, row.action, row.entity_type,
                                row.entity_id, row.details, row.os_user)
                     for row in session.scalars(statement))
    return found
