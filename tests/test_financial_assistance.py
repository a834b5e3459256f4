"""Financial assistance: evaluation against the HHS poverty guidelines at every tier edge,
per-person increments, Alaska and Hawaii, the year switch; approval, the discount on patient
responsibility (to the cent, idempotent, insurance untouched), revocation, roles and audit.

Evaluation tests are pure; ledger tests run on SQLite and PostgreSQL (``medbill_app``)."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from medbill_core.app import Medbill
from medbill_core.codesets.poverty import Region, guideline_years, guidelines_on, region_of
from medbill_core.domain import GuarantorRelationship
from medbill_core.domain.base import saved_id
from medbill_core.errors import NotFound, ValidationFailed
from medbill_core.ledger import Bucket, EntryKind, LedgerLine
from medbill_core.services import financial_assistance as fa
from medbill_core.services.guarantors import GuarantorService
from medbill_core.storage.schema import AuditEventRow, LedgerEntryRow
from medbill_core.testing import factories

D = Decimal
TODAY = date.today()
DEFAULT = fa.AssistancePolicy()
_numbers = itertools.count(700)


# -- the guidelines -----------------------------------------------------------------------------
def test_packaged_years_and_their_effective_dates() -> None:
    years = guideline_years()
    assert [(y.year, y.effective) for y in years] == [(2025, date(2025, 1, 15)),
                                                        (2026, date(2026, 1, 13))]
    assert guidelines_on(date(2026, 1, 12)).year == 2025
    assert guidelines_on(date(2026, 1, 13)).year == 2026
    with pytest.raises(ValidationFailed, match="before 2025-01-15"):
        guidelines_on(date(2025, 1, 14))


@pytest.mark.parametrize("year", [2025, 2026])
@pytest.mark.parametrize("region", list(Region))
def test_each_table_is_linear_so_a_mistyped_cell_shows(year: int, region: Region) -> None:
    table = next(y for y in guideline_years() if y.year == year)
    step = table.each_additional[region]
    assert [table.guideline(region, n) for n in range(1, 12)] == [
        table.guideline(region, 1) + step * (n - 1) for n in range(1, 12)]


@pytest.mark.parametrize(("day", "region", "size", "expected"), [
    (date(2026, 3, 1), Region.CONTIGUOUS, 1, "15960"),
    (date(2026, 3, 1), Region.CONTIGUOUS, 4, "33000"),
    (date(2026, 3, 1), Region.CONTIGUOUS, 8, "55720"),
    (date(2026, 3, 1), Region.CONTIGUOUS, 9, "61400"),
    (date(2026, 3, 1), Region.CONTIGUOUS, 11, "72760"),
    (date(2026, 3, 1), Region.ALASKA, 1, "19950"),
    (date(2026, 3, 1), Region.ALASKA, 10, "83850"),
    (date(2026, 3, 1), Region.HAWAII, 3, "31420"),
    (date(2026, 3, 1), Region.HAWAII, 9, "70600"),
    (date(2025, 6, 1), Region.CONTIGUOUS, 4, "32150"),
    (date(2025, 6, 1), Region.CONTIGUOUS, 9, "59650"),
    (date(2025, 6, 1), Region.ALASKA, 1, "19550"),
    (date(2025, 6, 1), Region.HAWAII, 1, "17990"),
])
def test_guideline_values(day: date, region: Region, size: int, expected: str) -> None:
    assert guidelines_on(day).guideline(region, size) == D(expected)


def test_states_map_to_their_table_and_territories_are_refused() -> None:
    assert region_of("ak") is Region.ALASKA
    assert region_of("HI") is Region.HAWAII
    assert region_of("dc") is Region.CONTIGUOUS and region_of("TX") is Region.CONTIGUOUS
    for code in ("PR", "GU", "XX", ""):
        with pytest.raises(ValidationFailed, match="state"):
            region_of(code)


# -- tier edges -----------------------------------------------------------------------------------
def _evaluate(income: str, size: int = 1, state: str = "NY",
              on: date = date(2026, 3, 1)) -> fa.Evaluation:
    return fa.evaluate(DEFAULT, household_size=size, annual_income=D(income), state=state,
                       on=on)


@pytest.mark.parametrize(("income", "percent", "discount"), [
    ("0.00", "0.00", "100"),
    ("15960.00", "100.00", "100"),      # exactly 100%
    ("15960.01", "100.01", "75"),       # a cent above: the next tier
    ("15961.59", "100.01", "75"),
    ("15961.60", "100.02", "75"),       # 100.01002%: rounded up, never down
    ("23940.00", "150.00", "75"),       # exactly 150%
    ("23940.01", "150.01", "50"),
    ("31920.00", "200.00", "50"),       # exactly 200%
    ("31920.01", "200.01", "0"),
    ("1000000.00", "6265.67", "0"),
])
def test_tier_edges_one_person_2026(income: str, percent: str, discount: str) -> None:
    found = _evaluate(income)
    assert (found.percent, found.tier.discount_percent) == (D(percent), D(discount))


@pytest.mark.parametrize(("size", "state", "income", "discount"), [
    (9, "CA", "61400.00", "100"), (9, "CA", "61400.01", "75"),       # per-person increment
    (12, "CA", "78440.00", "100"), (12, "CA", "156880.00", "50"),
    (12, "CA", "156880.01", "0"),
    (1, "AK", "19950.00", "100"), (1, "AK", "19950.01", "75"),       # Alaska's table
    (1, "NY", "19950.00", "75"),
    (2, "HI", "24890.00", "100"), (2, "HI", "24890.01", "75"),       # Hawaii's table
    (10, "HI", "77130.00", "100"), (10, "HI", "154260.00", "50"),
])
def test_tier_edges_household_size_and_state(size: int, state: str, income: str,
                                            discount: str) -> None:
    assert _evaluate(income, size, state).tier.discount_percent == D(discount)


def test_the_year_switch_measures_each_date_by_its_own_guidelines() -> None:
    # 15,800 is above 2025's 15,650 for one person but below 2026's 15,960
    before, after = _evaluate("15800.00", on=date(2026, 1, 12)), _evaluate(
        "15800.00", on=date(2026, 1, 13))
    assert (before.guideline_year, before.percent, before.tier.discount_percent) == (
        2025, D("100.96"), D("75"))
    assert (after.guideline_year, after.percent, after.tier.discount_percent) == (
        2026, D("99.00"), D("100"))
    with pytest.raises(ValidationFailed, match="date: before 2025-01-15"):
        _evaluate("100.00", on=date(2024, 12, 31))


@pytest.mark.parametrize(("size", "income", "problem"), [
    (0, "100.00", "household_size"), (51, "100.00", "household_size"),
    (1, "-1.00", "annual_income"), (1, "10.001", "annual_income")])
def test_bad_input_is_refused_naming_the_field(size: int, income: str, problem: str) -> None:
    with pytest.raises(ValidationFailed, match=problem) as caught:
        _evaluate(income, size)
    assert income.lstrip("-") not in str(caught.value)


def test_a_schedule_must_be_ascending_and_end_open() -> None:
    bad = [
        fa.AssistancePolicy((fa.Tier(D(150), D(75)), fa.Tier(D(100), D(100)),
                             fa.Tier(None, D(0)))),
        fa.AssistancePolicy((fa.Tier(D(100), D(100)),)),
        fa.AssistancePolicy((fa.Tier(D(100), D(120)), fa.Tier(None, D(0)))),
        fa.AssistancePolicy(expiry_months=0),
        fa.AssistancePolicy(prompt_pay_percent=D(5)),
    ]
    for policy in bad:
        with pytest.raises(ValidationFailed):
            policy.check()
    DEFAULT.check()


def test_a_nominal_fee_tier_leaves_the_fee_per_visit() -> None:
    tier = fa.Tier(D(100), D(100), nominal_fee=D("20.00"))
    assert tier.discount_on(D("150.00")) == D("130.00")
    assert tier.discount_on(D("15.00")) == D("0.00")
    assert fa.Tier(D(150), D(75)).discount_on(D("33.33")) == D("25.00")  # 24.9975 half up


# -- the ledger ------------------------------------------------------------------------------------
def _family(app: Medbill, charges: list[tuple[str, int]], *,
            insured: str | None = None) -> tuple[int, list[int], list[int]]:
    """(guarantor id, patient ids, claim ids): two patients, a self-pay claim per charge
    (days ago) alternately for each; ``insured``: one more claim owed by insurance."""
    number = next(_numbers)
    with app.unit_of_work() as work:
        patients = [saved_id(work.patients.register(factories.make_patient(number * 10 + i)))
                    for i in range(2)]
        claims = []
        for i, (charge, age) in enumerate(charges):
            day = TODAY - timedelta(days=age)
            claim = factories.make_claim(patients[i % 2], coverage_id=None,
                                         number=f"FA{number}-{i}", service_date=day)
            claim = claim.model_copy(update={"lines": [factories.make_line(
                1, service_date=day, charge=D(charge))]})
            claims.append(saved_id(work.claims.create(claim)))
        service = GuarantorService(work.session, actor="t")
        guarantor = service.guarantor_for_patient(patients[0])
        service.assign(patients[1], guarantor.id, GuarantorRelationship.PARENT)
    return saved_id(guarantor), patients, claims


def _apply(app: Medbill, guarantor_id: int, income: str = "20000.00", size: int = 1,
           applied_on: date | None = None, documents: bool = True) -> fa.Application:
    with app.unit_of_work() as work:
        return fa.apply(work, guarantor_id, household_size=size, annual_income=D(income),
                        state="NY", applied_on=applied_on or TODAY - timedelta(days=30),
                        documents_received=documents, notes="pay stubs seen")


def _patient_balances(app: Medbill, claims: list[int]) -> list[Decimal]:
    with app.unit_of_work() as work:
        return [work.ledger.claim_balance(c).patient for c in claims]


def test_approval_discounts_patient_responsibility_in_the_period_once(
        medbill_app: Medbill) -> None:
    app = medbill_app
    guarantor, patients, claims = _family(app, [("100.00", 10), ("33.33", 5), ("80.00", 60)])
    application = _apply(app, guarantor)  # 20,000 / 15,960 = 125.32%: 75% off
    assert (application.percent_of_guideline, application.tier.discount_percent) == (
        D("125.32"), D("75"))
    with app.unit_of_work() as work:
        approved, result = fa.approve(work, application.id)
    assert approved.status is fa.ApplicationStatus.APPROVED
    assert approved.expires_on == application.applied_on.replace(
        year=application.applied_on.year + 1) - timedelta(days=1)
    # the 60-day-old visit is before the application's date: not covered
    assert result.posted == {claims[0]: D("75.00"), claims[1]: D("25.00")}
    assert _patient_balances(app, claims) == [D("25.00"), D("8.33"), D("80.00")]
    with app.unit_of_work() as work:
        again = fa.apply_discounts(work, application.id)
        entries = work.session.scalars(select(LedgerEntryRow).where(
            LedgerEntryRow.reason_code == fa.REASON_CODE)).all()
        totals = [work.ledger.totals(patient_id=p) for p in patients]
    assert again.posted == {}
    assert {(e.kind, e.insurance_delta, e.patient_delta) for e in entries} == {
        ("write_off", D("0.00"), D("-75.00")), ("write_off", D("0.00"), D("-25.00"))}
    assert all(t.is_balanced() for t in totals)


def test_revocation_takes_every_discount_back(medbill_app: Medbill) -> None:
    app = medbill_app
    guarantor, _, claims = _family(app, [("100.00", 3)])
    application = _apply(app, guarantor, income="10000.00")
    with app.unit_of_work() as work:
        fa.approve(work, application.id)
    assert _patient_balances(app, claims) == [D("0.00")]
    with app.unit_of_work() as work:
        revoked, result = fa.revoke(work, application.id, "income misstated")
    assert revoked.status is fa.ApplicationStatus.REVOKED
    assert result.posted == {claims[0]: D("-100.00")}
    assert _patient_balances(app, claims) == [D("100.00")]
    with app.unit_of_work() as work, pytest.raises(
            ValidationFailed, match="is revoked; only an approved application can be revoked"):
        fa.revoke(work, application.id, "again")


def test_later_patient_responsibility_is_followed_and_payments_stay_paid(
        medbill_app: Medbill) -> None:
    app = medbill_app
    guarantor, patients, claims = _family(app, [("100.00", 3)])
    application = _apply(app, guarantor, income="30000.00")  # 187.97%: 50%
    with app.unit_of_work() as work:
        fa.approve(work, application.id)
    assert _patient_balances(app, claims) == [D("50.00")]
    with app.unit_of_work() as work:  # a further self-pay charge on the same visit
        work.ledger.post("test:extra", "test", [LedgerLine(
            EntryKind.CHARGE, D("40.00"), patient_id=patients[0], claim_id=claims[0],
            bucket=Bucket.PATIENT)], effective_date=TODAY)
        result = fa.apply_discounts(work, application.id)
    assert result.posted == {claims[0]: D("20.00")}
    assert _patient_balances(app, claims) == [D("70.00")]


def test_approval_needs_documents_a_discount_and_no_overlap(medbill_app: Medbill) -> None:
    app = medbill_app
    guarantor, _, _ = _family(app, [("50.00", 2)])
    undocumented = _apply(app, guarantor, documents=False)
    rich = _apply(app, guarantor, income="90000.00")
    with app.unit_of_work() as work:
        with pytest.raises(ValidationFailed, match="documents"):
            fa.approve(work, undocumented.id)
        with pytest.raises(ValidationFailed, match="no discount"):
            fa.approve(work, rich.id)
        fa.record_documents(work, undocumented.id)
        fa.approve(work, undocumented.id)
    second = _apply(app, guarantor)
    with app.unit_of_work() as work, pytest.raises(ValidationFailed, match="overlaps"):
        fa.approve(work, second.id)
    with app.unit_of_work() as work:
        denied = fa.deny(work, rich.id, "income above 200% of the guidelines")
        assert denied.status is fa.ApplicationStatus.DENIED
        with pytest.raises(NotFound):
            fa.get_application(work, 999_999)


def test_insurance_bucket_is_never_touched(medbill_app: Medbill) -> None:
    app = medbill_app
    guarantor, patients, claims = _family(app, [("100.00", 3)])
    with app.unit_of_work() as work:  # part of the claim still owed by a payer
        work.ledger.post("test:ins", "test", [LedgerLine(
            EntryKind.CHARGE, D("500.00"), patient_id=patients[0], claim_id=claims[0],
            payer_key="acme", bucket=Bucket.INSURANCE)], effective_date=TODAY)
    application = _apply(app, guarantor, income="10000.00")
    with app.unit_of_work() as work:
        fa.approve(work, application.id)
        balance = work.ledger.claim_balance(claims[0])
    assert (balance.insurance, balance.patient) == (D("500.00"), D("0.00"))


def test_every_change_is_audited_without_income_or_notes(medbill_app: Medbill) -> None:
    app = medbill_app
    guarantor, _, _ = _family(app, [("100.00", 3)])
    application = _apply(app, guarantor, income="12345.67")
    with app.unit_of_work() as work:
        fa.approve(work, application.id)
        fa.revoke(work, application.id, "moved away")
        events = work.session.scalars(select(AuditEventRow).where(
            AuditEventRow.entity_type == "assistance_application")).all()
    assert [e.action for e in events] == ["assistance.apply", "assistance.approve",
                                          "assistance.discount", "assistance.revoke"]
    assert {e.actor for e in events} == {"tester"}
    text = " ".join(str(e.details) for e in events)
    assert "12345" not in text and "pay stubs" not in text


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(charges=st.lists(st.decimals(min_value=D("0.01"), max_value=D("999.99"), places=2),
                        min_size=1, max_size=3),
       tier=st.sampled_from([fa.Tier(D(100), D(100)), fa.Tier(D(150), D(75)),
                             fa.Tier(D(200), D("33.3")),
                             fa.Tier(D(100), D(100), nominal_fee=D("15.00"))]))
def test_discount_plus_still_owed_is_the_responsibility_to_the_cent(
        medbill_app: Medbill, charges: list[Decimal], tier: fa.Tier) -> None:
    app = medbill_app
    guarantor, _, claims = _family(app, [(str(c), 2) for c in charges])
    with app.unit_of_work() as work:
        fa.set_policy(work, fa.AssistancePolicy((fa.Tier(D(300), tier.discount_percent,
                                                         tier.nominal_fee),
                                                 fa.Tier(None, D(0)))))
    application = _apply(app, guarantor, income="100.00")
    with app.unit_of_work() as work:
        _, result = fa.approve(work, application.id)
        owed = [work.ledger.claim_balance(c).patient for c in claims]
    for claim, charge, still in zip(claims, charges, owed, strict=True):
        discount = result.posted.get(claim, D("0.00"))
        assert discount + still == charge
        assert discount == tier.discount_on(charge)
        assert discount.as_tuple().exponent == -2 and still >= D("0.00")


def test_prompt_pay_offer_ends_after_its_days_and_never_for_insurance(
        medbill_app: Medbill) -> None:
    from medbill_core.services.self_pay import prompt_pay_offer

    app = medbill_app
    _, patients, claims = _family(app, [("55.55", 2)])
    with app.unit_of_work() as work:
        fa.set_policy(work, fa.AssistancePolicy(prompt_pay_percent=D("7.5"),
                                                prompt_pay_days=14))
        offer = prompt_pay_offer(work, claims[0], TODAY + timedelta(days=14))
        assert (offer.discount, offer.pay_now) == (D("4.17"), D("51.38"))  # 4.16625 half up
        with pytest.raises(ValidationFailed, match="ended on"):
            prompt_pay_offer(work, claims[0], TODAY + timedelta(days=15))
        coverage = work.patients.add_coverage(patients[0],
                                              factories.make_coverage(patients[0]))
        insured = saved_id(work.claims.create(factories.make_claim(
            patients[0], coverage_id=coverage.id, number="FA-INS")))
        with pytest.raises(ValidationFailed, match="billed to insurance"):
            prompt_pay_offer(work, insured, TODAY)


def test_the_share_a_payer_moved_to_the_patient_is_discounted(medbill_app: Medbill) -> None:
    """An insured visit: 500.00 billed to the payer, 80.00 of it moved to the patient
    (deductible / coinsurance). 75% of the 80.00 is discounted; the payer's 420.00 stays."""
    app = medbill_app
    guarantor, patients, _ = _family(app, [])
    with app.unit_of_work() as work:
        coverage = work.patients.add_coverage(patients[0],
                                              factories.make_coverage(patients[0]))
        day = TODAY - timedelta(days=4)
        insured = factories.make_claim(patients[0], coverage_id=coverage.id,
                                       number="FA-PAYER", service_date=day)
        claim = saved_id(work.claims.create(insured.model_copy(update={"lines": [
            factories.make_line(1, service_date=day, charge=D("500.00"))]})))
        work.ledger.post("test:payer", "test", [
            LedgerLine(EntryKind.TRANSFER_TO_PATIENT, D("80.00"), patient_id=patients[0],
                       claim_id=claim, payer_key="acme")], effective_date=TODAY)
        assert fa.patient_responsibility(work, claim) == D("80.00")
    application = _apply(app, guarantor)
    with app.unit_of_work() as work:
        _, result = fa.approve(work, application.id)
        balance = work.ledger.claim_balance(claim)
    assert result.posted == {claim: D("60.00")}
    assert (balance.insurance, balance.patient) == (D("420.00"), D("20.00"))
