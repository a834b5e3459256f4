"""Patient financials on the command line: payments, plans, statements, collections."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from medbill_core.cli.common import (
    cli_errors,
    console,
    open_app,
    parse_choice_option,
    parse_date_option,
    parse_money_option,
    print_json,
)
from medbill_core.domain import Payment, PaymentMethodKind, PaymentPlan, PlanFrequency
from medbill_core.domain.estimate import PlannedService
from medbill_core.errors import ValidationFailed
from medbill_core.money import parse_amount
from medbill_core.privatefiles import private_dir, write_private

payments_app = typer.Typer(help="Patient payments.", no_args_is_help=True)
plans_app = typer.Typer(help="Payment plans.", no_args_is_help=True)
statements_app = typer.Typer(help="Patient statements.", no_args_is_help=True)
collections_app = typer.Typer(help="Follow-up of unpaid patient balances.",
                              no_args_is_help=True)

Account = Annotated[str, typer.Option("--patient", help="Patient account number")]


@payments_app.command("record")
@cli_errors
def record(
    patient: Account,
    amount: Annotated[str, typer.Option(help="Amount, e.g. 25.00")],
    method: Annotated[PaymentMethodKind, typer.Option()] = PaymentMethodKind.CASH,
    reference: Annotated[str | None, typer.Option(
        help="Check number or card last four / authorization (never a full card number)")] = None,
    claim: Annotated[int | None, typer.Option(help="Apply to this claim id only")] = None,
    received: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default today)")] = None,
    overpayment: Annotated[str | None, typer.Option(
        help="What to do with money beyond the balance: credit or refund")] = None,
) -> None:
    """Record a patient payment and apply it oldest-first (or to one claim)."""
    from medbill_core.domain import validate_record
    from medbill_core.services.payments import Overpayment, record_payment

    medbill = open_app()
    with medbill.unit_of_work() as work:
        patient_id = work.patients.by_account(patient).id
        payment = validate_record(Payment, {
            "patient_id": patient_id, "amount": parse_money_option(amount, "--amount",
                                                                    allow_zero=False),
            "method": method, "reference": reference, "claim_id": claim,
            "received_on": parse_date_option(received, "--received") or date.today()},
            record="payment")
        decision = parse_choice_option(overpayment, "--overpayment", Overpayment)
        result = record_payment(work, payment, overpayment=decision)
    applied = ", ".join(f"claim {c}: {a}" for c, a in result.applied.items()) or "nothing"
    console.print(f"payment {result.payment_id} recorded; applied {applied}; "
                  f"credit {result.credit}; refunded {result.refunded}")


@plans_app.command("create")
@cli_errors
def create(
    patient: Account,
    total: Annotated[str, typer.Option(help="Amount the plan covers")],
    installments: Annotated[int, typer.Option(min=1, max=120)],
    start: Annotated[str, typer.Option(help="First due date YYYY-MM-DD")],
    frequency: Annotated[PlanFrequency, typer.Option()] = PlanFrequency.MONTHLY,
) -> None:
    """Set up a payment plan whose installments add up exactly to the total."""
    from medbill_core.services.payments import create_plan, schedule

    medbill = open_app()
    first = parse_date_option(start, "--start")
    amount = parse_money_option(total, "--total", allow_zero=False)
    with medbill.unit_of_work() as work:
        patient_id = work.patients.by_account(patient).id
        plan = create_plan(work, PaymentPlan(
            patient_id=patient_id, total_amount=amount, start_date=first, frequency=frequency,
            installments=schedule(amount, installments, first, frequency)))
    console.print(f"plan {plan.id}: {len(plan.installments)} installments of "
                  f"{plan.installments[0].amount} from {first}")


@plans_app.command("missed")
@cli_errors
def missed(grace_days: Annotated[int, typer.Option(min=0)] = 5) -> None:
    """Installments past due (beyond the grace days) and not fully paid."""
    from medbill_core.services.payments import missed_installments

    medbill = open_app()
    with medbill.unit_of_work() as work:
        items = missed_installments(work, grace_days=grace_days)
    table = Table("plan", "patient id", "installment", "due", "amount due", "days late",
                  title=f"{len(items)} missed installments")
    for m in items:
        table.add_row(str(m.plan_id), str(m.patient_id), str(m.sequence), str(m.due_date),
                      str(m.amount_due), str(m.days_late))
    console.print(table)


@statements_app.command("run")
@cli_errors
def run(
    cycle: Annotated[str, typer.Option(help="Cycle name, e.g. 2026-11")],
    out: Annotated[Path, typer.Option(help="Folder for the rendered statements")] = Path(
        "statements"),
    renderer: Annotated[str, typer.Option(help="Renderer: pdf, text, html ...")] = "pdf",
    min_balance: Annotated[str, typer.Option(help="Smallest balance to bill")] = "5.00",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Produce this cycle's statements; a repeated run sends nothing new."""
    from medbill_core.services.statements import run_statements

    medbill = open_app()
    result = run_statements(medbill, cycle=cycle, out_dir=out, renderer=renderer,
                            minimum=parse_money_option(min_balance, "--min-balance"))
    data = {"cycle": cycle, "produced": result.produced, "already_done": result.already_done,
            "skipped": dict(result.skipped), "files": [str(f) for f in result.files]}
    if as_json:
        print_json(data)
        return
    console.print(f"cycle {cycle}: {len(result.produced)} produced, "
                  f"{len(result.already_done)} already produced earlier")
    for reason, patients in result.skipped.items():
        console.print(f"  skipped ({reason}): {len(patients)}")


@collections_app.command("worklist")
@cli_errors
def worklist(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Patients owing money, most overdue first, with their collections stage."""
    from medbill_core.services.statements import collections_worklist

    medbill = open_app()
    with medbill.unit_of_work() as work:
        items = collections_worklist(work)
    if as_json:
        print_json([item.__dict__ for item in items])
        return
    table = Table("account", "balance", "oldest (days)", "stage", "statements", "plan",
                  title="collections work list")
    for item in items:
        table.add_row(item.account_number, str(item.balance), str(item.oldest_days),
                      str(item.stage), str(item.statements_sent), "yes" if item.on_plan else "")
    console.print(table)


def _planned(text: str) -> PlannedService:
    """``99214=165.00`` or ``97110-GP*2=90.00`` (code, modifiers, units, charge per unit)."""
    try:
        left, charge = text.split("=", 1)
        units = "1"
        if "*" in left:
            left, units = left.split("*", 1)
        code, *modifiers = left.upper().split("-")
        return PlannedService(procedure_code=code, modifiers=modifiers, units=Decimal(units),
                              charge=parse_amount(charge) * Decimal(units))
    except (ValueError, InvalidOperation):
        raise ValidationFailed("--service", [("service",
                                              "expected CODE[-MOD...][*UNITS]=CHARGE")]) from None


@cli_errors
def estimate_command(
    patient: Account,
    service: Annotated[list[str], typer.Option(
        help="Planned service CODE[-MOD...][*UNITS]=CHARGE, e.g. 99214=165.00; repeat")],
    on: Annotated[str | None, typer.Option("--date", help="Date of service YYYY-MM-DD")] = None,
    render: Annotated[str | None, typer.Option(
        help="Also render a good-faith estimate with this renderer (pdf, text ...)")] = None,
    out: Annotated[Path, typer.Option(help="Folder for the rendered estimate")] = Path("."),
    no_eligibility: Annotated[bool, typer.Option(
        "--no-eligibility", help="Do not ask the payer; use no benefit details")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    confirm_date: Annotated[bool, typer.Option(
        "--confirm-date", help="Accept a --date over a year ahead or a month back")] = False,
) -> None:
    """Estimate what the patient will owe for planned services (before the visit)."""
    from medbill_core.services.estimates import estimate_for_patient

    medbill = open_app()
    when = parse_date_option(on, "--date", future_days=365, past_days=30,
                             confirmed=confirm_date) or date.today()
    with medbill.unit_of_work() as work:
        patient_id = work.patients.by_account(patient).id
        result = estimate_for_patient(work, patient_id, [_planned(s) for s in service],
                                      service_date=when,
                                      check_eligibility=not no_eligibility)
    if render:
        document = medbill.hooks.render_estimate(estimate=result, renderer=render)
        write_private(private_dir(out) / document.filename, document.content)
    if as_json:
        print_json(result.model_dump(mode="json", exclude={"patient", "practice"}))
        return
    table = Table("code", "charge", "allowed", "copay", "deductible", "coinsurance",
                  "patient owes", title=f"estimate {result.estimate_number}")
    for s in result.services:
        table.add_row("-".join([s.procedure_code, *s.modifiers]), str(s.charge), str(s.allowed),
                      str(s.copay), str(s.deductible), str(s.coinsurance), str(s.patient_owes))
    console.print(table)
    console.print(f"patient owes about [bold]{result.patient_total}[/]; plan pays about "
                  f"{result.plan_total}")
    for note in result.notes:
        console.print(f"  note: {note}", highlight=False)
