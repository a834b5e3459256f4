"""``medbill clearinghouse``: run the simulator (also ``python -m medbill_clearinghouse_mock``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from medbill_clearinghouse_mock.secret import DEFAULT_KEY_FILE
from medbill_core.api import ConfigurationError
from medbill_core.api.cli import cli_errors, console, load_cli_config

#: The simulator's state file by default (as simulator.server.DEFAULT_STATE, without
#: importing uvicorn for every medbill command).
DEFAULT_STATE = "clearinghouse-mock.db"

app = typer.Typer(help="The mock clearinghouse: a simulator to submit claims to.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


@app.command("serve")
@cli_errors
def serve_command(
    host: Annotated[str, typer.Option(
        help="Address to listen on: loopback, or any with --tls-cert and --tls-key")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port", min=1, max=65535)] = 8035,
    state: Annotated[Path, typer.Option(help="SQLite file holding the simulator's state")] = (
        Path(DEFAULT_STATE)),
    config: Annotated[Path | None, typer.Option(
        "--config", "--simulator-config",
        help="Simulator configuration (TOML or JSON); default: built-in demo payers")] = None,
    api_key_file: Annotated[Path | None, typer.Option(
        help="API key file to accept, created owner-only with a new random key when missing "
             "(default: api_key_file of \\[plugins.clearinghouse_mock] in medbill.toml, else "
             f"{DEFAULT_KEY_FILE} next to --state)")] = None,
    tls_cert: Annotated[Path | None, typer.Option(
        help="PEM certificate chain: serve HTTPS (required off loopback)")] = None,
    tls_key: Annotated[Path | None, typer.Option(
        help="PEM private key of --tls-cert")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
) -> None:
    """Run the clearinghouse simulator in the foreground (Ctrl-C stops it)."""
    from medbill_clearinghouse_mock.simulator.config import load_simulator_config
    from medbill_clearinghouse_mock.simulator.server import TlsFiles, listen_address, serve

    if (tls_cert is None) != (tls_key is None):
        raise ConfigurationError("give both --tls-cert and --tls-key, or neither")
    tls = TlsFiles(tls_cert, tls_key) if tls_cert and tls_key else None
    listen_address(host, tls)  # refused before anything is created
    settings = _accepting_configured_key(load_simulator_config(config), api_key_file, state)
    scheme = "https" if tls else "http"
    console.print(f"clearinghouse simulator on {scheme}://{host}:{port} (state: {state}, "
                  f"test mode: {'on' if settings.test_mode else 'off'})", highlight=False,
                  soft_wrap=True, markup=False)
    serve(settings, host=host, port=port, state=state, log_level=log_level, tls=tls)


def _accepting_configured_key(settings: Any, api_key_file: Path | None = None,
                              state: Path = Path(DEFAULT_STATE)) -> Any:
    """The simulator configuration plus the installation's key, which the channel sends.

    The key comes from the medbill configuration's ``[plugins.clearinghouse_mock]``
    (``medbill -c demo-out/medbill.toml clearinghouse serve``): ``api_key``, or the file
    ``api_key_file`` names. ``--api-key-file`` names a file too. With neither, and no key in
    the simulator configuration either, the file is ``clearinghouse-mock.key`` next to the
    state file. A named file that does not exist yet is created with a new random key."""
    from medbill_clearinghouse_mock.secret import RETIRED_KEYS, ensure_key_file

    configured = load_cli_config().plugin_settings.get("clearinghouse_mock", {})
    key = configured.get("api_key")
    if isinstance(key, str) and len(key) >= 8 and key not in RETIRED_KEYS:
        settings = settings.with_key(key)
    file = api_key_file or configured.get("api_key_file")
    if file is None and not settings.api_keys:
        file = state.parent / DEFAULT_KEY_FILE
    if file is not None:
        key, created = ensure_key_file(file)
        console.print(f"API key: {'created ' if created else ''}{file} (owner-only; "
                      "the channel reads it through api_key_file)", highlight=False,
                      soft_wrap=True)
        settings = settings.with_key(key)
    return settings


@app.command("default-config")
@cli_errors
def default_config_command() -> None:
    """Print the built-in simulator configuration as JSON (a starting point for --config)."""
    from medbill_clearinghouse_mock.simulator.config import default_config

    typer.echo(json.dumps(default_config().model_dump(mode="json"), indent=2))
