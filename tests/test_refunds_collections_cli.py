"""``medbill credits``, ``writeoffs``, ``overpayments`` and the agencies' ``collections``
commands: the whole path through the command line, JSON output, one-line errors with nothing
written, the agency file owner-only."""

from __future__ import annotations

import csv
import json
import stat
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cli_support import cli, config_text, ok, one_line_error
from sqlalchemy import func, select
from typer.testing import Result

from medbill_core.app import Medbill
from medbill_core.config import load_config
from medbill_core.domain import Payment, PaymentMethodKind
from medbill_core.services.payments import Overpayment, record_payment
from medbill_core.storage.schema import LedgerEntryRow, RefundCheckRow
from medbill_core.testing import factories

D = Decimal
TODAY = date.today()


@pytest.fixture
def config(cli_isolation: None, tmp_path: Path) -> Path:
    path = tmp_path / "medbill.toml"
    path.write_text(config_text(f"sqlite:///{tmp_path / 'medbill.db'}"), encoding="utf-8")
    ok(path, "db", "upgrade")
    return path


def account_with(config: Path, number: int, charge: str, paid: str | None = None) -> str:
    """A self-pay patient's account number, charged ``charge`` 60 days ago, paid ``paid``
    (any excess kept as a credit)."""
    app = Medbill.open(load_config(config), load_installed=False)
    try:
        with app.unit_of_work() as work:
            patient = work.patients.register(factories.make_patient(number))
            day = TODAY - timedelta(days=60)
            claim = factories.make_claim(patient.id, coverage_id=None, number=f"CC{number}",
                                         service_date=day)
            work.claims.create(claim.model_copy(update={"lines": [factories.make_line(
                1, service_date=day, charge=D(charge))]}))
            if paid is not None:
                record_payment(work, Payment(patient_id=patient.id, amount=D(paid),
                                             method=PaymentMethodKind.CASH,
                                             received_on=TODAY - timedelta(days=5)),
                               overpayment=Overpayment.CREDIT)
            return patient.account_number
    finally:
        app.close()


def out_json(result: Result) -> Any:
    return json.loads(result.stdout)


def patient_id(config: Path, account: str) -> int:
    app = Medbill.open(load_config(config), load_installed=False)
    try:
        with app.unit_of_work() as work:
            found = work.patients.by_account(account).id
            assert found is not None
            return found
    finally:
        app.close()


def entries(config: Path) -> int:
    app = Medbill.open(load_config(config), load_installed=False)
    try:
        with app.unit_of_work() as work:
            return work.session.scalar(select(func.count()).select_from(LedgerEntryRow)) or 0
    finally:
        app.close()


def test_credit_refund_by_check_and_void_on_the_command_line(config: Path) -> None:
    account = account_with(config, 1, "50.00", paid="80.00")
    listed = out_json(ok(config, "credits", "list", "--json"))
    assert [(i["account_number"], i["credit"]) for i in listed] == [(account, "30.00")]
    before = entries(config)
    result = cli(config, "credits", "refund", "--patient", account, "--amount", "10.00",
                 "--reason", "asked", "--method", "gateway")
    assert one_line_error(result, 1) == (
        f"error: patient {patient_id(config, account)}: method: a refund to the card needs a "
        "payment gateway plugin, and none is available yet: refund by check")
    result = cli(config, "credits", "refund", "--patient", account, "--amount", "10.001",
                 "--reason", "asked", "--check-number", "100")
    assert result.exit_code == 2 and "--amount" in one_line_error(result, 2)
    assert entries(config) == before
    issued = out_json(ok(config, "credits", "refund", "--patient", account, "--amount",
                           "30.00", "--reason", "asked", "--check-number", "100", "--json"))
    assert (issued["status"], issued["amount"]) == ("issued", "30.00")
    assert out_json(ok(config, "credits", "list", "--json")) == []
    ok(config, "credits", "void-check", "100", "--reason", "lost")
    [check] = out_json(ok(config, "credits", "checks", "--json"))
    assert (check["check_number"], check["status"]) == ("100", "void")
    assert out_json(ok(config, "credits", "list", "--json"))[0]["credit"] == "30.00"


def test_a_refund_check_date_far_from_today_needs_confirm_date(config: Path) -> None:
    account = account_with(config, 1, "50.00", paid="80.00")
    before = entries(config)
    refund = ("credits", "refund", "--patient", account, "--amount", "1.00", "--reason", "x",
              "--check-number", "5004")
    long_ago, far_ahead = date(1901, 1, 1), date(2099, 1, 1)
    assert one_line_error(cli(config, *refund, "--date", "1901-01-01"), 2) == (
        f"error: --date is {(TODAY - long_ago).days} days in the past; check it, "
        "or pass --confirm-date if it is right")
    assert one_line_error(cli(config, *refund, "--date", "2099-01-01"), 2) == (
        f"error: --date is {(far_ahead - TODAY).days} days in the future; check "
        "it, or pass --confirm-date if it is right")
    for outside in ("1800-01-01", "9999-12-31"):  # no date medbill takes, even confirmed
        assert one_line_error(cli(config, *refund, "--date", outside, "--confirm-date"),
                              2) == "error: --date must be a date from 1900-01-01 to 2999-12-31"
    assert entries(config) == before
    assert out_json(ok(config, "credits", "checks", "--json")) == []
    week_ago = (TODAY - timedelta(days=7)).isoformat()
    assert out_json(ok(config, *refund, "--date", week_ago, "--json"))["issued_on"] == week_ago
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    assert out_json(ok(config, "credits", "refund", "--patient", account, "--amount", "1.00",
                       "--reason", "x", "--check-number", "5005", "--date", tomorrow,
                       "--confirm-date", "--json"))["issued_on"] == tomorrow


def test_write_off_needs_another_approver_on_the_command_line(config: Path) -> None:
    account = account_with(config, 2, "250.00")
    requested = out_json(ok(config, "writeoffs", "request", "--patient", account, "--kind",
                              "bad_debt", "--reason", "no contact", "--json"))
    assert requested["status"] == "requested"
    before = entries(config)
    result = cli(config, "writeoffs", "approve", str(requested["id"]))
    assert one_line_error(result, 1) == (
        f"error: write-off {requested['id']}: approver: whoever requested a write-off cannot "
        "approve it; another manager must")
    assert entries(config) == before
    denied = out_json(ok(config, "writeoffs", "deny", str(requested["id"]), "--note",
                           "try a plan", "--json"))
    assert denied["status"] == "denied"
    small = account_with(config, 3, "2.50")
    dry = out_json(ok(config, "writeoffs", "small-balances", "--dry-run", "--json"))
    assert dry == {"dry_run": True, "accounts": [{"account_number": small, "balance": "2.50"}]}
    assert entries(config) == before + 1  # the new claim's charge only
    ok(config, "writeoffs", "small-balances")
    assert out_json(ok(config, "writeoffs", "small-balances", "--dry-run", "--json"))[
        "accounts"] == []
    assert out_json(ok(config, "writeoffs", "policy", "--json")) == {
        "small_balance_limit": "5.00", "approval_above": "100.00"}


def test_small_balance_pieces_of_a_large_balance_refused_on_the_command_line(
        config: Path) -> None:
    account = account_with(config, 5, "103.50")
    before = entries(config)
    for _ in range(3):
        result = cli(config, "writeoffs", "request", "--patient", account, "--kind",
                     "small_balance", "--reason", "x", "--amount", "4.99")
        assert one_line_error(result, 1) == (
            f"error: patient {patient_id(config, account)}: balance: 103.50 is not a small "
            "balance (under 5.00): request another kind")
    assert entries(config) == before
    assert out_json(ok(config, "writeoffs", "list", "--json")) == []


def test_an_account_on_a_payment_plan_is_not_placed_on_the_command_line(config: Path) -> None:
    account = account_with(config, 6, "300.00")
    plan = out_json(ok(config, "plans", "create", "--patient", account, "--total", "300",
                       "--installments", "3", "--start", TODAY.isoformat(), "--json"))
    ok(config, "collections", "agency-add", "--code", "ACB", "--name", "Acme Collections",
       "--fee-percent", "25")
    before = entries(config)
    result = cli(config, "collections", "place", "--patient", account, "--agency", "ACB")
    assert one_line_error(result, 1) == (
        f"error: patient {patient_id(config, account)}: payment_plan: has active payment "
        f"plan {plan['id']}: cancel it first")
    assert entries(config) == before
    assert out_json(ok(config, "collections", "placements", "--json")) == []
    [listed] = out_json(ok(config, "plans", "list", "--patient", account, "--json"))
    assert (listed["id"], listed["status"]) == (plan["id"], "active")


def test_place_export_pay_and_recall_on_the_command_line(config: Path, tmp_path: Path) -> None:
    account = account_with(config, 4, "200.00", paid="50.00")
    ok(config, "collections", "agency-add", "--code", "acb", "--name", "Acme Collections",
       "--fee-percent", "25")
    result = cli(config, "collections", "agency-add", "--code", "bad", "--name", "Bad",
                 "--fee-percent", "25.123")
    assert one_line_error(result, 1) == (
        "error: agency BAD: fee_percent: must be 0 to 100 with at most two decimals")
    ok(config, "collections", "agency-add", "--code", "old", "--name", "Old Agency",
       "--fee-percent", "40")
    # an exponent is not a percent (1e1 was stored as 10%), on adding nor on editing
    result = cli(config, "collections", "agency-add", "--code", "AC5", "--name", "Five",
                 "--fee-percent", "1e1")
    assert one_line_error(result, 1) == (
        "error: agency AC5: fee_percent: must be a number, e.g. 25.00")
    result = cli(config, "collections", "agency-edit", "--code", "OLD", "--fee-percent",
                 "2.5e1")
    assert one_line_error(result, 1) == (
        "error: agency OLD: fee_percent: must be a number, e.g. 25.00")
    edited = out_json(ok(config, "collections", "agency-edit", "--code", "OLD", "--inactive",
                         "--json"))
    assert (edited["active"], edited["fee_percent"]) == (False, "40")
    result = cli(config, "collections", "place", "--patient", account, "--agency", "OLD")
    assert one_line_error(result, 1) == (
        f"error: patient {patient_id(config, account)}: agency: OLD is not active")
    placed = out_json(ok(config, "collections", "place", "--patient", account, "--agency",
                           "ACB", "--json"))
    assert placed["placed"] == "150.00"
    aged = out_json(ok(config, "ar", "aging", "--json"))
    assert (aged["agency"]["total"], aged["patient"]["total"]) == ("150.00", "0.00")
    assert "at agencies" in ok(config, "ar", "aging").stdout
    out = tmp_path / "agency.csv"
    exported = out_json(ok(config, "collections", "export", "--agency", "ACB", "--out",
                             str(out), "--json"))
    assert exported["placements"] == 1
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    [row] = list(csv.DictReader(out.open(encoding="utf-8")))
    assert (row["account_number"], row["balance"]) == (account, "150.00")
    result = cli(config, "collections", "export", "--agency", "ACB", "--out", str(out))
    assert result.exit_code == 2
    # the patient paying the practice on a placed account: not a patient payment (it would
    # be a refundable credit while the agency holds 150.00), but a direct one on the placement
    for overpayment in ((), ("--overpayment", "credit")):
        result = cli(config, "payments", "record", "--patient", account, "--amount", "20.00",
                     "--method", "check", "--reference", "9911", *overpayment)
        assert one_line_error(result, 1) == (
            f"error: patient {patient_id(config, account)}: placement: the account is placed "
            f"with agency ACB (150.00 held, placement {placed['id']}): post the patient's "
            f"payment on the placement: medbill collections payment {placed['id']} "
            "--collected AMOUNT --direct")
    assert [p["amount"] for p in out_json(ok(config, "payments", "list", "--json"))] == [
        "50.00"]  # the one paid before the placement
    assert out_json(ok(config, "credits", "list", "--json")) == []
    direct = out_json(ok(config, "collections", "payment", str(placed["id"]), "--collected",
                           "20.00", "--direct", "--reference", "9911", "--json"))
    assert (direct["fee"], direct["net"], direct["balance"]) == ("0.00", "20.00", "130.00")
    paid = out_json(ok(config, "collections", "payment", str(placed["id"]), "--collected",
                         "100.00", "--json"))
    assert (paid["fee"], paid["net"], paid["balance"]) == ("25.00", "75.00", "30.00")
    recalled = out_json(ok(config, "collections", "recall", str(placed["id"]), "--reason",
                             "dispute", "--json"))
    assert recalled["status"] == "recalled"
    [listed] = out_json(ok(config, "collections", "placements", "--json"))
    assert (listed["collected"], listed["fees"]) == ("120.00", "25.00")


def test_overpayment_commands_refuse_in_one_line(config: Path) -> None:
    result = cli(config, "overpayments", "request", "--claim", "999", "--amount", "1.00",
                 "--reason", "x")
    assert result.exit_code == 1 and one_line_error(result, 1).startswith("error: ")
    assert out_json(ok(config, "overpayments", "list", "--json")) == []
    assert out_json(ok(config, "overpayments", "match", "--json")) == []
    app = Medbill.open(load_config(config), load_installed=False)
    try:
        with app.unit_of_work() as work:
            assert work.session.scalar(select(func.count()).select_from(RefundCheckRow)) == 0
    finally:
        app.close()
