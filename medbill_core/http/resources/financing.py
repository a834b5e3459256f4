"""Patient financing referrals:

* ``GET /v1/financing-referrals`` (newest first, cursor pages keyset descending on id);
  ``POST /v1/financing-referrals``: refer a guarantor's or a patient's
  balance (or part of it) to the practice's lender, with the applicant's consent;
* ``GET /v1/financing-referrals/{id}``; ``POST /v1/financing-referrals/{id}/check``: ask the
  lender and apply its decision (an approval posts once);
* ``POST /v1/financing-providers/{identifier}/callbacks``: the lender's signed decision. No
  API key: the signature is the authentication (a bad one is a 400 problem, nothing done); a
  repeated callback answers 200 and changes nothing.

Every rule is :mod:`medbill_core.services.financing`'s; amounts are decimal text.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from medbill_core.domain.identity import Principal
from medbill_core.errors import AdapterNotAvailable, NotFound
from medbill_core.http.auth import api_state, permitted
from medbill_core.http.idempotency import IdempotencyParam
from medbill_core.http.pagination import DEFAULT_LIMIT, Cursor, Limit, Page, decode_cursor, paged
from medbill_core.http.problems import PROBLEM_RESPONSES
from medbill_core.http.resources.claim_actions import StoredId
from medbill_core.http.resources.claims import RowId
from medbill_core.http.schemas import RequestBody, model_response
from medbill_core.http.validation import validated
from medbill_core.money import Money
from medbill_core.permissions import Action
from medbill_core.services.financing import (
    MAX_REFERRAL,
    ReferralStatus,
    ReferralView,
    check_referral,
    get_referral,
    handle_callback,
    list_referrals,
    refer,
)

router = APIRouter(tags=["financing"], responses=PROBLEM_RESPONSES)
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: PROBLEM_RESPONSES[500] | {"description": "No such referral, guarantor or patient"}}
LENDER_FAILED: dict[int | str, dict[str, Any]] = {
    502: PROBLEM_RESPONSES[500] | {"description": "The lender is unreachable or refused "
                                                  "(nothing recorded)"}}
LISTING = "financing-referrals"


class ReferralOut(BaseModel):
    """A financing referral and the lender's decision."""

    id: int
    reference: str = Field(description="our random reference, sent to the lender")
    guarantor_id: int
    amount: str
    provider: str
    application_id: str
    status: ReferralStatus
    consent: str
    lender_name: str | None
    approved_amount: str | None
    merchant_fee: str | None = Field(description="what the lender keeps of the approved "
                                                 "amount, when it reports one")
    decline_reason: str | None
    payment_id: int | None = Field(description="the ledger's payment from the lender")
    created_at: str
    created_by: str
    decided_at: str | None
    decided_by: str | None
    posted_at: str | None

    @classmethod
    def of(cls, view: ReferralView) -> ReferralOut:
        return cls.model_validate(view.as_json())


ReferralList = Page[ReferralOut]


class NewReferral(RequestBody):
    """Whose balance: a guarantor's family's, or a patient's (whoever pays their bills applies;
    a patient who pays their own is made their own guarantor). One of them."""

    guarantor_id: StoredId | None = None
    patient_id: StoredId | None = None
    consent: str = Field(min_length=1, max_length=200, description=(
        "how the applicant agreed to be referred (no PHI)"))
    amount: Money | None = Field(default=None, gt=0, le=MAX_REFERRAL, description=(
        "default: all the guarantor's family owes"))


class CallbackAnswer(BaseModel):
    received: bool
    outcome: str = Field(description="posted, recorded, unchanged (a repeated or pending "
                                     "decision) or ignored (nothing of ours)")


@router.get("/v1/financing-referrals", response_model=ReferralList,
            summary="List financing referrals")
def list_financing_referrals(
        request: Request,
        principal: Annotated[Principal, Depends(permitted(Action.FINANCING_READ))],
        status: Annotated[ReferralStatus | None, Query(description="Only this status")]
        = None,
        guarantor_id: Annotated[StoredId | None, Query(description="Only this guarantor's")]
        = None,
        limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Response:
    """Referrals newest first (keyset descending on id), filtered."""
    before = decode_cursor(LISTING, cursor, (int,))[0] if cursor else None
    with api_state(request).medbill.unit_of_work(principal=principal, read_only=True) as work:
        items = list_referrals(work, status=status, guarantor_id=guarantor_id,
                               before_id=before, limit=limit + 1)
    data, next_cursor = paged(items, limit, LISTING)
    return model_response(ReferralList(data=[ReferralOut.of(item) for item in data],
                                       next_cursor=next_cursor))


@router.post("/v1/financing-referrals", status_code=201, response_model=ReferralOut,
             summary="Refer a balance to the financing lender",
             responses=NOT_FOUND | LENDER_FAILED)
def create_financing_referral(
        request: Request, body: NewReferral,
        principal: Annotated[Principal, Depends(permitted(Action.FINANCING_REFER))],
        idempotency: IdempotencyParam) -> Response:
    body = validated(NewReferral, body.model_dump())
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        view = refer(work, body.guarantor_id, patient_id=body.patient_id,
                     consent=body.consent,
                     amount=Decimal(body.amount) if body.amount is not None else None)
        return idempotency.respond(work, 201, ReferralOut.of(view).model_dump(mode="json"),
                                   {"Location": f"/v1/financing-referrals/{view.id}"})


@router.get("/v1/financing-referrals/{referral_id}", response_model=ReferralOut,
            summary="Read a financing referral", responses=NOT_FOUND)
def read_financing_referral(
        request: Request, referral_id: RowId,
        principal: Annotated[Principal, Depends(permitted(Action.FINANCING_READ))]
) -> Response:
    with api_state(request).medbill.unit_of_work(principal=principal, read_only=True) as work:
        view = get_referral(work, referral_id)
    return model_response(ReferralOut.of(view))


@router.post("/v1/financing-referrals/{referral_id}/check", response_model=ReferralOut,
             summary="Ask the lender about a referral", responses=NOT_FOUND | LENDER_FAILED)
def check_financing_referral(
        request: Request, referral_id: RowId,
        principal: Annotated[Principal, Depends(permitted(Action.FINANCING_REFER))],
        idempotency: IdempotencyParam) -> Response:
    """Read the application back from the lender and apply its decision (an approval posts
    once, whether its callback came or not)."""
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        view = check_referral(work, referral_id)
        return idempotency.respond(work, 200, ReferralOut.of(view).model_dump(mode="json"))


ProviderIdentifier = Annotated[str, Path(pattern=r"^[a-z0-9_]{1,40}$",
                                         description="the provider's identifier (mock)")]


@router.post("/v1/financing-providers/{identifier}/callbacks", response_model=CallbackAnswer,
             summary="Receive a financing lender's decision",
             responses={400: PROBLEM_RESPONSES[500] | {
                 "description": "The signature or its timestamp does not verify"},
                 404: PROBLEM_RESPONSES[500] | {
                 "description": "No enabled plugin provides this financing provider"}})
async def receive_callback(request: Request, identifier: ProviderIdentifier) -> Response:
    """A lender's signed decision (no API key: the signature is the authentication; listed
    in the route table's public routes). The raw body is verified before it is read."""
    from starlette.concurrency import run_in_threadpool

    medbill = api_state(request).medbill
    if identifier not in medbill.hooks.context.financing_providers:
        raise NotFound("financing provider", identifier)
    body = await request.body()
    try:
        applied = await run_in_threadpool(handle_callback, medbill, identifier, body,
                                          dict(request.headers))
    except AdapterNotAvailable:
        raise NotFound("financing provider", identifier) from None
    return model_response(CallbackAnswer(
        received=True, outcome=applied.value if applied is not None else "ignored"))
