"""Synthetic statements for tests, the benchmark and the README image.

No real person is described.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from medbill_core.domain import Aging, Statement, StatementLine
from medbill_core.money import ZERO, total
from medbill_core.testing import factories

STATEMENT_DATE = date(2024, 3, 15)

_SERVICES = (
    ("99213", "Office visit, established patient, low complexity", Decimal("145.00")),
    ("85025", "Complete blood count (CBC) with differential", Decimal("38.00")),
    ("36415", "Routine venipuncture (blood draw)", Decimal("18.50")),
    ("80053", "Comprehensive metabolic panel", Decimal("52.00")),
    ("90686", "Influenza vaccine, quadrivalent, preservative free", Decimal("32.00")),
    ("90471", "Immunization administration, first vaccine", Decimal("28.00")),
    ("93000", "Electrocardiogram (ECG) with interpretation and report", Decimal("85.00")),
    ("99214", "Office visit, established patient, moderate complexity", Decimal("210.00")),
)


def _line(index: int, service_date: date, claim: str) -> StatementLine:
    code, description, base = _SERVICES[index % len(_SERVICES)]
    charge = base + Decimal(index % 7)
    insurance_paid = (charge * Decimal("0.55")).quantize(Decimal("0.01"))
    adjusted = (charge * Decimal("0.25")).quantize(Decimal("0.01"))
    patient_paid = Decimal("5.00") if index % 4 == 0 else ZERO
    return StatementLine(service_date=service_date, claim_number=claim, procedure_code=code,
                         description=f"{description} #{index + 1}", charge=charge,
                         insurance_paid=insurance_paid, insurance_adjusted=adjusted,
                         patient_paid=patient_paid,
                         balance=charge - insurance_paid - adjusted - patient_paid)


def _aging(lines: list[StatementLine], statement_date: date) -> Aging:
    buckets = {"current": ZERO, "days_30": ZERO, "days_60": ZERO, "days_90_plus": ZERO}
    for line in lines:
        age = (statement_date - line.service_date).days
        key = ("current" if age < 30 else "days_30" if age < 60 else
               "days_60" if age < 90 else "days_90_plus")
        buckets[key] += line.balance
    return Aging(**buckets)


def realistic_lines(statement_date: date = STATEMENT_DATE) -> list[StatementLine]:
    """Three visits over four months, insurance payments and one patient payment."""
    d = statement_date
    visit1, visit2, visit3 = d - timedelta(days=104), d - timedelta(days=47), d - timedelta(days=12)
    return [
        StatementLine(service_date=visit1, claim_number="CLM24-0107", procedure_code="99214",
                      description="Office visit, established patient, moderate complexity",
                      charge="210.00", insurance_paid="118.40", insurance_adjusted="51.60",
                      patient_paid="25.00", balance="15.00"),
        StatementLine(service_date=visit1, claim_number="CLM24-0107", procedure_code="93000",
                      description="Electrocardiogram (ECG) with interpretation and report",
                      charge="85.00", insurance_paid="31.20", insurance_adjusted="38.80",
                      balance="15.00"),
        StatementLine(service_date=visit2, claim_number="CLM24-0388", procedure_code="99213",
                      description="Office visit, established patient, low complexity",
                      charge="145.00", insurance_paid="72.16", insurance_adjusted="42.84",
                      balance="30.00"),
        StatementLine(service_date=visit2, claim_number="CLM24-0388", procedure_code="80053",
                      description="Comprehensive metabolic panel",
                      charge="52.00", insurance_paid="11.44", insurance_adjusted="28.96",
                      balance="11.60"),
        StatementLine(service_date=visit2, claim_number="CLM24-0388", procedure_code="36415",
                      description="Routine venipuncture (blood draw)",
                      charge="18.50", insurance_paid="2.40", insurance_adjusted="13.10",
                      balance="3.00"),
        StatementLine(service_date=visit3 - timedelta(days=5), claim_number=None,
                      description="Payment received - thank you (check 1043)",
                      patient_paid="20.00", balance="-20.00"),
        StatementLine(service_date=visit3, claim_number="CLM24-0561", procedure_code="99213",
                      description="Office visit, established patient, low complexity",
                      charge="145.00", insurance_paid="0.00", insurance_adjusted="42.84",
                      balance="102.16"),
        StatementLine(service_date=visit3, claim_number="CLM24-0561", procedure_code="85025",
                      description="Complete blood count (CBC) with differential",
                      charge="38.00", insurance_paid="0.00", insurance_adjusted="26.75",
                      balance="11.25"),
    ]


def sample_statement(lines: int | Sequence[StatementLine] | None = None, *, dunning_stage: int = 1,
                     statement_number: str = "S24-000123",
                     statement_date: date = STATEMENT_DATE, **overrides: Any) -> Statement:
    """A statement for a synthetic patient.

    :param lines: ``None`` for the realistic eight-line statement; a number for that many
        generated lines (three per claim, one visit a week back from the statement date),
        each with a distinct description ``... #<n>``; or the lines themselves.
    """
    if lines is None:
        items = realistic_lines(statement_date)
    elif not isinstance(lines, int):
        items = list(lines)
    else:
        items = []
        for index in range(lines):
            service_date = statement_date - timedelta(days=7 * (lines - index) // 3 + 3)
            items.append(_line(index, service_date, f"CLM{index // 3 + 1:05d}"))
    balance = total(line.balance for line in items)
    practice = factories.make_practice(
        name="Riverside Family Medicine",
        address=factories.make_address(line1="2200 River Road, Suite 300", city="Springfield",
                                       state="IL", postal_code="62704"),
        phone="2175550142")
    values: dict[str, Any] = {
        "statement_number": statement_number,
        "practice": practice,
        "remit_to": factories.make_address(line1="PO Box 4410", city="Springfield",
                                           state="IL", postal_code="627084410"),
        "patient": factories.make_patient(7, first_name="Jordan", last_name="Sample",
                                          address=factories.make_address(
                                              line1="48 Maple Avenue", line2="Apt 2B")),
        "guarantor_name": "Casey Sample",
        "account_number": "A00007",
        "statement_date": statement_date,
        "due_date": statement_date + timedelta(days=30),
        "cycle": statement_date.strftime("%Y-%m"),
        "lines": items,
        "balance_due": balance,
        "aging": _aging(items, statement_date),
        "dunning_stage": dunning_stage,
    }
    values.update(overrides)
    return Statement(**values)


def sample_estimate(*, self_pay: bool = False, lines: int | None = None,
                    **overrides: Any) -> Any:
    """A cost estimate for a planned visit (insured, or a self-pay Good Faith Estimate).

    :param lines: ``None`` for three realistic services; otherwise that many generated
        self-pay lines (for long estimates).
    """
    from medbill_statements_pdf.estimate import CostEstimate, EstimateLine

    practice = sample_statement().practice
    patient = factories.make_patient(7, first_name="Jordan", last_name="Sample",
                                     address=factories.make_address(line1="48 Maple Avenue",
                                                                    line2="Apt 2B"))
    values: dict[str, Any] = {
        "estimate_number": "E24-000042", "practice": practice, "patient": patient,
        "estimate_date": date(2024, 3, 4), "scheduled_date": date(2024, 3, 18),
        "valid_until": date(2024, 6, 30),
    }
    if lines is not None:
        items = [EstimateLine(procedure_code=_SERVICES[i % len(_SERVICES)][0],
                              description=f"{_SERVICES[i % len(_SERVICES)][1]} #{i + 1}",
                              diagnosis_codes=["Z0000"], expected_charge=Decimal(20 + i),
                              patient_estimate=Decimal(20 + i)) for i in range(lines)]
        amount = total(item.expected_charge for item in items)
        values.update(primary_service="Annual physical with screening tests", lines=items,
                      total_expected_charges=amount, patient_estimate=amount)
    elif self_pay:
        items = [
            EstimateLine(procedure_code="99203", diagnosis_codes=["R519"],
                         description="Office visit, new patient, low complexity",
                         expected_charge="150.00", patient_estimate="150.00"),
            EstimateLine(procedure_code="85025", diagnosis_codes=["R519"],
                         description="Complete blood count (CBC) with differential",
                         expected_charge="25.00", patient_estimate="25.00"),
            EstimateLine(procedure_code="36415", diagnosis_codes=["R519"],
                         description="Routine venipuncture (blood draw)",
                         expected_charge="10.00", patient_estimate="10.00"),
        ]
        values.update(primary_service="New-patient visit for recurring headaches, with blood "
                      "tests", lines=items, total_expected_charges="185.00",
                      patient_estimate="185.00")
    else:
        items = [
            EstimateLine(procedure_code="99214", diagnosis_codes=["I10", "E119"],
                         description="Office visit, established patient, moderate complexity",
                         expected_charge="210.00", expected_allowed="132.50",
                         patient_estimate="30.00"),
            EstimateLine(procedure_code="93000", diagnosis_codes=["I10"],
                         description="Electrocardiogram (ECG) with interpretation and report",
                         expected_charge="85.00", expected_allowed="24.60",
                         patient_estimate="20.92"),
            EstimateLine(procedure_code="80053", diagnosis_codes=["E119"],
                         description="Comprehensive metabolic panel",
                         expected_charge="52.00", expected_allowed="11.44",
                         patient_estimate="2.29"),
        ]
        values.update(primary_service="Follow-up visit for blood pressure and diabetes, with "
                      "an ECG and blood tests", lines=items, payer_name="Acme Health Plan",
                      plan_name="Acme PPO Silver", benefits_as_of=date(2024, 3, 4),
                      copay="30.00", deductible="20.00", coinsurance="3.21",
                      coinsurance_percent=Decimal("20"), deductible_remaining="20.00",
                      out_of_pocket_remaining="1850.00", total_expected_charges="347.00",
                      insurance_estimate="115.33", patient_estimate="53.21")
    values.update(overrides)
    return CostEstimate(**values)
