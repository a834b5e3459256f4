"""``medbill demo``: the whole revenue cycle on synthetic data and the simulator.

The demo is a distribution of its own (``medbill-demo``: it needs every plugin), so the core
finds it through an entry point and never imports it by name.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Annotated, Any

import typer

from medbill_core.cli.common import cli_errors, print_json
from medbill_core.errors import MedbillError

#: Where the demo distribution registers its runner: ``run(out, claims, console)``.
DEMO_ENTRY_POINT_GROUP = "medbill.demo"
DEMO_ENTRY_POINT_NAME = "demo"


class DemoNotInstalled(MedbillError):
    """``medbill demo`` ran where the demo distribution is not installed."""

    def __init__(self) -> None:
        super().__init__("the demo is not installed: pip install medbill-demo "
                         "(or 'make demo' from a checkout of medbill)")


def demo_runner() -> Callable[..., dict[str, Any]]:
    """The installed demo's runner, or :class:`DemoNotInstalled`."""
    found = entry_points(group=DEMO_ENTRY_POINT_GROUP, name=DEMO_ENTRY_POINT_NAME)
    if not found:
        raise DemoNotInstalled()
    runner: Callable[..., dict[str, Any]] = next(iter(found)).load()
    return runner


@cli_errors
def demo(claims: Annotated[int, typer.Option(min=1, max=200_000, help="Encounters to bill")] = 40,
         out: Annotated[Path, typer.Option(help="Folder for every produced file")] = Path(
             "demo-out"),
         as_json: Annotated[bool, typer.Option(
             "--json", help="Print the summary (summary.json) instead of the tables")] = False,
         ) -> None:
    """Run the whole cycle: eligibility, claims, acknowledgments, remittances, statements."""
    from rich.console import Console

    run_demo = demo_runner()
    if as_json:
        # the tables go nowhere; the progress bars still show on a terminal's stderr
        print_json(run_demo(out, claims, Console(quiet=True)))
        return
    run_demo(out, claims)
