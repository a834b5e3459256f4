"""Renderers for the render pool's tests, importable by name in its worker processes: the
``pdf`` renderer, slowed down in the process that made it (the test's), so that the workers
surely take chunks of a group while that process renders its own."""

from __future__ import annotations

import json
import os
import signal
import sys
import time

from medbill_statements_pdf.pdf import PdfStatementRenderer, StatementRenderError
from medbill_statements_pdf.settings import StatementsPdfSettings

from medbill_core.api import RenderedDocument, Statement


class SlowHere(PdfStatementRenderer):
    """The ``pdf`` renderer, 20 ms slower per statement in the test's own process."""

    def __init__(self, settings: StatementsPdfSettings | None = None) -> None:
        super().__init__(settings)
        self.home = os.getpid()

    def in_worker(self) -> bool:
        return os.getpid() != self.home

    def render(self, statement: Statement) -> RenderedDocument:
        if not self.in_worker():
            time.sleep(0.02)
        return super().render(statement)


class Reporting(SlowHere):
    """A document saying which process made it and what that process had imported."""

    def render(self, statement: Statement) -> RenderedDocument:
        document = super().render(statement)
        report = {"pid": os.getpid(), "main": getattr(sys.modules["__main__"], "__file__", None),
                  "modules": sorted(name for name in ("sqlalchemy", "medbill_core.services",
                                                      "medbill_core.app", "fastapi")
                                    if name in sys.modules)}
        return document.model_copy(update={"content": json.dumps(report).encode()})


class FailsOn(SlowHere):
    """Cannot render the statement numbered ``failing`` (anywhere)."""

    def __init__(self, failing: str) -> None:
        super().__init__()
        self.failing = failing

    def render(self, statement: Statement) -> RenderedDocument:
        if statement.statement_number == self.failing:
            raise StatementRenderError(f"statement {self.failing}: cannot be rendered")
        return super().render(statement)


class KillsItsWorker(SlowHere):
    """The worker that meets the statement numbered ``fatal`` is killed (SIGKILL)."""

    def __init__(self, fatal: str) -> None:
        super().__init__()
        self.fatal = fatal

    def render(self, statement: Statement) -> RenderedDocument:
        if statement.statement_number == self.fatal and self.in_worker():
            os.kill(os.getpid(), signal.SIGKILL)
        return super().render(statement)
