"""The billable form of an institutional claim names its attending and operating providers
(837I loops 2310A/B need their names), resolved from the NPIs of its details."""

from __future__ import annotations

from medbill_core.testing import factories


def test_attending_and_operating_providers_are_resolved_by_npi(medbill_app) -> None:
    attending = factories.make_provider(factories.ATTENDING_NPI, last_name="Welby")
    operating = factories.make_provider(factories.RENDERING_NPI, last_name="Kildare")
    with medbill_app.unit_of_work() as work:
        patient = work.patients.register(factories.make_patient(1))
        coverage = work.patients.add_coverage(patient.id, factories.make_coverage(patient.id))
        work.patients.register_providers([attending, operating])
        inpatient = work.claims.create(factories.make_institutional_claim(
            patient.id, coverage_id=coverage.id, inpatient=True, number="INP1"))
        outpatient = work.claims.create(factories.make_institutional_claim(
            patient.id, coverage_id=coverage.id, number="OUT1"))
        professional = work.claims.create(factories.make_claim(
            patient.id, coverage_id=coverage.id, number="PRO1"))
    with medbill_app.unit_of_work() as work:
        bills = work.claims.billable_many([work.claims.get(inpatient.id),
                                           work.claims.get(outpatient.id),
                                           work.claims.get(professional.id)])
    stay, visit, office = bills[inpatient.id], bills[outpatient.id], bills[professional.id]
    assert stay.attending_provider is not None and stay.attending_provider.last_name == "Welby"
    assert stay.operating_provider is not None and stay.operating_provider.last_name == "Kildare"
    assert stay.other_operating_provider is None
    assert visit.attending_provider is not None and visit.operating_provider is None
    assert office.attending_provider is None and office.operating_provider is None


def test_an_attending_npi_without_a_provider_record_stays_unresolved(medbill_app) -> None:
    with medbill_app.unit_of_work() as work:
        patient = work.patients.register(factories.make_patient(1))
        coverage = work.patients.add_coverage(patient.id, factories.make_coverage(patient.id))
        claim = work.claims.create(factories.make_institutional_claim(
            patient.id, coverage_id=coverage.id))
    with medbill_app.unit_of_work() as work:
        bill = work.claims.billable(claim.id)
    assert bill.claim.institutional is not None
    assert bill.claim.institutional.attending_provider_npi == factories.ATTENDING_NPI
    assert bill.attending_provider is None
