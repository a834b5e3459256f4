"""``medbill patients`` and ``medbill coverages``: import and list."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from medbill_core.cli.common import cli_errors, console, open_app, print_problem
from medbill_core.services.importing import ImportReport, import_coverages, import_patients

app = typer.Typer(help="Patients.", no_args_is_help=True)
coverages_app = typer.Typer(help="Insurance coverages.", no_args_is_help=True)

FileArgument = Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                              help="CSV or JSON file")]
FormatOption = Annotated[str | None, typer.Option("--format", help="csv or json "
                                                  "(default: from the file extension)")]
KeepGoodOption = Annotated[bool, typer.Option(
    "--keep-good", help="Import the good rows even when some are bad")]


def _report(kind: str, report: ImportReport) -> None:
    console.print(f"imported {report.imported} {kind}")
    for problem in report.rejected:
        print_problem(problem.message, "[yellow]skipped[/]")
    if report.rejected:
        raise typer.Exit(1)


@app.command("import")
@cli_errors
def import_patients_command(file: FileArgument, file_format: FormatOption = None,
                            keep_good: KeepGoodOption = False) -> None:
    """Create or update patients (key: account_number)."""
    medbill = open_app()
    with medbill.unit_of_work() as work:
        report = import_patients(work, file, file_format=file_format, keep_good=keep_good)
    _report("patients", report)


@app.command("list")
@cli_errors
def list_patients(limit: Annotated[int, typer.Option(min=1)] = 50,
                  offset: Annotated[int, typer.Option(min=0)] = 0) -> None:
    """Patients by id."""
    medbill = open_app()
    with medbill.unit_of_work() as work:
        patients = work.patients.list(limit=limit, offset=offset)
        table = Table("id", "account", "name", "coverages")
        for patient in patients:
            coverages = work.patients.coverages(patient.id)
            table.add_row(str(patient.id), patient.account_number,
                          f"{patient.last_name}, {patient.first_name}",
                          ", ".join(f"{c.payer_key} ({c.order.value})" for c in coverages) or "-")
    console.print(table)


@coverages_app.command("import")
@cli_errors
def import_coverages_command(file: FileArgument, file_format: FormatOption = None,
                             keep_good: KeepGoodOption = False) -> None:
    """Create or update coverages (patient by account_number; key: payer and order)."""
    medbill = open_app()
    with medbill.unit_of_work() as work:
        report = import_coverages(work, file, file_format=file_format, keep_good=keep_good)
    _report("coverages", report)


providers_app = typer.Typer(help="Rendering and referring providers.", no_args_is_help=True)


@providers_app.command("add")
@cli_errors
def add_provider(
    npi: Annotated[str, typer.Option(help="10-digit NPI")],
    last_name: Annotated[str, typer.Option(help="Last name or organization name")],
    first_name: Annotated[str | None, typer.Option()] = None,
    taxonomy: Annotated[str | None, typer.Option(help="NUCC taxonomy code")] = None,
) -> None:
    """Register (or update) a provider so claims can name it as rendering or referring."""
    from medbill_core.domain import Provider, validate_record

    medbill = open_app()
    provider = validate_record(Provider, {"npi": npi, "last_name": last_name,
                                          "first_name": first_name, "taxonomy": taxonomy},
                               record="provider")
    with medbill.unit_of_work() as work:
        stored = work.patients.register_provider(provider)
    console.print(f"provider {stored.npi} registered (id {stored.id})")


@providers_app.command("list")
@cli_errors
def list_providers() -> None:
    """Registered providers."""
    from sqlalchemy import select

    from medbill_core.storage.schema import ProviderRow

    medbill = open_app()
    table = Table("id", "npi", "name", "taxonomy")
    with medbill.database.reader() as session:
        for row in session.scalars(select(ProviderRow).order_by(ProviderRow.id)):
            table.add_row(str(row.id), row.npi, ", ".join(filter(None, [row.last_name,
                                                                        row.first_name])),
                          row.taxonomy or "-")
    console.print(table)
