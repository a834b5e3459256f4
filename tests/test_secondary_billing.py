"""Coordination of benefits: the secondary payer is billed before the patient."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from inproc_plugins import make_line_plugin
from sqlalchemy import text

from medbill_core.config import MedbillConfig
from medbill_core.domain import (
    Adjustment,
    AdjustmentGroup,
    ClaimPayment,
    ClaimState,
    ClaimStatusCode,
    CoverageOrder,
    Remittance,
    ServicePayment,
)
from medbill_core.ledger import EntryKind
from medbill_core.services.remittance import match_service_lines, post_remittance
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


def test_a_reversed_and_readjudicated_primary_is_one_prior_payer_with_its_new_answer(
        medbill_app, insured_twice):
    with medbill_app.unit_of_work() as work:
        first = remit("PRI5", "COB1", "100.00", "23.50", "20.00")
        post_remittance(work, first)
        original = first.claims[0]
        # The payer takes its answer back (X221A1: every amount negated) and pays anew.
        reversal = original.model_copy(update={
            "status": ClaimStatusCode.REVERSAL, "charge": -original.charge,
            "paid": -original.paid, "patient_responsibility": -original.patient_responsibility,
            "adjustments": [a.model_copy(update={"amount": -a.amount})
                            for a in original.adjustments]})
        again = remit("PRI6", "COB1", "110.00", "23.50", "10.00")
        post_remittance(work, again.model_copy(update={
            "claims": [reversal, again.claims[0]], "payment_amount": D("10.00")}))
        secondary = work.claims.by_number("COB1-S2")
        prior = work.claims.billable(secondary.id).prior_adjudications
        account = work.claims.get(secondary.account_claim_id)
        balances = (work.ledger.payer_balance(account.id, "linepay"),
                    work.ledger.payer_balance(account.id, "gap"),
                    work.ledger.claim_balance(account.id).patient)
    # what is left after the new answer: the 10.00 patient share, now the secondary's to pay
    assert balances == (D("0.00"), D("10.00"), D("0.00"))
    assert [(p.payer.key, p.paid_amount) for p in prior] == [("linepay", D("110.00"))]
    assert [(a.group_code, a.reason_code, a.amount) for a in prior[0].claim_adjustments] == [
        ("CO", "45", D("23.50")), ("PR", "1", D("10.00"))]


def test_a_crossed_over_payer_remitting_under_the_primary_claim_number_pays_its_own_claim(
        medbill_app, insured_twice):
    _, claim_id = insured_twice
    with medbill_app.unit_of_work() as work:
        post_remittance(work, remit("PRI3", "COB1", "100.00", "23.50", "20.00",
                                    ClaimStatusCode.PRIMARY_FORWARDED))
        # The Medigap plan got the claim from the primary, so its 835 names our original claim
        # number (CLP01); its payer ID says who pays.
        gap = remit("SEC3", "COB1", "15.00", "0.00", "5.00", ClaimStatusCode.SECONDARY,
                    oa23="123.50").model_copy(update={"payer_id": "GAP01"})
        result = post_remittance(work, gap)
    assert result.posted == ["COB1"] and result.unmatched == []
    with medbill_app.unit_of_work() as work:
        assert work.ledger.payer_balance(claim_id, "gap") == D("0.00")
        assert work.ledger.payer_balance(claim_id, "linepay") == D("0.00")
        assert work.ledger.claim_balance(claim_id).patient == D("5.00")
        assert work.ledger.totals(payer_key="gap")[EntryKind.PAYER_PAYMENT] == D("15.00")
        assert work.claims.by_number("COB1-S2").state is S.PATIENT_BALANCE
        assert work.claims.get(claim_id).state is S.PAID


def test_a_payer_payment_naming_a_self_pay_claim_is_an_exception_not_a_crash(medbill_app):
    with medbill_app.unit_of_work() as work:
        patient = work.patients.register(factories.make_patient(2))
        work.claims.create(factories.make_claim(patient.id, coverage_id=None, payer_key=None,
                                                number="SELF1", lines=1))
    with medbill_app.unit_of_work() as work:
        result = post_remittance(work, remit("PRI4", "SELF1", "50.00", "10.00", "0"))
    assert (result.posted, result.unmatched) == ([], ["SELF1"])
    with medbill_app.unit_of_work() as work:
        reasons = list(work.session.execute(text(
            "select claim_number, reason from remittance_exceptions")))
    assert [tuple(r) for r in reasons] == [("SELF1", "self-pay claim: no payer was billed")]


# -- line-level adjudication (837P loop 2430) -----------------------------------------------------

def _cas(group: AdjustmentGroup, reason: str, amount: str) -> Adjustment:
    return Adjustment(group=group, reason_code=reason, amount=D(amount))


CO, PR = AdjustmentGroup.CONTRACTUAL, AdjustmentGroup.PATIENT_RESPONSIBILITY


def line_remit(trace: str, number: str, *, first_code: str = "99213") -> Remittance:
    """The primary adjudicated line by line: line 1 (99213, 125.00) paid 90.00 (CO-45 15.00,
    PR-2 20.00, no SVC05), line 2 (36415, 18.50) paid 10.00 for 1 unit (CO-45 5.50, PR-1 3.00),
    and a claim-level CO-253 of 2.00: CLP04 = 100.00 - 2.00 = 98.00."""
    services = [
        ServicePayment(procedure_code=first_code, charge=D("125.00"), paid=D("90.00"),
                       adjustments=[_cas(CO, "45", "15.00"), _cas(PR, "2", "20.00")]),
        ServicePayment(procedure_code="36415", charge=D("18.50"), paid=D("10.00"), units=D(1),
                       adjustments=[_cas(CO, "45", "5.50"), _cas(PR, "1", "3.00")]),
    ]
    payment = ClaimPayment(claim_number=number, status=ClaimStatusCode.PRIMARY,
                           charge=D("143.50"), paid=D("98.00"), patient_responsibility=D("23.00"),
                           adjustments=[_cas(CO, "253", "2.00")], services=services)
    assert payment.is_balanced()
    return Remittance(trace_number=trace, payment_amount=D("98.00"), payer_name="P",
                      payer_id=trace, payee_name="Clinic", payment_date=date(2026, 3, 1),
                      claims=[payment])


def test_a_line_level_835_gives_the_secondary_its_2430_loops(medbill_app, insured_twice):
    _, claim_id = insured_twice
    with medbill_app.unit_of_work() as work:
        post_remittance(work, line_remit("PRI3", "COB1"))
    with medbill_app.unit_of_work() as work:
        secondary = work.claims.by_number("COB1-S2")
        billable = work.claims.billable(secondary.id)
        assert work.ledger.payer_balance(claim_id, "gap") == D("23.00")  # the PR, as before
    [prior] = billable.prior_adjudications
    assert (prior.paid_amount, prior.paid_date) == (D("98.00"), date(2026, 3, 1))
    # only the CLP-level adjustment stays at claim level (2320 CAS) ...
    assert [(a.group_code, a.reason_code, a.amount) for a in prior.claim_adjustments] == [
        ("CO", "253", D("2.00"))]
    # ... each line's go with the line (2430): matched by position and procedure code
    assert [(a.line_number, a.procedure_code, a.paid_amount, a.paid_units,
             [(c.group_code, c.reason_code, c.amount) for c in a.adjustments],
             a.remaining_patient_liability, a.adjudication_date)
            for a in prior.line_adjudications] == [
        (1, "99213", D("90.00"), D(1), [("CO", "45", D("15.00")), ("PR", "2", D("20.00"))],
         D("20.00"), None),
        (2, "36415", D("10.00"), D(1), [("CO", "45", D("5.50")), ("PR", "1", D("3.00"))],
         D("3.00"), None)]
    # (the 837P to the secondary carrying them as 2430 loops: the integration suite's
    # plugins/demo/tests/test_secondary_2430.py)


def test_an_835_line_that_matches_no_claim_line_keeps_everything_at_claim_level(
        medbill_app, insured_twice):
    with medbill_app.unit_of_work() as work:
        post_remittance(work, line_remit("PRI4", "COB1", first_code="99999"))
    with medbill_app.unit_of_work() as work:
        [prior] = work.claims.billable(work.claims.by_number("COB1-S2").id).prior_adjudications
    assert prior.line_adjudications == []
    assert [a.reason_code for a in prior.claim_adjustments] == ["253", "45", "2", "45", "1"]


def test_rows_posted_before_line_adjudications_stay_claim_level(medbill_app, insured_twice):
    with medbill_app.unit_of_work() as work:
        post_remittance(work, line_remit("PRI5", "COB1"))
        # as the row of an older medbill reads after migration 0005: no lines
        work.session.execute(text("update claim_adjudications set lines = null"))
    with medbill_app.unit_of_work() as work:
        [prior] = work.claims.billable(work.claims.by_number("COB1-S2").id).prior_adjudications
    assert prior.line_adjudications == []
    assert [(a.group_code, a.reason_code, a.amount) for a in prior.claim_adjustments] == [
        ("CO", "253", D("2.00")), ("CO", "45", D("15.00")), ("PR", "2", D("20.00")),
        ("CO", "45", D("5.50")), ("PR", "1", D("3.00"))]


def test_service_lines_are_matched_by_control_number_then_position_then_code():
    lines = [factories.make_line(1, procedure_code="99213", line_control_number="A-1"),
             factories.make_line(2, procedure_code="36415"),
             factories.make_line(3, procedure_code="36415", line_control_number="A-3")]

    def svc(code: str, control: str | None = None, original: str | None = None):
        return ServicePayment(procedure_code=code, charge=D("1.00"), paid=D("1.00"),
                              line_control_number=control, original_procedure_code=original)

    def numbers(services):
        matched = match_service_lines(lines, services)
        return None if matched is None else [line.line_number for line in matched]

    # REF*6R first, in any order; a split line answers twice
    assert numbers([svc("36415", "A-3"), svc("99213", "A-1"), svc("36415", "A-3")]) == [3, 1, 3]
    # no REF*6R: by position when the codes agree (SVC06 original code counts)
    assert numbers([svc("99214", original="99213"), svc("36415"), svc("36415")]) == [1, 2, 3]
    # else by procedure code, first free line with it
    assert numbers([svc("36415"), svc("99213")]) == [2, 1]
    assert numbers([svc("36415", "A-3"), svc("36415"), svc("99213")]) == [3, 2, 1]
    assert numbers([svc("99999")]) is None
