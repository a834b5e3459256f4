"""``medbill serve``: the HTTP API (:mod:`medbill_core.http`) on uvicorn, until stopped."""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path
from typing import Annotated

import typer

from medbill_core.cli.common import cli_errors, fail, open_app, warn

log = logging.getLogger("medbill.http")


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and the loopback addresses (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


class PathWithoutQuery(logging.Filter):
    """uvicorn's access log line without the query string: a list's filter may name a
    patient (``GET /v1/patients?last_name=...``), and PHI never goes into a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        # uvicorn logs '%s - "%s %s HTTP/%s" %d' with (client, method, path?query, ...)
        if isinstance(record.args, tuple) and len(record.args) >= 3 \
                and isinstance(record.args[2], str):
            record.args = (*record.args[:2], record.args[2].split("?", 1)[0],
                           *record.args[3:])
        return True


@cli_errors
def serve(
    host: Annotated[str, typer.Option(
        help="Address to listen on; anything but loopback needs --allow-remote")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port")] = 8080,
    allow_remote: Annotated[bool, typer.Option(
        "--allow-remote", help="Listen on a non-loopback address (put a TLS proxy in front: "
        "this server speaks plain HTTP)")] = False,
    access_log: Annotated[bool, typer.Option(
        "--access-log", help="Log each request's method, path and status (paths name record "
        "ids)")] = False,
    statements_dir: Annotated[Path, typer.Option(
        "--statements-dir", help="Folder for the statements of POST /v1/statement-runs")
    ] = Path("statements"),
) -> None:
    """Serve the HTTP API (OpenAPI at /openapi.json, docs at /docs) until stopped (Ctrl-C,
    SIGTERM). Callers authenticate with an API key: Authorization: Bearer <key>."""
    if not is_loopback(host) and not allow_remote:
        raise fail(f"--host {host} is not a loopback address: add --allow-remote to listen "
                   "there, behind a TLS proxy", 2)
    import uvicorn

    from medbill_core.http import create_app
    from medbill_core.http.resources.jobs import stop_jobs
    from medbill_core.services.idempotency import purge_expired
    from medbill_core.services.jobs import mark_interrupted

    medbill = open_app(as_installation=True)  # each request acts as its key's principal
    try:
        if not is_loopback(host):
            warn(f"listening on {host}: this server speaks plain HTTP; serve it to others only "
                 "through a TLS proxy in front of it")
        purge_expired(medbill)
        # jobs a stopped server left queued or running are not run again: marked failed
        mark_interrupted(medbill)
        app = create_app(medbill)
        app.state.statements_dir = statements_dir
        typer.echo(f"medbill: serving the API on http://{host}:{port} (docs at /docs; "
                   "Ctrl-C stops)", err=True)
        logging.getLogger("uvicorn.access").addFilter(PathWithoutQuery())
        # as uvicorn shuts down gracefully (Ctrl-C, SIGTERM), before it re-raises the signal:
        # running jobs finish, those not started are marked interrupted
        app.router.on_shutdown.append(lambda: stop_jobs(app))
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=access_log,
                    server_header=False)
    finally:
        medbill.close()
