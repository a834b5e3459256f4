"""Coordination of benefits: claims carrying prior payers' adjudications (secondary/tertiary).

Exact Decimal amounts; every line and claim balances; for a secondary claim
charge = paid + OA-23 + PR (+ a denial), and over both payers
primary paid + secondary paid + primary contractual + final PR = charge.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from chm_support import claim, fees, line, prior_from, x837
from hypothesis import given, settings
from hypothesis import strategies as st
from medbill_clearinghouse_mock.simulator.adjudication import (
    Accumulators,
    adjudicate,
    reverse,
    spread,
)
from medbill_clearinghouse_mock.simulator.config import Benefits, DenialRules, PayerPolicy
from medbill_payer_generic_x12.api import decode_837p

from medbill_core.api import (
    ZERO,
    AdjustmentGroup,
    BillableClaim,
    ClaimPayment,
    ClaimStatusCode,
    CoverageOrder,
    total,
)

D = Decimal
FEES = fees(("99213", None, "90.00"), ("99214", None, "128.00"), ("36415", None, "3.00"),
            ("93000", None, "17.00"), ("85025", None, "10.05"), ("99215", None, "500.00"))
PRIMARY = PayerPolicy(payer_id="MCARE1", name="MEDICARE-ISH", fee_schedule=FEES)
SECONDARY = PayerPolicy(payer_id="GAP1", name="MEDIGAP-ISH", fee_schedule=FEES,
                        denials=DenialRules(non_covered_codes=["93000"]))
PART_B = Benefits(deductible=D("240"), deductible_met=D("200"), coinsurance=D("0.20"))


def run(bill: BillableClaim, payer: PayerPolicy, benefits: Benefits | None,
        accumulators: Accumulators | None = None, **kwargs):  # type: ignore[no-untyped-def]
    if accumulators is None:
        accumulators = Accumulators.from_benefits(benefits) if benefits else Accumulators()
    return adjudicate(bill, payer=payer, benefits=benefits, accumulators=accumulators,
                      received=kwargs.pop("received", bill.claim.service_date_to),
                      payer_claim_number="ICN2", **kwargs)


def cas(payment: ClaimPayment, index: int) -> list[tuple[str, str, Decimal]]:
    return [(a.group.value, a.reason_code, a.amount) for a in payment.services[index].adjustments]


def amount(payment: ClaimPayment, group: str, reason: str | None = None) -> Decimal:
    return total(a.amount for a in payment.all_adjustments
                 if a.group.value == group and reason in (None, a.reason_code))


def primary_then_secondary(lines, primary_benefits, secondary_benefits,  # type: ignore[no-untyped-def]
                           pos="22", line_level=False, **kwargs):
    """The primary's payment and the secondary's result; with ``line_level`` the secondary
    claim carries the primary's line adjudications (837P 2430 loops), else claim level only."""
    first = claim("P1", member_id="MBI1", payer_id="MCARE1", lines=lines, pos=pos)
    primary = run(first, PRIMARY, primary_benefits).payment
    bill = claim("P1-S2", member_id="GAP1", payer_id="GAP1", lines=lines, pos=pos,
                 order=CoverageOrder.SECONDARY,
                 priors=[prior_from(primary, payer_id="MCARE1", member_id="MBI1",
                                    lines_of=first.claim if line_level else None)])
    return primary, run(bill, SECONDARY, secondary_benefits, **kwargs)


def test_secondary_pays_the_primary_patient_share_less_its_own_cost_share() -> None:
    lines = [line(1, "99214", "200.00"), line(2, "36415", "18.50")]
    primary, result = primary_then_secondary(
        lines, PART_B, Benefits(deductible=D("100"), deductible_met=D("80"),
                                coinsurance=D("0.10")))
    # Primary: line 1 allowed 128.00 (CO-45 72.00), deductible 40.00, 20 % of 88.00 = 17.60;
    # line 2 allowed 3.00 (CO-45 15.50), 20 % = 0.60.
    assert (primary.paid, amount(primary, "CO"), primary.patient_share()) == (
        D("72.80"), D("87.50"), D("58.20"))
    secondary = result.payment
    assert secondary.status is ClaimStatusCode.SECONDARY
    # Open: 58.20 spread by charge: 58.20 x 200 / 218.50 = 53.27, the rest 4.93.
    # Line 1: deductible 20.00 (100 - 80 met), 10 % of 33.27 = 3.33; line 2: 10 % of 4.93.
    assert cas(secondary, 0) == [("OA", "23", D("146.73")), ("PR", "1", D("20.00")),
                                 ("PR", "2", D("3.33"))]
    assert cas(secondary, 1) == [("OA", "23", D("13.57")), ("PR", "2", D("0.49"))]
    assert [s.paid for s in secondary.services] == [D("29.94"), D("4.44")]
    assert [s.allowed_amount for s in secondary.services] == [D("53.27"), D("4.93")]
    assert (secondary.charge, secondary.paid, secondary.patient_responsibility) == (
        D("218.50"), D("34.38"), D("23.82"))
    assert amount(secondary, "OA", "23") == primary.paid + amount(primary, "CO") == D("160.30")
    assert secondary.paid + amount(secondary, "OA", "23") + secondary.patient_share() == (
        secondary.charge)
    assert (primary.paid + secondary.paid + amount(primary, "CO")
            + secondary.patient_share()) == D("218.50")
    assert secondary.is_balanced() and all(s.is_balanced() for s in secondary.services)
    assert result.accumulators == Accumulators(D("100.00"), D("23.82"))


def test_line_adjudications_leave_open_what_the_primary_left_on_each_line() -> None:
    lines = [line(1, "99214", "200.00"), line(2, "36415", "18.50")]
    primary, result = primary_then_secondary(
        lines, PART_B, Benefits(deductible=D("100"), deductible_met=D("80"),
                                coinsurance=D("0.10")), line_level=True)
    # Primary (as above): line 1 PR 40.00 + 17.60 = 57.60, line 2 PR 0.60; open 58.20 in all,
    # now taken line by line from the 2430 loops instead of spread by charge (53.27 / 4.93).
    secondary = result.payment
    assert [s.allowed_amount for s in secondary.services] == [D("57.60"), D("0.60")]
    # Line 1: deductible 20.00, 10 % of 37.60 = 3.76; line 2: 10 % of 0.60 = 0.06.
    assert cas(secondary, 0) == [("OA", "23", D("142.40")), ("PR", "1", D("20.00")),
                                 ("PR", "2", D("3.76"))]
    assert cas(secondary, 1) == [("OA", "23", D("17.90")), ("PR", "2", D("0.06"))]
    assert [s.paid for s in secondary.services] == [D("33.84"), D("0.54")]
    assert (secondary.paid, secondary.patient_share()) == (D("34.38"), D("23.82"))
    assert amount(secondary, "OA", "23") == primary.paid + amount(primary, "CO") == D("160.30")
    assert secondary.is_balanced() and all(s.is_balanced() for s in secondary.services)


def test_line_adjudications_survive_the_837p() -> None:
    lines = [line(1, "99214", "200.00"), line(2, "36415", "18.50"), line(3, "85025", "30.00")]
    first = claim("P1", member_id="MBI1", payer_id="MCARE1", lines=lines, pos="22")
    primary = run(first, PRIMARY, PART_B).payment
    bill = claim("P1-S2", member_id="GAP1", payer_id="GAP1", lines=lines, pos="22",
                 order=CoverageOrder.SECONDARY,
                 priors=[prior_from(primary, payer_id="MCARE1", member_id="MBI1",
                                    lines_of=first.claim)])
    prior = bill.prior_adjudications[0]
    assert [(a.line_number, a.paid_amount, a.remaining_patient_liability)
            for a in prior.line_adjudications] == [
        (1, D("70.40"), D("57.60")), (2, D("2.40"), D("0.60")), (3, D("8.04"), D("2.01"))]
    assert prior.claim_adjustments == []  # every adjustment was on a line
    text = x837([bill])
    assert text.count("SVD*") == 3 and "AMT*EAF*57.6" in text
    [decoded] = decode_837p(text)
    [back] = decoded.prior_adjudications
    assert (back.paid_amount, back.paid_date, back.claim_adjustments, back.line_adjudications) \
        == (prior.paid_amount, prior.paid_date, prior.claim_adjustments, prior.line_adjudications)
    assert run(decoded, SECONDARY, PART_B).payment == run(bill, SECONDARY, PART_B).payment


def test_secondary_copay_once_per_claim() -> None:
    lines = [line(1, "99213", "125.00"), line(2, "36415", "18.50")]
    met = PART_B.model_copy(update={"deductible_met": D("240")})
    primary, result = primary_then_secondary(
        lines, met, Benefits(deductible=D("100"), copays={"11": D("10")}), pos="11")
    assert (primary.paid, amount(primary, "CO"), primary.patient_share()) == (
        D("74.40"), D("50.50"), D("18.60"))
    secondary = result.payment
    # Open 18.60: 16.20 on line 1 (copay 10.00, no deductible on that line), 2.40 on line 2
    # (deductible).
    assert cas(secondary, 0) == [("OA", "23", D("108.80")), ("PR", "3", D("10.00"))]
    assert cas(secondary, 1) == [("OA", "23", D("16.10")), ("PR", "1", D("2.40"))]
    assert (secondary.paid, secondary.patient_share()) == (D("6.20"), D("12.40"))
    assert secondary.status is ClaimStatusCode.SECONDARY
    assert secondary.is_balanced()


def test_nothing_left_open_is_processed_as_secondary_with_nothing_to_pay() -> None:
    rich = Benefits()  # no cost share: the primary pays every allowed dollar
    primary, result = primary_then_secondary([line(1, "99214", "200.00")], rich, PART_B)
    assert primary.patient_share() == ZERO
    secondary = result.payment
    assert secondary.status is ClaimStatusCode.SECONDARY  # not CLP02 = 4
    assert (secondary.paid, secondary.patient_responsibility) == (ZERO, ZERO)
    assert cas(secondary, 0) == [("OA", "23", D("200.00"))]
    assert result.accumulators == Accumulators.from_benefits(PART_B)


def test_secondary_denials_cover_the_open_share_only() -> None:
    lines = [line(1, "99214", "200.00"), line(2, "93000", "40.00")]
    primary, result = primary_then_secondary(lines, PART_B, Benefits())
    # 93000 is not covered by the secondary: its open share is CO-96, the rest OA-23.
    open_share = primary.patient_share() - result.payment.services[0].allowed_amount
    assert cas(result.payment, 1) == [("OA", "23", D("40.00") - open_share),
                                      ("CO", "96", open_share)]
    assert result.payment.services[1].remark_codes == ["N130"]
    assert result.payment.status is ClaimStatusCode.SECONDARY
    _, inactive = primary_then_secondary(lines, PART_B, Benefits(), coverage_active=False)
    payment = inactive.payment
    assert payment.status is ClaimStatusCode.DENIED
    assert amount(payment, "CO", "27") == primary.patient_share()
    assert amount(payment, "OA", "23") == primary.paid + amount(primary, "CO")
    assert payment.is_balanced() and all(s.is_balanced() for s in payment.services)


def test_tertiary_counts_the_primary_once() -> None:
    lines = [line(1, "99214", "200.00"), line(2, "36415", "18.50")]
    gap = Benefits(deductible=D("100"), deductible_met=D("80"), coinsurance=D("0.10"))
    primary, second = primary_then_secondary(lines, PART_B, gap)
    secondary = second.payment
    bill = claim("P1-S3", member_id="T1", payer_id="GAP1", lines=lines,
                 order=CoverageOrder.TERTIARY, pos="22", priors=[
                     prior_from(primary, payer_id="MCARE1", member_id="MBI1"),
                     prior_from(secondary, payer_id="SECOND", member_id="GAP1",
                                order=CoverageOrder.SECONDARY)])
    tertiary = run(bill, SECONDARY, Benefits()).payment
    assert tertiary.status is ClaimStatusCode.TERTIARY
    # Only the secondary's PR (23.82) is open; the secondary's OA-23 is not counted again.
    assert (tertiary.paid, tertiary.patient_share()) == (D("23.82"), ZERO)
    assert amount(tertiary, "OA", "23") == primary.paid + secondary.paid + amount(
        primary, "CO") == D("194.68")
    assert tertiary.is_balanced()


def test_prior_reversal_and_readjudication_net_out() -> None:
    lines = [line(1, "99214", "200.00")]
    first = run(claim("P1", member_id="MBI1", payer_id="MCARE1", lines=lines, pos="22"),
                PRIMARY, PART_B)
    reversal, _ = reverse(first.payment, first.accumulators)
    again = run(claim("P1", member_id="MBI1", payer_id="MCARE1", lines=lines, pos="22"),
                PRIMARY, Benefits(coinsurance=D("0.20"))).payment
    priors = [prior_from(p, payer_id="MCARE1", member_id="MBI1")
              for p in (first.payment, reversal, again)]
    bill = claim("P1-S2", member_id="GAP1", payer_id="GAP1", lines=lines, pos="22",
                 order=CoverageOrder.SECONDARY, priors=priors)
    payment = run(bill, SECONDARY, Benefits()).payment
    assert payment.paid == again.patient_share() == D("25.60")
    assert amount(payment, "OA", "23") == D("174.40")


def test_claim_without_priors_is_unchanged() -> None:
    bill = claim("C1", member_id="M1", payer_id="MCARE1", lines=[line(1, "99214", "200.00")],
                 pos="22")
    payment = run(bill, PRIMARY, PART_B).payment
    assert payment.status is ClaimStatusCode.PRIMARY
    assert cas(payment, 0) == [("CO", "45", D("72.00")), ("PR", "1", D("40.00")),
                               ("PR", "2", D("17.60"))]


def test_spread_is_exact_and_within_each_weight() -> None:
    assert spread(D("58.20"), [D("200.00"), D("18.50")]) == [D("53.27"), D("4.93")]
    assert spread(D("0.02"), [D("0.01")] * 3) == [D("0.01"), D("0.00"), D("0.01")]
    assert spread(D("0.03"), [D("0.01")] * 3) == [D("0.01")] * 3
    assert spread(D("5.00"), [D("0.00"), D("5.00"), D("0.00")]) == [ZERO, D("5.00"), ZERO]
    assert spread(ZERO, [ZERO]) == [ZERO]


@settings(max_examples=100, deadline=None)
@given(weights=st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=12),
       fraction=st.fractions(min_value=0, max_value=1))
def test_spread_property(weights, fraction) -> None:  # type: ignore[no-untyped-def]
    cents = [D(w) / 100 for w in weights]
    whole = total(cents)
    share = whole * D(fraction.numerator) / D(fraction.denominator)
    target = share.quantize(D("0.01"), rounding=ROUND_DOWN)
    shares = spread(target, cents)
    if whole > ZERO:
        assert total(shares) == target
    assert all(ZERO <= s <= c for s, c in zip(shares, cents, strict=True))


_CODES = ["99213", "99214", "36415", "93000", "85025", "99215", "99499"]
_benefits = st.builds(
    lambda deductible, met, coinsurance, copay, oop, waives: Benefits(
        deductible=D(deductible), deductible_met=D(deductible) * met / 100,
        coinsurance=D(coinsurance), copays={"11": D(copay)} if copay else {},
        out_of_pocket_max=D(oop) if oop else None, copay_waives_deductible=waives),
    st.integers(min_value=0, max_value=1000), st.integers(min_value=0, max_value=100),
    st.sampled_from(["0", "0.1", "0.2", "0.333", "1"]),
    st.sampled_from([None, "10", "45.5"]), st.sampled_from([None, "0", "50", "5000"]),
    st.booleans())


@settings(max_examples=150, deadline=None)
@given(lines=st.lists(st.tuples(st.sampled_from(_CODES), st.integers(min_value=1,
                                                                      max_value=100000)),
                      min_size=1, max_size=6),
       primary_benefits=_benefits, secondary_benefits=_benefits,
       active=st.booleans(), pos=st.sampled_from(["11", "22"]), line_level=st.booleans())
def test_secondary_always_balances_and_settles_only_what_is_open(  # type: ignore[no-untyped-def]
        lines, primary_benefits, secondary_benefits, active, pos, line_level) -> None:
    service_lines = [line(i, code, str(D(cents) / 100))
                     for i, (code, cents) in enumerate(lines, start=1)]
    primary, result = primary_then_secondary(service_lines, primary_benefits,
                                             secondary_benefits, pos=pos,
                                             line_level=line_level, coverage_active=active)
    secondary = result.payment
    prior_settled = primary.paid + primary.adjusted - primary.patient_share()
    assert secondary.is_balanced()
    assert amount(secondary, "OA", "23") == prior_settled
    # What the secondary pays, leaves to the patient or denies is exactly the primary's PR.
    denied = total(a.amount for a in secondary.all_adjustments
                   if a.group is AdjustmentGroup.CONTRACTUAL)
    assert secondary.paid + secondary.patient_share() + denied == primary.patient_share()
    assert (primary.paid + secondary.paid + amount(primary, "CO") + denied
            + secondary.patient_share()) == secondary.charge
    for service in secondary.services:
        assert service.is_balanced()
        assert service.paid >= ZERO
        assert all(a.amount > ZERO for a in service.adjustments)
        assert {a.group.value for a in service.adjustments} <= {"OA", "CO", "PR"}
    assert secondary.status in (ClaimStatusCode.SECONDARY, ClaimStatusCode.DENIED)
    if not active and primary.patient_share():
        assert secondary.status is ClaimStatusCode.DENIED
    if line_level:  # each line gets what the primary left open on it (when not denied)
        for before_, after in zip(primary.services, secondary.services, strict=True):
            if after.allowed_amount is not None:
                assert after.allowed_amount == total(
                    a.amount for a in before_.adjustments
                    if a.group is AdjustmentGroup.PATIENT_RESPONSIBILITY)
    before = Accumulators.from_benefits(secondary_benefits)
    assert (result.accumulators.out_of_pocket_met - before.out_of_pocket_met
            == secondary.patient_share())
    reversal, restored = reverse(secondary, result.accumulators)
    assert reversal.is_balanced()
    assert restored == before
