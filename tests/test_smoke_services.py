from decimal import Decimal

from medbill_core.domain import ClaimState
from medbill_core.testing.factories import make_claim, make_coverage, make_patient


def test_register_patient_claim_and_ledger(medbill_app):
    with medbill_app.unit_of_work() as work:
        patient = work.patients.register(make_patient(1))
        coverage = work.patients.add_coverage(patient.id, make_coverage())
        claim = work.claims.create(make_claim(patient.id, coverage_id=coverage.id, lines=2))
    with medbill_app.unit_of_work() as work:
        totals = work.ledger.totals(claim_id=claim.id)
        assert totals.charges == Decimal("143.50")
        assert totals.balance.insurance == Decimal("143.50")
        assert totals.is_balanced()
        moved = work.claims.transition(claim.id, ClaimState.VALIDATED)
        assert moved.state is ClaimState.VALIDATED
