"""``medbill x12 ...``: parse and validate X12 files from the command line.

Errors follow the CLI rule: one positioned line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from medbill_core.api import DocumentKind
from medbill_payer_generic_x12.codec import read_document
from medbill_payer_generic_x12.validation import validate_document
from medbill_payer_generic_x12.x12.errors import X12Error, visible

app = typer.Typer(name="x12", help="Read and check X12 5010 documents.", no_args_is_help=True)


def _read(path: Path) -> str:
    try:
        # latin-1 never fails: X12 is ASCII; a stray byte then shows up as an X12 error (a
        # UTF-8 byte-order mark, read as three latin-1 characters, is skipped by the reader).
        return path.read_text(encoding="latin-1")
    except OSError as exc:
        typer.echo(f"error: cannot read {path}: {exc.strerror}", err=True)
        raise typer.Exit(2) from None


@app.command("parse")
def parse(file: Path = typer.Argument(
              ..., help="X12 file (835, 999, 277CA, 270, 271, 276, 277, TA1, 837P, 837I)"),
          as_json: bool = typer.Option(False, "--json", help="print the domain objects and "
                                       "the findings as JSON"),
          strict: bool = typer.Option(False, "--strict",
                                      help="refuse the file when it has any error finding "
                                      "(one line each, exit 1)"),
          lenient: bool = typer.Option(False, "--lenient",
                                       help="read past structural defects payers' files have; "
                                       "what they spoil is skipped and reported, never "
                                       "replaced")) -> None:
    """Decode FILE into medbill domain objects, with positioned findings.

    A structurally sound file always decodes; what breaks a business
    rule (an NPI check digit, an ICD-9 qualifier, a code not valid on
    the date, characters outside the X12 sets, an 835 that does not
    balance) is printed as a finding, one line each. A structural
    defect (a missing segment, loops out of order, an envelope count)
    is one positioned error, exit 1.
    """
    text = _read(file)
    try:
        result = read_document(text, lenient=lenient)
    except X12Error as exc:
        typer.echo(visible(f"error: {file.name}: {exc}"), err=True)
        raise typer.Exit(1) from None
    refused = strict and bool(result.errors)
    if as_json:
        payload = {"kind": result.kind.value, "count": len(result.objects),
                   "refused": refused,
                   "findings": [finding.as_dict() for finding in result.findings],
                   "documents": [] if refused else
                   [item.model_dump(mode="json") for item in result.objects]}
        typer.echo(json.dumps(payload, indent=2))
        if refused:
            raise typer.Exit(1)
        return
    if refused:
        for finding in result.errors:
            typer.echo(visible(f"error: {file.name}: {finding}"), err=True)
        raise typer.Exit(1)
    for finding in result.findings:
        typer.echo(visible(f"{file.name}: {finding}"))
    noun = "claim(s)" if result.kind is DocumentKind.CLAIM_837P else "transaction set(s)"
    summary = f"{file.name}: {result.kind.value}, {len(result.objects)} {noun}"
    if result.findings:
        summary += f", {len(result.findings)} finding(s)"
    typer.echo(summary)


@app.command("validate")
def validate(file: Path = typer.Argument(..., help="X12 file to check"),
             as_json: bool = typer.Option(False, "--json", help="Findings as JSON")) -> None:
    """Structural and balancing checks; exit 1 when any error is found."""
    text = _read(file)
    kind, findings = validate_document(text)
    label = kind.value if kind else "unreadable"
    errors = sum(1 for f in findings if f.severity == "error")
    if as_json:
        import json

        typer.echo(json.dumps({"file": file.name, "kind": kind.value if kind else None,
                               "errors": errors, "warnings": len(findings) - errors,
                               "findings": [{"severity": f.severity, "text": str(f)}
                                            for f in findings]}, indent=2))
        if errors:
            raise typer.Exit(1)
        return
    for finding in findings:
        typer.echo(visible(f"{file.name}: {finding}"))
    typer.echo(f"{file.name}: {label}: {errors} error(s), {len(findings) - errors} warning(s)")
    if errors:
        raise typer.Exit(1)
