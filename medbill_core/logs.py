"""Logging set-up. medbill logs identifiers, codes, counts and timings, never PHI.

Code that logs follows one rule: name records by internal id or claim number,
never by a patient's name, birth date, member ID or address. The PHI tests
enforce it by pushing PHI through the system and scanning every log record.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is at the time of the record.

    A plain ``StreamHandler()`` keeps the stream of its creation; test runners and
    ``CliRunner`` swap ``sys.stderr`` and close theirs, which broke later records.
    """

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def configure_logging(level: str = "WARNING") -> None:
    """Send medbill's log records to stderr at ``level`` (idempotent)."""
    logger = logging.getLogger("medbill")
    core_logger = logging.getLogger("medbill_core")
    if not any(getattr(h, "_medbill", False) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter(FORMAT))
        handler._medbill = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        core_logger.addHandler(handler)
    logger.setLevel(level)
    core_logger.setLevel(level)
