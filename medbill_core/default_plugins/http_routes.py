"""The core's HTTP routes, added to ``medbill serve``'s app through the routes hook as a
plugin's are (FastAPI is imported only when an app is built)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from medbill_core.hookspecs import hookimpl

if TYPE_CHECKING:
    from fastapi import FastAPI


@hookimpl
def medbill_register_routes(app: FastAPI) -> None:
    from medbill_core.http.resources import include_core_routes

    include_core_routes(app)
