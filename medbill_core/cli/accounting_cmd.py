"""``medbill accounting``: journal entries for the books (QuickBooks IIF / Online CSV, generic
CSV), numbered batches so nothing is exported twice, and the chart of accounts they use.

No patient is named in any of it: journal entries sum a day or a deposit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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
from medbill_core.services.accounting_formats import ExportFormat

app = typer.Typer(help="Accounting export: journal entries for QuickBooks and other books.",
                  no_args_is_help=True)

AsJson = Annotated[bool, typer.Option("--json")]
Out = Annotated[Path, typer.Option("--out", help="The file to write (replaced whole, "
                                                 "owner-only when new)")]


def _checked_out(out: Path) -> Path:
    if out.is_dir():
        raise fail(f"--out: {out} is a folder; name the file to write")
    if not out.parent.is_dir():
        raise fail(f"--out: the folder {out.parent} does not exist")
    return out


@app.command("export")
@cli_errors
def export_command(
    export_format: Annotated[ExportFormat, typer.Option(
        "--format", help="iif: QuickBooks Desktop; qbo: QuickBooks Online journal-entry "
                         "import; csv: generic")],
    out: Out,
    date_from: Annotated[str | None, typer.Option(
        "--from", help="First effective date, YYYY-MM-DD (default: everything not exported)")
    ] = None,
    date_to: Annotated[str | None, typer.Option(
        "--to", help="Last effective date, YYYY-MM-DD")] = None,
    as_json: AsJson = False,
) -> None:
    """Export what is not exported yet (in the period) as the next numbered batch."""
    from medbill_core.privatefiles import publish_after
    from medbill_core.services.accounting_export import export_batch

    first = parse_date_option(date_from, "--from")
    last = parse_date_option(date_to, "--to")
    target = _checked_out(out)
    medbill = open_app()
    with publish_after() as files, medbill.unit_of_work() as work:
        result = export_batch(work, export_format, date_from=first, date_to=last)
        if result is not None:
            files.write(target, result.content)
    if result is None:
        if as_json:
            print_json({"batch": None})
        else:
            console.print("nothing to export: every ledger posting of the period is in a "
                          "batch already (medbill accounting batches)")
        return
    summary = result.summary
    if as_json:
        print_json({"batch": summary.as_json(), "file": str(target)})
        return
    console.print(f"batch {summary.number}: {summary.journal_entries} journal entries from "
                  f"{summary.ledger_entries} ledger entries ({summary.postings} postings); "
                  f"debits {summary.debits} = credits {result.totals.credits}; "
                  f"written to {escape(str(target))}")


@app.command("batches")
@cli_errors
def batches_command(as_json: AsJson = False) -> None:
    """The batches exported, newest first."""
    from medbill_core.services.accounting_export import list_batches

    medbill = open_app()
    with medbill.unit_of_work(read_only=True) as work:
        batches = list_batches(work)
    if as_json:
        print_json([batch.as_json() for batch in batches])
        return
    table = data_table("batch", "format", "from", "to", "postings", "journal entries",
                       "debits", "exported", "by", title="accounting batches",
                       keys=("batch",), numeric=("batch", "postings", "journal entries",
                                                 "debits"))
    for batch in batches:
        table.add_row(str(batch.number), batch.format,
                      batch.date_from.isoformat() if batch.date_from else "-",
                      batch.date_to.isoformat() if batch.date_to else "-",
                      str(batch.postings), str(batch.journal_entries), str(batch.debits),
                      batch.created_at.strftime("%Y-%m-%d %H:%M"), escape(batch.created_by))
    print_table(table)


@app.command("reexport")
@cli_errors
def reexport_command(
    number: Annotated[int, typer.Argument(help="The batch number", min=1)],
    out: Out,
    as_json: AsJson = False,
) -> None:
    """Write a batch again, byte for byte as it was exported (in its format)."""
    from medbill_core.privatefiles import publish_after
    from medbill_core.services.accounting_export import reexport_batch

    target = _checked_out(out)
    medbill = open_app()
    with publish_after() as files, medbill.unit_of_work() as work:
        result = reexport_batch(work, number)
        files.write(target, result.content)
    if as_json:
        print_json({"batch": result.summary.as_json(), "file": str(target)})
        return
    console.print(f"batch {number} ({result.summary.format}) written again to "
                  f"{escape(str(target))}; SHA-256 {result.summary.sha256}")


@app.command("accounts")
@cli_errors
def accounts_command(as_json: AsJson = False) -> None:
    """The chart of accounts the export writes to (role, account, default or set here)."""
    from medbill_core.services.accounting_chart import chart

    medbill = open_app()
    with medbill.unit_of_work(read_only=True) as work:
        lines = chart(work)
    if as_json:
        print_json([line.as_json() for line in lines])
        return
    table = data_table("role", "account", "set", "type", "holds", title="chart of accounts",
                       keys=("role",))
    for line in lines:
        data = line.as_json()
        table.add_row(line.role.value, escape(line.name), "yes" if line.custom else "default",
                      data["type"], data["meaning"])
    print_table(table)


@app.command("set-account")
@cli_errors
def set_account_command(
    role: Annotated[str, typer.Argument(help="The role (see medbill accounting accounts)")],
    name: Annotated[str | None, typer.Argument(
        help="The account's name in the books (Parent:Sub for a subaccount)")] = None,
    default: Annotated[bool, typer.Option("--default",
                                          help="Back to the default name")] = False,
    as_json: AsJson = False,
) -> None:
    """Name the account a role is booked to (or --default)."""
    from medbill_core.services.accounting_chart import parse_role, set_account

    if (name is None) == (not default):
        raise fail("give the account's name, or --default", 2)
    parsed = parse_role(role)
    medbill = open_app()
    with medbill.unit_of_work() as work:
        line = set_account(work, parsed, None if default else name)
    if as_json:
        print_json(line.as_json())
        return
    console.print(f"{line.role.value}: {escape(line.name)}")
