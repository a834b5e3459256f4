"""The claims search and the patients search: the lists a biller starts from, and the pages
the claim page and the patient account page are opened from (rows link to
``/workspace/claims/{id}`` and ``/workspace/patients/{id}``).

Newest first, a page of :data:`PAGE_SIZE` at a time (keyset: "Older" continues before the
last id shown, however deep). Reading a page records who saw which patients (the service
audits it).

What is typed to search by (a patient's name, a birth date, an account or claim number) is
PHI: the searches are POSTed forms (with the session's CSRF token), never a URL's query
string, which browsers keep in their history and proxies in their logs. ``GET`` shows the
newest rows unsearched (a claims list may still be filtered by state and payer there: not
PHI); the pages after a search's first are POSTs too, carrying the search in the form.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Form, Query, Request
from starlette.responses import Response

from medbill_core.api import ClaimState, ValidationFailed
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
#: The same, sent by a search's form.
FormBefore = Annotated[int | None, Form(ge=1, le=2**31 - 1)]
SearchText = Annotated[str, Form(max_length=80)]
PayerKey = Annotated[str, Query(max_length=40)]
FormPayerKey = Annotated[str, Form(max_length=40)]
#: The states a biller filters by (a deleted draft is asked for by name only).
STATES = [state for state in ClaimState if state is not ClaimState.DELETED]


#: What a search's text may not hold (a database refuses a NUL; none is typed).
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
SEARCH_TEXT_PROBLEM = "Search text cannot contain control characters: retype it."


def _claims(request: Request, principal: Principal, *, q: str, state: ClaimState | None,
            payer: str, before: int | None, posted: bool) -> Response:
    medbill = medbill_of(request)
    problem = SEARCH_TEXT_PROBLEM if _CONTROL.search(q) else None
    if problem:
        rows = []
    else:
        with medbill.unit_of_work(principal=principal) as work:
            rows = search_claims(work, query=q or None, state=state, payer_key=payer or None,
                                 before_id=before, limit=PAGE_SIZE)
    shown = rows[:PAGE_SIZE]
    older = shown[-1].id if len(rows) > PAGE_SIZE else None
    return render(request, "claims/search.html", {
        "rows": shown, "older": older, "q": q, "state": state, "payer": payer,
        "states": STATES, "payers": sorted(medbill.config.payers), "paged": before is not None,
        "posted": posted, "problem": problem}, status_code=422 if problem else 200)


@router.get("/claims", summary="Claims list")
def claims(request: Request, principal: Annotated[Principal, requires(Action.CLAIMS_READ)],
           state: Annotated[ClaimState | None, Query()] = None, payer: PayerKey = "",
           before: Before = None) -> Response:
    return _claims(request, principal, q="", state=state, payer=payer, before=before,
                   posted=False)


@router.post("/claims", summary="Claims search")
def claims_search(request: Request,
                  principal: Annotated[Principal, requires(Action.CLAIMS_READ)],
                  q: SearchText = "", state: Annotated[str, Form(max_length=40)] = "",
                  payer: FormPayerKey = "", before: FormBefore = None) -> Response:
    chosen = None
    if state:
        try:
            chosen = ClaimState(state)
        except ValueError:
            raise ValidationFailed("claims search", [("state", "not a claim state")]) from None
    return _claims(request, principal, q=q.strip(), state=chosen, payer=payer, before=before,
                   posted=True)


def _patients(request: Request, principal: Principal, *, q: str, before: int | None,
              posted: bool) -> Response:
    problem = SEARCH_TEXT_PROBLEM if _CONTROL.search(q) else None
    if problem:
        rows = []
    else:
        with medbill_of(request).unit_of_work(principal=principal) as work:
            rows = search_patients(work, query=q or None, before_id=before, limit=PAGE_SIZE)
    shown = rows[:PAGE_SIZE]
    older = shown[-1].id if len(rows) > PAGE_SIZE else None
    return render(request, "patients/search.html",
                  {"rows": shown, "older": older, "q": q, "paged": before is not None,
                   "posted": posted, "problem": problem},
                  status_code=422 if problem else 200)


@router.get("/patients", summary="Patients list")
def patients(request: Request,
             principal: Annotated[Principal, requires(Action.PATIENTS_READ)],
             before: Before = None) -> Response:
    return _patients(request, principal, q="", before=before, posted=False)


@router.post("/patients", summary="Patients search")
def patients_search(request: Request,
                    principal: Annotated[Principal, requires(Action.PATIENTS_READ)],
                    q: SearchText = "", before: FormBefore = None) -> Response:
    return _patients(request, principal, q=q.strip(), before=before, posted=True)
