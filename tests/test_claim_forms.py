"""Paper claim forms in the core: the renderer hook and its selection, the audit of a rendered
form, and a payer billed on paper through the outbox (printed once; again only for a reason).

The renderer and the paper channel here are in-test ones (a claim per text line, kept in
memory); the PDF forms are claim_forms_pdf's, tested in its own suite and the demo's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest
from fastapi.testclient import TestClient
from inproc_plugins import make_line_plugin
from sqlalchemy import select
from test_http_api import MANAGER, assert_problem, fake_authenticate

from medbill_core.adapters import ClaimFormRenderer, SubmissionChannel
from medbill_core.config import MedbillConfig
from medbill_core.domain import (
    BillableClaim,
    ClaimFinding,
    ClaimKind,
    ClaimState,
    Severity,
    SubmissionFile,
    SubmissionReceipt,
)
from medbill_core.domain.claim_forms import ClaimFormLayout, RenderedClaimForm
from medbill_core.errors import NotFound, PluginError, ValidationFailed
from medbill_core.hookspecs import hookimpl
from medbill_core.http import create_app
from medbill_core.http.resources.jobs import stop_jobs
from medbill_core.services.claim_forms import render_claim_form, renderer_for
from medbill_core.services.paper_claims import reprint_batch
from medbill_core.services.scrubbing import scrub_claims
from medbill_core.services.submission import send_pending, submit
from medbill_core.storage.schema import AuditEventRow, SubmissionRow
from medbill_core.testing import factories


class LineForms(ClaimFormRenderer):
    """One text line per claim: its number, kind and total; an error finding for a claim
    whose number ends in 9 (as a form whose amount does not fit reports it)."""

    identifier = "lineforms"
    media_type = "text/plain"
    claim_kinds: ClassVar[frozenset[ClaimKind]] = frozenset({ClaimKind.PROFESSIONAL})

    def render(self, claims: Sequence[BillableClaim], *,
               layout: ClaimFormLayout = ClaimFormLayout.FORM) -> RenderedClaimForm:
        text = "".join(f"{layout.value}|{bc.claim.claim_number}|{bc.claim.total_charge}\n"
                       for bc in claims)
        findings = [ClaimFinding(severity=Severity.ERROR, code="form.amount_too_large",
                                 message="box 28 holds 5 dollar digits",
                                 claim_number=bc.claim.claim_number, field="box 28")
                    for bc in claims if bc.claim.claim_number.endswith("9")]
        return RenderedClaimForm(
            renderer=self.identifier, layout=layout, media_type=self.media_type,
            filename="forms.txt", content=text.encode(), pages=len(claims),
            claim_numbers=[bc.claim.claim_number for bc in claims], findings=findings)


class UbLines(LineForms):
    identifier = "ublines"
    claim_kinds: ClassVar[frozenset[ClaimKind]] = frozenset({ClaimKind.INSTITUTIONAL})
    layouts: ClassVar[frozenset[ClaimFormLayout]] = frozenset({ClaimFormLayout.FORM})


class Broken(LineForms):
    identifier = "broken"

    def render(self, claims: Sequence[BillableClaim], *,
               layout: ClaimFormLayout = ClaimFormLayout.FORM) -> RenderedClaimForm:
        raise RuntimeError("a bug")


class MemoryPaper(SubmissionChannel):
    """Keeps each printed batch by idempotency key (a second hand-over keeps the first)."""

    identifier = "mempaper"

    def __init__(self) -> None:
        self.kept: dict[str, bytes] = {}

    def claim_form_renderer(self) -> str:
        return "lineforms"

    def submit_forms(self, forms: RenderedClaimForm, submission: SubmissionFile, *,
                     idempotency_key: str) -> SubmissionReceipt:
        self.kept.setdefault(idempotency_key, forms.content)
        return SubmissionReceipt(channel=self.identifier, submission_id=f"{idempotency_key}.txt",
                                 accepted=True, idempotency_key=idempotency_key)


def make_forms_plugin() -> SimpleNamespace:
    paper = MemoryPaper()

    @hookimpl
    def medbill_register_claim_form_renderers(context: Any) -> list[ClaimFormRenderer]:
        return [LineForms(), UbLines(), Broken()]

    @hookimpl
    def medbill_register_channels(context: Any) -> list[SubmissionChannel]:
        return [paper]

    return SimpleNamespace(
        paper=paper,
        medbill_register_claim_form_renderers=medbill_register_claim_form_renderers,
        medbill_register_channels=medbill_register_channels)


@pytest.fixture
def medbill_config(medbill_db_url: str) -> MedbillConfig:
    return MedbillConfig(database_url=medbill_db_url, actor="tester",
                         practice=factories.make_practice(),
                         payers={"mailed": factories.make_payer(
                             "mailed", adapter="line_format", channel="mempaper")})


@pytest.fixture
def forms_plugin() -> SimpleNamespace:
    return make_forms_plugin()


@pytest.fixture
def medbill_extra_plugins(forms_plugin):
    return [("lineplug", make_line_plugin()), ("formsplug", forms_plugin)]


def _claims(app, numbers: Sequence[str]) -> list[int]:
    with app.unit_of_work() as work:
        work.patients.register_provider(factories.make_provider())
        patient = work.patients.register(factories.make_patient(1))
        coverage = work.patients.add_coverage(
            patient.id, factories.make_coverage(payer_key="mailed"))
        return [work.claims.create(factories.make_claim(
            patient.id, coverage_id=coverage.id, payer_key="mailed", number=number)).id
            for number in numbers]


def _audit(app, action: str) -> list[dict[str, Any]]:
    with app.unit_of_work(read_only=True) as work:
        return [dict(row.details or {}) for row in work.session.scalars(
            select(AuditEventRow).where(AuditEventRow.action == action)
            .order_by(AuditEventRow.id))]


def test_the_renderer_hook_renders_through_the_registered_renderer(medbill_app) -> None:
    [claim_id] = _claims(medbill_app, ["PF1"])
    with medbill_app.unit_of_work() as work:
        billable = work.claims.billable(claim_id)
    hooks = medbill_app.hooks
    assert [name for _, r in hooks.register_claim_form_renderers()
            for name in [r.identifier]] == ["lineforms", "ublines", "broken"]
    rendered = hooks.render_claim_forms(claims=[billable], renderer="lineforms",
                                        layout=ClaimFormLayout.DATA)
    assert rendered.content == b"data|PF1|125.00\n"
    with pytest.raises(PluginError, match="formsplug.*claim form renderer 'broken'"):
        hooks.render_claim_forms(claims=[billable], renderer="broken",
                                 layout=ClaimFormLayout.FORM)


def test_the_renderer_is_the_one_for_the_claims_kind(medbill_app) -> None:
    context = medbill_app.hooks.context
    professional = factories.make_claim()
    institutional = factories.make_institutional_claim()
    assert renderer_for(context, [professional]) == "broken"  # the first by name
    assert renderer_for(context, [institutional]) == "ublines"
    assert renderer_for(context, [professional], "lineforms") == "lineforms"
    with pytest.raises(ValidationFailed, match=r"claim CLM0101: renderer: the lineforms form "
                                               r"is not for institutional claims"):
        renderer_for(context, [institutional], "lineforms")
    with pytest.raises(NotFound, match=r"^no claim form renderer of that name \(available: "
                                       r"broken, lineforms, ublines\)$"):
        renderer_for(context, [professional], "cms9999")
    with pytest.raises(ValidationFailed, match="no enabled plugin prints claim forms for "
                                               "institutional and professional claims"):
        renderer_for(context, [professional, institutional])


def test_a_rendered_form_is_audited_without_its_content(medbill_app) -> None:
    [claim_id] = _claims(medbill_app, ["PF2"])
    with medbill_app.unit_of_work() as work:
        rendered = render_claim_form(work, "PF2", renderer="lineforms")
    assert rendered.content == b"form|PF2|125.00\n"
    [details] = _audit(medbill_app, "claim.form_rendered")
    assert details == {"renderer": "lineforms", "layout": "form", "pages": 1,
                       "sha256": hashlib.sha256(b"form|PF2|125.00\n").hexdigest(),
                       "findings": 0}
    assert claim_id


def test_a_paper_payers_batch_is_printed_once_through_the_outbox(
        medbill_app, forms_plugin, tmp_path: Path) -> None:
    ids = _claims(medbill_app, ["PP1", "PP2"])
    with medbill_app.unit_of_work() as work:
        scrub_claims(work, ids)
    outcomes = submit(medbill_app)
    assert [(o.status, o.claims) for o in outcomes] == [("sent", 2)]
    [(key, content)] = forms_plugin.paper.kept.items()
    assert content == b"form|PP1|125.00\nform|PP2|125.00\n"
    with medbill_app.unit_of_work() as work:
        assert [work.claims.get(i).state for i in ids] == [ClaimState.SUBMITTED] * 2
        row = work.session.scalars(select(SubmissionRow)).one()
        assert (row.status, row.remote_id) == ("sent", f"{key}.txt")
        # the outbox keeps the batch's list, not an encoded file: nothing electronic is sent
        assert row.content == ("PAPER CLAIMS (printed on claim forms)\n"
                               "PP1|professional|125.00\nPP2|professional|125.00")
        assert row.control_number.startswith("PAPER-") and row.group_control_number is None
        batch = row.id
    [printed] = _audit(medbill_app, "submission.printed")
    assert printed == {"file": f"{key}.txt", "sha256": hashlib.sha256(content).hexdigest(),
                       "pages": 2, "claims": 2, "renderer": "lineforms", "layout": "form",
                       "warnings": 0}
    assert send_pending(medbill_app) == []  # a printed batch is not printed again
    assert len(_audit(medbill_app, "submission.printed")) == 1

    with pytest.raises(ValidationFailed, match=f"batch {batch}: reason: say why"):
        reprint_batch(medbill_app, batch, reason="  ", write_to=tmp_path / "again.pdf")
    assert not (tmp_path / "again.pdf").exists()
    again = reprint_batch(medbill_app, batch, reason="printer jammed on page 2",
                          write_to=tmp_path / "again.pdf")
    assert (tmp_path / "again.pdf").read_bytes() == content
    assert (tmp_path / "again.pdf").stat().st_mode & 0o777 == 0o600
    [reprinted] = _audit(medbill_app, "submission.reprinted")
    assert reprinted["reason"] == "printer jammed on page 2"
    assert reprinted["sha256"] == again.sha256 == printed["sha256"]
    with pytest.raises(NotFound):
        reprint_batch(medbill_app, batch + 100, reason="lost", write_to=tmp_path / "x.pdf")


def test_a_form_that_cannot_be_printed_leaves_the_batch_pending(medbill_app,
                                                                forms_plugin) -> None:
    ids = _claims(medbill_app, ["PP8", "PP9"])
    with medbill_app.unit_of_work() as work:
        scrub_claims(work, ids)
    [outcome] = submit(medbill_app)
    assert outcome.status == "pending"
    assert outcome.error == ("batch 1: claim PP9 box 28: box 28 holds 5 dollar digits")
    assert forms_plugin.paper.kept == {}
    with medbill_app.unit_of_work() as work:
        assert [work.claims.get(i).state for i in ids] == [ClaimState.QUEUED] * 2


# -- over HTTP ----------------------------------------------------------------------------------

@pytest.fixture
def client(medbill_app) -> Iterator[TestClient]:
    app = create_app(medbill_app, authenticate=fake_authenticate)
    try:
        with TestClient(app) as test_client:
            yield test_client
    finally:
        stop_jobs(app)


def test_the_form_over_http_is_a_pdf_or_a_problem(medbill_app, client: TestClient) -> None:
    good, unprintable = _claims(medbill_app, ["PH1", "PH9"])
    response = client.get(f"/v1/claims/{good}/form?renderer=lineforms&layout=data",
                          headers=MANAGER)
    assert response.status_code == 200, response.text
    assert response.content == b"data|PH1|125.00\n"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["content-disposition"] == \
        'attachment; filename="PH1-lineforms-data.txt"'
    assert response.headers["cache-control"] == "no-store"
    problem = assert_problem(client.get(f"/v1/claims/{good}/form?renderer=nosuch",
                                        headers=MANAGER), 404, "not-found")
    assert problem["detail"] == ("no claim form renderer of that name (available: broken, "
                                 "lineforms, ublines)")
    problem = assert_problem(client.get(f"/v1/claims/{good}/form?renderer=ublines",
                                        headers=MANAGER), 422, "validation-failed")
    assert "the ublines form is not for professional claims" in problem["detail"]
    problem = assert_problem(client.get(
        f"/v1/claims/{unprintable}/form?renderer=lineforms", headers=MANAGER), 422,
        "validation-failed")
    assert problem["detail"] == "claim PH9: claim PH9 box 28: box 28 holds 5 dollar digits"
    assert_problem(client.get("/v1/claims/999/form", headers=MANAGER), 404, "not-found")
    with medbill_app.unit_of_work() as work:
        institutional = work.claims.create(factories.make_institutional_claim(
            1, coverage_id=1, payer_key="mailed", number="PH-I")).id
    problem = assert_problem(client.get(f"/v1/claims/{institutional}/form?layout=data",
                                        headers=MANAGER), 422, "validation-failed")
    assert problem["detail"] == "renderer ublines: layout: the ublines form has no data layout"
    # only the one that was drawn and answered is in the audit trail
    assert len(_audit(medbill_app, "claim.form_rendered")) == 1
