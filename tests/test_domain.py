"""Domain rules: identifiers, money, claims, coverage, eligibility, remittance, accounts."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from medbill_core.domain import (
    Adjustment,
    AdjustmentGroup,
    Benefit,
    BenefitKind,
    ClaimAdjustmentRef,
    ClaimPayment,
    ClaimStatusCode,
    CoverageLevel,
    CoverageStatus,
    EligibilityResponse,
    Installment,
    Network,
    Patient,
    Payment,
    PaymentPlan,
    PriorLineAdjudication,
    PriorPayerAdjudication,
    ProviderAdjustment,
    Remittance,
    ServicePayment,
    phi_fields,
    validate_record,
)
from medbill_core.domain.identifiers import (
    is_icd10_format,
    is_procedure_format,
    is_valid_npi,
    luhn_check_digit,
    npi_with_check_digit,
)
from medbill_core.errors import ValidationFailed
from medbill_core.money import to_money
from medbill_core.testing import factories

D = Decimal


# -- identifiers -----------------------------------------------------------------------------

@pytest.mark.parametrize(("npi", "valid"), [
    ("1234567893", True),   # the CMS worked example
    ("1245319599", True),
    ("1234567890", False),  # wrong check digit
    ("123456789", False),   # nine digits
    ("12345678931", False),
    ("12345A7893", False),
])
def test_npi_luhn_over_80840_prefix(npi: str, valid: bool) -> None:
    assert is_valid_npi(npi) is valid


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_completed_npis_validate_and_one_digit_changes_break_them(first_nine: str) -> None:
    npi = npi_with_check_digit(first_nine)
    assert is_valid_npi(npi)
    wrong = npi[:9] + str((int(npi[9]) + 1) % 10)
    assert not is_valid_npi(wrong)


def test_luhn_digit_known_value() -> None:
    assert luhn_check_digit("80840123456789") == 3


@pytest.mark.parametrize(("code", "ok"), [("E11.9", True), ("E119", True), ("I10", True),
                                         ("S72.001A", True), ("U07.1", True), ("E1", False),
                                         ("11.9", False), ("E11.99999", False)])
def test_icd10_format(code: str, ok: bool) -> None:
    assert is_icd10_format(code) is ok


@pytest.mark.parametrize(("code", "ok"), [("99213", True), ("0001F", True), ("0042T", True),
                                         ("J3420", True), ("G0438", True), ("9921", False),
                                         ("W1234", False), ("992133", False)])
def test_procedure_format(code: str, ok: bool) -> None:
    assert is_procedure_format(code) is ok


def test_practice_rejects_bad_npi_ein_taxonomy_and_po_box() -> None:
    with pytest.raises(ValidationError) as raised:
        factories.make_practice(npi="1234567890", tax_id="00-1234567", taxonomy="BAD")
    fields = {e["loc"][0] for e in raised.value.errors()}
    assert fields == {"npi", "tax_id", "taxonomy"}
    with pytest.raises(ValidationError, match="street address"):
        factories.make_practice(address=factories.make_address(line1="PO Box 12"))


# -- money -----------------------------------------------------------------------------------

def test_a_sum_of_amounts_is_taken_only_as_the_column_type_gave_it() -> None:
    """NULL (nothing summed) is zero; a sum that lost the cents column's type (a bare int of
    cents, a float) is refused, as the caller's error, rather than read as dollars."""
    from medbill_core.errors import LedgerError
    from medbill_core.money import summed_cents

    assert summed_cents(D("12.50")) == D("12.50") and summed_cents(None) == D("0.00")
    for lost in (1250, 12.5, "12.50"):
        with pytest.raises(TypeError, match="came back untyped"):
            summed_cents(lost)
        with pytest.raises(LedgerError):
            summed_cents(lost, LedgerError)


def test_money_is_decimal_never_float() -> None:
    assert to_money(7) == D("7.00")
    assert to_money(" 12.3 ") == D("12.30")
    assert to_money(D("12.345")) == D("12.35")  # computed amounts are quantized
    # text is what people type: never rounded, no exponent (issue 10, item 7)
    for text in ("12.345", "10.005", "1e3", "1E3", "1,000", "12.", ""):
        if text == "12.":
            assert to_money(text) == D("12.00")
            continue
        with pytest.raises(ValueError):
            to_money(text)
    with pytest.raises(TypeError):
        to_money(0.1)
    with pytest.raises(ValidationError):
        factories.make_line(charge=12.5)
    with pytest.raises(ValueError):
        to_money("NaN")
    # more digits than a Decimal context holds: a plain refusal, never InvalidOperation
    with pytest.raises(ValueError, match="amount is too large"):
        to_money(10 ** 40)
    # a line's charge has the limit of one amount, whatever its digits
    with pytest.raises(ValidationError, match="must not be more than 99,999,999.99"):
        factories.make_line(charge=10 ** 30)


# -- validation errors never echo PHI ---------------------------------------------------------

def test_validation_error_names_fields_not_values() -> None:
    record = {"account_number": "A1", "last_name": "Zyxwvut", "first_name": "Qwerty",
              "birth_date": "2999-01-01", "sex": "X", "phone": "555-SECRET"}
    with pytest.raises(ValidationFailed) as raised:
        validate_record(Patient, record, record="row 4")
    message = str(raised.value)
    assert message.startswith("row 4: ")
    assert "birth_date: birth date is in the future" in message
    assert "sex:" in message and "phone:" in message
    for secret in ("Zyxwvut", "Qwerty", "2999", "SECRET"):
        assert secret not in message
    with pytest.raises(ValidationError) as raw:
        Patient.model_validate(record)
    assert "SECRET" not in str(raw.value) and "2999" not in str(raw.value)


def test_phi_fields_are_marked() -> None:
    assert {"last_name", "first_name", "birth_date", "address", "phone",
            "email"} <= phi_fields(Patient)
    assert "account_number" not in phi_fields(Patient)


# -- claims ----------------------------------------------------------------------------------

def test_claim_limits_and_consistency() -> None:
    claim = factories.make_claim(lines=2)
    assert claim.total_charge == D("143.50")
    codes = ["E119", "I10", "E785", "Z0000", "J449", "M545", "R51", "F419", "K219", "N390",
             "E039", "G4733", "R0600"]
    with pytest.raises(ValidationError, match="at most 12"):
        factories.make_claim(diagnoses=codes)
    with pytest.raises(ValidationError, match="at most 4"):
        factories.make_line(modifiers=["25", "59", "GT", "95", "76"])
    with pytest.raises(ValidationError, match="diagnosis pointer 3 points past the 2"):
        factories.make_claim(lines=1).model_validate(
            {**factories.make_claim().model_dump(),
             "lines": [factories.make_line(diagnosis_pointers=[3]).model_dump()]})
    with pytest.raises(ValidationError, match="needs original_claim_reference"):
        factories.make_claim(frequency="7")
    corrected = factories.make_claim(frequency="7", original_claim_reference="PCN1")
    assert corrected.frequency.value == "7"
    with pytest.raises(ValidationError, match="outside the claim's dates"):
        day = date.today() - timedelta(days=3)
        factories.make_claim(service_date=day).model_validate(
            {**factories.make_claim(service_date=day).model_dump(),
             "lines": [factories.make_line(service_date=day - timedelta(days=1)).model_dump()]})
    with pytest.raises(ValidationError, match="diagnoses repeat"):
        factories.make_claim(diagnoses=["E119", "E11.9"])


def test_billable_claim_requires_matching_payer() -> None:
    with pytest.raises(ValidationError, match="does not match the payer"):
        factories.make_billable_claim(payer=factories.make_payer("other"))
    with pytest.raises(ValidationError, match="both or neither"):
        factories.make_billable_claim(coverage=None)


def _prior(paid: str, lines: list[PriorLineAdjudication], *, claim_adjusted: str = "0",
           paid_date: date = date(2026, 3, 1)) -> PriorPayerAdjudication:
    payer = factories.make_payer("acme")
    return PriorPayerAdjudication(
        payer=payer, coverage=factories.make_coverage(), paid_amount=Decimal(paid),
        paid_date=paid_date, line_adjudications=lines,
        claim_adjustments=[ClaimAdjustmentRef(group_code="CO", reason_code="253",
                                              amount=Decimal(claim_adjusted))])


def _line(number: int, paid: str, day: date | None = None) -> PriorLineAdjudication:
    return PriorLineAdjudication(line_number=number, procedure_code="99213",
                                 paid_amount=Decimal(paid), paid_units=Decimal(1),
                                 adjudication_date=day)


def test_prior_line_adjudications_balance_with_the_payer_paid_amount() -> None:
    # X222A1 (X12 RFI 524): the lines' SVD02 - the claim-level 2320 CAS = 2320 AMT*D
    prior = _prior("98.00", [_line(1, "90.00"), _line(2, "10.00")], claim_adjusted="2.00")
    assert prior.all_adjustments == prior.claim_adjustments  # no line CAS here
    with pytest.raises(ValidationError, match="do not balance"):
        _prior("100.00", [_line(1, "90.00"), _line(2, "10.00")], claim_adjusted="2.00")
    _prior("123.45", [], claim_adjusted="2.00")  # claim level only: nothing to balance


def test_prior_line_adjudication_dates() -> None:
    paid_on = date(2026, 3, 1)
    prior = _prior("100.00", [_line(1, "90.00", paid_on), _line(2, "10.00", date(2026, 2, 1))],
                   paid_date=paid_on)
    # None means the payer's date: one spelling, so an 837P round trip gives it back
    assert [line.adjudication_date for line in prior.line_adjudications] == [
        None, date(2026, 2, 1)]
    with pytest.raises(ValidationError, match="after the payer's paid_date"):
        _prior("100.00", [_line(1, "100.00", date(2026, 3, 2))], paid_date=paid_on)
    with pytest.raises(ValidationError, match="latest of the line adjudication dates"):
        _prior("100.00", [_line(1, "100.00", date(2026, 2, 1))], paid_date=paid_on)


def test_billable_claim_line_adjudications_name_its_lines() -> None:
    prior = _prior("100.00", [_line(3, "100.00")])
    with pytest.raises(ValidationError, match="names line 3"):
        factories.make_billable_claim(prior_adjudications=[prior])
    factories.make_billable_claim(prior_adjudications=[_prior("100.00", [_line(1, "100.00")])])


def test_coverage_subscriber_rules_and_dates() -> None:
    with pytest.raises(ValidationError, match="subscriber details are required"):
        factories.make_coverage(relationship="19")
    dependent = factories.make_coverage(dependent=True, start_date=date(2026, 1, 1),
                                        end_date=date(2026, 12, 31))
    assert dependent.is_active_on(date(2026, 6, 1))
    assert not dependent.is_active_on(date(2027, 1, 1))


# -- eligibility ---------------------------------------------------------------------------

def test_benefit_summary_prefers_individual_in_network_and_reads_remaining() -> None:
    response = EligibilityResponse(status=CoverageStatus.ACTIVE, benefits=[
        Benefit(kind=BenefitKind.DEDUCTIBLE, code="C", coverage_level=CoverageLevel.FAMILY,
                time_period="23", amount=D("3000"), network=Network.IN),
        Benefit(kind=BenefitKind.DEDUCTIBLE, code="C", coverage_level=CoverageLevel.INDIVIDUAL,
                time_period="23", amount=D("1500"), network=Network.IN),
        Benefit(kind=BenefitKind.DEDUCTIBLE, code="C", coverage_level=CoverageLevel.INDIVIDUAL,
                time_period="29", amount=D("400"), network=Network.IN),
        Benefit(kind=BenefitKind.DEDUCTIBLE, code="C", coverage_level=CoverageLevel.INDIVIDUAL,
                time_period="23", amount=D("5000"), network=Network.OUT),
        Benefit(kind=BenefitKind.CO_PAYMENT, code="B", service_types=["98"], amount=D("25"),
                network=Network.IN),
        Benefit(kind=BenefitKind.CO_INSURANCE, code="A", percent=D("0.2")),
        Benefit(kind=BenefitKind.OUT_OF_POCKET, code="G", time_period="29", amount=D("2100")),
    ])
    summary = response.summary("98", Network.IN)
    assert (summary.deductible, summary.deductible_remaining) == (D("1500.00"), D("400.00"))
    assert summary.copay == D("25.00") and summary.coinsurance == D("0.2")
    assert summary.out_of_pocket_remaining == D("2100.00") and summary.out_of_pocket is None
    out = response.summary("30", Network.OUT)
    assert out.deductible == D("5000.00") and out.copay is None


# -- remittance ----------------------------------------------------------------------------

def test_remittance_balancing() -> None:
    service = ServicePayment(procedure_code="99213", charge=D("125"), paid=D("80"),
                             adjustments=[Adjustment(group=AdjustmentGroup.CONTRACTUAL,
                                                     reason_code="45", amount=D("25")),
                                          Adjustment(group=AdjustmentGroup.PATIENT_RESPONSIBILITY,
                                                     reason_code="2", amount=D("20"))])
    claim = ClaimPayment(claim_number="C1", status=ClaimStatusCode.PRIMARY, charge=D("125"),
                         paid=D("80"), patient_responsibility=D("20"), services=[service])
    assert service.is_balanced() and claim.is_balanced()
    assert claim.patient_share() == D("20.00")
    remittance = Remittance(trace_number="T1", payment_amount=D("75"), payer_name="Acme",
                            payee_name="Clinic", claims=[claim],
                            provider_adjustments=[ProviderAdjustment(
                                provider_id="1234567893", reason_code="L6", amount=D("5"))])
    assert remittance.is_balanced()
    assert remittance.model_copy(update={"payment_amount": D("80")}).balance_difference() \
        == D("5.00")


# -- patient accounts ------------------------------------------------------------------------

def test_payment_refuses_card_numbers_and_plans_must_add_up() -> None:
    with pytest.raises(ValidationError, match="full card number"):
        Payment(patient_id=1, amount=D("10"), method="card", reference="4111 1111 1111 1111",
                received_on=date.today())
    assert Payment(patient_id=1, amount=D("10"), method="card", reference="VISA-1111 auth 8812",
                   received_on=date.today()).reference == "VISA-1111 auth 8812"
    with pytest.raises(ValidationError):
        Payment(patient_id=1, amount=D("-1"), method="cash", received_on=date.today())
    start = date(2026, 1, 1)
    with pytest.raises(ValidationError, match="add up to 200.00, not the plan total 300.00"):
        PaymentPlan(patient_id=1, total_amount=D("300"), start_date=start, installments=[
            Installment(due_date=start, amount=D("100")),
            Installment(due_date=start + timedelta(days=30), amount=D("100"))])
