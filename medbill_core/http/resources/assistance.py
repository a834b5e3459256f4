"""Financial assistance: ``GET /v1/assistance/applications`` (keyset pages, newest first),
``GET /v1/assistance/applications/{id}``, ``POST /v1/assistance/applications`` (apply, as
``medbill assistance apply``), ``POST .../{id}/documents``, ``.../{id}/approve``,
``.../{id}/deny`` and ``.../{id}/revoke``, ``GET .../{id}/letter`` (the decision letter as
text), and ``GET`` / ``PUT /v1/assistance/schedule`` (the practice's sliding fee schedule).
Every rule is :mod:`medbill_core.services.financial_assistance`'s; amounts are decimal text."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from medbill_core.domain.identity import Principal
from medbill_core.http.auth import api_state, permitted
from medbill_core.http.idempotency import IdempotencyParam
from medbill_core.http.pagination import DEFAULT_LIMIT, Cursor, Limit, Page, decode_cursor, paged
from medbill_core.http.problems import PROBLEM_RESPONSES
from medbill_core.http.resources.claim_actions import IN_FLIGHT, StoredId
from medbill_core.http.resources.claims import RowId
from medbill_core.http.schemas import RequestBody, model_response
from medbill_core.http.validation import validated
from medbill_core.money import MAX_AMOUNT, Amount
from medbill_core.permissions import Action
from medbill_core.services import financial_assistance as fa
from medbill_core.services.api_records import record_shown

router = APIRouter(prefix="/v1/assistance", tags=["financial assistance"],
                   responses=PROBLEM_RESPONSES)
LISTING = "assistance"
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: PROBLEM_RESPONSES[500] | {"description": "No such application"}}


class TierOut(BaseModel):
    up_to_percent: str | None = Field(description="of the poverty guideline; null: above "
                                                  "the previous tier")
    discount_percent: str
    nominal_fee: str | None = Field(description="owed per visit instead of a percent")


class ApplicationOut(BaseModel):
    """An application, its evaluation and its decision (``notes`` may hold PHI)."""

    id: int
    guarantor_id: int
    household_size: int
    annual_income: str
    state: str
    applied_on: date
    documents_received: bool
    notes: str | None
    status: fa.ApplicationStatus
    guideline_year: int
    guideline: str
    percent_of_guideline: str
    tier: TierOut
    tier_label: str
    decided_by: str | None
    decided_on: date | None
    decision_reason: str | None
    effective_from: date | None
    expires_on: date | None
    revoked_on: date | None

    @classmethod
    def of(cls, application: fa.Application) -> ApplicationOut:
        return cls.model_validate(application.as_json())


class DecisionOut(ApplicationOut):
    discounts: dict[str, str] = Field(description="claim id -> discount posted now "
                                                  "(negative: taken back)")


ApplicationPage = Page[ApplicationOut]


class NewApplication(RequestBody):
    """A guarantor's application, evaluated at once against the HHS poverty guidelines in
    effect on ``applied_on``."""

    guarantor_id: StoredId
    household_size: int = Field(ge=1, le=fa.MAX_HOUSEHOLD)
    annual_income: Amount = Field(ge=0, le=MAX_AMOUNT, description="e.g. \"24500.00\"")
    state: str = Field(min_length=2, max_length=2, description="two-letter state (AK, HI "
                                                               "have tables of their own)")
    applied_on: date
    documents_received: bool = False
    notes: str | None = Field(default=None, max_length=2000)


class Approval(RequestBody):
    effective_from: date | None = Field(default=None, description="first date of service "
                                        "covered (default: the application's date)")
    expires_on: date | None = Field(default=None, description="last date of service covered "
                                    "(default: the schedule's months later, less a day)")
    reason: str | None = Field(default=None, max_length=500)


class Decision(RequestBody):
    reason: str = Field(min_length=1, max_length=500,
                        description="why (printed in the guarantor's letter)")


class TierIn(RequestBody):
    up_to_percent: Decimal | None = Field(gt=0, le=10000)
    discount_percent: Decimal = Field(ge=0, le=100)
    nominal_fee: Amount | None = Field(default=None, ge=0, le=MAX_AMOUNT)


class Schedule(RequestBody):
    """A practice's sliding fee schedule: tiers lowest first, the last without a bound."""

    tiers: list[TierIn] = Field(min_length=1, max_length=20)
    expiry_months: int = Field(default=fa.DEFAULT_EXPIRY_MONTHS, ge=1, le=60)
    prompt_pay_percent: Decimal | None = Field(default=None, gt=0, lt=100)
    prompt_pay_days: int | None = Field(default=None, ge=1, le=365)


class ScheduleOut(BaseModel):
    tiers: list[TierOut]
    expiry_months: int
    prompt_pay_percent: str | None
    prompt_pay_days: int | None


def _decision(application: fa.Application, result: fa.DiscountResult) -> dict[str, Any]:
    return DecisionOut(**ApplicationOut.of(application).model_dump(), discounts={
        str(k): str(v) for k, v in result.posted.items()}).model_dump(mode="json")


@router.get("/applications", response_model=ApplicationPage,
            summary="List financial assistance applications")
def list_assistance_applications(
        request: Request,
        principal: Annotated[Principal, Depends(permitted(Action.ASSISTANCE_READ))],
        status: Annotated[fa.ApplicationStatus | None, Query(
            description="Only this status")] = None,
        guarantor: Annotated[int | None, Query(ge=1, le=2**31 - 1,
                                               description="Only this guarantor's")] = None,
        limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Response:
    """Applications, newest first."""
    before = decode_cursor(LISTING, cursor, (int,))[0] if cursor else None
    with api_state(request).medbill.unit_of_work(principal=principal, read_only=True) as work:
        rows = fa.list_applications(work, status=status, guarantor_id=guarantor,
                                    limit=limit + 1, before_id=before)
    data, next_cursor = paged(rows, limit, LISTING)
    return model_response(ApplicationPage(data=[ApplicationOut.of(a) for a in data],
                                          next_cursor=next_cursor))


@router.get("/applications/{application_id}", response_model=ApplicationOut,
            summary="Read a financial assistance application", responses=NOT_FOUND)
def read_assistance_application(
        request: Request, application_id: RowId,
        principal: Annotated[Principal, Depends(permitted(Action.ASSISTANCE_READ))],
        ) -> Response:
    with api_state(request).medbill.unit_of_work(principal=principal, read_only=True) as work:
        application = fa.get_application(work, application_id)
    return model_response(ApplicationOut.of(application))


@router.post("/applications", status_code=201, response_model=ApplicationOut,
             summary="Apply for financial assistance", responses=NOT_FOUND | IN_FLIGHT)
def create_assistance_application(
        request: Request, body: NewApplication,
        principal: Annotated[Principal, Depends(permitted(Action.ASSISTANCE_APPLY))],
        idempotency: IdempotencyParam) -> Response:
    """Record and evaluate an application (201, ``Location`` names it)."""
    body = validated(NewApplication, body.model_dump())
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        application = fa.apply(work, body.guarantor_id, household_size=body.household_size,
                               annual_income=body.annual_income, state=body.state,
                               applied_on=body.applied_on,
                               documents_received=body.documents_received, notes=body.notes)
        return idempotency.respond(
            work, 201, ApplicationOut.of(application).model_dump(mode="json"),
            {"Location": f"/v1/assistance/applications/{application.id}"})


@router.post("/applications/{application_id}/documents", response_model=ApplicationOut,
             summary="Record an application's income documents",
             responses=NOT_FOUND | IN_FLIGHT)
def record_assistance_documents(
        request: Request, application_id: RowId,
        principal: Annotated[Principal, Depends(permitted(Action.ASSISTANCE_APPLY))],
        idempotency: IdempotencyParam) -> Response:
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        application = fa.record_documents(work, application_id)
        return idempotency.respond(work, 200,
                                   ApplicationOut.of(application).model_dump(mode="json"))


@router.post("/applications/{application_id}/approve", response_model=DecisionOut,
             summary="Approve an application and post its discounts",
             responses=NOT_FOUND | IN_FLIGHT)
def approve_assistance_application(
        request: Request, application_id: RowId, body: Approval,
        principal: Annotated[Principal, Depends(permitted(Action.ASSISTANCE_DECIDE))],
        idempotency: IdempotencyParam) -> Response:
    """Approve a pending application: the family's patient balances in its period are
    discounted at once (``discounts``)."""
    body = validated(Approval, body.model_dump())
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        application, result = fa.approve(work, application_id,
                                         effective_from=body.effective_from,
                                         expires_on=body.expires_on, reason=body.reason)
        return idempotency.respond(work, 200, _decision(application, result))


@router.post("/applications/{application_id}/deny", response_model=ApplicationOut,
             summary="Deny an application", responses=NOT_FOUND | IN_FLIGHT)
def deny_assistance_application(
        request: Request, application_id: RowId, body: Decision,
        principal: Annotated[Principal, Depends(permitted(Action.ASSISTANCE_DECIDE))],
        idempotency: IdempotencyParam) -> Response:
    body = validated(Decision, body.model_dump())
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        application = fa.deny(work, application_id, body.reason)
        return idempotency.respond(work, 200,
                                   ApplicationOut.of(application).model_dump(mode="json"))


@router.post("/applications/{application_id}/revoke", response_model=DecisionOut,
             summary="Revoke an approval and take its discounts back",
             responses=NOT_FOUND | IN_FLIGHT)
def revoke_assistance_application(
        request: Request, application_id: RowId, body: Decision,
        principal: Annotated[Principal, Depends(permitted(Action.ASSISTANCE_DECIDE))],
        idempotency: IdempotencyParam) -> Response:
    body = validated(Decision, body.model_dump())
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        application, result = fa.revoke(work, application_id, body.reason)
        return idempotency.respond(work, 200, _decision(application, result))


@router.get("/applications/{application_id}/letter", summary="The decision letter",
            responses=NOT_FOUND | {200: {"content": {"text/plain": {}},
                                         "description": "the letter as text"}})
def assistance_letter(
        request: Request, application_id: RowId,
        principal: Annotated[Principal, Depends(permitted(Action.ASSISTANCE_READ))],
        ) -> Response:
    """The letter to the guarantor (approval, denial or revocation), plain text."""
    from medbill_core.services.assistance_letters import decision_letter

    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        text = decision_letter(work, application_id)
        # the guarantor's name, address and income against the poverty guidelines
        record_shown(work, "assistance_letter", [application_id], via="api", one=True)
    return Response(text, media_type="text/plain; charset=utf-8",
                    headers={"Cache-Control": "no-store"})


def _schedule(policy: fa.AssistancePolicy) -> ScheduleOut:
    return ScheduleOut.model_validate(policy.as_json())


@router.get("/schedule", response_model=ScheduleOut, summary="The sliding fee schedule")
def read_assistance_schedule(
        request: Request,
        principal: Annotated[Principal, Depends(permitted(Action.ASSISTANCE_READ))],
        ) -> Response:
    with api_state(request).medbill.unit_of_work(principal=principal, read_only=True) as work:
        policy = fa.get_policy(work)
    return model_response(_schedule(policy))


@router.put("/schedule", response_model=ScheduleOut, summary="Set the sliding fee schedule")
def set_assistance_schedule(
        request: Request, body: Schedule,
        principal: Annotated[Principal, Depends(permitted(Action.ASSISTANCE_DECIDE))],
        ) -> Response:
    """Replace the practice's schedule (decided applications keep the tier they got)."""
    body = validated(Schedule, body.model_dump())
    policy = fa.AssistancePolicy(
        tuple(fa.Tier(t.up_to_percent, t.discount_percent, t.nominal_fee)
              for t in body.tiers),
        body.expiry_months, body.prompt_pay_percent, body.prompt_pay_days)
    with api_state(request).medbill.unit_of_work(principal=principal) as work:
        fa.set_policy(work, policy)
    return model_response(_schedule(policy))
