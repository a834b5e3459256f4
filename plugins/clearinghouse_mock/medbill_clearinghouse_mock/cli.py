"""``medbill clearinghouse``: run the simulator (also ``python -m medbill_clearinghouse_mock``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from medbill_core.cli.common import cli_errors, console, load_cli_config

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

    settings = _accepting_configured_key(load_simulator_config(config))
    require_loopback(host)
    console.print(f"clearinghouse simulator on http://{host}:{port} (state: {state}, "
                  f"test mode: {'on' if settings.test_mode else 'off'})",
                  highlight=False, markup=False)
    serve(settings, host=host, port=port, state=state, log_level=log_level)


def _accepting_configured_key(settings: Any) -> Any:
    """The simulator also accepts the API key of ``[plugins.clearinghouse_mock]`` in the
    medbill configuration (``medbill -c demo-out/medbill.toml clearinghouse serve``), so a
    configuration keeps working against a simulator started with it."""
    from medbill_clearinghouse_mock.simulator.config import ApiKey

    key = load_cli_config().plugin_settings.get("clearinghouse_mock", {}).get("api_key")
    if not isinstance(key, str) or len(key) < 8 or settings.account_for(key) is not None:
        return settings
    return settings.model_validate({**settings.model_dump(), "api_keys": [
        *[k.model_dump() for k in settings.api_keys],
        ApiKey(key=key, account="medbill").model_dump()]})


@app.command("default-config")
@cli_errors
def default_config_command() -> None:
    """Print the built-in simulator configuration as JSON (a starting point for --config)."""
    from medbill_clearinghouse_mock.simulator.config import default_config

    typer.echo(json.dumps(default_config().model_dump(mode="json"), indent=2))
