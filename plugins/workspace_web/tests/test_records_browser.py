"""The claim page and the patient account page in a real headless Chromium (the system's,
driven by Playwright) against the app served by uvicorn: a front-desk user takes a payment
and sees the balance drop; a biller opens a denied claim, reads its 835 with the loops
named and downloads the 837; a user of practice A reaches practice B's claim by URL and gets
the 404 page. Screenshots: ``claim`` and ``patient``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from medbill_workspace_web.testing import PRACTICE_A, PRACTICE_B, LiveServer, login
from records_seed import Records, records_workspace, self_pay_patient


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Records]:
    with records_workspace(tmp_path_factory.mktemp("records-browser")) as made:
        yield made


@pytest.fixture(scope="module")
def server(records: Records) -> Iterator[LiveServer]:
    with LiveServer(records.app) as running:
        yield running


def test_a_front_desk_user_takes_a_payment_and_sees_the_balance_drop(
        page: Any, server: LiveServer, records: Records,
        shot: Callable[[Any, str], Path]) -> None:
    patient_id, _claim = self_pay_patient(records, 701)
    login(page, server.url, "fran", practice=PRACTICE_A)
    page.goto(f"{server.url}/workspace/patients/{patient_id}")
    balance = page.locator("#patient-balance")
    assert balance.inner_text() == "$143.50"
    form = page.locator("form[action$='/payments']")
    form.get_by_label("Amount ($)").fill("12.345")
    form.get_by_label("Method").select_option("check")
    form.get_by_label("Received on").fill(date.today().isoformat())
    form.get_by_label("Reference (check number, card's last four)").fill("1042")
    form.get_by_role("button", name="Record payment").click()
    # a mistake is shown beside its field, what was typed kept, nothing recorded
    amount = page.locator("form[action$='/payments']").get_by_label("Amount ($)")
    assert amount.get_attribute("aria-invalid") == "true"
    assert "more than two decimal places" in page.locator("#payment-amount-error").inner_text()
    assert page.locator("#patient-balance").inner_text() == "$143.50"
    amount.fill("50.00")
    page.locator("form[action$='/payments']").get_by_role(
        "button", name="Record payment").click()
    assert page.get_by_role("status").inner_text() == "Payment of $50.00 recorded"
    assert page.locator("#patient-balance").inner_text() == "$93.50"
    assert "1042" in page.locator("#payments").inner_text()
    shot(page, "patient")


def test_a_biller_reads_the_835_of_a_denied_claim_and_downloads_its_837(
        page: Any, server: LiveServer, records: Records,
        shot: Callable[[Any, str], Path]) -> None:
    login(page, server.url, "bill", practice=PRACTICE_A)
    page.goto(f"{server.url}/workspace/claims")
    page.get_by_role("link", name=records.denied.claim_number).click()
    assert page.get_by_role("heading", level=1).inner_text().startswith(
        f"Claim {records.denied.claim_number}")
    assert "denied" in page.locator("h1 .badge").inner_text()
    # a document expands in the page (htmx), its loops named by pyx12's map: the 999 (short:
    # the picture), then the 835
    ack = page.locator("details.document", has_text="999 acknowledgment")
    ack.locator("summary").click()
    ack.locator(".document-body").get_by_text("Transaction Set Response Header").first.wait_for()
    shot(page, "claim")
    era = page.locator("details.document", has_text="835 remittance")
    era.locator("summary").click()
    body = era.locator(".document-body")
    body.get_by_text("Claim Payment Information").first.wait_for()
    assert "2100 Claim Payment Information" in body.inner_text()
    assert "2110 Service Payment Information" in body.inner_text()
    with page.expect_download() as caught:
        page.get_by_role("link", name="Download 837P").click()
    download = caught.value
    assert download.suggested_filename.endswith("-837P.x12")
    content = Path(download.path()).read_text()
    assert content.startswith("ISA*") and f"CLM*{records.denied.claim_number}*" in content
    # the keyboard reaches the actions: the first form's button takes focus by Tab
    page.get_by_role("button", name="Check status (276)").focus()
    assert page.evaluate("document.activeElement.textContent") == "Check status (276)"


def test_practice_a_cannot_reach_practice_bs_claim_or_patient_by_url(
        page: Any, server: LiveServer, records: Records) -> None:
    claim_b = records.seed.claims_of(PRACTICE_B)[0]
    login(page, server.url, "bill", practice=PRACTICE_A)
    for path in (f"/workspace/claims/{claim_b.id}", f"/workspace/patients/{claim_b.patient_id}"):
        response = page.goto(f"{server.url}{path}")
        assert response is not None and response.status == 404, path
        assert page.get_by_role("heading", level=1).inner_text() == "Not found"
        assert claim_b.claim_number not in page.content()


def test_both_pages_fit_a_390_px_screen(browser: Any, server: LiveServer,
                                        records: Records) -> None:
    """Usable on a phone: nothing wider than the screen but the tables, which scroll in
    their own box."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        login(page, server.url, "bill", practice=PRACTICE_A)
        for path in (f"/workspace/claims/{records.denied.id}",
                     f"/workspace/patients/{records.denied.patient_id}"):
            page.goto(f"{server.url}{path}")
            assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
    finally:
        context.close()
