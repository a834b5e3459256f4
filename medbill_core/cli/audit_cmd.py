"""``medbill audit``: query the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.markup import escape

from medbill_core import audit as audit_trail
from medbill_core.cli.common import cli_errors, data_table, open_app, print_json, print_table


@cli_errors
def audit(
    entity: Annotated[str | None, typer.Option(help="Entity type: patient, claim, ...")] = None,
    entity_id: Annotated[str | None, typer.Option("--id", help="Entity id")] = None,
    actor: Annotated[str | None, typer.Option(help="Who acted")] = None,
    action: Annotated[str | None, typer.Option(help="e.g. claim.transition")] = None,
    since: Annotated[datetime | None, typer.Option(help="Only events at or after")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Who changed which billing record, and when (newest first)."""
    medbill = open_app()
    with medbill.unit_of_work() as work:
        events = audit_trail.query(work.session, entity_type=entity, entity_id=entity_id,
                                   actor=actor, action=action, since=since, limit=limit)
    if as_json:
        print_json([{"id": e.id, "at": e.at.isoformat(), "actor": e.actor, "action": e.action,
                     "entity_type": e.entity_type, "entity_id": e.entity_id,
                     "details": e.details} for e in events])
        return
    # the time, the entity and the action are looked up and copied: never cut
    table = data_table("id", "at", "actor", "action", "entity", "details",
                       title=f"audit trail: {len(events)} events, newest first",
                       keys=("id", "at", "action", "entity"))
    for e in events:
        table.add_row(str(e.id), f"{e.at:%Y-%m-%d %H:%M:%S}", escape(e.actor), e.action,
                      escape(f"{e.entity_type} {e.entity_id}"),
                      escape(", ".join(f"{k}={v}" for k, v in (e.details or {}).items())))
    print_table(table)
