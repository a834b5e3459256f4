"""Synthetic statements for tests, the benchmark and the README image.

No real person is described.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from medbill_core.api import ZERO, Aging, Statement, StatementLine, total
from medbill_core.api.testing import factories

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
        # the core's aging edges (medbill_core.services.aging): day 30 is still current
        key = ("current" if age <= 30 else "days_30" if age <= 60 else
               "days_60" if age <= 90 else "days_90_plus")
        buckets[key] += line.balance
    return Aging(**buckets)


def realistic_lines(statement_date: date = STATEMENT_DATE) -> list[StatementLine]:
    """Three visits over four months, insurance payments and one patient payment."""
    d = statement_date
    visit1, visit2, visit3 = d - timedelta(days=104), d - timedelta(days=47), d - timedelta(days=12)
    return [
        StatementLine(service_date=visit1, claim_number="CLM24-0107", procedure_code="99214",
                      description="Office visit, established patient, moderate complexity",
                      charge=Decimal("210.00"), insurance_paid=Decimal("118.40"),
                      insurance_adjusted=Decimal("51.60"),
                      patient_paid=Decimal("25.00"), balance=Decimal("15.00")),
        StatementLine(service_date=visit1, claim_number="CLM24-0107", procedure_code="93000",
                      description="Electrocardiogram (ECG) with interpretation and report",
                      charge=Decimal("85.00"), insurance_paid=Decimal("31.20"),
                      insurance_adjusted=Decimal("38.80"),
                      balance=Decimal("15.00")),
        StatementLine(service_date=visit2, claim_number="CLM24-0388", procedure_code="99213",
                      description="Office visit, established patient, low complexity",
                      charge=Decimal("145.00"), insurance_paid=Decimal("72.16"),
                      insurance_adjusted=Decimal("42.84"),
                      balance=Decimal("30.00")),
        StatementLine(service_date=visit2, claim_number="CLM24-0388", procedure_code="80053",
                      description="Comprehensive metabolic panel",
                      charge=Decimal("52.00"), insurance_paid=Decimal("11.44"),
                      insurance_adjusted=Decimal("28.96"),
                      balance=Decimal("11.60")),
        StatementLine(service_date=visit2, claim_number="CLM24-0388", procedure_code="36415",
                      description="Routine venipuncture (blood draw)",
                      charge=Decimal("18.50"), insurance_paid=Decimal("2.40"),
                      insurance_adjusted=Decimal("13.10"),
                      balance=Decimal("3.00")),
        StatementLine(service_date=visit3 - timedelta(days=5), claim_number=None,
                      description="Payment received - thank you (check 1043)",
                      patient_paid=Decimal("20.00"), balance=Decimal("-20.00")),
        StatementLine(service_date=visit3, claim_number="CLM24-0561", procedure_code="99213",
                      description="Office visit, established patient, low complexity",
                      charge=Decimal("145.00"), insurance_paid=Decimal("0.00"),
                      insurance_adjusted=Decimal("42.84"),
                      balance=Decimal("102.16")),
        StatementLine(service_date=visit3, claim_number="CLM24-0561", procedure_code="85025",
                      description="Complete blood count (CBC) with differential",
                      charge=Decimal("38.00"), insurance_paid=Decimal("0.00"),
                      insurance_adjusted=Decimal("26.75"),
                      balance=Decimal("11.25")),
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



def sample_estimate(*, self_pay: bool = False, services: int | None = None,
                    **overrides: Any) -> Any:
    """A :class:`~medbill_core.domain.estimate.CostEstimate` made by the core's estimator.

    Insured: a visit (copay), an ECG and a panel (the last $20.00 of the deductible, then 20%
    coinsurance). ``self_pay``: the same services without insurance, 10% self-pay discount.
    ``services``: that many generated insured services (for long estimates).
    """
    from medbill_core.api import BenefitSummary, PlannedService
    from medbill_core.api import estimate_costs as estimate

    planned = [
        PlannedService(procedure_code="99214", charge=Decimal("210.00"), allowed=Decimal("132.50"),
                       description="Office visit, established patient, moderate complexity"),
        PlannedService(procedure_code="93000", charge=Decimal("85.00"), allowed=Decimal("24.60"),
                       description="Electrocardiogram (ECG) with interpretation and report"),
        PlannedService(procedure_code="80053", charge=Decimal("52.00"), allowed=Decimal("11.44"),
                       description="Comprehensive metabolic panel"),
    ]
    if services is not None:
        planned = [PlannedService(procedure_code=_SERVICES[i % len(_SERVICES)][0],
                                  modifiers=["59"] if i % 5 == 4 else [],
                                  charge=_SERVICES[i % len(_SERVICES)][2] + i,
                                  allowed=(_SERVICES[i % len(_SERVICES)][2] * Decimal("0.6")
                                           ).quantize(Decimal("0.01")) + i)
                   for i in range(services)]
    benefits = None if self_pay else BenefitSummary(
        copay=Decimal("30.00"), coinsurance=Decimal("0.20"), deductible=Decimal("500.00"),
        deductible_remaining=Decimal("20.00"), out_of_pocket=Decimal("3000.00"),
        out_of_pocket_remaining=Decimal("1850.00"))
    values: dict[str, Any] = {
        "estimate_number": "E24-000042", "practice": sample_statement().practice,
        "patient": factories.make_patient(7, first_name="Jordan", last_name="Sample",
                                          address=factories.make_address(
                                              line1="48 Maple Avenue", line2="Apt 2B")),
        "service_date": date(2024, 3, 18), "services": planned, "benefits": benefits,
        "payer_name": None if self_pay else "Acme Health Plan",
        "self_pay_discount": Decimal("0.10") if self_pay else Decimal("0"),
    }
    values.update(overrides)
    return estimate(**values)
