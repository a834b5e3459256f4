"""List, work-queue and report commands on a database of 1,000,000 claims.

Generates the database once (:mod:`medbill_core.testing.bigdb`, set-based inserts) into
``bench-out/bigdb-<N>.db`` and reuses it afterwards (delete the file to generate it again);
then runs each command on it and prints, per command: the seconds of the service call in
one process (the database open and warm: what the command's queries and Python cost), the
SQL statements it sent, what it returned, and the wall-clock seconds of the real command line
(``medbill -c ... <command>``: Python start-up and rendering included).

The issue's target: ``ar aging``, ``ar followup`` and ``remit list`` under 2 s at 1,000,000
claims on this machine. Wall-clock figures, printed, never asserted; quote them with the
machine's load (printed first).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench-out"


def cached_database(claims: int) -> tuple[Path, float | None]:
    """The SQLite file holding ``claims`` generated claims, and the seconds generating it took
    now (None: it was there)."""
    from medbill_core.testing.bigdb import generate

    target = CACHE / f"bigdb-{claims}.db"
    if target.exists():
        upgraded(target)
        return target, None
    CACHE.mkdir(exist_ok=True)
    partial = target.with_name(target.name + ".tmp")
    for stale in partial.parent.glob(partial.name + "*"):
        stale.unlink()
    print(f"generating {claims:,} claims into {target} (once; kept for later runs)", flush=True)
    stats = generate(f"sqlite:///{partial}", claims,
                     progress=lambda line: print(f"  {line}", end="\r", flush=True))
    print(f"\n  {stats.total_rows:,} rows in {stats.seconds:.0f} s "
          f"({stats.total_rows / stats.seconds:,.0f} rows/s): "
          + ", ".join(f"{t} {n:,}" for t, n in stats.rows.items()), flush=True)
    for suffix in ("-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    partial.rename(target)
    return target, stats.seconds


def upgraded(database: Path) -> None:
    """``database`` migrated to the newest schema (a file generated before a migration was
    added), so that what is measured on it is not the migration."""
    from medbill_core.storage.database import Database, script_head

    found = Database(f"sqlite:///{database}")
    try:
        if found.current_revision() != script_head():
            print(f"upgrading {database} to the newest schema", flush=True)
            found.upgrade()
    finally:
        found.dispose()


def config(url: str) -> Any:
    from medbill_core.config import MedbillConfig
    from medbill_core.testing.factories import make_payer, make_practice

    return MedbillConfig(
        database_url=url, plugins=[], actor="bench", practice=make_practice(),
        payers={"medicare": make_payer("medicare", payer_id="04412", name="Medicare Part B",
                                       claim_filing_indicator="MB"),
                "acme": make_payer("acme", timely_filing_days=180),
                "bluecross": make_payer("bluecross", payer_id="BCBS1", name="Blue Cross",
                                        claim_filing_indicator="BL")})


def commands() -> list[tuple[str, list[str], Callable[[Any], int]]]:
    """(name, CLI words, service call returning how many items it answered)."""
    from medbill_core import audit
    from medbill_core.domain import ClaimState
    from medbill_core.services.denials import list_denials
    from medbill_core.services.receivables import (
        aging,
        followup,
        patient_aging,
        remittance_exceptions,
    )
    from medbill_core.services.remittance_register import list_remittances

    def claims_page(work: Any, **filters: Any) -> int:
        shown = work.claims.list(**filters, limit=100)
        for claim in shown:
            work.ledger.claim_balance(claim.id)
        return work.claims.summary(**filters).count  # type: ignore[no-any-return]

    return [
        ("ar aging", ["ar", "aging"],
         lambda w: len(aging(w).insurance) + 1),
        ("ar aging --by patient", ["ar", "aging", "--by", "patient"],
         lambda w: len(patient_aging(w).patients)),
        ("ar followup", ["ar", "followup"], lambda w: len(followup(w))),
        ("remit list", ["remit", "list"], lambda w: len(list_remittances(w))),
        ("ar exceptions", ["ar", "exceptions"], lambda w: len(remittance_exceptions(w))),
        ("denials list", ["denials", "list"], lambda w: len(list_denials(w))),
        ("claims list", ["claims", "list"], claims_page),
        ("claims list --state denied", ["claims", "list", "--state", "denied"],
         lambda w: claims_page(w, state=ClaimState.DENIED)),
        ("claims list --patient", ["claims", "list", "--patient", "BG00001234"],
         lambda w: claims_page(w, patient_id=w.patients.by_account("BG00001234").id)),
        ("audit --entity claim 4242", ["audit", "--entity", "claim", "--id", "4242"],
         lambda w: len(audit.query(w.session, entity_type="claim", entity_id=4242))),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--claims", type=int, default=1_000_000)
    parser.add_argument("--no-cli", action="store_true", help="skip the command-line timings")
    args, _ = parser.parse_known_args()
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from medbill_core.app import Medbill
    from medbill_core.config import config_toml

    database, generated = cached_database(args.claims)
    url = f"sqlite:///{database}"
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} "
          f"(1, 5, 15 min; {os.cpu_count()} cores). Database: {args.claims:,} claims, "
          f"{database.stat().st_size / 2**20:,.0f} MB"
          + (f", generated in {generated:.0f} s" if generated is not None else " (cached)"))
    app = Medbill.open(config(url), load_installed=False, upgrade=True)
    settings = CACHE / "bigdb-medbill.toml"
    settings.write_text(config_toml(config(url)))
    statements = [0]

    def count(*_args: Any) -> None:
        statements[0] += 1

    print(f"{'command':<30}{'service s':>10}{'SQL':>6}{'items':>11}{'CLI s':>8}")
    for name, words, call in commands():
        event.listen(Engine, "before_cursor_execute", count)
        statements[0] = 0
        with app.unit_of_work(read_only=True) as work:
            started = time.perf_counter()
            items = call(work)
            seconds = time.perf_counter() - started
        event.remove(Engine, "before_cursor_execute", count)
        cli = "" if args.no_cli else run_cli(settings, words)
        print(f"{name:<30}{seconds:>10.2f}{statements[0]:>6}{items:>11,}{cli}", flush=True)
    app.close()


def run_cli(settings: Path, words: list[str]) -> str:
    """Wall-clock seconds of ``medbill -c settings words`` (its output discarded)."""
    started = time.perf_counter()
    result = subprocess.run([str(Path(sys.executable).parent / "medbill"), "-c", str(settings),
                             *words], capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        return f"  failed: {(result.stderr.strip().splitlines() or ['?'])[-1][:60]}"
    return f"{seconds:>8.2f}"


if __name__ == "__main__":
    main()
