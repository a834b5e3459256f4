"""Hook implementations of the ``payments_mock`` plugin (entry point ``medbill.plugins``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from medbill_core.api import hookimpl
from medbill_payments_mock.settings import PaymentsMockSettings

if TYPE_CHECKING:
    import typer
    from pydantic import BaseModel

    from medbill_core.api import PaymentGateway, PluginContext

PLUGIN_NAME = "payments_mock"
#: The plugin API this plugin was written for (payment gateways came in 1.4, their hosted
#: card page in 1.5).
MEDBILL_API = "1.5"


@hookimpl
def medbill_plugin_settings_model() -> type[BaseModel]:
    return PaymentsMockSettings


@hookimpl
def medbill_register_payment_gateways(context: PluginContext) -> Sequence[PaymentGateway]:
    from medbill_payments_mock.gateway import MockGateway

    settings = context.settings_for(PLUGIN_NAME) or PaymentsMockSettings()
    return [MockGateway(settings)]


@hookimpl
def medbill_register_commands(app: typer.Typer) -> None:
    from medbill_payments_mock.cli import app as payments_mock_app

    app.add_typer(payments_mock_app, name="payments-mock")
