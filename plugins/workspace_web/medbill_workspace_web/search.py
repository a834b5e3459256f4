"""The claims search and the patients search: the lists a biller starts from, and the pages
the claim page and the patient account page are opened from (rows link to
``/workspace/claims/{id}`` and ``/workspace/patients/{id}``).

Newest first, a page of :data:`PAGE_SIZE` at a time (keyset: "Older" continues before the
last id shown, however deep). Reading a page records who saw which patients (the service
audits it).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from starlette.responses import Response

from medbill_core.api import ClaimState
from medbill_core.api.workspace import (
    Action,
    Principal,
    medbill_of,
    search_claims,
    search_patients,
)
from medbill_workspace_web.pages import page_router, requires
from medbill_workspace_web.rendering import render

router = page_router()
PAGE_SIZE = 50
#: A keyset position: the id the next page continues before.
Before = Annotated[int | None, Query(ge=1, le=2**31 - 1)]
SearchText = Annotated[str, Query(max_length=80)]
#: The states a biller filters by (a deleted draft is asked for by name only).
STATES = [state for state in ClaimState if state is not ClaimState.DELETED]


@router.get("/claims", summary="Claims search")
def claims(request: Request, principal: Annotated[Principal, requires(Action.CLAIMS_READ)],
           q: SearchText = "", state: Annotated[ClaimState | None, Query()] = None,
           payer: Annotated[str, Query(max_length=40)] = "",
           before: Before = None) -> Response:
    medbill = medbill_of(request)
    with medbill.unit_of_work(principal=principal) as work:
        rows = search_claims(work, query=q or None, state=state, payer_key=payer or None,
                             before_id=before, limit=PAGE_SIZE)
    shown = rows[:PAGE_SIZE]
    older = shown[-1].id if len(rows) > PAGE_SIZE else None
    return render(request, "claims/search.html", {
        "rows": shown, "older": older, "q": q, "state": state, "payer": payer,
        "states": STATES, "payers": sorted(medbill.config.payers), "paged": before is not None})


@router.get("/patients", summary="Patients search")
def patients(request: Request,
             principal: Annotated[Principal, requires(Action.PATIENTS_READ)],
             q: SearchText = "", before: Before = None) -> Response:
    with medbill_of(request).unit_of_work(principal=principal) as work:
        rows = search_patients(work, query=q or None, before_id=before, limit=PAGE_SIZE)
    shown = rows[:PAGE_SIZE]
    older = shown[-1].id if len(rows) > PAGE_SIZE else None
    return render(request, "patients/search.html",
                  {"rows": shown, "older": older, "q": q, "paged": before is not None})
