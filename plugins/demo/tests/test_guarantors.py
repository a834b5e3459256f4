"""Guarantors and family statements (issue 10, items 2 and 17, and what a statement says).

A dependent's guarantor defaults from the subscriber (the subscriber's own patient record when
there is one); statements are addressed to the guarantor; patients sharing a guarantor get one
statement with a section each; one statement per guarantor per day unless forced; each line
says what the services were and why the patient owes.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import medbill_statements_pdf.plugin as statements_pdf
import pytest
from sqlalchemy import select

from medbill_core.domain import GuarantorRelationship, Relationship, Sex, Subscriber
from medbill_core.services.guarantors import GuarantorService
from medbill_core.services.statements import (
    DONE_ELSEWHERE,
    SAME_DAY,
    build_statement,
    run_statements,
)
from medbill_core.storage.schema import ClaimAdjudicationRow, StatementRow
from medbill_core.testing import factories

D = Decimal
TODAY = date.today()
MEMBER = "FAM100200"


@pytest.fixture
def medbill_extra_plugins() -> list[tuple[str, Any]]:
    return [("statements_pdf", statements_pdf)]


def self_pay_claim(work: Any, patient_id: int, number: str, charge: str, *,
                   code: str = "99213", age: int = 10) -> int:
    day = TODAY - timedelta(days=age)
    claim = factories.make_claim(patient_id, coverage_id=None, number=number, service_date=day)
    claim = claim.model_copy(update={"lines": [factories.make_line(
        1, service_date=day, charge=D(charge), procedure_code=code)]})
    return work.claims.create(claim).id


def family(app: Any) -> tuple[int, int, int]:
    """A mother with her own plan and two children on it as dependents."""
    with app.unit_of_work() as work:
        mother = work.patients.register(factories.make_patient(
            1, last_name="Rivera", first_name="Maria", sex=Sex.FEMALE))
        work.patients.add_coverage(mother.id, factories.make_coverage(member_id=MEMBER))
        children = []
        for number, first in ((2, "Lucia"), (3, "Mateo")):
            child = work.patients.register(factories.make_patient(
                number, last_name="Rivera", first_name=first, birth_date=date(2015, 3, number)))
            work.patients.add_coverage(child.id, factories.make_coverage(
                member_id=MEMBER, relationship=Relationship.CHILD,
                subscriber=Subscriber(last_name="Rivera", first_name="Maria",
                                      birth_date=mother.birth_date)))
            children.append(child.id)
    return mother.id, children[0], children[1]


def test_dependents_get_the_subscribing_patient_as_guarantor(medbill_app: Any) -> None:
    mother, first, second = family(medbill_app)
    with medbill_app.unit_of_work() as work:
        people = {pid: work.patients.get(pid) for pid in (mother, first, second)}
        guarantor = GuarantorService(work.session, actor="t").get(people[mother].guarantor_id)
    assert people[first].guarantor_id == people[second].guarantor_id == guarantor.id
    assert [people[pid].guarantor_relationship for pid in (mother, first, second)] == [
        GuarantorRelationship.SELF, GuarantorRelationship.PARENT, GuarantorRelationship.PARENT]
    assert (guarantor.first_name, guarantor.last_name) == ("Maria", "Rivera")
    assert guarantor.address == people[mother].address


def test_a_member_id_alone_does_not_make_a_patient_the_guarantor(medbill_app: Any) -> None:
    with medbill_app.unit_of_work() as work:
        stranger = work.patients.register(factories.make_patient(30))
        work.patients.add_coverage(stranger.id, factories.make_coverage())  # same member ID
        child = work.patients.register(factories.make_patient(31))
        work.patients.add_coverage(child.id, factories.make_coverage(dependent=True))
        child = work.patients.get(child.id)
        guarantor = GuarantorService(work.session, actor="t").get(child.guarantor_id)
        assert work.patients.get(stranger.id).guarantor_id is None
    assert (guarantor.first_name, guarantor.last_name) == ("Alex", "Testsubscriber")


def test_a_subscriber_who_is_no_patient_becomes_the_guarantor(medbill_app: Any) -> None:
    with medbill_app.unit_of_work() as work:
        ids = []
        for number in (5, 6):
            child = work.patients.register(factories.make_patient(number))
            work.patients.add_coverage(child.id, factories.make_coverage(dependent=True))
            ids.append(child.id)
        patients = [work.patients.get(pid) for pid in ids]
        guarantor = GuarantorService(work.session, actor="t").get(patients[0].guarantor_id)
    assert patients[0].guarantor_id == patients[1].guarantor_id  # siblings share one
    assert (guarantor.first_name, guarantor.last_name, guarantor.birth_date) == (
        "Alex", "Testsubscriber", date(1960, 5, 5))
    assert guarantor.address == factories.make_address()


def test_a_chosen_guarantor_is_not_overridden(medbill_app: Any) -> None:
    with medbill_app.unit_of_work() as work:
        adult = work.patients.register(factories.make_patient(7))
        GuarantorService(work.session, actor="t").assign(adult.id, None,
                                                         GuarantorRelationship.SELF)
        work.patients.add_coverage(adult.id, factories.make_coverage(dependent=True))
        assert work.patients.get(adult.id).guarantor_id is None


def test_one_family_statement_addressed_to_the_guarantor(medbill_app: Any,
                                                         tmp_path: Path) -> None:
    _mother, first, second = family(medbill_app)
    with medbill_app.unit_of_work() as work:
        self_pay_claim(work, first, "K1", "40.00")
        self_pay_claim(work, second, "K2", "25.00")
        guarantor_id = work.patients.get(first).guarantor_id
    result = run_statements(medbill_app, cycle="2026-11", out_dir=tmp_path, renderer="text")
    assert result.produced == [f"2026-11-G{guarantor_id:07d}"]
    text = result.files[0].read_text()
    bill_to = text.split("BILL TO\n", 1)[1].split("\n\n", 1)[0].split("\n")
    assert [line.strip() for line in bill_to] == ["Maria Rivera", f"{1} Elm Street",
                                                  "Springfield, IL 62701"]
    assert "PATIENT: LUCIA RIVERA (ACCOUNT A00002), BALANCE $40.00" in text
    assert "PATIENT: MATEO RIVERA (ACCOUNT A00003), BALANCE $25.00" in text
    assert "BALANCE DUE: $65.00" in text
    with medbill_app.unit_of_work() as work:
        row = work.session.scalar(select(StatementRow))
    assert (row.patient_ids, row.guarantor_key, row.balance_due) == (
        [first, second], f"G{guarantor_id}", D("65.00"))
    again = run_statements(medbill_app, cycle="2026-11", out_dir=tmp_path, renderer="text")
    assert (again.produced, again.already_done) == ([], [str(first), str(second)])


def test_one_statement_per_guarantor_per_day_unless_forced(medbill_app: Any,
                                                           tmp_path: Path) -> None:
    with medbill_app.unit_of_work() as work:
        patient = work.patients.register(factories.make_patient(9))
        self_pay_claim(work, patient.id, "S1", "80.00")
    first = run_statements(medbill_app, cycle="2026-11", out_dir=tmp_path, renderer="text")
    second = run_statements(medbill_app, cycle="2026-11b", out_dir=tmp_path, renderer="text")
    assert len(first.produced) == 1
    assert (second.produced, dict(second.skipped)) == ([], {SAME_DAY: [str(patient.id)]})
    forced = run_statements(medbill_app, cycle="2026-11c", out_dir=tmp_path, renderer="text",
                            force=True)
    assert forced.produced == [f"2026-11c-P{patient.id:07d}"]
    with medbill_app.unit_of_work() as work:
        numbers = list(work.session.scalars(select(StatementRow.same_day_number)
                                            .order_by(StatementRow.id)))
    assert numbers == [1, 2]


def test_lines_say_what_the_service_was_and_why_the_patient_owes(medbill_app: Any) -> None:
    with medbill_app.unit_of_work() as work:
        patient = work.patients.register(factories.make_patient(11))
        self_pay_claim(work, patient.id, "J1", "60.00", code="J3301")
        visit = self_pay_claim(work, patient.id, "V1", "90.00", age=5)
        work.session.add(ClaimAdjudicationRow(
            posting_key="835:test:V1", claim_id=visit, account_claim_id=visit,
            payer_key="acme", claim_status="1", paid=D("0.00"), paid_date=TODAY,
            adjustments=[
                {"group_code": "CO", "reason_code": "45", "amount": "10.00", "quantity": None},
                {"group_code": "PR", "reason_code": "1", "amount": "50.00", "quantity": None},
                {"group_code": "PR", "reason_code": "2", "amount": "12.00", "quantity": None},
                {"group_code": "PR", "reason_code": "3", "amount": "15.00", "quantity": None},
                {"group_code": "PR", "reason_code": "96", "amount": "3.00", "quantity": None},
                {"group_code": "PR", "reason_code": "204", "amount": "0.50", "quantity": None},
            ], lines=None))
        statement = build_statement(work, patient.id, statement_date=TODAY, cycle="X")
    by_claim = {line.claim_number: line for line in statement.lines}
    assert by_claim["J1"].description == (
        "Injection, triamcinolone acetonide, not otherwise specified, 10 mg")
    assert by_claim["J1"].why == []
    assert by_claim["V1"].description == "Medical service, code 99213"
    assert [(r.reason, r.amount) for r in by_claim["V1"].why] == [
        ("Deductible", D("50.00")), ("Coinsurance", D("12.00")), ("Copay", D("15.00")),
        ("Not covered by your plan", D("3.50"))]
    assert statement.message is None


def test_a_statement_says_thank_you_once(medbill_app: Any, tmp_path: Path) -> None:
    with medbill_app.unit_of_work() as work:
        patient = work.patients.register(factories.make_patient(12))
        self_pay_claim(work, patient.id, "T1", "30.00", age=2)
    for renderer in ("text", "html"):
        result = run_statements(medbill_app, cycle=f"T-{renderer}", out_dir=tmp_path,
                                renderer=renderer, force=True)
        assert result.files[0].read_text().lower().count("thank you") == 1, renderer


# -- guarantor columns of the patients import ---------------------------------------------------

HEADER = ("account_number,last_name,first_name,birth_date,sex,guarantor_relationship,"
          "guarantor_account,guarantor_last_name,guarantor_first_name,guarantor_address_line1,"
          "guarantor_address_city,guarantor_address_state,guarantor_address_postal_code\n")


def import_csv(app: Any, tmp_path: Path, text: str) -> Any:
    from medbill_core.services.importing import import_patients

    path = tmp_path / "patients.csv"
    path.write_text(HEADER + text, encoding="utf-8")
    with app.unit_of_work() as work:
        return import_patients(work, path)


def test_import_names_the_guarantor_by_account_or_by_name(medbill_app: Any,
                                                          tmp_path: Path) -> None:
    report = import_csv(medbill_app, tmp_path,
                        "M1,Chen,Li,1980-02-02,F,,,,,,,,\n"
                        "K1,Chen,Bo,2014-03-03,M,parent,M1,,,,,,\n"
                        "K2,Chen,Mei,2016-04-04,F,parent,M1,,,,,,\n"
                        "N1,Park,Jun,2010-05-05,M,other,,Park,Sun,9 Pine Rd,Aurora,IL,60505\n"
                        "N2,Park,Ara,2012-06-06,F,other,,Park,Sun,9 Pine Rd,Aurora,IL,60505\n")
    assert report.imported == 5
    with medbill_app.unit_of_work() as work:
        people = {a: work.patients.by_account(a) for a in ("M1", "K1", "K2", "N1", "N2")}
        sun = GuarantorService(work.session, actor="t").get(people["N1"].guarantor_id)
    assert people["K1"].guarantor_id == people["K2"].guarantor_id == people["M1"].guarantor_id
    assert people["M1"].guarantor_relationship is GuarantorRelationship.SELF
    assert people["N1"].guarantor_id == people["N2"].guarantor_id
    assert (sun.first_name, sun.address.line1 if sun.address else None) == ("Sun", "9 Pine Rd")
    again = import_csv(medbill_app, tmp_path, "N2,Park,Ara,2012-06-06,F,self,,,,,,,\n")
    assert [(c.key, c.fields) for c in again.updated] == [("N2", ["guarantor"])]


@pytest.mark.parametrize(("row", "field"), [
    ("K1,Chen,Bo,2014-03-03,M,uncle,,Chen,Wu,,,,\n", "guarantor_relationship"),
    ("K1,Chen,Bo,2014-03-03,M,parent,NOPE,,,,,,\n", "guarantor_account"),
    ("K1,Chen,Bo,2014-03-03,M,parent,,Chen,,,,,\n", "guarantor_first_name"),
])
def test_bad_guarantor_columns_name_the_field(medbill_app: Any, tmp_path: Path, row: str,
                                              field: str) -> None:
    from medbill_core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as caught:
        import_csv(medbill_app, tmp_path, row)
    assert caught.value.problems[0][0] == field
    assert "Chen" not in caught.value.message and "NOPE" not in caught.value.message


def test_a_claim_of_several_services_names_each_with_its_code(medbill_app: Any) -> None:
    with medbill_app.unit_of_work() as work:
        patient = work.patients.register(factories.make_patient(13))
        day = TODAY - timedelta(days=3)
        claim = factories.make_claim(patient.id, coverage_id=None, number="M1", service_date=day)
        work.claims.create(claim.model_copy(update={"lines": [
            factories.make_line(1, service_date=day, charge=D("60.00"), procedure_code="G0439"),
            factories.make_line(2, service_date=day, charge=D("20.00"), procedure_code="36415"),
        ]}))
        statement = build_statement(work, patient.id, statement_date=TODAY, cycle="X")
    assert statement.lines[0].description == (
        "Annual wellness visit, includes a personalized prevention plan of service (pps), "
        "subsequent visit (G0439); Medical service, code 36415")


def test_a_concurrent_run_of_the_same_day_leaves_no_second_statement(
        medbill_app: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import medbill_core.services.statements as statements

    with medbill_app.unit_of_work() as work:
        patient = work.patients.register(factories.make_patient(14))
        self_pay_claim(work, patient.id, "R1", "50.00")
    real = statements.build_statement

    def other_run_first(*args: Any, **kwargs: Any) -> Any:
        # another statement run records this guarantor's statement of the day meanwhile
        with medbill_app.unit_of_work() as other:
            other.session.add(StatementRow(
                statement_number="OTHER-1", patient_id=patient.id, patient_ids=[patient.id],
                guarantor_key=f"P{patient.id}", same_day_number=1, cycle="other",
                statement_date=TODAY, due_date=TODAY, balance_due=D("50.00"), dunning_stage=0,
                renderer="text", filename="x", content_sha256="0" * 64, status="rendered"))
        return real(*args, **kwargs)

    monkeypatch.setattr(statements, "build_statement", other_run_first)
    result = run_statements(medbill_app, cycle="mine", out_dir=tmp_path / "out",
                            renderer="text")
    assert (result.produced, dict(result.skipped)) == ([], {DONE_ELSEWHERE: [str(patient.id)]})
    assert list((tmp_path / "out").iterdir()) == []


def test_dependents_registered_before_guarantors_get_them_on_request(medbill_app: Any) -> None:
    from medbill_core.storage.schema import PatientRow

    with medbill_app.unit_of_work() as work:
        ids = []
        for number in (15, 16):
            child = work.patients.register(factories.make_patient(number))
            work.patients.add_coverage(child.id, factories.make_coverage(dependent=True))
            row = work.session.get(PatientRow, child.id)
            row.guarantor_id = row.guarantor_relationship = None  # as before migration 0008
            ids.append(child.id)
        adult = work.patients.register(factories.make_patient(17))
        work.patients.add_coverage(adult.id, factories.make_coverage())
    with medbill_app.unit_of_work() as work:
        assert GuarantorService(work.session, actor="t").default_all_from_subscribers() == ids
        patients = [work.patients.get(pid) for pid in (*ids, adult.id)]
        assert GuarantorService(work.session, actor="t").default_all_from_subscribers() == []
    assert patients[0].guarantor_id == patients[1].guarantor_id is not None
    assert patients[2].guarantor_id is None


def test_cpt_services_are_described_once_the_practice_loads_its_cpt_file(
        medbill_app: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from medbill_core.codesets.loaders import load_file
    from medbill_core.codesets.registry import reset_default_codesets

    cpt = tmp_path / "cpt.csv"
    cpt.write_text('code,description\n99213,"Office visit, established patient, low '
                   'complexity"\n', encoding="utf-8")
    monkeypatch.setenv("MEDBILL_CODESETS_DIR", str(tmp_path / "codesets"))
    load_file("cpt", cpt)
    reset_default_codesets()
    try:
        with medbill_app.unit_of_work() as work:
            patient = work.patients.register(factories.make_patient(18))
            self_pay_claim(work, patient.id, "C1", "90.00")
            statement = build_statement(work, patient.id, statement_date=TODAY, cycle="X")
    finally:
        monkeypatch.undo()
        reset_default_codesets()
    assert statement.lines[0].description == "Office visit, established patient, low complexity"
