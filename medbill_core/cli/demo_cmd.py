"""``medbill demo``: the whole revenue cycle on synthetic data and the simulator."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from medbill_core.cli.common import cli_errors


@cli_errors
def demo(claims: Annotated[int, typer.Option(min=1, max=200_000, help="Encounters to bill")] = 40,
         out: Annotated[Path, typer.Option(help="Folder for every produced file")] = Path(
             "demo-out")) -> None:
    """Run the whole cycle: eligibility, claims, acknowledgments, remittances, statements."""
    from medbill_core.demo.runner import run_demo

    run_demo(out, claims)
