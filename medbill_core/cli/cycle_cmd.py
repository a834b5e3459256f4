"""Commands that move claims through the cycle: submit, fetch responses, post remittances."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from medbill_core.cli.claims_cmd import app as claims_app
from medbill_core.cli.common import cli_errors, console, open_app, print_json
from medbill_core.domain import DocumentKind, InboundDocument
from medbill_core.errors import MedbillError
from medbill_core.services.responses import fetch_and_apply, ingest_document

responses_app = typer.Typer(help="Acknowledgments, status responses and remittances.",
                            no_args_is_help=True)
remit_app = typer.Typer(help="Remittance advice (835).", no_args_is_help=True)


@claims_app.command("submit")
@cli_errors
def submit_claims(
    claim: Annotated[list[int] | None, typer.Option(help="Only these claim ids")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Batch validated claims by payer, record them in the outbox and send everything pending."""
    from medbill_core.services.submission import submit

    medbill = open_app()
    outcomes = submit(medbill, claim_ids=claim)
    rows = [{"submission": o.submission_id, "payer": o.payer_key, "claims": o.claims,
             "status": o.status, "remote_id": o.remote_id, "error": o.error} for o in outcomes]
    if as_json:
        print_json(rows)
    else:
        table = Table("submission", "payer", "claims", "status", "remote id", "error",
                      title="submissions")
        for row in rows:
            table.add_row(*(str(v) if v is not None else "-" for v in row.values()))
        console.print(table)
    if any(o.status != "sent" for o in outcomes):
        raise typer.Exit(1)


@responses_app.command("fetch")
@cli_errors
def fetch(channel: Annotated[list[str] | None, typer.Option(
        help="Channel to poll (default: every channel a payer uses)")] = None) -> None:
    """Poll channels and apply what arrived (999, TA1, 277CA, 835 ...)."""
    medbill = open_app()
    channels = channel or sorted({p.channel for p in medbill.config.payers.values() if p.channel})
    table = Table("channel", "document", "kind", "status", "detail", title="responses")
    count = 0
    for name in channels:
        for result in fetch_and_apply(medbill, name):
            table.add_row(name, result.document_id, result.kind, result.status, result.detail)
            count += 1
    console.print(table if count else "no documents waiting")


@remit_app.command("post")
@cli_errors
def post_file(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
              as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Post an 835 received outside a channel. Posting the same file twice posts once."""
    medbill = open_app()
    try:
        content = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise MedbillError(f"{file.name}: not a text file") from None
    import hashlib

    document = InboundDocument(channel="file", kind=DocumentKind.REMITTANCE_835,
                               document_id=hashlib.sha256(content.encode()).hexdigest()[:32],
                               content=content)
    result = ingest_document(medbill, document)
    if as_json:
        print_json({"file": file.name, "status": result.status, "detail": result.detail})
    else:
        console.print(f"{file.name}: {result.status}" + (f" — {result.detail}"
                                                          if result.detail else ""))
    if result.status in ("undecodable", "failed"):
        raise typer.Exit(1)
