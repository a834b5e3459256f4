"""``POST /v1/inbound-documents`` (upload an X12 response: decoded and applied as ``medbill
responses fetch`` applies fetched files), ``GET /v1/inbound-documents`` (every received
document: uploaded and fetched) and ``GET /v1/inbound-documents/{id}``.

The body is the file itself (``application/edi-x12`` or ``text/plain``, UTF-8, at most
:data:`MAX_UPLOAD_BYTES`). A file that does not decode is a 422 ``undecodable-document``
problem naming the segment position, and nothing of it is applied; the same file sent again
answers its original outcome (200) instead of applying it twice.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse, Response

from medbill_core.domain import DocumentKind
from medbill_core.domain.identity import Principal
from medbill_core.errors import ValidationFailed
from medbill_core.http.auth import api_state, permitted
from medbill_core.http.idempotency import IdempotencyParam
from medbill_core.http.pagination import (
    DEFAULT_LIMIT,
    Cursor,
    Limit,
    decode_cursor,
    paged,
)
from medbill_core.http.problems import PROBLEM_RESPONSES, problem_response
from medbill_core.http.resources.claim_actions import IN_FLIGHT
from medbill_core.http.resources.claims import RowId
from medbill_core.permissions import Action
from medbill_core.services.inbound_uploads import (
    get_document,
    list_documents,
    receive_upload,
)
from medbill_core.storage.schema import DocumentStatus

router = APIRouter(prefix="/v1/inbound-documents", tags=["inbound documents"],
                   responses=PROBLEM_RESPONSES)
LISTING = "inbound-documents"
#: The largest file accepted (an 835 of 1,000 claims is about 0.4 MB).
MAX_UPLOAD_BYTES = 16 * 1024 * 1024
MEDIA_TYPES = ("application/edi-x12", "text/plain")
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: PROBLEM_RESPONSES[500] | {"description": "No such document"}}


class AdjustmentFiguresOut(BaseModel):
    group_code: str = Field(examples=["CO"])
    reason_code: str = Field(description="CARC", examples=["45"])
    amount: str = Field(description="a decimal string", examples=["23.50"])


class AnswerFiguresOut(BaseModel):
    """The figures of one answer to a claim (CLP02, paid, adjustments)."""

    status: str = Field(description="CLP02 claim status code", examples=["1"])
    paid: str = Field(description="CLP04 paid amount (a decimal string)", examples=["100.00"])
    adjustments: list[AdjustmentFiguresOut]


class DifferingFiguresOut(BaseModel):
    """A claim payment of an 835 re-sent under a trace posted before, with other figures."""

    claim_number: str
    trace_number: str
    posted: AnswerFiguresOut = Field(description="what the trace posted (the ledger keeps it)")
    in_file: AnswerFiguresOut = Field(description="what this file has (not posted)")
    message: str = Field(description="the same in words, one line")


class InboundDocumentOut(BaseModel):
    """A received document and what applying it did (its content is not sent back)."""

    id: int
    channel: str = Field(description="api: uploaded; else the channel it was fetched from")
    kind: DocumentKind
    status: DocumentStatus
    detail: str | None = Field(description="the outcome in words (counts, never PHI)")
    content_sha256: str
    received_at: str = Field(description="RFC 3339 date-time")
    applied_at: str | None = Field(description="RFC 3339 date-time")
    differing: list[DifferingFiguresOut] = Field(
        default_factory=list,
        description="An 835's claim payments whose payer and trace (TRN02) were posted "
                    "before with other figures: not posted again (the ledger keeps what the "
                    "trace posted); each with the figures posted and this file's. Empty "
                    "otherwise.")


class InboundDocumentPage(BaseModel):
    data: list[InboundDocumentOut]
    next_cursor: str | None


class _Unreadable(Exception):
    def __init__(self, status: int, slug: str, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.slug, self.title, self.detail = status, slug, title, detail


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def upload_text(request: Request) -> str | _Unreadable:
    """The uploaded file as text, or why it cannot be taken (answered by the route: a
    dependency's exception would leave the idempotency key held)."""
    if _media_type(request) not in MEDIA_TYPES:
        return _Unreadable(415, "unsupported-media-type", "Unsupported media type",
                           "send the X12 file as application/edi-x12 or text/plain")
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > MAX_UPLOAD_BYTES:
        return _Unreadable(413, "too-large", "Content too large",
                           f"the file is larger than {MAX_UPLOAD_BYTES} bytes")
    raw = await request.body()
    if len(raw) > MAX_UPLOAD_BYTES:
        return _Unreadable(413, "too-large", "Content too large",
                           f"the file is larger than {MAX_UPLOAD_BYTES} bytes")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return _Unreadable(422, "validation-failed", "Validation failed",
                           "request: body: must be UTF-8 text")


_BODY = {"required": True, "description": f"The X12 file (UTF-8, at most {MAX_UPLOAD_BYTES} "
                                          "bytes)",
         "content": {media: {"schema": {"type": "string", "minLength": 1}}
                     for media in MEDIA_TYPES}}
UPLOAD_RESPONSES: dict[int | str, dict[str, Any]] = IN_FLIGHT | {
    200: {"model": InboundDocumentOut,
          "description": "The same file was received before: its original outcome"},
    413: PROBLEM_RESPONSES[500] | {"description": "The file is too large"},
    415: PROBLEM_RESPONSES[500] | {"description": "Not application/edi-x12 or text/plain"},
    503: PROBLEM_RESPONSES[500] | {"description": "No enabled plugin decodes X12"}}


@router.post("", status_code=201, response_model=InboundDocumentOut,
             summary="Upload an X12 response", responses=UPLOAD_RESPONSES,
             openapi_extra={"requestBody": _BODY})
def upload_document(
        request: Request,
        content: Annotated[str | _Unreadable, Depends(upload_text)],
        principal: Annotated[Principal, Depends(permitted(Action.RESPONSES_FETCH))],
        idempotency: IdempotencyParam) -> Response:
    """Decode and apply a 999, TA1, 277CA, 277, 271 or 835 (201, ``Location`` names the
    document, ``status`` and ``detail`` say what it did: applied, failed, duplicate of a
    file received another way). A file that does not decode is a 422 naming the segment
    position; nothing of it is applied."""
    if isinstance(content, _Unreadable):
        return problem_response(request.url.path, content.status, slug=content.slug,
                                title=content.title, detail=content.detail)
    if not content.strip():
        raise ValidationFailed("request", [("body", "the file is empty")])
    if "\x00" in content:
        raise ValidationFailed("request", [("body", "must not hold NUL characters")])
    medbill = api_state(request).medbill
    with medbill.acting_for(principal):
        document, created = receive_upload(medbill, content)
    status = 201 if created else 200
    with medbill.unit_of_work(principal=principal) as work:
        return idempotency.respond(work, status, document.as_json(),
                                   {"Location": f"/v1/inbound-documents/{document.id}"})


@router.get("", response_model=InboundDocumentPage, summary="List received documents")
def list_inbound_documents(
        request: Request,
        principal: Annotated[Principal, Depends(permitted(Action.REMITTANCE_READ))],
        kind: Annotated[DocumentKind | None, Query(description="Only this kind")] = None,
        status: Annotated[DocumentStatus | None, Query(description="Only this status")
                          ] = None,
        channel: Annotated[str | None, Query(
            max_length=40, pattern=r"^[A-Za-z0-9_.-]+$",
            description="Only this channel's (api: uploaded)")] = None,
        limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Response:
    """Received documents by id, oldest first."""
    after = decode_cursor(LISTING, cursor, (int,))[0] if cursor else None
    with api_state(request).medbill.unit_of_work(principal=principal, read_only=True) as work:
        rows = list_documents(work, after_id=after, limit=limit + 1,
                              kind=kind.value if kind is not None else None,
                              status=status.value if status is not None else None,
                              channel=channel)
    data, next_cursor = paged(rows, limit, LISTING)
    return JSONResponse({"data": [row.as_json() for row in data],
                         "next_cursor": next_cursor})


@router.get("/{document_id}", response_model=InboundDocumentOut,
            summary="Read a received document", responses=NOT_FOUND)
def read_inbound_document(
        request: Request,
        principal: Annotated[Principal, Depends(permitted(Action.REMITTANCE_READ))],
        document_id: RowId) -> Response:
    with api_state(request).medbill.unit_of_work(principal=principal, read_only=True) as work:
        document = get_document(work, document_id)
    return JSONResponse(document.as_json())
