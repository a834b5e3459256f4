"""Patient statements the runs produced: ``GET /v1/statements`` (keyset pages),
``GET /v1/statements/{id}`` and ``GET /v1/statements/{id}/document`` (the rendered file as
produced: PHI, so never cached, and its download audited).

The documents are read from the folder the statement runs write to: the app's
``state.statements_dir`` when set, else ``statements`` (the default of ``medbill statements
run --out`` and of the worker), relative to the server's working directory.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from medbill_core.domain.identity import Principal
from medbill_core.http.auth import api_state, permitted
from medbill_core.http.pagination import (
    DEFAULT_LIMIT,
    Cursor,
    IsoDate,
    Limit,
    decode_cursor,
    paged,
)
from medbill_core.http.problems import PROBLEM_JSON, PROBLEM_RESPONSES, problem_response
from medbill_core.http.resources.claims import RowId
from medbill_core.http.resources.statement_runs import statements_dir
from medbill_core.http.schemas import model_response
from medbill_core.permissions import Action
from medbill_core.services.api_records import (
    StatementFileGone,
    StatementRecord,
    get_statement,
    record_shown,
    statement_document,
    statements_after,
)

router = APIRouter(prefix="/v1/statements", tags=["statements"], responses=PROBLEM_RESPONSES)
LISTING = "statements"
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: PROBLEM_RESPONSES[500] | {"description": "No such statement"}}
#: What a response holding a statement's PHI says to every cache on the way.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_MEDIA_TYPES = {".pdf": "application/pdf", ".html": "text/html; charset=utf-8",
                ".htm": "text/html; charset=utf-8", ".txt": "text/plain; charset=utf-8"}


class StatementOut(BaseModel):
    """A statement as recorded when its run produced it (amounts as decimal text)."""

    id: int
    statement_number: str
    patient_id: int = Field(description="the statement's first patient")
    patient_ids: list[int] = Field(description="every patient of a family statement")
    cycle: str
    statement_date: date
    due_date: date
    balance_due: str
    dunning_stage: int
    renderer: str
    status: str
    created_at: datetime
    document: str = Field(description="where the rendered document is downloaded")

    @classmethod
    def of(cls, record: StatementRecord) -> StatementOut:
        return cls(id=record.id, statement_number=record.statement_number,
                   patient_id=record.patient_id, patient_ids=list(record.patient_ids),
                   cycle=record.cycle, statement_date=record.statement_date,
                   due_date=record.due_date, balance_due=str(record.balance_due),
                   dunning_stage=record.dunning_stage, renderer=record.renderer,
                   status=record.status, created_at=record.created_at,
                   document=f"/v1/statements/{record.id}/document")


class StatementPage(BaseModel):
    data: list[StatementOut]
    next_cursor: str | None = Field(description="pass as cursor for the next page; null on "
                                                "the last page")


@router.get("", response_model=StatementPage, summary="List statements")
def list_statement_records(
        request: Request,
        principal: Annotated[Principal, Depends(permitted(Action.STATEMENTS_READ))],
        patient: Annotated[int | None, Query(ge=1, le=2**31 - 1, description=(
            "Only statements naming this patient (id), a family's too"))] = None,
        date_from: Annotated[IsoDate | None, Query(
            description="Statement date on or after")] = None,
        date_to: Annotated[IsoDate | None, Query(
            description="Statement date on or before")] = None,
        cycle: Annotated[str | None, Query(min_length=1, max_length=20,
                                           description="Only this cycle's")] = None,
        limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Response:
    """Statements by id, filtered."""
    after = decode_cursor(LISTING, cursor, (int,))[0] if cursor else None
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        rows = statements_after(work, after_id=after, limit=limit + 1, patient_id=patient,
                                date_from=date_from, date_to=date_to, cycle=cycle)
        data, next_cursor = paged(rows, limit, LISTING)
        record_shown(work, "statement", [row.id for row in data], via="api")
    return model_response(StatementPage(data=[StatementOut.of(row) for row in data],
                                        next_cursor=next_cursor), headers=NO_STORE)


@router.get("/{statement_id}", response_model=StatementOut, summary="Read a statement",
            responses=NOT_FOUND)
def read_statement(request: Request,
                   principal: Annotated[Principal, Depends(permitted(Action.STATEMENTS_READ))],
                   statement_id: RowId) -> Response:
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        record = get_statement(work, statement_id)
        record_shown(work, "statement", [record.id], via="api", one=True)
    return model_response(StatementOut.of(record), headers=NO_STORE)


@router.get("/{statement_id}/document", summary="Download a statement's document",
            response_class=Response, responses=NOT_FOUND | {
                200: {"description": "The rendered statement as produced (PDF by default; "
                                     "the renderer's type otherwise). Never cached.",
                      "content": {"application/pdf": {
                          "schema": {"type": "string", "format": "binary"}}}},
                410: {"description": "The statement is recorded but its document is no "
                                     "longer where its run put it",
                      "content": {PROBLEM_JSON: {
                          "schema": {"$ref": "#/components/schemas/Problem"}}}}})
def download_statement(
        request: Request,
        principal: Annotated[Principal, Depends(permitted(Action.STATEMENTS_READ))],
        statement_id: RowId) -> Response:
    """The document as its run rendered it (checked against the digest recorded then), as
    an attachment; the download is recorded in the audit trail."""
    try:
        with api_state(request).medbill.unit_of_work(principal=principal) as work:
            record, content = statement_document(work, statement_id, statements_dir(request),
                                                 via="api")
    except StatementFileGone as exc:
        return problem_response(request.url.path, 410, slug="statement-document-gone",
                                title="Statement document gone", detail=exc.message,
                                headers=NO_STORE)
    suffix = Path(record.filename).suffix.lower()
    if suffix not in _MEDIA_TYPES:
        suffix = ".bin"
    # named by the statement's number: a renderer's file name may hold a patient's name
    return Response(content, media_type=_MEDIA_TYPES.get(suffix, "application/octet-stream"),
                    headers={**NO_STORE, "Content-Disposition":
                             f'attachment; filename="{record.statement_number}{suffix}"'})
