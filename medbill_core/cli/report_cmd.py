"""``medbill report``: the revenue-cycle KPIs (``report kpi``) and the claims behind each
(``report kpi-claims``). Read-only; claims are named by claim number, never by patient."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Annotated

import typer
from rich.markup import escape

from medbill_core.cli.common import (
    cli_errors,
    console,
    data_table,
    fail,
    open_app,
    parse_choice_option,
    parse_date_option,
    print_json,
    print_table,
)

app = typer.Typer(help="Reports: the revenue-cycle KPIs and the claims behind them.",
                  no_args_is_help=True)

From = Annotated[str | None, typer.Option(
    "--from", help="First day of the period, YYYY-MM-DD (default: the 1st of the month 11 "
                   "months back, or of --to's)")]
To = Annotated[str | None, typer.Option(
    "--to", help="Last day of the period, YYYY-MM-DD (default today)")]
AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable output")]


def _period(period_from: str | None, period_to: str | None) -> tuple[date | None, date | None]:
    return (parse_date_option(period_from, "--from", future_days=0),
            parse_date_option(period_to, "--to", future_days=0))


@app.command("kpi")
@cli_errors
def kpi_command(period_from: From = None, period_to: To = None, as_json: AsJson = False,
                as_csv: Annotated[bool, typer.Option(
                    "--csv", help="One CSV row per KPI and month (and one per KPI for the "
                                  "whole period, month 'period')")] = False) -> None:
    """Days in A/R, clean-claim, first-pass, denial and net collection rates, A/R over 90 and
    120 days, charge lag, ERA lag and the payer mix, with their definitions and monthly
    trends."""
    from medbill_core.services.kpi import (
        CSV_COLUMNS,
        Unit,
        display,
        display_quantity,
        kpi_report,
    )

    if as_json and as_csv:
        raise fail("--json and --csv: choose one", 2)
    start, end = _period(period_from, period_to)
    with open_app().unit_of_work(read_only=True) as work:
        report = kpi_report(work, period_from=start, period_to=end)
    if as_json:
        print_json(report.as_json())
        return
    if as_csv:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(report.csv_rows())
        typer.echo(buffer.getvalue(), nl=False)
        return
    table = data_table("KPI", "value", "numerator", "denominator",
                       title=f"KPIs {report.period_from} to {report.period_to} "
                             "(values rounded half up to 0.1)",
                       keys=("KPI",), numeric=("value", "numerator", "denominator"))
    for figure in report.figures:
        value = figure.display
        if figure.median is not None:
            value += f" (median {figure.median})"
        table.add_row(escape(figure.definition.title), value,
                      display_quantity(figure.total.numerator),
                      display_quantity(figure.total.denominator))
    print_table(table)
    denials = data_table("denied: CARC", "meaning", "claims", "amount",
                         title="Denials on the payer's first answer, by CARC",
                         keys=("denied: CARC",), numeric=("claims", "amount"))
    for line in report.denials_by_carc:
        denials.add_row(escape(line.key), escape(line.label), str(line.claims), str(line.amount))
    print_table(denials)
    mix = data_table("payer", "charges", "share", "payments", "share ",
                     title="Payer mix", keys=("payer",),
                     numeric=("charges", "share", "payments", "share "))
    for share in report.payer_mix:
        mix.add_row(escape(share.payer), str(share.charges),
                    display(share.charge_share, Unit.RATE), str(share.payments),
                    display(share.payment_share, Unit.RATE))
    print_table(mix)
    console.print("Definitions and monthly trends: medbill report kpi --json", markup=False)


@app.command("kpi-claims")
@cli_errors
def kpi_claims_command(
    kpi: Annotated[str, typer.Argument(help="The KPI: days_in_ar, clean_claim_rate, "
                                            "first_pass_resolution_rate, denial_rate, "
                                            "net_collection_rate, ar_over_90, ar_over_120, "
                                            "charge_lag, era_lag")],
    part: Annotated[str, typer.Option(help="numerator or denominator")] = "numerator",
    month: Annotated[str | None, typer.Option(help="One month of the period, YYYY-MM")] = None,
    period_from: From = None, period_to: To = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many")] = 100,
    after: Annotated[int | None, typer.Option(min=0, help="Claims after this claim id")] = None,
    as_json: AsJson = False,
) -> None:
    """The claims behind a KPI (its numerator or denominator), by claim id."""
    from medbill_core.services.kpi import Part, kpi_claims, kpi_of

    which = parse_choice_option(part, "--part", Part)
    start, end = _period(period_from, period_to)
    with open_app().unit_of_work(read_only=True) as work:
        claims = kpi_claims(work, kpi_of(kpi), part=which, period_from=start, period_to=end,
                            month=month, after_id=after, limit=limit)
    if as_json:
        print_json([claim.as_json() for claim in claims])
        return
    table = data_table("id", "claim", "payer", "state", "service", "charge",
                       title=f"{len(claims)} claims: {kpi} {which.value}",
                       keys=("id", "claim"), numeric=("id", "charge"))
    for claim in claims:
        table.add_row(str(claim.id), escape(claim.claim_number), escape(claim.payer_key or ""),
                      claim.state, str(claim.service_date), str(claim.charge))
    print_table(table)
