"""The test kit of the plugin API: what a plugin's own tests import from the core.

* contract suites a plugin's tests subclass to prove the rules every adapter, channel and
  renderer follows: :class:`PayerAdapterContract`, :class:`SubmissionChannelContract`,
  :class:`StatementRendererContract` (with :data:`GARBAGE_DOCUMENTS` and :func:`phi_values`,
  the PHI a message must never carry);
* :mod:`factories` (valid domain objects to start from: ``factories.make_billable_claim()``)
  and :mod:`mpfs_files` (small Medicare fee-schedule release files);
* :class:`PluginHooks` and :func:`load_config`: start plugins as the core does, e.g.
  ``PluginHooks.start(MedbillConfig(...), extra_plugins=[("name", module)],
  load_installed=False)``, then call hooks through the facade;
* :mod:`hookspecs` (the hook specifications, to check a plugin module against them with a
  bare ``pluggy.PluginManager(PROJECT_NAME)``);
* :func:`command_line_app` (``command_line_app(argv)``: the ``medbill`` Typer app for
  ``argv`` with the enabled plugins' commands, for ``typer.testing.CliRunner``);
* :func:`update_code_sets` (load code-set releases into a data folder, as
  ``medbill codes update`` does) and :func:`line_adjudications` (how the core turns a
  primary payer's claim payment into the line adjudications of a secondary claim).

The pytest fixtures (``medbill_db_url``, ``medbill_config``, ``medbill_extra_plugins``,
``medbill_app``...) come with the core's pytest plugin, active wherever medbill is installed;
nothing needs importing for them.

Same stability promise as :mod:`medbill_core.api`. Importing this module is cheap (package
code such as sample generators may use :mod:`factories`): each name is imported when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from medbill_core.api._lazy import homes_by_name, lazy_attributes

if TYPE_CHECKING:  # what type checkers and editors see; at run time _EXPORTS is read
    from medbill_core import hookspecs
    from medbill_core.cli.main import application as command_line_app
    from medbill_core.codesets.update import update as update_code_sets
    from medbill_core.config import load_config
    from medbill_core.plugins import PluginHooks
    from medbill_core.services.remittance import line_adjudications
    from medbill_core.testing import factories, mpfs_files
    from medbill_core.testing.contracts import (
        GARBAGE_DOCUMENTS,
        PayerAdapterContract,
        StatementRendererContract,
        SubmissionChannelContract,
        phi_values,
    )

#: Each public name by its home module (``"attribute as name"`` renames).
_EXPORTS: dict[str, tuple[str, ...]] = {
    "medbill_core.testing.contracts": (
        "GARBAGE_DOCUMENTS", "PayerAdapterContract", "StatementRendererContract",
        "SubmissionChannelContract", "phi_values",
    ),
    "medbill_core.testing": (
        "factories", "mpfs_files",
    ),
    "medbill_core": (
        "hookspecs",
    ),
    "medbill_core.plugins": (
        "PluginHooks",
    ),
    "medbill_core.config": (
        "load_config",
    ),
    "medbill_core.cli.main": (
        "application as command_line_app",
    ),
    "medbill_core.codesets.update": (
        "update as update_code_sets",
    ),
    "medbill_core.services.remittance": (
        "line_adjudications",
    ),
}

__all__ = [
    "GARBAGE_DOCUMENTS",
    "PayerAdapterContract",
    "PluginHooks",
    "StatementRendererContract",
    "SubmissionChannelContract",
    "command_line_app",
    "factories",
    "hookspecs",
    "line_adjudications",
    "load_config",
    "mpfs_files",
    "phi_values",
    "update_code_sets",
]

if not TYPE_CHECKING:  # type checkers see the imports above: a misspelt name fails there
    __getattr__, __dir__ = lazy_attributes(globals(), homes_by_name(_EXPORTS))
