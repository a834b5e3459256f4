"""Everything the workspace adds to ``medbill serve``'s app, in the order that matters: the
pages of each area, the static files, the 404 page of any other ``/workspace/`` address
(last: it matches every one), and ``GET /`` to the workspace when nothing else answers it."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.routing import iter_route_contexts
from starlette.responses import RedirectResponse, Response

from medbill_core.api.http import public_route
from medbill_workspace_web import account_pages, claim_pages, dashboard, queues, search, shell
from medbill_workspace_web.pages import HOME_PATH, PageRoute
from medbill_workspace_web.static import PATH as STATIC_PATH
from medbill_workspace_web.static import static_files

#: Each area's router, in the order they are matched (an area's owner adds its own here).
AREAS: tuple[APIRouter, ...] = (shell.router, search.router, claim_pages.router,
                                 account_pages.router, queues.router, dashboard.router)


def _answers_root(app: FastAPI) -> bool:
    return any(getattr(route, "path", None) == "/" for route in iter_route_contexts(app.routes))


def add_workspace(app: FastAPI) -> None:
    for router in AREAS:
        app.include_router(router)
    app.mount(STATIC_PATH, static_files(), name="workspace-static")
    last = APIRouter(route_class=PageRoute, include_in_schema=False)
    last.add_api_route("/workspace/{rest:path}", public_route(shell.unknown_page),
                       methods=["GET"], summary="No such page")
    if not _answers_root(app):
        last.add_api_route("/", public_route(_to_workspace), methods=["GET"],
                           summary="The workspace")
    app.include_router(last)


def _to_workspace(request: Request) -> Response:
    return RedirectResponse(HOME_PATH, status_code=307)
