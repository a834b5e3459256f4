"""Collection agencies on the command line: ``medbill collections agencies|agency-add|
agency-edit|place|recall|export|payment|placements`` (added to accounts_cmd's ``collections``
group, beside its work list)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from medbill_core.cli.accounts_cmd import collections_app
from medbill_core.cli.common import (
    cli_errors,
    console,
    data_table,
    fail,
    open_app,
    parse_choice_option,
    parse_date_option,
    parse_money_option,
    print_json,
    print_table,
    warn,
)

__all__ = ["collections_app"]

AsJson = Annotated[bool, typer.Option("--json")]
PlacementId = Annotated[int, typer.Argument(help="The placement's id", min=1)]


@collections_app.command("agencies")
@cli_errors
def agencies_command(as_json: AsJson = False) -> None:
    """The collection agencies the practice uses, and their fees."""
    from medbill_core.services.collections import list_agencies

    medbill = open_app()
    with medbill.unit_of_work() as work:
        agencies = list_agencies(work)
    if as_json:
        print_json([agency.as_json() for agency in agencies])
        return
    table = data_table("code", "name", "fee %", "active", title=f"agencies: {len(agencies)}",
                       keys=("code",), numeric=("fee %",))
    for agency in agencies:
        table.add_row(escape(agency.code), escape(agency.name), str(agency.fee_percent),
                      "yes" if agency.active else "no")
    print_table(table)


@collections_app.command("agency-add")
@cli_errors
def agency_add_command(
    code: Annotated[str, typer.Option(help="A short code, e.g. ACB")],
    name: Annotated[str, typer.Option(help="The agency's name")],
    fee_percent: Annotated[str, typer.Option("--fee-percent",
                                             help="Its share of what it collects, e.g. 25")],
    as_json: AsJson = False,
) -> None:
    """Add a collection agency (a manager)."""
    from medbill_core.services.collections import add_agency

    medbill = open_app()
    with medbill.unit_of_work() as work:
        agency = add_agency(work, code, name, fee_percent)
    if as_json:
        print_json(agency.as_json())
        return
    console.print(f"agency {agency.code} added ({agency.fee_percent}%)", markup=False)


@collections_app.command("agency-edit")
@cli_errors
def agency_edit_command(
    code: Annotated[str, typer.Option(help="The agency's code")],
    fee_percent: Annotated[str | None, typer.Option(
        "--fee-percent", help="Its new share of what it collects")] = None,
    active: Annotated[bool | None, typer.Option(
        "--active/--inactive", help="Whether new accounts may be placed with it")] = None,
    as_json: AsJson = False,
) -> None:
    """Change an agency's fee or take it out of use (a manager; placements stay)."""
    from medbill_core.services.collections import edit_agency

    medbill = open_app()
    with medbill.unit_of_work() as work:
        agency = edit_agency(work, code, fee_percent=fee_percent, active=active)
    if as_json:
        print_json(agency.as_json())
        return
    console.print(f"agency {agency.code}: {agency.fee_percent}%, "
                  f"{'active' if agency.active else 'inactive'}", markup=False)


@collections_app.command("place")
@cli_errors
def place_command(
    patient: Annotated[str, typer.Option("--patient", help="Patient account number")],
    agency: Annotated[str, typer.Option(help="The agency's code")],
    as_json: AsJson = False,
) -> None:
    """Place the patient's open balance with an agency (statements stop)."""
    from medbill_core.services.collections import place_account

    medbill = open_app()
    with medbill.unit_of_work() as work:
        placement = place_account(work, work.patients.by_account(patient).id, agency)
    if as_json:
        print_json(placement.as_json())
        return
    console.print(f"placement {placement.id}: {placement.placed} of account "
                  f"{placement.account_number} with {placement.agency}", markup=False)


@collections_app.command("recall")
@cli_errors
def recall_command(
    placement_id: PlacementId,
    reason: Annotated[str, typer.Option(help="Why (no patient details)")],
    as_json: AsJson = False,
) -> None:
    """Take an account back from the agency: its balance is the patient's again."""
    from medbill_core.services.collections import recall_account

    medbill = open_app()
    with medbill.unit_of_work() as work:
        placement = recall_account(work, placement_id, reason)
    if as_json:
        print_json(placement.as_json())
        return
    console.print(f"placement {placement.id} recalled", markup=False)


@collections_app.command("payment")
@cli_errors
def payment_command(
    placement_id: PlacementId,
    collected: Annotated[str, typer.Option(help="What the agency collected, e.g. 100.00 "
                                                "(its fee is taken from it)")],
    received: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default today)")] = None,
    reference: Annotated[str | None, typer.Option(help="The agency's remittance number")]
    = None,
    direct: Annotated[bool, typer.Option(
        "--direct", help="The patient paid the practice itself: no agency fee")] = False,
    allow_duplicate: Annotated[bool, typer.Option(
        "--allow-duplicate", help="Post it although a payment of the same amount, date and "
                                  "reference is posted on the placement (paid twice)")] = False,
    as_json: AsJson = False,
) -> None:
    """Post what an agency collected: its remittance and its fee. The same payment twice
    (same amount, date and reference on the placement) is refused unless --allow-duplicate."""
    from medbill_core.services.collections import record_agency_payment

    money = parse_money_option(collected, "--collected", allow_zero=False)
    day = parse_date_option(received, "--received")
    medbill = open_app()
    with medbill.unit_of_work() as work:
        result = record_agency_payment(work, placement_id, money, received_on=day,
                                       reference=reference, direct=direct,
                                       allow_duplicate=allow_duplicate)
    for message in result.warnings:
        warn(message)
    if as_json:
        print_json({"agency_payment_id": result.payment_id, "collected": str(result.collected),
                    "fee": str(result.fee), "net": str(result.net),
                    "balance": str(result.balance), "status": result.status.value})
        return
    console.print(f"agency payment {result.payment_id}: collected {result.collected}, fee "
                  f"{result.fee}, net {result.net}; {result.balance} left with the agency",
                  markup=False)


@collections_app.command("placements")
@cli_errors
def placements_command(
    status: Annotated[str | None, typer.Option(help="placed, recalled or paid")] = None,
    agency: Annotated[str | None, typer.Option(help="Only this agency's")] = None,
    as_json: AsJson = False,
) -> None:
    """Accounts placed with agencies, what they hold and collected."""
    from medbill_core.services.collections import PlacementStatus, list_placements

    wanted = parse_choice_option(status, "--status", PlacementStatus)
    medbill = open_app()
    with medbill.unit_of_work() as work:
        items = list_placements(work, status=wanted, agency_code=agency)
    if as_json:
        print_json([item.as_json() for item in items])
        return
    table = data_table("id", "account", "agency", "placed", "balance", "collected", "fees",
                       "on", "status", title=f"placements: {len(items)}",
                       keys=("id", "account", "balance"),
                       numeric=("placed", "balance", "collected", "fees"))
    for item in items:
        table.add_row(str(item.id), escape(item.account_number), escape(item.agency),
                      str(item.placed), str(item.balance), str(item.collected),
                      str(item.fees), str(item.placed_on), item.status.value)
    print_table(table)


@collections_app.command("export")
@cli_errors
def export_command(
    agency: Annotated[str, typer.Option(help="The agency's code")],
    out: Annotated[Path, typer.Option(help="The CSV file to write (owner-only; PHI)")],
    resend: Annotated[bool, typer.Option(
        "--resend", help="Every open placement, not only those not sent yet")] = False,
    as_json: AsJson = False,
) -> None:
    """Write the agency's file of placed accounts (written whole, owner-only, after the
    placements are marked sent)."""
    from medbill_core.privatefiles import publish_after
    from medbill_core.services.collections import agency_export

    if out.exists():
        raise fail(f"--out: {out.name} exists; name a new file (the last one may not have "
                   "reached the agency yet)", 2)
    medbill = open_app()
    with publish_after() as files, medbill.unit_of_work() as work:
        export = agency_export(work, agency, resend=resend)
        files.write(out, export.content)
    if as_json:
        print_json({"file": str(out), "placements": export.placements,
                    "total": str(export.total)})
        return
    console.print(f"{export.placements} accounts ({export.total}) written to {out}",
                  markup=False)
