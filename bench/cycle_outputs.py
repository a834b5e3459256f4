"""What a demo cycle produced, as figures to compare before and after a change that must not
alter any output (a speed-up): claims by state, the money totals, A/R by payer, whether the
ledger balances, whether the audit chain verifies (and how many events and rows of each kind
of audit action there are), and the SHA-256 of every statement PDF.

``python bench/cycle_outputs.py 1000 > before.json`` on the old code, again on the new, then
``diff``. The pay link codes printed on statements (and drawn as QR codes) are random in real
runs; here they come from a seeded generator, so the PDFs of two runs of the same code are
byte-identical and a changed byte means a changed rendering. Prints JSON; asserts nothing.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import sqlite3
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any


def run(claims: int) -> dict[str, Any]:
    from medbill_demo.runner import run_demo
    from rich.console import Console

    from medbill_core.audit_chain import verify
    from medbill_core.services import pay_links

    seeded = random.Random(20)
    pay_links.new_code = lambda: "".join(  # type: ignore[assignment]
        seeded.choice(pay_links.ALPHABET) for _ in range(pay_links.CODE_LENGTH))
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        summary = run_demo(out, claims, console=Console(file=io.StringIO()))
        pdfs = sorted((out / "statements").glob("*.pdf"))
        digests = {pdf.name: hashlib.sha256(pdf.read_bytes()).hexdigest() for pdf in pdfs}
        from medbill_core.app import Medbill
        from medbill_core.config import load_config

        app = Medbill.open(load_config(out / "medbill.toml"))
        try:
            with app.database.reader() as session:
                chain = verify(session)
        finally:
            app.close()
        with sqlite3.connect(out / "medbill-demo.db") as database:
            actions = Counter(dict(database.execute(
                "SELECT action, count(*) FROM audit_events GROUP BY action").fetchall()))
            tables = {table: database.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
                      for (table,) in database.execute(
                          "SELECT name FROM sqlite_master WHERE type = 'table' "
                          "AND name NOT LIKE 'sqlite_%' AND name != 'alembic_version'")}
    return {
        "claims_by_state": summary["claims_by_state"], "money": summary["money"],
        "ar_by_payer": summary["ar_by_payer"], "ledger_balanced": summary["ledger_balanced"],
        "audit_chain": {"rows": chain.rows, "intact": chain.intact},
        "audit_actions": dict(sorted(actions.items())),
        "rows_by_table": dict(sorted(tables.items())),
        "statement_pdfs": len(digests),
        "statement_pdfs_sha256": hashlib.sha256(
            json.dumps(digests, sort_keys=True).encode()).hexdigest(),
        "statement_pdf_digests": digests,
    }


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 1000), indent=1))
