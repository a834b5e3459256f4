"""The sample files of docs/import-formats.md import as the page says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_support import config_text, ok

SAMPLES = Path(__file__).resolve().parents[1] / "docs" / "samples"


@pytest.fixture(autouse=True)
def _isolated(cli_isolation: None) -> None:
    """The command line runs isolated (see conftest)."""


def test_the_samples_import_as_documented(tmp_path: Path) -> None:
    config = tmp_path / "medbill.toml"
    config.write_text(config_text(f"sqlite:///{tmp_path / 'medbill.db'}"), encoding="utf-8")
    ok(config, "db", "upgrade")
    first = json.loads(ok(config, "patients", "import", str(SAMPLES / "patients.csv"),
                          "--json").stdout)
    assert first["created"] == ["RB10001", "RB10002", "RB10003", "RB10004", "RB10005"]
    assert json.loads(ok(config, "coverages", "import", str(SAMPLES / "coverages.csv"),
                         "--json").stdout)["imported"] == 4
    update = json.loads(ok(config, "patients", "import", str(SAMPLES / "patients-update.csv"),
                           "--json").stdout)
    assert [(u["key"], u["fields"]) for u in update["updated"]] == [
        ("RB10001", ["address", "phone"]), ("RB10005", ["email", "phone"])]
    dana = json.loads(ok(config, "patients", "show", "RB10001", "--json").stdout)
    assert (dana["address"]["line1"], dana["address"]["line2"], dana["email"]) == (
        "12 Birch Lane", None, "dana@example.org")
    loaded = json.loads(ok(config, "patients", "import", str(SAMPLES / "patients.json"),
                           "--json").stdout)
    assert (loaded["created"], [u["fields"] for u in loaded["updated"]]) == (
        ["RB10006"], [["email"]])
    guarantors = json.loads(ok(config, "guarantors", "list", "--json").stdout)
    assert sorted(sorted(p["account_number"] for p in g["patients"]) for g in guarantors) == [
        ["RB10001", "RB10002", "RB10003"], ["RB10004"]]


def test_the_claims_sample_bills_the_sample_patients(tmp_path: Path) -> None:
    config = tmp_path / "medbill.toml"
    config.write_text(config_text(f"sqlite:///{tmp_path / 'medbill.db'}"), encoding="utf-8")
    ok(config, "db", "upgrade")
    ok(config, "patients", "import", str(SAMPLES / "patients.csv"))
    ok(config, "coverages", "import", str(SAMPLES / "coverages.csv"))
    out = ok(config, "claims", "import", str(SAMPLES / "claims.json")).stdout
    # the first claim names its payer only: the patient's one active acme coverage is taken
    assert "record 1: coverage_id: taken as 1" in out and "imported 3 claims" in out
    total = json.loads(ok(config, "claims", "list", "--json").stdout)["total"]
    assert total == {"claims": 3, "visits": 3, "charge": "558.50",
                     "insurance_balance": "348.50", "patient_balance": "210.00",
                     "set_apart": {"claims": 0, "charge": "0.00"}}
