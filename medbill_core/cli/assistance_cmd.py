"""``medbill assistance``: financial assistance (sliding fee discounts) for guarantors."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer

from medbill_core.cli.common import (
    cli_errors,
    console,
    data_table,
    fail,
    open_app,
    parse_choice_option,
    parse_date_option,
    parse_money_option,
    print_json,
    print_table,
    record_table,
)
from medbill_core.services import financial_assistance as fa

app = typer.Typer(help="Financial assistance: sliding fee discounts measured against the HHS "
                       "poverty guidelines.", no_args_is_help=True)

IdArgument = Annotated[int, typer.Argument(help="Application id (see assistance list)")]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output")]
ReasonOption = Annotated[str, typer.Option(help="Why (printed in the guarantor's letter)")]


def _show(application: fa.Application, as_json: bool, headline: str | None = None) -> None:
    if as_json:
        print_json(application.as_json())
        return
    if headline:
        console.print(headline, highlight=False, markup=False)
    table = record_table(f"assistance application {application.id}")
    table.add_row("guarantor", str(application.guarantor_id))
    table.add_row("status", application.status.value)
    table.add_row("applied on", application.applied_on.isoformat())
    table.add_row("household size", str(application.household_size))
    table.add_row("annual income", f"{application.annual_income:,.2f}")
    table.add_row("state", application.state)
    table.add_row("guideline",
                  f"{application.guideline:,.2f} ({application.guideline_year})")
    table.add_row("percent of guideline", f"{application.percent_of_guideline}%")
    table.add_row("tier", application.tier.label)
    table.add_row("documents received", "yes" if application.documents_received else "no")
    if application.decided_by:
        table.add_row("decided", f"{application.decided_on} by {application.decided_by}")
    if application.effective_from:
        table.add_row("covers", f"{application.effective_from} .. {application.expires_on}")
    if application.revoked_on:
        table.add_row("revoked on", application.revoked_on.isoformat())
    if application.decision_reason:
        table.add_row("reason", application.decision_reason)
    if application.notes:
        table.add_row("notes", application.notes)
    print_table(table)


def _discounts(result: fa.DiscountResult) -> str:
    if not result.posted:
        return "no discount to post"
    return (f"{len(result.posted)} claim(s), {result.total:+} to the patients' write-offs "
            f"({', '.join(f'claim {c}: {a}' for c, a in sorted(result.posted.items()))})")


@app.command("apply")
@cli_errors
def apply_command(
    guarantor: Annotated[int, typer.Option("--guarantor", help="Guarantor id")],
    household_size: Annotated[int, typer.Option(help="People in the household")],
    income: Annotated[str, typer.Option(help="Annual household income, e.g. 24500.00")],
    state: Annotated[str, typer.Option(help="Two-letter state (AK and HI have tables of "
                                            "their own)")],
    applied_on: Annotated[str | None, typer.Option(
        "--date", help="Date of the application, YYYY-MM-DD (default today)")] = None,
    documents_received: Annotated[bool, typer.Option(
        help="The income documents came with it")] = False,
    notes: Annotated[str | None, typer.Option(help="Reviewer's notes")] = None,
    as_json: JsonOption = False,
) -> None:
    """Record a guarantor's application and evaluate it against the poverty guidelines."""
    from datetime import date

    amount = parse_money_option(income, "--income")
    day = parse_date_option(applied_on, "--date", future_days=0, past_days=730) or date.today()
    medbill = open_app()
    with medbill.unit_of_work() as work:
        application = fa.apply(work, guarantor, household_size=household_size,
                               annual_income=amount, state=state, applied_on=day,
                               documents_received=documents_received, notes=notes)
    _show(application, as_json, f"application {application.id}: "
          f"{application.percent_of_guideline}% of the {application.guideline_year} "
          f"guideline, {application.tier.label}")


@app.command("documents")
@cli_errors
def documents_command(application_id: IdArgument, as_json: JsonOption = False) -> None:
    """Record that a pending application's income documents were received."""
    medbill = open_app()
    with medbill.unit_of_work() as work:
        application = fa.record_documents(work, application_id)
    _show(application, as_json, f"application {application.id}: documents received")


@app.command("show")
@cli_errors
def show_command(application_id: IdArgument, as_json: JsonOption = False) -> None:
    """One application: its evaluation and decision."""
    medbill = open_app()
    with medbill.unit_of_work() as work:
        application = fa.get_application(work, application_id)
    _show(application, as_json)


@app.command("list")
@cli_errors
def list_command(
    status: Annotated[str | None, typer.Option(
        help="pending, approved, denied or revoked")] = None,
    guarantor: Annotated[int | None, typer.Option("--guarantor", help="Guarantor id")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 100,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    as_json: JsonOption = False,
) -> None:
    """Applications, newest first."""
    wanted = parse_choice_option(status, "--status", fa.ApplicationStatus)
    medbill = open_app()
    with medbill.unit_of_work() as work:
        found = fa.list_applications(work, status=wanted, guarantor_id=guarantor,
                                     limit=limit, offset=offset)
    if as_json:
        print_json([a.as_json() for a in found])
        return
    table = data_table("id", "guarantor", "applied", "status", "% of FPG", "tier", "covers",
                       title=f"{len(found)} applications", keys=("id", "guarantor"))
    for a in found:
        table.add_row(str(a.id), str(a.guarantor_id), a.applied_on.isoformat(),
                      a.status.value, f"{a.percent_of_guideline}%", a.tier.label,
                      f"{a.effective_from} .. {a.expires_on}" if a.effective_from else "-")
    print_table(table)


@app.command("approve")
@cli_errors
def approve_command(
    application_id: IdArgument,
    effective_from: Annotated[str | None, typer.Option(
        "--from", help="First date of service covered (default: the application's date)")
    ] = None,
    expires_on: Annotated[str | None, typer.Option(
        "--through", help="Last date of service covered (default: the schedule's months)")
    ] = None,
    reason: Annotated[str | None, typer.Option(help="Note kept with the decision")] = None,
    as_json: JsonOption = False,
) -> None:
    """Approve a pending application and discount the family's patient balances in its
    period (a billing manager's decision)."""
    start = parse_date_option(effective_from, "--from", future_days=366, past_days=730)
    end = parse_date_option(expires_on, "--through", future_days=1830, past_days=730)
    medbill = open_app()
    with medbill.unit_of_work() as work:
        application, result = fa.approve(work, application_id, effective_from=start,
                                         expires_on=end, reason=reason)
    if as_json:
        print_json({**application.as_json(), "discounts": {
            str(k): str(v) for k, v in result.posted.items()}})
        return
    console.print(f"application {application.id} approved ({application.tier.label}, "
                  f"{application.effective_from} .. {application.expires_on}): "
                  f"{_discounts(result)}", highlight=False, markup=False)


@app.command("deny")
@cli_errors
def deny_command(application_id: IdArgument, reason: ReasonOption,
                 as_json: JsonOption = False) -> None:
    """Deny a pending application."""
    medbill = open_app()
    with medbill.unit_of_work() as work:
        application = fa.deny(work, application_id, reason)
    _show(application, as_json, f"application {application.id} denied")


@app.command("revoke")
@cli_errors
def revoke_command(application_id: IdArgument, reason: ReasonOption,
                   as_json: JsonOption = False) -> None:
    """Revoke an approval: every discount it gave is taken back."""
    medbill = open_app()
    with medbill.unit_of_work() as work:
        application, result = fa.revoke(work, application_id, reason)
    if as_json:
        print_json({**application.as_json(), "discounts": {
            str(k): str(v) for k, v in result.posted.items()}})
        return
    console.print(f"application {application.id} revoked: {_discounts(result)}",
                  highlight=False, markup=False)


@app.command("discounts")
@cli_errors
def discounts_command(
    application_id: Annotated[int | None, typer.Argument(
        help="Application id (default: every approval)")] = None,
    as_json: JsonOption = False,
) -> None:
    """Bring approvals' discounts up to date (new claims in their period, payers' later
    answers); posts only what changed."""
    medbill = open_app()
    with medbill.unit_of_work() as work:
        results = [fa.apply_discounts(work, application_id)] if application_id is not None \
            else fa.apply_all_discounts(work)
    if as_json:
        print_json([{"application_id": r.application_id,
                     "posted": {str(k): str(v) for k, v in r.posted.items()}}
                    for r in results])
        return
    changed = [r for r in results if r.posted]
    for result in changed:
        console.print(f"application {result.application_id}: {_discounts(result)}",
                      highlight=False, markup=False)
    if not changed:
        console.print("nothing to post: every discount is up to date", highlight=False,
                      markup=False)


@app.command("letter")
@cli_errors
def letter_command(
    application_id: IdArgument,
    out: Annotated[Path, typer.Option("--out", help="File to write (owner-only)")],
    as_json: JsonOption = False,
) -> None:
    """Write the decision letter to the guarantor (approval, denial or revocation)."""
    from medbill_core.privatefiles import write_private
    from medbill_core.services.assistance_letters import decision_letter

    if out.is_dir():
        raise fail(f"--out {out} is a folder; give a file name", 2)
    medbill = open_app()
    with medbill.unit_of_work() as work:
        text = decision_letter(work, application_id)
    write_private(out, text)
    if as_json:
        print_json({"application_id": application_id, "path": str(out)})
        return
    console.print(f"letter for application {application_id} written to {out}",
                  highlight=False, markup=False)


def _tier(text: str) -> fa.Tier:
    """``UP_TO:DISCOUNT`` (``150:75``), ``UP_TO:fee=AMOUNT`` (``100:fee=20.00``); ``above``
    as UP_TO for the last tier."""
    bound, _, given = text.partition(":")
    if not given:
        raise fail(f"--tier {text!r}: give UP_TO:DISCOUNT, e.g. 150:75 or 100:fee=20.00", 2)
    up_to = None if bound.strip().lower() == "above" else fa.parse_percent(bound, "--tier")
    if given.strip().lower().startswith("fee="):
        fee = parse_money_option(given.strip()[4:], "--tier fee")
        return fa.Tier(up_to, Decimal(100), nominal_fee=fee)
    return fa.Tier(up_to, fa.parse_percent(given, "--tier"))


@app.command("schedule")
@cli_errors
def schedule_command(
    tier: Annotated[list[str] | None, typer.Option(
        "--tier", help="UP_TO:DISCOUNT percent of the guideline and discount percent, "
                       "lowest first; UP_TO:fee=AMOUNT for a nominal fee per visit; "
                       "'above:0' last (repeat). Without options: show the schedule")] = None,
    expiry_months: Annotated[int | None, typer.Option(
        help="How long an approval lasts")] = None,
    prompt_pay_percent: Annotated[str | None, typer.Option(
        help="Self-pay discount when paid in time, percent")] = None,
    prompt_pay_days: Annotated[int | None, typer.Option(
        help="Days after the bill the prompt-pay discount holds")] = None,
    as_json: JsonOption = False,
) -> None:
    """Show the practice's sliding fee schedule, or set it (a billing manager's)."""
    medbill = open_app()
    with medbill.unit_of_work() as work:
        policy = fa.get_policy(work)
        if tier or expiry_months is not None or prompt_pay_percent is not None \
                or prompt_pay_days is not None:
            percent = fa.parse_percent(prompt_pay_percent, "--prompt-pay-percent") \
                if prompt_pay_percent is not None else policy.prompt_pay_percent
            policy = fa.set_policy(work, fa.AssistancePolicy(
                tuple(_tier(t) for t in tier) if tier else policy.tiers,
                expiry_months if expiry_months is not None else policy.expiry_months,
                percent,
                prompt_pay_days if prompt_pay_days is not None else policy.prompt_pay_days))
    if as_json:
        print_json(policy.as_json())
        return
    table = data_table("percent of FPG", "discount", title="sliding fee schedule")
    low = Decimal(0)
    for step in policy.tiers:
        span = f"above {low}%" if step.up_to_percent is None else \
            f"above {low}% to {step.up_to_percent}%" if low else f"up to {step.up_to_percent}%"
        table.add_row(span, step.label)
        low = step.up_to_percent or low
    print_table(table)
    console.print(f"approvals last {policy.expiry_months} months" + (
        f"; self-pay prompt-pay discount {policy.prompt_pay_percent}% within "
        f"{policy.prompt_pay_days} days" if policy.prompt_pay_percent is not None else ""),
        highlight=False, markup=False)


@app.command("estimate-overruns")
@cli_errors
def estimate_overruns_command(as_json: JsonOption = False) -> None:
    """Self-pay bills $400 or more above the patient's good-faith estimate (No Surprises
    Act: the patient may dispute them); review before the statement goes out."""
    from medbill_core.services.good_faith import estimate_overruns

    medbill = open_app()
    with medbill.unit_of_work(read_only=True) as work:
        found = estimate_overruns(work)
    if as_json:
        print_json([item.as_json() for item in found])
        return
    table = data_table("estimate", "patient", "date of service", "estimated", "billed",
                       "excess", "claims", "dispute until",
                       title=f"{len(found)} bills at least $400 above the estimate",
                       keys=("estimate", "patient", "claims"))
    for item in found:
        table.add_row(item.estimate_number, item.account_number, item.service_date.isoformat(),
                      str(item.estimated), str(item.billed), str(item.excess),
                      ", ".join(item.claim_numbers), item.dispute_until.isoformat())
    print_table(table)


@app.command("prompt-pay")
@cli_errors
def prompt_pay_command(
    claim: Annotated[str, typer.Argument(help="Self-pay claim number")],
    pay: Annotated[bool, typer.Option("--pay", help="Record the payment of the discounted "
                                                    "balance")] = False,
    method: Annotated[str | None, typer.Option(help="cash, check, card, ach or other "
                                                    "(with --pay)")] = None,
    reference: Annotated[str | None, typer.Option(help="Check number or card reference")
                         ] = None,
    received_on: Annotated[str | None, typer.Option(
        "--date", help="Day received, YYYY-MM-DD (default today)")] = None,
    as_json: JsonOption = False,
) -> None:
    """The self-pay prompt-pay discount of a claim; with --pay, take the discounted balance
    in full (the discount is written off and the claim settled)."""
    from datetime import date

    from medbill_core.domain import Payment, PaymentMethodKind, validate_record
    from medbill_core.services.self_pay import pay_promptly, prompt_pay_offer

    day = parse_date_option(received_on, "--date", future_days=0, past_days=365) \
        or date.today()
    kind = parse_choice_option(method, "--method", PaymentMethodKind)
    if pay and kind is None:
        raise fail("--pay needs --method", 2)
    medbill = open_app()
    with medbill.unit_of_work() as work:
        claim_id = work.claims.resolve(claim)
        offer = prompt_pay_offer(work, claim_id, day)
        payment_id = None
        if pay:
            patient_id = work.claims.get(claim_id).patient_id
            payment = validate_record(Payment, {
                "patient_id": patient_id, "amount": str(offer.pay_now), "method": kind,
                "reference": reference, "received_on": day.isoformat(),
                "claim_id": claim_id}, record="payment")
            offer, result = pay_promptly(work, payment)
            payment_id = result.payment_id
    if as_json:
        print_json({**offer.as_json(), "payment_id": payment_id})
        return
    if payment_id is None:
        console.print(f"claim {claim}: {offer.percent}% off if paid in full by "
                      f"{offer.pay_by}: pay {offer.pay_now} instead of {offer.balance}",
                      highlight=False, markup=False)
    else:
        console.print(f"payment {payment_id}: {offer.pay_now} paid claim {claim} in full "
                      f"({offer.discount} prompt-pay discount)", highlight=False, markup=False)
