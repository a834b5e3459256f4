"""The service layer checks the principal's role per action: the same refusal whichever front
end called (the command line and the HTTP API only pass the principal on); the installation's
own work (no principal) may do anything."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from medbill_core.app import Medbill
from medbill_core.domain.identity import Principal, PrincipalKind, Role
from medbill_core.errors import PermissionDenied
from medbill_core.permissions import Action
from medbill_core.services import denials, payments, remittance_register, submission, webhooks
from medbill_core.storage.schema import SubmissionRow
from medbill_core.testing.factories import (
    make_claim,
    make_coverage,
    make_patient,
    make_provider,
)


def principal(role: Role, name: str = "someone") -> Principal:
    return Principal(kind=PrincipalKind.USER, id=7, name=name, practice_id=1, role=role)


FRONT = principal(Role.FRONT_DESK, "fran")
BILLER = principal(Role.BILLER, "bill")
AUDITOR = principal(Role.AUDITOR, "audrey")
MANAGER = principal(Role.BILLING_MANAGER, "meg")


@pytest.fixture
def claim_id(medbill_app: Medbill) -> int:
    with medbill_app.unit_of_work() as work:  # the installation: no principal, no check
        patient = work.patients.register(make_patient(1))
        coverage = work.patients.add_coverage(patient.id, make_coverage())
        claim = work.claims.create(make_claim(patient.id, coverage_id=coverage.id))
        assert claim.id is not None
        return claim.id


def refused(error: pytest.ExceptionInfo[PermissionDenied]) -> str:
    assert error.value.exit_code == 3
    return str(error.value)


def test_class_services_check_their_public_methods(medbill_app: Medbill, claim_id: int) -> None:
    with medbill_app.unit_of_work(principal=FRONT) as work:
        assert work.claims.get(claim_id).id == claim_id  # everyone reads claims
        with pytest.raises(PermissionDenied) as error:
            work.claims.void(claim_id, reason="duplicate")
        assert refused(error) == "front_desk may not claims.void"
        with pytest.raises(PermissionDenied) as error:
            work.claims.delete_draft(claim_id, reason="duplicate")
        assert refused(error) == "front_desk may not claims.write"
        registered = work.patients.register(make_patient(2))  # the front desk registers
        assert registered.account_number == make_patient(2).account_number
    with medbill_app.unit_of_work(principal=AUDITOR) as work:
        assert [claim.id for claim in work.claims.list()] == [claim_id]
        with pytest.raises(PermissionDenied) as error:
            work.patients.register(make_patient(3))
        assert refused(error) == "auditor may not patients.write"
        with pytest.raises(PermissionDenied) as error:
            work.patients.register_provider(make_provider())
        assert refused(error) == "auditor may not providers.write"


def test_function_services_check_their_action(medbill_app: Medbill, claim_id: int) -> None:
    with medbill_app.unit_of_work(principal=BILLER) as work:
        with pytest.raises(PermissionDenied) as error:
            denials.write_off(work, 1, "small balance")
        assert refused(error) == "biller may not denials.write_off"
        with pytest.raises(PermissionDenied) as error:
            payments.refund_credit(work, 1, Decimal("5.00"), "overpaid")
        assert refused(error) == "biller may not payments.refund"
        assert remittance_register.list_remittances(work) == []
    with medbill_app.unit_of_work(principal=FRONT) as work:
        with pytest.raises(PermissionDenied) as error:
            remittance_register.list_remittances(work)
        assert refused(error) == "front_desk may not remittance.read"
        with pytest.raises(PermissionDenied) as error:
            webhooks.add_subscription(work, "http://127.0.0.1:9/hook", ["claim.paid"])
        assert refused(error) == "front_desk may not webhooks.manage"
    with medbill_app.unit_of_work(principal=MANAGER) as work:
        created = webhooks.add_subscription(work, "http://127.0.0.1:9/hook", ["claim.paid"])
        assert created.subscription.created_by == "user:meg"


def test_a_service_opening_its_own_units_of_work_takes_the_principal(
        medbill_app: Medbill, claim_id: int) -> None:
    with pytest.raises(PermissionDenied) as error:
        submission.submit(medbill_app, claim_ids=[claim_id], principal=FRONT)
    assert refused(error) == "front_desk may not claims.submit"
    # ... and, without one, the instance's acting_as (the command line's local user)
    medbill_app.acting_as = AUDITOR
    try:
        with pytest.raises(PermissionDenied) as error:
            submission.send_pending(medbill_app)
        assert refused(error) == "auditor may not claims.submit"
        with medbill_app.unit_of_work() as work:
            assert work.principal == AUDITOR and work.actor == "user:audrey"
    finally:
        medbill_app.acting_as = None
    with medbill_app.unit_of_work(read_only=True) as work:
        assert work.session.scalar(select(func.count()).select_from(SubmissionRow)) == 0
    # the installation's own work (the worker's jobs): no principal, no check
    medbill_app.require(Action.CLAIMS_SUBMIT)
    assert submission.send_pending(medbill_app) == []


def test_eligibility_estimates_and_webhook_pings_take_the_principal(
        medbill_app: Medbill, claim_id: int) -> None:
    from datetime import date

    from medbill_core.domain.estimate import PlannedService
    from medbill_core.services.eligibility import check_patient_eligibility
    from medbill_core.services.estimates import estimate_for_patient

    with pytest.raises(PermissionDenied) as error:
        check_patient_eligibility(medbill_app, make_patient(1).account_number, date.today(),
                                  ["30"], principal=AUDITOR)
    assert refused(error) == "auditor may not eligibility.check"
    with pytest.raises(PermissionDenied) as error:
        estimate_for_patient(medbill_app, 1, [PlannedService(procedure_code="99213")],
                             service_date=date.today(), principal=AUDITOR)
    assert refused(error) == "auditor may not estimates.create"
    with pytest.raises(PermissionDenied) as error:
        webhooks.send_test_event(medbill_app, 1, principal=BILLER)
    assert refused(error) == "biller may not webhooks.manage"
