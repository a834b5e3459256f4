"""The pay page's routes: code -> date of birth -> balance -> card (at the gateway) or plan.

No sign-in: a visit is a short-lived cookie (:data:`COOKIE`, HttpOnly, SameSite=Lax so the
browser brings it back from the gateway's card page, Secure over https, path ``/pay``)
holding a random token the core keeps the hash of. Every POST carries a CSRF token: the
visit's (derived from its token), or before a visit exists the double-submit token of
:data:`FORM_COOKIE`. The code never stays in an address: ``/pay?code=...`` (the printed link)
opens a visit and answers 303 to ``/pay/check``. Failed tries (unknown codes, wrong dates of
birth) count per client address (:class:`~medbill_patient_pay_web.throttle.ClientThrottle`)
besides the link's own count in the database.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import date
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from medbill_core.api import GatewayError, ValidationFailed
from medbill_core.api.http import public_route
from medbill_core.api.workspace import (
    PAGE_PATH,
    CardPaymentStatus,
    CheckOutcome,
    LinkProblem,
    PayLinkUnusable,
    balance_of,
    check_birth_date,
    csrf_token,
    end_visit,
    enrol_plan,
    finish_payment,
    medbill_of,
    open_visit,
    plan_choices,
    start_payment,
    visit_of,
)
from medbill_patient_pay_web.rendering import render
from medbill_patient_pay_web.throttle import ClientThrottle

COOKIE = "medbill_pay"
FORM_COOKIE = "medbill_pay_form"
CSRF_FIELD = "csrf_token"
#: what a patient reads when a code or a visit cannot be used
PROBLEMS: dict[LinkProblem, str] = {
    LinkProblem.UNKNOWN: "We could not find that code. Check it against your statement "
                         "(letters and numbers, like K7QM-4XPD-R2WA).",
    LinkProblem.EXPIRED: "This payment link has expired. Use the code on your newest "
                         "statement, or call the office.",
    LinkProblem.REVOKED: "This payment link no longer works. Use the code on your newest "
                         "statement, or call the office.",
    LinkProblem.SESSION: "Your visit timed out, for your privacy. Enter the code from your "
                         "statement again.",
}
TOO_MANY = ("Too many tries from this connection. Wait 15 minutes and try again, or call "
            "the office.")
_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
            "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                       "img-src 'self'; base-uri 'none'; "
                                       "frame-ancestors 'none'"}

router = APIRouter(include_in_schema=False)


def add_pay_pages(app: FastAPI) -> None:
    app.state.pay_throttle = ClientThrottle()
    app.include_router(router)


def _throttle(request: Request) -> ClientThrottle:
    throttle: ClientThrottle = request.app.state.pay_throttle
    return throttle


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _secure(request: Request) -> bool:
    return medbill_of(request).config.pay_links.public_url.startswith("https://")


def _page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    response = HTMLResponse(render(template, **context), status_code=status)
    response.headers.update(_HEADERS)
    return response


def _see(path: str) -> RedirectResponse:
    response = RedirectResponse(path, status_code=303)
    response.headers.update(_HEADERS)
    return response


def _set_visit(request: Request, response: Response, token: str) -> None:
    response.set_cookie(COOKIE, token, max_age=20 * 60, path=PAGE_PATH, httponly=True,
                        samesite="lax", secure=_secure(request))


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


def _visit_csrf_ok(request: Request, fields: dict[str, str]) -> bool:
    token = request.cookies.get(COOKIE)
    return bool(token) and hmac.compare_digest(csrf_token(token or ""),
                                               fields.get(CSRF_FIELD, ""))


def _forbidden(request: Request) -> HTMLResponse:
    return _page(request, "message.html", status=403, title="Please start again",
                 message="This form expired or did not come from this page. Enter the code "
                         "from your statement again.", restart=True)


def _unusable(request: Request, problem: LinkProblem) -> HTMLResponse:
    status = 410 if problem in (LinkProblem.EXPIRED, LinkProblem.REVOKED) else 404 \
        if problem is LinkProblem.UNKNOWN else 401
    response = _code_form(request, error=PROBLEMS[problem], status=status)
    response.delete_cookie(COOKIE, path=PAGE_PATH)
    return response


def _code_form(request: Request, *, error: str | None = None, status: int = 200
               ) -> HTMLResponse:
    form_token = request.cookies.get(FORM_COOKIE) or secrets.token_urlsafe(24)
    response = _page(request, "code.html", status=status, error=error, csrf=form_token)
    response.set_cookie(FORM_COOKIE, form_token, max_age=3600, path=PAGE_PATH, httponly=True,
                        samesite="strict", secure=_secure(request))
    return response


def _open(request: Request, code: str) -> Response:
    throttle = _throttle(request)
    address = _address(request)
    if throttle.blocked(address):
        return _page(request, "message.html", status=429, title="Please wait",
                     message=TOO_MANY, restart=False)
    try:
        visit = open_visit(medbill_of(request), code)
    except PayLinkUnusable as unusable:
        if unusable.problem is LinkProblem.UNKNOWN:
            throttle.failed(address)
        return _unusable(request, unusable.problem)
    response = _see(f"{PAGE_PATH}/check")
    _set_visit(request, response, visit.token)
    return response


# -- the code ----------------------------------------------------------------------------------

@router.get(PAGE_PATH, summary="Pay a bill: enter the code from the statement")
@public_route
def code_page(request: Request) -> Response:
    code = request.query_params.get("code")
    if code is not None:
        return _open(request, code)
    return _code_form(request)


@router.post(PAGE_PATH, summary="Open the bill of a code")
@public_route
async def code_submit(request: Request) -> Response:
    fields = await _form(request)
    expected = request.cookies.get(FORM_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, fields.get(CSRF_FIELD, "")):
        return _forbidden(request)
    return _open(request, fields.get("code", ""))


# -- the date of birth -------------------------------------------------------------------------

def _check_form(request: Request, *, error: str | None = None, status: int = 200
                ) -> Response:
    token = request.cookies.get(COOKIE)
    try:
        visit = visit_of(medbill_of(request), token)
    except PayLinkUnusable as unusable:
        return _unusable(request, unusable.problem)
    if visit.verified:
        return _see(f"{PAGE_PATH}/balance")
    return _page(request, "check.html", status=status, error=error,
                 csrf=csrf_token(token or ""))


@router.get(f"{PAGE_PATH}/check", summary="Confirm a date of birth")
@public_route
def check_page(request: Request) -> Response:
    return _check_form(request)


def _birth_date(fields: dict[str, str]) -> date | None:
    """The date typed, or None: ASCII digits only (``int()`` reads Arabic-Indic and
    full-width ones), each part short enough to be one (a month of 20 digits overflowed
    ``date()``: a 500)."""
    parts = [fields.get(name, "").strip() for name in ("year", "month", "day")]
    if not all(part.isascii() and part.isdigit() and len(part) <= 4 for part in parts):
        return None
    try:
        return date(*(int(part) for part in parts))
    except ValueError:
        return None


@router.post(f"{PAGE_PATH}/check", summary="Check a date of birth")
@public_route
async def check_submit(request: Request) -> Response:
    fields = await _form(request)
    if not _visit_csrf_ok(request, fields):
        return _forbidden(request)
    throttle = _throttle(request)
    address = _address(request)
    if throttle.blocked(address):
        return _page(request, "message.html", status=429, title="Please wait",
                     message=TOO_MANY, restart=False)
    born = _birth_date(fields)
    if born is None:
        return _check_form(request, error="Enter the month, day and year as numbers "
                                          "(for example 4, 27, 1980).", status=422)
    try:
        result = check_birth_date(medbill_of(request), request.cookies.get(COOKIE, ""), born)
    except PayLinkUnusable as unusable:
        return _unusable(request, unusable.problem)
    if result.outcome is CheckOutcome.PASSED:
        return _see(f"{PAGE_PATH}/balance")
    throttle.failed(address)
    if result.outcome is CheckOutcome.LOCKED:
        return _page(request, "message.html", status=423, title="Locked for now",
                     message="Too many dates of birth that did not match. For your "
                             "privacy this link is locked for a while; try again later, or "
                             "call the office.", restart=False)
    return _check_form(request, error=f"That date of birth does not match our records. "
                                      f"{result.attempts_left} "
                                      f"{'try' if result.attempts_left == 1 else 'tries'} "
                                      "left before the link locks for a while.", status=422)


# -- the balance -------------------------------------------------------------------------------

def _balance_page(request: Request, *, error: str | None = None, status: int = 200
                  ) -> Response:
    token = request.cookies.get(COOKIE, "")
    medbill = medbill_of(request)
    try:
        balance = balance_of(medbill, token)
        plans = plan_choices(medbill, token) if balance.total_due > 0 else []
    except PayLinkUnusable as unusable:
        return _unusable(request, unusable.problem)
    return _page(request, "balance.html", status=status, balance=balance, plans=plans,
                 error=error, csrf=csrf_token(token))


@router.get(f"{PAGE_PATH}/balance", summary="What is owed, line by line")
@public_route
def balance_page(request: Request) -> Response:
    return _balance_page(request)


def _problem_words(exc: ValidationFailed) -> str:
    return " ".join(reason[:1].upper() + reason[1:] + "." for _, reason in exc.problems)


@router.post(f"{PAGE_PATH}/card", summary="Pay by card at the gateway's page")
@public_route
async def card_submit(request: Request) -> Response:
    fields = await _form(request)
    if not _visit_csrf_ok(request, fields):
        return _forbidden(request)
    amount = fields.get("amount", "")
    try:
        started = start_payment(medbill_of(request), request.cookies.get(COOKIE, ""), amount)
    except PayLinkUnusable as unusable:
        return _unusable(request, unusable.problem)
    except ValidationFailed as invalid:
        return _balance_page(request, error=_problem_words(invalid), status=422)
    except GatewayError:
        return _balance_page(request, error="The card service is not answering. Nothing "
                                            "was charged; try again in a few minutes.",
                             status=503)
    return _see(started.checkout_url)


@router.get(f"{PAGE_PATH}/return", summary="Back from the gateway's card page")
@public_route
def return_page(request: Request) -> Response:
    token = request.cookies.get(COOKIE, "")
    medbill = medbill_of(request)
    try:
        payment = finish_payment(medbill, token)
    except PayLinkUnusable as unusable:
        return _unusable(request, unusable.problem)
    except GatewayError:
        return _page(request, "message.html", status=503, title="We are checking your payment",
                     message="The card service is not answering right now. If your card "
                             "was charged, the payment will show on your account shortly; "
                             "you will not be charged twice.", restart=False)
    if payment.status in (CardPaymentStatus.SUCCEEDED, CardPaymentStatus.PARTIALLY_REFUNDED,
                          CardPaymentStatus.REFUNDED):
        balance = balance_of(medbill, token)
        return _page(request, "receipt.html", payment=payment, balance=balance)
    if payment.status is CardPaymentStatus.PROCESSING:
        return _page(request, "message.html", title="Your bank is confirming the payment",
                     message="Your card payment is being confirmed. It will show on your "
                             "account when your bank confirms it; you need do nothing.",
                     restart=False)
    if payment.status is CardPaymentStatus.FAILED:
        words = payment.decline_message or "Your card was declined."
        return _balance_page(request, error=f"Your card was declined: {words} Nothing was "
                                            "charged.", status=402)
    return _balance_page(request, error="No payment was made.")


# -- payment plans -----------------------------------------------------------------------------

@router.post(f"{PAGE_PATH}/plan", summary="Enrol in a payment plan")
@public_route
async def plan_submit(request: Request) -> Response:
    fields = await _form(request)
    if not _visit_csrf_ok(request, fields):
        return _forbidden(request)
    token = request.cookies.get(COOKIE, "")
    medbill = medbill_of(request)
    try:
        months = int(fields.get("months", ""))
    except ValueError:
        return _balance_page(request, error="Choose one of the plans.", status=422)
    try:
        enrol_plan(medbill, token, months)
        balance = balance_of(medbill, token)
    except PayLinkUnusable as unusable:
        return _unusable(request, unusable.problem)
    except ValidationFailed as invalid:
        return _balance_page(request, error=_problem_words(invalid), status=422)
    installment = (balance.total_due / months).quantize(Decimal("0.01"), rounding="ROUND_DOWN")
    return _page(request, "plan_done.html", months=months, balance=balance,
                 installment=installment)


@router.post(f"{PAGE_PATH}/leave", summary="End the visit")
@public_route
async def leave(request: Request) -> Response:
    fields = await _form(request)
    if not _visit_csrf_ok(request, fields):
        return _forbidden(request)
    end_visit(medbill_of(request), request.cookies.get(COOKIE))
    response = _page(request, "message.html", title="You have left the page",
                     message="Thank you. You can close this window.", restart=True)
    response.delete_cookie(COOKIE, path=PAGE_PATH)
    return response
