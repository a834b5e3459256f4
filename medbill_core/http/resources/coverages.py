"""``PATCH /v1/patients/{patient_id}/coverages/{coverage_id}``: change some fields of a
patient's coverage, as ``medbill patients coverage edit`` does (the patients service's rules:
a payer and order the patient already has another coverage for is refused, so is a second
coverage of one order over the same dates, and a new payer once a claim billed to the coverage
was sent; unsent claims follow a new payer)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import create_model
from starlette.responses import Response

from medbill_core.domain import Coverage
from medbill_core.domain.base import DomainModel
from medbill_core.domain.identity import Principal
from medbill_core.errors import NotFound
from medbill_core.http.auth import api_state, permitted
from medbill_core.http.problems import PROBLEM_RESPONSES
from medbill_core.http.resources.claims import RowId
from medbill_core.http.schemas import RequestBody, model_response
from medbill_core.permissions import Action
from medbill_core.services.patients import edit_coverage as edit_coverage_and_claims

router = APIRouter(prefix="/v1/patients", tags=["patients"], responses=PROBLEM_RESPONSES)

if TYPE_CHECKING:
    CoverageChanges = DomainModel
else:
    #: The body of the PATCH: the fields to change (null clears an optional one).
    CoverageChanges = create_model(
        "CoverageChanges", __base__=RequestBody,
        __doc__="The fields of a coverage to change; those not sent stay as they are, null "
                "clears an optional one, a subscriber replaces the stored one.",
        **{name: (info.annotation | None, None) for name, info in Coverage.model_fields.items()
           if name not in ("id", "patient_id")})


@router.patch("/{patient_id}/coverages/{coverage_id}", response_model=Coverage,
              summary="Edit a coverage", responses={404: PROBLEM_RESPONSES[500] | {
                  "description": "No such patient, or no such coverage of the patient"}})
def edit_coverage(request: Request, patient_id: RowId, coverage_id: RowId,
                  body: CoverageChanges,
                  principal: Annotated[Principal, Depends(permitted(Action.COVERAGES_WRITE))],
                  ) -> Response:
    """Change the fields sent (the changed fields' names are audited, never their values)."""
    changes = body.model_dump(mode="json", exclude_unset=True)
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        work.patients.get(patient_id)
        if work.patients.coverage(coverage_id).patient_id != patient_id:
            raise NotFound("coverage", coverage_id)
        edited, _changed, _moved = edit_coverage_and_claims(work, coverage_id, changes)
    return model_response(edited)
