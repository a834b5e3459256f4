"""The patient's side of a pay link (:mod:`medbill_core.services.pay_links`): a visit of the
pay page, the date-of-birth check, the balance, a card payment at the gateway's card page, a
payment plan.

* **A visit** is a :class:`~medbill_core.storage.schema.PayLinkSessionRow`: its random token
  lives in the browser's cookie, its hash here; it lasts :data:`SESSION_MINUTES` and ends with
  its link (expired, revoked) or when the patient leaves (:func:`end_visit`).
* **Opening** needs the date of birth of any patient of the family. Wrong dates are counted
  on the link's row (every worker of every server sees the same count): the fifth locks
  the link for 15 minutes, each later lock twice as long as the one before (capped at a
  day); a right date resets both. The page also throttles each client address.
* **Paying**: all or part of what the family owes (more than 0.00, at most the balance,
  whole cents) at the gateway's own card page (:attr:`GatewayCapability.HOSTED_CHECKOUT`);
  the return reads the payment back (:func:`finish_payment`), posting it once whether the
  gateway's webhook came first or not (the card payments service decides).
* **Plans**: monthly, from 2 months to ``[pay_links] plan_maximum_months``, each month at
  least ``plan_minimum_installment``: one plan per patient of the family who owes.
* **Audit**: opening, each wrong date, each lock, the check passing, a payment or a plan
  started are recorded with the link as the actor (``pay-link:<id>``), never the code.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select

from medbill_core import audit
from medbill_core.domain import Statement
from medbill_core.errors import ValidationFailed
from medbill_core.gateways import GatewayCapability
from medbill_core.money import CENT, ZERO
from medbill_core.money import parse_amount as money_text
from medbill_core.services.card_payments import (
    CardPaymentView,
    balance_owed,
    confirm_card_payment,
    gateway_of,
    start_card_payment,
)
from medbill_core.services.pay_links import (
    PAGE_PATH,
    LinkProblem,
    PayLinkUnusable,
    check_usable,
    code_hash,
    link_actor,
    normalize_code,
)
from medbill_core.services.practices import practice_holding
from medbill_core.storage.schema import (
    PatientRow,
    PayLinkRow,
    PayLinkSessionRow,
    PaymentPlanRow,
    as_utc,
    utcnow,
)

if TYPE_CHECKING:
    from medbill_core.app import Medbill, UnitOfWork

#: Wrong dates of birth that lock a link, and the first lock's length (each next one doubles).
MAX_FAILURES = 5
FIRST_LOCK = timedelta(minutes=15)
LONGEST_LOCK = timedelta(hours=24)
#: How long a visit of the page lasts (paying takes minutes; a shared computer forgets it).
SESSION_MINUTES = 20
#: How long an ended visit's row is kept (a browser coming back late from the card page still
#: finds its visit, and is told it ended) before :func:`purge_ended_visits` deletes it.
KEEP_ENDED_VISITS = timedelta(days=1)
#: Where the gateway's card page sends the browser back, under ``[pay_links] public_url``.
RETURN_PATH = f"{PAGE_PATH}/return"


def _token_hash(token: str) -> str:
    return hashlib.sha256(f"medbill-pay-session:{token}".encode()).hexdigest()


def csrf_token(session_token: str) -> str:
    """The CSRF token of a visit's forms: derived from its cookie's token, so a form posted
    from another site (which cannot read the cookie) cannot carry it."""
    return hmac.new(session_token.encode(), b"pay-page-csrf", hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class OpenedVisit:
    #: the cookie's value: give it to the browser only
    token: str
    link_id: int


def open_visit(medbill: Medbill, code_text: str) -> OpenedVisit:
    """Start a visit of the link a code names (typed or from the printed address).

    :raises PayLinkUnusable: no link has this code, or it expired or was revoked.
    """
    code = normalize_code(code_text)
    if code is None:
        raise PayLinkUnusable(LinkProblem.UNKNOWN)
    hashed = code_hash(code)
    with medbill.unit_of_work(all_practices=True, read_only=True) as work:
        found = work.session.execute(select(PayLinkRow.id, PayLinkRow.practice_id).where(
            PayLinkRow.code_hash == hashed)).first()
    if found is None:
        raise PayLinkUnusable(LinkProblem.UNKNOWN)
    link_id, practice = found
    token = secrets.token_urlsafe(32)
    with medbill.unit_of_work(actor=link_actor(link_id), practice_id=practice) as work:
        row = work.session.get(PayLinkRow, link_id)
        assert row is not None
        now = utcnow()
        check_usable(row, now)
        row.last_opened_at = now
        work.session.add(PayLinkSessionRow(token_hash=_token_hash(token), pay_link_id=row.id,
                                           expires_at=now + timedelta(minutes=SESSION_MINUTES)))
        audit.record(work.session, actor=work.actor, action="pay_link.open",
                     entity_type="pay_link", entity_id=row.id, details={})
        return OpenedVisit(token, row.id)


@dataclass(frozen=True)
class Visit:
    """A visit's state, read from its cookie's token."""

    id: int
    link_id: int
    practice_id: int
    verified: bool
    card_payment_id: int | None
    guarantor_id: int | None
    patient_id: int | None

    @property
    def actor(self) -> str:
        return link_actor(self.link_id)


def visit_of(medbill: Medbill, token: str | None) -> Visit:
    """The visit a cookie names, while it lasts and its link is usable.

    :raises PayLinkUnusable: no such visit, it ended, or its link expired or was revoked.
    """
    if not token:
        raise PayLinkUnusable(LinkProblem.SESSION)
    hashed = _token_hash(token)
    practice = practice_holding(medbill, select(PayLinkSessionRow.practice_id).where(
        PayLinkSessionRow.token_hash == hashed))
    if practice is None:
        raise PayLinkUnusable(LinkProblem.SESSION)
    with medbill.unit_of_work(practice_id=practice, read_only=True, actor="pay-link") as work:
        visit = work.session.scalars(select(PayLinkSessionRow).where(
            PayLinkSessionRow.token_hash == hashed)).one()
        now = utcnow()
        if as_utc(visit.expires_at) <= now:
            raise PayLinkUnusable(LinkProblem.SESSION)
        link = work.session.get(PayLinkRow, visit.pay_link_id)
        assert link is not None
        check_usable(link, now)
        return Visit(visit.id, link.id, practice, visit.verified_at is not None,
                     visit.card_payment_id, link.guarantor_id, link.patient_id)


def end_visit(medbill: Medbill, token: str | None) -> None:
    """The patient left (or the page ended the visit): its cookie opens nothing any more,
    even if it was copied. Nothing happens for a visit that is gone already."""
    try:
        visit = visit_of(medbill, token)
    except PayLinkUnusable:
        return
    with medbill.unit_of_work(actor=visit.actor, practice_id=visit.practice_id) as work:
        row = work.session.get(PayLinkSessionRow, visit.id)
        if row is not None:
            row.expires_at = utcnow()


def purge_ended_visits(medbill: Medbill, *, now: datetime | None = None) -> int:
    """Delete the visits that ended more than :data:`KEEP_ENDED_VISITS` ago (a visit lasts
    minutes; its row only matched a cookie), in every practice; returns how many. What a
    visit did (opened, dates checked, payments started) stays in the audit trail, which
    records the purge too. ``medbill serve`` runs it at start-up."""
    cutoff = (now or utcnow()) - KEEP_ENDED_VISITS
    with medbill.unit_of_work("medbill:serve", all_practices=True) as work:
        result = work.session.execute(delete(PayLinkSessionRow).where(
            PayLinkSessionRow.expires_at < cutoff))
        deleted = int(getattr(result, "rowcount", 0) or 0)
        if deleted:
            audit.record(work.session, actor=work.actor, action="pay_link.visits_purged",
                         entity_type="pay_link_session", entity_id=None,
                         details={"deleted": deleted, "ended_before": cutoff.isoformat()})
        return deleted


def _family(work: UnitOfWork, visit: Visit) -> list[PatientRow]:
    """The patients a link answers for, the guarantor's own record first."""
    if visit.guarantor_id is not None:
        rows = list(work.session.scalars(select(PatientRow).where(
            PatientRow.guarantor_id == visit.guarantor_id).order_by(PatientRow.id)))
        rows.sort(key=lambda row: row.guarantor_relationship != "self")
        return rows
    row = work.session.get(PatientRow, visit.patient_id)
    return [row] if row is not None else []


class CheckOutcome(StrEnum):
    PASSED = "passed"
    WRONG = "wrong"
    LOCKED = "locked"


@dataclass(frozen=True)
class BirthDateCheck:
    outcome: CheckOutcome
    #: wrong dates left before the link locks (after a wrong one)
    attempts_left: int = 0
    locked_until: datetime | None = None


def check_birth_date(medbill: Medbill, token: str, birth_date: date) -> BirthDateCheck:
    """Compare a date of birth with the family's, under a lock on the link's row, and count
    a wrong one there (see the module's documentation).

    :raises PayLinkUnusable: the visit ended, or its link expired or was revoked.
    """
    visit = visit_of(medbill, token)
    with medbill.unit_of_work(actor=visit.actor, practice_id=visit.practice_id) as work:
        link = work.session.scalars(select(PayLinkRow).where(PayLinkRow.id == visit.link_id)
                                    .with_for_update()
                                    .execution_options(populate_existing=True)).one()
        now = utcnow()
        if link.locked_until is not None and as_utc(link.locked_until) > now:
            return BirthDateCheck(CheckOutcome.LOCKED, locked_until=as_utc(link.locked_until))
        if any(patient.birth_date == birth_date for patient in _family(work, visit)):
            link.failed_attempts = 0
            link.locks = 0
            link.locked_until = None
            row = work.session.get(PayLinkSessionRow, visit.id)
            assert row is not None
            row.verified_at = now
            audit.record(work.session, actor=work.actor, action="pay_link.verify",
                         entity_type="pay_link", entity_id=link.id, details={})
            return BirthDateCheck(CheckOutcome.PASSED)
        link.failed_attempts += 1
        audit.record(work.session, actor=work.actor, action="pay_link.check_failed",
                     entity_type="pay_link", entity_id=link.id,
                     details={"attempt": link.failed_attempts})
        if link.failed_attempts < MAX_FAILURES:
            return BirthDateCheck(CheckOutcome.WRONG,
                                  attempts_left=MAX_FAILURES - link.failed_attempts)
        link.locks += 1
        link.failed_attempts = 0
        length = min(FIRST_LOCK * 2 ** (link.locks - 1), LONGEST_LOCK)
        link.locked_until = now + length
        audit.record(work.session, actor=work.actor, action="pay_link.lock",
                     entity_type="pay_link", entity_id=link.id,
                     details={"lock": link.locks, "minutes": int(length.total_seconds() // 60)})
        return BirthDateCheck(CheckOutcome.LOCKED, locked_until=link.locked_until)


def _verified(medbill: Medbill, token: str) -> Visit:
    visit = visit_of(medbill, token)
    if not visit.verified:
        raise PayLinkUnusable(LinkProblem.SESSION)
    return visit


@dataclass(frozen=True)
class PatientBalance:
    """One patient's part of what the page shows: the name as first name and last initial
    only, and the statement's lines (with why the patient owes each)."""

    label: str
    section: Any  # the statement's StatementSection (its lines)
    balance: Decimal


@dataclass(frozen=True)
class Balance:
    patients: list[PatientBalance]
    total_due: Decimal
    practice_name: str
    practice_phone: str | None
    statement: Statement


def short_name(first_name: str, last_name: str) -> str:
    """``Maria Lopez`` -> ``Maria L.``: all of a patient's name the page shows."""
    return f"{first_name} {last_name[:1]}."


def balance_of(medbill: Medbill, token: str) -> Balance:
    """What the family owes today, claim by claim and line by line, as the statement puts
    it (:func:`~medbill_core.services.statements.build_statement`: the same words and the
    same reasons from the payers' answers).

    :raises PayLinkUnusable: the visit ended or its date of birth was not checked.
    """
    from medbill_core.services.statements import build_statement

    visit = _verified(medbill, token)
    with medbill.unit_of_work(actor=visit.actor, practice_id=visit.practice_id,
                              read_only=True) as work:
        family = _family(work, visit)
        ids = [row.id for row in family]
        statement = build_statement(work, ids[0], statement_date=date.today(), cycle="pay-page",
                                    family=ids)
        sections = statement.sections or [_single_section(statement)]
        patients = [PatientBalance(short_name(section.patient.first_name,
                                              section.patient.last_name), section,
                                   section.balance_due) for section in sections]
        practice = statement.practice
        return Balance(patients, max(statement.balance_due, ZERO), practice.name,
                       str(practice.phone) if practice.phone else None, statement)


def _single_section(statement: Statement) -> Any:
    from medbill_core.domain import StatementSection

    return StatementSection(patient=statement.patient, account_number=statement.account_number,
                            lines=statement.lines, balance_due=statement.balance_due)


def parse_amount(text: str, *, most: Decimal) -> Decimal:
    """A typed amount: dollars and at most two decimals, more than 0.00, at most ``most``.

    A patient may type the dollar sign and thousands separators where they belong
    (``$1,234.50``); anything else is read as :func:`medbill_core.money.parse_amount` reads
    an amount (ASCII digits, no exponent), never guessed: ``1,50`` (a decimal comma) or
    ``1,2.50`` is refused, not taken for 150.00 or 12.50.

    :raises ValidationFailed: anything else (the message names the rule, not the input).
    """
    cleaned = text.strip().removeprefix("$").strip()
    record = "payment"
    if "," in cleaned:
        if not _GROUPED_DOLLARS.fullmatch(cleaned):
            raise ValidationFailed(record, [("amount", "enter an amount like 25.00 or "
                                                       "1,234.50 (a comma only between "
                                                       "thousands)")])
        cleaned = cleaned.replace(",", "")
    try:
        amount = money_text(cleaned)
    except ValueError as exc:
        words = "enter dollars and cents (two decimals at most)" if "more than two" \
            in str(exc) else "enter an amount like 25.00"
        raise ValidationFailed(record, [("amount", words)]) from None
    if amount <= ZERO:
        raise ValidationFailed(record, [("amount", "must be more than 0.00")])
    if amount > most:
        raise ValidationFailed(record, [("amount", f"must be at most the {most} you owe")])
    return amount.quantize(CENT)


#: dollars with thousands separators where they belong: 1,234 / 12,345.50
_GROUPED_DOLLARS = re.compile(r"[0-9]{1,3}(,[0-9]{3})+(\.[0-9]{1,2})?")


@dataclass(frozen=True)
class StartedPayment:
    card_payment_id: int
    #: the gateway's card page the browser goes to
    checkout_url: str


def start_payment(medbill: Medbill, token: str, amount_text: str) -> StartedPayment:
    """Start a card payment of ``amount_text`` (all or part of the balance) at the gateway's
    hosted card page; the card is typed there, never here.

    :raises PayLinkUnusable: the visit ended or its date of birth was not checked.
    :raises ValidationFailed: an amount that is not positive, exceeds the balance or has
        fractions of a cent; nothing owed; the gateway has no hosted card page.
    :raises GatewayError: the gateway is unreachable (nothing recorded).
    """
    visit = _verified(medbill, token)
    settings = medbill.config.pay_links
    with medbill.unit_of_work(actor=visit.actor, practice_id=visit.practice_id) as work:
        gateway = gateway_of(work)
        if not gateway.supports(GatewayCapability.HOSTED_CHECKOUT):
            raise ValidationFailed("payment", [("gateway", "the practice's card gateway has "
                                                           "no card page for patients")])
        owed = _payable(work, visit)
        if owed <= ZERO:
            raise ValidationFailed("payment", [("amount", "nothing is owed")])
        amount = parse_amount(amount_text, most=owed)
        started = start_card_payment(work, guarantor_id=visit.guarantor_id,
                                     patient_id=visit.patient_id if visit.guarantor_id is None
                                     else None, amount=amount)
        row = work.session.get(PayLinkSessionRow, visit.id)
        assert row is not None
        row.card_payment_id = started.payment.id
        audit.record(work.session, actor=work.actor, action="pay_link.payment_start",
                     entity_type="pay_link", entity_id=visit.link_id,
                     details={"card_payment_id": started.payment.id, "amount": str(amount)})
        url: str = work.app.hooks.context.call(
            gateway, "checkout_url", started.payment.intent_id,
            client_secret=started.client_secret or "",
            return_url=f"{settings.public_url}{RETURN_PATH}")
        return StartedPayment(started.payment.id, url)


def _payable(work: UnitOfWork, visit: Visit) -> Decimal:
    """What the page lets a patient pay: what the family owes (a credit counts against it)."""
    if visit.guarantor_id is not None:
        return balance_owed(work, guarantor_id=visit.guarantor_id)
    return balance_owed(work, patient_id=visit.patient_id)


def finish_payment(medbill: Medbill, token: str) -> CardPaymentView:
    """The browser came back from the gateway's card page: read the payment back there and
    post it unless its webhook did already (once either way).

    :raises PayLinkUnusable: the visit ended, or started no payment.
    :raises GatewayError: the gateway is unreachable (nothing posted; the webhook will).
    """
    visit = _verified(medbill, token)
    if visit.card_payment_id is None:
        raise PayLinkUnusable(LinkProblem.SESSION)
    with medbill.unit_of_work(actor=visit.actor, practice_id=visit.practice_id) as work:
        return confirm_card_payment(work, visit.card_payment_id)


# -- payment plans -----------------------------------------------------------------------------

@dataclass(frozen=True)
class PlanChoice:
    months: int
    #: each month's installment (the last takes the rounding)
    installment: Decimal


def plan_choices(medbill: Medbill, token: str) -> list[PlanChoice]:
    """The monthly plans the practice allows for this balance: 2 to ``[pay_links]
    plan_maximum_months`` months, each installment at least ``plan_minimum_installment``
    (the family's installments together). Empty: the balance is too small for a plan."""
    visit = _verified(medbill, token)
    with medbill.unit_of_work(actor=visit.actor, practice_id=visit.practice_id,
                              read_only=True) as work:
        return _choices(work, _plan_balances(work, visit))


def _plan_balances(work: UnitOfWork, visit: Visit) -> dict[int, Decimal]:
    return {row.id: owed for row in _family(work, visit)
            if (owed := work.ledger.patient_balance(row.id).patient) > ZERO}


def _choices(work: UnitOfWork, balances: dict[int, Decimal]) -> list[PlanChoice]:
    settings = work.app.config.pay_links
    total = sum(balances.values(), ZERO)
    smallest = min(balances.values(), default=ZERO)
    choices = []
    for months in range(2, settings.plan_maximum_months + 1):
        installment = (total / months).quantize(CENT, rounding="ROUND_DOWN")
        # each patient's own plan needs a cent an installment at least
        if installment < settings.plan_minimum_installment or smallest < CENT * months:
            break
        choices.append(PlanChoice(months, installment))
    return choices


def enrol_plan(medbill: Medbill, token: str, months: int) -> list[int]:
    """Put the family's balance on a monthly plan of ``months`` installments from today (one
    plan per patient who owes, on the same days). Returns the plans' ids.

    :raises ValidationFailed: ``months`` is not one the practice allows for this balance, or
        a patient of the family is on a plan already.
    """
    from medbill_core.services.payments import new_plan

    visit = _verified(medbill, token)
    with medbill.unit_of_work(actor=visit.actor, practice_id=visit.practice_id) as work:
        balances = _plan_balances(work, visit)
        if months not in {choice.months for choice in _choices(work, balances)}:
            raise ValidationFailed("payment plan", [("months", "choose one of the plans "
                                                               "offered")])
        active = work.session.scalar(select(PaymentPlanRow.id).where(
            PaymentPlanRow.patient_id.in_(list(balances)), PaymentPlanRow.status == "active"))
        if active is not None:
            raise ValidationFailed("payment plan", [("months", "a plan is in place already: "
                                                               "call the practice to change "
                                                               "it")])
        ids = []
        for patient_id, owed in balances.items():
            plan = new_plan(work, patient_id, owed, months, date.today())
            assert plan.id is not None
            ids.append(plan.id)
        audit.record(work.session, actor=work.actor, action="pay_link.plan",
                     entity_type="pay_link", entity_id=visit.link_id,
                     details={"plan_ids": ids, "months": months})
        return ids
