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
from typing import Annotated

import typer

from medbill_core.api import Payer, PayerAdapter, PluginContext, hookimpl
from medbill_payer_medicare.adapter import MedicareAdapter
from medbill_payer_medicare.mbi import check_mbi


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


@hookimpl
def medbill_register_commands(app: typer.Typer) -> None:
    """Adds ``medbill validate mbi VALUE`` to the core's ``validate`` group."""
    for group in app.registered_groups:
        if group.name == "validate" and group.typer_instance is not None:
            group.typer_instance.command("mbi")(validate_mbi)
            return


def validate_mbi(value: Annotated[str, typer.Argument(help="Medicare Beneficiary Identifier")],
                 allow_test: Annotated[bool, typer.Option(
                     "--allow-test", help="Accept synthetic test MBIs (S in position 2)")] = False,
                 as_json: Annotated[bool, typer.Option(
                     "--json", help="The answer as JSON (exit codes unchanged)")] = False,
                 ) -> None:
    """A Medicare Beneficiary Identifier: 11 characters, CMS position rules, no S L O I B Z."""
    verdict = check_mbi(value, allow_test=allow_test)
    if as_json:
        import json

        typer.echo(json.dumps({"valid": verdict.valid, "message": verdict.reason
                               or "Medicare Beneficiary Identifier (CMS format)",
                               "test_identifier": bool(verdict.test_identifier)}, indent=2))
        if not verdict.valid:
            raise typer.Exit(1)
        return
    if verdict.valid:
        typer.echo("valid: Medicare Beneficiary Identifier (CMS format)"
                   + (" — synthetic test identifier" if verdict.test_identifier else ""))
        return
    typer.echo(f"invalid: {verdict.reason}")
    raise typer.Exit(1)
