"""``medbill claims import FILE.837``: the 837 intake's side of ``claims import`` (the
command itself, shared with the JSON import, is in :mod:`.claims_cmd`)."""

from __future__ import annotations

from pathlib import Path

import typer

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
