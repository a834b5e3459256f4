"""Posting an 835 as it is read, in parts that each commit on their own.

A clearinghouse file may hold thousands of claim payments. Decoded whole and posted in one
transaction it takes memory in proportion to its size and, on SQLite, holds the write lock
for as long as the posting lasts: every other command waits, then fails. Here the file is
decoded claim payment by claim payment (the adapter's
:meth:`~medbill_core.adapters.PayerAdapter.stream_remittances`) and posted in parts of at most
:data:`PART_CLAIMS` claim payments or :data:`PART_SECONDS` seconds, each in its own transaction
(:class:`~medbill_core.services.remittance.PostingRun`), so memory stays flat and another
writer waits a second or two at most.

Before anything is posted the whole file is read once (nothing kept): a file that cannot be
decoded posts nothing. While posting, the document's row says how far it got
(``posting``, "posting: 200 of 540 claim payments done"); a posting broken off (a killed
process, a locked database) is finished by posting the file again: each claim payment is
posted under its own key, so what was committed is recognised and not posted twice.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import timedelta
from typing import Any

from sqlalchemy import update

from medbill_core.adapters import PayerAdapter, RemittanceParts
from medbill_core.app import Medbill, UnitOfWork
from medbill_core.collector import collector_paused
from medbill_core.domain import ClaimPayment, InboundDocument
from medbill_core.services.remittance import (
    DifferingFigures,
    PostingRun,
    RemittancePostingResult,
    post_remittance,
)
from medbill_core.services.remittance_dates import check_remittance_dates
from medbill_core.services.remittance_register import RemittanceStatus
from medbill_core.storage.schema import DocumentStatus, InboundDocumentRow, as_utc, utcnow

#: a part commits after this many claim payments (``MEDBILL_POSTING_PART_CLAIMS`` sets
#: another number) ...
PART_CLAIMS = 500
#: ... or once it has taken this long (a claim payment with many lines posts slowly)
PART_SECONDS = 1.0
#: claim payments posted together (one batch of :func:`post_remittance`: a few queries for
#: all of them), between two looks at the clock, at the start of a part; never more than the
#: part has room for
_BATCH = 100
#: later batches of a part take as many claim payments as the part's pace so far says fit in
#: this share of what is left of :data:`PART_SECONDS` (a batch's queries are paid once for all
#: its claim payments: a part of 500 in two or three batches, not five; the 835s of a
#: 1,000-claim demo cycle post with 8-15% less CPU, issue 14)
_PACE_MARGIN = 0.8
#: after a part, SQLite's write lock is left free this long: a waiting writer polls for it
#: (its busy handler sleeps up to 100 ms between tries) and would otherwise find it taken
#: again by the next part every time, until its busy timeout ran out
_SQLITE_YIELD_SECONDS = 0.1
#: ... once per this many seconds of posting, not after every part: a part of 100 claim
#: payments takes ~0.3 s, so a pause after each added a third to a large 835's posting time
#: (issue 14), while a waiting writer (10 s busy timeout) still gets in within a second
_SQLITE_YIELD_EVERY_SECONDS = 1.0
#: the document row's status while its parts are being posted (or after a broken-off posting)
#: how long a posting process holds its document without committing a part (it renews the
#: lease with each part); another process posting the same document meanwhile stands back
LEASE = timedelta(seconds=60)
_DETAIL_MAX = 500


def lease_holder() -> str:
    """This process, as a lease names it: host and process id."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}"


def take_lease(row: InboundDocumentRow) -> None:
    row.lease_until = utcnow() + LEASE
    row.lease_holder = lease_holder()


def held_elsewhere(row: InboundDocumentRow) -> bool:
    """Another live process is posting the document now: its lease holds (a holder on this
    host that no longer runs, killed mid-posting, holds nothing)."""
    if row.status != DocumentStatus.POSTING or row.lease_until is None \
            or row.lease_holder is None \
            or row.lease_holder == lease_holder():
        return False
    if as_utc(row.lease_until) <= utcnow():
        return False
    host, _, pid = row.lease_holder.rpartition(":")
    return not (host == socket.gethostname()[:60] and pid.isdigit() and not _alive(int(pid)))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def streaming_adapter(app: Medbill, document: InboundDocument) -> PayerAdapter | None:
    """The adapter that can stream ``document`` (an 835), or ``None``: decode it whole.

    Only when no plugin decodes documents itself (the core's dispatch to adapters is the one
    implementation of the hook): such a plugin's answer must win, as it does for decoding.
    """
    implementations = app.hooks.manager.hook.medbill_decode_response.get_hookimpls()
    if len(implementations) != 1:
        return None
    for adapter in app.hooks.context.adapters.values():
        if app.hooks.stream_remittances(adapter, document) is not None:
            return adapter
    return None


def count_claim_payments(app: Medbill, adapter: PayerAdapter, document: InboundDocument) -> int:
    """Read the whole document once, keeping nothing: its number of claim payments.

    :raises DecodeError: the document cannot be read (nothing has been posted yet).
    :raises ValidationFailed: a remittance's payment or production date is not plausible
        (:func:`~medbill_core.services.remittance_dates.check_remittance_dates`).
    """
    count = 0
    for parts in _streams(app, adapter, document):
        for _ in parts.claims():
            count += 1
        _ = parts.provider_adjustments
        check_remittance_dates(parts.header)
    return count


def remittance_summary(trace_number: str, result: RemittancePostingResult) -> str:
    """One remittance's posting in words, for the document's detail and ``remit post``."""
    flagged = (f", {len(result.findings)} flagged ("
               + ", ".join(sorted({f.code for f in result.findings})) + ")"
               if result.findings else "")
    unbalanced = (f", {len(result.unbalanced)} not balanced or not believable (exceptions, "
                  "not posted)" if result.unbalanced else "")
    out_of_balance = ("; out of balance" if result.status == RemittanceStatus.OUT_OF_BALANCE
                      else "")
    kept = (f", {result.kept_open} kept open to work (medbill denials list)"
            if result.kept_open else "")
    if result.held:
        kept += (f", {len(result.held)} reversals held until the answer they reverse "
                 "arrives")
    differing = (f", {len(result.differing)} differing from what this trace posted, not "
                 "posted (" + ", ".join(item.claim_number for item in result.differing) + ")"
                 if result.differing else "")
    return (f"835 {trace_number}: {len(result.posted)} posted, "
            f"{len(result.duplicates)} already posted, {len(result.unmatched)} unmatched"
            + differing + unbalanced + kept + flagged + out_of_balance)


class _Parts:
    """The transaction of the part being posted: opened when needed, committed when due."""

    def __init__(self, app: Medbill, row_id: int, total: int) -> None:
        self.app = app
        self.claims_per_part = _claims_per_part()
        self.row_id = row_id
        self.total = total
        self.done = 0
        self._context: AbstractContextManager[UnitOfWork] | None = None
        self._work: UnitOfWork | None = None
        #: the collector's pause for as long as the part's transaction is open (see :attr:`work`)
        self._pause: AbstractContextManager[None] | None = None
        self._started = 0.0
        self._claims = 0
        self._yielded = time.monotonic()

    @property
    def work(self) -> UnitOfWork:
        if self._work is None:
            self._context = self.app.unit_of_work()
            self._work = self._context.__enter__()
            # Paused until the part has committed, not per batch of claim payments: the
            # collection due when a batch ended scanned the part's rows and objects, all alive
            # until the commit (7% of posting's CPU, issue 14); once the part's unit of work
            # is released (:meth:`commit`) reference counting has freed nearly all of them
            self._pause = collector_paused()
            self._pause.__enter__()
            self._started = time.monotonic()
            self._claims = 0
        return self._work

    def room(self) -> int:
        """How many claim payments the part being posted still takes (at least one)."""
        return max(1, self.claims_per_part - (self._claims if self._work is not None else 0))

    def batch_size(self) -> int:
        """How many claim payments the next batch takes: :data:`_BATCH` when a part starts,
        then as many as the part's pace says fit in what is left of its time (at least
        :data:`_BATCH`, at most its :meth:`room`)."""
        room = self.room()
        if self._work is None or not self._claims:
            return min(_BATCH, room)
        elapsed = time.monotonic() - self._started
        left = PART_SECONDS - elapsed
        fitting = round(self._claims * left / elapsed * _PACE_MARGIN) if elapsed > 0 else room
        return min(room, max(_BATCH, fitting))

    def posted(self, count: int) -> None:
        self.done += count
        self._claims += count

    def commit_if_due(self) -> None:
        if self._work is not None and (self._claims >= self.claims_per_part
                                       or time.monotonic() - self._started >= PART_SECONDS):
            self.commit()

    def commit(self) -> None:
        if self._work is None or self._context is None:
            return
        try:
            self._commit(self._work, self._context)
        finally:
            # not in _commit: its frame holds the unit of work, whose rows would still be
            # alive for the collection that resuming lets run
            self._resume_collector()
        if self.app.database.dialect == "sqlite" \
                and time.monotonic() - self._yielded >= _SQLITE_YIELD_EVERY_SECONDS:
            time.sleep(_SQLITE_YIELD_SECONDS)
            self._yielded = time.monotonic()

    def _commit(self, work: UnitOfWork, context: AbstractContextManager[UnitOfWork]) -> None:
        work.session.execute(
            update(InboundDocumentRow).where(InboundDocumentRow.id == self.row_id)
            .values(detail=f"posting: {self.done} of {self.total} claim payments done",
                    lease_until=utcnow() + LEASE))
        self._context, self._work = None, None
        context.__exit__(None, None, None)  # flushes and seals the part's audit events

    def abandon(self, exc: BaseException) -> None:
        """Roll the open part back (``exc`` is propagating)."""
        if self._context is not None:
            context, self._context, self._work = self._context, None, None
            try:
                context.__exit__(type(exc), exc, exc.__traceback__)
            finally:
                self._resume_collector()

    def _resume_collector(self) -> None:
        if self._pause is not None:
            pause, self._pause = self._pause, None
            pause.__exit__(None, None, None)


def _claims_per_part() -> int:
    wanted = os.environ.get("MEDBILL_POSTING_PART_CLAIMS", "")
    return int(wanted) if wanted.isascii() and wanted.isdigit() and int(wanted) > 0 \
        else PART_CLAIMS


def post_in_parts(app: Medbill, adapter: PayerAdapter, document: InboundDocument, row_id: int,
                  total: int, on_progress: Callable[[int, int], None] | None = None,
                  differing: list[DifferingFigures] | None = None) -> str:
    """Post every remittance of ``document`` in parts; the summary of what was done.
    ``differing``: gets each claim payment posted before under its key with other figures
    (not posted again).

    ``row_id`` is the document's row (status ``posting``), ``total`` its number of claim
    payments (:func:`count_claim_payments`). A part that fails is rolled back and the error
    raised; the parts before it stay committed (posting the file again finishes the rest).
    """
    parts = _Parts(app, row_id, total)
    summaries: list[str] = []
    length = 0
    try:
        for remittance in _streams(app, adapter, document):
            result = _post_remittance(parts, remittance, on_progress)
            if differing is not None:
                differing.extend(result.differing)
            summary = remittance_summary(remittance.header.trace_number, result)
            if length <= _DETAIL_MAX:  # only what the detail column keeps
                summaries.append(summary)
                length += len(summary) + 2
        parts.commit()
    except BaseException as exc:
        parts.abandon(exc)
        raise
    return "; ".join(summaries)


def _post_remittance(parts: _Parts, remittance: RemittanceParts,
                     on_progress: Callable[[int, int], None] | None) -> RemittancePostingResult:
    run: PostingRun | None = None
    batch: list[ClaimPayment] = []

    def post(final: bool) -> RemittancePostingResult:
        nonlocal run, batch
        header = remittance.header
        if run is None:
            run = PostingRun(header.trace_number)
        chunk = header.model_copy(update={
            "claims": batch,
            "provider_adjustments": list(remittance.provider_adjustments) if final else []})
        result = post_remittance(parts.work, chunk, run=run, final=final)
        parts.posted(len(batch))
        batch = []
        if on_progress is not None:
            on_progress(parts.done, parts.total)
        return result

    size = parts.batch_size()
    for payment in remittance.claims():
        batch.append(payment)
        if len(batch) >= size:
            post(final=False)
            parts.commit_if_due()
            size = parts.batch_size()
    result = post(final=True)
    parts.commit_if_due()
    return result


def _streams(app: Medbill, adapter: PayerAdapter,
             document: InboundDocument) -> Iterator[RemittanceParts]:
    streams: Any = app.hooks.stream_remittances(adapter, document)
    if streams is None:  # it could a moment ago: the same document, the same adapter
        raise RuntimeError("the adapter no longer streams the document")
    return iter(streams)
