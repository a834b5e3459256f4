"""``GET /v1/providers`` (keyset pages), ``POST /v1/providers`` (register, idempotent) and
``PATCH /v1/providers/{id}`` (edit)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import create_model
from starlette.responses import Response

from medbill_core.domain import Provider
from medbill_core.domain.base import DomainModel, saved_id
from medbill_core.domain.identity import Principal
from medbill_core.http.auth import api_state, permitted
from medbill_core.http.idempotency import IdempotencyParam
from medbill_core.http.pagination import DEFAULT_LIMIT, Cursor, Limit, Page, decode_cursor, page
from medbill_core.http.problems import PROBLEM_RESPONSES
from medbill_core.http.resources.claim_actions import IN_FLIGHT
from medbill_core.http.resources.claims import RowId
from medbill_core.http.schemas import RequestBody, model_response
from medbill_core.http.validation import validated
from medbill_core.permissions import Action
from medbill_core.services.api_reads import list_providers
from medbill_core.services.api_records import edit_provider

router = APIRouter(prefix="/v1/providers", tags=["providers"], responses=PROBLEM_RESPONSES)
LISTING = "providers"

if TYPE_CHECKING:
    NewProvider = DomainModel
    ProviderChanges = DomainModel
else:
    #: The body of ``PATCH /v1/providers/{id}``: the fields to change (null clears one).
    ProviderChanges = create_model(
        "ProviderChanges", __base__=RequestBody,
        __doc__="The fields of a provider to change; those not sent stay as they are, null "
                "clears an optional one.",
        **{name: (info.annotation | None, None) for name, info in Provider.model_fields.items()
           if name != "id"})
    #: The body of ``POST /v1/providers``: a provider without its id.
    NewProvider = create_model(
        "NewProvider", __base__=DomainModel, __doc__=Provider.__doc__,
        **{name: (info.annotation, info) for name, info in Provider.model_fields.items()
           if name != "id"})


@router.get("", response_model=Page[Provider], summary="List providers")
def list_provider_records(request: Request,
        principal: Annotated[Principal, Depends(permitted(Action.PROVIDERS_READ))],
                          limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Page[Provider]:
    """Providers by id."""
    after = decode_cursor(LISTING, cursor, (int,))[0] if cursor else None
    with api_state(request).medbill.unit_of_work(principal=principal, read_only=True) as work:
        providers = list_providers(work, after_id=after, limit=limit + 1)
    return page(providers, limit, LISTING, lambda provider: [saved_id(provider)])


@router.post("", status_code=200, response_model=Provider, summary="Register a provider",
             responses=IN_FLIGHT)
def register_provider(request: Request, body: NewProvider,
                      principal: Annotated[Principal, Depends(permitted(Action.PROVIDERS_WRITE))],
                      idempotency: IdempotencyParam) -> Response:
    """Register a provider by NPI; one with the same NPI is updated (only the fields sent
    change; those left out keep their stored values). Answers it (200)."""
    provider = validated(Provider, body.model_dump())
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        stored = work.patients.register_provider(provider, given=body.model_fields_set)
        return idempotency.respond(work, 200, stored.model_dump(mode="json"))


@router.patch("/{provider_id}", response_model=Provider, summary="Edit a provider",
              responses={404: PROBLEM_RESPONSES[500] | {"description": "No such provider"}})
def edit_provider_record(
        request: Request, provider_id: RowId, body: ProviderChanges,
        principal: Annotated[Principal, Depends(permitted(Action.PROVIDERS_WRITE))],
        ) -> Response:
    """Change the fields sent; the NPI may not become another provider's."""
    changes = body.model_dump(mode="json", exclude_unset=True)
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        edited, _changed = edit_provider(work, provider_id, changes)
    return model_response(edited)
