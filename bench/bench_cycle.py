"""The whole revenue cycle at scale: claims per second and peak memory.

Runs the demo cycle (load, eligibility, scrub, 837P submission through the HTTP
simulator on loopback, acknowledgments, corrections, payment runs, 835 posting,
statements, payments) for each size, each in a fresh process so peak RSS is its own.
Prints figures only; no assertions.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def one(claims: int) -> None:
    from medbill_demo.runner import run_demo
    from rich.console import Console

    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        summary = run_demo(Path(folder), claims, console=Console(file=io.StringIO()))
        seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"claims": claims, "seconds": seconds, "peak_rss_mb": peak_mb,
                      "balanced": summary["ledger_balanced"],
                      "states": summary["claims_by_state"]}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--one", type=int)
    args, _ = parser.parse_known_args()
    if args.one:
        one(args.one)
        return
    print(f"{'claims':>8}{'seconds':>10}{'claims/s':>10}{'peak RSS MB':>13}  balanced")
    for size in (int(s) for s in args.sizes.split(",")):
        result = subprocess.run([sys.executable, __file__, "--one", str(size)],
                                capture_output=True, text=True, check=False)
        if result.returncode != 0:
            print(f"{size:>8}  failed: {result.stderr.strip().splitlines()[-1:]}")
            continue
        data = json.loads(result.stdout.strip().splitlines()[-1])
        print(f"{size:>8}{data['seconds']:>10.1f}{size / data['seconds']:>10.1f}"
              f"{data['peak_rss_mb']:>13.0f}  {data['balanced']}")


if __name__ == "__main__":
    main()
