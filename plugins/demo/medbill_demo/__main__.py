"""``python -m medbill_demo --out DIR --claims N`` (what ``make demo`` runs)."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from medbill_demo.runner import run_demo
from medbill_demo.workspace import add_demo_account, print_workspace_instructions


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the medbill revenue-cycle demo.")
    parser.add_argument("--out", type=Path, default=Path("demo-out"))
    parser.add_argument("--claims", type=int, default=40)
    args = parser.parse_args()
    console = Console()
    run_demo(args.out, args.claims, console)
    # last: how to open the workspace on what the demo made
    print_workspace_instructions(args.out, add_demo_account(args.out), console)


if __name__ == "__main__":
    main()
