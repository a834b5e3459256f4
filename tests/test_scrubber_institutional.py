"""The scrubber on institutional claims: the institutional edits, and the professional core
edits that skip or adapt (diagnosis pointers, place of service, NCCI, diagnosis dates)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from medbill_core.codesets import CodeSets, nubc
from medbill_core.codesets.ncci import Ncci
from medbill_core.default_plugins.core_edits import EditEnv, run_core_edits
from medbill_core.default_plugins.institutional_edits import (
    INSTITUTIONAL_EDITS,
    run_institutional_edits,
)
from medbill_core.domain import BillableClaim, Claim, ClaimFinding, ClaimFrequency, Severity
from medbill_core.domain.institutional import InstitutionalProcedure, PresentOnAdmission
from medbill_core.plugins import DEFAULT_PLUGINS
from medbill_core.testing import factories

DOS = date(2026, 5, 14)  # FY2026 for ICD-10-CM and PCS
TODAY = date(2026, 6, 1)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> EditEnv:
    codesets = CodeSets(tmp_path_factory.mktemp("no-user-data"),
                        cache_dir=tmp_path_factory.getbasetemp() / "medbill-cache")
    return EditEnv(today=TODAY, codesets=codesets, ncci=Ncci(use_user_data=False),
                   requires_rendering=True)


def bill(*, inpatient: bool = False, details: dict[str, Any] | None = None,
         **claim_fields: Any) -> BillableClaim:
    claim = factories.make_institutional_claim(inpatient=inpatient, service_date=DOS)
    values = claim.model_dump()
    if details:
        values["institutional"] = {**values["institutional"], **details}
    values.update(claim_fields)
    return factories.make_billable_claim(claim=Claim(**values), rendering_provider=None)


def codes(findings: list[ClaimFinding]) -> list[tuple[str, str | None, int | None]]:
    return sorted((f.code, f.field, f.line_number) for f in findings)


def all_findings(claim: BillableClaim, env: EditEnv) -> list[ClaimFinding]:
    return run_core_edits(claim, env) + run_institutional_edits(claim, env)


def test_registered_as_a_default_plugin() -> None:
    assert "medbill_core.default_plugins.institutional_edits" in DEFAULT_PLUGINS


def test_clean_outpatient_and_inpatient_claims_pass(env: EditEnv) -> None:
    # no pointer, place-of-service, rendering or NCCI finding on a facility claim
    assert all_findings(bill(), env) == []
    assert all_findings(bill(inpatient=True), env) == []


def test_professional_claim_gets_no_institutional_finding(env: EditEnv) -> None:
    claim = factories.make_billable_claim(claim=factories.make_claim(service_date=DOS))
    assert run_institutional_edits(claim, env) == []


def test_institutional_edits_skip_professional_claims_each(env: EditEnv) -> None:
    claim = factories.make_billable_claim(claim=factories.make_claim(service_date=DOS))
    for name, edit in INSTITUTIONAL_EDITS:
        assert edit(claim, env) == [], name


def test_type_of_bill_not_assigned(env: EditEnv) -> None:
    found = run_institutional_edits(bill(details={"facility_type_code": "19"}), env)
    assert [(f.code, f.field, f.severity) for f in found
            if f.code.startswith("type_of_bill")] == [
        ("type_of_bill.invalid", "institutional.facility_type_code", Severity.ERROR)]
    assert found[0].message == "type of bill 019x: facility type 1 has no bill classification 9"
    assert nubc.bill_type("13") == "Hospital, outpatient"
    assert nubc.bill_type("85") == "Special facility, critical access hospital"


def test_replacement_without_reference_on_institutional_claim(env: EditEnv) -> None:
    # the domain refuses it; a claim read from an older database skips validation
    valid = bill()
    claim = valid.model_copy(update={"claim": valid.claim.model_copy(
        update={"frequency": ClaimFrequency.REPLACEMENT})})
    assert ("frequency.reference_missing", "original_claim_reference", None) in codes(
        all_findings(claim, env))
    assert claim.claim.type_of_bill == "0137"


def test_outpatient_line_without_hcpcs_where_one_is_required(env: EditEnv) -> None:
    claim = bill()
    lines = [line.model_copy(update={"procedure_code": None}) if line.line_number == 2 else line
             for line in claim.claim.lines]  # 0300 laboratory without its CPT code
    pharmacy = factories.make_line(4, service_date=DOS, procedure_code=None, revenue_code="0250",
                                   diagnosis_pointers=[], charge=Decimal("40.00"))
    found = run_institutional_edits(
        bill(lines=[*lines, pharmacy]), env)
    assert codes(found) == [("revenue.hcpcs_required", "procedure_code", 2)]
    assert found[0].message == ("line 2: revenue code 0300 (Laboratory) needs a HCPCS code on an"
                                " outpatient bill")


def test_inpatient_lines_need_no_hcpcs(env: EditEnv) -> None:
    claim = bill(inpatient=True)
    assert all(line.procedure_code is None for line in claim.claim.lines)
    assert run_institutional_edits(claim, env) == []


def test_revenue_code_outside_every_group(env: EditEnv) -> None:
    claim = bill()
    lines = [claim.claim.lines[0].model_copy(update={"revenue_code": "2050"}),
             *claim.claim.lines[1:]]
    assert codes(run_institutional_edits(bill(lines=lines), env)) == [
        ("revenue.invalid", "revenue_code", 1)]


def test_room_and_board_on_outpatient_bill_and_none_on_inpatient(env: EditEnv) -> None:
    outpatient = bill()
    room = factories.make_line(4, service_date=DOS, procedure_code=None, revenue_code="0120",
                               diagnosis_pointers=[], charge=Decimal("900.00"))
    assert codes(run_institutional_edits(bill(lines=[*outpatient.claim.lines, room]), env)) == [
        ("revenue.accommodation_outpatient", "revenue_code", 4)]
    inpatient = bill(inpatient=True)
    no_room = [line for line in inpatient.claim.lines if line.revenue_code != "0120"]
    assert codes(run_institutional_edits(bill(inpatient=True, lines=no_room), env)) == [
        ("revenue.no_accommodation", "revenue_code", None)]


def test_poa_required_on_inpatient_not_expected_on_outpatient(env: EditEnv) -> None:
    missing = run_institutional_edits(bill(inpatient=True,
                                           details={"present_on_admission": []}), env)
    assert codes(missing) == [("poa.missing", "institutional.present_on_admission", None)]
    # an exempt code has no indicator (None): accepted, the exempt list is not shipped
    exempt = bill(inpatient=True, details={"present_on_admission": [PresentOnAdmission.YES,
                                                                    None]})
    assert run_institutional_edits(exempt, env) == []
    extra = run_institutional_edits(bill(details={"present_on_admission": ["Y", "N"]}), env)
    assert [(f.code, f.severity) for f in extra] == [("poa.not_expected", Severity.WARNING)]


def test_principal_diagnosis_external_cause_and_manifestation(env: EditEnv) -> None:
    external = run_institutional_edits(bill(diagnoses=["W010XXA", "S0990XA"]), env)
    assert codes(external) == [("diagnosis.principal_external_cause", "diagnoses[0]", None)]
    # G63: polyneuropathy in diseases classified elsewhere (code first the underlying disease)
    manifestation = run_institutional_edits(bill(diagnoses=["G63", "E1140"]), env)
    assert codes(manifestation) == [("diagnosis.principal_manifestation", "diagnoses[0]", None)]
    assert "G63" in manifestation[0].message


def test_diagnoses_checked_on_the_statement_through_date(env: EditEnv) -> None:
    # a stay from 2026-09-28 to 2026-10-02 is coded with FY2027, whose FY2027-only codes are
    # valid then: the core edit must not judge them on the admission's FY2026 date
    start, end = date(2026, 9, 28), date(2026, 10, 2)
    claim = factories.make_institutional_claim(inpatient=True, service_date=start)
    values = claim.model_dump()
    values["service_date_to"] = end
    values["diagnoses"] = ["K3580", "C7831"]  # C78.31 added in FY2027
    checked = factories.make_billable_claim(claim=Claim(**values), rendering_provider=None)
    env_later = EditEnv(today=date(2026, 11, 1), codesets=env.codesets, ncci=env.ncci)
    icd = [f for f in run_core_edits(checked, env_later) if f.code.startswith("icd10")]
    assert icd == []
    # the same codes on a professional claim are judged on its first date: C78.31 is not
    # yet valid then
    professional = factories.make_claim(service_date=start, diagnoses=["K3580", "C7831"],
                                        service_date_to=end)
    values = professional.model_dump()
    for line in values["lines"]:
        line["service_date_from"] = start
    found = run_core_edits(factories.make_billable_claim(claim=Claim(**values)), env_later)
    assert [(f.code, f.field) for f in found if f.code.startswith("icd10")] == [
        ("icd10.not_yet_effective", "diagnoses[1]")]


def test_pcs_procedure_not_valid_on_its_date(env: EditEnv) -> None:
    # 028F3Z0 was added in FY2027: not on a FY2026 date
    found = run_institutional_edits(bill(inpatient=True, details={
        "principal_procedure": InstitutionalProcedure(code="028F3Z0", procedure_date=DOS)}),
        env)
    assert codes(found) == [("icd10pcs.not_yet_effective", "institutional.principal_procedure",
                             None)]
    assert found[0].release == "ICD-10-PCS FY2026"


def test_pcs_procedure_deleted_and_outside_statement(env: EditEnv) -> None:
    later = date(2026, 5, 30)
    found = run_institutional_edits(bill(inpatient=True, details={
        "other_procedures": [InstitutionalProcedure(code="0DTJ4ZZ", procedure_date=later)]}),
        env)
    assert codes(found) == [("procedure.date_outside_statement",
                             "institutional.other_procedures[0]", None)]


def test_pcs_on_outpatient_bill_is_a_warning(env: EditEnv) -> None:
    found = run_institutional_edits(bill(details={
        "principal_procedure": InstitutionalProcedure(code="0DTJ4ZZ", procedure_date=DOS)}),
        env)
    assert [(f.code, f.severity) for f in found] == [("procedure.pcs_outpatient",
                                                      Severity.WARNING)]


def test_stay_rules(env: EditEnv) -> None:
    found = run_institutional_edits(bill(inpatient=True, details={
        "admission_date": None, "admission_hour": None, "admission_type": None,
        "admission_source": None, "discharge_hour": None}), env)
    assert codes(found) == [
        ("admission.date_missing", "institutional.admission_date", None),
        ("admission.source_missing", "institutional.admission_source", None),
        ("admission.type_missing", "institutional.admission_type", None),
        ("discharge.hour_missing", "institutional.discharge_hour", None)]
    late = run_institutional_edits(bill(inpatient=True, details={
        "admission_date": date(2026, 5, 15)}), env)
    assert codes(late) == [("admission.after_statement", "institutional.admission_date", None)]
    still = run_institutional_edits(bill(inpatient=True, details={"patient_status": "30"}),
                                    env)
    assert codes(still) == [("patient_status.still_patient", "institutional.patient_status",
                             None)]
    assert "type of bill 0111" in still[0].message


def test_attending_missing_and_other_codes(env: EditEnv) -> None:
    found = run_institutional_edits(bill(details={
        "attending_provider_npi": None, "reason_for_visit": ["R07"],
        "external_causes": ["S0990XA"]}), env)
    assert codes(found) == [
        ("attending.missing", "institutional.attending_provider_npi", None),
        ("diagnosis.external_cause_invalid", "institutional.external_causes[0]", None),
        ("icd10.not_billable", "institutional.reason_for_visit[0]", None)]


def test_messages_carry_no_phi(env: EditEnv) -> None:
    claim = bill(inpatient=True, details={"admission_date": date(2026, 5, 15),
                                          "patient_status": "30", "present_on_admission": []})
    patient = claim.patient
    for finding in run_institutional_edits(claim, env):
        text = f"{finding.message} {finding.fix_hint}"
        assert patient.last_name not in text and patient.first_name not in text
        assert "2026-05" not in text  # no date of the stay


def test_poa_is_not_required_on_a_part_b_inpatient_bill(env: EditEnv) -> None:
    # 012x bills a stay's Part B ancillaries only: no POA, no room and board expected
    claim = bill(inpatient=True, details={"facility_type_code": "12", "present_on_admission": []})
    assert run_institutional_edits(claim, env) == []


def test_timely_filing_of_a_stay_counts_from_its_through_date(env: EditEnv) -> None:
    claim = bill(inpatient=True)  # 2026-05-14 to 2026-05-17, the payer allows 365 days
    assert claim.claim.service_date_to == date(2026, 5, 17)
    later = EditEnv(today=date(2027, 5, 16), codesets=env.codesets, ncci=env.ncci)
    assert [f.code for f in run_core_edits(claim, later) if f.code.startswith("timely")] == []
    late = EditEnv(today=date(2027, 5, 18), codesets=env.codesets, ncci=env.ncci)
    assert [(f.code, f.field) for f in run_core_edits(claim, late)
            if f.code.startswith("timely")] == [("timely_filing.expired", "service_date_to")]
