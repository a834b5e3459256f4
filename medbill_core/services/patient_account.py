"""One patient's account, for a person looking at it (the workspace's account page): who
pays (the guarantor), the coverages and what eligibility checks answered, the balance by age
bucket and by who owes it, statements, payments, payment plans with their installments, and
the patient's claims.

Every part is read through the service that owns it (:mod:`.patients`,
:mod:`.api_records`, :mod:`.receivables`, :mod:`.payments`); this module puts them together.
Showing the patient and the guarantor is a read of PHI: audited (``patient.read``,
``guarantor.read``) as the API audits it, so ``work`` must be able to write.

Eligibility results are what medbill keeps of each 271: the ``eligibility.check`` audit
event of the coverage (when, by whom, the coverage status and any AAA reject reasons), not
the 271 itself (it answered a question at the window; the coverage record is the lasting
fact).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import select

from medbill_core.codesets.explain import explain_aaa_reject
from medbill_core.domain import Claim, Coverage, Guarantor, Patient, PaymentPlan
from medbill_core.permissions import Action
from medbill_core.services.aging import BUCKETS
from medbill_core.services.api_records import StatementRecord, read_guarantor, statements_after
from medbill_core.services.patients import read_patient
from medbill_core.services.payments import (
    PaymentSummary,
    PlanSummary,
    list_payments,
    list_plans,
    missed_installments,
    plan,
)
from medbill_core.services.receivables import AgingReport, account_aging
from medbill_core.storage.schema import AuditEventRow, as_utc

if TYPE_CHECKING:
    from medbill_core.app import UnitOfWork

#: how many statements and claims the page lists, newest first (the API pages the rest)
SHOWN = 50


@dataclass(frozen=True)
class EligibilityResult:
    """What a 271 answered for a coverage, as recorded when it was asked."""

    at: datetime
    actor: str
    #: the coverage status the payer gave (``active``, ``inactive`` ...)
    status: str
    #: each AAA reject reason in words
    rejects: tuple[str, ...]


@dataclass(frozen=True)
class CoverageView:
    coverage: Coverage
    active: bool
    #: the latest first
    eligibility: tuple[EligibilityResult, ...]


class InstallmentStatus(StrEnum):
    PAID = "paid"
    #: past due beyond the grace days and not fully paid (what the collections list counts)
    MISSED = "missed"
    #: due now (within the grace days) or the next one to pay
    DUE = "due"
    UPCOMING = "upcoming"


@dataclass(frozen=True)
class InstallmentView:
    sequence: int
    due_date: date
    amount: Decimal
    paid: Decimal
    status: InstallmentStatus


@dataclass(frozen=True)
class PlanView:
    summary: PlanSummary
    installments: tuple[InstallmentView, ...]

    @property
    def missed(self) -> int:
        return sum(1 for item in self.installments if item.status is InstallmentStatus.MISSED)


@dataclass(frozen=True)
class PatientAccount:
    patient: Patient
    #: ``None``: the patient is their own guarantor
    guarantor: Guarantor | None
    coverages: tuple[CoverageView, ...]
    aging: AgingReport
    insurance_balance: Decimal
    patient_balance: Decimal
    statements: tuple[StatementRecord, ...]
    payments: tuple[PaymentSummary, ...]
    plans: tuple[PlanView, ...]
    claims: tuple[Claim, ...]
    #: what a collection agency holds of the account (placed: the patient owes it there, and
    #: ``patient_balance`` is 0.00 for it)
    agency_balance: Decimal = Decimal("0.00")

    @property
    def buckets(self) -> tuple[str, ...]:
        return BUCKETS


def _eligibility(work: UnitOfWork, coverage_ids: Sequence[int]
                 ) -> dict[int, list[EligibilityResult]]:
    """Coverage id -> its eligibility checks, latest first. The audit trail is not a
    practice-scoped table: its events are filtered by the acting practice here."""
    if not coverage_ids:
        return {}
    query = (select(AuditEventRow)
             .where(AuditEventRow.action == "eligibility.check",
                    AuditEventRow.entity_type == "coverage",
                    AuditEventRow.entity_id.in_([str(i) for i in coverage_ids]))
             .order_by(AuditEventRow.id.desc()))
    if work.principal is not None:
        query = query.where(AuditEventRow.practice_id == work.principal.practice_id)
    found: dict[int, list[EligibilityResult]] = {}
    for event in work.session.scalars(query):
        details = event.details or {}
        rejects = tuple(explain_aaa_reject(str(code))
                        for code in details.get("reject_reasons") or () if code)
        found.setdefault(int(event.entity_id), []).append(EligibilityResult(
            as_utc(event.at), event.actor, str(details.get("status") or "unknown"), rejects))
    return found


def installment_states(one: PaymentPlan, missed: set[int], today: date
                       ) -> tuple[InstallmentView, ...]:
    """Each installment of ``one`` with its status: paid, missed (``missed`` holds the
    sequence numbers :func:`~medbill_core.services.payments.missed_installments` counts),
    due (the first one not paid), or upcoming."""
    views = []
    next_seen = False
    for sequence, item in enumerate(one.installments, start=1):
        if item.paid_amount >= item.amount:
            status = InstallmentStatus.PAID
        elif sequence in missed:
            status = InstallmentStatus.MISSED
        elif not next_seen or item.due_date <= today:
            status = InstallmentStatus.DUE
            next_seen = True
        else:
            status = InstallmentStatus.UPCOMING
        views.append(InstallmentView(sequence, item.due_date, item.amount, item.paid_amount,
                                     status))
    return tuple(views)


def _plans(work: UnitOfWork, patient_id: int, today: date) -> tuple[PlanView, ...]:
    summaries = list_plans(work, patient_id=patient_id)
    missed: dict[int, set[int]] = {}
    if any(summary.status == "active" for summary in summaries):
        for item in missed_installments(work, as_of=today, patient_id=patient_id):
            missed.setdefault(item.plan_id, set()).add(item.sequence)
    return tuple(PlanView(summary, installment_states(plan(work, summary.id),
                                                      missed.get(summary.id, set()), today))
                 for summary in reversed(summaries))


def patient_account(work: UnitOfWork, patient_id: int, *, via: str,
                    as_of: date | None = None) -> PatientAccount:
    """Everything the account page shows (module docstring); the reads of the patient and
    the guarantor are audited as made through ``via``.

    :raises NotFound: no such patient in the principal's practice.
    :raises PermissionDenied: the role may not read patients or their payments.
    """
    today = as_of or date.today()
    patient = read_patient(work, patient_id, via=via)
    work.require(Action.COVERAGES_READ)
    guarantor = read_guarantor(work, patient.guarantor_id, via=via) \
        if patient.guarantor_id is not None else None
    coverages = work.patients.coverages(patient_id)
    checks = _eligibility(work, [c.id for c in coverages if c.id is not None])
    views = tuple(CoverageView(c, c.is_active_on(today), tuple(checks.get(c.id or 0, ())))
                  for c in sorted(coverages, key=lambda c: (not c.is_active_on(today),
                                                            c.order.value, c.id or 0)))
    balance = work.ledger.patient_balance(patient_id)
    work.require(Action.STATEMENTS_READ)
    statements = statements_after(work, after_id=None, limit=10_000, patient_id=patient_id)
    claims = work.claims.list(patient_id=patient_id, limit=10_000)
    return PatientAccount(
        patient=patient, guarantor=guarantor, coverages=views,
        aging=account_aging(work, patient_id, as_of=today),
        insurance_balance=balance.insurance, patient_balance=balance.patient,
        agency_balance=balance.agency,
        statements=tuple(reversed(statements))[:SHOWN],
        payments=tuple(reversed(list_payments(work, patient_id=patient_id))),
        plans=_plans(work, patient_id, today),
        claims=tuple(sorted(claims, key=lambda c: (c.service_date_from, c.id or 0),
                            reverse=True))[:SHOWN])
