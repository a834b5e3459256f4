"""A new user's billing day, the way the README tells it: from ``medbill init`` to the month-end
A/R, through the command line only, against the clearinghouse simulator on loopback, on SQLite
and on PostgreSQL.

The day ends where a billing day must: every claim in a state that names who acts next (and
whose balances agree with it), insurance A/R equal to the open insurance balances with the
denials still in it, and the ledger balanced.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from medbill_core.app import Medbill
from medbill_core.config import load_config
from medbill_core.domain import ClaimState
from medbill_core.lifecycle import NEXT_ACTOR
from medbill_core.testing.cli import ok

SAMPLES = Path(__file__).resolve().parents[3] / "docs" / "samples"
D = Decimal
TODAY = date.today()
SEEN = TODAY - timedelta(days=3)  # the day the patients were seen


@pytest.fixture(autouse=True)
def _isolated(cli_isolation: None) -> None:
    """The command line runs isolated (see conftest)."""


@pytest.fixture
def clearinghouse(tmp_path: Path) -> Iterator[Any]:
    """The clearinghouse simulator as `medbill clearinghouse serve` starts it (its default
    payers; the key of the installation's key file, which `medbill init` keeps), on a free
    loopback port."""
    from medbill_clearinghouse_mock.secret import ensure_key_file
    from medbill_clearinghouse_mock.simulator.config import default_config
    from medbill_clearinghouse_mock.simulator.server import BackgroundServer

    key, _ = ensure_key_file(tmp_path / "clearinghouse-mock.key")
    with BackgroundServer(default_config().with_key(key),
                          tmp_path / "clearinghouse.db") as server:
        yield server


def encounter(number: str, account: str, payer: str | None, diagnoses: list[str],
              *services: tuple[str, str]) -> dict[str, Any]:
    """One visit as the practice's EHR exports it for `claims import`."""
    return {
        "claim_number": number, "account_number": account, "payer_key": payer,
        "billing_provider_npi": "1234567893", "place_of_service": "11",
        "service_date_from": SEEN.isoformat(), "service_date_to": SEEN.isoformat(),
        "diagnoses": diagnoses,
        "lines": [{"line_number": index, "procedure_code": code, "units": "1",
                   "charge": charge, "diagnosis_pointers": [1],
                   "service_date_from": SEEN.isoformat()}
                  for index, (code, charge) in enumerate(services, start=1)],
    }


def as_json(config: Path, *args: str) -> Any:
    return json.loads(ok(config, *args, "--json").stdout)


def claims(config: Path) -> dict[str, dict[str, Any]]:
    listed = as_json(config, "claims", "list", "--limit", "500")["claims"]
    return {claim["claim_number"]: claim for claim in listed}


def test_a_new_users_billing_day(medbill_db_url: str, tmp_path: Path, clearinghouse: Any,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "medbill.toml"

    # -- set up: `medbill init`, point it at the clearinghouse and the database ---------------
    ok(config, "init")
    text = config.read_text(encoding="utf-8")
    assert 'submitter_name = ' in text and 'api_key_file = "clearinghouse-mock.key"' in text
    key = (tmp_path / "clearinghouse-mock.key").read_text(encoding="ascii").strip()
    text = text.replace("http://127.0.0.1:8035", clearinghouse.base_url)
    text = text.replace('database_url = "sqlite:///medbill.db"',
                        f'database_url = "{medbill_db_url}"')
    config.write_text(text, encoding="utf-8")
    ok(config, "db", "upgrade")
    enabled = {p["name"] for p in as_json(config, "plugins", "list")["plugins"] if p["enabled"]}
    assert {"payer_generic_x12", "payer_medicare", "clearinghouse_mock",
            "statements_pdf"} <= enabled

    # -- registration: the documented sample files ---------------------------------------------
    patients = as_json(config, "patients", "import", str(SAMPLES / "patients.csv"))
    assert len(patients["created"]) == 5
    ok(config, "coverages", "import", str(SAMPLES / "coverages.csv"))
    # the front desk typed Jordan's new card wrong: the payer will not find the member
    typo = tmp_path / "jordan.csv"
    typo.write_text("account_number,payer_key,order,member_id,relationship,start_date\n"
                    f"RB10004,acme,P,UNKNOWN0404,18,{TODAY.replace(month=1, day=1)}\n",
                    encoding="utf-8")
    ok(config, "coverages", "import", str(typo))
    jordan_coverage = next(c["id"] for c in as_json(config, "coverages", "list", "--patient",
                                                    "RB10004")
                           if c["member_id"] == "UNKNOWN0404")
    # the children's guarantor is their mother, the subscriber: one family statement
    family = {g["first_name"]: sorted(p["account_number"] for p in g["patients"])
              for g in as_json(config, "guarantors", "list")}
    assert family["Dana"] == ["RB10001", "RB10002", "RB10003"]

    # -- before the visit: eligibility and an estimate ------------------------------------------
    eligibility = as_json(config, "eligibility", "check", "--patient", "RB10001")
    assert eligibility["status"] == "active"
    estimate = as_json(config, "estimate", "--patient", "RB10001", "--service", "99213=125.00")
    # nothing of the 500.00 deductible is met yet: the visit is the patient's
    assert (estimate["total_charge"], estimate["patient_total"]) == ("125.00", "125.00")

    # -- the visits become claims ----------------------------------------------------------------
    day = [
        encounter("DAY-1", "RB10001", "acme", ["E11.9"], ("99213", "125.00"),
                  ("36415", "18.50")),
        # therapy that Acme does not cover: a denial to work
        encounter("DAY-2", "RB10002", "acme", ["M54.50"], ("99213", "125.00"),
                  ("97110", "60.00")),
        encounter("DAY-3", "RB10005", "medicare", ["I10"], ("99213", "125.00")),
        encounter("DAY-4", "RB10004", "acme", ["J06.9"], ("99213", "125.00")),
        encounter("DAY-5", "RB10003", None, ["Z00.129"], ("99392", "150.00")),  # self-pay
    ]
    visits = tmp_path / "visits.json"
    visits.write_text(json.dumps(day), encoding="utf-8")
    imported = ok(config, "claims", "import", str(visits)).stdout
    assert "imported 5 claims" in imported
    scrub = as_json(config, "claims", "scrub")
    assert (scrub["claims"], scrub["clean"], scrub["clean_claim_rate"]) == (5, 5, "100.00")
    assert {c["state"] for c in claims(config).values()} == {"validated"}

    # -- submit, then read what came back (999, 277CA, 835) --------------------------------------
    ok(config, "claims", "submit")
    ok(config, "responses", "fetch")
    states = {number: claim["state"] for number, claim in claims(config).items()}
    assert states["DAY-4"] == "rejected", states  # unknown member ID (277CA A3:33)
    # the biller fixes the member ID and sends the claim again, as an original
    ok(config, "coverages", "edit", str(jordan_coverage), "--member-id", "ACM400500600")
    ok(config, "claims", "reopen", "DAY-4")
    ok(config, "claims", "scrub", "--claim", "DAY-4")
    ok(config, "claims", "submit")
    ok(config, "responses", "fetch")
    httpx.post(f"{clearinghouse.base_url}/v1/payment-runs",
               headers={"Authorization": f"Bearer {key}"}, timeout=10)
    ok(config, "responses", "fetch")
    states = {number: claim["state"] for number, claim in claims(config).items()}
    assert states["DAY-2"] == "denied", states
    assert states["DAY-4"] != "rejected", states

    # -- denials stay open A/R until the biller decides ----------------------------------------
    open_denials = as_json(config, "denials", "list")
    [therapy] = [d for d in open_denials if d["claim_number"] == "DAY-2"]
    assert therapy["code"] == "CO-96" and "non-covered" in therapy["meaning"].lower()
    assert D(therapy["amount"]) == D("60.00")
    aging = as_json(config, "ar", "aging")
    assert D(aging["insurance_total"]["total"]) >= D("60.00")  # the denial is still owed by Acme
    followup = as_json(config, "ar", "followup")
    assert any(item["claim_number"] == "DAY-2" and item["deadline_kind"] == "appeal"
               for item in followup)
    ok(config, "denials", "appeal", str(therapy["id"]), "--reason",
       "therapy was medically necessary after the fall")

    # -- patient balances: statements, a payment, a plan ------------------------------------------
    statements_dir = tmp_path / "statements"
    run = as_json(config, "statements", "run", "--cycle", TODAY.strftime("%Y-%m"), "--out",
                  str(statements_dir))
    # one statement for the Sample family (Dana and her children), one to Jordan's guarantor,
    # one to Alex
    assert len(run["produced"]) == 3 and len(list(statements_dir.glob("*.pdf"))) == 3
    again = as_json(config, "statements", "run", "--cycle", TODAY.strftime("%Y-%m"), "--out",
                    str(statements_dir))
    assert again["produced"] == []  # the same day: nothing new for guarantors already billed
    ok(config, "payments", "record", "--patient", "RB10003", "--amount", "50.00",
       "--method", "card", "--reference", "VISA 1111")
    ok(config, "plans", "create", "--patient", "RB10003", "--total", "100.00",
       "--installments", "4", "--start", (TODAY + timedelta(days=7)).isoformat())

    # -- a visit billed to the wrong patient is voided; the payer takes its payment back ------
    before_void = claims(config)["DAY-4"]
    said = ok(config, "claims", "void", "DAY-4", "--reason", "billed under the wrong patient")
    assert "void claim DAY-4-V1" in said.stdout and "draft" in said.stdout
    ok(config, "claims", "scrub", "--claim", "DAY-4-V1")
    # until the payer's reversal arrives the charge stands: no credit of the whole charge
    assert claims(config)["DAY-4"]["patient_balance"] == before_void["patient_balance"]
    ok(config, "claims", "submit")
    ok(config, "responses", "fetch")
    httpx.post(f"{clearinghouse.base_url}/v1/payment-runs",
               headers={"Authorization": f"Bearer {key}"}, timeout=10)
    ok(config, "responses", "fetch")
    voided = claims(config)["DAY-4"]
    assert (voided["state"], voided["insurance_balance"], voided["patient_balance"]) == (
        "voided", "0.00", "0.00")

    # -- the end of the day ---------------------------------------------------------------------
    final = claims(config)
    balances = {number: (D(c["insurance_balance"]), D(c["patient_balance"]))
                for number, c in final.items()}
    for number, claim in final.items():
        actor = claim["next_actor"]
        assert actor == NEXT_ACTOR[ClaimState(claim["state"])]
        insurance, patient = balances[number]
        if actor == "payer":
            assert insurance > 0, (number, claim["state"])
        if actor == "patient":
            assert patient > 0, (number, claim["state"])
        if claim["state"] == "closed":
            assert (insurance, patient) == (0, 0), number
    assert {number: claim["state"] for number, claim in final.items()} == {
        "DAY-1": "patient_balance", "DAY-2": "denied", "DAY-3": "patient_balance",
        "DAY-4": "voided", "DAY-4-V1": "closed", "DAY-5": "patient_balance"}
    insurance_open = sum((insurance for insurance, _ in balances.values()), D("0"))
    aging = as_json(config, "ar", "aging")
    assert D(aging["insurance_total"]["total"]) == insurance_open > D("60.00") - D("0.01")
    app = Medbill.open(load_config(config), load_installed=False)
    try:
        with app.unit_of_work() as work:
            totals = work.ledger.totals()
    finally:
        app.close()
    assert totals.charges == (totals.payments + totals.adjustments
                              + totals.balance.insurance + totals.balance.patient)
