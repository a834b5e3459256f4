"""A progress bar fed by a service's ``on_progress(done, total)`` callback.

Services report progress as counts (they learn the total only once the file is read or the
work is listed); :func:`medbill_core.cli.common.progress` advances by steps. This bridges the
two, with the same rule: stderr, and only when stderr is a terminal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def service_progress(description: str) -> Iterator[Callable[[int, int], None]]:
    """Yields ``on_progress(done, total)`` for a service; draws nothing off a terminal."""
    from rich.progress import Progress

    from medbill_core.cli import common

    if not common.err_console.is_terminal:
        yield lambda _done, _total: None
        return
    with Progress(console=common.err_console, transient=True) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update
