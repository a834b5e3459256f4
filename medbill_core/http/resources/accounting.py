"""The accounting export over HTTP, as ``medbill accounting``: ``POST /v1/accounting/batches``
exports what is not exported yet (201, the batch; 200 with ``batch`` null when nothing is
new), ``GET /v1/accounting/batches`` lists them, ``GET /v1/accounting/batches/{number}`` one,
``GET /v1/accounting/batches/{number}/file`` its file (the same bytes every time), and
``GET``/``PUT``/``DELETE /v1/accounting/accounts/{role}`` the chart of accounts. Exporting
and naming accounts are the manager's (``accounting.export``); every rule is the services'."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from medbill_core.domain.identity import Principal
from medbill_core.http.auth import api_state, permitted
from medbill_core.http.idempotency import IdempotencyParam
from medbill_core.http.pagination import DEFAULT_LIMIT, Cursor, Limit, Page, decode_cursor, paged
from medbill_core.http.problems import PROBLEM_RESPONSES
from medbill_core.http.resources.claim_actions import IN_FLIGHT
from medbill_core.http.schemas import RequestBody
from medbill_core.http.validation import validated
from medbill_core.permissions import Action
from medbill_core.services.accounting_chart import AccountRole, chart, set_account
from medbill_core.services.accounting_export import (
    BatchSummary,
    export_batch,
    get_batch,
    list_batches,
    reexport_batch,
)
from medbill_core.services.accounting_formats import ExportFormat

router = APIRouter(prefix="/v1/accounting", tags=["accounting"], responses=PROBLEM_RESPONSES)
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: PROBLEM_RESPONSES[500] | {"description": "No such accounting batch"}}
BatchNumber = Annotated[int, Path(ge=1, le=2**31 - 1, description="The batch's number")]
LISTING = "accounting-batches"
_MEDIA = {"iif": ("text/plain; charset=utf-8", "iif"), "qbo": ("text/csv; charset=utf-8", "csv"),
          "csv": ("text/csv; charset=utf-8", "csv")}


class BatchOut(BaseModel):
    number: int
    format: ExportFormat
    from_: date | None = Field(alias="from")
    to: date | None
    postings: int
    ledger_entries: int
    journal_entries: int
    debits: str
    credits: str = Field(description="always equal to the debits")
    sha256: str = Field(description="of the file: a re-export gives the same")
    created_at: str
    created_by: str


class ExportOut(BaseModel):
    batch: BatchOut | None = Field(description="null: nothing new to export")


BatchList = Page[BatchOut]


class NewExport(RequestBody):
    format: ExportFormat
    from_: date | None = Field(default=None, alias="from",
                               description="First effective date (default: open)")
    to: date | None = Field(default=None, description="Last effective date (default: open)")


class AccountOut(BaseModel):
    role: AccountRole
    account: str
    custom: bool = Field(description="false: the default name")
    type: str = Field(description="the QuickBooks account type to create it as")
    meaning: str


class Chart(BaseModel):
    accounts: list[AccountOut]


class AccountName(RequestBody):
    name: str = Field(min_length=1, max_length=159,
                      description="The account's name in the books (Parent:Sub)")


def _out(summary: BatchSummary) -> dict[str, Any]:
    return summary.as_json()


@router.post("/batches", status_code=201, response_model=ExportOut,
             summary="Export what is not exported yet as the next batch",
             responses=IN_FLIGHT | {200: {"model": ExportOut,
                                          "description": "Nothing new to export: batch null"}})
def create_batch(request: Request, body: NewExport,
                 principal: Annotated[Principal, Depends(permitted(Action.ACCOUNTING_EXPORT))],
                 idempotency: IdempotencyParam) -> Response:
    """The ledger's postings (in the period, when given) and 835 deposits no batch holds
    yet, recorded as the next numbered batch (201, ``Location`` names it; the file is at
    ``/file``); 200 with ``batch`` null when nothing is new."""
    body = validated(NewExport, body.model_dump(by_alias=True))
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        result = export_batch(work, body.format, date_from=body.from_, date_to=body.to)
        if result is None:
            return idempotency.respond(work, 200, {"batch": None})
        number = result.summary.number
        return idempotency.respond(work, 201, {"batch": _out(result.summary)},
                                   {"Location": f"/v1/accounting/batches/{number}"})


@router.get("/batches", response_model=BatchList, summary="The accounting batches")
def batches(request: Request,
            principal: Annotated[Principal, Depends(permitted(Action.ACCOUNTING_READ))],
            limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> dict[str, Any]:
    """The practice's batches, newest first (keyset on the number, descending)."""
    before = decode_cursor(LISTING, cursor, (int,))[0] if cursor else None
    with api_state(request).medbill.unit_of_work(principal=principal, read_only=True) as work:
        rows = list_batches(work, before=before, limit=limit + 1)
    data, next_cursor = paged(rows, limit, LISTING, lambda batch: [batch.number])
    return {"data": [_out(batch) for batch in data], "next_cursor": next_cursor}


@router.get("/batches/{number}", response_model=BatchOut, responses=NOT_FOUND,
            summary="One accounting batch")
def batch(request: Request, number: BatchNumber,
          principal: Annotated[Principal, Depends(permitted(Action.ACCOUNTING_READ))]
          ) -> dict[str, Any]:
    with api_state(request).medbill.unit_of_work(principal=principal, read_only=True) as work:
        return _out(get_batch(work, number))


@router.get("/batches/{number}/file", response_class=Response, summary="A batch's file",
            responses=NOT_FOUND | {200: {
                "description": "The batch's file, the same bytes every time (IIF: text; "
                               "QuickBooks Online and generic: CSV). Never cached.",
                "content": {"text/plain": {}, "text/csv": {}}}})
def batch_file(request: Request, number: BatchNumber,
               principal: Annotated[Principal, Depends(permitted(Action.ACCOUNTING_EXPORT))]
               ) -> Response:
    """Written again from what the batch recorded (audited as a re-export)."""
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        result = reexport_batch(work, number)
    media_type, extension = _MEDIA[result.summary.format]
    return Response(result.content, media_type=media_type, headers={
        "Cache-Control": "no-store",
        "Content-Disposition": f'attachment; filename="medbill-batch-{number}.{extension}"'})


@router.get("/accounts", response_model=Chart, summary="The chart of accounts")
def accounts(request: Request,
             principal: Annotated[Principal, Depends(permitted(Action.ACCOUNTING_READ))]
             ) -> dict[str, Any]:
    """Each role the export books to, and the practice's account for it."""
    with api_state(request).medbill.unit_of_work(principal=principal, read_only=True) as work:
        return {"accounts": [line.as_json() for line in chart(work)]}


@router.put("/accounts/{role}", response_model=AccountOut,
            summary="Name the account a role is booked to")
def name_account(request: Request, role: AccountRole, body: AccountName,
                 principal: Annotated[Principal, Depends(permitted(Action.ACCOUNTING_EXPORT))]
                 ) -> dict[str, Any]:
    body = validated(AccountName, body.model_dump())
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        return set_account(work, role, body.name).as_json()


@router.delete("/accounts/{role}", response_model=AccountOut,
               summary="Back to the default account of a role")
def default_account(request: Request, role: AccountRole,
                    principal: Annotated[Principal,
                                         Depends(permitted(Action.ACCOUNTING_EXPORT))]
                    ) -> dict[str, Any]:
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        return set_account(work, role, None).as_json()
