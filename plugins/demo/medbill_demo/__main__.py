"""``python -m medbill_demo --out DIR --claims N`` (what ``make demo`` runs)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console

from medbill_core.api import MedbillError
from medbill_demo.runner import run_demo
from medbill_demo.workspace import add_demo_account, print_workspace_instructions


def _claims(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError("give 1 or more")
    return number


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the medbill revenue-cycle demo.")
    parser.add_argument("--out", type=Path, default=Path("demo-out"))
    parser.add_argument("--claims", type=_claims, default=40)
    args = parser.parse_args()
    console = Console()
    try:
        run_demo(args.out, args.claims, console)
    except MedbillError as error:  # one line, as `medbill demo` says it (safe to show)
        print(f"error: {error.message}", file=sys.stderr)
        sys.exit(1)
    except OSError as error:  # the output folder: not a folder, not writable, disk full
        print(f"error: {error.filename or args.out}: {error.strerror or type(error).__name__}",
              file=sys.stderr)
        sys.exit(1)
    # last: how to open the workspace on what the demo made
    print_workspace_instructions(args.out, add_demo_account(args.out), console)


if __name__ == "__main__":
    main()
