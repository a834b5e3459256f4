"""Registering patients, their coverages and providers."""

from __future__ import annotations

import builtins  # the service's list() method hides list in its annotations
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, inspect, or_, select
from sqlalchemy.orm import Session

from medbill_core import audit
from medbill_core.config import MedbillConfig
from medbill_core.domain import (
    Coverage,
    CoverageOrder,
    GuarantorRelationship,
    Patient,
    Provider,
    Relationship,
    validate_record,
)
from medbill_core.domain.claim import ClaimState
from medbill_core.domain.identity import Principal
from medbill_core.errors import MedbillError, NotFound, UnknownPayer, ValidationFailed
from medbill_core.permissions import Action, require
from medbill_core.storage.batches import chunks, expunge_on_rollback, held_or_read, unique
from medbill_core.storage.mapping import (
    coverage_from_row,
    coverage_values,
    patient_from_row,
    patient_values,
    provider_from_row,
    provider_values,
)
from medbill_core.storage.schema import ClaimRow, CoverageRow, PatientRow, ProviderRow

if TYPE_CHECKING:
    from medbill_core.app import UnitOfWork


@dataclass(frozen=True)
class NewCoverage:
    """One item of :meth:`PatientService.add_coverages`: ``coverage`` for patient
    ``patient_id``."""

    patient_id: int
    coverage: Coverage


#: A lookup by account number that finds no patient (never the text typed: PHI when a name or
#: a birth date is typed where the account number goes).
ACCOUNT_NOT_FOUND = "no patient with that account number"

_ORDER_NAMES = {"P": "primary", "S": "secondary", "T": "tertiary"}
_INSTEAD = {"P": "add this one as secondary", "S": "add this one as tertiary",
            "T": "give this one another order"}


@dataclass(frozen=True)
class _Span:
    """A coverage's place in the coordination of benefits: its order and plan dates (``id``
    None for one a batch adds before it is stored)."""

    id: int | None
    payer_key: str
    order: str
    start: date | None
    end: date | None

    @classmethod
    def of(cls, coverage: Coverage | CoverageRow, coverage_id: int | None = None) -> _Span:
        if isinstance(coverage, CoverageRow):
            return cls(coverage.id, coverage.payer_key, coverage.coverage_order,
                       coverage.start_date, coverage.end_date)
        return cls(coverage_id, coverage.payer_key, coverage.order.value, coverage.start_date,
                   coverage.end_date)

    def overlaps(self, other: _Span) -> bool:
        """Same order and some day within both plans' dates (an open end runs forever)."""
        return self.order == other.order and (
            self.start is None or other.end is None or self.start <= other.end) and (
            other.start is None or self.end is None or other.start <= self.end)

    def clash_reason(self) -> str:
        """Why a coverage of the same order over these dates is refused (no PHI: the payer,
        the plan dates and the coverage id)."""
        dates = f"from {self.start}" if self.start else "with no start date"
        if self.end:
            dates += f" to {self.end}"
        which = f"coverage {self.id}: " if self.id is not None else ""
        end_it = (f"coverages terminate {self.id} --end DATE" if self.id is not None
                  else "coverages edit --end")
        return (f"the patient already has an active {_ORDER_NAMES[self.order]} coverage on "
                f"these dates ({which}{self.payer_key}, {dates}); end it first ({end_it}) "
                f"or {_INSTEAD[self.order]}")


def _new_clash(before: _Span | None, after: _Span, others: Iterable[_Span]) -> _Span | None:
    """The first of ``others`` (the patient's other coverages) that ``after`` overlaps in the
    same order and ``before`` (the coverage as stored, None for a new one) did not: two
    coverages of one order on the same day leave claims to pick one at random. Overlaps
    already stored are left as they are, so ending or correcting one of them still works."""
    for other in others:
        if after.overlaps(other) and not (before is not None and before.overlaps(other)):
            return other
    return None


def _given_only(wanted: dict[str, Any], stored: dict[str, Any],
                given: Collection[str] | None) -> dict[str, Any]:
    """A record's column values to store over ``stored``: only the fields ``given`` change
    (None: every field is given), the others keep their stored values."""
    if given is None:
        return wanted
    return {name: value if name in given else stored[name] for name, value in wanted.items()}


def _name_matches(text: str) -> Any:
    """``Rivera`` (last name), ``Rivera, Maria`` or ``Maria Rivera``: case-insensitive prefixes."""
    def prefix(column: Any, value: str) -> Any:
        return func.lower(column).startswith(value.strip().lower(), autoescape=True)

    if "," in text:
        last, first = (part.strip() for part in text.split(",", 1))
        condition = prefix(PatientRow.last_name, last)
        return condition & prefix(PatientRow.first_name, first) if first else condition
    words = text.split()
    if len(words) >= 2:
        first, last = words[0], " ".join(words[1:])
        return or_(prefix(PatientRow.last_name, last) & prefix(PatientRow.first_name, first),
                   prefix(PatientRow.last_name, text))
    return or_(prefix(PatientRow.last_name, text), prefix(PatientRow.first_name, text))


class PatientService:
    """Patients, coverages and providers, inside the caller's transaction."""

    def __init__(self, session: Session, *, actor: str, config: MedbillConfig,
                 principal: Principal | None = None) -> None:
        self.session = session
        self.actor = actor
        self.config = config
        #: who acts: its role is checked per action by the public methods (None: the
        #: installation's own work, or a service using this one inside a checked operation)
        self.principal = principal

    def _require(self, action: Action) -> None:
        if self.principal is not None:
            require(self.principal, action)

    # -- patients -----------------------------------------------------------------------------
    def register(self, patient: Patient) -> Patient:
        """Create a patient, or update the one with the same account number.

        :returns: the stored patient with its ``id``.
        """
        return self.save(patient)[0]

    def save(self, patient: Patient, *, given: Collection[str] | None = None
             ) -> tuple[Patient, bool, builtins.list[str]]:
        """:meth:`register`, also saying whether it created the patient and which fields it
        changed (names only).

        :param given: the names of the fields the caller was given (a request's fields
            sent): updating a stored patient changes only these, the others keep their
            stored values (None: every field is given, as an import merges the record
            first). A new patient takes the record as it is.
        """
        return self.save_many([patient], given=given)[0]

    def register_many(self, patients: Sequence[Patient]) -> builtins.list[Patient]:
        """:meth:`register` for a batch: the stored patients, in the order given."""
        self._require(Action.PATIENTS_WRITE)
        return [patient for patient, _, _ in self.save_many(patients)]

    def save_many(self, patients: Sequence[Patient], *, given: Collection[str] | None = None
                  ) -> builtins.list[tuple[Patient, bool, builtins.list[str]]]:
        """:meth:`save` for each patient in turn, in a few statements for the batch: the
        account numbers are looked up by one query, the new patients inserted by one
        executemany (a number given twice is created, then updated by the later record), the
        same audit events recorded in the same order.

        A record naming a guarantor (``guarantor_id`` with ``guarantor_relationship``, or
        the relationship ``self`` alone) links the patient to it, as ``guarantors assign``
        does (audited ``patient.guarantor``; ``guarantor`` is then among the changed
        fields). Every link is checked before anything is written: a guarantor of another
        practice or none, a relationship missing, or ``self`` with a guarantor who is
        another person raise :class:`ValidationFailed` naming the field. A record without
        either field leaves the stored link as it is.
        """
        self._require(Action.PATIENTS_WRITE)
        patients = builtins.list(patients)
        rows: dict[str, PatientRow] = {}
        for chunk in chunks(unique(patient.account_number for patient in patients)):
            for row in self.session.scalars(select(PatientRow).where(
                    PatientRow.account_number.in_(chunk)).order_by(PatientRow.id)):
                rows.setdefault(row.account_number, row)
        for number, row in rows.items():  # a merged duplicate is never written again
            if row.merged_into_id is not None:
                kept = self.session.get(PatientRow, row.merged_into_id)
                raise ValidationFailed(f"patient {number}", [(
                    "account_number", "was merged into account "
                    f"{kept.account_number if kept is not None else row.merged_into_id}; "
                    "send that account instead")])
        links = self._links(patients, rows, given)
        new: dict[str, dict[str, Any]] = {}
        for patient in patients:
            if patient.account_number not in rows and patient.account_number not in new:
                new[patient.account_number] = patient_values(patient)
        created: set[str] = set()
        if new:
            # RETURNING rows come back in no set order: the unique account number says whose
            inserted = builtins.list(self.session.scalars(
                insert(PatientRow).returning(PatientRow).execution_options(render_nulls=True),
                builtins.list(new.values())))
            expunge_on_rollback(self.session, inserted)
            rows.update((row.account_number, row) for row in inserted)
            created = set(new)
        result: builtins.list[tuple[Patient, bool, builtins.list[str]]] = []
        events: builtins.list[dict[str, Any]] = []
        for patient in patients:
            row = rows[patient.account_number]
            if patient.account_number in created:
                created.discard(patient.account_number)  # a repeat updates the new row
                events.append({"action": "patient.create", "entity_type": "patient",
                               "entity_id": row.id})
                result.append((patient_from_row(row), True, []))
                continue
            if events:  # the events of the rows before come first
                audit.record_many(self.session, events, actor=self.actor)
                events = []
            stored = patient_values(patient_from_row(row))
            wanted = _given_only(patient_values(patient), stored, given)
            changed = audit.apply_changes(
                self.session, row, stored, wanted, actor=self.actor, action="patient.update",
                entity_type="patient", entity_id=row.id)
            result.append((patient_from_row(row), False, changed))
        audit.record_many(self.session, events, actor=self.actor)
        if links:
            result = self._link_guarantors(patients, rows, links, result)
        return result

    def _links(self, patients: Sequence[Patient], rows: dict[str, PatientRow],
               given: Collection[str] | None
               ) -> dict[int, tuple[int | None, GuarantorRelationship]]:
        """The guarantor links the records ask for that differ from the stored ones, by the
        record's index, each checked (see :meth:`save_many`)."""
        from medbill_core.services.guarantors import GuarantorService

        links: dict[int, tuple[int | None, GuarantorRelationship]] = {}
        service: GuarantorService | None = None
        for index, patient in enumerate(patients):
            row = rows.get(patient.account_number)
            guarantor_id, relationship = patient.guarantor_id, patient.guarantor_relationship
            if row is not None and given is not None:  # a field not given keeps its value
                if "guarantor_id" not in given:
                    guarantor_id = row.guarantor_id
                if "guarantor_relationship" not in given:
                    relationship = (GuarantorRelationship(row.guarantor_relationship)
                                    if row.guarantor_relationship else None)
            if guarantor_id is None and relationship is None:
                continue  # names no guarantor: the stored link stays
            if row is not None and (row.guarantor_id, row.guarantor_relationship) == (
                    guarantor_id, relationship.value if relationship else None):
                continue
            if service is None:
                self._require(Action.GUARANTORS_WRITE)  # as guarantors assign
                service = GuarantorService(self.session, actor=self.actor)
            problem = service.link_problem(patient, guarantor_id, relationship)
            if problem is not None:
                raise ValidationFailed(f"patient {patient.account_number}", [problem])
            assert relationship is not None  # link_problem requires it
            links[index] = (guarantor_id, relationship)
        return links

    def _link_guarantors(self, patients: Sequence[Patient], rows: dict[str, PatientRow],
                         links: dict[int, tuple[int | None, GuarantorRelationship]],
                         result: builtins.list[tuple[Patient, bool, builtins.list[str]]]
                         ) -> builtins.list[tuple[Patient, bool, builtins.list[str]]]:
        """The checked links made, after the patients are stored (audited as
        ``guarantors assign`` does); the results of the linked records read anew."""
        from medbill_core.services.guarantors import GuarantorService

        service = GuarantorService(self.session, actor=self.actor)
        result = builtins.list(result)
        for index, (guarantor_id, relationship) in links.items():
            row = rows[patients[index].account_number]
            before = (row.guarantor_id, row.guarantor_relationship)
            service.assign(row.id, guarantor_id, relationship)
            _, created, changed = result[index]
            if not created and (row.guarantor_id, row.guarantor_relationship) != before:
                changed = sorted({*changed, "guarantor"})
            result[index] = (patient_from_row(row), created, changed)
        for index, (_, created, changed) in enumerate(result):  # a repeat of a linked record
            row = rows[patients[index].account_number]
            result[index] = (patient_from_row(row), created, changed)
        return result

    def get_many(self, patient_ids: Iterable[int]) -> dict[int, Patient]:
        """:meth:`get` for a batch, by id: those this unit of work holds as they are, the
        others read by one query.

        :raises NotFound: the first id (in the order given) of no patient.
        """
        ids = unique(patient_ids)
        rows = held_or_read(self.session, PatientRow, PatientRow.id, ids)
        for patient_id in ids:
            if patient_id not in rows:
                raise NotFound("patient", patient_id)
        return {patient_id: patient_from_row(rows[patient_id]) for patient_id in ids}

    def get(self, patient_id: int) -> Patient:
        row = self.session.get(PatientRow, patient_id)
        if row is None:
            raise NotFound("patient", patient_id)
        return patient_from_row(row)

    def by_account(self, account_number: str) -> Patient:
        self._require(Action.PATIENTS_READ)
        row = self.session.scalar(
            select(PatientRow).where(PatientRow.account_number == account_number))
        if row is None:
            # never the text typed: it may be a patient's name typed where the number goes
            raise NotFound("patient account", account_number,
                           message=ACCOUNT_NOT_FOUND)
        return patient_from_row(row)

    def list(self, *, limit: int = 100, offset: int = 0) -> Sequence[Patient]:
        self._require(Action.PATIENTS_READ)
        rows = self.session.scalars(select(PatientRow).order_by(PatientRow.id)
                                    .limit(limit).offset(offset))
        return [patient_from_row(row) for row in rows]

    def search(self, *, name: str | None = None, birth_date: date | None = None,
               account: str | None = None, include_merged: bool = False,
               limit: int = 50) -> builtins.list[Patient]:
        """Patients matching every criterion given: ``name`` is ``last``, ``last, first`` or
        ``first last`` (case-insensitive prefixes); ``account`` a prefix of the account number.
        Records merged into another are left out unless ``include_merged``."""
        self._require(Action.PATIENTS_READ)
        if not (name or birth_date or account):
            raise ValidationFailed("patient search", [("criteria", "give a name, a birth date "
                                                                    "or an account number")])
        query = select(PatientRow)
        if name:
            query = query.where(_name_matches(name))
        if birth_date:
            query = query.where(PatientRow.birth_date == birth_date)
        if account:
            query = query.where(func.upper(PatientRow.account_number).startswith(
                account.strip().upper(), autoescape=True))
        if not include_merged:
            query = query.where(PatientRow.merged_into_id.is_(None))
        rows = self.session.scalars(query.order_by(PatientRow.last_name, PatientRow.first_name,
                                                   PatientRow.id).limit(limit))
        return [patient_from_row(row) for row in rows]

    def edit(self, patient_id: int, changes: dict[str, Any]) -> tuple[Patient, builtins.list[str]]:
        """Change some of a patient's fields (``None`` clears one); nested ``address`` changes
        merge into the stored address. Returns the patient and the names of changed fields.

        The fields changed are checked; the stored values of the others are not judged again
        (a birth date or e-mail stored before its rule existed does not block a phone edit)."""
        self._require(Action.PATIENTS_WRITE)
        from medbill_core.services.importing import merge_into

        current = self.get(patient_id)
        if current.merged_into_id is not None:
            raise MedbillError(f"patient {patient_id} was merged into patient "
                               f"{current.merged_into_id}; edit that record")
        record = merge_into(current.model_dump(mode="json", exclude={"id"}), changes)
        if record.get("account_number") != current.account_number:
            taken = self.session.scalar(select(PatientRow.id).where(
                PatientRow.account_number == record.get("account_number")))
            if taken is not None:
                raise ValidationFailed(f"patient {patient_id}", [
                    ("account_number", "another patient has this account number")])
        edited = validate_record(Patient, {k: v for k, v in record.items() if v is not None},
                                 record=f"patient {patient_id}", stored=set(record) - set(changes))
        row = self.session.get_one(PatientRow, patient_id)
        values = patient_values(edited)
        changed = audit.apply_changes(
            self.session, row, patient_values(current), values, actor=self.actor,
            action="patient.update", entity_type="patient", entity_id=patient_id)
        return patient_from_row(row), changed

    # -- coverages ----------------------------------------------------------------------------
    def add_coverage(self, patient_id: int, coverage: Coverage) -> Coverage:
        """Attach a coverage; one with the same payer and order is updated instead."""
        return self.save_coverage(patient_id, coverage)[0]

    def find_coverage(self, patient_id: int, payer_key: str, order: str) -> Coverage | None:
        """The patient's coverage with this payer in this order (``P``/``S``/``T``), if any."""
        row = self.session.scalar(select(CoverageRow).where(
            CoverageRow.patient_id == patient_id, CoverageRow.payer_key == payer_key,
            CoverageRow.coverage_order == order))
        return coverage_from_row(row) if row else None

    def coverage_resent(self, patient_id: int, record: dict[str, Any],
                        given: Collection[str]) -> dict[str, Any]:
        """The coverage ``record`` stands for when it may be one the patient has (the same
        payer and order), sent again with only some fields (``given``: the names sent):
        those left out keep their stored values, as a patient's do (:func:`_given_only`),
        null clears an optional one, a subscriber sent replaces the stored one, and
        relationship self (18) sent without a subscriber clears it (the patient's own plan
        now, as ``patients coverage import`` reads a row). A coverage not stored yet is
        ``record`` as it is (the fields left out take their defaults). To be validated."""
        stored = self.find_coverage(patient_id, str(record.get("payer_key", "")),
                                    str(record.get("order") or CoverageOrder.PRIMARY.value))
        if stored is None:
            return record
        sent = {name: value for name, value in record.items() if name in given}
        if sent.get("relationship") == Relationship.SELF and "subscriber" not in sent:
            sent["subscriber"] = None
        return {**stored.model_dump(exclude={"id", "patient_id"}), **sent}

    def save_coverage(self, patient_id: int, coverage: Coverage
                      ) -> tuple[Coverage, bool, builtins.list[str]]:
        """:meth:`add_coverage`, also saying whether it created the coverage and which fields
        it changed (names only)."""
        return self.save_coverages([NewCoverage(patient_id, coverage)])[0]

    def add_coverages(self, items: Sequence[NewCoverage]) -> builtins.list[Coverage]:
        """:meth:`add_coverage` for a batch: the stored coverages, in the order given."""
        self._require(Action.COVERAGES_WRITE)
        return [coverage for coverage, _, _ in self.save_coverages(items)]

    def save_coverages(self, items: Sequence[NewCoverage]
                       ) -> builtins.list[tuple[Coverage, bool, builtins.list[str]]]:
        """:meth:`save_coverage` for each item in turn, in a few statements for the batch.

        Everything is checked before anything is written, item by item in the order given
        (the payer, then the patient): the first that fails raises what
        :meth:`save_coverage` raises for it. The patients' coverages are read by one query,
        the new ones inserted by one executemany (one given twice for the same payer and
        order is created, then updated by the later item); the same audit events are
        recorded in the same order, and a dependent's guarantor is chosen from the
        coverages added before it, as one by one.
        """
        self._require(Action.COVERAGES_WRITE)
        items = builtins.list(items)
        if not items:
            return []
        patient_ids = unique(item.patient_id for item in items)
        patients = held_or_read(self.session, PatientRow, PatientRow.id, patient_ids)
        Key = tuple[int, str, str]

        def key_of(item: NewCoverage) -> Key:
            return item.patient_id, item.coverage.payer_key, item.coverage.order.value

        rows: dict[Key, CoverageRow] = {}
        # each patient's coverages as they will be after the items so far: an item replaces
        # its payer and order's (the first stored, as rows), the later stored ones stay
        spans: dict[int, dict[Key | int, _Span]] = {}
        for chunk in chunks(patient_ids):
            for row in self.session.scalars(select(CoverageRow).where(
                    CoverageRow.patient_id.in_(chunk)).order_by(CoverageRow.id)):
                key = (row.patient_id, row.payer_key, row.coverage_order)
                first = rows.setdefault(key, row) is row
                spans.setdefault(row.patient_id, {})[key if first else row.id] = _Span.of(row)
        for item in items:
            if item.coverage.payer_key not in self.config.payers:
                raise UnknownPayer(item.coverage.payer_key)
            if item.patient_id not in patients:
                raise NotFound("patient", item.patient_id)
            mine = spans.setdefault(item.patient_id, {})
            key, before = key_of(item), mine.get(key_of(item))
            after = _Span.of(item.coverage, before.id if before else None)
            clash = _new_clash(before, after, (span for other, span in mine.items()
                                               if other != key))
            if clash is not None:
                raise ValidationFailed(f"patient {item.patient_id}",
                                       [("order", clash.clash_reason())])
            mine[key] = after
        new: dict[Key, dict[str, Any]] = {}
        for item in items:
            key = key_of(item)
            if key not in rows and key not in new:
                new[key] = {"patient_id": item.patient_id, **coverage_values(item.coverage)}
        created: builtins.list[int] = []  # ids of the new rows, in the order of the items
        if new:
            # RETURNING rows come back in no set order: patient, payer and order say whose
            inserted = builtins.list(self.session.scalars(
                insert(CoverageRow).returning(CoverageRow).execution_options(render_nulls=True),
                builtins.list(new.values())))
            expunge_on_rollback(self.session, inserted)
            rows.update(((row.patient_id, row.payer_key, row.coverage_order), row)
                        for row in inserted)
            created = [rows[key].id for key in new]
        if len(created) == len(items) > 1:  # only new coverages: guarantors chosen in a batch
            return self._created_coverages(items, rows, created)
        walked = 0  # how many of the new rows the items so far created
        result: builtins.list[tuple[Coverage, bool, builtins.list[str]]] = []
        events: builtins.list[dict[str, Any]] = []
        for item in items:
            key, coverage = key_of(item), item.coverage
            row = rows[key]
            if walked < len(created) and created[walked] == row.id:
                walked += 1  # a repeat of the key later updates the new row
                events.append({"action": "coverage.create", "entity_type": "coverage",
                               "entity_id": row.id, "details": {
                                   "patient_id": item.patient_id,
                                   "payer_key": coverage.payer_key}})
                if self._needs_guarantor(coverage, patients[item.patient_id]):
                    audit.record_many(self.session, events, actor=self.actor)
                    events = []
                    # the coverages inserted for the items after this one are not seen yet
                    self._default_guarantor(item.patient_id, coverage,
                                            unseen=created[walked:])
                result.append((coverage_from_row(row), True, []))
                continue
            audit.record_many(self.session, events, actor=self.actor)
            events = []
            changed = audit.apply_changes(
                self.session, row, coverage_values(coverage_from_row(row)),
                coverage_values(coverage), actor=self.actor, action="coverage.update",
                entity_type="coverage", entity_id=row.id)
            if changed:
                self._default_guarantor(item.patient_id, coverage, unseen=created[walked:])
            result.append((coverage_from_row(row), False, changed))
        audit.record_many(self.session, events, actor=self.actor)
        return result

    def _created_coverages(self, items: Sequence[NewCoverage],
                           rows: dict[tuple[int, str, str], CoverageRow], created: Sequence[int]
                           ) -> builtins.list[tuple[Coverage, bool, builtins.list[str]]]:
        """The rest of :meth:`save_coverages` when each item created a coverage: the
        dependents' guarantors are chosen by one batch (each from the coverages added before
        it), their audit events recorded after their coverage's, as one by one."""
        from medbill_core.services.guarantors import GuarantorService, SubscriberDefault

        result: builtins.list[tuple[Coverage, bool, builtins.list[str]]] = []
        defaults = []
        for walked, item in enumerate(items, start=1):
            coverage = item.coverage
            row = rows[item.patient_id, coverage.payer_key, coverage.order.value]
            result.append((coverage_from_row(row), True, []))
            defaults.append(SubscriberDefault(
                item.patient_id, coverage,
                created[walked:] if (coverage.order is CoverageOrder.PRIMARY
                                     and coverage.subscriber is not None
                                     and coverage.relationship is not Relationship.SELF)
                else ()))
        guarantors = GuarantorService(self.session, actor=self.actor) \
            .defaults_from_subscribers(defaults)
        events: builtins.list[dict[str, Any]] = []
        for item, (coverage, _, _), after in zip(items, result, guarantors, strict=True):
            events.append({"action": "coverage.create", "entity_type": "coverage",
                           "entity_id": coverage.id, "details": {
                               "patient_id": item.patient_id,
                               "payer_key": item.coverage.payer_key}})
            events.extend(after)
        audit.record_many(self.session, events, actor=self.actor)
        return result

    @staticmethod
    def _needs_guarantor(coverage: Coverage, patient: PatientRow) -> bool:
        """Whether :meth:`GuarantorService.default_from_subscriber` may do anything (what it
        checks first, without a query)."""
        return (coverage.order is CoverageOrder.PRIMARY and coverage.subscriber is not None
                and coverage.relationship is not Relationship.SELF
                and patient.guarantor_id is None and not patient.guarantor_relationship)

    def _default_guarantor(self, patient_id: int, coverage: Coverage,
                           unseen: Sequence[int] = ()) -> None:
        from medbill_core.services.guarantors import GuarantorService

        GuarantorService(self.session, actor=self.actor).default_from_subscriber(
            patient_id, coverage, unseen=unseen)

    def coverages_of(self, patient_ids: Iterable[int]) -> dict[int, builtins.list[Coverage]]:
        """:meth:`coverages` for a batch of patients (one query), by patient id; a patient
        without coverage (or no such patient) maps to an empty list."""
        ids = unique(patient_ids)
        found: dict[int, builtins.list[Coverage]] = {patient_id: [] for patient_id in ids}
        for chunk in chunks(ids):
            for row in self.session.scalars(
                    select(CoverageRow).where(CoverageRow.patient_id.in_(chunk))
                    .order_by(CoverageRow.patient_id, CoverageRow.coverage_order,
                              CoverageRow.id)):
                found[row.patient_id].append(coverage_from_row(row))
        return found

    def coverage(self, coverage_id: int) -> Coverage:
        row = self.session.get(CoverageRow, coverage_id)
        if row is None:
            raise NotFound("coverage", coverage_id)
        return coverage_from_row(row)

    def coverages(self, patient_id: int) -> builtins.list[Coverage]:
        self._require(Action.COVERAGES_READ)
        rows = self.session.scalars(select(CoverageRow).where(CoverageRow.patient_id == patient_id)
                                    .order_by(CoverageRow.coverage_order, CoverageRow.id))
        return [coverage_from_row(row) for row in rows]

    def edit_coverage(self, coverage_id: int, changes: dict[str, Any]
                      ) -> tuple[Coverage, builtins.list[str]]:
        """Change some fields of a coverage (``None`` clears one; ``subscriber`` merges).

        Moving it to a payer and order the patient already has another coverage for is
        refused: the two would be indistinguishable on claims.
        """
        self._require(Action.COVERAGES_WRITE)
        from medbill_core.services.importing import merge_into

        row = self.session.get(CoverageRow, coverage_id)
        if row is None:
            raise NotFound("coverage", coverage_id)
        current = coverage_from_row(row)
        if changes.get("relationship") == "18" and "subscriber" not in changes:
            changes = {**changes, "subscriber": None}  # the patient's own plan now
        record = merge_into(current.model_dump(mode="json", exclude={"id"}), changes)
        label = f"coverage {coverage_id}"
        edited = validate_record(Coverage, {k: v for k, v in record.items() if v is not None},
                                 record=label)
        if edited.payer_key not in self.config.payers:
            raise ValidationFailed(label, [("payer_key", "not a configured payer")])
        clash = self.find_coverage(row.patient_id, edited.payer_key, edited.order.value)
        if clash is not None and clash.id != coverage_id:
            raise ValidationFailed(label, [("order", f"the patient already has coverage "
                                                     f"{clash.id} with this payer and order")])
        if edited.payer_key != current.payer_key:
            self._check_payer_change(coverage_id, current.payer_key, edited.payer_key)
        others = self.session.scalars(select(CoverageRow).where(
            CoverageRow.patient_id == row.patient_id, CoverageRow.id != coverage_id)
            .order_by(CoverageRow.id))
        overlap = _new_clash(_Span.of(current), _Span.of(edited, coverage_id),
                             [_Span.of(other) for other in others])
        if overlap is not None:
            field = ("order" if edited.order is not current.order
                     else "start_date" if edited.start_date != current.start_date
                     else "end_date" if edited.end_date != current.end_date else "order")
            raise ValidationFailed(label, [(field, overlap.clash_reason())])
        values = coverage_values(edited)
        changed = audit.apply_changes(
            self.session, row, coverage_values(current), values, actor=self.actor,
            action="coverage.update", entity_type="coverage", entity_id=coverage_id)
        return coverage_from_row(row), changed

    def _check_payer_change(self, coverage_id: int, payer_key: str, new_payer: str) -> None:
        """Refuse moving a coverage to another payer once a claim billed to it left the
        practice (or is a secondary, replacement or void claim, which hangs on one that did):
        those claims copied the payer, and their history (835s, follow-up, secondary billing)
        stays with it. Drafts and validated claims may follow (:func:`edit_coverage`). The
        member ID is not copied: correcting it (a rejection for an unknown member) is allowed.
        """
        unsent = (ClaimState.DRAFT.value, ClaimState.VALIDATED.value)
        sent = builtins.list(self.session.scalars(select(ClaimRow.claim_number).where(
            ClaimRow.coverage_id == coverage_id, ClaimRow.state != ClaimState.DELETED.value,
            or_(ClaimRow.state.not_in(unsent), ClaimRow.account_claim_id.is_not(None)))
            .order_by(ClaimRow.id)))
        if sent:
            more = f" and {len(sent) - 1} more" if len(sent) > 1 else ""
            raise ValidationFailed(f"coverage {coverage_id}", [("payer_key", (
                f"cannot change: claim {sent[0]}{more} billed to {payer_key} with this "
                f"coverage keep their history with it; end this coverage (coverages "
                f"terminate {coverage_id} --end DATE) and add the {new_payer} coverage as a "
                "new one"))])

    def terminate_coverage(self, coverage_id: int, end_date: date) -> Coverage:
        """End a coverage on ``end_date`` (the last covered day); claims for later services
        will not be billed to it."""
        self._require(Action.COVERAGES_WRITE)
        current = self.coverage(coverage_id)
        if current.start_date and end_date < current.start_date:
            raise ValidationFailed(f"coverage {coverage_id}", [
                ("end_date", "is before the coverage's start date")])
        coverage, _ = self.edit_coverage(coverage_id, {"end_date": end_date.isoformat()})
        audit.record(self.session, actor=self.actor, action="coverage.terminate",
                     entity_type="coverage", entity_id=coverage_id,
                     details={"end_date": end_date.isoformat()})
        return coverage

    def claims_after_end(self, coverage_id: int) -> builtins.list[str]:
        """Numbers of the live claims billed to this coverage for services after its end
        date: a coverage ended after the visits were billed leaves them with a payer that
        will deny them (CO-27), to be rebilled to the right payer or to the patient."""
        coverage = self.coverage(coverage_id)
        if coverage.end_date is None:
            return []
        finished = ("deleted", "voided", "replaced", "closed")
        return list(self.session.scalars(select(ClaimRow.claim_number).where(
            ClaimRow.coverage_id == coverage_id,
            ClaimRow.service_date_from > coverage.end_date,
            ClaimRow.state.not_in(finished)).order_by(ClaimRow.service_date_from,
                                                      ClaimRow.id)))

    # -- providers ----------------------------------------------------------------------------
    def register_provider(self, provider: Provider, *, given: Collection[str] | None = None
                          ) -> Provider:
        """Create a provider, or update the one with the same NPI.

        :param given: the names of the fields the caller was given: updating a stored
            provider changes only these, the others keep their stored values (None: every
            field is given). A new provider takes the record as it is.
        """
        return self.register_providers([provider], given=given)[0]

    def register_providers(self, providers: Sequence[Provider], *,
                           given: Collection[str] | None = None) -> builtins.list[Provider]:
        """:meth:`register_provider` for each provider in turn: the NPIs looked up by one
        query, the new providers inserted by one executemany, the same audit events in the
        same order. Returns the stored providers, in the order given."""
        self._require(Action.PROVIDERS_WRITE)
        providers = builtins.list(providers)
        rows: dict[str, ProviderRow] = {}
        for chunk in chunks(unique(provider.npi for provider in providers)):
            for row in self.session.scalars(select(ProviderRow).where(
                    ProviderRow.npi.in_(chunk)).order_by(ProviderRow.id)):
                rows.setdefault(row.npi, row)
        new: dict[str, dict[str, Any]] = {}
        for provider in providers:
            if provider.npi not in rows and provider.npi not in new:
                new[provider.npi] = provider_values(provider)
        created: set[str] = set()
        if new:
            inserted = builtins.list(self.session.scalars(
                insert(ProviderRow).returning(ProviderRow).execution_options(render_nulls=True),
                builtins.list(new.values())))
            expunge_on_rollback(self.session, inserted)
            rows.update((row.npi, row) for row in inserted)
            created = set(new)
        result: builtins.list[Provider] = []
        events: builtins.list[dict[str, Any]] = []
        for provider in providers:
            row = rows[provider.npi]
            if provider.npi in created:
                created.discard(provider.npi)
                events.append({"action": "provider.create", "entity_type": "provider",
                               "entity_id": row.id})
            else:
                audit.record_many(self.session, events, actor=self.actor)
                events = []
                stored = provider_values(provider_from_row(row))
                wanted = _given_only(provider_values(provider), stored, given)
                audit.apply_changes(self.session, row, stored, wanted, actor=self.actor,
                                    action="provider.update", entity_type="provider",
                                    entity_id=row.id)
            result.append(provider_from_row(row))
        audit.record_many(self.session, events, actor=self.actor)
        return result

    def provider(self, npi: str) -> Provider | None:
        row = self.session.info.get("medbill.providers", {}).get(npi)  # loaded in this unit
        if row is None or not inspect(row).persistent or row.npi != npi:
            row = self.session.scalar(select(ProviderRow).where(ProviderRow.npi == npi))
        return provider_from_row(row) if row else None


def read_patient(work: UnitOfWork, patient_id: int, *, via: str) -> Patient:
    """A patient record shown to ``work``'s actor through ``via`` (``"api"``): the read is
    audited (``patient.read``, HIPAA's audit controls), so ``work`` must be able to write.

    :raises NotFound: no patient has this id (nothing is recorded).
    """
    work.require(Action.PATIENTS_READ)
    patient = work.patients.get(patient_id)
    audit.record(work.session, actor=work.actor, action="patient.read", entity_type="patient",
                 entity_id=patient_id, details={"via": via})
    return patient


def edit_coverage(work: UnitOfWork, coverage_id: int, changes: dict[str, Any]
                  ) -> tuple[Coverage, builtins.list[str], builtins.list[str]]:
    """:meth:`PatientService.edit_coverage`, the draft and validated claims billed to the
    coverage following a change of payer (their charges move with them, a validated one goes
    back to draft to be scrubbed again; see :meth:`ClaimService.update_draft`). A coverage
    whose claims were sent keeps its payer (refused by the service).

    :returns: the coverage, the names of its changed fields, and the numbers of the claims
        that followed it to the new payer.
    """
    patients = work.patients
    before = patients.coverage(coverage_id)
    coverage, changed = patients.edit_coverage(coverage_id, changes)
    moved: builtins.list[str] = []
    if coverage.payer_key != before.payer_key:
        claims = work.claims
        for claim_id, number in work.session.execute(
                select(ClaimRow.id, ClaimRow.claim_number).where(
                    ClaimRow.coverage_id == coverage_id,
                    ClaimRow.state.in_((ClaimState.DRAFT.value, ClaimState.VALIDATED.value)))
                .order_by(ClaimRow.id)).all():
            claim = claims.get(claim_id)
            claims.update_draft(claim_id, claim.model_copy(
                update={"payer_key": coverage.payer_key}))
            moved.append(number)
    return coverage, changed, moved
