"""Domain objects for the X12 tests: valid, PHI-free made-up data, one function per shape."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from medbill_payer_generic_x12.transactions.common import payer_key_for

from medbill_core.api import (
    Address,
    BillableClaim,
    Claim,
    ClaimAdjustmentRef,
    Coverage,
    CoverageOrder,
    Patient,
    Payer,
    Practice,
    PriorLineAdjudication,
    PriorPayerAdjudication,
    Provider,
    Relationship,
    ServiceLine,
    Sex,
    Subscriber,
    npi_with_check_digit,
)

BILLING_NPI = npi_with_check_digit("123456789")
OTHER_BILLING_NPI = npi_with_check_digit("223456789")
RENDERING_NPI = npi_with_check_digit("323456789")
REFERRING_NPI = npi_with_check_digit("423456789")
DIAGNOSES = ["J449", "E119", "I10", "M545", "R0602", "Z0000", "K219", "F419", "G4700", "N390",
             "R51", "E785"]


def address(line1: str = "100 MAIN ST", postal_code: str = "646011234") -> Address:
    return Address(line1=line1, city="KANSAS CITY", state="MO", postal_code=postal_code)


def practice(npi: str = BILLING_NPI, name: str = "SUNRISE FAMILY MEDICINE") -> Practice:
    return Practice(name=name, npi=npi, tax_id="431234567", taxonomy="207Q00000X",
                    address=address("200 CLINIC DR"), phone="8165550100",
                    contact_name="BILLING OFFICE")


def payer(payer_id: str = "60054", name: str = "ACME HEALTH PLAN", filing: str = "CI") -> Payer:
    return Payer(key=payer_key_for(payer_id), payer_id=payer_id, name=name,
                 adapter="generic_x12", claim_filing_indicator=filing)


def patient(account: str = "ACCT-1001") -> Patient:
    return Patient(account_number=account, last_name="DOE", first_name="JANE",
                   middle_name="Q", birth_date=date(1980, 2, 29), sex=Sex.FEMALE,
                   address=address("15 ELM ST", "64108"))


def coverage(the_payer: Payer, *, relationship: Relationship = Relationship.SELF,
             order: CoverageOrder = CoverageOrder.PRIMARY, member_id: str = "XYZ123456789"
             ) -> Coverage:
    subscriber = None
    if relationship is not Relationship.SELF:
        subscriber = Subscriber(last_name="DOE", first_name="JOHN", birth_date=date(1978, 5, 1),
                                sex=Sex.MALE, address=address("15 ELM ST", "64108"))
    return Coverage(payer_key=the_payer.key, order=order, member_id=member_id,
                    group_number="GRP-77", group_name="ACME EMPLOYEES", relationship=relationship,
                    subscriber=subscriber)


def line(number: int, *, code: str = "99213", charge: str = "125.00", modifiers: list[str] | None
         = None, pointers: list[int] | None = None, day: date = date(2024, 3, 4),
         units: str = "1") -> ServiceLine:
    return ServiceLine(line_number=number, procedure_code=code, modifiers=modifiers or [],
                       units=Decimal(units), charge=Decimal(charge),
                       diagnosis_pointers=pointers or [1], service_date_from=day,
                       line_control_number=f"LCN{number:03d}")


def claim(number: str = "CLM1001", *, lines: list[ServiceLine] | None = None,
          diagnoses: list[str] | None = None, the_payer: Payer | None = None,
          the_practice: Practice | None = None, relationship: Relationship = Relationship.SELF,
          order: CoverageOrder = CoverageOrder.PRIMARY, frequency: str = "1",
          original: str | None = None, priors: list[PriorPayerAdjudication] | None = None,
          prior_authorization: str | None = "AUTH-5521") -> BillableClaim:
    the_payer = the_payer or payer()
    the_practice = the_practice or practice()
    lines = lines or [line(1)]
    diagnoses = diagnoses or DIAGNOSES[:2]
    days = [item.service_date_from for item in lines] + [item.last_service_date for item in lines]
    return BillableClaim(
        claim=Claim(claim_number=number, patient_id=0, payer_key=the_payer.key,
                    billing_provider_npi=the_practice.npi, rendering_provider_npi=RENDERING_NPI,
                    referring_provider_npi=REFERRING_NPI, frequency=frequency,
                    original_claim_reference=original, place_of_service="11",
                    service_date_from=min(days), service_date_to=max(days), diagnoses=diagnoses,
                    lines=lines, prior_authorization=prior_authorization),
        practice=the_practice, patient=patient(), payer=the_payer,
        coverage=coverage(the_payer, relationship=relationship, order=order),
        rendering_provider=Provider(npi=RENDERING_NPI, last_name="SMITH", first_name="ALAN",
                                    taxonomy="207Q00000X"),
        referring_provider=Provider(npi=REFERRING_NPI, last_name="JONES", first_name="MARY"),
        prior_adjudications=priors or [])


def secondary_claim(number: str = "CLM2001") -> BillableClaim:
    primary = payer("87726", "FIRST PAYER INC")
    prior = PriorPayerAdjudication(
        payer=primary, coverage=coverage(primary, member_id="PRIM998877"),
        paid_amount=Decimal("80.00"), paid_date=date(2024, 3, 20),
        claim_adjustments=[
            ClaimAdjustmentRef(group_code="CO", reason_code="45", amount=Decimal("25.00")),
            ClaimAdjustmentRef(group_code="PR", reason_code="2", amount=Decimal("20.00")),
        ])
    return claim(number, order=CoverageOrder.SECONDARY, priors=[prior],
                 the_payer=payer("60054", "ACME HEALTH PLAN"))


def secondary_claim_with_lines(number: str = "CLM2002") -> BillableClaim:
    """A secondary claim whose primary adjudicated line by line (837P loops 2430): line 1 paid
    80.00 (CO-45 25.00, PR-2 20.00), line 2 paid 20.00 for 2 units (CO-45 10.00, PR-1 10.00),
    a claim-level CO-45 of 5.00, so the primary paid 95.00."""
    primary = payer("87726", "FIRST PAYER INC")

    def cas(group: str, reason: str, amount: str) -> ClaimAdjustmentRef:
        return ClaimAdjustmentRef(group_code=group, reason_code=reason, amount=Decimal(amount))

    prior = PriorPayerAdjudication(
        payer=primary, coverage=coverage(primary, member_id="PRIM998877"),
        paid_amount=Decimal("95.00"), paid_date=date(2024, 3, 20),
        claim_adjustments=[cas("CO", "45", "5.00")],
        line_adjudications=[
            PriorLineAdjudication(line_number=1, procedure_code="99213", modifiers=["25"],
                                  paid_amount=Decimal("80.00"), paid_units=Decimal(1),
                                  adjustments=[cas("CO", "45", "25.00"), cas("PR", "2", "20.00")],
                                  remaining_patient_liability=Decimal("20.00")),
            PriorLineAdjudication(line_number=2, procedure_code="85025",
                                  paid_amount=Decimal("20.00"), paid_units=Decimal(2),
                                  adjudication_date=date(2024, 3, 18),
                                  adjustments=[cas("CO", "45", "10.00"), cas("PR", "1", "10.00")],
                                  remaining_patient_liability=Decimal("10.00")),
        ])
    return claim(number, order=CoverageOrder.SECONDARY, priors=[prior],
                 lines=[line(1, modifiers=["25"]), line(2, code="85025", charge="40.00",
                                                         units="2")],
                 the_payer=payer("60054", "ACME HEALTH PLAN"))


def eligibility_request(trace: str = "TRACE-0001", *,
                        relationship: Relationship = Relationship.SELF):
    from medbill_core.api import EligibilityRequest

    the_payer = payer()
    return EligibilityRequest(trace_number=trace, practice=practice(), patient=patient(),
                              coverage=coverage(the_payer, relationship=relationship),
                              payer=the_payer, service_date=date(2024, 3, 4),
                              service_types=["30", "98"])

#: Sample X12 files written by others (see fixtures/SOURCES.md).
FIXTURES = Path(__file__).parent / "fixtures"
