"""The workspace's static files (its stylesheet, htmx) at ``/workspace/static/``: public (the
sign-in page needs them), cached by the browser for a day. A file's name changes when its
content does (htmx's version is in the README), so a day's cache never serves a stale one
for long."""

from __future__ import annotations

from pathlib import Path

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

DIRECTORY = Path(__file__).parent / "static"
PATH = "/workspace/static"
CACHE_CONTROL = "public, max-age=86400"


class CachedStaticFiles(StaticFiles):
    """Starlette's static files with a ``Cache-Control`` header and ``nosniff``."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            response.headers["Cache-Control"] = CACHE_CONTROL
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def static_files() -> CachedStaticFiles:
    return CachedStaticFiles(directory=DIRECTORY)
