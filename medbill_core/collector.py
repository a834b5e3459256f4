"""The cyclic garbage collector around bulk work: thresholds raised for the process, and
pauses while a service builds many objects that hold no reference cycles.

Reference counting frees rows, domain objects and X12 segments as soon as they are dropped;
what CPython's cyclic collector adds while a batch or a report runs is scanning, over and
over, everything the batch still holds. Both measures here keep that scanning to a few passes.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: CPython's default threshold of young collections: a process that kept it gets ours.
_DEFAULT_YOUNG_THRESHOLD = 700
#: Young collections after 10,000 new container objects instead of 700. A batch of claims
#: allocates hundreds of thousands of short-lived objects (rows, domain objects, X12
#: segments) that reference counting frees; the default threshold ran a collection every few
#: claims, each scanning everything the batch still held: a sixth of the cycle's CPU
#: (1,000 claims: 9.6-9.9 -> 7.5-8.6 CPU s). Not higher: at 50,000 the cyclic garbage
#: waiting between collections tripled the peak of posting a large 835
#: (plugins/demo/tests/test_remit_streaming.py) for 5% less CPU.
_BULK_THRESHOLDS = (10_000, 10, 10)


def tune_garbage_collector() -> None:
    """Raise the collector's thresholds for bulk work, unless the process set its own
    (a program that embeds medbill and tuned them keeps its values)."""
    if gc.get_threshold()[0] == _DEFAULT_YOUNG_THRESHOLD:
        gc.set_threshold(*_BULK_THRESHOLDS)


class _CollectorPause:
    """Pauses of the collector counted across threads (``medbill serve`` posts and reports in
    several): the first pause disables it, the last one out enables it again if it was
    enabled. A pause that saved and restored ``gc.isenabled()`` on its own would, overlapping
    another, restore "disabled" for good."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._was_enabled = False

    def enter(self) -> None:
        with self._lock:
            if self._depth == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._depth += 1

    def leave(self) -> None:
        with self._lock:
            self._depth -= 1
            if self._depth == 0 and self._was_enabled:
                gc.enable()


_collector_pause = _CollectorPause()


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while the block builds many acyclic objects.

    Posting a part of an 835 allocates thousands of small objects per claim payment, and a
    report over 1,000,000 claims holds 100,000 rows and items at once: with them alive,
    CPython's collections kept scanning them again (a fifth of the CPU of posting an 835; up
    to 0.5 s of the 2.2 s of ``ar followup`` at 1,000,000 claims). Use it only where what the
    block leaves for the collector is bounded (a part, one report): the first collection
    after it frees that.
    """
    _collector_pause.enter()
    try:
        yield
    finally:
        _collector_pause.leave()
