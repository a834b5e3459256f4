"""``python concurrent_cli.py GO_FILE ARGS...``: ``medbill ARGS`` in a process of its own that
starts its command only once ``GO_FILE`` exists.

Concurrency tests start several of these, wait until each has written ``GO_FILE.ready-PID``
(its imports done), then create ``GO_FILE``: the commands really begin together instead of
one process finishing while the next is still importing.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

# everything slow to import is imported before the barrier
import medbill_core.services.remittance
import medbill_core.services.responses
import medbill_core.services.statements
import medbill_core.services.submission  # noqa: F401
from medbill_core.cli import main

WAIT_LIMIT_SECONDS = 60


def wait_for(go: Path) -> None:
    Path(f"{go}.ready-{os.getpid()}").touch()
    deadline = time.monotonic() + WAIT_LIMIT_SECONDS
    while not go.exists():
        if time.monotonic() > deadline:
            sys.exit("concurrent_cli: the go file never appeared")
        time.sleep(0.002)


if __name__ == "__main__":
    go_file = Path(sys.argv[1])
    sys.argv = ["medbill", *sys.argv[2:]]
    wait_for(go_file)
    main.run()
