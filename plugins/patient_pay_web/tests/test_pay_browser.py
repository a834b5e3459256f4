"""The pay page in a real browser (the system's headless Chromium through Playwright, the
workspace's harness), 390 px wide as a phone: the link printed on a statement, one wrong
date of birth then the right one, the lines, part of the balance paid on the gateway
simulator's card page, the receipt, and the ledger showing the payment once, whether the
gateway's webhook came before or after the browser; a declined card; an expired link."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from medbill_patient_pay_web.testing import (
    DECLINED_CARD,
    GOOD_CARD,
    payments_of,
    seed_owing_patient,
)
from pay_support import Site

D = Decimal


def open_and_verify(page: Any, url: str) -> None:
    page.goto(url)
    assert page.url.endswith("/pay/check")  # the code left the address bar
    # a wrong date first, typed field by field with the keyboard
    page.get_by_label("Month").fill("1")
    page.keyboard.press("Tab")
    page.keyboard.type("1")
    page.keyboard.press("Tab")
    page.keyboard.type("1990")
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    assert "does not match our records. 4 tries left" in page.get_by_role("alert").inner_text()
    page.get_by_label("Month").fill("3")
    page.get_by_label("Day").fill("9")
    page.get_by_label("Year").fill("1984")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/pay/balance")


def pay_part(page: Any, amount: str, card: str) -> None:
    page.get_by_label("Or pay part of it (dollars and cents)").fill(amount)
    page.get_by_role("button", name="Pay this amount by card").click()
    page.wait_for_url("**/checkout/**")
    assert page.get_by_role("heading", level=1).inner_text() == f"Pay ${amount}"
    page.get_by_label("Card number").fill(card)
    page.get_by_label("Expiry (MM/YY)").fill("12/34")
    page.get_by_label("Security code (CVC)").fill("123")
    page.get_by_role("button", name=f"Pay ${amount}").click()
    page.wait_for_load_state()


def test_a_patient_opens_the_statements_link_and_pays_part_by_card(site: Site, page: Any) -> None:
    owing = seed_owing_patient(site.medbill)
    open_and_verify(page, owing.url)
    body = page.locator("main").inner_text()
    assert "You owe $52.50" in body
    assert "Why you owe $40.00: Deductible" in body
    assert "Why you owe $12.50: Coinsurance" in body
    # readable at 390 px: nothing wider than the screen
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    pay_part(page, "20.00", GOOD_CARD)
    page.wait_for_url("**/pay/return")
    assert page.get_by_role("heading", level=1).inner_text() == "Thank you: payment received"
    assert "You now owe $32.50" in page.locator("main").inner_text()
    site.gateway.simulator.webhooks.drain()
    page.reload()  # the receipt again: nothing posts twice
    assert payments_of(site.medbill, owing.patient_id) == [D("20.00")]


def test_the_webhook_before_the_browser_posts_once(site: Site, page: Any) -> None:
    owing = seed_owing_patient(site.medbill)
    open_and_verify(page, owing.url)
    # hold the browser on the gateway's answer until the webhook has posted
    page.route("**/pay/return", lambda route: (site.gateway.simulator.webhooks.drain(),
                                                route.continue_()))
    pay_part(page, "30.00", GOOD_CARD)
    page.wait_for_url("**/pay/return")
    assert "You now owe $22.50" in page.locator("main").inner_text()
    assert payments_of(site.medbill, owing.patient_id) == [D("30.00")]


def test_the_browser_before_a_late_webhook_posts_once(site: Site, page: Any) -> None:
    owing = seed_owing_patient(site.medbill)
    site.gateway.simulator.configure(webhook_delay_seconds=1.0)
    open_and_verify(page, owing.url)
    pay_part(page, "52.50", GOOD_CARD)
    page.wait_for_url("**/pay/return")
    assert "You now owe $0.00" in page.locator("main").inner_text()
    assert site.gateway.simulator.webhooks.drain()
    assert payments_of(site.medbill, owing.patient_id) == [D("52.50")]


def test_a_declined_card_shows_the_decline_and_posts_nothing(site: Site, page: Any) -> None:
    owing = seed_owing_patient(site.medbill)
    open_and_verify(page, owing.url)
    pay_part(page, "10.00", DECLINED_CARD)
    alert = page.get_by_role("alert").inner_text()
    assert "Declined. Your card has insufficient funds. Nothing was charged." in alert
    page.get_by_role("link", name="Cancel and go back").click()
    page.wait_for_url("**/pay/return")
    assert "Your card was declined: Your card has insufficient funds." in \
        page.get_by_role("alert").inner_text()
    site.gateway.simulator.webhooks.drain()
    assert payments_of(site.medbill, owing.patient_id) == []


def test_an_expired_link_says_so_plainly(site: Site, page: Any) -> None:
    owing = seed_owing_patient(site.medbill, expire=True)
    page.goto(owing.url)
    assert "This payment link has expired. Use the code on your newest statement, or call " \
        "the office." in page.get_by_role("alert").inner_text()
    # the code can be typed from paper too: the same answer
    page.get_by_label("Code from your statement").fill(owing.code.lower())
    page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state()
    assert "has expired" in page.get_by_role("alert").inner_text()
