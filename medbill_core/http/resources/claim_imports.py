"""``POST /v1/claim-imports`` (an 837P/837I file a practice's EHR sent: its claims become
draft claims, :mod:`medbill_core.services.claim_intake`) and ``GET /v1/claim-imports/{id}``
(a run's report as recorded).

The body is the file itself (``application/edi-x12`` or ``text/plain``, UTF-8, at most
:data:`~medbill_core.http.resources.inbound_documents.MAX_UPLOAD_BYTES`); ``file_name``
names it in the report and the work queue, ``dry_run=true`` answers the report without
importing anything. The answer is the report: each claim imported (its new claim id),
skipped (imported by an earlier run of the same file), refused (why, positioned) or held
(an ambiguous match, on the intake work queue). A file that is not an 837 is a 422 naming
the segment position; the same ISA13 from the same sender with other content a 422.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse, Response

from medbill_core.domain.identity import Principal
from medbill_core.errors import ValidationFailed
from medbill_core.http.auth import api_state, permitted
from medbill_core.http.idempotency import IdempotencyParam
from medbill_core.http.problems import PROBLEM_RESPONSES, problem_response
from medbill_core.http.resources.claims import RowId
from medbill_core.http.resources.inbound_documents import (
    _BODY,
    UPLOAD_RESPONSES,
    _Unreadable,
    upload_text,
)
from medbill_core.permissions import Action
from medbill_core.services.claim_intake import get_import, import_claim_file

router = APIRouter(prefix="/v1/claim-imports", tags=["claim imports"],
                   responses=PROBLEM_RESPONSES)
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: PROBLEM_RESPONSES[500] | {"description": "No such claim import"}}


class ClaimOutcomeOut(BaseModel):
    """What the run did with one claim of the file."""

    position: int = Field(description="segment number of the claim's CLM (ISA = 1)")
    claim_number: str | None = Field(description="CLM01 as sent")
    outcome: str = Field(description="imported, skipped, refused or held")
    claim_id: int | None
    field: str | None = Field(description="what a refusal or hold is about")
    reason: str | None = Field(description="why, positioned; never a value from the file")
    candidates: list[int] = Field(description="record ids an ambiguous match could be")
    findings: list[str]
    notes: list[str] = Field(description="what was matched or created for the claim")
    charge: str | None


class ClaimImportOut(BaseModel):
    """A claim import's report."""

    import_id: int | None = Field(description="the recorded run (null on a dry run)")
    file: str
    content_sha256: str
    interchange_control_number: str
    sender: str = Field(description="ISA05:ISA06")
    implementation: str
    dry_run: bool
    counts: dict[str, int]
    claims: list[ClaimOutcomeOut]


@router.post("", status_code=201, response_model=ClaimImportOut,
             summary="Import an 837 file's claims", responses=UPLOAD_RESPONSES | {
                 200: {"model": ClaimImportOut, "description": "A dry run's report"}},
             openapi_extra={"requestBody": _BODY})
def import_claims(
        request: Request,
        content: Annotated[str | _Unreadable, Depends(upload_text)],
        principal: Annotated[Principal, Depends(permitted(Action.CLAIMS_IMPORT))],
        idempotency: IdempotencyParam,
        file_name: Annotated[str | None, Query(
            max_length=255, description="The file's name, for the report and the queue")] = None,
        dry_run: Annotated[bool, Query(description="Report without importing")] = False,
) -> Response:
    """Import the claims of an 837P/837I file as draft claims (201, ``Location`` names the
    run); each claim on its own: imported, skipped, refused or held."""
    if isinstance(content, _Unreadable):
        return problem_response(request.url.path, content.status, slug=content.slug,
                                title=content.title, detail=content.detail)
    if not content.strip():
        raise ValidationFailed("request", [("body", "the file is empty")])
    medbill = api_state(request).medbill
    with medbill.unit_of_work(principal=principal) as work:
        report = import_claim_file(work, content, file_name=file_name or "upload",
                                   dry_run=dry_run)
        if report.import_id is None:
            return idempotency.respond(work, 200, report.as_json())
        return idempotency.respond(work, 201, report.as_json(),
                                   {"Location": f"/v1/claim-imports/{report.import_id}"})


@router.get("/{import_id}", response_model=ClaimImportOut, summary="Read a claim import",
            responses=NOT_FOUND)
def read_claim_import(
        request: Request,
        principal: Annotated[Principal, Depends(permitted(Action.CLAIMS_READ))],
        import_id: RowId) -> Response:
    with api_state(request).medbill.unit_of_work(principal=principal, read_only=True) as work:
        report = get_import(work, import_id)
    return JSONResponse(report.as_json())
