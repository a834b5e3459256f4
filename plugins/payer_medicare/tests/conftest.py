"""Shared fixtures of the payer_medicare tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest


@pytest.fixture
def pyx12_verdict() -> Callable[[str], tuple[bool, list[str]]]:
    """A function: X12 text -> ``(valid, errors)`` from pyx12."""
    from medbill_payer_generic_x12.api import pyx12_verdict as verdict

    return verdict
