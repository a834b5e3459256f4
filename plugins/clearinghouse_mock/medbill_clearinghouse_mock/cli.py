"""``medbill clearinghouse``: run the simulator (also ``python -m medbill_clearinghouse_mock``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from medbill_core.cli.common import cli_errors, console

app = typer.Typer(help="The mock clearinghouse: a simulator to submit claims to.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


@app.command("serve")
@cli_errors
def serve_command(
    host: Annotated[str, typer.Option(help="Loopback address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port", min=1, max=65535)] = 8035,
    state: Annotated[Path, typer.Option(help="SQLite file holding the simulator's state")] = (
        Path("clearinghouse-mock.db")),
    config: Annotated[Path | None, typer.Option(
        "--config", "--simulator-config",
        help="Simulator configuration (TOML or JSON); default: built-in demo payers")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
) -> None:
    """Run the clearinghouse simulator in the foreground (Ctrl-C stops it)."""
    from medbill_clearinghouse_mock.simulator.config import load_simulator_config
    from medbill_clearinghouse_mock.simulator.server import require_loopback, serve

    settings = load_simulator_config(config)
    require_loopback(host)
    console.print(f"clearinghouse simulator on http://{host}:{port} (state: {state}, "
                  f"test mode: {'on' if settings.test_mode else 'off'})", highlight=False)
    serve(settings, host=host, port=port, state=state, log_level=log_level)


@app.command("default-config")
@cli_errors
def default_config_command() -> None:
    """Print the built-in simulator configuration as JSON (a starting point for --config)."""
    from medbill_clearinghouse_mock.simulator.config import default_config

    typer.echo(json.dumps(default_config().model_dump(mode="json"), indent=2))
