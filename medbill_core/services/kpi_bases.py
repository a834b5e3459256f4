"""Which claims count for each KPI, as SQL: one selection per figure that both the aggregate
(the figure and its monthly trend, :mod:`.kpi`) and the drill-down (the claims behind it)
read, so the claims listed are exactly the claims counted.

Each basis is a subquery with a ``claim_id``, the ``month`` (``YYYY-MM``) the claim counts in
and what the figure needs of it. Scoping to the practice is the session's (every
practice-scoped table here is filtered, in subqueries too; the tables that are not scoped
are always joined to ``claims``).

Counted once
------------
A corrected claim (frequency 7, ``replaces_claim_id`` set) and a void (frequency 8) are rework
of a claim already counted: they never count as submissions or first adjudications of their
own. The clean-claim rate and the charge lag count each encounter once (its first claim, the
claim account, ``account_claim_id`` NULL): a secondary claim is not a new submission of the
encounter. The first-pass and denial rates count every original claim to a payer (a secondary
claim is adjudicated by its own payer). Ledger-based figures count the claim account, which
a replacement shares (its charge difference is posted there).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, Subquery, and_, case, exists, func, literal, or_, select
from sqlalchemy.orm import aliased

from medbill_core.domain import ClaimState, ClaimStatusCode
from medbill_core.domain.documents import DocumentKind
from medbill_core.ledger import EntryKind
from medbill_core.money import ZERO
from medbill_core.storage.date_sql import days_between, local_date, month_of, seconds_between
from medbill_core.storage.schema import (
    ClaimAdjudicationRow,
    ClaimRow,
    ClaimTransitionRow,
    DenialRow,
    DocumentStatus,
    InboundDocumentRow,
    LedgerEntryRow,
)

ORIGINAL = "1"
#: CLP02 statuses of a claim the payer processed (paid, or adjudicated to the patient)
PROCESSED = tuple(code.value for code in (
    ClaimStatusCode.PRIMARY, ClaimStatusCode.SECONDARY, ClaimStatusCode.TERTIARY,
    ClaimStatusCode.PRIMARY_FORWARDED, ClaimStatusCode.SECONDARY_FORWARDED,
    ClaimStatusCode.TERTIARY_FORWARDED))
PAYMENT_KINDS = (EntryKind.PAYER_PAYMENT.value, EntryKind.PATIENT_PAYMENT.value)


def submissions(period_from: date, period_to: date, offset: int) -> Subquery:
    """Encounters first sent in the period: each claim account's first claim (an original,
    ``account_claim_id`` NULL), the local day of its first transition to ``submitted``.
    Columns: claim_id, sent_on, month, service_date, clean (1: never rejected since).

    Read by date, not by claim: the submissions dated in the period (a day wider each side,
    which any UTC offset falls within; the local day is then checked exactly) with no earlier
    submission of the same claim (``ix_claim_transitions_target_at`` then the claim's own
    index), so one month costs one month's rows, not the whole history's. Two submissions at
    the same instant: the first by id counts."""
    sent = ClaimTransitionRow
    earlier = aliased(ClaimTransitionRow)
    low = datetime.combine(period_from - timedelta(days=1), time.min, UTC)
    high = datetime.combine(period_to + timedelta(days=2), time.min, UTC)
    first = ~exists().where(earlier.claim_id == sent.claim_id,
                            earlier.target == ClaimState.SUBMITTED.value,
                            or_(earlier.at < sent.at,
                                and_(earlier.at == sent.at, earlier.id < sent.id)))
    rejection = aliased(ClaimTransitionRow)
    rejected = exists().where(rejection.claim_id == ClaimRow.id,
                              rejection.target == ClaimState.REJECTED.value)
    sent_on = local_date(sent.at, literal(offset))
    dated = (select(sent.claim_id.label("claim_id"), sent_on.label("sent_on"),
                    ClaimRow.service_date_from.label("service_date"),
                    case((rejected, 0), else_=1).label("clean"))
             .join(ClaimRow, ClaimRow.id == sent.claim_id)
             .where(sent.target == ClaimState.SUBMITTED.value, sent.at >= low, sent.at < high,
                    ClaimRow.account_claim_id.is_(None), ClaimRow.frequency == ORIGINAL, first)
             .subquery())
    return (select(dated.c.claim_id, dated.c.sent_on, month_of(dated.c.sent_on).label("month"),
                   dated.c.service_date, dated.c.clean,
                   days_between(dated.c.sent_on, dated.c.service_date).label("lag"))
            .where(dated.c.sent_on >= period_from, dated.c.sent_on <= period_to).subquery())


def first_answers(period_from: date, period_to: date) -> Subquery:
    """Original claims whose payer first answered (its first 835 claim payment that is not a
    reversal) in the period, by the answer's date. Columns: claim_id, month, payer_key,
    posting_key, denied (1: the answer denied the claim, CLP02 4, or kept an adjustment open
    as a denial by the posting rules), resolved (1: processed with no denial), denied_amount
    (the open denial adjustments; a whole-claim denial with none: the claim's charge).

    Read by date (``ix_claim_adjudications_paid_date``): the answers paid in the period with
    no earlier answer (by id) to the same claim, and each one's open denials looked up by its
    posting key (``uq_denials_line``), so a month costs a month's answers."""
    answer = ClaimAdjudicationRow
    earlier = aliased(ClaimAdjudicationRow)
    first = ~exists().where(earlier.claim_id == answer.claim_id, earlier.id < answer.id,
                            earlier.claim_status != ClaimStatusCode.REVERSAL.value)
    has_denial = exists().where(DenialRow.posting_key == answer.posting_key)
    opened = (select(func.sum(DenialRow.amount)).where(DenialRow.posting_key == answer.posting_key)
              .scalar_subquery())
    denied = or_(answer.claim_status == ClaimStatusCode.DENIED.value, has_denial)
    return (select(answer.claim_id, month_of(answer.paid_date).label("month"),
                   ClaimRow.payer_key, answer.posting_key,
                   case((denied, 1), else_=0).label("denied"),
                   case((and_(answer.claim_status.in_(PROCESSED), ~has_denial), 1),
                        else_=0).label("resolved"),
                   func.coalesce(opened, case(
                       (answer.claim_status == ClaimStatusCode.DENIED.value,
                        ClaimRow.total_charge), else_=None)).label("denied_amount"))
            .join(ClaimRow, ClaimRow.id == answer.claim_id)
            .where(answer.paid_date >= period_from, answer.paid_date <= period_to,
                   answer.claim_status != ClaimStatusCode.REVERSAL.value,
                   ClaimRow.replaces_claim_id.is_(None), ClaimRow.frequency == ORIGINAL, first)
            .subquery())


def submissions_listed(period_from: date, period_to: date, offset: int) -> Subquery:
    """:func:`submissions` as the drill-down lists them: the same claims and columns, in the
    form the planner pages through by claim id (the by-date form reads best summed; measured
    on 100,000 claims)."""
    first = (select(ClaimTransitionRow.claim_id.label("claim_id"),
                    func.min(ClaimTransitionRow.at).label("sent_at"))
             .join(ClaimRow, ClaimRow.id == ClaimTransitionRow.claim_id)
             .where(ClaimTransitionRow.target == ClaimState.SUBMITTED.value,
                    ClaimRow.account_claim_id.is_(None), ClaimRow.frequency == ORIGINAL)
             .group_by(ClaimTransitionRow.claim_id).subquery())
    sent_on = local_date(first.c.sent_at, literal(offset))
    rejected = exists().where(ClaimTransitionRow.claim_id == first.c.claim_id,
                              ClaimTransitionRow.target == ClaimState.REJECTED.value)
    dated = (select(first.c.claim_id, sent_on.label("sent_on"),
                    ClaimRow.service_date_from.label("service_date"),
                    case((rejected, 0), else_=1).label("clean"))
             .join(ClaimRow, ClaimRow.id == first.c.claim_id).subquery())
    return (select(dated.c.claim_id, dated.c.sent_on, month_of(dated.c.sent_on).label("month"),
                   dated.c.service_date, dated.c.clean,
                   days_between(dated.c.sent_on, dated.c.service_date).label("lag"))
            .where(dated.c.sent_on >= period_from, dated.c.sent_on <= period_to).subquery())


def first_answers_listed(period_from: date, period_to: date) -> Subquery:
    """:func:`first_answers` as the drill-down lists them: the same claims and columns, in
    the form the planner pages through by claim id (0.24 s a page on 100,000 claims, 4.4 s
    with the by-date form, which reads best summed)."""
    first = (select(ClaimAdjudicationRow.claim_id.label("claim_id"),
                    func.min(ClaimAdjudicationRow.id).label("answer_id"))
             .join(ClaimRow, ClaimRow.id == ClaimAdjudicationRow.claim_id)
             .where(ClaimAdjudicationRow.claim_status != ClaimStatusCode.REVERSAL.value,
                    ClaimRow.replaces_claim_id.is_(None), ClaimRow.frequency == ORIGINAL)
             .group_by(ClaimAdjudicationRow.claim_id).subquery())
    answer = ClaimAdjudicationRow
    # the open denials of each answer, summed once and joined (not looked up row by row)
    opened = (select(DenialRow.posting_key.label("posting_key"),
                     func.sum(DenialRow.amount).label("amount"))
              .group_by(DenialRow.posting_key).subquery())
    has_denial = opened.c.posting_key.is_not(None)
    denied = or_(answer.claim_status == ClaimStatusCode.DENIED.value, has_denial)
    return (select(answer.claim_id, month_of(answer.paid_date).label("month"),
                   ClaimRow.payer_key, answer.posting_key,
                   case((denied, 1), else_=0).label("denied"),
                   case((and_(answer.claim_status.in_(PROCESSED), ~has_denial), 1),
                        else_=0).label("resolved"),
                   func.coalesce(opened.c.amount, case(
                       (answer.claim_status == ClaimStatusCode.DENIED.value,
                        ClaimRow.total_charge), else_=None)).label("denied_amount"))
            .join(first, first.c.answer_id == answer.id)
            .join(ClaimRow, ClaimRow.id == answer.claim_id)
            .outerjoin(opened, opened.c.posting_key == answer.posting_key)
            .where(answer.paid_date >= period_from, answer.paid_date <= period_to).subquery())


def ledger_months(window_from: date, period_to: date) -> Any:
    """The ledger's sums per month of effective date, payer key and entry kind: the amounts and
    the change of each bucket's balance (net collection, days in A/R and the payer mix read
    this one aggregate)."""
    entry = LedgerEntryRow
    month = month_of(entry.effective_date)
    return (select(month.label("month"), entry.payer_key, entry.kind, func.sum(entry.amount),
                   func.sum(entry.insurance_delta), func.sum(entry.patient_delta))
            .where(entry.effective_date >= window_from, entry.effective_date <= period_to)
            .group_by(month, entry.payer_key, entry.kind))


def balance_before(day: date) -> Any:
    """The ledger balance (both buckets) of every entry effective before ``day``."""
    return select(func.sum(LedgerEntryRow.insurance_delta),
                  func.sum(LedgerEntryRow.patient_delta)).where(
        LedgerEntryRow.effective_date < day)


def ledger_claims(kinds: tuple[str, ...], period_from: date, period_to: date) -> Any:
    """Claim accounts with an entry of ``kinds`` effective in the period, by month."""
    entry = LedgerEntryRow
    return (select(entry.claim_id.label("claim_id"),
                   month_of(entry.effective_date).label("month"))
            .where(entry.kind.in_(kinds), entry.claim_id.is_not(None),
                   entry.effective_date >= period_from, entry.effective_date <= period_to))


def open_accounts(as_of: date) -> Select[Any]:
    """Claim accounts with a balance (either bucket, either sign) as of the day."""
    entry = LedgerEntryRow
    return (select(entry.claim_id.label("claim_id"))
            .where(entry.effective_date <= as_of, entry.claim_id.is_not(None))
            .group_by(entry.claim_id)
            .having(func.sum(entry.insurance_delta) + func.sum(entry.patient_delta) != ZERO))


def era_documents(period_from: date, period_to: date, offset: int) -> Subquery:
    """835 documents received from a channel and applied (posted) in the period, by the local
    day they were posted: seconds from receipt to posting."""
    doc = InboundDocumentRow
    posted_on = local_date(doc.applied_at, literal(offset))
    dated = (select(posted_on.label("posted_on"),
                    seconds_between(doc.applied_at, doc.received_at).label("seconds"))
             .where(doc.kind == DocumentKind.REMITTANCE_835.value,
                    doc.status == DocumentStatus.APPLIED.value,
                    doc.applied_at.is_not(None)).subquery())
    return (select(month_of(dated.c.posted_on).label("month"), dated.c.seconds)
            .where(dated.c.posted_on >= period_from, dated.c.posted_on <= period_to)
            .subquery())
