"""The simulator in a child process: another system, as a real clearinghouse is.

:class:`ProcessServer` has :class:`~.server.BackgroundServer`'s surface (``base_url``,
``state``, ``start()``, ``stop()``, a context manager) but runs the simulator in its own Python
process (:mod:`.child`), so its CPU (837 decoding, adjudication, 999/277CA/835 encoding) does
not share a GIL with the program it serves, and nothing of it stays behind in that program.

The parent binds the listening socket and hands it down: a taken address is an error here, at
once, and nothing but the child can answer on it. The configuration (it holds the API keys) goes
down in an owner-only file, removed once the child has read it. The child's stdout and stderr
go to a log file (owner-only, appended) next to the state file.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from medbill_clearinghouse_mock.simulator.config import SimulatorConfig
from medbill_clearinghouse_mock.simulator.server import TlsFiles, listen_address
from medbill_core.api import MedbillError, create_private

CHILD_MODULE = "medbill_clearinghouse_mock.simulator.child"
#: The longest log line an error message quotes.
QUOTED_LINE_CHARS = 300


class SimulatorStartError(MedbillError):
    """The simulator's process did not come up. The message is one line and PHI-free, so a
    command (``medbill demo``) shows it as its ``error:`` line."""


class ProcessServer:
    """The simulator in a child process: ``with ProcessServer(config, state) as server:``.

    :ivar base_url: ``http://127.0.0.1:PORT`` (``https://`` with ``tls``), once started.
    :ivar log_file: the child's stdout and stderr (default: the state file with ``.log``).
    :ivar cpu_seconds: the child's user + system CPU time, once it has stopped.
    """

    def __init__(self, config: SimulatorConfig, state: str | Path, *, host: str = "127.0.0.1",
                 port: int | None = None, log_level: str = "info",
                 tls: TlsFiles | None = None, log_file: str | Path | None = None) -> None:
        self.host = listen_address(host, tls)
        self.port = port or 0  # 0: the system picks a free one at start()
        self.config = config
        self.state = Path(state)
        self.tls = tls
        self.log_level = log_level
        self.log_file = Path(log_file) if log_file else self.state.with_suffix(".log")
        self.cpu_seconds: float | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._config_file: Path | None = None

    @property
    def base_url(self) -> str:
        if not self.port:
            raise RuntimeError("the simulator has no address before start()")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    @property
    def pid(self) -> int | None:
        """The child's process id (None before start)."""
        return self._process.pid if self._process else None

    def start(self, timeout: float = 30.0) -> ProcessServer:
        """Start the child and wait until it answers ``GET /v1/health``.

        :raises SimulatorStartError: the address is taken, the child exited (its exit code and
            last log line are named) or did not answer within ``timeout`` seconds; no process
            is left behind.
        """
        if self._process is not None:
            raise RuntimeError("the simulator is already started")
        listening = self._listen()
        try:
            self._config_file = self._write_config()
            offset = self._spawn(listening)
        except BaseException:
            self._forget_config()
            raise
        finally:
            listening.close()  # the child holds its own copy
        try:
            self._wait_until_healthy(timeout, offset)
        except BaseException:
            self.stop()
            raise
        finally:
            self._forget_config()  # read by now (or never to be)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (the child finishes the requests in flight), then SIGKILL after
        ``timeout`` seconds; returns once the child is gone (reaped)."""
        process = self._process
        if process is None or process.returncode is not None:
            self._forget_config()
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        if not self._reap(process, timeout):
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            self._reap(process, None)
        self._forget_config()

    def __enter__(self) -> ProcessServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- starting ---------------------------------------------------------------------------------
    def _listen(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        listening = socket.socket(family, socket.SOCK_STREAM)
        try:
            listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listening.bind((self.host, self.port))
            listening.listen(2048)
        except OSError as exc:
            listening.close()
            raise SimulatorStartError(
                f"the clearinghouse simulator cannot listen on {self.host}:{self.port}: "
                f"{exc.strerror or type(exc).__name__}") from None
        self.port = int(listening.getsockname()[1])
        return listening

    def _write_config(self) -> Path:
        descriptor, name = tempfile.mkstemp(prefix=f".{self.state.name}.config-",
                                            suffix=".json", dir=self.state.parent)  # mode 0600
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(self.config.model_dump_json())
        return Path(name)

    def _spawn(self, listening: socket.socket) -> int:
        """Start the child; returns where its lines begin in the log file."""
        assert self._config_file is not None
        command = [sys.executable, "-m", CHILD_MODULE, "--config", str(self._config_file),
                   "--state", str(self.state), "--fd", str(listening.fileno()),
                   "--host", self.host, "--parent-pid", str(os.getpid()),
                   "--log-level", self.log_level]
        if self.tls:
            command += ["--tls-cert", str(self.tls.cert), "--tls-key", str(self.tls.key)]
        create_private(self.log_file)  # unless it exists (the log is appended to)
        with self.log_file.open("ab") as log:
            offset = log.tell()
            # a session of its own: a Ctrl-C at the terminal reaches the parent only, which
            # then stops the child in order (after the requests it is waiting for)
            self._process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                pass_fds=(listening.fileno(),), start_new_session=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        return offset

    def _wait_until_healthy(self, timeout: float, offset: int) -> None:
        assert self._process is not None
        deadline = time.monotonic() + timeout
        # the probe carries no key and no PHI, and only the child holds the socket: it need
        # not verify a (possibly self-signed) certificate
        with httpx.Client(verify=False) as probe:
            while True:
                code = self._process.poll()
                if code is not None:
                    raise SimulatorStartError(
                        f"the clearinghouse simulator did not start: exit code {code}; "
                        f"{self._last_line(offset)}")
                left = deadline - time.monotonic()
                try:
                    answer = probe.get(f"{self.base_url}/v1/health",
                                       timeout=min(1.0, max(left, 0.05)))
                    if answer.status_code == 200:
                        return
                except httpx.TransportError:  # not accepting yet (connect or read timeout)
                    pass
                if time.monotonic() > deadline:
                    break
                time.sleep(0.05)
        self.stop()
        raise SimulatorStartError(
            f"the clearinghouse simulator did not answer GET /v1/health within {timeout:g} s "
            f"(stopped, exit code {self._process.returncode}); {self._last_line(offset)}")

    def _last_line(self, offset: int) -> str:
        """The child's last log line since ``offset``, quoted for a one-line message."""
        try:
            with self.log_file.open("rb") as log:
                log.seek(offset)
                lines = log.read().decode("utf-8", "replace").splitlines()
        except OSError:
            lines = []
        last = next((line.strip() for line in reversed(lines) if line.strip()), "")
        if not last:
            return f"nothing in its log {self.log_file}"
        if len(last) > QUOTED_LINE_CHARS:
            last = last[:QUOTED_LINE_CHARS] + "..."
        return f"last log line: {last} (log: {self.log_file})"

    def _forget_config(self) -> None:
        if self._config_file is not None:
            self._config_file.unlink(missing_ok=True)
            self._config_file = None

    # -- stopping ---------------------------------------------------------------------------------
    def _reap(self, process: subprocess.Popen[bytes], timeout: float | None) -> bool:
        """Wait up to ``timeout`` seconds (None: for ever) for the child to end; reaps it
        with ``wait4``, which also gives its CPU time."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while process.returncode is None:
            try:
                pid, status, usage = os.wait4(process.pid, 0 if deadline is None
                                              else os.WNOHANG)
            except ChildProcessError:  # reaped elsewhere: Popen knows no better code
                process.poll()
                break
            if pid:
                process.returncode = os.waitstatus_to_exitcode(status)
                self.cpu_seconds = usage.ru_utime + usage.ru_stime
                break
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True
