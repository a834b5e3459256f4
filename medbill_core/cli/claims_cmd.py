"""``medbill claims``: list, show, import, edit, delete and scrub claims."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from medbill_core.cli.common import (
    cli_errors,
    console,
    data_table,
    err_console,
    open_app,
    parse_date_option,
    print_json,
    print_problem,
    print_table,
    progress_callback,
)
from medbill_core.codesets.explain import explain_status_pair, status_pairs_in
from medbill_core.domain import Claim, ClaimState, validate_record
from medbill_core.domain.base import saved_id
from medbill_core.errors import ValidationFailed
from medbill_core.lifecycle import NEXT_ACTOR

app = typer.Typer(help="Claims.", no_args_is_help=True)


@app.command("list")
@cli_errors
def list_claims(
    state: Annotated[ClaimState | None, typer.Option(help="Only claims in this state")] = None,
    payer: Annotated[str | None, typer.Option(help="Only claims billed to this payer key")] = None,
    patient: Annotated[str | None, typer.Option(
        "--patient", help="Only claims of this patient account number")] = None,
    service_from: Annotated[str | None, typer.Option(
        "--from", help="Only services on or after this date, YYYY-MM-DD")] = None,
    service_to: Annotated[str | None, typer.Option(
        "--to", help="Only services on or before this date, YYYY-MM-DD")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000, help="Claims per page")] = 100,
    page: Annotated[int, typer.Option(min=1, help="Page number (1 = the first claims)")] = 1,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Claims with their state, payer and balances, a page at a time, and the totals of every
    matching claim (not only the page). Deleted drafts show only with --state deleted.

    Each row: "payer owes" is what the claim's payer still owes on the visit; "patient owes"
    is what the patient owes on the visit, on the visit's first claim only (a secondary or
    replacement claim of the same visit shows 0.00). The totals count each visit once: a
    secondary claim or a replacement (frequency 7) does not add the visit's charge again, and
    the charge is the visit's current one. Replaced, voided and deleted claims are left out
    of the totals and counted on a line of their own. With --payer the "payer owes" total is
    that payer's share of the visits (what its rows show, added), labelled so (--json:
    payer_balance and payer instead of insurance_balance); without it, what every payer of
    the visits owes."""
    start = parse_date_option(service_from, "--from")
    end = parse_date_option(service_to, "--to")
    medbill = open_app()
    with medbill.unit_of_work(read_only=True) as work:
        patient_id = work.patients.by_account(patient).id if patient is not None else None
        filters = {"state": state, "payer_key": payer, "patient_id": patient_id,
                   "service_from": start, "service_to": end}
        claims = work.claims.list(**filters, limit=limit, offset=(page - 1) * limit)
        summary = work.claims.summary(**filters)
        rows = []
        for claim in claims:
            payer_owes, patient_owes = work.claims.row_balances(claim)
            rows.append({"id": claim.id, "claim_number": claim.claim_number,
                         "state": claim.state.value, "state_label": claim.state.label,
                         "next_actor": NEXT_ACTOR[claim.state],
                         "payer": claim.payer_key or "self-pay",
                         "service_date": claim.service_date_from.isoformat(),
                         "charge": str(claim.total_charge),
                         "insurance_balance": str(payer_owes),
                         "patient_balance": str(patient_owes)})
    first = (page - 1) * limit + 1 if rows else 0
    # one payer's listing totals that payer's share: named so, never "insurance" (every payer)
    owed: dict[str, str] = ({"insurance_balance": str(summary.insurance_balance)}
                            if summary.payer_key is None else
                            {"payer": summary.payer_key,
                             "payer_balance": str(summary.insurance_balance)})
    if as_json:
        print_json({"claims": rows, "page": page, "limit": limit,
                    "total": {"claims": summary.count, "visits": summary.visits,
                              "charge": str(summary.charges), **owed,
                              "patient_balance": str(summary.patient_balance),
                              "set_apart": {"claims": summary.set_apart,
                                            "charge": str(summary.set_apart_charges)}}})
        return
    shown = f"{first}-{first + len(rows) - 1} of " if rows and len(rows) < summary.count else ""
    # ids, claim numbers and dates are searched for: kept whole, other columns wrap
    table = data_table("id", "claim", "state", "next", "payer", "DOS", "charge", "payer owes",
                       "patient owes", title=f"{shown}{summary.count} claims",
                       keys=("id", "claim", "DOS"),
                       numeric=("charge", "payer owes", "patient owes"))
    table.show_edge = table.pad_edge = False
    for row in rows:
        table.add_row(str(row["id"]), escape(row["claim_number"]), row["state_label"],
                      row["next_actor"], escape(row["payer"]), row["service_date"], row["charge"],
                      row["insurance_balance"], row["patient_balance"])
    table.add_section()
    label = f"total: {summary.visits} visits" + (
        f" ({summary.payer_key}'s share)" if summary.payer_key is not None else "")
    table.add_row("", escape(label), "", "", "", "",
                  str(summary.charges), str(summary.insurance_balance),
                  str(summary.patient_balance))
    if summary.set_apart:
        table.add_row("", f"not counted: {summary.set_apart} replaced, voided or deleted", "",
                      "", "", "", str(summary.set_apart_charges), "", "")
    print_table(table)
    if rows and first + len(rows) - 1 < summary.count:
        err_console.print(f"more claims: --page {page + 1}", highlight=False, markup=False)


@app.command("show")
@cli_errors
def show_claim(
    reference: Annotated[str, typer.Argument(help="Claim id or claim number")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """One claim: lines, state history and ledger totals.

    The balance is the claim's as ``claims list`` shows it: "insurance" what the claim's
    payer still owes on the visit (0.00 on a replaced, voided or deleted claim), "patient"
    what the patient owes on the visit, on the visit's first claim only. The ledger lines
    and "visit_balance" are the visit's: its one account, the first claim's
    (``ledger_account``), which a secondary, replacement or void claim shares."""
    medbill = open_app()
    with medbill.unit_of_work() as work:
        claim = work.claims.find(reference)
        history = work.claims.history(claim.id)
        balances = work.claims.shown_balances(claim)
    totals = balances.visit
    data = claim.model_dump(mode="json")
    data["state_label"] = claim.state.label
    data["next_actor"] = NEXT_ACTOR[claim.state]
    data["total_charge"] = str(claim.total_charge)
    data["type_of_bill"] = claim.type_of_bill
    # a 277CA's STC codes in a history reason, in words beside them (never in place of them)
    data["history"] = [{**t.model_dump(mode="json"),
                        "meanings": [explain_status_pair(category, code) for category, code
                                     in status_pairs_in(t.reason or "")]} for t in history]
    data["ledger"] = {kind.value: str(amount) for kind, amount in totals.by_kind.items()}
    data["ledger_account"] = {"claim_id": balances.account_claim_id,
                              "claim_number": balances.account_claim_number}
    data["visit_balance"] = {"insurance": str(totals.balance.insurance),
                             "patient": str(totals.balance.patient)}
    data["balance"] = {"insurance": str(balances.payer_owes),
                       "patient": str(balances.patient_owes)}
    if as_json:
        print_json(data)
        return
    console.print(f"[bold]claim {escape(claim.claim_number)}[/] (id {claim.id}) — "
                  f"{claim.state.label} (next: {NEXT_ACTOR[claim.state]}), "
                  f"payer {claim.payer_key or 'self-pay'}, frequency {claim.frequency.value}")
    if claim.institutional is not None:
        from medbill_core.cli.claim_institutional_view import (
            print_institutional,
            print_institutional_lines,
        )

        print_institutional(claim, claim.institutional)
        print_institutional_lines(claim)
    else:
        console.print(f"service {claim.service_date_from} to {claim.service_date_to}, "
                      f"POS {claim.place_of_service}, diagnoses {', '.join(claim.diagnoses)}",
                      markup=False)
        lines = data_table("#", "code", "modifiers", "units", "charge", "pointers",
                           keys=("#", "code"), numeric=("#", "units", "charge"))
        for line in claim.lines:
            lines.add_row(str(line.line_number), line.procedure_code, " ".join(line.modifiers),
                          str(line.units), str(line.charge),
                          ",".join(str(p) for p in line.diagnosis_pointers))
        print_table(lines)
    own = balances.account_claim_id == claim.id
    console.print(("ledger" if own else "ledger (the visit's, on its account claim "
                   f"{balances.account_claim_number})") + ": "
                  + ", ".join(f"{k} {v}" for k, v in data["ledger"].items())
                  + f"; visit balance insurance {totals.balance.insurance}, "
                    f"patient {totals.balance.patient}", markup=False)
    console.print(f"balance insurance {balances.payer_owes}, patient {balances.patient_owes} "
                  f"({_balance_note(claim, balances.account_claim_number, own)})",
                  markup=False)
    for step, shown in zip(history, data["history"], strict=True):
        console.print(f"  {step.at:%Y-%m-%d %H:%M} {step.source.value} -> {step.target.value} "
                      f"by {step.actor}" + (f" ({step.reason})" if step.reason else ""),
                      highlight=False, markup=False)
        for meaning in shown["meanings"]:
            console.print(f"      {meaning}", highlight=False, markup=False)


def _balance_note(claim: Claim, account_number: str, own: bool) -> str:
    """What the two balances of ``claims show`` are, for this claim (as the list's)."""
    if claim.state in (ClaimState.REPLACED, ClaimState.VOIDED, ClaimState.DELETED):
        insurance = f"insurance: none on a {claim.state.label} claim"
    elif claim.payer_key is None:
        insurance = "insurance: none, self-pay"
    else:
        insurance = f"insurance: what {claim.payer_key} still owes on the visit"
    patient = ("patient: what the patient owes on the visit" if own else
               f"patient: shown on the visit's first claim {account_number}")
    return f"{insurance}; {patient}"


@app.command("import")
@cli_errors
def import_claims(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    keep_good: Annotated[bool, typer.Option(
        "--keep-good", help="Import the good records even when some are bad")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="An 837: show the report without importing anything")] = False,
) -> None:
    """Create draft claims from a JSON list (patient by account_number; see
    docs/import-formats.md), all or nothing unless --keep-good; or from an 837P/837I file a
    practice's EHR sent (X12, recognised by its ISA; see docs/claim-intake.md): each claim
    on its own, patients, coverages and providers matched or created, ambiguous matches held
    on the intake work queue, claims imported before skipped. Exit 1 when a claim was
    refused or held."""
    from medbill_core.cli.claim_intake_cmd import import_837, read_claim_file
    from medbill_core.services.importing import MAX_REPORTED_PROBLEMS, import_claims

    content = read_claim_file(file)
    if content is not None:
        import_837(file, content, dry_run=dry_run, as_json=as_json)
        return
    if dry_run:
        print_problem(f"{file.name}: --dry-run is for 837 files; a JSON import is all or "
                      "nothing already")
        raise typer.Exit(2)
    medbill = open_app()
    with medbill.unit_of_work() as work:
        with progress_callback("importing claims") as on_progress:  # gone before any error
            report = import_claims(work, file, keep_good=keep_good, on_progress=on_progress)
        if report.rejected and not keep_good:
            _report_rejected(report.rejected, MAX_REPORTED_PROBLEMS)
            work.session.rollback()
            if len(report.rejected) > 1:
                print_problem(f"{file.name}: {len(report.rejected)} bad records; nothing was "
                              "imported")
            raise typer.Exit(1)
    if as_json:
        # the bad records' messages name records and fields, never values (no PHI)
        print_json({"file": file.name, "imported": report.imported,
                    "notes": [{"record": label, "note": note} for label, note in report.notes],
                    "skipped": [problem.message for problem in report.rejected]})
    else:
        for label, note in report.notes:
            console.print(f"{label}: {note}", highlight=False, markup=False)
        console.print(f"imported {report.imported} claims", markup=False)
    if report.rejected:
        _report_rejected(report.rejected, MAX_REPORTED_PROBLEMS, "[yellow]skipped[/]")
        raise typer.Exit(1)


@app.command("imports")
@cli_errors
def claim_imports(
    import_id: Annotated[int | None, typer.Argument(
        help="A run's id: its report, claim by claim (default: list the latest runs)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Runs to list")] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The 837 files imported (claims import FILE.837), newest first; or one run's report."""
    from medbill_core.cli.claim_intake_cmd import show_imports

    show_imports(import_id, limit=limit, as_json=as_json)


def _report_rejected(rejected: list[ValidationFailed], limit: int,
                     label: str = "[bold red]error:[/]") -> None:
    for problem in rejected[:limit]:
        print_problem(problem.message, label)
    if len(rejected) > limit:
        print_problem(f"... and {len(rejected) - limit} more bad records", label)


#: Keys of ``medbill claims show --json`` that are reports, not claim fields.
SHOW_ONLY_KEYS = ("history", "ledger", "ledger_account", "balance", "visit_balance",
                  "total_charge", "state_label", "next_actor", "type_of_bill")


def read_claim_changes(path: Path) -> dict[str, Any]:
    """A JSON object of claim fields (``claims show --json`` output, edited, will do)."""
    try:
        update = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationFailed(path.name, [("", f"not JSON ({type(exc).__name__} at "
                                                f"{getattr(exc, 'pos', 0)})")]) from None
    except OSError as exc:
        raise ValidationFailed(path.name, [("", f"cannot be read ({exc.strerror})")]) from None
    if not isinstance(update, dict):
        raise ValidationFailed(path.name, [("", "a JSON object of the fields to change")])
    for key in SHOW_ONLY_KEYS:
        update.pop(key, None)
    return update


@app.command("edit")
@cli_errors
def edit_claim(
    reference: Annotated[str, typer.Argument(help="Claim id or claim number of the draft")],
    changes: Annotated[Path, typer.Option(
        "--from", exists=True, dir_okay=False,
        help="JSON object of the claim fields to change (e.g. edited from `claims show --json`)")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Change a draft claim (lines, codes, coverage ...); its charges are re-posted."""
    update = read_claim_changes(changes)
    for key in ("id", "claim_number", "state", "created_at", "patient_id"):
        update.pop(key, None)  # fixed for a claim; the service refuses other patients anyway
    medbill = open_app()
    with medbill.unit_of_work() as work:
        original = work.claims.find(reference)
        current = original.model_dump(mode="json")
        if isinstance(update.get("institutional"), dict) and current["institutional"]:
            # the institutional fields given change those, the others stay (as the claim's)
            update["institutional"] = {**current["institutional"], **update["institutional"]}
        edited = validate_record(Claim, {**current, **update}, record=changes.name)
        claim = work.claims.update_draft(original.id, edited)
    if as_json:
        print_json({"id": claim.id, "claim_number": claim.claim_number,
                    "state": claim.state.value, "total_charge": str(claim.total_charge)})
        return
    console.print(f"claim {claim.claim_number} (id {claim.id}) updated; charge "
                  f"{claim.total_charge}", highlight=False, markup=False)


@app.command("delete")
@cli_errors
def delete_claim(
    reference: Annotated[str, typer.Argument(help="Claim id or claim number of the draft")],
    reason: Annotated[str, typer.Option(help="Why the draft is deleted (kept in its history)")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Delete a draft that never left the practice: its charges are reversed (audited).

    A claim that was ever sent is voided instead (medbill claims void)."""
    medbill = open_app()
    with medbill.unit_of_work() as work:
        claim = work.claims.delete_draft(work.claims.resolve(reference), reason=reason)
    if as_json:
        print_json({"id": claim.id, "claim_number": claim.claim_number,
                    "state": claim.state.value, "charges_reversed": True})
        return
    console.print(f"draft claim {claim.claim_number} (id {claim.id}) deleted and its "
                  "charges reversed", highlight=False, markup=False)


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
        claims = [work.claims.find(reference) for reference in references]
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
    return sorted(selected, key=saved_id)


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
        with progress_callback("scrubbing claims") as on_progress:
            report = scrub_claims(work, [saved_id(c) for c in claims], validate=not no_validate,
                                  on_progress=on_progress)
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
        every = [f for r in report.results for f in r.findings]
        # a missing code-set release concerns every claim of its dates alike: said once
        # below the table (with the number of claims), not once per claim in it
        findings = [f for f in every if not f.code.endswith(".release_gap")]
        gaps: dict[tuple[str, str], set[str]] = {}
        for finding in every:
            if finding.code.endswith(".release_gap"):
                what = finding.message.split(": ", 1)[-1]  # without "date of service D"
                gaps.setdefault((finding.code, what), set()).add(finding.claim_number)
        if findings:
            # the claim number and the finding's code are searched for: never cut
            table = data_table("claim", "line", "severity", "code", "message", "fix hint",
                               title=_plural(len(findings), "finding"),
                               keys=("claim", "line", "severity", "code"), numeric=("line",))
            for finding in findings:
                severity = finding.severity.value
                table.add_row(escape(finding.claim_number),
                              str(finding.line_number or ""),
                              f"[{_SEVERITY_STYLE[severity]}]{severity}[/]",
                              escape(finding.code), escape(finding.message)
                              + (f"\n[dim]checked against {escape(finding.release)}[/]"
                                 if finding.release else ""),
                              escape(finding.fix_hint or ""))
            print_table(table)
        for (code, what), claim_numbers in gaps.items():
            console.print(f"[yellow]warning:[/] {escape(code)} on"
                          f" {_plural(len(claim_numbers), 'claim')}: {escape(what)}",
                          highlight=False, soft_wrap=True)
        action = "" if no_validate else " (clean drafts moved to validated)"
        console.print(f"{_plural(len(report.results), 'claim')} scrubbed:"
                      f" {report.clean_count} clean,"
                      f" {len(blocked)} blocked{action}; clean-claim rate"
                      f" {report.clean_claim_rate}%", highlight=False, markup=False)
    if blocked:
        raise typer.Exit(1)
