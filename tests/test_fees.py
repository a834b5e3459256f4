"""Charge master and payers' fee schedules: strict CSV loads (audited, all-or-nothing), prices
by code, modifier and date of service (latest load wins), estimates priced from them, and
payments allowed below the contract flagged."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from medbill_core import audit
from medbill_core.domain import ClaimPayment, ClaimStatusCode, ServicePayment
from medbill_core.domain.estimate import PlannedService
from medbill_core.errors import UnknownPayer, ValidationFailed
from medbill_core.services.estimates import estimate_for_patient
from medbill_core.services.fees import (
    FeeSchedules,
    charge_for,
    contract_underpayments,
    load_price_list,
)
from medbill_core.testing import factories

D = Decimal
CHARGE_MASTER_2026 = """\
code,modifier,amount,effective_from,effective_to,description
99213,,125.00,2026-01-01,2026-06-30,Office visit
99213,,130.00,2026-07-01,,Office visit
71046,,95.00,2026-01-01,,Chest x-ray
71046,26,38.00,2026-01-01,,Chest x-ray professional
97110,GP,45.00,2026-01-01,,
"""
ACME_2026 = """\
CODE,Modifier,Allowed,Effective From
99213,,92.50,2026-01-01
99214,,131.00,2026-01-01
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_charge_master_prices_by_date_and_modifier(medbill_app, tmp_path: Path) -> None:
    with medbill_app.unit_of_work() as work:
        summary = load_price_list(work, write(tmp_path, "cdm.csv", CHARGE_MASTER_2026))
    assert (summary.rows, summary.kind, summary.first_date) == (5, "charge_master",
                                                                date(2026, 1, 1))
    with medbill_app.unit_of_work() as work:
        assert charge_for(work, "99213", [], date(2026, 3, 2)) == D("125.00")
        assert charge_for(work, "99213", [], date(2026, 7, 1)) == D("130.00")
        assert charge_for(work, "99213", [], date(2025, 12, 31)) is None
        assert charge_for(work, "71046", ["26"], date(2026, 3, 2)) == D("38.00")
        assert charge_for(work, "71046", ["TC"], date(2026, 3, 2)) is None  # never the global
        assert charge_for(work, "71046", ["RT"], date(2026, 3, 2)) == D("95.00")
        assert charge_for(work, "97110", ["GP", "59"], date(2026, 3, 2)) == D("45.00")
        [event] = audit.query(work.session, action="charge_master.load")
        assert event.actor == "tester" and event.details["rows"] == 5


def test_a_later_load_wins_where_it_overlaps(medbill_app, tmp_path: Path) -> None:
    with medbill_app.unit_of_work() as work:
        load_price_list(work, write(tmp_path, "a.csv", CHARGE_MASTER_2026))
        load_price_list(work, write(tmp_path, "b.csv", "code,amount\n99213,140.00\n"),
                        effective=date(2026, 10, 1), label="autumn prices")
    with medbill_app.unit_of_work() as work:
        assert charge_for(work, "99213", [], date(2026, 9, 30)) == D("130.00")
        assert charge_for(work, "99213", [], date(2026, 10, 1)) == D("140.00")
        in_force = FeeSchedules(work.session).entries(charge_master=True, code="99213",
                                                      on=date(2026, 11, 1))
        assert [(e.amount, e.label) for e in in_force] == [(D("140.00"), "autumn prices")]


@pytest.mark.parametrize(("text", "problem"), [
    ("code,amount,effective_from\n99213,-5.00,2026-01-01\n", "row 2 amount: must not be"),
    ("code,amount,effective_from\n99213,12.345,2026-01-01\n", "row 2 amount: more than two"),
    ("code,amount,effective_from\n9921X,12.00,2026-01-01\n", "row 2 code:"),
    ("code,amount,effective_from\nC9999,12.00,2026-01-01\n", "row 2 code:"),
    ("code,amount,effective_from\n99213,12.00,2026-02-30\n", "row 2 effective_from: not a date"),
    ("code,amount\n99213,12.00\n", "header: no column effective_from"),
    ("code,amount,effective_from\n99213,12.00,2026-1-5\n", "row 2 effective_from: not a date"),
    ("code,amount,effective_from\n99213,,2026-01-05\n", "row 2 amount: not an amount"),
    ("code,amount,effective_from,effective_to\n99213,1.00,2026-01-01,\n"
     "99213,2.00,2026-05-01,\n", "row 3 effective_from: dates overlap row 2"),
])
def test_a_bad_row_loads_nothing(medbill_app, tmp_path: Path, text: str, problem: str) -> None:
    with pytest.raises(ValidationFailed) as caught, medbill_app.unit_of_work() as work:
        load_price_list(work, write(tmp_path, "bad.csv", text))
    assert caught.value.message.startswith("bad.csv: ") and problem in caught.value.message
    with medbill_app.unit_of_work() as work:
        assert FeeSchedules(work.session).entries(charge_master=True) == []
        assert audit.query(work.session, action="charge_master.load") == []


def test_fee_schedule_of_an_unknown_payer_is_refused(medbill_app, tmp_path: Path) -> None:
    with pytest.raises(UnknownPayer), medbill_app.unit_of_work() as work:
        load_price_list(work, write(tmp_path, "x.csv", ACME_2026), payer_key="nobody")


def test_estimate_uses_the_charge_master_and_the_payers_fee_schedule(
        medbill_app, tmp_path: Path) -> None:
    with medbill_app.unit_of_work() as work:
        load_price_list(work, write(tmp_path, "cdm.csv", CHARGE_MASTER_2026))
        load_price_list(work, write(tmp_path, "acme.csv", ACME_2026), payer_key="acme")
        patient = work.patients.register(factories.make_patient(1))
        work.patients.add_coverage(patient.id, factories.make_coverage(payer_key="acme"))
    result = estimate_for_patient(medbill_app, patient.id, [
        PlannedService(procedure_code="99213"),
        PlannedService(procedure_code="97110", modifiers=["GP"], units=D(2))],
        service_date=date(2026, 3, 2), check_eligibility=False)
    with pytest.raises(ValidationFailed, match="service 1 charge: none given"):
        estimate_for_patient(medbill_app, patient.id, [PlannedService(procedure_code="99214")],
                             service_date=date(2026, 3, 2), check_eligibility=False)
    assert [(s.charge, s.allowed) for s in result.services] == [
        (D("125.00"), D("92.50")), (D("90.00"), D("90.00"))]
    assert any("97110: no expected allowed amount" in n for n in result.notes)
    # no benefits verified and no standard benefit for a commercial plan: not "owes 0.00"
    assert any("is not known" in n for n in result.notes)


def test_a_charge_master_price_times_fractional_units_says_it_was_rounded(
        medbill_app, tmp_path: Path) -> None:
    """A computed charge is quantized to cents (docs/money.md), never silently: a note says
    what was rounded; a whole-cent total needs no note."""
    with medbill_app.unit_of_work() as work:
        load_price_list(work, write(tmp_path, "cdm.csv", CHARGE_MASTER_2026))
        patient = work.patients.register(factories.make_patient(1))
    result = estimate_for_patient(medbill_app, patient.id, [
        PlannedService(procedure_code="99213", units=D("1.333")),
        PlannedService(procedure_code="71046", units=D("1.5"))],
        service_date=date(2026, 3, 2), check_eligibility=False)
    assert [s.charge for s in result.services] == [D("166.63"), D("142.50")]
    assert [n for n in result.notes if "charge master" in n] == [
        "99213: charge 166.63 from the charge master (125.00 per unit x 1.333 units = "
        "166.625, rounded to cents)."]


def test_an_estimate_allows_no_more_than_the_charge(medbill_app, tmp_path: Path) -> None:
    """The contracted fee (200.00) above the charge (125.00): the payer allows the charge."""
    with medbill_app.unit_of_work() as work:
        load_price_list(work, write(tmp_path, "acme.csv",
                                    "code,amount,effective_from\n99213,200.00,2026-01-01\n"),
                        payer_key="acme")
        patient = work.patients.register(factories.make_patient(1))
        work.patients.add_coverage(patient.id, factories.make_coverage(payer_key="acme"))
    result = estimate_for_patient(medbill_app, patient.id, [
        PlannedService(procedure_code="99213", charge=D("125.00")),
        PlannedService(procedure_code="99213", charge=D("250.00"))],
        service_date=date(2026, 3, 2), check_eligibility=False)
    assert [(s.charge, s.allowed, s.plan_pays) for s in result.services] == [
        (D("125.00"), D("125.00"), D("125.00")), (D("250.00"), D("200.00"), D("200.00"))]
    assert (result.total_allowed, result.plan_total) == (D("325.00"), D("325.00"))
    assert ("99213: the charge 125.00 is below the expected allowed amount 200.00; the payer "
            "allows the charge.") in result.notes


def test_payment_allowed_below_the_contract_is_flagged(medbill_app, tmp_path: Path) -> None:
    with medbill_app.unit_of_work() as work:
        load_price_list(work, write(tmp_path, "acme.csv", ACME_2026), payer_key="acme")
    claim = factories.make_claim(service_date=date(2026, 3, 2))
    low = ServicePayment(procedure_code="99213", charge=D("125.00"), paid=D("70.00"),
                         allowed_amount=D("85.00"), units=D(1),
                         service_date_from=date(2026, 3, 2))
    fair = low.model_copy(update={"allowed_amount": D("92.50")})
    with medbill_app.unit_of_work() as work:
        [found] = contract_underpayments(work, claim, ClaimPayment(
            claim_number="CLM0001", status=ClaimStatusCode.PRIMARY, charge=D("125.00"),
            paid=D("70.00"), services=[low]))
        assert found.code == "fee_schedule.underpaid"
        assert "allowed 85.00 is 7.50 below the expected 92.50" in found.message
        assert contract_underpayments(work, claim, ClaimPayment(
            claim_number="CLM0001", status=ClaimStatusCode.PRIMARY, charge=D("125.00"),
            paid=D("70.00"), services=[fair])) == []


def test_the_amount_column_is_read_by_what_is_loaded(medbill_app, tmp_path: Path) -> None:
    export = "code,charge,allowed,effective_from\n99213,125.00,92.50,2026-01-01\n"
    with medbill_app.unit_of_work() as work:
        load_price_list(work, write(tmp_path, "cdm.csv", export))
        load_price_list(work, write(tmp_path, "acme.csv", export), payer_key="acme")
    with medbill_app.unit_of_work() as work:
        schedules = FeeSchedules(work.session)
        assert schedules.charge_for("99213", [], date(2026, 3, 2)) == D("125.00")
        assert schedules.allowed_for("acme", "99213", [], date(2026, 3, 2)) == D("92.50")
    with pytest.raises(ValidationFailed, match="header: no column amount"), \
            medbill_app.unit_of_work() as work:
        load_price_list(work, write(tmp_path, "x.csv", "code,allowed,effective_from\n"
                                                       "99213,1.00,2026-01-01\n"))
