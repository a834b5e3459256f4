"""``POST /v1/estimates``: what a patient will likely owe for planned services (a good-faith
estimate before the visit), as ``medbill estimate`` computes it: benefits from a live
eligibility check of the primary coverage (unless ``check_eligibility`` is false), allowed
amounts from the fee schedules, charges from the charge master where none is given."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import Field, ValidationError, create_model
from starlette.responses import JSONResponse, Response

from medbill_core.domain.base import DomainModel
from medbill_core.domain.estimate import CostEstimate, PlannedService
from medbill_core.domain.identity import Principal
from medbill_core.errors import ValidationFailed
from medbill_core.http.auth import api_state, permitted
from medbill_core.http.idempotency import IdempotencyParam
from medbill_core.http.pagination import IsoDate
from medbill_core.http.problems import PROBLEM_RESPONSES, InvalidRequest, field_problems
from medbill_core.http.resources.claim_actions import IN_FLIGHT, StoredId
from medbill_core.http.resources.eligibility import PAYER_FAILURES
from medbill_core.http.schemas import RequestBody
from medbill_core.money import MONEY_INPUT
from medbill_core.permissions import Action

router = APIRouter(prefix="/v1/estimates", tags=["estimates"], responses=PROBLEM_RESPONSES)

#: How far from today a date of service may be (the command line's, without --confirm-date).
FUTURE_DAYS, PAST_DAYS = 365, 30

if TYPE_CHECKING:
    PlannedServiceIn = DomainModel
    EstimateOut = DomainModel
else:
    #: A planned service as a client sends it (no allowed amount: the fee schedules say).
    PlannedServiceIn = create_model(
        "PlannedServiceIn", __base__=RequestBody, __doc__=PlannedService.__doc__,
        procedure_code=(str, Field(pattern=r"^[A-Za-z0-9]{5}$",
                                   description="CPT/HCPCS code")),
        modifiers=(list[Annotated[str, Field(pattern=r"^[A-Za-z0-9]{2}$")]],
                   Field(default_factory=list, max_length=4)),
        units=(PlannedService.model_fields["units"].annotation,
               PlannedService.model_fields["units"]),
        charge=(PlannedService.model_fields["charge"].annotation,
                Field(default=None, description="the line's total charge (per-unit price x "
                                                "units); default: the charge master's")))
    #: The estimate without the patient's and the practice's records (as ``--json``).
    EstimateOut = create_model(
        "EstimateOut", __base__=DomainModel, __doc__=CostEstimate.__doc__,
        **{name: (info.annotation, info) for name, info in CostEstimate.model_fields.items()
           if name not in ("patient", "practice")})


class EstimateRequest(RequestBody):
    patient_id: StoredId
    date_of_service: IsoDate | None = Field(default=None, description="default: today")
    services: list[PlannedServiceIn] = Field(min_length=1, max_length=50)
    place_of_service: str = Field(default="11", pattern=r"^[0-9]{2}$")
    check_eligibility: bool = Field(default=True, description="ask the payer (270/271); "
                                    "false: assume the payer's standard benefits, or none")


def _planned(services: list[Any]) -> list[PlannedService]:
    """The services as the domain's, each validated by its rules (a negative charge ...)."""
    planned, problems = [], []
    for number, service in enumerate(services):
        try:
            planned.append(PlannedService.model_validate(service.model_dump(exclude_unset=True),
                                                         context={MONEY_INPUT: True}))
        except ValidationError as exc:
            problems += field_problems(
                [{**error, "loc": ("services", number, *error.get("loc", ()))}
                 for error in exc.errors(include_url=False)], prefix=("body",))
    if problems:
        raise InvalidRequest(problems)
    return planned


_SERVICE_FIELD = re.compile(r"service ([0-9]+) (procedure code|modifier|charge)")
_FIELD_NAMES = {"procedure code": "procedure_code", "modifier": "modifiers", "charge": "charge"}


def _located(exc: ValidationFailed, services: list[PlannedService]) -> ValidationFailed:
    """The estimate service's problems (``service 2 modifier``) as the body's fields
    (``body.services[1].modifiers``), without quoting the codes sent (a problem never echoes
    a request's values)."""
    problems = []
    for field, reason in exc.problems:
        match = _SERVICE_FIELD.fullmatch(field)
        if match is None:
            problems.append((field, reason))
            continue
        index = int(match.group(1)) - 1
        sent = services[index] if 0 <= index < len(services) else None
        words = reason
        for value in ([sent.procedure_code, *sent.modifiers] if sent is not None else []):
            words = re.sub(rf"(?<![A-Za-z0-9]){re.escape(value)}(?![A-Za-z0-9])", "it",
                           words, flags=re.IGNORECASE)
        problems.append((f"body.services[{index}].{_FIELD_NAMES[match.group(2)]}", words))
    return ValidationFailed("request", problems)


def _date_of_service(asked: date | None) -> date:
    today = date.today()
    if asked is None:
        return today
    if not today - timedelta(days=PAST_DAYS) <= asked <= today + timedelta(days=FUTURE_DAYS):
        raise ValidationFailed("request", [(
            "body.date_of_service", "must be within 30 days before and a year after today")])
    return asked


@router.post("", response_model=EstimateOut, summary="Estimate a patient's cost",
             responses=IN_FLIGHT | PAYER_FAILURES)
def create_estimate(
        request: Request, body: EstimateRequest,
        principal: Annotated[Principal, Depends(permitted(Action.ESTIMATES_CREATE))],
        idempotency: IdempotencyParam) -> Response:
    """The patient's likely share of the planned services; ``notes`` say what was assumed
    (benefits not verified, no standard benefit known). Nothing is stored."""
    from medbill_core.services.estimates import estimate_for_patient

    on = _date_of_service(body.date_of_service)
    planned = _planned(body.services)
    medbill = api_state(request).medbill
    with medbill.acting_for(principal):
        try:
            result = estimate_for_patient(medbill, body.patient_id, planned, service_date=on,
                                          place_of_service=body.place_of_service,
                                          check_eligibility=body.check_eligibility)
        except ValidationFailed as exc:
            raise _located(exc, planned) from None
    data: dict[str, Any] = result.model_dump(mode="json", exclude={"patient", "practice"})
    if idempotency.reservation is None:
        return JSONResponse(data)
    with medbill.unit_of_work(principal=principal) as work:
        return idempotency.respond(work, 200, data)
