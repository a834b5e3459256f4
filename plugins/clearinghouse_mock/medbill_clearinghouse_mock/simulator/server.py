"""Running the simulator: uvicorn on a loopback address, in the foreground or in a thread."""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time
from pathlib import Path

import uvicorn

from medbill_clearinghouse_mock.simulator.app import create_app
from medbill_clearinghouse_mock.simulator.config import SimulatorConfig
from medbill_clearinghouse_mock.simulator.faults import DropConnection
from medbill_core.errors import ConfigurationError

DEFAULT_STATE = "clearinghouse-mock.db"


def require_loopback(host: str) -> str:
    """``host`` if it is a loopback address (127.0.0.0/8, ::1, localhost); else an error.

    The simulator holds synthetic PHI and has test back doors: it never listens elsewhere.
    """
    if host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ConfigurationError(f"--host {host!r}: give a loopback IP address "
                                 "(127.0.0.1 or ::1)") from None
    if not address.is_loopback:
        raise ConfigurationError(f"--host {host}: the simulator listens on loopback "
                                 "addresses only (127.0.0.0/8 or ::1)")
    return host


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class _QuietDrops(logging.Filter):
    """Injected dropped connections are intended: keep their tracebacks out of the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, DropConnection)


def _uvicorn_config(config: SimulatorConfig, host: str, port: int, state: str | Path,
                    log_level: str) -> uvicorn.Config:
    host = require_loopback(host)
    logging.getLogger("uvicorn.error").addFilter(_QuietDrops())
    app = create_app(config, str(state))
    return uvicorn.Config(app, host=host, port=port, log_level=log_level, access_log=False,
                          lifespan="off", timeout_graceful_shutdown=2, timeout_keep_alive=5)


def serve(config: SimulatorConfig, *, host: str = "127.0.0.1", port: int = 8035,
          state: str | Path = DEFAULT_STATE, log_level: str = "info") -> None:
    """Serve in the foreground until interrupted."""
    uvicorn.Server(_uvicorn_config(config, host, port, state, log_level)).run()


class BackgroundServer:
    """The simulator in a daemon thread (tests, demos): ``with BackgroundServer(...) as s:``.

    :ivar base_url: ``http://127.0.0.1:PORT``.
    """

    def __init__(self, config: SimulatorConfig, state: str | Path, *, host: str = "127.0.0.1",
                 port: int | None = None, log_level: str = "warning") -> None:
        self.host = require_loopback(host)
        self.port = port or free_port(self.host)
        self.config = config
        self.state = state
        self._uvicorn = uvicorn.Server(_uvicorn_config(config, self.host, self.port, state,
                                                       log_level))
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def simulator(self):  # type: ignore[no-untyped-def]
        return self._uvicorn.config.app.state.simulator

    def start(self, timeout: float = 10.0) -> BackgroundServer:
        self._thread = threading.Thread(target=self._uvicorn.run, name="clearinghouse-mock",
                                        daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._uvicorn.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the clearinghouse simulator did not start")
            time.sleep(0.02)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._uvicorn.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        self.simulator.store.close()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
