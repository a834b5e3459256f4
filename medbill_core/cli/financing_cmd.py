"""``medbill financing ...``: refer a guarantor's balance to the practice's patient financing
lender, check the application, list and show referrals."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from medbill_core.cli.common import (
    cli_errors,
    console,
    data_table,
    fail,
    open_app,
    parse_choice_option,
    parse_money_option,
    print_json,
    print_problem,
    print_table,
)

app = typer.Typer(help="Patient financing: refer a guarantor's balance to a lender; the "
                       "approved amount posts as a payment from the lender.",
                  no_args_is_help=True)

AsJson = Annotated[bool, typer.Option("--json")]
ReferralId = Annotated[int, typer.Argument(help="The referral's id", min=1)]


def _show(view: object, as_json: bool) -> None:
    from medbill_core.services.financing import ReferralView

    assert isinstance(view, ReferralView)
    if as_json:
        print_json(view.as_json())
        return
    line = (f"financing referral {view.id}: {view.status.value}, {view.amount} to "
            f"{view.lender_name or view.provider} (application {view.application_id})")
    if view.approved_amount is not None:
        line += f"; approved {view.approved_amount}"
    if view.merchant_fee is not None:
        line += f", lender's fee {view.merchant_fee}"
    if view.payment_id is not None:
        line += f"; payment {view.payment_id}"
    if view.decline_reason:
        line += f"; {view.decline_reason}"
    console.print(line, markup=False)


@app.command("refer")
@cli_errors
def refer_command(
    consent: Annotated[str, typer.Option(
        help="How the applicant agreed to be referred (e.g. \"verbal, at checkout\")")],
    guarantor: Annotated[str | None, typer.Option(
        "--guarantor", help="The guarantor's number (G0000012), id, or a statement number")
    ] = None,
    patient: Annotated[str | None, typer.Option(
        "--patient", help="A patient's account number: whoever pays their bills applies (a "
                          "patient who pays their own is made their own guarantor)")] = None,
    amount: Annotated[str | None, typer.Option(
        help="Amount to finance (default: the whole balance)")] = None,
    as_json: AsJson = False,
) -> None:
    """Refer a guarantor's balance (or part of it) to the financing lender; the lender's
    decision comes by its callback or ``medbill financing check``."""
    from medbill_core.domain.base import saved_id
    from medbill_core.services.financing import refer
    from medbill_core.services.guarantors import resolve_guarantor

    if (patient is None) == (guarantor is None):
        raise fail("give --patient or --guarantor (one of them)", 2)
    money = parse_money_option(amount, "--amount", allow_zero=False)
    with open_app().unit_of_work() as work:
        view = refer(work, resolve_guarantor(work.session, guarantor)
                     if guarantor is not None else None,
                     patient_id=saved_id(work.patients.by_account(patient))
                     if patient is not None else None, consent=consent, amount=money)
    _show(view, as_json)


@app.command("check")
@cli_errors
def check_command(referral_id: ReferralId, as_json: AsJson = False) -> None:
    """Ask the lender where an application stands; an approval posts (once)."""
    from medbill_core.services.financing import check_referral

    with open_app().unit_of_work() as work:
        view = check_referral(work, referral_id)
    _show(view, as_json)


@app.command("check-pending")
@cli_errors
def check_pending_command(
    older_than: Annotated[int, typer.Option(
        "--older-than", min=0, max=100_000,
        help="Only referrals made at least this many minutes ago (their callback is late)")
    ] = 60,
    limit: Annotated[int, typer.Option(min=1, max=10_000,
                                       help="Ask about at most this many, oldest first")] = 200,
    as_json: AsJson = False,
) -> None:
    """Ask the lender about every referral it has not decided yet (no callback came): an
    approval posts (once), a decline or expiry is recorded. Exit 1 when the lender could not
    answer about one (it stays as it was; the others are asked). The workers do this every
    hour."""
    from datetime import timedelta

    from medbill_core.services.financing import ReferralStatus, check_pending

    checked = check_pending(open_app(), older_than=timedelta(minutes=older_than), limit=limit)
    if as_json:
        print_json(checked.as_json())
    else:
        counts = [f"{len(checked.statuses[status])} {status.value}" for status in ReferralStatus
                  if checked.statuses.get(status)]
        console.print(f"asked the lender about {checked.asked} referral(s)"
                      + (f": {', '.join(counts)}" if counts else ""), markup=False)
        for referral_id, message in checked.failed.items():
            print_problem(f"financing referral {referral_id}: {message}")
    if checked.failed:
        raise fail(f"{len(checked.failed)} referral(s) not checked (they stay as they were)")


@app.command("show")
@cli_errors
def show_command(referral_id: ReferralId, as_json: AsJson = False) -> None:
    """One referral: its status, what the lender approved, the payment it posted."""
    from medbill_core.services.financing import get_referral

    with open_app().unit_of_work(read_only=True) as work:
        view = get_referral(work, referral_id)
    _show(view, as_json)


@app.command("list")
@cli_errors
def list_command(
    status: Annotated[str | None, typer.Option(
        help="referred, approved, declined, expired or posted")] = None,
    as_json: AsJson = False,
) -> None:
    """Financing referrals, newest first."""
    from medbill_core.services.financing import ReferralStatus, list_referrals

    wanted = parse_choice_option(status, "--status", ReferralStatus)
    with open_app().unit_of_work(read_only=True) as work:
        items = list_referrals(work, status=wanted)
    if as_json:
        print_json([item.as_json() for item in items])
        return
    table = data_table("id", "guarantor", "amount", "lender", "application", "status",
                       "approved", "payment", title=f"financing referrals: {len(items)}",
                       keys=("id", "guarantor", "amount", "application"),
                       numeric=("amount", "approved"))
    for item in items:
        table.add_row(str(item.id), f"G{item.guarantor_id:07d}", str(item.amount),
                      escape(item.lender_name or item.provider), escape(item.application_id),
                      item.status.value,
                      str(item.approved_amount) if item.approved_amount is not None else "",
                      str(item.payment_id or ""))
    print_table(table)
