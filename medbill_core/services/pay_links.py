"""Pay links: a short code on a statement that opens the patient pay page (``/pay``).

A link belongs to a practice and to whoever pays: a guarantor's family, or a patient who is
their own guarantor (the common case). It may name the statement it was printed on.

* **The code** is 12 characters of an alphabet without look-alikes (no 0/O, 1/I/L, U),
  random from :mod:`secrets` (30**12: about 59 bits), printed in groups of four
  (``K7QM-4XPD-R2WA``) so a patient with paper only can type it. Only its SHA-256 is stored,
  and a link is found by that hash: the code is shown once, when issued, and never logged
  or audited.
* **Expiry**: ``[pay_links] expire_days`` (default 60) after issue. A newer link for the
  same family does **not** end older ones: each paper statement in a drawer keeps working
  until its own expiry (every link shows today's balance, never the statement's), and staff
  revoke a link that must stop (a statement sent to a wrong address).
* **Statements**: a statement run prints a new link on each statement
  (:func:`print_on_statement`, then :func:`attach_statement` once the statement is
  recorded) when the practice takes card payments.

What a patient does with a link (its visits, the date-of-birth check and its locks, paying,
plans) is :mod:`medbill_core.services.pay_visits`.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update

from medbill_core import audit
from medbill_core.domain import Statement
from medbill_core.errors import MedbillError, NotFound, ValidationFailed
from medbill_core.permissions import Action
from medbill_core.storage.schema import (
    GuarantorRow,
    PatientRow,
    PayLinkRow,
    StatementRow,
    as_utc,
    utcnow,
)

if TYPE_CHECKING:
    from medbill_core.app import UnitOfWork

#: The code's characters: digits and capitals a person cannot mistake for one another.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 12
#: Where the page is, under ``[pay_links] public_url``.
PAGE_PATH = "/pay"


class LinkProblem(StrEnum):
    """Why a code or a visit cannot be used, in words a patient reads on the page."""

    UNKNOWN = "unknown"
    EXPIRED = "expired"
    REVOKED = "revoked"
    SESSION = "session"


class PayLinkUnusable(MedbillError):
    """A code that names no link, a link expired or revoked, or a visit that ended."""

    def __init__(self, problem: LinkProblem) -> None:
        super().__init__(f"pay link: {problem.value}")
        self.problem = problem


# -- codes -------------------------------------------------------------------------------------

def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


_SEPARATORS = re.compile(r"[\s\-.]+")


def normalize_code(text: str) -> str | None:
    """What a patient typed or scanned, as the code: case and separators ignored; ``None``
    when it cannot be a code (wrong length or a character outside the alphabet)."""
    code = _SEPARATORS.sub("", text).upper()
    if len(code) != CODE_LENGTH or any(char not in ALPHABET for char in code):
        return None
    return code


def format_code(code: str) -> str:
    """``K7QM4XPDR2WA`` -> ``K7QM-4XPD-R2WA`` (as printed)."""
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def code_hash(code: str) -> str:
    return hashlib.sha256(f"medbill-pay-link:{code}".encode("ascii")).hexdigest()


def link_actor(link_id: int) -> str:
    """The audit trail's actor for what a patient does through a link."""
    return f"pay-link:{link_id}"


# -- staff side ------------------------------------------------------------------------------

@dataclass(frozen=True)
class IssuedLink:
    """A new link: ``url`` and ``code`` are shown once (on the statement, to the staff
    member); only the code's hash is kept."""

    url: str
    code: str
    expires_at: datetime
    id: int = 0

    @property
    def printed_code(self) -> str:
        return format_code(self.code)


class LinkStatus(StrEnum):
    ACTIVE = "active"
    LOCKED = "locked"
    EXPIRED = "expired"
    REVOKED = "revoked"


@dataclass(frozen=True)
class PayLinkView:
    """A link as staff see it: ids, dates, its state; never the code."""

    id: int
    guarantor_id: int | None
    patient_id: int | None
    statement_id: int | None
    status: LinkStatus
    expires_at: datetime
    created_at: datetime
    created_by: str
    failed_attempts: int
    locks: int
    locked_until: datetime | None
    last_opened_at: datetime | None
    revoked_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        def moment(value: datetime | None) -> str | None:
            return as_utc(value).isoformat() if value is not None else None

        return {"id": self.id, "guarantor_id": self.guarantor_id,
                "patient_id": self.patient_id, "statement_id": self.statement_id,
                "status": self.status.value, "expires_at": moment(self.expires_at),
                "created_at": moment(self.created_at), "created_by": self.created_by,
                "failed_attempts": self.failed_attempts, "locks": self.locks,
                "locked_until": moment(self.locked_until),
                "last_opened_at": moment(self.last_opened_at),
                "revoked_at": moment(self.revoked_at)}


def _status(row: PayLinkRow, now: datetime) -> LinkStatus:
    if row.revoked_at is not None:
        return LinkStatus.REVOKED
    if as_utc(row.expires_at) <= now:
        return LinkStatus.EXPIRED
    if row.locked_until is not None and as_utc(row.locked_until) > now:
        return LinkStatus.LOCKED
    return LinkStatus.ACTIVE


def _view(row: PayLinkRow, now: datetime | None = None) -> PayLinkView:
    return PayLinkView(row.id, row.guarantor_id, row.patient_id, row.statement_id,
                       _status(row, now or utcnow()), row.expires_at, row.created_at,
                       row.created_by, row.failed_attempts, row.locks, row.locked_until,
                       row.last_opened_at, row.revoked_at)


def _owner_of_statement(work: UnitOfWork, statement_id: int) -> tuple[int | None, int | None]:
    """(guarantor id, patient id) a statement was addressed to."""
    row = work.session.get(StatementRow, statement_id)
    if row is None:
        raise NotFound("statement", statement_id)
    key = row.guarantor_key or f"P{row.patient_id}"
    if key.startswith("G") and key[1:].isdigit():
        return int(key[1:]), None
    return None, row.patient_id


def issue_link(work: UnitOfWork, *, guarantor_id: int | None = None,
               statement_id: int | None = None, patient_id: int | None = None) -> IssuedLink:
    """A new link for a guarantor's family, or for a patient who is their own guarantor
    (``patient_id``), or for whoever a statement was addressed to (``statement_id`` alone);
    with ``statement_id`` it is that statement's link. Older links stay usable (see the
    module's documentation).

    :raises NotFound: no such guarantor, patient or statement (in this practice).
    :raises ValidationFailed: neither or both of guarantor and patient, a patient who has a
        guarantor (the family's link is the guarantor's), a statement of someone else.
    """
    work.require(Action.PAY_LINKS_ISSUE)
    record = "pay link"
    if statement_id is not None:
        owner = _owner_of_statement(work, statement_id)
        if guarantor_id is None and patient_id is None:
            guarantor_id, patient_id = owner
        elif (guarantor_id, patient_id) != owner:
            raise ValidationFailed(record, [("statement", "was addressed to someone else")])
    if (guarantor_id is None) == (patient_id is None):
        raise ValidationFailed(record, [("guarantor", "name a guarantor or a patient, one")])
    _check_owners(work, [(guarantor_id, patient_id)])
    settings = work.app.config.pay_links
    code = new_code()
    expires_at = utcnow() + timedelta(days=settings.expire_days)
    row = PayLinkRow(code_hash=code_hash(code), guarantor_id=guarantor_id,
                     patient_id=patient_id, statement_id=statement_id, expires_at=expires_at,
                     created_by=work.actor, failed_attempts=0, locks=0)
    work.session.add(row)
    work.session.flush()
    audit.record(work.session, actor=work.actor, action="pay_link.issue",
                 entity_type="pay_link", entity_id=row.id,
                 details={"guarantor_id": guarantor_id, "patient_id": patient_id,
                          "statement_id": statement_id,
                          "expires_at": expires_at.isoformat()})
    return IssuedLink(url=link_url(settings.public_url, code), code=code,
                      expires_at=expires_at, id=row.id)


#: a code as :func:`link_url` writes it into an address (``?code=K7QM-4XPD-R2WA``)
_CODE_IN_LINK = re.compile(r"(?<=[?&]code=)([%s]{4})-([%s]{4})-([%s]{4})" % ((ALPHABET,) * 3))


def masked_codes(text: str) -> str:
    """``text`` with each pay link's code but its last four characters hidden
    (``?code=****-****-R2WA``): what staff and stored copies of a sent message keep. Staff
    can tell links apart; nobody reading the copy can open the patient's page with it."""
    return _CODE_IN_LINK.sub(lambda found: f"****-****-{found.group(3)}", text)


def link_url(public_url: str, code: str) -> str:
    """The printed address: the code in the query (``medbill serve`` logs no query string,
    and the page moves it into a cookie at once)."""
    return f"{public_url}{PAGE_PATH}?code={format_code(code)}"


def attach_statement(work: UnitOfWork, link_id: int, statement_id: int) -> None:
    """Name the statement a link was printed on (the statement run issues the link before
    the statement's row exists)."""
    row = work.session.get(PayLinkRow, link_id)
    if row is None:
        raise NotFound("pay link", link_id)
    row.statement_id = statement_id


def attach_statements(work: UnitOfWork, pairs: Sequence[tuple[int, int]]) -> None:
    """:func:`attach_statement` for a statement run's group of (link id, statement id), links
    it has just issued in the caller's transaction: one UPDATE (an executemany)."""
    if pairs:
        now = utcnow()
        work.session.execute(update(PayLinkRow), [
            {"id": link_id, "statement_id": statement_id, "updated_at": now}
            for link_id, statement_id in pairs])


def print_on_statement(work: UnitOfWork, statement: Statement,
                       guarantor_key: str) -> tuple[Statement, int | None]:
    """``statement`` with a new link of its guarantor (``G<id>`` or ``P<patient id>``)
    printed on it, and the link's id (to :func:`attach_statement` once the statement is
    recorded); unchanged, and ``None``, when the practice takes no card payments
    (``[medbill] payment_gateway``) or ``[pay_links] on_statements`` is off."""
    config = work.app.config
    if not config.payment_gateway or not config.pay_links.on_statements:
        return statement, None
    owner = int(guarantor_key[1:])
    issued = (issue_link(work, guarantor_id=owner) if guarantor_key.startswith("G")
              else issue_link(work, patient_id=owner))
    return _printed(statement, issued), issued.id


def print_on_statements(work: UnitOfWork, items: Sequence[tuple[Statement, str]]
                        ) -> list[tuple[Statement, int | None]]:
    """:func:`print_on_statement` for a statement run's group of (statement, guarantor key):
    the owners checked by one query of each kind, the links inserted by one flush, their
    audit events added together; the codes drawn in the order of ``items``. Nothing is
    issued when one owner is refused (the caller may then issue one at a time to learn
    which statement it was).

    :raises NotFound: a guarantor or patient that does not exist (in this practice).
    :raises ValidationFailed: a patient key of a patient who has a guarantor.
    """
    config = work.app.config
    if not config.payment_gateway or not config.pay_links.on_statements:
        return [(statement, None) for statement, _ in items]
    work.require(Action.PAY_LINKS_ISSUE)
    owners = [(int(key[1:]), None) if key.startswith("G") else (None, int(key[1:]))
              for _, key in items]
    _check_owners(work, owners)
    settings = work.app.config.pay_links
    codes = [new_code() for _ in owners]
    expires_at = [utcnow() + timedelta(days=settings.expire_days) for _ in owners]
    hashes = [code_hash(code) for code in codes]
    # one INSERT ... RETURNING for the group (the ORM would insert the rows one by one to
    # read each id back); rows come back in no set order: the unique hash says whose
    inserted = {row.code_hash: row for row in work.session.scalars(
        insert(PayLinkRow).returning(PayLinkRow).execution_options(render_nulls=True),
        [{"code_hash": hashed, "guarantor_id": guarantor_id, "patient_id": patient_id,
          "statement_id": None, "expires_at": expires, "created_by": work.actor,
          "failed_attempts": 0, "locks": 0}
         for hashed, expires, (guarantor_id, patient_id) in zip(hashes, expires_at, owners,
                                                                strict=True)])}
    rows = [inserted[hashed] for hashed in hashes]
    audit.record_many(work.session, ({
        "action": "pay_link.issue", "entity_type": "pay_link", "entity_id": row.id,
        "details": {"guarantor_id": row.guarantor_id, "patient_id": row.patient_id,
                    "statement_id": None, "expires_at": row.expires_at.isoformat()}}
        for row in rows), actor=work.actor)
    return [(_printed(statement, IssuedLink(url=link_url(settings.public_url, code),
                                            code=code, expires_at=row.expires_at,
                                            id=row.id)), row.id)
            for (statement, _), code, row in zip(items, codes, rows, strict=True)]


def _check_owners(work: UnitOfWork, owners: Sequence[tuple[int | None, int | None]]) -> None:
    """Each (guarantor id, patient id) names an existing guarantor, or an existing patient who
    is their own guarantor (the family's link is the guarantor's): one query of each kind.

    :raises NotFound: no such guarantor or patient (in this practice).
    :raises ValidationFailed: a patient who has a guarantor.
    """
    guarantor_ids = {g for g, _ in owners if g is not None}
    patient_ids = {p for _, p in owners if p is not None}
    found = set(work.session.scalars(select(GuarantorRow.id).where(
        GuarantorRow.id.in_(guarantor_ids)))) if guarantor_ids else set()
    patients: dict[int, int | None] = dict(work.session.execute(select(
        PatientRow.id, PatientRow.guarantor_id).where(PatientRow.id.in_(patient_ids))
    ).all()) if patient_ids else {}
    for guarantor_id, patient_id in owners:
        if guarantor_id is not None and guarantor_id not in found:
            raise NotFound("guarantor", guarantor_id)
        if patient_id is not None:
            if patient_id not in patients:
                raise NotFound("patient", patient_id)
            if patients[patient_id] is not None:
                raise ValidationFailed("pay link", [("patient", f"has guarantor "
                                                                f"{patients[patient_id]}: "
                                                                "issue the guarantor's link")])


def _printed(statement: Statement, issued: IssuedLink) -> Statement:
    return statement.model_copy(update={"pay_url": issued.url,
                                        "pay_code": issued.printed_code})


def statement_link(work: UnitOfWork, statement_id: int) -> PayLinkView | None:
    """The link printed on a statement (the newest, if several were issued for it)."""
    work.require(Action.PAY_LINKS_READ)
    row = work.session.scalars(select(PayLinkRow).where(PayLinkRow.statement_id == statement_id)
                               .order_by(PayLinkRow.id.desc()).limit(1)).first()
    return _view(row) if row is not None else None


def list_links(work: UnitOfWork, *, guarantor_id: int | None = None,
               patient_id: int | None = None, statement_id: int | None = None,
               limit: int = 100, before_id: int | None = None) -> list[PayLinkView]:
    """The newest links first, of one guarantor, patient or statement, or all (at most
    ``limit``; ``before_id``: those older than that link, the API's keyset pages)."""
    work.require(Action.PAY_LINKS_READ)
    query = select(PayLinkRow).order_by(PayLinkRow.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(PayLinkRow.id < before_id)
    if statement_id is not None:
        query = query.where(PayLinkRow.statement_id == statement_id)
    if guarantor_id is not None:
        query = query.where(PayLinkRow.guarantor_id == guarantor_id)
    if patient_id is not None:
        query = query.where(PayLinkRow.patient_id == patient_id)
    now = utcnow()
    return [_view(row, now) for row in work.session.scalars(query)]


def revoke_link(work: UnitOfWork, link_id: int, reason: str) -> PayLinkView:
    """End a link now (a statement mailed to a wrong address); its open visits end too.

    :raises NotFound: no such link.
    :raises ValidationFailed: no reason, or already revoked.
    """
    work.require(Action.PAY_LINKS_ISSUE)
    record = f"pay link {link_id}"
    row = work.session.get(PayLinkRow, link_id)
    if row is None:
        raise NotFound("pay link", link_id)
    if not reason.strip():
        raise ValidationFailed(record, [("reason", "say why (no patient details)")])
    if row.revoked_at is not None:
        raise ValidationFailed(record, [("status", "is revoked already")])
    row.revoked_at = utcnow()
    row.revoked_by = work.actor
    row.revoke_reason = reason.strip()[:500]
    audit.record(work.session, actor=work.actor, action="pay_link.revoke",
                 entity_type="pay_link", entity_id=row.id, details={})
    return _view(row)


def check_usable(row: PayLinkRow, now: datetime) -> None:
    """Refuse an expired or revoked link.

    :raises PayLinkUnusable: it expired or was revoked.
    """
    status = _status(row, now)
    if status is LinkStatus.REVOKED:
        raise PayLinkUnusable(LinkProblem.REVOKED)
    if status is LinkStatus.EXPIRED:
        raise PayLinkUnusable(LinkProblem.EXPIRED)
