"""Hook implementations of the `statements_pdf` plugin (entry point `medbill.plugins`)."""

from __future__ import annotations

from medbill_core.api import PluginContext, StatementRenderer, hookimpl
from medbill_statements_pdf.htmldoc import HtmlStatementRenderer
from medbill_statements_pdf.pdf import PdfStatementRenderer, PdfSummaryStatementRenderer
from medbill_statements_pdf.plaintext import TextStatementRenderer
from medbill_statements_pdf.settings import StatementsPdfSettings

PLUGIN_NAME = "statements_pdf"
#: The plugin API this plugin was written for (a core that cannot honour it refuses to start it).
MEDBILL_API = "1.4"  # Address.mailing_lines


@hookimpl
def medbill_plugin_settings_model() -> type[StatementsPdfSettings]:
    return StatementsPdfSettings


def renderers(settings: StatementsPdfSettings | None = None) -> list[StatementRenderer]:
    """The plugin's renderers: ``pdf``, ``pdf-summary``, ``text`` and ``html``."""
    settings = settings or StatementsPdfSettings()
    return [PdfStatementRenderer(settings), PdfSummaryStatementRenderer(settings),
            TextStatementRenderer(settings), HtmlStatementRenderer(settings)]


@hookimpl
def medbill_register_statement_renderers(context: PluginContext) -> list[StatementRenderer]:
    return renderers(context.settings_for(PLUGIN_NAME))
