"""What the statement renderers (PDF, plain text, HTML) share: settings and the document."""

from __future__ import annotations

from medbill_core.api import RenderedDocument, Statement, StatementRenderer
from medbill_statements_pdf import view
from medbill_statements_pdf.settings import StatementsPdfSettings


class PluginStatementRenderer(StatementRenderer):
    """A renderer configured by :class:`StatementsPdfSettings`; ``summary``: one row per claim."""

    summary: bool = False

    def __init__(self, settings: StatementsPdfSettings | None = None) -> None:
        self.settings = settings or StatementsPdfSettings()

    def document(self, statement: Statement, content: bytes,
                 pages: int | None = None) -> RenderedDocument:
        """The rendered ``content``, named by the statement number (never by patient)."""
        return RenderedDocument(renderer=self.identifier, media_type=self.media_type,
                                filename=view.safe_filename(statement, self.file_extension),
                                content=content, pages=pages)
