"""``GET /v1/audit``: the audit trail, newest first, filtered by actor, action and entity."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from medbill_core import audit
from medbill_core.domain.identity import Principal
from medbill_core.http.auth import api_state, permitted
from medbill_core.http.pagination import DEFAULT_LIMIT, Cursor, Limit, Page, decode_cursor, page
from medbill_core.http.problems import PROBLEM_RESPONSES
from medbill_core.permissions import Action
from medbill_core.storage.schema import as_utc

router = APIRouter(prefix="/v1/audit", tags=["audit"], responses=PROBLEM_RESPONSES)
LISTING = "audit"


class AuditEventOut(BaseModel):
    """Who did what to which record, when (``details`` hold ids and field names only)."""

    id: int
    at: datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    details: dict[str, Any] | None


@router.get("", response_model=Page[AuditEventOut], summary="Read the audit trail")
def list_audit_events(
        request: Request, principal: Annotated[Principal, Depends(permitted(Action.AUDIT_READ))],
        actor: Annotated[str | None, Query(max_length=80,
                                           description="key:<label>, user:<name> ...")] = None,
        action: Annotated[str | None, Query(max_length=40,
                                            description="claim.update, patient.read ...")] = None,
        entity_type: Annotated[str | None, Query(max_length=40)] = None,
        entity_id: Annotated[str | None, Query(max_length=60)] = None,
        limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Page[AuditEventOut]:
    """Events newest first."""
    before = decode_cursor(LISTING, cursor, (int,))[0] if cursor else None
    with api_state(request).medbill.unit_of_work(principal=principal, read_only=True) as work:
        events = audit.query(work.session, actor=actor, action=action, entity_type=entity_type,
                             entity_id=entity_id, limit=limit + 1, before_id=before)
    rows = [AuditEventOut(id=event.id, at=as_utc(event.at), actor=event.actor, action=event.action,
                          entity_type=event.entity_type, entity_id=event.entity_id,
                          details=dict(event.details) if event.details is not None else None)
            for event in events]
    return page(rows, limit, LISTING, lambda event: [event.id])
