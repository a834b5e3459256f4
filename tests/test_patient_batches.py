"""Patients, coverages and providers registered in batches (both databases).

The batch methods send a number of SQL statements that does not grow with the batch (counted
with an Engine listener, audit events left out: writing them is the audit trail's business),
and leave the same rows and the same audit events, in the same order, as the per-item methods
called one by one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import date
from itertools import count
from typing import Any

import pytest
from sqlalchemy import select

from medbill_core.app import Medbill
from medbill_core.domain import CoverageOrder, Relationship, Sex, Subscriber
from medbill_core.errors import NotFound, UnknownPayer
from medbill_core.services.patients import NewCoverage
from medbill_core.storage.schema import (
    AuditEventRow,
    CoverageRow,
    GuarantorRow,
    PatientRow,
    ProviderRow,
)
from medbill_core.testing import factories
from medbill_core.testing.sql import sent_statements

#: statements a batch may send beyond those of the smaller batch (IN lists, executemany pages)
SLACK = 3
_names = count()


@pytest.fixture
def twin_app(request: pytest.FixtureRequest, medbill_backend: str, medbill_config: Any,
             tmp_path: Any) -> Iterator[Any]:
    """A second app like ``medbill_app``, on a database of its own."""
    if medbill_backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'twin.db'}"
        drop: Callable[[], None] = lambda: None  # noqa: E731
    else:
        server = request.getfixturevalue("medbill_postgres")
        name = f"medbill_twin{next(_names)}"
        url = server.create_database(name)
        drop = lambda: server.drop_database(name)  # noqa: E731
    app = Medbill.open(medbill_config.model_copy(update={"database_url": url}),
                       load_installed=False, upgrade=True)
    try:
        yield app
    finally:
        app.close()
        drop()


def counted(app: Any) -> AbstractContextManager[list[str]]:
    """The statements sent meanwhile, but those writing or reading audit events."""
    return sent_statements(app.database.engine, keep=lambda sql: "audit_events" not in sql)


def subscriber(last: str, first: str, born: date) -> Subscriber:
    return Subscriber(last_name=last, first_name=first, birth_date=born, sex=Sex.UNKNOWN,
                      address=factories.make_address())


def scenario() -> list[tuple[list[Any], list[Any], list[tuple[int, Any]]]]:
    """Batches of (providers, patients, coverages by patient index): a first, a second mixing
    new records, repeats and changes, a third of new records only (its dependents' guarantors
    chosen by one batch)."""
    providers = [factories.make_provider(), factories.make_provider(
        "1245319599", last_name="Okafor")]
    patients = [factories.make_patient(n) for n in range(1, 4)]
    coverages = [(0, factories.make_coverage(member_id="M0")),
                 (1, factories.make_coverage(payer_key="medicare", member_id="1EG4TE5MK73"))]
    # the second batch
    parent = factories.make_patient(7, last_name="Family", first_name="Pat",
                                     birth_date=date(1970, 3, 3))
    more_providers = [factories.make_provider("1679576722", last_name="Ng"),
                      providers[1].model_copy(update={"taxonomy": "208D00000X"}),  # a change
                      factories.make_provider("1679576722", last_name="Ng", first_name="Li")]
    more_patients = [patients[0].model_copy(update={"phone": "5555550199"}),  # a change
                     factories.make_patient(4), factories.make_patient(5),
                     factories.make_patient(5, email="five@example.org"),  # repeated: updated
                     factories.make_patient(6), parent, patients[2]]  # unchanged
    family = subscriber("Family", "Pat", date(1970, 3, 3))
    more_coverages = [  # by index in the patients stored: 3 is A00004, 6 the parent
        (0, factories.make_coverage(member_id="M0", group_number="GRP9")),  # a change
        # a dependent before the subscriber's own coverage is stored: a guarantor of its own
        (3, factories.make_coverage(member_id="FAM1", relationship=Relationship.CHILD,
                                    subscriber=family)),
        (6, factories.make_coverage(member_id="FAM1")),  # the parent's own plan
        # a dependent after it: the parent's record answers for the child
        (5, factories.make_coverage(member_id="FAM1", relationship=Relationship.CHILD,
                                    subscriber=family)),
        (4, factories.make_coverage(dependent=True, member_id="D5")),
        (4, factories.make_coverage(payer_key="bluecross", order=CoverageOrder.SECONDARY,
                                    member_id="S5")),
        (4, factories.make_coverage(dependent=True, member_id="D5b")),  # repeated: updated
        (2, factories.make_coverage(payer_key="medicare", member_id="1EG4TE5MK74")),
    ]
    kin = subscriber("Kin", "Sam", date(1972, 2, 2))
    last_patients = [factories.make_patient(n) for n in range(8, 13)] + [
        factories.make_patient(13, last_name="Kin", first_name="Sam",
                               birth_date=date(1972, 2, 2))]
    last_coverages = [  # 7-12 the patients of this batch, 12 the parent
        # before the parent's own plan: a guarantor of their own, then the same one again
        (7, factories.make_coverage(member_id="KIN1", relationship=Relationship.CHILD,
                                    subscriber=kin)),
        (8, factories.make_coverage(member_id="KIN1", relationship=Relationship.SPOUSE,
                                    subscriber=kin)),
        (12, factories.make_coverage(member_id="KIN1")),
        (9, factories.make_coverage(member_id="KIN1", relationship=Relationship.CHILD,
                                    subscriber=kin)),  # the parent's record answers
        (10, factories.make_coverage(dependent=True, member_id="D10")),  # a stored guarantor
        (11, factories.make_coverage(member_id="FAM1", relationship=Relationship.CHILD,
                                     subscriber=family)),  # a patient who has a guarantor
        (11, factories.make_coverage(payer_key="bluecross", order=CoverageOrder.SECONDARY,
                                     member_id="S11", relationship=Relationship.CHILD,
                                     subscriber=family)),
        (1, factories.make_coverage(payer_key="bluecross", order=CoverageOrder.SECONDARY,
                                    member_id="S2")),
    ]
    return [(providers, patients, coverages), (more_providers, more_patients, more_coverages),
            ([], last_patients, last_coverages)]


def register(app: Any, batch: bool) -> list[Any]:
    """The scenario registered one by one or in batches; what the calls returned."""
    returned: list[Any] = []
    for kinds in scenario():
        with app.unit_of_work() as work:
            ids = [p.id for p in work.session.scalars(select(PatientRow).order_by(
                PatientRow.id))]
            if batch:
                returned.append(work.patients.register_providers(kinds[0]))
                saved = work.patients.save_many(kinds[1])
                ids += [p.id for p, created, _ in saved if created]
                returned.append(saved)
                returned.append(work.patients.save_coverages(
                    [NewCoverage(ids[i], c) for i, c in kinds[2]]))
            else:
                returned.append([work.patients.register_provider(p) for p in kinds[0]])
                saved = [work.patients.save(p) for p in kinds[1]]
                ids += [p.id for p, created, _ in saved if created]
                returned.append(saved)
                returned.append([work.patients.save_coverage(ids[i], c) for i, c in kinds[2]])
    return returned


def contents(app: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the registration tables (timestamps aside) and the audit events."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    with app.unit_of_work() as work:
        for model in (ProviderRow, PatientRow, CoverageRow, GuarantorRow):
            columns = [c for c in model.__table__.columns
                       if c.name not in ("created_at", "updated_at")]
            found[model.__tablename__] = [tuple(row) for row in work.session.execute(
                select(*columns).order_by(model.id))]
        found["audit"] = [tuple(row) for row in work.session.execute(
            select(AuditEventRow.actor, AuditEventRow.action, AuditEventRow.entity_type,
                   AuditEventRow.entity_id, AuditEventRow.details)
            .order_by(AuditEventRow.id))]
    return found


def test_batches_write_what_one_by_one_writes(medbill_app, twin_app) -> None:
    single = register(medbill_app, batch=False)
    batched = register(twin_app, batch=True)
    assert batched == single
    one, other = contents(medbill_app), contents(twin_app)
    assert other == one
    # the scenario does what it says
    assert len(one["guarantors"]) == 5  # the dependents' subscribers (two patients too)
    actions = [row[1] for row in one["audit"]]
    assert actions.count("patient.update") == 2 and actions.count("coverage.update") == 2
    assert actions.count("provider.update") == 2 and "patient.guarantor" in actions


def test_single_item_methods_are_unchanged_in_cost(medbill_app) -> None:
    with counted(medbill_app) as statements, medbill_app.unit_of_work() as work:
        patient = work.patients.register(factories.make_patient(1))
        work.patients.add_coverage(patient.id, factories.make_coverage())
        work.patients.register_provider(factories.make_provider())
    # BEGIN (SQLite), lookup + insert of each, the patient read from the unit of work
    assert len(statements) <= 7, statements


def test_the_first_bad_item_is_refused_and_nothing_written(medbill_app) -> None:
    with medbill_app.unit_of_work() as work:
        patient_id = work.patients.register(factories.make_patient(1)).id
    good = NewCoverage(patient_id, factories.make_coverage())
    cases = [([good, NewCoverage(999, factories.make_coverage(payer_key="nobody")),
               NewCoverage(998, factories.make_coverage())], UnknownPayer, "'nobody'"),
             ([good, NewCoverage(998, factories.make_coverage()),
               NewCoverage(patient_id, factories.make_coverage(payer_key="nobody"))],
              NotFound, "^patient 998 not found$")]
    for items, error, words in cases:
        with pytest.raises(error, match=words), medbill_app.unit_of_work() as work:
            work.patients.add_coverages(items)
    with medbill_app.unit_of_work() as work:
        assert work.session.scalars(select(CoverageRow)).all() == []


def test_batch_reads(medbill_app) -> None:
    with medbill_app.unit_of_work() as work:
        ids = [p.id for p in work.patients.register_many(
            [factories.make_patient(n) for n in range(1, 4)])]
        work.patients.add_coverages([
            NewCoverage(ids[0], factories.make_coverage(payer_key="bluecross",
                                                        order=CoverageOrder.SECONDARY)),
            NewCoverage(ids[0], factories.make_coverage()),
            NewCoverage(ids[2], factories.make_coverage())])
    with medbill_app.unit_of_work() as work:
        assert work.patients.get_many([ids[2], ids[0]]) == {
            ids[2]: work.patients.get(ids[2]), ids[0]: work.patients.get(ids[0])}
        with pytest.raises(NotFound, match=f"^patient {ids[2] + 5} not found$"):
            work.patients.get_many([ids[0], ids[2] + 5])
        assert work.patients.coverages_of([*ids, ids[2] + 5]) == {
            **{i: work.patients.coverages(i) for i in ids}, ids[2] + 5: []}
        assert [c.payer_key for c in work.patients.coverages_of([ids[0]])[ids[0]]] == [
            "acme", "bluecross"]


def test_rolled_back_batch_rows_are_forgotten(medbill_app) -> None:
    with medbill_app.unit_of_work() as work:
        savepoint = work.session.begin_nested()
        patient = work.patients.register_many([factories.make_patient(1)])[0]
        work.patients.register_providers([factories.make_provider()])
        savepoint.rollback()
        with pytest.raises(NotFound):
            work.patients.get(patient.id)
        assert work.patients.provider(factories.make_provider().npi) is None
        again = work.patients.register(factories.make_patient(1))
        assert work.patients.get(again.id) == again


def practice(size: int, offset: int) -> tuple[list[Any], list[Any]]:
    """Patients, a third with a secondary plan, a quarter dependents of a stranger and a
    quarter dependents of the patient two before them."""
    patients = [factories.make_patient(offset + n) for n in range(size)]
    coverages = []
    for n in range(size):
        if n % 4 == 1:
            coverage = factories.make_coverage(
                member_id=f"M{offset + n}", relationship=Relationship.CHILD,
                subscriber=subscriber(f"Stranger{n}", "Alex", date(1960, 1, 1)))
        elif n % 4 == 2:
            parent = patients[n - 2]
            coverage = factories.make_coverage(
                member_id=f"M{offset + n - 2}", relationship=Relationship.CHILD,
                subscriber=subscriber(parent.last_name, parent.first_name, parent.birth_date))
        else:
            coverage = factories.make_coverage(member_id=f"M{offset + n}")
        coverages.append((n, coverage))
        if n % 3 == 0:
            coverages.append((n, factories.make_coverage(
                payer_key="bluecross", order=CoverageOrder.SECONDARY, member_id=f"S{n}")))
    return patients, coverages


def cost(app: Any, size: int, offset: int) -> int:
    patients, coverages = practice(size, offset)
    providers = [factories.make_provider(npi) for npi in
                 ("1245319599", "1679576722", "1003000126")[:1 + size // 100]]
    with counted(app) as statements, app.unit_of_work() as work:
        work.patients.register_providers(providers)
        stored = work.patients.register_many(patients)
        work.patients.add_coverages([NewCoverage(stored[i].id, c) for i, c in coverages])
    return len(statements)


def test_batch_cost_does_not_grow_with_the_batch(medbill_app) -> None:
    small = cost(medbill_app, 20, 1000)
    large = cost(medbill_app, 200, 2000)
    assert large <= small + SLACK, (small, large)
    # BEGIN, a lookup and an insert of each kind; the dependents' patients, subscribers and
    # guarantors read, the new guarantors inserted, their links updated; COMMIT
    assert small <= 14, small
    with medbill_app.unit_of_work() as work:
        linked = work.session.scalars(select(PatientRow.guarantor_relationship).where(
            PatientRow.guarantor_id.is_not(None))).all()
    assert sorted(set(linked)) == ["parent", "self"] and len(linked) == 165, linked
