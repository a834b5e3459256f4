"""The hook the 837 intake reads claim files through (``medbill_decode_claims``), called by the
core only through the facade: a plugin's answer is checked, no answer is one line."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from medbill_core.config import MedbillConfig
from medbill_core.domain import DecodedClaim, DecodedClaimFile
from medbill_core.errors import AdapterNotAvailable, PluginError
from medbill_core.hookspecs import hookimpl
from medbill_core.plugins import PluginHooks
from medbill_core.testing import factories


def _start(*plugins: tuple[str, object]) -> PluginHooks:
    config = MedbillConfig(database_url="sqlite://", plugins=[], actor="tester",
                           practice=factories.make_practice(),
                           payers={"acme": factories.make_payer("acme", adapter="none")})
    return PluginHooks.start(config, extra_plugins=plugins, load_installed=False)


def _reader(answer: object) -> SimpleNamespace:
    @hookimpl
    def medbill_decode_claims(content: str, context: object) -> object:
        return answer if content.startswith("EHRX") else None

    return SimpleNamespace(medbill_decode_claims=medbill_decode_claims)


def test_the_first_plugin_that_reads_the_file_answers() -> None:
    read = DecodedClaimFile(implementation="EHRX-1", interchange_control_number="42",
                            sender_id="CLINIC-A", claims=[DecodedClaim(
                                position=2, claim_number="C1", refusal="row 2: no diagnosis")])
    hooks = _start(("ehrx", _reader(read)))
    assert hooks.decode_claims(content="EHRX,...") == read
    with pytest.raises(AdapterNotAvailable, match="^no enabled plugin can read an 837 claim "
                                                  "file$"):
        hooks.decode_claims(content="ISA*00*...")


def test_an_answer_the_intake_cannot_use_names_the_plugin() -> None:
    hooks = _start(("sloppy", _reader({"claims": []})))
    with pytest.raises(PluginError, match="^plugin 'sloppy': medbill_decode_claims"):
        hooks.decode_claims(content="EHRX,...")


def test_a_decoded_claim_is_either_read_or_refused() -> None:
    with pytest.raises(ValueError, match="either read"):
        DecodedClaim(position=3, claim_number="C1")
    with pytest.raises(ValueError, match="either read"):
        DecodedClaim(position=3, bill=factories.make_billable_claim(), refusal="both")
