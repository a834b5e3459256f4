"""``medbill ar``: accounts-receivable reports (aging, insurance follow-up, remittance exceptions).

Read-only reports. Patients are named by account number only: no names, dates of birth
or member IDs in this command's output.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from medbill_core.cli.common import (
    Limit,
    add_text_rows,
    cli_errors,
    console,
    data_table,
    escaped,
    fail,
    open_app,
    parse_date_option,
    print_json,
    print_table,
    shown_of,
)
from medbill_core.codesets.explain import brief_adjustment

if TYPE_CHECKING:
    from medbill_core.services.receivables import AgingLine

app = typer.Typer(help="Accounts receivable: aging, insurance follow-up, remittance exceptions.",
                  no_args_is_help=True)

AsOf = Annotated[str | None, typer.Option(
    "--as-of", help="Count ages and days to this date, YYYY-MM-DD (default today)")]
AsJson = Annotated[bool, typer.Option("--json")]


class AgingBy(StrEnum):
    PAYER = "payer"
    PATIENT = "patient"


def _aging_table(title: str, first: str,
                 sections: list[list[tuple[str, AgingLine]]]) -> Table:
    """A row per (label, line), sections separated by a rule."""
    from medbill_core.services.aging import BUCKETS

    # the first column names a payer or a patient account number: never cut
    table = data_table(first, *BUCKETS, "credit", "total", title=title, keys=(first,),
                       numeric=(*BUCKETS, "credit", "total"))
    for index, section in enumerate(sections):
        if index:
            table.add_section()
        for label, line in section:
            table.add_row(escape(label), *(str(line.buckets[bucket]) for bucket in BUCKETS),
                          str(line.credit), str(line.total))
    return table


@app.command("aging")
@cli_errors
def aging_command(
    as_of: AsOf = None,
    by: Annotated[AgingBy, typer.Option(
        help="payer: insurance by payer, the patients' line and totals; "
             "patient: patient balances per patient account number")] = AgingBy.PAYER,
    as_json: AsJson = False,
) -> None:
    """A/R by age (0-30, 31-60, 61-90, 91-120, 121+ days); credits in their own column."""
    from medbill_core.services.receivables import aging, patient_aging

    when = parse_date_option(as_of, "--as-of") or date.today()
    medbill = open_app()
    if by is AgingBy.PATIENT:
        with medbill.unit_of_work() as work:
            per_patient = patient_aging(work, as_of=when)
        if as_json:
            print_json(per_patient.as_json())
            return
        print_table(_aging_table(
            f"patient A/R aging as of {when}", "account",
            [[(line.label, line) for line in per_patient.patients],
             [("total", per_patient.total)]]))
        return
    with medbill.unit_of_work() as work:
        report = aging(work, as_of=when)
    if as_json:
        print_json(report.as_json())
        return
    print_table(_aging_table(
        f"A/R aging as of {when}", "",
        [[(line.label, line) for line in report.insurance],
         # what collection agencies hold: a line of its own, shown once there is any
         [("insurance", report.insurance_total), ("patient", report.patient),
          *([("at agencies", report.agency)] if not report.agency.is_empty() else [])],
         [("total", report.total)]]))


@app.command("followup")
@cli_errors
def followup_command(
    older_than: Annotated[int, typer.Option(
        "--older-than", min=0,
        help="Days since submission after which a claim still at the payer needs a 276")] = 30,
    as_of: AsOf = None,
    payer: Annotated[str | None, typer.Option(help="Only claims billed to this payer key")] = None,
    limit: Limit = None,
    as_json: AsJson = False,
) -> None:
    """Claims needing insurance follow-up, fewest timely-filing days left first."""
    from medbill_core.services.receivables import FollowUpAction, followup

    when = parse_date_option(as_of, "--as-of") or date.today()
    medbill = open_app()
    if payer is not None and payer not in medbill.config.payers:
        known = ", ".join(sorted(medbill.config.payers)) or "none"
        raise fail(f"--payer: {payer!r} is not a configured payer (configured: {known})", 2)
    with medbill.unit_of_work() as work:
        items = followup(work, older_than=older_than, as_of=when, payer_key=payer)
    found = len(items)
    items = items[:limit]
    if as_json:
        print_json([item.as_json() for item in items])
        return
    # the claim number identifies the claim (``medbill claims show`` takes it); --json has ids
    table = data_table("claim", "payer", "state", "charge", "ins. bal.", "days", "deadline",
                       "left", "action", title=f"{shown_of(len(items), found)} claims to follow "
                       f"up as of {when}",
                       keys=("claim", "payer", "deadline"),
                       numeric=("charge", "ins. bal.", "days", "left"))
    rows = []
    for item in items:
        action = item.action.value
        if item.action is FollowUpAction.APPEAL and item.carc_codes:
            # each denial code with the first sentence of its meaning (in full: --json
            # "meanings"); whole, not cut with an ellipsis: the column wraps
            action += " (" + "; ".join(f"{code} {brief_adjustment(code, width=10_000)}"
                                       for code in item.carc_codes) + ")"
        elif item.action is FollowUpAction.APPEAL_PENDING and item.appeal_deadline:
            action += f" (deadline {item.appeal_deadline})"
        if item.findings:  # e.g. "expected 100.00, allowed 80.00, paid 64.00; finding 3"
            amounts = [f"{name} {amount}" for name, amount in (
                ("expected", item.expected_amount), ("allowed", item.allowed_amount),
                ("paid", item.paid_amount)) if amount is not None]
            ids = ", ".join(str(finding.id) for finding in item.findings)
            action += f" ({', '.join(amounts)}; finding {ids})" if amounts \
                else f" (finding {ids})"
        rows.append((escaped(item.claim_number), escaped(item.payer_key or ""),
                     item.state.value, str(item.charge), str(item.insurance_balance),
                     str(item.days_since_submission), str(item.filing_deadline or "?"),
                     "?" if item.days_left is None else str(item.days_left), escaped(action)))
    add_text_rows(table, rows)
    print_table(table)


@app.command("resolve-finding")
@cli_errors
def resolve_finding_command(
    finding_id: Annotated[int, typer.Argument(help="Finding id (ar followup --json: findings)")],
    note: Annotated[str, typer.Option(help="How it was resolved (no patient details)")],
    as_json: AsJson = False,
) -> None:
    """Close an underpayment (or other payer finding) listed by ar followup."""
    from medbill_core.services.remittance_findings import resolve_finding

    medbill = open_app()
    with medbill.unit_of_work() as work:
        changed = resolve_finding(work, finding_id, note)
    if as_json:
        print_json({"finding_id": finding_id, "resolved": True, "changed": changed})
        return
    console.print(f"finding {finding_id} resolved" if changed
                  else f"finding {finding_id} was already resolved; nothing changed", markup=False)


@app.command("exceptions")
@cli_errors
def exceptions_command(
    include_resolved: Annotated[bool, typer.Option(
        "--all", help="Also list exceptions already resolved")] = False,
    as_json: AsJson = False,
) -> None:
    """Remittance claim payments that matched no claim, oldest first."""
    from medbill_core.services.receivables import remittance_exceptions

    medbill = open_app()
    with medbill.unit_of_work() as work:
        items = remittance_exceptions(work, include_resolved=include_resolved)
    if as_json:
        print_json([item.as_json() for item in items])
        return
    table = data_table("id", "received", "trace", "claim (as sent)", "paid", "reason",
                       title=f"{len(items)} remittance exceptions",
                       keys=("id", "received", "trace", "claim (as sent)"),
                       numeric=("id", "paid"))
    for item in items:
        table.add_row(str(item.id), str(item.received_on), escape(item.trace_number),
                      escape(item.claim_number), str(item.paid),
                      escape(item.reason + (" (resolved)" if item.resolved else "")))
    print_table(table)
