"""Posting an 835 streams it (issue 11, item 11): the memory a posting takes does not grow
with the file. A file of 4N interchanges takes about the memory of a file of N (measured
with tracemalloc around the posting, the file's text being in memory before); no timing is
asserted."""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path

import pytest
from remit_support import (
    claim_number,
    open_app,
    paid,
    remittance,
    seed_claims,
    write_config,
    x12_835,
)

from medbill_core.app import Medbill
from medbill_core.domain import DocumentKind, InboundDocument
from medbill_core.services import remittance_parts
from medbill_core.services.responses import ingest_document

CLAIMS = 5


def peak_while_posting(app: Medbill, text: str, name: str) -> int:
    """Bytes allocated at the peak of posting ``text`` (beyond what was allocated before)."""
    document = InboundDocument(channel="file", kind=DocumentKind.REMITTANCE_835,
                               document_id=name, content=text)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        result = ingest_document(app, document)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert result.status == "applied", result.detail
    return peak


def test_posting_memory_is_flat_in_the_file_size(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # small parts, so that both files are posted in many of them (as a large file is)
    monkeypatch.setattr(remittance_parts, "PART_CLAIMS", 20)
    monkeypatch.setattr(remittance_parts, "_SQLITE_YIELD_SECONDS", 0)
    app = open_app(write_config(tmp_path, tmp_path / "medbill.db"))
    # CPython's own thresholds while measuring: the peak is then what posting holds, not how
    # much garbage waits for the next collection (bounded by the thresholds Medbill.open sets
    # for bulk work, whatever the file's size, but large beside this test's small peaks)
    thresholds = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    try:
        seed_claims(app, CLAIMS)
        one = x12_835(remittance("EFT-MEM", [paid(claim_number(i)) for i in range(CLAIMS)]))
        # the same payment sent again and again (2,601 times in the reported 10 MB file):
        # posted once, recognised as already posted after that
        peak_while_posting(app, one, "warm-up")  # caches, compiled statements, first posting
        small = peak_while_posting(app, one * 40, "small")
        large = peak_while_posting(app, one * 160, "large")
    finally:
        gc.set_threshold(*thresholds)
        app.close()
    # decoded whole (before), 4 times the interchanges took 4 times the memory (0.8 MB, then
    # 3.2 MB); streamed, the extra interchanges are read and dropped (0.3 MB, then 0.5 MB)
    assert large < small * 5 // 2, (small, large)
