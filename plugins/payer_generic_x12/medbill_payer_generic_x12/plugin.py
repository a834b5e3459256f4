"""Hook implementations of the ``payer_generic_x12`` plugin (entry point ``medbill.plugins``)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from medbill_core.api import hookimpl
from medbill_payer_generic_x12.adapter import GenericX12Adapter
from medbill_payer_generic_x12.x12.control import (
    MAX_BLOCK_SIZE,
    ControlNumberSource,
    MemoryControlNumbers,
    SQLiteControlNumbers,
)

if TYPE_CHECKING:
    import typer

    from medbill_core.api import DecodedClaimFile, PayerAdapter, PluginContext

PLUGIN_NAME = "payer_generic_x12"
#: The plugin API this plugin was written for (a core that cannot honour it refuses to start it).
MEDBILL_API = "1.3"  # medbill_decode_claims


class GenericX12Settings(BaseModel):
    """``[plugins.payer_generic_x12]``.

    :ivar control_numbers_path: SQLite file keeping ISA13/GS06 counters. Set it in production:
        without it numbers start from the clock and are not remembered across runs.
    :ivar control_number_block: how many numbers one reservation in that file takes (each
        reservation is a committed transaction; numbers a process reserved but did not use are
        skipped). 1 gives consecutive numbers to a clearinghouse that wants them.
    :ivar strict_decoding: refuse inbound documents that are structurally sound but have
        error findings (an 835 that does not balance, characters outside the X12 sets ...);
        by default they are read and the findings left to the steps that use them.
    """

    model_config = ConfigDict(extra="forbid")

    control_numbers_path: str | None = None
    control_number_block: int = Field(default=50, ge=1, le=MAX_BLOCK_SIZE)
    strict_decoding: bool = False


@hookimpl
def medbill_plugin_settings_model() -> type[BaseModel]:
    return GenericX12Settings


def _control_numbers(settings: GenericX12Settings | None) -> ControlNumberSource:
    if settings is not None and settings.control_numbers_path:
        return SQLiteControlNumbers(settings.control_numbers_path,
                                    block_size=settings.control_number_block)
    # Seeded from the clock so two runs without a configured file rarely reuse a number.
    return MemoryControlNumbers(start=int(time.time()) % 900_000_000 + 1)


@hookimpl
def medbill_register_payer_adapters(context: PluginContext) -> Sequence[PayerAdapter]:
    settings = context.settings_for(PLUGIN_NAME)
    return [GenericX12Adapter(control_numbers=_control_numbers(settings),
                              strict=settings.strict_decoding if settings else False)]


@hookimpl
def medbill_decode_claims(content: str, context: PluginContext) -> DecodedClaimFile | None:
    """An 837P/837I batch a practice sent in, claim by claim (:mod:`.claim_intake`)."""
    from medbill_payer_generic_x12.claim_intake import decode_claim_file

    if not content.lstrip("\ufeff \t\r\n").startswith(("ISA", "ST")):
        return None  # not X12: another plugin's format, if any
    return decode_claim_file(content)


@hookimpl
def medbill_register_commands(app: typer.Typer) -> None:
    from medbill_payer_generic_x12.cli import app as x12_app

    app.add_typer(x12_app, name="x12")
