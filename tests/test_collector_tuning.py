"""Opening medbill raises the garbage collector's thresholds for bulk work, and leaves a
process's own thresholds alone."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from medbill_core.collector import tune_garbage_collector


@pytest.fixture
def thresholds() -> Iterator[None]:
    saved = gc.get_threshold()
    yield
    gc.set_threshold(*saved)


def test_the_default_thresholds_are_raised(thresholds: None) -> None:
    gc.set_threshold(700, 10, 10)
    tune_garbage_collector()
    assert gc.get_threshold() == (10_000, 10, 10)


def test_a_process_that_chose_its_own_keeps_them(thresholds: None) -> None:
    gc.set_threshold(1234, 5, 6)
    tune_garbage_collector()
    assert gc.get_threshold() == (1234, 5, 6)
