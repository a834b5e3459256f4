"""Benchmark of statements: rendering (statements_pdf plugin), and statement runs on a small
and a large history.

Run: ``python bench/bench_statements.py`` (``--seconds`` per measurement, default 1.0). Prints,
side by side, the PDF renderer (``pdf``), the summary PDF (``pdf-summary``), the plain-text
(``text``) and the HTML (``html``) renderers on two synthetic statements:

* a 1-page statement: 8 lines over three claims, a patient payment, guarantor and remit-to;
* a 5-page statement: the longest generated history the detail PDF lays out on five pages.

Each figure is the best of three runs of ``--seconds`` each, single process.

Then a statement run (PDF) and the collections work list over ``--accounts`` patients owing on
two claims each, on a SQLite file, first with no other history, then after ``--history``
claims settled long ago (closed, paid in full; copied with plain inserts from one claim made
and paid through the services, a third of them on the owing patients): time and SQL
statements of each, side by side. They should not grow with the history. Figures are printed,
not asserted: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import fpdf
from medbill_statements_pdf.plugin import renderers
from medbill_statements_pdf.samples import sample_statement
from sqlalchemy import Table, event, func, insert, select

from medbill_core.adapters import StatementRenderer
from medbill_core.app import Medbill
from medbill_core.config import MedbillConfig
from medbill_core.domain import Payment, PaymentMethodKind, Statement
from medbill_core.services.payments import record_payment
from medbill_core.services.statements import collections_worklist, run_statements
from medbill_core.storage.schema import ClaimLineRow, ClaimRow, LedgerEntryRow, PostingRow
from medbill_core.testing.factories import make_claim, make_line, make_patient, make_practice

TODAY = date.today()


def five_page_statement() -> Statement:
    """The generated statement with the most lines (in steps of 10) on five detail-PDF pages."""
    pdf = renderers()[0]
    lines = 60
    while pdf.render(sample_statement(lines + 10)).pages <= 5:
        lines += 10
    return sample_statement(lines)


def rate(render: Callable[[], object], seconds: float) -> float:
    """Statements per second: best of three runs of ``seconds``."""
    render()  # warm-up (imports, font metrics)
    best = 0.0
    for _ in range(3):
        count, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            render()
            count += 1
        best = max(best, count / elapsed)
    return best


def self_pay_claim(app: Medbill, patient_id: int, number: str, charge: str, age: int,
                   paid: bool = False) -> int:
    day = TODAY - timedelta(days=age)
    with app.unit_of_work() as work:
        claim = work.claims.create(make_claim(patient_id, coverage_id=None, number=number,
                                              service_date=day).model_copy(update={
            "lines": [make_line(1, service_date=day, charge=Decimal(charge)),
                      make_line(2, service_date=day, charge=Decimal("20.00"))]}))
        if paid:
            record_payment(work, Payment(patient_id=patient_id, amount=claim.total_charge,
                                         method=PaymentMethodKind.CHECK, reference="1",
                                         received_on=day, claim_id=claim.id))
    return claim.id or 0


def copy_history(app: Medbill, template: int, patients: list[int], copies: int) -> None:
    """``copies`` of a settled claim (its row, lines, postings and ledger entries) on
    ``patients`` in turn, with plain executemany inserts."""
    claims, lines = ClaimRow.__table__, ClaimLineRow.__table__
    postings, entries = PostingRow.__table__, LedgerEntryRow.__table__
    assert isinstance(claims, Table) and isinstance(lines, Table)
    assert isinstance(postings, Table) and isinstance(entries, Table)
    with app.database.engine.begin() as conn:
        claim = dict(conn.execute(select(claims).where(claims.c.id == template)).mappings().one())
        its_lines = [dict(r) for r in conn.execute(
            select(lines).where(lines.c.claim_id == template)).mappings()]
        its_entries = [dict(r) for r in conn.execute(
            select(entries).where(entries.c.claim_id == template)).mappings()]
        its_postings = {r["id"]: dict(r) for r in conn.execute(select(postings).where(
            postings.c.id.in_({e["posting_id"] for e in its_entries}))).mappings()}
        ids = {table.name: conn.scalar(select(func.max(table.c.id))) or 0
               for table in (claims, lines, postings, entries)}
        for start in range(0, copies, 2000):
            rows: dict[str, list[dict[str, Any]]] = {name: [] for name in ids}
            for k in range(start, min(copies, start + 2000)):
                patient = patients[k % len(patients)]
                ids["claims"] += 1
                claim_id = ids["claims"]
                rows["claims"].append({**claim, "id": claim_id, "patient_id": patient,
                                       "claim_number": f"H{k:09d}"})
                for line in its_lines:
                    ids["claim_lines"] += 1
                    rows["claim_lines"].append({**line, "id": ids["claim_lines"],
                                                "claim_id": claim_id})
                posting_ids = {}
                for old, posting in its_postings.items():
                    ids["postings"] += 1
                    posting_ids[old] = ids["postings"]
                    rows["postings"].append({**posting, "id": ids["postings"],
                                             "posting_key": f"H{k}:{posting['posting_key']}"})
                for entry in its_entries:
                    ids["ledger_entries"] += 1
                    rows["ledger_entries"].append({
                        **entry, "id": ids["ledger_entries"], "claim_id": claim_id,
                        "patient_id": patient, "posting_id": posting_ids[entry["posting_id"]]})
            for table in (claims, lines, postings, entries):
                conn.execute(insert(table), rows[table.name])


def timed_run(app: Medbill, out: Path, cycle: str) -> dict[str, float]:
    executed = {"n": 0}

    def count(*_: Any) -> None:
        executed["n"] += 1

    event.listen(app.database.engine, "before_cursor_execute", count)
    try:
        started = time.perf_counter()
        with app.unit_of_work() as work:
            items = collections_worklist(work)
        worklist, worklist_sql = time.perf_counter() - started, executed["n"]
        executed["n"] = 0
        started = time.perf_counter()
        result = run_statements(app, cycle=cycle, out_dir=out, renderer="pdf", force=True)
        run = time.perf_counter() - started
    finally:
        event.remove(app.database.engine, "before_cursor_execute", count)
    return {"statements": len(result.produced), "run s": run, "run SQL": executed["n"],
            "worklist": len(items), "worklist s": worklist, "worklist SQL": worklist_sql}


def history_bench(accounts: int, history: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config = MedbillConfig(database_url=f"sqlite:///{Path(tmp) / 'bench.db'}",
                               practice=make_practice(), plugins=["statements_pdf"],
                               actor="bench")
        app = Medbill.open(config, upgrade=True)
        try:
            owing = []
            for n in range(accounts):
                with app.unit_of_work() as work:
                    owing.append(work.patients.register(make_patient(n + 1)).id or 0)
                for k, age in enumerate((20, 75)):
                    self_pay_claim(app, owing[-1], f"A{n:06d}{k}", "60.00", age)
            settled = self_pay_claim(app, owing[0], "T0", "80.00", 400, paid=True)
            figures = [(0, timed_run(app, Path(tmp) / "small", "SMALL"))]
            with app.unit_of_work() as work:
                others = [work.patients.register(make_patient(accounts + n + 1)).id or 0
                          for n in range(max(1, history // 6))]
            started = time.perf_counter()
            copy_history(app, settled, owing + others + others, history)
            made = time.perf_counter() - started
            figures.append((history, timed_run(app, Path(tmp) / "large", "LARGE")))
        finally:
            app.close()
    print(f"\nstatement run (pdf) and collections work list, {accounts} patients owing on 2 "
          f"claims each, SQLite file; history: settled claims ({history} copied in {made:.1f} s)")
    keys = ("statements", "run s", "run SQL", "worklist", "worklist s", "worklist SQL")
    print(f"{'history':>9}" + "".join(f"{key:>14}" for key in keys))
    for size, row in figures:
        print(f"{size:>9}" + "".join(f"{row[key]:>14.2f}" if key.endswith(" s")
                                     else f"{row[key]:>14.0f}" for key in keys))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="per measurement")
    parser.add_argument("--accounts", type=int, default=200,
                        help="patients owing, each billed by the statement runs")
    parser.add_argument("--history", type=int, default=20000,
                        help="settled claims added before the second run")
    args, _ = parser.parse_known_args()
    by_id: dict[str, StatementRenderer] = {r.identifier: r for r in renderers()}
    statements = {"1-page": sample_statement(), "5-page": five_page_statement()}
    print(f"statement rendering, Python {platform.python_version()}, fpdf2 {fpdf.__version__}")
    header = f"{'statement':<10}{'lines':>6}{'pages':>7}"
    order = ("pdf", "pdf-summary", "text", "html")
    print(header + "".join(f"{name + ' /s':>15}" for name in order))
    for label, statement in statements.items():
        pages = by_id["pdf"].render(statement).pages
        figures = [rate(lambda r=by_id[name], s=statement: r.render(s), args.seconds)
                   for name in order]
        print(f"{label:<10}{len(statement.lines):>6}{pages:>7}"
              + "".join(f"{figure:>15.1f}" for figure in figures))
    print("(statements per second, single process; pages = pages of the detail PDF)")
    history_bench(args.accounts, args.history)


if __name__ == "__main__":
    main()
