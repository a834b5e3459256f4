"""Hook implementations of the ``clearinghouse_mock`` plugin (entry point ``medbill.plugins``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from medbill_clearinghouse_mock.settings import ClearinghouseMockSettings
from medbill_core.api import hookimpl

if TYPE_CHECKING:
    import typer
    from pydantic import BaseModel

    from medbill_core.api import PluginContext, SubmissionChannel

PLUGIN_NAME = "clearinghouse_mock"


@hookimpl
def medbill_plugin_settings_model() -> type[BaseModel]:
    return ClearinghouseMockSettings


@hookimpl
def medbill_register_channels(context: PluginContext) -> Sequence[SubmissionChannel]:
    from medbill_clearinghouse_mock.channel import ClearinghouseChannel

    settings = context.settings_for(PLUGIN_NAME) or ClearinghouseMockSettings()
    return [ClearinghouseChannel(settings)]


@hookimpl
def medbill_register_commands(app: typer.Typer) -> None:
    from medbill_clearinghouse_mock.cli import app as clearinghouse_app

    app.add_typer(clearinghouse_app, name="clearinghouse")
