"""Posting an 835 flags lines a commercial payer allowed below its contracted fee schedule
(``fee_schedule.underpaid``), through the ``medbill_expected_allowed`` default implementation."""

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
    ClaimPayment,
    ClaimState,
    ClaimStatusCode,
    Remittance,
    ServicePayment,
)
from medbill_core.services.fees import load_price_list
from medbill_core.services.remittance import post_remittance
from medbill_core.testing import factories

D = Decimal


@pytest.fixture
def medbill_config(medbill_db_url: str) -> MedbillConfig:
    return line_practice_config(medbill_db_url)


@pytest.fixture
def medbill_extra_plugins():
    return [("lineplug", make_line_plugin())]


def test_posting_flags_a_line_allowed_below_the_contract(medbill_app, tmp_path: Path) -> None:
    contract = tmp_path / "linepay.csv"
    contract.write_text("code,allowed,effective_from\n99213,92.50,2020-01-01\n",
                        encoding="utf-8")
    day = factories.recent_service_date()
    with medbill_app.unit_of_work() as work:
        load_price_list(work, contract, payer_key="linepay")
        work.patients.register_provider(factories.make_provider())
        patient = work.patients.register(factories.make_patient(1))
        coverage = work.patients.add_coverage(
            patient.id, factories.make_coverage(payer_key="linepay"))
        claim = work.claims.create(factories.make_claim(
            patient.id, coverage_id=coverage.id, payer_key="linepay", number="FS1",
            service_date=day))
        for target in (ClaimState.VALIDATED, ClaimState.SUBMITTED, ClaimState.ACCEPTED):
            work.claims.transition(claim.id, target)
    line = ServicePayment(
        procedure_code="99213", charge=D("125.00"), paid=D("68.00"), units=D(1),
        service_date_from=day, adjustments=[
            Adjustment(group=AdjustmentGroup.CONTRACTUAL, reason_code="45", amount=D("40.00")),
            Adjustment(group=AdjustmentGroup.PATIENT_RESPONSIBILITY, reason_code="2",
                       amount=D("17.00"))])
    payment = ClaimPayment(claim_number="FS1", status=ClaimStatusCode.PRIMARY,
                           charge=D("125.00"), paid=D("68.00"),
                           patient_responsibility=D("17.00"), services=[line],
                           adjustments=[])
    remittance = Remittance(trace_number="TRN-FS", payment_amount=D("68.00"),
                            payer_name="Line Payer", payer_id="ACME1", payee_name="Clinic",
                            payment_date=date.today(), claims=[payment])
    with medbill_app.unit_of_work() as work:
        result = post_remittance(work, remittance)
    # allowed = paid 68.00 + patient share 17.00 = 85.00, the contract says 92.50
    [found] = [f for f in result.findings if f.code == "fee_schedule.underpaid"]
    assert found.claim_number == "FS1" and found.line_number == 1
    assert "allowed 85.00 is 7.50 below the expected 92.50" in found.message
