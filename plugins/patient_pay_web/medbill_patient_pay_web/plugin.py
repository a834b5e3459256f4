"""Hook implementations of the ``patient_pay_web`` plugin (entry point ``medbill.plugins``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from medbill_core.api import hookimpl

if TYPE_CHECKING:
    from fastapi import FastAPI

PLUGIN_NAME = "patient_pay_web"
#: The plugin API this plugin was written for (pay links and hosted card pages came in 1.5).
MEDBILL_API = "1.5"


@hookimpl
def medbill_register_routes(app: FastAPI) -> None:
    from medbill_patient_pay_web.pages import add_pay_pages  # FastAPI and Jinja2 when served

    add_pay_pages(app)
