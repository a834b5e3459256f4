"""``claims show`` gives a claim's balances as ``claims list`` does. Exploratory testing found
a secondary claim whose payer's denial was open shown with balance 0.00 and an empty ledger
(the ledger was read on the claim itself, but a visit keeps one account, its first claim's),
and that denial shown on the primary claim instead, as if the primary payer owed it. Now
"insurance" is what the claim's payer still owes on the visit, "patient" the visit's patient
balance on its first claim only, and the ledger lines are the visit's, said to be so. On
SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from medbill_core.app import Medbill
from medbill_core.config import load_config
from medbill_core.domain import (
    Adjustment,
    AdjustmentGroup,
    ClaimPayment,
    ClaimState,
    ClaimStatusCode,
    CoverageOrder,
    Remittance,
)
from medbill_core.services.remittance import post_remittance
from medbill_core.testing import factories
from medbill_core.testing.cli import config_text, ok

D = Decimal
S = ClaimState
BLUECROSS = '\n[payers.bluecross]\npayer_id = "BCBS1"\nname = "Blue Cross"\n' \
    'adapter = "generic_x12"\n'


@pytest.fixture(autouse=True)
def _isolated(cli_isolation: None) -> None:
    """The command-line tests' isolation."""


def _answer(payer_id: str, trace: str, number: str, status: ClaimStatusCode, paid: str,
            *adjustments: tuple[AdjustmentGroup, str, str]) -> Remittance:
    payment = ClaimPayment(claim_number=number, status=status, charge=D("143.50"),
                           paid=D(paid), adjustments=[
                               Adjustment(group=group, reason_code=code, amount=D(amount))
                               for group, code, amount in adjustments])
    return Remittance(trace_number=trace, payment_amount=D(paid), payer_name=payer_id,
                      payer_id=payer_id, payee_name="Clinic", payment_date=date(2026, 3, 2),
                      claims=[payment])


def _rows(config: Path) -> dict[str, tuple[str, str]]:
    listed = json.loads(ok(config, "claims", "list", "--json").stdout)["claims"]
    return {row["claim_number"]: (row["insurance_balance"], row["patient_balance"])
            for row in listed}


def _shown(config: Path, number: str) -> dict[str, object]:
    shown = json.loads(ok(config, "claims", "show", number, "--json").stdout)
    return {key: shown[key] for key in ("balance", "visit_balance", "ledger_account")}


def test_claims_show_gives_the_balances_claims_list_gives(tmp_path: Path,
                                                           medbill_db_url: str) -> None:
    config = tmp_path / "medbill.toml"
    config.write_text(config_text(medbill_db_url, extra=BLUECROSS), encoding="utf-8")
    ok(config, "db", "upgrade")
    app = Medbill.open(load_config(config), load_installed=False)
    try:
        with app.unit_of_work() as work:
            patient = work.patients.register(factories.make_patient(1))
            primary = work.patients.add_coverage(patient.id, factories.make_coverage(
                payer_key="acme"))
            work.patients.add_coverage(patient.id, factories.make_coverage(
                payer_key="bluecross", order=CoverageOrder.SECONDARY, member_id="BC998877"))
            claim = work.claims.create(factories.make_claim(
                patient.id, coverage_id=primary.id, payer_key="acme", number="V1", lines=2))
            for target in (S.VALIDATED, S.SUBMITTED, S.ACCEPTED):
                work.claims.transition(claim.id, target)
        with app.unit_of_work() as work:  # acme pays; the patient's 20.00 goes to Blue Cross
            post_remittance(work, _answer(
                "ACME1", "PRI1", "V1", ClaimStatusCode.PRIMARY, "100.00",
                (AdjustmentGroup.CONTRACTUAL, "45", "23.50"),
                (AdjustmentGroup.PATIENT_RESPONSIBILITY, "1", "20.00")))
        with app.unit_of_work() as work:
            secondary = work.claims.by_number("V1-S2")
            for target in (S.VALIDATED, S.SUBMITTED, S.ACCEPTED):
                work.claims.transition(secondary.id, target)
        with app.unit_of_work() as work:  # Blue Cross denies it: open until someone decides
            post_remittance(work, _answer(
                "BCBS1", "SEC1", "V1-S2", ClaimStatusCode.SECONDARY, "0.00",
                (AdjustmentGroup.OTHER, "23", "123.50"),
                (AdjustmentGroup.CONTRACTUAL, "197", "20.00")))
    finally:
        app.close()
    assert _rows(config) == {"V1": ("0.00", "0.00"), "V1-S2": ("20.00", "0.00")}
    # what the list shows, row for row (show gave 0.00 on V1-S2 and 20.00 on V1)
    assert {number: tuple(json.loads(ok(config, "claims", "show", number, "--json").stdout)[
        "balance"].values()) for number in ("V1", "V1-S2")} == _rows(config)
    visit = {"insurance": "20.00", "patient": "0.00"}
    assert _shown(config, "V1-S2") == {
        "balance": {"insurance": "20.00", "patient": "0.00"}, "visit_balance": visit,
        "ledger_account": {"claim_id": claim.id, "claim_number": "V1"}}
    assert _shown(config, "V1") == {  # the primary owes nothing more: not Blue Cross's 20.00
        "balance": {"insurance": "0.00", "patient": "0.00"}, "visit_balance": visit,
        "ledger_account": {"claim_id": claim.id, "claim_number": "V1"}}
    ledger = json.loads(ok(config, "claims", "show", "V1-S2", "--json").stdout)["ledger"]
    assert (ledger["charge"], ledger["payer_payment"], ledger["contractual_adjustment"]) == (
        "143.50", "100.00", "23.50")
    text = " ".join(ok(config, "claims", "show", "V1-S2").stdout.split())
    assert ("ledger (the visit's, on its account claim V1): charge 143.50, "
            "contractual_adjustment 23.50, payer_payment 100.00") in text
    assert ("; visit balance insurance 20.00, patient 0.00 balance insurance 20.00, patient "
            "0.00 (insurance: what bluecross still owes on the visit; patient: shown on the "
            "visit's first claim V1)") in text
    text = " ".join(ok(config, "claims", "show", "V1").stdout.split())
    assert ("balance insurance 0.00, patient 0.00 (insurance: what acme still owes on the "
            "visit; patient: what the patient owes on the visit)") in text
