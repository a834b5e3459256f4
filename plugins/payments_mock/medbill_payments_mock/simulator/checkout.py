"""The simulator's hosted card page, as the common card APIs host one (Stripe Checkout's
role): medbill sends the payer's browser here with the payment's client secret and where
to come back; the card is typed here, never into medbill.

* ``GET /checkout/{intent_id}?client_secret=...&return_url=...``: the form (amount, card
  number, expiry, CVC; labelled fields, no JavaScript);
* ``POST /checkout/{intent_id}``: confirms the intent with the card (the test cards of
  :data:`~medbill_payments_mock.simulator.state.TEST_CARDS`); a decline shows the gateway's
  words on the form again (the payer may try another card); a success or a delayed
  confirmation answers ``303`` to ``return_url`` (the webhook goes out as for an API
  confirmation). "Cancel" goes back to ``return_url`` without paying.

The client secret must be the intent's (a page for someone else's payment is a 404); the
return URL must be http(s). No card number is kept or logged: the intent keeps the brand and
the last four digits, as it does for an API confirmation.
"""

from __future__ import annotations

import hmac
from html import escape
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from medbill_payments_mock.simulator.state import ApiError, Gateway

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Card payment - test gateway</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 28rem; margin: 1rem auto;
       padding: 0 1rem; line-height: 1.5; }}
label {{ display: block; margin-top: .8rem; font-weight: 600; }}
input {{ width: 100%; font-size: 1.1rem; padding: .4rem; box-sizing: border-box; }}
button, a.cancel {{ margin-top: 1rem; font-size: 1.1rem; padding: .5rem 1rem; }}
.decline {{ background: #fde8e8; border: 1px solid #b91c1c; padding: .6rem; }}
.muted {{ color: #555; font-size: .9rem; }}
</style></head>
<body>
<main>
<h1>Pay {amount}</h1>
<p class="muted">Test card gateway (the payments_mock simulator). Test card:
4242 4242 4242 4242, any future expiry, any CVC.</p>
{message}
<form method="post" action="/checkout/{intent}">
<input type="hidden" name="client_secret" value="{secret}">
<input type="hidden" name="return_url" value="{return_url}">
<label for="card_number">Card number</label>
<input id="card_number" name="card_number" inputmode="numeric" autocomplete="cc-number"
       required>
<label for="expiry">Expiry (MM/YY)</label>
<input id="expiry" name="expiry" autocomplete="cc-exp" required>
<label for="cvc">Security code (CVC)</label>
<input id="cvc" name="cvc" inputmode="numeric" autocomplete="cc-csc" required>
<button type="submit">Pay {amount}</button>
</form>
<p><a class="cancel" href="{return_url}">Cancel and go back</a></p>
</main></body></html>
"""


def _dollars(cents: int) -> str:
    return f"${cents // 100:,}.{cents % 100:02d}"


def _valid_return(url: str) -> bool:
    return url.startswith(("http://", "https://")) and "\n" not in url and "\r" not in url


def checkout_routes(gateway: Gateway) -> list[Route]:
    def intent_for(intent_id: str, secret: str) -> dict[str, Any]:
        try:
            intent = gateway.intent(intent_id)
        except ApiError:
            intent = None
        if intent is None or not hmac.compare_digest(str(intent["client_secret"]), secret):
            raise ApiError(404, "invalid_request_error", "no such payment")
        return intent

    def page(intent: dict[str, Any], secret: str, return_url: str, message: str = "",
             status: int = 200) -> HTMLResponse:
        return HTMLResponse(_PAGE.format(
            amount=_dollars(int(intent["amount"])), intent=escape(str(intent["id"])),
            secret=escape(secret), return_url=escape(return_url), message=message),
            status_code=status, headers={"Cache-Control": "no-store",
                                         "Referrer-Policy": "no-referrer"})

    async def show(request: Request) -> Response:
        secret = request.query_params.get("client_secret", "")
        return_url = request.query_params.get("return_url", "")
        if not _valid_return(return_url):
            return HTMLResponse("<p>A return address is needed.</p>", status_code=400)
        try:
            intent = intent_for(request.path_params["intent_id"], secret)
        except ApiError:
            return HTMLResponse("<p>No such payment.</p>", status_code=404)
        if intent["status"] in ("succeeded", "processing"):
            return RedirectResponse(return_url, status_code=303)
        return page(intent, secret, return_url)

    async def submit(request: Request) -> Response:
        fields = {key: values[0] for key, values in
                  parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        secret = fields.get("client_secret", "")
        return_url = fields.get("return_url", "")
        if not _valid_return(return_url):
            return HTMLResponse("<p>A return address is needed.</p>", status_code=400)
        intent_id = request.path_params["intent_id"]
        try:
            intent = intent_for(intent_id, secret)
            if intent["status"] in ("succeeded", "processing"):
                return RedirectResponse(return_url, status_code=303)
            answer = gateway.confirm_intent(intent_id, {
                "payment_method": fields.get("card_number", "")})
        except ApiError as exc:
            return HTMLResponse(f"<p>{escape(str(exc))}</p>", status_code=exc.status)
        if answer["status"] in ("succeeded", "processing"):
            return RedirectResponse(return_url, status_code=303)
        error = answer.get("last_payment_error") or {}
        words = escape(str(error.get("message") or "Your card was declined."))
        message = (f'<div class="decline" role="alert"><strong>Declined.</strong> {words} '
                   "Nothing was charged. Try another card, or cancel.</div>")
        return page(answer, secret, return_url, message, status=402)

    return [Route("/checkout/{intent_id}", show, methods=["GET"]),
            Route("/checkout/{intent_id}", submit, methods=["POST"])]
