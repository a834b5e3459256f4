"""The command-line test helpers by their old, plain name (they live in the core's test kit,
:mod:`medbill_core.testing.cli`, so plugins' suites can use them too)."""

from medbill_core.testing.cli import (
    BLUECROSS,
    cli,
    config_text,
    narrow_terminal,
    ok,
    one_line_error,
)

__all__ = ["BLUECROSS", "cli", "config_text", "narrow_terminal", "ok", "one_line_error"]
