"""A generic_x12 payer's configuration: the core's keys (fee_schedule, program) beside the
adapter's own options, which the adapter's strict options model validates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from medbill_payer_generic_x12 import plugin

from medbill_core.api import ConfigurationError, PayerProgram
from medbill_core.api.testing import PluginHooks, load_config

PAYER = """
[payers.acme]
payer_id = "ACME1"
name = "Acme Health Plan"
adapter = "generic_x12"
{extra}
[payers.acme.options]
submitter_id = "SUB1"
receiver_id = "RECV1"
{options}
"""


def start(tmp_path: Path, *, extra: str = "", options: str = "") -> PluginHooks:
    path = tmp_path / "medbill.toml"
    path.write_text(PAYER.format(extra=extra, options=options))
    return PluginHooks.start(load_config(path, environ={}),
                             extra_plugins=[("payer_generic_x12", plugin)],
                             load_installed=False)


def allowed(hooks: PluginHooks, code: str) -> Decimal | None:
    return hooks.expected_allowed(payer=hooks.context.payer("acme"), procedure_code=code,
                                  modifiers=[], place_of_service="11",
                                  service_date=date(2026, 3, 2))


@pytest.mark.parametrize(("extra", "options"), [
    ('[payers.acme.fee_schedule]\n"99213" = "92.50"\n', ""),
    # written as the configuration template used to show it: start-up refused it
    # ("[payers.acme.options] fee_schedule: extra inputs are not permitted")
    ("", 'fee_schedule = { "99213" = "92.50" }'),
])
def test_a_fee_schedule_starts_and_prices(tmp_path: Path, extra: str, options: str) -> None:
    hooks = start(tmp_path, extra=extra, options=options)
    payer = hooks.context.payer("acme")
    assert "fee_schedule" not in payer.options
    assert allowed(hooks, "99213") == Decimal("92.50")
    assert allowed(hooks, "99214") is None


def test_the_adapter_still_refuses_what_is_not_its_option(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError,
                       match=r"\[payers.acme.options\] program: extra inputs"):
        start(tmp_path, options='program = "medicaid"')


def test_program_is_a_core_setting_with_a_default(tmp_path: Path) -> None:
    assert start(tmp_path).context.payer("acme").effective_program is PayerProgram.COMMERCIAL
    medicaid = start(tmp_path, extra='program = "medicaid"').context.payer("acme")
    assert medicaid.effective_program is PayerProgram.MEDICAID


@pytest.mark.parametrize("phone", ["٢١٧٥٥٥٠١٠٠", "２１７５５５０１００"],
                         ids=["arabic-indic", "full-width"])
def test_the_submitter_phone_takes_ascii_digits_only(tmp_path: Path, phone: str) -> None:
    start(tmp_path, options='submitter_phone = "2175550100"')
    with pytest.raises(ConfigurationError, match=r"\[payers.acme.options\] submitter_phone"):
        start(tmp_path, options=f'submitter_phone = "{phone}"')
