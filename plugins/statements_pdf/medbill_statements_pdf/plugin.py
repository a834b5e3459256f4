"""Hook implementations of the `statements_pdf` plugin (entry point `medbill.plugins`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from medbill_core.api import (
    PluginContext,
    RenderedDocument,
    Statement,
    StatementRenderer,
    hookimpl,
)
from medbill_statements_pdf.htmldoc import HtmlStatementRenderer
from medbill_statements_pdf.pdf import PdfStatementRenderer, PdfSummaryStatementRenderer
from medbill_statements_pdf.plaintext import TextStatementRenderer
from medbill_statements_pdf.pool import MIN_BATCH, POOL, available_cores
from medbill_statements_pdf.settings import StatementsPdfSettings

PLUGIN_NAME = "statements_pdf"
#: The plugin API this plugin was written for (a core that cannot honour it refuses to start it).
MEDBILL_API = "1.6"  # medbill_render_statements


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


@hookimpl
def medbill_render_statements(statements: Sequence[Statement], renderer: str,
                              context: PluginContext) -> list[RenderedDocument] | None:
    """A statement run's PDFs rendered by worker processes (:mod:`.pool`) when the group is
    big enough and there are cores to spare; else ``None`` (rendered one at a time here)."""
    implementation = context.renderers.get(renderer)
    # only this plugin's own PDF renderers: a subclass elsewhere may render differently
    if not (type(implementation) in (PdfStatementRenderer, PdfSummaryStatementRenderer)
            and isinstance(implementation, PdfStatementRenderer)):
        return None
    workers = implementation.settings.render_processes
    if workers is None:
        workers = available_cores() - 1  # this process renders too
    if workers < 1 or len(statements) < MIN_BATCH:
        return None
    return POOL.render(implementation, statements, workers)


@hookimpl
def medbill_register_routes(app: Any) -> None:
    """No routes: in ``medbill serve`` the render workers stop with the server's app. A
    server process ends by its signal's own action once it stopped gracefully (uvicorn
    raises the SIGTERM it caught again), so exit handlers would not stop them."""
    app.router.on_shutdown.append(POOL.close)
