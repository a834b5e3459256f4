"""Ledger and claim storage throughput: SQLite file vs PostgreSQL, side by side.

Creates N claims (with their charge postings and audit events) and posts a
remittance-style posting (payment, contractual adjustment, transfer) per claim,
then reads every claim balance. Prints claims/s and postings/s per backend and
the PostgreSQL/SQLite ratio. No assertions: figures only.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from medbill_core.app import Medbill
from medbill_core.config import MedbillConfig
from medbill_core.ledger import EntryKind, LedgerLine
from medbill_core.testing.factories import make_claim, make_coverage, make_patient, make_payer
from medbill_core.testing.factories import make_practice as practice


def run(url: str, claims: int) -> dict[str, float]:
    config = MedbillConfig(database_url=url, practice=practice(),
                           payers={"acme": make_payer("acme")}, actor="bench")
    app = Medbill.open(config, load_installed=False, upgrade=True)
    with app.unit_of_work() as work:
        patient = work.patients.register(make_patient(1))
        coverage = work.patients.add_coverage(patient.id, make_coverage())
    started = time.perf_counter()
    ids = []
    for start in range(0, claims, 250):
        with app.unit_of_work() as work:
            for n in range(start, min(claims, start + 250)):
                ids.append(work.claims.create(make_claim(patient.id, coverage_id=coverage.id,
                                                         number=f"B{n:07d}", lines=2)).id)
    created = time.perf_counter() - started
    started = time.perf_counter()
    for start in range(0, len(ids), 250):
        with app.unit_of_work() as work:
            for claim_id in ids[start:start + 250]:
                common = dict(patient_id=patient.id, claim_id=claim_id, payer_key="acme")
                work.ledger.post(f"835:BENCH:{claim_id}", "835", [
                    LedgerLine(EntryKind.PAYER_PAYMENT, Decimal("90.00"), **common),
                    LedgerLine(EntryKind.CONTRACTUAL_ADJUSTMENT, Decimal("33.50"), **common),
                    LedgerLine(EntryKind.TRANSFER_TO_PATIENT, Decimal("20.00"), **common)],
                    effective_date=make_claim().service_date_from)
    posted = time.perf_counter() - started
    started = time.perf_counter()
    with app.unit_of_work() as work:
        for claim_id in ids:
            work.ledger.claim_balance(claim_id)
        assert work.ledger.totals().is_balanced()
    read = time.perf_counter() - started
    app.close()
    return {"claims/s": claims / created, "postings/s": claims / posted,
            "balances/s": claims / read}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--claims", type=int, default=2000)
    args, _ = parser.parse_known_args()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite"] = run(f"sqlite:///{Path(tmp) / 'bench.db'}", args.claims)
    try:
        from medbill_core.testing.postgres import PostgresServer

        with PostgresServer() as server:
            results["postgresql"] = run(server.create_database("bench"), args.claims)
    except Exception as exc:  # the figure is skipped, the reason printed
        print(f"postgresql: not measured ({type(exc).__name__}: {exc})")
    print(f"{args.claims} claims, 2 lines each; 3-entry remittance posting per claim")
    print(f"{'backend':<12}{'claims/s':>12}{'postings/s':>14}{'balances/s':>14}")
    for backend, figures in results.items():
        print(f"{backend:<12}{figures['claims/s']:>12.0f}{figures['postings/s']:>14.0f}"
              f"{figures['balances/s']:>14.0f}")
    if len(results) == 2:
        for key in ("claims/s", "postings/s", "balances/s"):
            ratio = results["postgresql"][key] / results["sqlite"][key]
            print(f"postgresql/sqlite {key}: {ratio:.2f}x")


if __name__ == "__main__":
    main()
