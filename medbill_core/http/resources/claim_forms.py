"""``GET /v1/claims/{claim_id}/form``: the claim on its paper form (CMS-1500 or UB-04) as a
PDF. A renderer that does not exist is a 404 problem, one whose form is for the other kind
of claim a 422, and a form with an amount that cannot be printed a 422 naming the box; each
rendering is recorded in the audit trail."""

from __future__ import annotations

from pathlib import PurePath
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from medbill_core.domain.claim_forms import ClaimFormLayout
from medbill_core.domain.identity import Principal
from medbill_core.http.auth import api_state, permitted
from medbill_core.http.problems import PROBLEM_RESPONSES
from medbill_core.http.resources.claims import RowId
from medbill_core.permissions import Action
from medbill_core.services.claim_forms import refuse_errors, render_claim_form

router = APIRouter(prefix="/v1/claims", tags=["claims"], responses=PROBLEM_RESPONSES)
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@router.get("/{claim_id:int}/form", summary="The claim on its paper claim form",
            response_class=Response, responses={
                200: {"description": "The CMS-1500 (professional) or UB-04 (institutional) "
                                     "as a PDF. Never cached.",
                      "content": {"application/pdf": {
                          "schema": {"type": "string", "format": "binary"}}}},
                404: PROBLEM_RESPONSES[500] | {
                    "description": "No such claim, or no such claim form renderer"}})
def claim_form(
        request: Request,
        principal: Annotated[Principal, Depends(permitted(Action.CLAIMS_READ))],
        claim_id: RowId,
        layout: Annotated[ClaimFormLayout, Query(
            description="form: drawn with the data; data: the data alone, for pre-printed "
                        "red forms")] = ClaimFormLayout.FORM,
        renderer: Annotated[str | None, Query(
            max_length=40, pattern=r"^[A-Za-z0-9_-]+$",
            description="Claim form renderer (cms1500, ub04 ...); default: the one for the "
                        "claim's kind")] = None) -> Response:
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        rendered = render_claim_form(work, claim_id, renderer=renderer, layout=layout)
        refuse_errors(rendered, f"claim {rendered.claim_numbers[0]}")
    # named by the claim's number and the form: never by a patient's name
    suffix = PurePath(rendered.filename).suffix or ".pdf"
    filename = f"{rendered.claim_numbers[0]}-{rendered.renderer}-{layout.value}{suffix}"
    return Response(rendered.content, media_type=rendered.media_type,
                    headers={**NO_STORE, "X-Form-Pages": str(rendered.pages),
                             "X-Form-Warnings": str(len(rendered.findings)),
                             "Content-Disposition": f'attachment; filename="{filename}"'})
