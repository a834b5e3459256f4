"""837I business rules as findings: a structurally sound 837I always decodes; an ICD-9
qualifier, an NPI check digit, a code not valid on its date is a positioned finding next to the
claims (the value kept as sent), refused only by a strict read. Files written by others read."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from medbill_payer_generic_x12.codec import read_document
from medbill_payer_generic_x12.transactions.claim_837i import (
    decode_837i,
    decode_837i_findings,
    encode_837i,
)
from medbill_payer_generic_x12.x12 import X12Error
from medbill_payer_generic_x12.x12.findings import Finding, FindingSeverity, X12FindingsError
from x12_institutional_factories import ATTENDING_NPI, inpatient, outpatient

from medbill_core.api import CodeSystem, DocumentKind, default_codesets

NOW = datetime(2024, 3, 5, 10, 30)
FIXTURES = Path(__file__).parent / "fixtures" / "public" / "837I"


def _inpatient_text() -> str:
    return encode_837i([inpatient()], now=NOW).text


def _segment_index(text: str, start: str) -> int:
    return next(number for number, segment in enumerate(text.split("~"), start=1)
                if segment.startswith(start))


def _where(finding: Finding) -> tuple[int | None, str | None, int | None]:
    return finding.segment_index, finding.segment_id, finding.element


def test_a_clean_837i_has_no_findings_even_with_the_code_sets_checked() -> None:
    claims, findings = decode_837i_findings(_inpatient_text(), check_codes=True)
    assert findings == []
    assert [bill.claim.claim_number for bill in claims] == ["CLMI2001"]


#: ICD-9 qualifier written in place of each ICD-10 one, with an ICD-9-shaped code where the
#: field's form refuses the ICD-10 one's replacement (what the finding names).
ICD9 = {
    "HI*ABK:K3580": ("HI*BK:K3580", "ICD-10-CM qualifier ABK (BK is ICD-9-CM"),
    "HI*ABJ:R1031": ("HI*BJ:R1031", "ICD-10-CM qualifier ABJ (BJ is ICD-9-CM"),
    "HI*ABN:W010XXA": ("HI*BN:W010XXA", "ICD-10-CM qualifier ABN (BN is ICD-9-CM"),
    "HI*ABF:E119": ("HI*BF:E119", "ICD-10-CM qualifier ABF (BF is ICD-9-CM"),
    "HI*BBR:0DTJ4ZZ": ("HI*BR:0DTJ4ZZ", "ICD-10-PCS qualifier BBR (BR is ICD-9-CM"),
    "HI*BBQ:0DJD8ZZ": ("HI*BQ:0DJD8ZZ", "ICD-10-PCS qualifier BBQ (BQ is ICD-9-CM"),
}


@pytest.mark.parametrize("sent", ICD9)
def test_an_icd9_qualifier_is_a_positioned_finding_and_the_claim_is_read(sent: str) -> None:
    replacement, message = ICD9[sent]
    text = _inpatient_text().replace(sent, replacement)
    claims, findings = decode_837i_findings(text)
    assert len(claims) == 1
    assert [(_where(f), f.component, f.severity) for f in findings] == [
        ((_segment_index(text, replacement), "HI", 1), 1, FindingSeverity.ERROR)]
    assert findings[0].message.startswith(message)
    with pytest.raises(X12FindingsError) as caught:
        decode_837i(text)  # strict by default
    assert caught.value.findings == findings


def test_a_reason_for_visit_under_the_icd9_qualifier_is_a_finding() -> None:
    text = encode_837i([outpatient()], now=NOW).text
    assert "HI*APR:" in text
    text = text.replace("HI*APR:", "HI*PR:")
    claims, findings = decode_837i_findings(text)
    assert len(claims) == 1 and len(findings) == 1
    assert findings[0].message.startswith("ICD-10-CM qualifier APR (PR is ICD-9-CM")
    assert _where(findings[0]) == (_segment_index(text, "HI*PR:"), "HI", 1)


def test_an_icd9_code_keeps_its_value_with_a_finding_on_its_form() -> None:
    text = _inpatient_text().replace("HI*ABJ:R1031", "HI*BJ:7890")
    claims, findings = decode_837i_findings(text)
    details = claims[0].claim.institutional
    assert details is not None and details.admitting_diagnosis == "7890"  # as sent
    index = _segment_index(text, "HI*BJ:")
    assert [_where(f) for f in findings] == [(index, "HI", 1), (index, "HI", 1)]
    assert "admitting_diagnosis" in findings[1].message
    assert all("7890" not in str(f) for f in findings)


def test_an_icd9_procedure_code_is_kept_as_sent() -> None:
    text = _inpatient_text().replace("HI*BBQ:0DJD8ZZ", "HI*BQ:4561")
    claims, findings = decode_837i_findings(text)
    details = claims[0].claim.institutional
    assert details is not None and [p.code for p in details.other_procedures] == ["4561"]
    index = _segment_index(text, "HI*BQ:")
    assert [_where(f) for f in findings] == [(index, "HI", 1), (index, "HI", 1)]
    assert "other_procedures.0.code" in findings[1].message


def test_attending_npi_with_a_wrong_check_digit_is_kept_with_one_finding() -> None:
    wrong = ATTENDING_NPI[:-1] + str((int(ATTENDING_NPI[-1]) + 1) % 10)
    text = _inpatient_text().replace(ATTENDING_NPI, wrong)
    claims, findings = decode_837i_findings(text)
    bill = claims[0]
    assert bill.attending_provider is not None and bill.attending_provider.npi == wrong
    assert bill.claim.institutional is not None
    assert bill.claim.institutional.attending_provider_npi == wrong
    # the details' copy of the NPI is not named a second time
    assert [(_where(f), f.claim_number) for f in findings] == [
        ((_segment_index(text, "NM1*71"), "NM1", 9), "CLMI2001")]
    assert "check digit" in findings[0].message and wrong not in str(findings[0])


def test_a_patient_status_of_the_wrong_form_is_kept_at_its_cl1_element() -> None:
    text = _inpatient_text().replace("CL1*1*7*01", "CL1*1*7*1")
    claims, findings = decode_837i_findings(text)
    assert claims[0].claim.institutional is not None
    assert claims[0].claim.institutional.patient_status == "1"
    assert [_where(f) for f in findings] == [(_segment_index(text, "CL1"), "CL1", 3)]


def test_codes_not_valid_on_their_date_are_findings_when_the_code_sets_are_checked() -> None:
    # well formed but no such code: ICD-10-CM Z999 (a category without it), ICD-10-PCS ZZZZZZZ
    text = _inpatient_text().replace("ABF:Z880", "ABF:U999").replace(
        "BBQ:0DJD8ZZ", "BBQ:0DJD8ZY")
    claims, findings = decode_837i_findings(text)
    assert len(claims) == 1 and findings == []  # forms are fine: no finding unasked
    claims, findings = decode_837i_findings(text, check_codes=True)
    assert [(_where(f), f.message) for f in findings] == [
        ((_segment_index(text, "HI*ABF:"), "HI", 2), "diagnosis 3: not an ICD-10-CM code"),
        ((_segment_index(text, "HI*BBQ:"), "HI", 1),
         "other procedure 1: not an ICD-10-PCS code")]
    assert all(f.claim_number == "CLMI2001" for f in findings)


def test_diagnoses_are_checked_on_the_discharge_date_of_a_stay_procedures_on_theirs(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from medbill_payer_generic_x12 import code_verdicts

    asked: list[tuple[str, str, date]] = []
    real = default_codesets()

    class Recording:
        def check(self, system: CodeSystem, code: str, *, on: date) -> object:
            asked.append((system.value, code, on))
            return real.check(system, code, on=on)

    monkeypatch.setattr(code_verdicts, "default_codesets", lambda: Recording())
    decode_837i_findings(_inpatient_text(), check_codes=True)  # stay 2024-03-01..04
    stay_end = date(2024, 3, 4)
    assert asked == [
        ("icd10cm", "K3580", stay_end), ("icd10cm", "E119", stay_end),
        ("icd10cm", "Z880", stay_end), ("icd10cm", "R1031", stay_end),
        ("icd10cm", "W010XXA", stay_end), ("icd10pcs", "0DTJ4ZZ", date(2024, 3, 1)),
        ("icd10pcs", "0DJD8ZZ", date(2024, 3, 2))]
    asked.clear()
    outpatient_text = encode_837i([outpatient()], now=NOW).text
    decode_837i_findings(outpatient_text, check_codes=True)
    first_day = outpatient().claim.service_date_from
    assert asked and all(on == first_day for _, _, on in asked)


def test_the_codec_reads_an_837i_with_its_findings_and_refuses_it_when_strict() -> None:
    text = _inpatient_text().replace("HI*ABK:", "HI*BK:")
    result = read_document(text)
    assert result.kind is DocumentKind.CLAIM_837I and len(result.objects) == 1
    assert [f.segment_index for f in result.findings] == [_segment_index(text, "HI*BK:")]
    with pytest.raises(X12FindingsError):
        read_document(text, strict=True)


#: public 837I -> (read leniently only, claims, findings, first finding's position)
READ = {
    "lfh__institutional-claim.837i": (False, 1, 10, (10, "NM1", 9)),
    "lfh__two-claims-single-provider.837i": (False, 2, 11, (10, "NM1", 9)),
    "stupidedi__automobile-accident.edi": (False, 1, 12, (10, "NM1", 9)),
    "stupidedi__out-of-network-repriced-claim.edi": (False, 1, 3, (27, "HI", 1)),
    "stupidedi__ppo-repriced-claim.edi": (False, 1, 6, (9, "NM1", 9)),
    "stupidedi__two-claims-for-the-same-provider.edi": (False, 2, 11, (10, "NM1", 9)),
    # composites written with '>' where ISA16 declares ':' (the CLM05 says so first)
    "lfh__out-of-network-repriced-claim.837i": (True, 1, 4, (20, "CLM", 5)),
    "lfh__ppo-repriced-claim.837i": (True, 1, 7, (9, "NM1", 9)),
}


@pytest.mark.parametrize("name", READ)
def test_files_written_by_others_read_with_positioned_findings(name: str) -> None:
    lenient, count, finding_count, first = READ[name]
    text = (FIXTURES / name).read_text()
    if lenient:
        with pytest.raises(X12Error):
            decode_837i_findings(text)
    claims, findings = decode_837i_findings(text, check_codes=True, lenient=lenient)
    assert len(claims) == count and len(findings) == finding_count
    assert _where(findings[0]) == first
    assert all(f.segment_index is not None for f in findings)
    assert any("ICD-9-CM" in f.message for f in findings)


def test_findings_on_files_written_by_others_carry_no_patient_data() -> None:
    text = (FIXTURES / "stupidedi__automobile-accident.edi").read_text()
    claims, findings = decode_837i_findings(text, check_codes=True)
    bill = claims[0]
    values = [bill.patient.last_name, bill.patient.first_name, str(bill.patient.birth_date),
              bill.coverage.member_id if bill.coverage else "", *bill.claim.diagnoses]
    for finding in findings:
        for value in values:
            if value and len(value) > 2:
                assert value not in str(finding)


def test_a_code_is_looked_up_once_per_date_in_a_document(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from medbill_payer_generic_x12 import code_verdicts

    asked: list[tuple[str, date]] = []
    real = default_codesets()

    class Counting:
        def check(self, system: CodeSystem, code: str, *, on: date) -> object:
            asked.append((code, on))
            return real.check(system, code, on=on)

    monkeypatch.setattr(code_verdicts, "default_codesets", lambda: Counting())
    text = encode_837i([inpatient("CLMA"), inpatient("CLMB"), inpatient("CLMC")], now=NOW).text
    claims, findings = decode_837i_findings(text, check_codes=True)
    assert len(claims) == 3 and findings == []
    assert len(asked) == len(set(asked)) == 7  # the three stays share their codes and dates
    # a code not valid on its date is still named on every claim that carries it
    text = text.replace("ABF:Z880", "ABF:U999")
    _, findings = decode_837i_findings(text, check_codes=True)
    assert [f.claim_number for f in findings] == ["CLMA", "CLMB", "CLMC"]
