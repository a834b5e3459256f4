"""Add ``GET /v1/acme/ping`` to the HTTP API (``medbill serve``)."""

from fastapi import APIRouter

from medbill_core.api import hookimpl

router = APIRouter(prefix="/v1/acme", tags=["acme"])


@router.get("/ping")
def ping() -> dict[str, str]:
    """Check that the Acme integration is loaded."""
    return {"acme": "ok"}
    # on bad input: raise a medbill_core.api error (ValidationFailed, NotFound ...): the API
    # answers it as a problem+json response, never with a traceback


@hookimpl
def medbill_register_routes(app):
    app.include_router(router)
