"""Hook implementations of the `workspace_web` plugin (entry point `medbill.plugins`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from medbill_core.api import hookimpl

if TYPE_CHECKING:
    from fastapi import FastAPI

PLUGIN_NAME = "workspace_web"
#: The plugin API this plugin was written for (a core that cannot honour it refuses to start it):
#: medbill_register_routes; 1.7 the contact preference services; 1.10 refusal_before_the_body
#: (a form posted without a session is not signed in)
MEDBILL_API = "1.10"


@hookimpl
def medbill_register_routes(app: FastAPI) -> None:
    from medbill_workspace_web.app import add_workspace  # FastAPI and Jinja2 only when served

    add_workspace(app)
