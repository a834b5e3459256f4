"""Payments and plans on the command line: strict amounts and dates, refunds, reversals,
applying credits, listing, cancelling and re-scheduling plans.

CLI tests run on a SQLite file through typer's CliRunner; service tests on both databases.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from cli_support import cli, config_text, ok, one_line_error
from sqlalchemy import func, select

from medbill_core.app import Medbill
from medbill_core.config import load_config
from medbill_core.storage.schema import LedgerEntryRow, PaymentPlanRow, PaymentRow
from medbill_core.testing import factories

D = Decimal
TODAY = date.today()


def self_pay_claims(app: Medbill, number: int, charges: list[str],
                    days_ago: list[int]) -> tuple[str, list[int]]:
    """(account number, claim ids) of a new self-pay patient with one claim per charge."""
    with app.unit_of_work() as work:
        patient = work.patients.register(factories.make_patient(number))
        ids = []
        for i, (charge, age) in enumerate(zip(charges, days_ago, strict=True)):
            day = TODAY - timedelta(days=age)
            claim = factories.make_claim(patient.id, coverage_id=None,
                                         number=f"PA{number}-{i}", service_date=day)
            claim = claim.model_copy(update={"lines": [factories.make_line(
                1, service_date=day, charge=D(charge))]})
            ids.append(work.claims.create(claim).id)
        return patient.account_number, ids


@pytest.fixture
def config(cli_isolation: None, tmp_path: Path) -> Path:
    path = tmp_path / "medbill.toml"
    path.write_text(config_text(f"sqlite:///{tmp_path / 'medbill.db'}"), encoding="utf-8")
    ok(path, "db", "upgrade")
    return path


@pytest.fixture
def patient(config: Path) -> tuple[str, list[int]]:
    """A self-pay patient owing 100.00 (40 days ago) and 50.00 (5 days ago)."""
    app = Medbill.open(load_config(config), load_installed=False)
    try:
        return self_pay_claims(app, 1, ["100.00", "50.00"], [40, 5])
    finally:
        app.close()


def counts(config: Path) -> tuple[int, int, int]:
    """(payments, plans, ledger entries): nothing may be half-written by a refused command."""
    app = Medbill.open(load_config(config), load_installed=False)
    try:
        with app.unit_of_work() as work:
            return tuple(work.session.scalar(select(func.count()).select_from(table))
                         for table in (PaymentRow, PaymentPlanRow, LedgerEntryRow))
    finally:
        app.close()


# -- strict amounts, choices and dates (no tracebacks) ------------------------------------------

def iso(days: int) -> str:
    return (TODAY + timedelta(days=days)).isoformat()


@pytest.mark.parametrize(("args", "message"), [
    (("--total", "0", "--installments", "3"), "error: --total must be more than 0.00"),
    (("--total", "-5", "--installments", "3"), "error: --total must not be negative"),
    (("--total", "12.345", "--installments", "3"),
     "error: --total: more than two decimal places (amounts are in cents; never rounded)"),
    (("--total", "0.02", "--installments", "3"),
     "error: payment plan: installments: 3 installments need a total of at least 0.03"),
    (("--total", "1", "--installments", "120"),
     "error: payment plan: installments: 120 installments need a total of at least 1.20"),
    (("--total", "90", "--installments", "3", "--start", "2027-02-30"),
     "error: --start must be a date as YYYY-MM-DD, got '2027-02-30'"),
    (("--total", "90", "--installments", "3", "--start", "01/01/2027"),
     "error: --start must be a date as YYYY-MM-DD, got '01/01/2027'"),
    (("--total", "90", "--installments", "3", "--start", iso(-2530)),
     f"error: --start {iso(-2530)} is 2530 days in the past; check it, or pass "
     "--confirm-date if it is right"),
    (("--total", "90", "--installments", "3", "--start", iso(400)),
     f"error: --start {iso(400)} is 400 days in the future; check it, or pass "
     "--confirm-date if it is right"),
])
def test_bad_plan_options_are_one_line_errors(config: Path, patient: tuple[str, list[int]],
                                              args: tuple[str, ...], message: str) -> None:
    account, _ = patient
    if "--start" not in args:
        args = (*args, "--start", iso(10))
    before = counts(config)
    result = cli(config, "plans", "create", "--patient", account, *args)
    assert one_line_error(result, result.exit_code) == message
    assert result.exit_code in (1, 2)
    assert counts(config) == before


def test_plan_dates_far_out_need_confirmation(config: Path,
                                              patient: tuple[str, list[int]]) -> None:
    account, _ = patient
    ok(config, "plans", "create", "--patient", account, "--total", "90", "--installments",
       "3", "--start", iso(-60), "--confirm-date")
    assert counts(config)[1] == 1


@pytest.mark.parametrize(("args", "message"), [
    (("--amount", "10", "--overpayment", "banana"),
     "error: --overpayment must be one of: credit, refund"),
    (("--amount", "1e3"),
     "error: --amount: not an amount: write digits with at most two decimal places, e.g. 25.00"),
    (("--amount", "0"), "error: --amount must be more than 0.00"),
    (("--amount", "10", "--received", iso(182)),
     f"error: --received {iso(182)} is 182 days in the future; check it, or pass "
     "--confirm-date if it is right"),
    (("--amount", "10", "--received", iso(-400)),
     f"error: --received {iso(-400)} is 400 days in the past; check it, or pass "
     "--confirm-date if it is right"),
    (("--amount", "10", "--received", "2026-02-30"),
     "error: --received must be a date as YYYY-MM-DD, got '2026-02-30'"),
])
def test_bad_payment_options_are_one_line_errors(config: Path, patient: tuple[str, list[int]],
                                                 args: tuple[str, ...], message: str) -> None:
    account, _ = patient
    before = counts(config)
    assert one_line_error(cli(config, "payments", "record", "--patient", account, *args),
                          2) == message
    assert counts(config) == before


def test_a_confirmed_old_payment_is_recorded_on_its_date(config: Path,
                                                         patient: tuple[str, list[int]]) -> None:
    account, _ = patient
    ok(config, "payments", "record", "--patient", account, "--amount", "10", "--received",
       iso(-400), "--confirm-date", "--overpayment", "CREDIT")
    app = Medbill.open(load_config(config), load_installed=False)
    try:
        with app.unit_of_work() as work:
            assert work.session.scalar(select(PaymentRow.received_on)) == TODAY - timedelta(400)
    finally:
        app.close()
