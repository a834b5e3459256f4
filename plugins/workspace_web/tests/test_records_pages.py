"""The claim page and the patient account page through FastAPI's TestClient: what they show
of a denied claim, its documents (read with loop names, downloaded as text, the read
audited), the action forms by role, a refused action's one-line message, the payment and
plan forms' per-field errors, and another practice's records (404).

A workspace of their own (module scope): these tests change records, and the shared one's
are counted by the shell's tests."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from medbill_workspace_web.flash import COOKIE as FLASH_COOKIE
from medbill_workspace_web.testing import PRACTICE_A, PRACTICE_B, USER_B, client_sign_in
from records_seed import (
    Records,
    denied_claim,
    page_text,
    records_workspace,
    self_pay_patient,
)

from medbill_core.api.testing import factories
from medbill_core.api.workspace import Role

D = Decimal


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Records]:
    with records_workspace(tmp_path_factory.mktemp("records")) as made:
        yield made


@pytest.fixture
def client(records: Records) -> Iterator[TestClient]:
    with TestClient(records.app, base_url="http://127.0.0.1") as test_client:  # type: ignore[arg-type]
        yield test_client


def _audit(records: Records, action: str, actor: str) -> list[dict[str, object]]:
    """The audit trail's events of ``action`` by ``actor``, as the auditor reads them."""
    with TestClient(records.app, base_url="http://127.0.0.1") as auditor:  # type: ignore[arg-type]
        client_sign_in(auditor, records.seed.users_a[Role.AUDITOR])
        answer = auditor.get("/v1/audit", params={"action": action, "actor": actor,
                                                  "limit": 100})
    assert answer.status_code == 200, answer.text
    return list(answer.json()["data"])


def _flash(answer: object) -> str:
    from urllib.parse import unquote

    cookie = answer.headers.get("set-cookie", "")  # type: ignore[attr-defined]
    found = re.search(rf"{FLASH_COOKIE}=([^;]+)", cookie)
    assert found is not None, "no message was set"
    return unquote(found.group(1))


def test_a_denied_claims_page_shows_lines_adjudication_documents_and_history(
        client: TestClient, records: Records) -> None:
    client_sign_in(client, "bill")
    page = client.get(f"/workspace/claims/{records.denied.id}")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    text = page_text(page.text)
    assert "Claim DEN0001 denied" in text
    # the diagnoses in words (ICD-10-CM ships with medbill), the lines and their charges
    assert "I10 Essential (primary) hypertension" in text
    assert re.search(r"2 36415 .* 1 \$18\.50", text)
    # adjudication per line: charge, allowed (paid + PR), paid, CARCs in words
    assert "1 99213 $125.00 $100.00 $80.00 $25.00 CO-45 Contractual Obligations" in text
    assert "2 36415 $18.50 $0.00 $0.00 $18.50 CO-50 Contractual Obligations" in text
    # the open denial and the documents: the file sent, then the 999, 277CA and 835
    assert "CO-50 Contractual Obligations: These are non-covered services" in text
    assert "CO-50 CO-50" not in text  # the code once, then its meaning
    kinds = re.findall(r"<strong>([^<]+)</strong> ·", page.text)
    assert kinds == ["837P claim", "999 acknowledgment", "277CA claim acknowledgment",
                     "835 remittance"]
    assert "submitted acknowledged" in text and "accepted denied" in text
    # the biller's actions on a denied claim: correct, status check, appeal, resend; no
    # write-off (the manager's) and no void
    assert f'action="/workspace/claims/{records.denied.id}/correct"' in page.text
    assert "/status-check" in page.text and "/appeal" in page.text and "/resend" in page.text
    assert "/write-off" not in page.text and "/void" not in page.text


def test_the_manager_may_write_the_denial_off_and_the_front_desk_has_no_actions(
        records: Records) -> None:
    claim = f"/workspace/claims/{records.denied.id}"
    with TestClient(records.app, base_url="http://127.0.0.1") as manager:  # type: ignore[arg-type]
        client_sign_in(manager, "mona")
        html = manager.get(claim).text
        assert "/write-off" in html and "/void" in html
    with TestClient(records.app, base_url="http://127.0.0.1") as front:  # type: ignore[arg-type]
        client_sign_in(front, "fran")
        html = front.get(claim).text
        assert 'id="actions-h"' not in html and "/denials/" not in html
        assert "Claim DEN0001" in html  # the front desk answers "did you bill my insurance?"


def test_a_document_reads_with_its_loop_names_and_downloads_as_text(
        client: TestClient, records: Records) -> None:
    client_sign_in(client, "bill")
    page = client.get(f"/workspace/claims/{records.denied.id}").text
    era = re.search(r'href="(/workspace/claims/\d+/documents/received-\d+)/read">Read 835',
                    page)
    sent = re.search(r'href="(/workspace/claims/\d+/documents/(sent-\d+))" download>'
                     r'Download 837P', page)
    assert era is not None and sent is not None
    readable = page_text(client.get(f"{era.group(1)}/read").text)
    assert "2100 Claim Payment Information CLP Claim Payment Information" in readable
    assert "CLP01 Patient Control Number : DEN0001" in readable
    assert "2110 Service Payment Information" in readable
    # the same inside the claim page (htmx): the segments only, no layout
    fragment = client.get(f"{era.group(1)}/read", headers={"HX-Request": "true"}).text
    assert "<html" not in fragment and "Claim Payment Information" in fragment
    download = client.get(sent.group(1))
    assert download.headers["content-type"] == "text/plain; charset=utf-8"
    key = sent.group(2)
    assert download.headers["content-disposition"] == f'attachment; filename="{key}-837P.x12"'
    assert "CLM*DEN0001*" in download.text and download.text.startswith("ISA*")
    reads = [event["details"] for event in _audit(records, "claim.document_read", "user:bill")]
    assert {"via": "workspace", "document": key, "kind": "837P"} in reads
    assert len(reads) == 3  # the page, the fragment, the download: each read recorded
    # a name that is no document's: said so; a document of another claim: not found
    assert client.get(f"/workspace/claims/{records.denied.id}/documents/1").status_code == 422
    other = records.seed.claims_of(PRACTICE_A)[0].id
    assert client.get(f"/workspace/claims/{other}/documents/{key}").status_code == 404


def test_a_refused_action_comes_back_to_the_page_in_one_line(client: TestClient,
                                                           records: Records) -> None:
    csrf = client_sign_in(client, "bill")
    claim = f"/workspace/claims/{records.denied.id}"
    # a reason is required to correct; the page says so and nothing changes
    answer = client.post(f"{claim}/correct", data={"csrf_token": csrf}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == claim
    assert _flash(answer) == "error:Not done: reason: say what the replacement corrects"
    # reopening is for rejected claims: the lifecycle refuses it, in words
    answer = client.post(f"{claim}/reopen", data={"csrf_token": csrf}, follow_redirects=False)
    assert _flash(answer).startswith("error:Not done: claim ")
    assert "denied" in _flash(answer)
    followed = client.get(claim)
    assert 'class="flash flash-error"' in followed.text


def test_marking_the_denial_to_resend_and_correcting_makes_a_replacement(
        records: Records) -> None:
    number = "DEN0002"
    denied = denied_claim(records, number, patient=1)
    with TestClient(records.app, base_url="http://127.0.0.1") as client:  # type: ignore[arg-type]
        csrf = client_sign_in(client, "bill")
        claim = f"/workspace/claims/{denied.id}"
        denial = re.search(r"/denials/(\d+)/resend", client.get(claim).text)
        assert denial is not None
        answer = client.post(f"{claim}/denials/{denial.group(1)}/resend",
                             data={"csrf_token": csrf, "note": ""}, follow_redirects=False)
        assert _flash(answer).startswith("success:Marked to correct and resend")
        answer = client.post(f"{claim}/correct", data={
            "csrf_token": csrf, "reason": "modifier 59 on the venipuncture",
            "modifiers_2": "59"}, follow_redirects=False)
        assert _flash(answer) == ("success:Replacement claim DEN0002-R1 created: scrub and "
                                  "submit it")
        replacement = client.get(answer.headers["location"]).text
    assert "Claim DEN0002-R1 draft" in page_text(replacement)
    assert "Frequency replacement (7)" in page_text(replacement)
    assert re.search(r"2 36415 .*59", page_text(replacement))


def test_a_draft_is_edited_scrubbed_and_submitted_from_its_page(records: Records) -> None:
    ada = records.seed.principal(records.seed.both, PRACTICE_A, Role.ADMINISTRATOR)
    patient_id = records.seed.patients[PRACTICE_A][2]
    with records.medbill.unit_of_work(principal=ada) as work:
        coverage = work.patients.coverages(patient_id)[0]
        draft = work.claims.create(factories.make_claim(
            patient_id, coverage_id=coverage.id, payer_key="acme", number="EDIT0001", lines=2))
    claim = f"/workspace/claims/{draft.id}"
    with TestClient(records.app, base_url="http://127.0.0.1") as client:  # type: ignore[arg-type]
        csrf = client_sign_in(client, "bill")
        page = client.get(claim).text
        assert 'id="edit-draft"' in page and f'action="{claim}/delete"' in page
        # a code that is no ICD-10-CM code: refused by the claim's own rules, in one line
        answer = client.post(f"{claim}/edit", data={"csrf_token": csrf, "diagnoses": "E11.9 X"},
                             follow_redirects=False)
        assert _flash(answer).startswith("error:Not done: claim ")
        assert "diagnoses" in _flash(answer)
        answer = client.post(f"{claim}/edit", data={
            "csrf_token": csrf, "diagnoses": "I10, E119", "charge_2": "21.00"},
            follow_redirects=False)
        assert _flash(answer) == "success:Draft saved: scrub it again before sending"
        answer = client.post(f"{claim}/scrub", data={"csrf_token": csrf},
                             follow_redirects=False)
        assert _flash(answer) == "success:Scrubbed: clean, ready to submit"
        answer = client.post(f"{claim}/submit", data={"csrf_token": csrf},
                             follow_redirects=False)
        assert _flash(answer) == "success:Submitted to the payer"
        text = page_text(client.get(claim).text)
    assert "Claim EDIT0001 submitted" in text
    assert "Total charge $146.00" in text  # 125.00 + 21.00, re-posted by the edit
    assert "Diagnoses I10 Essential (primary) hypertension E119 Type 2 diabetes" in text
    assert "sent" in text and "837P claim" in text


def test_another_practices_claim_and_patient_are_the_404_page(records: Records) -> None:
    claim_b = records.seed.claims_of(PRACTICE_B)[0]
    with TestClient(records.app, base_url="http://127.0.0.1") as client:  # type: ignore[arg-type]
        csrf = client_sign_in(client, "bill", practice=PRACTICE_A)
        for path in (f"/workspace/claims/{claim_b.id}",
                     f"/workspace/patients/{claim_b.patient_id}",
                     f"/workspace/claims/{claim_b.id}/documents/sent-1",
                     f"/workspace/claims/{claim_b.id}/documents/1"):
            answer = client.get(path)
            assert answer.status_code == 404, path
            assert "It may belong to another practice" in answer.text
        answer = client.post(f"/workspace/claims/{claim_b.id}/scrub", data={"csrf_token": csrf})
        assert answer.status_code == 404
    # and practice B's biller sees practice A's denied claim as nothing
    with TestClient(records.app, base_url="http://127.0.0.1") as client:  # type: ignore[arg-type]
        client_sign_in(client, USER_B, practice=PRACTICE_B)
        assert client.get(f"/workspace/claims/{records.denied.id}").status_code == 404


# -- the account page --------------------------------------------------------------------------

def test_the_account_page_shows_buckets_coverages_plans_and_the_claims(
        client: TestClient, records: Records) -> None:
    client_sign_in(client, "fran")
    page = client.get(f"/workspace/patients/{records.denied.patient_id}")
    assert page.status_code == 200
    text = page_text(page.text)
    # the denied 18.50 is the payer's, the PR 20.00 the patient's (aged from the transfer)
    assert re.search(r"Patient \$20\.00 \$0\.00 \$0\.00 \$0\.00 \$0\.00 \$0\.00 \$20\.00", text)
    assert "acme · primary · active" in text
    assert "No eligibility check on file." in text
    assert "DEN0001" in text and "Take a payment" in text and "Set up a payment plan" in text
    assert _audit(records, "patient.read", "user:fran")  # a read of PHI, recorded


def test_a_payment_form_with_mistakes_shows_each_beside_its_field(
        client: TestClient, records: Records) -> None:
    csrf = client_sign_in(client, "fran")
    patient_id, _claim = self_pay_patient(records, 501)
    answer = client.post(f"/workspace/patients/{patient_id}/payments", data={
        "csrf_token": csrf, "amount": "12.345", "method": "barter",
        "received_on": "yesterday", "reference": "4111 1111 1111 1111"})
    assert answer.status_code == 422
    errors = dict(re.findall(r'<p class="error" id="payment-([a-z_]+)-error">([^<]+)</p>',
                             answer.text))
    assert errors == {
        "amount": "more than two decimal places (amounts are in cents; never rounded)",
        "method": "Choose how the patient paid",
        "received_on": "Enter a date as YYYY-MM-DD"}
    assert 'value="12.345"' in answer.text  # what was typed is kept
    # the card number is refused by the domain's rule, beside its field
    answer = client.post(f"/workspace/patients/{patient_id}/payments", data={
        "csrf_token": csrf, "amount": "10.00", "method": "card",
        "received_on": "2026-12-01", "reference": "4111 1111 1111 1111"})
    assert answer.status_code == 422
    assert 'id="payment-reference-error">' in answer.text
    assert "4111 1111 1111 1111" not in answer.text.replace('value="4111 1111 1111 1111"', "")


def test_a_payment_lowers_the_balance_and_more_than_owed_asks_first(
        client: TestClient, records: Records) -> None:
    csrf = client_sign_in(client, "fran")
    patient_id, _claim = self_pay_patient(records, 502)
    account = f"/workspace/patients/{patient_id}"
    assert 'id="patient-balance">$143.50<' in client.get(account).text
    answer = client.post(f"{account}/payments", data={
        "csrf_token": csrf, "amount": "40.00", "method": "card", "received_on": "",
        "reference": "auth 1234"}, follow_redirects=False)
    assert answer.status_code == 422  # no date: nothing recorded
    from datetime import date

    today = date.today().isoformat()
    answer = client.post(f"{account}/payments", data={
        "csrf_token": csrf, "amount": "40.00", "method": "card", "received_on": today,
        "reference": "auth 1234"}, follow_redirects=False)
    assert answer.status_code == 303 and _flash(answer) == "success:Payment of $40.00 recorded"
    page = client.get(account).text
    assert 'id="patient-balance">$103.50<' in page
    assert re.search(r"\$40\.00 card auth 1234 \$40\.00 \$0\.00", page_text(page))
    over = client.post(f"{account}/payments", data={
        "csrf_token": csrf, "amount": "200.00", "method": "cash", "received_on": today})
    assert over.status_code == 422 and "keep the rest as a credit" in over.text
    answer = client.post(f"{account}/payments", data={
        "csrf_token": csrf, "amount": "200.00", "method": "cash", "received_on": today,
        "keep_credit": "1"}, follow_redirects=False)
    assert answer.status_code == 303
    assert 'id="patient-balance">-$96.50<' in client.get(account).text


def test_the_same_check_posted_twice_asks_first(client: TestClient, records: Records) -> None:
    from datetime import date

    csrf = client_sign_in(client, "fran")
    patient_id, _claim = self_pay_patient(records, 512)
    account = f"/workspace/patients/{patient_id}"
    check = {"csrf_token": csrf, "amount": "20.00", "method": "check",
             "received_on": date.today().isoformat(), "reference": "1042"}
    first = client.post(f"{account}/payments", data=check, follow_redirects=False)
    assert first.status_code == 303
    again = client.post(f"{account}/payments", data=check, follow_redirects=False)
    assert again.status_code == 422  # the same check: nothing recorded, the biller asked
    errors = dict(re.findall(r'<p class="error" id="payment-([a-z_]+)-error">([^<]+)</p>',
                             again.text))
    assert errors["reference"].startswith("The same payment (amount, date, method and "
                                          "reference) is already posted as payment #")
    assert "--allow-duplicate" not in again.text  # the command line's words are not the page's
    assert 'id="patient-balance">$123.50<' in client.get(account).text
    meant = client.post(f"{account}/payments", data={**check, "allow_duplicate": "1"},
                        follow_redirects=False)
    assert meant.status_code == 303
    assert 'id="patient-balance">$103.50<' in client.get(account).text


def test_a_plan_is_set_up_with_its_installments_and_its_mistakes_shown(
        client: TestClient, records: Records) -> None:
    csrf = client_sign_in(client, "bill")
    patient_id, _claim = self_pay_patient(records, 503)
    account = f"/workspace/patients/{patient_id}"
    wrong = client.post(f"{account}/plans", data={
        "csrf_token": csrf, "total": "500.00", "installments": "0", "start": "2026-12-15",
        "frequency": "monthly"})
    assert wrong.status_code == 422
    errors = dict(re.findall(r'<p class="error" id="plan-([a-z_]+)-error">([^<]+)</p>',
                             wrong.text))
    assert errors == {"installments": "Enter a number of installments from 1 to 60"}
    too_much = client.post(f"{account}/plans", data={
        "csrf_token": csrf, "total": "500.00", "installments": "3", "start": "2026-12-15",
        "frequency": "monthly"})
    errors = dict(re.findall(r'<p class="error" id="plan-([a-z_]+)-error">([^<]+)</p>',
                             too_much.text))
    assert errors == {"total": "exceeds the patient balance 143.50"}
    from datetime import date, timedelta

    start = date.today() + timedelta(days=5)
    answer = client.post(f"{account}/plans", data={
        "csrf_token": csrf, "total": "143.50", "installments": "3",
        "start": start.isoformat(), "frequency": "monthly"}, follow_redirects=False)
    assert answer.status_code == 303 and _flash(answer) == "success:Plan set up: 3 installments"
    text = page_text(client.get(account).text)
    assert "$143.50 monthly, $0.00 paid" in text
    assert re.search(r"1 \S+ \$47\.83 \$0\.00 due 2 \S+ \$47\.83 \$0\.00 upcoming "
                     r"3 \S+ \$47\.84 \$0\.00 upcoming", text)


#: what the domain says of an amount beyond the most one amount may be (99,999,999.99)
OVER = "must not be more than 99,999,999.99"
#: 10**22 cents: more than the database's BIGINT holds (it was an OverflowError, a 500 page)
HUGE = "99999999999999999999.99"


def _form_errors(answer: object, form: str) -> dict[str, str]:
    return dict(re.findall(rf'<p class="error" id="{form}-([a-z_]+)-error">([^<]+)</p>',
                           answer.text))  # type: ignore[attr-defined]


def test_an_amount_over_the_limit_is_refused_beside_its_field(
        client: TestClient, records: Records) -> None:
    """The payment form took a ten-billion-dollar payment (and a bigger one was a 500 page):
    the limit is the domain's, shown beside the field; nothing is recorded."""
    csrf = client_sign_in(client, "bill")
    patient_id, claim_id = self_pay_patient(records, 510)
    account = f"/workspace/patients/{patient_id}"
    from datetime import date

    for amount in ("9999999999", HUGE):
        answer = client.post(f"{account}/payments", data={
            "csrf_token": csrf, "amount": amount, "method": "cash",
            "received_on": date.today().isoformat(), "keep_credit": "1"})
        assert answer.status_code == 422
        assert _form_errors(answer, "payment") == {"amount": OVER}
        assert f'value="{amount}"' in answer.text  # what was typed is kept
        answer = client.post(f"{account}/plans", data={
            "csrf_token": csrf, "total": amount, "installments": "3",
            "start": date.today().isoformat(), "frequency": "monthly"})
        assert answer.status_code == 422
        assert _form_errors(answer, "plan") == {"total": OVER}
    # a number of installments in other digits is refused beside its field (was a 500 page)
    answer = client.post(f"{account}/plans", data={
        "csrf_token": csrf, "total": "100.00", "installments": "\u00b2",
        "start": date.today().isoformat(), "frequency": "monthly"})
    assert answer.status_code == 422
    assert _form_errors(answer, "plan") == {
        "installments": "Enter a number of installments from 1 to 60"}
    assert 'id="patient-balance">$143.50<' in client.get(account).text  # nothing recorded
    # the draft's edit form: the claim's own rule, in one line
    answer = client.post(f"/workspace/claims/{claim_id}/edit", data={
        "csrf_token": csrf, "charge_1": HUGE}, follow_redirects=False)
    assert answer.status_code == 303
    assert _flash(answer) == f"error:Not done: claim {claim_id}: lines[0].charge: {OVER}"
    assert "Total charge $143.50" in page_text(client.get(f"/workspace/claims/{claim_id}").text)


def test_how_statements_are_announced_is_recorded_on_the_account_page(
        client: TestClient, records: Records) -> None:
    csrf = client_sign_in(client, "fran")
    patient_id, _claim = self_pay_patient(records, 511)  # a phone on file, no e-mail
    account = f"/workspace/patients/{patient_id}"
    page = client.get(account).text
    assert "Not recorded: The patient gets statements on paper only" in page_text(page)
    assert f'action="{account}/contact"' in page

    def errors(answer: object) -> dict[str, str]:
        return dict(re.findall(r'<p class="error" id="contact-([a-z_]+)-error">([^<]+)</p>',
                               answer.text))  # type: ignore[attr-defined]

    no_consent = client.post(f"{account}/contact", data={
        "csrf_token": csrf, "channel": "sms", "consent": " "})
    assert no_consent.status_code == 422
    assert errors(no_consent) == {
        "consent": "say how the person agreed to be contacted (e.g. verbal, at check-in)"}
    no_address = client.post(f"{account}/contact", data={
        "csrf_token": csrf, "channel": "email", "consent": "verbal"})
    assert errors(no_address) == {"channel": "email: no e-mail address on file"}
    assert 'value="verbal"' in no_address.text  # what was typed is kept
    fax = client.post(f"{account}/contact", data={
        "csrf_token": csrf, "channel": "fax", "consent": "verbal"})
    assert (fax.status_code, errors(fax)) == (422, {"channel": "Choose text, e-mail or neither"})
    answer = client.post(f"{account}/contact", data={
        "csrf_token": csrf, "channel": "sms", "consent": "verbal, at check-in"},
        follow_redirects=False)
    assert answer.status_code == 303
    assert _flash(answer) == "success:Statements will be announced by text"
    text = page_text(client.get(account).text)
    assert "The patient agreed to be told by text when a statement is ready: verbal, at " \
           "check-in," in text and "(recorded by user:fran)" in text
    [recorded] = _audit(records, "contact_preference.set", "user:fran")
    assert (recorded["entity_id"], recorded["details"]) == (
        f"P{patient_id}", {"before": None, "after": "sms"})
    assert _audit(records, "contact_preference.read", "user:fran")
    # the auditor reads it and has no form; posting anyway is refused
    with TestClient(records.app, base_url="http://127.0.0.1") as auditor:  # type: ignore[arg-type]
        token = client_sign_in(auditor, "audra")
        page = auditor.get(account).text
        assert "agreed to be told by text" in page and f'action="{account}/contact"' not in page
        refused = auditor.post(f"{account}/contact", data={
            "csrf_token": token, "channel": "none"})
        assert refused.status_code == 403


def test_a_statement_opens_in_the_browser_and_only_from_its_patients_page(
        client: TestClient, records: Records) -> None:
    import time

    csrf = client_sign_in(client, "bill")
    patient_id, _claim = self_pay_patient(records, 504)
    # a statement run, as the billing team starts one (a job of the API)
    started = client.post("/v1/statement-runs", json={"cycle": "2026-12", "renderer": "text"},
                          headers={"X-CSRF-Token": csrf})
    assert started.status_code == 202, started.text
    for _attempt in range(100):
        job = client.get(started.headers["location"]).json()
        if job["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.05)
    assert job["status"] == "succeeded", job
    page = client.get(f"/workspace/patients/{patient_id}").text
    link = re.search(r'href="(/workspace/patients/\d+/statements/(\d+))"[^>]*>View ([^<]+)<',
                     page)
    assert link is not None
    document = client.get(link.group(1))
    assert document.status_code == 200
    assert document.headers["content-type"] == "text/plain; charset=utf-8"
    assert document.headers["content-disposition"] == f'inline; filename="{link.group(3)}.txt"'
    assert document.text == f"Statement {link.group(3)}\nBalance due: 143.50\n"
    # through another patient's page: not found (and nothing of it shown)
    other = client.get(f"/workspace/patients/{records.denied.patient_id}/statements/"
                       f"{link.group(2)}")
    assert other.status_code == 404 and "Balance due" not in other.text
    assert client.get(f"/workspace/patients/{patient_id}/statements/999").status_code == 404
