"""Running the simulator: uvicorn on loopback, in the foreground or in a thread."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from typing import Any

import uvicorn

from medbill_core.api import ConfigurationError
from medbill_payments_mock.simulator.app import Simulator, create_app
from medbill_payments_mock.simulator.state import SimulatorConfig


def require_loopback(host: str) -> str:
    """``host`` if it is a loopback address (the simulator takes card numbers: it never
    listens beyond this machine); else an error."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ConfigurationError(f"--host {host!r}: give a loopback IP address "
                                 "(127.0.0.1 or ::1)") from None
    if not address.is_loopback:
        raise ConfigurationError(f"--host {host}: not a loopback address; the payment "
                                 "simulator listens on this machine only")
    return host


def free_port(host: str = "127.0.0.1") -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _uvicorn_config(config: SimulatorConfig, host: str, port: int,
                    log_level: str) -> uvicorn.Config:
    return uvicorn.Config(create_app(config), host=require_loopback(host), port=port,
                          log_level=log_level, access_log=False, lifespan="off",
                          timeout_graceful_shutdown=2, timeout_keep_alive=5)


def serve(config: SimulatorConfig, *, host: str = "127.0.0.1", port: int = 8045,
          log_level: str = "info") -> None:
    """Serve in the foreground until interrupted."""
    server = uvicorn.Server(_uvicorn_config(config, host, port, log_level))
    simulator: Simulator = server.config.app.state.simulator  # type: ignore[union-attr]
    simulator.webhooks.start()
    try:
        server.run()
    finally:
        simulator.webhooks.stop()


class BackgroundServer:
    """The simulator in a daemon thread (tests, demos): ``with BackgroundServer(...) as s:``.

    :ivar base_url: ``http://127.0.0.1:PORT``.
    """

    def __init__(self, config: SimulatorConfig, *, host: str = "127.0.0.1",
                 port: int | None = None, log_level: str = "warning") -> None:
        self.host = require_loopback(host)
        self.port = port or free_port(self.host)
        self._uvicorn = uvicorn.Server(_uvicorn_config(config, self.host, self.port,
                                                       log_level))
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def simulator(self) -> Simulator:
        app: Any = self._uvicorn.config.app
        simulator: Simulator = app.state.simulator
        return simulator

    def start(self, timeout: float = 10.0) -> BackgroundServer:
        self.simulator.webhooks.start()
        self._thread = threading.Thread(target=self._uvicorn.run, name="payments-mock",
                                        daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._uvicorn.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the payment gateway simulator did not start")
            time.sleep(0.02)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._uvicorn.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        self.simulator.webhooks.stop()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
