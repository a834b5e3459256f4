"""Institutional claims through the command line: ``claims import`` (JSON), ``claims show``
and ``claims edit`` keep and print the type of bill, the stay, POA, procedures and revenue
codes; a bad institutional field is a one-line error naming the record and field."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from cli_support import cli, config_text, ok, one_line_error

from medbill_core.testing.factories import ATTENDING_NPI, PRACTICE_NPI, RENDERING_NPI

PATIENTS_CSV = """\
account_number,last_name,first_name,birth_date,sex,address_line1,address_city,address_state,\
address_postal_code
P1,Okafor,Chidi,1971-05-05,M,10 Lake Shore Dr,Chicago,IL,60601
"""
COVERAGES_CSV = """\
account_number,payer_key,order,member_id,group_number
P1,acme,P,ACME00001,G100
"""
ADMIT = date.today() - timedelta(days=12)
DISCHARGE = ADMIT + timedelta(days=3)


@pytest.fixture(autouse=True)
def _isolated(cli_isolation: None) -> None:
    """Every test here runs the command line isolated (see conftest)."""


def write(tmp_path: Path, name: str, content: Any) -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content),
                    encoding="utf-8")
    return path


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "medbill.toml"
    path.write_text(config_text(f"sqlite:///{tmp_path / 'medbill.db'}"), encoding="utf-8")
    ok(path, "db", "upgrade")
    ok(path, "patients", "import", str(write(tmp_path, "p.csv", PATIENTS_CSV)))
    ok(path, "coverages", "import", str(write(tmp_path, "c.csv", COVERAGES_CSV)))
    return path


def inpatient_record(number: str = "HSP-1", **extra: Any) -> dict[str, Any]:
    """A three-day appendectomy stay as an EHR would export it (no place of service: the
    type of bill says where)."""
    return {
        "claim_number": number, "account_number": "P1", "payer_key": "acme",
        "kind": "institutional", "billing_provider_npi": PRACTICE_NPI,
        "service_date_from": ADMIT.isoformat(), "service_date_to": DISCHARGE.isoformat(),
        "diagnoses": ["K35.80", "E11.9"],
        "institutional": {
            "facility_type_code": "11", "admission_date": ADMIT.isoformat(),
            "admission_hour": 14, "admission_type": "1", "admission_source": "7",
            "discharge_hour": 11, "patient_status": "01",
            "attending_provider_npi": ATTENDING_NPI, "operating_provider_npi": RENDERING_NPI,
            "present_on_admission": ["Y", "N"], "admitting_diagnosis": "R10.31",
            "principal_procedure": {"code": "0DTJ4ZZ", "procedure_date": ADMIT.isoformat()},
            "drg": "343"},
        "lines": [
            {"line_number": 1, "revenue_code": "0120", "units": "3", "charge": "3600.00",
             "service_date_to": (DISCHARGE - timedelta(days=1)).isoformat()},
            {"line_number": 2, "revenue_code": "250", "units": "12", "charge": "480.00"},
            {"line_number": 3, "revenue_code": "0360", "procedure_code": "44970",
             "units": "1", "charge": "8200.00"}],
        **extra,
    }


def show(config: Path, reference: str) -> dict[str, Any]:
    return json.loads(ok(config, "claims", "show", reference, "--json").stdout)


def outpatient_record(number: str = "ER-1", **extra: Any) -> dict[str, Any]:
    day = ADMIT.isoformat()
    return {
        "claim_number": number, "account_number": "P1", "payer_key": "acme",
        "kind": "institutional", "billing_provider_npi": PRACTICE_NPI,
        "service_date_from": day, "service_date_to": day, "diagnoses": ["J18.9"],
        "institutional": {"facility_type_code": "13", "patient_status": "01",
                          "attending_provider_npi": ATTENDING_NPI,
                          "reason_for_visit": ["R06.02"]},
        "lines": [{"line_number": 1, "revenue_code": "0450", "procedure_code": "99284",
                   "units": "1", "charge": "1250.00"},
                  {"line_number": 2, "revenue_code": "0300", "procedure_code": "85025",
                   "units": "1", "charge": "95.00"}],
        **extra,
    }


def test_import_an_inpatient_stay_and_show_it(config: Path, tmp_path: Path) -> None:
    out = ok(config, "claims", "import", str(write(tmp_path, "c.json", [inpatient_record()])))
    assert "record 1: place_of_service: taken as 21, the place type of bill 011x implies" \
        in out.stdout
    claim = show(config, "HSP-1")
    assert (claim["kind"], claim["type_of_bill"], claim["place_of_service"]) == (
        "institutional", "0111", "21")
    assert [(line["revenue_code"], line["procedure_code"], line["charge"])
            for line in claim["lines"]] == [("0120", None, "3600.00"), ("0250", None, "480.00"),
                                            ("0360", "44970", "8200.00")]
    details = claim["institutional"]
    assert details["present_on_admission"] == ["Y", "N"]
    assert details["principal_procedure"] == {"code": "0DTJ4ZZ",
                                              "procedure_date": ADMIT.isoformat()}
    assert (details["admitting_diagnosis"], details["drg"]) == ("R1031", "343")
    assert claim["balance"] == {"insurance": "12280.00", "patient": "0.00"}

    text = ok(config, "claims", "show", "HSP-1").stdout
    assert "type of bill 0111 (Hospital, inpatient (including Medicare Part A))" in text
    assert (f"admitted {ADMIT} 14h, type 1, source 7, discharged 11h, patient status 01,"
            " DRG 343") in text
    assert "diagnoses (principal first): K3580 (POA Y), E119 (POA N)" in text
    assert f"procedures (ICD-10-PCS, principal first): 0DTJ4ZZ on {ADMIT}" in text
    assert "0250 │ Pharmacy" in text
    assert "0360 │ Operating room services                 │ 44970" in text
    assert "pointers" not in text


def test_outpatient_er_visit_takes_place_23_and_scrubs_clean(config: Path,
                                                            tmp_path: Path) -> None:
    ok(config, "claims", "import", str(write(tmp_path, "c.json", [outpatient_record()])))
    claim = show(config, "ER-1")
    assert (claim["type_of_bill"], claim["place_of_service"]) == ("0131", "23")
    scrub = json.loads(ok(config, "claims", "scrub", "--json").stdout)
    findings = [f for result in scrub["results"] for f in result["findings"]]
    assert findings == [], findings
    assert show(config, "ER-1")["state"] == "validated"


def test_scrub_names_institutional_findings(config: Path, tmp_path: Path) -> None:
    record = outpatient_record()
    record["lines"][1].pop("procedure_code")  # 0300 laboratory without its CPT code
    ok(config, "claims", "import", str(write(tmp_path, "c.json", [record])))
    result = cli(config, "claims", "scrub", "--json")
    findings = [(f["code"], f["line_number"]) for r in json.loads(result.stdout)["results"]
                for f in r["findings"]]
    assert findings == [("revenue.hcpcs_required", 2)]
    assert show(config, "ER-1")["state"] == "draft"


@pytest.mark.parametrize(("change", "expected"), [
    ({"institutional": {"facility_type_code": "1", "patient_status": "01"}},
     "record 1: place_of_service: Field required; institutional.facility_type_code: String"
     " should match pattern"),
    ({"institutional": None}, "record 1: institutional: required on an institutional claim"),
    ({"lines": [{"line_number": 1, "procedure_code": "99284", "units": "1",
                 "charge": "10.00"}]},
     "record 1: (record): line 1: revenue_code is required on an institutional claim"),
    ({"lines": [{"line_number": 1, "revenue_code": "0250", "units": "1"}]},
     "record 1: lines[0].charge: required on a line without a procedure code"),
])
def test_bad_institutional_records_are_one_line_errors(config: Path, tmp_path: Path,
                                                       change: dict[str, Any],
                                                       expected: str) -> None:
    record = {**outpatient_record(), **change}
    result = cli(config, "claims", "import", str(write(tmp_path, "c.json", [record])))
    line = one_line_error(result)
    assert line.startswith(f"error: {expected}"), line
    assert "Okafor" not in result.output and "Traceback" not in result.output
    assert json.loads(ok(config, "claims", "list", "--json").stdout)["claims"] == []


def test_edit_keeps_the_institutional_fields_not_given(config: Path, tmp_path: Path) -> None:
    ok(config, "claims", "import", str(write(tmp_path, "c.json", [inpatient_record()])))
    fix = write(tmp_path, "fix.json", {"institutional": {"patient_status": "06"}})
    ok(config, "claims", "edit", "HSP-1", "--from", str(fix))
    details = show(config, "HSP-1")["institutional"]
    assert (details["patient_status"], details["facility_type_code"],
            details["principal_procedure"]["code"]) == ("06", "11", "0DTJ4ZZ")
    # the whole `show --json` output, edited, is accepted back (type_of_bill is show-only)
    shown = show(config, "HSP-1")
    shown["institutional"]["drg"] = "344"
    ok(config, "claims", "edit", "HSP-1", "--from", str(write(tmp_path, "all.json", shown)))
    assert show(config, "HSP-1")["institutional"]["drg"] == "344"
