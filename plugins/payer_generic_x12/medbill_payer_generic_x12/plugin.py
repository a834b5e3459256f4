"""Hook implementations of the `payer_generic_x12` plugin (entry point `medbill.plugins`)."""

from __future__ import annotations

from medbill_core.hookspecs import hookimpl  # noqa: F401  (hooks are added with the plugin's issue)
