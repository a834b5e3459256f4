"""``medbill codes``: look codes up for a date of service, and load code-set updates."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from medbill_core.cli.common import cli_errors, console, fail, parse_date_option
from medbill_core.codesets import CodeSets, CodeSystem, Reason, Verdict, load_file
from medbill_core.codesets.model import CodeSetError

app = typer.Typer(
    help="Code sets (ICD-10-CM, HCPCS/CPT, modifiers, place of service, CARC/RARC, group codes):"
    " show a code as of a date of service, load an official or licensed update.",
    no_args_is_help=True,
)

# Systems tried by `show` without --system (CPT is reached through hcpcs).
_SHOW_ORDER = (CodeSystem.ICD10CM, CodeSystem.HCPCS, CodeSystem.MODIFIER, CodeSystem.POS,
               CodeSystem.CARC, CodeSystem.RARC, CodeSystem.GROUP)

DataDirOption = Annotated[Path | None, typer.Option(
    "--data-dir", envvar="MEDBILL_CODESETS_DIR",
    help="User code-set directory (default: ~/.local/share/medbill/codesets)")]


def _status(verdict: Verdict) -> str:
    if verdict.ok:
        return "[green]valid[/]" + (" (format only)" if verdict.info and verdict.info.format_only
                                    else "")
    return f"[red]{verdict.reason.value.replace('_', ' ')}[/]"


def _print_verdict(verdict: Verdict) -> None:
    """One code as a small key/value block (readable at 80 columns)."""
    info = verdict.info
    code = info.display_code if info else verdict.code
    console.print(f"[bold]{escape(code)}[/]  {verdict.system.label}  {_status(verdict)}"
                  f" on {verdict.on}", highlight=False)
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column(overflow="fold")
    if info is not None:
        grid.add_row("description", escape(info.description or "-"))
        if info.short_description:
            grid.add_row("short", escape(info.short_description))
        if verdict.system is CodeSystem.ICD10CM:
            grid.add_row("billable", "yes" if info.billable else "no (category header)")
        grid.add_row("effective", str(info.effective or "-"))
        grid.add_row("terminated", str(info.terminated or "-"))
        grid.add_row("source", escape(info.source or "-"))
    if not verdict.ok or info is None:
        grid.add_row("why", escape(verdict.message))
    if verdict.note:
        grid.add_row("note", escape(verdict.note))
    console.print(grid)


@app.command("load")
@cli_errors
def load(
    system: Annotated[CodeSystem, typer.Argument(case_sensitive=False,
                                                 help="Code set the file belongs to")],
    file: Annotated[Path, typer.Argument(help="CSV in the packaged layout, a CSV export of"
                                         " the CMS HCPCS ANWEB file, or an ICD-10-CM"
                                         " order/codes file")],
    effective: Annotated[str | None, typer.Option(
        "--effective", help="ICD-10-CM: first date of service of the release (YYYY-MM-DD)")] = None,
    through: Annotated[str | None, typer.Option(
        "--through", help="ICD-10-CM: last date of service of the release (YYYY-MM-DD)")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Check FILE and store it as your SYSTEM code set, ahead of the packaged data.

    ICD-10-CM: one release per window --effective..--through (default: from the file name).
    """
    start = parse_date_option(effective, "--effective")
    end = parse_date_option(through, "--through")
    result = load_file(system, file, data_dir=data_dir, effective=start, through=end)
    window = (f" for dates of service {result.effective}..{result.through}"
              if result.effective else "")
    console.print(
        f"Loaded {result.rows:,} {system.label} codes from {escape(file.name)}{window} into"
        f" {escape(str(result.stored_at))}; they take precedence over the packaged data.",
        highlight=False, soft_wrap=True)


@app.command("show")
@cli_errors
def show(
    code: Annotated[str, typer.Argument(help="The code, e.g. E11.9, G0519, 25, 11, CO45")],
    system: Annotated[CodeSystem | None, typer.Option(
        "--system", "-s", case_sensitive=False,
        help="Only this code set (default: every code set the code is found in)")] = None,
    on: Annotated[str | None, typer.Option(
        "--date", "-d", help="Date of service (YYYY-MM-DD; default today)")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Show CODE as of a date of service: what it is, whether it is valid and why not."""
    when = parse_date_option(on) or date.today()
    codesets = CodeSets(data_dir)
    if system is not None:
        verdicts = [codesets.check(system, code, when)]
    else:
        verdicts = [v for v in (codesets.check(s, code, when) for s in _SHOW_ORDER)
                    if v.reason not in (Reason.FORMAT, Reason.UNKNOWN)]
        if not verdicts:
            raise fail(f"{code.strip()}: not found in any code set on {when}", 1)
    for verdict in verdicts:
        _print_verdict(verdict)
    if not any(v.ok for v in verdicts):
        raise typer.Exit(1)


@app.command("load-ncci")
@cli_errors
def load_ncci(
    table: Annotated[str, typer.Argument(help="ptp (procedure-to-procedure pairs) or mue")],
    files: Annotated[list[Path], typer.Argument(
        help="The quarterly CMS practitioner files (PTP: all parts of one quarter)")],
    data_dir: DataDirOption = None,
) -> None:
    """Store a quarter's NCCI practitioner edits ahead of the packaged ones."""
    from medbill_core.codesets import ncci

    if table not in ("ptp", "mue"):
        raise CodeSetError(f"unknown NCCI table {table!r}: use ptp or mue")
    if table == "mue" and len(files) != 1:
        raise CodeSetError("the MUE table is one file")
    result = (ncci.load_ptp(files, data_dir=data_dir) if table == "ptp"
              else ncci.load_mue(files[0], data_dir=data_dir))
    console.print(f"Loaded {result.rows:,} NCCI {table.upper()} rows into "
                  f"{escape(str(result.stored_at))}; they replace the packaged table.",
                  highlight=False, soft_wrap=True)
