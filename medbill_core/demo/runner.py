"""Run the revenue cycle on synthetic data and leave every produced file under one folder.

Each step uses only what the enabled plugins provide: a step whose adapter, channel or
renderer is not available is reported as skipped, never faked.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from medbill_core.app import Medbill
from medbill_core.config import MedbillConfig
from medbill_core.demo.data import PAYERS, PRACTICE, PROVIDERS, demo_patients, encounter_claim
from medbill_core.domain import ClaimState
from medbill_core.ledger import EntryKind
from medbill_core.loading import installed_plugins
from medbill_core.money import ZERO


@dataclass
class DemoReport:
    steps: list[tuple[str, str]] = field(default_factory=list)

    def done(self, step: str, detail: str) -> None:
        self.steps.append((step, detail))

    def skipped(self, step: str, why: str) -> None:
        self.steps.append((step, f"skipped: {why}"))


def demo_config(out: Path) -> MedbillConfig:
    return MedbillConfig(
        database_url=f"sqlite:///{(out / 'medbill-demo.db').resolve()}",
        plugins=[p.name for p in installed_plugins()], actor="demo",
        practice=PRACTICE, payers=PAYERS, source=None)


def load_data(app: Medbill, claims: int, console: Console) -> list[int]:
    """Patients, coverages, providers and ``claims`` encounters; returns the claim ids."""
    rng = random.Random(837)
    patients = demo_patients(25)
    claim_ids: list[int] = []
    with app.unit_of_work() as work:
        for provider in PROVIDERS:
            work.patients.register_provider(provider)
        stored = []
        for demo in patients:
            patient = work.patients.register(demo.patient)
            coverages = [work.patients.add_coverage(patient.id, c) for c in demo.coverages]
            stored.append((patient, coverages))
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("creating claims", total=claims)
        for start in range(0, claims, 500):
            with app.unit_of_work() as work:
                for number in range(start + 1, min(claims, start + 500) + 1):
                    patient, coverages = stored[(number - 1) % len(stored)]
                    primary = coverages[0] if coverages else None
                    service_date = date.today() - timedelta(days=rng.randint(3, 60))
                    claim = encounter_claim(number, patient, primary, service_date, rng)
                    claim_ids.append(work.claims.create(claim).id)
                    progress.advance(task)
    return claim_ids


def scrub(app: Medbill, claim_ids: list[int], console: Console) -> tuple[int, int]:
    """Run every enabled plugin's claim edits; clean claims move to ``validated``."""
    clean = 0
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("scrubbing claims", total=len(claim_ids))
        with app.unit_of_work() as work:
            for claim_id in claim_ids:
                findings = app.hooks.claim_edits(claim=work.claims.billable(claim_id))
                if not any(f.blocks_submission for f in findings):
                    work.claims.transition(claim_id, ClaimState.VALIDATED, reason="scrubbed")
                    clean += 1
                progress.advance(task)
    return clean, len(claim_ids)


def summarize(app: Medbill) -> dict[str, Any]:
    with app.unit_of_work() as work:
        by_state: dict[str, int] = {}
        for claim in work.claims.list(limit=10**9):
            by_state[claim.state.value] = by_state.get(claim.state.value, 0) + 1
        totals = work.ledger.totals()
        by_payer = work.ledger.insurance_balance_by_payer()
    money = {
        "charges": totals.charges,
        "paid_by_payers": totals[EntryKind.PAYER_PAYMENT],
        "paid_by_patients": totals[EntryKind.PATIENT_PAYMENT],
        "adjusted": totals.adjustments,
        "insurance_balance": totals.balance.insurance,
        "patient_balance": totals.balance.patient,
    }
    return {
        "claims_by_state": dict(sorted(by_state.items())),
        "money": {key: str(value) for key, value in money.items()},
        "ar_by_payer": {key: str(value) for key, value in sorted(by_payer.items())},
        "ledger_balanced": totals.is_balanced(),
    }


def print_summary(summary: dict[str, Any], report: DemoReport, console: Console) -> None:
    steps = Table("step", "result", title="revenue cycle")
    for step, detail in report.steps:
        steps.add_row(step, detail)
    console.print(steps)
    states = Table("state", "claims", title="claims by state")
    for state, count in summary["claims_by_state"].items():
        states.add_row(state, str(count))
    console.print(states)
    money = Table("", "amount", title="money")
    for key, value in summary["money"].items():
        money.add_row(key.replace("_", " "), value)
    console.print(money)
    ar = Table("payer", "insurance A/R", title="A/R by payer")
    for key, value in summary["ar_by_payer"].items():
        ar.add_row(key, value)
    console.print(ar)


def run_demo(out: Path, claims: int = 40, console: Console | None = None) -> dict[str, Any]:
    """Run the cycle into ``out`` (recreated); returns the summary also written as summary.json."""
    console = console or Console()
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("medbill-demo.db*"):
        stale.unlink()
    report = DemoReport()
    app = Medbill.open(demo_config(out), upgrade=True)
    try:
        claim_ids = load_data(app, claims, console)
        report.done("load demo data", f"25 patients, {len(claim_ids)} claims")
        clean, total = scrub(app, claim_ids, console)
        rate = Decimal(clean * 100) / Decimal(total) if total else ZERO
        report.done("scrub", f"{clean}/{total} clean ({rate:.1f}%)")
        summary = summarize(app)
        summary["steps"] = [{"step": s, "result": d} for s, d in report.steps]
        (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        print_summary(summary, report, console)
        return summary
    finally:
        app.close()
