"""Patient credits on the command line: the work view, refunds by check (the check register),
holds, applying a credit to the family (``medbill credits ...``)."""

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
    parse_date_option,
    parse_money_option,
    print_json,
    print_table,
)

app = typer.Typer(help="Patient credits: who has one, refund by check, hold, apply to the "
                       "family; the refund check register.", no_args_is_help=True)

Account = Annotated[str, typer.Option("--patient", help="Patient account number")]
Reason = Annotated[str, typer.Option(help="Why (no patient details)")]
AsJson = Annotated[bool, typer.Option("--json")]
CheckNumber = Annotated[str, typer.Argument(help="The refund check's number")]


@app.command("list")
@cli_errors
def list_command(as_json: AsJson = False) -> None:
    """Patients holding a credit, oldest first: how much, since when, on hold or not."""
    from medbill_core.services.patient_credits import credit_balances

    medbill = open_app()
    with medbill.unit_of_work() as work:
        items = credit_balances(work)
    if as_json:
        print_json([item.as_json() for item in items])
        return
    table = data_table("account", "credit", "from payments", "on claims", "since", "days",
                       "hold", title=f"patient credits: {len(items)}",
                       keys=("account", "credit"),
                       numeric=("credit", "from payments", "on claims", "days"))
    for item in items:
        table.add_row(escape(item.account_number), str(item.credit), str(item.from_payments),
                      str(item.on_claims), str(item.since), str(item.days_old),
                      escape(item.hold_reason or ""))
    print_table(table)


@app.command("refund")
@cli_errors
def refund_command(
    patient: Account,
    amount: Annotated[str, typer.Option(help="Amount to give back, e.g. 20.00")],
    reason: Reason,
    check_number: Annotated[str | None, typer.Option(
        "--check-number", help="The refund check's number (method check)")] = None,
    method: Annotated[str, typer.Option(help="check or gateway (to the card; needs a "
                                             "payment gateway plugin)")] = "check",
    payee: Annotated[str | None, typer.Option(
        help="Payee reference on the check (default: the account number; no names)")] = None,
    date_: Annotated[str | None, typer.Option(
        "--date", help="The check's date, YYYY-MM-DD (default today)")] = None,
    confirm_date: Annotated[bool, typer.Option(
        "--confirm-date", help="Accept a --date ahead of today or over a year back")] = False,
    as_json: AsJson = False,
) -> None:
    """Refund (part of) the patient's credit by check, recorded in the check register."""
    from medbill_core.services.date_rules import REFUND_ISSUED
    from medbill_core.services.patient_credits import RefundMethod, refund_patient_credit

    money = parse_money_option(amount, "--amount", allow_zero=False)
    how = parse_choice_option(method, "--method", RefundMethod)
    # the service's rule (services/date_rules.py), checked here too to answer with a usage
    # error
    day = parse_date_option(date_, "--date", future_days=REFUND_ISSUED.future_days,
                            past_days=REFUND_ISSUED.past_days, confirmed=confirm_date,
                            confirm_flag="--confirm-date")
    medbill = open_app()
    with medbill.unit_of_work() as work:
        check = refund_patient_credit(work, work.patients.by_account(patient).id, money,
                                      reason, method=how, check_number=check_number,
                                      payee_reference=payee, on=day,
                                      confirmed_date=confirm_date)
    if as_json:
        print_json(check.as_json())
        return
    console.print(f"check {check.check_number}: {check.amount} issued {check.issued_on}",
                  markup=False)


@app.command("checks")
@cli_errors
def checks_command(
    status: Annotated[str | None, typer.Option(help="issued, cleared or void")] = None,
    as_json: AsJson = False,
) -> None:
    """The refund check register."""
    from medbill_core.services.patient_credits import CheckStatus, list_checks

    wanted = parse_choice_option(status, "--status", CheckStatus)
    medbill = open_app()
    with medbill.unit_of_work() as work:
        checks = list_checks(work, status=wanted)
    if as_json:
        print_json([check.as_json() for check in checks])
        return
    table = data_table("check", "account", "payee", "amount", "issued", "status", "cleared",
                       "voided", title=f"refund checks: {len(checks)}",
                       keys=("check", "account", "amount"), numeric=("amount",))
    for check in checks:
        table.add_row(escape(check.check_number), escape(check.account_number),
                      escape(check.payee_reference), str(check.amount), str(check.issued_on),
                      check.status.value, str(check.cleared_on or ""),
                      str(check.voided_on or ""))
    print_table(table)


@app.command("clear-check")
@cli_errors
def clear_command(check_number: CheckNumber, as_json: AsJson = False) -> None:
    """The bank paid a refund check."""
    from medbill_core.services.patient_credits import clear_check

    medbill = open_app()
    with medbill.unit_of_work() as work:
        check = clear_check(work, check_number)
    if as_json:
        print_json(check.as_json())
        return
    console.print(f"check {check.check_number} cleared", markup=False)


@app.command("void-check")
@cli_errors
def void_command(check_number: CheckNumber, reason: Reason, as_json: AsJson = False) -> None:
    """Void an issued refund check: the credit is back on the account."""
    from medbill_core.services.patient_credits import void_check

    medbill = open_app()
    with medbill.unit_of_work() as work:
        check = void_check(work, check_number, reason)
    if as_json:
        print_json(check.as_json())
        return
    console.print(f"check {check.check_number} void; {check.amount} is a credit again",
                  markup=False)


@app.command("hold")
@cli_errors
def hold_command(patient: Account, reason: Reason, as_json: AsJson = False) -> None:
    """Keep the patient's credit on the account (not refunded until released)."""
    from medbill_core.services.patient_credits import hold_credit

    medbill = open_app()
    with medbill.unit_of_work() as work:
        hold_id = hold_credit(work, work.patients.by_account(patient).id, reason)
    if as_json:
        print_json({"hold_id": hold_id})
        return
    console.print(f"credit of account {patient} on hold", markup=False)


@app.command("release")
@cli_errors
def release_command(patient: Account, as_json: AsJson = False) -> None:
    """Release a credit hold."""
    from medbill_core.services.patient_credits import release_hold

    medbill = open_app()
    with medbill.unit_of_work() as work:
        release_hold(work, work.patients.by_account(patient).id)
    if as_json:
        print_json({"released": True})
        return
    console.print(f"credit of account {patient} released", markup=False)


@app.command("apply-family")
@cli_errors
def apply_family_command(
    patient: Account,
    to: Annotated[str, typer.Option("--to", help="The family member's account number")],
    as_json: AsJson = False,
) -> None:
    """Move the patient's credit onto a family member's open balances (same guarantor)."""
    from medbill_core.services.patient_credits import apply_credit_to_family

    medbill = open_app()
    with medbill.unit_of_work() as work:
        result = apply_credit_to_family(work, work.patients.by_account(patient).id,
                                        work.patients.by_account(to).id)
    if as_json:
        print_json({"applied": {str(c): str(a) for c, a in result.applied.items()},
                    "credit_left": str(result.credit_left)})
        return
    applied = ", ".join(f"claim {c}: {a}" for c, a in result.applied.items())
    console.print(f"applied {applied}; credit left {result.credit_left}", markup=False)
