"""``medbill payments card ...``: card payments through the practice's payment gateway, as a
billing specialist takes one on the phone (create and charge, show, check, refund).

The card number is asked for without echo when ``--card`` is not given (so it stays out of the
shell's history); it goes to the gateway and nowhere else: medbill keeps the card's brand and
last four digits at most.
"""

from __future__ import annotations

from typing import Annotated

import typer

from medbill_core.cli.common import (
    cli_errors,
    console,
    fail,
    open_app,
    parse_choice_option,
    parse_money_option,
    print_json,
)

card_app = typer.Typer(help="Card payments through the practice's payment gateway.",
                       no_args_is_help=True)

CardPaymentId = Annotated[int, typer.Argument(help="Card payment id", min=1)]
AsJson = Annotated[bool, typer.Option("--json")]


def _show(view: object, as_json: bool) -> None:
    from medbill_core.services.card_payments import CardPaymentView

    assert isinstance(view, CardPaymentView)
    if as_json:
        print_json(view.as_json())
        return
    card = " ".join(part for part in (view.card_brand, view.card_last4) if part) or "no card"
    line = (f"card payment {view.id}: {view.status.value}, {view.amount} via "
            f"{view.gateway} ({card})")
    if view.payment_id is not None:
        line += f"; payment {view.payment_id}"
    if view.decline_code:
        line += f"; declined: {view.decline_code}"
        if view.decline_message:
            line += f" ({view.decline_message})"
    if view.refunded:
        line += f"; refunded {view.refunded}"
    pending = [r for r in view.refunds if r.status == "pending"]
    if pending:
        line += f"; {len(pending)} refund(s) waiting for the gateway"
    console.print(line, markup=False)


@card_app.command("create")
@cli_errors
def create_command(
    patient: Annotated[str | None, typer.Option(
        "--patient", help="Patient account number")] = None,
    guarantor: Annotated[str | None, typer.Option(
        "--guarantor", help="A family's payment: the guarantor's number (G0000012), id, "
                            "or the statement number")] = None,
    amount: Annotated[str | None, typer.Option(
        help="Amount, e.g. 25.00 (default: the whole balance)")] = None,
    claim: Annotated[str | None, typer.Option(
        help="Pay this claim only (id or claim number)")] = None,
    overpayment: Annotated[str | None, typer.Option(
        help="Money beyond the balance: credit or refund")] = None,
    card: Annotated[str | None, typer.Option(
        help="The card number (asked without echo when left out); never stored")] = None,
    no_charge: Annotated[bool, typer.Option(
        "--no-charge", help="Only create the payment at the gateway (a pay page charges "
                            "it)")] = False,
    as_json: AsJson = False,
) -> None:
    """Take a card payment: create it at the gateway and charge the card; it posts to the
    ledger once the gateway confirms it. A declined card exits with 1 (the line says why)."""
    from medbill_core.services.card_payments import (
        CardPaymentStatus,
        confirm_card_payment,
        start_card_payment,
    )
    from medbill_core.services.guarantors import resolve_guarantor
    from medbill_core.services.payments import Overpayment

    if (patient is None) == (guarantor is None):
        raise fail("give --patient or --guarantor (one of them)", 2)
    if guarantor is not None and claim is not None:
        raise fail("--claim: a family payment applies oldest service first; pay one claim "
                   "with --patient", 2)
    money = parse_money_option(amount, "--amount", allow_zero=False)
    decision = parse_choice_option(overpayment, "--overpayment", Overpayment)
    medbill = open_app()
    # the gateway first: no card number is asked for a payment that cannot be taken
    medbill.hooks.context.payment_gateway()
    if not no_charge and card is None:
        card = typer.prompt("Card number", hide_input=True)
    with medbill.unit_of_work() as work:
        guarantor_id = resolve_guarantor(work.session, guarantor) \
            if guarantor is not None else None
        patient_id = work.patients.by_account(patient).id if patient is not None else None
        started = start_card_payment(
            work, patient_id=patient_id, guarantor_id=guarantor_id, amount=money,
            claim_id=work.claims.resolve(claim) if claim is not None else None,
            overpayment=decision)
    view = started.payment
    if not no_charge:
        assert card is not None
        with medbill.unit_of_work() as work:
            view = confirm_card_payment(work, view.id, card="".join(card.split()))
    _show(view, as_json)
    if view.status is CardPaymentStatus.FAILED:
        raise typer.Exit(1)


@card_app.command("show")
@cli_errors
def show_command(card_payment_id: CardPaymentId, as_json: AsJson = False) -> None:
    """A card payment: its status, the card's brand and last four, its refunds."""
    from medbill_core.services.card_payments import get_card_payment

    with open_app().unit_of_work(read_only=True) as work:
        view = get_card_payment(work, card_payment_id)
    _show(view, as_json)


@card_app.command("check")
@cli_errors
def check_command(card_payment_id: CardPaymentId, as_json: AsJson = False) -> None:
    """Ask the gateway where a card payment stands, and post it if it succeeded (when its
    webhook has not come)."""
    from medbill_core.services.card_payments import confirm_card_payment

    with open_app().unit_of_work() as work:
        view = confirm_card_payment(work, card_payment_id)
    _show(view, as_json)


@card_app.command("refund")
@cli_errors
def refund_command(
    card_payment_id: CardPaymentId,
    reason: Annotated[str, typer.Option(help="Why (no patient details)")],
    amount: Annotated[str | None, typer.Option(
        help="Amount to give back (default: all not refunded yet)")] = None,
    as_json: AsJson = False,
) -> None:
    """Refund (part of) a card payment through the gateway; the ledger refund posts when the
    gateway confirms it."""
    from medbill_core.services.card_payments import refund_card_payment

    money = parse_money_option(amount, "--amount", allow_zero=False)
    with open_app().unit_of_work() as work:
        view = refund_card_payment(work, card_payment_id, reason, amount=money)
    _show(view, as_json)
