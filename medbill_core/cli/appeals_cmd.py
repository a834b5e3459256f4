"""``medbill appeals``: appeals of denied claims (open, list, sent, outcome, withdraw).

Claims are named by claim number only. The appeal letter (``open --letter DIR``) holds the
patient's name and member ID: it is written owner-only (0600) and never printed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from medbill_core.cli.common import (
    cli_errors,
    console,
    data_table,
    fail,
    open_app,
    parse_date_option,
    print_json,
    print_table,
)
from medbill_core.codesets.explain import brief_adjustment, explain_adjustment

app = typer.Typer(help="Appeals of denied claims: open, list, sent, outcome, withdraw.",
                  no_args_is_help=True)

AsJson = Annotated[bool, typer.Option("--json")]
_STATUSES = ("open", "sent", "won", "lost", "withdrawn")
#: the options of opening an appeal, shared with ``medbill denials appeal``
AppealReason = Annotated[str, typer.Option(
    help="Why the payer should reconsider (max 2000)")]
AppealLevel = Annotated[int | None, typer.Option(
    min=1, max=3, help="Appeal level 1-3 (default: one above the last decided)")]
LetterFolder = Annotated[Path | None, typer.Option(
    help="Write the appeal letter (PHI, mode 0600) into this folder")]


def open_with_letter(open_one: Callable[[Any], Any],
                     folder: Path | None) -> tuple[Any, Path | None]:
    """Open an appeal (``open_one(work)`` returns it) and, with ``folder``, its letter, in one
    transaction: the letter is written before the commit and put in place after it, so a
    letter that cannot be written leaves no appeal and no "appeal.letter" audit event."""
    from medbill_core.privatefiles import private_dir, publish_after
    from medbill_core.services.appeals import appeal_letter

    medbill = open_app()
    path = None
    with publish_after() as files, medbill.unit_of_work() as work:
        appeal = open_one(work)
        if folder is not None:
            path = files.write(private_dir(folder) / f"appeal-{appeal.id}-{appeal.claim_number}"
                                                      ".txt", appeal_letter(work, appeal.id))
    return appeal, path


def report_opened(appeal: Any, path: Path | None, as_json: bool) -> None:
    """Say what was opened and where its letter is (the letter itself is never printed)."""
    if as_json:
        print_json({**appeal.as_json(), "letter": str(path) if path else None})
        return
    console.print(f"appeal {appeal.id}: claim {appeal.claim_number}, level "
                  f"{appeal.level}, deadline {appeal.deadline or '?'}, codes "
                  f"{', '.join(appeal.denial_codes) or 'none'}", highlight=False, markup=False)
    for code in appeal.denial_codes:  # each in words, below the line the codes are on
        console.print(f"  {explain_adjustment(code)}", highlight=False, markup=False)
    if path is not None:
        console.print(f"letter written to {path!s}", highlight=False, markup=False)


@app.command("open")
@cli_errors
def open_command(
    claim: Annotated[str, typer.Argument(help="The denied claim's id or claim number")],
    reason: AppealReason,
    level: AppealLevel = None,
    letter: LetterFolder = None,
    as_json: AsJson = False,
) -> None:
    """Open an appeal of a denied or partially paid claim."""
    from medbill_core.services.appeals import open_appeal

    appeal, path = open_with_letter(
        lambda work: open_appeal(work, work.claims.resolve(claim), reason, level), letter)
    report_opened(appeal, path, as_json)


@app.command("list")
@cli_errors
def list_command(
    status: Annotated[str | None, typer.Option(help="Only appeals with this status: "
                                                    + ", ".join(_STATUSES))] = None,
    as_json: AsJson = False,
) -> None:
    """Appeals, nearest deadline first."""
    from medbill_core.services.appeals import list_appeals

    if status is not None and status not in _STATUSES:
        raise fail(f"--status must be one of {', '.join(_STATUSES)}, got {status!r}", 2)
    today = date.today()
    medbill = open_app()
    with medbill.unit_of_work() as work:
        appeals = list_appeals(work, status)
    if as_json:
        print_json([appeal.as_json(today) for appeal in appeals])
        return
    table = data_table("id", "claim", "payer", "level", "status", "deadline", "left", "codes",
                       "meaning", title=f"{len(appeals)} appeals as of {today}",
                       keys=("id", "claim", "payer", "deadline"),
                       numeric=("id", "level", "left"))
    for appeal in appeals:
        left = appeal.days_left(today)
        # each denial code's meaning in brief, in the codes' order (in full: --json
        # "denial_meanings")
        meanings = "; ".join(brief_adjustment(code) for code in appeal.denial_codes)
        table.add_row(str(appeal.id), escape(appeal.claim_number), escape(appeal.payer_key or ""),
                      str(appeal.level), appeal.status.value, str(appeal.deadline or "?"),
                      "?" if left is None else str(left), ", ".join(appeal.denial_codes),
                      escape(meanings))
    print_table(table)


@app.command("sent")
@cli_errors
def sent_command(
    appeal_id: Annotated[int, typer.Argument(help="The appeal's id")],
    on: Annotated[str | None, typer.Option(
        "--on", help="The day it was sent, YYYY-MM-DD (default today; not before the day "
                     "the appeal was opened)")] = None,
    confirm_date: Annotated[bool, typer.Option(
        "--confirm-date", help="Accept an --on date in the future")] = False,
    as_json: AsJson = False,
) -> None:
    """Record that an open appeal went to the payer."""
    from medbill_core.services.appeals import mark_sent

    when = parse_date_option(on, "--on", future_days=0, confirmed=confirm_date)
    medbill = open_app()
    with medbill.unit_of_work() as work:
        appeal = mark_sent(work, appeal_id, when, confirmed_date=confirm_date)
    if as_json:
        print_json(appeal.as_json())
        return
    console.print(f"appeal {appeal.id}: sent on {appeal.sent_on}", highlight=False, markup=False)


@app.command("outcome")
@cli_errors
def outcome_command(
    appeal_id: Annotated[int, typer.Argument(help="The appeal's id")],
    won: Annotated[bool, typer.Option(
        "--won", help="The payer decided for the practice (give --won or --lost)")] = False,
    lost: Annotated[bool, typer.Option(
        "--lost", help="The payer upheld its denial (give --won or --lost)")] = False,
    note: Annotated[str | None, typer.Option(help="What the payer decided (max 2000)")] = None,
    as_json: AsJson = False,
) -> None:
    """Record the payer's decision (the money of a won appeal comes with a later 835)."""
    from medbill_core.services.appeals import record_outcome

    # two flags, not one --won/--lost switch: with a switch the last one given silently wins
    if won and lost:
        raise fail("--won and --lost contradict each other: give one of them", 2)
    if not won and not lost:
        raise fail("give the decision: --won or --lost", 2)
    if note is None:
        raise fail("--note is required", 2)
    medbill = open_app()
    with medbill.unit_of_work() as work:
        appeal = record_outcome(work, appeal_id, won, note)
    if as_json:
        print_json(appeal.as_json())
        return
    console.print(f"appeal {appeal.id}: {appeal.status.value}", highlight=False, markup=False)


@app.command("withdraw")
@cli_errors
def withdraw_command(
    appeal_id: Annotated[int, typer.Argument(help="The appeal's id")],
    as_json: AsJson = False,
) -> None:
    """Give up an open or sent appeal."""
    from medbill_core.services.appeals import withdraw

    medbill = open_app()
    with medbill.unit_of_work() as work:
        appeal = withdraw(work, appeal_id)
    if as_json:
        print_json(appeal.as_json())
        return
    console.print(f"appeal {appeal.id}: withdrawn", highlight=False, markup=False)
