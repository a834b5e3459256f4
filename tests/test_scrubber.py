"""The claim scrubber: each core edit, NCCI PTP/MUE, the hook, the service and the CLI."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from typer.testing import CliRunner

from medbill_core.adapters import PayerAdapter
from medbill_core.cli.main import build_app
from medbill_core.codesets import CodeSets, reset_default_codesets
from medbill_core.codesets.ncci import Ncci, reset_default_ncci
from medbill_core.codesets.releases import ReleaseWindow, coverage
from medbill_core.config import MedbillConfig
from medbill_core.default_plugins.core_edits import (
    CORE_EDITS,
    EditEnv,
    environment,
    run_core_edits,
)
from medbill_core.domain import (
    BillableClaim,
    Claim,
    ClaimFinding,
    ClaimFrequency,
    ClaimState,
    ServiceLine,
    Severity,
    UnitType,
)
from medbill_core.domain.identifiers import npi_with_check_digit
from medbill_core.hookspecs import hookimpl
from medbill_core.plugins import PluginHooks
from medbill_core.services.scrubbing import scrub_claims
from medbill_core.testing import factories
from medbill_core.testing.factories import PRACTICE_NPI, REFERRING_NPI

D = date
DOS = D(2026, 5, 14)  # inside the packaged ICD-10-CM release (2026-04-01..2026-09-30)
TODAY = D(2026, 6, 1)


# -- helpers ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def codesets(tmp_path_factory: pytest.TempPathFactory) -> CodeSets:
    """Packaged code sets only; the ICD-10-CM cache shared with the other code-set tests."""
    return CodeSets(tmp_path_factory.mktemp("no-user-data"),
                    cache_dir=tmp_path_factory.getbasetemp() / "medbill-cache")


@pytest.fixture(scope="module")
def env(codesets: CodeSets) -> EditEnv:
    return EditEnv(today=TODAY, codesets=codesets, ncci=Ncci(use_user_data=False))


def line(number: int, code: str = "99213", *, units: str = "1", modifiers: tuple[str, ...] = (),
         day: date = DOS, **overrides: Any) -> ServiceLine:
    return factories.make_line(number, service_date=day, procedure_code=code,
                               units=Decimal(units), modifiers=list(modifiers), **overrides)


def bill(*lines: ServiceLine, billable: dict[str, Any] | None = None,
         **claim_fields: Any) -> BillableClaim:
    """A valid claim on ``DOS`` (lines 99213 + 36415 unless given) with its parties."""
    values = factories.make_claim(service_date=DOS, lines=2).model_dump()
    if lines:
        values["lines"] = list(lines)
    values.update(claim_fields)
    return factories.make_billable_claim(claim=Claim(**values), **(billable or {}))


def unchecked(billable: BillableClaim, **claim_fields: Any) -> BillableClaim:
    """Bypass validation: what a claim built with model_construct or read from old data holds."""
    return billable.model_copy(update={"claim": billable.claim.model_copy(update=claim_fields)})


def errors(findings: list[ClaimFinding]) -> list[str]:
    return sorted(f.code for f in findings if f.severity is Severity.ERROR)


def codes(findings: list[ClaimFinding]) -> list[str]:
    return sorted(f.code for f in findings)


def scrub(claim: BillableClaim, env: EditEnv, *, gaps: bool = False,
          **changes: Any) -> list[ClaimFinding]:
    """The core edits' findings; the ``*.release_gap`` warnings only with ``gaps=True`` (the
    packaged NCCI tables are of 2024 Q3, so every claim of ``DOS`` gets them; they have
    tests of their own below)."""
    if changes:
        env = EditEnv(**{"today": env.today, "codesets": env.codesets, "ncci": env.ncci,
                         "requires_rendering": env.requires_rendering, **changes})
    findings = run_core_edits(claim, env)
    return findings if gaps else [f for f in findings if not f.code.endswith(".release_gap")]


# -- a clean claim, and each kind of error -----------------------------------------------------

def test_a_clean_claim_has_no_findings(env: EditEnv) -> None:
    assert scrub(bill(), env) == []
    assert scrub(bill(line(1, "99214"), line(2, "G0008", modifiers=("GA",)),
                      line(3, "36415", units="2")), env) == []


def _other_coverage(**overrides: Any) -> dict[str, Any]:
    return {"coverage": factories.make_coverage(patient_id=1, id=1, **overrides)}


CASES: dict[str, tuple[Callable[[], BillableClaim], dict[str, Any], list[str]]] = {
    "billing NPI missing": (lambda: unchecked(bill(), billing_provider_npi=""), {},
                            ["billing.npi_missing"]),
    "billing NPI not the practice's": (
        lambda: bill(billing_provider_npi=npi_with_check_digit("111111111")), {},
        ["billing.npi_mismatch"]),
    "NPI check digit": (lambda: unchecked(bill(), referring_provider_npi="1234567890"), {},
                        ["npi.invalid", "referring.unknown"]),
    "rendering provider required": (
        lambda: bill(rendering_provider_npi=None, billable={"rendering_provider": None}),
        {"requires_rendering": True}, ["rendering.missing"]),
    "rendering NPI without a provider record": (
        lambda: bill(billable={"rendering_provider": None}), {}, ["rendering.unknown"]),
    "referring NPI without a provider record": (
        lambda: bill(referring_provider_npi=REFERRING_NPI), {}, ["referring.unknown"]),
    "provider record with another NPI": (
        lambda: bill(billable={"rendering_provider": factories.make_provider(REFERRING_NPI)}),
        {}, ["provider.npi_mismatch"]),
    "no diagnosis": (lambda: unchecked(bill(), diagnoses=[]), {},  # both lines point to 1
                     ["diagnosis.missing", "diagnosis.pointer_invalid",
                      "diagnosis.pointer_invalid"]),
    "payer without coverage": (lambda: bill().model_copy(update={"coverage": None}), {},
                               ["coverage.missing"]),
    "coverage of another payer": (lambda: bill(billable=_other_coverage(payer_key="bluecross")),
                                  {}, ["coverage.payer_mismatch"]),
    "coverage of another patient": (lambda: bill(billable={"coverage": factories.make_coverage(
        patient_id=2, id=1)}), {}, ["coverage.patient_mismatch"]),
    "coverage ended": (lambda: bill(billable=_other_coverage(end_date=DOS - timedelta(days=1))),
                       {}, ["coverage.inactive"]),
    "future date": (lambda: bill(line(1, day=TODAY + timedelta(days=1)),
                                 service_date_from=TODAY + timedelta(days=1),
                                 service_date_to=TODAY + timedelta(days=1)),
                    {}, ["date.future"]),
    "before birth": (lambda: bill(billable={"patient": factories.make_patient(
        1, id=1, birth_date=DOS + timedelta(days=10))}), {}, ["date.before_birth"]),
    "line outside the claim's dates": (
        lambda: unchecked(bill(), lines=[line(1, day=DOS + timedelta(days=3))]), {},
        ["date.line_outside_claim"]),
    "pointer past the diagnoses": (
        lambda: unchecked(bill(), lines=[line(1).model_copy(update={"diagnosis_pointers": [3]})]),
        {}, ["diagnosis.pointer_invalid"]),
    "ICD-10-CM category header": (lambda: bill(diagnoses=["E11", "I10"]), {},
                                  ["icd10.not_billable"]),
    "ICD-10-CM unknown code": (lambda: bill(diagnoses=["U999", "I10"]), {}, ["icd10.unknown"]),
    "ICD-10-CM malformed": (lambda: unchecked(bill(), diagnoses=["11E", "I10"]), {},
                            ["icd10.format"]),
    "HCPCS terminated": (lambda: bill(line(1, "C9152")), {}, ["procedure.terminated"]),
    "CPT malformed": (lambda: unchecked(bill(), lines=[line(1).model_copy(
        update={"procedure_code": "9921"})]), {}, ["procedure.format"]),
    "unknown modifier": (lambda: bill(line(1, modifiers=("ZZ",))), {}, ["modifier.unknown"]),
    "terminated modifier": (lambda: bill(line(1, modifiers=("CP",))), {},
                            ["modifier.terminated"]),
    "zero units": (lambda: unchecked(bill(), lines=[line(1).model_copy(
        update={"units": Decimal(0)})]), {}, ["line.units_not_positive"]),
    "zero charge": (lambda: unchecked(bill(), lines=[line(1).model_copy(
        update={"charge": Decimal("0.00")})]), {}, ["line.charge_not_positive"]),
    "unassigned place of service": (lambda: bill(place_of_service="30"), {},
                                    ["pos.unassigned"]),
    "unassigned line place of service": (lambda: bill(line(1, place_of_service="30")), {},
                                         ["pos.unassigned"]),
    "timely filing": (lambda: bill(line(1, day=D(2026, 4, 15)), service_date_from=D(2026, 4, 15),
                                   service_date_to=D(2026, 4, 15),
                                   billable={"payer": factories.make_payer(
                                       timely_filing_days=30)}),
                      {}, ["timely_filing.expired"]),
    "replacement without the original reference": (
        lambda: unchecked(bill(), frequency=ClaimFrequency.REPLACEMENT), {},
        ["frequency.reference_missing"]),
    "replaces a claim as an original": (lambda: bill(replaces_claim_id=7), {},
                                        ["frequency.not_replacement"]),
    "NCCI pair, indicator 0": (lambda: bill(line(1, "20610"), line(2, "36591")), {},
                               ["ncci.ptp.not_allowed"]),
    "NCCI pair, indicator 1, no modifier": (lambda: bill(line(1, "20610"), line(2, "99213")),
                                            {}, ["ncci.ptp.modifier_required"]),
    "MUE exceeded": (lambda: bill(line(1, "99213"), line(2, "36415", units="3")), {},
                     ["ncci.mue.exceeded"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_kind_of_error_blocks_with_its_finding(case: str, env: EditEnv) -> None:
    build, env_changes, expected = CASES[case]
    assert errors(scrub(build(), env, **env_changes)) == expected


def test_findings_carry_claim_line_field_and_hint(env: EditEnv) -> None:
    [finding] = scrub(bill(line(1), line(2, "36415", modifiers=("ZZ",))), env)
    assert finding.model_dump() == {
        "severity": Severity.ERROR, "code": "modifier.unknown",
        "message": "ZZ: no such modifier code in HCPCS Level II modifiers 2026 Q3 or CPT"
                   " modifiers 22-99",
        "claim_number": "CLM0001", "line_number": 2, "field": "modifiers[0]",
        "fix_hint": "check the code; if it is newer than the loaded code set, load its current"
                    " release with `medbill codes update FILE...`",
        "source": "core", "release": "HCPCS Level II modifiers 2026 Q3"}
    assert finding.blocks_submission


def test_messages_and_hints_carry_no_phi(env: EditEnv) -> None:
    patient = factories.make_patient(7, id=1, birth_date=DOS + timedelta(days=1))
    coverage = factories.make_coverage(patient_id=1, id=1, end_date=DOS - timedelta(days=1))
    claim = unchecked(bill(line(1, "20610"), line(2, "99213", units="9"),
                           diagnoses=["E11", "I10"], place_of_service="30",
                           billable={"patient": patient, "coverage": coverage}),
                      referring_provider_npi="1234567890")
    findings = scrub(claim, env)
    assert len(errors(findings)) >= 8
    text = " ".join(f"{f.message} {f.fix_hint}" for f in findings)
    for value in (patient.last_name, patient.first_name, patient.birth_date.isoformat(),
                  coverage.member_id, "Elm Street", "5555550111", "GRP001"):
        assert value not in text


# -- warnings do not block ---------------------------------------------------------------------

def test_warnings_do_not_block(env: EditEnv) -> None:
    claim = bill(line(1, "99213", modifiers=("25", "25")), line(2, "36415"), line(3, "36415"))
    findings = scrub(claim, env)
    assert [(f.code, f.severity, f.line_number) for f in findings] == [
        ("modifier.repeated", Severity.WARNING, 1),
        ("line.duplicate", Severity.WARNING, 3)]


def test_icd10_release_gap_is_a_warning_naming_the_missing_release(env: EditEnv) -> None:
    day = D(2027, 11, 2)  # after every packaged ICD-10-CM release (the newest ends 2027-09-30)
    findings = scrub(bill(line(1, day=day), service_date_from=day, service_date_to=day), env,
                     today=D(2027, 11, 20), gaps=True)
    [gap] = [f for f in findings if f.code == "icd10.release_gap"]
    assert (gap.severity, gap.field) == (Severity.WARNING, "diagnoses")
    assert gap.message.startswith("date of service 2027-11-02: ICD-10-CM FY2028"
                                  " (2027-10-01..2028-09-30) is not loaded; diagnoses were"
                                  " checked against ")
    assert gap.release and gap.release in gap.message
    assert gap.fix_hint is not None and "`medbill codes update FILE...`" in gap.fix_hint


def test_ncci_release_gap_names_the_quarter_and_the_table_used(env: EditEnv) -> None:
    """The packaged NCCI tables are of 2024 Q3: a 2026 claim is checked against them, and
    says so once per table."""
    gaps = [f for f in scrub(bill(), env, gaps=True) if f.code.endswith(".release_gap")]
    assert [(f.code, f.field, f.severity) for f in gaps] == [
        ("ncci.release_gap", "procedure_code", Severity.WARNING),
        ("ncci.release_gap", "units", Severity.WARNING)]
    assert gaps[0].message.startswith(
        "date of service 2026-05-14: NCCI practitioner PTP edits 2026 Q2 (2026-04-01.."
        "2026-06-30) is not loaded; NCCI PTP pairs were checked against NCCI practitioner PTP")
    assert "NCCI practitioner MUEs 2026 Q2" in gaps[1].message
    # self-pay claims run no NCCI edits, so they get no NCCI warning either
    assert not [f for f in scrub(bill(billable={"payer": None, "coverage": None},
                                      payer_key=None, coverage_id=None), env, gaps=True)
                if f.code == "ncci.release_gap"]


def test_no_release_gap_when_a_loaded_release_covers_the_date(env: EditEnv) -> None:
    quarter = {key: [ReleaseWindow(key, f"{key} 2026 Q2", D(2026, 4, 1), D(2026, 6, 30),
                                   "test", "loaded")] for key in ("ncci-ptp", "ncci-mue")}
    covered = EditEnv(today=env.today, codesets=env.codesets, ncci=env.ncci, releases=quarter)
    assert not [f for f in run_core_edits(bill(), covered) if f.code.endswith(".release_gap")]


def test_hcpcs_release_gap_only_for_claims_with_level_ii_codes(env: EditEnv) -> None:
    day, today = D(2026, 11, 2), D(2026, 11, 20)  # HCPCS 2026 Q4 is not packaged
    level_2 = bill(line(1, "G0008", day=day), service_date_from=day, service_date_to=day)
    [gap] = [f for f in scrub(level_2, env, today=today, gaps=True)
             if f.code == "procedure.release_gap"]
    assert gap.message.startswith("date of service 2026-11-02: HCPCS Level II 2026 Q4"
                                  " (2026-10-01..2026-12-31) is not loaded")
    cpt_only = bill(line(1, "99213", day=day, modifiers=("25",)), service_date_from=day,
                    service_date_to=day)
    assert "procedure.release_gap" not in codes(scrub(cpt_only, env, today=today, gaps=True))


def test_icd10_category_header_e11_is_not_billable(env: EditEnv) -> None:
    [finding] = scrub(bill(diagnoses=["E11", "I10"]), env)
    assert (finding.code, finding.field) == ("icd10.not_billable", "diagnoses[0]")
    assert finding.message == ("E11: ICD-10-CM category header (Type 2 diabetes mellitus), not"
                               " billable: use a more specific code (more characters)")


def test_hcpcs_code_used_after_its_termination_date(env: EditEnv) -> None:
    day = D(2024, 1, 1)  # C9152 was terminated on 2023-12-31
    on_time = bill(line(1, "C9152", day=D(2023, 12, 31)), service_date_from=D(2023, 12, 31),
                   service_date_to=D(2023, 12, 31))
    late = bill(line(1, "C9152", day=day), service_date_from=day, service_date_to=day)
    assert "procedure.terminated" not in codes(scrub(on_time, env, today=D(2024, 2, 1)))
    late_findings = [f for f in scrub(late, env, today=D(2024, 2, 1))
                     if f.code.startswith("procedure")]
    assert [(f.code, f.line_number, f.message) for f in late_findings] == [
        ("procedure.terminated", 1,
         "C9152: HCPCS Level II terminated after 2023-12-31, not valid on 2024-01-01")]


def test_hcpcs_code_before_its_effective_date(env: EditEnv) -> None:
    day = D(2024, 6, 1)  # G0519 is effective 2024-07-01
    findings = scrub(bill(line(1, "G0519", day=day), service_date_from=day, service_date_to=day),
                     env, today=D(2024, 6, 15))
    assert "procedure.not_yet_effective" in errors(findings)


def test_coverage_ending_mid_claim_flags_the_later_line(env: EditEnv) -> None:
    end = DOS + timedelta(days=1)
    claim = bill(line(1), line(2, "36415", day=DOS + timedelta(days=2)),
                 service_date_to=DOS + timedelta(days=2),
                 billable=_other_coverage(end_date=end))
    [finding] = scrub(claim, env)
    assert (finding.code, finding.line_number) == ("coverage.inactive", 2)


# -- NCCI PTP ----------------------------------------------------------------------------------

def ptp(claim: BillableClaim, env: EditEnv) -> list[tuple[str, int | None]]:
    return [(f.code, f.line_number) for f in scrub(claim, env) if f.code.startswith("ncci.ptp")]


def test_ncci_pair_without_modifier_is_blocked_on_the_column_2_line(env: EditEnv) -> None:
    claim = bill(line(1, "20610", modifiers=("RT",)), line(2, "99213"))
    [finding] = scrub(claim, env)
    assert (finding.code, finding.line_number, finding.field) == (
        "ncci.ptp.modifier_required", 2, "modifiers")
    assert finding.message.startswith(
        "99213 (line 2) with 20610 (line 1) on 2026-05-14: NCCI PTP edit, modifier indicator 1,"
        " and no NCCI-associated modifier on the column-2 line (CPT Manual or CMS manual coding"
        " instruction; CMS NCCI practitioner PTP edits 2024 Q3")


@pytest.mark.parametrize("modifier", ["25", "59", "XS", "XU"])
def test_ncci_associated_modifier_on_the_column_2_line_bypasses(env: EditEnv,
                                                                modifier: str) -> None:
    assert scrub(bill(line(1, "20610"), line(2, "99213", modifiers=(modifier,))), env) == []


def test_ncci_modifier_on_the_column_1_line_does_not_bypass(env: EditEnv) -> None:
    assert ptp(bill(line(1, "20610", modifiers=("59",)), line(2, "99213")), env) == [
        ("ncci.ptp.modifier_required", 2)]


def test_ncci_modifier_that_is_not_associated_does_not_bypass(env: EditEnv) -> None:
    assert ptp(bill(line(1, "20610"), line(2, "99213", modifiers=("76",))), env) == [
        ("ncci.ptp.modifier_required", 2)]


def test_ncci_indicator_0_is_never_bypassed(env: EditEnv) -> None:
    claim = bill(line(1, "20610"), line(2, "36591", modifiers=("59",)))
    assert ptp(claim, env) == [("ncci.ptp.not_allowed", 2)]


def test_ncci_anatomic_modifiers_bypass_only_for_different_sites(env: EditEnv) -> None:
    # 11042 / 11010: mutually exclusive, indicator 1
    same = bill(line(1, "11042", modifiers=("RT",)), line(2, "11010", modifiers=("RT",)))
    other = bill(line(1, "11042", modifiers=("RT",)), line(2, "11010", modifiers=("LT",)))
    assert ptp(same, env) == [("ncci.ptp.modifier_required", 2)]
    assert ptp(other, env) == []


def test_ncci_pairs_apply_per_date_of_service(env: EditEnv) -> None:
    later = DOS + timedelta(days=1)
    claim = bill(line(1, "20610"), line(2, "99213", day=later), service_date_to=later)
    assert ptp(claim, env) == []


def test_ncci_edits_do_not_run_on_self_pay_claims(env: EditEnv) -> None:
    claim = bill(line(1, "20610"), line(2, "36591"), line(3, "36415", units="5"),
                 coverage_id=None, payer_key=None,
                 billable={"coverage": None, "payer": None})
    assert scrub(claim, env) == []


def test_ncci_edits_off(env: EditEnv) -> None:
    assert scrub(bill(line(1, "20610"), line(2, "36591")), env, ncci=None) == []


# -- NCCI MUE ----------------------------------------------------------------------------------

def mue(claim: BillableClaim, env: EditEnv) -> list[tuple[int | None, str]]:
    return [(f.line_number, f.message) for f in scrub(claim, env) if f.code == "ncci.mue.exceeded"]


def test_mue_units_per_day_add_up_across_lines(env: EditEnv) -> None:
    within = bill(line(1, "36415", units="2"))
    over = bill(line(1, "36415"), line(2, "36415", units="2", modifiers=("91",)))
    assert mue(within, env) == []
    assert mue(over, env) == [(2, "36415: 3 units on 2026-05-14 (lines 1, 2), over the MUE of 2"
                                  " per day (clinical)")]


def test_mue_exceeded_message_and_hint(env: EditEnv) -> None:
    [finding] = scrub(bill(line(1, "99213"), line(2, "36415", units="3")), env)
    assert finding.message == ("36415: 3 units on 2026-05-14 (line 2), over the MUE of 2 per day"
                               " (clinical)")
    assert finding.fix_hint is not None and "appealed" in finding.fix_hint


def test_mue_per_day_is_separate_for_each_date(env: EditEnv) -> None:
    later = DOS + timedelta(days=1)
    claim = bill(line(1, "36415", units="2"), line(2, "36415", units="2", day=later),
                 service_date_to=later)
    assert mue(claim, env) == []


def test_mue_line_edit_counts_each_line(env: EditEnv) -> None:
    # A0425 (ambulance mileage): MUE 250, adjudication indicator 1 (per line)
    two_lines = bill(line(1, "A0425", units="200"), line(2, "A0425", units="100",
                                                         modifiers=("76",)))
    one_line = bill(line(1, "A0425", units="251"))
    assert mue(two_lines, env) == []
    assert mue(one_line, env) == [(1, "A0425: 251 units on line 1, over the MUE of 250 per"
                                      " claim line")]


def test_mue_for_a_line_spanning_days(env: EditEnv) -> None:
    end = DOS + timedelta(days=1)
    ok = bill(line(1, "36415", units="4", service_date_to=end), service_date_to=end)
    over = bill(line(1, "36415", units="5", service_date_to=end), service_date_to=end)
    assert mue(ok, env) == []
    assert mue(over, env) == [(1, "36415: 5 units on line 1 (2 days), over the MUE of 2 per day"
                                  " (clinical)")]


def test_mue_ignores_anesthesia_minutes(env: EditEnv) -> None:
    claim = bill(line(1, "36415", units="30", unit_type=UnitType.MINUTES))
    assert mue(claim, env) == []


def test_mue_of_zero_applies_to_medicare_only(env: EditEnv) -> None:
    # 99396 (preventive visit): practitioner MUE 0 (Medicare does not pay it)
    commercial = bill(line(1, "99396"))
    medicare = bill(line(1, "99396"), payer_key="medicare", billable={
        "payer": factories.make_payer("medicare", claim_filing_indicator="MB"),
        "coverage": factories.make_coverage(patient_id=1, id=1, payer_key="medicare")})
    assert mue(commercial, env) == []
    assert mue(medicare, env) == [(1, "99396: 1 units on 2026-05-14 (line 1), over the MUE of 0"
                                      " per day (clinical)")]


def test_the_payers_program_setting_decides_the_mue_of_zero(env: EditEnv) -> None:
    """``program`` per payer in the configuration: a Medicaid managed-care plan billed with a
    commercial filing indicator, and a Medicare Advantage plan the practice treats as
    commercial."""
    from medbill_core.domain import PayerProgram

    def billed_to(**payer: object) -> BillableClaim:
        return bill(line(1, "99396"), payer_key="plan", billable={
            "payer": factories.make_payer("plan", **payer),
            "coverage": factories.make_coverage(patient_id=1, id=1, payer_key="plan")})

    over = [(1, "99396: 1 units on 2026-05-14 (line 1), over the MUE of 0 per day (clinical)")]
    assert mue(billed_to(claim_filing_indicator="HM", program=PayerProgram.MEDICAID),
               env) == over
    assert mue(billed_to(claim_filing_indicator="MB", program=PayerProgram.COMMERCIAL),
               env) == []
    assert mue(billed_to(claim_filing_indicator="MC"), env) == over  # the default: SBR09


# -- through the hook --------------------------------------------------------------------------

class StrictAdapter(PayerAdapter):
    identifier = "strict"
    requires_rendering_provider = True

    def claim_edits(self, claim: BillableClaim) -> list[ClaimFinding]:
        return [ClaimFinding(severity=Severity.WARNING, code="strict.note", message="checked",
                             claim_number=claim.claim.claim_number, source="strict")]


def test_hook_runs_core_and_adapter_edits() -> None:
    payer = factories.make_payer("strictpay", adapter="strict")
    config = MedbillConfig(plugins=[], practice=factories.make_practice(),
                           payers={"strictpay": payer})
    plugin = SimpleNamespace(medbill_register_payer_adapters=hookimpl(lambda context: [
        StrictAdapter()]))
    hooks = PluginHooks.start(config, extra_plugins=[("strict", plugin)], load_installed=False)
    claim = factories.make_billable_claim(
        payer=payer, coverage=factories.make_coverage(patient_id=1, id=1, payer_key="strictpay"),
        rendering_provider=None,
        claim=factories.make_claim(payer_key="strictpay", rendering_provider_npi=None,
                                   diagnoses=["E11", "I10"]))
    assert environment(claim, hooks.context).requires_rendering
    found = {f.code: f.source for f in hooks.claim_edits(claim=claim)}
    assert found["rendering.missing"] == "core"
    assert found["icd10.not_billable"] == "core"
    assert found["strict.note"] == "strict"


def test_core_edit_names_are_unique() -> None:
    names = [name for name, _ in CORE_EDITS]
    assert len(names) == len(set(names)) == 17


# -- the service and the CLI, on each database -------------------------------------------------

@pytest.fixture
def isolated_codesets(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory,
                      monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Default code sets over an empty user directory; the ICD-10-CM cache of the session."""
    monkeypatch.setenv("MEDBILL_CODESETS_DIR", str(tmp_path / "codesets"))
    monkeypatch.setenv("MEDBILL_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "medbill-cache"))
    reset_default_codesets()
    reset_default_ncci()
    yield
    reset_default_codesets()
    reset_default_ncci()


def populate(app: Any) -> dict[str, int]:
    """Four draft claims: two clean, one with a category-header diagnosis, one NCCI pair."""
    with app.unit_of_work() as work:
        patient = work.patients.register(factories.make_patient(1))
        coverage = work.patients.add_coverage(patient.id, factories.make_coverage())
        work.patients.register_provider(factories.make_provider())
        day = factories.recent_service_date()
        specs = {
            "CLEAN1": {},
            "CLEAN2": {"lines": 1},
            "HEADER": {"diagnoses": ["E11", "I10"]},
            "PAIR": {"lines": 1},
        }
        ids = {}
        for number, extra in specs.items():
            claim = factories.make_claim(patient.id, coverage_id=coverage.id, number=number,
                                         **{"lines": 2, **extra})
            if number == "PAIR":
                claim = Claim(**{**claim.model_dump(), "lines": [
                    line(1, "20610", day=day), line(2, "99213", day=day)]})
            ids[number] = work.claims.create(claim).id
    return ids


def test_scrub_claims_reports_the_clean_claim_rate(medbill_app: Any,
                                                   isolated_codesets: None) -> None:
    ids = populate(medbill_app)
    with medbill_app.unit_of_work() as work:
        report = scrub_claims(work, list(ids.values()))
    assert [(r.claim_number, r.clean) for r in report.results] == [
        ("CLEAN1", True), ("CLEAN2", True), ("HEADER", False), ("PAIR", False)]
    assert (report.clean_count, report.clean_claim_rate) == (2, Decimal("50.00"))
    blocking = {r.claim_number: [f.code for f in r.findings if f.blocks_submission]
                for r in report.results}
    assert blocking == {"CLEAN1": [], "CLEAN2": [], "HEADER": ["icd10.not_billable"],
                        "PAIR": ["ncci.ptp.modifier_required"]}
    with medbill_app.unit_of_work() as work:
        states = {number: work.claims.get(i).state for number, i in ids.items()}
        three = scrub_claims(work, [ids["CLEAN1"], ids["CLEAN2"], ids["PAIR"]], validate=False)
    assert states == {"CLEAN1": ClaimState.VALIDATED, "CLEAN2": ClaimState.VALIDATED,
                      "HEADER": ClaimState.DRAFT, "PAIR": ClaimState.DRAFT}
    assert three.clean_claim_rate == Decimal("66.67")


def config_file(tmp_path: Path, database_url: str) -> Path:
    practice = factories.make_practice()
    path = tmp_path / "medbill.toml"
    path.write_text(f"""\
[medbill]
database_url = "{database_url}"
plugins = []
actor = "clerk"

[practice]
name = "{practice.name}"
npi = "{PRACTICE_NPI}"
tax_id = "{practice.tax_id}"

[practice.address]
line1 = "100 Main Street"
city = "Springfield"
state = "IL"
postal_code = "62701"

[payers.acme]
payer_id = "ACME1"
name = "Acme Health Plan"
adapter = "generic_x12"
""", encoding="utf-8")
    return path


@pytest.fixture
def cli_config(medbill_app: Any, tmp_path: Path, isolated_codesets: None,
               monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in ("MEDBILL_CONFIG", "MEDBILL_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    loggers = [logging.getLogger(name) for name in ("medbill", "medbill_core")]
    saved = [(logger.level, list(logger.handlers)) for logger in loggers]
    yield config_file(tmp_path, medbill_app.config.database_url)
    for logger, (level, handlers) in zip(loggers, saved, strict=True):
        logger.setLevel(level)
        logger.handlers[:] = handlers


def cli(config: Path, *args: str) -> Any:
    return CliRunner().invoke(build_app(), ["--config", str(config), *args],
                              env={"COLUMNS": "250"}, catch_exceptions=False)


def test_cli_scrub_json_exit_1_when_blocked(medbill_app: Any, cli_config: Path) -> None:
    ids = populate(medbill_app)
    result = cli(cli_config, "claims", "scrub", "--no-validate", "--json")
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert (data["claims"], data["clean"], data["blocked"], data["clean_claim_rate"]) == (
        4, 2, 2, "50.00")
    by_number = {r["claim_number"]: r for r in data["results"]}
    assert by_number["PAIR"]["claim_id"] == ids["PAIR"]
    assert [(f["code"], f["severity"], f["line_number"])
            for f in by_number["PAIR"]["findings"] if f["severity"] == "error"] == [
        ("ncci.ptp.modifier_required", "error", 2)]
    with medbill_app.unit_of_work() as work:  # --no-validate: nothing moved
        assert {work.claims.get(i).state for i in ids.values()} == {ClaimState.DRAFT}


def test_cli_scrub_table_and_selection(medbill_app: Any, cli_config: Path) -> None:
    ids = populate(medbill_app)
    clean = cli(cli_config, "claims", "scrub", "--claim", "CLEAN1", "--claim", str(ids["CLEAN2"]))
    assert clean.exit_code == 0, clean.output
    assert "2 claims scrubbed: 2 clean, 0 blocked (clean drafts moved to validated);" \
           " clean-claim rate 100.00%" in clean.stdout
    with medbill_app.unit_of_work() as work:
        assert work.claims.get(ids["CLEAN1"]).state is ClaimState.VALIDATED

    drafts = cli(cli_config, "claims", "scrub", "--state", "draft")
    assert drafts.exit_code == 1
    out = drafts.stdout
    assert "icd10.not_billable" in out and "ncci.ptp.modifier_required" in out
    assert "fix hint" in out and "use a more specific (billable) code" in out
    assert "2 claims scrubbed: 0 clean, 2 blocked" in out
    assert "clean-claim rate 0.00%" in out

    validated = cli(cli_config, "claims", "scrub", "--state", "validated", "--json")
    assert validated.exit_code == 0
    assert json.loads(validated.stdout)["claims"] == 2

    empty = cli(cli_config, "claims", "scrub", "--claim", "PAIR", "--state", "validated")
    assert (empty.exit_code, empty.stdout.strip()) == (0, "no claims to scrub")


def test_cli_scrub_unknown_claim_is_one_line(medbill_app: Any, cli_config: Path) -> None:
    result = cli(cli_config, "claims", "scrub", "--claim", "NOPE")
    assert result.exit_code == 1
    assert result.stderr.strip().startswith("error: ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_cli_scrub_says_a_missing_release_once_with_its_claim_count(
        medbill_app: Any, cli_config: Path) -> None:
    """The packaged NCCI tables are of 2024 Q3: every claim of DOS gets the same two gap
    warnings (kept per claim in --json), which the table prints once each, with a count."""
    populate(medbill_app)  # four claims of one recent date, three with two lines or more
    quarter = coverage("ncci-ptp", factories.recent_service_date()).wanted_period
    table = cli(cli_config, "claims", "scrub", "--no-validate")
    lines = [line for line in table.stdout.splitlines() if "release_gap" in line]
    assert lines == [
        f"warning: ncci.release_gap on 3 claims: NCCI practitioner PTP edits {quarter} is not"
        " loaded; NCCI PTP pairs were checked against NCCI practitioner PTP 2024 Q3"
        " (2024-07-01..2024-09-30)",
        f"warning: ncci.release_gap on 4 claims: NCCI practitioner MUEs {quarter} is not"
        " loaded; units (MUEs) were checked against NCCI practitioner MUE 2024 Q3"
        " (2024-07-01..2024-09-30)"]
    data = json.loads(cli(cli_config, "claims", "scrub", "--no-validate", "--json").stdout)
    assert sum(f["code"] == "ncci.release_gap" for r in data["results"]
               for f in r["findings"]) == 7
