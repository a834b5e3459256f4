"""``GET /v1/payers``: the payers configured in medbill.toml (``[payers.<key>]``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from medbill_core.domain.identity import Principal
from medbill_core.http.auth import api_state, permitted
from medbill_core.http.pagination import DEFAULT_LIMIT, Cursor, Limit, Page, decode_cursor, page
from medbill_core.http.problems import PROBLEM_RESPONSES
from medbill_core.http.schemas import PayerOut
from medbill_core.permissions import Action

router = APIRouter(prefix="/v1/payers", tags=["payers"], responses=PROBLEM_RESPONSES)
LISTING = "payers"


@router.get("", response_model=Page[PayerOut], summary="List payers")
def list_payers(request: Request,
                principal: Annotated[Principal, Depends(permitted(Action.PRACTICES_READ))],
                limit: Limit = DEFAULT_LIMIT,
                cursor: Cursor = None) -> Page[PayerOut]:
    """Payers by key."""
    after = decode_cursor(LISTING, cursor, (str,))[0] if cursor else None
    configured = sorted(api_state(request).medbill.config.payers.values(),
                        key=lambda payer: payer.key)
    rows = [PayerOut.of(payer) for payer in configured if after is None or payer.key > after]
    return page(rows[:limit + 1], limit, LISTING, lambda payer: [payer.key])
