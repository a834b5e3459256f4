"""The adjudication engine as a pure function: exact amounts, group codes, CARCs and RARCs."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from chm_support import SERVICE_DAY, TODAY, claim, fees, line
from hypothesis import given, settings
from hypothesis import strategies as st
from medbill_clearinghouse_mock.simulator.adjudication import (
    Accumulators,
    adjudicate,
    fingerprint,
    reverse,
)
from medbill_clearinghouse_mock.simulator.config import Benefits, DenialRules, PayerPolicy

from medbill_core.api import AdjustmentGroup, ClaimPayment, ClaimStatusCode, CoverageOrder

D = Decimal
PAYER = PayerPolicy(
    payer_id="ACME1", name="ACME", fee_schedule=fees(
        ("99213", None, "90.00"), ("99214", None, "128.00"), ("36415", None, "3.00"),
        ("97110", None, "29.00"), ("97110", "GP", "31.00"), ("73721", None, "210.00"),
        ("93000", None, "17.00"), ("85025", None, "10.05"), ("99215", None, "500.00")),
    denials=DenialRules(non_covered_codes=["93000"], prior_auth_codes=["73721"],
                        timely_filing_days=90))
PPO = Benefits(deductible=D("500"), coinsurance=D("0.20"), copays={"11": D("25")},
               out_of_pocket_max=D("3000"))
NO_COPAY = Benefits(deductible=D("500"), deductible_met=D("450"), coinsurance=D("0.20"),
                    out_of_pocket_max=D("3000"))


def run(bill, benefits=PPO, accumulators=None, **kwargs):  # type: ignore[no-untyped-def]
    return adjudicate(bill, payer=kwargs.pop("payer", PAYER), benefits=benefits,
                      accumulators=accumulators or Accumulators.from_benefits(benefits)
                      if benefits else Accumulators(),
                      received=kwargs.pop("received", TODAY), payer_claim_number="ICN1",
                      **kwargs)


def cas(payment: ClaimPayment, line_index: int = 0) -> list[tuple[str, str, Decimal]]:
    return [(a.group.value, a.reason_code, a.amount)
            for a in payment.services[line_index].adjustments]


def test_office_visit_with_copay_and_contractual_write_off() -> None:
    result = run(claim("C1", member_id="M1"))
    payment = result.payment
    assert payment.status is ClaimStatusCode.PRIMARY
    assert (payment.charge, payment.paid, payment.patient_responsibility) == (
        D("125.00"), D("65.00"), D("25.00"))
    assert cas(payment) == [("CO", "45", D("35.00")), ("PR", "3", D("25.00"))]
    assert payment.services[0].allowed_amount == D("90.00")
    assert payment.is_balanced()
    assert result.accumulators == Accumulators(D("0"), D("25.00"))


def test_deductible_then_coinsurance_without_copay() -> None:
    bill = claim("C2", member_id="M1", lines=[line(1, "99214", "200.00")], pos="22")
    result = run(bill, NO_COPAY)
    # allowed 128.00: deductible 50.00 (500 - 450 met), coinsurance 20 % of 78.00 = 15.60.
    assert cas(result.payment) == [("CO", "45", D("72.00")), ("PR", "1", D("50.00")),
                                   ("PR", "2", D("15.60"))]
    assert result.payment.paid == D("62.40")
    assert result.payment.patient_responsibility == D("65.60")
    assert result.accumulators == Accumulators(D("500.00"), D("65.60"))


def test_copay_line_then_deductible_line_on_one_claim() -> None:
    bill = claim("C3", member_id="M1", lines=[line(1, "99213", "125.00"),
                                              line(2, "36415", "18.50")])
    payment = run(bill).payment
    assert cas(payment, 0) == [("CO", "45", D("35.00")), ("PR", "3", D("25.00"))]
    assert cas(payment, 1) == [("CO", "45", D("15.50")), ("PR", "1", D("3.00"))]
    assert (payment.paid, payment.patient_responsibility) == (D("65.00"), D("28.00"))
    assert payment.is_balanced()


def test_coinsurance_rounds_half_up_to_the_cent() -> None:
    benefits = Benefits(coinsurance=D("0.15"))
    bill = claim("C4", member_id="M1", lines=[line(1, "85025", "20.00")], pos="22")
    payment = run(bill, benefits).payment
    # 10.05 x 15 % = 1.5075 -> 1.51
    assert cas(payment) == [("CO", "45", D("9.95")), ("PR", "2", D("1.51"))]
    assert payment.paid == D("8.54")


def test_out_of_pocket_maximum_caps_patient_responsibility() -> None:
    benefits = Benefits(deductible=D("500"), deductible_met=D("500"), coinsurance=D("0.20"),
                        out_of_pocket_max=D("1000"), out_of_pocket_met=D("990"))
    bill = claim("C5", member_id="M1", lines=[line(1, "99215", "600.00")], pos="22")
    result = run(bill, benefits)
    # coinsurance would be 100.00; only 10.00 of the out-of-pocket maximum is left.
    assert cas(result.payment) == [("CO", "45", D("100.00")), ("PR", "2", D("10.00"))]
    assert result.payment.paid == D("490.00")
    assert result.accumulators.out_of_pocket_met == D("1000.00")
    again = run(claim("C5B", member_id="M1", lines=[line(1, "99215", "600.00")], pos="22"),
                benefits, accumulators=result.accumulators)
    assert again.payment.paid == D("500.00")
    assert again.payment.patient_responsibility == D("0.00")


def test_fee_by_modifier_and_units() -> None:
    bill = claim("C6", member_id="M1", pos="22", lines=[
        line(1, "97110", "160.00", units="4", modifiers=["GP"]),
        line(2, "97110", "80.00", units="2")])
    payment = run(bill, Benefits()).payment
    assert payment.services[0].allowed_amount == D("124.00")  # 31.00 x 4 with GP
    assert payment.services[1].allowed_amount == D("58.00")   # 29.00 x 2
    assert payment.paid == D("182.00")


def test_allowed_never_exceeds_the_charge() -> None:
    bill = claim("C7", member_id="M1", lines=[line(1, "99213", "80.00")], pos="22")
    payment = run(bill, Benefits()).payment
    assert payment.services[0].allowed_amount == D("80.00")
    assert cas(payment) == []
    assert payment.paid == D("80.00")


@pytest.mark.parametrize(("code", "group", "carc", "rarc"), [
    ("93000", "CO", "96", "N130"),    # non-covered service
    ("73721", "CO", "197", "M62"),    # prior authorization absent
    ("99499", "CO", "181", "M51"),    # not on the fee schedule: invalid code
])
def test_line_denials(code: str, group: str, carc: str, rarc: str) -> None:
    bill = claim("C8", member_id="M1", lines=[line(1, code, "300.00")])
    result = run(bill)
    payment = result.payment
    assert payment.status is ClaimStatusCode.DENIED
    assert (payment.paid, payment.patient_responsibility) == (D("0.00"), D("0.00"))
    assert cas(payment) == [(group, carc, D("300.00"))]
    assert payment.services[0].remark_codes == [rarc]
    assert result.accumulators == Accumulators.from_benefits(PPO)


def test_prior_authorization_present_is_paid() -> None:
    bill = claim("C9", member_id="M1", lines=[line(1, "73721", "400.00")], prior_auth="AUTH1",
                 pos="22")
    payment = run(bill, Benefits()).payment
    assert payment.paid == D("210.00")
    assert cas(payment) == [("CO", "45", D("190.00"))]


def test_one_denied_line_and_one_paid_line() -> None:
    bill = claim("C10", member_id="M1", lines=[line(1, "99213", "125.00"),
                                               line(2, "93000", "40.00")])
    payment = run(bill).payment
    assert payment.status is ClaimStatusCode.PRIMARY
    assert cas(payment, 1) == [("CO", "96", D("40.00"))]
    assert (payment.charge, payment.paid) == (D("165.00"), D("65.00"))
    assert payment.is_balanced()


def test_timely_filing() -> None:
    late = SERVICE_DAY - timedelta(days=100)
    bill = claim("C11", member_id="M1", lines=[line(1, day=late), line(2, "36415", "18.50",
                                                                        day=late)])
    payment = run(bill).payment
    assert payment.status is ClaimStatusCode.DENIED
    assert [cas(payment, i) for i in range(2)] == [[("CO", "29", D("125.00"))],
                                                   [("CO", "29", D("18.50"))]]
    assert run(bill, received=late + timedelta(days=90)).payment.paid == D("65.00")


def test_duplicate_claim() -> None:
    bill = claim("C12", member_id="M1")
    first = run(bill)
    again = run(claim("C12-RESENT", member_id="M1"),
                prior_fingerprints={first.fingerprint})
    assert again.fingerprint == first.fingerprint  # the claim number does not count
    assert cas(again.payment) == [("CO", "18", D("125.00"))]
    assert again.payment.status is ClaimStatusCode.DENIED
    assert again.denial is not None and again.denial.carc == "18"


def test_coverage_not_active_and_unknown_member() -> None:
    inactive = run(claim("C13", member_id="M1"), coverage_active=False).payment
    assert cas(inactive) == [("CO", "27", D("125.00"))]
    assert inactive.services[0].remark_codes == ["N30"]
    unknown = run(claim("C14", member_id="M1"), benefits=None).payment
    assert cas(unknown) == [("CO", "31", D("125.00"))]


def test_secondary_coverage_is_processed_as_secondary() -> None:
    payment = run(claim("C15", member_id="M1", order=CoverageOrder.SECONDARY)).payment
    assert payment.status is ClaimStatusCode.SECONDARY


def test_claim_details_carried_to_the_835() -> None:
    payment = run(claim("C16", member_id="MEMBER16")).payment
    assert payment.payer_claim_number == "ICN1"
    assert payment.member_id == "MEMBER16"
    assert payment.filing_indicator == "12"
    assert payment.frequency == "1"
    assert payment.service_date_from == SERVICE_DAY
    assert payment.received_date == TODAY


def test_reversal_negates_everything_and_returns_the_patient_share() -> None:
    bill = claim("C17", member_id="M1", lines=[line(1, "99214", "200.00")], pos="22")
    result = run(bill, NO_COPAY)
    reversal, accumulators = reverse(result.payment, result.accumulators)
    assert reversal.status is ClaimStatusCode.REVERSAL
    assert (reversal.charge, reversal.paid, reversal.patient_responsibility) == (
        D("-200.00"), D("-62.40"), D("-65.60"))
    assert cas(reversal) == [("CO", "45", D("-72.00")), ("PR", "1", D("-50.00")),
                             ("PR", "2", D("-15.60"))]
    assert reversal.is_balanced()
    assert accumulators == Accumulators(D("450.00"), D("0.00"))


def test_fingerprint_ignores_claim_number_only() -> None:
    assert fingerprint(claim("A", member_id="M1")) == fingerprint(claim("B", member_id="M1"))
    assert fingerprint(claim("A", member_id="M1")) != fingerprint(claim("A", member_id="M2"))
    assert fingerprint(claim("A", member_id="M1")) != fingerprint(
        claim("A", member_id="M1", lines=[line(1, charge="125.01")]))


_CODES = ["99213", "99214", "36415", "97110", "73721", "93000", "85025", "99215", "99499"]


@settings(max_examples=150, deadline=None)
@given(
    lines=st.lists(st.tuples(st.sampled_from(_CODES),
                             st.integers(min_value=1, max_value=100000),
                             st.integers(min_value=1, max_value=4)), min_size=1, max_size=8),
    deductible=st.integers(min_value=0, max_value=2000),
    met=st.integers(min_value=0, max_value=100),
    coinsurance=st.sampled_from(["0", "0.1", "0.15", "0.2", "0.333", "1"]),
    copay=st.sampled_from([None, "0", "20", "45.5"]),
    oop=st.sampled_from([None, "0", "100", "5000"]),
    prior_auth=st.booleans(),
)
def test_every_payment_balances(lines, deductible, met, coinsurance, copay, oop,  # type: ignore[no-untyped-def]
                                prior_auth) -> None:
    benefits = Benefits(deductible=D(deductible), deductible_met=D(deductible) * met / 100,
                        coinsurance=D(coinsurance), copays={"11": D(copay)} if copay else {},
                        out_of_pocket_max=D(oop) if oop else None)
    bill = claim("H1", member_id="M1", prior_auth="A1" if prior_auth else None,
                 lines=[line(i, code, str(D(cents) / 100), units=str(units))
                        for i, (code, cents, units) in enumerate(lines, start=1)])
    before = Accumulators.from_benefits(benefits)
    result = run(bill, benefits, accumulators=before)
    payment = result.payment
    assert payment.is_balanced()
    for service in payment.services:
        assert service.is_balanced()
        assert service.paid >= 0
        assert all(a.amount > 0 for a in service.adjustments)
        assert {a.group for a in service.adjustments} <= {AdjustmentGroup.CONTRACTUAL,
                                                          AdjustmentGroup.PATIENT_RESPONSIBILITY}
    assert payment.patient_responsibility == payment.patient_share()
    patient = payment.patient_share()
    assert result.accumulators.out_of_pocket_met - before.out_of_pocket_met == patient
    assert result.accumulators.deductible_met <= benefits.deductible
    if benefits.out_of_pocket_max is not None:
        assert result.accumulators.out_of_pocket_met <= max(benefits.out_of_pocket_max,
                                                            before.out_of_pocket_met)
    reversal, restored = reverse(payment, result.accumulators)
    assert reversal.is_balanced()
    assert restored == before
