"""``medbill serve``: the HTTP API (:mod:`medbill_core.http`) on uvicorn, until stopped."""

from __future__ import annotations

import ipaddress
import logging
import os
from pathlib import Path
from typing import Annotated

import typer

from medbill_core.cli.common import cli_errors, fail, open_app, state, warn
from medbill_core.http.serving import PathWithoutQuery

__all__ = ["PathWithoutQuery", "is_loopback", "serve"]

log = logging.getLogger("medbill.http")


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and the loopback addresses (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


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
    workers: Annotated[int, typer.Option(
        min=1, max=64, help="Worker processes sharing the port (one process runs Python on "
        "one core at a time: more use more cores; each holds its own database connections)")
    ] = 1,
) -> None:
    """Serve the HTTP API (OpenAPI at /openapi.json, docs at /docs) until stopped (Ctrl-C,
    SIGTERM). Callers authenticate with an API key: Authorization: Bearer <key>."""
    if not is_loopback(host) and not allow_remote:
        raise fail(f"--host {host} is not a loopback address: add --allow-remote to listen "
                   "there, behind a TLS proxy", 2)
    import uvicorn

    from medbill_core.http.serving import (
        SETTINGS_ENV,
        WORKER_FACTORY,
        prepare_server,
        serving_app,
        worker_settings,
    )

    medbill = open_app(as_installation=True)  # each request acts as its key's principal
    try:
        if not is_loopback(host):
            warn(f"listening on {host}: this server speaks plain HTTP; serve it to others only "
                 "through a TLS proxy in front of it")
        prepare_server(medbill)
        shown = f" in {workers} worker processes" if workers > 1 else ""
        typer.echo(f"medbill: serving the API on http://{host}:{port}{shown} (docs at /docs; "
                   "Ctrl-C stops)", err=True)
        if workers == 1:
            uvicorn.run(serving_app(medbill, statements_dir), host=host, port=port,
                        log_level="warning", access_log=access_log, server_header=False)
            return
    finally:
        medbill.close()
    # each worker opens its own instance from the same configuration (serving.py)
    os.environ[SETTINGS_ENV] = worker_settings(
        Path(state.config_path) if state.config_path else None, statements_dir)
    uvicorn.run(WORKER_FACTORY, factory=True, workers=workers, host=host, port=port,
                log_level="warning", access_log=access_log, server_header=False)
