"""The dashboard: the revenue-cycle KPIs (``kpi_report``: the figures of ``medbill report kpi``
and ``GET /v1/reports/kpi``), a card per figure with its definition, monthly trend charts
(server-side SVG, :mod:`.charts`), the denial breakdowns and the payer mix, each figure
linking to the claims behind it; a CSV export and a period chosen with a GET form.

Who may open it: ``reports.read`` (the front desk may not: no nav entry, the 403 page).
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Path, Query, Request
from markupsafe import Markup
from starlette.responses import Response

from medbill_core.api import ValidationFailed
from medbill_core.api.workspace import (
    CSV_COLUMNS,
    DEFINITIONS,
    PAYER_MIX_DEFINITION,
    ROUNDING,
    Action,
    Figure,
    Kpi,
    KpiReport,
    Part,
    Principal,
    Unit,
    check_period,
    display,
    display_quantity,
    kpi_claims,
    kpi_of,
    kpi_report,
    medbill_of,
)
from medbill_workspace_web.charts import Bar, bar_chart
from medbill_workspace_web.pages import page_router, requires
from medbill_workspace_web.rendering import PAGE_HEADERS, render

router = page_router()
PAGE_SIZE = 50
#: ``from`` and ``to`` as the period form sends them (empty: the default)
DateText = Annotated[str, Query(max_length=10)]
After = Annotated[int | None, Query(ge=1, le=2**31 - 1)]


def _day(text: str, field: str) -> date | None:
    """A YYYY-MM-DD field of the period form (empty: not given)."""
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationFailed("period", [(field, "must be a date, YYYY-MM-DD")]) from None


def _period(period_from: str, period_to: str) -> tuple[date, date]:
    return check_period(_day(period_from, "from"), _day(period_to, "to"))


def drill_link(kpi: Kpi, part: str, start: date, end: date, month: str | None = None) -> str:
    """The address of the claims behind a figure (over the period, or one month of it)."""
    query = {"part": part, "from": start.isoformat(), "to": end.isoformat()}
    if month:
        query["month"] = month
    return f"/workspace/dashboard/{kpi.value}/claims?{urlencode(query)}"


def chart(figure: Figure) -> Markup:
    """The figure's monthly trend as an SVG bar chart (its axis top: the largest month)."""
    unit = figure.definition.unit
    bars = [Bar(point.month, point.value, display(point.value, unit)) for point in figure.trend]
    values = [bar.value for bar in bars if bar.value is not None]
    # the axis says the number; the unit is in the card's value and the chart's title
    top = display(max(values), unit).removesuffix(f" {unit.value}") if values else ""
    # the chart escapes every text it writes itself
    return Markup(bar_chart(figure.definition.title, bars, axis_top_text=top,
                            element_id=f"chart-{figure.kpi.value}"))


def _context(report: KpiReport) -> dict[str, Any]:
    start, end = report.period_from, report.period_to
    return {"report": report, "charts": {figure.kpi: chart(figure) for figure in report.figures},
            "rounding": ROUNDING, "payer_mix_definition": PAYER_MIX_DEFINITION,
            "rate": Unit.RATE, "display": display, "quantity": display_quantity, "Kpi": Kpi,
            "drill": lambda kpi, part, month=None: drill_link(kpi, part, start, end, month),
            "csv_link": "/workspace/dashboard/export.csv?" + urlencode(
                {"from": start.isoformat(), "to": end.isoformat()})}


@router.get("/dashboard", summary="Dashboard")
def dashboard(request: Request, principal: Annotated[Principal, requires(Action.REPORTS_READ)],
              period_from: Annotated[str, Query(alias="from", max_length=10)] = "",
              period_to: Annotated[str, Query(alias="to", max_length=10)] = "") -> Response:
    start, end = _period(period_from, period_to)
    with medbill_of(request).unit_of_work(principal=principal, read_only=True) as work:
        report = kpi_report(work, period_from=start, period_to=end)
    return render(request, "dashboard/index.html", _context(report))


@router.get("/dashboard/export.csv", summary="Dashboard CSV")
def dashboard_csv(request: Request,
                  principal: Annotated[Principal, requires(Action.REPORTS_READ)],
                  period_from: Annotated[str, Query(alias="from", max_length=10)] = "",
                  period_to: Annotated[str, Query(alias="to", max_length=10)] = "") -> Response:
    """The figures, one row per KPI and month (``medbill report kpi --csv``)."""
    start, end = _period(period_from, period_to)
    with medbill_of(request).unit_of_work(principal=principal, read_only=True) as work:
        report = kpi_report(work, period_from=start, period_to=end)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(report.csv_rows())
    name = f"kpi-{report.period_from}-{report.period_to}.csv"
    return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={**PAGE_HEADERS,
                             "Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/dashboard/{kpi}/claims", summary="Claims behind a KPI")
def dashboard_claims(request: Request,
                     principal: Annotated[Principal, requires(Action.REPORTS_READ)],
                     kpi: Annotated[str, Path(max_length=40)],
                     part: Annotated[Part, Query()] = Part.NUMERATOR,
                     month: Annotated[str, Query(max_length=7)] = "",
                     period_from: Annotated[str, Query(alias="from", max_length=10)] = "",
                     period_to: Annotated[str, Query(alias="to", max_length=10)] = "",
                     after: After = None) -> Response:
    figure = kpi_of(kpi)
    start, end = _period(period_from, period_to)
    with medbill_of(request).unit_of_work(principal=principal, read_only=True) as work:
        rows = kpi_claims(work, figure, part=part, period_from=start, period_to=end,
                          month=month or None, after_id=after, limit=PAGE_SIZE + 1)
    shown = rows[:PAGE_SIZE]
    definition = DEFINITIONS[figure]
    return render(request, "dashboard/claims.html", {
        "kpi": figure, "definition": definition, "part": part, "month": month,
        "period_from": start, "period_to": end, "rows": shown,
        "more": shown[-1].id if len(rows) > PAGE_SIZE else None, "after_shown": after,
        "listed": (definition.numerator_claims if part is Part.NUMERATOR
                   else definition.denominator_claims),
        "back": "/workspace/dashboard?" + urlencode({"from": start.isoformat(),
                                                     "to": end.isoformat()})})
