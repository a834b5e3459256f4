"""What a client does to claims: create a draft, edit it, scrub, void, correct, read its
history, submit validated claims. Every rule is the claims service's; a refusal because of
the claim's state (editing a sent claim, voiding one never sent) is a 409 ``claim-state``
problem naming the state, since the request itself was well formed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field, create_model
from starlette.responses import Response

from medbill_core.domain import Claim, ClaimFinding, ClaimState
from medbill_core.domain.base import DomainModel, saved_id
from medbill_core.domain.claim_status import ClaimStatus
from medbill_core.domain.identity import Principal
from medbill_core.errors import ValidationFailed
from medbill_core.http.auth import api_state, permitted
from medbill_core.http.idempotency import IdempotencyParam
from medbill_core.http.problems import PROBLEM_RESPONSES, FieldProblem, problem_response
from medbill_core.http.resources.claims import RowId
from medbill_core.http.resources.jobs import BUSY, JobOut, start_job
from medbill_core.http.schemas import RequestBody, model_response
from medbill_core.http.validation import validated
from medbill_core.lifecycle import Transition
from medbill_core.permissions import Action
from medbill_core.services.api_records import record_shown
from medbill_core.storage.schema import as_utc

if TYPE_CHECKING:
    from medbill_core.app import Medbill

router = APIRouter(prefix="/v1/claims", tags=["claims"], responses=PROBLEM_RESPONSES)

#: Fields of a claim medbill sets (its id, state and the links of corrections), never the
#: client.
ASSIGNED = ("id", "state", "payer_claim_number", "created_at", "replaces_claim_id",
            "account_claim_id", "frequency", "original_claim_reference")
#: Fields an edit or a correction cannot change (the encounter's identity).
FIXED = ("claim_number", "patient_id")


#: An id the database can hold (a larger one is a 422, not a database error).
StoredId = Annotated[int, Field(ge=1, le=2**31 - 1)]
#: References to rows, looked up by id.
_REFERENCES = {"patient_id": StoredId, "coverage_id": StoredId | None}


def _claim_fields(leave_out: tuple[str, ...], *, optional: bool) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, info in Claim.model_fields.items():
        if name in leave_out:
            continue
        annotation: Any = info.annotation  # a type: "| None" makes it optional
        if name in _REFERENCES:
            fields[name] = (_REFERENCES[name] | None, None) if optional \
                else (_REFERENCES[name], info)
            continue
        if name == "place_of_service" and not optional:
            fields[name] = (annotation | None, Field(default=None, description=(
                "CMS place of service code; required on a professional claim, an"
                " institutional one takes the place its type of bill implies when it is left"
                " out")))
            continue
        fields[name] = (annotation | None, None) if optional else (annotation, info)
    return fields


if TYPE_CHECKING:
    NewClaim = DomainModel
    ClaimChanges = DomainModel
else:
    #: The body of ``POST /v1/claims``: a claim without what medbill assigns.
    NewClaim = create_model("NewClaim", __base__=RequestBody, __doc__=Claim.__doc__,
                            **_claim_fields(ASSIGNED, optional=False))
    #: The body of ``PATCH /v1/claims/{id}``: the fields to change (the rest stay).
    ClaimChanges = create_model(
        "ClaimChanges", __base__=RequestBody,
        __doc__="The fields of a draft claim to change; those not sent stay as they are.",
        **_claim_fields(ASSIGNED + FIXED, optional=True))


class VoidRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=200, description="why (audited)")


class CorrectRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=200, description="why (audited)")
    changes: ClaimChanges = Field(description="what the replacement changes of the claim")


class ScrubOut(BaseModel):
    """The edits' findings for one claim, and the state the scrub left it in."""

    claim_id: int
    claim_number: str
    clean: bool = Field(description="no finding blocks submission")
    state: ClaimState
    findings: list[ClaimFinding]


class ClaimHistory(BaseModel):
    claim_id: int
    transitions: list[Transition] = Field(description="oldest first")


class SubmitRequest(BaseModel):
    claim_ids: list[StoredId] | None = Field(
        default=None, max_length=10_000,
        description="the validated claims to submit (default: every validated claim)")


class SubmittedFile(BaseModel):
    submission_id: int
    payer_key: str
    claims: int
    status: str
    remote_id: str | None = None
    error: str | None = None


class HeldClaimOut(BaseModel):
    """A claim its payer's file could not carry: sent back to draft, not sent."""

    claim_id: int
    claim_number: str
    payer_key: str
    #: why (the adapter's words: for X12, the segment and element, never the value)
    reason: str


class SubmitResult(BaseModel):
    """A submission job's ``result``: the outbox files it sent (or left pending), and the
    claims sent back to draft because their payer's file could not carry them (the payer's
    other claims were sent)."""

    files: list[SubmittedFile]
    held: list[HeldClaimOut] = []


def run_submission(medbill: Medbill, params: Mapping[str, Any]) -> dict[str, Any]:
    """The ``claims.submit`` job: :func:`medbill_core.services.submission.submit`, acting for
    the principal that asked (the job runner's)."""
    from medbill_core.services.submission import HeldClaim, submit

    held: list[HeldClaim] = []
    outcomes = submit(medbill, claim_ids=params.get("claim_ids"), on_held=held.append)
    return SubmitResult(files=[
        SubmittedFile(submission_id=item.submission_id, payer_key=item.payer_key,
                      claims=item.claims, status=item.status, remote_id=item.remote_id,
                      error=item.error) for item in outcomes],
        held=[HeldClaimOut(claim_id=item.claim_id, claim_number=item.claim_number,
                           payer_key=item.payer_key, reason=item.reason) for item in held]
    ).model_dump(mode="json")


def _state_conflict(request: Request, exc: ValidationFailed) -> Response | None:
    """A 409 problem when ``exc`` refused the request only because of the claim's state."""
    if not exc.problems or any(field != "state" for field, _ in exc.problems):
        return None
    return problem_response(request.url.path, 409, slug="claim-state", title="Claim state",
                            detail=exc.message, errors=[
                                FieldProblem(field="state", code="claim_state", message=reason)
                                for _, reason in exc.problems])


IN_FLIGHT: dict[int | str, dict[str, Any]] = {
    409: PROBLEM_RESPONSES[500] | {
        "description": "A request with this Idempotency-Key is still in progress"}}
STATE_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: PROBLEM_RESPONSES[500] | {
        "description": "The claim's state does not allow it (claim-state, illegal-transition),"
                       " or a request with this Idempotency-Key is still in progress"},
    404: PROBLEM_RESPONSES[500] | {"description": "No such claim"}}
SUBMIT_FAILURES: dict[int | str, dict[str, Any]] = IN_FLIGHT | {
    404: PROBLEM_RESPONSES[500] | {"description": "No such claim"},
    502: PROBLEM_RESPONSES[500] | {"description": "The channel's connection failed"},
    503: PROBLEM_RESPONSES[500] | {"description": "No plugin can submit to a payer"}}


def _changed(current: Claim, changes: DomainModel) -> Claim:
    values = current.model_dump()
    values.update(changes.model_dump(exclude_unset=True))
    return validated(Claim, values, location="body")


def _place_implied_by_the_bill_type(values: dict[str, Any]) -> None:
    from medbill_core.codesets.nubc import implied_place_of_service

    details = values.get("institutional")
    if values.get("place_of_service") is not None or not isinstance(details, dict):
        return  # a professional claim without one: the claim's validation names the field
    lines = values.get("lines") or []
    place = implied_place_of_service(
        str(details.get("facility_type_code")),
        [str(line.get("revenue_code")) for line in lines if isinstance(line, dict)])
    if place is not None:
        values["place_of_service"] = place


@router.post("", status_code=201, response_model=Claim, summary="Create a draft claim",
             responses=IN_FLIGHT)
def create_claim(request: Request, body: NewClaim,
                 principal: Annotated[Principal, Depends(permitted(Action.CLAIMS_WRITE))],
                 idempotency: IdempotencyParam) -> Response:
    """A new draft (``Location`` names it); its charges are posted to the ledger. An
    institutional claim (``kind`` institutional, UB-04 / 837I) without a place of service
    takes the one its type of bill implies (21 for 011x, 22 or 23 for 013x ...)."""
    values = body.model_dump()
    _place_implied_by_the_bill_type(values)
    claim = validated(Claim, values, location="body")
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        created = work.claims.create(claim)
        return idempotency.respond(work, 201, created.model_dump(mode="json"),
                                   {"Location": f"/v1/claims/{saved_id(created)}"})


@router.patch("/{claim_id:int}", response_model=Claim, summary="Edit a draft claim",
              responses=STATE_CONFLICT)
def edit_claim(request: Request, claim_id: RowId, body: ClaimChanges,
        principal: Annotated[Principal, Depends(permitted(Action.CLAIMS_WRITE))]) -> Response:
    """Change a draft (a validated claim goes back to draft: scrub it again)."""
    try:
        with api_state(request).medbill.unit_of_work(principal=principal) as work:
            edited = work.claims.update_draft(claim_id,
                                              _changed(work.claims.get(claim_id), body))
    except ValidationFailed as exc:
        conflict = _state_conflict(request, exc)
        if conflict is None:
            raise
        return conflict
    return model_response(edited)


@router.post("/submit", status_code=202, response_model=JobOut,
             summary="Submit validated claims", responses=SUBMIT_FAILURES | BUSY)
def submit_claims(request: Request, body: SubmitRequest,
                  principal: Annotated[Principal, Depends(permitted(Action.CLAIMS_SUBMIT))],
                  idempotency: IdempotencyParam) -> Response:
    """Batch the validated claims into files and send them, in a job: answered at once (202,
    ``Location: /v1/jobs/{id}``, the queued job); poll the job for the files sent
    (``result.files``) and the claims a payer's file could not carry, sent back to draft
    with the reason (``result.held``; the payer's other claims were sent). Claims asked for
    that are not validated are refused here (409)."""
    from medbill_core.services.submission import checked_submittable

    medbill = api_state(request).medbill
    try:
        with medbill.unit_of_work(principal=principal, read_only=True) as work:
            checked_submittable(work, body.claim_ids)
    except ValidationFailed as exc:
        conflict = _state_conflict(request, exc)
        if conflict is None:
            raise
        return conflict
    return start_job(request, principal, idempotency, "claims.submit",
                     {"claim_ids": body.claim_ids}, run_submission)


@router.post("/{claim_id:int}/scrub", response_model=ScrubOut, summary="Scrub a claim",
             responses=STATE_CONFLICT)
def scrub_claim(request: Request, claim_id: RowId,
                principal: Annotated[Principal, Depends(permitted(Action.CLAIMS_WRITE))],
                idempotency: IdempotencyParam) -> Response:
    """Run every plugin's claim edits: a clean draft moves to ``validated``, a validated
    claim with blocking findings back to ``draft``."""
    from medbill_core.services.scrubbing import scrub_claims

    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        [result] = scrub_claims(work, [claim_id]).results
        state = work.claims.get(claim_id).state
        out = ScrubOut(claim_id=result.claim_id, claim_number=result.claim_number,
                       clean=result.clean, state=state, findings=result.findings)
        return idempotency.respond(work, 200, out.model_dump(mode="json"))


@router.post("/{claim_id:int}/void", response_model=Claim, summary="Void a claim",
             responses=STATE_CONFLICT)
def void_claim(request: Request, claim_id: RowId, body: VoidRequest,
               principal: Annotated[Principal, Depends(permitted(Action.CLAIMS_VOID))],
               idempotency: IdempotencyParam) -> Response:
    """Ask the payer to void an adjudicated claim: answers the void claim (frequency 8) to
    submit; a rejected or self-pay claim is voided here only and answered itself."""
    try:
        with api_state(request).medbill.unit_of_work(principal=principal) as work:
            voided = work.claims.void(claim_id, reason=body.reason)
            return idempotency.respond(work, 200, voided.model_dump(mode="json"))
    except ValidationFailed as exc:
        conflict = _state_conflict(request, exc)
        if conflict is None:
            raise
        return conflict


@router.post("/{claim_id:int}/correct", status_code=201, response_model=Claim,
             summary="Correct an adjudicated claim", responses=STATE_CONFLICT)
def correct_claim(request: Request, claim_id: RowId, body: CorrectRequest,
                  principal: Annotated[Principal, Depends(permitted(Action.CLAIMS_CORRECT))],
                  idempotency: IdempotencyParam) -> Response:
    """A replacement claim (frequency 7) with the changes; the original becomes
    ``replaced``. ``Location`` names the replacement."""
    try:
        with api_state(request).medbill.unit_of_work(principal=principal) as work:
            original = work.claims.get(claim_id)
            created = work.claims.correct(claim_id, _changed(original, body.changes),
                                          reason=body.reason)
            return idempotency.respond(work, 201, created.model_dump(mode="json"),
                                       {"Location": f"/v1/claims/{saved_id(created)}"})
    except ValidationFailed as exc:
        conflict = _state_conflict(request, exc)
        if conflict is None:
            raise
        return conflict


class ClaimStatusOut(ClaimStatus):
    meanings: list[str] = Field(description="each status code pair in words, in order")


class StatusCheckOut(BaseModel):
    claim_id: int
    claim_number: str
    statuses: list[ClaimStatusOut] = Field(description="what the payer's 277 said (none: the "
                                                       "payer returned no status)")


@router.post("/{claim_id:int}/status-checks", response_model=StatusCheckOut,
             summary="Ask the payer where a claim stands (276/277)", responses=STATE_CONFLICT)
def check_status(request: Request, claim_id: RowId,
                 principal: Annotated[Principal, Depends(permitted(Action.CLAIMS_STATUS))],
                 idempotency: IdempotencyParam) -> Response:
    """Send a claim-status inquiry for a claim the payer has (as ``medbill claims status``);
    a claim never sent, or billed to no payer, is a 409 (claim-state). Audited with the
    codes the payer gave."""
    from medbill_core.services.claim_status import check_claim_status

    medbill = api_state(request).medbill
    try:
        with medbill.acting_for(principal):
            check = check_claim_status(medbill, claim_id)
    except ValidationFailed as exc:
        conflict = _state_conflict(request, exc)
        if conflict is None:
            raise
        return conflict
    with medbill.unit_of_work(principal=principal) as work:
        return idempotency.respond(work, 200, check.as_json())


@router.get("/{claim_id:int}/history", response_model=ClaimHistory,
            summary="A claim's state transitions",
            responses={404: STATE_CONFLICT[404]})
def claim_history(request: Request, claim_id: RowId,
        principal: Annotated[Principal, Depends(permitted(Action.CLAIMS_READ))]) -> ClaimHistory:
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        transitions = work.claims.history(claim_id)
        record_shown(work, "claim", [claim_id], via="api:history", one=True)
    # RFC 3339 date-times carry their offset (SQLite gives stored UTC times back naive)
    return ClaimHistory(claim_id=claim_id, transitions=[
        transition.model_copy(update={"at": as_utc(transition.at)}) for transition in transitions])
