"""Posting remittances (835) to the ledger and moving claims through adjudication states.

Posting is idempotent: each claim payment is posted under a key made of the
payment's trace number, the payer, the claim number and its position among
that claim's payments in the remittance. Posting the same 835 again writes
nothing and reports the duplicates.

Mapping of adjustments: the ERA posting rules table (:mod:`.posting_rules`) decides for each
adjustment by payer, group code and CARC. ``adjust`` reduces what the practice expects
(contractual or payer-initiated adjustments), each entry keeping its CARC as ``GROUP-CODE``.
``patient`` (PR only: deductible, coinsurance, copay) moves to the patient's bucket, or, when
the patient has a further coverage (secondary after primary), to that payer: a claim to the
next payer is created on the same ledger account, carrying this payer's adjudication for its
2320/2330 loops (or marked submitted when the payer crossed it over). ``deny`` and ``review``
post nothing: the amount stays owed by the payer, open insurance A/R, and becomes a denial
work item (:mod:`.denials`); an answer keeping a ``deny`` amount open leaves the claim
``denied``. Each answer's rules are kept with it (``ClaimAdjudicationRow.posting_rules``).
A new answer of the payer closes the work items of its earlier answer on the account.
A voided claim keeps its charges until the payer's reversal arrives, which reverses them.
A reversal (CLP02 = 22) takes the original's amounts back (its amounts come negated, as
X221A1 sends them, or positive from payers that do not negate) and reopens the claim; the
reversal of a claim since replaced (frequency 7) leaves it replaced. Documents may arrive in
any order and end as in the natural one: a reversal whose answer is not on file yet is held
until it arrives, and states are settled from the standing answers and the account (the rule
is spelled out above :func:`_standing_answers`).

What the payer did is also kept for the next payer's claim (``ClaimAdjudicationRow``): the paid
amount and date, every adjustment (claim level first, as before), and, when the 835 adjudicated
line by line (loops 2110 SVC), one :class:`~medbill_core.domain.PriorLineAdjudication` per
service payment for the 837P loops 2430; the next claim's 2320 CAS then carries only the
CLP-level adjustments. Service payments are matched to the claim's lines
(:func:`match_service_lines`):

1. an SVC whose REF*6R (line item control number) equals a line's ``line_control_number``
   answers that line (several SVCs may answer one line when the payer split it);
2. the other SVCs are matched in order to the lines not matched by 1 (in line-number order):
   pairwise by position when there are as many of each and every pair has the same procedure
   code (SVC06-2, the billed code the payer reports when it adjudicated another, else SVC01-2);
   otherwise each SVC takes the first remaining line with its procedure code. A line's code
   is its billed code: an institutional line without a HCPCS is answered under its revenue
   code (SVC01 ``NU:0120``).

When an SVC stays unmatched, when the 835 has no SVC loops, or when the matched lines do not
balance with the claim (lines' paid - CLP-level adjustments = CLP04), nothing is kept at line
level and the next claim gets every adjustment at claim level, as it does from rows posted
before line adjudications were kept.

Each remittance is also recorded in the remittance register (:mod:`medbill_core.services.
remittance_register`) in the same transaction: its payment (BPR, TRN), what posting it did, and
whether it adds up (BPR02 = the claim payments' CLP04 - PLB amounts).
"""

from __future__ import annotations

import gc
import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, cast

from pydantic import ValidationError
from sqlalchemy import Table, insert, or_, select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import instance_dict
from sqlalchemy.orm.util import identity_key

from medbill_core import audit
from medbill_core.app import UnitOfWork
from medbill_core.collector import collector_paused
from medbill_core.domain import (
    Adjustment,
    AdjustmentGroup,
    Claim,
    ClaimFinding,
    ClaimFrequency,
    ClaimPayment,
    ClaimState,
    ClaimStatusCode,
    Coverage,
    PriorLineAdjudication,
    Remittance,
    ServiceLine,
    ServicePayment,
)
from medbill_core.domain.base import saved_id
from medbill_core.errors import NotFound
from medbill_core.ledger import Bucket, EntryKind, LedgerLine
from medbill_core.lifecycle import PENDING_AT_PAYER, advance_path
from medbill_core.money import ZERO, total
from medbill_core.permissions import Action
from medbill_core.services.claims import ClaimMove
from medbill_core.services.denials import (
    OWED,
    close_replaced,
    record_kept_open,
    undo_decisions_paid_later,
)
from medbill_core.services.fees import contract_underpayments
from medbill_core.services.posting_rules import (
    KEPT_OPEN,
    PostingAction,
    PostingRules,
    RuleDecision,
    denial_codes,
)
from medbill_core.services.remittance_checks import unposted_reason
from medbill_core.services.remittance_dates import (
    check_remittance_dates,
    implausible_service_dates,
)
from medbill_core.services.remittance_findings import record_findings
from medbill_core.services.remittance_register import (
    RegisterTally,
    move_exception_to_posted,
    posting_prefix,
    record_remittance,
)
from medbill_core.storage.mapping import coverage_from_row
from medbill_core.storage.schema import (
    ClaimAdjudicationRow,
    ClaimRow,
    CoverageRow,
    DenialRow,
    LedgerEntryRow,
    PostingRow,
    ProviderAdjustmentRow,
    RemittanceExceptionRow,
    RemittanceFindingRow,
    utcnow,
)

#: CARC 23: impact of prior payer(s) adjudication including payments and/or adjustments
PRIOR_PAYER_IMPACT = "23"
_FORWARDED = {ClaimStatusCode.PRIMARY_FORWARDED, ClaimStatusCode.SECONDARY_FORWARDED,
              ClaimStatusCode.TERTIARY_FORWARDED}


@dataclass(frozen=True)
class AnswerFigures:
    """The figures of one answer to a claim that a trace re-sent must repeat: CLP02, the paid
    amount and the adjustments (group, CARC, amount), as posted or as a file has them."""

    status: str
    paid: Decimal
    #: (group code, CARC, amount), in the order the answer has them
    adjustments: tuple[tuple[str, str, Decimal], ...]

    @classmethod
    def of(cls, status: str, paid: Decimal,
           adjustments: list[dict[str, Any]]) -> AnswerFigures:
        return cls(status, paid, tuple((str(item.get("group_code")),
                                        str(item.get("reason_code")),
                                        Decimal(str(item.get("amount"))))
                                       for item in adjustments))

    @property
    def text(self) -> str:
        cas = " ".join(f"{group}-{reason} {amount}" for group, reason, amount in
                       self.adjustments)
        return f"CLP02 {self.status}, paid {self.paid}, " + (f"adjustments {cas}" if cas
                                                               else "no adjustments")

    def as_json(self) -> dict[str, Any]:
        """Money as strings (never floats), as every API body carries it."""
        return {"status": self.status, "paid": str(self.paid),
                "adjustments": [{"group_code": group, "reason_code": reason,
                                 "amount": str(amount)}
                                for group, reason, amount in self.adjustments]}


@dataclass(frozen=True)
class DifferingFigures:
    """A claim payment of an 835 whose posting key (payer, trace, claim, position) was posted
    with other figures: not posted again, told with both sets of figures so that a person
    (or a client reading the JSON) sees what the payer changed without re-reading the file."""

    claim_number: str
    trace_number: str
    posted: AnswerFigures
    in_file: AnswerFigures

    @property
    def message(self) -> str:
        """One line naming the claim and both sets of figures (no PHI)."""
        return (f"claim {self.claim_number}: 835 {self.trace_number} posted "
                f"{self.posted.text}; this file has {self.in_file.text}: not posted (the "
                "trace is posted already; the payer corrects an answer with a reversal and a "
                "new trace)")

    def as_json(self) -> dict[str, Any]:
        return {"claim_number": self.claim_number, "trace_number": self.trace_number,
                "posted": self.posted.as_json(), "in_file": self.in_file.as_json(),
                "message": self.message}


@dataclass
class RemittancePostingResult:
    trace_number: str
    posted: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    provider_adjustments: int = 0
    paid: Decimal = ZERO
    forwarded: list[str] = field(default_factory=list)
    #: what the payers' adapters noticed (underpayments ...), for a work list
    findings: list[ClaimFinding] = field(default_factory=list)
    #: adjustments kept open as denials or for review (denial work items created)
    kept_open: int = 0
    #: reversals held until the answer they take back arrives (see :func:`_held`)
    held: list[str] = field(default_factory=list)
    #: the remittance's row in the register and its reconciliation status after this posting
    remittance_id: int | None = None
    status: str | None = None
    #: claim payments that do not balance or are not believable: exceptions, not posted
    #: (:mod:`.remittance_checks`)
    unbalanced: list[str] = field(default_factory=list)
    #: claim payments whose posting key (payer, trace, claim, position) was posted with
    #: other figures: not posted again, reported with both sets of figures
    differing: list[DifferingFigures] = field(default_factory=list)

    @property
    def changed_anything(self) -> bool:
        return bool(self.posted or self.unmatched or self.held or self.provider_adjustments
                    or self.unbalanced)


@dataclass
class PostingRun:
    """One remittance posted in parts, each part in its own transaction (a long 835 must not
    hold the database for minutes): what the parts share.

    Pass the same run to :func:`post_remittance` with each part's claim payments in order,
    ``final=True`` with the last part (it posts the PLBs and reconciles the register).
    Each claim payment is posted under its own key, so a run broken off after some parts
    and started again from the first posts only what is missing.
    """

    trace_number: str
    #: occurrences of each claim number so far (the posting keys' last part)
    seen: Counter[str] = field(default_factory=Counter)
    #: a digest of every claim payment so far: the same one listed twice is not paid twice
    #: (digests, not the payments: memory stays small however long the file)
    payments: set[bytes] = field(default_factory=set)
    #: the register row was created by an earlier part of this run
    created_register_row: bool = False
    #: the register changed in an earlier part
    recorded: bool = False
    result: RemittancePostingResult | None = None


_BATCH_KEY = "medbill.remittance.batch"


@dataclass(slots=True)
class _NewAnswer:
    """An adjudication row a part of an 835 adds, until the part inserts it with its others
    (:func:`_write_batch`): the columns of :class:`ClaimAdjudicationRow` (but its id), read by
    the same names, without an ORM object's bookkeeping for each claim payment."""

    posting_key: str
    claim_id: int
    account_claim_id: int
    payer_key: str
    coverage_id: int | None
    claim_status: str
    paid: Decimal
    paid_date: date
    adjustments: list[dict[str, Any]]
    lines: list[dict[str, Any]] | None
    posting_rules: list[dict[str, str]] | None
    remark_codes: list[str] | None
    reversed_by: str | None = None

    def values(self) -> dict[str, Any]:
        """The row's values for its INSERT."""
        return {name: getattr(self, name) for name in self.__slots__}


#: an 835 answer on file (a row read) or added by the part being posted
_Answer = ClaimAdjudicationRow | _NewAnswer


@dataclass
class _Batch:
    """What posting one part of an 835 reads once for all its claim payments (a few queries
    per part, not per claim payment), kept up to date in memory as the part posts: the
    answers on file, which posting keys are taken, the denial items and held reversals of the
    accounts the part touches, their claims and the patients' coverages. The ledger's balances
    of those accounts are carried by :meth:`~medbill_core.ledger.Ledger.begin_batch`."""

    #: posting keys looked up (of the part's claim payments) and those of them already used
    checked_keys: set[str] = field(default_factory=set)
    posted_keys: set[str] = field(default_factory=set)
    #: claim id -> its adjudication rows, oldest first (new ones appended as they are added)
    answers: dict[int, list[_Answer]] = field(default_factory=dict)
    #: account id -> the ids of its claims, and every such id
    account_claims: dict[int, list[int]] = field(default_factory=dict)
    claim_ids: set[int] = field(default_factory=set)
    #: account id -> its denial items (every status), oldest first
    denials: dict[int, list[DenialRow]] = field(default_factory=dict)
    #: claim id -> reversals held for it, oldest first
    held: dict[int, list[RemittanceExceptionRow]] = field(default_factory=dict)
    #: posting key -> the payer its transfer entries moved the patient share to (None: none)
    share_holders: dict[str, str | None] = field(default_factory=dict)
    #: patient id -> coverages (as PatientService.coverages orders them)
    coverages: dict[int, list[Coverage]] = field(default_factory=dict)
    #: adjudication rows of this part, not in the session: inserted together at its end
    #: (:func:`_write_batch`), with what happened to them meanwhile (``reversed_by``)
    new_answers: list[_NewAnswer] = field(default_factory=list)
    #: remittance findings of this part, inserted together at its end
    new_findings: list[dict[str, Any]] = field(default_factory=list)
    #: the claims the part's claim payments name, by claim number, each converted once (in
    #: the state the database holds: :func:`_current` gives the one the moves below leave)
    claims: dict[str, Claim] = field(default_factory=dict)
    #: the accounts' other claims settled again (:func:`_settle_account`), by id, each
    #: converted once too (dropped, like ``claims``, when the moves change them)
    others: dict[int, Claim] = field(default_factory=dict)
    #: the claims' moves of this part, applied together (:func:`_apply_moves`): each claim's
    #: state after them, and the moves in the order they were decided
    states: dict[int, ClaimState] = field(default_factory=dict)
    moves: list[ClaimMove] = field(default_factory=list)
    #: claims to the next payer of this part, created together before the moves are applied,
    #: by claim number
    next_claims: dict[str, _NextClaim] = field(default_factory=dict)

    def add_answer(self, row: _Answer) -> None:
        self.answers.setdefault(row.claim_id, []).append(row)
        self.posted_keys.add(row.posting_key)


@dataclass
class _NextClaim:
    """A claim to the next payer a part of an 835 creates (see :func:`_next_claim`)."""

    claim: Claim
    account_id: int
    from_claim: int | None
    payer_key: str
    reason: str
    crossed_over_by: str | None


def _batch(work: UnitOfWork) -> _Batch | None:
    batch: _Batch | None = work.session.info.get(_BATCH_KEY)
    return batch


def _begin_batch(work: UnitOfWork, remittance: Remittance, keys: list[str]) -> _Batch:
    """Read what the part's claim payments need, one query per kind (see :class:`_Batch`)."""
    session = work.session
    batch = _Batch()
    batch.claims = work.claims.by_numbers(payment.claim_number for payment in remittance.claims)
    accounts = sorted({work.claims.account_id(claim) for claim in batch.claims.values()})
    session.info[_BATCH_KEY] = batch
    checked = sorted(set(keys))
    batch.checked_keys.update(checked)
    for start in range(0, len(checked), _CHUNK):
        chunk = checked[start:start + _CHUNK]
        # both tables in one statement: a key is taken by a ledger posting or, for an answer
        # whose every amount was kept open, by its adjudication row alone
        batch.posted_keys.update(session.scalars(
            select(PostingRow.posting_key).where(PostingRow.posting_key.in_(chunk))
            .union_all(select(ClaimAdjudicationRow.posting_key).where(
                ClaimAdjudicationRow.posting_key.in_(chunk)))))
    patients: set[int] = set()
    identities = session.identity_map  # the named claims' rows, as by_numbers left them
    loaded = {row.id for row in (identities.get(identity_key(ClaimRow, saved_id(claim)))
                                 for claim in batch.claims.values())
              if isinstance(row, ClaimRow) and "lines" in instance_dict(row)}
    for start in range(0, len(accounts), _CHUNK):
        ids = accounts[start:start + _CHUNK]
        # PostgreSQL: the accounts' claims are locked (in id order, so two posters cannot
        # deadlock on them) because their balances are read once here and carried for the
        # part; another transaction posting to the same account waits for this part's commit
        # instead of both refusing negatives against stale balances. SQLite's BEGIN IMMEDIATE
        # already serialises writers (FOR UPDATE is not rendered there). Only the columns the
        # batch needs: the claims the part names are loaded (with their lines) already.
        others = []
        for claim_id, account_claim_id, patient_id in session.execute(
                select(ClaimRow.id, ClaimRow.account_claim_id, ClaimRow.patient_id).where(
                or_(ClaimRow.id.in_(ids), ClaimRow.account_claim_id.in_(ids)))
                .order_by(ClaimRow.id).with_for_update(of=ClaimRow)):
            batch.account_claims.setdefault(account_claim_id or claim_id, []).append(claim_id)
            batch.claim_ids.add(claim_id)
            patients.add(patient_id)
            if claim_id not in loaded:
                others.append(claim_id)
        if others:  # the accounts' other claims, read after the lock, settled again below
            session.scalars(select(ClaimRow).options(selectinload(ClaimRow.lines))
                            .where(ClaimRow.id.in_(others))).all()
        for answer in session.scalars(select(ClaimAdjudicationRow).where(
                ClaimAdjudicationRow.account_claim_id.in_(ids))
                .order_by(ClaimAdjudicationRow.id)):
            batch.answers.setdefault(answer.claim_id, []).append(answer)
        for denial in session.scalars(select(DenialRow).where(
                DenialRow.account_claim_id.in_(ids)).order_by(DenialRow.id)):
            batch.denials.setdefault(denial.account_claim_id, []).append(denial)
    account_claim_ids = sorted(batch.claim_ids)
    for start in range(0, len(account_claim_ids), _CHUNK):
        for held in session.scalars(select(RemittanceExceptionRow).where(
                RemittanceExceptionRow.held_claim_id.in_(
                    account_claim_ids[start:start + _CHUNK]))
                .order_by(RemittanceExceptionRow.id)):
            batch.held.setdefault(held.held_claim_id or 0, []).append(held)
    answer_keys = sorted({a.posting_key for rows_ in batch.answers.values() for a in rows_})
    batch.share_holders.update(dict.fromkeys(answer_keys))
    for start in range(0, len(answer_keys), _CHUNK):
        chunk = answer_keys[start:start + _CHUNK]
        for key, payer_key, owner in session.execute(
                select(PostingRow.posting_key, LedgerEntryRow.payer_key, ClaimRow.payer_key)
                .join(PostingRow, PostingRow.id == LedgerEntryRow.posting_id)
                .join(ClaimAdjudicationRow, ClaimAdjudicationRow.posting_key
                      == PostingRow.posting_key)
                .join(ClaimRow, ClaimRow.id == ClaimAdjudicationRow.claim_id)
                .where(PostingRow.posting_key.in_(chunk),
                       LedgerEntryRow.kind == EntryKind.TRANSFER_TO_PAYER.value)
                .order_by(LedgerEntryRow.id)):
            if payer_key is not None and owner is not None and payer_key != owner \
                    and batch.share_holders.get(key) is None:
                batch.share_holders[key] = payer_key
    wanted = sorted(patients)
    for start in range(0, len(wanted), _CHUNK):
        for coverage in session.scalars(select(CoverageRow).where(
                CoverageRow.patient_id.in_(wanted[start:start + _CHUNK]))
                .order_by(CoverageRow.coverage_order, CoverageRow.id)):
            batch.coverages.setdefault(coverage.patient_id, []).append(
                coverage_from_row(coverage))
    work.ledger.begin_batch(accounts, absent_keys=set(checked) - batch.posted_keys)
    return batch


def _write_batch(work: UnitOfWork, batch: _Batch) -> None:
    """Insert the part's new adjudication rows and findings, one executemany each (every
    column given, NULLs too, so that the rows are not split by which values are NULL)."""
    _apply_moves(work, batch)
    if batch.new_answers:
        work.session.execute(insert(_ANSWERS), [row.values() for row in batch.new_answers],
                             execution_options=_NO_AUTOFLUSH)
    if batch.new_findings:
        work.session.execute(insert(_FINDINGS), batch.new_findings,
                             execution_options=_NO_AUTOFLUSH)
    batch.new_answers.clear()
    batch.new_findings.clear()


def _apply_moves(work: UnitOfWork, batch: _Batch) -> None:
    """Create the part's claims to the next payers (one :meth:`create_many`), then apply its
    claims' moves (one :meth:`transition_many`), then record the next claims' audit events:
    what posting claim payment by claim payment did for each, in a few statements."""
    pending = list(batch.next_claims.values())
    batch.next_claims.clear()
    created = work.claims.create_many([item.claim for item in pending]) if pending else []
    for item, claim in zip(pending, created, strict=True):
        claim_id = saved_id(claim)
        if item.account_id in batch.account_claims:
            batch.account_claims[item.account_id].append(claim_id)
            batch.claim_ids.add(claim_id)
        if item.crossed_over_by is not None:  # the primary payer forwarded it
            for target in (ClaimState.VALIDATED, ClaimState.SUBMITTED):
                batch.moves.append(ClaimMove(claim_id, target,
                                             f"crossed over by {item.crossed_over_by}"))
    moves, batch.moves = batch.moves, []
    batch.states.clear()
    if moves:
        work.claims.transition_many(moves)
        moved = {move.claim_id for move in moves}  # converted again when named again
        batch.claims = {number: claim for number, claim in batch.claims.items()
                        if claim.id not in moved}
        batch.others = {claim_id: claim for claim_id, claim in batch.others.items()
                        if claim_id not in moved}
    for item, claim in zip(pending, created, strict=True):
        audit.record(work.session, actor=work.actor, action="claim.next_payer",
                     entity_type="claim", entity_id=claim.id,
                     details={"from_claim": item.from_claim, "payer_key": item.payer_key,
                              "reason": item.reason})


def _current(work: UnitOfWork, claim: Claim) -> Claim:
    """``claim`` in the state the part's moves not applied yet leave it."""
    batch = _batch(work)
    state = batch.states.get(saved_id(claim)) if batch is not None else None
    if state is None or state is claim.state:
        return claim
    return claim.model_copy(update={"state": state})


def _end_batch(work: UnitOfWork, *, discard: bool = False) -> None:
    """Stop carrying the part (``discard``: it failed, its transaction is rolled back)."""
    work.session.info.pop(_BATCH_KEY, None)
    work.ledger.end_batch(discard=discard)


_CHUNK = 500
_NO_AUTOFLUSH = {"autoflush": False}
#: the tables a part inserts many rows into: a Core executemany, without the ORM's bulk-insert
#: bookkeeping for each row
_ANSWERS = cast(Table, ClaimAdjudicationRow.__table__)
_FINDINGS = cast(Table, RemittanceFindingRow.__table__)


def _entries(claim: Claim, account_id: int, payment: ClaimPayment, sign: Decimal,
             next_payer: str | None, decisions: list[RuleDecision]) -> list[LedgerLine]:
    """Ledger lines for one claim payment, on the encounter's account.

    Each adjustment does what its posting rule says (``decisions``, same order as
    ``payment.all_adjustments``): ``adjust`` posts a contractual adjustment, ``patient``
    moves patient responsibility to the next payer (secondary coverage) when there is one and
    to the patient otherwise, ``deny`` and ``review`` post nothing: the amount stays owed by
    the payer (a denial work item, :mod:`medbill_core.services.denials`).
    """
    common: dict[str, Any] = {"patient_id": claim.patient_id, "claim_id": account_id,
                              "payer_key": claim.payer_key}
    lines: list[LedgerLine] = []
    if payment.paid:
        lines.append(LedgerLine(EntryKind.PAYER_PAYMENT, payment.paid * sign, **common))
    for adjustment, decision in zip(payment.all_adjustments, decisions, strict=True):
        if not adjustment.amount or decision.action in KEPT_OPEN:
            continue
        if claim.account_claim_id is not None and adjustment.group is AdjustmentGroup.OTHER \
                and adjustment.reason_code == PRIOR_PAYER_IMPACT:
            continue  # what an earlier payer paid or adjusted is on the account already
        amount = adjustment.amount * sign
        reason = f"{adjustment.group.value}-{adjustment.reason_code}"
        if decision.action is PostingAction.ADJUST:
            lines.append(LedgerLine(EntryKind.CONTRACTUAL_ADJUSTMENT, amount,
                                    reason_code=reason, **common))
        elif next_payer is None:
            lines.append(LedgerLine(EntryKind.TRANSFER_TO_PATIENT, amount, reason_code=reason,
                                    **common))
        else:
            lines.append(LedgerLine(EntryKind.TRANSFER_TO_PAYER, amount, reason_code=reason,
                                    **common))
            lines.append(LedgerLine(EntryKind.TRANSFER_TO_PAYER, -amount, reason_code=reason,
                                    **{**common, "payer_key": next_payer}))
    return lines


def _posting_sign(payment: ClaimPayment) -> Decimal:
    """-1 for a reversal whose payer left its amounts positive, else 1.

    X221A1 sends a reversal (CLP02 = 22) with every amount negated (CLP03, CLP04, CAS, SVC),
    so posting them as they are takes the original back. Some payers send the original's
    positive amounts instead; a positive total charge tells them apart.
    """
    if payment.is_reversal and payment.charge > ZERO:
        return Decimal(-1)
    return Decimal(1)


def _next_coverage(work: UnitOfWork, claim: Claim) -> Coverage | None:
    """The patient's next coverage after the claim's (secondary after primary), if any."""
    if claim.coverage_id is None:
        return None
    batch = _batch(work)
    known = batch.coverages.get(claim.patient_id) if batch is not None else None
    current = next((c for c in known or () if c.id == claim.coverage_id), None)
    if known is None or current is None:
        current = work.patients.coverage(claim.coverage_id)
        known = work.patients.coverages(claim.patient_id)
    later = [c for c in known
             if c.order.rank > current.order.rank and c.payer_key != current.payer_key
             and c.payer_key in work.app.config.payers
             and c.is_active_on(claim.service_date_from)]
    return min(later, key=lambda c: c.order.rank) if later else None


def _next_claim(work: UnitOfWork, claim: Claim, account_id: int, coverage: Coverage, *,
                crossed_over: bool, reason: str) -> None:
    """The claim to the next payer: same services, the encounter's account, no new charges.
    In a part of an 835 it is created with the part's others (:func:`_apply_moves`)."""
    number = f"{claim.claim_number[:16]}-S{coverage.order.rank}"
    batch = _batch(work)
    if batch is not None and number in batch.next_claims:
        return  # created with the part's others
    # every claim of an account the batch read is known by number: no look-up for a new one
    if batch is None or account_id not in batch.account_claims \
            or number in work.session.info.get("medbill.claim_ids", {}):
        try:
            work.claims.by_number(number)
            return
        except NotFound:
            pass
    new_claim = claim.model_copy(update={
        "id": None, "claim_number": number, "coverage_id": coverage.id,
        "payer_key": coverage.payer_key, "account_claim_id": account_id,
        "state": ClaimState.DRAFT, "payer_claim_number": None, "created_at": None,
        "frequency": ClaimFrequency.ORIGINAL, "original_claim_reference": None,
        "replaces_claim_id": None})
    if batch is not None:
        batch.next_claims[number] = _NextClaim(
            new_claim, account_id, claim.id, coverage.payer_key, reason,
            claim.payer_key if crossed_over else None)
        return
    follow_up = work.claims.create(new_claim)
    if crossed_over:  # the primary payer forwarded it: nothing for us to send
        for target in (ClaimState.VALIDATED, ClaimState.SUBMITTED):
            follow_up = work.claims.transition(saved_id(follow_up), target,
                                               reason=f"crossed over by {claim.payer_key}")
    audit.record(work.session, actor=work.actor, action="claim.next_payer",
                 entity_type="claim", entity_id=follow_up.id,
                 details={"from_claim": claim.id, "payer_key": coverage.payer_key,
                          "reason": reason})


def _procedure_codes(service: ServicePayment) -> list[str]:
    """The codes an SVC may answer a billed line by: the billed code (SVC06-2) the payer
    reports when it adjudicated another one, then the adjudicated code (SVC01-2)."""
    codes = [service.original_procedure_code] if service.original_procedure_code else []
    return [*codes, service.procedure_code]


def match_service_lines(lines: list[ServiceLine], services: list[ServicePayment]
                        ) -> list[ServiceLine] | None:
    """The claim line each 835 service payment answers (same order as ``services``), or
    ``None`` when one cannot be matched. The rule is in the module docstring: REF*6R line
    control numbers first, then position, then procedure code."""
    ordered = sorted(lines, key=lambda line: line.line_number)
    by_control = {line.line_control_number: line for line in ordered if line.line_control_number}
    matched: list[ServiceLine | None] = [by_control.get(service.line_control_number or "")
                                         for service in services]
    taken = {line.line_number for line in matched if line is not None}
    rest = [index for index, line in enumerate(matched) if line is None]
    free = [line for line in ordered if line.line_number not in taken]
    if len(rest) == len(free) and all(line.billed_code in _procedure_codes(services[index])
                                      for index, line in zip(rest, free, strict=True)):
        for index, line in zip(rest, free, strict=True):
            matched[index] = line
    else:
        for index in rest:
            codes = _procedure_codes(services[index])
            found = next((line for line in free if line.billed_code in codes), None)
            if found is None:
                return None
            matched[index] = found
            free.remove(found)
    return [line for line in matched if line is not None]


def _adjustment_json(adjustment: Adjustment) -> dict[str, str | None]:
    return {"group_code": adjustment.group.value, "reason_code": adjustment.reason_code,
            "amount": str(adjustment.amount),
            "quantity": str(adjustment.quantity) if adjustment.quantity is not None else None}


_SVD_QUALIFIERS = frozenset({"ER", "HC", "IV", "WK"})


def line_adjudications(claim: Claim, payment: ClaimPayment) -> list[PriorLineAdjudication]:
    """The payment's service payments as line adjudications of the claim's lines (empty when
    it has none, when one cannot be matched or when they do not balance with the claim)."""
    if not payment.services:
        return []
    lines = match_service_lines(claim.lines, payment.services)
    if lines is None:
        return []
    result = []
    for line, service in zip(lines, payment.services, strict=True):
        adjustments = service.adjustments  # all of them: the row's adjustments hold them too
        reported = service.procedure_qualifier in _SVD_QUALIFIERS
        try:
            adjudication = PriorLineAdjudication(
                line_number=line.line_number,
                procedure_qualifier=service.procedure_qualifier if reported
                else _billed_qualifier(line),
                procedure_code=service.procedure_code if reported else line.billed_code,
                modifiers=service.modifiers if reported else line.modifiers,
                paid_amount=service.paid,
                # X221A1: no SVC05 means one unit paid; 837 SVD05 then carries 1 (X12 RFI 2163)
                paid_units=abs(service.units) if service.units is not None else Decimal(1),
                # pydantic validates the dicts into ClaimAdjustmentRef (as from the row's JSON)
                adjustments=[_adjustment_json(a) for a in adjustments],  # type: ignore[misc]
                remaining_patient_liability=total(
                    a.amount for a in adjustments
                    if a.group is AdjustmentGroup.PATIENT_RESPONSIBILITY))
        except ValidationError:  # a code or modifier an 837P could not carry
            return []
        result.append(adjudication)
    claim_adjusted = total(a.amount for a in payment.adjustments)
    if total(line.paid_amount for line in result) - claim_adjusted != payment.paid:
        return []  # an 835 that does not balance: claim level only, as it always was
    return result


def _record_adjudication(work: UnitOfWork, key: str, claim: Claim, account_id: int,
                         payment: ClaimPayment, paid_date: date,
                         decisions: list[RuleDecision]) -> None:
    lines = line_adjudications(claim, payment)
    row = _NewAnswer(
        posting_key=key, claim_id=saved_id(claim), account_claim_id=account_id,
        payer_key=claim.payer_key or "", coverage_id=claim.coverage_id,
        claim_status=payment.status.value, paid=payment.paid, paid_date=paid_date,
        adjustments=[_adjustment_json(a) for a in payment.all_adjustments],
        lines=[line.model_dump(mode="json") for line in lines] or None,
        posting_rules=[{"action": d.action.value, "rule": d.rule} for d in decisions],
        remark_codes=remark_codes(payment))
    batch = _batch(work)
    if batch is None:
        work.session.add(ClaimAdjudicationRow(**row.values()))
    else:
        batch.add_answer(row)
        batch.new_answers.append(row)


def remark_codes(payment: ClaimPayment) -> list[str]:
    """The claim payment's remark codes, then its lines', each once (kept for remit show)."""
    codes = [*payment.remark_codes,
             *(code for service in payment.services for code in service.remark_codes)]
    return list(dict.fromkeys(code.strip().upper() for code in codes if code.strip()))


def _decisions(work: UnitOfWork, rules: PostingRules, claim: Claim, payment: ClaimPayment,
               answer: _Answer | None = None) -> list[RuleDecision]:
    """The posting rule of each adjustment (``payment.all_adjustments`` order).

    A reversal undoes what the answer it reverses did, whatever the rules say today: each of
    its adjustments takes the action recorded for the same code on that answer (answers
    posted before the rules table adjusted everything but PR).
    """
    adjustments = payment.all_adjustments
    if not payment.is_reversal:
        return [rules.decide(claim.payer_key, a.group.value, a.reason_code)
                for a in adjustments]
    if answer is None:
        answer = _latest_answer_row(work, saved_id(claim))
    recorded: dict[str, RuleDecision] = {}
    if answer is not None:
        for index, item in enumerate(answer.adjustments or []):
            code = f"{item['group_code']}-{item['reason_code']}"
            if answer.posting_rules is not None:
                entry = answer.posting_rules[index]
                recorded.setdefault(code, RuleDecision(PostingAction(entry["action"]),
                                                       entry["rule"]))
            else:
                recorded.setdefault(code, _LEGACY_PATIENT if item["group_code"] == "PR"
                                    else _LEGACY_ADJUST)
    return [recorded.get(f"{a.group.value}-{a.reason_code}")
            or rules.decide(claim.payer_key, a.group.value, a.reason_code) for a in adjustments]


#: what posting did before the rules table: every non-PR adjustment adjusted, PR moved on
_LEGACY_ADJUST = RuleDecision(PostingAction.ADJUST, "posted before the rules table")
_LEGACY_PATIENT = RuleDecision(PostingAction.PATIENT, "posted before the rules table")


def _walk(work: UnitOfWork, claim: Claim, target: ClaimState, reason: str) -> Claim:
    """Move ``claim`` toward ``target`` as an 835 may
    (:func:`~medbill_core.lifecycle.advance_path`). In a part of an 835 the moves are
    applied with the part's others (:func:`_apply_moves`); the claim returned is in the state
    they leave it."""
    batch = _batch(work)
    if batch is None:
        return work.claims.advance(claim, target, reason=reason) or claim
    claim_id = saved_id(claim)
    path = advance_path(batch.states.get(claim_id, claim.state), target)
    if not path:
        return _current(work, claim)
    batch.moves.extend(ClaimMove(claim_id, step, reason) for step in path)
    batch.states[claim_id] = path[-1]
    return claim.model_copy(update={"state": path[-1]})


def _settle_state(work: UnitOfWork, claim: Claim, account_id: int, payment: ClaimPayment,
                  reason: str, denied_open: bool = False) -> None:
    """``denied_open``: the answer kept an amount open as a denial (rule ``deny``): the claim
    is denied, to be worked, whatever else the payer paid."""
    if payment.is_reversal:
        standing = _standing_answers(work, saved_id(claim))
        if not standing:  # nothing of the payer's stands: its new answer is awaited
            _walk(work, claim, ClaimState.ACCEPTED, reason)
            return
        _settle_by_answer(work, claim, account_id, standing[-1], reason)
        return
    _settle(work, claim, account_id, payment.status, payment.paid, reason, denied_open)


def _settle(work: UnitOfWork, claim: Claim, account_id: int, status: ClaimStatusCode,
            paid: Decimal, reason: str, denied_open: bool) -> None:
    """The state the payer's standing answer (``status``, ``paid``) and the account's
    balances give the claim."""
    if (status is ClaimStatusCode.DENIED and not paid) or (
            denied_open and work.ledger.payer_balance(account_id, claim.payer_key or "") > ZERO):
        _walk(work, claim, ClaimState.DENIED, reason)
        return
    owed_by_payer = work.ledger.payer_balance(account_id, claim.payer_key or "")
    if owed_by_payer > ZERO:
        _walk(work, claim, ClaimState.PARTIALLY_PAID if paid else ClaimState.ACCEPTED,
              reason)
        return
    claim = _walk(work, claim, ClaimState.PAID, reason)
    standing = _standing_answers(work, saved_id(claim))
    if standing and _patient_share_holder(work, claim, standing[-1]) is not None:
        return  # the rest went to the next payer's claim: that claim follows the account
    account = work.ledger.claim_balance(account_id)
    if account.patient > ZERO:
        _walk(work, claim, ClaimState.PATIENT_BALANCE, reason)
    elif account.total == ZERO:
        _walk(work, claim, ClaimState.CLOSED, reason)


# -- answers in any order ---------------------------------------------------------------------
#
# The payer's documents about a claim may arrive in any order (a late 277CA, a reversal before
# the answer it reverses, a replacement's answer before the original's). The rule that makes
# the end the same as in the natural order:
#
# * a reversal (CLP02 = 22) takes back the *standing* answer of the claim it mirrors (the
#   answer whose CLP04 it negates), never another; the answer is marked reversed
#   (``ClaimAdjudicationRow.reversed_by``);
# * a reversal with no such answer on file is *held*: nothing is posted, the claim keeps its
#   state, and the claim payment waits on the exceptions list (reason ``held: ...``); when the
#   answer it mirrors is posted, the held reversal is posted right after it in the same
#   transaction, so the two net out exactly as if they had come in order;
# * a claim's state follows from its standing answer and the account's balances, and after
#   each posting every other claim of the account that the payers have answered is settled
#   again (a secondary payer's claim once the primary's reversal or new answer moved its
#   share, a replacement once the original's reversal arrived), only ever forwards.

#: states of a claim answered before that a posting elsewhere on its account may settle anew
_RESETTLED = frozenset({ClaimState.ACCEPTED, ClaimState.PAID, ClaimState.PARTIALLY_PAID,
                        ClaimState.PATIENT_BALANCE, ClaimState.CLOSED})
_RESETTLED_VALUES = frozenset(state.value for state in _RESETTLED)
_OWED_VALUES = frozenset(status.value for status in OWED)
HELD_REASON = "held: a reversal received before the answer it reverses"


def _answers(work: UnitOfWork, claim_id: int) -> list[_Answer] | None:
    """The claim's adjudication rows, oldest first, when the batch carries them."""
    batch = _batch(work)
    if batch is None or claim_id not in batch.claim_ids:
        return None
    return batch.answers.get(claim_id, [])


def _standing_answers(work: UnitOfWork, claim_id: int) -> list[_Answer]:
    """The claim's 835 answers no reversal has taken back, oldest first."""
    carried = _answers(work, claim_id)
    if carried is not None:
        return [row for row in carried if row.claim_status != ClaimStatusCode.REVERSAL.value
                and row.reversed_by is None]
    return list(work.session.scalars(
        select(ClaimAdjudicationRow)
        .where(ClaimAdjudicationRow.claim_id == claim_id,
               ClaimAdjudicationRow.claim_status != ClaimStatusCode.REVERSAL.value,
               ClaimAdjudicationRow.reversed_by.is_(None))
        .order_by(ClaimAdjudicationRow.id)))


def _answer_reversed(work: UnitOfWork, claim: Claim, payment: ClaimPayment,
                     sign: Decimal) -> _Answer | None:
    """The standing answer a reversal takes back: the latest whose payment it negates."""
    mirrored = -(payment.paid * sign)
    for answer in reversed(_standing_answers(work, saved_id(claim))):
        if answer.paid == mirrored:
            return answer
    return None


def _settle_by_answer(work: UnitOfWork, claim: Claim, account_id: int,
                      answer: _Answer, reason: str) -> None:
    batch = _batch(work)
    if batch is not None and account_id in batch.account_claims:
        denied_open = any(row.posting_key == answer.posting_key
                          and row.action == PostingAction.DENY.value
                          and row.status in _OWED_VALUES
                          for row in batch.denials.get(account_id, ()))
        _settle(work, claim, account_id, ClaimStatusCode(answer.claim_status), answer.paid,
                reason, denied_open)
        return
    denied_open = work.session.scalar(select(DenialRow.id).where(
        DenialRow.posting_key == answer.posting_key,
        DenialRow.action == PostingAction.DENY.value,
        DenialRow.status.in_([status.value for status in OWED])).limit(1)) is not None
    _settle(work, claim, account_id, ClaimStatusCode(answer.claim_status), answer.paid, reason,
            denied_open)


def _settle_account(work: UnitOfWork, posted: Claim, account_id: int, reason: str) -> None:
    """Settle again the other answered claims of the account: what was just posted moved
    the balances their states follow from."""
    batch = _batch(work)
    others: Any
    if batch is not None and account_id in batch.account_claims:
        rows = [work.session.get_one(ClaimRow, claim_id)
                for claim_id in sorted(batch.account_claims[account_id])]
        others = [row.id for row in rows if row.id != posted.id
                  and (batch.states[row.id].value if row.id in batch.states
                       else row.state) in _RESETTLED_VALUES]
    else:
        others = work.session.scalars(select(ClaimRow.id).where(
        or_(ClaimRow.id == account_id, ClaimRow.account_claim_id == account_id),
        ClaimRow.id != posted.id,
        ClaimRow.state.in_(_RESETTLED_VALUES)).order_by(ClaimRow.id))
    for claim_id in list(others):
        standing = _standing_answers(work, claim_id)
        if standing:
            _settle_by_answer(work, _current(work, _claim(work, claim_id)), account_id,
                              standing[-1], reason)


def _claim(work: UnitOfWork, claim_id: int) -> Claim:
    """The claim, in a part of an 835 converted once for the part (see ``_Batch.others``)."""
    batch = _batch(work)
    if batch is None:
        return work.claims.get(claim_id)
    claim = batch.others.get(claim_id)
    if claim is None:
        claim = batch.others[claim_id] = work.claims.get(claim_id)
    return claim


def _held(work: UnitOfWork, key: str, trace_number: str, claim: Claim, payment: ClaimPayment,
          when: date, tally: RegisterTally) -> bool:
    """Hold a reversal whose answer has not arrived (``True``); ``False`` to post it now."""
    if not payment.is_reversal or _already_posted(work, key) or \
            _answer_reversed(work, claim, payment, _posting_sign(payment)) is not None:
        return False
    exists = work.session.scalar(select(RemittanceExceptionRow.id).where(
        RemittanceExceptionRow.posting_key == key))
    if exists is None:
        row = RemittanceExceptionRow(
            posting_key=key, trace_number=trace_number, claim_number=payment.claim_number[:50],
            reason=HELD_REASON, paid=payment.paid,
            held_payment=payment.model_dump(mode="json"), held_claim_id=claim.id,
            held_effective_date=when)
        work.session.add(row)
        batch = _batch(work)
        if batch is not None:
            batch.held.setdefault(saved_id(claim), []).append(row)
        audit.record(work.session, actor=work.actor, action="remittance.held",
                     entity_type="claim", entity_id=claim.id, details={"posting_key": key})
    tally.exceptions.append((key, payment.paid, exists is None))
    return True


def _release_held(work: UnitOfWork, rules: PostingRules, claim: Claim,
                  result: RemittancePostingResult, tally: RegisterTally) -> None:
    """Post the reversals held for ``claim`` whose answer is now on file."""
    batch = _batch(work)
    held: Any
    if batch is not None and _answers(work, saved_id(claim)) is not None:
        held = [row for row in batch.held.get(saved_id(claim), ())
                if not row.resolved and row.held_payment is not None]
    else:
        held = work.session.scalars(select(RemittanceExceptionRow).where(
        RemittanceExceptionRow.held_claim_id == claim.id,
        RemittanceExceptionRow.resolved.is_(False),
        RemittanceExceptionRow.held_payment.is_not(None)).order_by(RemittanceExceptionRow.id))
    for row in list(held):
        payment = ClaimPayment.model_validate(row.held_payment)
        current = _current(work, _claim(work, saved_id(claim)))
        if _answer_reversed(work, current, payment, _posting_sign(payment)) is None:
            continue
        in_this_posting = [item for item in tally.exceptions if item[0] == row.posting_key]
        if in_this_posting:  # held earlier in this same 835: it is posted, not an exception
            tally.exceptions.remove(in_this_posting[0])
            result.held.remove(payment.claim_number)
            own_result, own_tally = result, tally
        else:
            own_result = RemittancePostingResult(row.trace_number)
            own_tally = RegisterTally()
        _post_claim_payment(work, rules, row.trace_number, row.posting_key, current, payment,
                            row.held_effective_date or date.today(), own_result, own_tally)
        row.resolved = True
        row.resolved_at = utcnow()
        row.resolved_by = work.actor
        row.resolution = "posted when the answer it reverses arrived"
        if not in_this_posting:
            work.session.flush()  # the register counts what is resolved (a rare path)
            move_exception_to_posted(work, row)


def post_remittance(work: UnitOfWork, remittance: Remittance, *,
                    effective_date: date | None = None,
                    on_progress: Callable[[int, int], None] | None = None,
                    run: PostingRun | None = None, final: bool = True
                    ) -> RemittancePostingResult:
    """Post one 835 transaction inside the caller's transaction.

    Unknown claim numbers become remittance exceptions (a work list), PLB
    adjustments become provider adjustments; neither touches a patient account.
    Claim payments that do not balance or are not believable become exceptions too.
    ``on_progress(done, total)`` is called after each claim payment (a progress bar).
    ``run``: ``remittance`` holds one part of the claim payments (see :class:`PostingRun`);
    ``final`` says it is the last part.
    """
    work.require(Action.REMITTANCE_POST)
    check_remittance_dates(remittance)
    if run is None:
        run = PostingRun(remittance.trace_number)
    if run.result is None:
        run.result = RemittancePostingResult(remittance.trace_number)
    result = run.result
    rules = PostingRules(work.app.config.posting_rules)
    when = effective_date or remittance.payment_date or date.today()
    prefix = posting_prefix(remittance)
    tally = RegisterTally()
    seen = run.seen
    upcoming = Counter(seen)
    keys = []
    for payment in remittance.claims:
        upcoming[payment.claim_number] += 1
        keys.append(f"{prefix}:{payment.claim_number}:{upcoming[payment.claim_number]}")
    with collector_paused():
        try:
            batch = _begin_batch(work, remittance, keys)
            # what the loop reads is carried by the batch or flushed on purpose: no autoflush
            with work.session.no_autoflush:
                _post_claim_payments(work, remittance, run, result, rules, keys, when, tally,
                                     on_progress)
                _write_batch(work, batch)
        except BaseException:
            _end_batch(work, discard=True)
            raise
        _end_batch(work)
    if on_progress is not None and remittance.claims:
        on_progress(len(remittance.claims), len(remittance.claims))
    for index, plb in enumerate(remittance.provider_adjustments if final else (), start=1):
        key = f"{prefix}:PLB:{index}"
        exists = work.session.scalar(select(ProviderAdjustmentRow.id).where(
            ProviderAdjustmentRow.posting_key == key))
        tally.provider_adjustments.append((plb.amount, exists is None))
        if exists is not None:
            continue
        work.session.add(ProviderAdjustmentRow(
            posting_key=key, trace_number=remittance.trace_number, payer_id=remittance.payer_id,
            provider_id=plb.provider_id, reason_code=plb.reason_code, reference=plb.reference,
            amount=plb.amount, fiscal_period_date=plb.fiscal_period_date))
        result.provider_adjustments += 1
    row, recorded = record_remittance(work, remittance, tally, when, partial=not final,
                                      continuing=run.created_register_row)
    run.created_register_row |= tally.row_created
    run.recorded |= recorded
    result.status = row.status
    if not final:
        return result
    if result.changed_anything or run.recorded:
        work.session.flush()  # the row's id, for the audit trail and the caller
        details: dict[str, object] = {
            "posted": len(result.posted), "duplicates": len(result.duplicates),
            "unmatched": len(result.unmatched),
            "provider_adjustments": result.provider_adjustments,
            "remittance_id": row.id, "status": row.status}
        if result.unbalanced:
            details["unbalanced"] = len(result.unbalanced)
        if row.payment_amount != remittance.payment_amount:
            details["payment_amount_differs"] = True  # a resend with another BPR02: kept first
        audit.record(work.session, actor=work.actor, action="remittance.post",
                     entity_type="remittance", entity_id=remittance.trace_number,
                     details=details)
        work.app.hooks.billing_event_precommit(event_type="remittance.posted", data={
            "remittance_id": row.id, "trace_number": remittance.trace_number,
            "payer_id": remittance.payer_id, "payment_amount": str(row.payment_amount),
            "status": row.status, "claims_posted": len(result.posted),
            "duplicates": len(result.duplicates), "unmatched": len(result.unmatched)})
    if result.differing:
        audit.record(work.session, actor=work.actor, action="remittance.figures_differ",
                     entity_type="remittance", entity_id=remittance.trace_number,
                     details={"claims": [item.claim_number for item in result.differing],
                              "differing": [item.as_json() for item in result.differing],
                              "remittance_id": row.id})
    result.remittance_id = row.id
    return result


#: claim payments posted between two collections while the collector is paused (posting in
#: parts never gets there: a part is smaller)
_COLLECT_EVERY = 1000


def _post_claim_payments(work: UnitOfWork, remittance: Remittance, run: PostingRun,
                         result: RemittancePostingResult, rules: PostingRules,
                         keys: list[str], when: date, tally: RegisterTally,
                         on_progress: Callable[[int, int], None] | None) -> None:
    """Post the claim payments of one part (``keys``: their posting keys, in order)."""
    seen = run.seen
    # a payer correcting an answer sends its reversal and the new answer together (in either
    # order): the new answer of a claim reversed in this part is not a second payment
    reversed_here = {payment.claim_number for payment in remittance.claims
                     if payment.is_reversal}
    for done, (payment, key) in enumerate(zip(remittance.claims, keys, strict=True)):
        if on_progress is not None and done:
            on_progress(done, len(remittance.claims))
        if done and not done % _COLLECT_EVERY:  # a whole 835 posted at once: memory stays flat
            gc.collect(1)
        seen[payment.claim_number] += 1
        claim = _claim_answered(work, remittance, payment)
        if isinstance(claim, str):
            created = _record_exception(work, key, remittance.trace_number, payment, claim)
            tally.exceptions.append((key, payment.paid, created))
            result.unmatched.append(payment.claim_number)
            continue
        changed = _changed_since_posted(work, key, remittance.trace_number, payment)
        if changed is not None:  # the ledger keeps what was posted under the key
            tally.duplicates.append((key, payment.paid))
            result.differing.append(changed)
            continue
        unbelievable = unposted_reason(payment, claim)
        digest = hashlib.sha256(payment.model_dump_json().encode("utf-8")).digest()
        if unbelievable is None and digest in run.payments:
            # a payer answers a claim once per 835 with these figures; a copy of the same
            # CLP loop is a file defect, and posting it would pay and adjust the claim twice
            unbelievable = ("the same claim payment appears earlier in this remittance: "
                            "a repeated copy, not posted twice")
        run.payments.add(digest)
        if unbelievable is None and not payment.is_reversal \
                and payment.claim_number not in reversed_here:
            unbelievable = _paid_before(work, claim, payment, key)
        if unbelievable is not None:
            created = _record_exception(work, key, remittance.trace_number, payment,
                                        unbelievable)
            tally.exceptions.append((key, payment.paid, created))
            result.unbalanced.append(payment.claim_number)
            continue
        if payment.is_reversal and _held(work, key, remittance.trace_number, claim, payment,
                                         when, tally):
            result.held.append(payment.claim_number)
            continue
        _post_claim_payment(work, rules, remittance.trace_number, key, claim, payment, when,
                            result, tally)


def _post_claim_payment(work: UnitOfWork, rules: PostingRules, trace_number: str, key: str,
                        claim: Claim, payment: ClaimPayment, when: date,
                        result: RemittancePostingResult, tally: RegisterTally) -> None:
    """Post one claim payment of an 835 to its claim (found) under ``key``."""
    sign = _posting_sign(payment)
    account_id = work.claims.account_id(claim)
    reason = f"835 {trace_number}"
    reversed_answer = _answer_reversed(work, claim, payment, sign) if payment.is_reversal \
        else None
    decisions = _decisions(work, rules, claim, payment, reversed_answer)
    next_coverage = None if payment.is_reversal else _next_coverage(work, claim)
    if next_coverage is not None and not _moved_on(payment, decisions):
        next_coverage = None  # nothing left for the next payer (a held PR is not)
    if payment.is_reversal:  # the patient share goes back from where the answer put it
        share_holder = _patient_share_holder(work, claim, reversed_answer)
    else:
        share_holder = next_coverage.payer_key if next_coverage else None
    lines = _entries(claim, account_id, payment, sign, share_holder, decisions)
    if not lines and not _kept_open(payment, decisions):
        # a zero-pay, zero-adjustment answer still settles the state
        _settle_state(work, claim, account_id, payment, reason)
        tally.posted.append((key, claim.claim_number, payment.paid, None))
        result.posted.append(payment.claim_number)
        return
    if _already_posted(work, key):
        tally.duplicates.append((key, payment.paid))
        result.duplicates.append(payment.claim_number)
        return
    batch = _batch(work)
    items = batch.denials.setdefault(account_id, []) \
        if batch is not None and account_id in batch.account_claims else None
    if lines:
        work.ledger.post(key, "835", lines, effective_date=when,
                         memo=f"CLP02 {payment.status.value}", allow_credit=True)
        if batch is not None:
            batch.posted_keys.add(key)
            batch.share_holders[key] = next(
                (line.payer_key for line in lines if line.kind is EntryKind.TRANSFER_TO_PAYER
                 and line.payer_key is not None and line.payer_key != claim.payer_key), None)
    tally.posted.append((key, claim.claim_number, payment.paid, True))
    close_replaced(work, account_id, claim.payer_key or "", f"835 {trace_number}", items=items)
    if not payment.is_reversal:  # paid after a write-off or a move to the patient
        undo_decisions_paid_later(work, posting_key=key, claim=claim,
                                  account_id=account_id, answered_on=when, items=items)
    if payment.is_reversal and claim.state is ClaimState.VOIDED:
        _reverse_voided_charges(work, claim, account_id, key, when)
    _record_adjudication(work, key, claim, account_id, payment, when, decisions)
    kept = [] if payment.is_reversal else record_kept_open(
        work, posting_key=key, claim=claim, account_id=account_id,
        adjustments=payment.all_adjustments, decisions=decisions, answered_on=when)
    if items is not None:
        items.extend(kept)
    findings = _adapter_findings(work, claim, payment)
    batch = _batch(work)
    record_findings(work, key, claim, findings, when,  # the follow-up work list's items
                    pending=batch.new_findings if batch is not None else None,
                    fresh=batch is not None and key in batch.checked_keys)
    result.findings.extend(findings)
    if payment.payer_claim_number and not claim.payer_claim_number:
        claim = work.claims.record_payer_claim_number(saved_id(claim),
                                                      payment.payer_claim_number)
        if batch is not None and claim.claim_number in batch.claims:
            batch.claims[claim.claim_number] = claim
        if batch is not None:
            batch.others.pop(saved_id(claim), None)
        claim = _current(work, claim)
    if next_coverage is not None:
        _next_claim(work, claim, account_id, next_coverage, reason=reason,
                    crossed_over=payment.status in _FORWARDED)
        result.forwarded.append(payment.claim_number)
    if reversed_answer is not None:
        reversed_answer.reversed_by = key
    _settle_state(work, claim, account_id, payment, reason,
                  denied_open=any(row.action == PostingAction.DENY for row in kept))
    _settle_account(work, claim, account_id, reason)
    result.kept_open += len(kept)
    result.posted.append(payment.claim_number)
    result.paid += payment.paid * sign
    if not payment.is_reversal:  # a reversal that came first takes this answer back now
        _release_held(work, rules, claim, result, tally)


def _moved_on(payment: ClaimPayment, decisions: list[RuleDecision]) -> Decimal:
    """The patient share the rules move on (to the patient or the next payer): PR amounts a
    ``deny``/``review`` rule holds stay with this payer until someone decides."""
    return total(a.amount for a, d in zip(payment.all_adjustments, decisions, strict=True)
                 if a.group is AdjustmentGroup.PATIENT_RESPONSIBILITY
                 and d.action is PostingAction.PATIENT)


def _kept_open(payment: ClaimPayment, decisions: list[RuleDecision]) -> bool:
    return any(a.amount and d.action in KEPT_OPEN
               for a, d in zip(payment.all_adjustments, decisions, strict=True))


def _answer_figures(status: str, paid: Decimal,
                    adjustments: list[dict[str, Any]]) -> tuple[object, ...]:
    """What two answers of a payer must share to be one answer sent twice: CLP02, the paid
    amount and what was adjusted for each reason (group and CARC), summed over the claim-level
    and the line-level CAS. A payer re-sending an answer may lay its CAS out otherwise (all at
    claim level, one line's split in two, PR-3 and PR-1 in one segment): it is the same
    adjudication, and comparing CAS rows one by one posted it twice (the claim paid twice, the
    patient's share billed twice). Reasons summing to zero count as absent; the patient's
    share is the PR sums, so it is compared with them."""
    sums: dict[tuple[str, str], Decimal] = {}
    for item in adjustments:
        reason = (str(item.get("group_code")), str(item.get("reason_code")))
        sums[reason] = sums.get(reason, ZERO) + Decimal(str(item.get("amount")))
    return (status, paid, sorted((group, code, amount) for (group, code), amount
                                 in sums.items() if amount))


def _paid_before(work: UnitOfWork, claim: Claim, payment: ClaimPayment,
                 key: str) -> str | None:
    """Why an answer (not a reversal) must wait for a person when it repeats, figure for
    figure, an answer of the same payer already posted under another posting key (a re-sent
    ERA, a payer's duplicate) that no reversal took back: posting it would pay and adjust the
    claim again and bill the patient's share twice. The figures are the answer's substance
    (:func:`_answer_figures`), whatever its CAS layout. A second answer with other figures
    (the rest of a partly answered charge, a payer paying more) posts as the payer said; what
    it overpays is an insurance credit for the overpayment refunds. ``None``: not a repeat."""
    figures = _answer_figures(payment.status.value, payment.paid,
                              [_adjustment_json(item) for item in payment.all_adjustments])
    for answer in _standing_answers(work, saved_id(claim)):
        if answer.posting_key != key and answer.payer_key == claim.payer_key \
                and _answer_figures(answer.claim_status, answer.paid,
                                    answer.adjustments) == figures \
                and not _already_posted(work, key):
            return (f"repeats the answer posted on {answer.paid_date.isoformat()} (paid "
                    f"{answer.paid}, the same adjustments) with no reversal since: a "
                    "duplicate, not posted twice")
    return None


def _changed_since_posted(work: UnitOfWork, key: str, trace_number: str,
                          payment: ClaimPayment) -> DifferingFigures | None:
    """Both sets of figures when the answer under ``key`` was posted with other figures
    (CLP02, paid, the adjustments): the payer re-sent the trace with other amounts. The
    register and the ledger key on the payer and the trace, so nothing is posted again; the
    caller reports it. ``None``: not posted yet, or posted with these figures."""
    if not _already_posted(work, key):
        return None
    posted = work.session.execute(select(
        ClaimAdjudicationRow.claim_status, ClaimAdjudicationRow.paid,
        ClaimAdjudicationRow.adjustments).where(ClaimAdjudicationRow.posting_key == key)).first()
    if posted is None:  # posted before answers were kept: nothing to compare with
        return None
    sent = [_adjustment_json(item) for item in payment.all_adjustments]
    before = list(posted.adjustments or [])
    if _answer_figures(posted.claim_status, posted.paid, before) == _answer_figures(
            payment.status.value, payment.paid, sent):
        return None
    return DifferingFigures(payment.claim_number, trace_number,
                            AnswerFigures.of(posted.claim_status, posted.paid, before),
                            AnswerFigures.of(payment.status.value, payment.paid, sent))


def _already_posted(work: UnitOfWork, key: str) -> bool:
    """The answer under ``key`` was posted before (its ledger posting or, for an answer whose
    every amount was kept open, its adjudication row is there)."""
    batch = _batch(work)
    if batch is not None and (key in batch.checked_keys or key in batch.posted_keys):
        return key in batch.posted_keys
    work.ledger.flush_pending()
    return work.session.scalar(select(PostingRow.id).where(PostingRow.posting_key == key)) \
        is not None or work.session.scalar(select(ClaimAdjudicationRow.id).where(
            ClaimAdjudicationRow.posting_key == key)) is not None


def _reverse_voided_charges(work: UnitOfWork, claim: Claim, account_id: int, key: str,
                            when: date) -> None:
    """The payer's reversal of a voided claim has arrived: only now do its charges leave the
    account (until then the account shows what the payer paid as still standing, and no
    credit). Charges already reversed (a void of a claim the payer never answered) are left."""
    charges = work.ledger.totals(claim_id=account_id).charges
    if charges > ZERO:
        work.ledger.post(f"{key}:void", "835", [LedgerLine(
            EntryKind.CHARGE, -charges, patient_id=claim.patient_id, claim_id=account_id,
            payer_key=claim.payer_key, bucket=Bucket.INSURANCE)],
            effective_date=when, memo="voided claim: charges reversed with the payer's reversal",
            allow_credit=True)
    # the void request (frequency 8) has done its work: nobody owes anything on it any more
    batch = _batch(work)
    if batch is not None:  # (a rare path: the batch carries no void requests)
        _apply_moves(work, batch)
    work.session.flush()
    requests = work.session.scalars(select(ClaimRow.id).where(
        ClaimRow.replaces_claim_id == claim.id, ClaimRow.frequency == "8",
        ClaimRow.state.in_([state.value for state in PENDING_AT_PAYER])))
    for request_id in list(requests):
        work.claims.transition(request_id, ClaimState.CLOSED,
                               reason=f"the payer reversed {claim.claim_number}")
        if batch is not None:
            batch.others.pop(request_id, None)


def _adapter_findings(work: UnitOfWork, claim: Claim,
                      payment: ClaimPayment) -> list[ClaimFinding]:
    payer = work.app.config.payers.get(claim.payer_key or "")
    adapter = work.app.hooks.context.adapters.get(payer.adapter) if payer else None
    if payer is None or adapter is None or payment.is_reversal:
        return []
    findings = work.app.hooks.remittance_findings(adapter, payment=payment, payer=payer,
                                                  claim=claim)
    findings += contract_underpayments(work, claim, payment)  # payers without their own check
    if findings:
        audit.record(work.session, actor=work.actor, action="remittance.findings",
                     entity_type="claim", entity_id=claim.id,
                     details={"codes": sorted({f.code for f in findings})})
    return findings


@dataclass(frozen=True)
class PayerAnswer:
    """The payer's 835 answer to a claim, as other services read it (the stored row stays
    this module's)."""

    claim_id: int
    payer_key: str
    #: CLP02, e.g. ``"1"`` processed as primary, ``"4"`` denied
    claim_status: str
    paid: Decimal
    #: the 835's date: the day the payer answered
    paid_date: date
    #: every adjustment, the claim-level ones first (``group_code``, ``reason_code``, ``amount``)
    adjustments: tuple[dict[str, Any], ...]
    #: the posting rule applied to each adjustment when posted (``None``: posted before them)
    posting_rules: tuple[dict[str, str], ...] | None

    @property
    def denial_codes(self) -> tuple[str, ...]:
        """The payer's reasons for not paying (:func:`.posting_rules.denial_codes`)."""
        return denial_codes(self.adjustments, self.posting_rules)


def latest_answer(work: UnitOfWork, claim_id: int) -> PayerAnswer | None:
    """The payer's latest 835 answer to the claim that is not a reversal (None: none on file)."""
    row = _latest_answer_row(work, claim_id)
    if row is None:
        return None
    return PayerAnswer(claim_id=row.claim_id, payer_key=row.payer_key,
                       claim_status=row.claim_status, paid=row.paid, paid_date=row.paid_date,
                       adjustments=tuple(row.adjustments or ()),
                       posting_rules=None if row.posting_rules is None
                       else tuple(row.posting_rules))


def _latest_answer_row(work: UnitOfWork, claim_id: int) -> _Answer | None:
    carried = _answers(work, claim_id)
    if carried is not None:
        return next((row for row in reversed(carried)
                     if row.claim_status != ClaimStatusCode.REVERSAL.value), None)
    return work.session.scalar(
        select(ClaimAdjudicationRow)
        .where(ClaimAdjudicationRow.claim_id == claim_id,
               ClaimAdjudicationRow.claim_status != ClaimStatusCode.REVERSAL.value)
        .order_by(ClaimAdjudicationRow.id.desc()).limit(1))


def _patient_share_holder(work: UnitOfWork, claim: Claim,
                          answer: _Answer | None = None) -> str | None:
    """The next payer the 835 answer a reversal takes back (by default the claim's latest)
    moved the patient share to, or ``None`` when it went to the patient: where the reversal
    must take it back from."""
    if answer is None:
        answer = _latest_answer_row(work, saved_id(claim))
    if answer is None:
        return None
    posting_key = answer.posting_key
    batch = _batch(work)
    if batch is not None and posting_key in batch.share_holders:
        return batch.share_holders[posting_key]
    work.ledger.flush_pending()
    return work.session.scalar(
        select(LedgerEntryRow.payer_key)
        .join(PostingRow, PostingRow.id == LedgerEntryRow.posting_id)
        .where(PostingRow.posting_key == posting_key,
               LedgerEntryRow.kind == EntryKind.TRANSFER_TO_PAYER.value,
               LedgerEntryRow.payer_key != claim.payer_key).limit(1))


def _claim_answered(work: UnitOfWork, remittance: Remittance,
                    payment: ClaimPayment) -> Claim | str:
    """The claim a payment answers, or why none is (for the exception work list).

    Found by CLP01, our claim number. A payer answering a claim number of an encounter billed
    to another payer (a crossover: the secondary payer received the primary's claim from the
    primary and remits under its claim number) is matched to the encounter's claim to that
    payer, recognised by the 835's payer ID (REF*2U / N1*PR XV); when the encounter has no
    claim to that (configured) payer, the payment is an exception, never booked to the claim's
    own payer. A payer ID no configured payer has is taken as the billed payer's (the IDs of
    clearinghouses and payers differ). A self-pay claim billed no
    payer, so no payer's payment can be posted to it. Dates of service after the payment date
    are not believed (see :mod:`medbill_core.services.remittance_dates`).
    """
    implausible = implausible_service_dates(remittance, payment)
    if implausible is not None:
        return implausible
    batch = _batch(work)
    if batch is not None and payment.claim_number in batch.next_claims:
        _apply_moves(work, batch)  # (a rare path: a claim this part created is answered)
    found = batch.claims.get(payment.claim_number) if batch is not None else None
    try:
        claim = _current(work, found or work.claims.by_number(payment.claim_number))
    except NotFound:
        return "claim number not found"
    if claim.payer_key is None:
        return "self-pay claim: no payer was billed"
    payers = work.app.config.payers
    remitting = remittance.payer_id
    billed = payers.get(claim.payer_key)
    if not remitting or billed is None or billed.payer_id == remitting:
        return claim
    account_id = work.claims.account_id(claim)
    keys = [key for key, payer in payers.items() if payer.payer_id == remitting]
    sibling = None
    if keys:
        if batch is not None and batch.next_claims:
            _apply_moves(work, batch)  # the claims to the next payers are looked for
        sibling = work.session.scalar(
            select(ClaimRow.id).where(
                or_(ClaimRow.id == account_id, ClaimRow.account_claim_id == account_id),
                ClaimRow.payer_key.in_(keys)).order_by(ClaimRow.id.desc()).limit(1))
    if sibling is not None:
        return _current(work, work.claims.get(sibling))
    if keys:
        # another payer we bill paid it, and none of the encounter's claims went to that
        # payer: posting it to the claim's own payer would book its money to the wrong party
        return (f"paid by {', '.join(sorted(keys))} (payer ID {remitting}), but the claim "
                f"was billed to {claim.payer_key} and no claim of the visit to it")
    # an ID no configured payer has: the payer IDs of the 835 and of the configuration may
    # simply differ (clearinghouse IDs), so the number match stands
    return claim


def _record_exception(work: UnitOfWork, key: str, trace: str, payment: ClaimPayment,
                      reason: str) -> bool:
    """Add the exception unless an earlier posting did; ``True`` when added now."""
    exists = work.session.scalar(select(RemittanceExceptionRow.id).where(
        RemittanceExceptionRow.posting_key == key))
    if exists is None:
        work.session.add(RemittanceExceptionRow(posting_key=key, trace_number=trace,
                                                claim_number=payment.claim_number[:50],
                                                reason=reason[:200], paid=payment.paid))
    return exists is None


def _billed_qualifier(line: ServiceLine) -> str:
    """SVD03-1 of a line the 835 did not echo: HCPCS (HC) or, for an institutional line
    with only a revenue code, NUBC revenue code (NU)."""
    return "HC" if line.procedure_code is not None else "NU"

