"""An edit checks the fields it changes: a birth date or e-mail stored before its rule existed
(``check_birth_date`` / ``check_email``) does not block an edit of another field, and stays as
stored; an edit giving a bad value is still refused (services and ``patients edit``)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import update

from medbill_core.app import Medbill
from medbill_core.config import load_config
from medbill_core.domain import Guarantor
from medbill_core.domain.base import saved_id
from medbill_core.errors import ValidationFailed
from medbill_core.services.guarantors import GuarantorService
from medbill_core.storage.schema import GuarantorRow, PatientRow
from medbill_core.testing import factories
from tests.cli_support import cli, config_text, ok, one_line_error

#: what older releases stored: an e-mail without a dot in its domain, a birth date before 1880
OLD_EMAIL = "ada@localhost"
OLD_BIRTH_DATE = date(1870, 3, 1)
EMAIL_RULE = "email: not an e-mail address (name@example.org)"


def _patient_stored_before_the_rules(medbill: Medbill) -> int:
    with medbill.unit_of_work() as work:
        patient_id = saved_id(work.patients.register(factories.make_patient(1)))
        work.session.execute(update(PatientRow).where(PatientRow.id == patient_id).values(
            email=OLD_EMAIL, birth_date=OLD_BIRTH_DATE))
    return patient_id


def test_a_patient_edit_checks_only_the_fields_it_changes(medbill_app: Medbill) -> None:
    patient_id = _patient_stored_before_the_rules(medbill_app)
    with medbill_app.unit_of_work() as work:
        edited, changed = work.patients.edit(patient_id, {"phone": "(312) 555-0177"})
    assert changed == ["phone"]
    assert (edited.phone, edited.email, edited.birth_date) == (
        "3125550177", OLD_EMAIL, OLD_BIRTH_DATE)
    # a bad value given is still refused, naming the record and the field
    for changes, message in (({"email": "ada at home"}, EMAIL_RULE),
                             ({"birth_date": "1860-01-01"},
                              "birth_date: birth date is before 1880")):
        with pytest.raises(ValidationFailed) as refused, medbill_app.unit_of_work() as work:
            work.patients.edit(patient_id, changes)
        assert refused.value.message == f"patient {patient_id}: {message}"
    with medbill_app.unit_of_work() as work:
        edited, changed = work.patients.edit(patient_id, {"email": " ada@example.org "})
        assert changed == ["email"] and edited.email == "ada@example.org"
        stored = work.patients.get(patient_id)
    assert (stored.phone, stored.email, stored.birth_date) == (
        "3125550177", "ada@example.org", OLD_BIRTH_DATE)


def test_a_guarantor_edit_checks_only_the_fields_it_changes(medbill_app: Medbill) -> None:
    with medbill_app.unit_of_work() as work:
        service = GuarantorService(work.session, actor="tester")
        guarantor_id = saved_id(service.add(Guarantor(last_name="Okafor", first_name="Ada")))
        work.session.execute(update(GuarantorRow).where(GuarantorRow.id == guarantor_id)
                             .values(email=OLD_EMAIL, birth_date=OLD_BIRTH_DATE))
    with medbill_app.unit_of_work() as work:
        edited, changed = GuarantorService(work.session, actor="tester").edit(
            guarantor_id, {"phone": "3125550188"})
    assert changed == ["phone"]
    assert (edited.phone, edited.email, edited.birth_date) == (
        "3125550188", OLD_EMAIL, OLD_BIRTH_DATE)
    with pytest.raises(ValidationFailed) as refused, medbill_app.unit_of_work() as work:
        GuarantorService(work.session, actor="tester").edit(guarantor_id,
                                                            {"email": "ada at home"})
    assert refused.value.message == f"guarantor {guarantor_id}: {EMAIL_RULE}"


def test_patients_edit_on_the_command_line(cli_isolation: None, tmp_path: Path) -> None:
    config = tmp_path / "medbill.toml"
    config.write_text(config_text(f"sqlite:///{tmp_path / 'medbill.db'}"), encoding="utf-8")
    ok(config, "db", "upgrade")
    medbill = Medbill.open(load_config(config), load_installed=False)
    try:
        _patient_stored_before_the_rules(medbill)
        with medbill.unit_of_work() as work:
            account = work.patients.list()[0].account_number
    finally:
        medbill.close()
    edited = json.loads(ok(config, "patients", "edit", account, "--phone", "3125550199",
                           "--json").stdout)
    assert edited["changed"] == ["phone"]
    refused = one_line_error(cli(config, "patients", "edit", account, "--email", "ada@home"))
    assert refused == f"error: patient {edited['patient_id']}: {EMAIL_RULE}"
    shown = json.loads(ok(config, "patients", "show", account, "--json").stdout)
    assert (shown["phone"], shown["email"], shown["birth_date"]) == (
        "3125550199", OLD_EMAIL, OLD_BIRTH_DATE.isoformat())
