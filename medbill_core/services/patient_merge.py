"""Merging a duplicate patient record into the one that is kept.

Everything that hangs off the duplicate moves to the kept record in one transaction:
coverages, claims, ledger entries (their kept balances are rebuilt), payments, payment plans,
statements, good-faith estimates, card payments, refund checks, credit holds, write-off
requests, collection placements and pay links: every table with a foreign key to the
patients (:data:`MOVED` and the few handled by name; a test keeps the list complete). The
duplicate stays
(marked ``merged_into_id``) so its account number still explains old documents, and both
records get an audit event naming what moved.

Refused, with nothing changed, when the two hold active data that cannot be reconciled
without a person deciding: two active coverages with the same payer and order but different
member IDs, two active payment plans, or two accounts placed with a collection agency (the
kept record would have two open placements, and every later recall, agency payment and
statement run expects one). The kept record's demographics win; fields it lacks
(address, phone, e-mail, guarantor) are filled from the duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import ColumnElement, select, update

from medbill_core import audit, ledger_balances
from medbill_core.app import UnitOfWork
from medbill_core.errors import MedbillError
from medbill_core.permissions import Action
from medbill_core.services.collections import PlacementStatus
from medbill_core.storage.schema import (
    CardPaymentRow,
    ClaimAdjudicationRow,
    ClaimRow,
    CollectionAgencyRow,
    CollectionPlacementRow,
    CoverageRow,
    CreditHoldRow,
    GoodFaithEstimateRow,
    LedgerEntryRow,
    PatientRow,
    PayLinkRow,
    PaymentPlanRow,
    PaymentRow,
    RefundCheckRow,
    StatementRow,
    WriteOffRequestRow,
)

if TYPE_CHECKING:
    from sqlalchemy import CursorResult


#: The rows whose ``patient_id`` simply moves to the kept record, by the name the result
#: and the audit event give them. The other tables referring to a patient are handled by
#: name: ``coverages`` (the same plan twice is combined), ``statements`` (a family's list
#: too), ``ledger_balances`` (rebuilt from the moved entries), ``patients`` (the merge mark).
MOVED: tuple[tuple[str, Any], ...] = (
    ("coverages", CoverageRow), ("claims", ClaimRow), ("ledger_entries", LedgerEntryRow),
    ("payments", PaymentRow), ("payment_plans", PaymentPlanRow),
    ("good_faith_estimates", GoodFaithEstimateRow), ("card_payments", CardPaymentRow),
    ("refund_checks", RefundCheckRow), ("credit_holds", CreditHoldRow),
    ("write_off_requests", WriteOffRequestRow),
    ("collection_placements", CollectionPlacementRow), ("pay_links", PayLinkRow))
#: the tables referring to a patient that :func:`merge_patients` handles by name
HANDLED_BY_NAME = frozenset({"patients", "statements", "ledger_balances"})


class MergeRefused(MedbillError):
    """The two records hold conflicting active data; the message says which (no PHI)."""


@dataclass
class MergeResult:
    kept_id: int
    merged_id: int
    moved: dict[str, int] = field(default_factory=dict)
    coverages_combined: list[int] = field(default_factory=list)
    filled_fields: list[str] = field(default_factory=list)


def _active(row: CoverageRow, today: date) -> bool:
    return (row.start_date is None or row.start_date <= today) and (
        row.end_date is None or row.end_date >= today)


def merge_patients(work: UnitOfWork, keep_id: int, duplicate_id: int, *,
                   today: date | None = None) -> MergeResult:
    """Move everything of ``duplicate_id`` to ``keep_id`` (see the module docstring)."""
    work.require(Action.PATIENTS_MERGE)
    session = work.session
    today = today or date.today()
    if keep_id == duplicate_id:
        raise MergeRefused("a patient cannot be merged into itself")
    keep = work.patients.get(keep_id)
    duplicate = work.patients.get(duplicate_id)
    for patient in (keep, duplicate):
        if patient.merged_into_id is not None:
            raise MergeRefused(f"patient {patient.id} was already merged into patient "
                               f"{patient.merged_into_id}")
    result = MergeResult(keep_id, duplicate_id)

    # -- refuse what a person must decide --------------------------------------------------------
    kept_coverages = {(row.payer_key, row.coverage_order): row for row in session.scalars(
        select(CoverageRow).where(CoverageRow.patient_id == keep_id))}
    duplicate_coverages = list(session.scalars(select(CoverageRow).where(
        CoverageRow.patient_id == duplicate_id).order_by(CoverageRow.id)))
    same_plan: list[tuple[CoverageRow, CoverageRow]] = []
    for row in duplicate_coverages:
        kept = kept_coverages.get((row.payer_key, row.coverage_order))
        if kept is None:
            continue
        if kept.member_id != row.member_id:
            if _active(kept, today) and _active(row, today):
                raise MergeRefused(
                    f"patients {keep_id} and {duplicate_id} both have an active "
                    f"{row.payer_key} coverage in order {row.coverage_order} with different "
                    f"member IDs (coverages {kept.id} and {row.id}); terminate or correct one "
                    "first")
            # an ended plan with another member ID: moving it would give the kept record two
            # coverages of the same payer and order, which claims could not tell apart
            raise MergeRefused(
                f"coverages {kept.id} and {row.id} have the same payer and order but "
                "different member IDs; edit one's order or payer first")
        same_plan.append((kept, row))
    active_plans = list(session.scalars(select(PaymentPlanRow.patient_id).where(
        PaymentPlanRow.patient_id.in_([keep_id, duplicate_id]),
        PaymentPlanRow.status == "active")))
    if keep_id in active_plans and duplicate_id in active_plans:
        raise MergeRefused(f"patients {keep_id} and {duplicate_id} both have an active payment "
                           "plan; cancel or complete one first")
    _refuse_two_placements(work, keep_id, duplicate_id)

    # -- the same plan twice: one coverage, the claims pointing at the kept one -----------------
    # the tables updated below, each with the column set
    table: type[ClaimRow | ClaimAdjudicationRow]
    for kept, row in same_plan:
        for table in (ClaimRow, ClaimAdjudicationRow):
            session.execute(update(table).where(table.coverage_id == row.id)
                            .values(coverage_id=kept.id))
        if kept.start_date and (row.start_date is None or row.start_date < kept.start_date):
            kept.start_date = row.start_date  # the earlier start of the two
        session.delete(row)
        result.coverages_combined.append(row.id)
        audit.record(session, actor=work.actor, action="coverage.merge", entity_type="coverage",
                     entity_id=kept.id, details={"combined_coverage_id": row.id})
    session.flush()

    # -- move the rest -----------------------------------------------------------------------
    for name, moved_table in MOVED:
        moved = cast("CursorResult[Any]", session.execute(
            update(moved_table).where(moved_table.patient_id == duplicate_id)
            .values(patient_id=keep_id))).rowcount
        result.moved[name] = moved or 0
    # the moved entries' account sums: under the kept patient now
    ledger_balances.rebuild(session, [keep_id, duplicate_id])
    kept_cycles = set(session.scalars(select(StatementRow.cycle).where(
        StatementRow.patient_id == keep_id)))
    statements = 0
    for statement in session.scalars(select(StatementRow).where(_may_name(duplicate_id))):
        if (statement.patient_id != duplicate_id
                and duplicate_id not in (statement.patient_ids or [])):
            continue
        if statement.patient_ids:
            statement.patient_ids = sorted({keep_id if i == duplicate_id else i
                                            for i in statement.patient_ids})
        else:
            statement.patient_ids = [keep_id]
        # a statement of a cycle the kept record also had stays on the duplicate (history):
        # (patient, cycle) is unique; patient_ids still names the kept record
        if statement.patient_id == duplicate_id and statement.cycle not in kept_cycles:
            statement.patient_id = keep_id
        statements += 1
    result.moved["statements"] = statements

    # -- demographics: the kept record wins, its blanks are filled ---------------------------
    keep_row = session.get_one(PatientRow, keep_id)
    duplicate_row = session.get_one(PatientRow, duplicate_id)
    for name in ("middle_name", "suffix", "address", "phone", "email"):
        if getattr(keep_row, name) is None and getattr(duplicate_row, name) is not None:
            setattr(keep_row, name, getattr(duplicate_row, name))
            result.filled_fields.append(name)
    if keep_row.guarantor_id is None and duplicate_row.guarantor_id is not None:
        keep_row.guarantor_id = duplicate_row.guarantor_id
        keep_row.guarantor_relationship = duplicate_row.guarantor_relationship
        result.filled_fields.append("guarantor")
    duplicate_row.merged_into_id = keep_id
    duplicate_row.statement_hold = True  # nothing is billed to a merged record
    session.flush()
    details = {"merged_patient_id": duplicate_id, "moved": result.moved,
               "coverages_combined": result.coverages_combined,
               "filled_fields": result.filled_fields}
    audit.record(session, actor=work.actor, action="patient.merge", entity_type="patient",
                 entity_id=keep_id, details=details)
    audit.record(session, actor=work.actor, action="patient.merged_into", entity_type="patient",
                 entity_id=duplicate_id, details={"kept_patient_id": keep_id})
    return result


def _refuse_two_placements(work: UnitOfWork, keep_id: int, duplicate_id: int) -> None:
    """Refuse when both accounts are placed with an agency now: moving the duplicate's
    placement would leave the kept record with two open ones. One open placement (either
    side) moves or stays as it is."""
    placed = work.session.execute(
        select(CollectionPlacementRow.id, CollectionPlacementRow.patient_id,
               CollectionAgencyRow.code, CollectionPlacementRow.placed_on)
        .join(CollectionAgencyRow, CollectionAgencyRow.id == CollectionPlacementRow.agency_id)
        .where(CollectionPlacementRow.patient_id.in_([keep_id, duplicate_id]),
               CollectionPlacementRow.status == PlacementStatus.PLACED.value)
        .order_by(CollectionPlacementRow.id)).all()
    if {patient_id for _, patient_id, _, _ in placed} != {keep_id, duplicate_id}:
        return
    named = ", ".join(f"placement {placement_id} with agency {agency} since {placed_on}"
                      for placement_id, _, agency, placed_on in placed)
    raise MergeRefused(f"patients {keep_id} and {duplicate_id} both have an account placed "
                       f"with a collection agency ({named}); recall one first "
                       "(collections recall ID --reason ...)")


def _may_name(patient_id: int) -> ColumnElement[bool]:
    """Statements that may name the patient: as first patient, or any with a patient list
    (JSON containment differs between SQLite and PostgreSQL: the caller narrows those)."""
    return (StatementRow.patient_id == patient_id) | StatementRow.patient_ids.is_not(None)
