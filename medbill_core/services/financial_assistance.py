"""Financial assistance: sliding fee discounts measured against the HHS poverty guidelines.

A guarantor applies with the household's size, its annual income and the state it lives in.
The application is **evaluated** at once against the HHS poverty guidelines in effect on its
date (:mod:`medbill_core.codesets.poverty`): income as a percent of the guideline for the
household, rounded *up* to hundredths (so 100.004% reads, and counts, as 100.01%: the tier
always matches the percent the letter prints), and the tier of the practice's sliding fee
schedule that percent falls in. A tier gives either a percent discount or a **nominal fee**
per visit (the patient owes that fee, at most what they owed, and the rest is discounted).

Default schedule (:data:`DEFAULT_TIERS`, changed per practice with :func:`set_policy`):

=================  ==============================
percent of FPG     discount
=================  ==============================
up to 100.00%      100% (no nominal fee)
100.01 - 150.00%   75%
150.01 - 200.00%   50%
above 200.00%      none
=================  ==============================

An approval (by a billing manager: forgiving money is the manager's, as write-offs are)
needs the income documents received, covers dates of service from ``effective_from``
(default: the application's date) to ``expires_on`` (default: 12 months later, less a day),
and may not overlap another approval of the guarantor. The discount applies to the **patient
responsibility** of every claim of the guarantor's family with a date of service in that
period: what was charged to the patient (self-pay) or moved to the patient by a payer. It is
posted as a patient-bucket ``write_off`` with reason code :data:`REASON_CODE`, never touching
what insurance owes. Applying again posts only the difference (a payer's later answer that
changes the patient's share is followed; nothing twice), and never more than the patient
still owes on the claim. Revoking an approval takes every discount of it back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select

from medbill_core import audit
from medbill_core.app import UnitOfWork
from medbill_core.codesets.poverty import guidelines_on, region_of
from medbill_core.errors import NotFound, ValidationFailed
from medbill_core.ledger import Bucket, EntryKind, LedgerLine
from medbill_core.money import CENT, MAX_AMOUNT, ZERO, parse_plain_number, to_money
from medbill_core.permissions import Action
from medbill_core.services.guarantors import GuarantorService
from medbill_core.services.payments import family_of, settle_patient_claims
from medbill_core.storage.prefix_sql import starts_with
from medbill_core.storage.schema import (
    AssistanceApplicationRow,
    AssistancePolicyRow,
    ClaimRow,
    LedgerEntryRow,
    PostingRow,
)

#: the ledger reason code of a financial-assistance discount (ledger reason codes are at
#: most ten characters)
REASON_CODE = "FIN-ASSIST"
POSTING_SOURCE = "financial_assistance"
HUNDRED = Decimal(100)
HUNDREDTH = Decimal("0.01")
MAX_HOUSEHOLD = 50


class ApplicationStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    REVOKED = "revoked"


@dataclass(frozen=True)
class Tier:
    """One step of the sliding fee schedule: incomes up to ``up_to_percent`` of the poverty
    guideline (``None``: any higher income) get ``discount_percent`` off, or, with a
    ``nominal_fee``, owe that fee per visit and nothing more."""

    up_to_percent: Decimal | None
    discount_percent: Decimal
    nominal_fee: Decimal | None = None

    def as_json(self) -> dict[str, Any]:
        return {"up_to_percent": None if self.up_to_percent is None else str(self.up_to_percent),
                "discount_percent": str(self.discount_percent),
                "nominal_fee": None if self.nominal_fee is None else str(self.nominal_fee)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Tier:
        up_to, fee = data.get("up_to_percent"), data.get("nominal_fee")
        return cls(None if up_to is None else Decimal(up_to), Decimal(data["discount_percent"]),
                   None if fee is None else to_money(Decimal(fee)))

    @property
    def label(self) -> str:
        if self.nominal_fee is not None:
            return f"nominal fee {self.nominal_fee} per visit"
        return "no discount" if self.discount_percent == ZERO \
            else f"{self.discount_percent.normalize():f}% discount"

    def discount_on(self, responsibility: Decimal) -> Decimal:
        """The discount on a visit's patient responsibility, to the cent (half up)."""
        if responsibility <= ZERO:
            return ZERO
        if self.nominal_fee is not None:
            return max(responsibility - self.nominal_fee, ZERO)
        return (responsibility * self.discount_percent / HUNDRED).quantize(CENT, ROUND_HALF_UP)


DEFAULT_TIERS: tuple[Tier, ...] = (
    Tier(Decimal(100), Decimal(100)),
    Tier(Decimal(150), Decimal(75)),
    Tier(Decimal(200), Decimal(50)),
    Tier(None, Decimal(0)),
)
DEFAULT_EXPIRY_MONTHS = 12


@dataclass(frozen=True)
class AssistancePolicy:
    """A practice's sliding fee schedule and how long approvals last."""

    tiers: tuple[Tier, ...] = DEFAULT_TIERS
    expiry_months: int = DEFAULT_EXPIRY_MONTHS
    prompt_pay_percent: Decimal | None = None
    prompt_pay_days: int | None = None

    def check(self) -> None:
        """:raises ValidationFailed: the tiers are not ascending, do not end open-ended,
        or a discount is outside 0..100."""
        problems: list[tuple[str, str]] = []
        if not self.tiers:
            problems.append(("tiers", "at least one tier is needed"))
        bounds = [t.up_to_percent for t in self.tiers]
        if self.tiers and bounds[-1] is not None:
            problems.append(("tiers", "the last tier must have no upper bound"))
        limits = [b for b in bounds[:-1]]
        if any(b is None for b in limits):
            problems.append(("tiers", "only the last tier may have no upper bound"))
        known = [b for b in limits if b is not None]
        if any(b <= ZERO for b in known) or known != sorted(set(known)):
            problems.append(("tiers", "upper bounds must be positive and increasing"))
        for number, tier in enumerate(self.tiers, start=1):
            if not ZERO <= tier.discount_percent <= HUNDRED:
                problems.append((f"tier {number} discount", "must be 0 to 100 percent"))
            if tier.nominal_fee is not None and tier.nominal_fee < ZERO:
                problems.append((f"tier {number} nominal fee", "must not be negative"))
            elif tier.nominal_fee is not None and tier.nominal_fee > MAX_AMOUNT:
                problems.append((f"tier {number} nominal fee",
                                 f"must not be more than {MAX_AMOUNT:,}"))
        if not 1 <= self.expiry_months <= 60:
            problems.append(("expiry_months", "must be 1 to 60"))
        if self.prompt_pay_percent is not None and not ZERO < self.prompt_pay_percent < HUNDRED:
            problems.append(("prompt_pay_percent", "must be above 0 and below 100"))
        if (self.prompt_pay_percent is None) != (self.prompt_pay_days is None) or (
                self.prompt_pay_days is not None and not 1 <= self.prompt_pay_days <= 365):
            problems.append(("prompt_pay_days", "give 1 to 365 days with a prompt-pay percent"))
        if problems:
            raise ValidationFailed("assistance schedule", problems)

    def tier_for(self, percent: Decimal) -> Tier:
        """The tier an income at ``percent`` of the guideline falls in (bounds inclusive)."""
        for tier in self.tiers:
            if tier.up_to_percent is None or percent <= tier.up_to_percent:
                return tier
        return self.tiers[-1]

    def as_json(self) -> dict[str, Any]:
        return {"tiers": [t.as_json() for t in self.tiers], "expiry_months": self.expiry_months,
                "prompt_pay_percent": None if self.prompt_pay_percent is None
                else str(self.prompt_pay_percent), "prompt_pay_days": self.prompt_pay_days}


def percent_of_guideline(income: Decimal, guideline: Decimal) -> Decimal:
    """``income`` as a percent of ``guideline``, rounded up to hundredths (never rounds an
    income above a tier's bound down into it)."""
    return (income * HUNDRED / guideline).quantize(HUNDREDTH, ROUND_CEILING)


@dataclass(frozen=True)
class Evaluation:
    guideline_year: int
    guideline: Decimal
    percent: Decimal
    tier: Tier


def evaluate(policy: AssistancePolicy, *, household_size: int, annual_income: Decimal,
             state: str, on: date) -> Evaluation:
    """Measure a household against the guidelines in effect ``on`` and the policy's tiers.

    :raises ValidationFailed: a size outside 1..50, a negative income, a state without an
        HHS table, or a date before the earliest guidelines medbill has.
    """
    problems = []
    if not 1 <= household_size <= MAX_HOUSEHOLD:
        problems.append(("household_size", f"must be 1 to {MAX_HOUSEHOLD}"))
    if annual_income > MAX_AMOUNT:  # checked first: quantizing 10**30 cannot be done
        problems.append(("annual_income", f"must not be more than {MAX_AMOUNT:,}"))
    elif annual_income < ZERO or annual_income != annual_income.quantize(CENT):
        problems.append(("annual_income", "must be dollars and cents, not negative"))
    if problems:
        raise ValidationFailed("assistance application", problems)
    year = guidelines_on(on)
    guideline = year.guideline(region_of(state), household_size)
    percent = percent_of_guideline(annual_income, guideline)
    return Evaluation(year.year, guideline, percent, policy.tier_for(percent))


# -- the practice's schedule ---------------------------------------------------------------
def get_policy(work: UnitOfWork) -> AssistancePolicy:
    """The practice's schedule, or the defaults when it set none."""
    work.require(Action.ASSISTANCE_READ)
    row = work.session.scalar(select(AssistancePolicyRow))
    if row is None:
        return AssistancePolicy()
    return AssistancePolicy(tuple(Tier.from_json(t) for t in row.tiers), row.expiry_months,
                            row.prompt_pay_percent, row.prompt_pay_days)


def set_policy(work: UnitOfWork, policy: AssistancePolicy) -> AssistancePolicy:
    """Replace the practice's schedule (decided applications keep the tier they got).

    :raises ValidationFailed: see :meth:`AssistancePolicy.check`.
    """
    work.require(Action.ASSISTANCE_DECIDE)
    policy.check()
    row = work.session.scalar(select(AssistancePolicyRow))
    if row is None:
        row = AssistancePolicyRow(updated_by=work.actor)
        work.session.add(row)
    row.tiers = [t.as_json() for t in policy.tiers]
    row.expiry_months = policy.expiry_months
    row.prompt_pay_percent = policy.prompt_pay_percent
    row.prompt_pay_days = policy.prompt_pay_days
    row.updated_by = work.actor
    work.session.flush()
    audit.record(work.session, actor=work.actor, action="assistance.policy_set",
                 entity_type="assistance_policy", entity_id=row.id, details=policy.as_json())
    return policy


# -- applications ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Application:
    """An application as the services show it (``notes`` may hold PHI: show, never log)."""

    id: int
    guarantor_id: int
    household_size: int
    annual_income: Decimal
    state: str
    applied_on: date
    documents_received: bool
    notes: str | None
    status: ApplicationStatus
    guideline_year: int
    guideline: Decimal
    percent_of_guideline: Decimal
    tier: Tier
    decided_by: str | None
    decided_on: date | None
    decision_reason: str | None
    effective_from: date | None
    expires_on: date | None
    revoked_on: date | None

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "guarantor_id": self.guarantor_id,
                "household_size": self.household_size,
                "annual_income": str(self.annual_income), "state": self.state,
                "applied_on": self.applied_on.isoformat(),
                "documents_received": self.documents_received, "notes": self.notes,
                "status": self.status.value, "guideline_year": self.guideline_year,
                "guideline": str(self.guideline),
                "percent_of_guideline": str(self.percent_of_guideline),
                "tier": self.tier.as_json(), "tier_label": self.tier.label,
                "decided_by": self.decided_by, "decided_on": _iso(self.decided_on),
                "decision_reason": self.decision_reason,
                "effective_from": _iso(self.effective_from),
                "expires_on": _iso(self.expires_on), "revoked_on": _iso(self.revoked_on)}


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def _application(row: AssistanceApplicationRow) -> Application:
    return Application(
        row.id, row.guarantor_id, row.household_size, row.annual_income, row.state,
        row.applied_on, row.documents_received, row.notes, ApplicationStatus(row.status),
        row.guideline_year, row.guideline, Decimal(row.percent_of_guideline),
        Tier.from_json(row.tier), row.decided_by, row.decided_on, row.decision_reason,
        row.effective_from, row.expires_on, row.revoked_on)


def _row(work: UnitOfWork, application_id: int) -> AssistanceApplicationRow:
    row = work.session.get(AssistanceApplicationRow, application_id)
    if row is None:
        raise NotFound("assistance application", application_id)
    return row


def _text(record: str, name: str, value: str | None, limit: int, *,
          required: bool = False) -> str | None:
    text = (value or "").strip()
    if required and not text:
        raise ValidationFailed(record, [(name, "required")])
    if len(text) > limit:
        raise ValidationFailed(record, [(name, f"at most {limit} characters")])
    return text or None


def apply(work: UnitOfWork, guarantor_id: int, *, household_size: int,
          annual_income: Decimal, state: str, applied_on: date,
          documents_received: bool = False, notes: str | None = None) -> Application:
    """Record and evaluate a guarantor's application (status ``pending``).

    :raises NotFound: no such guarantor.
    :raises ValidationFailed: see :func:`evaluate`; a date in the future.
    """
    work.require(Action.ASSISTANCE_APPLY)
    GuarantorService(work.session, actor=work.actor).get(guarantor_id)
    if applied_on > date.today():
        raise ValidationFailed("assistance application", [("date", "is in the future")])
    text = _text("assistance application", "notes", notes, 2000)
    found = evaluate(get_policy(work), household_size=household_size,
                     annual_income=annual_income, state=state, on=applied_on)
    row = AssistanceApplicationRow(
        guarantor_id=guarantor_id, household_size=household_size,
        annual_income=annual_income, state=state.strip().upper(), applied_on=applied_on,
        documents_received=documents_received, notes=text,
        status=ApplicationStatus.PENDING.value, guideline_year=found.guideline_year,
        guideline=found.guideline, percent_of_guideline=found.percent,
        tier=found.tier.as_json())
    work.session.add(row)
    work.session.flush()
    # no income, size or notes in the trail's details: the percent and tier say enough
    audit.record(work.session, actor=work.actor, action="assistance.apply",
                 entity_type="assistance_application", entity_id=row.id,
                 details={"guarantor_id": guarantor_id, "guideline_year": found.guideline_year,
                          "percent_of_guideline": str(found.percent),
                          "tier": found.tier.as_json()})
    return _application(row)


def record_documents(work: UnitOfWork, application_id: int) -> Application:
    """The income documents of a pending application were received."""
    work.require(Action.ASSISTANCE_APPLY)
    row = _row(work, application_id)
    _require_status(row, ApplicationStatus.PENDING, "have documents recorded")
    row.documents_received = True
    audit.record(work.session, actor=work.actor, action="assistance.documents",
                 entity_type="assistance_application", entity_id=row.id, details={})
    return _application(row)


def _require_status(row: AssistanceApplicationRow, status: ApplicationStatus,
                    verb: str) -> None:
    if row.status != status.value:
        article = "an" if status.value[0] in "aeiou" else "a"
        raise ValidationFailed(f"assistance application {row.id}", [(
            "status", f"is {row.status}; only {article} {status.value} application can "
                      f"{verb}")])


def get_application(work: UnitOfWork, application_id: int) -> Application:
    work.require(Action.ASSISTANCE_READ)
    return _application(_row(work, application_id))


def list_applications(work: UnitOfWork, *, status: ApplicationStatus | None = None,
                      guarantor_id: int | None = None, limit: int = 100,
                      offset: int = 0, before_id: int | None = None) -> list[Application]:
    """Applications, newest first (``before_id``: those older than it, a keyset page)."""
    work.require(Action.ASSISTANCE_READ)
    query = select(AssistanceApplicationRow).order_by(AssistanceApplicationRow.id.desc())
    if before_id is not None:
        query = query.where(AssistanceApplicationRow.id < before_id)
    if status is not None:
        query = query.where(AssistanceApplicationRow.status == status.value)
    if guarantor_id is not None:
        query = query.where(AssistanceApplicationRow.guarantor_id == guarantor_id)
    return [_application(row) for row in
            work.session.scalars(query.limit(limit).offset(offset))]


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class DiscountResult:
    """What applying (or revoking) an approval posted: claim account -> amount (negative:
    taken back)."""

    application_id: int
    posted: dict[int, Decimal] = field(default_factory=dict)

    @property
    def total(self) -> Decimal:
        return sum(self.posted.values(), ZERO)


def approve(work: UnitOfWork, application_id: int, *, effective_from: date | None = None,
            expires_on: date | None = None, reason: str | None = None,
            on: date | None = None) -> tuple[Application, DiscountResult]:
    """Approve a pending application and apply its discount (see the module docstring).

    :raises ValidationFailed: not pending, documents not received, a tier without a
        discount, a period that ends before it starts or overlaps another approval of the
        guarantor.
    """
    work.require(Action.ASSISTANCE_DECIDE)
    row = _row(work, application_id)
    record = f"assistance application {row.id}"
    _require_status(row, ApplicationStatus.PENDING, "be approved")
    if not row.documents_received:
        raise ValidationFailed(record, [("documents", "income documents not received yet")])
    tier = Tier.from_json(row.tier)
    if tier.nominal_fee is None and tier.discount_percent == ZERO:
        raise ValidationFailed(record, [(
            "tier", f"income at {row.percent_of_guideline}% of the guideline gets no "
                    "discount under the schedule; deny it")])
    decided = on or date.today()
    start = effective_from or row.applied_on
    policy = get_policy(work)
    end = expires_on or _add_months(start, policy.expiry_months) - timedelta(days=1)
    if end < start:
        raise ValidationFailed(record, [("expires_on", "is before the approval starts")])
    overlapping = work.session.scalar(select(AssistanceApplicationRow.id).where(
        AssistanceApplicationRow.guarantor_id == row.guarantor_id,
        AssistanceApplicationRow.status == ApplicationStatus.APPROVED.value,
        AssistanceApplicationRow.effective_from <= end,
        AssistanceApplicationRow.expires_on >= start))
    if overlapping is not None:
        raise ValidationFailed(record, [(
            "period", f"overlaps approved application {overlapping}; revoke it first")])
    row.status = ApplicationStatus.APPROVED.value
    row.decided_by, row.decided_on = work.actor, decided
    row.decision_reason = _text(record, "reason", reason, 500)
    row.effective_from, row.expires_on = start, end
    audit.record(work.session, actor=work.actor, action="assistance.approve",
                 entity_type="assistance_application", entity_id=row.id,
                 details={"effective_from": start.isoformat(), "expires_on": end.isoformat(),
                          "tier": row.tier})
    return _application(row), _apply_discounts(work, row, decided)


def deny(work: UnitOfWork, application_id: int, reason: str,
         on: date | None = None) -> Application:
    """Deny a pending application with the reason the letter gives."""
    work.require(Action.ASSISTANCE_DECIDE)
    row = _row(work, application_id)
    record = f"assistance application {row.id}"
    _require_status(row, ApplicationStatus.PENDING, "be denied")
    row.decision_reason = _text(record, "reason", reason, 500, required=True)
    row.status = ApplicationStatus.DENIED.value
    row.decided_by, row.decided_on = work.actor, on or date.today()
    audit.record(work.session, actor=work.actor, action="assistance.deny",
                 entity_type="assistance_application", entity_id=row.id, details={})
    return _application(row)


def revoke(work: UnitOfWork, application_id: int, reason: str,
           on: date | None = None) -> tuple[Application, DiscountResult]:
    """Revoke an approval: every discount it posted is taken back (the patient owes it
    again) and no later claim gets one."""
    work.require(Action.ASSISTANCE_DECIDE)
    row = _row(work, application_id)
    record = f"assistance application {row.id}"
    _require_status(row, ApplicationStatus.APPROVED, "be revoked")
    text = _text(record, "reason", reason, 500, required=True)
    day = on or date.today()
    posted: dict[int, Decimal] = {}
    for account_id, patient_id in _accounts(work, row):
        given = _given(work, row.id, account_id)
        if given == ZERO:
            continue
        work.ledger.post(
            f"assistance:{row.id}:{account_id}:revoked", POSTING_SOURCE,
            [LedgerLine(EntryKind.WRITE_OFF, -given, patient_id=patient_id,
                        claim_id=account_id, reason_code=REASON_CODE, bucket=Bucket.PATIENT)],
            effective_date=day, memo=f"assistance application {row.id} revoked",
            undoes_write_off=True, allow_credit=True)
        posted[account_id] = -given
    row.status = ApplicationStatus.REVOKED.value
    row.revoked_on = day
    row.decision_reason = text
    audit.record(work.session, actor=work.actor, action="assistance.revoke",
                 entity_type="assistance_application", entity_id=row.id,
                 details={"taken_back": str(-sum(posted.values(), ZERO))})
    settle_patient_claims(work, posted, f"assistance application {row.id} revoked")
    return _application(row), DiscountResult(row.id, posted)


def apply_discounts(work: UnitOfWork, application_id: int,
                    on: date | None = None) -> DiscountResult:
    """Bring an approval's discounts up to date (new claims in its period, a payer's later
    answer): posts only what differs from what it already gave."""
    work.require(Action.ASSISTANCE_DECIDE)
    row = _row(work, application_id)
    _require_status(row, ApplicationStatus.APPROVED, "give discounts")
    return _apply_discounts(work, row, on or date.today())


def _accounts(work: UnitOfWork, row: AssistanceApplicationRow) -> list[tuple[int, int]]:
    """(claim account, patient) of the guarantor's family with a date of service in the
    approval's period, oldest first."""
    assert row.effective_from is not None and row.expires_on is not None
    family = family_of(work, row.guarantor_id)
    work.ledger.flush_pending()
    return [(account, patient) for account, patient in work.session.execute(
        select(ClaimRow.id, ClaimRow.patient_id).where(
            ClaimRow.patient_id.in_(family), ClaimRow.account_claim_id.is_(None),
            ClaimRow.service_date_from >= row.effective_from,
            ClaimRow.service_date_from <= row.expires_on)
        .order_by(ClaimRow.service_date_from, ClaimRow.id)).all()]


def patient_responsibility(work: UnitOfWork, account_id: int) -> Decimal:
    """What the patient was made responsible for on a claim account: charges to the patient
    (self-pay) and amounts payers moved to the patient, net of any moved back."""
    work.ledger.flush_pending()
    total = work.session.scalar(
        select(func.coalesce(func.sum(LedgerEntryRow.patient_delta), 0)).where(
            LedgerEntryRow.claim_id == account_id,
            LedgerEntryRow.kind.in_([EntryKind.CHARGE.value,
                                     EntryKind.TRANSFER_TO_PATIENT.value])))
    return to_money(total) if total else ZERO


def _given(work: UnitOfWork, application_id: int, account_id: int) -> Decimal:
    """The discount the application's postings give on the account so far (net)."""
    work.ledger.flush_pending()
    total = work.session.scalar(
        select(func.coalesce(func.sum(LedgerEntryRow.amount), 0))
        .join(PostingRow, PostingRow.id == LedgerEntryRow.posting_id)
        .where(LedgerEntryRow.claim_id == account_id,
               starts_with(work.session, PostingRow.posting_key,
                           f"assistance:{application_id}:{account_id}:")))
    return to_money(total) if total else ZERO


def _apply_discounts(work: UnitOfWork, row: AssistanceApplicationRow,
                     day: date) -> DiscountResult:
    tier = Tier.from_json(row.tier)
    posted: dict[int, Decimal] = {}
    for account_id, patient_id in _accounts(work, row):
        target = tier.discount_on(patient_responsibility(work, account_id))
        given = _given(work, row.id, account_id)
        change = target - given
        if change > ZERO:
            # never more than the patient still owes (what they paid stays paid)
            change = min(change, work.ledger.claim_balance(account_id).patient)
        if change == ZERO or (change < ZERO and given == ZERO):
            continue
        number = work.ledger.next_in_family(f"assistance:{row.id}:{account_id}:")
        if change < ZERO:
            change = max(change, -given)
        if change == ZERO:
            continue
        work.ledger.post(
            f"assistance:{row.id}:{account_id}:{number}", POSTING_SOURCE,
            [LedgerLine(EntryKind.WRITE_OFF, change, patient_id=patient_id,
                        claim_id=account_id, reason_code=REASON_CODE, bucket=Bucket.PATIENT)],
            effective_date=day, memo=f"financial assistance, application {row.id}",
            undoes_write_off=change < ZERO, allow_credit=change < ZERO)
        posted[account_id] = change
    if posted:
        audit.record(work.session, actor=work.actor, action="assistance.discount",
                     entity_type="assistance_application", entity_id=row.id,
                     details={"claims": len(posted),
                              "total": str(sum(posted.values(), ZERO))})
        settle_patient_claims(work, posted, f"financial assistance, application {row.id}")
    return DiscountResult(row.id, posted)


def apply_all_discounts(work: UnitOfWork, on: date | None = None) -> list[DiscountResult]:
    """:func:`apply_discounts` for every approval (a nightly job, or after posting 835s)."""
    work.require(Action.ASSISTANCE_DECIDE)
    rows: Sequence[AssistanceApplicationRow] = work.session.scalars(
        select(AssistanceApplicationRow).where(
            AssistanceApplicationRow.status == ApplicationStatus.APPROVED.value)
        .order_by(AssistanceApplicationRow.id)).all()
    return [_apply_discounts(work, row, on or date.today()) for row in rows]


def parse_percent(value: str, name: str) -> Decimal:
    """A percent given as text (``"75"``, ``"12.5"``).

    :raises ValidationFailed: not a number.
    """
    # as every number medbill reads: Decimal() would also take Arabic-Indic or full-width
    # digits, an exponent (1e1) or "1_0"
    number = parse_plain_number(value.strip().rstrip("%"))
    if number is None:
        raise ValidationFailed("assistance schedule", [(name, "not a number")])
    return number
