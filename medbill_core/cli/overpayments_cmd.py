"""Insurance overpayments on the command line (``medbill overpayments ...``): refund requests
to payers, refunded by check or recouped in an 835."""

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

app = typer.Typer(help="Insurance overpayments: refund requests to payers, refunds and "
                       "recoupments.", no_args_is_help=True)

AsJson = Annotated[bool, typer.Option("--json")]
RequestId = Annotated[int, typer.Argument(help="The refund request's id", min=1)]


@app.command("request")
@cli_errors
def request_command(
    claim: Annotated[int, typer.Option(help="The claim id", min=1)],
    amount: Annotated[str, typer.Option(help="Amount owed back, e.g. 30.00")],
    reason: Annotated[str, typer.Option(help="Why (no patient details)")],
    payer: Annotated[str | None, typer.Option(help="Payer key (default: the claim's)")]
    = None,
    as_json: AsJson = False,
) -> None:
    """Record that part of a payer's overpayment on a claim is owed back."""
    from medbill_core.services.payer_refunds import request_payer_refund

    money = parse_money_option(amount, "--amount", allow_zero=False)
    medbill = open_app()
    with medbill.unit_of_work() as work:
        result = request_payer_refund(work, claim, money, reason, payer_key=payer)
    if as_json:
        print_json(result.as_json())
        return
    console.print(f"refund request {result.id}: {result.amount} to {result.payer_key} on "
                  f"claim {result.claim_number}", markup=False)


@app.command("list")
@cli_errors
def list_command(
    status: Annotated[str | None, typer.Option(
        help="requested, refunded, recouped or cancelled")] = None,
    as_json: AsJson = False,
) -> None:
    """Refund requests to payers."""
    from medbill_core.services.payer_refunds import RefundStatus, list_payer_refunds

    wanted = parse_choice_option(status, "--status", RefundStatus)
    medbill = open_app()
    with medbill.unit_of_work() as work:
        items = list_payer_refunds(work, status=wanted)
    if as_json:
        print_json([item.as_json() for item in items])
        return
    table = data_table("id", "claim", "payer", "amount", "status", "requested", "closed",
                       "reference", title=f"payer refund requests: {len(items)}",
                       keys=("id", "claim", "amount"), numeric=("amount",))
    for item in items:
        table.add_row(str(item.id), escape(item.claim_number), escape(item.payer_key),
                      str(item.amount), item.status.value, str(item.requested_on),
                      str(item.closed_on or ""), escape(item.closing_reference or ""))
    print_table(table)


@app.command("refunded")
@cli_errors
def refunded_command(
    request_id: RequestId,
    check_number: Annotated[str, typer.Option("--check-number", help="The refund check")],
    as_json: AsJson = False,
) -> None:
    """The practice sent the payer its money back: posted on the claim."""
    from medbill_core.services.payer_refunds import mark_refunded

    medbill = open_app()
    with medbill.unit_of_work() as work:
        result = mark_refunded(work, request_id, check_number)
    if as_json:
        print_json(result.as_json())
        return
    console.print(f"refund request {result.id} refunded", markup=False)


@app.command("cancel")
@cli_errors
def cancel_command(
    request_id: RequestId,
    reason: Annotated[str, typer.Option(help="Why (no patient details)")],
    as_json: AsJson = False,
) -> None:
    """The payer says nothing is owed: close the request."""
    from medbill_core.services.payer_refunds import cancel_payer_refund

    medbill = open_app()
    with medbill.unit_of_work() as work:
        result = cancel_payer_refund(work, request_id, reason)
    if as_json:
        print_json(result.as_json())
        return
    console.print(f"refund request {result.id} cancelled", markup=False)


@app.command("match")
@cli_errors
def match_command(as_json: AsJson = False) -> None:
    """Close the requests payers recouped in posted 835s (PLB WO/FB, reversals)."""
    from medbill_core.services.payer_refunds import match_recoupments

    medbill = open_app()
    with medbill.unit_of_work() as work:
        matches = match_recoupments(work)
    if as_json:
        print_json([{"request_id": m.request_id, "claim_number": m.claim_number,
                     "amount": str(m.amount), "how": m.how, "reference": m.reference}
                    for m in matches])
        return
    console.print(f"{len(matches)} refund requests recouped", markup=False)
    for m in matches:
        console.print(f"  request {m.request_id}: {m.amount} on claim {m.claim_number} "
                      f"({m.how} {m.reference})", markup=False)
