"""Add ``GET /v1/acme/ping`` to the HTTP API (``medbill serve``), behind an API key."""

from fastapi import APIRouter

from medbill_core.api import hookimpl
from medbill_core.api.http import PROBLEM_RESPONSES, CurrentPrincipal

router = APIRouter(prefix="/v1/acme", tags=["acme"], responses=PROBLEM_RESPONSES)


@router.get("/ping")
def ping(principal: CurrentPrincipal) -> dict[str, str]:
    """Check that the Acme integration is loaded (401 without a valid key)."""
    return {"acme": "ok", "caller": principal.actor}
    # on bad input: raise a medbill_core.api error (ValidationFailed, NotFound ...): the API
    # answers it as a problem+json response, never with a traceback


@hookimpl
def medbill_register_routes(app):
    app.include_router(router)
