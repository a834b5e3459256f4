"""The demo's books (issue 18): the month the demo posted is exported to IIF once, and the
file ties out: its transactions balance, its sums per account are the ledger's movements, each
835 deposit is that 835's BPR02 and each day's patient deposit that day's payments."""

from __future__ import annotations

import io
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
from medbill_demo.runner import run_demo
from rich.console import Console

from medbill_core.services.accounting_formats import IIF_ACCOUNTS_HEADER, IIF_HEADER

D = Decimal


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("books-demo")
    return out, run_demo(out, 20, console=Console(file=io.StringIO(), width=120))


def _transactions(text: str) -> list[list[list[str]]]:
    # the accounts block first: every account a transaction names is declared in it
    assert text.startswith(IIF_ACCOUNTS_HEADER)
    declared = {line.split("\t")[1] for line in
                text[len(IIF_ACCOUNTS_HEADER):text.index(IIF_HEADER)].split("\r\n")[:-1]}
    text = text[text.index(IIF_HEADER):]
    transactions: list[list[list[str]]] = []
    for line in text[len(IIF_HEADER):].split("\r\n")[:-1]:
        fields = line.split("\t")
        if fields[0] in ("TRNS", "SPL"):
            assert fields[4] in declared, fields[4]
        if fields[0] == "TRNS":
            transactions.append([fields])
        elif fields[0] == "SPL":
            transactions[-1].append(fields)
        else:
            assert fields == ["ENDTRNS"]
    return transactions


def test_the_demo_exports_its_month_to_iif_and_it_ties_out(demo: tuple[Path, dict]) -> None:
    out, summary = demo
    figures = summary["accounting_export"]
    path = out / figures["file"]
    assert path.name == "medbill-batch-1.iif" and path.stat().st_mode & 0o077 == 0
    assert any(step["step"] == "accounting export (IIF)" for step in summary["steps"])
    transactions = _transactions(path.read_bytes().decode("utf-8"))
    assert len(transactions) == figures["journal_entries"] > 0
    per_account: dict[str, Decimal] = {}
    for rows in transactions:
        assert sum(D(row[7]) for row in rows) == 0
        for row in rows:
            per_account[row[4]] = per_account.get(row[4], D("0")) + D(row[7])
    debits = sum((D(row[7]) for rows in transactions for row in rows if D(row[7]) > 0), D("0"))
    assert D(figures["debits"]) == D(figures["credits"]) == debits > 0
    with sqlite3.connect(out / "medbill-demo.db") as db:
        insurance, charges, remitted, payments, entries = db.execute(
            "select (select sum(insurance_delta) from ledger_entries),"
            " (select sum(amount) from ledger_entries where kind = 'charge'),"
            " (select sum(payment_amount) from remittances),"
            " (select sum(amount) from payments),"
            " (select count(*) from ledger_entries)").fetchone()
    assert figures["ledger_entries"] == entries
    assert per_account["Accounts Receivable - Insurance"] == D(insurance) / 100
    assert per_account["Patient Service Revenue"] == -D(charges) / 100
    # the 835 deposits are the payers' BPR02 payments, the patient deposits the payments
    assert D(figures["deposited_835"]) == D(remitted) / 100
    assert D(figures["deposited_patient"]) == D(payments or 0) / 100


def test_the_demo_grants_one_financial_assistance_discount_and_books_it(
        demo: tuple[Path, dict]) -> None:
    """A family of four on $40,000 (121.22% of the 2026 guideline) gets the 75% tier: the
    discount is a write-off of patient balance with its reason, in the IIF as a write-off, and
    the letter (owner-only) is addressed to the guarantor."""
    out, summary = demo
    granted = summary["financial_assistance"]
    assert (granted["percent_of_guideline"], granted["tier"]) == ("121.22", "75% discount")
    assert D(granted["discount"]) > 0 and granted["claims"] >= 1
    with sqlite3.connect(out / "medbill-demo.db") as db:
        (written_off,) = db.execute(
            "select sum(amount) from ledger_entries where kind = 'write_off'"
            " and reason_code = 'FIN-ASSIST'").fetchone()
    assert D(written_off) / 100 == D(granted["discount"])
    letter = out / granted["letter"]
    assert letter.stat().st_mode & 0o077 == 0
    text = letter.read_text(encoding="utf-8")
    assert "121.22% of the 2026 federal poverty" in text and "reduced by 75%" in text
    # ZIP+4 as mailed, not as stored
    assert all(not part.isdigit() or len(part) == 5
               for line in text.splitlines() if ", IL " in line for part in line.split()[-1:])


def test_the_demo_refunds_one_credit_by_check_and_books_it(demo: tuple[Path, dict]) -> None:
    """An account paid 15.00 more than it owed, kept as a credit, refunded by check: the
    register holds the check, the ledger the refund, the IIF books it to refunds payable."""
    out, summary = demo
    refund = summary["credit_refund"]
    assert (refund["refunded"], refund["check"], refund["status"]) == \
        ("15.00", "100001", "issued")
    with sqlite3.connect(out / "medbill-demo.db") as db:
        checks = db.execute("select check_number, amount from refund_checks").fetchall()
        (refunded,) = db.execute(
            "select sum(amount) from ledger_entries where kind = 'refund'").fetchone()
    assert checks == [("100001", 1500)]
    assert D(refunded) / 100 == D("15.00")
    iif = (out / summary["accounting_export"]["file"]).read_bytes().decode("utf-8")
    payable = [D(row[7]) for rows in _transactions(iif) for row in rows
               if row[4] == "Refunds Payable"]
    assert sum(payable, D("0")) == D("-15.00")


def test_the_demo_takes_a_card_payment_through_pay_by_link(demo: tuple[Path, dict]) -> None:
    """Every statement prints a pay link (medbill serve's address) and its code; one patient
    got a link by text (no PHI in it, the mock sender's file owner-only) and paid half of the
    balance by card on the gateway's page: one card payment, succeeded, posted once as a
    patient payment, and counted in the day's patient deposit of the IIF."""
    import json
    import re

    from pypdf import PdfReader

    out, summary = demo
    figures = summary["pay_by_link"]
    assert any(step["step"] == "pay-by-link (card)" for step in summary["steps"])
    balance, paid = D(figures["balance"]), D(figures["paid"])
    assert paid == (balance / 2).quantize(D("0.01"), rounding="ROUND_DOWN") > 0
    messages = out / "notify-mock" / "messages.jsonl"
    assert messages.stat().st_mode & 0o077 == 0
    [text] = [json.loads(line) for line in messages.read_text().splitlines()]
    assert text["channel"] == "sms" and re.fullmatch(
        r"Riverbend Family Medicine: view your account and pay securely at "
        r"http://127\.0\.0\.1:8080/pay\?code=[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", text["body"])
    with sqlite3.connect(out / "medbill-demo.db") as db:
        card = db.execute("select status, amount, payment_id, patient_id from card_payments"
                          ).fetchall()
        [(status, amount, payment_id, patient_id)] = card
        posted = db.execute("select count(*), sum(amount) from payments where id = ?",
                            (payment_id,)).fetchone()
        account = db.execute("select account_number from patients where id = ?",
                             (patient_id,)).fetchone()[0]
        printed = db.execute("select count(*) from pay_links where statement_id is not null"
                             ).fetchone()[0]
    assert (status, D(amount) / 100, account) == ("succeeded", paid, figures["account"])
    assert posted == (1, amount)
    statements = sorted((out / "statements").glob("*.pdf"))
    assert printed == len(statements) == summary["files"]["statements"] > 0
    first = "\n".join(page.extract_text() for page in PdfReader(statements[0]).pages)
    assert "Pay online or set up a plan at 127.0.0.1:8080/pay" in first
    assert re.search(r"Your code: [A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", first)
