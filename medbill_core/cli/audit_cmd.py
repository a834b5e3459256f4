"""``medbill audit``: query the audit trail; ``medbill audit verify``: check its hash chain."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.markup import escape

from medbill_core import audit as audit_trail
from medbill_core.cli.common import (
    cli_errors,
    console,
    data_table,
    fail,
    open_app,
    print_json,
    print_table,
)
from medbill_core.permissions import Action

app = typer.Typer(help="Who changed which billing record, and when (newest first).",
                  invoke_without_command=True, no_args_is_help=False, add_completion=False,
                  pretty_exceptions_enable=False)


@app.callback()
@cli_errors
def audit(
    ctx: typer.Context,
    entity: Annotated[str | None, typer.Option(help="Entity type: patient, claim, ...")] = None,
    entity_id: Annotated[str | None, typer.Option("--id", help="Entity id")] = None,
    actor: Annotated[str | None, typer.Option(
        help="Who acted: the recorded actor or the OS user")] = None,
    action: Annotated[str | None, typer.Option(help="e.g. claim.transition")] = None,
    since: Annotated[datetime | None, typer.Option(help="Only events at or after")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Who changed which billing record, and when (newest first).

    'medbill audit verify' checks that no event was changed or removed since it was written.
    """
    if ctx.invoked_subcommand is not None:
        return
    medbill = open_app()
    with medbill.unit_of_work() as work:
        work.require(Action.AUDIT_READ)
        events = audit_trail.query(work.session, entity_type=entity, entity_id=entity_id,
                                   actor=actor, action=action, since=since, limit=limit)
    if as_json:
        print_json([{"id": e.id, "at": e.at.isoformat(), "actor": e.actor,
                     "os_user": e.os_user, "action": e.action,
                     "entity_type": e.entity_type, "entity_id": e.entity_id,
                     "details": e.details} for e in events])
        return
    # the time, the entity and the action are looked up and copied: never cut
    table = data_table("id", "at", "actor", "action", "entity", "details",
                       title=f"audit trail: {len(events)} events, newest first",
                       keys=("id", "at", "action", "entity"))
    for e in events:
        table.add_row(str(e.id), f"{e.at:%Y-%m-%d %H:%M:%S}", escape(_who(e)), e.action,
                      escape(f"{e.entity_type} {e.entity_id}"),
                      escape(", ".join(f"{k}={v}" for k, v in (e.details or {}).items())))
    print_table(table)


def _who(event: audit_trail.AuditEvent) -> str:
    """``alice``, or ``front-desk (os: alice)`` when a configured name was recorded."""
    if event.os_user and event.os_user != event.actor:
        return f"{event.actor} (os: {event.os_user})"
    return event.actor


@app.command("verify")
@cli_errors
def verify(
    expect_head: Annotated[str | None, typer.Option(
        help="A head hash printed earlier and kept elsewhere: it must still be in the chain")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Recompute the audit trail's hash chain: the first event changed or removed since it was
    written is named (exit 1); otherwise "N rows, chain intact" and the chain's head, to keep
    where the database owner cannot write (exit 0)."""
    from medbill_core.audit_chain import verify as verify_chain

    medbill = open_app()
    medbill.require(Action.AUDIT_READ)
    with medbill.database.reader() as session:
        report = verify_chain(session, expect_head=expect_head)
    broken = report.broken
    if as_json:
        print_json({
            "rows": report.rows, "intact": report.intact,
            "head": {"position": report.head_position, "hash": report.head_hash},
            "broken": None if broken is None else {
                "row_id": broken.row_id, "position": broken.position,
                "problem": broken.problem},
            **({} if expect_head is None else {"expected_head_position": report.expected_at})})
        if not report.intact:
            raise typer.Exit(1)
        return
    if broken is not None:
        raise fail(f"audit chain broken at row {broken.row_id}: {broken.problem} "
                   f"({report.rows} rows before it intact)")
    if report.expected_missing:
        raise fail(f"audit chain of {report.rows} rows does not contain the expected head "
                   f"{expect_head}: it was rebuilt, or its newest rows were removed")
    found = ("" if report.expected_at is None
             else f"; the expected head is at position {report.expected_at}")
    console.print(f"{report.rows} rows, chain intact (head: position {report.head_position}, "
                  f"sha256 {report.head_hash}){found}", highlight=False, soft_wrap=True)
