"""Helpers for the remittance posting tests: a practice on a SQLite file with many accepted
claims, and 835 files paying them, written by the generic X12 engine."""

from __future__ import annotations

import sqlite3
from datetime import date
from decimal import Decimal
from pathlib import Path

from medbill_core.app import Medbill
from medbill_core.config import load_config
from medbill_core.domain import (
    Adjustment,
    AdjustmentGroup,
    ClaimPayment,
    ClaimState,
    ClaimStatusCode,
    PaymentMethod,
    Remittance,
)
from medbill_core.testing import factories
from medbill_core.testing.cli import config_text

D = Decimal
PLUGINS = ("payer_generic_x12",)
ACME_OPTIONS = '\n[payers.acme.options]\nsubmitter_id = "SUB1"\nreceiver_id = "RCV1"\n'
#: what make_claim(lines=2) bills
BILLED = D("143.50")


def write_config(folder: Path, database: Path) -> Path:
    path = folder / "medbill.toml"
    path.write_text(config_text(f"sqlite:///{database}", plugins=PLUGINS, extra=ACME_OPTIONS),
                    encoding="utf-8")
    return path


def open_app(config: Path) -> Medbill:
    return Medbill.open(load_config(config), upgrade=True)


def claim_number(index: int) -> str:
    return f"CH{index:05d}"


def seed_claims(app: Medbill, count: int) -> None:
    """``count`` accepted two-line claims (143.50 each) of one patient, billed to acme."""
    with app.unit_of_work() as work:
        work.patients.register_provider(factories.make_provider())
        patient = work.patients.register(factories.make_patient(1))
        coverage = work.patients.add_coverage(patient.id,
                                              factories.make_coverage(payer_key="acme"))
        for index in range(count):
            claim = work.claims.create(factories.make_claim(
                patient.id, coverage_id=coverage.id, payer_key="acme",
                number=claim_number(index), lines=2))
            for target in (ClaimState.VALIDATED, ClaimState.SUBMITTED, ClaimState.ACCEPTED):
                work.claims.transition(claim.id, target)


def paid(number: str, amount: str = "100.00", patient: str = "20.00") -> ClaimPayment:
    """A balanced claim payment of a 143.50 claim: paid, PR-2 ``patient``, CO-45 the rest."""
    contractual = BILLED - D(amount) - D(patient)
    adjustments = [Adjustment(group=AdjustmentGroup.CONTRACTUAL, reason_code="45",
                              amount=contractual)]
    if D(patient):
        adjustments.append(Adjustment(group=AdjustmentGroup.PATIENT_RESPONSIBILITY,
                                      reason_code="2", amount=D(patient)))
    return ClaimPayment(claim_number=number, status=ClaimStatusCode.PRIMARY, charge=BILLED,
                        paid=D(amount), patient_responsibility=D(patient),
                        adjustments=adjustments)


def remittance(trace: str, payments: list[ClaimPayment]) -> Remittance:
    return Remittance(trace_number=trace, payment_amount=sum((p.paid for p in payments), D(0)),
                      payment_method=PaymentMethod.ACH, payment_date=date(2026, 3, 2),
                      payer_name="Acme Health Plan", payer_id="ACME1",
                      payee_name="Lakeside Family Practice", claims=payments)


def x12_835(*remittances: Remittance, copies: int = 1) -> str:
    """One interchange holding the remittances, repeated ``copies`` times."""
    from medbill_payer_generic_x12.transactions.remittance_835 import encode_835

    text = encode_835(list(remittances), line_breaks=True)
    return text * copies


def posted_claim_payments(database: Path) -> int:
    """How many of the 835's claim payments are on the ledger (what other processes see)."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30) as connection:
        return connection.execute("SELECT count(*) FROM postings WHERE posting_key LIKE "
                                  "'835:ACME1:EFT-CHUNKS:%'").fetchone()[0]
