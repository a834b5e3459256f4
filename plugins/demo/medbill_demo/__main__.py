"""``python -m medbill_demo --out DIR --claims N`` (what ``make demo`` runs)."""

from __future__ import annotations

import argparse
from pathlib import Path

from medbill_demo.runner import run_demo


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the medbill revenue-cycle demo.")
    parser.add_argument("--out", type=Path, default=Path("demo-out"))
    parser.add_argument("--claims", type=int, default=40)
    args = parser.parse_args()
    run_demo(args.out, args.claims)


if __name__ == "__main__":
    main()
