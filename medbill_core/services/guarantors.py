"""Guarantors: who pays a patient's balance and receives the statements.

A patient without a guarantor pays their own bills. A dependent (a coverage whose subscriber
is someone else) gets the subscriber as guarantor when the primary coverage is added, unless
the user already chose (``guarantor_relationship`` set, ``self`` included). When the subscriber
is a patient too (their own coverage has the same payer and member ID), that patient's record
is the guarantor, so parent and children share one guarantor and one statement. A guarantor
made from a subscriber is checked by the guarantor's rules (:func:`guarantor_of_subscriber`).

Matching an existing guarantor is strict (same name, birth date and address): two different
people of the same name must never receive each other's bills.
"""

from __future__ import annotations

import builtins  # the service's list() method hides list in its annotations
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from medbill_core import audit
from medbill_core.domain import (
    Coverage,
    CoverageOrder,
    Guarantor,
    GuarantorRelationship,
    Patient,
    Relationship,
    Subscriber,
    validate_record,
)
from medbill_core.errors import NotFound, ValidationFailed
from medbill_core.storage.mapping import (
    coverage_from_row,
    guarantor_from_row,
    guarantor_values,
    patient_from_row,
)
from medbill_core.storage.schema import CoverageRow, GuarantorRow, PatientRow


@dataclass(frozen=True)
class SubscriberDefault:
    """One item of :meth:`GuarantorService.defaults_from_subscribers`."""

    patient_id: int
    coverage: Coverage
    #: ids of coverages the batch inserted for items after this one (ascending): not seen
    unseen: Sequence[int] = ()


def _ascii_lower(text: str) -> str:
    return text.translate(_ASCII_LOWER)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_CHUNK = 500

_FROM_SUBSCRIBER = {
    Relationship.CHILD: GuarantorRelationship.PARENT,
    Relationship.SPOUSE: GuarantorRelationship.SPOUSE,
    Relationship.LIFE_PARTNER: GuarantorRelationship.SPOUSE,
}


def guarantor_key(patient: Patient) -> str:
    """The statement grouping key: ``G<guarantor id>``, or ``P<patient id>`` for a patient
    who is their own guarantor without a guarantor record."""
    return f"G{patient.guarantor_id}" if patient.guarantor_id else f"P{patient.id}"


def guarantor_number(guarantor_id: int) -> str:
    """The number a family's statement and payment coupon carry for its guarantor
    (``G0000012``): what ``medbill payments record --guarantor`` accepts."""
    return f"G{guarantor_id:07d}"


#: a guarantor's number, id, or a statement number ending in one (``2026-11-G0000012``,
#: ``2026-11-G0000012-2`` for a second statement of the cycle)
_GUARANTOR_REF = re.compile(r"(?:.*-)?G?([0-9]{1,9})(?:-[0-9]{1,3})?", re.IGNORECASE)


def resolve_guarantor(session: Session, reference: str) -> int:
    """The guarantor id a user names: its id (``12``), its number (``G0000012``) or the
    number of a statement addressed to it (what the payment coupon shows).

    :raises ValidationFailed: the text is none of these, or names a statement of a single
        patient who is their own guarantor (name that patient with ``--patient``).
    :raises NotFound: no such guarantor or statement.
    """
    from medbill_core.storage.schema import StatementRow

    text = reference.strip()
    statement = session.scalar(select(StatementRow).where(
        StatementRow.statement_number == text)) if text else None
    if statement is not None:
        key = statement.guarantor_key or ""
        if not key.startswith("G"):
            raise ValidationFailed(f"statement {text}", [(
                "guarantor", "is addressed to a patient who pays their own bills; give "
                             "--patient and the account number on the statement")])
        guarantor_id = int(key[1:])
    else:
        plain = text.upper()
        if plain.isascii() and (plain.isdigit()
                                or (plain.startswith("G") and plain[1:].isdigit())):
            guarantor_id = int(plain.lstrip("G") or "0")
        elif _GUARANTOR_REF.fullmatch(text) and "G" in plain:
            raise NotFound("statement", text)
        else:
            raise ValidationFailed("guarantor", [(
                "reference", "give the guarantor's number (G0000012), id, or the statement "
                             "number from the payment coupon")])
    # an id beyond a PostgreSQL integer names nobody (and must not reach the query)
    if guarantor_id > _MAX_ID or session.get(GuarantorRow, guarantor_id) is None:
        raise NotFound("guarantor", guarantor_id)
    return guarantor_id


#: the largest id a guarantor can have (a PostgreSQL integer): a larger one names nobody
_MAX_ID = 2_147_483_647


def is_the_patient(guarantor: GuarantorRow | Guarantor, last_name: str, first_name: str,
                   birth_date: date | None) -> bool:
    """Whether the guarantor record can be the patient themself (relationship ``self``):
    the same last and first name (any case), and the same birth date when both have one."""
    def same(one: str, other: str) -> bool:
        return one.strip().casefold() == other.strip().casefold()

    return (same(guarantor.last_name, last_name) and same(guarantor.first_name, first_name)
            and (guarantor.birth_date is None or birth_date is None
                 or guarantor.birth_date == birth_date))


#: why a guarantor cannot answer for a patient as ``self``; never names either person
NOT_THE_PATIENT = ("is self, but guarantor {id} is another person (name or birth date differ "
                   "from the patient's): use parent, spouse or other")


def guarantor_of_self(patient: Patient) -> Guarantor:
    """A patient who pays their own bills, as the guarantor a statement is addressed to."""
    return Guarantor.model_construct(
        id=None, last_name=patient.last_name, first_name=patient.first_name,
        middle_name=patient.middle_name, suffix=patient.suffix, birth_date=patient.birth_date,
        address=patient.address, phone=patient.phone, email=patient.email)


def guarantor_of_subscriber(patient_id: int, subscriber: Subscriber,
                            patient: PatientRow) -> Guarantor:
    """A dependent's coverage's subscriber as the guarantor made for them, checked by the
    guarantor's rules (a birth date in the future or before 1880 ...) as ``guarantors add``
    checks them: an automatic guarantor is no way around them.

    :raises ValidationFailed: naming the patient and the coverage's ``subscriber.*`` field.
    """
    values = {
        "last_name": subscriber.last_name, "first_name": subscriber.first_name,
        "middle_name": subscriber.middle_name, "birth_date": subscriber.birth_date,
        # a dependent on a family plan lives with the subscriber, most often
        "address": subscriber.address or patient_from_row(patient).address}
    try:
        return validate_record(Guarantor, {k: v for k, v in values.items() if v is not None},
                               record=f"patient {patient_id}")
    except ValidationFailed as exc:  # the coverage's field the value came from
        raise ValidationFailed(exc.record, [(f"subscriber.{field}", reason)
                                            for field, reason in exc.problems]) from None


class GuarantorService:
    """Guarantors and who answers for which patient, inside the caller's transaction."""

    def __init__(self, session: Session, *, actor: str) -> None:
        self.session = session
        self.actor = actor

    # -- guarantors -----------------------------------------------------------------------------
    def add(self, guarantor: Guarantor) -> Guarantor:
        row = GuarantorRow(**guarantor_values(guarantor))
        self.session.add(row)
        self.session.flush()
        audit.record(self.session, actor=self.actor, action="guarantor.create",
                     entity_type="guarantor", entity_id=row.id)
        return guarantor_from_row(row)

    def find_or_add(self, guarantor: Guarantor) -> Guarantor:
        """The stored guarantor with the same name, birth date and address, else a new one."""
        values = guarantor_values(guarantor)
        rows = self.session.scalars(select(GuarantorRow).where(
            func.lower(GuarantorRow.last_name) == guarantor.last_name.lower(),
            func.lower(GuarantorRow.first_name) == guarantor.first_name.lower(),
        ).order_by(GuarantorRow.id))
        for row in rows:
            if row.birth_date == values["birth_date"] and row.address == values["address"]:
                return guarantor_from_row(row)
        return self.add(guarantor)

    def get(self, guarantor_id: int) -> Guarantor:
        row = self.session.get(GuarantorRow, guarantor_id) \
            if 0 < guarantor_id <= _MAX_ID else None
        if row is None:
            raise NotFound("guarantor", guarantor_id)
        return guarantor_from_row(row)

    def link_problem(self, patient: Patient, guarantor_id: int | None,
                     relationship: GuarantorRelationship | None) -> tuple[str, str] | None:
        """What is wrong with linking ``patient`` (a record being registered: no row needed)
        to ``guarantor_id`` as ``relationship``, as ``(field of Patient, reason)``; None when
        the link can be made. A guarantor of another practice is not found, as an unknown
        id."""
        if relationship is None:
            return "guarantor_relationship", ("required with guarantor_id: parent, spouse or "
                                              "other (self when it is the patient's own record)")
        if guarantor_id is None:
            if relationship is GuarantorRelationship.SELF:
                return None
            return "guarantor_id", f"required when guarantor_relationship is {relationship}"
        row = self.session.get(GuarantorRow, guarantor_id) \
            if 0 < guarantor_id <= _MAX_ID else None
        if row is None:
            return "guarantor_id", "no guarantor of this practice has this id"
        if relationship is GuarantorRelationship.SELF and not is_the_patient(
                row, patient.last_name, patient.first_name, patient.birth_date):
            return "guarantor_relationship", NOT_THE_PATIENT.format(id=guarantor_id)
        return None

    def list(self, *, limit: int = 100, offset: int = 0) -> Sequence[Guarantor]:
        rows = self.session.scalars(select(GuarantorRow).order_by(GuarantorRow.id)
                                    .limit(limit).offset(offset))
        return [guarantor_from_row(row) for row in rows]

    def edit(self, guarantor_id: int, changes: dict[str, Any],
             ) -> tuple[Guarantor, builtins.list[str]]:
        """Change some fields (``None`` clears; ``address`` parts merge into the stored
        address); returns the guarantor and the names of the changed fields. The fields
        changed are checked; the stored values of the others are not judged again."""
        from medbill_core.services.importing import merge_into

        row = self.session.get(GuarantorRow, guarantor_id)
        if row is None:
            raise NotFound("guarantor", guarantor_id)
        current = merge_into(guarantor_from_row(row).model_dump(mode="json", exclude={"id"}),
                             changes)
        edited = validate_record(Guarantor, {k: v for k, v in current.items() if v is not None},
                                 record=f"guarantor {guarantor_id}",
                                 stored=set(current) - set(changes))
        values = guarantor_values(edited)
        changed = audit.apply_changes(
            self.session, row, guarantor_values(guarantor_from_row(row)), values,
            actor=self.actor, action="guarantor.update", entity_type="guarantor",
            entity_id=row.id)
        return guarantor_from_row(row), changed

    def patients_of(self, guarantor_id: int) -> builtins.list[Patient]:
        rows = self.session.scalars(select(PatientRow).where(
            PatientRow.guarantor_id == guarantor_id, PatientRow.merged_into_id.is_(None))
            .order_by(PatientRow.id))
        return [patient_from_row(row) for row in rows]

    # -- who answers for a patient ------------------------------------------------------------
    def assign(self, patient_id: int, guarantor_id: int | None,
               relationship: GuarantorRelationship) -> Patient:
        """Make ``guarantor_id`` answer for the patient (``None`` with ``self``: the patient
        pays their own bills).

        :raises ValidationFailed: ``self`` with a guarantor record that is another person
            (another name or birth date than the patient's), naming ``relationship``; a
            relationship other than ``self`` without a guarantor.
        """
        row = self.session.get(PatientRow, patient_id)
        if row is None:
            raise NotFound("patient", patient_id)
        if guarantor_id is None and relationship is not GuarantorRelationship.SELF:
            raise ValidationFailed(f"patient {patient_id}", [
                ("guarantor", "a guarantor other than the patient must be named")])
        if (row.guarantor_id, row.guarantor_relationship) != (guarantor_id, relationship.value):
            if guarantor_id is not None:
                guarantor = self.get(guarantor_id)
                if relationship is GuarantorRelationship.SELF and not is_the_patient(
                        guarantor, row.last_name, row.first_name, row.birth_date):
                    raise ValidationFailed(f"patient {patient_id}", [
                        ("relationship", NOT_THE_PATIENT.format(id=guarantor_id))])
            before = row.guarantor_id
            row.guarantor_id = guarantor_id
            row.guarantor_relationship = relationship.value
            self.session.flush()
            audit.record(self.session, actor=self.actor, action="patient.guarantor",
                         entity_type="patient", entity_id=patient_id,
                         details={"guarantor_id": guarantor_id, "previous": before,
                                  "relationship": relationship.value})
        return patient_from_row(row)

    def responsible_for(self, patient: Patient) -> Guarantor:
        """The guarantor a statement of this patient is addressed to."""
        if patient.guarantor_id:
            return self.get(patient.guarantor_id)
        return guarantor_of_self(patient)

    def default_all_from_subscribers(self) -> builtins.list[int]:
        """:meth:`default_from_subscriber` for every patient whose guarantor was never chosen
        (records made before guarantors existed): the ids of the patients given one."""
        rows = self.session.execute(
            select(PatientRow.id, CoverageRow.id)
            .join(CoverageRow, CoverageRow.patient_id == PatientRow.id)
            .where(PatientRow.guarantor_id.is_(None), PatientRow.guarantor_relationship.is_(None),
                   PatientRow.merged_into_id.is_(None),
                   CoverageRow.coverage_order == CoverageOrder.PRIMARY.value,
                   CoverageRow.relationship_code != Relationship.SELF.value)
            .order_by(PatientRow.id, CoverageRow.id)).all()
        assigned: list[int] = []
        for patient_id, coverage_id in rows:
            if patient_id in assigned:
                continue
            self.default_from_subscriber(
                patient_id, coverage_from_row(self.session.get_one(CoverageRow, coverage_id)))
            if self.session.get_one(PatientRow, patient_id).guarantor_id is not None:
                assigned.append(patient_id)
        return assigned

    def default_from_subscriber(self, patient_id: int, coverage: Coverage,
                                unseen: Sequence[int] = ()) -> None:
        """A dependent whose guarantor was never chosen gets the primary plan's subscriber.

        ``unseen``: ids of coverages a batch inserted for its later items (ascending), which
        one-by-one registration would not have stored yet.
        """
        if (coverage.order is not CoverageOrder.PRIMARY or coverage.subscriber is None
                or coverage.relationship is Relationship.SELF):
            return
        row = self.session.get(PatientRow, patient_id)
        if row is None or row.guarantor_id is not None or row.guarantor_relationship:
            return
        relationship = _FROM_SUBSCRIBER.get(coverage.relationship, GuarantorRelationship.OTHER)
        subscriber = coverage.subscriber
        # the subscriber's own record: same plan and member ID as "self", and the same person
        # by name (and birth date when known): a typo in a member ID must not send a family's
        # bill to a stranger
        query = (select(PatientRow).join(CoverageRow, CoverageRow.patient_id == PatientRow.id)
                 .where(CoverageRow.payer_key == coverage.payer_key,
                        CoverageRow.member_id == coverage.member_id,
                        CoverageRow.relationship_code == Relationship.SELF.value,
                        func.lower(PatientRow.last_name) == subscriber.last_name.lower(),
                        func.lower(PatientRow.first_name) == subscriber.first_name.lower(),
                        PatientRow.id != patient_id, PatientRow.merged_into_id.is_(None)))
        if subscriber.birth_date is not None:
            query = query.where(PatientRow.birth_date == subscriber.birth_date)
        if unseen:
            low, high = unseen[0], unseen[-1]
            query = query.where(~CoverageRow.id.between(low, high)
                                if high - low + 1 == len(unseen)
                                else CoverageRow.id.not_in(unseen))
        subscriber_patient = self.session.scalar(query.order_by(PatientRow.id).limit(1))
        if subscriber_patient is not None:
            guarantor = self._guarantor_for_patient(subscriber_patient)
        else:
            guarantor = self.find_or_add(guarantor_of_subscriber(patient_id, subscriber, row))
        self.assign(patient_id, guarantor.id, relationship)

    def defaults_from_subscribers(self, items: Sequence[SubscriberDefault]
                                  ) -> builtins.list[builtins.list[dict[str, Any]]]:
        """:meth:`default_from_subscriber` for each item in turn, in a few statements for the
        batch: the subscribers' own records and the guarantors they may match are read by one
        query each, the new guarantors inserted by one executemany, the patients' links
        written by one flush. The same rows result as one by one.

        :returns: the audit events of each item (as :func:`audit.record_many` takes them), in
            the order :meth:`default_from_subscriber` records them: the caller records them,
            between its own.
        """
        lower: Callable[[str], str] = (  # what the database's lower() makes of a name
            _ascii_lower if self.session.get_bind().dialect.name == "sqlite" else str.lower)
        todo = [item for item in items
                if item.coverage.order is CoverageOrder.PRIMARY
                and item.coverage.subscriber is not None
                and item.coverage.relationship is not Relationship.SELF]
        events: builtins.list[builtins.list[dict[str, Any]]] = [[] for _ in items]
        if not todo:
            return events
        patients: dict[int, PatientRow] = {}
        wanted = builtins.list(dict.fromkeys(item.patient_id for item in todo))
        for start in range(0, len(wanted), _CHUNK):
            patients.update((row.id, row) for row in self.session.scalars(select(PatientRow)
                            .where(PatientRow.id.in_(wanted[start:start + _CHUNK]))))
        # the subscribers' own records: "self" coverages with the same member IDs
        members = builtins.list(dict.fromkeys(item.coverage.member_id for item in todo))
        selves: builtins.list[tuple[PatientRow, int, str, str, str, str]] = []
        for start in range(0, len(members), _CHUNK):
            selves.extend(tuple(row) for row in self.session.execute(
                select(PatientRow, CoverageRow.id, CoverageRow.payer_key, CoverageRow.member_id,
                       func.lower(PatientRow.last_name), func.lower(PatientRow.first_name))
                .join(CoverageRow, CoverageRow.patient_id == PatientRow.id)
                .where(CoverageRow.member_id.in_(members[start:start + _CHUNK]),
                       CoverageRow.relationship_code == Relationship.SELF.value,
                       PatientRow.merged_into_id.is_(None))))
            patients.update((row[0].id, row[0]) for row in selves)
        # the stored guarantors a subscriber may be (by last name), and those this batch adds
        names = builtins.list(dict.fromkeys(item.coverage.subscriber.last_name.lower()
                                            for item in todo if item.coverage.subscriber))
        known: builtins.list[tuple[str, str, Any, Any, Guarantor | int]] = []
        for start in range(0, len(names), _CHUNK):
            for row, last, first in self.session.execute(
                    select(GuarantorRow, func.lower(GuarantorRow.last_name),
                           func.lower(GuarantorRow.first_name))
                    .where(func.lower(GuarantorRow.last_name).in_(names[start:start + _CHUNK]))
                    .order_by(GuarantorRow.id)):
                known.append((last, first, row.birth_date, row.address, row.id))
        new: builtins.list[Guarantor] = []
        #: patient id -> (guarantor: an id or a new one's index in ``new``, relationship)
        links: dict[int, tuple[int | Guarantor, str]] = {}

        def linked(row: PatientRow) -> tuple[object, object]:
            return links.get(row.id, (row.guarantor_id, row.guarantor_relationship))

        def add(guarantor: Guarantor, at: builtins.list[dict[str, Any]]) -> Guarantor:
            new.append(guarantor)
            values = guarantor_values(guarantor)
            known.append((lower(guarantor.last_name), lower(guarantor.first_name),
                          values["birth_date"], values["address"], guarantor))
            at.append({"action": "guarantor.create", "entity_type": "guarantor",
                       "entity_id": guarantor})
            return guarantor

        def assign(row: PatientRow, guarantor: int | Guarantor,
                   relationship: GuarantorRelationship, at: builtins.list[dict[str, Any]]
                   ) -> None:
            before = linked(row)[0]
            if (before, linked(row)[1]) != (guarantor, relationship.value):
                links[row.id] = (guarantor, relationship.value)
                at.append({"action": "patient.guarantor", "entity_type": "patient",
                           "entity_id": row.id, "details": {
                               "guarantor_id": guarantor, "previous": before,
                               "relationship": relationship.value}})

        index = {id(item): n for n, item in enumerate(items)}
        for item in todo:
            at = events[index[id(item)]]
            coverage, subscriber = item.coverage, item.coverage.subscriber
            assert subscriber is not None
            row = patients.get(item.patient_id)
            if row is None or linked(row)[0] is not None or linked(row)[1]:
                continue
            relationship = _FROM_SUBSCRIBER.get(coverage.relationship,
                                                GuarantorRelationship.OTHER)
            last, first = subscriber.last_name.lower(), subscriber.first_name.lower()
            hidden = set(item.unseen)
            matches = [own for own, coverage_id, payer_key, member_id, own_last, own_first
                       in selves
                       if payer_key == coverage.payer_key and member_id == coverage.member_id
                       and own_last == last and own_first == first
                       and own.id != item.patient_id and coverage_id not in hidden
                       and (subscriber.birth_date is None
                            or own.birth_date == subscriber.birth_date)]
            guarantor: int | Guarantor
            if matches:
                own = min(matches, key=lambda found: found.id)
                current = linked(own)[0]
                if current is not None:
                    guarantor = current  # type: ignore[assignment]
                else:
                    guarantor = add(guarantor_of_self(patient_from_row(own)), at)
                    assign(own, guarantor, GuarantorRelationship.SELF, at)
            else:
                wanted_guarantor = guarantor_of_subscriber(item.patient_id, subscriber, row)
                values = guarantor_values(wanted_guarantor)
                found = next((ref for g_last, g_first, born, address, ref in known
                              if g_last == last and g_first == first
                              and born == values["birth_date"]
                              and address == values["address"]), None)
                guarantor = found if found is not None else add(wanted_guarantor, at)
            assign(row, guarantor, relationship, at)
        ids: dict[int, int] = {}
        if new:
            # ids are drawn in the order of the rows given (RETURNING gives them in no order)
            returned = sorted(self.session.scalars(
                insert(GuarantorRow).returning(GuarantorRow.id)
                .execution_options(render_nulls=True),
                [guarantor_values(guarantor) for guarantor in new]))
            ids = {id(guarantor): key for guarantor, key in zip(new, returned, strict=True)}

        def resolved(ref: object) -> object:
            return ids[id(ref)] if isinstance(ref, Guarantor) else ref

        for patient_id, (ref, relationship_value) in links.items():
            patients[patient_id].guarantor_id = resolved(ref)  # type: ignore[assignment]
            patients[patient_id].guarantor_relationship = relationship_value
        if links:
            self.session.flush()
        for at in events:
            for event in at:
                event["entity_id"] = resolved(event["entity_id"])
                details = event.get("details")
                if details:
                    details["guarantor_id"] = resolved(details["guarantor_id"])
                    details["previous"] = resolved(details["previous"])
        return events

    def guarantor_for_patient(self, patient_id: int) -> Guarantor:
        """The guarantor record of a patient who answers for others (made from the patient
        when they have none, and then also answering for themselves)."""
        row = self.session.get(PatientRow, patient_id)
        if row is None:
            raise NotFound("patient", patient_id)
        return self._guarantor_for_patient(row)

    def _guarantor_for_patient(self, row: PatientRow) -> Guarantor:
        if row.guarantor_id is not None:
            return self.get(row.guarantor_id)
        guarantor = self.add(guarantor_of_self(patient_from_row(row)))
        self.assign(row.id, guarantor.id, GuarantorRelationship.SELF)
        return guarantor
