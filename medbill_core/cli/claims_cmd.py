"""``medbill claims``: list, show, import and scrub claims."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from medbill_core.cli.common import cli_errors, console, open_app, print_json
from medbill_core.domain import Claim, ClaimState, validate_record
from medbill_core.errors import NotFound, UnknownPayer, ValidationFailed
from medbill_core.services.importing import read_rows

app = typer.Typer(help="Claims.", no_args_is_help=True)


@app.command("list")
@cli_errors
def list_claims(
    state: Annotated[ClaimState | None, typer.Option(help="Only claims in this state")] = None,
    payer: Annotated[str | None, typer.Option(help="Only claims billed to this payer key")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 100,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Claims with their state, payer and totals."""
    medbill = open_app()
    with medbill.unit_of_work() as work:
        claims = work.claims.list(state=state, payer_key=payer, limit=limit)
        rows = []
        for claim in claims:
            balance = work.ledger.claim_balance(claim.id)
            rows.append({"id": claim.id, "claim_number": claim.claim_number,
                         "state": claim.state.value, "payer": claim.payer_key or "self-pay",
                         "service_date": claim.service_date_from.isoformat(),
                         "charge": str(claim.total_charge),
                         "insurance_balance": str(balance.insurance),
                         "patient_balance": str(balance.patient)})
    if as_json:
        print_json(rows)
        return
    table = Table("id", "claim", "state", "payer", "DOS", "charge", "ins. bal.", "pat. bal.",
                  title=f"{len(rows)} claims")
    for row in rows:
        table.add_row(*(str(value) for value in row.values()))
    console.print(table)


def _find(work: Any, reference: str) -> Claim:
    if reference.isdigit():
        try:
            return work.claims.get(int(reference))
        except NotFound:
            pass
        try:
            return work.claims.by_number(reference)
        except NotFound:
            # "claim number 7 not found" would hide that the id was tried first
            raise NotFound("claim id or number", reference) from None
    return work.claims.by_number(reference)


@app.command("show")
@cli_errors
def show_claim(
    reference: Annotated[str, typer.Argument(help="Claim id or claim number")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """One claim: lines, state history and ledger totals."""
    medbill = open_app()
    with medbill.unit_of_work() as work:
        claim = _find(work, reference)
        history = work.claims.history(claim.id)
        totals = work.ledger.totals(claim_id=claim.id)
    data = claim.model_dump(mode="json")
    data["total_charge"] = str(claim.total_charge)
    data["history"] = [t.model_dump(mode="json") for t in history]
    data["ledger"] = {kind.value: str(amount) for kind, amount in totals.by_kind.items()}
    data["balance"] = {"insurance": str(totals.balance.insurance),
                       "patient": str(totals.balance.patient)}
    if as_json:
        print_json(data)
        return
    console.print(f"[bold]claim {claim.claim_number}[/] (id {claim.id}) — {claim.state.value}, "
                  f"payer {claim.payer_key or 'self-pay'}, frequency {claim.frequency.value}")
    console.print(f"service {claim.service_date_from} to {claim.service_date_to}, "
                  f"POS {claim.place_of_service}, diagnoses {', '.join(claim.diagnoses)}")
    lines = Table("#", "code", "modifiers", "units", "charge", "pointers")
    for line in claim.lines:
        lines.add_row(str(line.line_number), line.procedure_code, " ".join(line.modifiers),
                      str(line.units), str(line.charge),
                      ",".join(str(p) for p in line.diagnosis_pointers))
    console.print(lines)
    console.print("ledger: " + ", ".join(f"{k} {v}" for k, v in data["ledger"].items())
                  + f"; balance insurance {totals.balance.insurance}, "
                    f"patient {totals.balance.patient}")
    for step in history:
        console.print(f"  {step.at:%Y-%m-%d %H:%M} {step.source.value} -> {step.target.value} "
                      f"by {step.actor}" + (f" ({step.reason})" if step.reason else ""))


@app.command("import")
@cli_errors
def import_claims(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Create draft claims from a JSON list (patient by account_number). All or nothing."""
    medbill = open_app()
    imported = 0
    with medbill.unit_of_work() as work:
        for number, record in read_rows(file, "json"):
            label = f"record {number}"
            account = record.pop("account_number", None)
            try:
                if account is not None:
                    record["patient_id"] = work.patients.by_account(str(account)).id
                work.claims.create(validate_record(Claim, record, record=label))
            except NotFound:
                raise ValidationFailed(label, [("account_number",
                                                "no patient has this account number")]) from None
            except UnknownPayer:
                raise ValidationFailed(label, [("payer_key", "not a configured payer (see "
                                                             "[payers] in medbill.toml)")]
                                       ) from None
            imported += 1
    console.print(f"imported {imported} claims")


class ScrubState(StrEnum):
    """Claims ``medbill claims scrub`` selects by state (not yet submitted)."""

    DRAFT = "draft"
    VALIDATED = "validated"


_SEVERITY_STYLE = {"error": "bold red", "warning": "yellow"}


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _claims_to_scrub(work: Any, references: list[str] | None,
                     state: ScrubState | None) -> list[Claim]:
    if references:
        claims = [_find(work, reference) for reference in references]
        unique = {claim.id: claim for claim in claims}
        return [claim for claim in unique.values()
                if state is None or claim.state.value == state.value]
    states = [ClaimState(state.value)] if state else [ClaimState.DRAFT, ClaimState.VALIDATED]
    selected: list[Claim] = []
    for wanted in states:
        offset = 0
        while True:
            page = work.claims.list(state=wanted, limit=500, offset=offset)
            selected.extend(page)
            if len(page) < 500:
                break
            offset += 500
    return sorted(selected, key=lambda claim: claim.id)


@app.command("scrub")
@cli_errors
def scrub_command(
    state: Annotated[ScrubState | None, typer.Option(
        help="Only claims in this state (default: draft and validated)")] = None,
    claim: Annotated[list[str] | None, typer.Option(
        "--claim", help="Claim id or claim number; repeat for several")] = None,
    no_validate: Annotated[bool, typer.Option(
        "--no-validate", help="Only report: do not move clean drafts to validated (or"
                              " blocked validated claims back to draft)")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Run every enabled plugin's claim edits and report findings and the clean-claim rate.

    Exit 0 when no claim has an error finding, 1 when any has (warnings do not block).
    """
    from medbill_core.services.scrubbing import scrub_claims

    medbill = open_app()
    with medbill.unit_of_work() as work:
        claims = _claims_to_scrub(work, claim, state)
        report = scrub_claims(work, [c.id for c in claims], validate=not no_validate)
    blocked = [r for r in report.results if not r.clean]
    if as_json:
        print_json({
            "claims": len(report.results), "clean": report.clean_count,
            "blocked": len(blocked), "clean_claim_rate": str(report.clean_claim_rate),
            "validated": not no_validate,
            "results": [{"claim_id": r.claim_id, "claim_number": r.claim_number,
                         "clean": r.clean,
                         "findings": [f.model_dump(mode="json") for f in r.findings]}
                        for r in report.results]})
    elif not report.results:
        console.print("no claims to scrub")
    else:
        findings = [f for r in report.results for f in r.findings]
        if findings:
            table = Table(title=_plural(len(findings), "finding"))
            table.add_column("claim", overflow="fold")
            table.add_column("line", justify="right")
            table.add_column("severity", no_wrap=True)
            table.add_column("code", overflow="fold", min_width=12)  # never cut: it is searched
            table.add_column("message", ratio=3, overflow="fold")
            table.add_column("fix hint", ratio=2, overflow="fold")
            for finding in findings:
                severity = finding.severity.value
                table.add_row(escape(finding.claim_number),
                              str(finding.line_number or ""),
                              f"[{_SEVERITY_STYLE[severity]}]{severity}[/]",
                              escape(finding.code), escape(finding.message),
                              escape(finding.fix_hint or ""))
            console.print(table)
        action = "" if no_validate else " (clean drafts moved to validated)"
        console.print(f"{_plural(len(report.results), 'claim')} scrubbed:"
                      f" {report.clean_count} clean,"
                      f" {len(blocked)} blocked{action}; clean-claim rate"
                      f" {report.clean_claim_rate}%", highlight=False)
    if blocked:
        raise typer.Exit(1)
