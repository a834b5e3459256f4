"""The pay page through a TestClient, with the real gateway simulator: the whole path to a
receipt, CSRF on every POST, the visit's cookie, the per-address throttle, amounts refused,
plans, and no code or token in the audit trail or the logs."""

from __future__ import annotations

import logging
import re
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from medbill_patient_pay_web.testing import (
    DECLINED_CARD,
    audit_trail,
    csrf_in,
    pay_by_link,
    pay_on_gateway,
    payments_of,
    seed_owing_patient,
)
from pay_support import Site

D = Decimal


def open_and_check(client: TestClient, code: str, born: tuple[int, int, int]) -> str:
    """Open the link and pass the date of birth; the balance page's HTML."""
    assert client.get("/pay", params={"code": code}, follow_redirects=False
                      ).status_code == 303
    form = client.get("/pay/check")
    month, day, year = born
    answer = client.post("/pay/check", data={"csrf_token": csrf_in(form.text),
                                             "month": month, "day": day, "year": year})
    assert answer.status_code == 200
    return str(answer.text)


def test_a_patient_pays_part_of_the_balance_and_gets_a_receipt(
        site: Site, client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    owing = seed_owing_patient(site.medbill)
    caplog.set_level(logging.DEBUG)
    html = open_and_check(client, owing.code, (3, 9, 1984))
    # the lines in plain words, why the patient owes, and the total
    assert "You owe $52.50" in html
    assert "Insurance paid</dt><dd>$60.00" in html
    assert "Why you owe $40.00: Deductible" in html
    assert "Why you owe $12.50: Coinsurance" in html
    # first name and last initial only
    assert re.search(r"<h2>\w+ \w\.</h2>", html)
    receipt = pay_by_link(site.url, owing.code, owing.birth_date, "20.00", client=client)
    assert "Thank you: payment received" in receipt
    assert "$20.00" in receipt and "You now owe $32.50" in receipt
    assert "Visa ending 4242" in receipt
    site.gateway.simulator.webhooks.drain()  # the webhook reached the live server too
    assert payments_of(site.medbill, owing.patient_id) == [D("20.00")]
    # neither the code nor the visit's token is in the audit trail or in any log line
    token = client.cookies.get("medbill_pay")
    assert token
    # (the server's logs: not the test's own browser requests, which httpx logs)
    server_log = "\n".join(record.getMessage() for record in caplog.records
                           if f"Request: GET {site.url}/pay" not in record.getMessage())
    assert "payment_intents" in server_log  # the log was captured
    for secret in (owing.code, owing.url.split("code=")[1], token):
        assert not any(secret in details for _, _, details in audit_trail(site.medbill))
        assert secret not in server_log
    actors = {actor for actor, action, _ in audit_trail(site.medbill)
              if action.startswith("pay_link.") and action != "pay_link.issue"}
    assert actors and all(actor.startswith("pay-link:") for actor in actors)


def test_the_code_leaves_the_address_and_the_cookie_is_guarded(site: Site,
                                                                client: TestClient) -> None:
    owing = seed_owing_patient(site.medbill)
    opened = client.get("/pay", params={"code": owing.code.lower()}, follow_redirects=False)
    assert opened.headers["location"] == "/pay/check"
    cookie = opened.headers["set-cookie"]
    for flag in ("HttpOnly", "SameSite=lax", "Path=/pay", "Max-Age=1200"):
        assert flag.lower() in cookie.lower(), flag
    assert opened.headers["referrer-policy"] == "no-referrer"
    assert opened.headers["cache-control"] == "no-store"


def test_every_post_needs_the_csrf_token(site: Site, client: TestClient) -> None:
    owing = seed_owing_patient(site.medbill)
    # the code form: a token from another page is refused
    client.get("/pay")
    assert client.post("/pay", data={"code": owing.code, "csrf_token": "forged"}
                       ).status_code == 403
    html = open_and_check(client, owing.code, (3, 9, 1984))
    for path, data in (("/pay/card", {"amount": "5.00"}), ("/pay/plan", {"months": "2"}),
                       ("/pay/check", {"month": "3", "day": "9", "year": "1984"})):
        assert client.post(path, data=data).status_code == 403, path
        assert client.post(path, data={**data, "csrf_token": csrf_in(html)[::-1]}
                           ).status_code == 403, path
    assert payments_of(site.medbill, owing.patient_id) == []


def test_amounts_are_checked_before_the_gateway(site: Site, client: TestClient) -> None:
    owing = seed_owing_patient(site.medbill)
    html = open_and_check(client, owing.code, (3, 9, 1984))
    token = csrf_in(html)
    for amount, words in (("0", "Must be more than 0.00."), ("52.51", "at most the 52.50"),
                          ("1.005", "dollars and cents"), ("abc", "like 25.00")):
        answer = client.post("/pay/card", data={"csrf_token": token, "amount": amount},
                             follow_redirects=False)
        assert answer.status_code == 422, amount
        assert words in answer.text, amount


def test_a_declined_card_shows_the_decline_and_posts_nothing(site: Site,
                                                             client: TestClient) -> None:
    owing = seed_owing_patient(site.medbill)
    html = open_and_check(client, owing.code, (3, 9, 1984))
    started = client.post("/pay/card", data={"csrf_token": csrf_in(html), "amount": "52.50"},
                          follow_redirects=False)
    declined = pay_on_gateway(started.headers["location"], DECLINED_CARD)
    assert declined.status_code == 402
    assert "Your card has insufficient funds." in declined.text
    back = client.get("/pay/return")
    assert back.status_code == 402
    assert "Your card was declined: Your card has insufficient funds. Nothing was charged." \
        in back.text
    site.gateway.simulator.webhooks.drain()
    assert payments_of(site.medbill, owing.patient_id) == []


def test_wrong_dates_count_and_the_address_is_throttled(site: Site, client: TestClient) -> None:
    owing = seed_owing_patient(site.medbill)
    client.get("/pay", params={"code": owing.code})
    token = csrf_in(client.get("/pay/check").text)
    wrong = {"csrf_token": token, "month": "1", "day": "1", "year": "1990"}
    answer = client.post("/pay/check", data=wrong)
    assert answer.status_code == 422
    assert "4 tries left" in answer.text
    for _ in range(3):
        client.post("/pay/check", data=wrong)
    locked = client.post("/pay/check", data=wrong)
    assert locked.status_code == 423 and "locked" in locked.text
    # unknown codes from the same address: the address's tries run out
    for _ in range(5):
        assert client.get("/pay", params={"code": "2345-6789-ABCD"}).status_code == 404
    assert client.get("/pay", params={"code": "2345-6789-ABCD"}).status_code == 429
    # even a good code waits now
    other = seed_owing_patient(site.medbill)
    assert client.get("/pay", params={"code": other.code}).status_code == 429
    site.app.state.pay_throttle.clear()


@pytest.mark.parametrize("month, day, year", [
    ("99999999999999999999", "1", "1"), ("3", "99999999999999999999", "1984"),
    ("3", "9", "99999999999999999999"), ("\uff13", "9", "1984"), ("3", "9", "1984.0"),
    ("-3", "9", "1984")])
def test_a_date_that_is_no_date_is_asked_again_never_a_500(
        site: Site, client: TestClient, month: str, day: str, year: str) -> None:
    owing = seed_owing_patient(site.medbill)
    client.get("/pay", params={"code": owing.code})
    token = csrf_in(client.get("/pay/check").text)
    answer = client.post("/pay/check", data={"csrf_token": token, "month": month,
                                             "day": day, "year": year})
    assert answer.status_code == 422
    assert "Enter the month, day and year as numbers" in answer.text
    assert "tries left" not in answer.text  # not a wrong date: no try used
    site.app.state.pay_throttle.clear()


def test_an_expired_link_says_so_plainly(site: Site, client: TestClient) -> None:
    owing = seed_owing_patient(site.medbill, expire=True)
    answer = client.get("/pay", params={"code": owing.code})
    assert answer.status_code == 410
    assert "This payment link has expired." in answer.text


def test_a_plan_within_the_practice_rules(site: Site, client: TestClient) -> None:
    owing = seed_owing_patient(site.medbill, deductible=D("100.00"), coinsurance=D("20.00"))
    html = open_and_check(client, owing.code, (3, 9, 1984))
    # 120.00 at 25.00 a month at least: 2 to 4 months
    assert re.findall(r'<option value="(\d+)">', html) == ["2", "3", "4"]
    done = client.post("/pay/plan", data={"csrf_token": csrf_in(html), "months": "3"})
    assert done.status_code == 200
    assert "3 monthly payments of about $40.00" in done.text
    again = client.post("/pay/plan", data={"csrf_token": csrf_in(html), "months": "2"})
    assert again.status_code == 422 and "A plan is in place already" in again.text


def test_pages_need_a_visit(site: Site, client: TestClient) -> None:
    for path in ("/pay/check", "/pay/balance", "/pay/return"):
        answer = client.get(path)
        assert answer.status_code == 401, path
        assert "Your visit timed out" in answer.text


def test_leaving_ends_the_visit_even_for_a_copied_cookie(site: Site, client: TestClient) -> None:
    owing = seed_owing_patient(site.medbill)
    html = open_and_check(client, owing.code, (3, 9, 1984))
    token = client.cookies.get("medbill_pay")
    assert client.post("/pay/leave", data={}).status_code == 403
    assert client.post("/pay/leave", data={"csrf_token": csrf_in(html)}).status_code == 200
    client.cookies.set("medbill_pay", token or "", path="/pay")
    answer = client.get("/pay/balance")
    assert answer.status_code == 401 and "Your visit timed out" in answer.text


def test_pay_by_link_over_real_http_as_the_demo_does(site: Site) -> None:
    """The demo's card payment: the live server, the simulator, all that is owed."""
    owing = seed_owing_patient(site.medbill)
    receipt = pay_by_link(site.url, owing.code, owing.birth_date)
    assert "Thank you: payment received" in receipt and "You now owe $0.00" in receipt
    site.gateway.simulator.webhooks.drain()
    assert payments_of(site.medbill, owing.patient_id) == [D("52.50")]


def test_a_delayed_confirmation_says_so_and_posts_when_the_gateway_settles(
        site: Site, client: TestClient) -> None:
    owing = seed_owing_patient(site.medbill)
    html = open_and_check(client, owing.code, (3, 9, 1984))
    started = client.post("/pay/card", data={"csrf_token": csrf_in(html), "amount": "15.00"},
                          follow_redirects=False)
    assert pay_on_gateway(started.headers["location"], "4000000000003220").status_code == 303
    waiting = client.get("/pay/return")
    assert waiting.status_code == 200
    assert "Your bank is confirming the payment" in waiting.text
    assert payments_of(site.medbill, owing.patient_id) == []
    intent = started.headers["location"].split("/checkout/")[1].split("?")[0]
    site.gateway.simulator.gateway.settle_intent(intent)  # the bank says yes, later
    site.gateway.simulator.webhooks.drain()
    assert payments_of(site.medbill, owing.patient_id) == [D("15.00")]
    assert "Thank you: payment received" in client.get("/pay/return").text
