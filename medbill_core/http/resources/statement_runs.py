"""``POST /v1/statement-runs``: a cycle's patient statements (``medbill statements run``), in
a job. The statements are rendered into the server's statements folder (``medbill serve
--statements-dir``), never a path a client names; the job's result counts them."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from medbill_core.domain.accounts import STATEMENT_CYCLE_PATTERN
from medbill_core.domain.identity import Principal
from medbill_core.http.auth import api_state, permitted
from medbill_core.http.idempotency import IdempotencyParam
from medbill_core.http.problems import PROBLEM_RESPONSES
from medbill_core.http.resources.claim_actions import IN_FLIGHT
from medbill_core.http.resources.jobs import BUSY, JobOut, start_job
from medbill_core.permissions import Action

if TYPE_CHECKING:
    from medbill_core.app import Medbill

router = APIRouter(prefix="/v1/statement-runs", tags=["statements"],
                   responses=PROBLEM_RESPONSES)

#: Where statements go when the server was given no folder (``medbill statements run``'s
#: default, relative to the server's working directory).
DEFAULT_STATEMENTS_DIR = Path("statements")


class StatementRunRequest(BaseModel):
    """The options of ``medbill statements run`` (the folder is the server's)."""

    cycle: str = Field(pattern=STATEMENT_CYCLE_PATTERN,
                       description="the cycle's name, e.g. 2026-11")
    renderer: str = Field(default="pdf", pattern=r"^[a-z][a-z0-9_-]{0,39}$",
                          description="pdf, text, html ... (an enabled plugin's)")
    min_balance: str = Field(default="5.00", pattern=r"^[0-9]{1,7}(\.[0-9]{1,2})?$",
                             description="the smallest balance billed, as decimal text (a "
                                         "family's balances count together)")
    force: bool = Field(default=False, description="also send to guarantors who already got "
                                                   "a statement today")


class StatementRunResult(BaseModel):
    """A statement run job's ``result`` (counts: the statements themselves are PHI)."""

    cycle: str
    produced: int
    already_done: int = Field(description="patients already on a statement of this cycle")
    skipped: dict[str, int] = Field(description="patients skipped, by reason")


def statements_dir(request: Request) -> Path:
    """The server's statements folder: ``app.state.statements_dir`` (``medbill serve
    --statements-dir``), else :data:`DEFAULT_STATEMENTS_DIR`."""
    folder = getattr(request.app.state, "statements_dir", None)
    return folder if isinstance(folder, Path) else DEFAULT_STATEMENTS_DIR


def run_statement_cycle(medbill: Medbill, params: Mapping[str, Any]) -> dict[str, Any]:
    """The ``statements.run`` job: :func:`medbill_core.services.statements.run_statements`."""
    from medbill_core.services.statements import run_statements

    result = run_statements(medbill, cycle=params["cycle"], out_dir=Path(params["out_dir"]),
                            renderer=params["renderer"],
                            minimum=Decimal(params["min_balance"]), force=params["force"])
    return StatementRunResult(
        cycle=result.cycle, produced=len(result.produced),
        already_done=len(result.already_done),
        skipped={reason: len(patients) for reason, patients in result.skipped.items()},
    ).model_dump(mode="json")


@router.post("", status_code=202, response_model=JobOut, summary="Run a statement cycle",
             responses=IN_FLIGHT | BUSY)
def start_statement_run(
        request: Request, body: StatementRunRequest,
        principal: Annotated[Principal, Depends(permitted(Action.STATEMENTS_RUN))],
        idempotency: IdempotencyParam) -> Response:
    """Produce the cycle's statements, one per guarantor, in a job (202, ``Location:
    /v1/jobs/{id}``); a repeated run sends nothing new, nor does a second run the same day
    unless ``force``."""
    from medbill_core.errors import ValidationFailed
    from medbill_core.services.statements import check_renderer

    if Decimal(body.min_balance) <= 0:
        raise ValidationFailed("request", [("body.min_balance", "must be more than 0")])
    # the run's own check, before a job is queued: a job would only fail with it
    check_renderer(api_state(request).medbill, body.renderer, record="request",
                   field="body.renderer")
    return start_job(request, principal, idempotency, "statements.run",
                     {**body.model_dump(mode="json"), "out_dir": str(statements_dir(request))},
                     run_statement_cycle)
