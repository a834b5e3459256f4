"""The whole cycle side by side with the code before issue 14: a peer run, same machine and moment.

Issue 14 replaced the per-claim services by batch ones; the per-claim functions that remain
are thin wrappers, so "today's code path" no longer exists in the tree. This bench checks
out the peer commit (default :data:`PEER`) into ``bench-out/peer-<commit>/`` with
``git worktree`` and runs the same demo cycle (``medbill_demo.runner.run_demo``) in two child
processes, the peer's tree first on ``PYTHONPATH`` in one, this tree in the other, each with
this virtualenv's libraries, back to back for each size. It prints claims/s, CPU seconds
(the cycle's, the clearinghouse simulator's included wherever it runs: a thread or a child
process), peak RSS and SQL statements per claim for both and the ratios.

The peer is 659ea97: the first commit whose demo practice scales with ``--claims`` (so both
runs do the same work per claim) and whose cycle was the issue's "today". It already holds
one issue-14 change (X12 control numbers reserved in blocks), so the ratio it prints is
conservative. Wall-clock figures are printed, never asserted; run it on an idle machine and
read ``load`` beside them.

    python bench/bench_peer.py [--sizes 1000,2000] [--peer COMMIT]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench-out"
PEER = "659ea97"
PLUGIN_FOLDERS = ("payer_generic_x12", "payer_medicare", "clearinghouse_mock", "statements_pdf",
                  "demo")

#: Runs in the child: the demo cycle of the tree first on sys.path, with SQL counted.
CHILD = r"""
import io, json, resource, shutil, sys, tempfile, time
from collections import Counter
from pathlib import Path
from rich.console import Console
from sqlalchemy import event
from sqlalchemy.engine import Engine
import medbill_core
from medbill_demo.runner import run_demo

statements = Counter()

@event.listens_for(Engine, "before_cursor_execute")
def count(conn, cursor, statement, parameters, context, executemany):
    statements[Path(conn.engine.url.database or "memory").name] += 1

def cpu_seconds():
    # this process's threads and its children that ended: the clearinghouse simulator runs
    # in a thread in older trees and in a child process in newer ones, so both count it
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime

claims = int(sys.argv[1])
out = Path(tempfile.mkdtemp(prefix="bench-peer-"))
wall, cpu = time.perf_counter(), cpu_seconds()
summary = run_demo(out, claims, console=Console(file=io.StringIO()))
wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
print(json.dumps({
    "core": medbill_core.__file__, "wall": wall, "cpu": cpu,
    "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "sql": statements.get("medbill-demo.db", 0),
    "states": summary.get("claims_by_state"),
}))
shutil.rmtree(out)  # the cycle's database and files: a quarter of a gigabyte at 10,000 claims
"""


def peer_tree(commit: str) -> Path:
    """The peer commit checked out once under bench-out/ (reused by later runs)."""
    resolved = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", commit],
                              check=True, capture_output=True, text=True).stdout.strip()
    tree = CACHE / f"peer-{resolved}"
    if not (tree / "medbill_core").is_dir():
        CACHE.mkdir(exist_ok=True)
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--force", "--detach",
                        str(tree), resolved], check=True, capture_output=True)
    return tree


def run_cycle(tree: Path, claims: int) -> dict[str, Any]:
    """One cycle of ``claims`` claims with ``tree``'s code, in a fresh process."""
    paths = [str(tree), *(str(tree / "plugins" / name) for name in PLUGIN_FOLDERS)]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    # the child runs outside both trees so neither shadows PYTHONPATH through the cwd
    with tempfile.TemporaryDirectory() as cwd:
        result = subprocess.run([sys.executable, "-c", CHILD, str(claims)], env=environment,
                                cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"the cycle with {tree} failed:\n{result.stderr[-2000:]}")
    figures: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    if not str(figures["core"]).startswith(str(tree)):
        raise SystemExit(f"the child imported {figures['core']}, not {tree}'s medbill_core")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000")
    parser.add_argument("--peer", default=PEER, help=f"the commit to compare with ({PEER})")
    args = parser.parse_args()
    peer = peer_tree(args.peer)
    print(f"peer {args.peer} ({peer.name}) vs this tree; load {os.getloadavg()[0]:.2f} at start")
    print(f"{'claims':>7} {'run':<6} {'claims/s':>9} {'cpu s':>8} {'cpu ms/claim':>12} "
          f"{'peak MB':>8} {'SQL/claim':>9}")
    for size in (int(text) for text in args.sizes.split(",")):
        runs = {"peer": run_cycle(peer, size), "now": run_cycle(ROOT, size)}
        for name, figures in runs.items():
            wall, cpu = figures["wall"], figures["cpu"]
            print(f"{size:>7} {name:<6} {size / wall:>9.1f} {cpu:>8.1f} "
                  f"{1000 * cpu / size:>12.2f} {figures['peak_mb']:>8.0f} "
                  f"{figures['sql'] / size:>9.1f}")
        before, now = runs["peer"], runs["now"]
        print(f"{size:>7} ratio  throughput x{before['wall'] / now['wall']:.1f}, CPU per claim "
              f"x{before['cpu'] / now['cpu']:.1f} less, SQL statements "
              f"x{before['sql'] / max(now['sql'], 1):.1f} fewer; "
              f"load {os.getloadavg()[0]:.2f} at end")


if __name__ == "__main__":
    main()
