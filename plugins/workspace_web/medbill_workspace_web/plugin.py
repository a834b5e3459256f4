"""Hook implementations of the `workspace_web` plugin (entry point `medbill.plugins`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from medbill_core.api import hookimpl

if TYPE_CHECKING:
    from fastapi import FastAPI

PLUGIN_NAME = "workspace_web"
#: The plugin API this plugin was written for (a core that cannot honour it refuses to start it).
MEDBILL_API = "1.7"  # medbill_register_routes; 1.7: the contact preference services


@hookimpl
def medbill_register_routes(app: FastAPI) -> None:
    from medbill_workspace_web.app import add_workspace  # FastAPI and Jinja2 only when served

    add_workspace(app)
