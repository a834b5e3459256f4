"""Accounting export of a month: 10,000 vs 100,000 ledger movements, SQLite and PostgreSQL.

A month of postings is written straight into the ledger tables (charges, 835 claim payments
with a contractual adjustment and a transfer to the patient, patient payments: five movements
per three postings, one 835 per day), then exported to IIF as one batch. Prints the export's
time against the floor (10 s for 100,000 movements, issue 18) and the peak Python memory of
writing the batch (a re-export: the same path without recording it), which must stay flat in
the number of movements: the ledger is streamed. No assertions: figures only.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from medbill_core import ledger_balances
from medbill_core.app import Medbill
from medbill_core.config import MedbillConfig
from medbill_core.services.accounting_export import export_batch, reexport_batch
from medbill_core.services.accounting_formats import ExportFormat
from medbill_core.storage.schema import LedgerEntryRow, PostingRow, RemittanceRow, utcnow
from medbill_core.testing.factories import make_claim, make_coverage, make_patient, make_payer
from medbill_core.testing.factories import make_practice as practice

FLOOR_SECONDS = 10.0
FIRST = date(2026, 11, 1)
CHUNK = 5000
ZERO = Decimal("0.00")


def _entry(posting_id: int, kind: str, amount: str, insurance: str, patient: str,
           claim_id: int, patient_id: int, day: date) -> dict[str, Any]:
    return {"posting_id": posting_id, "kind": kind, "amount": Decimal(amount),
            "insurance_delta": Decimal(insurance), "patient_delta": Decimal(patient),
            "claim_id": claim_id, "claim_line_number": None, "patient_id": patient_id,
            "payer_key": "acme", "reason_code": None, "effective_date": day}


def fill(app: Medbill, movements: int) -> None:
    """About ``movements`` ledger entries over November, written in bulk."""
    with app.unit_of_work() as work:
        patient = work.patients.register(make_patient(1))
        coverage = work.patients.add_coverage(patient.id, make_coverage())
        claim_id = work.claims.create(make_claim(patient.id, coverage_id=coverage.id,
                                                 number="BENCH0001")).id
        for day in range(30):
            when = FIRST + timedelta(days=day)
            work.session.add(RemittanceRow(
                trace_number=f"TRN{day:02d}", payer_ref="ACME1", payer_id="ACME1",
                payer_name="Acme Health Plan", payment_amount=ZERO, payment_method="ACH",
                payment_date=when, production_date=when, effective_date=when,
                posted_total=ZERO, duplicate_total=ZERO, exception_total=ZERO,
                plb_total=ZERO, status="balanced"))
    postings: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    posting_id = 1000
    groups = movements // 5
    with app.unit_of_work() as work:
        for n in range(groups):
            day = FIRST + timedelta(days=n % 30)
            keys = (f"charge:bench:{n}", f"835:ACME1:TRN{n % 30:02d}:B{n}:1", f"payment:b{n}")
            for key in keys:
                posting_id += 1
                postings.append({"id": posting_id, "posting_key": key, "source": "bench",
                                 "actor": "bench", "posted_at": utcnow(), "memo": None})
                common = (claim_id, patient.id, day)
                if key.startswith("charge"):
                    entries.append(_entry(posting_id, "charge", "143.50", "143.50", "0",
                                          *common))
                elif key.startswith("835"):
                    entries += [
                        _entry(posting_id, "payer_payment", "90.00", "-90.00", "0", *common),
                        _entry(posting_id, "contractual_adjustment", "33.50", "-33.50", "0",
                               *common),
                        _entry(posting_id, "transfer_to_patient", "20.00", "-20.00", "20.00",
                               *common)]
                else:
                    entries.append(_entry(posting_id, "patient_payment", "20.00", "0",
                                          "-20.00", *common))
            if len(entries) >= CHUNK:
                work.session.execute(insert(PostingRow), postings)
                work.session.execute(insert(LedgerEntryRow), entries)
                postings, entries = [], []
        if postings:
            work.session.execute(insert(PostingRow), postings)
            work.session.execute(insert(LedgerEntryRow), entries)
        # written beside the ledger: the balances it keeps per account, from the entries
        ledger_balances.rebuild(work.session)


def run(url: str, movements: int) -> dict[str, float]:
    config = MedbillConfig(database_url=url, practice=practice(),
                           payers={"acme": make_payer("acme")}, actor="bench")
    app = Medbill.open(config, load_installed=False, upgrade=True)
    try:
        fill(app, movements)
        started = time.perf_counter()
        with app.unit_of_work() as work:
            result = export_batch(work, ExportFormat.IIF)
        seconds = time.perf_counter() - started
        assert result is not None and result.totals.debits == result.totals.credits
        tracemalloc.start()
        with app.unit_of_work() as work:
            reexport_batch(work, 1)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return {"seconds": seconds, "peak_mib": peak / 2**20,
                "movements": float(result.totals.ledger_entries),
                "entries": float(result.totals.journal_entries)}
    finally:
        app.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounting-sizes", default="10000,100000")
    args, _ = parser.parse_known_args()
    sizes = [int(size) for size in args.accounting_sizes.split(",")]
    results: dict[tuple[str, int], dict[str, float]] = {}
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            results[("sqlite", size)] = run(f"sqlite:///{Path(tmp) / 'bench.db'}", size)
    try:
        from medbill_core.testing.postgres import PostgresServer

        with PostgresServer() as server:
            for size in sizes:
                results[("postgresql", size)] = run(server.create_database(f"books{size}"),
                                                    size)
    except Exception as exc:  # the figure is skipped, the reason printed
        print(f"postgresql: not measured ({type(exc).__name__}: {exc})")
    print("accounting export of one month to IIF (one batch); floor: "
          f"{FLOOR_SECONDS:.0f} s for 100,000 movements; peak: Python memory writing it")
    print(f"{'backend':<12}{'movements':>11}{'journal':>9}{'seconds':>9}{'floor':>7}"
          f"{'peak MiB':>10}")
    for (backend, _), figures in results.items():
        within = "ok" if figures["seconds"] < FLOOR_SECONDS else "OVER"
        print(f"{backend:<12}{figures['movements']:>11.0f}{figures['entries']:>9.0f}"
              f"{figures['seconds']:>9.2f}{within:>7}{figures['peak_mib']:>10.2f}")


if __name__ == "__main__":
    main()
