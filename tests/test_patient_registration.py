"""Registering a patient or provider again, and guarantor links, in the services (SQLite and
PostgreSQL): fields left out keep their stored values; a "self" guarantor is the patient."""

from __future__ import annotations

from typing import Any

import pytest

from medbill_core import audit
from medbill_core.domain import Guarantor, GuarantorRelationship
from medbill_core.domain.base import saved_id
from medbill_core.errors import ValidationFailed
from medbill_core.services.guarantors import GuarantorService
from medbill_core.testing import factories


def test_a_self_guarantor_must_be_the_patient(medbill_app: Any) -> None:
    with medbill_app.unit_of_work() as work:
        patient = work.patients.register(factories.make_patient(1))
        service = GuarantorService(work.session, actor="tester")
        stranger = service.add(Guarantor(last_name="Okafor", first_name="Chidi"))
        # the same name, another birth date: another person
        namesake = service.add(Guarantor(last_name=patient.last_name.upper(),
                                         first_name=patient.first_name,
                                         birth_date=factories.make_patient(2).birth_date))
        own = service.add(Guarantor(last_name=patient.last_name,
                                    first_name=patient.first_name.lower(),
                                    birth_date=patient.birth_date))
        ids = saved_id(patient), saved_id(stranger), saved_id(namesake), saved_id(own)
    for other in ids[1:3]:
        with pytest.raises(ValidationFailed) as caught, medbill_app.unit_of_work() as work:
            GuarantorService(work.session, actor="tester").assign(
                ids[0], other, GuarantorRelationship.SELF)
        assert caught.value.message == (
            f"patient {ids[0]}: relationship: is self, but guarantor {other} is another person "
            "(name or birth date differ from the patient's): use parent, spouse or other")
        assert "Okafor" not in caught.value.message
    with medbill_app.unit_of_work() as work:
        service = GuarantorService(work.session, actor="tester")
        assert work.patients.get(ids[0]).guarantor_id is None
        assert service.assign(ids[0], ids[1], GuarantorRelationship.SPOUSE).guarantor_id \
            == ids[1]
        linked = service.assign(ids[0], ids[3], GuarantorRelationship.SELF)
        assert (linked.guarantor_id, linked.guarantor_relationship) == (
            ids[3], GuarantorRelationship.SELF)
        links = audit.query(work.session, action="patient.guarantor")
    assert [(e.actor, e.details["guarantor_id"]) for e in reversed(links)] == [
        ("tester", ids[1]), ("tester", ids[3])]


def test_only_the_given_fields_of_a_known_patient_or_provider_change(medbill_app: Any) -> None:
    with medbill_app.unit_of_work() as work:
        work.patients.register(factories.make_patient(1, email="a@example.org"))
        work.patients.register_provider(factories.make_provider())
    with medbill_app.unit_of_work() as work:
        bare = factories.make_patient(1, first_name="Jo", phone=None, address=None)
        stored, created, changed = work.patients.save(
            bare, given={"account_number", "last_name", "first_name", "birth_date", "sex"})
        provider = work.patients.register_provider(
            factories.make_provider(last_name="Carter-Lee", first_name=None, taxonomy=None),
            given={"npi", "last_name"})
    assert (created, changed) == (False, ["first_name"])
    assert (stored.phone, stored.email, stored.address) == (
        "5555550111", "a@example.org", factories.make_patient(1).address)
    assert (provider.last_name, provider.first_name, provider.taxonomy) == (
        "Carter-Lee", "Dana", "207Q00000X")
    with medbill_app.unit_of_work() as work:  # given=None: the record is the whole truth
        whole = work.patients.save(bare)[0]
    assert (whole.phone, whole.address) == (None, None)
