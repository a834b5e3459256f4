"""The audit trail: who created or changed which billing record, and when.

Audit events are written in the same transaction as the change they describe,
so there is never a change without its record (or a record without its change).
``details`` holds identifiers, field *names* and codes only, never PHI values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from medbill_core.storage.schema import AuditEventRow, utcnow


@dataclass(frozen=True)
class AuditEvent:
    id: int
    at: datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    details: Mapping[str, Any] | None


def record(session: Session, *, actor: str, action: str, entity_type: str,
           entity_id: object, details: Mapping[str, Any] | None = None) -> None:
    """Add an audit event to the current transaction."""
    session.add(AuditEventRow(at=utcnow(), actor=actor, action=action, entity_type=entity_type,
                              entity_id=str(entity_id),
                              details=dict(details) if details else None))


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
          limit: int = 100) -> Sequence[AuditEvent]:
    """Audit events, newest first, filtered by any of the given fields."""
    statement = select(AuditEventRow).order_by(AuditEventRow.id.desc()).limit(limit)
    if entity_type:
        statement = statement.where(AuditEventRow.entity_type == entity_type)
    if entity_id is not None:
        statement = statement.where(AuditEventRow.entity_id == str(entity_id))
    if actor:
        statement = statement.where(AuditEventRow.actor == actor)
    if action:
        statement = statement.where(AuditEventRow.action == action)
    if since:
        statement = statement.where(AuditEventRow.at >= since)
    return [AuditEvent(row.id, row.at, row.actor, row.action, row.entity_type, row.entity_id,
                       row.details) for row in session.scalars(statement)]
