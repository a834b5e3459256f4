"""Coordination of benefits: the secondary payer is billed before the patient."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from inproc_plugins import make_line_plugin

from medbill_core.config import MedbillConfig
from medbill_core.domain import (
    Adjustment,
    AdjustmentGroup,
    ClaimPayment,
    ClaimState,
    ClaimStatusCode,
    CoverageOrder,
    Remittance,
)
from medbill_core.ledger import EntryKind
from medbill_core.services.remittance import post_remittance
from medbill_core.services.statements import run_statements
from medbill_core.testing import factories

D = Decimal
S = ClaimState


@pytest.fixture
def medbill_config(medbill_db_url: str) -> MedbillConfig:
    return MedbillConfig(database_url=medbill_db_url, actor="tester",
                         practice=factories.make_practice(), payers={
                             "linepay": factories.make_payer("linepay", adapter="line_format",
                                                             channel="loopback"),
                             "gap": factories.make_payer("gap", payer_id="GAP01",
                                                         adapter="line_format",
                                                         channel="loopback")})


@pytest.fixture
def medbill_extra_plugins():
    return [("lineplug", make_line_plugin())]


def remit(trace: str, number: str, paid: str, co: str, pr: str,
          status: ClaimStatusCode = ClaimStatusCode.PRIMARY, oa23: str = "0") -> Remittance:
    adjustments = [Adjustment(group=AdjustmentGroup.CONTRACTUAL, reason_code="45",
                              amount=D(co))]
    if D(oa23):  # what the prior payer settled, as a secondary payer reports it
        adjustments.append(Adjustment(group=AdjustmentGroup.OTHER, reason_code="23",
                                      amount=D(oa23)))
    if D(pr):
        adjustments.append(Adjustment(group=AdjustmentGroup.PATIENT_RESPONSIBILITY,
                                      reason_code="1", amount=D(pr)))
    payment = ClaimPayment(claim_number=number, status=status, charge=D("143.50"),
                           paid=D(paid), patient_responsibility=D(pr), adjustments=adjustments)
    return Remittance(trace_number=trace, payment_amount=D(paid), payer_name="P",
                      payer_id=trace, payee_name="Clinic", payment_date=date(2026, 3, 1),
                      claims=[payment])


@pytest.fixture
def insured_twice(medbill_app):
    with medbill_app.unit_of_work() as work:
        patient = work.patients.register(factories.make_patient(1))
        primary = work.patients.add_coverage(patient.id, factories.make_coverage(
            payer_key="linepay"))
        work.patients.add_coverage(patient.id, factories.make_coverage(
            payer_key="gap", order=CoverageOrder.SECONDARY, member_id="GAP998877"))
        claim = work.claims.create(factories.make_claim(
            patient.id, coverage_id=primary.id, payer_key="linepay", number="COB1", lines=2))
        for target in (S.VALIDATED, S.SUBMITTED, S.ACCEPTED):
            work.claims.transition(claim.id, target)
    return patient.id, claim.id


def test_patient_share_goes_to_the_secondary_first(medbill_app, insured_twice, tmp_path):
    _, claim_id = insured_twice
    with medbill_app.unit_of_work() as work:
        result = post_remittance(work, remit("PRI1", "COB1", "100.00", "23.50", "20.00"))
    assert result.forwarded == ["COB1"]
    with medbill_app.unit_of_work() as work:
        secondary = work.claims.by_number("COB1-S2")
        assert secondary.account_claim_id == claim_id and secondary.payer_key == "gap"
        assert secondary.state is S.DRAFT and secondary.total_charge == D("143.50")
        billable = work.claims.billable(secondary.id)
        prior = billable.prior_adjudications
        assert [(p.payer.key, p.paid_amount) for p in prior] == [("linepay", D("100.00"))]
        assert [(a.group_code, a.reason_code, a.amount) for a in prior[0].claim_adjustments] == [
            ("CO", "45", D("23.50")), ("PR", "1", D("20.00"))]
        assert work.ledger.payer_balance(claim_id, "linepay") == D("0.00")
        assert work.ledger.payer_balance(claim_id, "gap") == D("20.00")
        assert work.ledger.claim_balance(claim_id).patient == D("0.00")
        assert work.claims.get(claim_id).state is S.PAID
        assert work.ledger.totals(claim_id=claim_id).is_balanced()
        assert work.ledger.totals(payer_key="gap").is_balanced()
        for target in (S.VALIDATED, S.SUBMITTED, S.ACCEPTED):
            work.claims.transition(secondary.id, target)
    # nothing to bill the patient while the secondary has not paid
    assert run_statements(medbill_app, cycle="X", out_dir=tmp_path, renderer="text").produced \
        == []
    with medbill_app.unit_of_work() as work:
        post_remittance(work, remit("SEC1", "COB1-S2", "15.00", "0.00", "5.00",
                                    ClaimStatusCode.SECONDARY, oa23="123.50"))
    with medbill_app.unit_of_work() as work:
        balance = work.ledger.claim_balance(claim_id)
        totals = work.ledger.totals(claim_id=claim_id)
        states = (work.claims.get(claim_id).state, work.claims.by_number("COB1-S2").state)
    assert (balance.insurance, balance.patient) == (D("0.00"), D("5.00"))
    assert totals.charges == D("143.50") and totals[EntryKind.PAYER_PAYMENT] == D("115.00")
    assert totals.is_balanced()
    assert states == (S.PAID, S.PATIENT_BALANCE)


def test_crossover_marks_the_secondary_claim_submitted(medbill_app, insured_twice):
    with medbill_app.unit_of_work() as work:
        post_remittance(work, remit("PRI2", "COB1", "100.00", "23.50", "20.00",
                                    ClaimStatusCode.PRIMARY_FORWARDED))
        secondary = work.claims.by_number("COB1-S2")
        assert secondary.state is S.SUBMITTED
        assert "crossed over by linepay" in work.claims.history(secondary.id)[-1].reason
