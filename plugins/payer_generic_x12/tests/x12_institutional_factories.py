"""Institutional (837I) claims for the X12 tests: valid, PHI-free made-up data."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from x12_factories import (
    BILLING_NPI,
    REFERRING_NPI,
    RENDERING_NPI,
    coverage,
    patient,
    payer,
    practice,
)

from medbill_core.api import (
    BillableClaim,
    Claim,
    ClaimAdjustmentRef,
    ClaimKind,
    CoverageOrder,
    InstitutionalDetails,
    InstitutionalProcedure,
    Occurrence,
    OccurrenceSpan,
    Payer,
    PresentOnAdmission,
    PriorLineAdjudication,
    PriorPayerAdjudication,
    Provider,
    Relationship,
    ServiceLine,
    ValueAmount,
    npi_with_check_digit,
)

ATTENDING_NPI = npi_with_check_digit("523456789")
OPERATING_NPI = npi_with_check_digit("623456789")
OTHER_OPERATING_NPI = npi_with_check_digit("723456789")
ADMITTED = date(2024, 3, 1)
DISCHARGED = date(2024, 3, 4)

ATTENDING = Provider(npi=ATTENDING_NPI, last_name="WELBY", first_name="MARCUS",
                     taxonomy="207R00000X")
OPERATING = Provider(npi=OPERATING_NPI, last_name="KILDARE", first_name="JAMES")
OTHER_OPERATING = Provider(npi=OTHER_OPERATING_NPI, last_name="QUINN", first_name="MICHAELA")


def revenue_line(number: int, revenue: str, charge: str, *, code: str | None = None,
                 units: str = "1", day: date = ADMITTED, to: date | None = None,
                 modifiers: list[str] | None = None) -> ServiceLine:
    return ServiceLine(line_number=number, revenue_code=revenue, procedure_code=code,
                       modifiers=modifiers or [], units=Decimal(units), charge=Decimal(charge),
                       service_date_from=day, service_date_to=to,
                       line_control_number=f"LCN{number:03d}")


def outpatient(number: str = "CLMI1001", *, the_payer: Payer | None = None,
               relationship: Relationship = Relationship.SELF) -> BillableClaim:
    """Type of bill 0131: an emergency visit with a CBC and a chest X-ray, HCPCS on each
    line, a reason for visit and no POA."""
    the_payer = the_payer or payer()
    details = InstitutionalDetails(
        facility_type_code="13", admission_date=ADMITTED, admission_hour=9,
        admission_type="1", admission_source="7", patient_status="01",
        attending_provider_npi=ATTENDING_NPI, reason_for_visit=["R0602"])
    lines = [revenue_line(1, "0450", "1250.00", code="99284", modifiers=["25"]),
             revenue_line(2, "0300", "95.00", code="85025"),
             revenue_line(3, "0320", "310.00", code="71046")]
    return _bill(number, the_payer, details, lines, ["J189", "R0602"], ADMITTED, ADMITTED,
                 relationship=relationship, place="22")


def inpatient(number: str = "CLMI2001", *, priors: list[PriorPayerAdjudication] | None = None,
              order: CoverageOrder = CoverageOrder.PRIMARY,
              the_payer: Payer | None = None) -> BillableClaim:
    """Type of bill 0111: a three-day stay for an appendectomy with everything an 837I
    carries: POA (one exempt), admitting diagnosis, external cause, DRG, principal and other
    ICD-10-PCS procedures, occurrence, span, value and condition codes, attending, operating
    and other operating physicians."""
    the_payer = the_payer or payer()
    details = InstitutionalDetails(
        facility_type_code="11", admission_date=ADMITTED, admission_hour=14,
        admission_type="1", admission_source="7", discharge_hour=11, patient_status="01",
        attending_provider_npi=ATTENDING_NPI, operating_provider_npi=OPERATING_NPI,
        other_operating_provider_npi=OTHER_OPERATING_NPI,
        present_on_admission=[PresentOnAdmission.YES, PresentOnAdmission.NO, None],
        admitting_diagnosis="R1031", external_causes=["W010XXA"],
        principal_procedure=InstitutionalProcedure(code="0DTJ4ZZ", procedure_date=ADMITTED),
        other_procedures=[InstitutionalProcedure(code="0DJD8ZZ", procedure_date=date(2024, 3, 2))],
        occurrences=[Occurrence(code="11", occurrence_date=date(2024, 2, 28))],
        occurrence_spans=[OccurrenceSpan(code="74", date_from=date(2024, 3, 2),
                                         date_to=date(2024, 3, 3))],
        values=[ValueAmount(code="80", amount=Decimal("3")),
                ValueAmount(code="A1", amount=Decimal("250.50"))],
        condition_codes=["39", "A1"], drg="343")
    lines = [revenue_line(1, "0120", "3600.00", units="3", to=date(2024, 3, 3)),
             revenue_line(2, "0250", "480.00", units="12"),
             revenue_line(3, "0360", "8200.00")]
    return _bill(number, the_payer, details, lines, ["K3580", "E119", "Z880"], ADMITTED,
                 DISCHARGED, priors=priors, order=order, place="21")


def secondary_inpatient(number: str = "CLMI3001") -> BillableClaim:
    """An inpatient claim to a secondary payer whose primary adjudicated the lines (2430):
    room and board under its revenue code, the operating room under a HCPCS it assigned."""
    primary = payer("87726", "FIRST PAYER INC")

    def cas(group: str, reason: str, amount: str) -> ClaimAdjustmentRef:
        return ClaimAdjustmentRef(group_code=group, reason_code=reason, amount=Decimal(amount))

    prior = PriorPayerAdjudication(
        payer=primary, coverage=coverage(primary, member_id="PRIM998877"),
        paid_amount=Decimal("9000.00"), paid_date=date(2024, 3, 20),
        claim_adjustments=[],
        line_adjudications=[
            PriorLineAdjudication(line_number=1, procedure_qualifier="NU", procedure_code="0120",
                                  paid_amount=Decimal("3000.00"), paid_units=Decimal(3),
                                  adjustments=[cas("CO", "45", "600.00")]),
            PriorLineAdjudication(line_number=2, procedure_qualifier="NU", procedure_code="0250",
                                  paid_amount=Decimal("400.00"), paid_units=Decimal(12),
                                  adjustments=[cas("CO", "45", "80.00")]),
            PriorLineAdjudication(line_number=3, procedure_code="44970",
                                  paid_amount=Decimal("5600.00"), paid_units=Decimal(1),
                                  adjustments=[cas("CO", "45", "2000.00"),
                                               cas("PR", "1", "600.00")],
                                  remaining_patient_liability=Decimal("600.00")),
        ])
    return inpatient(number, priors=[prior], order=CoverageOrder.SECONDARY,
                     the_payer=payer("60054", "ACME HEALTH PLAN"))


def _bill(number: str, the_payer: Payer, details: InstitutionalDetails,
          lines: list[ServiceLine], diagnoses: list[str], start: date, end: date, *,
          place: str, relationship: Relationship = Relationship.SELF,
          priors: list[PriorPayerAdjudication] | None = None,
          order: CoverageOrder = CoverageOrder.PRIMARY) -> BillableClaim:
    the_practice = practice(BILLING_NPI, "MERCY GENERAL HOSPITAL")
    return BillableClaim(
        claim=Claim(claim_number=number, patient_id=0, payer_key=the_payer.key,
                    billing_provider_npi=the_practice.npi, kind=ClaimKind.INSTITUTIONAL,
                    rendering_provider_npi=RENDERING_NPI, referring_provider_npi=REFERRING_NPI,
                    place_of_service=place, service_date_from=start, service_date_to=end,
                    diagnoses=diagnoses, lines=lines, prior_authorization="AUTH-5521",
                    institutional=details),
        practice=the_practice, patient=patient(), payer=the_payer,
        coverage=coverage(the_payer, relationship=relationship, order=order),
        rendering_provider=Provider(npi=RENDERING_NPI, last_name="SMITH", first_name="ALAN"),
        referring_provider=Provider(npi=REFERRING_NPI, last_name="JONES", first_name="MARY"),
        attending_provider=ATTENDING,
        operating_provider=OPERATING if details.operating_provider_npi else None,
        other_operating_provider=OTHER_OPERATING if details.other_operating_provider_npi
        else None,
        prior_adjudications=priors or [])
