"""The simulator as a child process of :class:`~.process.ProcessServer`.

``python -m medbill_clearinghouse_mock.simulator.child --config FILE --state FILE --fd N
--parent-pid PID``: serves on the listening socket the parent bound and handed down as file
descriptor ``N`` (so the address is the parent's to choose and to report, and nothing else can
answer on it). The configuration holds the accepted API keys, so it comes in an owner-only file,
never on the command line. Logs go to stderr, which the parent sends to a log file: uvicorn's
own lines and the simulator's access log (identifiers, sizes, status codes and timings; never a
body). SIGTERM stops it after the requests in flight; so does its parent's end (it is then
adopted by another process), so that it never outlives the program that started it.

Exit codes: 0 stopped, 1 the server failed, 2 an unusable configuration (one ``error:`` line).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

from medbill_core.api import ConfigurationError

#: How often the child checks that its parent still runs (seconds).
PARENT_CHECK_SECONDS = 0.5


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="medbill_clearinghouse_mock.simulator.child",
                                     description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--config", type=Path, required=True,
                        help="simulator configuration (JSON or TOML; owner-only)")
    parser.add_argument("--state", type=Path, required=True, help="SQLite state file")
    parser.add_argument("--fd", type=int, required=True, help="inherited listening socket")
    parser.add_argument("--host", default="127.0.0.1", help="the address the socket is bound to")
    parser.add_argument("--parent-pid", type=int, required=True)
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--tls-cert", type=Path)
    parser.add_argument("--tls-key", type=Path)
    return parser.parse_args(argv)


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    # Before uvicorn runs: stop at once. After its graceful shutdown uvicorn raises the
    # signal again with this handler back in place: the exit is then a normal one (code 0).
    raise SystemExit(0)


def _stop_when_orphaned(server: object, parent_pid: int) -> None:
    """Ask ``server`` to stop once the parent is gone (a parent killed without a chance to
    stop its child: the child is re-parented and ``getppid`` changes)."""
    while not getattr(server, "should_exit", False):
        if os.getppid() != parent_pid:
            logging.getLogger(__name__).warning("parent process %d is gone: stopping",
                                                parent_pid)
            server.should_exit = True  # type: ignore[attr-defined]
            return
        time.sleep(PARENT_CHECK_SECONDS)


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    args = _arguments(argv)
    level = args.log_level.upper()
    logging.basicConfig(stream=sys.stderr, level=level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if os.getppid() != args.parent_pid:  # the parent ended while this one started
        return 1
    import uvicorn

    from medbill_clearinghouse_mock.simulator.app import Simulator
    from medbill_clearinghouse_mock.simulator.config import load_simulator_config
    from medbill_clearinghouse_mock.simulator.server import TlsFiles, _uvicorn_config

    try:
        config = load_simulator_config(args.config)
        if (args.tls_cert is None) != (args.tls_key is None):
            raise ConfigurationError("give both --tls-cert and --tls-key, or neither")
        tls = TlsFiles(args.tls_cert, args.tls_key) if args.tls_cert and args.tls_key else None
        # the port is the inherited socket's: uvicorn's own is never used
        server = uvicorn.Server(_uvicorn_config(config, args.host, 0, args.state,
                                                args.log_level.lower(), tls))
    except ConfigurationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    listening = socket.socket(fileno=args.fd)
    threading.Thread(target=_stop_when_orphaned, args=(server, args.parent_pid),
                     name="parent-watch", daemon=True).start()
    app: Any = server.config.app  # create_app's Starlette (uvicorn types it loosely)
    simulator: Simulator = app.state.simulator
    try:
        server.run(sockets=[listening])
    finally:
        simulator.store.close()
    return 0 if server.started else 1


if __name__ == "__main__":
    sys.exit(main())
