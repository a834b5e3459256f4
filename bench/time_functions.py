"""What chosen functions cost in the demo cycle: calls, CPU of the calling thread, wall time.

``python bench/time_functions.py 1000 medbill_payer_medicare.adapter:MedicareAdapter.options_for
medbill_core.default_plugins.core_edits:run_core_edits`` wraps each ``module:attribute.path``
(a function, or a method of a class) with a timer (about a microsecond a call) and runs
``run_demo`` as ``bench_cycle.py`` does (SQLite). Where ``profile_cycle.py``'s cProfile
charges every Python call (a function making many small calls looks several times dearer than
it is, a system call cheaper), this measures the functions as they run: the cycle's own
figures. A name imported elsewhere with ``from module import name`` keeps the unwrapped
function there: wrap the module that calls it. Nested wrapped functions each count their
own total. Figures are printed, never asserted.
"""

from __future__ import annotations

import functools
import importlib
import io
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def wrap(name: str, function: Callable[..., Any],
         totals: dict[str, list[float]]) -> Callable[..., Any]:
    totals[name] = [0, 0.0, 0.0]

    @functools.wraps(function)
    def timed(*args: Any, **kwargs: Any) -> Any:
        cpu, wall = time.thread_time(), time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            total = totals[name]
            total[0] += 1
            total[1] += time.thread_time() - cpu
            total[2] += time.perf_counter() - wall
    return timed


def install(target: str, totals: dict[str, list[float]]) -> None:
    module_name, _, path = target.partition(":")
    owner: Any = importlib.import_module(module_name)
    *parents, attribute = path.split(".")
    for parent in parents:
        owner = getattr(owner, parent)
    original = getattr(owner, attribute)
    timed = wrap(target, original, totals)
    if isinstance(owner, type) and isinstance(owner.__dict__.get(attribute), staticmethod):
        setattr(owner, attribute, staticmethod(timed))
    else:
        setattr(owner, attribute, timed)


def main() -> None:
    if len(sys.argv) < 3:
        print(__doc__)
        raise SystemExit(2)
    claims = int(sys.argv[1])
    totals: dict[str, list[float]] = {}
    for target in sys.argv[2:]:
        install(target, totals)
    from medbill_demo.runner import run_demo
    from medbill_demo.simulation import DemoClearinghouse
    from rich.console import Console

    if any(target.startswith("medbill_clearinghouse_mock") for target in sys.argv[2:]):
        # the simulator's functions run where they can be timed: in a thread of this process
        DemoClearinghouse.in_process_default = True
    with tempfile.TemporaryDirectory() as folder:
        cpu, wall = time.process_time(), time.perf_counter()
        run_demo(Path(folder), claims, console=Console(file=io.StringIO()))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"{claims} claims: CPU {cpu:.2f} s ({cpu / claims * 1000:.2f} ms a claim, every "
          f"thread), wall {wall:.2f} s")
    for name, (calls, thread_cpu, thread_wall) in sorted(totals.items(),
                                                          key=lambda item: -item[1][1]):
        print(f"{name}\n    {int(calls):>7} calls  CPU {thread_cpu * 1000:9.1f} ms "
              f"({thread_cpu / claims * 1e6:7.1f} us a claim)  wall {thread_wall * 1000:9.1f} ms")


if __name__ == "__main__":
    main()
