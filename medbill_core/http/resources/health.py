"""``GET /v1/health``: for load balancers and monitors; no key needed, nothing disclosed."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from medbill_core.errors import MedbillError
from medbill_core.http.auth import api_state
from medbill_core.http.problems import PROBLEM_RESPONSES, problem_response
from medbill_core.http.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/v1/health", response_model=Health, summary="Is the API up",
            responses={503: PROBLEM_RESPONSES[500] | {"description": "Database unavailable"}})
def health(request: Request) -> Health | Response:
    """``ok`` when the database answers at the current schema; else 503."""
    try:
        api_state(request).medbill.database.require_current()
    except MedbillError:
        return problem_response(request.url.path, 503, slug="unavailable",
                                title="Service unavailable",
                                detail="the database is unreachable or its schema is not "
                                       "current")
    return Health(status="ok")
