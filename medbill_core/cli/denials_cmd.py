"""``medbill denials``: denied amounts kept open by the ERA posting rules, and the decisions
that settle them (write off, transfer to the patient, appeal, correct and resend).

Items are named by their id (``denials list``); claims by claim number only. Notes and
reasons are stored, never printed back or audited.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from medbill_core.cli.appeals_cmd import (
    AppealLevel,
    AppealReason,
    LetterFolder,
    open_with_letter,
    report_opened,
)
from medbill_core.cli.common import (
    Limit,
    add_text_rows,
    cli_errors,
    console,
    data_table,
    escaped,
    fail,
    open_app,
    print_json,
    print_table,
    shown_of,
)
from medbill_core.codesets.explain import brief_adjustment

app = typer.Typer(help="Denials kept open as insurance A/R: list them and decide each one.",
                  no_args_is_help=True)

AsJson = Annotated[bool, typer.Option("--json")]
DenialId = Annotated[int, typer.Argument(help="The denial's id (medbill denials list)")]


@app.command("list")
@cli_errors
def list_command(
    payer: Annotated[str | None, typer.Option(help="Only denials of this payer key")] = None,
    include_decided: Annotated[bool, typer.Option(
        "--all", help="Also list items already written off, transferred or closed")] = False,
    action: Annotated[str | None, typer.Option(
        help="Only 'deny' (denials) or 'review' (held for review) items")] = None,
    limit: Limit = None,
    as_json: AsJson = False,
) -> None:
    """Denials and review items still owed by the payer, nearest appeal deadline first."""
    from medbill_core.services.denials import list_denials
    from medbill_core.services.posting_rules import KEPT_OPEN, PostingAction

    kinds = sorted(kind.value for kind in KEPT_OPEN)
    if action is not None and action not in kinds:
        raise fail(f"--action must be one of {', '.join(kinds)}, got {action!r}", 2)
    today = date.today()
    medbill = open_app()
    with medbill.unit_of_work() as work:
        items = list_denials(work, payer_key=payer, include_decided=include_decided,
                             action=PostingAction(action) if action else None)
    found = len(items)
    items = items[:limit]
    if as_json:
        print_json([item.as_json(today) for item in items])
        return
    table = data_table("id", "claim", "payer", "code", "meaning", "amount", "action",
                       "status", "deadline", "left", "rule",
                       title=f"{shown_of(len(items), found)} denials as of {today}",
                       keys=("id", "claim", "payer", "code", "deadline"),
                       numeric=("id", "amount", "left"))
    rows = []
    for item in items:
        left = item.days_left(today)
        rows.append((str(item.id), escaped(item.claim_number), escaped(item.payer_key),
                     item.code, brief_adjustment(item.code), str(item.amount), item.action,
                     item.status.value,
                     str(item.appeal_deadline or "?"), "?" if left is None else str(left),
                     escaped(item.rule)))
    add_text_rows(table, rows)
    print_table(table)


@app.command("write-off")
@cli_errors
def write_off_command(
    denial_id: DenialId,
    reason: Annotated[str, typer.Option(help="Why it is written off (max 500)")],
    as_json: AsJson = False,
) -> None:
    """Write the denied amount off (a write-off of the insurance balance, audited)."""
    from medbill_core.services.denials import write_off

    medbill = open_app()
    with medbill.unit_of_work() as work:
        item = write_off(work, denial_id, reason)
    if as_json:
        print_json(item.as_json())
        return
    console.print(f"denial {item.id}: {item.amount} ({item.code}) of claim "
                  f"{item.claim_number} written off", highlight=False, markup=False)


@app.command("to-patient")
@cli_errors
def to_patient_command(
    denial_id: DenialId,
    note: Annotated[str | None, typer.Option(help="A note for the account (max 500)")] = None,
    as_json: AsJson = False,
) -> None:
    """Transfer the amount to the patient: only what the payer assigned to the patient (PR)."""
    from medbill_core.services.denials import transfer_to_patient

    medbill = open_app()
    with medbill.unit_of_work() as work:
        item = transfer_to_patient(work, denial_id, note)
    if as_json:
        print_json(item.as_json())
        return
    console.print(f"denial {item.id}: {item.amount} ({item.code}) of claim "
                  f"{item.claim_number} transferred to the patient", highlight=False, markup=False)


@app.command("appeal")
@cli_errors
def appeal_command(
    denial_id: DenialId,
    reason: AppealReason,
    level: AppealLevel = None,
    letter: LetterFolder = None,
    as_json: AsJson = False,
) -> None:
    """Appeal the denial's claim (as ``medbill appeals open``); the amount stays owed."""
    from medbill_core.services.denials import appeal

    opened, path = open_with_letter(lambda work: appeal(work, denial_id, reason, level), letter)
    report_opened(opened, path, as_json)


@app.command("resend")
@cli_errors
def resend_command(
    denial_id: DenialId,
    note: Annotated[str | None, typer.Option(help="What to correct (max 500)")] = None,
    as_json: AsJson = False,
) -> None:
    """Decide to correct and resend the claim; then make the replacement with
    ``medbill claims correct``."""
    from medbill_core.services.denials import mark_resend

    medbill = open_app()
    with medbill.unit_of_work() as work:
        items = mark_resend(work, denial_id, note)
    if as_json:
        print_json([item.as_json() for item in items])
        return
    claim = items[0]
    console.print(f"claim {claim.claim_number}: {len(items)} denial(s) marked to correct "
                  f"and resend; next: medbill claims correct {claim.claim_id} --from FILE "
                  "--reason ...", highlight=False, markup=False)
