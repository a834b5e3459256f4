"""The demo's books (issue 18): everything the demo posted, exported once to QuickBooks
Desktop IIF as batch 1 into ``books/``, with the figures that tie it out: debits equal to
credits, each 835's deposit equal to its BPR02 payment, each day's patient deposit."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from medbill_core.app import Medbill
from medbill_core.privatefiles import private_dir, publish_after
from medbill_core.services.accounting_export import export_batch
from medbill_core.services.accounting_formats import ExportFormat

FOLDER = "books"


class Report(Protocol):
    figures: dict[str, Any]

    def done(self, step: str, detail: str) -> None: ...


def export_books(app: Medbill, out: Path, report: Report) -> dict[str, Any]:
    """Export the demo's ledger to ``out/books/medbill-batch-<n>.iif``; what was exported."""
    folder = private_dir(out / FOLDER)
    for stale in folder.glob("*.iif"):  # the demo's database is new each run: so is batch 1
        stale.unlink()
    with publish_after() as files, app.unit_of_work() as work:
        result = export_batch(work, ExportFormat.IIF)
        if result is None:
            report.done("accounting export (IIF)", "nothing to export")
            return {}
        path = files.write(folder / f"medbill-batch-{result.summary.number}.iif",
                           result.content)
    totals = result.totals
    deposits_835 = [amount for _, kind, _, _, amount in totals.deposits if kind == "deposit_835"]
    patient_days = [amount for _, kind, _, _, amount in totals.deposits
                    if kind == "patient_deposit"]
    figures = {"batch": result.summary.number, "file": str(path.relative_to(out)),
               "journal_entries": totals.journal_entries,
               "ledger_entries": totals.ledger_entries, "debits": str(totals.debits),
               "credits": str(totals.credits), "deposits_835": len(deposits_835),
               "deposited_835": str(sum(deposits_835)),
               "patient_deposits": len(patient_days),
               "deposited_patient": str(sum(patient_days))}
    report.figures["accounting_export"] = figures
    report.done("accounting export (IIF)",
                f"batch {figures['batch']}: {totals.journal_entries} journal entries from "
                f"{totals.ledger_entries} ledger entries, debits {totals.debits} = credits "
                f"{totals.credits}; {len(deposits_835)} 835 deposits, {len(patient_days)} "
                f"days of patient deposits; into {FOLDER}/")
    return figures
