"""The adapter validates a payer's options once (an 835 asks for them for every Medicare
claim payment) and again whenever the table differs from the one it validated."""

from __future__ import annotations

import pytest
from medbill_payer_medicare.adapter import MedicareAdapter
from medbill_payer_medicare.testing import make_medicare_payer

from medbill_core.api import MedbillError


def test_the_same_options_are_validated_once() -> None:
    adapter = MedicareAdapter(delegate=None)
    payer = make_medicare_payer(options={"locality": "18", "mac": "01182"})
    first = adapter.options_for(payer)
    again = adapter.options_for(payer.model_copy(deep=True))
    assert again is first
    assert (first.locality, first.mac) == ("18", "01182")


def test_changed_options_are_read_again() -> None:
    adapter = MedicareAdapter(delegate=None)
    payer = make_medicare_payer(options={"locality": "18", "mac": "01182"})
    assert adapter.options_for(payer).locality == "18"
    payer.options["locality"] = "17"  # changed in place: the copy kept tells
    assert adapter.options_for(payer).locality == "17"
    other = make_medicare_payer(options={"locality": "71", "mac": "01182"})
    assert adapter.options_for(other).locality == "71"


def test_invalid_options_still_fail_every_time() -> None:
    adapter = MedicareAdapter(delegate=None)
    payer = make_medicare_payer(options={"locality": "18", "fee_schedule_year": "soon"})
    for _ in range(2):
        with pytest.raises((MedbillError, ValueError)):
            adapter.options_for(payer)
