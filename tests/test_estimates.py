"""Cost estimates: copay, deductible, coinsurance, out-of-pocket cap, self-pay."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from medbill_core.domain import BenefitSummary
from medbill_core.domain.estimate import PlannedService
from medbill_core.services.estimates import estimate
from medbill_core.testing import factories

D = Decimal


def run(benefits, *services):
    return estimate(estimate_number="E-1", practice=factories.make_practice(),
                    patient=factories.make_patient(id=1), service_date=date(2026, 12, 1),
                    services=list(services), benefits=benefits, payer_name="Acme")


VISIT = PlannedService(procedure_code="99214", charge=D("165.00"), allowed=D("110.00"))
LAB = PlannedService(procedure_code="80053", charge=D("48.00"), allowed=D("14.00"))
XRAY = PlannedService(procedure_code="71046", charge=D("120.00"), allowed=D("80.00"))


def test_copay_then_deductible_then_coinsurance() -> None:
    result = run(BenefitSummary(copay=D("25"), coinsurance=D("0.2"), deductible=D("1500"),
                                deductible_remaining=D("50")), VISIT, LAB, XRAY)
    rows = [(s.copay, s.deductible, s.coinsurance, s.patient_owes, s.plan_pays)
            for s in result.services]
    assert rows == [(D("25.00"), D("0.00"), D("0.00"), D("25.00"), D("85.00")),
                    (D("0.00"), D("14.00"), D("0.00"), D("14.00"), D("0.00")),
                    (D("0.00"), D("36.00"), D("8.80"), D("44.80"), D("35.20"))]
    assert (result.patient_total, result.plan_total, result.total_allowed) == (
        D("83.80"), D("120.20"), D("204.00"))


def test_out_of_pocket_cap() -> None:
    result = run(BenefitSummary(coinsurance=D("0.5"), deductible_remaining=D("100"),
                                out_of_pocket_remaining=D("120")), VISIT, XRAY)
    assert result.patient_total == D("120.00")
    assert result.patient_total + result.plan_total == result.total_allowed
    assert any("out-of-pocket" in note for note in result.notes)


def test_self_pay_with_discount() -> None:
    result = estimate(estimate_number="E-2", practice=factories.make_practice(),
                      patient=factories.make_patient(id=1), service_date=date(2026, 12, 1),
                      services=[VISIT, LAB], benefits=None, self_pay_discount=D("0.30"))
    assert [s.patient_owes for s in result.services] == [D("115.50"), D("33.60")]
    assert result.plan_total == D("0.00")


def test_the_allowed_amount_is_never_more_than_the_charge() -> None:
    """A payer allows the lesser of the billed charge and the contracted amount: a service
    charged below its contracted fee is allowed at its charge."""
    cheap = PlannedService(procedure_code="99213", charge=D("125.00"), allowed=D("200.00"))
    result = run(BenefitSummary(coinsurance=D("0.2"), deductible_remaining=D("0")), cheap, LAB)
    rows = [(s.charge, s.allowed, s.coinsurance, s.patient_owes, s.plan_pays)
            for s in result.services]
    assert rows == [(D("125.00"), D("125.00"), D("25.00"), D("25.00"), D("100.00")),
                    (D("48.00"), D("14.00"), D("2.80"), D("2.80"), D("11.20"))]
    assert (result.total_allowed, result.patient_total, result.plan_total) == (
        D("139.00"), D("27.80"), D("111.20"))
    assert ("99213: the charge 125.00 is below the expected allowed amount 200.00; the payer "
            "allows the charge.") in result.notes
    # no benefit details: the plan pays at most the charge, not the contracted fee
    [line] = run(BenefitSummary(), cheap).services
    assert (line.allowed, line.plan_pays) == (D("125.00"), D("125.00"))
    # a charge equal to the contracted fee is not worth a note
    equal = cheap.model_copy(update={"charge": D("200.00")})
    assert not any("is below" in note for note in run(BenefitSummary(), equal).notes)


@given(copay=st.decimals(0, 60, places=0), ded=st.decimals(0, 3000, places=2),
       coins=st.decimals(0, 1, places=2), oop=st.one_of(st.none(), st.decimals(0, 500, places=2)))
def test_patient_and_plan_shares_add_up_to_allowed(copay, ded, coins, oop) -> None:
    result = run(BenefitSummary(copay=copay, coinsurance=coins, deductible_remaining=ded,
                                out_of_pocket_remaining=oop), VISIT, LAB, XRAY)
    assert result.patient_total + result.plan_total == result.total_allowed
    assert all(s.patient_owes >= 0 and s.plan_pays >= 0 for s in result.services)
    if oop is not None:
        assert result.patient_total <= oop


# -- through the hooks: fee schedule, eligibility, rendering --------------------------------

import pytest  # noqa: E402
from inproc_plugins import make_line_plugin  # noqa: E402

from medbill_core.config import MedbillConfig  # noqa: E402
from medbill_core.services.estimates import estimate_for_patient  # noqa: E402


@pytest.fixture
def medbill_config(medbill_db_url: str) -> MedbillConfig:
    payer = factories.make_payer("linepay", adapter="line_format", channel="loopback",
                                 options={"fee_schedule": {"99214": "110.00",
                                                           "97110-GP": "31.50"}})
    return MedbillConfig(database_url=medbill_db_url, actor="tester",
                         practice=factories.make_practice(), payers={"linepay": payer})


@pytest.fixture
def medbill_extra_plugins():
    return [("lineplug", make_line_plugin())]


def test_estimate_for_a_patient_prices_checks_and_renders(medbill_app) -> None:
    with medbill_app.unit_of_work() as work:
        patient = work.patients.register(factories.make_patient(1))
        work.patients.add_coverage(patient.id, factories.make_coverage(payer_key="linepay"))
    result = estimate_for_patient(medbill_app, patient.id, [
        PlannedService(procedure_code="99214", charge=D("165.00")),
        PlannedService(procedure_code="97110", modifiers=["GP"], units=D(2),
                       charge=D("90.00")),
        PlannedService(procedure_code="80053", charge=D("48.00"))],
        service_date=date.today())
    assert [s.allowed for s in result.services] == [D("110.00"), D("63.00"), D("48.00")]
    assert result.payer_name == "Acme Health Plan"
    assert any("80053: no expected allowed amount" in n for n in result.notes)
    hooks = medbill_app.hooks
    payer = hooks.context.payer("linepay")
    assert hooks.expected_allowed(payer=payer, procedure_code="99999", modifiers=[],
                                  place_of_service="11", service_date=date.today()) is None
    document = hooks.render_estimate(estimate=result, renderer="text")
    assert document.content == f"Estimate {result.estimate_number}\nYou owe: 0.00\n".encode()


def test_the_eligibility_call_holds_no_database_lock(medbill_sqlite_url: str) -> None:
    """While the payer is asked (a network round trip), another connection can write: no
    transaction is open around the call (on SQLite it would hold the write lock)."""
    import sqlite3

    from medbill_core.app import Medbill

    plugin = make_line_plugin()
    answered = plugin.channel.exchange
    writes: list[str] = []

    def exchange_while_another_connection_writes(kind: str, content: str):
        path = medbill_sqlite_url.removeprefix("sqlite:///")
        with sqlite3.connect(path, timeout=0.5) as other:
            other.execute("CREATE TABLE IF NOT EXISTS probe (x INTEGER)")
            other.execute("INSERT INTO probe VALUES (1)")
        writes.append(kind)
        return answered(kind, content)

    plugin.channel.exchange = exchange_while_another_connection_writes
    payer = factories.make_payer("linepay", adapter="line_format", channel="loopback")
    config = MedbillConfig(database_url=medbill_sqlite_url, actor="tester",
                           practice=factories.make_practice(), payers={"linepay": payer})
    app = Medbill.open(config, extra_plugins=[("lineplug", plugin)], load_installed=False,
                       upgrade=True)
    try:
        with app.unit_of_work() as work:
            patient = work.patients.register(factories.make_patient(1))
            work.patients.add_coverage(patient.id, factories.make_coverage(payer_key="linepay"))
        result = estimate_for_patient(app, patient.id, [
            PlannedService(procedure_code="99214", charge=D("165.00"))],
            service_date=date.today())
    finally:
        app.close()
    assert writes == ["ELIG"]
    assert not any("not verified" in note for note in result.notes)


def test_a_service_without_a_charge_is_named() -> None:
    from medbill_core.errors import ValidationFailed

    with pytest.raises(ValidationFailed, match="estimate: service 2 charge: none given"):
        run(BenefitSummary(), VISIT, PlannedService(procedure_code="80053"))


@pytest.mark.parametrize("bad", [{"charge": D("-1.00")}, {"units": D(0)}, {"units": D(-2)},
                                 {"allowed": D("-5.00")}])
def test_planned_services_refuse_negative_amounts_and_units(bad) -> None:
    from medbill_core.domain.base import validate_record
    from medbill_core.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        validate_record(PlannedService, {"procedure_code": "99214", "charge": "10.00", **bad},
                        record="service 1")
