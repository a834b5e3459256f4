"""How many claim payments each batch of a part of an 835 takes (issue 14): the first batch
of a part a fixed number, the later ones as many as the part's pace says fit in the time it
has left, never more than the part has room for. The clock is a fake one: nothing here is
timed."""

from __future__ import annotations

from typing import Any

import pytest

from medbill_core.services import remittance_parts
from medbill_core.services.remittance_parts import PART_SECONDS, _Parts


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    fake = _Clock()
    monkeypatch.setattr(remittance_parts, "time", fake)
    return fake


def _part_under_way(clock: _Clock, *, posted: int, seconds: float,
                    claims_per_part: int = 500) -> _Parts:
    parts = _Parts(app=None, row_id=1, total=10_000)  # type: ignore[arg-type]
    parts.claims_per_part = claims_per_part
    parts._work = object()  # type: ignore[assignment]  # a part's transaction is open
    parts._started = clock.now
    parts.posted(posted)
    clock.now += seconds
    return parts


def test_a_part_starts_with_the_fixed_batch(clock: _Clock) -> None:
    parts = _Parts(app=None, row_id=1, total=10_000)  # type: ignore[arg-type]
    assert parts.batch_size() == remittance_parts._BATCH == 100


def test_a_fast_part_takes_what_fits_in_the_time_left(clock: _Clock) -> None:
    # 100 claim payments in 0.2 s: 0.8 s left holds 400 at that pace, 320 with the margin
    parts = _part_under_way(clock, posted=100, seconds=0.2)
    assert PART_SECONDS == 1.0
    assert parts.batch_size() == 320


def test_never_more_than_the_part_has_room_for(clock: _Clock) -> None:
    parts = _part_under_way(clock, posted=100, seconds=0.01)
    assert parts.batch_size() == 400


def test_a_slow_part_keeps_the_fixed_batch(clock: _Clock) -> None:
    # 100 in 0.9 s: what would fit in the 0.1 s left is fewer than the fixed batch
    assert _part_under_way(clock, posted=100, seconds=0.9).batch_size() == 100
    # over its time (the part commits after this batch): the fixed batch, never less
    assert _part_under_way(clock, posted=100, seconds=1.5).batch_size() == 100


def test_a_small_part_size_bounds_the_first_batch_too(clock: _Clock) -> None:
    parts: Any = _Parts(app=None, row_id=1, total=100)  # type: ignore[arg-type]
    parts.claims_per_part = 20
    assert parts.batch_size() == 20
    assert _part_under_way(clock, posted=15, seconds=0.01, claims_per_part=20).batch_size() == 5
