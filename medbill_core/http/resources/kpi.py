"""``GET /v1/reports/kpi``: the revenue-cycle KPIs, the figures of ``medbill report kpi
--json`` (one schema), and ``GET /v1/reports/kpi/{kpi}/claims``: the claims behind a figure,
as keyset pages."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse, Response

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
from medbill_core.http.problems import PROBLEM_RESPONSES
from medbill_core.permissions import Action
from medbill_core.services.kpi import Kpi, Part

router = APIRouter(prefix="/v1/reports", tags=["reports"], responses=PROBLEM_RESPONSES)


class KpiPoint(BaseModel):
    """A figure over one month of the period."""

    month: str = Field(description="YYYY-MM")
    numerator: str | int = Field(description="an amount (decimal text) or a count")
    denominator: str | int
    value: str | None = Field(description="numerator / denominator, exact decimal (a rate is "
                                          "a fraction); null: no denominator")
    display: str = Field(description="the value for people, rounded half up to 0.1; n/a")


class KpiFigure(BaseModel):
    kpi: Kpi
    title: str
    unit: str = Field(description="rate, days or hours")
    definition: str
    numerator_label: str
    denominator_label: str
    numerator: str | int
    denominator: str | int
    value: str | None
    display: str
    trend: list[KpiPoint]
    median: str | None = Field(default=None, description="charge lag only: median days")


class DenialLineOut(BaseModel):
    key: str = Field(description="GROUP-CARC, payer key or procedure code")
    label: str
    claims: int
    amount: str
    adjudicated: int | None = Field(default=None, description="by payer: claims answered")
    rate: str | None = None
    rate_display: str | None = None


class Denials(BaseModel):
    by_carc: list[DenialLineOut]
    by_payer: list[DenialLineOut]
    by_procedure: list[DenialLineOut]


class PayerShareOut(BaseModel):
    payer: str
    charges: str
    payments: str
    charge_share: str | None
    charge_share_display: str
    payment_share: str | None
    payment_share_display: str


class PayerMonth(BaseModel):
    month: str
    payers: list[PayerShareOut]


class PayerMix(BaseModel):
    definition: str
    payers: list[PayerShareOut]
    trend: list[PayerMonth]


class Period(BaseModel):
    from_: date = Field(alias="from")
    to: date


class KpiReportOut(BaseModel):
    """Every KPI over the period with its definition, numerator, denominator and monthly
    trend; denial breakdowns; the payer mix."""

    period: Period
    months: list[str]
    rounding: str
    figures: list[KpiFigure]
    denials: Denials
    payer_mix: PayerMix


class KpiClaimOut(BaseModel):
    id: int
    claim_number: str
    payer: str | None
    state: str
    service_date: date
    charge: str


class KpiClaimPage(BaseModel):
    data: list[KpiClaimOut]
    next_cursor: str | None


PeriodFrom = Annotated[IsoDate | None, Query(
    alias="from", description="first day (default: the 1st of the month 11 months back)")]
PeriodTo = Annotated[IsoDate | None, Query(alias="to", description="last day (default today)")]


@router.get("/kpi", summary="KPIs", response_model=KpiReportOut)
def kpi(request: Request,
        principal: Annotated[Principal, Depends(permitted(Action.REPORTS_READ))],
        period_from: PeriodFrom = None, period_to: PeriodTo = None) -> Response:
    """Days in A/R, clean-claim, first-pass resolution, denial and net collection rates, A/R
    over 90 and 120 days, charge lag, ERA lag and payer mix (``medbill report kpi --json``)."""
    from medbill_core.services.kpi import kpi_report

    with api_state(request).medbill.unit_of_work(principal=principal, read_only=True) as work:
        report = kpi_report(work, period_from=period_from, period_to=period_to)
    return JSONResponse(report.as_json())


@router.get("/kpi/{kpi}/claims", summary="Claims behind a KPI", response_model=KpiClaimPage)
def kpi_claims(request: Request,
               principal: Annotated[Principal, Depends(permitted(Action.REPORTS_READ))],
               kpi: Annotated[Kpi, Path(description="the figure's kpi")],
               part: Annotated[Part, Query(description="numerator or denominator")
                               ] = Part.NUMERATOR,
               month: Annotated[str | None, Query(pattern=r"^[0-9]{4}-[0-9]{2}$",
                                                  description="one month of the period")
                                ] = None,
               period_from: PeriodFrom = None, period_to: PeriodTo = None,
               limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Response:
    """The claims counted in a figure's numerator or denominator, by claim id."""
    from medbill_core.services.kpi import kpi_claims

    listing = f"kpi:{kpi.value}:{part.value}"
    after = decode_cursor(listing, cursor, (int,))[0] if cursor else None
    with api_state(request).medbill.unit_of_work(principal=principal, read_only=True) as work:
        rows = kpi_claims(work, kpi, part=part, period_from=period_from,
                          period_to=period_to, month=month, after_id=after, limit=limit + 1)
    data, next_cursor = paged(rows, limit, listing)
    return JSONResponse({"data": [row.as_json() for row in data], "next_cursor": next_cursor})
