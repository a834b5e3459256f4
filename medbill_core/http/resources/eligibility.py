"""``POST /v1/eligibility-checks``: ask the payer whether a patient is covered on a date of
service, and for what (270/271), as ``medbill eligibility check`` does. The answer is the
payer's (not stored as a resource: the check is recorded in the audit trail)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse, Response

from medbill_core.domain import BenefitSummary, CoverageStatus, EligibilityIssue
from medbill_core.domain.identity import Principal
from medbill_core.errors import MedbillError, ValidationFailed
from medbill_core.http.auth import api_state, permitted
from medbill_core.http.idempotency import IdempotencyParam
from medbill_core.http.pagination import IsoDate
from medbill_core.http.problems import PROBLEM_RESPONSES
from medbill_core.http.resources.claim_actions import IN_FLIGHT, StoredId
from medbill_core.http.schemas import RequestBody
from medbill_core.permissions import Action

router = APIRouter(prefix="/v1/eligibility-checks", tags=["eligibility"],
                   responses=PROBLEM_RESPONSES)

#: How far from today a date of service may be (the command line's limits without
#: ``--confirm-date``).
FUTURE_DAYS, PAST_DAYS = 366, 2 * 366
#: What a payer's failure may answer.
PAYER_FAILURES: dict[int | str, dict[str, Any]] = {
    404: PROBLEM_RESPONSES[500] | {"description": "No such patient"},
    502: PROBLEM_RESPONSES[500] | {"description": "The payer's channel failed"},
    503: PROBLEM_RESPONSES[500] | {"description": "No enabled plugin can ask this payer"}}


class EligibilityCheckRequest(RequestBody):
    patient_id: StoredId
    coverage_id: StoredId | None = Field(
        default=None, description="ask this coverage's payer (a secondary, say); default: "
                                  "the primary coverage active on the date of service")
    date_of_service: IsoDate | None = Field(default=None, description="default: today")
    service_types: list[Annotated[str, Field(pattern=r"^[A-Z0-9]{1,2}$")]] = Field(
        default_factory=lambda: ["30"], min_length=1, max_length=20,
        description="X12 service type codes (30: health benefit plan coverage)")


class EligibilityIssueOut(EligibilityIssue):
    reason: str = Field(description="the reject reason (and the payer's follow-up) in words")


class EligibilityCheckOut(BaseModel):
    """The payer's answer (271) for the first service type asked about."""

    patient_id: int
    coverage_id: int
    payer: str = Field(description="the payer's key")
    date_of_service: date
    status: CoverageStatus
    plan: str | None
    rejected: bool = Field(description="the payer refused the request (AAA): see issues")
    summary: BenefitSummary
    issues: list[EligibilityIssueOut]


def _date_of_service(asked: date | None) -> date:
    today = date.today()
    if asked is None:
        return today
    if not today - timedelta(days=PAST_DAYS) <= asked <= today + timedelta(days=FUTURE_DAYS):
        raise ValidationFailed("request", [(
            "body.date_of_service", "must be within two years before and one year after "
                                    "today")])
    return asked


@router.post("", response_model=EligibilityCheckOut, summary="Check eligibility",
             responses=IN_FLIGHT | PAYER_FAILURES)
def check_eligibility(
        request: Request, body: EligibilityCheckRequest,
        principal: Annotated[Principal, Depends(permitted(Action.ELIGIBILITY_CHECK))],
        idempotency: IdempotencyParam) -> Response:
    """Ask the payer of the patient's primary coverage active on the date of service (or of
    ``coverage_id``) whether the patient is covered; a payer's reject (AAA: subscriber not
    found ...) is answered with ``rejected`` and its reasons in words."""
    from medbill_core.services.eligibility import check_patient_eligibility

    on = _date_of_service(body.date_of_service)
    medbill = api_state(request).medbill
    with medbill.acting_for(principal):
        with medbill.unit_of_work(read_only=True) as work:
            account = work.patients.get(body.patient_id).account_number
        try:
            check = check_patient_eligibility(medbill, account, on, list(body.service_types),
                                              coverage_id=body.coverage_id)
        except ValidationFailed as exc:  # its text names the account: said again without it
            raise ValidationFailed("request", [(
                "body.coverage_id" if body.coverage_id is not None else "body.date_of_service",
                "is not a coverage of this patient" if body.coverage_id is not None
                else "the patient has no coverage active on this date")]) from exc
        except MedbillError as exc:
            if type(exc) is not MedbillError:
                raise
            raise ValidationFailed("request", [(
                "body.patient_id", "the patient has no coverage on file")]) from exc
    response = check.response
    out = EligibilityCheckOut(
        patient_id=body.patient_id, coverage_id=check.coverage.id or 0, payer=check.payer.key,
        date_of_service=on, status=response.status, plan=response.plan_name,
        rejected=check.rejected, summary=response.summary(check.request.service_types[0]),
        issues=[EligibilityIssueOut(**issue.model_dump(), reason=reason)
                for issue, reason in zip(response.issues, check.reasons, strict=True)])
    if idempotency.reservation is None:
        return JSONResponse(out.model_dump(mode="json"))
    with medbill.unit_of_work(principal=principal) as work:
        return idempotency.respond(work, 200, out.model_dump(mode="json"))
