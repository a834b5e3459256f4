"""Hook implementations of the `statements_pdf` plugin (entry point `medbill.plugins`)."""

from __future__ import annotations

from medbill_core.hookspecs import hookimpl  # noqa: F401  (hooks are added with the plugin's issue)
