"""``medbill patients`` and ``medbill coverages``: import and list."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from medbill_core.cli.common import cli_errors, console, open_app, print_json, print_problem
from medbill_core.services.importing import (
    MAX_REPORTED_ROWS,
    ImportRefused,
    ImportReport,
    import_coverages,
    import_patients,
)

app = typer.Typer(help="Patients.", no_args_is_help=True)
coverages_app = typer.Typer(help="Insurance coverages.", no_args_is_help=True)

FileArgument = Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                              help="CSV or JSON file")]
FormatOption = Annotated[str | None, typer.Option("--format", help="csv or json "
                                                  "(default: from the file extension)")]
KeepGoodOption = Annotated[bool, typer.Option(
    "--keep-good", help="Import the good rows even when some are bad")]


JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output")]


def _report(kind: str, report: ImportReport, as_json: bool = False) -> None:
    """Counts, then one line per updated record naming the fields that changed."""
    if as_json:
        print_json({"imported": report.imported,
                    "created": [c.key for c in report.created],
                    "updated": [{"row": c.label, "key": c.key, "fields": c.fields}
                                for c in report.updated],
                    "unchanged": report.unchanged,
                    "rejected": [p.message for p in report.rejected]})
    else:
        counts = ""
        if report.updated or report.unchanged:
            counts = (f" ({len(report.created)} created, {len(report.updated)} updated, "
                      f"{report.unchanged} unchanged)")
        console.print(f"imported {report.imported} {kind}{counts}", highlight=False)
        for change in report.updated:
            console.print(f"  {change.label} ({change.key}): changed {', '.join(change.fields)}",
                          highlight=False, soft_wrap=True)
    for problem in report.rejected[:MAX_REPORTED_ROWS]:
        print_problem(problem.message, "[yellow]skipped[/]")
    _more(len(report.rejected))
    if report.rejected:
        raise typer.Exit(1)


def _more(count: int) -> None:
    if count > MAX_REPORTED_ROWS:
        print_problem(f"{count - MAX_REPORTED_ROWS} more bad rows not listed",
                      "[yellow]skipped[/]")


def _refused(error: ImportRefused) -> typer.Exit:
    """The one-line error, then the other bad rows (up to the limit) so all can be fixed at once."""
    print_problem(error.message)
    for problem in error.rejected[1:MAX_REPORTED_ROWS]:
        print_problem(problem.message, "  also bad:")
    _more(len(error.rejected))
    return typer.Exit(error.exit_code)


@app.command("import")
@cli_errors
def import_patients_command(file: FileArgument, file_format: FormatOption = None,
                            keep_good: KeepGoodOption = False, as_json: JsonOption = False
                            ) -> None:
    """Create or update patients (key: account_number). Absent columns and blank cells leave
    stored values unchanged; "(clear)" clears one."""
    medbill = open_app()
    try:
        with medbill.unit_of_work() as work:
            report = import_patients(work, file, file_format=file_format, keep_good=keep_good)
    except ImportRefused as error:
        raise _refused(error) from None
    _report("patients", report, as_json)


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
                             keep_good: KeepGoodOption = False, as_json: JsonOption = False
                             ) -> None:
    """Create or update coverages (patient by account_number; key: payer and order). Absent
    columns and blank cells leave stored values unchanged; "(clear)" clears one."""
    medbill = open_app()
    try:
        with medbill.unit_of_work() as work:
            report = import_coverages(work, file, file_format=file_format, keep_good=keep_good)
    except ImportRefused as error:
        raise _refused(error) from None
    _report("coverages", report, as_json)


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
