"""Tenancy: each practice sees and changes only its own records (storage/tenancy.py), on both
databases. The HTTP API's per-route isolation test builds on this (test_http_tenancy.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import StatementError

from medbill_core.domain.base import saved_id
from medbill_core.domain.identity import Principal, PrincipalKind, Role
from medbill_core.errors import ConfigurationError, NotFound
from medbill_core.services.identity import add_practice, practices_of
from medbill_core.services.practices import practice_profile
from medbill_core.storage.schema import AuditEventRow, ClaimRow, LedgerEntryRow, PatientRow
from medbill_core.testing.factories import make_claim, make_coverage, make_patient, make_provider


def _administrator(practice_id: int, name: str) -> Principal:
    return Principal(kind=PrincipalKind.USER, id=0, name=name, practice_id=practice_id,
                     role=Role.ADMINISTRATOR, bootstrap=True)


@pytest.fixture
def two_practices(medbill_app):
    """The configured practice (``default``) and a second one, each with a patient numbered
    A00001, a provider with the same NPI, and a claim."""
    first = medbill_app.default_practice_id()
    assert first is not None
    with medbill_app.unit_of_work(principal=_administrator(first, "owner")) as work:
        second = add_practice(work, work.principal, "smith-peds", "Smith Pediatrics",
                              details=medbill_app.config.practice.model_copy(
                                  update={"name": "Smith Pediatrics"})).id
    claims = {}
    for practice_id in (first, second):
        with medbill_app.unit_of_work(principal=_administrator(practice_id, "owner")) as work:
            work.patients.register_provider(make_provider())
            patient = work.patients.register(make_patient(1))
            coverage = work.patients.add_coverage(saved_id(patient),
                                                  make_coverage(saved_id(patient)))
            claim = work.claims.create(make_claim(saved_id(patient),
                                                  coverage_id=saved_id(coverage),
                                                  number=f"CLM{practice_id:04d}"))
            claims[practice_id] = saved_id(claim)
    return first, second, claims


def test_each_practice_sees_only_its_own_records(medbill_app, two_practices) -> None:
    first, second, claims = two_practices
    for mine, theirs in ((first, second), (second, first)):
        with medbill_app.unit_of_work(principal=_administrator(mine, "owner"),
                                      read_only=True) as work:
            assert [saved_id(c) for c in work.claims.list()] == [claims[mine]]
            assert work.claims.get(claims[mine]).claim_number == f"CLM{mine:04d}"
            with pytest.raises(NotFound):
                work.claims.get(claims[theirs])
            with pytest.raises(NotFound):
                work.claims.find(f"CLM{theirs:04d}")
            # the same account number in both practices: each finds its own
            patient = work.patients.by_account("A00001")
            assert work.session.get(PatientRow, saved_id(patient)).practice_id == mine
            assert work.session.scalar(select(func.count()).select_from(PatientRow)) == 1
            # the ledger's sums see only this practice's charges
            entries = work.session.scalars(select(LedgerEntryRow.practice_id)).all()
            assert entries and set(entries) == {mine}
    with medbill_app.unit_of_work(read_only=True) as work:  # the configured practice
        assert [saved_id(c) for c in work.claims.list()] == [claims[first]]


def test_rows_are_written_to_the_acting_practice(medbill_app, two_practices) -> None:
    first, second, claims = two_practices
    with medbill_app.database.reader() as session:  # unscoped: the installation's view
        assert dict(session.execute(select(ClaimRow.id, ClaimRow.practice_id)).all()) == {
            claims[first]: first, claims[second]: second}
        created = session.scalars(select(AuditEventRow.practice_id).where(
            AuditEventRow.entity_type == "claim")).all()
        assert created and set(created) == {first, second}


def test_an_update_cannot_reach_another_practice(medbill_app, two_practices) -> None:
    first, second, claims = two_practices
    from sqlalchemy import update

    with medbill_app.unit_of_work(principal=_administrator(first, "owner")) as work:
        changed = work.session.execute(update(ClaimRow).values(payer_claim_number="X")
                                       .execution_options(synchronize_session=False))
        assert changed.rowcount == 1
    with medbill_app.database.reader() as session:
        assert dict(session.execute(select(ClaimRow.id, ClaimRow.payer_claim_number)).all()) \
            == {claims[first]: "X", claims[second]: None}


def test_practice_details_follow_the_acting_practice(medbill_app, two_practices) -> None:
    first, second, _ = two_practices
    with medbill_app.unit_of_work(principal=_administrator(second, "owner"),
                                  read_only=True) as work:
        assert practice_profile(work).name == "Smith Pediatrics"
        billable = work.claims.billable(saved_id(work.claims.list()[0]))
        assert billable.practice.name == "Smith Pediatrics"
    with medbill_app.unit_of_work(principal=_administrator(first, "owner"),
                                  read_only=True) as work:
        assert practice_profile(work) == medbill_app.config.practice


def test_a_practice_without_details_cannot_bill(medbill_app) -> None:
    first = medbill_app.default_practice_id()
    with medbill_app.unit_of_work(principal=_administrator(first, "owner")) as work:
        bare = add_practice(work, work.principal, "bare", "Bare Clinic").id
    with medbill_app.unit_of_work(principal=_administrator(bare, "owner"),
                                  read_only=True) as work, \
            pytest.raises(ConfigurationError, match="'bare' has no billing details"):
        practice_profile(work)


def test_the_installation_cannot_create_a_practiceless_record(medbill_app) -> None:
    medbill_app._default_practice_id = None
    medbill_app.config = medbill_app.config.model_copy(update={"practice_code": "nowhere"})
    # raised by the column's default: SQLAlchemy wraps it (the command line unwraps it)
    with pytest.raises((ConfigurationError, StatementError), match="no practice is chosen"), \
            medbill_app.unit_of_work() as work:
        work.patients.register(make_patient(9))
    with medbill_app.database.reader() as session:
        assert session.scalar(select(func.count()).select_from(PatientRow)) == 0


def test_a_key_lists_its_own_practice(medbill_app, two_practices) -> None:
    _, second, _ = two_practices
    key = Principal(kind=PrincipalKind.API_KEY, id=1, name="ehr", practice_id=second,
                    role=Role.BILLER)
    with medbill_app.unit_of_work(principal=key, read_only=True) as work:
        assert [p.code for p in practices_of(work, key)] == ["smith-peds"]


def test_webhooks_and_the_audit_trail_are_per_practice(medbill_app, two_practices) -> None:
    from medbill_core import audit
    from medbill_core.services.webhooks import add_subscription, list_subscriptions
    from medbill_core.storage.schema import WebhookDeliveryRow, WebhookEventRow
    from medbill_core.storage.webhook_outbox import record

    first, second, claims = two_practices
    subscriptions = {}
    for practice_id in (first, second):
        with medbill_app.unit_of_work(principal=_administrator(practice_id, "owner")) as work:
            subscriptions[practice_id] = add_subscription(
                work, "http://127.0.0.1:9/hook", ["claim.paid"]).subscription.id
    for practice_id in (first, second):
        with medbill_app.unit_of_work(principal=_administrator(practice_id, "owner")) as work:
            assert [s.id for s in list_subscriptions(work)] == [subscriptions[practice_id]]
            record(work.session, "claim.paid", {"claim_id": claims[practice_id]})
    with medbill_app.database.reader() as session:
        delivered = session.execute(
            select(WebhookEventRow.payload, WebhookDeliveryRow.subscription_id)
            .join(WebhookDeliveryRow, WebhookDeliveryRow.event_id == WebhookEventRow.id)).all()
    assert sorted((payload["claim_id"], target) for payload, target in delivered) == sorted(
        (claims[p], subscriptions[p]) for p in (first, second))
    with medbill_app.unit_of_work(principal=_administrator(second, "owner"),
                                  read_only=True) as work:
        trail = audit.query(work.session, limit=1000)
        assert trail and {event.entity_id for event in trail
                          if event.entity_type == "claim"} == {str(claims[second])}
