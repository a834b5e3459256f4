"""Benchmark of statement rendering (statements_pdf plugin): statements per second.

Run: ``python bench/bench_statements.py`` (``--seconds`` per measurement, default 1.0). Prints,
side by side, the PDF renderer (``pdf``), the summary PDF (``pdf-summary``), the plain-text
(``text``) and the HTML (``html``) renderers on two synthetic statements:

* a 1-page statement: 8 lines over three claims, a patient payment, guarantor and remit-to;
* a 5-page statement: the longest generated history the detail PDF lays out on five pages.

Each figure is the best of three runs of ``--seconds`` each, single process. Figures are
printed, not asserted: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable

import fpdf
from medbill_statements_pdf.plugin import renderers
from medbill_statements_pdf.samples import sample_statement

from medbill_core.adapters import StatementRenderer
from medbill_core.domain import Statement


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="per measurement")
    args = parser.parse_args()
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


if __name__ == "__main__":
    main()
