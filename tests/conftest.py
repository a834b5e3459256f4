import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# Test helper modules (in-test plugins) import by plain name under --import-mode=importlib.
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def cli_isolation(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No MEDBILL_* from the outside, cwd in tmp, and medbill's loggers restored afterwards
    (the CLI configures them in-process)."""
    for name in list(os.environ):
        if name.startswith("MEDBILL_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    loggers = [logging.getLogger(name) for name in ("medbill", "medbill_core")]
    saved = [(logger.level, list(logger.handlers)) for logger in loggers]
    yield
    for logger, (level, handlers) in zip(loggers, saved, strict=True):
        logger.setLevel(level)
        logger.handlers[:] = handlers
