"""The patient account page, ``/workspace/patients/{id}``: the guarantor, coverages with
their eligibility results, the balance by age bucket and by who owes it, statements (the
rendered document opens in the browser), payments and payment plans
(:func:`~medbill_core.services.patient_account.patient_account`), how the statements'
addressee agreed to be reached (text, e-mail or paper only); and its forms, take a payment and
set up a plan (the payments service), record that agreement (the notifications service).

A form that does not validate is shown again with each problem beside its field (422), what
was typed kept; one that worked redirects to the page (so reloading does not post twice)
with a one-line message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import Form, Path, Request
from starlette.responses import RedirectResponse, Response

from medbill_core.api import (
    LedgerError,
    NotFound,
    Payment,
    PaymentMethodKind,
    PlanFrequency,
    ValidationFailed,
    parse_amount,
    validate_record,
)
from medbill_core.api.workspace import (
    Action,
    ContactChoice,
    DuplicatePayment,
    Overpayment,
    PatientAccount,
    Principal,
    StatementFileGone,
    account_key_of,
    addressee_preference,
    allowed,
    medbill_of,
    new_plan,
    patient_account,
    record_payment,
    set_contact_preference,
    statement_document,
    statements_dir,
)
from medbill_workspace_web.flash import set_flash
from medbill_workspace_web.pages import error_page, page_router, requires
from medbill_workspace_web.rendering import render

router = page_router()

PatientId = Annotated[int, Path(ge=1, le=2**31 - 1)]
StatementId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Text = Annotated[str, Form(max_length=60)]
_MEDIA_TYPES = {".pdf": "application/pdf", ".html": "text/html; charset=utf-8",
                ".htm": "text/html; charset=utf-8", ".txt": "text/plain; charset=utf-8"}
#: how many installments a plan set up here may have (five years of monthly payments)
MAX_INSTALLMENTS = 60


@dataclass
class FormState:
    """A form as typed, and its problems by field name (``""``: the form as a whole)."""

    name: str
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)


def _page_url(patient_id: int) -> str:
    return f"/workspace/patients/{patient_id}"


def _addressee(account: PatientAccount) -> str:
    """Whom statements (and their texts) go to: the guarantor, or the patient paying their own
    bills."""
    if account.guarantor is not None and account.guarantor.id is not None:
        return account_key_of(guarantor_id=account.guarantor.id)
    return account_key_of(patient_id=account.patient.id)


def _show(request: Request, principal: Principal, patient_id: int,
          *forms: FormState, status_code: int = 200) -> Response:
    with medbill_of(request).unit_of_work(principal=principal) as work:
        account = patient_account(work, patient_id, via="workspace")
        contact = addressee_preference(work, _addressee(account), via="workspace") \
            if allowed(principal.role, Action.GUARANTORS_READ) else None
    context: dict[str, Any] = {
        "account": account, "today": date.today(), "methods": list(PaymentMethodKind),
        "frequencies": list(PlanFrequency), "contact": contact,
        "contact_form": FormState("contact", {
            "channel": contact.channel.value if contact else ContactChoice.NONE.value,
            "consent": (contact.consent or "") if contact else ""}),
        "payment_form": FormState("payment", {"received_on": date.today().isoformat(),
                                              "method": PaymentMethodKind.CASH.value}),
        "plan_form": FormState("plan", {"start": date.today().isoformat(),
                                        "frequency": PlanFrequency.MONTHLY.value,
                                        "total": str(account.patient_balance)
                                        if account.patient_balance > 0 else ""})}
    for form in forms:
        context[f"{form.name}_form"] = form
    return render(request, "patients/account.html", context, status_code=status_code)


def _done(patient_id: int, message: str) -> Response:
    response = RedirectResponse(_page_url(patient_id), status_code=303)
    set_flash(response, message)
    return response


@router.get("/patients/{patient_id}", summary="Patient account page")
def account(request: Request, principal: Annotated[Principal, requires(Action.PATIENTS_READ)],
            patient_id: PatientId) -> Response:
    return _show(request, principal, patient_id)


# -- reading what was typed --------------------------------------------------------------------

def _amount(form: FormState, name: str) -> Decimal | None:
    text = form.values.get(name, "").strip().replace("$", "")
    if not text:
        form.error(name, "Enter an amount, e.g. 25.00")
        return None
    try:
        amount = parse_amount(text)
    except ValueError as exc:
        form.error(name, str(exc))
        return None
    if amount <= 0:
        form.error(name, "Must be more than 0.00")
        return None
    return amount


def _day(form: FormState, name: str) -> date | None:
    text = form.values.get(name, "").strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        form.error(name, "Enter a date as YYYY-MM-DD")
        return None


def _service_problems(form: FormState, exc: ValidationFailed, fields: dict[str, str]) -> None:
    """The service's problems beside the fields they name (``fields``: the service's field
    name -> the form's); one naming no field of the form is the form's own."""
    for name, reason in exc.problems:
        form.error(fields.get(name.split(".")[0], ""), reason)


# -- take a payment ----------------------------------------------------------------------------

@router.post("/patients/{patient_id}/payments", summary="Take a payment")
def take_payment(request: Request,
                 principal: Annotated[Principal, requires(Action.PAYMENTS_POST)],
                 patient_id: PatientId, amount: Text = "", method: Text = "",
                 received_on: Text = "", reference: Annotated[str, Form(max_length=40)] = "",
                 keep_credit: Text = "", allow_duplicate: Text = "") -> Response:
    form = FormState("payment", {"amount": amount, "method": method,
                                 "received_on": received_on, "reference": reference,
                                 "keep_credit": keep_credit,
                                 "allow_duplicate": allow_duplicate})
    value = _amount(form, "amount")
    day = _day(form, "received_on")
    if method not in {kind.value for kind in PaymentMethodKind}:
        form.error("method", "Choose how the patient paid")
    if not form.errors:
        try:
            payment = validate_record(Payment, {
                "patient_id": patient_id, "amount": value, "method": method,
                "reference": reference.strip() or None, "received_on": day},
                record="payment")
            with medbill_of(request).unit_of_work(principal=principal) as work:
                result = record_payment(
                    work, payment, overpayment=Overpayment.CREDIT if keep_credit else None,
                    allow_duplicate=bool(allow_duplicate))
        except ValidationFailed as exc:
            _service_problems(form, exc, {"amount": "amount", "method": "method",
                                          "reference": "reference",
                                          "received_on": "received_on"})
        except DuplicatePayment as exc:  # the same check posted already
            form.error("reference", f"The same payment (amount, date, method and reference) "
                                    f"is already posted as payment #{exc.payment_id}. Tick "
                                    "'the patient really paid this twice' to post it anyway")
        except LedgerError as exc:  # more than owed and no decision for the rest
            form.error("amount", f"{exc.message}. Tick 'keep the rest as a credit' to "
                                 "take it anyway")
        else:
            return _done(patient_id, f"Payment of ${payment.amount:,.2f} recorded"
                         + "".join(f" ({warning})" for warning in result.warnings))
    return _show(request, principal, patient_id, form, status_code=422)


# -- set up a plan -----------------------------------------------------------------------------

@router.post("/patients/{patient_id}/plans", summary="Set up a payment plan")
def set_up_plan(request: Request, principal: Annotated[Principal, requires(Action.PLANS_WRITE)],
                patient_id: PatientId, total: Text = "", installments: Text = "",
                start: Text = "", frequency: Text = "") -> Response:
    form = FormState("plan", {"total": total, "installments": installments, "start": start,
                              "frequency": frequency})
    value = _amount(form, "total")
    # ASCII digits only: str.isdigit() takes "²" (which int() refuses) and Arabic-Indic digits
    text = installments.strip()
    count = int(text) if text.isascii() and text.isdigit() else 0
    if not 1 <= count <= MAX_INSTALLMENTS:
        form.error("installments", f"Enter a number of installments from 1 to "
                                   f"{MAX_INSTALLMENTS}")
    first = _day(form, "start")
    if frequency not in {kind.value for kind in PlanFrequency}:
        form.error("frequency", "Choose how often the patient pays")
    if not form.errors and value is not None and first is not None:
        try:
            with medbill_of(request).unit_of_work(principal=principal) as work:
                made = new_plan(work, patient_id, value, count, first, PlanFrequency(frequency))
        except ValidationFailed as exc:
            _service_problems(form, exc, {"total_amount": "total", "installments": "installments",
                                          "start": "start", "patient_id": ""})
        else:
            return _done(patient_id, f"Plan set up: {len(made.installments)} installments")
    return _show(request, principal, patient_id, form, status_code=422)


# -- how the account's addressee agreed to be reached -----------------------------------------

@router.post("/patients/{patient_id}/contact", summary="Record how statements may be texted or "
                                                      "e-mailed")
def set_contact(request: Request,
                principal: Annotated[Principal, requires(Action.GUARANTORS_WRITE)],
                patient_id: PatientId, channel: Text = "",
                consent: Annotated[str, Form(max_length=200)] = "") -> Response:
    form = FormState("contact", {"channel": channel, "consent": consent})
    if channel not in {choice.value for choice in ContactChoice}:
        form.error("channel", "Choose text, e-mail or neither")
    if not form.errors:
        try:
            with medbill_of(request).unit_of_work(principal=principal) as work:
                account = patient_account(work, patient_id, via="workspace")
                set_contact_preference(work, _addressee(account), ContactChoice(channel),
                                       consent)
        except ValidationFailed as exc:
            _service_problems(form, exc, {"consent": "consent", "channel": "channel"})
        else:
            said = {ContactChoice.SMS: "by text", ContactChoice.EMAIL: "by e-mail",
                    ContactChoice.NONE: "on paper only"}[ContactChoice(channel)]
            return _done(patient_id, f"Statements will be announced {said}")
    return _show(request, principal, patient_id, form, status_code=422)


# -- statements --------------------------------------------------------------------------------

@router.get("/patients/{patient_id}/statements/{statement_id}", summary="A statement's document")
def statement(request: Request,
              principal: Annotated[Principal, requires(Action.STATEMENTS_READ)],
              patient_id: PatientId, statement_id: StatementId) -> Response:
    """The statement as its run rendered it, opened in the browser (a PDF in its viewer);
    the read is audited by the service."""
    try:
        with medbill_of(request).unit_of_work(principal=principal) as work:
            record, content = statement_document(work, statement_id, statements_dir(request),
                                                 via="workspace")
            if patient_id not in record.patient_ids:  # another patient's: as if none (and
                raise NotFound("statement", statement_id)  # its read is rolled back)
    except StatementFileGone as exc:
        return error_page(request, 410, "Document gone", exc.message)
    suffix = FilePath(record.filename).suffix.lower()
    media = _MEDIA_TYPES.get(suffix, "application/octet-stream")
    name = record.statement_number + (suffix if suffix in _MEDIA_TYPES else ".bin")
    return Response(content, media_type=media, headers={
        "Content-Disposition": f'inline; filename="{name}"', "Cache-Control": "no-store"})
