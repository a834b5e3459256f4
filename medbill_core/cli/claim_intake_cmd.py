"""``medbill claims import FILE.837``: the 837 intake's side of ``claims import`` (the
command itself, shared with the JSON import, is in :mod:`.claims_cmd`)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from medbill_core.cli.common import console, open_app, print_json, print_problem
from medbill_core.errors import MedbillError


def read_claim_file(path: Path) -> str | None:
    """The file's text when it is an X12 interchange (it starts with ISA), else ``None``
    (a JSON import). X12 is ASCII; a file in Latin-1 is read as such, not refused."""
    from medbill_core.services.claim_intake import is_x12

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise MedbillError(f"{path.name}: cannot be read ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return text if is_x12(text) else None


def import_837(path: Path, content: str, *, dry_run: bool, as_json: bool) -> None:
    """Import (or, with ``dry_run``, report) the claims of an 837 file; exit 1 when a claim
    was refused or held."""
    from medbill_core.services.claim_intake import import_claim_file

    medbill = open_app()
    with medbill.unit_of_work() as work:
        report = import_claim_file(work, content, file_name=path.name, dry_run=dry_run)
    if as_json:
        print_json(report.as_json())
    else:
        for claim in report.claims:
            console.print(claim.line(report.dry_run), highlight=False, markup=False)
            for note in claim.notes:
                console.print(f"    {note}", highlight=False, markup=False)
            for finding in claim.findings:
                console.print(f"    finding: {finding}", highlight=False, markup=False)
        console.print(report.summary() + ("" if report.import_id is None
                                          else f" (import {report.import_id})"),
                      highlight=False, markup=False)
        if dry_run:
            print_problem("dry run: nothing was imported", "[yellow]note:[/]")
    if not report.ok:
        raise typer.Exit(1)


def show_imports(import_id: int | None, *, limit: int, as_json: bool) -> None:
    """``claims imports``: the latest runs, or one run's recorded report."""
    from medbill_core.cli.common import data_table, print_table
    from medbill_core.services.claim_intake import get_import, list_imports

    medbill = open_app()
    with medbill.unit_of_work(read_only=True) as work:
        if import_id is not None:
            report = get_import(work, import_id)
        else:
            runs = list_imports(work, limit=limit)
    if import_id is not None:
        if as_json:
            print_json(report.as_json())
            return
        for claim in report.claims:
            console.print(claim.line(), highlight=False, markup=False)
            for finding in claim.findings:
                console.print(f"    finding: {finding}", highlight=False, markup=False)
        console.print(report.summary() + f" (import {import_id})", highlight=False,
                      markup=False)
        return
    if as_json:
        print_json([run.as_json() for run in runs])
        return
    table = data_table("id", "file", "ISA13", "sender", "by", "at", "claims", "imported",
                       "skipped", "refused", "held", title=f"{len(runs)} claim imports",
                       keys=("id", "ISA13"), numeric=("claims", "imported", "skipped",
                                                     "refused", "held"))
    for run in runs:
        table.add_row(str(run.id), escape(run.file_name), run.interchange_control_number,
                      escape(run.sender), escape(run.actor), f"{run.imported_at:%Y-%m-%d %H:%M}",
                      *(str(run.counts[name]) for name in ("claims", "imported", "skipped",
                                                           "refused", "held")))
    print_table(table)
