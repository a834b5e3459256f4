"""Appeals of denied claims: open, send, decide, withdraw; the appeal letter.

An appeal follows one claim the payer denied (state ``denied``) or paid in part
(``partially_paid``). It moves ``open`` -> ``sent`` -> ``won`` or ``lost``; an open or sent
appeal can be ``withdrawn``. A claim has at most one appeal in progress (open or sent), and
while it is, the claim's denials are not decided otherwise (:mod:`.denials`).

* **sent on**: never before the day the appeal was opened; after today only confirmed
  (:data:`~medbill_core.services.date_rules.APPEAL_SENT`).

* **level** (1-3): by default one more than the highest level of the claim's decided (won
  or lost) appeals, else 1; a withdrawn appeal does not use up its level. A level given
  explicitly must be above the levels already decided.
* **denial codes**: the claim's standing denial, as ``GROUP-CARC``: the adjustments of the
  payer's latest answer (the newest adjudication row of the claim that is not a reversal)
  that reduced the payment and were not passed to the patient, in the 835's order, each once
  (:func:`~medbill_core.services.posting_rules.denial_codes`, the one rule).
* **deadline**: that answer's date (its ``paid_date``) + the payer's ``appeal_days``; none
  when the claim has no answer on file or its payer is no longer configured
  (:func:`appeal_deadline`, also used by ``denials list`` and ``ar followup``).
* opening an appeal marks the claim's denial work items (:mod:`.denials`) ``appealed``.

Every change is audited in the same transaction; the audit details hold ids, the level,
status and codes, never the reason or note text. Nothing here touches the ledger: a won
appeal's money arrives with a later 835 and is posted as usual.

The appeal letter names the patient and the member ID (the payer needs them): it is PHI,
to be written only to an owner-only file (:func:`medbill_core.privatefiles.write_private`),
never logged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select

from medbill_core import audit
from medbill_core.app import UnitOfWork
from medbill_core.codesets.explain import explain_adjustment
from medbill_core.domain import ClaimState, ClaimStatusCode
from medbill_core.domain.base import saved_id
from medbill_core.errors import NotFound, ValidationFailed
from medbill_core.money import ZERO, to_money
from medbill_core.permissions import Action
from medbill_core.services.date_rules import APPEAL_SENT, check_date
from medbill_core.services.practices import practice_profile
from medbill_core.services.remittance import latest_answer
from medbill_core.storage.schema import AppealRow, ClaimAdjudicationRow, ClaimRow, local_day

MAX_LEVEL = 3
MAX_TEXT = 2000
#: the claim states an appeal can be opened in
APPEALABLE = (ClaimState.DENIED, ClaimState.PARTIALLY_PAID)
_CHUNK = 500


class AppealStatus(StrEnum):
    OPEN = "open"
    SENT = "sent"
    WON = "won"
    LOST = "lost"
    WITHDRAWN = "withdrawn"


#: an appeal in progress: at most one per claim
IN_PROGRESS = (AppealStatus.OPEN, AppealStatus.SENT)


@dataclass(frozen=True)
class Appeal:
    id: int
    claim_id: int
    claim_number: str
    payer_key: str | None
    level: int
    status: AppealStatus
    denial_codes: tuple[str, ...]
    deadline: date | None
    opened_on: date
    opened_by: str
    sent_on: date | None
    decided_on: date | None

    def days_left(self, as_of: date | None = None) -> int | None:
        if self.deadline is None:
            return None
        return (self.deadline - (as_of or date.today())).days

    def as_json(self, as_of: date | None = None) -> dict[str, Any]:
        """Without the reason and outcome note (free text, which may hold PHI)."""
        return {"id": self.id, "claim_id": self.claim_id, "claim_number": self.claim_number,
                "payer": self.payer_key, "level": self.level, "status": self.status.value,
                "denial_codes": list(self.denial_codes),
                # each denial code in words, in the same order
                "denial_meanings": [explain_adjustment(code) for code in self.denial_codes],
                "deadline": self.deadline.isoformat() if self.deadline else None,
                "days_left": self.days_left(as_of), "opened_on": self.opened_on.isoformat(),
                "opened_by": self.opened_by,
                "sent_on": self.sent_on.isoformat() if self.sent_on else None,
                "decided_on": self.decided_on.isoformat() if self.decided_on else None}


def _view(row: AppealRow, claim: ClaimRow) -> Appeal:
    return Appeal(row.id, row.claim_id, claim.claim_number, claim.payer_key, row.level,
                  AppealStatus(row.status), tuple(row.denial_codes or ()), row.deadline,
                  local_day(row.opened_at), row.opened_by, row.sent_on, row.decided_on)


def _text(record: str, name: str, value: str) -> str:
    value = value.strip()
    if not value:
        raise ValidationFailed(record, [(name, "is required")])
    if len(value) > MAX_TEXT:
        raise ValidationFailed(record, [(name, f"is longer than {MAX_TEXT} characters")])
    return value


def appeal_deadline(work: UnitOfWork, claim_id: int, payer_key: str | None) -> date | None:
    """The last day to appeal the claim's denial: the date of the payer's latest answer that is
    not a reversal (the 835's date) + the payer's ``appeal_days``; ``None`` when no answer is
    on file or the payer is not configured. The one rule for ``appeals``, ``denials`` and
    ``ar followup``."""
    answer = latest_answer(work, claim_id)
    payer = work.app.config.payers.get(payer_key or "")
    if answer is None or payer is None:
        return None
    return answer.paid_date + timedelta(days=payer.appeal_days)


def appeal_deadlines(work: UnitOfWork,
                     claims: Sequence[tuple[int, str | None]]) -> dict[int, date | None]:
    """:func:`appeal_deadline` of many claims (claim id, payer key): the payers' latest answers
    read a chunk of claims at a time, not one query per claim."""
    latest: dict[int, date] = {}
    ids = sorted({claim_id for claim_id, _payer in claims})
    for start in range(0, len(ids), _CHUNK):
        for claim_id, paid_date in work.session.execute(
                select(ClaimAdjudicationRow.claim_id, ClaimAdjudicationRow.paid_date)
                .where(ClaimAdjudicationRow.claim_id.in_(ids[start:start + _CHUNK]),
                       ClaimAdjudicationRow.claim_status != ClaimStatusCode.REVERSAL.value)
                .order_by(ClaimAdjudicationRow.id)):
            latest[claim_id] = paid_date  # the latest answer (highest id) wins
    result: dict[int, date | None] = {}
    for claim_id, payer_key in claims:
        payer = work.app.config.payers.get(payer_key or "")
        answered = latest.get(claim_id)
        result[claim_id] = None if answered is None or payer is None \
            else answered + timedelta(days=payer.appeal_days)
    return result


def _claim_row(work: UnitOfWork, claim_id: int) -> ClaimRow:
    claim = work.session.get(ClaimRow, claim_id)
    if claim is None:
        raise NotFound("claim", claim_id)
    return claim


def _appeal_row(work: UnitOfWork, appeal_id: int) -> AppealRow:
    row = work.session.get(AppealRow, appeal_id)
    if row is None:
        raise NotFound("appeal", appeal_id)
    return row


def open_appeal(work: UnitOfWork, claim_id: int, reason: str,
                level: int | None = None) -> Appeal:
    """Open an appeal of the claim's denial (rules: the module docstring).

    :raises ValidationFailed: the claim is not denied or partially paid, already has an
        appeal in progress, the level is out of range or used, the reason empty or too long.
    """
    work.require(Action.APPEALS_WRITE)
    record = f"claim {claim_id}"
    claim = _claim_row(work, claim_id)
    if claim.state not in {state.value for state in APPEALABLE}:
        raise ValidationFailed(record, [("state", f"is {claim.state}; only denied or "
                                                  "partially paid claims can be appealed")])
    reason = _text(record, "reason", reason)
    earlier = list(work.session.scalars(select(AppealRow).where(AppealRow.claim_id == claim_id)))
    busy = [row for row in earlier if row.status in {s.value for s in IN_PROGRESS}]
    if busy:
        raise ValidationFailed(record, [("appeal", f"appeal {busy[0].id} is already "
                                                   f"{busy[0].status}")])
    decided = max((row.level for row in earlier
                   if row.status in (AppealStatus.WON.value, AppealStatus.LOST.value)), default=0)
    if level is None:
        level = decided + 1
        if level > MAX_LEVEL:
            raise ValidationFailed(record, [("level", f"all {MAX_LEVEL} appeal levels are "
                                                      "used")])
    elif not 1 <= level <= MAX_LEVEL:
        raise ValidationFailed(record, [("level", f"must be 1 to {MAX_LEVEL}")])
    elif level <= decided:
        raise ValidationFailed(record, [("level", f"level {decided} was already decided; "
                                                  f"the next is {decided + 1}")])
    answer = latest_answer(work, claim_id)
    deadline = appeal_deadline(work, claim_id, claim.payer_key)
    codes = answer.denial_codes if answer is not None else ()
    row = AppealRow(claim_id=claim_id, level=level, status=AppealStatus.OPEN.value,
                    reason=reason, denial_codes=list(codes), deadline=deadline,
                    opened_by=work.actor)
    work.session.add(row)
    work.session.flush()
    from medbill_core.services.denials import mark_appealed

    mark_appealed(work, claim_id)  # its denial work items now wait for the payer's answer
    audit.record(work.session, actor=work.actor, action="appeal.open", entity_type="appeal",
                 entity_id=row.id, details={
                     "claim_id": claim_id, "level": level, "denial_codes": list(codes),
                     "deadline": deadline.isoformat() if deadline else None})
    return _view(row, claim)


def _movable(work: UnitOfWork, appeal_id: int, allowed: Sequence[AppealStatus],
             target: AppealStatus) -> AppealRow:
    """The appeal, when its status may become ``target`` (nothing changed yet)."""
    row = _appeal_row(work, appeal_id)
    if row.status not in {status.value for status in allowed}:
        raise ValidationFailed(f"appeal {appeal_id}", [(
            "status", f"is {row.status}; cannot become {target.value} (only from "
                      + " or ".join(status.value for status in allowed) + ")")])
    return row


def _move(work: UnitOfWork, appeal_id: int, allowed: Sequence[AppealStatus],
          target: AppealStatus) -> AppealRow:
    row = _movable(work, appeal_id, allowed, target)
    row.status = target.value
    return row


def mark_sent(work: UnitOfWork, appeal_id: int, on: date | None = None, *,
              confirmed_date: bool = False) -> Appeal:
    """The appeal went to the payer on ``on`` (default today): never before the day it was
    opened (its letter did not exist yet), and a day ahead of today only confirmed."""
    work.require(Action.APPEALS_WRITE)
    record = f"appeal {appeal_id}"
    row = _movable(work, appeal_id, (AppealStatus.OPEN,), AppealStatus.SENT)
    if on is not None:
        opened = local_day(row.opened_at)
        if on < opened:  # firm: no confirmation makes it true
            raise ValidationFailed(record, [(
                "on", f"is before the appeal was opened ({opened.isoformat()}); an appeal "
                      "cannot be sent before it is opened")])
        check_date(on, APPEAL_SENT, record=record, field="on", confirmed=confirmed_date)
    row.status = AppealStatus.SENT.value
    row.sent_on = on or date.today()
    row.sent_by = work.actor
    audit.record(work.session, actor=work.actor, action="appeal.sent", entity_type="appeal",
                 entity_id=row.id, details={"claim_id": row.claim_id,
                                            "sent_on": row.sent_on.isoformat()})
    return _view(row, _claim_row(work, row.claim_id))


def record_outcome(work: UnitOfWork, appeal_id: int, won: bool, note: str,
                   on: date | None = None) -> Appeal:
    """The payer decided the appeal (``on``, default today): never before the day it was
    sent (the payer had nothing to decide yet). No ledger change: the money of a won appeal
    comes with the payer's next 835."""
    work.require(Action.APPEALS_WRITE)
    record = f"appeal {appeal_id}"
    target = AppealStatus.WON if won else AppealStatus.LOST
    note = _text(record, "note", note)
    row = _movable(work, appeal_id, IN_PROGRESS, target)
    decided = on or date.today()
    if row.sent_on is not None and decided < row.sent_on:  # firm, as sent before opened
        raise ValidationFailed(record, [(
            "on" if on is not None else "decided_on",
            f"would be {decided.isoformat()}{'' if on is not None else ' (today)'}, before "
            f"the appeal was sent ({row.sent_on.isoformat()}); a decision cannot be dated "
            "before the appeal was sent")])
    row.status = target.value
    row.decided_on = decided
    row.decided_by = work.actor
    row.outcome_note = note
    audit.record(work.session, actor=work.actor, action="appeal.outcome", entity_type="appeal",
                 entity_id=row.id, details={"claim_id": row.claim_id, "status": target.value,
                                            "level": row.level})
    return _view(row, _claim_row(work, row.claim_id))


def withdraw(work: UnitOfWork, appeal_id: int, note: str | None = None) -> Appeal:
    """The practice gave the appeal up (it does not use up its level)."""
    work.require(Action.APPEALS_WRITE)
    if note is not None:
        note = _text(f"appeal {appeal_id}", "note", note)
    row = _move(work, appeal_id, IN_PROGRESS, AppealStatus.WITHDRAWN)
    row.decided_on = date.today()
    row.decided_by = work.actor
    row.outcome_note = note
    audit.record(work.session, actor=work.actor, action="appeal.withdraw",
                 entity_type="appeal", entity_id=row.id, details={"claim_id": row.claim_id})
    return _view(row, _claim_row(work, row.claim_id))


def get_appeal(work: UnitOfWork, appeal_id: int) -> Appeal:
    work.require(Action.APPEALS_READ)
    row = _appeal_row(work, appeal_id)
    return _view(row, _claim_row(work, row.claim_id))


def list_appeals(work: UnitOfWork, status: AppealStatus | str | None = None) -> list[Appeal]:
    """Appeals (of one status, if given), nearest deadline first (none last), then by id."""
    work.require(Action.APPEALS_READ)
    query = select(AppealRow, ClaimRow).join(ClaimRow, ClaimRow.id == AppealRow.claim_id)
    if status is not None:
        query = query.where(AppealRow.status == AppealStatus(status).value)
    appeals = [_view(row, claim) for row, claim in work.session.execute(query).all()]
    appeals.sort(key=lambda a: (a.deadline is None, a.deadline or date.min, a.id))
    return appeals


def list_appeals_of(work: UnitOfWork, claim_id: int) -> list[Appeal]:
    """Every appeal of one claim, by level (the claim page)."""
    work.require(Action.APPEALS_READ)
    query = (select(AppealRow, ClaimRow).join(ClaimRow, ClaimRow.id == AppealRow.claim_id)
             .where(AppealRow.claim_id == claim_id).order_by(AppealRow.level, AppealRow.id))
    return [_view(row, claim) for row, claim in work.session.execute(query).all()]


def appeals_after(work: UnitOfWork, *, after_id: int | None, limit: int,
                  status: AppealStatus | None = None,
                  deadline_before: date | None = None) -> list[Appeal]:
    """A keyset page of appeals by id (the API's list): at most ``limit`` after ``after_id``,
    of one status, with a deadline before a day (appeals without one left out then)."""
    query = (select(AppealRow, ClaimRow).join(ClaimRow, ClaimRow.id == AppealRow.claim_id)
             .order_by(AppealRow.id).limit(limit))
    if after_id is not None:
        query = query.where(AppealRow.id > after_id)
    if status is not None:
        query = query.where(AppealRow.status == status.value)
    if deadline_before is not None:
        query = query.where(AppealRow.deadline < deadline_before)
    return [_view(row, claim) for row, claim in work.session.execute(query).all()]


def pending_appeals(work: UnitOfWork, claim_ids: Sequence[int]) -> dict[int, Appeal]:
    """Claim id -> its appeal in progress (open or sent), for the claims that have one."""
    result: dict[int, Appeal] = {}
    for start in range(0, len(claim_ids), _CHUNK):
        for row, claim in work.session.execute(
                select(AppealRow, ClaimRow).join(ClaimRow, ClaimRow.id == AppealRow.claim_id)
                .where(AppealRow.claim_id.in_(claim_ids[start:start + _CHUNK]),
                       AppealRow.status.in_([s.value for s in IN_PROGRESS]))):
            result[row.claim_id] = _view(row, claim)
    return result


# -- the appeal letter -------------------------------------------------------------------------

def _carc_description(code: str, on: date) -> str:
    from medbill_core.codesets import default_codesets

    _group, _, carc = code.partition("-")
    verdict = default_codesets().carc(carc, on)
    if verdict.info is None or verdict.info.format_only:
        return "(description not in the loaded CARC list)"
    return verdict.info.description


def appeal_letter(work: UnitOfWork, appeal_id: int, *, today: date | None = None) -> str:
    """The appeal letter, plain text, addressed to the payer.

    It holds PHI (the patient's name and member ID): write it only with
    :func:`~medbill_core.privatefiles.write_private`, never log it. Producing it is audited
    (``appeal.letter``).
    """
    work.require(Action.APPEALS_READ)
    today = today or date.today()
    row = _appeal_row(work, appeal_id)
    claim = work.claims.get(row.claim_id)
    practice = practice_profile(work)
    payer = work.app.config.payers.get(claim.payer_key or "")
    patient = work.patients.get(claim.patient_id)
    member_id = work.patients.coverage(claim.coverage_id).member_id \
        if claim.coverage_id is not None else None
    paid = work.session.scalar(select(func.sum(ClaimAdjudicationRow.paid))
                               .where(ClaimAdjudicationRow.claim_id == claim.id))
    paid_total = to_money(paid) if paid is not None else ZERO
    answer = latest_answer(work, saved_id(claim))
    answered_on = answer.paid_date if answer is not None else today

    def address_lines(address: Any) -> list[str]:
        lines = [address.line1]
        if address.line2:
            lines.append(address.line2)
        lines.append(f"{address.city}, {address.state} {address.postal_code}")
        return lines

    patient_name = " ".join(part for part in (patient.first_name, patient.middle_name,
                                              patient.last_name) if part)
    service = claim.service_date_from.isoformat()
    if claim.service_date_to != claim.service_date_from:
        service += f" to {claim.service_date_to.isoformat()}"
    out = [practice.name, f"NPI {practice.npi}", *address_lines(practice.address)]
    if practice.phone:
        out.append(f"Phone {practice.phone}")
    out += ["", today.isoformat(), ""]
    if payer is not None:
        out += [payer.name, "Appeals Department"]
        if payer.address is not None:
            out += address_lines(payer.address)
        out.append(f"Payer ID {payer.payer_id}")
    else:
        out += [claim.payer_key or "(payer)", "Appeals Department"]
    out += [
        "",
        f"Re: Request for reconsideration (level {row.level} appeal)",
        f"Patient: {patient_name}",
        f"Member ID: {member_id or '(none on file)'}",
        f"Claim number: {claim.claim_number}",
        f"Payer claim number: {claim.payer_claim_number or '(not assigned)'}",
        f"Dates of service: {service}",
        f"Billed amount: {claim.total_charge}",
        f"Paid amount: {paid_total}",
        "",
        "To whom it may concern:",
        "",
        f"We request a level {row.level} review of your decision on the claim above"
        + (f", dated {answer.paid_date.isoformat()}." if answer is not None else "."),
    ]
    if row.denial_codes:
        out += ["", "Denial reasons as reported on the remittance:"]
        out += [f"  {code}: {_carc_description(code, answered_on)}" for code in row.denial_codes]
    out += ["", "Reason for this appeal:", row.reason, "",
            "Please reprocess the claim accordingly. Supporting documentation is available on "
            "request.", "", "Sincerely,", "", practice.contact_name or practice.name,
            f"{practice.name} (NPI {practice.npi})", ""]
    audit.record(work.session, actor=work.actor, action="appeal.letter", entity_type="appeal",
                 entity_id=row.id, details={"claim_id": row.claim_id})
    return "\n".join(out)
