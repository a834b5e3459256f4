"""Running the simulator: uvicorn on loopback (elsewhere only over TLS), in the foreground or
in a thread."""

from __future__ import annotations

import ipaddress
import logging
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from medbill_clearinghouse_mock.simulator.app import Simulator, create_app
from medbill_clearinghouse_mock.simulator.config import SimulatorConfig
from medbill_clearinghouse_mock.simulator.faults import DropConnection
from medbill_core.api import ConfigurationError

DEFAULT_STATE = "clearinghouse-mock.db"


def require_loopback(host: str) -> str:
    """``host`` if it is a loopback address (127.0.0.0/8, ::1, localhost); else an error."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ConfigurationError(f"--host {host!r}: give a loopback IP address "
                                 "(127.0.0.1 or ::1), or serve with --tls-cert and --tls-key"
                                 ) from None
    if not address.is_loopback:
        raise ConfigurationError(f"--host {host}: not a loopback address; the simulator "
                                 "serves PHI, so beyond this machine only over TLS: give "
                                 "--tls-cert and --tls-key")
    return host


@dataclass(frozen=True)
class TlsFiles:
    """The certificate chain and private key (PEM) the simulator serves HTTPS with."""

    cert: Path
    key: Path

    def check(self) -> TlsFiles:
        """Load them once, so a wrong file is a one-line error instead of a server crash."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_cert_chain(self.cert, self.key)
        except FileNotFoundError as exc:
            raise ConfigurationError(f"{exc.filename}: no such TLS file") from None
        except (OSError, ssl.SSLError) as exc:
            raise ConfigurationError(f"--tls-cert {self.cert} / --tls-key {self.key}: not a "
                                     "usable PEM certificate and matching private key "
                                     f"({type(exc).__name__})") from None
        return self


def listen_address(host: str, tls: TlsFiles | None) -> str:
    """Where the simulator may listen: loopback always; any other address only with TLS
    (the key and the PHI would otherwise cross the network in clear text)."""
    if tls is None:
        return require_loopback(host)
    tls.check()
    return "127.0.0.1" if host == "localhost" else host


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
                    log_level: str, tls: TlsFiles | None = None) -> uvicorn.Config:
    host = listen_address(host, tls)
    logging.getLogger("uvicorn.error").addFilter(_QuietDrops())
    app = create_app(config, str(state))
    return uvicorn.Config(app, host=host, port=port, log_level=log_level, access_log=False,
                          lifespan="off", timeout_graceful_shutdown=2, timeout_keep_alive=5,
                          ssl_certfile=str(tls.cert) if tls else None,
                          ssl_keyfile=str(tls.key) if tls else None)


def serve(config: SimulatorConfig, *, host: str = "127.0.0.1", port: int = 8035,
          state: str | Path = DEFAULT_STATE, log_level: str = "info",
          tls: TlsFiles | None = None) -> None:
    """Serve in the foreground until interrupted."""
    uvicorn.Server(_uvicorn_config(config, host, port, state, log_level, tls)).run()


class BackgroundServer:
    """The simulator in a daemon thread (tests, demos): ``with BackgroundServer(...) as s:``.

    ``config`` brings the API keys to accept (the default configuration has none).

    :ivar base_url: ``http://127.0.0.1:PORT`` (``https://`` with ``tls``).
    """

    def __init__(self, config: SimulatorConfig, state: str | Path, *, host: str = "127.0.0.1",
                 port: int | None = None, log_level: str = "warning",
                 tls: TlsFiles | None = None) -> None:
        self.host = listen_address(host, tls)
        self.port = port or free_port(self.host)
        self.config = config
        self.state = state
        self.tls = tls
        self._uvicorn = uvicorn.Server(_uvicorn_config(config, self.host, self.port, state,
                                                       log_level, tls))
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    @property
    def simulator(self) -> Simulator:
        app: Any = self._uvicorn.config.app  # create_app's Starlette (uvicorn types it loosely)
        simulator: Simulator = app.state.simulator
        return simulator

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
