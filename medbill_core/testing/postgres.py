"""Throwaway PostgreSQL server for tests.

``PostgresServer`` starts a private PostgreSQL cluster with the machine's ``initdb`` and
``pg_ctl`` in a temporary directory, on a free loopback port, tuned for speed rather than
durability (fsync off). It is torn down, directory and all, when the context exits::

    with PostgresServer() as pg:
        url = pg.create_database("claims_test")   # SQLAlchemy URL (postgresql+psycopg)
        engine = sqlalchemy.create_engine(url)
        ...
        engine.dispose()
        pg.drop_database("claims_test")

PostgreSQL refuses to run as root, so when the tests run as root the server binaries are
run as an unprivileged user (``postgres`` if it exists, else ``nobody``) via ``runuser`` or
``setpriv``.

If the environment variable ``MEDBILL_TEST_POSTGRES_URL`` is set (any SQLAlchemy or libpq
style ``postgresql://`` URL), no server is started: databases are created and dropped on
that server instead.

The binaries are looked up on ``PATH`` first, then under the newest
``/usr/lib/postgresql/*/bin`` (Debian's layout); ``scripts/ensure-postgres.sh`` installs them.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL, make_url

__all__ = ["ENV_URL", "PostgresServer", "find_postgres_bin_dir"]

ENV_URL = "MEDBILL_TEST_POSTGRES_URL"
"""Environment variable naming an existing server to use instead of starting one."""

SUPERUSER = "medbill"
_PROGRAMS = ("initdb", "pg_ctl", "postgres")
_DEBIAN_GLOB_ROOT = Path("/usr/lib/postgresql")
_INSTALL_HINT = (
    "run scripts/ensure-postgres.sh (`make test` installs it), or set "
    f"{ENV_URL} to an existing server"
)
_START_TIMEOUT_S = 60
_START_ATTEMPTS = 3  # a port picked via bind(0) can be taken before postgres binds it
_LOG_TAIL_LINES = 40


def _is_complete_bin_dir(directory: Path) -> bool:
    return all(os.access(directory / name, os.X_OK) for name in _PROGRAMS)


def _version_key(directory: Path) -> tuple[int, ...]:
    # /usr/lib/postgresql/<version>/bin -> numeric version; non-numeric sorts last.
    return tuple(int(part) for part in re.findall(r"\d+", directory.parent.name)) or (-1,)


def find_postgres_bin_dir() -> Path:
    """Directory holding ``initdb``, ``pg_ctl`` and ``postgres`` of one installation.

    ``PATH`` wins (symlinks resolved, since initdb and pg_ctl locate ``postgres`` next to
    their real location); otherwise the highest version under ``/usr/lib/postgresql/*/bin``.
    Raises ``RuntimeError`` naming the missing programs and how to install them.
    """
    candidates: list[Path] = []
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(os.path.realpath(on_path)).parent)
    if _DEBIAN_GLOB_ROOT.is_dir():
        candidates.extend(
            sorted(
                (d for d in _DEBIAN_GLOB_ROOT.glob("*/bin") if d.is_dir()),
                key=_version_key,
                reverse=True,
            )
        )
    for directory in candidates:
        if _is_complete_bin_dir(directory):
            return directory

    missing = [name for name in _PROGRAMS if shutil.which(name) is None]
    searched = "PATH and /usr/lib/postgresql/*/bin"
    if candidates:
        incomplete = ", ".join(str(d) for d in candidates)
        detail = f"no directory with all of {', '.join(_PROGRAMS)} (incomplete: {incomplete})"
    else:
        detail = f"{', '.join(missing or _PROGRAMS)} not found"
    raise RuntimeError(
        f"PostgreSQL server binaries missing: {detail}; searched {searched}. Fix: {_INSTALL_HINT}."
    )


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return f"(no server log at {path}: {exc.strerror})"
    return "\n".join(text.splitlines()[-lines:]) or "(server log is empty)"


class PostgresServer:
    """A private PostgreSQL server for the duration of a ``with`` block (see module doc)."""

    def __init__(self, *, external_url: str | None = None, honour_env: bool = True) -> None:
        """``external_url``: use this existing server instead of starting one. Otherwise,
        with ``honour_env`` (default), ``$MEDBILL_TEST_POSTGRES_URL`` if set."""
        if external_url is None and honour_env:
            external_url = os.environ.get(ENV_URL) or None
        self._external: URL | None = None
        if external_url is not None:
            parsed = make_url(external_url)
            if parsed.get_backend_name() != "postgresql":
                raise ValueError(f"{ENV_URL} must be a postgresql:// URL, got {parsed!r}")
            self._external = parsed.set(drivername="postgresql+psycopg")

        self.host = "127.0.0.1"
        self.port: int | None = None
        self.tmp_dir: Path | None = None
        self.bin_dir: Path | None = None
        self.run_as: str | None = None
        """Unprivileged user the server runs as (only when the caller is root)."""
        self.startup_seconds: float | None = None
        """Wall time of initdb + start, for diagnostics."""
        self._uid_gid: tuple[int, int] | None = None
        self._started = False

    # ------------------------------------------------------------------ properties

    @property
    def external(self) -> bool:
        """True when using an existing server (no server was or will be started)."""
        return self._external is not None

    @property
    def data_dir(self) -> Path:
        return self._require_tmp() / "data"

    @property
    def socket_dir(self) -> Path:
        return self._require_tmp() / "sock"

    @property
    def log_path(self) -> Path:
        return self._require_tmp() / "server.log"

    def _require_tmp(self) -> Path:
        if self.tmp_dir is None:
            raise RuntimeError("PostgresServer has no local directory (not started, or external)")
        return self.tmp_dir

    # ------------------------------------------------------------------ context manager

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start the server (no-op for an external one). Cleans up fully if it fails."""
        if self.external or self._started:
            return
        began = time.monotonic()
        try:
            self.bin_dir = find_postgres_bin_dir()
            self._prepare_dirs()
            self._initdb()
            self._start_server()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began

    def stop(self) -> None:
        """Stop the server immediately and remove its directory. Safe to call repeatedly."""
        if self.tmp_dir is None:
            return
        try:
            if self._started or (self.data_dir / "postmaster.pid").exists():
                self._stop_server()
        finally:
            self._started = False
            shutil.rmtree(self.tmp_dir, ignore_errors=True)
            if self.tmp_dir.exists():  # e.g. a straggling process recreated a file
                time.sleep(0.2)
                shutil.rmtree(self.tmp_dir, ignore_errors=True)
            self.tmp_dir = None

    # ------------------------------------------------------------------ public API

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL (``postgresql+psycopg://...``) of ``database`` on this server."""
        return self._url(database).render_as_string(hide_password=False)

    def create_database(self, name: str, *, template: str | None = None) -> str:
        """Create database ``name`` (a copy of database ``template`` if named, which then may
        have no open connection) and return its SQLAlchemy URL."""
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            statement = sql.SQL("{} TEMPLATE {}").format(statement, sql.Identifier(template))
        with self._admin_connection() as conn:
            conn.execute(statement)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop database ``name`` if it exists, disconnecting any remaining sessions."""
        with self._admin_connection() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    # ------------------------------------------------------------------ connections

    def _url(self, database: str | None) -> URL:
        if self._external is not None:
            return self._external.set(database=database or self._external.database)
        if self.port is None:
            raise RuntimeError("PostgresServer is not running; use it as a context manager")
        return URL.create(
            "postgresql+psycopg",
            username=SUPERUSER,
            host=self.host,
            port=self.port,
            database=database,
        )

    def _admin_connection(self) -> psycopg.Connection[Any]:
        # The external URL's own database (if any) is the one we may connect to.
        admin = self._url(None if self._external is not None else "postgres")
        params: dict[str, Any] = {str(k): v for k, v in admin.query.items()}
        for key, value in (
            ("host", admin.host),
            ("port", admin.port),
            ("user", admin.username),
            ("password", admin.password),
            ("dbname", admin.database or "postgres"),
        ):
            if value is not None:
                params[key] = value
        params.setdefault("connect_timeout", 10)
        return psycopg.connect(autocommit=True, **params)

    # ------------------------------------------------------------------ server lifecycle

    def _prepare_dirs(self) -> None:
        # Under /tmp explicitly: $TMPDIR may sit below a directory (e.g. /root) that the
        # unprivileged server user cannot traverse, and the unix-socket path must stay short.
        base = "/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir()
        self.tmp_dir = Path(tempfile.mkdtemp(prefix="medbill-pg-", dir=base))
        self.socket_dir.mkdir(mode=0o700)
        if os.geteuid() != 0:
            return
        self.run_as = "postgres" if _user_exists("postgres") else "nobody"
        entry = pwd.getpwnam(self.run_as)
        self._uid_gid = (entry.pw_uid, entry.pw_gid)
        for path in (self.tmp_dir, self.socket_dir):
            os.chown(path, entry.pw_uid, entry.pw_gid)
        _check_traversable(self.tmp_dir, self.run_as)

    def _command(self, program: str, *args: str) -> list[str]:
        assert self.bin_dir is not None
        argv = [str(self.bin_dir / program), *args]
        if self._uid_gid is None:
            return argv
        assert self.run_as is not None
        # util-linux puts runuser in /usr/sbin, which a non-login root PATH may lack.
        search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin", "/usr/bin"])
        if runuser := shutil.which("runuser", path=search):
            return [runuser, "-u", self.run_as, "--", *argv]
        if setpriv := shutil.which("setpriv", path=search):
            uid, gid = self._uid_gid
            return [setpriv, f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--", *argv]
        raise RuntimeError(
            "running as root, but neither `runuser` nor `setpriv` (util-linux) is available "
            "to start PostgreSQL as an unprivileged user; install util-linux or run as non-root"
        )

    def _run(self, argv: Sequence[str], what: str, timeout: float) -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(LC_ALL="C", LANG="C", TZ="UTC")
        try:
            proc = subprocess.run(
                argv,
                cwd=self.tmp_dir,  # the server user may not be able to read the caller's cwd
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise RuntimeError(
                f"{what} timed out after {timeout:.0f}s: {shlex.join(argv)}"
            ) from exc
        if proc.returncode != 0:
            raise RuntimeError(
                f"{what} failed (exit {proc.returncode}): {shlex.join(argv)}\n"
                f"{(proc.stdout + proc.stderr).strip()}"
            )
        return proc.stdout

    def _initdb(self) -> None:
        self._run(
            self._command(
                "initdb",
                "-D", str(self.data_dir),
                "-U", SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
                "--no-sync",
            ),
            "initdb",
            timeout=120,
        )  # fmt: skip

    def _start_server(self) -> None:
        for attempt in range(1, _START_ATTEMPTS + 1):
            self.port = _free_loopback_port()
            options = " ".join(
                [
                    f"-p {self.port}",
                    f"-k {shlex.quote(str(self.socket_dir))}",
                    f"-h {self.host}",
                    "-c fsync=off",
                    "-c synchronous_commit=off",
                    "-c full_page_writes=off",
                ]
            )
            argv = self._command(
                "pg_ctl", "start", "-w", "-t", str(_START_TIMEOUT_S),
                "-D", str(self.data_dir), "-l", str(self.log_path), "-o", options,
            )  # fmt: skip
            try:
                self._run(argv, "pg_ctl start", timeout=_START_TIMEOUT_S + 15)
            except RuntimeError as exc:
                log_tail = _tail(self.log_path)
                if attempt < _START_ATTEMPTS and "already in use" in log_tail:
                    self._kill_leftover_postmaster()
                    self.log_path.unlink(missing_ok=True)
                    continue
                raise RuntimeError(
                    f"{exc}\n--- last lines of {self.log_path} ---\n{log_tail}"
                ) from None
            self._started = True
            return

    def _stop_server(self) -> None:
        try:
            self._run(
                self._command("pg_ctl", "stop", "-w", "-m", "immediate", "-D", str(self.data_dir)),
                "pg_ctl stop",
                timeout=30,
            )
        except RuntimeError:
            self._kill_leftover_postmaster()

    def _kill_leftover_postmaster(self) -> None:
        """SIGKILL the postmaster recorded in *our* data directory's postmaster.pid, if any."""
        pid_file = self.data_dir / "postmaster.pid"
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int(pid_file.read_text().splitlines()[0])
            os.kill(pid, signal.SIGKILL)
            for _ in range(50):
                os.kill(pid, 0)  # raises ProcessLookupError once it is gone
                time.sleep(0.1)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _check_traversable(path: Path, user: str) -> None:
    """Fail early, clearly, if ``user`` cannot reach ``path`` (needs x on every parent)."""
    entry = pwd.getpwnam(user)
    for parent in path.resolve().parents:
        st = parent.stat()
        if st.st_uid == entry.pw_uid:
            ok = bool(st.st_mode & 0o100)
        elif st.st_gid == entry.pw_gid:
            ok = bool(st.st_mode & 0o010)
        else:
            ok = bool(st.st_mode & 0o001)
        if not ok:
            raise RuntimeError(
                f"{parent} is not traversable by {user!r} (mode {st.st_mode & 0o7777:o}); "
                f"PostgreSQL runs as {user!r} and needs to reach {path}"
            )
