"""Write-offs of patient balances on the command line (``medbill writeoffs ...``): request,
approve or deny (a manager, never the requester), the small-balance run, the policy."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from medbill_core.cli.common import (
    cli_errors,
    console,
    data_table,
    open_app,
    parse_choice_option,
    parse_money_option,
    print_json,
    print_table,
)

app = typer.Typer(help="Write-offs of patient balances: small balances and bad debt, with a "
                       "manager's approval.", no_args_is_help=True)

AsJson = Annotated[bool, typer.Option("--json")]
RequestId = Annotated[int, typer.Argument(help="The write-off request's id", min=1)]


@app.command("request")
@cli_errors
def request_command(
    patient: Annotated[str, typer.Option("--patient", help="Patient account number")],
    kind: Annotated[str, typer.Option(help="small_balance, bad_debt or administrative")],
    reason: Annotated[str, typer.Option(help="Why (no patient details)")],
    amount: Annotated[str | None, typer.Option(
        help="Amount (default: the whole balance, of the claim or the account)")] = None,
    claim: Annotated[int | None, typer.Option(help="Only this claim id", min=1)] = None,
    as_json: AsJson = False,
) -> None:
    """Request a write-off; a small balance (the account's whole balance, under the
    practice's limit) is posted at once."""
    from medbill_core.services.write_offs import WriteOffKind, request_write_off

    chosen = parse_choice_option(kind, "--kind", WriteOffKind)
    money = parse_money_option(amount, "--amount", allow_zero=False)
    medbill = open_app()
    with medbill.unit_of_work() as work:
        result = request_write_off(work, work.patients.by_account(patient).id, chosen, money,
                                   reason, claim_id=claim)
    if as_json:
        print_json(result.as_json())
        return
    console.print(f"write-off {result.id}: {result.amount} {result.kind.value}, "
                  f"{result.status.value}", markup=False)


@app.command("list")
@cli_errors
def list_command(
    status: Annotated[str | None, typer.Option(help="requested, approved or denied")] = None,
    as_json: AsJson = False,
) -> None:
    """Write-off requests (``--status requested``: the manager's approval queue)."""
    from medbill_core.services.write_offs import WriteOffStatus, list_write_offs

    wanted = parse_choice_option(status, "--status", WriteOffStatus)
    medbill = open_app()
    with medbill.unit_of_work() as work:
        items = list_write_offs(work, status=wanted)
    if as_json:
        print_json([item.as_json() for item in items])
        return
    table = data_table("id", "account", "kind", "amount", "status", "requested by",
                       "decided by", "reason", title=f"write-offs: {len(items)}",
                       keys=("id", "account", "amount"), numeric=("amount",))
    for item in items:
        table.add_row(str(item.id), escape(item.account_number), item.kind.value,
                      str(item.amount), item.status.value, escape(item.requested_by),
                      escape(item.decided_by or ""), escape(item.reason))
    print_table(table)


@app.command("approve")
@cli_errors
def approve_command(
    request_id: RequestId,
    note: Annotated[str | None, typer.Option(help="A note on the decision")] = None,
    as_json: AsJson = False,
) -> None:
    """Approve a write-off (a manager other than the requester): it is posted now."""
    from medbill_core.services.write_offs import approve_write_off

    medbill = open_app()
    with medbill.unit_of_work() as work:
        result = approve_write_off(work, request_id, note=note)
    if as_json:
        print_json(result.as_json())
        return
    console.print(f"write-off {result.id} approved: {result.amount} written off",
                  markup=False)


@app.command("deny")
@cli_errors
def deny_command(
    request_id: RequestId,
    note: Annotated[str, typer.Option(help="Why it is denied")],
    as_json: AsJson = False,
) -> None:
    """Deny a write-off request (nothing is posted)."""
    from medbill_core.services.write_offs import deny_write_off

    medbill = open_app()
    with medbill.unit_of_work() as work:
        result = deny_write_off(work, request_id, note)
    if as_json:
        print_json(result.as_json())
        return
    console.print(f"write-off {result.id} denied", markup=False)


@app.command("small-balances")
@cli_errors
def small_balances_command(
    reason: Annotated[str, typer.Option(help="Why (e.g. under the statement minimum)")]
    = "small balance under the practice's limit",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list them")] = False,
    as_json: AsJson = False,
) -> None:
    """Write off every patient balance under the practice's small-balance limit."""
    from medbill_core.services.write_offs import write_off_small_balances

    medbill = open_app()
    with medbill.unit_of_work() as work:
        found = write_off_small_balances(work, reason, dry_run=dry_run)
    if as_json:
        print_json({"dry_run": dry_run, "accounts": [item.as_json() for item in found]})
        return
    table = data_table("account", "balance",
                       title=f"small balances {'to write off' if dry_run else 'written off'}"
                             f": {len(found)}", keys=("account", "balance"),
                       numeric=("balance",))
    for item in found:
        table.add_row(escape(item.account_number), str(item.balance))
    print_table(table)


@app.command("policy")
@cli_errors
def policy_command(
    small_balance: Annotated[str | None, typer.Option(
        "--small-balance", help="Balances under this are small (e.g. 5.00)")] = None,
    approval_above: Annotated[str | None, typer.Option(
        "--approval-above", help="Write-offs above this need a manager (e.g. 100.00)")]
    = None,
    as_json: AsJson = False,
) -> None:
    """Show the practice's write-off thresholds, or set them (a manager)."""
    from medbill_core.services.write_offs import policy, set_policy

    limit = parse_money_option(small_balance, "--small-balance")
    above = parse_money_option(approval_above, "--approval-above")
    medbill = open_app()
    with medbill.unit_of_work() as work:
        rules = policy(work) if limit is None and above is None else set_policy(
            work, small_balance_limit=limit, approval_above=above)
    if as_json:
        print_json(rules.as_json())
        return
    console.print(f"small balance: under {rules.small_balance_limit}; approval needed above "
                  f"{rules.approval_above} (bad debt: always)", markup=False)
