"""Hook implementations of the ``payer_medicare`` plugin (entry point ``medbill.plugins``).

The plugin registers one payer adapter, :class:`~medbill_payer_medicare.adapter.MedicareAdapter`
(identifier ``medicare``) and answers ``medbill_expected_allowed`` for Medicare payers from the
Medicare Physician Fee Schedule. Its claim edits reach the scrubber through the core's default
``medbill_claim_edits`` implementation, which runs the edits of each claim's payer adapter.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from medbill_core.adapters import PayerAdapter
from medbill_core.domain import Payer
from medbill_core.hookspecs import hookimpl
from medbill_core.pluginctx import PluginContext
from medbill_payer_medicare.adapter import MedicareAdapter


@hookimpl
def medbill_register_payer_adapters(context: PluginContext) -> Sequence[PayerAdapter]:
    return [MedicareAdapter(context=context)]


@hookimpl
def medbill_expected_allowed(payer: Payer, procedure_code: str, modifiers: Sequence[str],
                             place_of_service: str, service_date: date,
                             context: PluginContext) -> Decimal | None:
    """The MPFS amount per unit for payers whose adapter is ``medicare`` (``None`` otherwise)."""
    adapter = context.adapters.get(MedicareAdapter.identifier)
    if payer.adapter != MedicareAdapter.identifier or not isinstance(adapter, MedicareAdapter):
        return None
    return adapter.expected_allowed(payer, procedure_code, modifiers, place_of_service,
                                    service_date)
