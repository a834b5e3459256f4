"""``GET /v1/remittances`` (the register, keyset pages) and ``GET /v1/remittances/{id}``
(with its claim payments as posted, provider adjustments and exceptions)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse, Response

from medbill_core.domain.identity import Principal
from medbill_core.http.auth import api_state, permitted
from medbill_core.http.pagination import (
    DEFAULT_LIMIT,
    Cursor,
    Limit,
    decode_cursor,
    paged,
)
from medbill_core.http.problems import PROBLEM_RESPONSES
from medbill_core.http.resources.claims import RowId
from medbill_core.permissions import Action
from medbill_core.services.remittance_register import (
    RemittanceStatus,
    remittance_detail_by_id,
    remittances_after,
)

router = APIRouter(prefix="/v1/remittances", tags=["remittances"], responses=PROBLEM_RESPONSES)
LISTING = "remittances"


class RemittanceOut(BaseModel):
    """One 835 payment of the register and what posting it did (amounts as decimal text)."""

    id: int
    trace_number: str
    payer: str
    payer_id: str | None
    payer_name: str
    payment_method: str
    payment_amount: str
    date: str
    payment_date: str | None
    production_date: str | None
    received_at: str
    posted_at: str
    posted_count: int
    posted_total: str
    duplicate_count: int
    duplicate_total: str
    exception_count: int
    exception_total: str
    plb_count: int
    plb_total: str
    difference: str = Field(description="BPR02 minus what the claim payments and PLBs "
                                        "account for: 0.00 when the 835 adds up")
    status: RemittanceStatus


class ClaimPaymentOut(BaseModel):
    claim_id: int
    claim_number: str
    claim_state: str
    claim_status: str = Field(description="CLP02")
    paid: str
    adjusted: str
    patient_share: str
    adjustments: list[dict[str, str]]
    remark_codes: list[str]
    remark_meanings: list[str]


class RemittanceDetailOut(RemittanceOut):
    claims: list[ClaimPaymentOut]
    provider_adjustments: list[dict[str, Any]]
    exceptions: list[dict[str, Any]]
    kept_open: list[dict[str, Any]]


class RemittancePage(BaseModel):
    data: list[RemittanceOut]
    next_cursor: str | None


@router.get("", response_model=RemittancePage, summary="List remittances")
def list_remittance_records(
        request: Request,
        principal: Annotated[Principal, Depends(permitted(Action.REMITTANCE_READ))],
        payer: Annotated[str | None, Query(max_length=80, description=(
            "Only this payer's (payer key, payer ID or name as the 835 sent it)"))] = None,
        status: Annotated[RemittanceStatus | None, Query(description="Only this status")
                          ] = None,
        limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Response:
    """Remittances by id, as ``medbill remittances list --json`` shows each."""
    after = decode_cursor(LISTING, cursor, (int,))[0] if cursor else None
    with api_state(request).medbill.unit_of_work(principal=principal, read_only=True) as work:
        rows = remittances_after(work, after_id=after, limit=limit + 1, payer=payer,
                                 status=status)
    data, next_cursor = paged(rows, limit, LISTING)
    return JSONResponse({"data": [row.as_json() for row in data],
                         "next_cursor": next_cursor})


@router.get("/{remittance_id}", response_model=RemittanceDetailOut, summary="Read a remittance",
            responses={404: PROBLEM_RESPONSES[500] | {"description": "No such remittance"}})
def read_remittance(request: Request,
                    principal: Annotated[Principal, Depends(permitted(Action.REMITTANCE_READ))],
                    remittance_id: RowId) -> Response:
    with api_state(request).medbill.unit_of_work(principal=principal, read_only=True) as work:
        detail = remittance_detail_by_id(work, remittance_id)
    return JSONResponse(detail.as_json())
