"""The claim page, ``/workspace/claims/{id}``: everything about one claim
(:func:`~medbill_core.services.claim_page.claim_page`), its X12 documents readable and
downloadable, and the actions the viewer's role allows in the claim's state as forms.

Each action is a POST of its own (its route names the permission it needs, as the route table
and the role tests read it); it calls the service, then redirects back to the claim page with
a one-line message: what was done, or why the service refused (a refusal's text names fields
and states, never PHI). Which buttons show is the service's answer
(:func:`~medbill_core.services.claim_page.available_actions`), not the template's.

Reading or downloading a document is a read of the patient's record: the service audits it
(``claim.document_read``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from fastapi import Form, Path, Request
from starlette.responses import RedirectResponse, Response

from medbill_core.api import Claim, MedbillError, NotFound, validate_record
from medbill_core.api.workspace import (
    Action,
    ClaimDocument,
    ClaimPage,
    PermissionDenied,
    Principal,
    UnitOfWork,
    appeal_denial,
    check_claim_status,
    claim_page,
    document_content,
    get_denial,
    mark_resend,
    medbill_of,
    scrub_claims,
    submit_claims,
    transfer_to_patient,
    write_off,
)
from medbill_workspace_web.flash import set_flash
from medbill_workspace_web.pages import error_page, page_router, requires
from medbill_workspace_web.rendering import render
from medbill_workspace_web.x12_readable import readable

router = page_router()

#: a record's id as a path parameter (a larger one is a 422 page, not a database error)
RecordId = Annotated[int, Path(ge=1, le=2**31 - 1)]
ClaimId = RecordId
DenialId = RecordId
Reason = Annotated[str, Form(max_length=500)]
#: the free text of a decision (may hold PHI: kept by the service, never logged)
Note = Annotated[str, Form(max_length=2000)]


def _page_url(claim_id: int) -> str:
    return f"/workspace/claims/{claim_id}"


def _back(claim_id: int, message: str, level: str = "success") -> Response:
    response = RedirectResponse(_page_url(claim_id), status_code=303)
    set_flash(response, message, level)
    return response


def _refused(claim_id: int, exc: MedbillError) -> Response:
    """Back to the claim page, saying in one line why the service refused."""
    return _back(claim_id, f"Not done: {exc.message}", "error")


def _known(request: Request, principal: Principal, claim_id: int) -> None:
    """Refuse (the 404 page) a claim the principal's practice does not have, before looking
    at what the form says: another practice's id learns nothing from a form's message."""
    with medbill_of(request).unit_of_work(principal=principal, read_only=True) as work:
        work.claims.get(claim_id)


def _act(request: Request, principal: Principal, claim_id: int, done: str,
         action: Callable[[UnitOfWork], object]) -> Response:
    """Run ``action`` in a unit of work for ``principal`` on the claim, then back to the page."""
    try:
        with medbill_of(request).unit_of_work(principal=principal) as work:
            work.claims.get(claim_id)  # another practice's claim: not found (a 404 page)
            action(work)
    except (NotFound, PermissionDenied):  # their pages (404, 403), not a message
        raise
    except MedbillError as exc:
        return _refused(claim_id, exc)
    return _back(claim_id, done)


# -- the page ----------------------------------------------------------------------------------

@router.get("/claims/{claim_id}", summary="Claim page")
def claim(request: Request, principal: Annotated[Principal, requires(Action.CLAIMS_READ)],
          claim_id: ClaimId) -> Response:
    with medbill_of(request).unit_of_work(principal=principal) as work:
        page = claim_page(work, claim_id)
    return render(request, "claims/page.html", {"page": page, **_forms(page)})


def _forms(page: ClaimPage) -> dict[str, Any]:
    """What the forms show: which claim actions are offered, and each denial's."""
    offered = {item.action.value for item in page.actions if item.denial_id is None}
    by_denial: dict[int, list[str]] = {}
    for item in page.actions:
        if item.denial_id is not None:
            by_denial.setdefault(item.denial_id, []).append(item.action.value)
    return {"offered": offered, "denial_actions": by_denial}


# -- documents ---------------------------------------------------------------------------------
# A document is named by its key, ``sent-<outbox id>`` or ``received-<document id>``, and
# shown only through a claim it was exchanged for.

#: a document's key as typed in an address: checked in the page (after the claim), so that
#: another practice's claim is a 404 whatever the key
DocumentKey = Annotated[str, Path(max_length=40)]
_KEY = re.compile(r"(sent|received)-[1-9][0-9]{0,9}")


def _document(request: Request, principal: Principal, claim_id: int, doc: str
              ) -> tuple[str, ClaimDocument, str] | Response:
    """(claim number, document, its text), or the page saying the key is not one."""
    with medbill_of(request).unit_of_work(principal=principal) as work:
        number = work.claims.get(claim_id).claim_number
        if not _KEY.fullmatch(doc):
            return error_page(request, 422, "Check the address",
                              "Not a document's name: documents are sent-<number> or "
                              "received-<number>.")
        document, content = document_content(work, claim_id, doc, via="workspace")
    return number, document, content


@router.get("/claims/{claim_id}/documents/{doc}", summary="Download a claim's X12 document")
def download_document(request: Request,
                      principal: Annotated[Principal, requires(Action.CLAIMS_READ)],
                      claim_id: ClaimId, doc: DocumentKey) -> Response:
    found = _document(request, principal, claim_id, doc)
    if isinstance(found, Response):
        return found
    _number, document, content = found
    # named by its key and kind only: a channel's file name may hold PHI
    return Response(content, media_type="text/plain; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{document.filename}"',
        "Cache-Control": "no-store"})


@router.get("/claims/{claim_id}/documents/{doc}/read", summary="Read a claim's X12 document")
def read_document(request: Request,
                  principal: Annotated[Principal, requires(Action.CLAIMS_READ)],
                  claim_id: ClaimId, doc: DocumentKey) -> Response:
    """The document segment by segment with its loops named; only the segments when htmx
    asks for it (expanded inside the claim page), else a page of its own."""
    found = _document(request, principal, claim_id, doc)
    if isinstance(found, Response):
        return found
    number, document, content = found
    context = {"claim_id": claim_id, "claim_number": number, "document": document,
               "readable": readable(content)}
    if request.headers.get("HX-Request") == "true":
        return render(request, "claims/_document.html", context)
    return render(request, "claims/document.html", context)


# -- actions on the claim ----------------------------------------------------------------------

@router.post("/claims/{claim_id}/scrub", summary="Scrub a claim")
def scrub(request: Request, principal: Annotated[Principal, requires(Action.CLAIMS_WRITE)],
          claim_id: ClaimId) -> Response:
    try:
        with medbill_of(request).unit_of_work(principal=principal) as work:
            [result] = scrub_claims(work, [claim_id]).results
    except (NotFound, PermissionDenied):
        raise
    except MedbillError as exc:
        return _refused(claim_id, exc)
    if result.clean:
        return _back(claim_id, "Scrubbed: clean, ready to submit")
    return _back(claim_id, f"Scrubbed: {len(result.findings)} finding(s) to fix before it "
                           "can be sent", "error")


@router.post("/claims/{claim_id}/submit", summary="Submit a claim")
def submit(request: Request, principal: Annotated[Principal, requires(Action.CLAIMS_SUBMIT)],
           claim_id: ClaimId) -> Response:
    medbill = medbill_of(request)
    _known(request, principal, claim_id)  # before anything is sent
    try:
        with medbill.acting_for(principal):
            outcomes = submit_claims(medbill, claim_ids=[claim_id])
    except MedbillError as exc:
        return _refused(claim_id, exc)
    failed = [item for item in outcomes if item.error]
    if failed:
        return _back(claim_id, f"Queued; the channel did not take it yet: {failed[0].error}",
                     "error")
    return _back(claim_id, "Submitted to the payer")


@router.post("/claims/{claim_id}/reopen", summary="Reopen a rejected claim")
def reopen(request: Request, principal: Annotated[Principal, requires(Action.CLAIMS_WRITE)],
           claim_id: ClaimId) -> Response:
    from medbill_core.api import ClaimState

    return _act(request, principal, claim_id, "Reopened: the claim is a draft again",
                lambda work: work.claims.transition(claim_id, ClaimState.DRAFT,
                                                    reason="reopened to fix"))


@router.post("/claims/{claim_id}/delete", summary="Delete a draft claim")
def delete(request: Request, principal: Annotated[Principal, requires(Action.CLAIMS_WRITE)],
           claim_id: ClaimId, reason: Reason = "") -> Response:
    _known(request, principal, claim_id)
    if not reason.strip():
        return _back(claim_id, "Not done: reason: say why the draft is deleted", "error")
    return _act(request, principal, claim_id, "Draft deleted",
                lambda work: work.claims.delete_draft(claim_id, reason=reason.strip()))


@router.post("/claims/{claim_id}/void", summary="Void a claim")
def void(request: Request, principal: Annotated[Principal, requires(Action.CLAIMS_VOID)],
         claim_id: ClaimId, reason: Reason = "") -> Response:
    _known(request, principal, claim_id)
    if not reason.strip():
        return _back(claim_id, "Not done: reason: say why the claim is voided", "error")
    return _act(request, principal, claim_id, "Void requested",
                lambda work: work.claims.void(claim_id, reason=reason.strip()))


@router.post("/claims/{claim_id}/status-check", summary="Ask the payer for a claim's status")
def status_check(request: Request,
                 principal: Annotated[Principal, requires(Action.CLAIMS_STATUS)],
                 claim_id: ClaimId) -> Response:
    medbill = medbill_of(request)
    _known(request, principal, claim_id)
    try:
        with medbill.acting_for(principal):
            check = check_claim_status(medbill, claim_id)
    except MedbillError as exc:
        return _refused(claim_id, exc)
    meanings = [meaning for status in check.as_json()["statuses"]
                for meaning in status["meanings"]]
    return _back(claim_id, "Payer's status: " + ("; ".join(meanings) or "no status given"),
                 "info")


# -- editing and correcting --------------------------------------------------------------------

def _split(text: str) -> list[str]:
    return [part for part in text.replace(",", " ").upper().split() if part]


def edited(claim: Claim, form: Mapping[str, Any]) -> Claim:
    """The claim with what the edit form changes: diagnoses, prior authorization and, per
    line, procedure code (revenue code on an institutional claim), modifiers, units and
    charge (what a biller fixes after a scrub finding or a denial).

    :raises ValidationFailed: the result is not a valid claim (the fields named).
    """
    values = claim.model_dump(mode="json")
    if "diagnoses" in form:
        values["diagnoses"] = _split(str(form["diagnoses"]))
    if "prior_authorization" in form:
        values["prior_authorization"] = str(form["prior_authorization"]).strip() or None
    for line in values["lines"]:
        number = line["line_number"]
        for name in ("procedure_code", "revenue_code", "units", "charge"):
            if f"{name}_{number}" in form:
                line[name] = str(form[f"{name}_{number}"]).strip()
        for name in ("procedure_code", "revenue_code"):  # an empty box: the line has none
            if line.get(name) == "":
                line[name] = None
        if f"modifiers_{number}" in form:
            line["modifiers"] = _split(str(form[f"modifiers_{number}"]))
    return validate_record(Claim, values, record=f"claim {claim.id}")


async def _form(request: Request) -> Mapping[str, Any]:
    return dict((await request.form()).items())


@router.post("/claims/{claim_id}/edit", summary="Edit a draft claim")
async def edit(request: Request, principal: Annotated[Principal, requires(Action.CLAIMS_WRITE)],
               claim_id: ClaimId) -> Response:
    form = await _form(request)
    return _act(request, principal, claim_id, "Draft saved: scrub it again before sending",
                lambda work: work.claims.update_draft(
                    claim_id, edited(work.claims.get(claim_id), form)))


@router.post("/claims/{claim_id}/correct", summary="Correct an adjudicated claim")
async def correct(request: Request,
                  principal: Annotated[Principal, requires(Action.CLAIMS_CORRECT)],
                  claim_id: ClaimId) -> Response:
    form = await _form(request)
    _known(request, principal, claim_id)
    reason = str(form.get("reason") or "").strip()[:500]
    if not reason:
        return _back(claim_id, "Not done: reason: say what the replacement corrects", "error")
    created: list[Claim] = []
    response = _act(request, principal, claim_id, "Replacement claim created",
                    lambda work: created.append(work.claims.correct(
                        claim_id, edited(work.claims.get(claim_id), form), reason=reason)))
    if created and created[0].id is not None:
        response = _back(created[0].id, f"Replacement claim {created[0].claim_number} created:"
                                        " scrub and submit it")
    return response


# -- the claim's denial items ------------------------------------------------------------------

def _on_denial(request: Request, principal: Principal, claim_id: int, denial_id: int,
               done: str, action: Callable[[UnitOfWork], object]) -> Response:
    def run(work: UnitOfWork) -> None:
        if get_denial(work, denial_id).claim_id != claim_id:
            raise NotFound("denial", denial_id)  # another claim's item, as if none
        action(work)

    return _act(request, principal, claim_id, done, run)


@router.post("/claims/{claim_id}/denials/{denial_id}/appeal", summary="Appeal a denial")
def appeal(request: Request, principal: Annotated[Principal, requires(Action.APPEALS_WRITE)],
           claim_id: ClaimId, denial_id: DenialId, reason: Note = "") -> Response:
    return _on_denial(request, principal, claim_id, denial_id, "Appeal opened",
                      lambda work: appeal_denial(work, denial_id, reason))


@router.post("/claims/{claim_id}/denials/{denial_id}/write-off", summary="Write a denial off")
def write_denial_off(request: Request,
                     principal: Annotated[Principal, requires(Action.DENIALS_WRITE_OFF)],
                     claim_id: ClaimId, denial_id: DenialId, reason: Note = "") -> Response:
    return _on_denial(request, principal, claim_id, denial_id, "Written off",
                      lambda work: write_off(work, denial_id, reason))


@router.post("/claims/{claim_id}/denials/{denial_id}/transfer",
             summary="Transfer a denial to the patient")
def transfer(request: Request, principal: Annotated[Principal, requires(Action.DENIALS_WORK)],
             claim_id: ClaimId, denial_id: DenialId, note: Note = "") -> Response:
    return _on_denial(request, principal, claim_id, denial_id, "Moved to the patient",
                      lambda work: transfer_to_patient(work, denial_id, note or None))


@router.post("/claims/{claim_id}/denials/{denial_id}/resend",
             summary="Mark a denial to correct and resend")
def resend(request: Request, principal: Annotated[Principal, requires(Action.DENIALS_WORK)],
           claim_id: ClaimId, denial_id: DenialId, note: Note = "") -> Response:
    return _on_denial(request, principal, claim_id, denial_id,
                      "Marked to correct and resend: correct the claim below",
                      lambda work: mark_resend(work, denial_id, note or None))
