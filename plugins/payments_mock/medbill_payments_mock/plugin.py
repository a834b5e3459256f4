"""Hook implementations of the ``payments_mock`` plugin (entry point ``medbill.plugins``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from medbill_core.api import hookimpl
from medbill_payments_mock.settings import PaymentsMockSettings

if TYPE_CHECKING:
    import typer
    from pydantic import BaseModel

    from medbill_core.api import FinancingProvider, PaymentGateway, PluginContext

PLUGIN_NAME = "payments_mock"
#: The plugin API this plugin was written for (payment gateways came in 1.4; their hosted
#: card page and financing providers in 1.5).
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
def medbill_register_financing_providers(context: PluginContext
                                         ) -> Sequence[FinancingProvider]:
    """The mock lender beside the gateway: the same plugin plays the practice's money
    partners (a card processor, a health care lender)."""
    from medbill_payments_mock.financing import MockLender

    settings = context.settings_for(PLUGIN_NAME) or PaymentsMockSettings()
    return [MockLender(settings)]


@hookimpl
def medbill_register_commands(app: typer.Typer) -> None:
    from medbill_payments_mock.cli import app as payments_mock_app

    app.add_typer(payments_mock_app, name="payments-mock")
