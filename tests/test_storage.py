"""Storage on SQLite and PostgreSQL: migrations, exact money, round trips, transactions."""

from __future__ import annotations

from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select, text

from medbill_core.domain import ClaimFrequency, ClaimState
from medbill_core.errors import MedbillError, UnknownPayer, ValidationFailed
from medbill_core.jobs.schema import not_a_job_table
from medbill_core.storage.database import Database
from medbill_core.storage.schema import Base, ClaimLineRow, PatientRow
from medbill_core.testing.factories import (
    make_claim,
    make_coverage,
    make_line,
    make_patient,
    make_provider,
)


def test_migrations_create_exactly_the_model_schema(medbill_db_url: str) -> None:
    database = Database(medbill_db_url)
    assert database.current_revision() is None
    database.upgrade()
    assert database.current_revision() == database.head_revision()
    assert database.head_revision() >= "0002"
    with database.engine.connect() as connection:
        # procrastinate's tables (medbill worker) are applied beside the models on PostgreSQL
        context = MigrationContext.configure(connection,
                                             opts={"include_name": not_a_job_table})
        diff = compare_metadata(context, Base.metadata)
        tables = set(inspect(connection).get_table_names())
    assert diff == []
    assert set(Base.metadata.tables) <= tables
    database.upgrade()  # idempotent
    database.require_current()
    database.dispose()


def test_outdated_schema_is_reported(medbill_db_url: str) -> None:
    database = Database(medbill_db_url)
    with pytest.raises(MedbillError, match="run 'medbill db upgrade'"):
        database.require_current()
    database.dispose()


def test_patient_coverage_and_claim_round_trip(medbill_app) -> None:
    patient_in = make_patient(7, middle_name="Q")
    with medbill_app.unit_of_work() as work:
        patient = work.patients.register(patient_in)
        coverage = work.patients.add_coverage(patient.id, make_coverage(dependent=True))
        work.patients.register_provider(make_provider())
        claim_in = make_claim(patient.id, coverage_id=coverage.id, lines=3, number="RT-1",
                              prior_authorization="AUTH77")
        claim = work.claims.create(claim_in)
    with medbill_app.unit_of_work() as work:
        stored_patient = work.patients.get(patient.id)
        # a dependent: the subscriber became the guarantor when the coverage was added
        assert stored_patient.guarantor_relationship == "parent"
        assert stored_patient == patient_in.model_copy(update={
            "id": patient.id, "guarantor_id": stored_patient.guarantor_id,
            "guarantor_relationship": stored_patient.guarantor_relationship})
        stored_coverage = work.patients.coverages(patient.id)[0]
        assert stored_coverage.subscriber.last_name == "Testsubscriber"
        assert stored_coverage.relationship.value == "19"
        stored = work.claims.by_number("RT-1")
        billable = work.claims.billable(claim.id)
    expected = claim_in.model_copy(update={"id": claim.id, "created_at": stored.created_at})
    assert stored == expected
    assert stored.total_charge == Decimal("162.00")
    assert billable.rendering_provider.npi == make_provider().npi
    assert billable.payer.key == "acme" and billable.coverage.id == coverage.id


def test_money_and_units_are_exact(medbill_app) -> None:
    lines = [make_line(1, charge=Decimal("0.10"), units=Decimal("0.333")),
             make_line(2, charge=Decimal("0.20"), procedure_code="36415"),
             make_line(3, charge=Decimal("99999999.99"), procedure_code="J3420",
                       units=Decimal("12.5"))]
    with medbill_app.unit_of_work() as work:
        patient = work.patients.register(make_patient(8))
        coverage = work.patients.add_coverage(patient.id, make_coverage())
        claim = work.claims.create(make_claim(patient.id, coverage_id=coverage.id,
                                              number="EXACT").model_copy(update={"lines": lines}))
    with medbill_app.unit_of_work() as work:
        stored = work.claims.get(claim.id)
        assert [line.charge for line in stored.lines] == [Decimal("0.10"), Decimal("0.20"),
                                                         Decimal("99999999.99")]
        assert [line.units for line in stored.lines] == [Decimal("0.333"), Decimal("1"),
                                                        Decimal("12.5")]
        assert work.ledger.claim_balance(claim.id).insurance == Decimal("100000000.29")
        raw = work.session.execute(select(ClaimLineRow.charge).where(
            ClaimLineRow.claim_id == claim.id).order_by(ClaimLineRow.line_number)).scalars()
        assert list(raw) == [Decimal("0.10"), Decimal("0.20"), Decimal("99999999.99")]
        cents = work.session.execute(text(
            "select sum(charge) from claim_lines where claim_id = :c"), {"c": claim.id}).scalar()
        assert int(cents) == 10000000029


def test_a_failed_unit_of_work_leaves_nothing(medbill_app) -> None:
    with pytest.raises(UnknownPayer), medbill_app.unit_of_work() as work:
        patient = work.patients.register(make_patient(9))
        work.claims.create(make_claim(patient.id, coverage_id=None, number="SELF-9"))
        work.claims.create(make_claim(patient.id, coverage_id=None, number="BAD-9")
                           .model_copy(update={"payer_key": "nobody"}))
    with medbill_app.database.reader() as session:
        assert session.scalars(select(PatientRow)).all() == []


def test_claim_creation_checks_references(medbill_app) -> None:
    with medbill_app.unit_of_work() as work:
        patient = work.patients.register(make_patient(10))
        other = work.patients.register(make_patient(11))
        coverage = work.patients.add_coverage(other.id, make_coverage())
        work.claims.create(make_claim(patient.id, coverage_id=None, number="DUP"))
    cases = [
        (make_claim(9999, coverage_id=None, number="NOPAT"), "patient_id: no such patient"),
        (make_claim(patient.id, coverage_id=coverage.id, number="WRONGCOV"),
         "coverage_id: no such coverage for this patient"),
        (make_claim(patient.id, coverage_id=None, number="DUP"),
         "claim_number: already used"),
    ]
    for claim, message in cases:
        with pytest.raises(ValidationFailed, match=message), \
                medbill_app.unit_of_work() as work:
            work.claims.create(claim)


def test_replacement_claim_and_draft_edit(medbill_app) -> None:
    with medbill_app.unit_of_work() as work:
        patient = work.patients.register(make_patient(12))
        coverage = work.patients.add_coverage(patient.id, make_coverage())
        original = work.claims.create(make_claim(patient.id, coverage_id=coverage.id,
                                                 number="ORIG"))
        edited = work.claims.update_draft(original.id, make_claim(
            patient.id, coverage_id=coverage.id, number="ORIG", lines=2))
        assert edited.total_charge == Decimal("143.50")
        assert work.ledger.claim_balance(original.id).insurance == Decimal("143.50")
        replacement = work.claims.create(make_claim(
            patient.id, coverage_id=coverage.id, number="ORIG-R1",
            frequency=ClaimFrequency.REPLACEMENT, original_claim_reference="PCN123",
            replaces_claim_id=original.id))
    assert replacement.frequency is ClaimFrequency.REPLACEMENT
    assert replacement.replaces_claim_id == original.id
    with medbill_app.unit_of_work() as work:
        # a validated claim not sent yet is edited back to draft; a submitted one is not
        work.claims.transition(original.id, ClaimState.VALIDATED)
        assert work.claims.update_draft(original.id, make_claim(
            patient.id, coverage_id=coverage.id, number="ORIG")).state is ClaimState.DRAFT
        for target in (ClaimState.VALIDATED, ClaimState.SUBMITTED):
            work.claims.transition(original.id, target)
        with pytest.raises(ValidationFailed, match="only draft claims can be edited"):
            work.claims.update_draft(original.id, make_claim(
                patient.id, coverage_id=coverage.id, number="ORIG"))


def test_editing_a_draft_reposts_only_the_charge_difference(medbill_app) -> None:
    """A payment already taken on a self-pay draft must not be mistaken for a charge change."""
    from medbill_core.domain import Payment, PaymentMethodKind
    from medbill_core.services.payments import record_payment

    with medbill_app.unit_of_work() as work:
        patient = work.patients.register(make_patient(13))
        claim = work.claims.create(make_claim(patient.id, coverage_id=None, number="SELF13"))
        record_payment(work, Payment(patient_id=patient.id, amount=Decimal("30.00"),
                                     method=PaymentMethodKind.CASH,
                                     received_on=claim.service_date_from))
        work.claims.update_draft(claim.id, make_claim(patient.id, coverage_id=None,
                                                      number="SELF13", lines=2))
        totals = work.ledger.totals(claim_id=claim.id)
    assert totals.charges == Decimal("143.50")
    assert totals.balance.patient == Decimal("113.50")
    assert totals.is_balanced()


def test_the_schema_head_read_from_the_migration_files_is_alembics() -> None:
    """`require_current` reads the head without Alembic; it must agree with Alembic's."""
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    from medbill_core.storage.database import MIGRATIONS, script_head

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert script_head() == ScriptDirectory.from_config(config).get_current_head()
    assert script_head() == sorted(p.name[:4] for p in (MIGRATIONS / "versions").glob("0*.py"))[-1]


def test_sqlite_connections_use_wal_with_normal_sync(tmp_path) -> None:
    """WAL, synchronous=NORMAL (see _sqlite_pragmas: durable against crashes of medbill, no
    fsync per commit), foreign keys and a busy timeout, on writers and readers alike."""
    database = Database(f"sqlite:///{tmp_path / 'pragmas.db'}")
    try:
        database.upgrade()
        with database.transaction() as session, database.reader() as reader:
            for opened in (session, reader):
                pragmas = [opened.execute(text(f"PRAGMA {name}")).scalar() for name in
                           ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")]
                assert pragmas == ["wal", 1, 1, 10000]
    finally:
        database.dispose()
