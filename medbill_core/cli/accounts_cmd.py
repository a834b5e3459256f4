"""Patient financials on the command line: payments, plans, statements, collections."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path
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
    parse_date_option,
    parse_money_option,
    print_json,
    print_table,
    warn,
)
from medbill_core.cli.service_progress import service_progress
from medbill_core.domain import Payment, PaymentMethodKind, PlanFrequency
from medbill_core.domain.estimate import PlannedService
from medbill_core.money import CENT
from medbill_core.privatefiles import private_dir, write_private
from medbill_core.services.date_rules import PAYMENT_RECEIVED, PLAN_START

payments_app = typer.Typer(help="Patient payments.", no_args_is_help=True)
plans_app = typer.Typer(help="Payment plans.", no_args_is_help=True)
statements_app = typer.Typer(help="Patient statements.", no_args_is_help=True)
collections_app = typer.Typer(help="Follow-up of unpaid patient balances.",
                              no_args_is_help=True)

Account = Annotated[str, typer.Option("--patient", help="Patient account number")]


ConfirmDate = Annotated[bool, typer.Option(
    "--confirm-date", help="Accept a date further ahead or back than usual")]

#: How far a payment's received date and a plan's first due date may lie from today before
#: they need --confirm-date: the services' rules (services/date_rules.py), checked here too to
#: answer with a usage error
PAYMENT_FUTURE_DAYS, PAYMENT_PAST_DAYS = PAYMENT_RECEIVED.future_days, PAYMENT_RECEIVED.past_days
PLAN_FUTURE_DAYS, PLAN_PAST_DAYS = PLAN_START.future_days, PLAN_START.past_days


GuarantorRef = Annotated[str | None, typer.Option(
    "--guarantor", help="A family's payment: the guarantor's number from the statement "
                        "coupon (G0000012), the guarantor id, or the statement number")]


@payments_app.command("record")
@cli_errors
def record(
    amount: Annotated[str, typer.Option(help="Amount, e.g. 25.00")],
    patient: Annotated[str | None, typer.Option(
        "--patient", help="Patient account number")] = None,
    guarantor: GuarantorRef = None,
    method: Annotated[str, typer.Option(
        help="cash, check, card, ach or other")] = "cash",
    reference: Annotated[str | None, typer.Option(
        help="Check number or card last four / authorization (never a full card number)")] = None,
    claim: Annotated[str | None, typer.Option(
        help="Apply to this claim only (id or claim number)")] = None,
    received: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default today)")] = None,
    overpayment: Annotated[str | None, typer.Option(
        help="What to do with money beyond the balance: credit or refund")] = None,
    confirm_date: ConfirmDate = False,
    allow_duplicate: Annotated[bool, typer.Option(
        "--allow-duplicate", help="Post it although a payment of the same patient, amount, "
                                  "date, method and reference is posted (paid twice)")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Record a patient payment and apply it oldest-first (or to one claim); with
    --guarantor, one payment across the family's patients, oldest service first. The same
    payment twice (same patient, amount, date, method and reference) is refused unless
    --allow-duplicate."""
    from medbill_core.domain import validate_record
    from medbill_core.services.guarantors import resolve_guarantor
    from medbill_core.services.payments import (
        Overpayment,
        family_of,
        record_guarantor_payment,
        record_payment,
    )

    if (patient is None) == (guarantor is None):
        raise fail("give --patient or --guarantor (one of them)", 2)
    if guarantor is not None and claim is not None:
        raise fail("--claim: a family payment applies oldest service first; pay one claim "
                   "with --patient", 2)
    paid = parse_money_option(amount, "--amount", allow_zero=False)
    on = parse_date_option(received, "--received", future_days=PAYMENT_FUTURE_DAYS,
                           past_days=PAYMENT_PAST_DAYS, confirmed=confirm_date,
                           confirm_flag="--confirm-date") or date.today()
    decision = parse_choice_option(overpayment, "--overpayment", Overpayment)
    kind = parse_choice_option(method, "--method", PaymentMethodKind)
    medbill = open_app()
    with medbill.unit_of_work() as work:
        guarantor_id = resolve_guarantor(work.session, guarantor) \
            if guarantor is not None else None
        if patient is not None:
            patient_id = work.patients.by_account(patient).id
        else:
            assert guarantor_id is not None  # --patient or --guarantor: checked above
            patient_id = family_of(work, guarantor_id)[0]
        payment = validate_record(Payment, {
            "patient_id": patient_id, "amount": paid, "method": kind,
            "reference": reference,
            "claim_id": work.claims.resolve(claim) if claim is not None else None,
            "received_on": on}, record="payment")
        result = record_payment(work, payment, overpayment=decision,
                                confirmed_date=confirm_date,
                                allow_duplicate=allow_duplicate) if guarantor_id is None \
            else record_guarantor_payment(work, guarantor_id, payment, overpayment=decision,
                                          confirmed_date=confirm_date,
                                          allow_duplicate=allow_duplicate)
    for message in result.warnings:
        warn(message)
    if as_json:
        print_json({"payment_id": result.payment_id,
                    "applied": {str(c): str(a) for c, a in result.applied.items()},
                    "credit": str(result.credit), "refunded": str(result.refunded),
                    "warnings": list(result.warnings)})
        return
    applied = ", ".join(f"claim {c}: {a}" for c, a in result.applied.items()) or "nothing"
    console.print(f"payment {result.payment_id} recorded; applied {applied}; "
                  f"credit {result.credit}; refunded {result.refunded}", markup=False)


@plans_app.command("create")
@cli_errors
def create(
    patient: Account,
    total: Annotated[str, typer.Option(help="Amount the plan covers")],
    installments: Annotated[int, typer.Option(min=1, max=120)],
    start: Annotated[str, typer.Option(help="First due date YYYY-MM-DD")],
    frequency: Annotated[str, typer.Option(help="monthly, biweekly or weekly")] = "monthly",
    confirm_date: ConfirmDate = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Set up a payment plan whose installments add up exactly to the total."""
    from medbill_core.services.payments import new_plan

    every = parse_choice_option(frequency, "--frequency", PlanFrequency)
    amount = parse_money_option(total, "--total", allow_zero=False)
    first = parse_date_option(start, "--start", future_days=PLAN_FUTURE_DAYS,
                              past_days=PLAN_PAST_DAYS, confirmed=confirm_date,
                              confirm_flag="--confirm-date")
    assert amount is not None and first is not None  # required options
    medbill = open_app()
    with medbill.unit_of_work() as work:
        patient_id = work.patients.by_account(patient).id
        plan = new_plan(work, patient_id, amount, installments, first, every,
                        confirmed_date=confirm_date)
    if as_json:
        print_json(plan.model_dump(mode="json"))
        return
    count = len(plan.installments)
    console.print(f"plan {plan.id}: {count} installment{'s' if count != 1 else ''} of "
                  f"{plan.installments[0].amount} from {first}", markup=False)


PaymentId = Annotated[int, typer.Argument(help="Payment id (payments list)", min=1)]
Reason = Annotated[str, typer.Option(help="Why (no patient details)")]
AsJson = Annotated[bool, typer.Option("--json")]


@payments_app.command("list")
@cli_errors
def list_payments_command(
    patient: Annotated[str | None, typer.Option(
        "--patient", help="Only this patient account number")] = None,
    received_from: Annotated[str | None, typer.Option(
        "--from", help="Received on or after YYYY-MM-DD")] = None,
    received_to: Annotated[str | None, typer.Option(
        "--to", help="Received on or before YYYY-MM-DD")] = None,
    guarantor: GuarantorRef = None,
    as_json: AsJson = False,
) -> None:
    """Payments received, oldest first: applied, credit, refunded, reversed; a financed
    payment's merchant fee and what was deposited (net)."""
    from medbill_core.services.guarantors import resolve_guarantor
    from medbill_core.services.payments import list_payments

    start = parse_date_option(received_from, "--from")
    end = parse_date_option(received_to, "--to")
    medbill = open_app()
    with medbill.unit_of_work() as work:
        patient_id = work.patients.by_account(patient).id if patient is not None else None
        guarantor_id = resolve_guarantor(work.session, guarantor) \
            if guarantor is not None else None
        items = list_payments(work, patient_id=patient_id, received_from=start,
                              received_to=end, guarantor_id=guarantor_id)
    if as_json:
        print_json([item.as_json() for item in items])
        return
    money = ("amount", "fee", "net", "applied", "credit", "refunded")
    table = data_table("id", "account", "received", "method", "reference", *money, "status",
                       title=f"{len(items)} payments",
                       keys=("id", "account", "received", "reference", *money),
                       numeric=money)
    for item in items:
        status = item.status.value + (f" {item.reversed_on}" if item.reversed_on else "")
        table.add_row(str(item.id), escape(item.account_number), str(item.received_on),
                      item.method, escape(item.reference or ""), str(item.amount),
                      str(item.fee or ""), str(item.net), str(item.applied),
                      str(item.credit), str(item.refunded), status)
    print_table(table)


@payments_app.command("refund")
@cli_errors
def refund_command(
    payment_id: PaymentId,
    amount: Annotated[str, typer.Option(help="Amount to give back, e.g. 20.00")],
    reason: Reason,
    as_json: AsJson = False,
) -> None:
    """Refund (part of) the credit a payment left on the account."""
    from medbill_core.services.payments import refund_credit

    money = parse_money_option(amount, "--amount", allow_zero=False)
    assert money is not None  # a required option
    medbill = open_app()
    with medbill.unit_of_work() as work:
        result = refund_credit(work, payment_id, money, reason)
    if as_json:
        print_json({"refund_id": result.refund_id, "payment_id": payment_id,
                    "amount": str(result.amount), "credit_left": str(result.credit_left)})
        return
    console.print(f"refund {result.refund_id}: {result.amount} of payment {payment_id}; "
                  f"credit left {result.credit_left}", markup=False)


@payments_app.command("reverse")
@cli_errors
def reverse_command(
    payment_id: PaymentId,
    reason: Reason,
    fee: Annotated[str | None, typer.Option(
        help="Returned-item fee to charge the patient, e.g. 25.00")] = None,
    as_json: AsJson = False,
) -> None:
    """Returned check / NSF: take back what the payment applied; its claims owe again."""
    from medbill_core.services.payments import reverse_payment

    fee_amount = parse_money_option(fee, "--fee", allow_zero=False)
    medbill = open_app()
    with medbill.unit_of_work() as work:
        result = reverse_payment(work, payment_id, reason, fee=fee_amount)
    if as_json:
        print_json({"payment_id": payment_id, "reversed_now": result.reversed_now,
                    "reopened": {str(c): str(a) for c, a in result.reopened.items()},
                    "credit_taken_back": str(result.credit_taken_back),
                    "refunded_owed": str(result.refunded_owed),
                    "returned_fee": None if result.returned_fee is None
                    else str(result.returned_fee)})
        return
    if not result.reversed_now:
        console.print(f"payment {payment_id} was already reversed; nothing changed", markup=False)
        return
    reopened = ", ".join(f"claim {c}: {a}" for c, a in result.reopened.items()) or "none"
    console.print(f"payment {payment_id} reversed; reopened {reopened}; credit taken back "
                  f"{result.credit_taken_back}; refunded and owed again "
                  f"{result.refunded_owed}; fee {result.returned_fee or '0.00'}", markup=False)


@payments_app.command("apply-credit")
@cli_errors
def apply_credit_command(
    patient: Account,
    claim: Annotated[int | None, typer.Option(help="Apply to this claim id only")] = None,
    as_json: AsJson = False,
) -> None:
    """Move the patient's payment credit onto open balances, oldest first."""
    from medbill_core.services.payments import apply_credit

    medbill = open_app()
    with medbill.unit_of_work() as work:
        result = apply_credit(work, work.patients.by_account(patient).id, claim_id=claim)
    if as_json:
        print_json({"applied": {str(c): str(a) for c, a in result.applied.items()},
                    "payments": {str(p): str(a) for p, a in result.used.items()},
                    "credit_left": str(result.credit_left)})
        return
    applied = ", ".join(f"claim {c}: {a}" for c, a in result.applied.items())
    console.print(f"applied {applied}; credit left {result.credit_left}", markup=False)


@plans_app.command("missed")
@cli_errors
def missed(grace_days: Annotated[int, typer.Option(min=0)] = 5,
           as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Installments past due (beyond the grace days) and not fully paid."""
    from medbill_core.services.payments import missed_installments

    medbill = open_app()
    with medbill.unit_of_work() as work:
        items = missed_installments(work, grace_days=grace_days)
    if as_json:
        print_json([m.as_json() for m in items])
        return
    table = data_table("plan", "account", "installment", "due", "amount due", "days late",
                       title=f"{len(items)} missed installments",
                       numeric=("installment", "amount due", "days late"))
    for m in items:
        table.add_row(str(m.plan_id), escape(m.account_number), str(m.sequence),
                      str(m.due_date), str(m.amount_due), str(m.days_late))
    print_table(table)


PlanId = Annotated[int, typer.Argument(help="Plan id (plans list)", min=1)]


@plans_app.command("list")
@cli_errors
def list_plans_command(
    patient: Annotated[str | None, typer.Option(
        "--patient", help="Only this patient account number")] = None,
    status: Annotated[str | None, typer.Option(
        help="Only plans in this status: active, completed or cancelled")] = None,
    as_json: AsJson = False,
) -> None:
    """Payment plans: paid, remaining and the next installment due."""
    from medbill_core.services.payments import PlanStatus, list_plans

    wanted = parse_choice_option(status, "--status", PlanStatus)
    medbill = open_app()
    with medbill.unit_of_work() as work:
        patient_id = work.patients.by_account(patient).id if patient is not None else None
        items = list_plans(work, patient_id=patient_id, status=wanted)
    if as_json:
        print_json([item.as_json() for item in items])
        return
    figures = ("total", "paid", "remaining", "installments")
    table = data_table("id", "account", "status", "frequency", *figures, "next due",
                       title=f"{len(items)} payment plans",
                       keys=("id", "account", *figures, "next due"), numeric=figures)
    for item in items:
        next_due = f"{item.next_due_amount} on {item.next_due_date}" \
            if item.next_due_date and item.status.value == "active" else ""
        table.add_row(str(item.id), escape(item.account_number), item.status.value,
                      item.frequency.value, str(item.total), str(item.paid),
                      str(item.remaining), str(item.installments), next_due)
    print_table(table)


@plans_app.command("cancel")
@cli_errors
def cancel_plan_command(plan_id: PlanId, reason: Reason, as_json: AsJson = False) -> None:
    """End an active plan; the balance stays on the account."""
    from medbill_core.services.payments import cancel_plan

    medbill = open_app()
    with medbill.unit_of_work() as work:
        cancel_plan(work, plan_id, reason)
    if as_json:
        print_json({"plan_id": plan_id, "status": "cancelled"})
        return
    console.print(f"plan {plan_id} cancelled", markup=False)


@plans_app.command("edit")
@cli_errors
def edit_plan_command(
    plan_id: PlanId,
    installments: Annotated[int | None, typer.Option(
        min=1, max=120, help="Spread what is left over this many installments")] = None,
    amount: Annotated[str | None, typer.Option(
        help="Or: installments of this amount (the last takes the rest)")] = None,
    start: Annotated[str | None, typer.Option(
        help="First new due date YYYY-MM-DD (default: the first one not paid)")] = None,
    confirm_date: ConfirmDate = False,
    as_json: AsJson = False,
) -> None:
    """Re-schedule the rest of an active plan, exactly in cents."""
    from medbill_core.services.payments import edit_plan

    per_installment = parse_money_option(amount, "--amount", allow_zero=False)
    first = parse_date_option(start, "--start", future_days=PLAN_FUTURE_DAYS,
                              past_days=PLAN_PAST_DAYS, confirmed=confirm_date,
                              confirm_flag="--confirm-date")
    medbill = open_app()
    with medbill.unit_of_work() as work:
        plan = edit_plan(work, plan_id, installments=installments, amount=per_installment,
                         start=first, confirmed_date=confirm_date)
    if as_json:
        print_json(plan.model_dump(mode="json"))
        return
    unpaid = [i for i in plan.installments if i.paid_amount < i.amount]
    console.print(f"plan {plan_id}: {len(unpaid)} installment"
                  f"{'s' if len(unpaid) != 1 else ''} left, "
                  + ", ".join(f"{i.amount} on {i.due_date}" for i in unpaid), markup=False)


@statements_app.command("run")
@cli_errors
def run(
    cycle: Annotated[str, typer.Option(help="Cycle name, e.g. 2026-11")],
    out: Annotated[Path, typer.Option(help="Folder for the rendered statements")] = Path(
        "statements"),
    renderer: Annotated[str, typer.Option(help="Renderer: pdf, text, html ...")] = "pdf",
    min_balance: Annotated[str, typer.Option(
        help="Smallest balance to bill (a family's balances count together)")] = "5.00",
    force: Annotated[bool, typer.Option(
        "--force", help="Also send to guarantors who already got a statement today")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Produce this cycle's statements, one per guarantor (a family's patients together); a
    repeated run sends nothing new, nor does a second cycle run the same day unless --force."""
    from medbill_core.cli.common import parse_money_option
    from medbill_core.errors import ValidationFailed
    from medbill_core.services.statements import check_renderer, run_statements

    minimum = parse_money_option(min_balance, "--min-balance", allow_zero=False)
    medbill = open_app()
    try:  # the run's own check, worded as the option's usage error
        check_renderer(medbill, renderer, record="statements run", field="--renderer")
    except ValidationFailed as exc:
        raise fail(f"--renderer: {exc.problems[0][1]}", 2) from None
    with service_progress(f"statements {cycle}") as on_progress:
        result = run_statements(medbill, cycle=cycle, out_dir=out, renderer=renderer,
                                minimum=minimum, force=force, on_progress=on_progress)
    data = {"cycle": cycle, "produced": result.produced, "already_done": result.already_done,
            "skipped": dict(result.skipped), "files": [str(f) for f in result.files]}
    if as_json:
        print_json(data)
        return
    # statements and patients are counted apart: a family statement covers several patients
    console.print(f"cycle {cycle}: {len(result.produced)} statements produced; "
                  f"{len(result.already_done)} patients already on a statement of this cycle",
                  markup=False)
    for reason, patients in result.skipped.items():
        console.print(f"  patients skipped ({reason}): {len(patients)}", markup=False)


@collections_app.command("worklist")
@cli_errors
def worklist(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Patients owing money, most overdue first, with their collections stage."""
    from medbill_core.services.statements import collections_worklist

    medbill = open_app()
    with medbill.unit_of_work() as work:
        items = collections_worklist(work)
    if as_json:
        print_json([item.as_json() for item in items])
        return
    table = data_table("account", "patients", "balance", "oldest (days)", "stage", "statements",
                       "plan", title=f"collections work list: {len(items)} guarantors",
                       keys=("account", "balance", "oldest (days)"),
                       numeric=("balance", "oldest (days)", "statements"))
    for item in items:
        patients = ", ".join(f"{account} {balance}" for account, balance in item.patients)
        table.add_row(escape(item.account_number), escape(patients), str(item.balance),
                      str(item.oldest_days), f"{item.stage} {item.stage_name}",
                      str(item.statements_sent), "yes" if item.on_plan else "")
    print_table(table)


_UNITS_TEXT = re.compile(r"[0-9]{1,4}(?:\.[0-9]{1,3})?", re.ASCII)


def _planned(text: str, number: int) -> PlannedService:
    """``99214=165.00``, ``97110-GP*2=45.00`` (code, modifiers, units, charge **per unit**) or
    ``99214`` (the charge master's price on the date of service).

    The planned service carries the line's total, units x the charge per unit, as a claim
    line does: a total that is not whole cents (``99213*1.333=10.01``, 13.34333) is refused,
    never rounded."""
    option = f"--service {number}"
    left, has_charge, charge_text = text.partition("=")
    code_part, has_units, units_text = left.partition("*")
    code, *modifiers = code_part.strip().upper().split("-")
    if not code or not all(modifiers):
        raise fail(f"{option}: expected CODE[-MOD...][*UNITS][=CHARGE], e.g. 99214=165.00", 2)
    units = Decimal(1)
    if has_units:
        if not _UNITS_TEXT.fullmatch(units_text.strip()) or Decimal(units_text) <= 0:
            raise fail(f"{option}: units must be a number more than 0 (at most 3 decimals)", 2)
        units = Decimal(units_text.strip())
    charge = None
    if has_charge:
        per_unit = parse_money_option(charge_text, option)
        charge = per_unit * units
        if charge != charge.quantize(CENT):
            raise fail(f"{option}: charge {per_unit} per unit x {units} units is "
                       f"{charge.normalize():f}, not whole cents (amounts are never rounded)", 2)
        charge = charge.quantize(CENT)
    return PlannedService(procedure_code=code, modifiers=modifiers, units=units, charge=charge)


@cli_errors
def estimate_command(
    patient: Account,
    service: Annotated[list[str], typer.Option(
        help="Planned service CODE[-MOD...][*UNITS][=CHARGE per unit], e.g. 99214=165.00 or "
             "97110-GP*2=45.00 (units x charge must be whole cents); without =CHARGE the "
             "charge master's price is used; repeat")],
    on: Annotated[str | None, typer.Option("--date", help="Date of service YYYY-MM-DD")] = None,
    confirm_date: Annotated[bool, typer.Option(
        "--confirm-date", help="The date of service is right although far from today")] = False,
    render: Annotated[str | None, typer.Option(
        help="Also render a good-faith estimate with this renderer (pdf, text ...)")] = None,
    out: Annotated[Path, typer.Option(help="Folder for the rendered estimate")] = Path("."),
    no_eligibility: Annotated[bool, typer.Option(
        "--no-eligibility", help="Do not ask the payer; assume the payer's standard "
                                 "benefits (Medicare Part B) or none")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Estimate what the patient will owe for planned services (before the visit)."""
    from medbill_core.codesets.explain import percent
    from medbill_core.services.estimates import estimate_for_patient

    when = parse_date_option(on, "--date", future_days=365, past_days=30,
                             confirmed=confirm_date) or date.today()
    planned = [_planned(s, number) for number, s in enumerate(service, start=1)]
    medbill = open_app()
    with medbill.unit_of_work(read_only=True) as work:
        patient_id = work.patients.by_account(patient).id
    result = estimate_for_patient(medbill, patient_id, planned, service_date=when,
                                  check_eligibility=not no_eligibility)
    with medbill.unit_of_work() as work:  # an uninsured patient's GFE is kept (issue 18)
        from medbill_core.services.good_faith import record_estimate

        record_estimate(work, result, patient_id)
    if render:
        document = medbill.hooks.render_estimate(estimate=result, renderer=render)
        try:
            write_private(private_dir(out) / document.filename, document.content)
        except OSError as exc:
            reason = exc.strerror or "not writable"
            raise fail(f"--out: cannot write the estimate into that folder ({reason})",
                       1) from None
    rate = result.benefits.coinsurance if result.benefits is not None else None
    if as_json:
        data = result.model_dump(mode="json", exclude={"patient", "practice"})
        if data.get("benefits") is not None:
            # the rate as people read it ("20%") beside the machine's 0.2
            data["benefits"]["coinsurance_percent"] = percent(rate) if rate is not None \
                else None
        print_json(data)
        return
    # the coinsurance column holds amounts: its heading names the rate they come from
    coinsurance = f"coinsurance {percent(rate)}" if rate is not None else "coinsurance"
    money = ("charge", "allowed", "copay", "deductible", coinsurance, "patient owes")
    table = data_table("code", "service", *money, title=f"estimate {result.estimate_number}",
                       keys=("code", *money), numeric=money)
    for s in result.services:
        table.add_row("-".join([s.procedure_code, *s.modifiers]), escape(s.description or ""),
                      str(s.charge), str(s.allowed), str(s.copay), str(s.deductible),
                      str(s.coinsurance), str(s.patient_owes))
    print_table(table)
    if result.benefits is not None:
        b = result.benefits
        console.print(f"benefits: coinsurance {percent(b.coinsurance)}, deductible remaining "
                      f"{b.deductible_remaining if b.deductible_remaining is not None else '-'}"
                      f", copay {b.copay if b.copay is not None else '-'}",
                      highlight=False, markup=False)
    console.print(f"patient owes about [bold]{result.patient_total}[/]; plan pays about "
                  f"{result.plan_total}")
    for note in result.notes:
        console.print(f"  note: {note}", highlight=False, markup=False)


@payments_app.command("refund-claim-credit")
@cli_errors
def refund_claim_credit_command(
    claim: Annotated[str, typer.Argument(help="Claim id or claim number")],
    amount: Annotated[str, typer.Option(help="Amount to give back, e.g. 20.00")],
    reason: Reason,
    as_json: AsJson = False,
) -> None:
    """Refund (part of) a credit sitting on one claim (the patient paid more there than they
    owe now, e.g. after the payer reprocessed it); `payments apply-credit` can instead move it
    onto other open balances."""
    from medbill_core.services.payments import refund_claim_credit

    money = parse_money_option(amount, "--amount", allow_zero=False)
    assert money is not None  # a required option
    medbill = open_app()
    with medbill.unit_of_work() as work:
        result = refund_claim_credit(work, work.claims.resolve(claim), money, reason)
    if as_json:
        print_json({"claim_id": result.claim_id, "amount": str(result.amount),
                    "credit_left": str(result.credit_left)})
        return
    console.print(f"refunded {result.amount} of the credit on claim {result.claim_id}; "
                  f"credit left {result.credit_left}", markup=False)


# issue 18: card payments through the practice's payment gateway (`payments card ...`)
from medbill_core.cli.card_payments_cmd import card_app  # noqa: E402

payments_app.add_typer(card_app, name="card")
