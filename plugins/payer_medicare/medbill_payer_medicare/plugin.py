"""Hook implementations of the ``payer_medicare`` plugin (entry point ``medbill.plugins``).

The plugin registers one payer adapter, :class:`~medbill_payer_medicare.adapter.MedicareAdapter`
(identifier ``medicare``). Its claim edits reach the scrubber through the core's default
``medbill_claim_edits`` implementation, which runs the edits of each claim's payer adapter.
"""

from __future__ import annotations

from collections.abc import Sequence

from medbill_core.adapters import PayerAdapter
from medbill_core.hookspecs import hookimpl
from medbill_core.pluginctx import PluginContext
from medbill_payer_medicare.adapter import MedicareAdapter


@hookimpl
def medbill_register_payer_adapters(context: PluginContext) -> Sequence[PayerAdapter]:
    return [MedicareAdapter(context=context)]
