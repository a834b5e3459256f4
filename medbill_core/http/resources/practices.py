"""``GET /v1/practices`` (the practices the caller acts in: an API key's one practice) and
``GET /v1/practices/{id}`` (another practice's id is a 404, as an id no practice has)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from medbill_core.domain.identity import Principal
from medbill_core.http.auth import api_state, permitted
from medbill_core.http.pagination import DEFAULT_LIMIT, Cursor, Limit, decode_cursor, paged
from medbill_core.http.problems import PROBLEM_RESPONSES
from medbill_core.http.resources.claims import RowId
from medbill_core.http.schemas import model_response
from medbill_core.permissions import Action
from medbill_core.services.api_records import PracticeView, get_practice, visible_practices

router = APIRouter(prefix="/v1/practices", tags=["practices"], responses=PROBLEM_RESPONSES)
LISTING = "practices"


class PracticeOut(BaseModel):
    """A practice (a tenant of the installation)."""

    id: int
    code: str = Field(description="the short name the command line and the API use")
    name: str
    active: bool

    @classmethod
    def of(cls, practice: PracticeView) -> PracticeOut:
        return cls(id=practice.id, code=practice.code, name=practice.name,
                   active=practice.active)


class PracticePage(BaseModel):
    data: list[PracticeOut]
    next_cursor: str | None = Field(description="pass as cursor for the next page; null on "
                                                "the last page")


@router.get("", response_model=PracticePage, summary="List the caller's practices")
def list_practice_records(
        request: Request,
        principal: Annotated[Principal, Depends(permitted(Action.PRACTICES_READ))],
        limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Response:
    """The practices the caller acts in, by id (an API key: its one practice)."""
    after = decode_cursor(LISTING, cursor, (int,))[0] if cursor else None
    with api_state(request).medbill.unit_of_work(principal=principal, read_only=True) as work:
        rows = [practice for practice in visible_practices(work, principal)
                if after is None or practice.id > after][:limit + 1]
    data, next_cursor = paged(rows, limit, LISTING)
    body = PracticePage(data=[PracticeOut.of(row) for row in data],
                        next_cursor=next_cursor)
    return model_response(body)


@router.get("/{practice_id}", response_model=PracticeOut, summary="Read a practice",
            responses={404: PROBLEM_RESPONSES[500] | {"description": "No such practice"}})
def read_practice(request: Request,
                  principal: Annotated[Principal, Depends(permitted(Action.PRACTICES_READ))],
                  practice_id: RowId) -> Response:
    with api_state(request).medbill.unit_of_work(principal=principal, read_only=True) as work:
        practice = get_practice(work, principal, practice_id)
    return model_response(PracticeOut.of(practice))
