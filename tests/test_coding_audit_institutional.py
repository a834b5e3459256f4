"""The coding audit looks at providers' professional coding: institutional (UB-04) claims
are left out of its counts."""

from __future__ import annotations

from medbill_core.app import Medbill
from medbill_core.domain import ClaimState
from medbill_core.services import coding_audit as ca
from medbill_core.testing import factories


def test_institutional_claims_are_not_counted(medbill_app: Medbill) -> None:
    with medbill_app.unit_of_work() as work:
        patient = work.patients.register(factories.make_patient(1))
        coverage = work.patients.add_coverage(patient.id, factories.make_coverage(patient.id))
        work.patients.register_provider(factories.make_provider())
        office = work.claims.create(factories.make_claim(
            patient.id, coverage_id=coverage.id, number="PRO1"))
        stay = work.claims.create(factories.make_institutional_claim(
            patient.id, coverage_id=coverage.id, inpatient=True, number="INP1",
            service_date=office.service_date_from))
        for claim in (office, stay):
            work.claims.transition(claim.id, ClaimState.VALIDATED)
    window = ca.AuditFilters(date_from=office.service_date_from, date_to=stay.service_date_to)
    with medbill_app.unit_of_work() as work:
        report = ca.coding_report(work, window)
    assert report.reference_claims == 1
    assert [(provider.npi, provider.claims) for provider in report.providers] == [
        (office.rendering_provider_npi, 1)]
