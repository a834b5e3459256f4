"""Text messages and e-mails to the people statements are addressed to, through the
installation's notifier (:mod:`medbill_core.notifiers`), from an outbox.

**What is said.** Every message is built from a fixed template (:data:`TEMPLATES`) whose only
variables are the practice's name and a link (a statement's pay page): no patient name, no
balance, no date of service, nothing a stranger reading the phone's lock screen learns from
but that the practice wrote. The page behind the link asks for the birth date before it
shows anything.

**To whom.** Only to a person who agreed to be reached that way: a contact preference per
statement addressee (``G<guarantor id>``, or ``P<patient id>`` for a patient who pays their own
bills) says ``sms``, ``email`` or ``none`` and how the consent was given; without one, nothing
is sent (the paper statement still goes). The number or address is the one on file when the
message is queued.

**How.** A message is a row of the outbox (:class:`~medbill_core.storage.schema.
NotificationRow`) written in the transaction of the change it tells about
(:func:`statement_ready`): a rolled-back statement run leaves no message behind. Its
``dedupe_key`` is unique, so a statement announced twice is queued once. :func:`deliver_due`
sends what is due, as the webhook outbox does (:mod:`medbill_core.services.webhooks`): rows are
claimed in a short transaction that pushes their ``next_attempt_at`` a lease ahead
(PostgreSQL: ``FOR UPDATE SKIP LOCKED``), so two senders never send one row; a failure is
tried again after 1 min, 5 min, 30 min, 2 h, 6 h and 12 h, then the row is ``dead``; a
provider refusing the recipient (an invalid or opted-out number) makes it ``refused`` at once;
a message whose addressee withdrew consent after it was queued is ``canceled``, not sent.
Every attempt at a row carries the same idempotency key to the provider: a sender killed
between the provider's answer and the row's update sends again after the lease, and the
provider answers with the first message instead of sending a second.
"""

from __future__ import annotations

import re
import string
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sqlalchemy import select, update

from medbill_core import audit
from medbill_core.errors import AdapterNotAvailable, MedbillError, NotFound, ValidationFailed
from medbill_core.notifiers import (
    NotificationChannel,
    Notifier,
    NotifierError,
    OutgoingMessage,
    SentMessage,
)
from medbill_core.permissions import Action
from medbill_core.services.pay_links import IssuedLink, issue_link, masked_codes
from medbill_core.services.practices import practice_profile
from medbill_core.services.webhooks import MAX_ATTEMPTS, retry_delay
from medbill_core.storage.schema import (
    ContactPreferenceRow,
    GuarantorRow,
    NotificationRow,
    PatientRow,
    StatementRow,
    as_utc,
    utcnow,
)

if TYPE_CHECKING:
    from medbill_core.app import Medbill, UnitOfWork

__all__ = [
    "TEMPLATES", "ContactChoice", "ContactPreference", "NotificationStatus",
    "NotificationView", "Outcome", "account_key_of", "addressee_preference",
    "contact_preference", "deliver_due",
    "get_notification", "list_notifications", "render", "send_link",
    "set_contact_preference", "statement_ready", "statements_ready",
]


class ContactChoice(StrEnum):
    """How an addressee agreed to be reached about statements."""

    SMS = "sms"
    EMAIL = "email"
    #: not by text or e-mail (paper only)
    NONE = "none"


class NotificationStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    #: an attempt failed; tried again at ``next_attempt_at``
    FAILED = "failed"
    #: every attempt failed
    DEAD = "dead"
    #: the provider refused the recipient (never tried again)
    REFUSED = "refused"
    #: not sent: the addressee withdrew consent (or chose the other channel) after it was
    #: queued
    CANCELED = "canceled"


@dataclass(frozen=True)
class Template:
    """A message's fixed wording: ``$practice`` and ``$link`` are its only variables."""

    sms: str
    email_subject: str
    email_body: str


#: Every message medbill sends. Their only variables are ``$practice`` (the practice's name)
#: and ``$link``; the wording names no amount, no person and no date (a test checks each).
TEMPLATES: Mapping[str, Template] = {
    "statement_ready": Template(
        sms="$practice: a new billing statement is ready. View it and pay securely at $link",
        email_subject="$practice: your billing statement is ready",
        email_body=("Hello,\n\n$practice has a new billing statement for you. You can view it "
                    "and pay securely at:\n\n$link\n\nFor your privacy, the page asks you to "
                    "confirm a date of birth before it shows anything.\n\n$practice billing "
                    "office\n")),
    "payment_link": Template(
        sms="$practice: view your account and pay securely at $link",
        email_subject="$practice: view your account",
        email_body=("Hello,\n\nAs requested, here is the link to view your account with "
                    "$practice and pay securely:\n\n$link\n\nFor your privacy, the page asks "
                    "you to confirm a date of birth before it shows anything.\n\n$practice "
                    "billing office\n")),
}
#: the variables a template may use
TEMPLATE_VARIABLES = frozenset({"practice", "link"})
#: the longest link accepted (a short link is expected)
LINK_MAX = 300
#: how long a claimed message is kept from other senders
LEASE = timedelta(minutes=2)
#: the most messages a list shows by default
LIST_LIMIT = 100


@dataclass(frozen=True)
class ContactPreference:
    account_key: str
    channel: ContactChoice
    consent: str | None
    consented_at: datetime | None
    recorded_by: str

    def as_json(self) -> dict[str, Any]:
        return {"account": self.account_key, "channel": self.channel.value,
                "consent": self.consent,
                "consented_at": self.consented_at.isoformat() if self.consented_at else None,
                "recorded_by": self.recorded_by}


@dataclass(frozen=True)
class NotificationView:
    """A message as staff see it: the recipient masked (``***-***-1234``), the text whole
    (it holds no PHI)."""

    id: int
    template: str
    account_key: str
    statement_id: int | None
    channel: NotificationChannel
    recipient: str
    subject: str | None
    body: str
    notifier: str
    status: NotificationStatus
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_error: str | None
    provider_id: str | None
    sent_at: datetime | None
    created_at: datetime
    created_by: str

    def as_json(self) -> dict[str, Any]:
        def when(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {"id": self.id, "template": self.template, "account": self.account_key,
                "statement_id": self.statement_id, "channel": self.channel.value,
                "recipient": self.recipient, "subject": self.subject, "body": self.body,
                "notifier": self.notifier, "status": self.status.value,
                "attempts": self.attempts, "next_attempt_at": when(self.next_attempt_at),
                "last_attempt_at": when(self.last_attempt_at), "last_error": self.last_error,
                "provider_id": self.provider_id, "sent_at": when(self.sent_at),
                "created_at": self.created_at.isoformat(), "created_by": self.created_by}


@dataclass(frozen=True)
class Outcome:
    """What one attempt of :func:`deliver_due` came to."""

    notification_id: int
    status: NotificationStatus
    error: str | None


# -- templates -----------------------------------------------------------------------------------

def template_variables(text: str) -> set[str]:
    """The ``$names`` a template text uses."""
    found: set[str] = set()
    for match in string.Template.pattern.finditer(text):
        name = match.group("named") or match.group("braced")
        if name:
            found.add(name)
        elif match.group("invalid") is not None:
            found.add("$")
    return found


def render(template: str, channel: NotificationChannel, *, practice: str,
           link: str) -> tuple[str | None, str]:
    """(subject, body) of ``template`` for ``channel`` (the subject is ``None`` for a text).

    :raises ValidationFailed: no such template.
    """
    wording = TEMPLATES.get(template)
    if wording is None:
        raise ValidationFailed("notification", [("template", f"{template!r} is not one of "
                                                              f"{', '.join(TEMPLATES)}")])
    values = {"practice": practice, "link": link}
    if channel is NotificationChannel.SMS:
        return None, string.Template(wording.sms).substitute(values)
    return (string.Template(wording.email_subject).substitute(values),
            string.Template(wording.email_body).substitute(values))


def check_link(link_url: str) -> str:
    """A link for a message: ``https`` (``http`` to this machine only, for a test server),
    no credentials, no spaces, at most :data:`LINK_MAX` characters.

    :raises ValidationFailed: naming the field ``link_url``.
    """
    text = link_url.strip()
    problem = None
    parts = urlsplit(text)
    if not text or len(text) > LINK_MAX:
        problem = f"must be 1 to {LINK_MAX} characters"
    elif any(character.isspace() for character in text):
        problem = "must not contain spaces"
    elif parts.scheme not in ("https", "http") or not parts.hostname:
        problem = "must be an https:// link"
    elif parts.scheme == "http" and parts.hostname not in ("localhost", "127.0.0.1", "::1"):
        problem = "must be an https:// link (http only to this machine)"
    elif parts.username or parts.password:
        problem = "must not carry a user name or password"
    if problem:
        raise ValidationFailed("notification", [("link_url", problem)])
    return text


# -- contact preferences -------------------------------------------------------------------------

_ACCOUNT_KEY = re.compile(r"^[GP][1-9][0-9]{0,8}$")


def account_key_of(*, guarantor_id: int | None = None, patient_id: int | None = None) -> str:
    """The addressee key of a guarantor (``G12``) or of a patient who pays their own bills
    (``P5``; a patient with a guarantor is reached through the guarantor)."""
    if (guarantor_id is None) == (patient_id is None):
        raise ValidationFailed("contact", [("account", "name a guarantor or a patient, one")])
    return f"G{guarantor_id}" if guarantor_id is not None else f"P{patient_id}"


def _contact_of(work: UnitOfWork, account_key: str) -> tuple[str | None, str | None]:
    """(phone, e-mail) on file for an addressee.

    :raises ValidationFailed: not an addressee key; :raises NotFound: no such record.
    """
    if not _ACCOUNT_KEY.match(account_key):
        raise ValidationFailed("contact", [("account", "must be G<guarantor id> or "
                                                       "P<patient id>")])
    number = int(account_key[1:])
    if account_key.startswith("G"):
        guarantor = work.session.get(GuarantorRow, number)
        if guarantor is None:
            raise NotFound("guarantor", number)
        return guarantor.phone, guarantor.email
    patient = work.session.get(PatientRow, number)
    if patient is None:
        raise NotFound("patient", number)
    if patient.guarantor_id is not None:
        raise ValidationFailed(f"patient {number}", [(
            "account", f"has guarantor {patient.guarantor_id}: set the preference for "
                       f"G{patient.guarantor_id}")])
    return patient.phone, patient.email


def set_contact_preference(work: UnitOfWork, account_key: str, channel: ContactChoice,
                           consent: str | None = None) -> ContactPreference:
    """Record how an addressee agreed to be reached about statements (``none``: not by text
    or e-mail), audited. A text needs a phone number on file, an e-mail an address.

    :param consent: how the consent was given (``verbal, at check-in``; no PHI); required
        for sms and email.
    :raises ValidationFailed: no consent for sms or email, no phone / e-mail on file.
    :raises NotFound: no such guarantor or patient.
    """
    work.require(Action.GUARANTORS_WRITE)
    record = f"contact {account_key}"
    phone, email = _contact_of(work, account_key)
    note = (consent or "").strip() or None
    if channel is not ContactChoice.NONE:
        if note is None:
            raise ValidationFailed(record, [("consent", "say how the person agreed to be "
                                                        "contacted (e.g. verbal, at check-in)")])
        if len(note) > 200:
            raise ValidationFailed(record, [("consent", "at most 200 characters")])
        if channel is ContactChoice.SMS and not phone:
            raise ValidationFailed(record, [("channel", "sms: no phone number on file")])
        if channel is ContactChoice.EMAIL and not email:
            raise ValidationFailed(record, [("channel", "email: no e-mail address on file")])
    row = work.session.scalar(select(ContactPreferenceRow).where(
        ContactPreferenceRow.account_key == account_key))
    before = row.channel if row is not None else None
    now = utcnow()
    if row is None:
        row = ContactPreferenceRow(account_key=account_key, channel=channel.value)
        work.session.add(row)
    row.channel = channel.value
    row.consent = note if channel is not ContactChoice.NONE else None
    row.consented_at = now if channel is not ContactChoice.NONE else None
    row.recorded_by = work.actor
    work.session.flush()
    audit.record(work.session, actor=work.actor, action="contact_preference.set",
                 entity_type="contact_preference", entity_id=account_key,
                 details={"before": before, "after": channel.value})
    return _preference(row)


def contact_preference(work: UnitOfWork, account_key: str) -> ContactPreference | None:
    """An addressee's preference (``None``: never recorded: nothing is sent)."""
    work.require(Action.GUARANTORS_READ)
    row = work.session.scalar(select(ContactPreferenceRow).where(
        ContactPreferenceRow.account_key == account_key))
    return _preference(row) if row is not None else None


def addressee_preference(work: UnitOfWork, account_key: str, *,
                         via: str) -> ContactPreference | None:
    """:func:`contact_preference` of an addressee that exists (a guarantor, or a patient who
    pays their own bills), the read audited (``contact_preference.read``) as a read of the
    person's record is.

    :raises NotFound: no such guarantor or patient; :raises ValidationFailed: the patient
        is reached through a guarantor (its key is named).
    """
    work.require(Action.GUARANTORS_READ)
    _contact_of(work, account_key)
    audit.record(work.session, actor=work.actor, action="contact_preference.read",
                 entity_type="contact_preference", entity_id=account_key,
                 details={"via": via})
    return contact_preference(work, account_key)


def _preference(row: ContactPreferenceRow) -> ContactPreference:
    # as_utc: SQLite gives the time back without its zone
    return ContactPreference(row.account_key, ContactChoice(row.channel), row.consent,
                             as_utc(row.consented_at) if row.consented_at else None,
                             row.recorded_by)


# -- queueing ------------------------------------------------------------------------------------

def statement_ready(work: UnitOfWork, statement_id: int,
                    link_url: str) -> NotificationView | None:
    """Queue the "your statement is ready" message of a statement, with its pay page's
    link, in the caller's transaction (the statement run's): once per statement (a second
    call answers the first message). ``None``: nothing to send (no notifier configured, or
    the addressee has not agreed to texts or e-mails, or the notifier does not send on the
    channel they chose).

    :raises NotFound: no such statement (in this practice).
    :raises ValidationFailed: the link is not an https link.
    """
    work.require(Action.STATEMENTS_RUN)
    statement = work.session.get(StatementRow, statement_id)
    if statement is None:
        raise NotFound("statement", statement_id)
    account_key = statement.guarantor_key or f"P{statement.patient_id}"
    return _queue(work, "statement_ready", account_key, check_link(link_url),
                  dedupe_key=f"statement_ready:{statement_id}", statement_id=statement_id)


def statements_ready(work: UnitOfWork, items: Sequence[tuple[int, str, str]]) -> None:
    """:func:`statement_ready` for the statements a run has just recorded in the caller's
    transaction, each (statement id, its addressee's account key, its pay link): the messages
    already queued and the addressees' preferences read by one query each; only an addressee
    who agreed to texts or e-mails (or whose message exists) goes on to :func:`_queue`, which
    for the others (most) would send nothing.

    :raises ValidationFailed: a link that is not an https link.
    """
    work.require(Action.STATEMENTS_RUN)
    if not items:
        return
    links = [check_link(link_url) for _, _, link_url in items]
    dedupe_keys = [f"statement_ready:{statement_id}" for statement_id, _, _ in items]
    queued = set(work.session.scalars(select(NotificationRow.dedupe_key).where(
        NotificationRow.dedupe_key.in_(dedupe_keys))))
    agreed = {key for key, channel in work.session.execute(
        select(ContactPreferenceRow.account_key, ContactPreferenceRow.channel).where(
            ContactPreferenceRow.account_key.in_({key for _, key, _ in items})))
        if ContactChoice(channel) is not ContactChoice.NONE}
    for (statement_id, account_key, _), link, dedupe_key in zip(items, links, dedupe_keys,
                                                                strict=True):
        if dedupe_key in queued or account_key in agreed:
            _queue(work, "statement_ready", account_key, link, dedupe_key=dedupe_key,
                   statement_id=statement_id)


def send_link(work: UnitOfWork, account_key: str, link_url: str) -> NotificationView:
    """Queue the "view your account" message with a pay page's link for an addressee, by
    hand (a guarantor on the phone asks for it).

    :raises ValidationFailed: no notifier, no consent to texts or e-mails, a bad link.
    """
    work.require(Action.NOTIFICATIONS_SEND)
    view = _queue(work, "payment_link", account_key, check_link(link_url),
                  dedupe_key=f"payment_link:{uuid.uuid4().hex}", strict=True)
    assert view is not None  # strict: refused rather than None
    return view


def send_new_link(work: UnitOfWork, *, guarantor_id: int | None = None,
                  patient_id: int | None = None) -> tuple[IssuedLink, NotificationView]:
    """Issue a new pay link for a guarantor (or a patient who pays their own bills) and queue
    it by the channel they agreed to: the patient on the phone who asks for a link. In one
    transaction with the caller's: refused, nothing is issued.

    :raises ValidationFailed: no notifier, no consent to texts or e-mails, nothing on file
        to send to.
    :raises NotFound: no such guarantor or patient.
    """
    key = account_key_of(guarantor_id=guarantor_id, patient_id=patient_id)
    issued = issue_link(work, guarantor_id=guarantor_id, patient_id=patient_id)
    return issued, send_link(work, key, issued.url)


def _queue(work: UnitOfWork, template: str, account_key: str, link: str, *,
           dedupe_key: str, statement_id: int | None = None,
           strict: bool = False) -> NotificationView | None:
    existing = work.session.scalar(select(NotificationRow).where(
        NotificationRow.dedupe_key == dedupe_key))
    if existing is not None:
        return _view(existing)
    record = f"contact {account_key}"
    if work.app.config.notifier is None:
        if strict:
            raise ValidationFailed(record, [("notifier", "none is configured ([medbill] "
                                                         "notifier)")])
        return None
    notifier: Notifier = work.app.hooks.context.notifier()
    phone, email = _contact_of(work, account_key)
    preference = work.session.scalar(select(ContactPreferenceRow).where(
        ContactPreferenceRow.account_key == account_key))
    choice = ContactChoice(preference.channel) if preference is not None else ContactChoice.NONE
    recipient = phone if choice is ContactChoice.SMS else \
        email if choice is ContactChoice.EMAIL else None
    problem = None
    if choice is ContactChoice.NONE:
        problem = "has not agreed to texts or e-mails (medbill notifications contact set)"
    elif not recipient:
        problem = f"{choice.value}: nothing on file to send to"
    elif not notifier.supports(NotificationChannel(choice.value)):
        problem = f"notifier {notifier.identifier!r} does not send {choice.value}"
    if problem is not None:
        if strict:
            raise ValidationFailed(record, [("channel", problem)])
        return None
    assert recipient is not None
    channel = NotificationChannel(choice.value)
    subject, body = render(template, channel, practice=practice_profile(work).name, link=link)
    row = NotificationRow(dedupe_key=dedupe_key, template=template, account_key=account_key,
                          statement_id=statement_id, channel=channel.value,
                          recipient=recipient, subject=subject, body=body,
                          notifier=notifier.identifier, status=NotificationStatus.PENDING.value,
                          attempts=0, next_attempt_at=utcnow(), created_by=work.actor)
    work.session.add(row)
    work.session.flush()
    audit.record(work.session, actor=work.actor, action="notification.queue",
                 entity_type="notification", entity_id=row.id,
                 details={"template": template, "account": account_key,
                          "channel": channel.value, "statement_id": statement_id})
    return _view(row)


# -- delivering ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Claimed:
    id: int
    practice_id: int | None
    attempts: int
    notifier: str
    message: OutgoingMessage


def deliver_due(app: Medbill, *, now: datetime | None = None, limit: int = 100,
                notification_ids: list[int] | None = None) -> list[Outcome]:
    """Send every message due at ``now`` (at most ``limit``), each once, and record how it
    went. ``notification_ids``: only these (due or not, unless sent, dead or refused).

    :param now: when messages are due by and retries are scheduled from (default: now).
    """
    app.require(Action.NOTIFICATIONS_SEND)
    moment = now or utcnow()
    outcomes: list[Outcome] = []
    while len(outcomes) < limit:
        claimed = _claim(app, moment, min(10, limit - len(outcomes)), notification_ids)
        if not claimed:
            break
        for item in claimed:
            sent, error, permanent = _attempt(app, item)
            outcomes.append(_settle(app, item, moment, sent, error, permanent))
        if notification_ids is not None:
            break  # those named, once
    return outcomes


def _claim(app: Medbill, moment: datetime, limit: int,
           notification_ids: list[int] | None) -> list[_Claimed]:
    """Take due messages for this sender: their ``next_attempt_at`` moves a lease ahead in
    the transaction that locked them."""
    with app.unit_of_work(all_practices=True) as work:
        statement = (select(NotificationRow.id)
                     .where(NotificationRow.status.in_((NotificationStatus.PENDING.value,
                                                        NotificationStatus.FAILED.value)))
                     .order_by(NotificationRow.next_attempt_at, NotificationRow.id)
                     .limit(limit))
        if notification_ids is not None:
            statement = statement.where(NotificationRow.id.in_(notification_ids))
        else:
            statement = statement.where(NotificationRow.next_attempt_at <= moment)
        if work.session.bind is not None and work.session.bind.dialect.name == "postgresql":
            statement = statement.with_for_update(skip_locked=True)
        ids = list(work.session.scalars(statement))
        if not ids:
            return []
        work.session.execute(update(NotificationRow).where(NotificationRow.id.in_(ids))
                             .values(next_attempt_at=utcnow() + LEASE)
                             .execution_options(synchronize_session=False))
        rows = [row for row in work.session.scalars(select(NotificationRow)
                                                    .where(NotificationRow.id.in_(ids))
                                                    .order_by(NotificationRow.id))
                if _still_wanted(work, row)]
        return [_Claimed(row.id, row.practice_id, row.attempts, row.notifier, OutgoingMessage(
            channel=NotificationChannel(row.channel), recipient=row.recipient,
            subject=row.subject, body=row.body,
            idempotency_key=f"medbill-notification-{row.dedupe_key}",
            reference=f"notification {row.id}")) for row in rows]


def _still_wanted(work: UnitOfWork, row: NotificationRow) -> bool:
    """Whether the addressee still agrees to this channel; if not, the message is canceled
    (audited) rather than sent: a withdrawn consent counts from the moment it is recorded."""
    channel = work.session.scalar(select(ContactPreferenceRow.channel).where(
        ContactPreferenceRow.practice_id == row.practice_id,
        ContactPreferenceRow.account_key == row.account_key))
    if channel == row.channel:
        return True
    row.status = NotificationStatus.CANCELED.value
    row.next_attempt_at = None
    for name, value in _masked_copy(row.subject, row.body).items():
        setattr(row, name, value)
    row.last_error = "not sent: the addressee withdrew consent to this channel"
    audit.record(work.session, actor=work.actor, action="notification.canceled",
                 entity_type="notification", entity_id=row.id,
                 details={"account": row.account_key, "channel": row.channel})
    return False


def _attempt(app: Medbill, item: _Claimed) -> tuple[SentMessage | None, str | None, bool]:
    """(what the provider answered, None, False), or (None, what went wrong, permanent)."""
    context = app.hooks.context
    try:
        notifier = context.notifier(item.notifier)
        answer = context.call(notifier, "send", item.message)
    except NotifierError as exc:
        return None, _one_line(str(exc)), exc.permanent
    except AdapterNotAvailable:
        return None, f"notifier {item.notifier!r} is not enabled", False
    except MedbillError as exc:  # the plugin's own failure, in the plugin policy's words
        return None, _one_line(str(exc)), False
    if not isinstance(answer, SentMessage) or not answer.provider_id:
        return None, f"notifier {item.notifier!r} answered without a message id", False
    return answer, None, False


def _masked_copy(subject: str | None, body: str) -> dict[str, Any]:
    """The stored message once it will not be sent again: its pay link's code hidden (the
    pay link itself keeps only the code's hash; a copy of the message must not hold what
    opens the patient's page)."""
    return {"subject": masked_codes(subject) if subject else subject,
            "body": masked_codes(body)}


def _one_line(text: str) -> str:
    return " ".join(text.split())[:255] or "failed"


def _settle(app: Medbill, item: _Claimed, moment: datetime, sent: SentMessage | None,
            error: str | None, permanent: bool) -> Outcome:
    attempts = item.attempts + 1
    now = utcnow()
    values: dict[str, Any] = {"attempts": attempts, "last_attempt_at": now,
                              "last_error": error}
    if sent is not None:
        status = NotificationStatus.SENT
        values |= {"provider_id": sent.provider_id[:255], "sent_at": now,
                   "next_attempt_at": None}
    elif permanent:
        status = NotificationStatus.REFUSED
        values |= {"next_attempt_at": None}
    elif attempts >= MAX_ATTEMPTS:
        status = NotificationStatus.DEAD
        values |= {"next_attempt_at": None}
    else:
        status = NotificationStatus.FAILED
        values |= {"next_attempt_at": moment + retry_delay(attempts)}
    values["status"] = status.value
    if status is not NotificationStatus.FAILED:  # never sent again: the code is not kept
        values |= _masked_copy(item.message.subject, item.message.body)
    with app.unit_of_work(practice_id=item.practice_id) as work:
        work.session.execute(update(NotificationRow).where(NotificationRow.id == item.id)
                             .values(**values).execution_options(synchronize_session=False))
        if status is not NotificationStatus.FAILED:
            audit.record(work.session, actor=work.actor, action=f"notification.{status.value}",
                         entity_type="notification", entity_id=item.id,
                         details={"attempts": attempts, "notifier": item.notifier,
                                  **({"error": error} if error else {})})
    return Outcome(item.id, status, error)


# -- reading -------------------------------------------------------------------------------------

def list_notifications(work: UnitOfWork, *, status: NotificationStatus | None = None,
                       account_key: str | None = None, statement_id: int | None = None,
                       limit: int = LIST_LIMIT, before_id: int | None = None
                       ) -> list[NotificationView]:
    """The practice's messages, newest first (at most ``limit``; ``before_id``: those older
    than that message, the API's keyset pages)."""
    work.require(Action.NOTIFICATIONS_READ)
    statement = select(NotificationRow).order_by(NotificationRow.id.desc()).limit(limit)
    if before_id is not None:
        statement = statement.where(NotificationRow.id < before_id)
    if status is not None:
        statement = statement.where(NotificationRow.status == status.value)
    if account_key is not None:
        statement = statement.where(NotificationRow.account_key == account_key)
    if statement_id is not None:
        statement = statement.where(NotificationRow.statement_id == statement_id)
    return [_view(row) for row in work.session.scalars(statement)]


def get_notification(work: UnitOfWork, notification_id: int) -> NotificationView:
    """:raises NotFound: no such message (in this practice)."""
    work.require(Action.NOTIFICATIONS_READ)
    row = work.session.get(NotificationRow, notification_id, populate_existing=True)
    if row is None:
        raise NotFound("notification", notification_id)
    return _view(row)


def mask(channel: NotificationChannel, recipient: str) -> str:
    """``***-***-1234``, ``j***@example.com``: enough for staff to tell which it was."""
    if channel is NotificationChannel.SMS:
        return f"***-***-{recipient[-4:]}"
    local, _, domain = recipient.partition("@")
    return f"{local[:1]}***@{domain}"


def _view(row: NotificationRow) -> NotificationView:
    channel = NotificationChannel(row.channel)
    return NotificationView(
        row.id, row.template, row.account_key, row.statement_id, channel,
        mask(channel, row.recipient), masked_codes(row.subject) if row.subject else row.subject,
        masked_codes(row.body), row.notifier,
        NotificationStatus(row.status), row.attempts, row.next_attempt_at,
        row.last_attempt_at, row.last_error, row.provider_id, row.sent_at, row.created_at,
        row.created_by)
