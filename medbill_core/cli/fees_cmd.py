"""``medbill fees`` (payers' contracted fee schedules) and ``medbill chargemaster`` (the
practice's prices): load a CSV, show what is on file for a code or a date of service."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from medbill_core.cli.common import (
    cli_errors,
    console,
    data_table,
    open_app,
    parse_date_option,
    print_json,
    print_table,
)
from medbill_core.cli.service_progress import service_progress
from medbill_core.permissions import Action

fees_app = typer.Typer(
    help="Payers' contracted fee schedules (allowed amount per code and date of service): "
         "used by estimates and to flag payments allowed below the contract.",
    no_args_is_help=True)
chargemaster_app = typer.Typer(
    help="The practice's charge master (price per code and date of service): used when a "
         "planned service or claim line gives no charge.",
    no_args_is_help=True)

FileArgument = Annotated[Path, typer.Argument(
    help="CSV: code, modifier (optional), amount, effective_from, effective_to (optional), "
         "description (optional)")]
LabelOption = Annotated[str | None, typer.Option(
    help="Name of this version, e.g. 'Acme 2026 contract' (default: the file name)")]
EffectiveOption = Annotated[str | None, typer.Option(
    "--effective", help="First date of service for rows without effective_from (YYYY-MM-DD)")]
CodeOption = Annotated[str | None, typer.Option("--code", help="Only this procedure code")]
DateOption = Annotated[str | None, typer.Option(
    "--date", help="Only the prices in force on this date of service (YYYY-MM-DD)")]
JsonOption = Annotated[bool, typer.Option("--json")]


def _load(file: Path, payer: str | None, label: str | None, effective: str | None,
          as_json: bool) -> None:
    from medbill_core.services.fees import load_price_list

    start = parse_date_option(effective, "--effective")
    medbill = open_app()
    what = "charge master" if payer is None else f"fee schedule of {payer}"
    with medbill.unit_of_work() as work, service_progress(f"loading the {what}") as on_progress:
        summary = load_price_list(work, file, payer_key=payer, label=label, effective=start,
                                  on_progress=on_progress)
    if as_json:
        print_json(summary.as_json())
        return
    through = summary.last_date.isoformat() if summary.last_date else "open"
    console.print(f"Loaded {summary.rows} prices for {len(summary.codes)} codes into the "
                  f"{what} (load {summary.load_id}, {summary.label}), dates of "
                  f"service from {summary.first_date} to {through}; where they overlap "
                  "earlier loads, these win.", highlight=False, soft_wrap=True, markup=False)


def _show(payer: str | None, code: str | None, on: str | None, as_json: bool) -> None:
    from medbill_core.services.fees import FeeSchedules

    when = parse_date_option(on, "--date")
    medbill = open_app()
    with medbill.unit_of_work() as work:
        work.require(Action.FEES_READ)
        if payer is not None:
            work.app.hooks.context.payer(payer)  # an unknown payer is an error, not "nothing"
        entries = FeeSchedules(work.session).entries(
            payer_key=payer, charge_master=payer is None, code=code, on=when)
    if as_json:
        print_json([entry.as_json() for entry in entries])
        return
    title = ("charge master" if payer is None else f"fee schedule of {payer}") + (
        f" on {when}" if when else "")
    # dates and amounts are looked up: never cut (the version label and description wrap)
    table = data_table("code", "modifier", "amount", "from", "through", "load", "description",
                       title=f"{title}: {len(entries)} prices",
                       keys=("code", "modifier", "amount", "from", "through"),
                       numeric=("amount",))
    for entry in entries:
        table.add_row(entry.procedure_code, entry.modifier or "", str(entry.amount),
                      str(entry.effective_from), str(entry.effective_to or "open"),
                      f"{entry.load_id} {escape(entry.label)}", escape(entry.description or ""))
    print_table(table)


def _loads(payer: str | None, as_json: bool) -> None:
    from medbill_core.services.fees import loads

    medbill = open_app()
    with medbill.unit_of_work(read_only=True) as work:
        if payer is not None:
            work.app.hooks.context.payer(payer)
        found = loads(work, payer_key=payer)
    if as_json:
        print_json([record.as_json() for record in found])
        return
    title = "charge master" if payer is None else f"fee schedule of {payer}"
    table = data_table("load", "version", "file", "rows", "loaded", "by", "sha256",
                       title=f"{title}: {len(found)} loads, newest first",
                       keys=("load", "rows", "loaded", "sha256"), numeric=("rows",))
    for record in found:
        table.add_row(str(record.load_id), escape(record.label), escape(record.source_file),
                      str(record.rows), f"{record.loaded_at:%Y-%m-%d %H:%M}",
                      escape(record.loaded_by), record.sha256[:12])
    print_table(table)


@fees_app.command("load")
@cli_errors
def fees_load(
    payer: Annotated[str, typer.Argument(help="Payer key from medbill.toml")],
    file: FileArgument,
    label: LabelOption = None,
    effective: EffectiveOption = None,
    as_json: JsonOption = False,
) -> None:
    """Load PAYER's contracted allowed amounts from FILE (checked whole; audited)."""
    _load(file, payer, label, effective, as_json)


@fees_app.command("show")
@cli_errors
def fees_show(
    payer: Annotated[str, typer.Argument(help="Payer key from medbill.toml")],
    code: CodeOption = None,
    on: DateOption = None,
    as_json: JsonOption = False,
) -> None:
    """PAYER's fee schedule on file (every load, or the prices in force on --date)."""
    _show(payer, code, on, as_json)


@chargemaster_app.command("load")
@cli_errors
def chargemaster_load(
    file: FileArgument,
    label: LabelOption = None,
    effective: EffectiveOption = None,
    as_json: JsonOption = False,
) -> None:
    """Load the practice's prices from FILE (checked whole; audited)."""
    _load(file, None, label, effective, as_json)


@chargemaster_app.command("show")
@cli_errors
def chargemaster_show(
    code: CodeOption = None,
    on: DateOption = None,
    as_json: JsonOption = False,
) -> None:
    """The charge master on file (every load, or the prices in force on --date)."""
    _show(None, code, on, as_json)


@fees_app.command("loads")
@cli_errors
def fees_loads(
    payer: Annotated[str, typer.Argument(help="Payer key from medbill.toml")],
    as_json: JsonOption = False,
) -> None:
    """Every load of PAYER's fee schedule: version, file, checksum, who and when."""
    _loads(payer, as_json)


@chargemaster_app.command("loads")
@cli_errors
def chargemaster_loads(as_json: JsonOption = False) -> None:
    """Every load of the charge master: version, file, checksum, who and when."""
    _loads(None, as_json)
