"""``medbill claims form`` (a claim on its paper form) and ``medbill claims reprint`` (a paper
batch printed again, for a reason); added to the ``claims`` group."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from medbill_core.cli.claims_cmd import app as claims_app
from medbill_core.cli.common import cli_errors, console, err_console, open_app, print_json
from medbill_core.domain import ClaimFinding
from medbill_core.domain.claim_forms import ClaimFormLayout
from medbill_core.privatefiles import publish_after


def _report(findings: list[ClaimFinding]) -> None:
    for finding in findings:
        err_console.print(f"warning: claim {finding.claim_number} {finding.field or ''}: "
                          f"{finding.message}", markup=False, highlight=False)


@claims_app.command("form")
@cli_errors
def claim_form(
    reference: Annotated[str, typer.Argument(help="Claim id or claim number")],
    layout: Annotated[ClaimFormLayout, typer.Option(
        help="form: the form drawn with the data (plain paper); data: the data alone, "
             "placed for pre-printed red forms")] = ClaimFormLayout.FORM,
    renderer: Annotated[str | None, typer.Option(
        help="Claim form renderer (cms1500, ub04 ...); default: the one for the claim's "
             "kind")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="PDF file to write (owner-only); default: the form's name in "
                            "this folder")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """A claim on its paper form: the CMS-1500 (professional) or the UB-04 (institutional)."""
    from medbill_core.services.claim_forms import refuse_errors, render_claim_form, sha256

    medbill = open_app()
    with publish_after() as files, medbill.unit_of_work() as work:
        rendered = render_claim_form(work, reference, renderer=renderer, layout=layout)
        refuse_errors(rendered, f"claim {rendered.claim_numbers[0]}")
        path = files.write(out or Path(rendered.filename), rendered.content)
    if as_json:
        print_json({"claim_number": rendered.claim_numbers[0], "renderer": rendered.renderer,
                    "layout": rendered.layout.value, "pages": rendered.pages,
                    "file": str(path), "sha256": sha256(rendered.content),
                    "findings": [f.model_dump(mode="json") for f in rendered.findings]})
        return
    _report(rendered.findings)
    console.print(f"claim {rendered.claim_numbers[0]}: {rendered.renderer} "
                  f"({rendered.layout.value}), {rendered.pages} page(s) -> {path}",
                  markup=False, highlight=False)


@claims_app.command("reprint")
@cli_errors
def reprint(
    batch: Annotated[int, typer.Argument(help="Outbox batch id (medbill claims outbox)")],
    reason: Annotated[str, typer.Option(
        help="Why the batch is printed again (kept in the audit trail)")],
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="PDF file to write (owner-only); default: "
                            "paper-batch-ID-reprint.pdf in this folder")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Print a paper batch that was printed before once more (a reason is required)."""
    from medbill_core.services.paper_claims import reprint_batch

    medbill = open_app()
    result = reprint_batch(medbill, batch, reason=reason,
                           write_to=out or Path(f"paper-batch-{batch}-reprint.pdf"))
    if as_json:
        print_json({"batch": batch, "pages": result.forms.pages,
                    "claims": len(result.forms.claim_numbers), "file": str(result.path),
                    "sha256": result.sha256})
        return
    _report(result.forms.findings)
    console.print(f"batch {batch}: {result.forms.pages} page(s), "
                  f"{len(result.forms.claim_numbers)} claim(s) -> {result.path}",
                  markup=False, highlight=False)
