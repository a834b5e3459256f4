"""The dashboard through FastAPI's TestClient: the figures are the API's, each links to the
claims behind it, the CSV is the report's, bad input is a page naming the field, and the front
desk gets neither the page nor its nav entry. The SVG charts are checked on their own."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from html import unescape

from fastapi.testclient import TestClient
from medbill_workspace_web.charts import Bar, bar_chart, month_label
from medbill_workspace_web.testing import PRACTICE_A, Workspace, client_sign_in

from medbill_core.api.workspace import Kpi
from medbill_core.api.workspace import display_quantity as quantity


def _api(client: TestClient, path: str = "/v1/reports/kpi") -> dict:  # type: ignore[type-arg]
    answer = client.get(path)  # the browser session's cookie opens the API too
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_a_manager_sees_every_figure_the_api_gives(client: TestClient) -> None:
    client_sign_in(client, "mona", practice=PRACTICE_A)
    page = client.get("/workspace/dashboard")
    assert page.status_code == 200
    html = unescape(page.text)
    report = _api(client)
    for figure in report["figures"]:
        card = html.split(f'id="kpi-{figure["kpi"]}"')[1].split("</li>")[0]
        shown = re.search(r'data-kpi="[a-z_0-9]+"[^>]*>([^<]+)</a>', card)
        assert shown is not None and shown.group(1) == figure["display"], figure["kpi"]
        assert figure["definition"] in card
        assert f'<title id="chart-{figure["kpi"]}-title">' in card
    # seeded: six drafts of 143.50 in practice A, charged in the current month
    net = next(f for f in report["figures"] if f["kpi"] == "net_collection_rate")
    assert (net["numerator"], net["denominator"], net["display"]) == ("0.00", "861.00", "0.0%")
    assert 'href="/workspace/dashboard/net_collection_rate/claims?part=denominator' in html


def test_the_drill_down_lists_the_claims_behind_a_figure(client: TestClient,
                                                         workspace: Workspace) -> None:
    client_sign_in(client, "bill", practice=PRACTICE_A)
    page = client.get("/workspace/dashboard/net_collection_rate/claims",
                      params={"part": "denominator"})
    assert page.status_code == 200
    linked = re.findall(r'href="/workspace/claims/(\d+)"', page.text)
    assert sorted(int(claim_id) for claim_id in linked) == sorted(
        claim.id for claim in workspace.seed.claims_of(PRACTICE_A))
    assert "Net collection rate: denominator" in unescape(page.text)


def test_the_csv_is_the_reports(client: TestClient) -> None:
    client_sign_in(client, "audra", practice=PRACTICE_A)
    answer = client.get("/workspace/dashboard/export.csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"].startswith('attachment; filename="kpi-')
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    report = _api(client)
    assert len(rows) == len(report["figures"]) * (len(report["months"]) + 1)
    last = report["months"][-1]
    for figure in report["figures"]:
        row = next(r for r in rows if (r["kpi"], r["month"]) == (figure["kpi"], last))
        assert row["display"] == figure["trend"][-1]["display"]


def test_bad_input_is_a_page_naming_the_field(client: TestClient) -> None:
    client_sign_in(client, "mona", practice=PRACTICE_A)
    answer = client.get("/workspace/dashboard", params={"from": "2026-02-30"})
    assert answer.status_code == 422
    assert "period: from: must be a date, YYYY-MM-DD" in unescape(answer.text)
    answer = client.get("/workspace/dashboard", params={"from": "2026-05-01", "to": "2026-04-01"})
    assert answer.status_code == 422 and "from: is after the end" in unescape(answer.text)
    answer = client.get("/workspace/dashboard/nothing/claims")
    assert answer.status_code == 422 and "kpi: must be one of" in unescape(answer.text)
    assert "Traceback" not in answer.text


def test_the_front_desk_has_no_dashboard(client: TestClient) -> None:
    client_sign_in(client, "fran", practice=PRACTICE_A)
    home = client.get("/workspace/")
    assert 'href="/workspace/dashboard"' not in home.text
    for path in ("/workspace/dashboard", "/workspace/dashboard/export.csv",
                 "/workspace/dashboard/denial_rate/claims"):
        answer = client.get(path)
        assert answer.status_code == 403, path
        assert "front_desk may not reports.read" in answer.text


def test_a_chart_has_axes_a_title_and_its_values_in_words() -> None:
    bars = [Bar("2026-01", Decimal("0.5"), "50.0%"), Bar("2026-02", None, "n/a"),
            Bar("2026-03", Decimal("0.25"), "25.0%")]
    svg = bar_chart("Denial <rate>", bars, axis_top_text="50.0%", element_id="chart-x")
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="chart-x"')
    assert 'role="img" aria-labelledby="chart-x-title chart-x-desc"' in svg
    assert '<title id="chart-x-title">Denial &lt;rate&gt; by month</title>' in svg
    assert '<desc id="chart-x-desc">Jan 26: 50.0%; Feb 26: n/a; Mar 26: 25.0%</desc>' in svg
    heights = [float(h) for h in re.findall(r'<rect class="bar"[^>]* height="([0-9.]+)"', svg)]
    assert heights == [122.0, 61.0]  # the plot is 160 - 10 - 28 = 122 high: 0.5 is the top
    assert ">50.0%</text>" in svg and ">0</text>" in svg and ">n/a</text>" in svg
    assert month_label("2026-12") == "Dec 26"


def test_quantities_for_people() -> None:
    assert quantity(1234) == "1,234"
    assert quantity(Decimal(710) / Decimal(92)) == "7.72"
    assert quantity(Decimal("-1234.5")) == "-1,234.50"


def test_every_kpi_has_a_card(client: TestClient) -> None:
    client_sign_in(client, "mona", practice=PRACTICE_A)
    html = client.get("/workspace/dashboard").text
    assert [kpi.value for kpi in Kpi] == re.findall(r'<li class="kpi-card" id="kpi-([a-z_0-9]+)"',
                                                     html)
