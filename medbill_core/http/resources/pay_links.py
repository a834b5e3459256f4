"""Pay links (:mod:`medbill_core.services.pay_links`): the short code a patient types or
scans to open the pay page.

* ``POST /v1/pay-links``: issue a link for a guarantor's family, a patient who is their own
  guarantor, or whoever a statement was addressed to; answers its address and code, once
  (only the code's hash is kept);
* ``GET /v1/pay-links``: links newest first (cursor pages, keyset descending on id), of a
  guarantor, patient or statement (never a code);
* ``POST /v1/pay-links/{id}/revoke``: end a link now.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from medbill_core.domain.identity import Principal
from medbill_core.http.auth import api_state, permitted
from medbill_core.http.idempotency import IdempotencyParam
from medbill_core.http.pagination import DEFAULT_LIMIT, Cursor, Limit, Page, decode_cursor, paged
from medbill_core.http.problems import PROBLEM_RESPONSES
from medbill_core.http.resources.claim_actions import IN_FLIGHT, StoredId
from medbill_core.http.resources.claims import RowId
from medbill_core.http.schemas import RequestBody, model_response
from medbill_core.http.validation import validated
from medbill_core.permissions import Action
from medbill_core.services.pay_links import (
    PayLinkView,
    issue_link,
    list_links,
    revoke_link,
)

router = APIRouter(prefix="/v1/pay-links", tags=["pay links"], responses=PROBLEM_RESPONSES)
#: a record the request names (the guarantor, patient or statement; the link) is not there
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: PROBLEM_RESPONSES[500] | {"description": "No such record"}}
LISTING = "pay-links"


class PayLinkOut(BaseModel):
    """A pay link as staff see it (never its code)."""

    id: int
    guarantor_id: int | None
    patient_id: int | None
    statement_id: int | None
    status: str = Field(description="active, locked (too many wrong dates of birth), "
                                     "expired, revoked")
    expires_at: str | None
    created_at: str | None
    created_by: str
    failed_attempts: int
    locks: int
    locked_until: str | None
    last_opened_at: str | None
    revoked_at: str | None

    @classmethod
    def of(cls, view: PayLinkView) -> PayLinkOut:
        return cls.model_validate(view.as_json())


class IssuedLinkOut(BaseModel):
    id: int
    url: str = Field(description="the pay page's address with the code: give it to the "
                                 "patient only; it is not shown again")
    code: str = Field(description="the code as printed (XXXX-XXXX-XXXX)")
    expires_at: str


PayLinkList = Page[PayLinkOut]


class NewPayLink(RequestBody):
    """Whose link: a guarantor, a patient who is their own guarantor, or a statement's
    addressee (one of them; a statement with either names that statement)."""

    guarantor_id: StoredId | None = None
    patient_id: StoredId | None = None
    statement_id: StoredId | None = None


class Revocation(RequestBody):
    reason: str = Field(min_length=1, max_length=500, description="why (no patient details)")


@router.post("", status_code=201, response_model=IssuedLinkOut, summary="Issue a pay link",
             responses=NOT_FOUND | IN_FLIGHT)
def create_pay_link(request: Request, body: NewPayLink,
                    principal: Annotated[Principal, Depends(permitted(Action.PAY_LINKS_ISSUE))],
                    idempotency: IdempotencyParam) -> Response:
    body = validated(NewPayLink, body.model_dump())
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        issued = issue_link(work, guarantor_id=body.guarantor_id, patient_id=body.patient_id,
                            statement_id=body.statement_id)
        out = IssuedLinkOut(id=issued.id, url=issued.url, code=issued.printed_code,
                            expires_at=issued.expires_at.isoformat())
        return idempotency.respond(work, 201, out.model_dump(mode="json"))


@router.get("", response_model=PayLinkList, summary="List pay links")
def read_pay_links(
        request: Request,
        principal: Annotated[Principal, Depends(permitted(Action.PAY_LINKS_READ))],
        guarantor_id: Annotated[StoredId | None, Query(description="Only this guarantor's")
                                ] = None,
        patient_id: Annotated[StoredId | None, Query(description="Only this patient's")
                              ] = None,
        statement_id: Annotated[StoredId | None, Query(
            description="Only the link printed on this statement")] = None,
        limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Response:
    """Links newest first (keyset descending on id), filtered."""
    before = decode_cursor(LISTING, cursor, (int,))[0] if cursor else None
    with api_state(request).medbill.unit_of_work(principal=principal, read_only=True) as work:
        views = list_links(work, guarantor_id=guarantor_id, patient_id=patient_id,
                           statement_id=statement_id, before_id=before, limit=limit + 1)
    data, next_cursor = paged(views, limit, LISTING)
    return model_response(PayLinkList(data=[PayLinkOut.of(view) for view in data],
                                      next_cursor=next_cursor))


@router.post("/{link_id}/revoke", response_model=PayLinkOut, summary="Revoke a pay link",
             responses=NOT_FOUND | IN_FLIGHT)
def revoke(request: Request, link_id: RowId, body: Revocation,
           principal: Annotated[Principal, Depends(permitted(Action.PAY_LINKS_ISSUE))],
           idempotency: IdempotencyParam) -> Response:
    body = validated(Revocation, body.model_dump())
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        view = revoke_link(work, link_id, body.reason)
        return idempotency.respond(work, 200, PayLinkOut.of(view).model_dump(mode="json"))
