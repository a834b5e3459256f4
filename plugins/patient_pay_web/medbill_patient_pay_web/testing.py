"""Test and demo helpers of the pay page: an installation with the page and the mock gateway,
a patient whose claim the payer answered (paid, adjusted, deductible and coinsurance left to
the patient) with a pay link, and :func:`pay_by_link`, which drives the pages and the gateway
simulator's card page over HTTP as a patient's browser would (no JavaScript is needed).

``pay_by_link`` is what the demo calls to take a card payment through the page::

    receipt = pay_by_link("http://127.0.0.1:8080", code, birth_date, "25.00")

(``medbill serve`` with ``patient_pay_web`` and ``payments_mock`` enabled, the simulator
running, ``[pay_links] public_url`` the served address). Synthetic data only.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from medbill_core.api import (
    Adjustment,
    AdjustmentGroup,
    ClaimPayment,
    ClaimState,
    ClaimStatusCode,
    MedbillConfig,
    Remittance,
)
from medbill_core.api.testing import factories
from medbill_core.api.workspace import Medbill, issue_link, post_remittance

if TYPE_CHECKING:
    import httpx

#: the simulator's API key and webhook secret in these tests (test data, never real ones)
API_KEY = "sk_test_pay_page"
WEBHOOK_SECRET = "whsec_pay_page"
#: the simulator's test cards
GOOD_CARD = "4242424242424242"
DECLINED_CARD = "4000000000009995"
_numbers = itertools.count(1)
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_FORM = re.compile(r'<form method="post" action="(/checkout/[^"]+)"')
_HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)"')


def pay_config(database_url: str, *, public_url: str, gateway_url: str) -> MedbillConfig:
    """A practice taking card payments through the simulator at ``gateway_url``, its pay
    page at ``public_url``."""
    return MedbillConfig(
        database_url=database_url, plugins=["payments_mock", "patient_pay_web"],
        actor="pay-page-tests", payment_gateway="mock", practice=factories.make_practice(),
        payers={"acme": factories.make_payer("acme")},
        plugin_settings={"payments_mock": {"base_url": gateway_url, "api_key": API_KEY,
                                           "webhook_secret": WEBHOOK_SECRET,
                                           "backoff_initial": 0.01}},
        pay_links={"public_url": public_url})  # type: ignore[arg-type]


def open_pay_site(config: MedbillConfig) -> Medbill:
    """The installation with the pay page's and the mock gateway's hooks, migrated."""
    from medbill_payments_mock import plugin as gateway_plugin

    from medbill_patient_pay_web import plugin

    return Medbill.open(config, extra_plugins=[("payments_mock", gateway_plugin),
                                               ("patient_pay_web", plugin)],
                        load_installed=False, upgrade=True)


@dataclass(frozen=True)
class Owing:
    """A seeded patient: what they owe and the link printed for them."""

    patient_id: int
    birth_date: date
    claim_id: int
    owed: Decimal
    code: str
    url: str


def seed_owing_patient(medbill: Medbill, *, born: date = date(1984, 3, 9),
                       deductible: Decimal = Decimal("40.00"),
                       coinsurance: Decimal = Decimal("12.50"),
                       expire: bool = False) -> Owing:
    """A self-pay-after-insurance patient: one claim the payer paid 60.00 on, adjusted the
    contract's discount, and left ``deductible`` and ``coinsurance`` to the patient; a
    pay link for them."""
    n = next(_numbers)
    with medbill.unit_of_work(actor="pay-page-seed") as work:
        work.patients.register_provider(factories.make_provider())  # once: by its NPI
        patient = work.patients.register(factories.make_patient(
            900 + n, account_number=f"PP{n:05d}").model_copy(update={"birth_date": born}))
        assert patient.id is not None
        coverage = work.patients.add_coverage(patient.id, factories.make_coverage(
            patient.id, member_id=f"PPM{n:07d}"))
        claim = work.claims.create(factories.make_claim(
            patient.id, coverage_id=coverage.id, number=f"PPCLM{n:04d}",
            service_date=date.today() - timedelta(days=40)))
        assert claim.id is not None
        for target in (ClaimState.VALIDATED, ClaimState.SUBMITTED, ClaimState.ACCEPTED):
            work.claims.transition(claim.id, target)
        work.claims.record_payer_claim_number(claim.id, f"PPPCN{n}")
    paid = Decimal("60.00")
    contractual = claim.total_charge - paid - deductible - coinsurance
    payment = ClaimPayment(
        claim_number=claim.claim_number, status=ClaimStatusCode.PRIMARY,
        charge=claim.total_charge, paid=paid, payer_claim_number=f"PPPCN{n}",
        adjustments=[Adjustment(group=AdjustmentGroup("CO"), reason_code="45", amount=contractual),
                     Adjustment(group=AdjustmentGroup("PR"), reason_code="1", amount=deductible),
                     Adjustment(group=AdjustmentGroup("PR"), reason_code="2",
                                amount=coinsurance)])
    with medbill.unit_of_work(actor="pay-page-seed") as work:
        post_remittance(work, Remittance(
            trace_number=f"PPTRN{n}", payment_amount=paid, payer_name="Payer",
            payer_id="ACME1", payee_name="Clinic",
            payment_date=date.today() - timedelta(days=10), claims=[payment]))
    with medbill.unit_of_work(actor="pay-page-seed") as work:
        issued = issue_link(work, patient_id=patient.id)
        if expire:
            from sqlalchemy import text

            work.session.execute(text("UPDATE pay_links SET expires_at = :gone WHERE id = :id"),
                                 {"gone": issued.expires_at - timedelta(days=400),
                                  "id": issued.id})
    return Owing(patient.id, born, claim.id, deductible + coinsurance, issued.code, issued.url)


def payments_of(medbill: Medbill, patient_id: int) -> list[Decimal]:
    """The patient's payments as recorded (the ledger's payments, in cents in the database),
    read with plain SQL: what a test checks was posted once."""
    from sqlalchemy import text

    with medbill.unit_of_work(all_practices=True, read_only=True) as work:
        rows = work.session.execute(text(
            "SELECT amount FROM payments WHERE patient_id = :patient ORDER BY id"),
            {"patient": patient_id})
        return [Decimal(int(cents)).scaleb(-2).quantize(Decimal("0.01")) for (cents,) in rows]


def audit_trail(medbill: Medbill) -> list[tuple[str, str, str]]:
    """(actor, action, details as text) of every audit event, oldest first."""
    from sqlalchemy import text

    with medbill.unit_of_work(all_practices=True, read_only=True) as work:
        return [(str(actor), str(action), str(details)) for actor, action, details in
                work.session.execute(text(
                    "SELECT actor, action, details FROM audit_events ORDER BY id"))]


def csrf_in(html: str) -> str:
    found = _CSRF.search(html)
    if found is None:
        raise AssertionError("the page has no csrf_token field")
    return found.group(1)


def pay_on_gateway(gateway_page_url: str, card: str = GOOD_CARD) -> httpx.Response:
    """Type ``card`` on the simulator's card page, as the patient does; the answer is the
    gateway's: a 303 back to the pay page, or the page again with the decline."""
    import httpx

    with httpx.Client(timeout=10) as browser:
        form = browser.get(gateway_page_url)
        form.raise_for_status()
        action = _FORM.search(form.text)
        if action is None:
            raise AssertionError("the gateway's card page has no form")
        fields = dict(_HIDDEN.findall(form.text))
        fields = {key: value.replace("&amp;", "&") for key, value in fields.items()}
        base = gateway_page_url.split("/checkout/", 1)[0]
        return browser.post(base + action.group(1), data={
            **fields, "card_number": card, "expiry": "12/34", "cvc": "123"})


def pay_by_link(base_url: str, code: str, birth_date: date, amount: str | None = None, *,
                card: str = GOOD_CARD, client: Any = None) -> str:
    """Pay ``amount`` (default: all that is owed) through the pay page at ``base_url`` with
    the link's ``code`` and the patient's ``birth_date``, by ``card`` on the gateway's page;
    the receipt page's HTML. ``client``: an httpx-like client of the pay page (a
    ``TestClient``), default a new ``httpx.Client``.

    :raises AssertionError: a step answered otherwise than a patient's browser expects.
    """
    import httpx

    own = client is None
    browser = client or httpx.Client(base_url=base_url, timeout=15)
    try:
        opened = browser.get("/pay", params={"code": code}, follow_redirects=False)
        assert opened.status_code == 303, f"opening the link: {opened.status_code}"
        form = browser.get("/pay/check")
        checked = browser.post("/pay/check", data={
            "csrf_token": csrf_in(form.text), "month": str(birth_date.month),
            "day": str(birth_date.day), "year": str(birth_date.year)}, follow_redirects=False)
        assert checked.status_code == 303, f"the date of birth: {checked.status_code}"
        balance = browser.get("/pay/balance")
        if amount is None:
            found = re.search(r'name="amount" value="([\d.]+)"', balance.text)
            assert found is not None, "the balance page offers no payment"
            amount = found.group(1)
        started = browser.post("/pay/card", data={"csrf_token": csrf_in(balance.text),
                                                  "amount": amount}, follow_redirects=False)
        assert started.status_code == 303, f"starting the payment: {started.status_code}"
        back = pay_on_gateway(started.headers["location"], card)
        assert back.status_code == 303, f"the gateway's card page: {back.status_code}"
        receipt = browser.get("/pay/return")
        assert receipt.status_code == 200, f"the receipt: {receipt.status_code}"
        return str(receipt.text)
    finally:
        if own:
            browser.close()
