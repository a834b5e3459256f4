"""``medbill queues``: the work queues (what needs doing, by whom), and the team's output.

Items are named by their id (``queues show``). Notes are stored, never printed in lists or
audited (``queues notes ID`` shows them to whoever may read the queue).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

import typer
from rich.markup import escape

from medbill_core.cli.common import (
    cli_errors,
    console,
    data_table,
    open_app,
    parse_choice_option,
    parse_date_option,
    parse_money_option,
    print_json,
    print_table,
)

app = typer.Typer(help="Work queues: what needs doing, assign it, note it, snooze it; the "
                       "team's productivity.", no_args_is_help=True)

AsJson = Annotated[bool, typer.Option("--json")]
ItemIds = Annotated[list[int], typer.Argument(help="Work item ids (medbill queues show)")]


@app.command("list")
@cli_errors
def list_command(as_json: AsJson = False) -> None:
    """Every queue: open items, their amount, the earliest deadline."""
    from medbill_core.services.work_queues import read_summaries

    medbill = open_app()
    found = read_summaries(medbill, None)
    if as_json:
        print_json([summary.as_json() for summary in found])
        return
    table = data_table("queue", "title", "items", "amount", "oldest deadline", "unassigned",
                       "snoozed", title=f"work queues as of {date.today()}",
                       keys=("queue",), numeric=("items", "amount", "unassigned", "snoozed"))
    for summary in found:
        table.add_row(summary.queue.value, summary.queue.heading, str(summary.count),
                      str(summary.amount), str(summary.oldest_deadline or "-"),
                      str(summary.unassigned), str(summary.snoozed))
    print_table(table)


@app.command("show")
@cli_errors
def show_command(
    queue: Annotated[str, typer.Argument(help="The queue (medbill queues list)")],
    payer: Annotated[str | None, typer.Option(help="Only this payer key")] = None,
    provider: Annotated[str | None, typer.Option(help="Only this provider NPI")] = None,
    min_age: Annotated[int | None, typer.Option(help="At least this many days old")] = None,
    max_age: Annotated[int | None, typer.Option(help="At most this many days old")] = None,
    min_amount: Annotated[str | None, typer.Option(help="At least this amount")] = None,
    max_amount: Annotated[str | None, typer.Option(help="At most this amount")] = None,
    assignee: Annotated[str | None, typer.Option(
        help="A user name, 'me' or 'unassigned'")] = None,
    include_snoozed: Annotated[bool, typer.Option("--snoozed",
                                                  help="Also snoozed items")] = False,
    limit: Annotated[int, typer.Option(min=1, max=500, help="Items to show")] = 100,
    as_json: AsJson = False,
) -> None:
    """A queue's items, highest priority first (amount at stake per day left)."""
    from medbill_core.services.work_queue_sources import Queue
    from medbill_core.services.work_queues import QueueFilter, read_queue

    chosen_queue = parse_choice_option(queue, "QUEUE", Queue)
    chosen = QueueFilter(payer_key=payer, provider_npi=provider, min_age=min_age,
                         max_age=max_age,
                         min_amount=parse_money_option(min_amount, "--min-amount"),
                         max_amount=parse_money_option(max_amount, "--max-amount"),
                         assignee=assignee, include_snoozed=include_snoozed)
    medbill = open_app()
    found = read_queue(medbill, None, chosen_queue, chosen=chosen, limit=limit)
    today = date.today()
    if as_json:
        print_json([item.as_json(today) for item in found])
        return
    table = data_table("id", "subject", "reason", "amount", "deadline", "left", "age",
                       "next action", "payer", "assignee", "priority",
                       title=f"{chosen_queue.heading}: {len(found)} items as of {today}",
                       keys=("id", "subject"),
                       numeric=("id", "amount", "left", "age", "priority"))
    for item in found:
        left = item.days_left(today)
        table.add_row(str(item.id), escape(item.label), escape(item.reason[:120]),
                      str(item.amount), str(item.deadline or "-"),
                      "-" if left is None else str(left), str(item.age(today)),
                      item.action.words, escape(item.payer_key or "-"),
                      escape(item.assignee or "-"), str(item.priority))
    print_table(table)


@app.command("assign")
@cli_errors
def assign_command(
    items: ItemIds,
    to: Annotated[str | None, typer.Option(
        "--to", help="The user name, or 'me' (omit with --unassign)")] = None,
    unassign: Annotated[bool, typer.Option("--unassign", help="Take the items back")] = False,
    as_json: AsJson = False,
) -> None:
    """Assign items to a user of the practice (or to yourself), or take them back."""
    from medbill_core.cli.common import fail
    from medbill_core.services.work_queues import assign

    if (to is None) == (not unassign):
        raise fail("give --to USER (or me) or --unassign", 2)
    medbill = open_app()
    with medbill.unit_of_work() as work:
        done = assign(work, items, None if unassign else to)
    if as_json:
        print_json([item.as_json() for item in done])
        return
    who = "nobody" if unassign else done[0].assignee
    console.print(f"{len(done)} items assigned to {who}", markup=False)


@app.command("note")
@cli_errors
def note_command(
    item: Annotated[int, typer.Argument(help="The work item id")],
    text: Annotated[str, typer.Argument(help="The note (stored, never audited)")],
    as_json: AsJson = False,
) -> None:
    """Add a note to an item."""
    from medbill_core.services.work_queues import add_note

    medbill = open_app()
    with medbill.unit_of_work() as work:
        note = add_note(work, item, text)
    if as_json:
        print_json({"id": note.id, "item": item, "author": note.author})
        return
    console.print(f"note {note.id} added to item {item}", markup=False)


@app.command("notes")
@cli_errors
def notes_command(item: Annotated[int, typer.Argument(help="The work item id")],
                  as_json: AsJson = False) -> None:
    """An item's notes, oldest first."""
    from medbill_core.services.work_queues import notes

    medbill = open_app()
    with medbill.unit_of_work(read_only=True) as work:
        found = notes(work, item)
    if as_json:
        print_json([note.as_json() for note in found])
        return
    table = data_table("id", "at", "author", "note", title=f"notes of item {item}",
                       keys=("id",), numeric=("id",))
    for note in found:
        table.add_row(str(note.id), note.at.isoformat(timespec="minutes"),
                      escape(note.author), escape(note.text))
    print_table(table)


@app.command("snooze")
@cli_errors
def snooze_command(
    items: ItemIds,
    until: Annotated[str | None, typer.Option(
        help="Hide the items until this day (YYYY-MM-DD)")] = None,
    wake: Annotated[bool, typer.Option("--wake", help="Show snoozed items again now")] = False,
    as_json: AsJson = False,
) -> None:
    """Hide items until a date (they come back that day), or wake them."""
    from medbill_core.cli.common import fail
    from medbill_core.services.work_queues import snooze

    if (until is None) == (not wake):
        raise fail("give --until YYYY-MM-DD or --wake", 2)
    day = parse_date_option(until, "--until", future_days=366)
    medbill = open_app()
    with medbill.unit_of_work() as work:
        done = snooze(work, items, day)
    if as_json:
        print_json([item.as_json() for item in done])
        return
    console.print(f"{len(done)} items " + (f"snoozed until {day}" if day else "woken"),
                  markup=False)


@app.command("productivity")
@cli_errors
def productivity_command(
    start: Annotated[str | None, typer.Option(help="First day (default: 6 days ago)")] = None,
    end: Annotated[str | None, typer.Option(help="Last day (default: today)")] = None,
    as_json: AsJson = False,
) -> None:
    """Items closed per person and day, and the team's open items per assignee."""
    from medbill_core.services.work_queues import productivity

    last = parse_date_option(end, "--end", future_days=0) or date.today()
    first = parse_date_option(start, "--start", future_days=0) or last - timedelta(days=6)
    medbill = open_app()
    with medbill.unit_of_work(read_only=True) as work:
        report = productivity(work, first, last)
    if as_json:
        print_json(report.as_json())
        return
    table = data_table("person", "day", "closed", title=f"items closed {first} to {last}",
                       keys=("person", "day"), numeric=("closed",))
    for (person, day), count in sorted(report.closed.items()):
        table.add_row(escape(person), day.isoformat(), str(count))
    print_table(table)
    team = data_table("assignee", "open items", title="open items per assignee",
                      keys=("assignee",), numeric=("open items",))
    for who, count in sorted(report.open_by_assignee.items(),
                             key=lambda kv: (kv[0] is None, kv[0] or "")):
        team.add_row(escape(who or "(unassigned)"), str(count))
    print_table(team)
