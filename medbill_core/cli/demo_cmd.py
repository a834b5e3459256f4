"""``medbill demo``: the whole revenue cycle on synthetic data and the simulator."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from medbill_core.cli.common import cli_errors, print_json


@cli_errors
def demo(claims: Annotated[int, typer.Option(min=1, max=200_000, help="Encounters to bill")] = 40,
         out: Annotated[Path, typer.Option(help="Folder for every produced file")] = Path(
             "demo-out"),
         as_json: Annotated[bool, typer.Option(
             "--json", help="Print the summary (summary.json) instead of the tables")] = False,
         ) -> None:
    """Run the whole cycle: eligibility, claims, acknowledgments, remittances, statements."""
    from rich.console import Console

    from medbill_core.demo.runner import run_demo

    if as_json:
        # the tables go nowhere; the progress bars still show on a terminal's stderr
        print_json(run_demo(out, claims, Console(quiet=True)))
        return
    run_demo(out, claims)
