"""Where the whole cycle's time goes: cProfile of the demo cycle, every thread included.

``python bench/profile_cycle.py --claims 1000`` runs ``run_demo`` (as ``bench_cycle.py`` does,
SQLite) under cProfile. The clearinghouse simulator runs in a thread here (the demo and
``bench_cycle.py`` run it in a process of its own), so its threads (its server and the
threads its requests run in) are profiled too and merged. It prints:

* wall and CPU seconds of the cycle (CPU: the process's, every thread; cProfile slows the
  Python-heavy parts more than the C-heavy ones, so shares are indicative);
* the plugins' functions by cumulative time, as a share of the cycle's wall time (a plugin
  function's time includes what it calls: the core, libraries);
* with ``--top N`` the N functions (any code) with the most time of their own.

``--out FILE`` also writes the merged statistics (``python -m pstats FILE``). Figures are
printed, never asserted.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _short(path: str) -> str:
    for marker in ("/plugins/", "/site-packages/", "/lib/python3"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path.replace(str(ROOT) + "/", "")


def profile_cycle(claims: int) -> tuple[pstats.Stats, float, float]:
    """The merged statistics of a demo cycle of ``claims`` claims, its wall and CPU seconds."""
    from medbill_demo.runner import run_demo
    from medbill_demo.simulation import DemoClearinghouse
    from rich.console import Console

    DemoClearinghouse.in_process_default = True  # its functions in the same profile
    profiles: list[cProfile.Profile] = []
    bootstrap = threading.Thread._bootstrap_inner  # type: ignore[attr-defined]

    def profiled_bootstrap(thread: threading.Thread) -> None:
        profile = cProfile.Profile()
        profiles.append(profile)
        profile.enable()
        try:
            bootstrap(thread)
        finally:
            profile.disable()

    threading.Thread._bootstrap_inner = profiled_bootstrap  # type: ignore[attr-defined]
    main = cProfile.Profile()
    try:
        with tempfile.TemporaryDirectory() as folder:
            started, cpu_started = time.perf_counter(), time.process_time()
            main.enable()
            run_demo(Path(folder), claims, console=Console(file=io.StringIO()))
            main.disable()
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    finally:
        threading.Thread._bootstrap_inner = bootstrap  # type: ignore[attr-defined]
    stats = pstats.Stats(main)
    for profile in profiles:
        profile.create_stats()
        if profile.stats:  # type: ignore[attr-defined]
            stats.add(profile)
    return stats, wall, cpu


def report(stats: pstats.Stats, wall: float, cpu: float, claims: int, *, limit: float,
           top: int) -> None:
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    print(f"{claims} claims: wall {wall:.1f} s, CPU {cpu:.1f} s ({cpu / claims * 1000:.2f} ms a "
          f"claim) under cProfile")
    print(f"plugin functions by cumulative time (share of the cycle's wall time, >= {limit}%):")
    rows = sorted(((cumulative, calls, f"{_short(path)}:{line}({name})")
                   for (path, line, name), (_, calls, _own, cumulative, _) in raw.items()
                   if "/plugins/" in path and "medbill_demo/runner.py" not in path),
                  reverse=True)
    for cumulative, calls, where in rows:
        if cumulative / wall * 100 < limit:
            break
        print(f"  {cumulative / wall * 100:5.1f}%  {cumulative:7.2f} s  {calls:8d}  {where}")
    if top:
        waits = ("poll' of 'select", "acquire' of '_thread", "'get' of '_queue", "time.sleep",
                 "recv' of '_socket")
        print(f"the {top} functions with most time of their own (waits left out):")
        owned = sorted(((own, calls, f"{_short(path)}:{line}({name})")
                        for (path, line, name), (_, calls, own, _, _) in raw.items()
                        if not any(wait in name for wait in waits)), reverse=True)
        for own, calls, where in owned[:top]:
            print(f"  {own / wall * 100:5.1f}%  {own:7.2f} s  {calls:8d}  {where}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--claims", type=int, default=1000)
    parser.add_argument("--limit", type=float, default=0.5,
                        help="smallest share (percent) of a plugin function printed")
    parser.add_argument("--top", type=int, default=0)
    parser.add_argument("--out", type=Path, help="write the merged statistics there")
    args = parser.parse_args()
    stats, wall, cpu = profile_cycle(args.claims)
    if args.out:
        stats.dump_stats(args.out)
    report(stats, wall, cpu, args.claims, limit=args.limit, top=args.top)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
