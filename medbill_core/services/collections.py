"""Collection agencies: placing patient balances with an agency, its payments, recalls.

A practice configures the agencies it uses (:func:`add_agency`: a code, a name, the percent of
what it collects that it keeps). **Placing** an account (:func:`place_account`) moves the
patient's whole open balance (each claim's patient balance and what the account owes on no
claim) from the ledger's patient bucket to its **agency** bucket (``transfer_to_agency``; see
:mod:`medbill_core.ledger`): the patient bucket then owes nothing, so statement runs, the
collections work list and patient A/R leave the account out, and :func:`agency_receivables`
shows what sits with each agency. Statement runs also skip an account while it is placed
(:func:`placed_patients`), so a new charge is not billed behind the agency's back. An account
on an active payment plan is not placed: the patient is paying as agreed, and the plan would
keep asking for installments of a balance the agency holds; the plan is cancelled first.

The agency gets an **export file** (:func:`agency_export`: CSV, one row per placed account
not sent yet: account number, guarantor name and address, balance, last payment date, dates
of service; the caller writes it owner-only and atomically, it is PHI).

When the agency pays (:func:`record_agency_payment`), what it collected comes off the agency
bucket oldest service first: the remittance as ``agency_payment`` and the agency's fee (its
percent of what it collected, rounded half-up to the cent) as ``agency_fee``, an adjustment
with reason ``AGYFEE``; a payment the patient made to the practice directly (``direct``)
carries no fee. When nothing is left the placement is ``paid``. An agency payment is posted
once: the same amount, received date, kind (agency or direct) and non-blank reference on the
same placement as one posted before is refused (:class:`DuplicateAgencyPayment`) unless the
caller says the agency really paid twice; without a reference it is a warning. **Recall**
(:func:`recall_account`) moves what is left back to the patient bucket
(``recall_from_agency``) and ends the placement.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select

from medbill_core import audit
from medbill_core.app import UnitOfWork
from medbill_core.errors import LedgerError, NotFound, ValidationFailed
from medbill_core.ledger import EntryKind, LedgerLine
from medbill_core.money import CENT, ZERO, checked_amount, parse_plain_number, to_money
from medbill_core.permissions import Action
from medbill_core.services.guarantors import GuarantorService
from medbill_core.services.payments import (
    DuplicatePayment,
    repeated_reference,
    settle_patient_claims,
)
from medbill_core.storage.schema import (
    AgencyPaymentRow,
    ClaimRow,
    CollectionAgencyRow,
    CollectionPlacementRow,
    LedgerEntryRow,
    PatientRow,
    PaymentPlanRow,
    PaymentRow,
)

#: the reason code the agency's fee carries in the ledger
FEE_REASON = "AGYFEE"
_HUNDRED = Decimal(100)


class PlacementStatus(StrEnum):
    PLACED = "placed"
    RECALLED = "recalled"
    #: the agency collected everything placed
    PAID = "paid"


# -- agencies -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Agency:
    id: int
    code: str
    name: str
    fee_percent: Decimal
    active: bool

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "code": self.code, "name": self.name,
                "fee_percent": str(self.fee_percent), "active": self.active}


def _agency(row: CollectionAgencyRow) -> Agency:
    return Agency(row.id, row.code, row.name, row.fee_percent, row.active)


def _fee_percent(value: Decimal | str, record: str) -> Decimal:
    # text as every number medbill reads (parse_plain_number): Decimal() would also take
    # Arabic-Indic or full-width digits, an exponent (1e1 is 10%) or "1_0"
    percent = value if isinstance(value, Decimal) else parse_plain_number(value.strip())
    if percent is None:
        raise ValidationFailed(record, [("fee_percent", "must be a number, e.g. 25.00")])
    if not percent.is_finite() or percent < 0 or percent > _HUNDRED \
            or percent.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValidationFailed(record, [("fee_percent", "must be 0 to 100 with at most two "
                                                        "decimals")])
    return percent


def add_agency(work: UnitOfWork, code: str, name: str, fee_percent: Decimal | str) -> Agency:
    """:raises ValidationFailed: a code in use, no name, a percent outside 0-100."""
    work.require(Action.COLLECTIONS_MANAGE)
    code = code.strip().upper()
    record = f"agency {code}"
    if not code or len(code) > 20 or not code.replace("-", "").isalnum():
        raise ValidationFailed("agency", [("code", "letters, digits and dashes, at most 20")])
    if not name.strip() or len(name.strip()) > 80:
        raise ValidationFailed(record, [("name", "give a name (at most 80 characters)")])
    percent = _fee_percent(fee_percent, record)
    if work.session.scalar(select(CollectionAgencyRow.id).where(
            CollectionAgencyRow.code == code)) is not None:
        raise ValidationFailed(record, [("code", "is already in use")])
    row = CollectionAgencyRow(code=code, name=name.strip(), fee_percent=percent, active=True)
    work.session.add(row)
    work.session.flush()
    audit.record(work.session, actor=work.actor, action="agency.add", entity_type="agency",
                 entity_id=row.id, details={"code": code, "fee_percent": str(percent)})
    return _agency(row)


def edit_agency(work: UnitOfWork, code: str, *, fee_percent: Decimal | str | None = None,
                active: bool | None = None) -> Agency:
    work.require(Action.COLLECTIONS_MANAGE)
    row = _agency_row(work, code)
    changed: dict[str, Any] = {}
    if fee_percent is not None:
        row.fee_percent = _fee_percent(fee_percent, f"agency {row.code}")
        changed["fee_percent"] = str(row.fee_percent)
    if active is not None:
        row.active = active
        changed["active"] = active
    audit.record(work.session, actor=work.actor, action="agency.edit", entity_type="agency",
                 entity_id=row.id, details=changed)
    return _agency(row)


def list_agencies(work: UnitOfWork) -> list[Agency]:
    work.require(Action.COLLECTIONS_READ)
    return [_agency(row) for row in work.session.scalars(
        select(CollectionAgencyRow).order_by(CollectionAgencyRow.code))]


def _agency_row(work: UnitOfWork, code: str) -> CollectionAgencyRow:
    row = work.session.scalar(select(CollectionAgencyRow).where(
        CollectionAgencyRow.code == code.strip().upper()))
    if row is None:
        raise NotFound("agency", code)
    return row


# -- placements -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Placement:
    id: int
    account_number: str
    agency: str
    placed: Decimal
    #: what is still with the agency
    balance: Decimal
    collected: Decimal
    fees: Decimal
    placed_on: date
    status: PlacementStatus
    closed_on: date | None

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "account_number": self.account_number, "agency": self.agency,
                "placed": str(self.placed), "balance": str(self.balance),
                "collected": str(self.collected), "fees": str(self.fees),
                "placed_on": self.placed_on.isoformat(), "status": self.status.value,
                "closed_on": self.closed_on.isoformat() if self.closed_on else None}


def placed_patients(work: UnitOfWork) -> set[int]:
    """Patients with an account placed with an agency now (statement runs skip them)."""
    return set(work.session.scalars(select(CollectionPlacementRow.patient_id).where(
        CollectionPlacementRow.status == PlacementStatus.PLACED.value)))


def _bucket_balances(work: UnitOfWork, patient_id: int, column: Any
                     ) -> list[tuple[int | None, Decimal]]:
    """(claim id or None, balance of ``column``) of the patient's accounts owing in that
    bucket, oldest service first, the account itself (no claim) last."""
    rows = work.session.execute(
        select(LedgerEntryRow.claim_id, func.sum(column),
               func.min(ClaimRow.service_date_from))
        .outerjoin(ClaimRow, ClaimRow.id == LedgerEntryRow.claim_id)
        .where(LedgerEntryRow.patient_id == patient_id)
        .group_by(LedgerEntryRow.claim_id)).all()
    owing = [(claim_id, to_money(amount), since) for claim_id, amount, since in rows
             if amount is not None and to_money(amount) > ZERO]
    owing.sort(key=lambda item: (item[0] is None, item[2] or date.max, item[0] or 0))
    return [(claim_id, amount) for claim_id, amount, _ in owing]


def _open_placement(work: UnitOfWork, patient_id: int) -> CollectionPlacementRow | None:
    return work.session.scalar(select(CollectionPlacementRow).where(
        CollectionPlacementRow.patient_id == patient_id,
        CollectionPlacementRow.status == PlacementStatus.PLACED.value))


def refuse_payment_on_placed_account(work: UnitOfWork, patient_id: int) -> None:
    """The rule for a patient's payment while the account is placed with an agency: the
    patient bucket owes nothing then (the agency holds the balance), so a payment recorded
    as the patient's would only become a refundable credit while the agency is still owed.
    The patient paying the practice directly is posted on the placement, ``--direct`` (no
    fee): :func:`record_agency_payment`.

    :raises ValidationFailed: the account is placed, naming the placement to post it on.
    """
    row = _open_placement(work, patient_id)
    if row is None:
        return
    agency = work.session.get(CollectionAgencyRow, row.agency_id)
    held = sum((balance for _, balance in _bucket_balances(
        work, patient_id, LedgerEntryRow.agency_delta)), ZERO)
    raise ValidationFailed(f"patient {patient_id}", [(
        "placement", f"the account is placed with agency {agency.code if agency else '?'} "
                     f"({held} held, placement {row.id}): post the patient's payment on the "
                     f"placement: medbill collections payment {row.id} --collected AMOUNT "
                     "--direct")])


def place_account(work: UnitOfWork, patient_id: int, agency_code: str, *,
                  on: date | None = None) -> Placement:
    """Place the patient's whole open patient balance with an agency.

    An account on an active payment plan is not placed: the patient is paying it as agreed,
    and the plan would go on asking for installments of a balance the agency then holds.
    Cancel the plan first (``plans cancel``, with its reason).

    :raises NotFound: no such patient or agency.
    :raises ValidationFailed: the agency is inactive, the account is placed already, is on an
        active payment plan, or owes nothing.
    """
    work.require(Action.COLLECTIONS_PLACE)
    work.patients.get(patient_id)  # NotFound: no such patient
    record = f"patient {patient_id}"
    agency = _agency_row(work, agency_code)
    if not agency.active:
        raise ValidationFailed(record, [("agency", f"{agency.code} is not active")])
    if _open_placement(work, patient_id) is not None:
        raise ValidationFailed(record, [("placement", "is already with an agency; recall "
                                                      "it first")])
    plan_id = work.session.scalar(select(PaymentPlanRow.id).where(
        PaymentPlanRow.patient_id == patient_id, PaymentPlanRow.status == "active")
        .order_by(PaymentPlanRow.id).limit(1))
    if plan_id is not None:
        raise ValidationFailed(record, [("payment_plan", f"has active payment plan {plan_id}: "
                                                         "cancel it first")])
    owing = _bucket_balances(work, patient_id, LedgerEntryRow.patient_delta)
    if not owing:
        raise ValidationFailed(record, [("balance", "nothing is owed")])
    day = on or date.today()
    amount = sum((balance for _, balance in owing), ZERO)
    row = CollectionPlacementRow(patient_id=patient_id, agency_id=agency.id, amount=amount,
                                 placed_on=day, status=PlacementStatus.PLACED.value,
                                 actor=work.actor)
    work.session.add(row)
    work.session.flush()
    work.ledger.post(f"agency:placement:{row.id}", "collections_placement", [
        LedgerLine(EntryKind.TRANSFER_TO_AGENCY, balance, patient_id=patient_id,
                   claim_id=claim_id) for claim_id, balance in owing],
        effective_date=day, memo=f"placed with agency {agency.code}")
    audit.record(work.session, actor=work.actor, action="collections.place",
                 entity_type="placement", entity_id=row.id,
                 details={"patient_id": patient_id, "agency": agency.code,
                          "amount": str(amount)})
    return _placement(work, row)


def _placement_row(work: UnitOfWork, placement_id: int) -> CollectionPlacementRow:
    row = work.session.get(CollectionPlacementRow, placement_id)
    if row is None:
        raise NotFound("placement", placement_id)
    return row


def _placed_row(work: UnitOfWork, placement_id: int) -> CollectionPlacementRow:
    row = _placement_row(work, placement_id)
    if row.status != PlacementStatus.PLACED.value:
        raise ValidationFailed(f"placement {placement_id}", [("status", f"is {row.status}")])
    return row


def recall_account(work: UnitOfWork, placement_id: int, reason: str, *,
                   on: date | None = None) -> Placement:
    """Take the account back from the agency: what it still holds returns to the patient
    bucket (statements resume).

    :raises ValidationFailed: no reason, or the placement is not open."""
    work.require(Action.COLLECTIONS_PLACE)
    row = _placed_row(work, placement_id)
    if not reason.strip():
        raise ValidationFailed(f"placement {placement_id}", [("reason", "say why")])
    day = on or date.today()
    held = _bucket_balances(work, row.patient_id, LedgerEntryRow.agency_delta)
    if held:
        work.ledger.post(f"agency:placement:{row.id}:recall", "collections_recall", [
            LedgerLine(EntryKind.RECALL_FROM_AGENCY, balance, patient_id=row.patient_id,
                       claim_id=claim_id) for claim_id, balance in held],
            effective_date=day, memo="recalled from the agency")
    row.status = PlacementStatus.RECALLED.value
    row.closed_on = day
    row.recall_reason = reason.strip()[:500]
    audit.record(work.session, actor=work.actor, action="collections.recall",
                 entity_type="placement", entity_id=row.id,
                 details={"amount": str(sum((b for _, b in held), ZERO))})
    return _placement(work, row)


def agency_fee(collected: Decimal, percent: Decimal) -> Decimal:
    """The agency's share of what it collected, to the cent (half-up, the usual contract
    rounding; stated here so it is never silent)."""
    return (to_money(collected) * percent / _HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class AgencyPaymentResult:
    payment_id: int
    collected: Decimal
    fee: Decimal
    #: what the agency remitted (collected less its fee)
    net: Decimal
    #: what is still with the agency
    balance: Decimal
    status: PlacementStatus
    #: what the caller should show: a payment without a reference that looks like one
    #: posted before on the placement (same amount and date) was recorded
    warnings: tuple[str, ...] = ()


class DuplicateAgencyPayment(DuplicatePayment):
    """An agency payment repeating one posted on the same placement: the same amount,
    received date, kind and reference. Nothing was written."""


def _check_agency_duplicate(work: UnitOfWork, row: CollectionPlacementRow, collected: Decimal,
                            day: date, reference: str | None,
                            direct: bool) -> tuple[str, ...]:
    """Refuse an exact repeat of an agency payment posted on the placement (a non-blank
    reference); without a reference the same figures are a warning, returned.

    :raises DuplicateAgencyPayment: an exact repeat.
    """
    earlier = work.session.execute(
        select(AgencyPaymentRow.id, AgencyPaymentRow.reference).where(
            AgencyPaymentRow.placement_id == row.id, AgencyPaymentRow.collected == collected,
            AgencyPaymentRow.received_on == day, AgencyPaymentRow.direct == direct)
        .order_by(AgencyPaymentRow.id)).all()
    if not earlier:
        return ()
    kind = "direct payment" if direct else "agency payment"
    shown = " ".join((reference or "").split())
    if not shown:
        ids = ", ".join(f"#{payment_id}" for payment_id, _ in earlier)
        return (f"placement {row.id}: {kind} of {collected} on {day.isoformat()} has no "
                f"reference and the same amount and date as {kind} {ids}: recorded as "
                "another payment",)
    repeated = repeated_reference(earlier, reference)
    if repeated is not None:
        payment_id, stated = repeated
        payer = "patient" if direct else "agency"
        raise DuplicateAgencyPayment(
            f"placement {row.id}: {kind} of {collected} (remittance {stated}) on "
            f"{day.isoformat()} is already posted ({kind} #{payment_id}); post it again "
            f"with --allow-duplicate if the {payer} really paid twice", payment_id)
    return ()


def record_agency_payment(work: UnitOfWork, placement_id: int, collected: Decimal, *,
                          received_on: date | None = None, reference: str | None = None,
                          direct: bool = False,
                          allow_duplicate: bool = False) -> AgencyPaymentResult:
    """Post what an agency collected on a placement: its remittance (collected less its fee)
    as ``agency_payment``, its fee as ``agency_fee``; ``direct``: the patient paid the
    practice itself (no fee). ``allow_duplicate``: it repeats a payment posted on the
    placement on purpose (the agency really paid twice).

    :raises DuplicateAgencyPayment: the same amount, date, kind and reference as a payment
        posted on the placement, and no ``allow_duplicate``.
    :raises ValidationFailed: the placement is not open, or the amount is not positive or
        more than the agency holds.
    """
    work.require(Action.PAYMENTS_POST)
    row = _placed_row(work, placement_id)
    record = f"placement {placement_id}"
    collected = checked_amount(collected, record, "amount")
    if collected <= ZERO:
        raise ValidationFailed(record, [("amount", "must be more than 0.00")])
    day = received_on or date.today()
    warnings = () if allow_duplicate else _check_agency_duplicate(
        work, row, collected, day, reference, direct)
    held = _bucket_balances(work, row.patient_id, LedgerEntryRow.agency_delta)
    balance = sum((b for _, b in held), ZERO)
    if collected > balance:
        raise ValidationFailed(record, [("amount", f"exceeds the {balance} placed with the "
                                                   "agency")])
    agency = work.session.get(CollectionAgencyRow, row.agency_id)
    if agency is None:  # pragma: no cover - agencies are never deleted
        raise LedgerError(f"{record}: its agency is gone")
    fee = ZERO if direct else agency_fee(collected, agency.fee_percent)
    # the fee and the remittance are spread over the placed accounts in the same order: the
    # fee first on each, so every line is a whole cent and the sums are exact
    lines: list[LedgerLine] = []
    fee_left, net_left = fee, collected - fee
    for claim_id, owed in held:
        take_fee = min(fee_left, owed)
        if take_fee > ZERO:
            lines.append(LedgerLine(EntryKind.AGENCY_FEE, take_fee, patient_id=row.patient_id,
                                    claim_id=claim_id, reason_code=FEE_REASON))
            fee_left -= take_fee
        take_net = min(net_left, owed - take_fee)
        if take_net > ZERO:
            lines.append(LedgerLine(EntryKind.AGENCY_PAYMENT, take_net,
                                    patient_id=row.patient_id, claim_id=claim_id))
            net_left -= take_net
        if fee_left <= ZERO and net_left <= ZERO:
            break
    sequence = (work.session.scalar(select(func.count()).select_from(AgencyPaymentRow).where(
        AgencyPaymentRow.placement_id == placement_id)) or 0) + 1
    posting = work.ledger.post(f"agency:placement:{row.id}:payment:{sequence}",
                               "agency_payment", lines, effective_date=day,
                               memo="direct payment on a placed account" if direct
                               else f"agency {agency.code} remittance")
    payment = AgencyPaymentRow(placement_id=placement_id, collected=collected, fee=fee,
                               received_on=day, reference=(reference or "")[:40] or None,
                               direct=direct, actor=work.actor, posting_id=posting.posting_id)
    work.session.add(payment)
    work.session.flush()
    left = balance - collected
    if left == ZERO:
        row.status = PlacementStatus.PAID.value
        row.closed_on = day
    settle_patient_claims(work, [c for c, _ in held if c is not None],
                          f"agency payment {payment.id}")
    audit.record(work.session, actor=work.actor, action="collections.payment",
                 entity_type="placement", entity_id=row.id,
                 details={"agency_payment_id": payment.id, "collected": str(collected),
                          "fee": str(fee), "direct": direct})
    return AgencyPaymentResult(payment.id, collected, fee, collected - fee, left,
                               PlacementStatus(row.status), warnings)


def _placement(work: UnitOfWork, row: CollectionPlacementRow) -> Placement:
    return list_placements(work, placement_id=row.id)[0]


def list_placements(work: UnitOfWork, *, status: PlacementStatus | None = None,
                    agency_code: str | None = None,
                    placement_id: int | None = None, after_id: int | None = None,
                    limit: int | None = None) -> list[Placement]:
    """Placements by id (at most ``limit`` after ``after_id``: the API's keyset pages;
    without them, every placement)."""
    work.require(Action.COLLECTIONS_READ)
    query = (select(CollectionPlacementRow, PatientRow.account_number, CollectionAgencyRow.code)
             .join(PatientRow, PatientRow.id == CollectionPlacementRow.patient_id)
             .join(CollectionAgencyRow,
                   CollectionAgencyRow.id == CollectionPlacementRow.agency_id)
             .order_by(CollectionPlacementRow.id).limit(limit))
    if after_id is not None:
        query = query.where(CollectionPlacementRow.id > after_id)
    if status is not None:
        query = query.where(CollectionPlacementRow.status == status.value)
    if agency_code is not None:
        query = query.where(CollectionAgencyRow.code == agency_code.strip().upper())
    if placement_id is not None:
        query = query.where(CollectionPlacementRow.id == placement_id)
    rows = work.session.execute(query).all()
    ids = [row.id for row, _, _ in rows]
    paid: dict[int, tuple[Decimal, Decimal]] = {}
    if ids:
        for pid, collected, fees in work.session.execute(
                select(AgencyPaymentRow.placement_id, func.sum(AgencyPaymentRow.collected),
                       func.sum(AgencyPaymentRow.fee))
                .where(AgencyPaymentRow.placement_id.in_(ids))
                .group_by(AgencyPaymentRow.placement_id)):
            paid[pid] = (to_money(collected), to_money(fees))
    result = []
    for row, account, code in rows:
        collected, fees = paid.get(row.id, (ZERO, ZERO))
        open_ = row.status == PlacementStatus.PLACED.value
        balance = work.ledger.patient_balance(row.patient_id).agency if open_ else ZERO
        result.append(Placement(row.id, account, code, row.amount, balance, collected, fees,
                                row.placed_on, PlacementStatus(row.status), row.closed_on))
    return result


def agency_receivables(work: UnitOfWork) -> dict[str, Decimal]:
    """Agency A/R: agency code -> what its open placements still hold (the ledger's agency
    bucket), beside the patient A/R, which no longer counts it."""
    work.require(Action.COLLECTIONS_READ)
    sums: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for code, amount in work.session.execute(
            select(CollectionAgencyRow.code, func.sum(LedgerEntryRow.agency_delta))
            .join(CollectionPlacementRow,
                  CollectionPlacementRow.agency_id == CollectionAgencyRow.id)
            .join(LedgerEntryRow, LedgerEntryRow.patient_id == CollectionPlacementRow.patient_id)
            .where(CollectionPlacementRow.status == PlacementStatus.PLACED.value)
            .group_by(CollectionAgencyRow.code)):
        sums[code] += to_money(amount) if amount is not None else ZERO
    return dict(sums)


# -- the agency's file ----------------------------------------------------------------------

EXPORT_COLUMNS = ("placement_id", "account_number", "guarantor_last_name",
                  "guarantor_first_name", "address_line1", "address_line2", "city", "state",
                  "postal_code", "phone", "balance", "placed_on", "last_payment_date",
                  "first_service_date", "last_service_date")


@dataclass(frozen=True)
class AgencyExport:
    content: str
    placements: int
    total: Decimal


def agency_export(work: UnitOfWork, agency_code: str, *, resend: bool = False,
                  on: date | None = None) -> AgencyExport:
    """The CSV file for an agency: its open placements not sent yet (``resend``: all of its
    open placements), each marked sent. PHI: the caller writes it owner-only, atomically,
    after the transaction commits (:func:`medbill_core.privatefiles.publish_after`)."""
    work.require(Action.COLLECTIONS_PLACE)
    agency = _agency_row(work, agency_code)
    query = (select(CollectionPlacementRow).where(
        CollectionPlacementRow.agency_id == agency.id,
        CollectionPlacementRow.status == PlacementStatus.PLACED.value)
        .order_by(CollectionPlacementRow.id))
    if not resend:
        query = query.where(CollectionPlacementRow.exported_on.is_(None))
    rows = list(work.session.scalars(query))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    guarantors = GuarantorService(work.session, actor=work.actor)
    total = ZERO
    day = on or date.today()
    for row in rows:
        patient = work.patients.get(row.patient_id)
        guarantor = guarantors.responsible_for(patient)
        address = guarantor.address
        balance = work.ledger.patient_balance(row.patient_id).agency
        last_payment = work.session.scalar(select(func.max(PaymentRow.received_on)).where(
            PaymentRow.patient_id == row.patient_id, PaymentRow.reversed_on.is_(None)))
        first, last = work.session.execute(
            select(func.min(ClaimRow.service_date_from), func.max(ClaimRow.service_date_to))
            .join(LedgerEntryRow, LedgerEntryRow.claim_id == ClaimRow.id)
            .where(LedgerEntryRow.posting_id.in_(_placement_postings(work, row.id)))).one()
        writer.writerow([
            row.id, patient.account_number, guarantor.last_name, guarantor.first_name,
            address.line1 if address else "", (address.line2 or "") if address else "",
            address.city if address else "", address.state if address else "",
            address.postal_code if address else "", guarantor.phone or "", str(balance),
            row.placed_on.isoformat(), last_payment.isoformat() if last_payment else "",
            first.isoformat() if first else "", last.isoformat() if last else ""])
        total += balance
        row.exported_on = day
    audit.record(work.session, actor=work.actor, action="collections.export",
                 entity_type="agency", entity_id=agency.id,
                 details={"placements": [row.id for row in rows], "total": str(total)})
    return AgencyExport(out.getvalue(), len(rows), total)


def _placement_postings(work: UnitOfWork, placement_id: int) -> list[int]:
    from medbill_core.storage.schema import PostingRow

    return list(work.session.scalars(select(PostingRow.id).where(
        PostingRow.posting_key == f"agency:placement:{placement_id}")))
