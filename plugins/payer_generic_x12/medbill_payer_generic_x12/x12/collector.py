"""Pausing CPython's cyclic garbage collector while a document's objects are built.

A decode builds many small containers that all live until it returns (segments, elements,
the claims' records) and makes no reference cycles. The cyclic collector does not know that:
each time the number of live objects has grown by a quarter it scans all of them again, so a
batch of inpatient claims spent half its decoding time in those scans (``bench/bench_837.py``:
1,431 claims/s with the collector, 3,037 without). Reference counting still frees every
acyclic object at once; the collector runs again, as before, when the decode ends.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def cyclic_collection_paused() -> Iterator[None]:
    """The collector off for the block, then back as it was (left off if it was off: a
    caller that disabled it, or an enclosing decode, keeps it so)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
