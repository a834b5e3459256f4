"""``medbill x12 ...``: parse and validate X12 files from the command line.

Errors follow the CLI rule: one positioned line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from medbill_payer_generic_x12.codec import decode_document
from medbill_payer_generic_x12.validation import validate_document
from medbill_payer_generic_x12.x12.errors import X12Error

app = typer.Typer(name="x12", help="Read and check X12 5010 documents.", no_args_is_help=True)


def _read(path: Path) -> str:
    try:
        # latin-1 never fails: X12 is ASCII; a stray byte then shows up as an X12 error.
        return path.read_text(encoding="latin-1")
    except OSError as exc:
        typer.echo(f"error: cannot read {path}: {exc.strerror}", err=True)
        raise typer.Exit(2) from None


@app.command("parse")
def parse(file: Path = typer.Argument(
              ..., help="X12 file (835, 999, 277CA, 271, 277, TA1, 837P, 837I)"),
          as_json: bool = typer.Option(False, "--json", help="print the domain objects as JSON"),
          lenient: bool = typer.Option(False, "--lenient",
                                       help="read past known payer-file defects")) -> None:
    """Decode FILE into medbill domain objects."""
    text = _read(file)
    try:
        kind, objects = decode_document(text, strict=not lenient)
    except X12Error as exc:
        typer.echo(f"error: {file.name}: {exc}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        payload = {"kind": kind.value, "count": len(objects),
                   "documents": [item.model_dump(mode="json") for item in objects]}
        typer.echo(json.dumps(payload, indent=2))
        return
    typer.echo(f"{file.name}: {kind.value}, {len(objects)} transaction set(s)")


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
        typer.echo(f"{file.name}: {finding}")
    typer.echo(f"{file.name}: {label}: {errors} error(s), {len(findings) - errors} warning(s)")
    if errors:
        raise typer.Exit(1)
