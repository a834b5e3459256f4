"""The most one amount may be (``MAX_AMOUNT``, 99,999,999.99: a line's charge, a claim's total,
a price, a payment, a plan, a threshold) and the most any amount may be (``MAX_MONEY``): refused
at the field that says it, by the domain and the services, whichever way the amount comes in
(the API's 422 problem, the command line's one line, an import's record or row, the
configuration), never a 500 or an OverflowError from the database driver; on SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cli_support import cli, config_text, ok, one_line_error
from fastapi.testclient import TestClient
from inproc_plugins import make_line_plugin
from test_claims_cli import claim_record, config, write  # noqa: F401  (config: a fixture)
from test_http_accounts import BILLER, FRONT, MANAGER, authenticate, self_pay
from test_http_api import assert_problem

from medbill_core.app import Medbill
from medbill_core.config import load_config
from medbill_core.domain import Claim, Payer, Payment, PaymentPlan
from medbill_core.domain.base import validate_record
from medbill_core.domain.claim import ClaimAdjustmentRef
from medbill_core.domain.estimate import PlannedService
from medbill_core.errors import ConfigurationError, ValidationFailed
from medbill_core.http import create_app
from medbill_core.money import CENT, MAX_AMOUNT, MAX_MONEY, parse_money_input, to_money
from medbill_core.services import financial_assistance as fa
from medbill_core.services.fees import load_price_list, read_price_list
from medbill_core.services.payments import record_payment, reverse_payment, schedule
from medbill_core.services.work_queues import QueueFilter
from medbill_core.services.write_offs import set_policy
from medbill_core.testing import factories

D = Decimal
#: what every field says of an amount beyond the limit
OVER = "must not be more than 99,999,999.99"
#: 10**22 cents: more than a BIGINT holds (it was an OverflowError, a 500)
HUGE = "99999999999999999999.99"
#: a ten-billion-dollar line: stored without a word before
TEN_BILLION = "9999999999.00"
TODAY = date.today()


# -- the limits ----------------------------------------------------------------------------

def test_the_limits_fit_a_bigint_of_cents_with_room_for_their_sums() -> None:
    bigint = 2**63 - 1  # SQLite's INTEGER and PostgreSQL's BIGINT: the Cents column type
    assert str(MAX_AMOUNT) == "99999999.99" and str(MAX_MONEY) == "99999999999999.99"
    assert int(MAX_AMOUNT / CENT) * 900_000_000 < bigint
    assert int(MAX_MONEY / CENT) * 900 < bigint


def test_no_amount_at_all_is_larger_than_the_money_limit() -> None:
    """A payer's figure (a Money field, not an amount a person states) is read up to
    MAX_MONEY, a twelve-trillion one included (it is held as an exception, not posted);
    beyond, it is refused at its field."""
    def adjustment(amount: Any, **context: Any) -> ClaimAdjustmentRef:
        data = {"group_code": "CO", "reason_code": "45", "amount": amount}
        return validate_record(ClaimAdjustmentRef, data, record="adjustment") if context \
            else ClaimAdjustmentRef.model_validate(data)

    for amount in (MAX_MONEY, -MAX_MONEY, D("12345678901234.56")):
        assert adjustment(amount).amount == adjustment(str(amount), input=True).amount == amount
    for beyond in (MAX_MONEY + CENT, -(MAX_MONEY + CENT), D(HUGE), 10**40):
        with pytest.raises(ValidationFailed) as caught:
            adjustment(str(beyond), input=True)
        assert caught.value.problems == [("amount", "amount is too large")]
        with pytest.raises(ValueError, match="amount is too large"):
            adjustment(beyond)
        with pytest.raises(ValueError, match="^amount is too large$"):
            parse_money_input(beyond)
    with pytest.raises(ValueError, match="^amount is too large$"):
        to_money(10**40)  # more digits than a Decimal context holds


# -- the domain ----------------------------------------------------------------------------

def _claim(lines: int = 1) -> dict[str, Any]:
    return factories.make_claim(lines=lines).model_dump(mode="json", exclude={"id"})


@pytest.mark.parametrize("charge", ["100000000.00", TEN_BILLION, HUGE, "1" + "0" * 40,
                                    10**30])
def test_a_line_charge_over_the_limit_is_refused_at_its_field(charge: Any) -> None:
    data = _claim()
    data["lines"][0]["charge"] = charge
    with pytest.raises(ValidationFailed) as caught:
        validate_record(Claim, data, record="row 1")
    assert caught.value.problems == [("lines[0].charge", OVER)]
    assert str(charge) not in str(caught.value)


def test_a_claim_totalling_more_than_the_limit_is_refused_at_its_lines() -> None:
    data = _claim(lines=2)
    data["lines"][0]["charge"], data["lines"][1]["charge"] = "99999999.98", "0.01"
    assert validate_record(Claim, data, record="row 1").total_charge == MAX_AMOUNT
    data["lines"][1]["charge"] = "0.02"
    with pytest.raises(ValidationFailed) as caught:
        validate_record(Claim, data, record="row 1")
    assert caught.value.problems == [
        ("lines", "the lines' charges add up to more than 99,999,999.99")]


@pytest.mark.parametrize(("model", "data", "fields"), [
    (Payment, {"patient_id": 1, "amount": HUGE, "method": "cash", "received_on": "2026-01-05"},
     ["amount"]),
    (PaymentPlan, {"patient_id": 1, "total_amount": TEN_BILLION, "start_date": "2026-01-05",
                   "installments": [{"due_date": "2026-01-05", "amount": TEN_BILLION}]},
     ["total_amount", "installments[0].amount"]),
    (PlannedService, {"procedure_code": "99213", "charge": HUGE, "allowed": TEN_BILLION},
     ["charge", "allowed"]),
    (Payer, {"key": "acme", "payer_id": "ACME1", "name": "Acme", "adapter": "x",
             "fee_schedule": {"99213": HUGE}}, ["fee_schedule.99213"]),
])
def test_every_amount_a_person_or_a_file_states_has_the_limit(
        model: Any, data: dict[str, Any], fields: list[str]) -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_record(model, data, record="record")
    assert caught.value.problems == [(field, OVER) for field in fields]


def test_the_configuration_refuses_an_amount_over_the_limit(tmp_path: Path) -> None:
    payer = "[payers.acme]\npayer_id='A1'\nname='Acme'\nadapter='x'\n"
    for text, message in (
            (f"{payer}[payers.acme.fee_schedule]\n'99213' = '{HUGE}'\n",
             f"[payers.acme.fee_schedule] 99213: {OVER}"),
            ("[pay_links]\nplan_minimum_installment = '1000000000000000000000000000000'\n",
             "plan_minimum_installment")):
        path = tmp_path / "medbill.toml"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ConfigurationError) as raised:
            load_config(path, environ={})
        assert message in str(raised.value)


# -- the services --------------------------------------------------------------------------

def test_a_price_list_row_over_the_limit_loads_nothing(medbill_app: Medbill,
                                                       tmp_path: Path) -> None:
    text = ("code,amount,effective_from\n99213,100000000.00,2026-01-01\n"
            f"36415,{HUGE},2026-01-01\n81002,99999999.99,2026-01-01\n")
    with pytest.raises(ValidationFailed) as caught:
        read_price_list(text, "cdm.csv")
    assert caught.value.problems == [("row 2 amount", OVER), ("row 3 amount", OVER)]
    path = tmp_path / "cdm.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValidationFailed), medbill_app.unit_of_work() as work:
        load_price_list(work, path)


def test_the_largest_claim_is_stored_and_added_up_exactly(medbill_app: Medbill) -> None:
    with medbill_app.unit_of_work() as work:
        patient = work.patients.register(factories.make_patient(1))
        claim = factories.make_claim(patient.id, coverage_id=None, lines=2)
        claim = claim.model_copy(update={"lines": [
            claim.lines[0].model_copy(update={"charge": MAX_AMOUNT - CENT}),
            claim.lines[1].model_copy(update={"charge": CENT}),
        ]})
        stored = work.claims.create(claim)
    with medbill_app.unit_of_work(read_only=True) as work:
        assert work.claims.get(stored.id).total_charge == MAX_AMOUNT
        assert work.ledger.patient_balance(patient.id).patient == MAX_AMOUNT


def test_a_plan_over_the_limit_or_too_long_is_refused_before_it_is_scheduled() -> None:
    for total in (D(HUGE), D(TEN_BILLION)):
        with pytest.raises(ValidationFailed) as caught:
            schedule(total, 3, TODAY)
        assert caught.value.problems == [("total_amount", OVER)]
    with pytest.raises(ValidationFailed) as caught:
        schedule(D("300.00"), 10**9, TODAY)  # never a list of a billion installments
    assert caught.value.problems == [("installments", "at most 120")]


def test_thresholds_filters_incomes_and_fees_over_the_limit_are_refused(
        medbill_app: Medbill) -> None:
    with medbill_app.unit_of_work() as work:
        with pytest.raises(ValidationFailed) as caught:
            set_policy(work, small_balance_limit=D(HUGE))
        assert caught.value.problems == [("small_balance_limit", OVER)]
        patient = work.patients.register(factories.make_patient(1))
        work.claims.create(factories.make_claim(patient.id, coverage_id=None))
        paid = record_payment(work, Payment(patient_id=patient.id, amount=D("20.00"),
                                            method="check", received_on=TODAY))
        with pytest.raises(ValidationFailed) as caught:
            reverse_payment(work, paid.payment_id, "returned check", fee=D(TEN_BILLION))
        assert caught.value.problems == [("fee", OVER)]
        with pytest.raises(ValidationFailed) as caught:
            fa.evaluate(fa.get_policy(work), household_size=3, annual_income=D(10**30),
                        state="IL", on=TODAY)
        assert caught.value.problems == [("annual_income", OVER)]
    with pytest.raises(ValidationFailed) as caught:
        QueueFilter(min_amount=D(TEN_BILLION), max_amount=D("1e20"), max_age=10**9).check()
    assert caught.value.problems == [("min_amount", OVER), ("max_amount", OVER),
                                     ("max_age", "must be at most 36500 days")]


# -- the API -------------------------------------------------------------------------------

@pytest.fixture
def medbill_extra_plugins() -> list[tuple[str, Any]]:
    return [("lineplug", make_line_plugin())]


@pytest.fixture
def client(medbill_app: Medbill) -> Iterator[TestClient]:
    with TestClient(create_app(medbill_app, authenticate=authenticate)) as test_client:
        yield test_client


def _errors(response: Any) -> list[tuple[str, str]]:
    problem = assert_problem(response, 422, "validation-failed")
    return [(error["field"], error["message"]) for error in problem["errors"]]


def test_the_api_refuses_an_amount_over_the_limit_naming_the_field(
        client: TestClient, medbill_app: Medbill) -> None:
    patient_id, (claim_id,) = self_pay(medbill_app, 1, ["100.00"], [5])
    body = factories.make_claim(patient_id, coverage_id=None, number="API0001").model_dump(
        mode="json", exclude={"id", "state", "frequency"}, exclude_none=True)
    for charge in (TEN_BILLION, HUGE):
        body["lines"][0]["charge"] = charge
        assert _errors(client.post("/v1/claims", json=body, headers=BILLER)) == [
            ("body.lines[0].charge", OVER)]
    draft = client.get(f"/v1/claims/{claim_id}", headers=BILLER).json()
    lines = [{**draft["lines"][0], "charge": HUGE}]
    assert _errors(client.patch(f"/v1/claims/{claim_id}", json={"lines": lines},
                                headers=BILLER)) == [("body.lines[0].charge", OVER)]
    assert _errors(client.post("/v1/payments", headers=FRONT, json={
        "patient_id": patient_id, "amount": HUGE, "method": "cash"})) == [
        ("body.amount", OVER)]
    assert _errors(client.post("/v1/plans", headers=MANAGER, json={
        "patient_id": patient_id, "total": TEN_BILLION, "installments": 3,
        "start": (TODAY + timedelta(days=5)).isoformat()})) == [("body.total", OVER)]
    assert _errors(client.post("/v1/estimates", headers=BILLER, json={
        "patient_id": patient_id, "check_eligibility": False,
        "services": [{"procedure_code": "99213", "charge": HUGE}]})) == [
        ("body.services[0].charge", OVER)]
    with medbill_app.unit_of_work(read_only=True) as work:  # nothing was stored
        assert work.ledger.patient_balance(patient_id).patient == D("100.00")
        assert work.claims.get(claim_id).total_charge == D("100.00")
    assert client.get("/v1/claims", headers=BILLER).json()["data"][0]["id"] == claim_id


# -- the command line ----------------------------------------------------------------------

@pytest.fixture
def _isolated(cli_isolation: None) -> None:
    """The command-line tests run the command line isolated (see conftest)."""


@pytest.mark.usefixtures("_isolated")
def test_an_import_or_a_price_list_over_the_limit_is_one_line_naming_the_field(
        config: Path, tmp_path: Path) -> None:  # noqa: F811
    claims_config = config  # three patients, P1 with acme
    day = (TODAY - timedelta(days=7)).isoformat()
    result = cli(claims_config, "claims", "import", str(write(tmp_path, "claims.json", [
        claim_record("CLM-1", "P1", 1, "acme", [HUGE])])))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"error: record 1: lines[0].charge: {OVER}" in result.stderr.splitlines()
    prices = write(tmp_path, "cdm.csv", f"code,amount,effective_from\n99213,{HUGE},{day}\n")
    assert one_line_error(cli(claims_config, "chargemaster", "load", str(prices))) == (
        f"error: cdm.csv: row 2 amount: {OVER}")
    # units no line may have, on a line priced from the charge master: the units are named
    ok(claims_config, "chargemaster", "load",
       str(write(tmp_path, "cdm.csv", f"code,amount,effective_from\n99213,110.00,{day}\n")))
    record = claim_record("CLM-2", "P1", 1, "acme", ["x"])
    del record["lines"][0]["charge"]
    record["lines"][0]["units"] = "1e30"
    result = cli(claims_config, "claims", "import",
                 str(write(tmp_path, "claims.json", [record])))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "record 1: lines[0].units:" in result.stderr
    assert ok(claims_config, "claims", "list", "--json").stdout.count("claim_number") == 0


@pytest.mark.usefixtures("_isolated")
def test_an_amount_option_over_the_limit_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "medbill.toml"
    path.write_text(config_text(f"sqlite:///{tmp_path / 'medbill.db'}"), encoding="utf-8")
    ok(path, "db", "upgrade")
    for amount in (TEN_BILLION, HUGE):
        assert one_line_error(cli(path, "payments", "record", "--patient", "P1", "--amount",
                                  amount, "--method", "cash"), 2) == (
            "error: --amount is more than 99,999,999.99: check it")
