"""``GET /v1/reports/ar-aging``: the A/R aging report, the figures of
``medbill ar aging --json`` (by payer) or ``--by patient``."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse, Response

from medbill_core.domain.identity import Principal
from medbill_core.http.auth import api_state, permitted
from medbill_core.http.pagination import IsoDate
from medbill_core.http.problems import PROBLEM_RESPONSES
from medbill_core.permissions import Action

router = APIRouter(prefix="/v1/reports", tags=["reports"], responses=PROBLEM_RESPONSES)


class AgingBy(StrEnum):
    PAYER = "payer"
    PATIENT = "patient"


class AgingAmounts(BaseModel):
    """Amounts (decimal text) per age bucket, the credits apart, and their total."""

    buckets: dict[str, str] = Field(description="0-30, 31-60, 61-90, 91-120, 121+")
    credit: str = Field(description="credit balances, zero or less")
    total: str


class PayerAging(AgingAmounts):
    payer: str | None = Field(description="payer key; null: a payer no longer configured")


class AccountAging(AgingAmounts):
    account_number: str


class AgingByPayer(BaseModel):
    """``by=payer``: insurance per payer, the patients' line and the totals."""

    as_of: date
    buckets: list[str]
    insurance: list[PayerAging]
    insurance_total: AgingAmounts
    patient: AgingAmounts
    total: AgingAmounts


class AgingByPatient(BaseModel):
    """``by=patient``: patient balances per account number."""

    as_of: date
    buckets: list[str]
    patients: list[AccountAging]
    total: AgingAmounts


@router.get("/ar-aging", summary="A/R aging", response_model=AgingByPayer | AgingByPatient)
def ar_aging(request: Request,
             principal: Annotated[Principal, Depends(permitted(Action.REPORTS_READ))],
             as_of: Annotated[IsoDate | None, Query(description="default: today")] = None,
             by: Annotated[AgingBy, Query(description=(
             "payer: insurance by payer, the patients' line and totals; patient: "
             "patient balances per account number"))] = AgingBy.PAYER) -> Response:
    """A/R by age (0-30, 31-60, 61-90, 91-120, 121+ days), credits in their own column."""
    from medbill_core.services.receivables import aging, patient_aging

    when = as_of or date.today()
    with api_state(request).medbill.unit_of_work(principal=principal, read_only=True) as work:
        report = patient_aging(work, as_of=when) if by is AgingBy.PATIENT \
            else aging(work, as_of=when)
    return JSONResponse(report.as_json())
