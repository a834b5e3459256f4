"""Submitting claims through the outbox.

1. :func:`prepare_batches` (one transaction): validated claims are grouped by payer,
   encoded by the payer's adapter, each file is recorded in the outbox as ``pending``
   with a stable idempotency key, and its claims move to ``queued`` ("queued, not sent").
   A claim the adapter cannot encode (its error names the claim) is taken out of the batch
   and sent back to ``draft`` with the adapter's reason (:class:`HeldClaim`); the payer's
   other claims are encoded without it and sent. The claims are locked first (PostgreSQL:
   ``FOR UPDATE SKIP LOCKED``; SQLite has one writer at a time) and their state read again
   under the lock, so any number of concurrent submitters batch each claim exactly once.
2. :func:`send_pending` (one transaction per file): each pending file is first claimed by
   a conditional update (``sending``, with a lease of :data:`SEND_LEASE`; a row no other
   process holds or whose lease has expired), then sent through its channel with that key
   and marked ``sent`` with the channel's receipt; only then do its claims move to
   ``submitted`` (a refused file's claims to ``rejected``). Concurrent senders therefore
   send each file once. A file the channel did not take (down, timeout) goes back to
   ``pending`` and its claims stay ``queued`` until a later run sends it. A sender killed
   mid-send leaves its file ``sending``: nobody sends it while the lease holds (it may still
   be on its way); after that the next run sends the same bytes with the same key, and the
   remote end answers with the original receipt (the key stays the second line of defence).
"""

from __future__ import annotations

import contextvars
import hashlib
import logging
from collections.abc import Callable, Collection, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import ColumnElement, and_, or_, select, update

from medbill_core import audit
from medbill_core.app import Medbill, UnitOfWork
from medbill_core.domain import (
    BillableClaim,
    ClaimState,
    DocumentKind,
    Payer,
    SubmissionFile,
    SubmissionReceipt,
)
from medbill_core.domain.base import saved_id
from medbill_core.domain.identity import Principal
from medbill_core.errors import (
    AdapterNotAvailable,
    MedbillError,
    NotFound,
    SubmissionError,
    ValidationFailed,
)
from medbill_core.permissions import Action
from medbill_core.services.claims import ClaimMove
from medbill_core.services.paper_claims import (
    paper_batch_file,
    print_batch,
    prints_claim_forms,
)
from medbill_core.storage.batches import chunks
from medbill_core.storage.schema import (
    ClaimRow,
    SubmissionRow,
    SubmissionStatus,
    as_utc,
    utcnow,
)

if TYPE_CHECKING:
    from sqlalchemy import CursorResult

log = logging.getLogger("medbill.submission")


#: How long a sender holds an outbox file it claimed. Longer than any one send takes (the
#: channel's timeouts and retries), so a file is only taken over from a sender that is gone.
SEND_LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class SendOutcome:
    submission_id: int
    payer_key: str
    claims: int
    status: str
    remote_id: str | None = None
    error: str | None = None
    receipt: SubmissionReceipt | None = None


@dataclass(frozen=True)
class HeldClaim:
    """A validated claim its payer's adapter could not encode: taken out of the payer's batch
    and sent back to ``draft`` (the reason in its history), while the payer's other claims
    were encoded and sent. ``reason``: the adapter's error, which names no PHI (for the X12
    engine: the segment and element, and what it expected there)."""

    claim_id: int
    claim_number: str
    payer_key: str
    reason: str

    def as_json(self) -> dict[str, object]:
        return dict(self.__dict__)


def group_control_number(content: str) -> str | None:
    """The file's GS06 (the number a 999 names it by), ``None`` when it is not X12 or has no
    functional group. As :func:`~medbill_core.x12_envelope.envelope_numbers` reads it, but
    only up to the first GS segment (the second of an interchange), not the whole file."""
    text = content.lstrip("\ufeff \t\r\n")
    if not (text.startswith("ISA") and len(text) > 105):
        return None
    separator, terminator = text[3], text[105]
    start = 0
    while start < len(text):
        end = text.find(terminator, start)
        end = len(text) if end < 0 else end
        elements = text[start:end].strip().split(separator)
        if elements[0] == "GS" and len(elements) > 6:
            return elements[6].strip()[:20]
        start = end + 1
    return None


def idempotency_key(payer_key: str, file: SubmissionFile) -> str:
    digest = hashlib.sha256(file.content.encode("utf-8")).hexdigest()[:24]
    return f"{payer_key}-{file.control_number}-{digest}"


#: Claims per unit of batching: per outbox file at most, per transaction in :func:`submit`.
#: What a transaction holds (claim rows, the file, its audit events) stays bounded by it,
#: however many claims wait.
PREPARE_CHUNK = 1000

#: The self-pay claims (no payer), as a batching scope of their own.
_SELF_PAY = ""


def prepare_batches(work: UnitOfWork, *, claim_ids: Iterable[int] | None = None,
                    payer_key: str | None = None,
                    on_held: Callable[[HeldClaim], None] | None = None) -> list[int]:
    """Encode validated claims into outbox files; returns the new submission ids.

    Self-pay claims are never sent: a validated one is billed to the patient instead (it
    moves to ``patient_balance``, where statements pick it up). A payer without a channel
    is an error naming it. The claims are taken :data:`PREPARE_CHUNK` at a time (per payer,
    by id), each chunk one file per payer; all of it in ``work``'s one transaction
    (:func:`prepare_in_chunks` commits chunk by chunk). A claim the payer's adapter cannot
    encode goes back to draft, the others are batched (``on_held``: told of each, in
    ``work``'s transaction, before it commits).
    """
    wanted = checked_submittable(work, claim_ids)
    created: list[int] = []
    held: list[HeldClaim] = []
    for scope in _scopes(work, payer_key, wanted):
        after = 0
        while True:
            taken, last, files = _prepare_chunk(work, scope, after, PREPARE_CHUNK, held)
            created += files
            if taken < PREPARE_CHUNK:
                break
            after = last
    if on_held is not None:
        for item in held:
            on_held(item)
    return created


def prepare_in_chunks(app: Medbill, *, claim_ids: Iterable[int] | None = None,
                      payer_key: str | None = None, actor: str | None = None,
                      principal: Principal | None = None,
                      on_chunk: Callable[[list[int]], None] | None = None,
                      on_held: Callable[[HeldClaim], None] | None = None) -> list[int]:
    """:func:`prepare_batches`, one transaction per chunk of :data:`PREPARE_CHUNK` claims:
    memory stays flat in the number of claims waiting. Every claim asked for is checked
    (and every payer's channel) before the first chunk is written; a chunk is committed
    whole (its files pending in the outbox, its claims queued) or not at all, so a run cut
    short leaves the rest validated for the next one. ``principal`` (or ``actor``): who
    asked (default :attr:`Medbill.acting_as`, else the configured actor); its role must
    allow ``claims.submit``. ``on_chunk(submission_ids)``: called with the files of each
    chunk once it is committed (:func:`submit` starts sending them then). ``on_held``:
    called with each claim the payer's adapter could not encode, sent back to draft (the
    chunk's other claims are batched), once its chunk is committed."""
    app.require(Action.CLAIMS_SUBMIT, principal=principal, actor=actor)
    with app.unit_of_work(actor, principal=principal, read_only=True) as work:
        wanted = checked_submittable(work, claim_ids)
        scopes = _scopes(work, payer_key, wanted)
    created: list[int] = []
    pending = list(scopes)
    while pending:
        # scopes share a transaction while claims fit in it
        chunk: list[int] = []
        held: list[HeldClaim] = []
        with app.unit_of_work(actor, principal=principal) as work:
            room = PREPARE_CHUNK
            while pending and room:
                taken, _last, files = _prepare_chunk(work, pending[0], 0, room, held)
                chunk += files
                if taken < room:  # the scope has no more
                    pending.pop(0)
                room -= taken
        created += chunk
        if on_held is not None:
            for item in held:
                on_held(item)
        if on_chunk is not None and chunk:
            on_chunk(chunk)
    return created


@dataclass(frozen=True)
class _Scope:
    """Claims batched together: one payer's (``_SELF_PAY``: those without one), of
    ``wanted`` when given (a chunk of the ids asked for)."""

    payer_key: str
    wanted: Sequence[int] | None = None


def checked_submittable(work: UnitOfWork, claim_ids: Iterable[int] | None) -> list[int] | None:
    """The ids asked for, sorted, once each; each must be a validated claim (or a queued
    one, whose file is sent again by :func:`send_pending`).

    :raises NotFound: the first id (in order) of no claim.
    :raises ValidationFailed: the first claim (by id) in another state.
    """
    if claim_ids is None:
        return None
    wanted = sorted(set(claim_ids))
    for chunk in chunks(wanted):
        states = {claim_id: state for claim_id, state in work.session.execute(
            select(ClaimRow.id, ClaimRow.state).where(ClaimRow.id.in_(chunk)))}
        for claim_id in chunk:
            if claim_id not in states:
                raise NotFound("claim", claim_id)
            state = ClaimState(states[claim_id])
            if state not in (ClaimState.VALIDATED, ClaimState.QUEUED):  # queued: resent
                number = work.session.scalar(select(ClaimRow.claim_number)
                                             .where(ClaimRow.id == claim_id))
                raise ValidationFailed(f"claim {number}", [(
                    "state", f"{state.label}: only validated claims are submitted (scrub "
                    "a draft first: medbill claims scrub)")])
    return wanted


def _scopes(work: UnitOfWork, payer_key: str | None, wanted: list[int] | None) -> list[_Scope]:
    """What to batch, in order: the self-pay claims first, then each payer's (by key); every
    payer with validated claims is checked for a channel before anything is written.

    :raises AdapterNotAvailable: a payer has no channel.
    """
    statement = select(ClaimRow.payer_key).where(
        ClaimRow.state == ClaimState.VALIDATED.value).distinct()
    if payer_key is not None:
        statement = statement.where(ClaimRow.payer_key == payer_key)
    keys: set[str] = set()
    for chunk in (chunks(wanted) if wanted is not None else [None]):
        scoped = statement if chunk is None else statement.where(ClaimRow.id.in_(chunk))
        keys.update(key or _SELF_PAY for key in work.session.scalars(scoped))
    for key in keys - {_SELF_PAY}:
        if not work.app.hooks.context.payer(key).channel:
            raise AdapterNotAvailable(f"payer {key!r} has no channel configured")
    ordered = sorted(keys)  # _SELF_PAY ("") first
    if wanted is None:
        return [_Scope(key) for key in ordered]
    # the ids asked for, a chunk at a time, each chunk's payers in order
    return [_Scope(key, part) for part in chunks(wanted, PREPARE_CHUNK) for key in ordered]


def _prepare_chunk(work: UnitOfWork, scope: _Scope, after: int, limit: int,
                   held: list[HeldClaim] | None = None) -> tuple[int, int, list[int]]:
    """Batch at most ``limit`` validated claims of ``scope`` (ids above ``after``): (claims
    taken, the last id taken, the new submission ids). A claim the adapter cannot encode is
    taken too: back to draft, appended to ``held``."""
    claim_ids = _lock_validated(work, scope, after, limit)
    if not claim_ids:
        return 0, after, []
    if scope.payer_key == _SELF_PAY:  # its charges are the patient's from the start
        work.claims.transition_many(ClaimMove(claim_id, ClaimState.PATIENT_BALANCE,
                                              "self-pay: billed to the patient")
                                    for claim_id in claim_ids)
        return len(claim_ids), claim_ids[-1], []
    key = scope.payer_key
    payer = work.app.hooks.context.payer(key)
    if not payer.channel:
        raise AdapterNotAvailable(f"payer {key!r} has no channel configured")
    # validated: they are locked as such; read once, as column values, and moved from that
    read = work.claims.read_many(claim_ids)
    claims = [read[claim_id] for claim_id in claim_ids]
    assembled = work.claims.billable_many(claims)
    billables = [assembled[saved_id(claim)] for claim in claims]
    refused: list[HeldClaim] = []
    files = [paper_batch_file(key, billables)] \
        if prints_claim_forms(work.app, payer.channel) is not None \
        else _encode_without_refused(work, payer, billables, refused)
    refused_ids = {item.claim_id for item in refused}
    numbers_to_ids = {b.claim.claim_number: saved_id(b.claim) for b in billables
                      if saved_id(b.claim) not in refused_ids}
    del claims, assembled, billables  # the files (and the claims read) say what the rest needs
    encoded = {n for f in files for n in f.claim_numbers}
    if encoded != set(numbers_to_ids):
        raise SubmissionError(f"payer {key}: the adapter's files do not carry exactly the "
                              f"{len(numbers_to_ids)} claims given")
    if refused:  # in this transaction: held back only if the rest is batched
        work.claims.transition_read(
            (ClaimMove(item.claim_id, ClaimState.DRAFT,
                       f"not sent, the payer's file cannot carry it: {item.reason}"[:500])
             for item in refused), read)
        if held is not None:
            held += refused
    created = []
    for file in files:
        row = SubmissionRow(
            idempotency_key=idempotency_key(key, file), payer_key=key,
            channel=payer.channel, kind=file.kind.value,
            control_number=file.control_number, filename=file.filename,
            group_control_number=group_control_number(file.content),
            content=file.content, claim_numbers=list(file.claim_numbers),
            status=SubmissionStatus.PENDING, attempts=0, created_at=utcnow())
        work.session.add(row)
        work.session.flush()
        audit.record(work.session, actor=work.actor, action="submission.create",
                     entity_type="submission", entity_id=row.id,
                     details={"payer_key": key, "claims": len(file.claim_numbers),
                              "control_number": file.control_number})
        work.claims.transition_read(
            (ClaimMove(numbers_to_ids[number], ClaimState.QUEUED, f"batch {row.id}")
             for number in file.claim_numbers), read)
        created.append(row.id)
    return len(claim_ids), claim_ids[-1], created


def _encode_without_refused(work: UnitOfWork, payer: Payer, billables: list[BillableClaim],
                            refused: list[HeldClaim]) -> list[SubmissionFile]:
    """The payer's adapter's files for ``billables``. A claim the adapter cannot encode (its
    :class:`~medbill_core.errors.SubmissionError` names the claim: ``claim_number``) is
    taken out, appended to ``refused``, and the others are encoded again, until they all
    are (or none is left: no file). An error naming no claim of the batch (the payer's
    options, the practice's own data) stops the batch, as before."""
    remaining = list(billables)
    while remaining:
        try:
            return work.app.hooks.encode_claims(payer=payer, claims=remaining)
        except SubmissionError as exc:
            number = exc.claim_number
            index = next((i for i, billable in enumerate(remaining)
                          if number is not None and billable.claim.claim_number == number),
                         None)
            if index is None:
                raise
            claim = remaining.pop(index).claim
            reason = exc.message.removeprefix(f"claim {number}: ")
            refused.append(HeldClaim(saved_id(claim), claim.claim_number, payer.key, reason))
            log.info("claim %s held back from the batch for payer %s: %s",
                     claim.claim_number, payer.key, reason)
    return []


def _lock_validated(work: UnitOfWork, scope: _Scope, after: int, limit: int) -> list[int]:
    """The ids of at most ``limit`` validated claims of ``scope`` above
    ``after``, in order, locked until the transaction ends.

    PostgreSQL: ``FOR UPDATE SKIP LOCKED`` leaves claims another submitter is batching to it,
    and the state is checked again on the row as it is once locked (a claim queued meanwhile
    no longer matches). SQLite: the transaction holds the write lock (``BEGIN IMMEDIATE``),
    so the state read is the latest. Only the ids are read; rows read before in this
    transaction are expired, so they are read again (as they are under the lock) when used.
    """
    statement = select(ClaimRow.id).where(ClaimRow.state == ClaimState.VALIDATED.value,
                                          ClaimRow.id > after)
    statement = statement.where(ClaimRow.payer_key.is_(None) if scope.payer_key == _SELF_PAY
                                else ClaimRow.payer_key == scope.payer_key)
    if scope.wanted is not None:
        statement = statement.where(ClaimRow.id.in_(scope.wanted))
    statement = statement.order_by(ClaimRow.id).limit(limit).with_for_update(skip_locked=True)
    claim_ids = list(work.session.scalars(statement))
    work.claims.expire_held(claim_ids)
    return claim_ids


def _sendable(now: datetime) -> ColumnElement[bool]:
    """Outbox rows a sender may claim: pending, or held by a sender whose lease expired."""
    return or_(SubmissionRow.status == SubmissionStatus.PENDING,
               and_(SubmissionRow.status == SubmissionStatus.SENDING,
                    SubmissionRow.lease_until < now))


def _claim(app: Medbill, submission_id: int, lease: timedelta) -> bool:
    """Take the outbox row for sending; ``False`` when another sender holds it or it is sent.

    One conditional UPDATE, committed before anything is sent: of concurrent senders
    exactly one changes the row (PostgreSQL re-checks the condition after waiting for the
    row; SQLite runs one writer at a time)."""
    now = utcnow()
    with app.database.transaction() as session:
        result = session.execute(
            update(SubmissionRow)
            .where(SubmissionRow.id == submission_id, _sendable(now))
            .values(status=SubmissionStatus.SENDING, lease_until=now + lease)
            .execution_options(synchronize_session=False))
        return cast("CursorResult[Any]", result).rowcount == 1  # an UPDATE's result


def _as_file(row: SubmissionRow) -> SubmissionFile:
    return SubmissionFile(payer_key=row.payer_key, kind=DocumentKind(row.kind),
                          content=row.content, claim_numbers=list(row.claim_numbers),
                          control_number=row.control_number, filename=row.filename,
                          created_at=row.created_at)


def send_pending(app: Medbill, *, submission_ids: Iterable[int] | None = None,
                 on_progress: Callable[[int, int], None] | None = None,
                 lease: timedelta = SEND_LEASE, actor: str | None = None,
                 principal: Principal | None = None,
                 skip: Collection[int] = ()) -> list[SendOutcome]:
    """Send every pending outbox file (or the given ones), and any whose sender's lease
    expired. A file another process is sending is left to it (no outcome). Failures go back
    to pending, with the error recorded, to be retried by a later run. ``on_progress(done,
    total)`` is called after each file (a progress bar). ``principal`` (or ``actor``): who
    sends, as in :func:`prepare_in_chunks`. ``skip``: files not to send (this run tried them
    already)."""
    app.require(Action.CLAIMS_SUBMIT, principal=principal, actor=actor)
    with app.database.reader() as session:
        statement = select(SubmissionRow.id).where(_sendable(utcnow())) \
            .order_by(SubmissionRow.id)
        ids = [i for i in session.scalars(statement) if i not in skip]
    if submission_ids is not None:
        wanted = set(submission_ids)
        ids = [i for i in ids if i in wanted]
    outcomes = []
    for done, submission_id in enumerate(ids, start=1):
        outcome = _send_one(app, submission_id, lease, actor, principal)
        if outcome is not None:
            outcomes.append(outcome)
        if on_progress is not None:
            on_progress(done, len(ids))
    return outcomes


@dataclass(frozen=True)
class _Taken:
    """An outbox file this sender holds (its lease taken), as read to send it."""

    submission_id: int
    file: SubmissionFile
    channel: str
    key: str
    payer_key: str


def _take(app: Medbill, submission_id: int, lease: timedelta) -> _Taken | None:
    """Claim an outbox file and read it; ``None``: another sender has it (or it left)."""
    if not _claim(app, submission_id, lease):
        return None
    # Killed from here until the file is marked, the row stays "sending" until its lease
    # expires; so does any error that is not the channel's (the file may have left).
    with app.database.reader() as session:
        row = session.get(SubmissionRow, submission_id)
        assert row is not None
        return _Taken(submission_id, _as_file(row), row.channel, row.idempotency_key,
                      row.payer_key)


def _transmit(app: Medbill, taken: _Taken) -> SubmissionReceipt:
    """Hand the file to its channel (no database work: :func:`submit` runs it beside the
    preparation of the next chunk)."""
    return app.hooks.submit_file(submission=taken.file, channel=taken.channel,
                                 idempotency_key=taken.key)


def _send_one(app: Medbill, submission_id: int, lease: timedelta,
              actor: str | None = None, principal: Principal | None = None
              ) -> SendOutcome | None:
    """Claim, send and record one outbox file (``None``: another sender has it)."""
    taken = _take(app, submission_id, lease)
    if taken is None:
        return None
    return _deliver(app, taken, actor, principal)


def _deliver(app: Medbill, taken: _Taken, actor: str | None, principal: Principal | None,
             transfer: Callable[[], SubmissionReceipt] | None = None) -> SendOutcome:
    """Send a taken file (print it, when its channel prints claim forms) and record what
    came of it. ``transfer``: the channel's transfer, already under way (its result)."""
    try:
        if transfer is not None:
            receipt = transfer()
        else:
            paper = prints_claim_forms(app, taken.channel)
            receipt = print_batch(app, taken.submission_id, taken.file, paper, taken.key,
                                  actor=actor, principal=principal) \
                if paper is not None else _transmit(app, taken)
    except MedbillError as exc:
        return _record_failure(app, taken, exc, actor, principal)
    return _record_receipt(app, taken, receipt, actor, principal)


def _record_failure(app: Medbill, taken: _Taken, exc: MedbillError, actor: str | None,
                    principal: Principal | None) -> SendOutcome:
    """The channel did not take the file: back to pending (a later run sends it), the error
    kept, its claims still queued."""
    with app.unit_of_work(actor, principal=principal) as work:
        row = work.session.get_one(SubmissionRow, taken.submission_id)
        row.attempts += 1
        row.last_error = exc.message[:500]
        if row.status == SubmissionStatus.SENDING:  # back in the queue for the next run
            row.status, row.lease_until = SubmissionStatus.PENDING, None
        audit.record(work.session, actor=work.actor, action="submission.attempt_failed",
                     entity_type="submission", entity_id=taken.submission_id,
                     details={"attempts": row.attempts})
    log.warning("submission %s not sent: %s", taken.submission_id, exc.message)
    return SendOutcome(taken.submission_id, taken.payer_key, len(taken.file.claim_numbers),
                       SubmissionStatus.PENDING, error=exc.message)


def _record_receipt(app: Medbill, taken: _Taken, receipt: SubmissionReceipt,
                    actor: str | None, principal: Principal | None) -> SendOutcome:
    """The channel took (or refused) the file: marked so, its claims submitted (rejected)."""
    submission_id, channel = taken.submission_id, taken.channel
    status = SubmissionStatus.SENT if receipt.accepted else SubmissionStatus.REFUSED
    with app.unit_of_work(actor, principal=principal) as work:
        row = work.session.get_one(SubmissionRow, submission_id)
        row.attempts += 1
        # not answered yet (a 999 may have been applied meanwhile by a sender that took over)
        if row.status in (SubmissionStatus.SENDING, SubmissionStatus.PENDING):
            row.status = status
        row.lease_until = None
        row.remote_id = receipt.submission_id
        row.sent_at = row.sent_at or utcnow()
        row.last_error = None if receipt.accepted else (receipt.message or "refused")[:500]
        audit.record(work.session, actor=work.actor, action=f"submission.{status}",
                     entity_type="submission", entity_id=submission_id,
                     details={"remote_id": receipt.submission_id})
        target, reason = (ClaimState.SUBMITTED, f"batch {submission_id} sent via {channel}") \
            if receipt.accepted else \
            (ClaimState.REJECTED, f"batch {submission_id} refused by {channel}")
        work.claims.transition_many(_still_queued(work, taken.file.claim_numbers, target,
                                                  reason))
    return SendOutcome(submission_id, taken.payer_key, len(taken.file.claim_numbers), status,
                       remote_id=receipt.submission_id, receipt=receipt)


def _still_queued(work: UnitOfWork, claim_numbers: Sequence[str], target: ClaimState,
                  reason: str) -> list[ClaimMove]:
    """The moves of a sent file's claims that are still queued: an answer applied before
    this run (crash after sending) already moved the others on. Only their ids and states
    are read (the moves need no more; :meth:`ClaimService.transition_many` reads the claims
    it moves as column values, no ORM row built for them).

    :raises NotFound: a claim number of the file names no claim.
    """
    numbers = list(dict.fromkeys(claim_numbers))
    found: dict[str, tuple[int, str]] = {}
    for chunk in chunks(numbers):
        found.update((number, (claim_id, state)) for claim_id, number, state in
                     work.session.execute(select(ClaimRow.id, ClaimRow.claim_number,
                                                 ClaimRow.state)
                                          .where(ClaimRow.claim_number.in_(chunk))))
    moves = []
    for number in numbers:
        if number not in found:
            raise NotFound("claim number", number)
        claim_id, state = found[number]
        if state == ClaimState.QUEUED.value:
            moves.append(ClaimMove(claim_id, target, reason))
    return moves


def submit(app: Medbill, *, claim_ids: Iterable[int] | None = None,
           on_progress: Callable[[int, int], None] | None = None,
           actor: str | None = None, principal: Principal | None = None,
           on_held: Callable[[HeldClaim], None] | None = None
           ) -> list[SendOutcome]:
    """Prepare batches from validated claims and send everything pending
    (``on_progress(done, total)`` after each file sent), as ``principal`` (default
    :attr:`Medbill.acting_as`; with ``actor`` instead, as that actor, unchecked: the
    installation's own work). A claim its payer's adapter cannot encode goes back to draft
    and the payer's other claims are sent (``on_held``: told of each, once it is back).

    The files of a chunk leave as soon as it is committed: while the channel carries one (and
    the clearinghouse reads it) the next chunk is prepared (:class:`_ChunkSender`). Files
    left pending from before, and any the channel did not take, are then sent as
    :func:`send_pending` sends them (a file the channel did not take is not tried twice).

    :returns: the outcomes by submission id.
    :raises PermissionDenied: the principal's role may not ``claims.submit``.
    """
    app.require(Action.CLAIMS_SUBMIT, principal=principal, actor=actor)
    sender = _ChunkSender(app, actor, principal, on_progress)
    with sender:
        prepare_in_chunks(app, claim_ids=claim_ids, actor=actor, principal=principal,
                          on_chunk=sender.send, on_held=on_held)
    rest = send_pending(app, actor=actor, principal=principal, skip=sender.tried,
                        on_progress=None if on_progress is None else sender.progress_after)
    return sorted([*sender.outcomes, *rest], key=lambda outcome: outcome.submission_id)


class _ChunkSender:
    """Sends the files of committed chunks while the next chunk is prepared.

    Only the channel's transfer runs in the sender thread, one file at a time. Taking a file
    (its lease) and recording its receipt are database writes: they run in the calling
    thread, between chunks (on SQLite the preparing transaction holds the write lock, and a
    second writer of this process would wait on it). A file is taken only when the thread
    is free to send it, so a sender killed mid-transfer leaves one file ``sending`` (as
    :func:`send_pending` does); the others stay ``pending`` for any sender. What is left
    when preparing ends (or fails) is sent and recorded on the way out, one file after
    another; a file printed on claim forms is printed at once (printing writes to the
    database)."""

    def __init__(self, app: Medbill, actor: str | None, principal: Principal | None,
                 on_progress: Callable[[int, int], None] | None) -> None:
        self.app, self.actor, self.principal = app, actor, principal
        self.on_progress = on_progress
        self.outcomes: list[SendOutcome] = []
        #: every file this run took (sent or not): :func:`send_pending` leaves them
        self.tried: set[int] = set()
        self._waiting: list[int] = []
        self._pool: ThreadPoolExecutor | None = None
        self._in_flight: tuple[_Taken, Future[SubmissionReceipt]] | None = None
        self._known = 0

    def __enter__(self) -> _ChunkSender:
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        try:
            while self._in_flight is not None or self._waiting:
                self._step(wait=True)
        except Exception as error:
            if kind is None:
                raise
            # preparing failed: that error is the one to report; this one is logged (its
            # type only: the text may name a claim); a file it left "sending" is sent
            # again once its lease runs out
            log.error("sending a prepared file failed (%s) after preparing failed",
                      type(error).__name__)
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)

    def send(self, submission_ids: list[int]) -> None:
        """A committed chunk's files: the thread gets the next one if it is free."""
        self._waiting.extend(submission_ids)
        self._known += len(submission_ids)
        self._step(wait=False)

    def progress_after(self, done: int, total: int) -> None:
        """``on_progress`` for the files :func:`send_pending` sends after this run's."""
        assert self.on_progress is not None
        self.on_progress(len(self.outcomes) + done, self._known + total)

    def _step(self, *, wait: bool) -> None:
        """Record the transfer under way once it ended (``wait``: wait for it), then hand
        the thread the next file waiting."""
        if self._in_flight is not None:
            taken, future = self._in_flight
            if not (wait or future.done()):
                return
            self._in_flight = None
            self._record(taken, future)
        while self._waiting and self._in_flight is None:
            submission_id = self._waiting.pop(0)
            next_file = _take(self.app, submission_id, SEND_LEASE)
            if next_file is None:  # another sender has it
                self._known -= 1
                continue
            self.tried.add(submission_id)
            try:
                on_paper = prints_claim_forms(self.app, next_file.channel) is not None
            except MedbillError:
                on_paper = True  # asked again by _deliver, which records the error
            if on_paper:
                self._record(next_file, None)
                continue
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1,
                                                thread_name_prefix="medbill-send")
            # the plugins' context variables (acting principal, batch memo) go along
            self._in_flight = (next_file, self._pool.submit(contextvars.copy_context().run,
                                                            _transmit, self.app, next_file))

    def _record(self, taken: _Taken, future: Future[SubmissionReceipt] | None) -> None:
        self.outcomes.append(_deliver(self.app, taken, self.actor, self.principal,
                                      None if future is None else future.result))
        if self.on_progress is not None:
            self.on_progress(len(self.outcomes), self._known)


@dataclass(frozen=True)
class OutboxItem:
    """One outbox file as a person sees it: what it holds and whether it left."""

    submission_id: int
    payer_key: str
    channel: str
    control_number: str
    claims: int
    status: str
    attempts: int
    last_error: str | None
    created_at: str
    sent_at: str | None
    #: a file being sent: until when its sender holds it
    lease_until: str | None = None
    #: a file being sent whose sender is gone (its lease ran out): the next run sends it
    lease_expired: bool = False

    def as_json(self) -> dict[str, object]:
        return dict(self.__dict__)


def list_outbox(work: UnitOfWork, *, pending_only: bool = False, limit: int = 100
                ) -> list[OutboxItem]:
    """Outbox files, newest first (only those not yet taken by their channel if asked:
    pending, or being sent). It only reads: open ``work`` read-only."""
    work.require(Action.CLAIMS_READ)
    now = utcnow()
    statement = select(SubmissionRow).order_by(SubmissionRow.id.desc()).limit(limit)
    if pending_only:
        statement = statement.where(SubmissionRow.status.in_(
            (SubmissionStatus.PENDING, SubmissionStatus.SENDING)))
    items = []
    for row in work.session.scalars(statement):
        lease = as_utc(row.lease_until) \
            if row.status == SubmissionStatus.SENDING and row.lease_until else None
        items.append(OutboxItem(
            row.id, row.payer_key, row.channel, row.control_number,
            len(row.claim_numbers), row.status, row.attempts, row.last_error,
            row.created_at.isoformat(timespec="seconds"),
            row.sent_at.isoformat(timespec="seconds") if row.sent_at else None,
            lease.isoformat(timespec="seconds") if lease else None,
            lease is not None and lease < now))
    return items
