"""The demo's card payment through pay-by-link (issue 18).

The run starts the card gateway simulator (payments_mock) and a live medbill server on
loopback (:class:`DemoCardSite`): the patient pay page and the gateway's webhook receiver, as
``medbill serve`` serves them. The statement run then prints a pay link and its QR code on
every statement. After the statements a patient calls the billing office: the clerk records
their consent to texts and sends a pay link by text (through the notification outbox to the
mock sender, which keeps the message in ``notify-mock/messages.jsonl``); the patient opens the
link from the text, confirms their date of birth, reads their balance line by line, and pays
half of it by card on the gateway's own card page. The payment posts from the gateway's
confirmation, once, whether its webhook or the patient's return to the receipt comes first.
"""

from __future__ import annotations

import json
import re
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from medbill_core.app import Medbill
from medbill_core.money import CENT
from medbill_core.services.card_payments import CardPaymentStatus, list_card_payments
from medbill_core.services.notifications import (
    ContactChoice,
    deliver_due,
    send_link,
    set_contact_preference,
)
from medbill_core.services.pay_links import issue_link
from medbill_core.services.statements import collections_worklist
from medbill_core.storage.schema import PatientRow

#: the simulator's secrets in this run and in the saved configuration: run
#: ``medbill payments-mock serve --api-key sk_test_medbill_demo --webhook-secret
#: whsec_medbill_demo`` to take card payments on the demo's database afterwards
GATEWAY_API_KEY = "sk_test_medbill_demo"
GATEWAY_WEBHOOK_SECRET = "whsec_medbill_demo"
#: where ``medbill payments-mock serve`` and ``medbill serve`` listen by default; the pay
#: links printed and texted during the run name ``medbill serve``'s address, so that the
#: statements left in the demo's folder open the pay page it serves afterwards
SAVED_GATEWAY_URL = "http://127.0.0.1:8045"
SERVE_URL = "http://127.0.0.1:8080"
#: the mock sender's record of the texts, in the demo's folder (owner-only)
MESSAGES_FILE = Path("notify-mock") / "messages.jsonl"
#: the plugins the demo adds for card payments, texts and the pay page
PLUGINS = ["payments_mock", "notify_mock", "patient_pay_web"]

_LINK = re.compile(r"https?://\S+?/pay\?code=[A-Z0-9-]+")


class Report(Protocol):
    figures: dict[str, Any]

    def done(self, step: str, detail: str) -> None: ...


def card_settings(gateway_url: str, pay_site_url: str, messages_file: str) -> dict[str, Any]:
    """The configuration's card gateway, sender and pay page (merged into the demo's)."""
    return {
        "payment_gateway": "mock", "notifier": "mock",
        "pay_links": {"public_url": pay_site_url},
        "plugin_settings": {
            "payments_mock": {"base_url": gateway_url, "api_key": GATEWAY_API_KEY,
                              "webhook_secret": GATEWAY_WEBHOOK_SECRET},
            "notify_mock": {"messages_file": messages_file}}}


class DemoCardSite:
    """The gateway simulator and a live server of the demo's installation, each on a free
    loopback port, for the length of the run: ``with DemoCardSite() as site: ...
    site.serve(app)`` once the installation is open. The demo's patient reaches the pay
    page at ``site.url``; the gateway delivers its webhooks there."""

    def __init__(self) -> None:
        from medbill_payments_mock.simulator.server import BackgroundServer
        from medbill_payments_mock.simulator.state import SimulatorConfig
        from medbill_workspace_web.testing import LateApp, LiveServer

        self._gateway = BackgroundServer(SimulatorConfig(
            api_keys=[GATEWAY_API_KEY], webhook_secret=GATEWAY_WEBHOOK_SECRET))
        self._late = LateApp()
        self._server = LiveServer(self._late)  # type: ignore[arg-type]
        self.url = self._server.url
        self._serving = False

    @property
    def gateway_url(self) -> str:
        return str(self._gateway.base_url)

    def __enter__(self) -> DemoCardSite:
        self._gateway.start()
        return self

    def serve(self, app: Medbill) -> None:
        """Serve ``app``'s API and pages, and have the gateway deliver its webhooks there."""
        from medbill_core.http import create_app

        self._late.app = create_app(app)
        self._server.__enter__()
        self._serving = True
        self._gateway.simulator.configure(
            webhook_url=f"{self.url}/v1/payment-gateways/mock/webhooks")

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        try:
            if self._serving:
                self._gateway.simulator.webhooks.drain()
                self._server.__exit__(kind, error, trace)
        finally:
            self._gateway.stop()


def pay_online(app: Medbill, site: DemoCardSite, out: Path, report: Report) -> dict[str, Any]:
    """A patient asks for a link by phone, gets it by text and pays half their balance by
    card through the pay page; what was paid."""
    from medbill_patient_pay_web.testing import pay_by_link

    with app.unit_of_work() as work:
        owing = [item for item in collections_worklist(work)
                 if item.guarantor_id is None and item.balance >= Decimal("2.00")]
        if not owing:
            report.done("pay-by-link", "no self-paying account owes a balance")
            return {}
        account = min(owing, key=lambda item: item.patient_id)
        patient = work.session.get(PatientRow, account.patient_id)
        assert patient is not None and patient.birth_date is not None
        birth_date = patient.birth_date
        key = f"P{account.patient_id}"
        set_contact_preference(work, key, ContactChoice.SMS,
                               "verbal, on the phone with the billing office")
        issued = issue_link(work, patient_id=account.patient_id)
        send_link(work, key, issued.url)
    sent = deliver_due(app)
    url = _texted_link(out / MESSAGES_FILE)
    amount = (account.balance / 2).quantize(CENT, rounding=ROUND_DOWN)
    # the texted link names medbill serve's address (for after the run): the code opens the
    # same page on the run's own server
    receipt = pay_by_link(site.url, url.rsplit("=", 1)[1], birth_date, str(amount))
    with app.unit_of_work(read_only=True) as work:
        payments = list_card_payments(work, patient_id=account.patient_id)
    posted = [p for p in payments if p.status is CardPaymentStatus.SUCCEEDED]
    if len(posted) != 1 or posted[0].amount != amount or str(amount) not in receipt:
        raise RuntimeError(f"pay-by-link: the card payment of account "
                           f"{account.account_number} did not post once")
    figures = {"account": account.account_number, "balance": str(account.balance),
               "paid": str(amount), "card_payment": posted[0].reference,
               "texts_sent": len(sent)}
    report.figures["pay_by_link"] = figures
    report.done("pay-by-link (card)",
                f"{account.account_number} got its link by text, confirmed the date of birth "
                f"and paid {amount} of {account.balance} by card on the gateway's page "
                f"(posted once, {posted[0].card_brand or 'card'} ending "
                f"{posted[0].card_last4 or '????'})")
    return figures


def _texted_link(messages: Path) -> str:
    """The pay link of the newest text the mock sender recorded."""
    lines = messages.read_text(encoding="utf-8").splitlines()
    for line in reversed(lines):
        found = _LINK.search(str(json.loads(line).get("body", "")))
        if found:
            return found.group(0)
    raise RuntimeError(f"pay-by-link: no text with a pay link in {messages}")
