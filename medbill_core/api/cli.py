"""What a plugin that adds commands (hook ``medbill_register_commands``) uses of the CLI.

* :func:`cli_errors` wraps a command: medbill's errors and invalid records become one line
  on stderr and an exit code, never a traceback (and never a value: it may be PHI);
* :func:`fail` is the one-line error a command raises itself (``raise fail("...", 2)``);
* :data:`console` / :data:`err_console` print to stdout / stderr as the core's commands do;
* :func:`load_cli_config` reads the configuration the user named (``medbill -c FILE``,
  ``MEDBILL_CONFIG`` or ``./medbill.toml``).

Same stability promise as :mod:`medbill_core.api`. Importing this module is cheap; each name
is imported when first used (the CLI internals need Typer and Rich).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from medbill_core.api._lazy import homes_by_name, lazy_attributes

if TYPE_CHECKING:  # what type checkers and editors see; at run time _EXPORTS is read
    from medbill_core.cli.common import cli_errors, console, err_console, fail, load_cli_config

#: Each public name by its home module (``"attribute as name"`` renames).
_EXPORTS: dict[str, tuple[str, ...]] = {
    "medbill_core.cli.common": (
        "cli_errors", "console", "err_console", "fail", "load_cli_config",
    ),
}

__all__ = [
    "cli_errors", "console", "err_console", "fail", "load_cli_config",
]

if not TYPE_CHECKING:  # type checkers see the imports above: a misspelt name fails there
    __getattr__, __dir__ = lazy_attributes(globals(), homes_by_name(_EXPORTS))
