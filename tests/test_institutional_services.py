"""Core services reading claim lines cope with institutional lines that have only a revenue
code: statements describe them by revenue code, an 835 paying them under NU matches them, and
the underpayment check skips what no fee schedule prices."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from inproc_plugins import line_practice_config, make_line_plugin

from medbill_core.config import MedbillConfig
from medbill_core.domain import (
    Adjustment,
    AdjustmentGroup,
    Claim,
    ClaimPayment,
    ClaimState,
    ClaimStatusCode,
    Remittance,
    ServicePayment,
)
from medbill_core.services.fees import load_price_list
from medbill_core.services.remittance import match_service_lines, post_remittance
from medbill_core.services.statements import build_statement
from medbill_core.testing import factories

D = Decimal
TODAY = date.today()


@pytest.fixture
def medbill_config(medbill_db_url: str) -> MedbillConfig:
    return line_practice_config(medbill_db_url)


@pytest.fixture
def medbill_extra_plugins():
    return [("lineplug", make_line_plugin())]


def test_statement_describes_revenue_code_lines(medbill_app) -> None:
    with medbill_app.unit_of_work() as work:
        patient = work.patients.register(factories.make_patient(1))
        claim = factories.make_institutional_claim(patient.id, coverage_id=None,
                                                   inpatient=True, number="SP-H1")
        work.claims.create(claim)
        statement = build_statement(work, patient.id, statement_date=TODAY, cycle="2026-12")
    [line] = statement.lines
    assert line.charge == D("12280.00") and line.balance == D("12280.00")
    assert line.procedure_code == "0120"
    assert line.description == ("Room and board, semi-private (two beds) (0120); Pharmacy"
                                " (0250); Operating room services (0360)")


def test_statement_of_outpatient_lines_names_their_hcpcs_codes(medbill_app) -> None:
    with medbill_app.unit_of_work() as work:
        patient = work.patients.register(factories.make_patient(1))
        work.claims.create(factories.make_institutional_claim(patient.id, coverage_id=None,
                                                              number="SP-O1"))
        statement = build_statement(work, patient.id, statement_date=TODAY, cycle="2026-12")
    [line] = statement.lines
    # CPT descriptors are not shipped: the revenue code's words stand in for them
    assert line.description == ("Emergency room (99284); Laboratory (85025); Radiology,"
                                " diagnostic (71046)")
    assert line.procedure_code == "99284"


def test_an_835_paying_revenue_codes_matches_the_lines() -> None:
    claim = factories.make_institutional_claim(inpatient=True)
    services = [ServicePayment(procedure_code=code, procedure_qualifier="NU", charge=charge,
                               paid=D("0.00"), adjustments=[Adjustment(
                                   group=AdjustmentGroup.CONTRACTUAL, reason_code="45",
                                   amount=charge)])
                for code, charge in (("0250", D("480.00")), ("0120", D("3600.00")),
                                     ("0360", D("8200.00")))]
    matched = match_service_lines(list(claim.lines), services)
    assert matched is not None
    assert [line.revenue_code for line in matched] == ["0250", "0120", "0360"]


def _accepted(work, claim: Claim) -> None:
    saved = work.claims.create(claim)
    for target in (ClaimState.VALIDATED, ClaimState.SUBMITTED, ClaimState.ACCEPTED):
        work.claims.transition(saved.id, target)


def _payment(number: str, services: list[ServicePayment]) -> Remittance:
    charge = sum((s.charge for s in services), D("0"))
    paid = sum((s.paid for s in services), D("0"))
    payment = ClaimPayment(claim_number=number, status=ClaimStatusCode.PRIMARY, charge=charge,
                           paid=paid, patient_responsibility=D("0.00"), services=services,
                           adjustments=[])
    return Remittance(trace_number=f"TRN-{number}", payment_amount=paid,
                      payer_name="Line Payer", payer_id="ACME1", payee_name="Hospital",
                      payment_date=TODAY, claims=[payment])


def _service(code: str, qualifier: str, charge: str, paid: str) -> ServicePayment:
    adjusted = D(charge) - D(paid)
    return ServicePayment(procedure_code=code, procedure_qualifier=qualifier, charge=D(charge),
                          paid=D(paid), units=D(1), adjustments=[Adjustment(
                              group=AdjustmentGroup.CONTRACTUAL, reason_code="45",
                              amount=adjusted)] if adjusted else [])


def test_underpayment_check_skips_revenue_code_lines(medbill_app, tmp_path: Path) -> None:
    """A contract listing a code that is also a revenue code (0300 here) must not price a
    line paid under NU 0300; the HCPCS line under-allowed is still flagged."""
    contract = tmp_path / "linepay.csv"
    contract.write_text("code,allowed,effective_from\n99284,400.00,2020-01-01\n"
                        "85025,60.00,2020-01-01\n", encoding="utf-8")
    with medbill_app.unit_of_work() as work:
        load_price_list(work, contract, payer_key="linepay")
        patient = work.patients.register(factories.make_patient(1))
        coverage = work.patients.add_coverage(
            patient.id, factories.make_coverage(payer_key="linepay"))
        claim = factories.make_institutional_claim(patient.id, coverage_id=coverage.id,
                                                   payer_key="linepay", number="OP1")
        _accepted(work, claim)
    # line 2 paid under its revenue code only, 85025 is the code of the contract: no finding
    services = [_service("99284", "HC", "1250.00", "300.00"),
                _service("85025", "NU", "95.00", "10.00"),
                _service("71046", "HC", "310.00", "200.00")]
    with medbill_app.unit_of_work() as work:
        result = post_remittance(work, _payment("OP1", services))
    found = [(f.line_number, f.message) for f in result.findings
             if f.code == "fee_schedule.underpaid"]
    assert found == [(1, f"line 1 (99284 x 1): allowed 300.00 is 100.00 below the expected"
                         f" 400.00 (linepay fee schedule for {claim.service_date_from})")]


def test_underpayment_check_skips_an_inpatient_stay(medbill_app, tmp_path: Path) -> None:
    contract = tmp_path / "linepay.csv"
    contract.write_text("code,allowed,effective_from\n44970,9000.00,2020-01-01\n",
                        encoding="utf-8")
    with medbill_app.unit_of_work() as work:
        load_price_list(work, contract, payer_key="linepay")
        patient = work.patients.register(factories.make_patient(1))
        coverage = work.patients.add_coverage(
            patient.id, factories.make_coverage(payer_key="linepay"))
        claim = factories.make_institutional_claim(patient.id, coverage_id=coverage.id,
                                                   payer_key="linepay", number="IP1",
                                                   inpatient=True)
        lines = [line.model_copy(update={"procedure_code": "44970"})
                 if line.revenue_code == "0360" else line for line in claim.lines]
        _accepted(work, claim.model_copy(update={"lines": lines}))
    services = [_service("0120", "NU", "3600.00", "1000.00"),
                _service("0250", "NU", "480.00", "100.00"),
                _service("44970", "HC", "8200.00", "2000.00")]
    with medbill_app.unit_of_work() as work:
        result = post_remittance(work, _payment("IP1", services))
    assert [f for f in result.findings if f.code == "fee_schedule.underpaid"] == []
    with medbill_app.unit_of_work() as work:
        assert work.claims.by_number("IP1").state is ClaimState.CLOSED  # posted, nothing owed


def test_denials_by_procedure_count_revenue_code_lines_by_revenue_code(medbill_app) -> None:
    from medbill_core.services.kpi import kpi_report
    from medbill_core.services.kpi_aging_cache import forget

    forget()  # a new database: nothing kept from another test's
    with medbill_app.unit_of_work() as work:
        patient = work.patients.register(factories.make_patient(1))
        coverage = work.patients.add_coverage(
            patient.id, factories.make_coverage(payer_key="linepay"))
        _accepted(work, factories.make_institutional_claim(
            patient.id, coverage_id=coverage.id, payer_key="linepay", number="DN1",
            inpatient=True))
    services = [_service("0120", "NU", "3600.00", "0.00"),
                _service("0250", "NU", "480.00", "0.00"),
                _service("0360", "NU", "8200.00", "0.00")]
    remittance = _payment("DN1", services)
    denied = remittance.claims[0].model_copy(update={"status": ClaimStatusCode.DENIED})
    with medbill_app.unit_of_work() as work:
        post_remittance(work, remittance.model_copy(update={"claims": [denied]}))
    with medbill_app.unit_of_work() as work:
        result = kpi_report(work, period_from=TODAY.replace(day=1), period_to=TODAY,
                            keep=False)
    assert sorted((line.key, line.claims, line.amount)
                  for line in result.denials_by_procedure) == [
        ("0120", 1, D("3600.00")), ("0250", 1, D("480.00")), ("0360", 1, D("8200.00"))]
