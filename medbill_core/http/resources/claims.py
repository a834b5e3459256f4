"""``GET /v1/claims`` (filtered keyset pages) and ``GET /v1/claims/{claim_id}``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.responses import Response

from medbill_core.domain import Claim, ClaimState
from medbill_core.domain.base import saved_id
from medbill_core.domain.identity import Principal
from medbill_core.http.auth import api_state, permitted
from medbill_core.http.pagination import (
    DEFAULT_LIMIT,
    Cursor,
    IsoDate,
    Limit,
    Page,
    decode_cursor,
    page,
)
from medbill_core.http.problems import PROBLEM_RESPONSES
from medbill_core.http.schemas import model_response
from medbill_core.permissions import Action
from medbill_core.services.api_reads import audit_claims_shown
from medbill_core.services.api_reads import read_claim as read_audited_claim

router = APIRouter(prefix="/v1/claims", tags=["claims"], responses=PROBLEM_RESPONSES)
LISTING = "claims"
#: Ids are whole numbers the database holds (a larger one is a 422, not a database error).
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("", response_model=Page[Claim], summary="List claims")
def list_claims(
        request: Request, principal: Annotated[Principal, Depends(permitted(Action.CLAIMS_READ))],
        state: Annotated[ClaimState | None, Query(
            description="Only claims in this state (default: all but deleted drafts)")] = None,
        patient: Annotated[int | None, Query(ge=1, le=2**31 - 1,
                                             description="Only this patient's (id)")] = None,
        payer: Annotated[str | None, Query(max_length=40,
                                           description="Only this payer's (key)")] = None,
        service_from: Annotated[IsoDate | None, Query(
            description="Date of service on or after")] = None,
        service_to: Annotated[IsoDate | None, Query(
            description="Date of service on or before")] = None,
        limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Response:
    """Claims by id, filtered."""
    after = decode_cursor(LISTING, cursor, (int,))[0] if cursor else None
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        claims = work.claims.list(state=state, payer_key=payer, patient_id=patient,
                                  service_from=service_from, service_to=service_to,
                                  limit=limit + 1, after_id=after)
        audit_claims_shown(work, list(claims[:limit]), via="api")  # PHI shown
    return model_response(page(claims, limit, LISTING, lambda claim: [saved_id(claim)]))


@router.get("/{claim_id:int}", response_model=Claim, summary="Read a claim",
            responses={404: PROBLEM_RESPONSES[500] | {"description": "No such claim"}})
def read_claim(request: Request,
               principal: Annotated[Principal, Depends(permitted(Action.CLAIMS_READ))],
               claim_id: RowId) -> Response:
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        claim = read_audited_claim(work, claim_id, via="api")
    return model_response(claim)
