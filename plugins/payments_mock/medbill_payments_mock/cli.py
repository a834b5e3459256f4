"""``medbill payments-mock serve``: run the gateway simulator (also
``python -m medbill_payments_mock serve``)."""

from __future__ import annotations

from typing import Annotated

import typer

from medbill_core.api.cli import cli_errors

app = typer.Typer(help="The mock card payment gateway: a simulator to take card payments "
                       "through.", no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False)


@app.command("serve")
@cli_errors
def serve_command(
    port: Annotated[int, typer.Option(help="TCP port on 127.0.0.1", min=1, max=65535)] = 8045,
    api_key: Annotated[str, typer.Option(
        envvar="PAYMENTS_MOCK_API_KEY", help="The secret key to accept (Bearer)")] = "",
    webhook_url: Annotated[str | None, typer.Option(
        help="Where to deliver events, e.g. http://127.0.0.1:8000/v1/payment-gateways/mock/"
             "webhooks")] = None,
    webhook_secret: Annotated[str, typer.Option(
        envvar="PAYMENTS_MOCK_WEBHOOK_SECRET", help="The webhook signing secret")] = "",
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
) -> None:
    """Run the gateway simulator in the foreground (Ctrl-C stops it)."""
    from medbill_core.api import ConfigurationError
    from medbill_payments_mock.simulator.server import serve
    from medbill_payments_mock.simulator.state import SimulatorConfig

    if not api_key or not webhook_secret:
        raise ConfigurationError("give --api-key and --webhook-secret (or "
                                 "PAYMENTS_MOCK_API_KEY and PAYMENTS_MOCK_WEBHOOK_SECRET): "
                                 "the simulator has no default secrets")
    serve(SimulatorConfig(api_keys=[api_key], webhook_url=webhook_url,
                          webhook_secret=webhook_secret), port=port, log_level=log_level)
