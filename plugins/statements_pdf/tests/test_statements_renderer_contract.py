"""Every renderer of the plugin passes the core's renderer contract, and the hooks register them."""

from __future__ import annotations

import copy

import pytest
from medbill_statements_pdf.htmldoc import HtmlStatementRenderer
from medbill_statements_pdf.pdf import PdfStatementRenderer, PdfSummaryStatementRenderer
from medbill_statements_pdf.plaintext import TextStatementRenderer
from medbill_statements_pdf.samples import sample_statement

from medbill_core.api import ConfigurationError, MedbillConfig, Statement, StatementRenderer
from medbill_core.api.testing import PluginHooks, StatementRendererContract


class RendererChecks(StatementRendererContract):
    """The core contract, plus checks proposed for ``StatementRendererContract``."""

    @pytest.fixture
    def statement(self) -> Statement:
        return sample_statement()

    def test_identifier_and_document_agree(self, renderer: StatementRenderer,
                                           statement: Statement) -> None:
        assert renderer.identifier == renderer.identifier.lower()
        document = renderer.render(statement)
        assert document.renderer == renderer.identifier

    def test_no_phi_in_the_file_name(self, renderer: StatementRenderer,
                                     statement: Statement) -> None:
        name = renderer.render(statement).filename
        patient = statement.patient
        for value in (patient.first_name, patient.last_name, patient.birth_date.isoformat(),
                      patient.birth_date.strftime("%m%d%Y"), statement.guarantor_name or "-"):
            assert value not in name
        assert "/" not in name and "\\" not in name

    def test_statement_unchanged_and_output_deterministic(
            self, renderer: StatementRenderer, statement: Statement) -> None:
        before = copy.deepcopy(statement)
        first = renderer.render(statement)
        assert statement == before
        assert renderer.render(statement).content == first.content

    def test_long_statement_renders(self, renderer: StatementRenderer) -> None:
        document = renderer.render(sample_statement(60))
        assert document.content


class TestPdfRenderer(RendererChecks):
    @pytest.fixture
    def renderer(self) -> StatementRenderer:
        return PdfStatementRenderer()


class TestPdfSummaryRenderer(RendererChecks):
    @pytest.fixture
    def renderer(self) -> StatementRenderer:
        return PdfSummaryStatementRenderer()


class TestTextRenderer(RendererChecks):
    @pytest.fixture
    def renderer(self) -> StatementRenderer:
        return TextStatementRenderer()


class TestHtmlRenderer(RendererChecks):
    @pytest.fixture
    def renderer(self) -> StatementRenderer:
        return HtmlStatementRenderer()


def _start(**settings: object) -> PluginHooks:
    config = MedbillConfig(plugins=["statements_pdf"],
                           plugin_settings={"statements_pdf": settings} if settings else {})
    return PluginHooks.start(config)


def test_the_plugin_registers_its_renderers_through_the_hook() -> None:
    hooks = _start()
    assert {"pdf", "pdf-summary", "text", "html"} <= set(hooks.context.renderers)
    types = {identifier: hooks.context.renderers[identifier].media_type
             for identifier in ("pdf", "pdf-summary", "text", "html")}
    assert types == {"pdf": "application/pdf", "pdf-summary": "application/pdf",
                     "text": "text/plain", "html": "text/html"}


@pytest.mark.parametrize("identifier", ["pdf", "pdf-summary", "text", "html"])
def test_render_statement_hook_dispatches_to_each_renderer(identifier: str,
                                                           statement: Statement) -> None:
    document = _start().render_statement(statement=statement, renderer=identifier)
    assert document.renderer == identifier
    assert document.filename.startswith("statement-S24-000123.")


def test_settings_reach_the_renderers(statement: Statement) -> None:
    hooks = _start(summary_after_lines=3, dunning_messages={1: "Hello from the settings."})
    assert hooks.context.renderers["pdf"].wants_summary(statement)
    text = hooks.render_statement(statement=statement, renderer="text").content.decode()
    assert "Hello from the settings." in text


def test_bad_settings_stop_start_up_with_a_clear_message() -> None:
    with pytest.raises(ConfigurationError, match="dunning stages are 0 to 4"):
        _start(dunning_messages={9: "?"})
    with pytest.raises(ConfigurationError, match="font file does not exist"):
        _start(font_path="/nonexistent/font.ttf")
