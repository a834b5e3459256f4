"""``medbill estimate``: strict input (amounts, units, codes, dates), Medicare pricing for the
date of service, standard Part B benefits when eligibility is not checked, and one-line
errors when the rendered estimate cannot be written."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from medbill_core import audit
from medbill_core.testing.cli import cli, config_text, ok, one_line_error

PATIENTS_CSV = """\
account_number,last_name,first_name,birth_date,sex
M1,Okafor,Chidi,1951-05-05,M
C1,Hartmann,Greta,1983-08-19,F
"""
COVERAGES_CSV = """\
account_number,payer_key,order,member_id,group_number
M1,medicare,P,1EG4TE5MK73,
C1,acme,P,ACME00002,G100
"""
MEDICARE_HOUSTON = """
[payers.medicare.options]
locality = "18"

[payers.acme.options]
submitter_id = "SUB1"
receiver_id = "RCV1"
"""


@pytest.fixture(autouse=True)
def _isolated(cli_isolation: None) -> None:
    """Every test here runs the command line isolated (see conftest)."""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "medbill.toml"
    path.write_text(config_text(f"sqlite:///{tmp_path / 'medbill.db'}",
                                plugins=("payer_generic_x12", "payer_medicare",
                                         "statements_pdf"),
                                extra=MEDICARE_HOUSTON), encoding="utf-8")
    ok(path, "db", "upgrade")
    (tmp_path / "p.csv").write_text(PATIENTS_CSV, encoding="utf-8")
    (tmp_path / "c.csv").write_text(COVERAGES_CSV, encoding="utf-8")
    ok(path, "patients", "import", str(tmp_path / "p.csv"))
    ok(path, "coverages", "import", str(tmp_path / "c.csv"))
    return path


#: a date of service in 2026 (the 2026 fee schedule), far enough back to need --confirm-date
ON = ("--date", "2026-03-02", "--confirm-date")

def estimate_json(config: Path, *args: str) -> dict:
    return json.loads(ok(config, "estimate", "--patient", "M1", "--json", *args).stdout)


@pytest.mark.parametrize(("service", "named"), [
    ("99214=-165.00", "--service 1 must not be negative"),
    ("99214*-1=165.00", "--service 1: units must be a number more than 0"),
    ("99214*0=165.00", "--service 1: units must be a number more than 0"),
    ("99214=165.005", "--service 1: more than two decimal places"),
    ("99214=1e3", "--service 1: not an amount"),
])
def test_bad_service_amounts_and_units_are_usage_errors(config: Path, service: str,
                                                        named: str) -> None:
    line = one_line_error(cli(config, "estimate", "--patient", "M1", "--service", service,
                              *ON, "--no-eligibility"), 2)
    assert named in line


@pytest.mark.parametrize(("code", "why"), [
    ("C9999", "no such HCPCS Level II code"),
    ("9921X", "not a well-formed HCPCS Level II code"),
    ("99214-ZZ", "modifier"),
])
def test_unknown_codes_are_refused(config: Path, code: str, why: str) -> None:
    line = one_line_error(cli(config, "estimate", "--patient", "M1", "--service", "99213=100",
                              "--service", f"{code}=50.00", *ON,
                              "--no-eligibility"))
    assert "estimate: service 2" in line and why in line


def test_an_impossible_date_is_one_line(config: Path) -> None:
    line = one_line_error(cli(config, "estimate", "--patient", "M1", "--service", "99214=165",
                              "--date", "2026-02-30"), 2)
    assert "--date must be a date as YYYY-MM-DD" in line


def test_an_unwritable_render_folder_is_one_line(config: Path) -> None:
    line = one_line_error(cli(config, "estimate", "--patient", "M1", "--service", "99214=165",
                              *ON, "--no-eligibility", "--render", "pdf",
                              "--out", "/proc/nope"))
    assert line.startswith("error: --out: cannot write the estimate")


def test_medicare_2026_estimate_uses_the_2026_fee_schedule_and_part_b(config: Path) -> None:
    # 99214 in 2026 (RVU26C): work 1.92, non-facility PE 2.00, MP 0.14; Houston (04412/18)
    # GPCIs 1.000 / 0.991 / 0.934; conversion factor 33.4009
    by_hand = ((Decimal("1.92") * Decimal("1.000") + Decimal("2.00") * Decimal("0.991")
                + Decimal("0.14") * Decimal("0.934")) * Decimal("33.4009")).quantize(
        Decimal("0.01"), ROUND_HALF_UP)
    assert by_hand == Decimal("134.70")
    data = estimate_json(config, "--service", "99214=165.00", "--service", "99213=120.00",
                         *ON, "--no-eligibility")
    first, second = data["services"]
    assert (first["charge"], first["allowed"]) == ("165.00", "134.70")
    assert Decimal(second["allowed"]) < Decimal("120.00")
    # Part B 2026: the 283.00 deductible first, then 20% of the rest; never 0.00
    allowed = Decimal(first["allowed"]) + Decimal(second["allowed"])
    expected = Decimal("283.00") + ((allowed - Decimal("283.00")) * Decimal("0.2")).quantize(
        Decimal("0.01"), ROUND_HALF_UP) if allowed > 283 else allowed
    assert Decimal(data["patient_total"]) == expected > 0
    assert Decimal(data["benefits"]["coinsurance"]) == Decimal("0.2")
    assert any("deductible 283.00 not yet met, 20% coinsurance" in n for n in data["notes"])


def test_charges_per_unit_are_multiplied(config: Path) -> None:
    data = estimate_json(config, "--service", "97110-GP*2=45.00", *ON,
                         "--no-eligibility")
    [line] = data["services"]
    assert (line["charge"], line["units"], line["modifiers"]) == ("90.00", "2", ["GP"])


def test_chargemaster_and_fee_schedule_from_the_command_line(config: Path,
                                                             tmp_path: Path) -> None:
    cdm = tmp_path / "cdm.csv"
    cdm.write_text("code,amount,effective_from\n99214,180.00,2026-01-01\n", encoding="utf-8")
    acme = tmp_path / "acme.csv"
    acme.write_text("code,allowed,effective_from\n99214,131.00,2026-01-01\n", encoding="utf-8")
    loaded = json.loads(ok(config, "chargemaster", "load", str(cdm), "--json").stdout)
    assert (loaded["kind"], loaded["rows"]) == ("charge_master", 1)
    ok(config, "fees", "load", "acme", str(acme), "--label", "Acme 2026")
    shown = json.loads(ok(config, "fees", "show", "acme", "--date", "2026-03-02",
                          "--json").stdout)
    assert [(e["code"], e["amount"], e["label"]) for e in shown] == [
        ("99214", "131.00", "Acme 2026")]
    data = json.loads(ok(config, "estimate", "--patient", "C1", "--service", "99214",
                         *ON, "--no-eligibility", "--json").stdout)
    [line] = data["services"]
    assert (line["charge"], line["allowed"]) == ("180.00", "131.00")
    [load] = json.loads(ok(config, "fees", "loads", "acme", "--json").stdout)
    assert (load["label"], load["source_file"], load["rows"], load["loaded_by"]) == (
        "Acme 2026", "acme.csv", 1, f"user:{audit.os_user()}")  # the CLI's local user
    assert len(load["sha256"]) == 64
    assert json.loads(ok(config, "chargemaster", "loads", "--json").stdout)[0]["kind"] == (
        "charge_master")
    bad = tmp_path / "bad.csv"
    bad.write_text("code,amount,effective_from\n99214,1e3,2026-01-01\n", encoding="utf-8")
    error = one_line_error(cli(config, "chargemaster", "load", str(bad)))
    assert "bad.csv: row 2 amount: not an amount" in error
    assert "payer 'nobody' is not configured" in one_line_error(
        cli(config, "fees", "show", "nobody"))


def test_eligibility_check_prints_coinsurance_as_a_percentage_and_explains_rejects(
        config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from medbill_core.domain import (
        Benefit,
        BenefitKind,
        CoverageStatus,
        EligibilityIssue,
        EligibilityResponse,
    )
    from medbill_core.plugins import PluginHooks

    answer = EligibilityResponse(
        status=CoverageStatus.ACTIVE,
        benefits=[Benefit(kind=BenefitKind.CO_INSURANCE, code="A", percent=Decimal("0.2"))],
        issues=[EligibilityIssue(reject_reason="75")])
    monkeypatch.setattr(PluginHooks, "check_eligibility", lambda self, request: answer)
    result = ok(config, "eligibility", "check", "--patient", "C1", *ON)
    text = " ".join(result.stdout.split())
    assert "coinsurance: 20%" in text
    assert "payer reject reason 75 Subscriber/insured not found." in text


def test_level_ii_services_carry_their_description(config: Path) -> None:
    data = estimate_json(config, "--service", "G0439=180.00", "--service", "99214=165.00",
                         *ON, "--no-eligibility")
    described = [line["description"] for line in data["services"]]
    assert described[0] and "wellness" in described[0].lower()
    assert described[1] is None  # CPT descriptors are AMA-licensed: none shipped
