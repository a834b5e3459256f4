"""The remittance register: every 835 payment received, reconciled with what posting it did.

:func:`~medbill_core.services.remittance.post_remittance` records one
:class:`~medbill_core.storage.schema.RemittanceRow` per remittance, identified like its
postings by the payer (the payer ID, else the payer name) and the TRN02 trace number, in the
transaction that posts it. A second 835 with the same identity is the same remittance: it
only adds what it posts anew, so posting an 835 again changes nothing. The register is each
practice's own (migration 0043): the same 835 posted by another practice is that practice's
remittance, posted to its claims (an exception for each claim payment it has no claim for).

Each claim payment of the 835 is counted once: *posted* (applied to a claim), *duplicate*
(already on the ledger when the remittance was first recorded, i.e. posted before the
register existed) or *exception* (matched no claim: money received that is on no patient
account). An exception a later posting of the same 835 applies to a claim (the claim was
created meanwhile) moves to *posted* and is resolved.

Reconciliation: BPR02 (the payment amount) must equal the CLP04 amounts as sent of every
claim payment (posted + duplicates + exceptions) minus the PLB amounts (a positive PLB
reduces the payment, a negative one adds to it). The status is

* ``balanced``: it holds and no exception is left unresolved;
* ``exceptions``: it holds, but some claim payments matched no claim and are not resolved
  (``medbill remit resolve``);
* ``out of balance``: the 835 itself does not add up. Posting goes on as always; the
  remittance is only flagged;
* ``posting``: a long 835 posted in parts, not finished yet.

A claim payment that does not balance in itself, or whose amounts are not believable for
its claim (:mod:`medbill_core.services.remittance_checks`), is an *exception* too: never
posted, so such a remittance is never ``balanced`` while it is unresolved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import func, or_, select

from medbill_core import audit
from medbill_core.app import UnitOfWork
from medbill_core.codesets.explain import explain_rarc
from medbill_core.domain import AdjustmentGroup, Remittance
from medbill_core.errors import MedbillError, NotFound, ValidationFailed
from medbill_core.money import total
from medbill_core.permissions import Action
from medbill_core.storage.prefix_sql import starts_with
from medbill_core.storage.schema import (
    ClaimAdjudicationRow,
    ClaimRow,
    DenialRow,
    ProviderAdjustmentRow,
    RemittanceExceptionRow,
    RemittanceRow,
    as_utc,
    utcnow,
)

#: longest note ``resolve_exception`` keeps (the column's size)
RESOLUTION_MAX = 500


class RemittanceStatus(StrEnum):
    BALANCED = "balanced"
    EXCEPTIONS = "exceptions"
    OUT_OF_BALANCE = "out of balance"
    #: a long 835 whose claim payments are being posted in parts (or whose posting was
    #: broken off: posting the file again finishes it)
    POSTING = "posting"


def payer_ref(remittance: Remittance) -> str:
    """The payer part of a remittance's identity: its payer ID, else its payer name."""
    return remittance.payer_id or remittance.payer_name


def posting_prefix(remittance: Remittance) -> str:
    """What every posting key of the remittance starts with (then ``:CLAIM:n`` or ``:PLB:n``)."""
    return f"835:{payer_ref(remittance)}:{remittance.trace_number}"


def _row_prefix(row: RemittanceRow) -> str:
    return f"835:{row.payer_ref}:{row.trace_number}:"


# -- recording, while posting -------------------------------------------------------------------

@dataclass
class RegisterTally:
    """What one posting of an 835 did with each of its claim payments and PLBs.

    Amounts are CLP04 / PLB amounts as sent. ``created`` says whether the posting wrote the
    item now (``None``: a claim payment with nothing to post, which leaves no trace).
    """

    #: (posting key, claim number posted to, CLP04, created)
    posted: list[tuple[str, str, Decimal, bool | None]] = field(default_factory=list)
    #: (posting key, CLP04)
    duplicates: list[tuple[str, Decimal]] = field(default_factory=list)
    #: (posting key, CLP04, created)
    exceptions: list[tuple[str, Decimal, bool]] = field(default_factory=list)
    #: (PLB amount, created)
    provider_adjustments: list[tuple[Decimal, bool]] = field(default_factory=list)
    #: set by :func:`record_remittance`: the remittance's register row was created now
    row_created: bool = False


def expected_amount(row: RemittanceRow) -> Decimal:
    """What BPR02 should be: every claim payment's CLP04 minus the PLB amounts."""
    return row.posted_total + row.duplicate_total + row.exception_total - row.plb_total


def _open_exceptions(work: UnitOfWork, row: RemittanceRow) -> int:
    return work.session.scalar(
        select(func.count()).select_from(RemittanceExceptionRow).where(
            starts_with(work.session, RemittanceExceptionRow.posting_key, _row_prefix(row)),
            RemittanceExceptionRow.resolved.is_(False))) or 0


def _status(work: UnitOfWork, row: RemittanceRow) -> RemittanceStatus:
    if row.payment_amount != expected_amount(row):
        return RemittanceStatus.OUT_OF_BALANCE
    if _open_exceptions(work, row):
        return RemittanceStatus.EXCEPTIONS
    return RemittanceStatus.BALANCED


def _apply_found_exceptions(work: UnitOfWork, row: RemittanceRow, tally: RegisterTally,
                            trace_number: str, *, counted: bool) -> None:
    """Exceptions of earlier postings whose claim payment was posted now are resolved; when
    the register ``counted`` them as exceptions, they move to posted."""
    new = {key: number for key, number, _, created in tally.posted if created}
    if not new:
        return
    found = work.session.scalars(select(RemittanceExceptionRow).where(
        starts_with(work.session, RemittanceExceptionRow.posting_key, _row_prefix(row))))
    for exception in found:
        if exception.posting_key not in new:
            continue
        if counted:
            row.exception_count -= 1
            row.exception_total -= exception.paid
        if not exception.resolved:
            exception.resolved = True
            exception.resolved_at = utcnow()
            exception.resolved_by = work.actor
            exception.resolution = (f"posted to claim {new[exception.posting_key]} by a later "
                                    f"posting of 835 {trace_number}")


def move_exception_to_posted(work: UnitOfWork, exception: RemittanceExceptionRow) -> None:
    """A held claim payment of an earlier 835 was posted (by the posting of another): its
    remittance counts it as posted now, no longer as an exception."""
    rows = work.session.scalars(select(RemittanceRow).where(
        RemittanceRow.trace_number == exception.trace_number))
    row = next((row for row in rows
                if exception.posting_key.startswith(_row_prefix(row))), None)
    if row is None:
        return
    row.exception_count -= 1
    row.exception_total -= exception.paid
    row.posted_count += 1
    row.posted_total += exception.paid
    row.posted_at = utcnow()
    row.status = _status(work, row).value


def record_remittance(work: UnitOfWork, remittance: Remittance, tally: RegisterTally,
                      effective_date: date, *, partial: bool = False,
                      continuing: bool = False) -> tuple[RemittanceRow, bool]:
    """Record the remittance (or add to its row what this posting did anew) and reconcile it.

    Returns the row and whether it changed. Call it after posting, in the same transaction.
    A remittance posted in parts (:class:`~medbill_core.services.remittance.PostingRun`) is
    recorded after each part: ``partial`` (more parts follow) leaves it ``posting``;
    ``continuing`` says an earlier part of the same posting created the row, so claim
    payments with nothing to post count as they do in a remittance posted at once.
    """
    ref = payer_ref(remittance)
    row = work.session.scalar(select(RemittanceRow).where(
        RemittanceRow.payer_ref == ref, RemittanceRow.trace_number == remittance.trace_number))
    if row is None:
        now = utcnow()
        row = RemittanceRow(
            trace_number=remittance.trace_number, payer_ref=ref, payer_id=remittance.payer_id,
            payer_name=remittance.payer_name, payment_amount=remittance.payment_amount,
            payment_method=remittance.payment_method.value,
            payment_date=remittance.payment_date, production_date=remittance.production_date,
            effective_date=effective_date, received_at=now, posted_at=now,
            posted_count=len(tally.posted),
            posted_total=total(amount for _, _, amount, _ in tally.posted),
            duplicate_count=len(tally.duplicates),
            duplicate_total=total(amount for _, amount in tally.duplicates),
            exception_count=len(tally.exceptions),
            exception_total=total(amount for _, amount, _ in tally.exceptions),
            plb_count=len(tally.provider_adjustments),
            plb_total=total(amount for amount, _ in tally.provider_adjustments),
            status=RemittanceStatus.BALANCED.value)
        work.session.add(row)
        tally.row_created = True
        _apply_found_exceptions(work, row, tally, remittance.trace_number, counted=False)
        row.status = RemittanceStatus.POSTING.value if partial else _status(work, row).value
        return row, True
    before = _counters(row)
    _apply_found_exceptions(work, row, tally, remittance.trace_number, counted=True)
    for _, _, amount, created in tally.posted:
        # what was posted before is counted already (a nothing-to-post answer too, unless an
        # earlier part of this posting created the row)
        if created or (created is None and continuing):
            row.posted_count += 1
            row.posted_total += amount
    for _, amount, created in tally.exceptions:
        if created:
            row.exception_count += 1
            row.exception_total += amount
    for amount, created in tally.provider_adjustments:
        if created:
            row.plb_count += 1
            row.plb_total += amount
    row.status = RemittanceStatus.POSTING.value if partial else _status(work, row).value
    changed = _counters(row) != before
    if changed:
        row.posted_at = utcnow()
    return row, changed


def _counters(row: RemittanceRow) -> tuple[Any, ...]:
    return (row.posted_count, row.posted_total, row.duplicate_count, row.duplicate_total,
            row.exception_count, row.exception_total, row.plb_count, row.plb_total, row.status)


# -- reading the register -----------------------------------------------------------------------

@dataclass(frozen=True)
class RemittanceSummary:
    """One remittance of the register."""

    id: int
    trace_number: str
    payer: str
    payer_id: str | None
    payer_name: str
    payment_method: str
    payment_amount: Decimal
    payment_date: date | None
    production_date: date | None
    #: the payment date, else the date the postings carry
    date: date
    received_at: datetime
    posted_at: datetime
    posted_count: int
    posted_total: Decimal
    duplicate_count: int
    duplicate_total: Decimal
    exception_count: int
    exception_total: Decimal
    plb_count: int
    plb_total: Decimal
    status: RemittanceStatus

    @property
    def on_accounts(self) -> Decimal:
        """What the 835's claim payments put on patient accounts (now or earlier)."""
        return self.posted_total + self.duplicate_total

    @property
    def difference(self) -> Decimal:
        """BPR02 minus (claim payments - PLB): ``0.00`` when the 835 adds up."""
        return self.payment_amount - (self.on_accounts + self.exception_total - self.plb_total)

    @classmethod
    def of(cls, row: RemittanceRow) -> RemittanceSummary:
        return cls(
            row.id, row.trace_number, row.payer_ref, row.payer_id, row.payer_name,
            row.payment_method, row.payment_amount, row.payment_date, row.production_date,
            row.payment_date or row.effective_date, as_utc(row.received_at), as_utc(row.posted_at),
            row.posted_count, row.posted_total, row.duplicate_count, row.duplicate_total,
            row.exception_count, row.exception_total, row.plb_count, row.plb_total,
            RemittanceStatus(row.status))

    def as_json(self) -> dict[str, Any]:
        def day(value: date | None) -> str | None:
            return value.isoformat() if value is not None else None

        return {
            "id": self.id, "trace_number": self.trace_number, "payer": self.payer,
            "payer_id": self.payer_id, "payer_name": self.payer_name,
            "payment_method": self.payment_method, "payment_amount": str(self.payment_amount),
            "date": self.date.isoformat(), "payment_date": day(self.payment_date),
            "production_date": day(self.production_date),
            "received_at": self.received_at.isoformat(), "posted_at": self.posted_at.isoformat(),
            "posted_count": self.posted_count, "posted_total": str(self.posted_total),
            "duplicate_count": self.duplicate_count,
            "duplicate_total": str(self.duplicate_total),
            "exception_count": self.exception_count,
            "exception_total": str(self.exception_total),
            "plb_count": self.plb_count, "plb_total": str(self.plb_total),
            "difference": str(self.difference), "status": self.status.value}


def _payer_refs(work: UnitOfWork, payer: str) -> set[str]:
    """What ``payer`` may name: a payer ID or name as the 835 sent it, or a configured payer
    key (its payer ID)."""
    refs = {payer}
    configured = work.app.config.payers.get(payer)
    if configured is not None:
        refs.add(configured.payer_id)
    return refs


def list_remittances(work: UnitOfWork, *, date_from: date | None = None,
                     date_to: date | None = None, payer: str | None = None,
                     status: RemittanceStatus | None = None) -> list[RemittanceSummary]:
    """The register, oldest payment first, filtered by payment date (inclusive), payer and
    status."""
    work.require(Action.REMITTANCE_READ)
    when = func.coalesce(RemittanceRow.payment_date, RemittanceRow.effective_date)
    query = select(RemittanceRow).order_by(when, RemittanceRow.id)
    if date_from is not None:
        query = query.where(when >= date_from)
    if date_to is not None:
        query = query.where(when <= date_to)
    if payer is not None:
        refs = _payer_refs(work, payer)
        query = query.where(or_(RemittanceRow.payer_ref.in_(refs),
                                RemittanceRow.payer_name == payer))
    if status is not None:
        query = query.where(RemittanceRow.status == status.value)
    return [RemittanceSummary.of(row) for row in work.session.scalars(query)]


def find_remittance(work: UnitOfWork, trace_number: str,
                    payer: str | None = None) -> RemittanceRow:
    """The remittance with that trace number (from that payer, when given)."""
    work.require(Action.REMITTANCE_READ)
    query = select(RemittanceRow).where(RemittanceRow.trace_number == trace_number)
    if payer is not None:
        query = query.where(or_(RemittanceRow.payer_ref.in_(_payer_refs(work, payer)),
                                RemittanceRow.payer_name == payer))
    rows = list(work.session.scalars(query.order_by(RemittanceRow.id)))
    if not rows:
        raise NotFound("remittance", trace_number if payer is None
                       else f"{trace_number} from payer {payer}")
    if len(rows) > 1:
        payers = ", ".join(row.payer_ref for row in rows)
        raise MedbillError(f"remittance {trace_number}: several payers sent that trace number "
                           f"({payers}); name one with --payer")
    return rows[0]


@dataclass(frozen=True)
class PostedClaimPayment:
    """A claim payment of the remittance as posted: the claim it went to and what it did."""

    claim_id: int
    claim_number: str
    claim_state: str
    #: CLP02
    claim_status: str
    paid: Decimal
    adjusted: Decimal
    patient_share: Decimal
    #: each adjustment (CAS) with the posting rule applied: ``code`` (GROUP-CARC), ``amount``,
    #: ``action`` (adjust, deny, patient, review) and ``rule`` (the table entry that matched)
    adjustments: tuple[dict[str, str], ...] = ()
    #: the remark codes (RARC) of the claim payment and its lines
    remark_codes: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"claim_id": self.claim_id, "claim_number": self.claim_number,
                "claim_state": self.claim_state, "claim_status": self.claim_status,
                "paid": str(self.paid), "adjusted": str(self.adjusted),
                "patient_share": str(self.patient_share),
                "adjustments": [dict(item) for item in self.adjustments],
                "remark_codes": list(self.remark_codes),
                # each remark code in words, in the same order
                "remark_meanings": [explain_rarc(code) for code in self.remark_codes]}


def _applied_rules(answer: ClaimAdjudicationRow) -> tuple[dict[str, str], ...]:
    """The answer's adjustments with the posting rule each got (``?`` for an answer posted
    before the rules table)."""
    rules = answer.posting_rules or []
    result = []
    for index, item in enumerate(answer.adjustments or []):
        applied = rules[index] if index < len(rules) else {"action": "?", "rule": "?"}
        result.append({"code": f"{item['group_code']}-{item['reason_code']}",
                       "amount": str(item["amount"]), "action": applied["action"],
                       "rule": applied["rule"]})
    return tuple(result)


@dataclass(frozen=True)
class RemittanceDetail:
    remittance: RemittanceSummary
    claims: list[PostedClaimPayment]
    provider_adjustments: list[dict[str, Any]]
    exceptions: list[dict[str, Any]]
    #: the amounts its posting rules kept open (denials, review): work items with their id
    #: for ``medbill denials`` and their status now
    kept_open: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {**self.remittance.as_json(),
                "claims": [claim.as_json() for claim in self.claims],
                "provider_adjustments": self.provider_adjustments,
                "exceptions": self.exceptions, "kept_open": self.kept_open}


def _amount(values: list[dict[str, Any]], group: str | None = None) -> Decimal:
    return total(Decimal(value["amount"]) for value in values
                 if group is None or value.get("group_code") == group)


def remittance_detail(work: UnitOfWork, trace_number: str,
                      payer: str | None = None) -> RemittanceDetail:
    """The remittance, its claim payments as posted, its PLBs and its exceptions.

    Claim payments are listed from what the payer's answer left on the claim (one per
    posting); a claim payment with nothing to post (no payment, no adjustment) leaves none.
    """
    work.require(Action.REMITTANCE_READ)
    return _detail(work, find_remittance(work, trace_number, payer))


def remittances_after(work: UnitOfWork, *, after_id: int | None, limit: int,
                      payer: str | None = None,
                      status: RemittanceStatus | None = None) -> list[RemittanceSummary]:
    """A keyset page of the register by id (the HTTP API's list): ``limit`` remittances
    after ``after_id``, filtered by payer and status as :func:`list_remittances` is."""
    work.require(Action.REMITTANCE_READ)
    query = select(RemittanceRow).order_by(RemittanceRow.id).limit(limit)
    if after_id is not None:
        query = query.where(RemittanceRow.id > after_id)
    if payer is not None:
        query = query.where(or_(RemittanceRow.payer_ref.in_(_payer_refs(work, payer)),
                                RemittanceRow.payer_name == payer))
    if status is not None:
        query = query.where(RemittanceRow.status == status.value)
    return [RemittanceSummary.of(row) for row in work.session.scalars(query)]


def remittance_detail_by_id(work: UnitOfWork, remittance_id: int) -> RemittanceDetail:
    """:func:`remittance_detail` of the remittance with this id."""
    work.require(Action.REMITTANCE_READ)
    row = work.session.get(RemittanceRow, remittance_id)
    if row is None:
        raise NotFound("remittance", remittance_id)
    return _detail(work, row)


def _detail(work: UnitOfWork, row: RemittanceRow) -> RemittanceDetail:
    prefix = _row_prefix(row)
    claims = [
        PostedClaimPayment(claim.id, claim.claim_number, claim.state, answer.claim_status,
                           answer.paid, _amount(answer.adjustments),
                           _amount(answer.adjustments,
                                   AdjustmentGroup.PATIENT_RESPONSIBILITY.value),
                           _applied_rules(answer), tuple(answer.remark_codes or ()))
        for answer, claim in work.session.execute(
            select(ClaimAdjudicationRow, ClaimRow)
            .join(ClaimRow, ClaimRow.id == ClaimAdjudicationRow.claim_id)
            .where(starts_with(work.session, ClaimAdjudicationRow.posting_key, prefix))
            .order_by(ClaimAdjudicationRow.id))]
    plbs = [{"id": plb.id, "provider_id": plb.provider_id, "reason_code": plb.reason_code,
             "reference": plb.reference, "amount": str(plb.amount),
             "fiscal_period_date": plb.fiscal_period_date.isoformat()
             if plb.fiscal_period_date else None}
            for plb in work.session.scalars(
                select(ProviderAdjustmentRow)
                .where(starts_with(work.session, ProviderAdjustmentRow.posting_key, prefix))
                .order_by(ProviderAdjustmentRow.id))]
    exceptions = [{"id": item.id, "claim_number": item.claim_number, "paid": str(item.paid),
                   "reason": item.reason, "resolved": item.resolved,
                   "resolved_at": as_utc(item.resolved_at).isoformat() if item.resolved_at
                   else None,
                   "resolved_by": item.resolved_by, "resolution": item.resolution}
                  for item in work.session.scalars(
                      select(RemittanceExceptionRow)
                      .where(starts_with(work.session, RemittanceExceptionRow.posting_key,
                                         prefix))
                      .order_by(RemittanceExceptionRow.id))]
    kept_open = [{"id": item.id, "claim_number": number, "code":
                  f"{item.group_code}-{item.reason_code}", "amount": str(item.amount),
                  "action": item.action, "status": item.status}
                 for item, number in work.session.execute(
                     select(DenialRow, ClaimRow.claim_number)
                     .join(ClaimRow, ClaimRow.id == DenialRow.claim_id)
                     .where(starts_with(work.session, DenialRow.posting_key, prefix))
                     .order_by(DenialRow.id))]
    return RemittanceDetail(RemittanceSummary.of(row), claims, plbs, exceptions, kept_open)


# -- resolving exceptions -----------------------------------------------------------------------

def _remittance_of(work: UnitOfWork, exception: RemittanceExceptionRow) -> RemittanceRow | None:
    rows = work.session.scalars(select(RemittanceRow).where(
        RemittanceRow.trace_number == exception.trace_number))
    return next((row for row in rows if exception.posting_key.startswith(_row_prefix(row))),
                None)


def resolve_exception(work: UnitOfWork, exception_id: int, note: str) -> RemittanceExceptionRow:
    """Mark a remittance exception resolved (refunded to the payer, posted by hand ...) with
    a note saying how, and reconcile its remittance again (``exceptions`` becomes
    ``balanced`` once none is left open)."""
    work.require(Action.REMITTANCE_RESOLVE)
    note = note.strip()
    if not note:
        raise ValidationFailed("--note", [("note", "say how the exception was resolved")])
    if len(note) > RESOLUTION_MAX:
        raise ValidationFailed("--note", [("note", f"at most {RESOLUTION_MAX} characters")])
    exception = work.session.get(RemittanceExceptionRow, exception_id)
    if exception is None:
        raise NotFound("remittance exception", exception_id)
    if exception.resolved:
        raise MedbillError(f"remittance exception {exception_id} is already resolved")
    exception.resolved = True
    exception.resolved_at = utcnow()
    exception.resolved_by = work.actor
    exception.resolution = note
    remittance = _remittance_of(work, exception)
    details: dict[str, Any] = {"trace_number": exception.trace_number,
                               "fields": ["resolution"]}
    if remittance is not None:
        remittance.status = _status(work, remittance).value
        details |= {"remittance_id": remittance.id, "status": remittance.status}
    audit.record(work.session, actor=work.actor, action="remittance.exception_resolve",
                 entity_type="remittance_exception", entity_id=exception.id, details=details)
    return exception

