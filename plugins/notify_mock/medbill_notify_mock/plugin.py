"""Hook implementations of the ``notify_mock`` plugin (entry point ``medbill.plugins``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from medbill_core.api import hookimpl
from medbill_notify_mock.settings import NotifyMockSettings

if TYPE_CHECKING:
    from pydantic import BaseModel

    from medbill_core.api import Notifier, PluginContext

PLUGIN_NAME = "notify_mock"
#: The plugin API this plugin was written for (notifiers came in 1.5).
MEDBILL_API = "1.5"


@hookimpl
def medbill_plugin_settings_model() -> type[BaseModel]:
    return NotifyMockSettings


@hookimpl
def medbill_register_notifiers(context: PluginContext) -> Sequence[Notifier]:
    from medbill_notify_mock.notifier import MockNotifier

    settings = context.settings_for(PLUGIN_NAME) or NotifyMockSettings()
    return [MockNotifier(settings, messages_file=messages_path(context, settings))]


def messages_path(context: PluginContext, settings: NotifyMockSettings) -> Path | None:
    """The messages file: a relative path is the installation's (beside medbill.toml, or the
    working folder without one)."""
    if settings.messages_file is None:
        return None
    path = Path(settings.messages_file)
    if path.is_absolute():
        return path
    source = context.config.source
    return (source.parent if source is not None else Path.cwd()) / path
